/**
 * Server operations: SLOWLOG, LATENCY, MEMORY, MONITOR, DEBUG, SHUTDOWN, SAVE, BGSAVE, LASTSAVE,
 * TIME, LOLWUT and FERRICSTORE.HOTNESS, with the per-server state they share
 * ({@link Operations}: slow log, latency monitor, monitors, read hotness, save bookkeeping), fed
 * by one command hook. {@link installOperations} wires that state into a server.
 *
 * @module
 */
import { createHash } from "node:crypto";
import v8 from "node:v8";
import {
  type Entry,
  ENTRY_OVERHEAD,
  entryMemory,
  Keyspace,
  type KeyTable,
  LRU_EPOCH_S,
  lruClock,
} from "../engine/keyspace.ts";
import { recover } from "../engine/log/recovery.ts";
import { epochMs } from "../engine/clock.ts";
import type { DataValue } from "../engine/values/types.ts";
import { formatDouble, parseInt64 } from "../protocol/numbers.ts";
import { stringEncoding, stringRefcount } from "./keys.ts";
import {
  Double,
  NO_REPLY,
  OK,
  type Reply,
  RespError,
  RespMap,
  SimpleString,
  Verbatim,
} from "../protocol/reply.ts";
import { type Client, isLocalClient } from "../server/client.ts";
import { LatencyMonitor } from "../server/latency.ts";
import type { Server } from "../server/server.ts";
import { VERSION } from "../server/server.ts";
import { abortShutdown, compactAll, shutdown } from "../server/shutdown.ts";
import { SlowLog } from "../server/slowlog.ts";
import type { CommandGate } from "./dispatch.ts";
import {
  int64Arg,
  intArg,
  isWord,
  latin1,
  latin1Bytes,
  utf8Bytes,
  valueBytes,
  word,
} from "./args.ts";
import { err, Errors, subcommandSyntaxError } from "./errors.ts";
import { type Command, type CommandSpec, findKeys, keys } from "./spec.ts";

// ---------------------------------------------------------------------------------------------
// Per-server state

/** Seconds the hotness window may span. */
const HOTNESS_MAX_WINDOW = 3600;
/** Distinct prefixes counted per second; the rest are counted under {@link OTHER_PREFIXES}. */
const HOTNESS_MAX_PREFIXES = 1024;
/** Where reads of prefixes beyond {@link HOTNESS_MAX_PREFIXES} in one second are counted. */
const OTHER_PREFIXES = "(other)";

interface PrefixReads {
  reads: number;
  cold: number;
}

interface HotBucket {
  second: number;
  hot: number;
  cold: number;
  prefixes: Map<string, PrefixReads>;
}

/** What {@link Hotness.report} adds up over a window. */
export interface HotnessReport {
  hot: number;
  cold: number;
  reads: number;
  /** prefix, reads, cold reads; most read first. */
  prefixes: [string, number, number][];
}

const READS_NONE = 0;
const READS_ONE = 1;
const READS_FIND = 2;

/** What the command hook needs to know about a command, worked out once per command. */
interface Traits {
  slowlog: boolean;
  /** The latency event: `fast-command` or `command`. */
  event: string;
  /** Shown to MONITOR (not skip_monitor, not admin). */
  monitor: boolean;
  /** Whether it reads values: not, one key at {@link keyIndex}, or keys found by the specs. */
  reads: number;
  keyIndex: number;
}

/** The property under which a command carries its {@link Traits}. */
const TRAITS: unique symbol = Symbol("operations.traits");

function traitsOf(cmd: Command): Traits {
  const f = cmd.flags;
  const specs = cmd.spec.keys ?? [];
  const access = specs.filter((k) => k.flags.includes("ACCESS"));
  let reads = READS_NONE;
  let keyIndex = -1;
  if (cmd.spec.getKeys !== undefined && (access.length > 0 || specs.length === 0)) {
    reads = READS_FIND;
  } else if (access.length > 0) {
    const k = access[0];
    const single = specs.length === 1 && "index" in k.begin && "lastKey" in k.find &&
      k.find.lastKey === 0 && cmd.spec.getKeys === undefined;
    reads = single ? READS_ONE : READS_FIND;
    if (single) keyIndex = (k.begin as { index: number }).index;
  }
  return {
    slowlog: !f.has("skip_slowlog"),
    event: f.has("fast") ? "fast-command" : "command",
    monitor: !f.has("skip_monitor") && !f.has("admin"),
    reads,
    keyIndex,
  };
}

/**
 * Reads per key namespace (the prefix before the first `:`) in one-second buckets over the last
 * hour, and the keyspace's hot and cold value reads. A command's cold reads (the keyspace's
 * counter moved while it ran) are attributed to the namespaces of the keys it read, in order:
 * exact when one command reads one namespace.
 */
export class Hotness {
  private readonly ring: (HotBucket | undefined)[] = new Array(HOTNESS_MAX_WINDOW);
  private lastHot: number;
  private lastCold: number;
  private lastPrefix = "";
  private lastPrefixBytes = new Uint8Array(0);
  private lastBucket: HotBucket | null = null;
  private lastReads: PrefixReads | null = null;

  constructor(private readonly ks: Keyspace) {
    this.lastHot = ks.hotReads;
    this.lastCold = ks.coldReads;
  }

  private bucket(second: number): HotBucket {
    const i = second % HOTNESS_MAX_WINDOW;
    let b = this.ring[i];
    if (b === undefined || b.second !== second) {
      b = { second, hot: 0, cold: 0, prefixes: new Map() };
      this.ring[i] = b;
    }
    return b;
  }

  /** Counts what a command read (called after every command). */
  observe(t: Traits, argv: Uint8Array[], cmd: Command): void {
    const ks = this.ks;
    let dh = ks.hotReads - this.lastHot;
    let dc = ks.coldReads - this.lastCold;
    if (t.reads === READS_NONE && dh === 0 && dc === 0) return;
    this.lastHot = ks.hotReads;
    this.lastCold = ks.coldReads;
    if (dh < 0) dh = 0; // counters were reset
    if (dc < 0) dc = 0;
    // The command's clock (set by dispatch) is good enough for one-second buckets.
    const b = this.bucket(Math.floor(ks.now / 1000));
    b.hot += dh;
    b.cold += dc;
    if (t.reads === READS_NONE) return;
    if (t.reads === READS_ONE) {
      if (t.keyIndex < argv.length) this.count(b, argv[t.keyIndex], dc);
      return;
    }
    let coldLeft = dc;
    for (const k of findKeys(cmd, argv)) {
      if (!k.flags.includes("ACCESS")) continue;
      this.count(b, argv[k.index], coldLeft);
      if (coldLeft > 0) coldLeft--;
    }
  }

  /** One read of `key` (a cold one when `cold` > 0). */
  private count(b: HotBucket, key: Uint8Array, cold: number): void {
    // A key without a colon has the empty prefix, as one that starts with one. (A loop, not
    // indexOf(): the builtin call costs more than scanning a short key.)
    let end = 0;
    while (end < key.length && key[end] !== 58) end++;
    if (end === key.length) end = 0;
    let prefix = this.lastPrefix;
    const last = this.lastPrefixBytes;
    let same = end === last.length;
    for (let i = 0; same && i < end; i++) same = key[i] === last[i];
    if (!same) {
      // Most reads hit a few namespaces: the last prefix's string is reused when it repeats.
      prefix = end === 0 ? "" : latin1(key.subarray(0, end));
      this.lastPrefix = prefix;
      this.lastPrefixBytes = key.slice(0, end);
    }
    // So are its counters, while the second's bucket is the same.
    let pr = same && b === this.lastBucket ? this.lastReads! : b.prefixes.get(prefix);
    if (pr === undefined) {
      if (b.prefixes.size >= HOTNESS_MAX_PREFIXES) prefix = OTHER_PREFIXES;
      pr = b.prefixes.get(prefix);
      if (pr === undefined) {
        pr = { reads: 0, cold: 0 };
        b.prefixes.set(prefix, pr);
      }
    }
    this.lastBucket = b;
    this.lastReads = pr;
    pr.reads++;
    if (cold > 0) pr.cold++;
  }

