/**
 * The durable effect log: turns the keyspace's effects into records on the shard logs, with the
 * durability of the key's namespace. The effects of one command (or one transaction) that
 * touch several records are written as an atomic batch: every involved shard gets a BatchBegin,
 * its records, and a BatchEnd, and recovery applies a batch only when every part of it is whole.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { EffectLog } from "../effects.ts";
import { type Entry, entryLsn, NO_SEGMENT, setEntryLsn, setLocation } from "../keyspace.ts";
import type { DataValue, Value } from "../values/types.ts";
import { encodeValue } from "../values/codec.ts";
import { transientBytes } from "../bytes.ts";
import type { Namespaces } from "./namespaces.ts";
import {
  ALL_DBS,
  AppendPayload,
  EffectPayload,
  HEADER_SIZE,
  type Payload,
  putDouble,
  recordSize,
  RecordType,
} from "./record.ts";
import type { ShardLog } from "./shard_log.ts";

interface Pending {
  shard: number;
  type: number;
  db: number;
  expireAt: number;
  key: string;
  payload: Payload;
  lsn: number;
  sync: boolean;
  windowMs: number;
  /** The entry whose string value this record holds (its location is noted once written). */
  entry?: Entry;
}

/** Writes effects to shard logs. */
export class DurableLog implements EffectLog {
  private depth = 0;
  private pending: Pending[] = [];
  /** Batch ids only grow, across restarts too (recovery knows the largest one used). */
  private nextBatchId: number;
  /** Last log sequence number given out, per shard. */
  private readonly lsns: number[];
  /** Called when a string value has its place in the log (hot/cold bookkeeping). */
  onValueWritten: ((e: Entry) => void) | null = null;
  /**
   * Called when a string's put is written after a later record of the same batch moved the
   * key's sequence number on: the value has no place in the log (hot/cold bookkeeping).
   */
  onValueUnplaced: ((e: Entry) => void) | null = null;
  /** The shard barriers last combined, and their combination. */
  private lastWaits: Promise<void>[] = [];
  private lastBarrier: Promise<void> = Promise.resolve();
  /** Called on FLUSHDB, FLUSHALL and SWAPDB (they abort compaction runs). */
  onFlushOrSwap: (() => void) | null = null;

  constructor(
    readonly shards: ShardLog[],
    readonly namespaces: Namespaces,
    lastLsns: number[] = [],
    /** The command clock in ms (the keyspace's), so records need no clock reading of their own. */
    private readonly clock: () => number = Date.now,
    lastBatchId = 0,
  ) {
    this.lsns = shards.map((_, i) => lastLsns[i] ?? 0);
    for (const s of shards) s.onFailed = (e) => this.failure ??= e;
    this.nextBatchId = Math.max(Date.now() * 1000, lastBatchId + 1);
  }

  /** Every batch begun so far has a smaller id than this (a snapshot's batch horizon). */
  get batchHorizon(): number {
    return this.nextBatchId;
  }

  /**
   * The next log sequence number of a shard: a clock in microseconds since the epoch, strictly
   * increasing per shard (and across restarts, since recovery starts from the largest seen).
   */
  private nextLsn(shard: number): number {
    const lsn = Math.max(this.lsns[shard] + 1, this.clock() * 1000);
    this.lsns[shard] = lsn;
    return lsn;
  }

  /**
   * True when a value written now (a put) reaches its shard log at once: the log works and no
   * batch is being collected (inside one, records wait for its end).
   */
  get writesNow(): boolean {
    return this.depth === 0 && this.failure === null;
  }

  /** Starts collecting the effects of one command or transaction into one batch. */
  begin(): void {
    this.depth++;
  }

  /** Ends a {@link begin}; the outermost end writes what was collected. */
  end(): void {
    if (--this.depth > 0) return;
    this.depth = 0;
    const p = this.pending;
    if (p.length === 0) return;
    if (p.length === 1) {
      // The common case keeps its array: one allocation fewer per write command. (pop(), not
      // `length = 0`: setting an array's length is a call into V8's runtime, ~70 ns.)
      this.write(p.pop()!);
      return;
    }
    this.pending = [];
    this.writeBatch(p);
  }

