/**
 * Loading plugins: importing a plugin module (`loadplugin <path-or-url> [args...]`, MODULE LOAD),
 * registering its commands through the same registry the built-ins use, its value types with
 * the engine, and running its hooks; the MODULE command (LIST, LOAD, UNLOAD, HELP).
 *
 * Each plugin command's handler is wrapped so it gets a {@link PluginContext}: the built-in
 * context plus a logger, `call` (another command through full dispatch, as the calling client)
 * and `durable` (wait for this command's writes to be on disk). A handler that throws answers
 * `-ERR <message>` and logs a line naming the plugin and the command; the server keeps running.
 *
 * @example Registering a plugin object on a server (what `loadplugin` does after importing it)
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerPlugin } from "./loader.ts";
 * import { defineCommand, definePlugin } from "./api.ts";
 * import { Config } from "../server/config.ts";
 * import { Server } from "../server/server.ts";
 *
 * const server = new Server(new Config());
 * const loaded = await registerPlugin(server, definePlugin({
 *   name: "doc-example",
 *   version: "1.0.0",
 *   commands: [defineCommand({
 *     name: "doc-example.ping",
 *     arity: 1,
 *     flags: ["fast"],
 *     summary: "Answers pong.",
 *     handler: () => "pong",
 *   })],
 * }));
 * assert(server.registry.get("doc-example.ping")?.plugin === "doc-example");
 * assert(loaded.path === "<memory>");
 * await server.close();
 * ```
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { dispatch } from "../commands/dispatch.ts";
import { latin1, latin1Bytes } from "../commands/args.ts";
import { Registry } from "../commands/registry.ts";
import type { Command, CommandContext, CommandSpec, Handler } from "../commands/spec.ts";
import type { Database } from "../engine/keyspace.ts";
import { registerValueType, valueDecoder } from "../engine/values/types.ts";
import { inMemory, OK, type Reply, RespError, RespMap } from "../protocol/reply.ts";
import { type Client, isLocalClient } from "../server/client.ts";
import type { ParamDef } from "../server/config.ts";
import type { Config } from "../server/config.ts";
import type { Server } from "../server/server.ts";
import {
  _withDefaults,
  type CallArg,
  type HandlerResult,
  isForeignPlugin,
  isPlugin,
  type Plugin,
  type PluginCommand,
  type PluginContext,
  type PluginInfo,
  type PluginLoadContext,
  type PluginLogger,
  type ReadonlyDatabase,
  type ReadonlyEntry,
} from "./api.ts";

/** A plugin that cannot be loaded or unloaded; the message names the plugin and the reason. */
export class PluginLoadError extends Error {}

/** A plugin loaded on a server. */
export interface LoadedPlugin {
  readonly plugin: Plugin;
  /** Where it came from (MODULE LIST `path`): the path or URL, `<builtin>`, or `<memory>`. */
  readonly path: string;
  /** The words after the path (MODULE LIST `args`). */
  readonly args: readonly string[];
  /** Its registered commands. */
  readonly commands: readonly Command[];
}

/** Parameters the plugin machinery reads (defined here unless the server already has them). */
export const pluginParams: readonly ParamDef[] = [
  {
    name: "enable-module-command",
    type: "enum",
    values: ["no", "yes", "local"],
    default: "no",
    mutable: false,
    doc:
      "Whether MODULE LOAD and MODULE UNLOAD may run: no, yes, or local (loopback clients only).",
  },
];

/** Defines the parameters of {@link pluginParams} (and `extra`) that `config` lacks. */
export function definePluginParams(config: Config, extra: readonly ParamDef[] = []): void {
  for (const p of [...pluginParams, ...extra]) if (!config.def(p.name)) config.define(p);
}

const loadedBy = new WeakMap<Server, Map<string, LoadedPlugin>>();