  /** Totals over the last `window` seconds (this second included). */
  report(window: number): HotnessReport {
    const now = Math.floor(Date.now() / 1000);
    const totals = new Map<string, PrefixReads>();
    let hot = 0, cold = 0, reads = 0;
    for (let s = now - window + 1; s <= now; s++) {
      const b = this.ring[((s % HOTNESS_MAX_WINDOW) + HOTNESS_MAX_WINDOW) % HOTNESS_MAX_WINDOW];
      if (b === undefined || b.second !== s) continue;
      hot += b.hot;
      cold += b.cold;
      for (const [p, r] of b.prefixes) {
        reads += r.reads;
        const t = totals.get(p);
        if (t) {
          t.reads += r.reads;
          t.cold += r.cold;
        } else totals.set(p, { reads: r.reads, cold: r.cold });
      }
    }
    const prefixes: [string, number, number][] = [...totals].map(([p, r]) => [p, r.reads, r.cold]);
    prefixes.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { hot, cold, reads, prefixes };
  }
}

/** The operations state of one server. */
export class Operations {
  readonly slowlog: SlowLog;
  readonly latency: LatencyMonitor;
  /** Clients in MONITOR mode. */
  readonly monitors: Set<Client> = new Set();
  readonly hotness: Hotness;
  /** Unix time (s) of the last completed save: flush and compaction of every shard. */
  lastSave: number;
  /** Keys changed since the last save began. */
  changesSinceSave = 0;
  /** The background save under way (BGSAVE or BGREWRITEAOF, as `bgsaveKind` says), if any. */
  bgsave: Promise<void> | null = null;
  bgsaveKind: BackgroundKind | null = null;
  /** Background saves asked for while another ran, started when it ends (as Redis schedules). */
  readonly scheduled: Set<BackgroundKind> = new Set();
  lastBgsaveOk = true;
  /** False after DEBUG SET-ACTIVE-EXPIRE 0. */
  activeExpire = true;
  reloading = false;
  private expireWrapped = false;

  constructor(readonly server: Server) {
    this.slowlog = new SlowLog(server.config);
    this.latency = new LatencyMonitor(server.config);
    this.hotness = new Hotness(server.keyspace);
    this.lastSave = Math.floor(server.startedAt / 1000);
  }

  /** After every command: slow log, latency monitor, monitors, hotness. */
  afterCommand(
    client: Client,
    cmd: Command,
    argv: Uint8Array[],
    usec: number,
    waited: boolean,
  ): void {
    // Kept on the command object itself: a property read is cheaper than a map lookup.
    const holder = cmd as unknown as { [TRAITS]?: Traits };
    let t = holder[TRAITS];
    if (t === undefined) t = holder[TRAITS] = traitsOf(cmd);
    this.hotness.observe(t, argv, cmd);
    // A command that waited (a blocking pop that blocked) is not measured: its time includes
    // the wait. One served at once is, as in Redis.
    if (!waited) {
      const us = Math.floor(usec);
      if (t.slowlog && this.slowlog.wants(us)) {
        this.slowlog.push(redacted(cmd, argv), us, client.transport.addr, client.name);
      }
      this.latency.addSampleIfNeeded(t.event, Math.floor(us / 1000));
    }
    if (t.monitor && this.monitors.size > 0) this.feedMonitors(client, cmd, argv);
  }

  /** Sends a command line to every monitoring client, as Redis's replicationFeedMonitors. */
  private feedMonitors(client: Client, cmd: Command, argv: Uint8Array[]): void {
    const line = monitorLine(client, redacted(cmd, argv));
    let bytes: Uint8Array | undefined;
    for (const m of this.monitors) {
      if (m === client) {
        // The monitor's own command: the line follows the command's reply (none after QUIT,
        // which closes the connection once its reply is out, as in Redis).
        if (cmd.name !== "quit") client.afterReply.push(new SimpleString(line));
        continue;
      }
      bytes ??= latin1Bytes(`+${line}\r\n`);
      m.transport.pushEncoded(bytes);
    }
  }

  /** DEBUG SET-ACTIVE-EXPIRE: turns the active expire cycle of the server cron off or on. */
  setActiveExpire(on: boolean): void {
    this.activeExpire = on;
    if (this.expireWrapped) return;
    // The cron calls keyspace.activeExpireCycle; this instance's cycle consults the flag.
    const ks = this.server.keyspace;
    const cycle = Keyspace.prototype.activeExpireCycle;
    ks.activeExpireCycle = (budgetMs: number, effort?: number) => {
      if (this.activeExpire) cycle.call(ks, budgetMs, effort);
    };
    this.expireWrapped = true;
  }

  /** LASTSAVE: the last save, or the last time every shard had been compacted if later. */
  lastSaveTime(): number {
    const shards = this.server.engine?.shards ?? [];
    let oldest = Infinity;
    for (const s of shards) oldest = Math.min(oldest, s.stats.lastMerge);
    const merged = shards.length && oldest > 0 && oldest !== Infinity
      ? Math.floor(oldest / 1000)
      : 0;
    return Math.max(this.lastSave, merged);
  }

  /** Flushes and compacts every shard; records the save when it completes. */
  async save(): Promise<boolean> {
    const dirty = this.changesSinceSave;
    const ok = await compactAll(this.server);
    if (ok) {
      this.lastSave = Math.floor(Date.now() / 1000);
      this.changesSinceSave = Math.max(0, this.changesSinceSave - dirty);
    }
    return ok;
  }
}

const installed = new WeakMap<Server, Operations>();

/**
 * Wires the operations state into a server (idempotent): the command hook that feeds the slow
 * log, the latency monitor, MONITOR and hotness; MONITOR's cleanup on disconnect and RESET; the
 * gate that stops monitoring clients from touching the keyspace and refuses DEBUG unless
 * `enable-debug-command` allows it; the count of changes since the last save.
 *
 * @example
 * ```ts
 * import { installOperations } from "./server.ts";
 * import { startServer } from "../server/server.ts";
 * const server = await startServer({ port: 0, "data-dir": await Deno.makeTempDir() });
 * const ops = installOperations(server);
 * console.assert(installOperations(server) === ops);
 * await server.close();
 * ```
 */
export function installOperations(server: Server): Operations {
  let ops = installed.get(server);
  if (ops !== undefined) return ops;
  ops = new Operations(server);
  installed.set(server, ops);
  const o = ops;
  server.commandHooks.push((client, cmd, argv, usec, waited) =>
    o.afterCommand(client, cmd, argv, usec, waited)
  );
  const leaveMonitor = (c: Client) => {
    c.monitor = false;
    o.monitors.delete(c);
  };
  server.disconnectHooks.push(leaveMonitor);
  server.resetHooks.push(leaveMonitor);
  server.stallHooks.push((event, ms) => o.latency.addSampleIfNeeded(event, Math.floor(ms)));
  server.addGate(operationsGate(server, o));
  server.keyspace.listen({ modified: () => o.changesSinceSave++ });
  return ops;
}

/** The operations state of a server (installed on first use if the server did not). */
export function operations(server: Server): Operations {
  return installed.get(server) ?? installOperations(server);
}

const DEBUG_NOT_ALLOWED = new RespError(
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
);
const REPLICA_KEYSPACE = new RespError("ERR Replica can't interact with the keyspace");

function operationsGate(server: Server, ops: Operations): CommandGate {
  return {
    check(client: Client, cmd: Command): Reply | undefined {
      if (cmd.spec === debugSpec && !debugAllowed(server, client)) return DEBUG_NOT_ALLOWED;
      if (ops.monitors.size !== 0 && ops.monitors.has(client)) {
        // A monitor is a replica to Redis: it may not read or write keys.
        const f = cmd.flags;
        if (cmd.isWrite || f.has("readonly") || f.has("may_replicate")) return REPLICA_KEYSPACE;
      }
      return undefined;
    },
  };
}

