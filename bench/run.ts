/**
 * Side-by-side benchmark: FerricStore and a real redis-server, both driven by redis-benchmark.
 *
 * `deno task bench [--quick] [--tests set,get,...] [--requests N] [--rounds N] [--pipeline 1,16]
 * [--ferric-flags "..."] [--redis-flags "..."]` starts FerricStore (`deno run -A main.ts`) and
 * redis-server as child processes on free ports, then runs every (test, pipeline) pair against
 * both servers one after the other (ferric, redis, ferric, redis …) for several rounds and keeps
 * the median requests per second of each server. It prints a table with the ratio ferric/redis
 * and whether the target is met, the same table as markdown, and writes JSON to
 * `bench/results/latest.json`. Both servers are stopped on exit, on errors and on Ctrl-C; every
 * redis-benchmark run has a timeout and the whole run has a time budget, so a run always ends.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { freePort } from "../tests/_harness.ts";
import { V8_FLAGS_ARG } from "../server/v8_flags.ts";

/** A redis-benchmark test: its `-t` name and the CSV row that carries its result. */
interface TestDef {
  /** Name used on our command line and in the tables. */
  name: string;
  /** `-t` argument, or null for a custom command. */
  t: string | null;
  /** Title of the CSV row to read (custom commands: the last row). */
  row: string | null;
  /** Custom command line (argv) when `t` is null. */
  command?: string[];
}

/** The built-in tests of redis-benchmark 7.0, by the name `--tests` accepts. */
const BUILTIN: Record<string, { t: string; row: string }> = {
  ping: { t: "ping_mbulk", row: "PING_MBULK" },
  ping_mbulk: { t: "ping_mbulk", row: "PING_MBULK" },
  ping_inline: { t: "ping_inline", row: "PING_INLINE" },
  set: { t: "set", row: "SET" },
  get: { t: "get", row: "GET" },
  incr: { t: "incr", row: "INCR" },
  lpush: { t: "lpush", row: "LPUSH" },
  rpush: { t: "rpush", row: "RPUSH" },
  lpop: { t: "lpop", row: "LPOP" },
  rpop: { t: "rpop", row: "RPOP" },
  sadd: { t: "sadd", row: "SADD" },
  hset: { t: "hset", row: "HSET" },
  spop: { t: "spop", row: "SPOP" },
  zadd: { t: "zadd", row: "ZADD" },
  zpopmin: { t: "zpopmin", row: "ZPOPMIN" },
  lrange_100: { t: "lrange_100", row: "LRANGE_100 (first 100 elements)" },
  lrange_300: { t: "lrange_300", row: "LRANGE_300 (first 300 elements)" },
  lrange_500: { t: "lrange_500", row: "LRANGE_500 (first 500 elements)" },
  lrange_600: { t: "lrange_600", row: "LRANGE_600 (first 600 elements)" },
  mset: { t: "mset", row: "MSET (10 keys)" },
};

const DEFAULT_TESTS = ["ping", "set", "get", "incr", "mset"];

/** The collection tests: their targets are those of the collections issue. */
const COLLECTION_TESTS = new Set([
  "lpush",
  "rpush",
  "lpop",
  "rpop",
  "sadd",
  "hset",
  "spop",
  "zadd",
  "zpopmin",
  "lrange_100",
  "lrange_300",
  "lrange_500",
  "lrange_600",
]);

/**
 * Minimum ratio ferric/redis: 0.9 unpipelined and 0.5 at -P 16 for the core commands, 0.8 and
 * 0.4 for the collection commands.
 */
function targetFor(test: string, pipeline: number): number {
  if (COLLECTION_TESTS.has(test)) return pipeline <= 1 ? 0.8 : 0.4;
  return pipeline <= 1 ? 0.9 : 0.5;
}

interface Options {
  tests: TestDef[];
  requests: number;
  pipelinedRequests: number;
  rounds: number;
  pipelines: number[];
  clients: number;
  keyspace: number;
  ferricFlags: string[];
  redisFlags: string[];
  ferricMain: string;
  redisServer: string;
  redisBenchmark: string;
  timeoutSec: number;
  budgetSec: number;
  warmup: boolean;
  json: string;
  quick: boolean;
}

