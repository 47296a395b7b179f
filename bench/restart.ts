/**
 * Restart benchmark: how long FerricStore takes to come back with its data, against redis-server
 * loading its AOF.
 *
 * `deno run -A bench/restart.ts [--requests N] [--keyspace N] [--rounds N] [--modes graceful,kill]
 * [--compact] [--ferric-flags "..."] [--redis-flags "..."]` starts redis-server (`appendonly yes`,
 * `appendfsync everysec`) and FerricStore on free ports with data directories under one temp
 * directory, loads both with the same writes (N SETs of 16-byte values over KEYSPACE random keys
 * named as `redis-benchmark -r` names them, from one seeded generator, sent with
 * `redis-cli --pipe`), then, for every mode and round, stops each server, starts it again on the same data
 * and measures the time from spawn until it answers +PONG (polled every few ms; -LOADING replies
 * mean "not yet"). Modes: `graceful` (SHUTDOWN for Redis, SIGTERM for FerricStore) and `kill`
 * (SIGKILL for both, after waiting for Redis's everysec fsync). With `--compact`, FerricStore's
 * log is compacted (FERRICSTORE.COMPACT) afterwards and the graceful restart measured again. The
 * key count after each restart is checked against the count before. It prints the median per
 * mode with the ratio ferric/redis as a table and as markdown. Every child process is stopped and
 * the temp directory removed on exit, on errors and on Ctrl-C; every wait has a timeout.
 *
 * @module
 */
import { median, splitFlags } from "./run.ts";
import { freePort } from "../tests/_harness.ts";
import { V8_FLAGS_ARG } from "../server/v8_flags.ts";

interface Options {
  requests: number;
  keyspace: number;
  rounds: number;
  modes: Mode[];
  compact: boolean;
  ferricFlags: string[];
  redisFlags: string[];
  timeoutSec: number;
}

type Mode = "graceful" | "kill";

const USAGE = `Usage: deno run -A bench/restart.ts [options]
  --requests N        SETs written before the restarts (default 1000000)
  --keyspace N        random key range, redis-benchmark -r (default: --requests)
  --rounds N          restarts measured per mode and server (default 3)
  --modes LIST        graceful,kill (default both)
  --compact           also measure FerricStore after FERRICSTORE.COMPACT (graceful)
  --ferric-flags "…"  extra FerricStore flags
  --redis-flags "…"   extra redis-server flags
  --timeout SEC       longest wait for one start, load or stop (default 120)`;

function parseOptions(args: string[]): Options | null {
  const o: Options = {
    requests: 1_000_000,
    keyspace: 0,
    rounds: 3,
    modes: ["graceful", "kill"],
    compact: false,
    ferricFlags: [],
    redisFlags: [],
    timeoutSec: 120,
  };
  const count = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} needs a positive integer`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    switch (a) {
      case "--requests":
        o.requests = count(a, v), i++;
        break;
      case "--keyspace":
        o.keyspace = count(a, v), i++;
        break;
      case "--rounds":
        o.rounds = count(a, v), i++;
        break;
      case "--timeout":
        o.timeoutSec = count(a, v), i++;
        break;
      case "--modes":
        o.modes = (v ?? "").split(",").map((m) => {
          if (m !== "graceful" && m !== "kill") throw new Error(`unknown mode '${m}'`);
          return m;
        }), i++;
        break;
      case "--compact":
        o.compact = true;
        break;
      case "--ferric-flags":
        o.ferricFlags = splitFlags(v ?? ""), i++;
        break;
      case "--redis-flags":
        o.redisFlags = splitFlags(v ?? ""), i++;
        break;
      case "-h":
      case "--help":
        return null;
      default:
        throw new Error(`unknown option '${a}'`);
    }
  }
  if (o.keyspace === 0) o.keyspace = o.requests;
  return o;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with `p`, or rejects with `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one inline command on `conn` and returns the first reply chunk. */
async function command(conn: Deno.Conn, line: string): Promise<string> {
  await conn.write(enc.encode(line + "\r\n"));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  if (n === null) throw new Error("connection closed");
  return dec.decode(buf.subarray(0, n));
}

/** One server of the comparison: how to start it, stop it and where its data lives. */
interface ServerDef {
  name: string;
  port: number;
  argv: string[];
  /** Graceful stop: SHUTDOWN command or SIGTERM. */
  graceful: "shutdown" | "SIGTERM";
}

/** A running child with the tail of its output (for error messages). */
class Running {
  output = "";
  exited = false;
  readonly drained: Promise<unknown>;
  constructor(readonly def: ServerDef, readonly child: Deno.ChildProcess) {
    const drain = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) this.output = (this.output + dec.decode(chunk)).slice(-4000);
    };
    this.drained = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
    child.status.then(() => this.exited = true);
  }

  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }
}

const running = new Set<Running>();

