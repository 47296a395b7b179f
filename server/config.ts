/**
 * The typed parameter registry. One set of names serves the config file (redis.conf style), the
 * environment (`FERRICSTORE_NAME`), the command line (`--name value`) and CONFIG GET/SET; later
 * sources win: defaults < file < env < command line < CONFIG SET.
 *
 * @module
 */
import { splitArgs } from "../protocol/parser.ts";
import { globMatch } from "../engine/glob.ts";
import { formatEventFlags, parseEventFlags } from "./notifications.ts";

/** A bad parameter name or value; the message names the parameter and the reason. */
export class ConfigError extends Error {}

/** Value types of parameters. */
export type ParamType = "int" | "memory" | "bool" | "enum" | "string" | "list";

/** One parameter. */
export interface ParamDef {
  name: string;
  aliases?: string[];
  type: ParamType;
  /** Default in the textual form CONFIG GET shows. */
  default: string;
  min?: number;
  max?: number;
  /** An int within min..max is brought into this range (Redis's hz). */
  clamp?: [number, number];
  /** Allowed values of an enum. */
  values?: string[];
  /** False when CONFIG SET refuses it ("can't set immutable config"). */
  mutable: boolean;
  /** Set while the feature behind the parameter is not built yet; startup says so if it is set. */
  inactive?: string;
  /** Extra validation of a parsed value; returns an error text or null. */
  check?: (value: ConfigValue) => string | null;
  /** Combines a valid string value with the current one (settings that change part of it). */
  merge?: (previous: string, text: string) => string;
  /** Rewrites a valid string value into the form CONFIG GET shows. */
  normalize?: (text: string) => string;
  /**
   * For a parameter that is another name for settings of others (Redis's `appendfsync`): the
   * [name, value] settings a value stands for. Setting it sets those, from the same source.
   */
  implies?: (value: ConfigValue) => [string, string][];
  /** The value shown for such a parameter, read from the settings it stands for. */
  derive?: (config: Config) => string;
  /** A memory size Redis keeps unsigned (`maxmemory`): up to 2^64 - 1 instead of 2^63 - 1. */
  unsigned?: boolean;
  /** One line for docs/configuration.md. */
  doc: string;
}

/** A parsed parameter value. */
export type ConfigValue = number | boolean | string | string[];

const POLICIES = [
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "noeviction",
];

