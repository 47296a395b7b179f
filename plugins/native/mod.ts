/**
 * FerricStore's native commands, shipped as plugins that every server loads: CAS, LOCK / UNLOCK /
 * EXTEND, RATELIMIT.ADD and FETCH_OR_COMPUTE (with _RESULT and _ERROR). They use the public
 * plugin API only, so they double as examples of it. MODULE LIST shows them with the path
 * `<builtin>`; they cannot be unloaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerNativePlugins } from "./mod.ts";
 * import { Config } from "../../server/config.ts";
 * import { Server } from "../../server/server.ts";
 *
 * const server = new Server(new Config());
 * registerNativePlugins(server); // a no-op for plugins the server already has
 * assert(server.registry.get("cas")?.plugin === "ferricstore.cas");
 * await server.close();
 * ```
 *
 * @module
 */
import type { Server } from "../../server/server.ts";
import { BUILTIN, pluginsOf, registerPluginSync } from "../loader.ts";
import type { Plugin } from "../api.ts";
import cas from "./cas.ts";
import fetchOrCompute from "./fetch_or_compute.ts";
import lock from "./lock.ts";
import ratelimit from "./ratelimit.ts";

/** The native plugins, in registration order. */
export const nativePlugins: readonly Plugin[] = [cas, lock, ratelimit, fetchOrCompute];

/** Registers the native plugins a server does not have yet (synchronously: call it any time). */
export function registerNativePlugins(server: Server): void {
  const have = new Set(pluginsOf(server).map((p) => p.plugin.name));
  for (const p of nativePlugins) {
    if (!have.has(p.name)) registerPluginSync(server, p, { path: BUILTIN });
  }
}