const USAGE = `Usage: deno task bench [options]

  --tests a,b,...          tests (default ${DEFAULT_TESTS.join(",")}); any of
${wrap(Object.keys(BUILTIN).join(", "), 27, 96)}
  --command "name=CMD ..." a custom command line as an extra test (repeatable), e.g.
                           --command "xadd=XADD bench:s * f v" (__rand_int__ works)
  --requests N             requests per unpipelined run (default 50000)
  --pipelined-requests N   requests per pipelined run (default 4 x --requests)
  --rounds N               rounds; the median per server is reported (default 3)
  --pipeline 1,16          pipeline depths (-P) to run (default 1,16)
  --clients N              parallel connections, -c (default 50)
  --keyspace N             random keyspace, -r (default 100000)
  --ferric-flags "..."     extra FerricStore flags, e.g. "--durability async"
  --redis-flags "..."      extra redis-server flags, e.g. "--appendonly yes --appendfsync always"
  --ferric-main PATH       main.ts to run (default: this repository's)
  --timeout S              limit per redis-benchmark run in seconds (default 120); a
                           server that stops answering PING ends the run sooner
  --budget S               stop starting new runs after S seconds (default 280)
  --no-warmup              skip the short warm-up pass
  --json PATH              JSON output (default bench/results/latest.json)
  --quick                  smoke run: 10000 requests, 1 round, small warm-up
  -h, --help               this text
`;

function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}

class UsageError extends Error {}

/** Splits a flag string as a shell would (whitespace, single and double quotes). */
export function splitFlags(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} in flags: ${s}`);
  if (has) out.push(cur);
  return out;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} wants a positive integer: ${v}`);
  return n;
}

function parseOptions(args: string[]): Options | null {
  const here = new URL(".", import.meta.url);
  const o: Options = {
    tests: [],
    requests: 50000,
    pipelinedRequests: 0,
    rounds: 3,
    pipelines: [1, 16],
    clients: 50,
    keyspace: 100000,
    ferricFlags: [],
    redisFlags: [],
    ferricMain: new URL("../main.ts", here).pathname,
    redisServer: "/usr/bin/redis-server",
    redisBenchmark: "/usr/bin/redis-benchmark",
    timeoutSec: 120,
    budgetSec: 280,
    warmup: true,
    json: new URL("./results/latest.json", here).pathname,
    quick: false,
  };
  let testNames: string[] | null = null;
  const custom: TestDef[] = [];
  const set: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a === "-h" || a === "--help") return null;
    if (a === "--quick") {
      o.quick = true;
      continue;
    }
    if (a === "--no-warmup") {
      o.warmup = false;
      continue;
    }
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else {
      if (i + 1 >= args.length) throw new UsageError(`${a} needs a value`);
      value = args[++i];
    }
    switch (a) {
      case "--tests":
        testNames = value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s);
        break;
      case "--command": {
        const k = value.indexOf("=");
        const argv = splitFlags(k > 0 ? value.slice(k + 1) : value);
        if (argv.length === 0) throw new UsageError(`--command wants "name=COMMAND args"`);
        const name = k > 0 ? value.slice(0, k).trim() : argv[0].toLowerCase();
        custom.push({ name, t: null, row: null, command: argv });
        break;
      }
      case "--requests":
      case "--pipelined-requests":
      case "--rounds":
      case "--clients":
      case "--keyspace":
      case "--timeout":
      case "--budget":
        set[a] = value;
        break;
      case "--pipeline":
        o.pipelines = value.split(",").map((s) => positiveInt("--pipeline", s.trim()));
        break;
      case "--ferric-flags":
        o.ferricFlags = splitFlags(value);
        break;
      case "--redis-flags":
        o.redisFlags = splitFlags(value);
        break;
      case "--ferric-main":
        o.ferricMain = resolve(value);
        break;
      case "--json":
        o.json = resolve(value);
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.quick) {
    o.requests = 10000;
    o.rounds = 1;
    o.budgetSec = 120;
  }
  if (set["--requests"]) o.requests = positiveInt("--requests", set["--requests"]);
  o.pipelinedRequests = set["--pipelined-requests"]
    ? positiveInt("--pipelined-requests", set["--pipelined-requests"])
    : o.requests * (o.quick ? 2 : 4);
  if (set["--rounds"]) o.rounds = positiveInt("--rounds", set["--rounds"]);
  if (set["--clients"]) o.clients = positiveInt("--clients", set["--clients"]);
  if (set["--keyspace"]) o.keyspace = positiveInt("--keyspace", set["--keyspace"]);
  if (set["--timeout"]) o.timeoutSec = positiveInt("--timeout", set["--timeout"]);
  if (set["--budget"]) o.budgetSec = positiveInt("--budget", set["--budget"]);
  for (const name of testNames ?? (custom.length ? [] : DEFAULT_TESTS)) {
    const b = BUILTIN[name];
    if (!b) throw new UsageError(`unknown test ${name}; known: ${Object.keys(BUILTIN).join(", ")}`);
    o.tests.push({ name, ...b });
  }
  o.tests.push(...custom);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Child processes

