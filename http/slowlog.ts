/**
 * The server's slow log as the metrics and the dashboard read it: the one SLOWLOG shows, kept
 * in the server's operations state (commands/server.ts).
 *
 * @module
 */
import { operations } from "../commands/server.ts";
import type { Server } from "../server/server.ts";
import type { SlowLog, SlowLogEntry } from "../server/slowlog.ts";

/** The server's slow log. */
export function slowlogOf(server: Server): SlowLog {
  return operations(server).slowlog;
}

/** Entries in the slow log. */
export function slowlogLength(server: Server): number {
  return slowlogOf(server).length;
}

/** The newest `count` entries, newest first. */
export function slowlogEntries(server: Server, count: number): SlowLogEntry[] {
  return slowlogOf(server).get(count);
}
