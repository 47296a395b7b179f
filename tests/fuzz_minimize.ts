// Usage: deno run -A tests/fuzz_minimize.ts SEED INDEX [RESP] [N]
// Replays seed's generated commands 0..INDEX and delta-debugs the prefix down to a minimal
// sequence for which command INDEX still differs between FerricStore and redis-server.
import { Differential, unordered } from "./_harness.ts";
import { generate } from "./random_diff_test.ts";

const [seed, index, resp = 2] = Deno.args.map(Number);
const cmds = generate(seed, index + 1, Deno.env.get("FUZZ_NO_EXCLUDE") === "1");
const target = cmds[index];
const d = await Differential.start();
const norm = (mode: string, r: string) =>
  mode === "unordered"
    ? unordered(r)
    : mode === "ttl"
    ? r.replace(/^:[1-9]\d*\r\n$/, ":pos")
    : mode === "count"
    ? r.split("\r\n")[0]
    : r;
async function fails(prefix: typeof cmds): Promise<[boolean, string, string]> {
  await d.both("FLUSHALL");
  await d.both("HELLO", String(resp));
  for (const c of prefix) await d.both(...c.args);
  const [f, r] = await d.both(...target.args);
  return [norm(target.mode, f) !== norm(target.mode, r), f, r];
}
let cur = cmds.slice(0, index);
if (!(await fails(cur))[0]) {
  console.log("does not reproduce by plain replay");
} else {
  let n = 2;
  while (cur.length >= 1) {
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let i = 0; i < cur.length; i += size) {
      const cand = [...cur.slice(0, i), ...cur.slice(i + size)];
      if ((await fails(cand))[0]) {
        cur = cand;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size === 1) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  const [, f, r] = await fails(cur);
  for (const c of cur) {
    console.log(
      c.args.map((a) =>
        a.length > 20 ? JSON.stringify(a.slice(0, 3) + "…(" + a.length + ")") : a === "" ? '""' : a
      ).join(" "),
    );
  }
  console.log(target.args.join(" "));
  console.log("redis: ", JSON.stringify(r));
  console.log("ferric:", JSON.stringify(f));
}
await d.close();
