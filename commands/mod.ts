/**
 * The built-in command families, registered through the same registry plugins use.
 *
 * @module
 */
import type { Server } from "../server/server.ts";
import { connectionCommands } from "./connection.ts";
import { stringCommands } from "./strings.ts";
import type { CommandSpec } from "./spec.ts";

/** Every built-in family, in the order COMMAND lists them. */
export const BUILTIN_FAMILIES: readonly CommandSpec[][] = [
  connectionCommands,
  stringCommands,
];

/** Registers the built-in commands on a server. */
export function registerBuiltins(server: Server): void {
  for (const family of BUILTIN_FAMILIES) {
    for (const spec of family) server.registry.register(spec);
  }
}