/** Every parameter FerricStore knows. */
export const PARAMS: readonly ParamDef[] = [
  {
    name: "port",
    type: "int",
    default: "6379",
    min: 0,
    max: 65535,
    mutable: false,
    doc: "TCP port for RESP clients; 0 picks a free port and logs it.",
  },
  {
    name: "bind",
    type: "string",
    default: "127.0.0.1",
    mutable: false,
    doc: "Addresses to listen on, space separated.",
  },
  {
    name: "unixsocket",
    type: "string",
    default: "",
    mutable: false,
    doc:
      "Path of a Unix domain socket to listen on as well (empty: none). A stale socket file is replaced.",
  },
  {
    name: "unixsocketperm",
    type: "string",
    default: "0",
    mutable: false,
    check: (v) =>
      /^[0-7]{1,4}$/.test(String(v)) ? null : "argument must be an octal mode such as 700",
    doc: "Permissions of the Unix socket, in octal as in Redis (0: left as created).",
  },
  {
    name: "data-dir",
    aliases: ["dir"],
    type: "string",
    default: "./data",
    mutable: false,
    doc: "Directory of the shard logs.",
  },
  {
    name: "shard-count",
    type: "int",
    default: "0",
    min: 0,
    max: 1024,
    mutable: false,
    doc: "Number of shards; 0 = one per CPU core.",
  },
  {
    name: "databases",
    type: "int",
    default: "16",
    min: 1,
    max: 1000000,
    mutable: false,
    doc: "Number of logical databases (SELECT 0..n-1).",
  },
  {
    name: "maxmemory",
    type: "memory",
    default: "0",
    mutable: true,
    unsigned: true,
    doc: "Memory bound for data (0 = none); accepts 64mb, 1gb …",
  },
  {
    name: "maxmemory-policy",
    type: "enum",
    values: POLICIES,
    default: "noeviction",
    mutable: true,
    doc: "Which values go cold when maxmemory is reached.",
  },
  {
    name: "maxmemory-samples",
    type: "int",
    default: "5",
    min: 1,
    max: 64,
    mutable: true,
    doc: "Keys sampled per eviction decision.",
  },
  {
    name: "lfu-log-factor",
    type: "int",
    default: "10",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "LFU counter logarithm factor.",
  },
  {
    name: "lfu-decay-time",
    type: "int",
    default: "1",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "Minutes for the LFU counter to decay by one.",
  },
  {
    name: "maxclients",
    type: "int",
    default: "10000",
    min: 1,
    max: 4294967295,
    mutable: true,
    doc: "Maximum number of connected clients.",
  },
  {
    name: "requirepass",
    type: "string",
    default: "",
    mutable: true,
    doc: "Password of the default user (empty = none).",
  },
  {
    name: "aclfile",
    type: "string",
    default: "",
    mutable: false,
    doc: "ACL file to load users from.",
  },
  {
    name: "protected-mode",
    type: "bool",
    default: "yes",
    mutable: true,
    doc: "Refuse non-loopback clients while the default user has no password.",
  },
  {
    name: "http-port",
    type: "int",
    default: "4000",
    min: -1,
    max: 65535,
    mutable: false,
    doc:
      "HTTP port for probes, metrics and the dashboard (0 picks a free port, -1 turns HTTP off).",
  },
  {
    name: "tls-port",
    type: "int",
    default: "0",
    min: 0,
    max: 65535,
    mutable: false,
    doc: "TLS listener port (0 = off).",
  },
  {
    name: "tls-cert-file",
    type: "string",
    default: "",
    mutable: false,
    doc: "Server certificate (PEM).",
  },
  {
    name: "tls-key-file",
    type: "string",
    default: "",
    mutable: false,
    doc: "Server private key (PEM).",
  },
  {
    name: "tls-ca-cert-file",
    type: "string",
    default: "",
    mutable: false,
    doc: "CA that client certificates must chain to.",
  },
  {
    name: "tls-auth-clients",
    type: "enum",
    values: ["no", "yes", "optional"],
    default: "yes",
    mutable: true,
    doc: "Whether TLS clients must present a certificate.",
  },
  {
    name: "require-tls",
    type: "bool",
    default: "no",
    mutable: true,
    doc: "Refuse plaintext connections.",
  },
  {
    name: "durability",
    type: "enum",
    values: ["sync", "quorum", "async"],
    default: "sync",
    mutable: true,
    doc:
      "Default durability of namespaces: sync (alias quorum: reply after fdatasync) or async (reply at once, written within the commit window).",
  },
  {
    // A Redis configuration's fsync policy, mapped onto durability: Redis's AOF is written on
    // every event-loop turn and fsynced per write (always) or once a second (everysec); "no"
    // leaves it to the kernel, which writes dirty pages back within about 30 seconds.
    name: "appendfsync",
    type: "enum",
    values: ["everysec", "always", "no"],
    default: "always",
    mutable: true,
    implies: (v) =>
      v === "always"
        ? [["durability", "sync"], ["commit-window-ms", "0"]]
        : [["durability", "async"], ["commit-window-ms", v === "everysec" ? "1000" : "10000"]],
    derive: (c) =>
      c.str("durability") !== "async"
        ? "always"
        : c.int("commit-window-ms") <= 1000
        ? "everysec"
        : "no",
    doc:
      "Redis's fsync policy as another name for `durability` and `commit-window-ms`: `always` = sync with no window, `everysec` = async with a 1000 ms window, `no` = async with a 10000 ms window. Reads back from those two settings.",
  },
  {
    // Redis tools read these two (redis-benchmark does); they describe what FerricStore does.
    name: "appendonly",
    type: "string",
    default: "yes",
    mutable: true,
    check: (v) =>
      String(v).toLowerCase() === "yes"
        ? null
        : "FerricStore always writes its append-only logs ('durability' chooses when they are fsynced)",
    normalize: (t) => t.toLowerCase(),
    doc: "Always `yes`, as Redis tools expect to read it: every write goes to the shard logs.",
  },
  {
    name: "save",
    type: "string",
    default: "",
    mutable: true,
    check: (v) =>
      String(v).trim() === ""
        ? null
        : "FerricStore writes no RDB snapshots: its logs hold every write (SAVE and BGSAVE compact them)",
    normalize: () => "",
    doc: 'Always `""` (no RDB snapshots), as Redis tools expect to read it.',
  },
  {
    name: "commit-window-ms",
    type: "int",
    default: "0",
    min: 0,
    max: 10000,
    mutable: true,
    doc:
      "Group-commit window in ms: how long writes may wait to share one write and fdatasync (0: write as soon as the current commands are done; writes that arrive during an fdatasync share the next one).",
  },
  {
    name: "log-segment-size",
    type: "memory",
    default: "256mb",
    min: 4096,
    mutable: true,
    doc:
      "Size at which a shard log segment rotates (never inside a shard's part of a batch: a segment may pass it by one such part).",
  },
  {
    name: "merge-dead-ratio",
    type: "string",
    default: "0.5",
    mutable: true,
    check: (v) =>
      /^(0(\.\d+)?|1(\.0+)?)$/.test(String(v)) ? null : "argument must be a ratio between 0 and 1",
    doc: "Compact a shard when this fraction of its log is dead (superseded or deleted records).",
  },
  {
    name: "merge-min-dead-bytes",
    type: "memory",
    default: "64mb",
    mutable: true,
    doc: "...and at least this many of its bytes are dead.",
  },
  {
    name: "merge-growth-percentage",
    type: "int",
    default: "100",
    min: 0,
    mutable: true,
    doc: "Also compact a shard when its log has grown by this percentage since its last " +
      "compaction (or since start), as Redis rewrites its AOF (auto-aof-rewrite-percentage); " +
      "0 turns this off.",
  },
  {
    name: "merge-min-size",
    type: "memory",
    default: "64mb",
    mutable: true,
    doc: "...and is at least this big (Redis's auto-aof-rewrite-min-size).",
  },
  {
    name: "hot-cache-max-value-size",
    type: "memory",
    default: "64kb",
    mutable: true,
    doc: "Larger values are never kept hot.",
  },
  {
    name: "sendfile-threshold",
    type: "memory",
    default: "64kb",
    mutable: true,
    doc: "Cold values larger than this stream to the socket.",
  },
  {
    name: "slowlog-log-slower-than",
    type: "int",
    default: "10000",
    min: -1,
    max: 9007199254740991,
    mutable: true,
    doc: "Microseconds above which a command is logged (-1: off, 0: every command).",
  },
  {
    name: "slowlog-max-len",
    type: "int",
    default: "128",
    min: 0,
    max: 9007199254740991,
    mutable: true,
    doc: "Slow log length.",
  },
  // Operations (commands/server.ts, server/latency.ts, server/shutdown.ts).
  {
    name: "latency-monitor-threshold",
    type: "int",
    default: "0",
    min: 0,
    max: 9007199254740991,
    mutable: true,
    doc: "Milliseconds from which LATENCY records a command (0: the latency monitor is off).",
  },
  {
    name: "latency-tracking",
    type: "bool",
    default: "yes",
    mutable: true,
    doc: "Keep per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats).",
  },
  {
    name: "tracking-table-max-keys",
    type: "int",
    default: "1000000",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc:
      "Most keys client tracking remembers (0: no limit); over it, keys are invalidated for their readers.",
  },
  {
    name: "activerehashing",
    type: "bool",
    default: "yes",
    mutable: true,
    doc:
      "Move the buckets of key tables being resized in the server cron (1 ms a cycle), not only a few with each write.",
  },
  {
    name: "active-expire-effort",
    type: "int",
    default: "1",
    min: 1,
    max: 10,
    mutable: true,
    doc:
      "Effort of active expiry, 1-10: more keys sampled per round, fewer stale keys accepted, more CPU.",
  },
  {
    name: "latency-tracking-info-percentiles",
    type: "string",
    default: "50 99 99.9",
    mutable: true,
    check: (v) => {
      const text = String(v);
      if (text === "") return null;
      for (const token of text.split(" ")) {
        const p = token === "" ? NaN : /^[+-]?inf(inity)?$/i.test(token) ? Infinity : Number(token);
        if (Number.isNaN(p)) return "Invalid latency-tracking-info-percentiles parameters";
        if (p < 0 || p > 100) {
          return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        }
      }
      return null;
    },
    // Shown as Redis shows them (`%f` with trailing zeros cut): `50.0 99.90` reads `50 99.9`.
    normalize: (t) =>
      t === ""
        ? t
        : t.split(" ").map((x) => x === "" ? x : Number(x).toFixed(6).replace(/\.?0+$/, "")).join(
          " ",
        ),
    doc: "Percentiles INFO latencystats reports per command (space separated, 0 to 100).",
  },
  {
    name: "enable-debug-command",
    type: "enum",
    values: ["no", "yes", "local"],
    default: "no",
    mutable: false,
    doc: "Allow DEBUG: no, yes, or local (loopback clients only).",
  },
  {
    name: "shutdown-timeout",
    type: "int",
    default: "10",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "Seconds a shutdown may wait for in-flight replies before it closes connections.",
  },
  {
    name: "shutdown-on-sigterm",
    type: "string",
    default: "default",
    mutable: true,
    check: checkShutdownFlags,
    normalize: normalizeShutdownFlags,
    doc: "SHUTDOWN flags for SIGTERM: default, or save, nosave, now, force combined.",
  },
  {
    name: "shutdown-on-sigint",
    type: "string",
    default: "default",
    mutable: true,
    check: checkShutdownFlags,
    normalize: normalizeShutdownFlags,
    doc: "SHUTDOWN flags for SIGINT: default, or save, nosave, now, force combined.",
  },
  {
    name: "notify-keyspace-events",
    type: "string",
    default: "",
    mutable: true,
    check: (v) =>
      parseEventFlags(String(v)) === null
        ? "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        : null,
    // Kept as given and shown as Redis prints it: with `A`, an `n` is not printed but stays on.
    derive: (c) => formatEventFlags(parseEventFlags(c.str("notify-keyspace-events"))!),
    doc: "Keyspace notification classes (K E g $ l s h z x e t m n d A).",
  },
  {
    name: "proto-max-bulk-len",
    type: "memory",
    default: "512mb",
    min: 1024 * 1024,
    mutable: true,
    doc: "Largest bulk string a client may send.",
  },
  {
    name: "client-query-buffer-limit",
    type: "memory",
    default: "1gb",
    min: 1024 * 1024,
    mutable: true,
    doc: "Largest query buffer of one client.",
  },
  {
    name: "client-output-buffer-limit",
    type: "string",
    default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    mutable: true,
    check: checkOutputLimit,
    merge: mergeOutputLimit,
    doc:
      "Output buffer limits per class (normal, replica, pubsub): class hard soft seconds; a setting changes the classes it names.",
  },
  {
    name: "timeout",
    type: "int",
    default: "0",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "Close idle clients after this many seconds (0 = never).",
  },
  {
    name: "tcp-keepalive",
    type: "int",
    default: "300",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "TCP keepalive on client sockets (0 = off).",
  },
  {
    name: "acllog-max-len",
    type: "int",
    default: "128",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "Entries ACL LOG keeps.",
  },
  {
    name: "hz",
    type: "int",
    default: "10",
    min: 0,
    max: 2147483647,
    // Any int is accepted and brought into 1..500, as Redis does.
    clamp: [1, 500],
    mutable: true,
    doc: "Background task frequency (active expiry).",
  },
  {
    name: "loglevel",
    type: "enum",
    values: ["debug", "verbose", "notice", "warning", "nothing"],
    default: "notice",
    mutable: true,
    doc: "Log verbosity.",
  },
  {
    name: "logfile",
    type: "string",
    default: "",
    mutable: false,
    doc: "Log file (empty = standard output).",
  },
  {
    name: "list-max-listpack-size",
    aliases: ["list-max-ziplist-size"],
    type: "int",
    default: "-2",
    // Redis keeps any int and treats fills below -5 as -5.
    min: -2147483648,
    max: 2147483647,
    mutable: true,
    doc: "List node size limit (negative: -1..-5 = 4..64 KiB; positive: entries).",
  },
  {
    name: "list-compress-depth",
    type: "int",
    default: "0",
    min: 0,
    max: 2147483647,
    mutable: true,
    doc: "Accepted for compatibility; list nodes are not compressed.",
  },
  {
    name: "hash-max-listpack-entries",
    aliases: ["hash-max-ziplist-entries"],
    type: "int",
    default: "512",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "Hashes with at most this many fields report the listpack encoding.",
  },
  {
    name: "hash-max-listpack-value",
    aliases: ["hash-max-ziplist-value"],
    type: "memory",
    default: "64",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "...and whose fields and values are all at most this long.",
  },
  {
    name: "set-max-intset-entries",
    type: "int",
    default: "512",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "Sets of integers with at most this many members report the intset encoding.",
  },
  {
    name: "zset-max-listpack-entries",
    aliases: ["zset-max-ziplist-entries"],
    type: "int",
    default: "128",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "Sorted sets with at most this many members report the listpack encoding.",
  },
  {
    name: "zset-max-listpack-value",
    aliases: ["zset-max-ziplist-value"],
    type: "memory",
    default: "64",
    min: 0,
    max: 9223372036854775807,
    mutable: true,
    doc: "...and whose members are all at most this long.",
  },
  {
    name: "enable-module-command",
    type: "enum",
    values: ["no", "yes", "local"],
    default: "no",
    mutable: false,
    doc:
      "Whether MODULE LOAD and MODULE UNLOAD may run: no, yes, or local (loopback clients only).",
  },
  {
    name: "fetch-or-compute-timeout-ms",
    type: "int",
    default: "30000",
    min: 1,
    max: 2147483647,
    mutable: true,
    doc:
      "How long a FETCH_OR_COMPUTE caller may compute before the computation passes to a waiting client.",
  },
  {
    name: "loadplugin",
    type: "list",
    default: "",
    mutable: false,
    doc: "Plugin to load at start (repeatable).",
  },
];

