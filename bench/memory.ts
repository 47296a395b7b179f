/**
 * Resident memory under maxmemory: a data set several times `maxmemory`, written by
 * redis-benchmark, must stay readable while the process's RSS stays well below its size.
 *
 * `deno run -A bench/memory.ts [--requests N] [--size BYTES] [--maxmemory 64mb] [--clients N]
 * [--checks N] [--settle-sec S] [--timeout-sec S] [--ferric-flags "..."]`
 *
 * Starts FerricStore (`deno run -A main.ts`) as a child process on a free port with
 * `--maxmemory 64mb --maxmemory-policy allkeys-lru --durability async`, writes `--checks`
 * distinct random values of its own (they go cold as the load goes on), runs
 * `redis-benchmark -t set -n N -r 1000000000 -d SIZE`, and samples the server's RSS from
 * `/proc/PID/status` every 100 ms during the load and while it idles after it. Then it reads its
 * own values back (byte for byte) and a sample of the benchmark's keys (whole, and all equal: the
 * benchmark sends the same bytes as every value), and prints a table. Every step has a time limit; the server is
 * stopped and its data directory removed on exit.
 *
 * @module
 */
import { splitFlags } from "./run.ts";
import { RawClient, spawnFerric } from "../tests/_harness.ts";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const REQUESTS = Number(flag("requests", "32000"));
const SIZE = Number(flag("size", "10000"));
const MAXMEMORY = flag("maxmemory", "64mb");
const CLIENTS = Number(flag("clients", "50"));
const CHECKS = Number(flag("checks", "200"));
const SETTLE_SEC = Number(flag("settle-sec", "5"));
const TIMEOUT_SEC = Number(flag("timeout-sec", "180"));
const EXTRA_FLAGS = splitFlags(flag("ferric-flags", ""));

const MB = 1024 * 1024;

