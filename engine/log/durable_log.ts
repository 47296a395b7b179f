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
import type { DataValue, Value } from "../values/types.ts";
import { encodeParts } from "../values/codec.ts";
import type { Namespaces } from "./namespaces.ts";
import { ALL_DBS, RecordType } from "./record.ts";
import type { RecordLocation, ShardLog } from "./shard_log.ts";

interface Pending {
  shard: number;
  type: number;
  db: number;
  expireAt: number;
  key: string;
  payload: Uint8Array | null;
  sync: boolean;
  windowMs: number;
  onWritten?: (loc: RecordLocation) => void;
}

const latin1 = (s: string) => Buffer.from(s, "latin1");

/** Writes effects to shard logs. */
export class DurableLog implements EffectLog {
  private depth = 0;
  private pending: Pending[] = [];
  private nextBatchId = Date.now() * 1000;
  /** Called with the location of every string put (hot/cold bookkeeping). */
  onPut: ((db: number, key: string, loc: RecordLocation) => void) | null = null;

  constructor(
    readonly shards: ShardLog[],
    readonly namespaces: Namespaces,
    private readonly shardOf: (key: string) => number,
  ) {}

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
    this.pending = [];
    if (p.length === 1) {
      this.write(p[0]);
      return;
    }
    this.writeBatch(p);
  }

  private emit(p: Pending): void {
    if (this.depth > 0) this.pending.push(p);
    else this.write(p);
  }

  private write(p: Pending): void {
    const loc = this.shards[p.shard].append(
      p.type,
      p.db,
      p.expireAt,
      p.key,
      p.payload,
      p.sync,
      p.windowMs,
    );
    p.onWritten?.(loc);
  }

  private writeBatch(items: Pending[]): void {
    const byShard = new Map<number, Pending[]>();
    for (const p of items) {
      const list = byShard.get(p.shard);
      if (list) list.push(p);
      else byShard.set(p.shard, [p]);
    }
    const id = this.nextBatchId++;
    const begin = Buffer.alloc(10);
    begin.writeDoubleLE(id, 0);
    begin.writeUInt16LE(byShard.size, 8);
    const end = begin.subarray(0, 8);
    for (const [shard, list] of byShard) {
      let sync = false;
      let windowMs = Infinity;
      for (const p of list) {
        sync ||= p.sync;
        windowMs = Math.min(windowMs, p.windowMs);
      }
      const log = this.shards[shard];
      log.append(RecordType.BatchBegin, 0, 0, "", begin, false, windowMs);
      for (const p of list) this.write(p);
      log.append(RecordType.BatchEnd, 0, 0, "", end, sync, windowMs);
    }
  }

  private keyed(
    type: number,
    db: number,
    key: string,
    expireAt: number,
    payload: Uint8Array | null,
    onWritten?: (loc: RecordLocation) => void,
  ): void {
    const ns = this.namespaces.resolve(key);
    this.emit({
      shard: this.shardOf(key),
      type,
      db,
      expireAt,
      key,
      payload,
      sync: ns.sync,
      windowMs: ns.windowMs,
      onWritten,
    });
  }

  private everyShard(type: number, db: number, payload: Uint8Array | null): void {
    for (let s = 0; s < this.shards.length; s++) {
      this.emit({ shard: s, type, db, expireAt: 0, key: "", payload, sync: true, windowMs: 0 });
    }
  }

  put(db: number, key: string, value: Value, expireAt: number): void {
    if (value instanceof Uint8Array) {
      const onPut = this.onPut;
      this.keyed(
        RecordType.PutString,
        db,
        key,
        expireAt,
        value,
        onPut ? (loc) => onPut(db, key, loc) : undefined,
      );
    } else {
      const v = value as DataValue;
      this.keyed(RecordType.PutValue, db, key, expireAt, encodeParts([latin1(v.type), v.encode()]));
    }
  }

  delete(db: number, key: string): void {
    this.keyed(RecordType.Delete, db, key, 0, null);
  }

  op(db: number, key: string, type: string, op: string, args: Uint8Array[]): void {
    this.keyed(RecordType.Op, db, key, 0, encodeParts([latin1(type), latin1(op), ...args]));
  }

  expire(db: number, key: string, expireAt: number): void {
    this.keyed(RecordType.Expire, db, key, expireAt, null);
  }

  flush(db: number): void {
    this.everyShard(RecordType.FlushDb, db < 0 ? ALL_DBS : db, null);
  }

  swap(a: number, b: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16LE(a, 0);
    payload.writeUInt16LE(b, 2);
    this.everyShard(RecordType.SwapDb, 0, payload);
  }

  /** Resolves when every sync write so far is on disk; null when nothing is pending. */
  barrier(): Promise<void> | null {
    let waits: Promise<void>[] | null = null;
    for (const s of this.shards) {
      const b = s.barrier();
      if (b) (waits ??= []).push(b);
    }
    if (waits === null) return null;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
  }

  /** Writes and fdatasyncs everything pending on every shard. */
  async flushAll(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.flush()));
  }

  /** Flushes and closes every shard log. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
