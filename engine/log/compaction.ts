/**
 * Compaction (merge): rewrites a shard's live state as one snapshot file and drops the segments
 * it replaces, so the log stays bounded.
 *
 * 1. The shard's log rotates: everything written from now on goes to segments after `S`.
 * 2. The shard's keys are visited a few hundred at a time with a SCAN cursor (commands run
 *    between the steps), and each key is written to `S.snap.tmp` as one record (a string put,
 *    or a whole collection snapshot) carrying the key's log sequence number. A walk over a
 *    resizing table may meet a key twice: recovery keeps the newer record, or the first of two
 *    at the same sequence number.
 * 3. The file is fdatasynced and renamed to `S.snap`; entries whose value moved are pointed at
 *    it, in steps like the walk; then segments up to `S` are deleted.
 *
 * Keys that change while the snapshot is being written need no locking: recovery loads the
 * newest snapshot, then replays the segments after `S`, skipping any record whose sequence
 * number is not newer than the key's state in the snapshot. A crash at any point leaves a
 * loadable directory: before the rename the old segments are complete; after it the snapshot
 * is.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Entry, entryLsn, type Keyspace, NO_SEGMENT, setLocation } from "../keyspace.ts";
import type { DataValue } from "../values/types.ts";
import { encodeValue } from "../values/codec.ts";
import type { Logger } from "../../server/log.ts";
import { HEADER_SIZE, recordSize, RecordType, writeRecord } from "./record.ts";
import type { ShardLog } from "./shard_log.ts";
import { syncDir, writeAll } from "./files.ts";
import { listLogFiles } from "./recovery.ts";

/** Snapshot file name for the segment id it covers. */
export function snapshotName(id: number): string {
  return `${String(id).padStart(5, "0")}.snap`;
}

const STEP = 256;

/** A collection that can be encoded in steps. */
type Stepwise = DataValue & Required<Pick<DataValue, "encodeSteps">>;

/**
 * Lets the event loop run once `SLICE_MS` of compaction work has passed since the last time.
 * With a timer: Deno runs `setImmediate` callbacks without polling sockets in between, so a
 * chain of them kept clients waiting as long as the whole chain.
 */
const SLICE_MS = 4;
function pacer(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < SLICE_MS) return;
    await new Promise((r) => setTimeout(r, 0));
    since = performance.now();
  };
}

/** Compacts shard logs, one run per shard at a time. */
export class Compactor {
  private readonly running = new Map<number, Promise<void>>();
  /** Runs to stop at their next step, with the reason. */
  private aborted = new Map<number, string>();
  /** Set when the engine closes: runs stop, and leave the files as they are. */
  private closed = false;

  constructor(
    private readonly ks: Keyspace,
    private readonly shards: ShardLog[],
    private readonly log: Logger,
    /** Reads a cold value's bytes (the engine's cold reader). */
    private readonly readCold: (e: Entry) => Uint8Array,
    /** The effect log's batch horizon (every batch begun so far has a smaller id). */
    private readonly batchHorizon: () => number = () => 0,
    /** Told the path of each file compaction removes (read handles of it must close). */
    private readonly onRemoved: (path: string) => void = () => {},
  ) {}

  /** True while shard `s` is being compacted. */
  isRunning(s: number): boolean {
    return this.running.has(s);
  }

  /** Stops runs in progress (FLUSHDB and SWAPDB make their snapshots meaningless). */
  abortAll(reason = "aborted by FLUSHDB/FLUSHALL/SWAPDB"): void {
    for (const s of this.running.keys()) this.aborted.set(s, reason);
  }

  /**
   * Stops every run and resolves once they have stopped (the engine is closing, and the data
   * directory may belong to another process next). A run past its rename leaves the segments it
   * replaces: recovery reads only segments after the newest snapshot, and the next run removes
   * them.
   */
  async stopAll(): Promise<void> {
    this.closed = true;
    this.abortAll("the server is shutting down");
    await Promise.allSettled(this.running.values());
  }

  /** Compacts shard `s`; resolves when done (joins a run already in progress). */
  compact(s: number): Promise<void> {
    const existing = this.running.get(s);
    if (existing) return existing;
    const run = this.run(s).finally(() => {
      this.running.delete(s);
      this.aborted.delete(s);
      this.shards[s].stats.merging = false;
    });
    this.running.set(s, run);
    return run;
  }