const SHUTDOWN_FLAGS = ["save", "nosave", "now", "force"];

/** shutdown-on-sigterm/sigint: `default`, or a combination of save, nosave, now, force. */
function checkShutdownFlags(v: ConfigValue): string | null {
  const flags = String(v).trim().toLowerCase().split(/\s+/);
  if (!flags.every((f) => f === "default" || SHUTDOWN_FLAGS.includes(f))) {
    return "argument(s) must be one of the following: default, save, nosave, now, force";
  }
  if (flags.includes("save") && flags.includes("nosave")) {
    return "shutdown options SAVE and NOSAVE can't be used simultaneously";
  }
  return null;
}

/** The flags in Redis's order; `default` when none is set. */
function normalizeShutdownFlags(v: string): string {
  const flags = v.trim().toLowerCase().split(/\s+/);
  return SHUTDOWN_FLAGS.filter((f) => flags.includes(f)).join(" ") || "default";
}

/** The classes of client-output-buffer-limit, in the order CONFIG GET shows them. */
const OUTPUT_CLASSES = ["normal", "slave", "pubsub"];

/** Parses client-output-buffer-limit text into class -> [hard, soft, seconds]; or an error. */
function parseOutputLimit(text: string): Map<string, number[]> | string {
  // An empty value sets nothing, as in Redis.
  const parts = text.trim() === "" ? [] : text.trim().split(/\s+/);
  if (parts.length % 4 !== 0) return "Wrong number of arguments in buffer limit configuration.";
  const out = new Map<string, number[]>();
  for (let i = 0; i < parts.length; i += 4) {
    const name = parts[i].toLowerCase();
    const cls = name === "replica" ? "slave" : name;
    if (!OUTPUT_CLASSES.includes(cls)) {
      return "Invalid client class specified in buffer limit configuration.";
    }
    const hard = parseMemory(parts[i + 1]);
    const soft = parseMemory(parts[i + 2]);
    const seconds = /^[+-]?\d+$/.test(parts[i + 3]) ? Number(parts[i + 3]) : -1;
    if (hard === null || soft === null || seconds < 0) {
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    }
    out.set(cls, [hard, soft, seconds]);
  }
  return out;
}

