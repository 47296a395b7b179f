/**
 * The built-in command families, registered through the same registry plugins use.
 *
 * @module
 */
import type { Server } from "../server/server.ts";
import { clientCommands } from "./client.ts";
import { configCommands } from "./config.ts";
import { connectionCommands } from "./connection.ts";
import { ferricstoreCommands } from "./ferricstore.ts";
import { hashCommands } from "./hashes.ts";
import { infoCommands } from "./info.ts";
import { keyCommands } from "./keys.ts";
import { listCommands } from "./lists.ts";
import { setCommands } from "./sets.ts";
import { sortCommands } from "./sort.ts";
import { sortedSetCommands } from "./sorted_sets.ts";
import type { CommandSpec } from "./spec.ts";
import { stringCommands } from "./strings.ts";
import { transactionCommands } from "./transactions.ts";
import { pubsubCommands } from "./pubsub.ts";
import { aclCommands } from "./acl.ts";
import { commandCommands } from "./command.ts";
import { metricsCommands } from "./metrics.ts";
import { serverCommands } from "./server.ts";
import { clusterCommands } from "./cluster.ts";
import { moduleCommands } from "../plugins/loader.ts";
import { waitCommands } from "./wait.ts";

/**
 * Every built-in family. A function, not a constant: families import the server and the server
 * imports this module, so the list is built when a server registers it, once every module has
 * loaded, whatever module a program imported first.
 */
export const builtinFamilies = (): readonly CommandSpec[][] => [
  connectionCommands,
  stringCommands,
  keyCommands,
  clientCommands,
  configCommands,
  infoCommands,
  listCommands,
  hashCommands,
  setCommands,
  sortCommands,
  sortedSetCommands,
  transactionCommands,
  pubsubCommands,
  aclCommands,
  commandCommands,
  metricsCommands,
  serverCommands,
  clusterCommands,
  waitCommands,
  moduleCommands,
  ferricstoreCommands,
];

/** Registers the built-in commands on a server. */
export function registerBuiltins(server: Server): void {
  for (const family of builtinFamilies()) {
    for (const spec of family) server.registry.register(spec);
  }
}