  private async run(s: number): Promise<void> {
    const shardLog = this.shards[s];
    const stats = shardLog.stats;
    stats.merging = true;
    const started = performance.now();
    await shardLog.flush(true);
    const boundary = shardLog.rotate();
    // Taken with the rotation: every batch begun before it has its part here in the segments
    // the snapshot replaces.
    const horizon = Buffer.alloc(8);
    horizon.writeDoubleLE(this.batchHorizon(), 0);
    const deadAtStart = stats.deadBytes;
    const tmp = `${shardLog.dir}/${snapshotName(boundary)}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    const info = Buffer.alloc(recordSize(0, 8));
    writeRecord(info, 0, RecordType.SnapshotInfo, 0, 0, "", horizon, 0);
    await writeAll(file, info);
    let offset = info.length;
    let records = 0;
    // Entry, lsn and value location (segment, offset) as written, and the value's new offset.
    const moved: [Entry, number, number, number, number][] = [];
    const pace = pacer();
    try {
      const tables = this.ks.shards[s].tables;
      for (let db = 0; db < tables.length; db++) {
        const table = tables[db];
        let batch: Entry[] = [];
        /** A record to write: entry, type, payload, and the lsn and expiry it was taken at. */
        type Item = [Entry, number, Uint8Array, number, number];
        const itemOf = (e: Entry): Item => {
          if (e.cold || e.value instanceof Uint8Array) {
            const bytes = e.cold ? this.readCold(e) : e.value as Uint8Array;
            return [e, RecordType.PutString, bytes, entryLsn(e), e.expireAt];
          }
          const payload = encodeValue(e.value.type, e.value.encode());
          return [e, RecordType.PutValue, payload, entryLsn(e), e.expireAt];
        };
        /** The entry's collection when it can be encoded in steps, else null. */
        const stepwise = (e: Entry): Stepwise | null =>
          e.cold || e.value instanceof Uint8Array || !e.value.encodeSteps
            ? null
            : e.value as Stepwise;
        const write = async (items: Item[]) => {
          let size = 0;
          for (const [e, , payload] of items) size += recordSize(e.key.length, payload.length);
          const buf = Buffer.allocUnsafe(size);
          let pos = 0;
          for (const [e, type, payload, lsn, expireAt] of items) {
            if (type === RecordType.PutString) {
              const at = offset + pos + HEADER_SIZE + e.key.length;
              moved.push([e, lsn, e.locSegment, e.locOffset, at]);
            }
            pos = writeRecord(buf, pos, type, db, expireAt, e.key, payload, lsn);
            records++;
          }
          await writeAll(file, buf);
          offset += buf.length;
        };
        const checkAborted = () => {
          const aborted = this.aborted.get(s);
          if (aborted !== undefined) throw new Error(aborted);
        };
        /**
         * Finishes a collection's stepwise encoding begun on value `v` at sequence number `lsn`
         * (and expiry `expireAt`), letting commands run between steps. A write to the key in
         * between moves its lsn: the encoding then starts over from a copy of the collection
         * (element references, taken in one go), which later writes do not change. Null when
         * the key is gone (its Delete is after the boundary).
         */
        const finish = async (
          e: Entry,
          v: DataValue,
          lsn: number,
          expireAt: number,
          steps: Generator<void, Uint8Array>,
        ): Promise<Item | null> => {
          for (;;) {
            await pace();
            checkAborted();
            if (table.get(e.key) !== e || e.value !== v || entryLsn(e) !== lsn) break;
            const r = steps.next();
            if (r.done) {
              return [e, RecordType.PutValue, encodeValue(v.type, r.value), lsn, expireAt];
            }
          }
          if (table.get(e.key) !== e) return null;
          const now = stepwise(e);
          if (now === null) return itemOf(e);
          // The copy is taken by the first step, at this lsn and expiry.
          const copy = now.encodeSteps(true);
          const copiedLsn = entryLsn(e), copiedExpireAt = e.expireAt;
          for (let r = copy.next();; r = copy.next()) {
            if (r.done) {
              const payload = encodeValue(now.type, r.value);
              return [e, RecordType.PutValue, payload, copiedLsn, copiedExpireAt];
            }
            await pace();
            checkAborted();
          }
        };
        // Writes the entries the last scan step collected: encoded in the same synchronous run as
        // the step, so each is still in the table, except big collections, whose encoding goes
        // on in steps afterwards. Keys past their expiry are written too: left out by this
        // clock, a key that commands (on their own cached clock) still saw alive for a moment
        // would be lost with its later writes (recovery drops expired keys anyway).
        const flushBatch = async () => {
          const items: Item[] = [];
          const big: [Entry, DataValue, number, number, Generator<void, Uint8Array>][] = [];
          const began = performance.now();
          for (const e of batch) {
            const v = stepwise(e);
            if (v === null) {
              items.push(itemOf(e));
              continue;
            }
            // Small collections finish within their first step; once the step has taken its
            // time slice, the rest wait for their turn in steps too.
            const steps = v.encodeSteps();
            if (performance.now() - began < SLICE_MS) {
              const r = steps.next();
              if (r.done) {
                const payload = encodeValue(v.type, r.value);
                items.push([e, RecordType.PutValue, payload, entryLsn(e), e.expireAt]);
                continue;
              }
            }
            big.push([e, v, entryLsn(e), e.expireAt, steps]);
          }
          batch = [];
          await write(items);
          for (const [e, v, lsn, expireAt, steps] of big) {
            const item = await finish(e, v, lsn, expireAt, steps);
            if (item) await write([item]);
          }
          await pace();
          checkAborted();
        };
        // A SCAN-style walk: it returns every key present for the whole walk while keys come
        // and go between steps (and the table resizes); keys added meanwhile are in the
        // segments after the boundary. A key seen twice (a walk over a resize can) is written
        // twice, and recovery applies the newer record or, at the same lsn, the first.
        let cursor = 0;
        do {
          cursor = table.scan(cursor, STEP, batch);
          if (batch.length) await flushBatch();
        } while (cursor !== 0 && tables[db] === table); // tables[db] changes on flush or swap
      }
      // The horizon again at the end: recovery takes either, so one decayed record does not
      // make every batch this snapshot holds look incomplete (dropped in the other shards).
      await writeAll(file, info);
      await file.syncData();
      // The snapshot holds the state the walk saw, which may include the effects of batches
      // whose other parts are async records of other shards not yet fdatasync'ed: those go to
      // disk first, or a power loss could leave such a batch half applied (here but not there).
      await Promise.all(this.shards.map((other) => other.flush(true)));
    } catch (e) {
      file.close();
      await Deno.remove(tmp).catch(() => {});
      throw new Error(`shard ${s}: compaction stopped: ${(e as Error).message}`);
    }
    file.close();
    await Deno.rename(tmp, `${shardLog.dir}/${snapshotName(boundary)}`);
    // The snapshot's name must be durable before the segments it replaces are removed.
    await syncDir(shardLog.dir);
    // Values now live in the snapshot: point entries whose value did not change at it before
    // the old files go (a TTL change since leaves the value where the snapshot has it too).
    // In steps, like the walk: the old files stay until every entry is re-pointed.
    for (let i = 0; i < moved.length; i++) {
      const [e, lsn, segment, at, valueOffset] = moved[i];
      // A value with no place in the log when taken (its put pending, or grown by APPEND)
      // is the snapshot's only while nothing has been logged for the key since.
      const same = segment === NO_SEGMENT ? entryLsn(e) === lsn : e.locOffset === at;
      if (e.locSegment === segment && same) {
        setLocation(e, -boundary, valueOffset);
        if (entryLsn(e) === lsn) e.logBytes = recordSize(e.key.length, e.strLen);
      }
      if (i % STEP === STEP - 1) {
        await pace();
        if (this.closed) return;
      }
    }
    let removed = 0;
    for await (const f of Deno.readDir(shardLog.dir)) {
      if (this.closed) return;
      const m = /^(\d+)\.(log|snap)$/.exec(f.name);
      if (!m) continue;
      const id = Number(m[1]);
      if ((m[2] === "log" && id <= boundary) || (m[2] === "snap" && id < boundary)) {
        await Deno.remove(`${shardLog.dir}/${f.name}`);
        this.onRemoved(`${shardLog.dir}/${f.name}`);
        removed++;
      }
    }
    shardLog.release(boundary);
    const files = await listLogFiles(shardLog.dir);
    stats.files = files.length;
    // The open segment's file may be longer than its data (zero-filled space).
    stats.bytes = files.reduce(
      (n, f) => n + (f.snapshot ? f.size : shardLog.dataBytes(f.id, f.size)),
      0,
    );
    stats.baseBytes = stats.bytes;
    stats.deadBytes = Math.max(0, stats.deadBytes - deadAtStart);
    stats.lastMerge = Date.now();
    this.log.notice(
      "compaction",
      `shard ${s}: wrote ${records} keys (${offset} bytes) to ${snapshotName(boundary)}, ` +
        `removed ${removed} files, in ${Math.round(performance.now() - started)} ms`,
    );
  }
}
