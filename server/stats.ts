/**
 * Server-wide counters for INFO stats and errorstats.
 *
 * @module
 */
import type { RespError } from "../protocol/reply.ts";

/** Counters since start or the last CONFIG RESETSTAT. */
export class ServerStats {
  connections = 0;
  rejectedConnections = 0;
  commands = 0;
  netInput = 0;
  netOutput = 0;
  /** Socket reads and writes of client connections. */
  reads = 0;
  writes = 0;
  errorReplies = 0;
  /** Error replies by code (`ERR`, `WRONGTYPE` …), for INFO errorstats. */
  readonly errors: Map<string, number> = new Map();

  /** Counts one error reply. */
  countError(e: RespError): void {
    this.errorReplies++;
    const code = e.code;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  reset(): void {
    this.connections = 0;
    this.rejectedConnections = 0;
    this.commands = 0;
    this.netInput = 0;
    this.netOutput = 0;
    this.reads = 0;
    this.writes = 0;
    this.errorReplies = 0;
    this.errors.clear();
  }
}