function debugAllowed(server: Server, client: Client): boolean {
  const mode = server.config.str("enable-debug-command");
  if (mode === "yes") return true;
  return mode === "local" && isLocalClient(client);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const REDACTED = latin1Bytes("(redacted)");
/** Parameters whose CONFIG SET values are never shown (Redis's SENSITIVE_CONFIG). */
const SENSITIVE_CONFIGS = new Set([
  "requirepass",
  "masterauth",
  "tls-key-file-pass",
  "tls-client-key-file-pass",
]);

/**
 * The arguments as the slow log and MONITOR show them: passwords replaced by `(redacted)`, as
 * Redis redacts AUTH, HELLO AUTH, ACL SETUSER, MIGRATE AUTH/AUTH2 and sensitive CONFIG SET values.
 */
export function redacted(cmd: Command, argv: Uint8Array[]): Uint8Array[] {
  const top = (cmd.parent ?? cmd).name;
  switch (cmd.fullName) {
    case "auth":
      return argv.map((a, i) => i === 0 ? a : REDACTED);
    case "acl|setuser":
      return argv.map((a, i) => i < 2 ? a : REDACTED);
    case "hello": {
      const out = argv.slice();
      for (let j = 2; j < out.length; j++) {
        if (isWord(out[j], "auth") && j + 2 < out.length) {
          out[j + 1] = REDACTED;
          out[j + 2] = REDACTED;
          j += 2;
        } else if (isWord(out[j], "setname") && j + 1 < out.length) j++;
      }
      return out;
    }
    case "config|set": {
      const out = argv.slice();
      for (let j = 2; j + 1 < out.length; j += 2) {
        if (SENSITIVE_CONFIGS.has(word(out[j]))) out[j + 1] = REDACTED;
      }
      return out;
    }
  }
  if (top === "migrate") {
    const out = argv.slice();
    for (let j = 6; j < out.length; j++) {
      if (isWord(out[j], "auth") && j + 1 < out.length) out[++j] = REDACTED;
      else if (isWord(out[j], "auth2") && j + 2 < out.length) {
        out[j + 1] = REDACTED;
        out[j + 2] = REDACTED;
        j += 2;
      }
    }
    return out;
  }
  return argv;
}

/** An argument quoted as Redis's sdscatrepr: printable ASCII as is, escapes for the rest. */
export function quoteArg(a: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < a.length; i++) {
    const c = a[i];
    switch (c) {
      case 92:
        s += "\\\\";
        break;
      case 34:
        s += '\\"';
        break;
      case 10:
        s += "\\n";
        break;
      case 13:
        s += "\\r";
        break;
      case 9:
        s += "\\t";
        break;
      case 7:
        s += "\\a";
        break;
      case 8:
        s += "\\b";
        break;
      default:
        s += c >= 32 && c <= 126 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
    }
  }
  return s + '"';
}

/** A MONITOR line without the leading `+` and the CRLF: `1700000000.123456 [0 ip:port] "SET" …`. */
export function monitorLine(client: Client, argv: readonly Uint8Array[]): string {
  const t = epochMs();
  const sec = Math.floor(t / 1000);
  const usec = Math.min(999999, Math.floor((t - sec * 1000) * 1000));
  let line = `${sec}.${String(usec).padStart(6, "0")} [${client.db} ${client.transport.addr}]`;
  for (const a of argv) line += " " + quoteArg(a);
  return line;
}

/** A reply text that may hold UTF-8 (LOLWUT) as the binary string replies carry. */
function textReply(text: string): string {
  return latin1(utf8Bytes(text));
}

function engineOf(server: Server) {
  const engine = server.engine;
  if (!engine) throw err("ERR the durable engine is not open");
  return engine;
}

// ---------------------------------------------------------------------------------------------
// SLOWLOG