  private emit(p: Pending): void {
    if (this.depth > 0) this.pending.push(p);
    else this.write(p);
  }

  private write(p: Pending): void {
    const log = this.shards[p.shard];
    const offset = log.append(
      p.type,
      p.db,
      p.expireAt,
      p.key,
      p.payload,
      p.lsn,
      p.sync,
      p.windowMs,
    );
    const e = p.entry;
    // The value's place in the log, unless the key changed again before this was written.
    if (e === undefined) return;
    if (entryLsn(e) === p.lsn) {
      setLocation(e, log.segment, offset + HEADER_SIZE + p.key.length);
      this.onValueWritten?.(e);
    } else if (e.locSegment === NO_SEGMENT) this.onValueUnplaced?.(e);
  }

  /** Per shard, the records of the batch being written (reused: a Map per batch showed). */
  private readonly byShard: Pending[][] = [];

  private writeBatch(items: Pending[]): void {
    const byShard = this.byShard;
    while (byShard.length < this.shards.length) byShard.push([]);
    let participants = 0;
    // A batch is applied whole or not at all, so it is as durable as its most durable record:
    // a sync write's acknowledgement waits for every shard's part, async namespaces' included
    // (recovery drops a batch with a part missing, the sync write with it).
    let sync = false;
    let windowMs = Infinity;
    for (const p of items) {
      const list = byShard[p.shard];
      if (list.length === 0) participants++;
      list.push(p);
      sync ||= p.sync;
      windowMs = Math.min(windowMs, p.windowMs);
    }
    try {
      const id = this.nextBatchId++;
      // Each part names every participant: recovery can tell which shard a missing part was in.
      // (A plain array written byte by byte: a Buffer costs a subclass constructor per batch.)
      // Cut from a slab: a buffer of its own costs ~700 ns in Deno (see transientBytes).
      const begin = transientBytes(10 + 2 * participants);
      putDouble(begin, 0, id);
      begin[8] = participants;
      begin[9] = participants >>> 8;
      let at = 10;
      for (let shard = 0; shard < byShard.length; shard++) {
        if (byShard[shard].length === 0) continue;
        begin[at++] = shard;
        begin[at++] = shard >>> 8;
      }
      const end = begin.subarray(0, 8); // the batch id, as BatchBegin starts with it
      for (let shard = 0; shard < byShard.length; shard++) {
        const list = byShard[shard];
        if (list.length === 0) continue;
        const log = this.shards[shard];
        log.append(RecordType.BatchBegin, 0, 0, "", begin, this.nextLsn(shard), false, windowMs);
        for (const p of list) this.write(p);
        log.append(RecordType.BatchEnd, 0, 0, "", end, this.nextLsn(shard), sync, windowMs);
      }
    } finally {
      // Emptied by pop(), which is inlined, not by `length = 0` (a runtime call each).
      for (const list of byShard) while (list.length > 0) list.pop();
    }
  }

  /** Emits a record about entry `e`, keeping the entry's log bookkeeping. */
  private keyed(
    type: number,
    db: number,
    e: Entry,
    payload: Payload,
    replaces: boolean,
  ): void {
    const key = e.key;
    const shard = e.shard;
    const ns = this.namespaces.resolve(key);
    const lsn = this.nextLsn(shard);
    const size = recordSize(key.length, payload ? payload.length : 0);
    const stats = this.shards[shard].stats;
    if (replaces) {
      stats.deadBytes += e.logBytes;
      e.logBytes = 0;
    }
    e.logBytes += size;
    setEntryLsn(e, lsn);
    if (type === RecordType.Delete) stats.deadBytes += e.logBytes;
    this.emit({
      shard,
      type,
      db,
      expireAt: type === RecordType.Delete ? 0 : e.expireAt,
      key,
      payload,
      lsn,
      sync: ns.sync,
      windowMs: ns.windowMs,
      entry: type === RecordType.PutString ? e : undefined,
    });
  }