/** VmRSS of a process in bytes (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS samples taken every `everyMs` until stopped. */
class RssSampler {
  readonly samples: { at: number; rss: number }[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  constructor(private readonly pid: number, everyMs = 100) {
    this.take();
    this.timer = setInterval(() => this.take(), everyMs);
  }
  take(): number {
    const rss = rssOf(this.pid);
    this.samples.push({ at: performance.now(), rss });
    return rss;
  }
  /** Largest RSS sampled since `from` (a performance.now() time). */
  maxSince(from: number): number {
    let max = 0;
    for (const s of this.samples) if (s.at >= from && s.rss > max) max = s.rss;
    return max;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** An INFO field as a number. */
async function info(c: RawClient, section: string, field: string): Promise<number> {
  const text = await c.call("INFO", section);
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(text);
  if (!m) throw new Error(`INFO ${section} has no ${field}`);
  return Number(m[1]);
}

/** Runs redis-benchmark, killing it after the time limit. */
async function runBenchmark(port: number): Promise<number> {
  const child = new Deno.Command("redis-benchmark", {
    args: [
      ...["-h", "127.0.0.1", "-p", String(port), "-t", "set", "-n", String(REQUESTS)],
      ...["-r", "1000000000", "-d", String(SIZE), "-c", String(CLIENTS), "-q"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_SEC * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`redis-benchmark failed (${out.code}):\n${text}`);
  const m = /([\d.]+) requests per second/.exec(text.split("\r").at(-1) ?? text);
  return m ? Number(m[1]) : NaN;
}

/** A value no other key shares: `check:i:` then random bytes. */
function checkValue(i: number): Uint8Array {
  const v = new Uint8Array(SIZE);
  crypto.getRandomValues(v.subarray(0, Math.min(SIZE, 65536)));
  for (let off = 65536; off < SIZE; off += 65536) v.copyWithin(off, 0, Math.min(65536, SIZE - off));
  v.set(new TextEncoder().encode(`check:${i}:`));
  return v;
}

/** The bulk string reply `v` must come back as. */
function bulk(v: Uint8Array): string {
  return `$${v.length}\r\n${new TextDecoder("latin1").decode(v)}\r\n`;
}

const dir = await Deno.makeTempDir({ prefix: "ferric-memory-bench-" });
const server = await spawnFerric([
  ...["--data-dir", dir, "--loglevel", "warning", "--maxmemory", MAXMEMORY],
  ...["--maxmemory-policy", "allkeys-lru", "--durability", "async", ...EXTRA_FLAGS],
]);
const pid = server.process.pid;
const c = await RawClient.connect(server.port);
const rows: [string, string][] = [];
const mb = (n: number) => `${(n / MB).toFixed(0)} MB`;
let failures = 0;
try {
  const rssStart = rssOf(pid);
  const checks: Uint8Array[] = [];
  for (let i = 0; i < CHECKS; i++) {
    checks.push(checkValue(i));
    const r = await c.call("SET", `check:${i}`, checks[i]);
    if (r !== "+OK\r\n") throw new Error(`SET check:${i}: ${r}`);
  }

  const sampler = new RssSampler(pid);
  const loadStart = performance.now();
  const rps = await runBenchmark(server.port);
  const loadEnd = performance.now();
  const rssEnd = sampler.take();
  await new Promise((r) => setTimeout(r, SETTLE_SEC * 1000));
  const rssSettled = sampler.take();
  sampler.stop();
  const written = REQUESTS * SIZE + CHECKS * SIZE;

  const usedMemory = await info(c, "memory", "used_memory");
  const cold = await info(c, "ferricstore", "cold_values");
  const keys = Number((await c.call("DBSIZE")).slice(1, -2));

  // Our own values, byte for byte (most of them cold by now).
  let checkedOwn = 0;
  for (let i = 0; i < CHECKS; i++) {
    if (await c.call("GET", `check:${i}`) === bulk(checks[i])) checkedOwn++;
    else failures++;
  }
  // A sample of the benchmark's keys: redis-benchmark sends one random buffer as every value,
  // so each must be whole and equal to the first one read.
  let reference = "";
  let checkedBench = 0;
  let wrongBench = 0;
  while (checkedBench + wrongBench < CHECKS) {
    const name = (await c.call("RANDOMKEY")).split("\r\n")[1];
    if (name.startsWith("check:")) continue;
    const value = await c.call("GET", name);
    if (reference === "" && value.startsWith(`$${SIZE}\r\n`)) reference = value;
    if (value === reference) checkedBench++;
    else wrongBench++;
  }
  failures += wrongBench;
  const rssAfterReads = rssOf(pid);

  rows.push(
    ["data written (values)", mb(written)],
    ["keys / cold values", `${keys} / ${cold}`],
    ["used_memory (keys + hot values)", mb(usedMemory)],
    ["RSS before the load", mb(rssStart)],
    ["RSS peak during the load", mb(sampler.maxSince(loadStart))],
    ["RSS when the load ends", mb(rssEnd)],
    [`RSS ${SETTLE_SEC} s later`, mb(rssSettled)],
    ["RSS after the reads", mb(rssAfterReads)],
    ["peak RSS / data written", `${(sampler.maxSince(loadStart) / written * 100).toFixed(0)}%`],
    ["SET requests/s (redis-benchmark)", rps.toFixed(0)],
    ["load time", `${((loadEnd - loadStart) / 1000).toFixed(1)} s`],
    ["own values read back byte for byte", `${checkedOwn} / ${CHECKS}`],
    ["random benchmark keys read back whole", `${checkedBench} / ${CHECKS}`],
  );
  console.log(
    `FerricStore, --maxmemory ${MAXMEMORY} --maxmemory-policy allkeys-lru --durability async`,
  );
  console.log(`redis-benchmark -t set -n ${REQUESTS} -r 1000000000 -d ${SIZE} -c ${CLIENTS}\n`);
  console.log("| | |\n| --- | ---: |");
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  const trace = sampler.samples.filter((_, i) => i % 10 === 0).map((s) => (s.rss / MB).toFixed(0));
  console.log(`\nRSS every second from the load's start (MB): ${trace.join(" ")}`);
  if (failures > 0) console.log(`\nFAILED: ${failures} values did not read back as written`);
} finally {
  c.close();
  await server.stop("SIGTERM");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
if (failures > 0) Deno.exit(1);