const slowlogCommand: CommandSpec = {
  name: "slowlog",
  arity: -2,
  flags: [],
  categories: [],
  group: "server",
  summary: "A container for slow log commands",
  since: "2.2.12",
  complexity: "Depends on subcommand.",
  help: [
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
  ],
  subcommands: [
    {
      name: "get",
      arity: -2,
      flags: ["admin", "loading", "stale"],
      categories: [],
      group: "server",
      summary: "Get the slow log's entries",
      since: "2.2.12",
      complexity: "O(N) where N is the number of entries returned",
      /** SLOWLOG GET [count] */
      handler(ctx, argv) {
        if (argv.length > 3) return subcommandSyntaxError(argv);
        let count = 10;
        if (argv.length === 3) {
          const n = parseInt64(argv[2]);
          if (n === null || n < -1) {
            return new RespError("ERR count should be greater than or equal to -1");
          }
          count = typeof n === "bigint" ? Number.MAX_SAFE_INTEGER : n;
        }
        return operations(ctx.server).slowlog.get(count).map((e) => [
          e.id,
          e.time,
          e.duration,
          e.argv,
          e.peer,
          e.name,
        ]);
      },
    },
    {
      name: "len",
      arity: 2,
      flags: ["admin", "loading", "stale"],
      categories: [],
      group: "server",
      summary: "Get the slow log's length",
      since: "2.2.12",
      complexity: "O(1)",
      /** SLOWLOG LEN */
      handler: (ctx) => operations(ctx.server).slowlog.length,
    },
    {
      name: "reset",
      arity: 2,
      flags: ["admin", "loading", "stale"],
      categories: [],
      group: "server",
      summary: "Clear all entries from the slow log",
      since: "2.2.12",
      complexity: "O(N) where N is the number of entries in the slowlog",
      /** SLOWLOG RESET */
      handler(ctx) {
        operations(ctx.server).slowlog.reset();
        return OK;
      },
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// LATENCY

const latencySub = (
  name: string,
  arity: number,
  summary: string,
  handler: CommandSpec["handler"],
  extra: Partial<CommandSpec> = {},
): CommandSpec => ({
  name,
  arity,
  flags: ["admin", "noscript", "loading", "stale"],
  categories: [],
  group: "server",
  summary,
  since: "2.8.13",
  complexity: "O(1)",
  handler,
  ...extra,
});

/** The histograms of the commands LATENCY HISTOGRAM names (all, without names). */
function histograms(server: Server, argv: Uint8Array[]): Reply {
  const out: Reply[] = [];
  const add = (cmd: Command) => {
    const h = cmd.stats.histogram;
    if (h.total === 0) return;
    const buckets: Reply[] = [];
    for (const [us, n] of h.cumulative()) buckets.push(us, n);
    out.push(cmd.fullName, new RespMap(["calls", h.total, "histogram_usec", new RespMap(buckets)]));
  };
  const withSubs = (cmd: Command) => {
    add(cmd);
    for (const sub of cmd.subcommands?.values() ?? []) add(sub);
  };
  if (argv.length === 2) {
    for (const cmd of server.registry.all()) withSubs(cmd);
  } else {
    for (let j = 2; j < argv.length; j++) {
      const [top, sub] = latin1(argv[j]).toLowerCase().split("|");
      const cmd = server.registry.get(top);
      if (cmd === undefined) continue;
      if (sub === undefined) withSubs(cmd);
      else {
        const s = cmd.subcommands?.get(sub);
        if (s) withSubs(s);
      }
    }
  }
  return new RespMap(out);
}

const latencyCommand: CommandSpec = {
  name: "latency",
  arity: -2,
  flags: [],
  categories: [],
  group: "server",
  summary: "A container for latency diagnostics commands",
  since: "2.8.13",
  complexity: "Depends on subcommand.",
  help: [
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
  ],
  subcommands: [
    latencySub(
      "latest",
      2,
      "Return the latest latency samples for all events.",
      /** LATENCY LATEST */
      (ctx) => {
        const out: Reply[] = [];
        for (const [event, ts] of operations(ctx.server).latency.events) {
          const last = ts.latest();
          out.push([event, last.time, last.latency, ts.max]);
        }
        return out;
      },
    ),
    latencySub(
      "history",
      3,
      "Return timestamp-latency samples for the event.",
      /** LATENCY HISTORY event */
      (ctx, argv) => {
        const ts = operations(ctx.server).latency.events.get(latin1(argv[2]));
        return ts ? ts.history().map((s) => [s.time, s.latency]) : [];
      },
    ),
    latencySub(
      "graph",
      3,
      "Return a latency graph for the event.",
      /** LATENCY GRAPH event */
      (ctx, argv) => {
        const event = latin1(argv[2]);
        const lm = operations(ctx.server).latency;
        const ts = lm.events.get(event);
        if (ts === undefined) return err(`ERR No samples available for event '${event}'`);
        return new Verbatim("txt", lm.graph(event, ts));
      },
    ),
    latencySub(
      "doctor",
      2,
      "Return a human readable latency analysis report.",
      /** LATENCY DOCTOR */
      (ctx) => {
        const c = ctx.server.config;
        return new Verbatim(
          "txt",
          operations(ctx.server).latency.doctor(
            c.int("hz"),
            c.int("slowlog-log-slower-than"),
            c.str("durability") !== "async",
          ),
        );
      },
    ),
    latencySub(
      "reset",
      -2,
      "Reset latency data for one or more events.",
      /** LATENCY RESET [event ...] */
      (ctx, argv) => {
        const lm = operations(ctx.server).latency;
        if (argv.length === 2) return lm.reset(null);
        let n = 0;
        for (let j = 2; j < argv.length; j++) n += lm.reset(latin1(argv[j]));
        return n;
      },
    ),
    latencySub(
      "histogram",
      -2,
      "Return the cumulative distribution of latencies of a subset of commands or all.",
      /** LATENCY HISTOGRAM [command ...] */
      (ctx, argv) => histograms(ctx.server, argv),
      {
        since: "7.0.0",
        complexity:
          "O(N) where N is the number of commands with latency information being retrieved.",
      },
    ),
  ],
};

// ---------------------------------------------------------------------------------------------
// MEMORY

/** MEMORY STATS figures (Redis's getMemoryOverheadData with FerricStore's numbers). */
interface MemoryFigures {
  peak: number;
  total: number;
  startup: number;
  clientsNormal: number;
  dbs: { db: number; keys: number; main: number; expires: number }[];
  overhead: number;
  keys: number;
  bytesPerKey: number;
  dataset: number;
  datasetPerc: number;
  peakPerc: number;
  allocated: number;
  active: number;
  resident: number;
  rss: number;
}

function memoryFigures(server: Server): MemoryFigures {
  const total = server.memory.used();
  const peak = server.memory.peak();
  let clientsNormal = 0;
  for (const c of server.clients.values()) {
    const [q] = c.transport.queryBuffer();
    clientsNormal += q + c.transport.outputPending();
  }
  const dbs: MemoryFigures["dbs"] = [];
  let overhead = clientsNormal;
  let keyCount = 0;
  for (const db of server.keyspace.dbs) {
    const n = db.size();
    if (n === 0) continue;
    const main = n * ENTRY_OVERHEAD;
    const expires = db.volatileCount() * 8;
    dbs.push({ db: db.index, keys: n, main, expires });
    overhead += main + expires;
    keyCount += n;
  }
  const net = total > 0 ? total : 1;
  const dataset = Math.max(0, total - overhead);
  const mu = Deno.memoryUsage();
  return {
    peak,
    total,
    startup: 0,
    clientsNormal,
    dbs,
    overhead,
    keys: keyCount,
    bytesPerKey: keyCount ? Math.floor(net / keyCount) : 0,
    dataset,
    datasetPerc: Math.fround((dataset * 100) / net),
    peakPerc: Math.fround(peak ? (total * 100) / peak : 0),
    allocated: mu.heapUsed + mu.external,
    active: mu.heapTotal + mu.external,
    resident: mu.rss,
    rss: mu.rss,
  };
}

const ratio = (a: number, b: number) => Math.fround(b ? a / b : 0);

function memoryStats(server: Server): Reply {
  const m = memoryFigures(server);
  const out: Reply[] = [
    "peak.allocated",
    m.peak,
    "total.allocated",
    m.total,
    "startup.allocated",
    m.startup,
    "replication.backlog",
    0,
    "clients.slaves",
    0,
    "clients.normal",
    m.clientsNormal,
    "cluster.links",
    0,
    "aof.buffer",
    0,
    "lua.caches",
    0,
    "functions.caches",
    0,
  ];
  for (const d of m.dbs) {
    out.push(
      `db.${d.db}`,
      new RespMap([
        "overhead.hashtable.main",
        d.main,
        "overhead.hashtable.expires",
        d.expires,
        "overhead.hashtable.slot-to-keys",
        0,
      ]),
    );
  }
  out.push(
    "overhead.total",
    m.overhead,
    "keys.count",
    m.keys,
    "keys.bytes-per-key",
    m.bytesPerKey,
    "dataset.bytes",
    m.dataset,
    "dataset.percentage",
    new Double(m.datasetPerc),
    "peak.percentage",
    new Double(m.peakPerc),
    "allocator.allocated",
    m.allocated,
    "allocator.active",
    m.active,
    "allocator.resident",
    m.resident,
    "allocator-fragmentation.ratio",
    new Double(ratio(m.active, m.allocated)),
    "allocator-fragmentation.bytes",
    m.active - m.allocated,
    "allocator-rss.ratio",
    new Double(ratio(m.resident, m.active)),
    "allocator-rss.bytes",
    m.resident - m.active,
    "rss-overhead.ratio",
    new Double(ratio(m.rss, m.resident)),
    "rss-overhead.bytes",
    m.rss - m.resident,
    "fragmentation",
    new Double(ratio(m.rss, m.total)),
    "fragmentation.bytes",
    m.rss - m.total,
  );
  return new RespMap(out);
}

/** MEMORY DOCTOR: Redis's report, from FerricStore's figures. */
function memoryDoctor(server: Server): string {
  const m = memoryFigures(server);
  const issues: string[] = [];
  let empty = false;
  if (m.total < 5 * 1024 * 1024) empty = true;
  else {
    if (m.peak / m.total > 1.5) {
      issues.push(
        " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n",
      );
    }
    if (ratio(m.rss, m.total) > 1.4 && m.rss - m.total > 10 << 20) {
      issues.push(
        ' * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is "v8".\n\n',
      );
    }
    if (ratio(m.active, m.allocated) > 1.1 && m.active - m.allocated > 10 << 20) {
      issues.push(
        " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n",
      );
    }
    if (ratio(m.resident, m.active) > 1.1 && m.resident - m.active > 10 << 20) {
      issues.push(
        " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n",
      );
    }
    const clients = server.clients.size;
    if (clients > 0 && m.clientsNormal / clients > 1024 * 200) {
      issues.push(
        " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n",
      );
    }
  }
  if (!empty && issues.length === 0) {
    return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
  }
  if (empty) {
    return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
  }
  return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" +
    issues.join("") +
    "I'm here to keep you safe, Sam. I want to help you.\n";
}

/** MEMORY MALLOC-STATS: the V8 heap's statistics (FerricStore's allocator). */
function mallocStats(): string {
  const lines = ["___ Begin V8 heap statistics ___"];
  const heap = v8.getHeapStatistics() as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(heap)) lines.push(`${k}: ${v}`);
  const mu = Deno.memoryUsage();
  lines.push(`rss: ${mu.rss}`, `heap_total: ${mu.heapTotal}`, `heap_used: ${mu.heapUsed}`);
  lines.push(`external: ${mu.external}`, "--- End V8 heap statistics ---");
  return lines.join("\n") + "\n";
}

const memorySub = (
  name: string,
  arity: number,
  summary: string,
  complexity: string,
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name,
  arity,
  flags: [],
  categories: [],
  group: "server",
  summary,
  since: "4.0.0",
  complexity,
  handler,
});

const memoryCommand: CommandSpec = {
  name: "memory",
  arity: -2,
  flags: [],
  categories: [],
  group: "server",
  summary: "A container for memory diagnostics commands",
  since: "4.0.0",
  complexity: "Depends on subcommand.",
  help: [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
  ],
  subcommands: [
    memorySub(
      "doctor",
      2,
      "Outputs memory problems report",
      "O(1)",
      /** MEMORY DOCTOR */
      (ctx) => new Verbatim("txt", memoryDoctor(ctx.server)),
    ),
    memorySub(
      "malloc-stats",
      2,
      "Show allocator internal stats",
      "Depends on how much memory is allocated, could be slow",
      /** MEMORY MALLOC-STATS */
      () => new Verbatim("txt", mallocStats()),
    ),
    memorySub(
      "purge",
      2,
      "Ask the allocator to release memory",
      "Depends on how much memory is allocated, could be slow",
      /** MEMORY PURGE (V8 returns memory on its own: nothing to purge, as with libc malloc) */
      () => OK,
    ),
    memorySub(
      "stats",
      2,
      "Show memory usage details",
      "O(1)",
      /** MEMORY STATS */
      (ctx) => memoryStats(ctx.server),
    ),
    {
      name: "usage",
      arity: -3,
      flags: ["readonly"],
      categories: [],
      group: "server",
      summary: "Estimate the memory usage of a key",
      since: "4.0.0",
      complexity: "O(N) where N is the number of samples.",
      keys: [keys.one(2, "RO")],
      /** MEMORY USAGE key [SAMPLES count] */
      handler(ctx, argv) {
        for (let j = 3; j < argv.length; j++) {
          if (isWord(argv[j], "samples") && j + 1 < argv.length) {
            const n = int64Arg(argv[j + 1]);
            if (n < 0) return Errors.syntax;
            j++;
          } else return Errors.syntax;
        }
        // As Redis's dictFind: no expiry check, no stats, a cold value stays cold. Sizes are
        // kept exactly per value, so every element is counted whatever SAMPLES says.
        const key = latin1(argv[2]);
        const e = ctx.db.keyspace.table(ctx.db.index, key).get(key);
        return e === undefined ? null : entryMemory(e);
      },
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// MONITOR

const monitorCommand: CommandSpec = {
  name: "monitor",
  arity: 1,
  flags: ["admin", "noscript", "loading", "stale"],
  categories: [],
  group: "server",
  summary: "Listen for all requests received by the server in real time",
  since: "1.0.0",
  complexity: "",
  /** MONITOR */
  handler(ctx) {
    if (ctx.client.inExec) return err("ERR MONITOR isn't allowed for DENY BLOCKING client");
    const ops = operations(ctx.server);
    // Already monitoring: ignored, without a reply (as Redis ignores it for replicas).
    if (ops.monitors.has(ctx.client)) return NO_REPLY;
    ops.monitors.add(ctx.client);
    ctx.client.monitor = true;
    return OK;
  },
};

// ---------------------------------------------------------------------------------------------
// DEBUG

const DEBUG_HELP = [
  "DIGEST",
  "    Output a hex signature representing the current DB content.",
  "DIGEST-VALUE <key> [<key> ...]",
  "    Output a hex signature of the values of all the specified keys.",
  "ERROR <string>",
  "    Return a Redis protocol error with <string> as message. Useful for clients",
  "    unit tests to simulate Redis errors.",
  "LOG <message>",
  "    Write <message> to the server log.",
  "OBJECT <key>",
  "    Show low level info about `key` and associated value.",
  "POPULATE <count> [<prefix>] [<size>]",
  "    Create <count> string keys named key:<num>. If <prefix> is specified then",
  "    it is used instead of the 'key' prefix.",
  "RELOAD [option ...]",
  "    Flush every shard log, compact every shard, and load the keyspace back from",
  "    the data directory. Valid <option> values:",
  "    * MERGE: conflicting keys will be loaded from the data directory.",
  "    * NOFLUSH: the existing database will not be removed before load, and",
  "      conflicting keys make the reload fail.",
  "    * NOSAVE: the logs are flushed but not compacted before the load.",
  "SET-ACTIVE-EXPIRE <0|1>",
  "    Setting it to 0 disables expiring keys in background when they are not",
  "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
  "    default.",
  "SLEEP <seconds>",
  "    Stop the server for <seconds>. Decimals allowed.",
];

/** C's strtod prefix parse, 0 when nothing parses (DEBUG SLEEP does not check). */
function strtod(b: Uint8Array): number {
  const m = /^\s*[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf(inity)?|nan)/i.exec(latin1(b));
  if (!m) return 0;
  const v = Number(m[0].trim().replace(/^([+-]?)inf(inity)?$/i, "$1Infinity"));
  return Number.isNaN(v) ? 0 : v;
}

/** C's atoi: leading digits, 0 when none. */
function atoi(b: Uint8Array): number {
  const m = /^\s*[+-]?\d+/.exec(latin1(b));
  return m ? Number(m[0]) : 0;
}

/** Blocks the whole server (the event loop), as Redis's DEBUG SLEEP does. */
function sleepSync(ms: number): void {
  if (!(ms > 0)) return;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    Atomics.wait(cell, 0, 0, Math.min(left, 2 ** 31 - 1));
  }
}

const objectAddresses = new WeakMap<object, number>();
let nextAddress = 0x7f3a1c000000;

/** A stable fake address for DEBUG OBJECT's "Value at:". */
function addressOf(e: Entry): string {
  let a = objectAddresses.get(e);
  if (a === undefined) {
    a = nextAddress;
    nextAddress += 0x40;
    objectAddresses.set(e, a);
  }
  return `0x${a.toString(16)}`;
}

/** Bytes a listpack entry of `v` takes (encoding header, data, back-length). */
function listpackEntrySize(v: Uint8Array): number {
  const n = v.length <= 20 ? parseInt64(v) : null;
  let enc: number;
  if (typeof n === "number" && Number.isSafeInteger(n)) {
    if (n >= 0 && n <= 127) enc = 1;
    else if (n >= -4096 && n <= 4095) enc = 2;
    else if (n >= -32768 && n <= 32767) enc = 3;
    else if (n >= -8388608 && n <= 8388607) enc = 4;
    else if (n >= -2147483648 && n <= 2147483647) enc = 5;
    else enc = 9;
  } else if (n !== null) enc = 9;
  else if (v.length <= 63) enc = 1 + v.length;
  else if (v.length <= 4095) enc = 2 + v.length;
  else enc = 5 + v.length;
  return enc + (enc <= 127 ? 1 : enc < 16383 ? 2 : enc < 2097151 ? 3 : enc < 268435455 ? 4 : 5);
}

const QUICKLIST_NODE_BYTES = [4096, 8192, 16384, 32768, 65536];

/** DEBUG OBJECT's quicklist fields, for the quicklist a Redis 7.0 list of these elements forms. */
function quicklistInfo(
  server: Server,
  list: { length: number; at(i: number): Uint8Array },
): string {
  const fill = server.config.def("list-max-listpack-size")
    ? server.config.int("list-max-listpack-size")
    : -2;
  const depth = server.config.def("list-compress-depth")
    ? server.config.int("list-compress-depth")
    : 0;
  const limit = fill < 0 ? QUICKLIST_NODE_BYTES[Math.min(4, -fill - 1)] : Infinity;
  let nodes = 0, count = 0, bytes = 0, total = 0;
  for (let i = 0; i < list.length; i++) {
    const size = listpackEntrySize(list.at(i));
    if (nodes === 0 || (fill > 0 ? count >= fill : bytes + size > limit)) {
      nodes++;
      total += bytes;
      bytes = 7; // listpack header and end byte
      count = 0;
    }
    bytes += size;
    count++;
  }
  total += bytes;
  const avg = nodes ? list.length / nodes : 0;
  return ` ql_nodes:${nodes} ql_avg_node:${avg.toFixed(2)} ql_listpack_max:${fill} ` +
    `ql_compressed:${depth !== 0 ? 1 : 0} ql_uncompressed_size:${total}`;
}

/** DEBUG OBJECT key */
function debugObject(
  server: Server,
  db: import("../engine/keyspace.ts").Database,
  key: string,
): Reply {
  const e = db.keyspace.table(db.index, key).get(key);
  if (e === undefined) return Errors.noSuchKey;
  const ks = db.keyspace;
  const isString = e.cold || e.value instanceof Uint8Array;
  const encoding = isString
    ? stringEncoding(db, e)
    : (e.value as DataValue).encoding(ks.encodingLimits);
  const refcount = isString ? stringRefcount(server, db, e) : 1;
  const serialized = e.strLen >= 0 ? e.strLen : (e.value as DataValue).encode().length;
  // As in Redis, the idle time is read from the field whatever it holds.
  const lru = ks.lfuMode ? e.lru : (e.lru + LRU_EPOCH_S) & 0xffffff;
  const idle = Math.max(0, lruClock(Date.now()) - e.lru);
  let extra = "";
  if (encoding === "quicklist") {
    const v = e.value as unknown as { length?: number; at?: (i: number) => Uint8Array };
    if (typeof v.length === "number" && typeof v.at === "function") {
      extra = quicklistInfo(server, v as { length: number; at(i: number): Uint8Array });
    }
  }
  return new SimpleString(
    `Value at:${addressOf(e)} refcount:${refcount} encoding:${encoding} ` +
      `serializedlength:${serialized} lru:${lru} lru_seconds_idle:${idle}${extra}`,
  );
}

// DEBUG DIGEST: Redis's dataset digest (SHA-1 based, order-independent where Redis's is).

function sha1(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(data).digest());
}

function xorDigest(digest: Uint8Array, data: Uint8Array): void {
  const h = sha1(data);
  for (let j = 0; j < 20; j++) digest[j] ^= h[j];
}

function mixDigest(digest: Uint8Array, data: Uint8Array): void {
  xorDigest(digest, data);
  digest.set(sha1(digest));
}

const TYPE_CODES: Record<string, number> = {
  string: 0,
  list: 1,
  set: 2,
  zset: 3,
  hash: 4,
  stream: 6,
};

function htonl(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

/** Mixes a value into a key's digest, as Redis's xorObjectDigest. */
function objectDigest(
  db: import("../engine/keyspace.ts").Database,
  e: Entry,
  digest: Uint8Array,
): void {
  const v = e.cold ? db.keyspace.coldReader!(e) : e.value;
  if (v instanceof Uint8Array) {
    mixDigest(digest, htonl(0));
    mixDigest(digest, v);
  } else {
    mixDigest(digest, htonl(TYPE_CODES[v.type] ?? 5));
    const any = v as unknown as Record<string, unknown>;
    if (v.type === "list" && typeof any.at === "function") {
      const list = v as unknown as { length: number; at(i: number): Uint8Array };
      for (let i = 0; i < list.length; i++) mixDigest(digest, list.at(i));
    } else if (v.type === "set" && typeof any.members === "function") {
      for (const m of (v as unknown as { members(): readonly string[] }).members()) {
        xorDigest(digest, latin1Bytes(m));
      }
    } else if (v.type === "hash" && typeof any.fields === "function") {
      const fields = (v as unknown as { fields(): Iterable<{ name: string; value: Uint8Array }> })
        .fields();
      for (const f of fields) {
        const ele = new Uint8Array(20);
        mixDigest(ele, latin1Bytes(f.name));
        mixDigest(ele, f.value);
        xorDigest(digest, ele);
      }
    } else if (v.type === "zset" && typeof any.range === "function") {
      const z = v as unknown as {
        size: number;
        range(from: number, count: number): { member: string; score: number }[];
      };
      for (const n of z.range(0, z.size)) {
        const ele = new Uint8Array(20);
        mixDigest(ele, latin1Bytes(n.member));
        mixDigest(ele, latin1Bytes(formatDouble(n.score)));
        xorDigest(digest, ele);
      }
    } else {
      mixDigest(digest, v.encode());
    }
  }
  if (e.expireAt !== 0) xorDigest(digest, latin1Bytes("!!expire!!"));
}

const hex = (d: Uint8Array) => Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");

function datasetDigest(server: Server): string {
  const final = new Uint8Array(20);
  const ks = server.keyspace;
  for (const db of ks.dbs) {
    if (db.size() === 0) continue;
    mixDigest(final, htonl(db.index));
    for (const shard of ks.shards) {
      for (const e of shard.tables[db.index].values()) {
        const digest = new Uint8Array(20);
        mixDigest(digest, latin1Bytes(e.key));
        objectDigest(db, e, digest);
        xorDigest(final, digest);
      }
    }
  }
  return hex(final);
}

/**
 * DEBUG RELOAD: flushes every shard log, compacts every shard (unless NOSAVE), and loads the
 * keyspace back from the data directory. Other clients get -LOADING meanwhile. The load goes
 * into a fresh keyspace that replaces the live tables at once; if a compaction ran during the
 * load (the files moved), the load is done again.
 */
async function debugReload(
  server: Server,
  opts: { merge: boolean; noflush: boolean; nosave: boolean },
): Promise<Reply> {
  const engine = engineOf(server);
  const ops = operations(server);
  if (ops.reloading) return err("ERR DEBUG RELOAD already in progress");
  ops.reloading = true;
  server.loading = true;
  try {
    if (!opts.nosave) {
      if (!(await ops.save())) return new RespError("ERR");
    } else {
      await engine.log.flushAll();
    }
    const live = server.keyspace;
    const dirs = engine.shards.map((s) => s.dir);
    const maxmemory = server.config.int("maxmemory") || Infinity;
    const hotMax = server.memory.hotMax;
    for (let attempt = 0;; attempt++) {
      const merges = engine.shards.map((s) => s.stats.lastMerge);
      const fresh = new Keyspace({ shardCount: live.shards.length, databases: live.dbs.length });
      fresh.encodingLimits = live.encodingLimits;
      const reports = await recover(
        fresh,
        dirs,
        server.log,
        undefined,
        (length) => length <= hotMax && fresh.usedBytes < maxmemory,
      );
      const moved = engine.shards.some((s, i) =>
        s.stats.lastMerge !== merges[i] || engine.compactor.isRunning(i)
      );
      if (moved && attempt < 3) continue;
      if (moved) return err("ERR DEBUG RELOAD: the logs kept being compacted during the load");
      const reply = install(server, fresh, opts);
      // As at start-up: strings grown by APPEND records that may not stay hot are written whole.
      if (reports.some((r) => r.appends > 0)) server.memory.placeGrownStrings();
      return reply;
    }
  } finally {
    server.loading = false;
    ops.reloading = false;
  }
}

/** Puts a freshly loaded keyspace in place of (or, with MERGE/NOFLUSH, into) the live one. */
function install(
  server: Server,
  fresh: Keyspace,
  opts: { merge: boolean; noflush: boolean },
): Reply {
  const live = server.keyspace;
  const size = (e: Entry) => entryMemory(e);
  if (!opts.merge && !opts.noflush) {
    for (let d = 0; d < live.dbs.length; d++) live.modified(d, null);
    for (let s = 0; s < live.shards.length; s++) {
      for (let d = 0; d < live.dbs.length; d++) {
        live.shards[s].tables[d] = fresh.shards[s].tables[d];
      }
    }
    live.usedBytes = fresh.usedBytes;
    return OK;
  }
  if (!opts.merge) {
    // NOFLUSH without MERGE: a key loaded twice is an error, as in Redis (which then exits).
    for (let s = 0; s < live.shards.length; s++) {
      for (let d = 0; d < live.dbs.length; d++) {
        const t = live.shards[s].tables[d];
        for (const { key } of fresh.shards[s].tables[d].values()) {
          if (t.get(key) !== undefined) {
            server.log.warning("reload", `duplicate key '${key}' in database ${d}`);
            return err(
              "ERR Error trying to load the data directory, duplicate keys: check server logs.",
            );
          }
        }
      }
    }
  }
  for (let s = 0; s < live.shards.length; s++) {
    for (let d = 0; d < live.dbs.length; d++) {
      const t: KeyTable = live.shards[s].tables[d];
      // A copy: adding an entry to the live table takes it off the fresh table's chains.
      for (const e of fresh.shards[s].tables[d].entries()) {
        const old = t.get(e.key);
        if (old !== undefined) {
          t.remove(old);
          live.usedBytes -= size(old);
        }
        t.add(e);
        live.usedBytes += size(e);
        live.modified(d, e.key);
      }
    }
  }
  return OK;
}

/** DEBUG POPULATE count [prefix] [size] */
function populate(db: import("../engine/keyspace.ts").Database, argv: Uint8Array[]): Reply {
  const positive = new RespError("ERR value is out of range, must be positive");
  const count = intArg(argv[2], positive);
  if (count < 0) return positive;
  const prefix = argv.length > 3 ? latin1(argv[3]) : "key";
  let size = 0;
  if (argv.length > 4) {
    size = intArg(argv[4], positive);
    if (size < 0) return positive;
  }
  const ks = db.keyspace;
  for (let j = 0; j < count; j++) {
    const key = `${prefix}:${j}`;
    if (db.peek(key, false) !== undefined) continue;
    const text = latin1Bytes(`value:${j}`);
    const value = valueBytes(size > 0 ? size : text.length);
    value.set(text.subarray(0, Math.min(value.length, text.length)));
    db.set(key, value, 0);
    ks.now = Date.now();
  }
  return OK;
}

const debugSpec: CommandSpec = {
  name: "debug",
  arity: -2,
  flags: ["admin", "noscript", "loading", "stale"],
  categories: [],
  group: "server",
  summary: "A container for debugging commands",
  since: "1.0.0",
  complexity: "Depends on subcommand.",
  /** DEBUG subcommand [argument ...] */
  handler(ctx, argv) {
    const sub = word(argv[1]);
    const argc = argv.length;
    const server = ctx.server;
    if (sub === "help" && argc === 2) {
      return [
        new SimpleString("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
        ...DEBUG_HELP.map((l) => new SimpleString(l)),
        new SimpleString("HELP"),
        new SimpleString("    Prints this help."),
      ];
    }
    if (sub === "sleep" && argc === 3) {
      sleepSync(strtod(argv[2]) * 1000);
      return OK;
    }
    if (sub === "set-active-expire" && argc === 3) {
      operations(server).setActiveExpire(atoi(argv[2]) !== 0);
      return OK;
    }
    if (sub === "object" && argc === 3) return debugObject(server, ctx.db, latin1(argv[2]));
    if (sub === "reload") {
      const opts = { merge: false, noflush: false, nosave: false };
      for (let j = 2; j < argc; j++) {
        const o = word(argv[j]);
        if (o === "merge") opts.merge = true;
        else if (o === "noflush") opts.noflush = true;
        else if (o === "nosave") opts.nosave = true;
        else return err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
      }
      return debugReload(server, opts);
    }
    if (sub === "populate" && argc >= 3 && argc <= 5) return populate(ctx.db, argv);
    if (sub === "digest" && argc === 2) return new SimpleString(datasetDigest(server));
    if (sub === "digest-value" && argc >= 2) {
      const out: Reply[] = [];
      for (let j = 2; j < argc; j++) {
        const key = latin1(argv[j]);
        const digest = new Uint8Array(20);
        const e = ctx.db.peek(key, false);
        if (e !== undefined) objectDigest(ctx.db, e, digest);
        out.push(new SimpleString(hex(digest)));
      }
      return out;
    }
    if (sub === "log" && argc === 3) {
      server.log.warning("debug", `DEBUG LOG: ${latin1(argv[2])}`);
      return OK;
    }
    if (sub === "error" && argc === 3) return new RespError(latin1(argv[2]));
    return subcommandSyntaxError(argv);
  },
};

// ---------------------------------------------------------------------------------------------
// SHUTDOWN, SAVE, BGSAVE, LASTSAVE

const shutdownCommand: CommandSpec = {
  name: "shutdown",
  arity: -1,
  flags: ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
  categories: [],
  group: "server",
  summary: "Synchronously save the dataset to disk and then shut down the server",
  since: "1.0.0",
  complexity:
    "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
  /** SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */
  async handler(ctx, argv) {
    const f = { save: false, nosave: false, now: false, force: false };
    let abort = false;
    for (let j = 1; j < argv.length; j++) {
      const w = word(argv[j]);
      if (w === "nosave") f.nosave = true;
      else if (w === "save") f.save = true;
      else if (w === "now") f.now = true;
      else if (w === "force") f.force = true;
      else if (w === "abort") abort = true;
      else return Errors.syntax;
    }
    const anyFlag = f.save || f.nosave || f.now || f.force;
    if ((abort && anyFlag) || (f.save && f.nosave)) return Errors.syntax;
    const server = ctx.server;
    if (abort) {
      return abortShutdown(server) ? OK : err("ERR No shutdown in progress.");
    }
    const c = ctx.client;
    const result = await shutdown(server, {
      ...f,
      reason: `User requested shutdown (client id=${c.id} addr=${c.transport.addr})`,
    });
    // Once the server is closed, this client's connection is gone: nothing to reply.
    if (result.closed) return NO_REPLY;
    return err("ERR Errors trying to SHUTDOWN. Check logs.");
  },
};

const saveCommand: CommandSpec = {
  name: "save",
  arity: 1,
  flags: ["admin", "noscript", "no_async_loading", "no_multi"],
  categories: [],
  group: "server",
  summary: "Synchronously save the dataset to disk",
  since: "1.0.0",
  complexity: "O(N) where N is the total number of keys in all databases",
  /** SAVE: flushes and compacts every shard, and returns when done. */
  async handler(ctx) {
    engineOf(ctx.server);
    const ops = operations(ctx.server);
    if (ops.bgsave) return err("ERR Background save already in progress");
    return (await ops.save()) ? OK : new RespError("ERR");
  },
};

const bgsaveCommand: CommandSpec = {
  name: "bgsave",
  arity: -1,
  flags: ["admin", "noscript", "no_async_loading"],
  categories: [],
  group: "server",
  summary: "Asynchronously save the dataset to disk",
  since: "1.0.0",
  complexity: "O(1)",
  /** BGSAVE [SCHEDULE] */
  handler(ctx, argv) {
    if (argv.length > 1 && !(argv.length === 2 && isWord(argv[1], "schedule"))) {
      return Errors.syntax;
    }
    const ops = operations(ctx.server);
    engineOf(ctx.server);
    if (ops.bgsaveKind === "rdb") return err("ERR Background save already in progress");
    if (ops.bgsave !== null || ctx.client.inExec) {
      if (argv.length === 1 && !ctx.client.inExec) {
        return err(
          "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        );
      }
      schedule(ctx.server, "rdb");
      return new SimpleString("Background saving scheduled");
    }
    startBackgroundSave(ctx.server, "rdb");
    return new SimpleString("Background saving started");
  },
};

/** What a background save was asked as: BGSAVE (`rdb`) or BGREWRITEAOF (`aof`). */
type BackgroundKind = "rdb" | "aof";

/** Runs a background save after the current one (or, inside EXEC, after the transaction). */
function schedule(server: Server, kind: BackgroundKind): void {
  const ops = operations(server);
  ops.scheduled.add(kind);
  if (ops.bgsave === null) setTimeout(() => startScheduled(server), 0);
}

function startScheduled(server: Server): void {
  const ops = operations(server);
  if (ops.bgsave !== null) return;
  const kind = ops.scheduled.has("aof") ? "aof" : ops.scheduled.has("rdb") ? "rdb" : null;
  if (kind === null) return;
  // One compaction serves both: it rewrites every shard log.
  ops.scheduled.clear();
  startBackgroundSave(server, kind);
}

/**
 * Starts compacting every shard in the background (BGSAVE, BGREWRITEAOF: the shard logs are
 * both FerricStore's snapshot and its append-only file); false when one is already running.
 */
function startBackgroundSave(server: Server, kind: BackgroundKind): boolean {
  engineOf(server);
  const ops = operations(server);
  if (ops.bgsave) return false;
  ops.bgsaveKind = kind;
  ops.bgsave = ops.save().then(
    (ok) => {
      ops.lastBgsaveOk = ok;
      if (!ok) server.log.warning("bgsave", "background save did not complete");
    },
    (e) => {
      ops.lastBgsaveOk = false;
      server.log.warning("bgsave", `background save failed: ${(e as Error).message}`);
    },
  ).finally(() => {
    ops.bgsave = null;
    ops.bgsaveKind = null;
    startScheduled(server);
  });
  return true;
}

const bgrewriteaofCommand: CommandSpec = {
  name: "bgrewriteaof",
  arity: 1,
  flags: ["admin", "noscript", "no_async_loading"],
  categories: [],
  group: "server",
  summary: "Asynchronously rewrite the append-only file",
  since: "1.0.0",
  complexity: "O(1)",
  differences: "Compacts every shard log, as BGSAVE does (the logs are FerricStore's AOF).",
  /** BGREWRITEAOF */
  handler(ctx) {
    const ops = operations(ctx.server);
    engineOf(ctx.server);
    if (ops.bgsaveKind === "aof") {
      return err("ERR Background append only file rewriting already in progress");
    }
    if (ops.bgsave !== null || ctx.client.inExec) {
      schedule(ctx.server, "aof");
      return new SimpleString("Background append only file rewriting scheduled");
    }
    startBackgroundSave(ctx.server, "aof");
    return new SimpleString("Background append only file rewriting started");
  },
};

const roleCommand: CommandSpec = {
  name: "role",
  arity: 1,
  flags: ["noscript", "loading", "stale", "fast"],
  categories: ["admin", "dangerous"],
  group: "server",
  summary: "Return the role of the instance in the context of replication",
  since: "2.8.12",
  complexity: "O(1)",
  /** ROLE: a primary without replicas (replication offset 0). */
  handler: () => ["master", 0, []],
};

const lastsaveCommand: CommandSpec = {
  name: "lastsave",
  arity: 1,
  flags: ["loading", "stale", "fast"],
  categories: ["admin", "dangerous"],
  group: "server",
  summary: "Get the UNIX time stamp of the last successful save to disk",
  since: "1.0.0",
  complexity: "O(1)",
  /** LASTSAVE */
  handler: (ctx) => operations(ctx.server).lastSaveTime(),
};

// ---------------------------------------------------------------------------------------------
// TIME, LOLWUT

const timeCommand: CommandSpec = {
  name: "time",
  arity: 1,
  flags: ["loading", "stale", "fast"],
  categories: [],
  group: "server",
  summary: "Return the current server time",
  since: "2.6.0",
  complexity: "O(1)",
  /** TIME */
  handler() {
    const t = epochMs();
    const sec = Math.floor(t / 1000);
    const usec = Math.min(999999, Math.floor((t - sec * 1000) * 1000));
    return [String(sec), String(usec)];
  },
};

/**
 * A deterministic pseudo-random sequence (mulberry32), so LOLWUT draws the same art each time
 * (and tests can replay a seed).
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A pixel canvas rendered with Braille characters (2×4 pixels each), as Redis's LOLWUT 5. */
class Canvas {
  readonly pixels: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.pixels = new Uint8Array(width * height);
  }

  set(x: number, y: number): void {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return;
    this.pixels[y * this.width + x] = 1;
  }

  get(x: number, y: number): number {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return 0;
    return this.pixels[y * this.width + x];
  }

  line(x1: number, y1: number, x2: number, y2: number): void {
    const dx = Math.abs(x2 - x1), dy = Math.abs(y2 - y1);
    const sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
    let e = dx - dy;
    for (;;) {
      this.set(x1, y1);
      if (x1 === x2 && y1 === y2) break;
      const e2 = e * 2;
      if (e2 > -dy) {
        e -= dy;
        x1 += sx;
      }
      if (e2 < dx) {
        e += dx;
        y1 += sy;
      }
    }
  }

  square(x: number, y: number, size: number, angle: number): void {
    size = Math.round(size / 1.4142135623);
    const px: number[] = [], py: number[] = [];
    let k = Math.PI / 4 + angle;
    for (let j = 0; j < 4; j++) {
      px.push(Math.round(Math.sin(k) * size + x));
      py.push(Math.round(Math.cos(k) * size + y));
      k += Math.PI / 2;
    }
    for (let j = 0; j < 4; j++) this.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4]);
  }

  render(): string {
    let text = "";
    for (let y = 0; y < this.height; y += 4) {
      for (let x = 0; x < this.width; x += 2) {
        let byte = 0;
        if (this.get(x, y)) byte |= 1;
        if (this.get(x, y + 1)) byte |= 2;
        if (this.get(x, y + 2)) byte |= 4;
        if (this.get(x + 1, y)) byte |= 8;
        if (this.get(x + 1, y + 1)) byte |= 16;
        if (this.get(x + 1, y + 2)) byte |= 32;
        if (this.get(x, y + 3)) byte |= 64;
        if (this.get(x + 1, y + 3)) byte |= 128;
        text += String.fromCharCode(0x2800 + byte);
      }
      if (y !== this.height - 1) text += "\n";
    }
    return text;
  }
}

/** Georg Nees's "Schotter": rows of squares, more disordered the lower they are. */
export function schotter(cols: number, perRow: number, perCol: number): string {
  const random = prng(cols * 65537 + perRow * 257 + perCol);
  const width = cols * 2;
  const padding = width > 4 ? 2 : 0;
  const side = Math.fround((width - padding * 2) / perRow);
  const height = Math.trunc(side * perCol + padding * 2);
  const canvas = new Canvas(width, height);
  for (let y = 0; y < perCol; y++) {
    for (let x = 0; x < perRow; x++) {
      let sx = Math.trunc(x * side + side / 2 + padding);
      let sy = Math.trunc(y * side + side / 2 + padding);
      let angle = 0;
      if (y > 1) {
        let r1 = (random() / perCol) * y,
          r2 = (random() / perCol) * y,
          r3 = (random() / perCol) * y;
        if (random() < 0.5) r1 = -r1;
        if (random() < 0.5) r2 = -r2;
        if (random() < 0.5) r3 = -r3;
        angle = r1;
        sx += Math.trunc((r2 * side) / 3);
        sy += Math.trunc((r3 * side) / 3);
      }
      canvas.square(sx, sy, side, angle);
    }
  }
  return canvas.render();
}

const lolwutCommand: CommandSpec = {
  name: "lolwut",
  arity: -1,
  flags: ["readonly", "fast"],
  categories: [],
  group: "server",
  summary: "Display some computer art and the Redis version",
  since: "5.0.0",
  complexity: "",
  /** LOLWUT [VERSION version] [columns [squares-per-row [squares-per-column]]] */
  handler(_ctx, argv) {
    let args = argv.slice(1);
    if (argv.length >= 3 && isWord(argv[1], "version")) {
      intArg(argv[2]);
      args = argv.slice(3);
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    // Options only count after VERSION, as in Redis; plain LOLWUT draws the default picture.
    const numbers = argv.length >= 3 && isWord(argv[1], "version")
      ? args.map((a) => intArg(a))
      : [];
    const cols = clamp(numbers[0] ?? 66, 1, 1000);
    const perRow = clamp(numbers[1] ?? 8, 1, 200);
    const perCol = clamp(numbers[2] ?? 12, 1, 200);
    const art = schotter(cols, perRow, perCol) +
      `\nGeorg Nees - schotter, plotter on paper, 1968. FerricStore ver. ${VERSION}\n`;
    return new Verbatim("txt", textReply(art));
  },
};

// ---------------------------------------------------------------------------------------------
// FERRICSTORE.HOTNESS

const hotnessCommand: CommandSpec = {
  name: "ferricstore.hotness",
  arity: -1,
  flags: ["loading", "stale"],
  categories: [],
  group: "server",
  summary:
    "Returns hot (in memory) and cold (read from the log) value reads, overall and per key namespace, over a sliding window.",
  since: "0.1.0",
  complexity: "O(W + P log P) where W is the window in seconds and P the number of namespaces read",
  /** FERRICSTORE.HOTNESS [TOP n] [WINDOW seconds] */
  handler(ctx, argv) {
    let top = 10;
    let window = 60;
    for (let j = 1; j < argv.length; j++) {
      if (isWord(argv[j], "top") && j + 1 < argv.length) {
        top = intArg(argv[++j]);
        if (top < 0) return err("ERR TOP must be 0 (every namespace) or more");
      } else if (isWord(argv[j], "window") && j + 1 < argv.length) {
        window = intArg(argv[++j]);
        if (window < 1 || window > HOTNESS_MAX_WINDOW) {
          return err(`ERR WINDOW must be between 1 and ${HOTNESS_MAX_WINDOW} seconds`);
        }
      } else return Errors.syntax;
    }
    const r = operations(ctx.server).hotness.report(window);
    const shown = top === 0 ? r.prefixes : r.prefixes.slice(0, top);
    const coldRatio = (cold: number, all: number) => new Double(all ? cold / all : 0);
    return new RespMap([
      "window_seconds",
      window,
      "hot_reads",
      r.hot,
      "cold_reads",
      r.cold,
      "cold_ratio",
      coldRatio(r.cold, r.hot + r.cold),
      "key_reads",
      r.reads,
      "namespaces",
      r.prefixes.length,
      "prefixes",
      shown.map(([prefix, reads, cold]) =>
        new RespMap([
          "prefix",
          prefix,
          "reads",
          reads,
          "hot_reads",
          reads - cold,
          "cold_reads",
          cold,
          "cold_ratio",
          coldRatio(cold, reads),
        ])
      ),
    ]);
  },
};

/** The server operations family. */
export const serverCommands: CommandSpec[] = [
  slowlogCommand,
  latencyCommand,
  memoryCommand,
  monitorCommand,
  debugSpec,
  shutdownCommand,
  saveCommand,
  bgsaveCommand,
  lastsaveCommand,
  bgrewriteaofCommand,
  roleCommand,
  timeCommand,
  lolwutCommand,
  hotnessCommand,
];
