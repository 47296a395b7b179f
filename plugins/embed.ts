/**
 * Embedding FerricStore in a program without a socket: {@link openStore} opens a data directory
 * with the same engine, commands, plugins and durability as the server, and runs commands as one
 * in-process client through the same dispatch pipeline (ACL, transactions, keyspace
 * notifications …). Replies come back as plain JavaScript values.
 *
 * To serve clients over TCP from a program instead, use `startServer` (server/server.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "./embed.ts";
 *
 * const dataDir = await Deno.makeTempDir();
 * const store = await openStore({ dataDir });
 * await store.command("SET", "greeting", "héllo");
 * assert(await store.command("GET", "greeting") === "héllo");
 * assert(await store.command("INCRBY", "n", 5) === 5);
 * await store.command("HSET", "h", "a", "1");
 * const h = await store.command("HGETALL", "h") as Record<string, string>;
 * assert(h.a === "1");
 * await store.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { dispatch } from "../commands/dispatch.ts";
import { epochMs } from "../engine/clock.ts";
import { formatDouble } from "../protocol/numbers.ts";
import {
  BigNumber,
  BulkRing,
  Double,
  FileSlice,
  Frames,
  inMemory,
  NO_REPLY,
  NULL_ARRAY,
  Push,
  type Reply,
  RespError,
  RespMap,
  RespSet,
  SimpleString,
  Verbatim,
} from "../protocol/reply.ts";
import { Client, type Transport } from "../server/client.ts";
import { Config } from "../server/config.ts";
import { Server } from "../server/server.ts";
import { loadPlugin, registerPlugin } from "./loader.ts";
import type { Plugin } from "./api.ts";
import { registerNativePlugins } from "./native/mod.ts";

/** An error reply, thrown by {@link Store.command} (and found inside EXEC's results). */
export class ReplyError extends Error {
  /** The error code: the first word (`ERR`, `WRONGTYPE`, `NOPERM` …). */
  readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = "ReplyError";
    const i = message.indexOf(" ");
    this.code = i < 0 ? message : message.slice(0, i);
  }
}

/**
 * A reply as a JavaScript value: bulk and simple strings as strings (UTF-8 decoded; bytes as
 * `Uint8Array` with {@link Store.commandBuffer}), integers as numbers (bigint beyond 2^53),
 * doubles as numbers, null as null, arrays, sets and pushes as arrays, maps as objects (as
 * `Map`s with `commandBuffer`), booleans, and error replies inside arrays as {@link ReplyError}s.
 */
export type JsValue =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | null
  | ReplyError
  | JsValue[]
  | { [key: string]: JsValue }
  | Map<JsValue, JsValue>;

/** A command argument: strings are sent as UTF-8, numbers in decimal, bytes as they are. */
export type CommandArg = string | Uint8Array | number | bigint;

/** Options of {@link openStore}. */
export interface StoreOptions {
  /** The data directory (created if missing; locked while the store is open). */
  dataDir: string;
  /** Any other configuration parameter, by name (`{ "shard-count": 2, durability: "async" }`). */
  config?: Record<string, string | number | boolean>;
  /** Plugins to load before the data is recovered: plugin objects, or paths/URLs of modules. */
  plugins?: (Plugin | string)[];
  /** The protocol replies are shaped for (default 3: maps, doubles, booleans). */
  resp?: 2 | 3;
  /** Receives out-of-band messages (pub/sub messages, tracking invalidations). */
  onPush?: (message: JsValue) => void;
}

