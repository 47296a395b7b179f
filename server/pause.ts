/**
 * CLIENT PAUSE: holds back commands of every client (ALL) or only those that write (WRITE)
 * until CLIENT UNPAUSE or the timeout.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { Command } from "../commands/spec.ts";

/** Longest delay a timer takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Commands a WRITE pause holds back (Redis: write or may-replicate). */
function writes(cmd: Command): boolean {
  return cmd.isWrite || cmd.flags.has("may_replicate");
}

/** The pause in force, if any. */
export class PauseState {
  /** End of the pause in ms since the epoch; 0 when not paused. */
  until = 0;
  /** True for CLIENT PAUSE ALL, false for WRITE. */
  all = false;
  /** Called with true when a pause starts and false when it ends (keys stop expiring). */
  onChange: ((paused: boolean) => void) | null = null;
  /** Clients whose command waits for the pause to end (connected ones). */
  readonly held: Set<{ blocked: boolean }> = new Set();
  private waiters: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * True when `cmd` must wait for the pause to end; `queued`, the commands of the client's
   * transaction (EXEC waits for a WRITE pause when one of them writes).
   */
  blocks(cmd: Command, queued?: readonly { cmd: Command }[]): boolean {
    if (this.until === 0) return false;
    if (Date.now() >= this.until) {
      this.unpause();
      return false;
    }
    if (this.all) return true;
    if (writes(cmd)) return true;
    return cmd.name === "exec" && queued !== undefined && queued.some((q) => writes(q.cmd));
  }

  /** Starts or extends a pause (a shorter or weaker pause never shortens one in force). */
  pause(until: number, all: boolean): void {
    if (this.until !== 0 && !all && this.all) all = true;
    this.until = Math.max(this.until, until);
    this.all = all;
    this.arm();
    this.onChange?.(true);
  }

  /** Sets the timer for the end of the pause (timers cannot wait more than 2^31-1 ms at once). */
  private arm(): void {
    clearTimeout(this.timer);
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, this.until - Date.now()));
    this.timer = setTimeout(() => Date.now() >= this.until ? this.unpause() : this.arm(), wait);
  }

  /**
   * Ends the pause and releases the waiting commands in arrival order, one client per event-loop
   * turn: a released client runs the rest of its pipeline (its commands that came in while it
   * waited) before the next client's command runs, as Redis serves an unblocked client's whole
   * input. A released command that meets a new pause waits again (dispatch checks anew).
   */
  unpause(): void {
    this.until = 0;
    this.all = false;
    clearTimeout(this.timer);
    this.onChange?.(false);
    const w = this.waiters;
    this.waiters = [];
    const release = (i: number) => {
      w[i]();
      if (i + 1 < w.length) setImmediate(() => release(i + 1));
    };
    if (w.length > 0) release(0);
  }

  /** Ends the pause when its time has passed. */
  expire(): void {
    if (this.until !== 0 && Date.now() >= this.until) this.unpause();
  }

  /**
   * Resolves when the pause ends; until then `client` counts as blocked (INFO blocked_clients,
   * CLIENT LIST flag b), as in Redis.
   */
  hold(client: { blocked: boolean }): Promise<void> {
    client.blocked = true;
    this.held.add(client);
    return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() => {
      client.blocked = false;
      this.held.delete(client);
    });
  }
}
