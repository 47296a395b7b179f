/**
 * The command spec: the one description of a command that dispatch (arity, auth, ACL, key
 * extraction), COMMAND INFO/DOCS, ACL CAT and the plugin API all read.
 *
 * @module
 */
import { REDIS_TIPS } from "./tips.ts";
import { type NO_REPLY, type Reply, SimpleString } from "../protocol/reply.ts";
import type { Database } from "../engine/keyspace.ts";
import type { Client } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import { LatencyHistogram } from "../server/latency.ts";

/** Command flags, named as COMMAND INFO names them. */
export type CommandFlag =
  | "write"
  | "readonly"
  | "denyoom"
  | "module"
  | "admin"
  | "pubsub"
  | "noscript"
  | "blocking"
  | "loading"
  | "stale"
  | "skip_monitor"
  | "skip_slowlog"
  | "asking"
  | "fast"
  | "no_auth"
  | "may_replicate"
  | "no_mandatory_keys"
  | "no_async_loading"
  | "no_multi"
  | "allow_busy";

/** ACL categories, without the `@`. */
export type AclCategory =
  | "keyspace"
  | "read"
  | "write"
  | "set"
  | "sortedset"
  | "list"
  | "hash"
  | "string"
  | "bitmap"
  | "hyperloglog"
  | "geo"
  | "stream"
  | "pubsub"
  | "admin"
  | "fast"
  | "slow"
  | "blocking"
  | "dangerous"
  | "connection"
  | "transaction"
  | "scripting";

/** Every ACL category, in Redis's order (ACL CAT). */
export const ACL_CATEGORIES: readonly AclCategory[] = [
  "keyspace",
  "read",
  "write",
  "set",
  "sortedset",
  "list",
  "hash",
  "string",
  "bitmap",
  "hyperloglog",
  "geo",
  "stream",
  "pubsub",
  "admin",
  "fast",
  "slow",
  "blocking",
  "dangerous",
  "connection",
  "transaction",
  "scripting",
];

/** Key-spec flags (Redis 7): access intent of the keys a spec finds. */
export type KeySpecFlag =
  | "RO"
  | "RW"
  | "OW"
  | "RM"
  | "ACCESS"
  | "UPDATE"
  | "INSERT"
  | "DELETE"
  | "NOT_KEY"
  | "INCOMPLETE"
  | "VARIABLE_FLAGS";

/**
 * Where keys start: at an argument index, after a keyword, or `unknown` (only the command's
 * getKeys can tell, as for SORT's BY, GET and STORE).
 */
export type KeyBegin = { index: number } | { keyword: string; startFrom: number } | {
  unknown: true;
};

/**
 * How many keys follow: a range (`lastKey` relative to the begin, -1 = up to the last argument,
 * `limit` splits the remaining arguments) or a count stored in an argument (`keyNumIdx`, relative
 * to the begin).
 */
export type KeyFind =
  | { lastKey: number; keyStep: number; limit: number }
  | { keyNumIdx: number; firstKey: number; keyStep: number }
  | { unknown: true };

/** A Redis 7 key specification. */
export interface KeySpec {
  /** Why the flags are what they are (COMMAND INFO shows it). */
  notes?: string;
  flags: KeySpecFlag[];
  begin: KeyBegin;
  find: KeyFind;
}

/** What a handler gets besides its arguments. */
export interface CommandContext {
  readonly server: Server;
  readonly client: Client;
  /** The client's selected database: the only way handlers reach data. */
  readonly db: Database;
  readonly command: Command;
}

/** A command implementation. argv[0] is the command name; arity is already checked. */
export type Handler = (
  ctx: CommandContext,
  argv: Uint8Array[],
) => Reply | typeof NO_REPLY | Promise<Reply | typeof NO_REPLY>;

/** A command as families and plugins declare it. */
export interface CommandSpec {
  /** Lower-case name (`get`; a subcommand's own name, `kill` under `client`). */
  name: string;
  /** Redis arity: argv length including the name; negative = at least -arity. */
  arity: number;
  flags: CommandFlag[];
  /** Explicit ACL categories; the ones implied by flags are added at registration. */
  categories: AclCategory[];
  /** Command group for COMMAND DOCS (`string`, `generic`, `connection`, `server` …). */
  group: string;
  summary: string;
  since: string;
  complexity: string;
  keys?: KeySpec[];
  /**
   * Keys found by looking at the arguments, where the key specs alone cannot tell the access
   * (Redis's getkeys_proc: SET is OW/UPDATE unless GET makes it RW/ACCESS).
   */
  getKeys?: (argv: readonly Uint8Array[]) => FoundKey[];
  /** Subcommands of a container command (CLIENT, CONFIG, OBJECT …). */
  subcommands?: CommandSpec[];
  /**
   * Lines of `<CONTAINER> HELP`, without the first line and the closing HELP entry, which are
   * added as Redis adds them. A container with help lines and no `help` subcommand gets one.
   */
  help?: string[];
  /** ACL categories of that HELP subcommand (Redis gives CLIENT HELP and COMMAND HELP @connection). */
  helpCategories?: AclCategory[];
  /** Required unless the command is a container. */
  handler?: Handler;
  /** How the command differs from Redis's, if it does (docs/commands.md shows it). */
  differences?: string;
  /** Hints for clients and proxies (`request_policy:all_shards` …), as COMMAND INFO lists them. */
  tips?: string[];
  /** Documentation of arguments for COMMAND DOCS (free-form Redis argument specs). */
  arguments?: unknown[];
}