function loadedOn(server: Server): Map<string, LoadedPlugin> {
  let m = loadedBy.get(server);
  if (m === undefined) loadedBy.set(server, m = new Map());
  return m;
}

/** The plugins loaded on a server, in load order. */
export function pluginsOf(server: Server): LoadedPlugin[] {
  return [...loadedOn(server).values()];
}

/** The logger of a plugin: lines tagged `[plugin:<name>]`. */
function pluginLogger(server: Server, name: string): PluginLogger {
  const c = `plugin:${name}`;
  return {
    debug: (m) => server.log.debug(c, m),
    verbose: (m) => server.log.verbose(c, m),
    notice: (m) => server.log.notice(c, m),
    warning: (m) => server.log.warning(c, m),
  };
}

// ---------------------------------------------------------------------------------------------
// The handler context

/** The read side of a Database, which is all a read-only command gets. */
class ReadView implements ReadonlyDatabase {
  constructor(private readonly db: Database) {}
  get index(): number {
    return this.db.index;
  }
  get now(): number {
    return this.db.keyspace.now;
  }
  get(key: string): ReadonlyEntry | undefined {
    return this.db.get(key);
  }
  inspect(key: string): ReadonlyEntry | undefined {
    const e = this.db.inspect(key);
    if (e !== undefined && e.cold) this.db.load(e);
    return e;
  }
  exists(key: string): boolean {
    return this.db.exists(key);
  }
  size(): number {
    return this.db.size();
  }
  keys(pattern: string): string[] {
    return this.db.keys(pattern);
  }
  scan(
    cursor: number,
    count: number,
    pattern: string | null,
    type: string | null,
  ): [number, string[]] {
    return this.db.scan(cursor, count, pattern, type);
  }
  randomKey(): string | null {
    return this.db.randomKey();
  }
}

const readViews = new WeakMap<Database, ReadView>();

function readView(db: Database): ReadView {
  let v = readViews.get(db);
  if (v === undefined) readViews.set(db, v = new ReadView(db));
  return v;
}

class Context implements PluginContext<Database | ReadonlyDatabase> {
  constructor(
    private readonly base: CommandContext,
    readonly plugin: PluginInfo,
    readonly log: PluginLogger,
    readonly db: Database | ReadonlyDatabase,
  ) {}
  get server(): Server {
    return this.base.server;
  }
  get client(): Client {
    return this.base.client;
  }
  get command(): Command {
    return this.base.command;
  }
  call(...args: CallArg[]): Reply {
    return callAs(this.base.server, this.base.client, args, false) as Reply;
  }
  callAsync(...args: CallArg[]): Promise<Reply> {
    return Promise.resolve(callAs(this.base.server, this.base.client, args, true));
  }
  durable<R extends Reply>(reply: R, keys?: readonly string[]): R | Promise<R> {
    return durableReply(this.base.server, this.base.client, reply, keys);
  }
}

/**
 * `reply` once the current command's writes are on disk. Writes in `sync` namespaces already
 * hold their reply until then (the connection waits on the log's barrier); for `async` ones the
 * shards of `keys` (every shard without keys) are written and fdatasynced first. Not inside EXEC or a nested call, which cannot
 * wait without letting other clients' commands in.
 */
export function durableReply<R extends Reply>(
  server: Server,
  client: Client,
  reply: R,
  keys?: readonly string[],
): R | Promise<R> {
  const engine = server.engine;
  if (engine === null || client.inExec || reply instanceof RespError) return reply;
  if (keys !== undefined && keys.every((k) => engine.namespaces.resolve(k).sync)) return reply;
  const ks = server.keyspace;
  const shards = keys === undefined
    ? engine.shards
    : [...new Set(keys.map((k) => ks.shardOf(k)))].map((i) => engine.shards[i]);
  // The promise settles after dispatch has closed the command's log batch, so the records are
  // appended by the time the flush starts; `flush(true)` writes and fdatasyncs them.
  return Promise.resolve()
    .then(() => Promise.all(shards.map((s) => s.flush(true))))
    .then(() => reply);
}

