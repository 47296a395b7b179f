/**
 * The plugin API's types and factories ({@link definePlugin}, {@link defineCommand}) and what
 * plugin authors need from the rest of FerricStore. Import it through `plugins/mod.ts` (or the
 * package root), which also has the loader and embedding.
 *
 * @module
 */
import type { Database } from "../engine/keyspace.ts";
import { Errors as builtinErrors } from "../commands/errors.ts";
import type { ValueDecoder } from "../engine/values/types.ts";
import type { Value } from "../engine/values/types.ts";
import type { NO_REPLY, Reply, RespError } from "../protocol/reply.ts";
import type { Client } from "../server/client.ts";
import { type ArgumentDoc, argumentReply } from "../commands/argument_docs.ts";
import type { Server } from "../server/server.ts";
import type {
  AclCategory,
  Command,
  CommandFlag,
  CommandSpec,
  FoundKey,
  KeySpec,
} from "../commands/spec.ts";

// What plugin authors need besides the API itself: reply values, key specs, argument parsing,
// wire errors, the value-type interface and its snapshot codec.
export * from "../protocol/reply.ts";
export { keys } from "../commands/spec.ts";
export type {
  AclCategory,
  CommandContext,
  CommandFlag,
  CommandSpec,
  FoundKey,
  KeySpec,
} from "../commands/spec.ts";
export {
  copyBytes,
  floatArg,
  int64Arg,
  intArg,
  isWord,
  latin1,
  latin1Bytes,
  utf8Bytes,
  word,
} from "../commands/args.ts";
export { err, wrongArity } from "../commands/errors.ts";

/** Redis's fixed error replies that commands commonly answer, worded as Redis words them. */
export interface CommonErrors {
  /** `ERR syntax error` */
  readonly syntax: RespError;
  /** `WRONGTYPE Operation against a key holding the wrong kind of value` */
  readonly wrongType: RespError;
  /** `ERR value is not an integer or out of range` */
  readonly notInteger: RespError;
  /** `ERR value is not a valid float` */
  readonly notFloat: RespError;
  /** `ERR increment or decrement would overflow` */
  readonly overflow: RespError;
  /** `ERR no such key` */
  readonly noSuchKey: RespError;
  /** `ERR invalid expire time in '<command>' command` */
  invalidExpire(command: string): RespError;
}

/** The common error replies (build others with `err("ERR ...")`). */
export const Errors: CommonErrors = builtinErrors;
export type { DataValue, EncodingLimits, Value, ValueDecoder } from "../engine/values/types.ts";
export { decodeParts, encodeParts } from "../engine/values/codec.ts";
export { addInt64, formatDouble, parseDouble, parseInt64 } from "../protocol/numbers.ts";
export { type Database, type Entry, KEEP_TTL } from "../engine/keyspace.ts";
export type { Client } from "../server/client.ts";
export type { Server } from "../server/server.ts";

/** A key as a read-only command sees it. */
export interface ReadonlyEntry {
  /** The key (a binary string: one character per byte). */
  readonly key: string;
  /** A string value (`Uint8Array`) or a collection ({@link DataValue}). */
  readonly value: Value;
  /** Absolute expiry in ms since the epoch; 0 when the key does not expire. */
  readonly expireAt: number;
}

/**
 * The read side of the keyspace API, which read-only commands (flag `readonly`) get as `ctx.db`.
 * Write commands get the whole {@link Database}, which has these methods too.
 */
export interface ReadonlyDatabase {
  /** The database number (`SELECT`). */
  readonly index: number;
  /** The time of the running command in ms (one command sees one clock, as in Redis). */
  readonly now: number;
  /**
   * Looks a key up for reading: counts a keyspace hit or miss and updates the key's access time
   * (LRU/LFU); an expired key is deleted on the way and reads as missing.
   */
  get(key: string): ReadonlyEntry | undefined;
  /** Looks a key up without touching its access time (as EXISTS, TYPE and TTL do). */
  inspect(key: string): ReadonlyEntry | undefined;
  /** True when the key exists. */
  exists(key: string): boolean;
  /** Number of keys in the database (DBSIZE). */
  size(): number;
  /** Every key matching a Redis glob pattern (KEYS). */
  keys(pattern: string): string[];
  /** One SCAN step: the next cursor and the keys it visited that pass the filters. */
  scan(
    cursor: number,
    count: number,
    pattern: string | null,
    type: string | null,
  ): [number, string[]];
  /** A random key, or null when the database is empty. */
  randomKey(): string | null;
}

/** Log lines a plugin writes, tagged `[plugin:<name>]`, at the server's `loglevel`. */
export interface PluginLogger {
  debug(message: string): void;
  verbose(message: string): void;
  notice(message: string): void;
  warning(message: string): void;
}