function spawn(def: ServerDef): Running {
  const [cmd, ...args] = def.argv;
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const r = new Running(def, child);
  running.add(r);
  child.status.then(() => running.delete(r));
  return r;
}

/**
 * Starts `def` and returns the milliseconds from spawn until it answered +PONG. Connection
 * attempts and PINGs are repeated every `POLL_MS` while it is not listening or still loading.
 */
const POLL_MS = 2;
async function startAndTime(def: ServerDef, timeoutMs: number): Promise<[Running, number]> {
  const t0 = performance.now();
  const r = spawn(def);
  const until = t0 + timeoutMs;
  let conn: Deno.Conn | null = null;
  try {
    while (performance.now() < until) {
      if (r.exited) throw new Error(`${def.name} exited while starting:\n${r.output}`);
      try {
        conn ??= await Deno.connect({ hostname: "127.0.0.1", port: def.port });
        const reply = await within(command(conn, "PING"), timeoutMs, `${def.name} PING`);
        if (reply.startsWith("+PONG")) return [r, performance.now() - t0];
        if (!reply.startsWith("-LOADING")) throw new Error(`${def.name}: PING -> ${reply}`);
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionRefused)) throw e;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`${def.name} did not answer PING within ${timeoutMs} ms:\n${r.output}`);
  } finally {
    conn?.close();
  }
}

/** Sends one command to a running server on a fresh connection. */
async function ask(def: ServerDef, line: string, timeoutMs: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: def.port });
  try {
    return await within(command(conn, line), timeoutMs, `${def.name} ${line}`);
  } finally {
    conn.close();
  }
}

async function dbsize(def: ServerDef, timeoutMs: number): Promise<number> {
  const reply = await ask(def, "DBSIZE", timeoutMs);
  const m = /^:(\d+)/.exec(reply);
  if (!m) throw new Error(`${def.name}: DBSIZE -> ${reply}`);
  return Number(m[1]);
}

/** Stops `r` gracefully or with SIGKILL and waits for it to exit. */
async function stop(r: Running, how: "graceful" | "SIGKILL", timeoutMs: number): Promise<void> {
  if (how === "SIGKILL") r.kill("SIGKILL");
  else if (r.def.graceful === "SIGTERM") r.kill("SIGTERM");
  else await ask(r.def, "SHUTDOWN", timeoutMs).catch(() => {}); // the reply is the closed socket
  try {
    await within(r.child.status, timeoutMs, `${r.def.name} stop`);
  } catch (e) {
    r.kill("SIGKILL");
    await r.child.status;
    throw e;
  }
  await r.drained;
}

/**
 * Writes the SETs both servers load into `path` as RESP: keys `key:NNNNNNNNNNNN` drawn by a
 * seeded generator from [0, keyspace), as redis-benchmark -r names them, 16-byte values. The same
 * file goes to both servers, so both hold exactly the same keys.
 */