function toArgv(args: readonly CallArg[]): Uint8Array[] {
  return args.map((a) =>
    a instanceof Uint8Array ? a : latin1Bytes(typeof a === "string" ? a : String(a))
  );
}

/**
 * Runs a command line through dispatch as `client`, from inside another command: blocking
 * commands answer at once (as inside EXEC), the command's effects join the running command's
 * log batch, and the caller's clock and bookkeeping are restored afterwards.
 */
function callAs(
  server: Server,
  client: Client,
  args: readonly CallArg[],
  allowAsync: boolean,
): Reply | Promise<Reply> {
  if (args.length === 0) throw new TypeError("ctx.call: no command given");
  const argv = toArgv(args);
  let cmd = server.registry.lookup(argv[0]);
  if (cmd?.subcommands !== undefined && argv.length > 1) {
    cmd = cmd.subcommands.get(latin1(argv[1]).toLowerCase()) ?? cmd;
  }
  if (cmd !== undefined && server.pause.blocks(cmd)) {
    return new RespError(
      `ERR ctx.call: '${cmd.fullName}' cannot run while clients are paused (CLIENT PAUSE)`,
    );
  }
  const ks = server.keyspace;
  const now = ks.now;
  const noTouch = ks.noTouch;
  const current = server.currentClient;
  const last = client.lastCommand;
  const inExec = client.inExec;
  client.inExec = true;
  let r;
  try {
    r = dispatch(server, client, argv);
  } finally {
    client.inExec = inExec;
    client.lastCommand = last;
    server.currentClient = current;
    ks.noTouch = noTouch;
    ks.now = now;
  }
  if (r instanceof Promise) {
    if (allowAsync) return r.then(inMemory);
    r.catch(() => {});
    return new RespError(
      `ERR ctx.call: '${cmd?.fullName ?? "?"}' answers asynchronously: use ctx.callAsync`,
    );
  }
  return inMemory(r);
}

function failure(log: PluginLogger, name: string, e: unknown): RespError {
  if (e instanceof RespError) return e;
  const message = (e as Error)?.message ?? String(e);
  log.warning(`command '${name}' failed: ${(e as Error)?.stack ?? message}`);
  return new RespError(`ERR ${message}`);
}

