import { assert } from "../../tests/_assert.ts";
import { FILL_GAP, FILL_MIN, ZeroFill } from "./zero_fill.ts";
import { tempDir } from "../../tests/_temp_dir.ts";

Deno.test("zero fill: a write blocked by the first piece waits for it, even while the file is being opened", async () => {
  const dir = await tempDir("zero-fill-test-");
  const fill = new ZeroFill(`${dir}/00001.log`, (m) => {
    throw new Error(m);
  });
  try {
    await Deno.writeFile(`${dir}/00001.log`, new Uint8Array(0));
    assert(fill.ahead(0, FILL_MIN, 64 * FILL_MIN) > 0);
    const end = FILL_GAP + 1;
    assert(fill.blocks(end));
    // The log's flush loop waits so (`while (blocked) await pieceDone()`): a promise that is
    // already resolved here would spin it forever.
    await fill.pieceDone();
    assert(!fill.blocks(end), "pieceDone() resolved while the piece was still being filled");
  } finally {
    await fill.close();
    await Deno.remove(dir, { recursive: true });
  }
});