async function writeCommands(path: string, o: Options): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let seed = 0x2545f491;
    const chunk: string[] = [];
    for (let i = 0; i < o.requests; i++) {
      seed ^= seed << 13, seed ^= seed >>> 17, seed ^= seed << 5;
      const key = `key:${String((seed >>> 0) % o.keyspace).padStart(12, "0")}`;
      chunk.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$16\r\n${"v".repeat(16)}\r\n`);
      if (chunk.length === 10000 || i === o.requests - 1) {
        const bytes = enc.encode(chunk.join(""));
        for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
        chunk.length = 0;
      }
    }
  } finally {
    file.close();
  }
}

/** Sends the commands file to `def` with `redis-cli --pipe`. */
async function loadWrites(def: ServerDef, commands: string, o: Options): Promise<void> {
  const child = new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(def.port), "--pipe"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const input = await Deno.open(commands);
    const out = await within(
      Promise.all([input.readable.pipeTo(child.stdin), child.output()]).then(([, out]) => out),
      o.timeoutSec * 1000,
      `redis-cli --pipe ${def.name}`,
    );
    const text = dec.decode(out.stdout);
    if (!out.success || !/errors: 0,/.test(text)) {
      throw new Error(`redis-cli --pipe ${def.name} failed: ${text}${dec.decode(out.stderr)}`);
    }
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw e;
  }
}

interface Row {
  label: string;
  ferric: number[];
  redis: number[];
}

async function run(o: Options, root: string): Promise<Row[]> {
  const timeoutMs = o.timeoutSec * 1000;
  const ferricDir = `${root}/ferric`;
  const redisDir = `${root}/redis`;
  await Deno.mkdir(ferricDir);
  await Deno.mkdir(redisDir);
  const main = new URL("../main.ts", import.meta.url).pathname;
  const ferricPort = freePort();
  const redisPort = freePort();
  const ferric: ServerDef = {
    name: "ferricstore",
    port: ferricPort,
    argv: [
      Deno.execPath(),
      ..."run -A".split(" "),
      V8_FLAGS_ARG,
      main,
      "--port",
      String(ferricPort),
      "--data-dir",
      ferricDir,
      ..."--http-port -1 --loglevel warning".split(" "),
      ...o.ferricFlags,
    ],
    graceful: "SIGTERM",
  };
  const redis: ServerDef = {
    name: "redis-server",
    port: redisPort,
    argv: [
      "redis-server",
      ..."--bind 127.0.0.1 --port".split(" "),
      String(redisPort),
      "--dir",
      redisDir,
      ...'--appendonly yes --appendfsync everysec --save "" --loglevel warning'
        .split(" ").map((a) => a === '""' ? "" : a),
      ...o.redisFlags,
    ],
    graceful: "shutdown",
  };
  const servers = [ferric, redis];
  const live = new Map<ServerDef, Running>();
  for (const def of servers) live.set(def, (await startAndTime(def, timeoutMs))[0]);
  const commands = `${root}/commands.resp`;
  await writeCommands(commands, o);
  const expected = new Map<ServerDef, number>();
  for (const def of servers) {
    const t0 = performance.now();
    await loadWrites(def, commands, o);
    expected.set(def, await dbsize(def, timeoutMs));
    console.log(
      `${def.name}: wrote ${o.requests} SETs in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s, ${expected.get(def)} keys`,
    );
  }
  if (expected.get(ferric) !== expected.get(redis)) {
    throw new Error(`the same writes left ${expected.get(ferric)} and ${expected.get(redis)} keys`);
  }
  // Let Redis's everysec fsync (and FerricStore's commit window) put the last writes on disk.
  await sleep(1500);

  const rows: Row[] = [];
  const restart = async (label: string, how: "graceful" | "SIGKILL") => {
    const row: Row = { label, ferric: [], redis: [] };
    rows.push(row);
    for (let round = 0; round < o.rounds; round++) {
      for (const def of servers) {
        await stop(live.get(def)!, how, timeoutMs);
        const [r, ms] = await startAndTime(def, timeoutMs);
        live.set(def, r);
        const keys = await dbsize(def, timeoutMs);
        if (keys !== expected.get(def)) {
          throw new Error(`${def.name} came back with ${keys} keys, expected ${expected.get(def)}`);
        }
        (def === ferric ? row.ferric : row.redis).push(ms);
        console.log(`${label} round ${round + 1}: ${def.name} ${ms.toFixed(0)} ms (${keys} keys)`);
      }
    }
  };
  for (const mode of o.modes) {
    await restart(
      mode === "graceful" ? "graceful" : "SIGKILL",
      mode === "kill" ? "SIGKILL" : "graceful",
    );
  }
  if (o.compact) {
    const reply = await ask(ferric, "FERRICSTORE.COMPACT", timeoutMs);
    if (!reply.startsWith("+OK")) throw new Error(`FERRICSTORE.COMPACT -> ${reply}`);
    await restart("graceful after compact", "graceful");
  }
  for (const r of live.values()) await stop(r, "graceful", timeoutMs);
  return rows;
}

function report(rows: Row[], o: Options): void {
  const table = rows.map((r) => {
    const f = median(r.ferric) ?? NaN, rd = median(r.redis) ?? NaN;
    return [
      r.label,
      `${(rd / 1000).toFixed(2)} s`,
      `${(f / 1000).toFixed(2)} s`,
      `${(f / rd).toFixed(2)}x`,
      f / rd <= 1.5 ? "yes" : "no",
    ];
  });
  const head = ["restart", "redis-server (AOF)", "ferricstore", "ratio", "<= 1.5x"];
  console.log(
    `\n${o.requests} SETs of 16 bytes over ${o.keyspace} random keys; time until PING answers, ` +
      `median of ${o.rounds}`,
  );
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  for (const line of [head, ...table]) {
    console.log(line.map((c, i) => c.padEnd(widths[i])).join("  "));
  }
  console.log(`\n| ${head.join(" | ")} |\n| --- | ---: | ---: | ---: | --- |`);
  for (const line of table) console.log(`| ${line.join(" | ")} |`);
}

async function cleanup(root: string): Promise<void> {
  for (const r of running) r.kill("SIGKILL");
  await Promise.all([...running].map((r) => r.child.status.catch(() => {})));
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

if (import.meta.main) {
  let o: Options | null;
  try {
    o = parseOptions(Deno.args);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (o === null) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const root = await Deno.makeTempDir({ prefix: "bench-restart-" });
  const onSignal = async () => {
    await cleanup(root);
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 0;
  try {
    report(await run(o, root), o);
  } catch (e) {
    console.error(`restart benchmark failed: ${(e as Error).message}`);
    code = 1;
  } finally {
    await cleanup(root);
  }
  Deno.exit(code);
}
