/**
 * FerricStore's public surface for embedding and for extension authors: `startServer` (a server
 * in your program), `openStore` (in-process, no socket), and the plugin API (`definePlugin`,
 * `defineCommand`, the loader and MODULE) from plugins/mod.ts. docs/plugins.md is the guide.
 *
 * @example
 * ```ts
 * import { startServer } from "./mod.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, "http-port": -1, "data-dir": dataDir, loglevel: "warning" });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 *
 * @module
 */
export { type Server, type ServerOptions, startServer, VERSION } from "./server/server.ts";
export { Config, ConfigError, type ParamDef } from "./server/config.ts";
export type {
  AclCategory,
  CommandContext,
  CommandFlag,
  CommandSpec,
  Handler,
  KeySpec,
} from "./commands/spec.ts";
export { keys } from "./commands/spec.ts";
export * from "./protocol/reply.ts";
export * from "./plugins/mod.ts";