function checkOutputLimit(v: ConfigValue): string | null {
  const parsed = parseOutputLimit(String(v));
  return typeof parsed === "string" ? parsed : null;
}

/** A setting changes the classes it names and keeps the others, in bytes, as Redis shows them. */
function mergeOutputLimit(previous: string, text: string): string {
  const limits = parseOutputLimit(previous) as Map<string, number[]>;
  for (const [cls, values] of parseOutputLimit(text) as Map<string, number[]>) {
    limits.set(cls, values);
  }
  return OUTPUT_CLASSES.map((cls) => `${cls} ${(limits.get(cls) ?? [0, 0, 0]).join(" ")}`)
    .join(" ");
}

/**
 * A memory amount as Redis's memtoull: a number with an optional unit b, k (1000), kb (1024),
 * m, mb, g, gb, case-insensitive. Null when invalid.
 */
export function parseMemory(text: string): number | null {
  const v = memoryValue(text);
  return v === null ? null : Number(v);
}

/**
 * A memory value as Redis's memtoull reads it: digits (none is 0), then an optional unit;
 * nothing else, no spaces; at most 2^64 - 1.
 */
function memoryValue(text: string): bigint | null {
  const m = /^(\d*)(b|k|kb|m|mb|g|gb)?$/i.exec(text);
  if (!m || m[1].length >= 128) return null;
  const mult: Record<string, number> = {
    b: 1,
    k: 1000,
    kb: 1024,
    m: 1000 ** 2,
    mb: 1024 ** 2,
    g: 1000 ** 3,
    gb: 1024 ** 3,
  };
  // strtoull saturates at 2^64 - 1; only a unit that overflows it is an error.
  const max = 2n ** 64n - 1n;
  const digits = BigInt(m[1] || "0");
  const v = (digits > max ? max : digits) * BigInt(mult[(m[2] ?? "b").toLowerCase()]);
  return v <= max ? v : null;
}

