/**
 * FerricStore's public surface for embedding and for extension authors.
 *
 * @example
 * ```ts
 * import { startServer } from "./mod.ts";
 * const server = await startServer({ port: 0, loglevel: "warning" });
 * console.log(`listening on ${server.port}`);
 * server.close();
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