/** Per-command counters (INFO commandstats). */
export interface CommandStats {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
  /** Execution times while latency-tracking is on (LATENCY HISTOGRAM, INFO latencystats). */
  readonly histogram: LatencyHistogram;
}

/** A registered command: its spec plus what registration derives from it. */
export class Command {
  readonly name: string;
  /** `get`, or `client|kill` for a subcommand. */
  readonly fullName: string;
  readonly flags: ReadonlySet<CommandFlag>;
  /** Explicit plus implied categories. */
  readonly categories: ReadonlySet<AclCategory>;
  readonly subcommands: Map<string, Command> | undefined;
  readonly stats: CommandStats = {
    calls: 0,
    usec: 0,
    rejected: 0,
    failed: 0,
    histogram: new LatencyHistogram(),
  };
  readonly isWrite: boolean;
  /** Set for commands registered by a plugin. */
  plugin: string | undefined;

  constructor(readonly spec: CommandSpec, readonly parent?: Command) {
    this.name = spec.name;
    this.fullName = parent ? `${parent.name}|${spec.name}` : spec.name;
    this.flags = new Set(spec.flags);
    this.categories = new Set([...spec.categories, ...impliedCategories(spec.flags)]);
    this.isWrite = this.flags.has("write");
    if (spec.subcommands) {
      this.subcommands = new Map(spec.subcommands.map((s) => [s.name, new Command(s, this)]));
      if (spec.help && !this.subcommands.has("help")) {
        this.subcommands.set(
          "help",
          new Command(
            helpSubcommand(spec.help, spec.helpCategories ?? [], spec.group, helpSince(spec)),
            this,
          ),
        );
      }
    }
  }

  get arity(): number {
    return this.spec.arity;
  }

  /** COMMAND INFO's tips: the spec's own, else Redis's for a command Redis has. */
  get tips(): readonly string[] {
    return this.spec.tips ?? (this.plugin ? undefined : REDIS_TIPS[this.fullName]) ?? [];
  }

  get handler(): Handler | undefined {
    return this.spec.handler;
  }

  /** Legacy (first key, last key, step) of COMMAND INFO, derived from the key specs. */
  legacyKeyRange(): [number, number, number] {
    const ks = this.spec.keys ?? [];
    let first = 0, last = 0, step = 0;
    for (const k of ks) {
      if (!("index" in k.begin) || !("lastKey" in k.find)) break;
      const kf = k.find;
      const start = k.begin.index;
      const end = kf.lastKey < 0 ? kf.lastKey : start + kf.lastKey;
      if (first === 0) {
        first = start;
        last = end;
        step = kf.keyStep;
      } else if (last >= 0 && start === last + step && kf.keyStep === step) {
        last = end;
      } else break;
    }
    return [first, last, step];
  }

  /** True when the keys' positions depend on the arguments (COMMAND INFO `movablekeys`). */
  get movableKeys(): boolean {
    return (this.spec.keys ?? []).some((k) => !("index" in k.begin) || !("lastKey" in k.find));
  }
}

/** The Redis version that added a container's HELP, where it is not 5.0.0 (COMMAND DOCS). */
const HELP_SINCE: Readonly<Record<string, string>> = {
  acl: "6.0.0",
  latency: "2.8.13",
  memory: "4.0.0",
  object: "6.2.0",
  pubsub: "6.2.0",
  slowlog: "6.2.0",
};

/** Since when a container has HELP: Redis's version for Redis's, its own for FerricStore's. */
function helpSince(spec: CommandSpec): string {
  return HELP_SINCE[spec.name] ?? (spec.name.includes(".") ? spec.since : "5.0.0");
}

/**
 * The HELP subcommand of a container, replying as Redis's addReplyHelp; in the container's
 * group, as Redis documents it.
 */
function helpSubcommand(
  lines: string[],
  categories: AclCategory[],
  group: string,
  since: string,
): CommandSpec {
  return {
    name: "help",
    arity: 2,
    flags: ["loading", "stale"],
    categories,
    group,
    summary: "Returns helpful text about the different subcommands.",
    since,
    complexity: "O(1)",
    handler: (_ctx, argv) => [
      new SimpleString(
        `${latin1(argv[0]).toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`,
      ),
      ...lines.map((l) => new SimpleString(l)),
      new SimpleString("HELP"),
      new SimpleString("    Prints this help."),
    ],
  };
}