/** True when an integer's text is within int64 (Redis's string2ll). */
function fitsInt64(text: string): boolean {
  const v = BigInt(text);
  return v >= -(2n ** 63n) && v < 2n ** 63n;
}

/** A range bound as Redis prints it: the int64 limits stand for "no bound" beyond 2^53. */
export function bound(n: number | undefined, lower = false): string {
  if (n === undefined) return lower ? "-9223372036854775808" : "9223372036854775807";
  if (n >= Number.MAX_SAFE_INTEGER) return "9223372036854775807";
  if (n <= Number.MIN_SAFE_INTEGER) return "-9223372036854775808";
  return String(n);
}

/** Where a value came from; CONFIG REWRITE and the startup log use it. */
export type ConfigSource = "default" | "file" | "env" | "cli" | "runtime";

/** Parameter values and their sources. */
export class Config {
  private readonly defs = new Map<string, ParamDef>();
  private readonly values = new Map<string, ConfigValue>();
  private readonly sources = new Map<string, ConfigSource>();
  private readonly watchers = new Map<string, ((v: ConfigValue) => void)[]>();
  /** The exact text of values beyond 2^53, which are kept as doubles. */
  private readonly exact = new Map<string, string>();
  /** The config file given at start, if any (CONFIG REWRITE writes it). */
  file: string | null = null;

