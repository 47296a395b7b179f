/**
 * FERRICSTORE.METRICS: the Prometheus text the HTTP `/metrics` endpoint serves, over RESP (for
 * deployments that expose no HTTP port, and for scripts).
 *
 * @module
 */
import type { CommandSpec } from "./spec.ts";

/** FERRICSTORE.METRICS. */
export const metricsCommands: CommandSpec[] = [
  {
    name: "ferricstore.metrics",
    arity: 1,
    flags: ["admin", "loading", "stale"],
    categories: [],
    group: "server",
    summary: "Returns the server's metrics in the Prometheus text format.",
    since: "0.1.0",
    complexity: "O(N) where N is the number of keys (counted per namespace)",
    /** FERRICSTORE.METRICS */
    async handler(ctx) {
      // Loaded on first use: prom-client takes ~80 ms to load, which every start would pay.
      const { serverMetrics } = await import("../http/metrics.ts");
      return new TextEncoder().encode(await serverMetrics(ctx.server).text());
    },
  },
];