const dec = new TextDecoder();

/** Keeps the last `limit` characters written to it. */
class Tail {
  #text = "";
  constructor(readonly limit = 32768) {}
  add(s: string) {
    this.#text += s;
    if (this.#text.length > this.limit * 2) this.#text = this.#text.slice(-this.limit);
  }
  get text(): string {
    return this.#text.slice(-this.limit);
  }
}

/** A server under test, running as a child process. */
class ServerProcess {
  readonly output = new Tail();
  exited = false;
  readonly #drained: Promise<unknown>;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly child: Deno.ChildProcess,
    readonly dir: string,
  ) {
    const drain = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) this.output.add(dec.decode(chunk, { stream: true }));
    };
    this.#drained = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
    child.status.then(() => this.exited = true);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; removes the data directory. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            this.child.kill("SIGKILL");
          } catch { /* already gone */ }
          resolve();
        }, graceMs);
      });
      await Promise.race([this.child.status, killed]);
      clearTimeout(timer);
      await this.child.status;
    }
    await this.#drained;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Sends PING and resolves with the first reply line, or rejects after `timeoutMs`. */
async function ping(port: number, timeoutMs: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no reply to PING")), timeoutMs);
    });
    const exchange = (async () => {
      await conn.write(new TextEncoder().encode("*1\r\n$4\r\nPING\r\n"));
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      return n === null ? "" : dec.decode(buf.subarray(0, n));
    })();
    return await Promise.race([exchange, timeout]);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Waits until the server answers +PONG (a -LOADING reply means: keep waiting). */