  constructor(params: readonly ParamDef[] = PARAMS) {
    for (const p of params) this.define(p);
  }

  /** Adds a parameter (families and plugins may add their own). */
  define(p: ParamDef): void {
    this.defs.set(p.name, p);
    for (const a of p.aliases ?? []) this.defs.set(a, p);
    this.values.set(p.name, this.parse(p, p.default));
    this.sources.set(p.name, "default");
  }

  /** The definition of a name or alias. */
  def(name: string): ParamDef | undefined {
    return this.defs.get(name.toLowerCase());
  }

  /** Every parameter definition (aliases not repeated). */
  all(): ParamDef[] {
    return [...new Set(this.defs.values())];
  }

  /** Parses `text` for parameter `p`; throws ConfigError naming it. */
  parse(p: ParamDef, text: string): ConfigValue {
    const fail = (why: string) => new ConfigError(why);
    switch (p.type) {
      case "int": {
        // As Redis's string2ll: no spaces, no '+', no leading zeros.
        if (!/^(0|-?[1-9]\d*)$/.test(text) || !fitsInt64(text)) {
          throw fail("argument couldn't be parsed into an integer");
        }
        // Compared exactly: bounds beyond 2^53 stand for the int64 limits (Redis's LLONG_*).
        const big = BigInt(text);
        if (big < BigInt(bound(p.min, true)) || big > BigInt(bound(p.max))) {
          throw fail(
            `argument must be between ${bound(p.min, true)} and ${bound(p.max)} inclusive`,
          );
        }
        const n = Number(text);
        return p.clamp ? Math.min(p.clamp[1], Math.max(p.clamp[0], n)) : n;
      }
      case "memory": {
        const big = memoryValue(text);
        if (big === null) throw fail("argument must be a memory value");
        const max = p.unsigned
          ? 2n ** 64n - 1n
          : p.max === undefined || p.max >= Number.MAX_SAFE_INTEGER
          ? 2n ** 63n - 1n
          : BigInt(p.max);
        const n = Number(big);
        if ((p.min !== undefined && n < p.min) || big > max) {
          throw fail(`argument must be between ${p.min ?? 0} and ${max} inclusive`);
        }
        return n;
      }
      case "bool": {
        const t = text.toLowerCase();
        if (t !== "yes" && t !== "no") throw fail("argument must be 'yes' or 'no'");
        return t === "yes";
      }
      case "enum": {
        const t = text.toLowerCase();
        if (!p.values!.includes(t)) {
          throw fail(`argument(s) must be one of the following: ${p.values!.join(", ")}`);
        }
        return t;
      }
      case "list":
        return text === "" ? [] : [text];
      default: {
        const err = p.check?.(text);
        if (err) throw fail(err);
        return p.normalize ? p.normalize(text) : text;
      }
    }
  }