/** A plugin command as the registry takes it: the spec with its handler wrapped. */
function toSpec(plugin: Plugin, pc: PluginCommand, log: PluginLogger, parent = ""): CommandSpec {
  const spec = _withDefaults(pc.spec, plugin);
  const fullName = parent ? `${parent}|${spec.name}` : spec.name;
  const h = pc.spec.handler as
    | ((ctx: PluginContext<Database | ReadonlyDatabase>, argv: Uint8Array[]) => HandlerResult)
    | undefined;
  if (h !== undefined) {
    const readonly = spec.flags.includes("readonly");
    const handler: Handler = (base, argv) => {
      const ctx = new Context(base, plugin, log, readonly ? readView(base.db) : base.db);
      let r: HandlerResult;
      try {
        r = h(ctx, argv);
      } catch (e) {
        return failure(log, fullName, e);
      }
      if (r instanceof Promise) return r.catch((e) => failure(log, fullName, e));
      return r;
    };
    spec.handler = handler;
  }
  if (pc.spec.subcommands?.length) {
    spec.subcommands = pc.spec.subcommands.map((s) => toSpec(plugin, s, log, spec.name));
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Registration

/** Which plugin registered each plugin value type (types are process-wide). */
const typeOwners = new Map<string, string>();

/** Everything about a plugin that can be checked without changing the server. */
function prepare(server: Server, plugin: Plugin): { specs: CommandSpec[]; log: PluginLogger } {
  const name = plugin.name;
  const already = loadedOn(server).get(name);
  if (already !== undefined) {
    throw new PluginLoadError(`plugin '${name}' is already loaded (from ${already.path})`);
  }
  const log = pluginLogger(server, name);
  const specs = plugin.commands.map((c) => toSpec(plugin, c, log));
  // A scratch registry validates every spec (and duplicates within the plugin) with the
  // registry's own messages, which name the plugin and the command.
  const scratch = new Registry();
  for (const spec of specs) {
    try {
      scratch.register(spec, name);
    } catch (e) {
      throw new PluginLoadError((e as Error).message);
    }
    const clash = server.registry.get(spec.name);
    if (clash !== undefined) {
      throw new PluginLoadError(
        `plugin '${name}': command '${spec.name}' is already registered` +
          (clash.plugin ? ` by plugin '${clash.plugin}'` : " as a built-in command"),
      );
    }
  }
  for (const t of plugin.types) {
    const owner = typeOwners.get(t.name);
    if (owner === name) continue;
    if (owner !== undefined || valueDecoder(t.name) !== undefined || t.name === "string") {
      throw new PluginLoadError(
        `plugin '${name}': value type '${t.name}' is already registered` +
          (owner ? ` by plugin '${owner}'` : " as a built-in type"),
      );
    }
  }
  return { specs, log };
}

function commit(
  server: Server,
  plugin: Plugin,
  specs: CommandSpec[],
  source: { path: string; args: readonly string[] },
): LoadedPlugin {
  const commands: Command[] = [];
  try {
    for (const spec of specs) commands.push(server.registry.register(spec, plugin.name));
  } catch (e) {
    for (const c of commands) server.registry.unregister(c.name);
    throw new PluginLoadError((e as Error).message);
  }
  for (const t of plugin.types) {
    typeOwners.set(t.name, plugin.name);
    registerValueType(t.name, t.decode);
  }
  const loaded: LoadedPlugin = {
    plugin,
    path: source.path,
    args: Object.freeze([...source.args]),
    commands,
  };
  loadedOn(server).set(plugin.name, loaded);
  return loaded;
}

/** Where a plugin object came from, for MODULE LIST. */
export interface PluginSource {
  /** Default `<memory>`. */
  path?: string;
  args?: readonly string[];
}

/**
 * Registers a plugin object on a server: validates every command (errors name the plugin and
 * the command), runs `onLoad`, then registers the commands and value types. Nothing is left
 * registered when any step fails.
 */
export async function registerPlugin(
  server: Server,
  plugin: Plugin,
  source: PluginSource = {},
): Promise<LoadedPlugin> {
  if (!isPlugin(plugin)) throw new PluginLoadError("not a plugin (use definePlugin)");
  definePluginParams(server.config);
  const { specs, log } = prepare(server, plugin);
  const path = source.path ?? "<memory>";
  const args = source.args ?? [];
  const lctx: PluginLoadContext = { server, args, log };
  try {
    await plugin.onLoad?.(lctx);
  } catch (e) {
    throw new PluginLoadError(`plugin '${plugin.name}': onLoad failed: ${(e as Error).message}`);
  }
  try {
    return commit(server, plugin, specs, { path, args });
  } catch (e) {
    await Promise.resolve(plugin.onUnload?.(lctx)).catch(() => {});
    throw e;
  }
}

/**
 * {@link registerPlugin} for plugins whose `onLoad` is synchronous (FerricStore's native plugins,
 * registered while the server is built); throws if `onLoad` returns a promise.
 */
export function registerPluginSync(
  server: Server,
  plugin: Plugin,
  source: PluginSource = {},
): LoadedPlugin {
  if (!isPlugin(plugin)) throw new PluginLoadError("not a plugin (use definePlugin)");
  definePluginParams(server.config);
  const { specs, log } = prepare(server, plugin);
  const args = source.args ?? [];
  const lctx: PluginLoadContext = { server, args, log };
  let r: void | Promise<void>;
  try {
    r = plugin.onLoad?.(lctx);
  } catch (e) {
    throw new PluginLoadError(`plugin '${plugin.name}': onLoad failed: ${(e as Error).message}`);
  }
  if (r instanceof Promise) {
    throw new PluginLoadError(`plugin '${plugin.name}': onLoad must be synchronous here`);
  }
  try {
    return commit(server, plugin, specs, { path: source.path ?? "<memory>", args });
  } catch (e) {
    plugin.onUnload?.(lctx);
    throw e;
  }
}

/** The import specifier of a `loadplugin` path: URLs as they are, file paths made absolute. */
function specifierOf(path: string): string {
  if (/^[a-z][a-z0-9+.\-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) return path;
  return pathToFileURL(resolvePath(path)).href;
}

/**
 * Imports a plugin module (a file path or a URL) and registers its default export. The error
 * of a failed load names the path, the plugin and the command where there is one.
 */
export async function loadPlugin(
  server: Server,
  path: string,
  args: readonly string[] = [],
): Promise<LoadedPlugin> {
  let mod: { default?: unknown };
  try {
    mod = await import(specifierOf(path));
  } catch (e) {
    throw new PluginLoadError(`plugin ${path}: cannot import: ${(e as Error).message}`);
  }
  if (isForeignPlugin(mod.default)) {
    throw new PluginLoadError(
      `plugin ${path}: made with another copy of FerricStore's mod.ts than this server's; ` +
        `import the mod.ts of the server that loads it (${new URL("../mod.ts", import.meta.url)})`,
    );
  }
  if (!isPlugin(mod.default)) {
    throw new PluginLoadError(
      `plugin ${path}: the module's default export is not a plugin (export default definePlugin({ ... }))`,
    );
  }
  let loaded: LoadedPlugin;
  try {
    loaded = await registerPlugin(server, mod.default, { path, args });
  } catch (e) {
    throw new PluginLoadError(`plugin ${path}: ${(e as Error).message}`);
  }
  const n = loaded.commands.length;
  server.log.notice(
    "plugins",
    `Module '${loaded.plugin.name}' loaded from ${path} (${n} command${n === 1 ? "" : "s"})`,
  );
  return loaded;
}

/** Splits a `loadplugin` value into words; double or single quotes keep spaces in a word. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2] ?? m[3]);
  }
  return out;
}

/**
 * Loads every `loadplugin` entry (`<path-or-url> [args...]`) in order; the first failure throws
 * (a server must not start without a plugin it was told to load). Value types are registered
 * here, so call this before the data directory is opened.
 */
export async function loadPlugins(server: Server, entries: readonly string[]): Promise<void> {
  for (const entry of entries) {
    const [path, ...args] = splitWords(entry);
    if (path === undefined) continue;
    await loadPlugin(server, path, args);
  }
}

/**
 * Unloads a plugin: removes its commands and runs its `onUnload`. Plugins that registered value
 * types stay (values of their types may exist), as do built-in ones.
 */
export async function unloadPlugin(server: Server, name: string): Promise<void> {
  const loaded = loadedOn(server).get(name);
  if (loaded === undefined) throw new PluginLoadError(`no such module with that name`);
  if (loaded.plugin.types.length > 0) {
    throw new PluginLoadError(
      "the module exports one or more module-side data types, can't unload",
    );
  }
  if (loaded.path === BUILTIN) throw new PluginLoadError("operation not possible.");
  for (const c of loaded.commands) server.registry.unregister(c.name);
  loadedOn(server).delete(name);
  const log = pluginLogger(server, name);
  try {
    await loaded.plugin.onUnload?.({ server, args: loaded.args, log });
  } catch (e) {
    log.warning(`onUnload failed: ${(e as Error).message}`);
  }
  server.log.notice("plugins", `Module ${name} unloaded`);
}

/** The MODULE LIST path of plugins that ship with FerricStore. */
export const BUILTIN = "<builtin>";

// ---------------------------------------------------------------------------------------------
// MODULE

/** The loaded plugins as MODULE LIST (and HELLO's `modules` field) answers them. */
export function moduleListReply(server: Server, withBuiltins = true): Reply[] {
  return pluginsOf(server).filter((p) => withBuiltins || p.path !== BUILTIN).map((p) =>
    new RespMap(["name", p.plugin.name, "ver", p.plugin.ver, "path", p.path, "args", [...p.args]])
  );
}

/** The lines of INFO's `modules` section, as Redis 7.0 writes them. */
export function moduleInfoLines(server: Server): string[] {
  return pluginsOf(server).map((p) =>
    `module:name=${p.plugin.name},ver=${p.plugin.ver},api=1,filters=0,usedby=[],using=[],options=[]`
  );
}

/** Redis's refusal of MODULE LOAD/UNLOAD unless `enable-module-command` allows them. */
function protectedRefusal(server: Server, client: Client): RespError | null {
  definePluginParams(server.config);
  const mode = server.config.str("enable-module-command");
  if (mode === "yes" || (mode === "local" && isLocalClient(client))) return null;
  return new RespError(
    'ERR MODULE command not allowed. If the enable-module-command option is set to "local", ' +
      "you can run it from a local connection, otherwise you need to set this option in the " +
      "configuration file, and then restart the server.",
  );
}

/** The MODULE command: LIST, LOAD, UNLOAD and HELP (Redis 7's reply shapes and errors). */
export const moduleCommands: CommandSpec[] = [
  {
    name: "module",
    arity: -2,
    flags: [],
    categories: [],
    group: "server",
    summary: "A container for module commands",
    since: "4.0.0",
    complexity: "Depends on subcommand.",
    help: [
      "LIST",
      "    Return a list of loaded modules.",
      "LOAD <path> [<arg> ...]",
      "    Load a module library from <path>, passing to it any optional arguments.",
      "UNLOAD <name>",
      "    Unload a module.",
    ],
    differences:
      "Modules are FerricStore plugins (TypeScript modules); MODULE LOADEX is not available.",
    subcommands: [
      {
        name: "list",
        arity: 2,
        flags: ["admin", "noscript"],
        categories: [],
        group: "server",
        summary: "List all modules loaded by the server",
        since: "4.0.0",
        complexity: "O(N) where N is the number of loaded modules.",
        /** MODULE LIST */
        handler: (ctx) => moduleListReply(ctx.server),
      },
      {
        name: "load",
        arity: -3,
        flags: ["admin", "noscript", "no_async_loading"],
        categories: [],
        group: "server",
        summary: "Load a module",
        since: "4.0.0",
        complexity: "O(1)",
        /** MODULE LOAD path [arg [arg ...]] */
        async handler(ctx, argv) {
          const refused = protectedRefusal(ctx.server, ctx.client);
          if (refused) return refused;
          const words = argv.slice(2).map((a) => new TextDecoder().decode(a));
          try {
            await loadPlugin(ctx.server, words[0], words.slice(1));
            return OK;
          } catch (e) {
            ctx.server.log.warning("plugins", (e as Error).message);
            return new RespError("ERR Error loading the extension. Please check the server logs.");
          }
        },
      },
      {
        name: "unload",
        arity: 3,
        flags: ["admin", "noscript", "no_async_loading"],
        categories: [],
        group: "server",
        summary: "Unload a module",
        since: "4.0.0",
        complexity: "O(1)",
        /** MODULE UNLOAD name */
        async handler(ctx, argv) {
          const refused = protectedRefusal(ctx.server, ctx.client);
          if (refused) return refused;
          try {
            await unloadPlugin(ctx.server, new TextDecoder().decode(argv[2]));
            return OK;
          } catch (e) {
            return new RespError(`ERR Error unloading module: ${(e as Error).message}`);
          }
        },
      },
    ],
  },
];
