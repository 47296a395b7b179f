import assert from "node:assert/strict";
import { epochMs, FFI_CLOCK, monotonicMs } from "./clock.ts";

Deno.test("clock: FFI clock_gettime on Linux when FFI is allowed (the test run has -A)", () => {
  assert.equal(FFI_CLOCK, Deno.build.os === "linux");
});

Deno.test("clock: monotonic readings never go back and time what performance.now() times", async () => {
  let last = monotonicMs();
  for (let i = 0; i < 100_000; i++) {
    const now = monotonicMs();
    assert.ok(now >= last, `reading ${i} went back: ${last} → ${now}`);
    last = now;
  }
  const a = monotonicMs(), p = performance.now();
  await new Promise((r) => setTimeout(r, 30));
  const elapsed = monotonicMs() - a, expected = performance.now() - p;
  assert.ok(Math.abs(elapsed - expected) < 2, `${elapsed} ms against ${expected} ms`);
});

Deno.test("clock: epochMs agrees with the system's time since the epoch", () => {
  assert.ok(Math.abs(epochMs() - (performance.timeOrigin + performance.now())) < 1);
  assert.ok(Math.abs(epochMs() - Date.now()) < 50);
});

Deno.test("clock: without FFI permission it is performance.now(), and asks nothing", async () => {
  const script = `const m = await import(${JSON.stringify(import.meta.resolve("./clock.ts"))});` +
    `const a = m.monotonicMs(); console.log(JSON.stringify([m.FFI_CLOCK, m.monotonicMs() >= a,` +
    ` Math.abs(m.epochMs() - Date.now()) < 50]));`;
  // `deno eval` would allow everything: a script file run with read access only.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [false, true, true]);
  } finally {
    await Deno.remove(file);
  }
});