/** An argument of {@link PluginContext.call}: bytes, a binary (latin1) string, or a number. */
export type CallArg = Uint8Array | string | number | bigint;

/** What a command handler returns: a reply, nothing, or a promise of either. */
export type HandlerResult = Reply | typeof NO_REPLY | Promise<Reply | typeof NO_REPLY>;

/**
 * What a plugin command's handler gets: the same context as a built-in command's (`server`,
 * `client`, `db`, `command`) plus the plugin's own tools.
 */
export interface PluginContext<DB = Database> {
  /** The server (configuration, keyspace, clients, engine …). */
  readonly server: Server;
  /** The calling client: `user`, `resp` (2 or 3), `db`, `name`, `id` … */
  readonly client: Client;
  /** The client's selected database: the only way to data. */
  readonly db: DB;
  /** The registered command being run (its spec, stats, full name). */
  readonly command: Command;
  /** The plugin's name and version. */
  readonly plugin: PluginInfo;
  /** The plugin's logger. */
  readonly log: PluginLogger;
  /**
   * Runs another command through the whole dispatch pipeline as the calling client, so ACL
   * applies to it as to the client's own commands, and returns its reply (an error reply is
   * returned as a {@link RespError} value, not thrown). The command runs inside this command:
   * its effects are logged in the same atomic batch, no other client's command runs in
   * between, and a blocking command answers at once as it would inside MULTI. String arguments
   * are binary strings (one character per byte, as keys are); pass `Uint8Array`s for UTF-8 text.
   * A command whose handler answers asynchronously (FERRICSTORE.COMPACT …) needs
   * {@link callAsync}; `call` answers it with an error.
   */
  call(...args: CallArg[]): Reply;
  /** {@link call} for commands that answer asynchronously; awaits their reply. */
  callAsync(...args: CallArg[]): Promise<Reply>;
  /**
   * Returns `reply` once the writes of this command are on disk, whatever the durability of
   * the namespaces of `keys` (the default `sync` durability already holds replies until then;
   * an `async` namespace would not). Use it for writes that must never be lost, as
   * FerricStore's own LOCK and CAS do. Inside MULTI/EXEC and {@link call} the transaction's
   * durability applies instead (it cannot wait without letting other clients in).
   */
  durable<R extends Reply>(reply: R, keys?: readonly string[]): R | Promise<R>;
}

/** The context of a read-only command: `ctx.db` offers reads only. */
export type ReadContext = PluginContext<ReadonlyDatabase>;

/** The handler context a command's flags give: read-only commands get a {@link ReadContext}. */
export type ContextFor<F extends readonly CommandFlag[]> = [CommandFlag] extends [F[number]]
  ? PluginContext
  : "readonly" extends F[number] ? ReadContext
  : PluginContext;

/**
 * A plugin command's description: the {@link CommandSpec} fields built-in commands use, with
 * documentation fields optional (`categories` defaults to none beyond those the flags imply,
 * `group` to `module`, `since` to the plugin's version, `complexity` to `O(1)`).
 */
export interface PluginCommandSpec<F extends readonly CommandFlag[] = readonly CommandFlag[]> {
  /**
   * Lower-case name: letters, digits and `_ . : -`. Prefix it with the plugin's name
   * (`hello.world`) so it cannot clash with Redis's commands or other plugins'.
   */
  name: string;
  /** Redis arity: argv length including the name; negative = at least -arity. */
  arity: number;
  /** Flags as COMMAND INFO names them (`write`, `readonly`, `denyoom`, `fast`, `blocking` …). */
  flags: F;
  /** ACL categories beyond those implied by the flags (`string`, `hash`, `keyspace` …). */
  categories?: AclCategory[];
  /** One line for COMMAND DOCS. */
  summary: string;
  group?: string;
  since?: string;
  complexity?: string;
  /** Where the keys are (ACL key permissions, COMMAND GETKEYS, cluster routing). */
  keys?: KeySpec[];
  /** Keys found by looking at the arguments, when key specs cannot tell. */
  getKeys?: (argv: readonly Uint8Array[]) => FoundKey[];
  /** Subcommands, for a container command (`myplugin.config get …`). */
  subcommands?: PluginCommand[];
  /** Lines of the container's HELP subcommand. */
  help?: string[];
  /** Hints for clients and proxies, as COMMAND INFO lists them. */
  tips?: string[];
  /**
   * Argument documentation for COMMAND DOCS, as Redis 7 writes it: objects such as
   * `{ name: "key", type: "key", key_spec_index: 0 }`, `{ name: "seconds", type: "integer",
   * token: "EX", flags: ["optional"] }`, `{ name: "condition", type: "oneof", arguments: [...] }`.
   */
  arguments?: ArgumentDoc[];
  /**
   * The implementation. `argv[0]` is the command name; arity is already checked. Return a reply
   * value (or a Promise of one for a command that waits), throw or return a {@link RespError}
   * for an error reply. Any other thrown error becomes `-ERR <message>` and a log line.
   */
  handler?: (ctx: ContextFor<F>, argv: Uint8Array[]) => HandlerResult;
}

