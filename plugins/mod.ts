/**
 * The plugin API: what an extension author imports to add commands (and value types) to
 * FerricStore. A plugin is a module whose default export is {@link definePlugin}'s result; its
 * commands are {@link defineCommand}s, described by the same {@link CommandSpec} fields the
 * built-in commands use, so dispatch treats them exactly like built-ins: arity, authentication,
 * ACL (command, categories and keys), MULTI queueing, OOM and CLIENT PAUSE all apply, COMMAND
 * INFO/DOCS list them, and their writes go through `ctx.db`, so they are logged, replayed after
 * a crash, seen by WATCH, keyspace notifications and client tracking.
 *
 * Load a plugin with `--loadplugin ./my_plugin.ts` (or `loadplugin ./my_plugin.ts` in the config
 * file, or `MODULE LOAD`); see docs/plugins.md for the whole guide.
 *
 * @example A plugin with one read-only command
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCommand, definePlugin } from "./mod.ts";
 *
 * const plugin = definePlugin({
 *   name: "greeter",
 *   version: "1.0.0",
 *   commands: [
 *     defineCommand({
 *       name: "greeter.hello",
 *       arity: 2,
 *       flags: ["readonly", "fast"],
 *       summary: "Greets someone.",
 *       // GREETER.HELLO name
 *       handler: (_ctx, argv) => `Hello, ${new TextDecoder().decode(argv[1])}!`,
 *     }),
 *   ],
 * });
 * assert(plugin.name === "greeter" && plugin.commands.length === 1);
 * ```
 *
 * @module
 */
export * from "./api.ts";
export {
  BUILTIN,
  definePluginParams,
  type LoadedPlugin,
  loadPlugin,
  loadPlugins,
  moduleCommands,
  moduleInfoLines,
  moduleListReply,
  PluginLoadError,
  pluginParams,
  pluginsOf,
  type PluginSource,
  registerPlugin,
  registerPluginSync,
  unloadPlugin,
} from "./loader.ts";
export {
  type CommandArg,
  type JsValue,
  openStore,
  ReplyError,
  type Store,
  type StoreOptions,
} from "./embed.ts";
export { nativePlugins, registerNativePlugins } from "./native/mod.ts";