async function waitReady(server: ServerProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (server.exited || interrupted) break;
    try {
      if ((await ping(server.port, 1000)).startsWith("+PONG")) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = server.exited ? "exited" : `did not answer PING within ${timeoutMs} ms`;
  throw new Error(`${server.name} ${why}; its output:\n${server.output.text}`);
}

async function startServer(
  name: string,
  cmd: string,
  args: (port: number, dir: string) => string[],
): Promise<ServerProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: `bench-${name}-` });
  const child = new Deno.Command(cmd, {
    args: args(port, dir),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = new ServerProcess(name, port, child, dir);
  servers.push(server);
  await waitReady(server, 60000);
  return server;
}

/** Everything started here, stopped by `cleanup`. */
const servers: ServerProcess[] = [];
let benchmarkChild: Deno.ChildProcess | null = null;
/** The signal that asked us to stop, if any: no new runs start after it. */
let interrupted: Deno.Signal | null = null;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (benchmarkChild) {
      try {
        benchmarkChild.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await Promise.all(servers.map((s) => s.stop()));
  })();
  return cleaning;
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark

/** One redis-benchmark result (or why there is none). */
interface RunResult {
  rps: number | null;
  p50Ms?: number;
  avgMs?: number;
  p99Ms?: number;
  error?: string;
}

const WATCHDOG_EVERY_MS = 5000;
const WATCHDOG_PING_MS = 5000;

/** Numbers of one CSV row; the title is not escaped by redis-benchmark, so parse from the end. */
const CSV_ROW =
  /^"(.*)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)"$/;

/** Picks the row of `test` from redis-benchmark's `--csv` output. */
export function parseCsv(
  out: string,
  row: string | null,
): { rps: number; avgMs: number; p50Ms: number; p99Ms: number } | null {
  const rows = out.split("\n").map((l) => CSV_ROW.exec(l.trim())).filter((m) => m !== null);
  const m = row === null ? rows.at(-1) : rows.find((r) => r[1] === row);
  if (!m) return null;
  return { rps: Number(m[2]), avgMs: Number(m[3]), p50Ms: Number(m[5]), p99Ms: Number(m[7]) };
}

async function runBenchmark(
  o: Options,
  server: ServerProcess,
  test: TestDef,
  pipeline: number,
  requests: number,
): Promise<RunResult> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(server.port),
    "-c",
    String(o.clients),
    "-n",
    String(requests),
    "-r",
    String(o.keyspace),
    "-P",
    String(pipeline),
    "--csv",
  ];
  if (test.t) args.push("-t", test.t);
  else args.push(...test.command!);
  const child = new Deno.Command(o.redisBenchmark, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  benchmarkChild = child;
  let stopped = "";
  const stop = (why: string) => {
    if (stopped) return;
    stopped = why;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  };
  const timer = setTimeout(() => stop(`timeout after ${o.timeoutSec} s`), o.timeoutSec * 1000);
  // Watchdog: a server that stops answering PING on a fresh connection is hung; do not wait
  // for the full timeout.
  let done = false;
  let wake = () => {};
  const watchdog = (async () => {
    let misses = 0;
    while (!done && !stopped) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, WATCHDOG_EVERY_MS);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      if (done || stopped) break;
      const ok = !server.exited &&
        await ping(server.port, WATCHDOG_PING_MS).then((s) => s.startsWith("+"), () => false);
      misses = ok ? 0 : misses + 1;
      if (misses >= 2) stop(`${server.name} stopped answering PING during the run`);
    }
  })();
  try {
    const { code, stdout, stderr } = await child.output();
    done = true;
    wake();
    await watchdog;
    const out = dec.decode(stdout);
    const err = dec.decode(stderr).trim();
    if (stopped) return { rps: null, error: stopped };
    const r = parseCsv(out, test.row);
    if (code !== 0 || !r || r.rps <= 0) {
      const why = err || out.trim() || `exit code ${code}`;
      return { rps: null, error: why.split("\n").slice(-3).join(" | ").slice(0, 300) };
    }
    return r;
  } finally {
    done = true;
    wake();
    clearTimeout(timer);
    benchmarkChild = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Results

interface Row {
  test: string;
  pipeline: number;
  ferric: RunResult[];
  redis: RunResult[];
}

/** The median of `xs` (the mean of the middle two for an even count); null when empty. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function medianOf(runs: RunResult[], f: (r: RunResult) => number | null | undefined) {
  return median(runs.map(f).filter((x): x is number => typeof x === "number"));
}

interface Summary {
  test: string;
  pipeline: number;
  ferricRps: number | null;
  redisRps: number | null;
  ratio: number | null;
  target: number;
  status: "met" | "missed" | "error" | "not run";
  ferricP50Ms: number | null;
  redisP50Ms: number | null;
  ferricRuns: RunResult[];
  redisRuns: RunResult[];
}

function summarize(rows: Row[]): Summary[] {
  return rows.map((r) => {
    const f = medianOf(r.ferric, (x) => x.rps);
    const rd = medianOf(r.redis, (x) => x.rps);
    const ratio = f !== null && rd !== null ? f / rd : null;
    const target = targetFor(r.test, r.pipeline);
    return {
      test: r.test,
      pipeline: r.pipeline,
      ferricRps: f,
      redisRps: rd,
      ratio,
      target,
      status: r.ferric.length + r.redis.length === 0
        ? "not run"
        : ratio === null
        ? "error"
        : ratio >= target
        ? "met"
        : "missed",
      ferricP50Ms: medianOf(r.ferric, (x) => x.p50Ms),
      redisP50Ms: medianOf(r.redis, (x) => x.p50Ms),
      ferricRuns: r.ferric,
      redisRuns: r.redis,
    };
  });
}

const fmtRps = (x: number | null, ran = true) =>
  x === null ? (ran ? "error" : "-") : Math.round(x).toLocaleString("en-US");
const fmtRatio = (x: number | null) => x === null ? "-" : x.toFixed(2);

function tableCells(s: Summary[]): string[][] {
  return s.map((r) => [
    r.test,
    String(r.pipeline),
    fmtRps(r.ferricRps, r.ferricRuns.length > 0),
    fmtRps(r.redisRps, r.redisRuns.length > 0),
    fmtRatio(r.ratio),
    `>= ${r.target.toFixed(2)}`,
    r.status,
  ]);
}

const HEAD = ["test", "pipeline", "ferric req/s", "redis req/s", "ratio", "target", "status"];
const RIGHT = [false, true, true, true, true, false, false];

function plainTable(s: Summary[]): string {
  const rows = [HEAD, ...tableCells(s)];
  const w = HEAD.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => RIGHT[i] ? c.padStart(w[i]) : c.padEnd(w[i])).join("  ").trimEnd();
  return [line(rows[0]), w.map((n) => "-".repeat(n)).join("  "), ...rows.slice(1).map(line)]
    .join("\n");
}

function markdownTable(s: Summary[]): string {
  const sep = RIGHT.map((r) => r ? "---:" : "---");
  return [HEAD, sep, ...tableCells(s)].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

async function commandOutput(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" })
      .output();
    return dec.decode(stdout).trim();
  } catch {
    return "";
  }
}

async function machineInfo(o: Options) {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const repo = dirname(o.ferricMain);
  const commit = await commandOutput("git", ["-C", repo, "rev-parse", "--short", "HEAD"]);
  const dirty = (await commandOutput("git", ["-C", repo, "status", "--porcelain"])).length > 0;
  return {
    cores: navigator.hardwareConcurrency,
    cpu: model,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    redisServer: await commandOutput(o.redisServer, ["--version"]),
    redisBenchmark: await commandOutput(o.redisBenchmark, ["--version"]),
    ferricCommit: commit ? `${commit}${dirty ? " (with uncommitted changes)" : ""}` : "unknown",
    loadavgAtStart: Deno.loadavg(),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

function log(s: string) {
  console.error(s);
}

async function main(args: string[]): Promise<number> {
  let o: Options | null;
  try {
    o = parseOptions(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (!o) {
    console.log(USAGE);
    return 0;
  }
  const opts = o;
  const started = Date.now();
  const machine = await machineInfo(opts);
  log(
    `bench: ${opts.tests.map((t) => t.name).join(",")} at -P ${opts.pipelines.join(",")}, ` +
      `${opts.rounds} round(s), -n ${opts.requests} (pipelined ${opts.pipelinedRequests}), ` +
      `-c ${opts.clients}, -r ${opts.keyspace}; ${machine.cores} cores, ` +
      `load ${machine.loadavgAtStart.map((x) => x.toFixed(2)).join(" ")}`,
  );

  const ferric = await startServer("ferric", Deno.execPath(), (port, dir) => [
    "run",
    "-A",
    V8_FLAGS_ARG,
    opts.ferricMain,
    "--port",
    String(port),
    "--data-dir",
    dir,
    "--loglevel",
    "warning",
    "--http-port",
    "0",
    ...opts.ferricFlags,
  ]);
  const redis = await startServer("redis", opts.redisServer, (port, dir) => [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--daemonize",
    "no",
    ...opts.redisFlags,
  ]);
  log(`bench: ferric on port ${ferric.port}, redis on port ${redis.port}`);
  const pair: [ServerProcess, "ferric" | "redis"][] = [[ferric, "ferric"], [redis, "redis"]];

  if (opts.warmup) {
    const n = opts.quick ? 2000 : 20000;
    log(`bench: warm-up (${n} requests per test at -P ${Math.max(...opts.pipelines)})`);
    for (const test of opts.tests) {
      for (const [server] of pair) {
        if (interrupted) break;
        await runBenchmark(opts, server, test, Math.max(...opts.pipelines), n);
      }
    }
  }

  const rows: Row[] = [];
  for (const test of opts.tests) {
    for (const p of opts.pipelines) {
      rows.push({ test: test.name, pipeline: p, ferric: [], redis: [] });
    }
  }
  const notes: string[] = [];
  let aborted = false;
  let roundsDone = 0;
  outer: for (let round = 1; round <= opts.rounds; round++) {
    for (const test of opts.tests) {
      for (const p of opts.pipelines) {
        if (interrupted) {
          notes.push(`interrupted by ${interrupted} in round ${round}`);
          break outer;
        }
        if ((Date.now() - started) / 1000 > opts.budgetSec) {
          notes.push(`time budget of ${opts.budgetSec} s reached in round ${round}`);
          log(`bench: ${notes.at(-1)}; stopping`);
          break outer;
        }
        const row = rows.find((r) => r.test === test.name && r.pipeline === p)!;
        const n = p > 1 ? opts.pipelinedRequests : opts.requests;
        const line: string[] = [];
        for (const [server, key] of pair) {
          if (interrupted) break;
          const r = await runBenchmark(opts, server, test, p, n);
          if (interrupted) break;
          row[key].push(r);
          line.push(`${key} ${r.rps === null ? `error (${r.error})` : fmtRps(r.rps)}`);
          if (r.rps === null) {
            const alive = !server.exited &&
              await ping(server.port, 3000).then((s) => s.startsWith("+PONG"), () => false);
            if (!alive) {
              notes.push(`${key} stopped answering during ${test.name} -P ${p}: ${r.error}`);
              aborted = true;
            }
          }
        }
        if (line.length) {
          log(`round ${round}/${opts.rounds}  ${test.name} -P ${p}  ${line.join("  ")}`);
        }
        if (aborted) {
          log(
            `bench: ${notes.at(-1)}; stopping. Server output:\n` +
              pair.map(([s]) => `--- ${s.name}\n${s.output.text.slice(-4000)}`).join("\n"),
          );
          break outer;
        }
      }
    }
    roundsDone = round;
  }

  const summary = summarize(rows);
  const elapsed = (Date.now() - started) / 1000;
  const date = new Date().toISOString();
  console.log(
    `\nFerricStore vs redis-server, median of ${roundsDone || "partial"} round(s), ` +
      `-c ${opts.clients} -n ${opts.requests}/${opts.pipelinedRequests} -r ${opts.keyspace}\n`,
  );
  console.log(plainTable(summary));
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`\n### ${date.slice(0, 10)}, ${machine.cores} cores, Deno ${machine.deno}\n`);
  console.log(markdownTable(summary));
  console.log(
    `\n${elapsed.toFixed(0)} s; ferric ${machine.ferricCommit}; ` +
      `ferric flags: ${opts.ferricFlags.join(" ") || "(none)"}; ` +
      `redis flags: --save "" --appendonly no ${opts.redisFlags.join(" ")}`.trimEnd(),
  );

  const json = {
    date,
    elapsedSec: Math.round(elapsed),
    machine: { ...machine, loadavgAtEnd: Deno.loadavg() },
    settings: {
      tests: opts.tests.map((t) => t.command ? `${t.name}=${t.command.join(" ")}` : t.name),
      pipelines: opts.pipelines,
      rounds: opts.rounds,
      roundsCompleted: roundsDone,
      requests: opts.requests,
      pipelinedRequests: opts.pipelinedRequests,
      clients: opts.clients,
      keyspace: opts.keyspace,
      ferricFlags: opts.ferricFlags,
      redisFlags: opts.redisFlags,
      quick: opts.quick,
    },
    notes,
    results: summary,
  };
  await Deno.mkdir(dirname(opts.json), { recursive: true });
  await Deno.writeTextFile(opts.json, JSON.stringify(json, null, 2) + "\n");
  log(`bench: wrote ${opts.json}`);
  return interrupted ? 130 : aborted ? 1 : 0;
}

if (import.meta.main) {
  // First signal: stop after the current step, report what was measured, stop the servers.
  // Second signal: stop the servers and exit at once.
  const onSignal = (sig: Deno.Signal) => async () => {
    if (interrupted) {
      log(`\nbench: ${sig} again, stopping the servers now`);
      await cleanup();
      Deno.exit(130);
    }
    interrupted = sig;
    log(`\nbench: ${sig}, stopping`);
    try {
      benchmarkChild?.kill("SIGKILL");
    } catch { /* gone */ }
  };
  const sigs: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = sigs.map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : e}`);
  } finally {
    await cleanup();
  }
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  Deno.exit(code);
}