  /** Sets a parameter from text; throws ConfigError with a message naming it. */
  set(name: string, text: string, source: ConfigSource): void {
    const p = this.def(name);
    if (!p) throw new ConfigError(`unknown parameter '${name}'`);
    let value: ConfigValue;
    try {
      value = this.parse(p, text);
    } catch (e) {
      throw new ConfigError(`invalid value '${text}' for '${p.name}': ${(e as Error).message}`);
    }
    if (p.implies) {
      for (const [other, text] of p.implies(value)) this.set(other, text, source);
    }
    if (p.merge) value = p.merge(this.values.get(p.name) as string, value as string);
    if (p.type === "list" && source !== "runtime") {
      // Repeatable in every source (file, environment, command line), each adding to the list;
      // an entry given twice is kept once.
      const prev = this.sources.get(p.name) === "default"
        ? []
        : this.values.get(p.name) as string[];
      value = [...new Set([...prev, ...(value as string[])])];
    }
    this.values.set(p.name, value);
    this.sources.set(p.name, source);
    // A number beyond 2^53 is kept as a double; CONFIG GET shows it as it was given.
    const big = (p.type === "int" || p.type === "memory") &&
      Math.abs(value as number) > Number.MAX_SAFE_INTEGER;
    if (big) {
      this.exact.set(p.name, p.type === "int" ? text : String(memoryValue(text)));
    } else this.exact.delete(p.name);
    for (const w of this.watchers.get(p.name) ?? []) w(value);
  }

  /** The value of a parameter. */
  get(name: string): ConfigValue {
    const p = this.def(name);
    if (!p) throw new ConfigError(`unknown parameter '${name}'`);
    return this.values.get(p.name)!;
  }

  int(name: string): number {
    return this.get(name) as number;
  }
  bool(name: string): boolean {
    return this.get(name) as boolean;
  }
  str(name: string): string {
    return this.get(name) as string;
  }
  list(name: string): string[] {
    return this.get(name) as string[];
  }

  /** Where a parameter's value came from. */
  source(name: string): ConfigSource {
    return this.sources.get(this.def(name)!.name)!;
  }

  /** Calls `fn` whenever `name` changes (and never for its initial value). */
  watch(name: string, fn: (v: ConfigValue) => void): void {
    const p = this.def(name)!;
    const list = this.watchers.get(p.name) ?? [];
    list.push(fn);
    this.watchers.set(p.name, list);
  }

  /** The value as CONFIG GET shows it. */
  format(name: string): string {
    const p = this.def(name)!;
    if (p.derive) return p.derive(this);
    const v = this.values.get(p.name)!;
    if (p.type === "bool") return v ? "yes" : "no";
    if (p.type === "list") return (v as string[]).join(" ");
    const exact = this.exact.get(p.name);
    if (exact !== undefined) return exact;
    // An int64 limit stored as a double (2^63) reads back as Redis prints it.
    if ((p.type === "int" || p.type === "memory") && (v as number) >= 2 ** 63) {
      return "9223372036854775807";
    }
    return String(v);
  }

