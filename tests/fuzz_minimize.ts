// Usage: deno run -A tests/fuzz_minimize.ts SEED INDEX [RESP] [small|cold]
// Replays seed's generated commands 0..INDEX and delta-debugs the prefix down to a minimal
// sequence for which command INDEX still differs between FerricStore and redis-server; `small`
// and `cold` start the servers as the tiny-threshold and cold-value tests do.
import { Differential } from "./_harness.ts";
import {
  generate,
  normalize,
  randomEffectReads,
  skipped,
  startCold,
  startSmall,
  syncToOracle,
} from "./random_diff_test.ts";

const [seed, index, resp = 2] = Deno.args.slice(0, 3).map(Number);
const setup = Deno.args[3];
const cmds = generate(seed, index + 1, Deno.env.get("FUZZ_NO_EXCLUDE") === "1");
const target = cmds[index];
const d = setup === "small"
  ? await startSmall()
  : setup === "cold"
  ? await startCold()
  : await Differential.start();
/** Replays `prefix` as the test does (skips, resyncs), then whether the target still differs. */
async function fails(prefix: typeof cmds): Promise<[boolean, string, string]> {
  await d.both("FLUSHALL");
  await d.both("HELLO", String(resp));
  for (const c of prefix) {
    if (await skipped(d, c)) continue;
    await d.both(...c.args);
    if (c.randomizes !== undefined) await syncToOracle(d, c.randomizes);
  }
  if (await skipped(d, target)) return [false, "(skipped)", "(skipped)"];
  const [f, r] = await d.both(...target.args);
  if (normalize(target.mode, f) !== normalize(target.mode, r)) return [true, f, r];
  // A command with a random effect also differs when the reads after it do.
  for (const args of target.randomizes === undefined ? [] : randomEffectReads(target.randomizes)) {
    const [fa, ra] = await d.both(...args);
    if (fa !== ra) return [true, `${f} then ${args.join(" ")}: ${fa}`, `${r} then ${ra}`];
  }
  return [false, f, r];
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