  private everyShard(type: number, db: number, payload: Uint8Array | null): void {
    for (let s = 0; s < this.shards.length; s++) {
      const lsn = this.nextLsn(s);
      this.emit({
        shard: s,
        type,
        db,
        expireAt: 0,
        key: "",
        payload,
        lsn,
        sync: true,
        windowMs: 0,
      });
    }
  }

  put(db: number, e: Entry, v: Value = e.value): void {
    e.locSegment = NO_SEGMENT;
    if (v instanceof Uint8Array) {
      this.keyed(RecordType.PutString, db, e, v, true);
    } else {
      const d = v as DataValue;
      this.keyed(RecordType.PutValue, db, e, encodeValue(d.type, d.encode()), true);
    }
  }

  append(db: number, e: Entry, added: Uint8Array): void {
    if (added.length === 0) return; // nothing changed
    const value = e.value as Uint8Array;
    // A key's appends are replayed one by one at start-up: once its records would outweigh
    // twice its value, the whole value is written instead (and they become dead bytes), so the
    // log bytes and start-up work of an appended string stay in proportion to the string.
    const keyLen = e.key.length;
    const payload = new AppendPayload(entryLsn(e), added);
    if (e.logBytes + recordSize(keyLen, payload.length) > 2 * recordSize(keyLen, value.length)) {
      this.put(db, e);
      return;
    }
    // The value is whole in no one record any more: it cannot go cold until it is again.
    e.locSegment = NO_SEGMENT;
    this.keyed(RecordType.AppendString, db, e, payload, false);
  }

  delete(db: number, e: Entry, expired = false): void {
    // After a write failure only expiries still happen (writes answer MISCONF); they need no
    // record, and must not throw out of the read or the cron cycle that found them.
    if (expired && this.failure !== null) return;
    this.keyed(RecordType.Delete, db, e, null, true);
  }

  op(db: number, e: Entry, op: string, args: Uint8Array[]): void {
    const type = (e.value as DataValue).type;
    // Encoded when written, at the end of the command: `args` may be views into the request
    // buffer, which stays as it is until then.
    this.keyed(RecordType.Op, db, e, new EffectPayload(type, op, args), false);
  }

  expire(db: number, e: Entry): void {
    this.keyed(RecordType.Expire, db, e, null, false);
  }

  flush(db: number): void {
    this.onFlushOrSwap?.();
    for (const s of this.shards) s.stats.deadBytes = s.stats.bytes;
    this.everyShard(RecordType.FlushDb, db < 0 ? ALL_DBS : db, null);
  }
  swap(a: number, b: number): void {
    this.onFlushOrSwap?.();
    const payload = Buffer.alloc(4);
    payload.writeUInt16LE(a, 0);
    payload.writeUInt16LE(b, 2);
    this.everyShard(RecordType.SwapDb, 0, payload);
  }

  /**
   * Resolves when every sync write so far is on disk; null when nothing is pending. `since`: when
   * the caller's commands began (see ShardLog.barrier).
   */
  barrier(since?: number): Promise<void> | null {
    let waits: Promise<void>[] | null = null;
    for (const s of this.shards) {
      const b = s.barrier(since);
      if (b) (waits ??= []).push(b);
    }
    if (waits === null) return null;
    if (waits.length === 1) return waits[0];
    // The clients served in one event-loop turn wait for the same flush cycles: one combined
    // promise serves them all.
    const last = this.lastWaits;
    if (last.length !== waits.length || waits.some((w, i) => w !== last[i])) {
      this.lastWaits = waits;
      this.lastBarrier = Promise.all(waits).then(() => {});
    }
    return this.lastBarrier;
  }

  /** Why writing the log failed (the first shard's failure), or null while it works. */
  failure: Error | null = null;

  /** True when every record written so far is on disk (WAITAOF's local acknowledgement). */
  synced(): boolean {
    return this.shards.every((s) => s.synced);
  }

  /** Writes and fdatasyncs everything pending on every shard. */
  async flushAll(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.flush(true)));
  }

  /** Flushes and closes every shard log. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