/** Categories implied by flags, as Redis's setImplicitACLCategories. */
export function impliedCategories(flags: readonly CommandFlag[]): AclCategory[] {
  const out: AclCategory[] = [];
  if (flags.includes("write")) out.push("write");
  if (flags.includes("readonly")) out.push("read");
  if (flags.includes("admin")) out.push("admin", "dangerous");
  if (flags.includes("pubsub")) out.push("pubsub");
  if (flags.includes("fast")) out.push("fast");
  if (flags.includes("blocking")) out.push("blocking");
  if (!flags.includes("fast")) out.push("slow");
  return out;
}

/** A key found in argv, with the flags of the spec that found it. */
export interface FoundKey {
  index: number;
  flags: readonly KeySpecFlag[];
}

/** The keys of a command line, found by its key specs (COMMAND GETKEYS, ACL key checks). */
export function findKeys(cmd: Command, argv: readonly Uint8Array[]): FoundKey[] {
  if (cmd.spec.getKeys) return cmd.spec.getKeys(argv);
  const out: FoundKey[] = [];
  const argc = argv.length;
  for (const ks of cmd.spec.keys ?? []) {
    let start: number;
    if ("unknown" in ks.begin || "unknown" in ks.find) continue;
    if ("index" in ks.begin) {
      start = ks.begin.index;
    } else {
      const kw = ks.begin.keyword.toLowerCase();
      const from = ks.begin.startFrom;
      start = -1;
      const step = from >= 0 ? 1 : -1;
      for (let i = from >= 0 ? from : argc + from; i > 0 && i < argc; i += step) {
        if (latin1Lower(argv[i]) === kw) {
          start = i + 1;
          break;
        }
      }
      if (start < 0) continue;
    }
    if (start >= argc) continue;
    const f = ks.find;
    if ("lastKey" in f) {
      let last = f.lastKey >= 0 ? start + f.lastKey : argc + f.lastKey;
      if (f.lastKey < 0 && f.limit > 1) last = start + Math.floor((last - start + 1) / f.limit) - 1;
      for (let i = start; i <= last && i < argc; i += f.keyStep) {
        out.push({ index: i, flags: ks.flags });
      }
    } else {
      // As Redis: a count below 1 or running past the arguments makes the command's keys
      // unknown (none), not a shorter list. The count is read as C's atoi reads it ("1.5" is 1,
      // "x" is 0), as Redis's getkeys functions do when the key spec cannot read it.
      const text = latin1(argv[start + f.keyNumIdx] ?? new Uint8Array());
      const n = Number(/^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text)?.[1] ?? 0);
      const first = start + f.firstKey;
      if (n <= 0 || first + (n - 1) * f.keyStep >= argc) return [];
      for (let j = 0; j < n; j++) out.push({ index: first + j * f.keyStep, flags: ks.flags });
    }
  }
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function latin1Lower(b: Uint8Array): string {
  return latin1(b).toLowerCase();
}

/**
 * The spec builder of a data family: every command of the family gets its ACL category and
 * COMMAND DOCS group, and the rest positionally.
 *
 * @example
 * ```ts
 * import { familySpec, keys } from "./spec.ts";
 * const str = familySpec("string", "string");
 * const get = str("get", 2, ["readonly", "fast"], [keys.one(1, "RO", "ACCESS")],
 *   "Returns the string value of a key.", "1.0.0", "O(1)", () => null);
 * console.assert(get.categories[0] === "string");
 * ```
 */
export function familySpec(category: AclCategory, group: string): (
  name: string,
  arity: number,
  flags: CommandFlag[],
  keySpecs: KeySpec[] | undefined,
  summary: string,
  since: string,
  complexity: string,
  handler: CommandSpec["handler"],
) => CommandSpec {
  return (name, arity, flags, keySpecs, summary, since, complexity, handler) => ({
    name,
    arity,
    flags,
    categories: [category],
    group,
    summary,
    since,
    complexity,
    keys: keySpecs,
    handler,
  });
}

/** Key spec helpers for the common shapes. */
export const keys: {
  one(index: number, ...flags: KeySpecFlag[]): KeySpec;
  range(index: number, lastKey: number, step: number, ...flags: KeySpecFlag[]): KeySpec;
  counted(index: number, ...flags: KeySpecFlag[]): KeySpec;
} = {
  /** One key at `index`. */
  one(index: number, ...flags: KeySpecFlag[]): KeySpec {
    return { flags, begin: { index }, find: { lastKey: 0, keyStep: 1, limit: 0 } };
  },
  /** Keys from `index` to the end (or `lastKey` relative), every `step`. */
  range(index: number, lastKey: number, step: number, ...flags: KeySpecFlag[]): KeySpec {
    return { flags, begin: { index }, find: { lastKey, keyStep: step, limit: 0 } };
  },
  /** A key count at `index`, keys after it (LMPOP, ZUNION …). */
  counted(index: number, ...flags: KeySpecFlag[]): KeySpec {
    return { flags, begin: { index }, find: { keyNumIdx: 0, firstKey: 1, keyStep: 1 } };
  },
};