export type { ArgumentDoc } from "../commands/argument_docs.ts";

// Brands local to this copy of the module: a plugin must be made with the same copy of mod.ts
// as the server that loads it (its replies are this copy's classes, checked with instanceof).
const COMMAND_BRAND: unique symbol = Symbol("ferricstore.plugin-command");
const PLUGIN_BRAND: unique symbol = Symbol("ferricstore.plugin");
/** Marks plugins of every copy, so a plugin made with another copy can be told apart. */
const ANY_COPY = Symbol.for("ferricstore.plugin");

/** A command made by {@link defineCommand}. */
export interface PluginCommand {
  readonly [COMMAND_BRAND]: true;
  /** The spec as given. */
  readonly spec: Readonly<PluginCommandSpec>;
}

/**
 * Defines a plugin command. The flags decide the handler's context type: a `readonly` command's
 * `ctx.db` is a {@link ReadonlyDatabase}.
 *
 * @example A write command that keeps a counter per key
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCommand, Errors, keys, latin1, latin1Bytes } from "./mod.ts";
 *
 * const incr = defineCommand({
 *   name: "counter.incr",
 *   arity: 2,
 *   flags: ["write", "denyoom", "fast"],
 *   categories: ["string"],
 *   keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
 *   summary: "Adds one to the counter at key.",
 *   // COUNTER.INCR key
 *   handler(ctx, argv) {
 *     const key = latin1(argv[1]);
 *     const e = ctx.db.find(key);
 *     if (e !== undefined && !(e.value instanceof Uint8Array)) throw Errors.wrongType;
 *     const n = e === undefined ? 1 : Number(latin1(e.value as Uint8Array)) + 1;
 *     ctx.db.set(key, latin1Bytes(String(n)), 0);
 *     ctx.db.notify("$", "incrby", key);
 *     return n;
 *   },
 * });
 * assert(incr.spec.name === "counter.incr");
 * ```
 */
export function defineCommand<const F extends readonly CommandFlag[]>(
  spec: PluginCommandSpec<F>,
): PluginCommand {
  if (spec === null || typeof spec !== "object") {
    throw new TypeError("defineCommand: expected a command spec object");
  }
  if (typeof spec.name !== "string" || spec.name === "") {
    throw new TypeError("defineCommand: the command needs a name");
  }
  if (!Array.isArray(spec.flags)) {
    throw new TypeError(`defineCommand: command '${spec.name}': flags must be an array`);
  }
  for (const sub of spec.subcommands ?? []) {
    if (!isPluginCommand(sub)) {
      throw new TypeError(
        `defineCommand: command '${spec.name}': subcommands must come from defineCommand`,
      );
    }
  }
  return Object.freeze({
    [COMMAND_BRAND]: true as const,
    spec: Object.freeze({ ...spec }) as Readonly<PluginCommandSpec>,
  });
}

/** True for a value made by {@link defineCommand}. */
export function isPluginCommand(v: unknown): v is PluginCommand {
  return typeof v === "object" && v !== null && (v as PluginCommand)[COMMAND_BRAND] === true;
}

/** A value type a plugin adds: the name `TYPE` answers and the snapshot decoder. */
export interface PluginValueType {
  /** The `TYPE` name, unique across built-ins and plugins (`countmap`). */
  name: string;
  /**
   * Rebuilds a value from its {@link DataValue.encode} snapshot (compaction writes those), or
   * creates an empty value for `null` (recovery then replays element effects through `apply`).
   */
  decode: ValueDecoder;
}

/** Name and version of a plugin. */
export interface PluginInfo {
  readonly name: string;
  /** As given (`"1.2.3"`). */
  readonly version: string;
  /** As MODULE LIST reports it: major × 10000 + minor × 100 + patch (1.2.3 → 10203). */
  readonly ver: number;
}

/** What `onLoad` and `onUnload` get. */
export interface PluginLoadContext {
  readonly server: Server;
  /** The words after the path on the `loadplugin` line (or MODULE LOAD). */
  readonly args: readonly string[];
  readonly log: PluginLogger;
}

