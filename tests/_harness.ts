/**
 * Test harness: FerricStore servers (in-process or as a child process), a real redis-server as
 * the oracle, and a raw RESP client that returns reply bytes exactly as sent, for differential
 * tests that compare both servers byte for byte.
 *
 * @module
 */
import { type Server, startServer } from "../server/server.ts";
import { V8_FLAGS_ARG } from "../server/v8_flags.ts";
import { dataEnd } from "../engine/log/recovery.ts";
import { Buffer } from "node:buffer";
import { tempDir } from "./_temp_dir.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("latin1");

/** The first key `<prefix><n>` (n = 0, 1, …) that the server keeps in shard `shard`. */
export function keyInShard(server: Server, prefix: string, shard: number): string {
  for (let i = 0;; i++) {
    if (server.keyspace.shardOf(`${prefix}${i}`) === shard) return `${prefix}${i}`;
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts FerricStore in this process on a free port. */
export async function startFerric(
  options: Record<string, string | number | boolean> = {},
): Promise<Server> {
  return await startServer({
    port: 0,
    bind: "127.0.0.1",
    loglevel: "warning",
    "http-port": -1,
    // A data dir of its own unless one is given (removed with the test module).
    ...(options["data-dir"] === undefined ? { "data-dir": await tempDir("ferric-test-") } : {}),
    ...options,
  });
}

/** Runs `fn` with an in-process FerricStore, then closes it and removes the data dir it made. */
export async function withFerric(
  fn: (server: Server) => Promise<void>,
  options: Record<string, string | number | boolean> = {},
): Promise<void> {
  const server = await startFerric(options);
  try {
    await fn(server);
  } finally {
    await server.close();
    if (options["data-dir"] === undefined) {
      await Deno.remove(server.config.str("data-dir"), { recursive: true }).catch(() => {});
    }
  }
}

/** A server in a child process (for restarts, kills and real start-up). */
export interface ChildServer {
  port: number;
  process: Deno.ChildProcess;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  output(): string;
}

/** Waits until something answers PING on `port`. */
export async function waitForPort(port: number, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const c = await RawClient.connect(port);
      const r = await c.call("PING");
      c.close();
      if (r.startsWith("+PONG") || r.startsWith("-NOAUTH")) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered on port ${port} within ${timeoutMs} ms`);
}

async function spawn(
  cmd: string,
  args: string[],
  port: number,
  env?: Record<string, string>,
): Promise<ChildServer> {
  const process = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env, clearEnv: true } : {}),
  }).spawn();
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  const drained = Promise.all([drain(process.stdout), drain(process.stderr)]);
  try {
    const exited = process.status.then((s) => {
      throw new Error(`${cmd} exited with code ${s.code} before answering on port ${port}`);
    });
    await Promise.race([waitForPort(port), exited]);
  } catch (e) {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await drained;
    throw new Error(`${(e as Error).message}\n${out}`);
  }
  return {
    port,
    process,
    output: () => out,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already exited */ }
      const status = await process.status;
      await drained;
      return status;
    },
  };
}

/**
 * Starts `deno run -A main.ts` with the given flags on a free port, with the V8 flags that
 * `deno task start` passes unless `v8Flags` is false (then without any, DENO_V8_FLAGS too).
 */
export async function spawnFerric(
  flags: string[] = [],
  { v8Flags = true }: { v8Flags?: boolean } = {},
): Promise<ChildServer> {
  const port = freePort();
  const main = new URL("../main.ts", import.meta.url).pathname;
  const env = v8Flags ? undefined : Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => name !== "DENO_V8_FLAGS"),
  );
  return await spawn(
    Deno.execPath(),
    [
      ...["run", "-A", ...(v8Flags ? [V8_FLAGS_ARG] : []), main],
      ...["--port", String(port), "--http-port", "0", ...flags],
    ],
    port,
    env,
  );
}

let redisPath: string | null | undefined;

/** Path of redis-server, or null when it is not installed. */
export function redisServerPath(): string | null {
  if (redisPath !== undefined) return redisPath;
  for (const p of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    try {
      Deno.statSync(p);
      return redisPath = p;
    } catch { /* try next */ }
  }
  return redisPath = null;
}

/** Starts a real redis-server (the oracle) without persistence on a free port. */
export async function startRedis(extra: string[] = []): Promise<ChildServer> {
  const path = redisServerPath();
  if (!path) throw new Error("redis-server is not installed (apt-get install -y redis-server)");
  const port = freePort();
  // A directory of its own: with --appendonly yes Redis writes there, and never in the repository.
  const dir = await tempDir("redis-oracle-");
  let server: ChildServer;
  try {
    server = await spawn(path, [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      ...extra,
    ], port);
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const stop = server.stop;
  return {
    ...server,
    async stop(signal?: Deno.Signal) {
      const status = await stop(signal);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return status;
    },
  };
}

/** Index just past the RESP reply starting at `pos`, or -1 when it is incomplete. */
export function replyEnd(buf: Uint8Array, pos: number): number {
  if (pos >= buf.length) return -1;
  const type = buf[pos];
  const cr = buf.indexOf(13, pos);
  if (cr < 0 || cr + 1 >= buf.length) return -1;
  const line = dec.decode(buf.subarray(pos + 1, cr));
  let next = cr + 2;
  switch (String.fromCharCode(type)) {
    case "+":
    case "-":
    case ":":
    case "_":
    case ",":
    case "#":
    case "(":
      return next;
    case "$":
    case "!":
    case "=": {
      const n = Number(line);
      if (n < 0) return next;
      return next + n + 2 <= buf.length ? next + n + 2 : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%":
    case "|": {
      let n = Number(line);
      if (n < 0) return next;
      if (type === 37 || type === 124) n *= 2; // '%' and '|' hold pairs
      for (let i = 0; i < n; i++) {
        next = replyEnd(buf, next);
        if (next < 0) return -1;
      }
      if (type === 124) return replyEnd(buf, next); // attribute precedes a reply
      return next;
    }
    default:
      throw new Error(
        `bad reply type byte ${type} at ${pos}: ${dec.decode(buf.subarray(pos, pos + 40))}`,
      );
  }
}

/** Joins byte strings (text as UTF-8) into one buffer, e.g. pipelined requests for one write. */
export function concat(parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Encodes a command as a RESP multibulk request. */
export function encodeCommand(args: (string | Uint8Array)[]): Uint8Array {
  const parts: (string | Uint8Array)[] = [`*${args.length}\r\n`];
  for (const a of args) {
    const b = typeof a === "string" ? enc.encode(a) : a;
    parts.push(`$${b.length}\r\n`, b, "\r\n");
  }
  return concat(parts);
}

/** A RESP client that hands back raw reply text (latin1), for byte-exact comparisons. */
export class RawClient {
  private buf = new Uint8Array(0);
  private constructor(readonly conn: Deno.Conn) {}

  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }
  /** Connects through a Unix domain socket. */
  static async connectUnix(path: string): Promise<RawClient> {
    return new RawClient(await Deno.connect({ transport: "unix", path }));
  }

  /** Sends raw bytes. */
  async write(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Reads one complete reply (raw text), or null if the server closed the connection. */
  async read(timeoutMs = 10000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = replyEnd(this.buf, 0);
      if (end >= 0) {
        const text = dec.decode(this.buf.subarray(0, end));
        this.buf = this.buf.slice(end);
        return text;
      }
      const chunk = new Uint8Array(64 * 1024);
      const timer = new Promise<"timeout">((r) =>
        setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()))
      );
      const n = await Promise.race([this.conn.read(chunk), timer]);
      if (n === "timeout") throw new Error("timed out waiting for a reply");
      if (n === null) return null;
      const next = new Uint8Array(this.buf.length + n);
      next.set(this.buf);
      next.set(chunk.subarray(0, n), this.buf.length);
      this.buf = next;
    }
  }

  /** True when the server has closed the connection (reads EOF within `timeoutMs`). */
  async closedByServer(timeoutMs = 2000): Promise<boolean> {
    try {
      return (await this.read(timeoutMs)) === null;
    } catch {
      return false;
    }
  }

  /** Sends one command and returns its raw reply. */
  async call(...args: (string | Uint8Array)[]): Promise<string> {
    await this.write(encodeCommand(args));
    const r = await this.read();
    if (r === null) throw new Error("connection closed");
    return r;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** The bulk strings of a raw flat array or set reply (latin1 text, as RawClient reads it). */
export function bulkStrings(raw: string): string[] {
  const out: string[] = [];
  let p = raw.indexOf("\r\n") + 2;
  while (p < raw.length) {
    const lineEnd = raw.indexOf("\r\n", p);
    const len = Number(raw.slice(p + 1, lineEnd));
    out.push(raw.slice(lineEnd + 2, lineEnd + 2 + len));
    p = lineEnd + 2 + len + 2;
  }
  return out;
}

/** Sorts the elements of every aggregate in a raw reply (for replies whose order is undefined). */
export function unordered(raw: string): string {
  return unorderedAt(raw, 0)[0];
}

function unorderedAt(raw: string, pos: number): [string, number] {
  const buf = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  const end = replyEnd(buf, pos);
  const t = raw[pos];
  if (t !== "*" && t !== "~" && t !== "%") return [raw.slice(pos, end), end];
  const lineEnd = raw.indexOf("\r\n", pos);
  let n = Number(raw.slice(pos + 1, lineEnd));
  if (n < 0) return [raw.slice(pos, end), end];
  if (t === "%") n *= 2;
  const items: string[] = [];
  let p = lineEnd + 2;
  for (let i = 0; i < n; i++) {
    const [s, next] = unorderedAt(raw, p);
    items.push(s);
    p = next;
  }
  items.sort();
  return [raw.slice(pos, lineEnd + 2) + items.join(""), p];
}

/** Reads pub/sub messages until the one on channel `marker`; returns those before it, raw. */
export async function messagesUntilMarker(c: RawClient): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const m = await c.read();
    if (m === null) throw new Error("connection closed");
    if (m.includes("\r\nmarker\r\n")) return out;
    out.push(m);
  }
  throw new Error("no marker");
}

/** A script line for {@link Differential.run}: command text, or the arguments themselves. */
export type ScriptLine = string | (string | Uint8Array)[];

/** Arguments for a failure message (binary ones as latin1 JSON strings). */
function showArgs(args: (string | Uint8Array)[]): string {
  return args.map((a) => typeof a === "string" ? a : JSON.stringify(dec.decode(a))).join(" ");
}

/**
 * Two servers side by side, FerricStore (in this process) and redis-server, one client on each:
 * the same command sequences go to both and the raw replies are compared.
 */
export class Differential {
  private constructor(
    readonly server: Server,
    readonly redisServer: ChildServer,
    readonly ferric: RawClient,
    readonly redis: RawClient,
    /** True when the FerricStore data directory is a temporary one {@link start} made. */
    private readonly ownsDataDir: boolean,
  ) {}

  /**
   * Starts both servers (`redisArgs` are redis-server's flags) and connects; with `resp3`, both
   * clients switch to RESP3 first.
   */
  static async start(
    ferricOptions: Record<string, string | number | boolean> = {},
    { redisArgs = [], resp3 = false }: { redisArgs?: string[]; resp3?: boolean } = {},
  ): Promise<Differential> {
    const server = await startFerric(ferricOptions);
    const ownsDataDir = ferricOptions["data-dir"] === undefined;
    return await Differential.connect(server, await startRedis(redisArgs), resp3, ownsDataDir);
  }

  /**
   * Starts both servers with the same settings (FerricStore's options, redis-server's `--name
   * value` flags) and connects.
   */
  static async alike(settings: Record<string, string>): Promise<Differential> {
    const redisArgs = Object.entries(settings).flatMap(([name, value]) => [`--${name}`, value]);
    return await Differential.start(settings, { redisArgs });
  }

  /** Pairs servers the caller started (a FerricStore set up beyond its options) and connects. */
  static async of(server: Server, redisServer: ChildServer): Promise<Differential> {
    return await Differential.connect(server, redisServer, false, false);
  }

  private static async connect(
    server: Server,
    redisServer: ChildServer,
    resp3: boolean,
    ownsDataDir: boolean,
  ): Promise<Differential> {
    const d = new Differential(
      server,
      redisServer,
      await RawClient.connect(server.port),
      await RawClient.connect(redisServer.port),
      ownsDataDir,
    );
    if (resp3) await d.both("HELLO", "3");
    return d;
  }

  /** Runs one command on both; returns [ferric, redis] raw replies. */
  async both(...args: (string | Uint8Array)[]): Promise<[string, string]> {
    return [await this.ferric.call(...args), await this.redis.call(...args)];
  }

  /**
   * Runs each command on both servers and returns a description of every difference (empty
   * when the replies are identical byte for byte).
   */
  async compare(commands: (string | Uint8Array)[][]): Promise<string[]> {
    const diffs: string[] = [];
    for (const cmd of commands) {
      const [f, r] = await this.both(...cmd);
      if (f !== r) {
        const show = cmd.map((a) => typeof a === "string" ? a : `<${a.length} bytes>`).join(" ");
        diffs.push(`${show}\n  ferric: ${JSON.stringify(f)}\n  redis:  ${JSON.stringify(r)}`);
      }
    }
    return diffs;
  }

  /**
   * Runs script lines on both and returns the differences. A text line starting with `~ ` is
   * compared with every aggregate's elements sorted (Redis does not define their order); `# `
   * compares only the first line of the replies (an aggregate's length, for random replies).
   */
  async run(lines: ScriptLine[]): Promise<string[]> {
    const diffs: string[] = [];
    for (const line of lines) {
      let mode = "exact";
      let args: (string | Uint8Array)[];
      if (typeof line === "string") {
        let text = line;
        if (line.startsWith("~ ")) [mode, text] = ["unordered", line.slice(2)];
        if (line.startsWith("# ")) [mode, text] = ["count", line.slice(2)];
        args = cmd(text);
      } else args = line;
      let [f, r] = await this.both(...args);
      if (mode === "unordered") [f, r] = [unordered(f), unordered(r)];
      if (mode === "count") [f, r] = [f.slice(0, f.indexOf("\r\n")), r.slice(0, r.indexOf("\r\n"))];
      if (f !== r) {
        const show = typeof line === "string" ? line : showArgs(line);
        diffs.push(`${show}\n  ferric: ${JSON.stringify(f)}\n  redis:  ${JSON.stringify(r)}`);
      }
    }
    return diffs;
  }

  /** Compares FerricStore's encoding of each key with the oracle's OBJECT ENCODING. */
  async encodings(keys: string[]): Promise<string[]> {
    const diffs: string[] = [];
    const ks = this.server.keyspace;
    for (const k of keys) {
      const e = ks.dbs[0].peek(k);
      const mine = e === undefined || e.value instanceof Uint8Array
        ? "(none)"
        : e.value.encoding(ks.encodingLimits);
      const raw = await this.redis.call("OBJECT", "ENCODING", k);
      const theirs = raw.startsWith("$") && !raw.startsWith("$-1")
        ? raw.split("\r\n")[1]
        : "(none)";
      if (mine !== theirs) diffs.push(`${k}: ferric ${mine}, redis ${theirs}`);
    }
    return diffs;
  }

  /**
   * Runs script lines with keyspace notifications on (KEA) and a subscriber on each server;
   * returns the reply differences and each server's notifications, raw.
   */
  async keyspaceEvents(
    lines: ScriptLine[],
  ): Promise<{ diffs: string[]; ferric: string[]; redis: string[] }> {
    const subs = [
      await RawClient.connect(this.server.port),
      await RawClient.connect(this.redisServer.port),
    ];
    try {
      await this.run(["CONFIG SET notify-keyspace-events KEA"]);
      for (const s of subs) {
        await s.call("PSUBSCRIBE", "__key*__:*");
        await s.call("SUBSCRIBE", "marker");
      }
      const diffs = await this.run(lines);
      await this.both("PUBLISH", "marker", "done");
      const [ferric, redis] = [
        await messagesUntilMarker(subs[0]),
        await messagesUntilMarker(subs[1]),
      ];
      return { diffs, ferric, redis };
    } finally {
      for (const s of subs) s.close();
    }
  }

  async close(): Promise<void> {
    this.ferric.close();
    this.redis.close();
    await this.server.close();
    await this.redisServer.stop("SIGKILL");
    if (this.ownsDataDir) {
      await Deno.remove(this.server.config.str("data-dir"), { recursive: true }).catch(() => {});
    }
  }
}

/** Splits `SET k "a b"`-style lines into arguments (tests write command sequences as text). */
export function cmd(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
  }
  return out;
}

/**
 * Bytes of log data in a segment file: a running server's open segment is longer than its data
 * (zero-filled space for its writes to overwrite, engine/log/zero_fill.ts).
 */
export function logDataBytes(path: string): number {
  return dataEnd(Buffer.from(Deno.readFileSync(path)));
}
