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

/**
 * User and system CPU time, in microseconds, from a Linux `/proc/.../stat` file (a process's, or
 * one thread's under `task/`); null where it cannot be read.
 */
export function procCpuTime(statPath: string): { user: number; system: number } | null {
  try {
    const stat = Deno.readTextFileSync(statPath);
    // Fields after the command name, which is in parentheses and may contain spaces; times are
    // in clock ticks of 10 ms.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
  } catch {
    return null;
  }
}