/** What {@link definePlugin} takes. */
export interface PluginDefinition {
  /** Letters, digits and `_ . -`; the name MODULE LIST shows and MODULE UNLOAD takes. */
  name: string;
  /** `major.minor.patch` (or a MODULE LIST integer version). */
  version: string | number;
  commands: PluginCommand[];
  /** Value types the plugin's commands store (registered before the data is recovered). */
  types?: PluginValueType[];
  /**
   * Runs when the plugin is loaded, before its commands can be called; throwing (or rejecting)
   * makes the load fail. Use it to check `args`, add disconnect hooks, start timers.
   */
  onLoad?: (ctx: PluginLoadContext) => void | Promise<void>;
  /** Runs after the plugin's commands are removed (MODULE UNLOAD); undo what onLoad did. */
  onUnload?: (ctx: PluginLoadContext) => void | Promise<void>;
}

/** A plugin made by {@link definePlugin}: export it as the module's default export. */
export interface Plugin extends PluginInfo {
  readonly [PLUGIN_BRAND]: true;
  readonly commands: readonly PluginCommand[];
  readonly types: readonly PluginValueType[];
  readonly onLoad?: PluginDefinition["onLoad"];
  readonly onUnload?: PluginDefinition["onUnload"];
}

/** A version as MODULE LIST's integer: `1.2.3` → 10203. */
function moduleVer(version: string | number, name: string): number {
  if (typeof version === "number") {
    if (Number.isSafeInteger(version) && version >= 0) return version;
  } else {
    const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(version);
    if (m && Number(m[2] ?? 0) < 100 && Number(m[3] ?? 0) < 100) {
      return Number(m[1]) * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0);
    }
  }
  throw new TypeError(
    `definePlugin: plugin '${name}': version must be 'major.minor.patch' (minor and patch below 100) or a non-negative integer`,
  );
}

/**
 * Defines a plugin. Validates the shape at once (so a mistake shows when the module is
 * imported); command specs themselves are validated when the plugin is loaded, with errors that
 * name the plugin and the command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCommand, definePlugin, OK } from "./mod.ts";
 *
 * const plugin = definePlugin({
 *   name: "noop",
 *   version: "0.2.1",
 *   commands: [
 *     defineCommand({
 *       name: "noop.ping",
 *       arity: 1,
 *       flags: ["fast"],
 *       summary: "Answers OK.",
 *       handler: () => OK,
 *     }),
 *   ],
 *   onLoad: ({ args, log }) => log.notice(`loaded with ${args.length} arguments`),
 * });
 * assert(plugin.ver === 201);
 * ```
 */
export function definePlugin(def: PluginDefinition): Plugin {
  if (def === null || typeof def !== "object") {
    throw new TypeError("definePlugin: expected a plugin definition object");
  }
  const name = def.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9_.\-]+$/.test(name)) {
    throw new TypeError(
      `definePlugin: the plugin name must be letters, digits or _ . - (got ${
        JSON.stringify(name)
      })`,
    );
  }
  const ver = moduleVer(def.version, name);
  if (!Array.isArray(def.commands)) {
    throw new TypeError(`definePlugin: plugin '${name}': commands must be an array`);
  }
  def.commands.forEach((c, i) => {
    if (!isPluginCommand(c)) {
      throw new TypeError(
        `definePlugin: plugin '${name}': commands[${i}] was not made by defineCommand`,
      );
    }
  });
  for (const t of def.types ?? []) {
    if (typeof t?.name !== "string" || t.name === "" || typeof t.decode !== "function") {
      throw new TypeError(
        `definePlugin: plugin '${name}': each type needs a name and a decode function`,
      );
    }
  }
  return Object.freeze({
    [PLUGIN_BRAND]: true as const,
    [ANY_COPY]: true,
    name,
    version: String(def.version),
    ver,
    commands: Object.freeze([...def.commands]),
    types: Object.freeze([...(def.types ?? [])]),
    onLoad: def.onLoad,
    onUnload: def.onUnload,
  });
}

/** True for a value made by {@link definePlugin}. */
export function isPlugin(v: unknown): v is Plugin {
  return typeof v === "object" && v !== null && (v as Plugin)[PLUGIN_BRAND] === true;
}

/** True for a plugin made with another copy of FerricStore's mod.ts than this one. */
export function isForeignPlugin(v: unknown): boolean {
  return typeof v === "object" && v !== null && !isPlugin(v) &&
    (v as Record<symbol, unknown>)[ANY_COPY] === true;
}

/** The spec fields every plugin command gets by default. */
export function _withDefaults(spec: Readonly<PluginCommandSpec>, plugin: PluginInfo): CommandSpec {
  return {
    name: spec.name,
    arity: spec.arity,
    flags: [...spec.flags, ...(spec.flags.includes("module") ? [] : ["module" as const])],
    categories: [...(spec.categories ?? [])],
    group: spec.group ?? "module",
    summary: spec.summary,
    since: spec.since ?? plugin.version,
    complexity: spec.complexity ?? "O(1)",
    keys: spec.keys,
    getKeys: spec.getKeys,
    help: spec.help,
    tips: spec.tips,
    arguments: spec.arguments?.map(argumentReply),
  };
}