/** An open embedded store. */
export interface Store {
  /** The server object (configuration, keyspace, engine), for what commands do not cover. */
  readonly server: Server;
  /** Runs a command; resolves with its reply, rejects with a {@link ReplyError}. */
  command(...args: CommandArg[]): Promise<JsValue>;
  /** {@link command}, with bulk strings as `Uint8Array`s and maps as `Map`s. */
  commandBuffer(...args: CommandArg[]): Promise<JsValue>;
  /** Waits for running commands, writes everything to disk and closes the data directory. */
  close(): Promise<void>;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

function argBytes(a: CommandArg): Uint8Array {
  if (a instanceof Uint8Array) return a;
  return encoder.encode(typeof a === "string" ? a : String(a));
}

function bin(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}

/**
 * Converts a reply value as a client of protocol `resp` receives it (RESP2 flattens maps, writes
 * doubles and big numbers as strings and booleans as 0/1); `buffers` keeps bulk strings as bytes
 * and maps as Maps.
 */
export function toJs(r: Reply, buffers: boolean, resp: 2 | 3 = 3): JsValue {
  if (r === null || r === NULL_ARRAY) return null;
  if (r instanceof Uint8Array) return buffers ? new Uint8Array(r) : utf8.decode(r);
  const text = (s: string): JsValue => buffers ? bin(s) : utf8.decode(bin(s));
  switch (typeof r) {
    case "string":
      return text(r);
    case "number":
    case "bigint":
      return r;
    case "boolean":
      return resp === 3 ? r : (r ? 1 : 0);
  }
  if (Array.isArray(r)) return r.map((x) => toJs(x, buffers, resp));
  if (r instanceof SimpleString) return utf8.decode(bin(r.text));
  if (r instanceof RespError) return new ReplyError(utf8.decode(bin(r.message)));
  if (r instanceof Double) return resp === 3 ? r.value : text(formatDouble(r.value));
  if (r instanceof RespMap) {
    const e = r.entries;
    if (resp === 2) return e.map((x) => toJs(x, buffers, resp));
    if (buffers) {
      const m = new Map<JsValue, JsValue>();
      for (let i = 0; i + 1 < e.length; i += 2) {
        m.set(toJs(e[i], true, resp), toJs(e[i + 1], true, resp));
      }
      return m;
    }
    const o: { [key: string]: JsValue } = {};
    for (let i = 0; i + 1 < e.length; i += 2) {
      o[String(toJs(e[i], false, resp))] = toJs(e[i + 1], false, resp);
    }
    return o;
  }
  if (r instanceof RespSet || r instanceof Push) return r.items.map((x) => toJs(x, buffers, resp));
  if (r instanceof Verbatim) return text(r.text);
  if (r instanceof BigNumber) return resp === 3 ? r.value : text(String(r.value));
  if (r instanceof FileSlice || r instanceof BulkRing) return toJs(inMemory(r), buffers, resp);
  if (r instanceof Frames) {
    // Replies written back to back in one slot (in the protocol they were made in, when pinned).
    const items = r.replies.map((x) => toJs(x, buffers, r.proto ?? resp));
    return items.length === 1 ? items[0] : items;
  }
  return null;
}

/**
 * Decodes one RESP2/RESP3 reply (pub/sub fan-out hands clients pre-encoded messages) into a
 * JavaScript value, as {@link toJs} would have converted it.
 */
export function decodeResp(bytes: Uint8Array, buffers: boolean): JsValue {
  let pos = 0;
  const line = (): string => {
    const end = bytes.indexOf(13, pos);
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString("latin1");
    pos = end + 2;
    return s;
  };
  const bulk = (n: number): Uint8Array => {
    const b = bytes.subarray(pos, pos + n);
    pos += n + 2;
    return b;
  };
  const read = (): JsValue => {
    const type = String.fromCharCode(bytes[pos++]);
    const text = line();
    switch (type) {
      case "+":
        return text;
      case "-":
        return new ReplyError(text);
      case ":":
        return Number.isSafeInteger(Number(text)) ? Number(text) : BigInt(text);
      case "_":
        return null;
      case ",":
        return Number(text === "inf" ? Infinity : text === "-inf" ? -Infinity : text);
      case "#":
        return text === "t";
      case "(":
        return BigInt(text);
      case "$":
      case "=": {
        const n = Number(text);
        if (n < 0) return null;
        const b = bulk(n);
        const v = type === "=" ? b.subarray(4) : b;
        return buffers && type === "$" ? new Uint8Array(v) : utf8.decode(v);
      }
      case "*":
      case "~":
      case ">": {
        const n = Number(text);
        if (n < 0) return null;
        const out: JsValue[] = [];
        for (let i = 0; i < n; i++) out.push(read());
        return out;
      }
      case "%": {
        const n = Number(text);
        if (buffers) {
          const m = new Map<JsValue, JsValue>();
          for (let i = 0; i < n; i++) m.set(read(), read());
          return m;
        }
        const o: { [key: string]: JsValue } = {};
        for (let i = 0; i < n; i++) o[String(read())] = read();
        return o;
      }
      default:
        throw new Error(`unexpected RESP type byte '${type}'`);
    }
  };
  return read();
}

/**
 * Opens a data directory as an embedded store. FerricStore's native commands (CAS, LOCK,
 * RATELIMIT.ADD, FETCH_OR_COMPUTE …) and the given plugins are loaded before the data is
 * recovered; the store runs active expiry and eviction in the background until closed.
 *
 * @example Values are binary-safe; `commandBuffer` returns bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "./embed.ts";
 *
 * const dataDir = await Deno.makeTempDir();
 * const store = await openStore({ dataDir, config: { "shard-count": 2 } });
 * await store.command("SET", "bin", new Uint8Array([0, 255, 1]));
 * const v = await store.commandBuffer("GET", "bin") as Uint8Array;
 * assert(v.length === 3 && v[1] === 255);
 * await assert.rejects(store.command("LPUSH", "bin", "x"), /^ReplyError: WRONGTYPE/);
 * await store.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const config = new Config();
  const settings = { loglevel: "warning", ...options.config, "data-dir": options.dataDir };
  for (const [name, value] of Object.entries(settings)) {
    config.set(name, typeof value === "boolean" ? (value ? "yes" : "no") : String(value), "cli");
  }
  const server = new Server(config);
  try {
    registerNativePlugins(server);
    for (const p of options.plugins ?? []) {
      if (typeof p === "string") await loadPlugin(server, p);
      else await registerPlugin(server, p);
    }
    await server.open();
  } catch (e) {
    await server.close();
    throw e;
  }
  return new EmbeddedStore(server, options);
}

class EmbeddedStore implements Store {
  private readonly client: Client;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(readonly server: Server, private readonly options: StoreOptions) {
    const deliver = (v: JsValue) => options.onPush?.(v);
    const transport: Transport = {
      addr: "embedded:0",
      laddr: "embedded:0",
      push: (r) => deliver(toJs(r, false, client.resp)),
      pushEncoded: (bytes) => deliver(decodeResp(bytes, false)),
      close: () => {},
      queryBuffer: () => [0, 0],
      outputPending: () => 0,
    };
    const client = new Client(transport);
    client.resp = options.resp ?? 3;
    client.authenticated = server.defaultUserNoPass;
    server.clients.set(client.id, client);
    server.stats.connections++;
    this.client = client;
    // The server cron's work on the data (Server.storeCron): expiry, cooling and eviction
    // under maxmemory, compaction. The server stops it when it closes (SHUTDOWN too).
    server.startStoreCron();
  }

  command(...args: CommandArg[]): Promise<JsValue> {
    return this.enqueue(args, false);
  }

  commandBuffer(...args: CommandArg[]): Promise<JsValue> {
    return this.enqueue(args, true);
  }

  private enqueue(args: CommandArg[], buffers: boolean): Promise<JsValue> {
    // One client runs one command at a time, in order, as a connection does.
    const run = this.tail.then(() => this.run(args, buffers));
    this.tail = run.catch(() => {});
    return run;
  }

  private async run(args: CommandArg[], buffers: boolean): Promise<JsValue> {
    if (this.closed) throw new Error("the store is closed");
    if (args.length === 0) throw new TypeError("command: no command given");
    const client = this.client;
    const began = epochMs();
    client.lastInteraction = Math.floor(began);
    let r = dispatch(this.server, client, args.map(argBytes));
    if (r instanceof Promise) r = await r;
    // As a connection does: the reply leaves once the writes it acknowledges are durable.
    const barrier = this.server.keyspace.log.barrier?.(began);
    if (barrier) await barrier;
    const pushes = client.afterReply;
    if (pushes.length > 0) {
      client.afterReply = [];
      queueMicrotask(() => {
        for (const p of pushes) this.options.onPush?.(toJs(p, false, client.resp));
      });
    }
    if (r === NO_REPLY) return null;
    const v = toJs(r, buffers, client.resp);
    if (v instanceof ReplyError) throw v;
    return v;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.tail;
    this.closed = true;
    this.server.disconnected(this.client);
    await this.server.close();
  }
}