  /**
   * CONFIG GET: [name, value] pairs for every parameter or alias matching a pattern, as Redis
   * 7 answers: a pattern without glob characters is a name and comes back spelled as given;
   * glob patterns match names and aliases; each parameter name appears once.
   */
  matching(patterns: string[]): [string, string][] {
    const out = new Map<string, [string, string]>();
    for (const pattern of patterns) {
      const lower = pattern.toLowerCase();
      if (!/[[*?]/.test(pattern)) {
        if (this.defs.has(lower) && !out.has(lower)) out.set(lower, [pattern, this.format(lower)]);
        continue;
      }
      for (const name of this.defs.keys()) {
        if (!out.has(name) && globMatch(lower, name, true)) {
          out.set(name, [name, this.format(name)]);
        }
      }
    }
    return [...out.values()];
  }

  /** Parameters set away from their defaults whose feature is not built yet. */
  inactiveInUse(): ParamDef[] {
    return this.all().filter((p) => p.inactive && this.sources.get(p.name) !== "default");
  }

  /** Loads a redis.conf-style file: `name value ...` per line, `#` comments. */
  loadFile(path: string, text: string): void {
    this.file = path;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "" || line.startsWith("#")) continue;
      const args = splitArgs(new TextEncoder().encode(line));
      if (args === null) {
        throw new ConfigError(`${path}:${i + 1}: unbalanced quotes in '${line}'`);
      }
      const [name, ...rest] = args.map((a) => new TextDecoder().decode(a));
      try {
        this.set(name, rest.join(" "), "file");
      } catch (e) {
        throw new ConfigError(`${path}:${i + 1}: ${(e as Error).message}`);
      }
    }
  }

  /** Applies `FERRICSTORE_NAME=value` variables (`_` stands for `-`). */
  loadEnv(env: Record<string, string>): void {
    const known = new Set<string>();
    for (const p of this.all()) {
      for (const n of [p.name, ...(p.aliases ?? [])]) {
        const name = `FERRICSTORE_${n.toUpperCase().replaceAll("-", "_")}`;
        known.add(name);
        const v = env[name];
        if (v !== undefined) this.set(p.name, v, "env");
      }
    }
    // A misspelled variable is refused like a misspelled flag, not silently ignored.
    for (const name of Object.keys(env)) {
      if (name.startsWith("FERRICSTORE_") && !known.has(name)) {
        throw new ConfigError(`environment variable ${name}: unknown parameter`);
      }
    }
  }

  /**
   * Applies command line arguments: an optional config file path first, then `--name value...`
   * (the words up to the next `--name` form the value). Returns the config file path, if any.
   */
  static parseArgs(args: string[]): { file: string | null; pairs: [string, string][] } {
    let file: string | null = null;
    let i = 0;
    if (args.length > 0 && !args[0].startsWith("--")) file = args[i++];
    const pairs: [string, string][] = [];
    while (i < args.length) {
      const flag = args[i++];
      if (!flag.startsWith("--") || flag.length === 2) {
        throw new ConfigError(`unexpected argument '${flag}' (expected --name value)`);
      }
      let name = flag.slice(2);
      const words: string[] = [];
      const eq = name.indexOf("=");
      if (eq >= 0) {
        words.push(name.slice(eq + 1));
        name = name.slice(0, eq);
      }
      while (i < args.length && !(args[i].startsWith("--") && args[i].length > 2)) {
        words.push(args[i++]);
      }
      pairs.push([name, words.join(" ")]);
    }
    return { file, pairs };
  }

  /**
   * CONFIG REWRITE: the config file with every parameter line set to its current value, and
   * parameters changed from their defaults but absent from the file appended.
   */
  rewrite(original: string): string {
    const lines = original.split(/\r?\n/);
    if (lines.at(-1) === "") lines.pop();
    const written = new Set<string>();
    const out: string[] = [];
    for (const line of lines) {
      const t = line.trim();
      const name = t.split(/\s+/)[0]?.toLowerCase();
      const p = name && !t.startsWith("#") ? this.def(name) : undefined;
      if (!p) {
        out.push(line);
        continue;
      }
      if (p.implies) {
        // Another name for other settings: written as those, with their current values (a
        // line of its own, read after them, could undo one of them).
        for (const [other] of p.implies(this.parse(p, p.default))) {
          const target = this.def(other)!;
          if (written.has(target.name)) continue;
          written.add(target.name);
          out.push(...this.lines(target));
        }
        continue;
      }
      if (written.has(p.name)) continue;
      written.add(p.name);
      out.push(...this.lines(p));
    }
    const extra: string[] = [];
    for (const p of this.all()) {
      if (written.has(p.name) || p.implies || this.isDefault(p)) {
        continue;
      }
      extra.push(...this.lines(p));
    }
    if (extra.length) {
      if (!out.includes("# Generated by CONFIG REWRITE")) out.push("# Generated by CONFIG REWRITE");
      out.push(...extra);
    }
    return out.join("\n") + "\n";
  }

  private isDefault(p: ParamDef): boolean {
    return this.format(p.name) === this.formatValue(p, this.parse(p, p.default));
  }

  private formatValue(p: ParamDef, v: ConfigValue): string {
    if (p.type === "bool") return v ? "yes" : "no";
    if (p.type === "list") return (v as string[]).join(" ");
    return String(v);
  }

  private lines(p: ParamDef): string[] {
    const quote = (s: string) => /^[A-Za-z0-9_.\/:\-]+$/.test(s) ? s : JSON.stringify(s);
    if (p.type === "list") return this.list(p.name).map((v) => `${p.name} ${quote(v)}`);
    return [`${p.name} ${quote(this.format(p.name))}`];
  }
}
