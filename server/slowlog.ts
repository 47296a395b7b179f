/**
 * The slow log: commands that ran longer than `slowlog-log-slower-than` microseconds, newest
 * first, at most `slowlog-max-len` of them, with their arguments trimmed as Redis trims them (at
 * most 32 arguments, each at most 128 bytes).
 *
 * @module
 */
import type { Config } from "./config.ts";

/** Arguments kept per entry; the last one says how many more there were. */
export const SLOWLOG_ENTRY_MAX_ARGC = 32;
/** Bytes kept per argument. */
export const SLOWLOG_ENTRY_MAX_STRING = 128;

/** One slow log entry, as SLOWLOG GET shows it. */
export interface SlowLogEntry {
  id: number;
  /** Unix time in seconds when the command was logged. */
  time: number;
  /** Execution time in microseconds. */
  duration: number;
  /** The arguments, copied and trimmed. */
  argv: Uint8Array[];
  /** Client address `ip:port`. */
  peer: string;
  /** Client name (binary string), "" when unset. */
  name: string;
}

const encoder = new TextEncoder();

/**
 * The arguments of a command as the slow log keeps them: copies (request buffers are reused),
 * at most {@link SLOWLOG_ENTRY_MAX_ARGC}, the last replaced by `... (N more arguments)` when there
 * were more, and each cut to {@link SLOWLOG_ENTRY_MAX_STRING} bytes plus `... (N more bytes)`.
 *
 * @example
 * ```ts
 * import { trimArgs } from "./slowlog.ts";
 * const args = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(String(i)));
 * const kept = trimArgs(args);
 * console.assert(kept.length === 32);
 * console.assert(new TextDecoder().decode(kept[31]) === "... (9 more arguments)");
 * ```
 */
export function trimArgs(argv: readonly Uint8Array[]): Uint8Array[] {
  const argc = argv.length;
  const kept = Math.min(argc, SLOWLOG_ENTRY_MAX_ARGC);
  const out: Uint8Array[] = new Array(kept);
  for (let j = 0; j < kept; j++) {
    if (kept !== argc && j === kept - 1) {
      out[j] = encoder.encode(`... (${argc - kept + 1} more arguments)`);
      continue;
    }
    const a = argv[j];
    if (a.length > SLOWLOG_ENTRY_MAX_STRING) {
      const tail = encoder.encode(`... (${a.length - SLOWLOG_ENTRY_MAX_STRING} more bytes)`);
      const b = new Uint8Array(SLOWLOG_ENTRY_MAX_STRING + tail.length);
      b.set(a.subarray(0, SLOWLOG_ENTRY_MAX_STRING));
      b.set(tail, SLOWLOG_ENTRY_MAX_STRING);
      out[j] = b;
    } else {
      out[j] = new Uint8Array(a);
    }
  }
  return out;
}

/** The slow log of one server. */
export class SlowLog {
  /** Newest first. */
  private entries: SlowLogEntry[] = [];
  private nextId = 0;
  private slowerThan: number;
  private maxLen: number;

  constructor(config: Config) {
    this.slowerThan = config.int("slowlog-log-slower-than");
    this.maxLen = config.int("slowlog-max-len");
    config.watch("slowlog-log-slower-than", (v) => this.slowerThan = v as number);
    // As in Redis, a shorter slowlog-max-len takes effect at the next logged command.
    config.watch("slowlog-max-len", (v) => this.maxLen = v as number);
  }

  /** True when a command that took `usec` microseconds is logged. */
  wants(usec: number): boolean {
    return this.slowerThan >= 0 && this.maxLen > 0 && usec >= this.slowerThan;
  }

  /**
   * Logs a command if it was slow enough (Redis's slowlogPushEntryIfNeeded). `argv` is copied.
   */
  push(argv: readonly Uint8Array[], usec: number, peer: string, name: string): void {
    if (!this.wants(usec)) return;
    this.entries.unshift({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      duration: usec,
      argv: trimArgs(argv),
      peer,
      name,
    });
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }

  /** The newest `count` entries (all of them for -1), newest first. */
  get(count: number): SlowLogEntry[] {
    return count < 0 ? this.entries.slice() : this.entries.slice(0, count);
  }

  get length(): number {
    return this.entries.length;
  }

  /** Empties the log (ids keep counting, as in Redis). */
  reset(): void {
    this.entries = [];
  }
}
