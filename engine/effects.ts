/**
 * The effect log interface: every change to the keyspace is reported here as an effect (not as
 * the request that caused it), which is what the durable engine writes to its shard logs.
 * SET EX becomes a put with an absolute expiry; INCR a put of the new value; an expired key a
 * delete.
 *
 * @module
 */
import type { DataValue, Value } from "./values/types.ts";
import type { Entry } from "./keyspace.ts";

export type { DataValue };

/** Receives the keyspace's effects in the order they happen. */
export interface EffectLog {
  /**
   * `e.key` now holds `e.value` (a whole value), expiring at `e.expireAt` (0 = never). The log
   * owns the entry's on-disk bookkeeping (`lsn`, `loc`, `logBytes`) and updates it. `value` is
   * `e.value` when the caller has it at hand (reading `e.value` makes a new view of a string).
   */
  put(db: number, e: Entry, value?: Value): void;
  /**
   * `e.key` no longer exists (the entry is already unlinked). `expired`: the delete is an
   * expiry's, which recovery would also make (the key's deadline is in the log), so a log that
   * can no longer be written may drop it.
   */
  delete(db: number, e: Entry, expired?: boolean): void;
  /**
   * An element-level change to the collection at `e` (`lpush` with the pushed elements, `hset`
   * with field/value pairs …); replayed through {@link DataValue.apply}.
   */
  op(db: number, e: Entry, op: string, args: Uint8Array[]): void;
  /**
   * `e`'s string value grew by `added` (APPEND), which is the tail of `e.value` and never
   * changes. A log without this method is given the whole value ({@link put}) instead.
   */
  append?(db: number, e: Entry, added: Uint8Array): void;
  /** `e`'s expiry changed to `e.expireAt` (0 = persistent). */
  expire(db: number, e: Entry): void;
  /** Every key of database `db` is gone (`-1`: of every database). */
  flush(db: number): void;
  /** Databases `a` and `b` swapped contents. */
  swap(a: number, b: number): void;
  /** Starts grouping effects into one atomic batch (one command or transaction). */
  begin?(): void;
  /** Ends a {@link begin}; the outermost end writes the batch. */
  end?(): void;
  /**
   * A promise that resolves when every effect that must be durable before its reply is on
   * disk; null when nothing is waiting. `since`: when the caller's commands began (ms since the
   * epoch); after a log failure, commands that began later have nothing to wait for.
   */
  barrier?(since?: number): Promise<void> | null;
  /** True when every effect logged so far is on disk (absent: nothing is ever on disk). */
  synced?(): boolean;
  /** Writes and fdatasyncs every effect logged so far. */
  flushAll?(): Promise<void>;
}

/** The effect log of a purely in-memory keyspace: effects go nowhere. */
export const NO_LOG: EffectLog = {
  put() {},
  delete() {},
  op() {},
  expire() {},
  flush() {},
  swap() {},
};
