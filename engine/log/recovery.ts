/**
 * Recovery: rebuilds the keyspace from the shard logs at start.
 *
 * Per shard, the newest snapshot `NNNNN.snap` (written by compaction) is loaded first, then
 * every segment `NNNNN.log` with a larger id, in order. In the newest segment the first invalid
 * record (a short record or a bad CRC, left by a crash in the middle of a write) ends the data:
 * the rest is truncated and kept beside the file, with a log line saying which file, where and
 * how many bytes. A bad record in the middle of an older segment is reported, and reading resumes
 * at the next valid record; damage there is a batch boundary (a batch it broke is dropped).
 *
 * Batches (the records of one command or transaction) are applied whole or not at all: a first
 * pass over every shard finds which batch parts are complete (and the batch a shard's log ends
 * inside), the second applies the records. A batch dropped (a part missing in another shard, or
 * never ended) is noted in each shard holding a part of it (BatchAbort), so that every later
 * start drops it too, and the next run's records are not read as part of an unfinished one.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { entryLsn, type Keyspace, NO_SEGMENT, setEntryLsn, setLocation } from "../keyspace.ts";
import { PartsReader } from "../values/codec.ts";
import { appendBytes, copyRange, latin1Range } from "../bytes.ts";
import { ColdReader } from "./cold.ts";
import { valueDecoder } from "../values/types.ts";
import type { Logger } from "../../server/log.ts";
import {
  ALL_DBS,
  checkRecord,
  HEADER_SIZE,
  putDouble,
  RecordFlags,
  recordSize,
  RecordType,
  writeRecord,
} from "./record.ts";
import { syncDir, writeAll } from "./files.ts";
import { segmentName } from "./shard_log.ts";

/** The value of an entry loaded cold (its bytes stay in the log until read). */
const COLD = new Uint8Array(0);

/** A segment or snapshot file found in a shard directory. */
export interface LogFile {
  id: number;
  path: string;
  snapshot: boolean;
  size: number;
  /** Valid byte ranges, found by the first recovery pass. */
  ranges?: [number, number][];
  /** Bytes of damage the first pass skipped in it. */
  skipped?: number;
  /** Damage or a cut ends it: nothing valid follows its last range (records after it resume after a gap). */
  damagedTail?: boolean;
}

/** What recovery found in one shard. */
export interface ShardRecovery {
  /** Files still part of the log after recovery (snapshot first), in order. */
  files: LogFile[];
  records: number;
  bytes: number;
  truncatedBytes: number;
  corruptBytes: number;
  droppedBatches: number;
  /**
   * Element effects and appends that did not apply: on a key a compaction snapshot no longer
   * holds (deleted after the snapshot began; its Delete record follows), or appends to a string
   * whose earlier record was lost to corruption (the string keeps its last whole state).
   */
  skippedEffects: number;
  /** APPEND records applied (strings they grew are in no one record of the log). */
  appends: number;
  /** The largest batch id seen (in batch records and snapshot horizons). */
  lastBatchId: number;
  /** The largest log sequence number seen. */
  lastLsn: number;
}

/** Lists a shard directory's log files: the newest snapshot and the segments after it. */
export async function listLogFiles(dir: string): Promise<LogFile[]> {
  const all: LogFile[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = /^(\d+)\.(log|snap)$/.exec(e.name);
    if (!m || !e.isFile) continue;
    const path = `${dir}/${e.name}`;
    all.push({
      id: Number(m[1]),
      path,
      snapshot: m[2] === "snap",
      size: (await Deno.stat(path)).size,
    });
  }
  const snaps = all.filter((f) => f.snapshot).sort((a, b) => a.id - b.id);
  const base = snaps.at(-1);
  const segments = all.filter((f) => !f.snapshot && (!base || f.id > base.id)).sort((a, b) =>
    a.id - b.id
  );
  return base ? [base, ...segments] : segments;
}

/** The valid stretches of a file: [start, end) byte ranges of whole, checked records. */
type Ranges = [number, number][];

/**
 * Checks every record of a file's bytes, calling `visit` for each valid one and `damage` where
 * damage begins in an older file (reading resumes after it, if anything valid follows). Returns
 * the valid ranges, the offset after the last valid record and the bytes skipped over corrupt
 * records in the middle.
 */
function survey1(
  buf: Buffer,
  visit: (pos: number, size: number) => void,
  damage: (pos: number) => void,
  newest = false,
  /** Where the data ends: only zeros follow (see {@link dataEnd}). */
  limit = buf.length,
): { ranges: Ranges; end: number; skipped: number } {
  const ranges: Ranges = [];
  let pos = 0;
  let skipped = 0;
  let start = 0;
  while (pos < buf.length) {
    const size = checkRecord(buf, pos);
    if (size > 0) {
      visit(pos, size);
      pos += size;
      continue;
    }
    if (pos > start) ranges.push([start, pos]);
    if (pos >= limit) {
      // Nothing but zeros from here. In the newest file, space preallocated for writes
      // (zero_fill.ts). An older segment's is cut off durably before the next segment begins
      // (ShardLog.open): there, zeros are records that decayed or never reached the disk.
      if (!newest) damage(pos);
      return { ranges, end: pos, skipped };
    }
    // In the newest file the first invalid record ends the data, whatever follows it. Writes
    // there were not all fdatasynced, and after a crash or power loss the pages written since the
    // last fdatasync may be on disk in any order (one that never got there reads as zeros or as
    // what was there before): the records after it were never acknowledged, and applying them
    // without the ones it held would apply half a batch, or an element effect without its
    // predecessors. (A record-shaped run inside a torn value is not read as one either.) The
    // bytes cut are kept beside the file.
    if (newest) return { ranges, end: pos, skipped };
    // In an older segment (synced before the next began) damage is decay: reading resumes at
    // the next valid record; if there is none, the rest is unreadable.
    damage(pos);
    let next = -1;
    for (let q = pos + 1; q + HEADER_SIZE <= buf.length && q < limit; q++) {
      if (checkRecord(buf, q) > 0) {
        next = q;
        break;
      }
    }
    if (next < 0) return { ranges, end: pos, skipped };
    skipped += next - pos;
    pos = start = next;
  }
  if (pos > start) ranges.push([start, pos]);
  return { ranges, end: pos, skipped };
}

/**
 * One record of a file being replayed, decoded in place: one object is reused for every record
 * (recovery reads millions), so whoever keeps one must {@link copyView} it.
 */
interface RecordView {
  buf: Buffer;
  view: DataView;
  type: number;
  db: number;
  lsn: number;
  expireAt: number;
  key: string;
  /** Payload bytes: buf[payloadStart, end). */
  payloadStart: number;
  end: number;
  offset: number;
  /** The key is known not to be in the keyspace (replay need not look it up). */
  absent: boolean;
}

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

function decodeAt(r: RecordView, pos: number): void {
  const buf = r.buf, view = r.view;
  const keyLen = view.getUint32(pos + 24, true);
  const valLen = view.getUint32(pos + 28, true);
  const keyStart = pos + HEADER_SIZE;
  r.type = buf[pos + 4];
  r.db = view.getUint16(pos + 6, true);
  r.lsn = view.getFloat64(pos + 8, true);
  r.expireAt = view.getFloat64(pos + 16, true);
  r.key = (buf as Latin1Buffer).latin1Slice(keyStart, keyStart + keyLen);
  r.payloadStart = keyStart + keyLen;
  r.end = r.payloadStart + valLen;
  r.offset = pos;
}

function copyView(r: RecordView): RecordView {
  return { ...r };
}

/** The type and op names of element effects, which every such record repeats. */
const names: string[] = [];

/** `buf[start, end)` as a binary string: one of {@link names}, made once. */
function nameAt(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  for (let k = 0; k < names.length; k++) {
    const s = names[k];
    if (s.length !== n) continue;
    let i = 0;
    while (i < n && s.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return s;
  }
  const s = latin1Range(buf, start, end);
  // Plugin types bring names of their own; a few dozen cover the built-in types.
  if (names.length < 64) names.push(s);
  return s;
}

/**
 * A collection record's payload, read in place: its value type's name (the first of at least
 * `parts` parts) and a reader at that part.
 */
function typedPayload(r: RecordView, parts: number): [PartsReader, string] {
  const p = new PartsReader(r.buf, r.payloadStart, r.end);
  if (p.count < parts) throw new RangeError("truncated record");
  p.next();
  return [p, nameAt(r.buf, p.start, p.end)];
}

/** Where the record at `pos` ends (its header's key and payload lengths), without decoding it. */
function recordEnd(view: DataView, pos: number): number {
  return pos + recordSize(view.getUint32(pos + 24, true), view.getUint32(pos + 28, true));
}

/** Whether a record of this type replaces its key's whole state (and so every earlier record). */
function replacesKey(type: number): boolean {
  return type === RecordType.PutString || type === RecordType.PutValue ||
    type === RecordType.Delete;
}

/** Whether a record of this type is about one key. */
function isKeyRecord(type: number): boolean {
  return (type >= RecordType.PutString && type <= RecordType.Op) ||
    type === RecordType.AppendString;
}

/** How many records of each database in these ranges are about one key. */
function keyRecordsPerDb(view: DataView, ranges: Ranges): number[] {
  const counts: number[] = [];
  for (const [from, to] of ranges) {
    for (let pos = from; pos < to; pos = recordEnd(view, pos)) {
      if (!isKeyRecord(view.getUint8(pos + 4))) continue;
      const db = view.getUint16(pos + 6, true);
      counts[db] = (counts[db] ?? 0) + 1;
    }
  }
  return counts;
}

/** Marks of {@link findSuperseded}, per record offset / 32. */
const KEPT = 0, SUPERSEDED = 1, FIRST = 2;

/**
 * Finds the records of one segment that replaying does not need: the records of a key that come
 * before a later record replacing the key's whole state (PutString, PutValue, Delete) with a
 * larger lsn, when that record is applied (outside a batch or in a whole one). Replaying them and
 * then the replacing record leaves the state the replacing record alone leaves: each record only
 * touches its own key, a record applies only when newer than the key's state, and a flush in
 * between removes only keys older than itself. A SwapDb moves keys between databases, so records
 * before it are never superseded by records after it. Returns marks indexed by record offset
 * / 32 (a record is at least 32 bytes), so replay skips them before decoding their key, and the
 * number of {@link FIRST} records per database.
 *
 * `openBatch` (the id of the batch open at the start of the file, or -1) and `batchWhole` are the
 * batch state at the start of the file (a batch may straddle a segment rotation); records of a
 * batch that does not end in this file supersede nothing.
 *
 * A record that is kept and has no kept record of its key before it in the file (and no SwapDb
 * before it) is marked {@link FIRST}: when the file is replayed into empty tables, its key is
 * known to be absent, and replay adds it without looking it up.
 */
function findSuperseded(
  buf: Buffer,
  ranges: Ranges,
  gaps: boolean[],
  parts: BatchParts,
  openBatch: number,
  batchWhole: boolean,
): { marks: Uint8Array; firsts: number[] } {
  const skip = new Uint8Array((buf.length >>> 5) + 1);
  const firsts: number[] = [];
  let records = 0;
  for (const [from, to] of ranges) records += (to - from) >>> 5;
  // Open addressing over (db, key) → offset of the key's latest record; per record, the offset
  // of the key's record before it (-1: none), so a replacing record walks back its key's chain.
  let capacity = 16;
  while (capacity < records * 2) capacity *= 2;
  const mask = capacity - 1;
  const table = new Int32Array(capacity).fill(-1);
  // Each slot's key hash, so a probe touches the file buffer only when the hashes agree.
  const hashes = new Int32Array(capacity);
  const prev = new Int32Array(skip.length);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

  const slotOf = (pos: number): number => {
    const keyLen = view.getUint32(pos + 24, true);
    const db = view.getUint16(pos + 6, true);
    const keyStart = pos + HEADER_SIZE;
    let h = 0x811c9dc5 ^ db;
    for (let i = keyStart; i < keyStart + keyLen; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    for (let slot = (h ^ (h >>> 15)) & mask;; slot = (slot + 1) & mask) {
      const other = table[slot];
      if (other < 0) {
        hashes[slot] = h;
        return slot;
      }
      if (
        hashes[slot] !== h || view.getUint32(other + 24, true) !== keyLen ||
        view.getUint16(other + 6, true) !== db
      ) {
        continue;
      }
      const otherStart = other + HEADER_SIZE;
      let i = 0;
      while (i < keyLen && buf[otherStart + i] === buf[keyStart + i]) i++;
      if (i === keyLen) return slot;
    }
  };

  let swapped = false;
  const visit = (pos: number): void => {
    const type = buf[pos + 4];
    if (type === RecordType.SwapDb) {
      table.fill(-1);
      swapped = true;
      return;
    }
    if (!isKeyRecord(type)) return;
    const slot = slotOf(pos);
    let before = table[slot];
    table[slot] = pos;
    if (replacesKey(type)) {
      const lsn = view.getFloat64(pos + 8, true);
      while (
        before >= 0 && skip[before >>> 5] !== SUPERSEDED && view.getFloat64(before + 8, true) < lsn
      ) {
        skip[before >>> 5] = SUPERSEDED;
        before = prev[before >>> 5];
      }
      // Records not skipped stay reachable: a later replacing record may still supersede them.
    }
    prev[pos >>> 5] = before;
    // After a SwapDb a key may arrive from another database without a record of its own here.
    if (before < 0 && !swapped) {
      skip[pos >>> 5] = FIRST;
      const db = view.getUint16(pos + 6, true);
      firsts[db] = (firsts[db] ?? 0) + 1;
    }
  };

  let batch: number[] | null = openBatch === -1 ? null : [];
  let batchId = openBatch;
  for (let k = 0; k < ranges.length; k++) {
    const [from, to] = ranges[k];
    if (gaps[k]) batch = null;
    for (let pos = from; pos < to; pos = recordEnd(view, pos)) {
      const type = buf[pos + 4];
      if (type === RecordType.BatchBegin) {
        batchId = view.getFloat64(pos + HEADER_SIZE, true);
        batchWhole = parts.whole(batchId, view.getUint16(pos + HEADER_SIZE + 8, true));
        batch = [];
      } else if (type === RecordType.BatchAbort) {
        if (batch && view.getFloat64(pos + HEADER_SIZE, true) === batchId) batch = null;
      } else if (type === RecordType.BatchEnd) {
        if (batch && batchWhole) { for (const p of batch) visit(p); }
        batch = null;
      } else if (batch) batch.push(pos);
      else visit(pos);
    }
  }
  return { marks: skip, firsts };
}

/**
 * What the first pass learns of batches: the shards holding a complete part of each, the
 * participants each names (when its records name them), each shard's snapshot horizon, the
 * batch each shard's log ends inside (never ended), and the shards that noted a batch dropped.
 */
class BatchParts {
  private readonly found = new Map<number, number[]>();
  private readonly members = new Map<number, number[]>();
  private readonly counts = new Map<number, number>();
  /** Batch id → the shards whose log notes it dropped (a BatchAbort record). */
  private readonly aborted = new Map<number, number[]>();
  /** Shard → the batch its log ends inside. */
  private readonly open = new Map<number, number>();
  /** Batch id → the shards where damage took part of its part. */
  private readonly damaged = new Map<number, number[]>();
  readonly horizons: number[] = [];

  /**
   * A complete part of batch `id` (of `count` participants) in `shard`, which names these
   * participants (or null).
   */
  add(id: number, shard: number, count: number, participants: number[] | null): void {
    pushTo(this.found, id, shard);
    this.counts.set(id, count);
    if (participants && !this.members.has(id)) this.members.set(id, participants);
  }

  /** `shard`'s log notes batch `id` dropped by an earlier start (a BatchAbort record). */
  abort(id: number, shard: number): void {
    pushTo(this.aborted, id, shard);
  }

  /** `shard`'s log ends inside batch `id`: the server stopped while writing it. */
  unfinished(id: number, shard: number): void {
    this.open.set(shard, id);
  }

  /** The batch `shard`'s log ends inside, or -1. */
  unfinishedIn(shard: number): number {
    return this.open.get(shard) ?? -1;
  }

  /** Damage in `shard`'s log took part of its part of batch `id` (its begin, end or a record). */
  damage(id: number, shard: number): void {
    pushTo(this.damaged, id, shard);
  }

  /**
   * True when every part of batch `id` (of `count` participants) is in the log: found whole, or
   * in a shard whose snapshot was made after the batch (its part is in the snapshot), and no
   * earlier start dropped it.
   */
  whole(id: number, count: number): boolean {
    if (this.aborted.has(id) || this.damaged.has(id)) return false;
    const found = this.found.get(id) ?? [];
    if (found.length === count) return true;
    const members = this.members.get(id);
    if (members === undefined) return false;
    return members.every((m) => found.includes(m) || (this.horizons[m] ?? -Infinity) > id);
  }

  /**
   * Per shard, the batches it holds a part of (whole, unfinished or damaged) that are not whole and that
   * its own log does not note dropped yet. Each shard needs its own note: another shard's note
   * goes when that shard is compacted, and the shard missing a part may be compacted too (its
   * horizon then passes the batch).
   */
  newlyDropped(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const note = (id: number, shard: number) => {
      if (!this.aborted.get(id)?.includes(shard) && !out.get(shard)?.includes(id)) {
        pushTo(out, shard, id);
      }
    };
    for (const [id, shards] of this.found) {
      if (this.whole(id, this.counts.get(id)!)) continue;
      for (const s of shards) note(id, s);
    }
    for (const [shard, id] of this.open) note(id, shard);
    for (const [id, shards] of this.damaged) for (const s of shards) note(id, s);
    return out;
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The participants a BatchBegin at `pos` names, or null (records written before they were). */
function participantsAt(buf: Buffer, pos: number): number[] | null {
  const start = pos + HEADER_SIZE + buf.readUInt32LE(pos + 24);
  const count = buf.readUInt16LE(start + 8);
  const end = start + buf.readUInt32LE(pos + 28);
  if (end - start < 10 + 2 * count) return null;
  return Array.from({ length: count }, (_, i) => buf.readUInt16LE(start + 10 + 2 * i));
}

/** Whether the BatchAbort at `pos` closes a batch its shard's log ended inside (follows its records). */
function closesBatch(buf: Buffer, pos: number): boolean {
  return buf.readUInt32LE(pos + 28) > 8 &&
    buf[pos + HEADER_SIZE + buf.readUInt32LE(pos + 24) + 8] === 1;
}

/** `ranges` without the bytes [from, to). */
function cut(ranges: Ranges, from: number, to: number): Ranges {
  const out: Ranges = [];
  for (const [start, end] of ranges) {
    if (start < from) out.push([start, Math.min(end, from)]);
    if (end > to) out.push([Math.max(start, to), end]);
  }
  return out;
}

/**
 * For each range of file `i`, whether reading it resumes after bytes skipped (damage, or records
 * cut after it): a batch open before them is not whole, and ends there.
 */
function gapsBefore(files: LogFile[], i: number): boolean[] {
  const ranges = files[i].ranges ?? [];
  // Damage that ended an earlier file counts across files with nothing valid in them (a segment
  // lost whole, empty or zeros): a batch open before them must not run on into this one.
  let j = i - 1;
  while (j >= 0 && files[j].damagedTail !== true && (files[j].ranges?.length ?? 0) === 0) j--;
  const damagedBefore = j >= 0 && files[j].damagedTail === true;
  return ranges.map(([start], k) => k > 0 || start > 0 || damagedBefore);
}

/** Where the record at `pos` would end by its length fields (the end of `buf` if it has none). */
function claimedEnd(buf: Buffer, pos: number): number {
  if (buf.length - pos < HEADER_SIZE) return buf.length;
  return pos + HEADER_SIZE + buf.readUInt32LE(pos + 24) + buf.readUInt32LE(pos + 28);
}

const ZEROS = new Uint8Array(64 * 1024);
/**
 * The position after the last byte of `buf` that is not zero. A segment's tail of zeros is
 * space preallocated for writes (zero_fill.ts) that a crash left in the file; it may be tens of
 * MB, so it is compared a block at a time by native code.
 */
export function dataEnd(buf: Buffer): number {
  let end = buf.length;
  while (end > 0) {
    const n = Math.min(ZEROS.length, end);
    if (!buf.subarray(end - n, end).equals(ZEROS.subarray(0, n))) break;
    end -= n;
  }
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

async function readFile(path: string): Promise<Buffer> {
  const bytes = await Deno.readFile(path);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Keeps `bytes`, cut from `path` at `offset`, beside it (`<path>.torn-<offset>`, with a suffix
 * if an earlier start already cut there), durably (file and name: the cut that follows is
 * synced too, and must not outlive the copy), and returns the name.
 */
async function keepAside(path: string, offset: number, bytes: Uint8Array): Promise<string> {
  for (let n = 0;; n++) {
    const kept = `${path}.torn-${offset}${n === 0 ? "" : `.${n}`}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(kept, { write: true, createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue;
      throw e;
    }
    try {
      await writeAll(file, bytes);
      await file.syncData();
    } finally {
      file.close();
    }
    await syncDir(path.slice(0, path.lastIndexOf("/")) || "/");
    return kept;
  }
}

/**
 * First pass over a shard: truncates a torn tail, collects complete batch parts, and finds the
 * batch the log ends inside, if any.
 */
async function survey(
  shard: number,
  files: LogFile[],
  parts: BatchParts,
  log: Logger,
  report: ShardRecovery,
): Promise<void> {
  let open = -1;
  let openCount = 0;
  let members: number[] | null = null;
  // Where the open batch began: file index and offset.
  let openFile = -1;
  let openPos = 0;
  // The open batch's part was written to stay in one segment (RecordFlags.WholeInSegment).
  let openWhole = false;
  // Damage with no batch open may have taken a BatchBegin: the records after it, up to the next
  // batch record, are then the rest of that batch's part. A BatchEnd says they are (and which
  // batch), a BatchBegin that they are not. Where they begin (file index and offset, once seen):
  let afterDamage = false;
  let strayFile = -1;
  let strayPos = 0;
  // The batch the last damage was inside (its records after the damage are cut too), or -1.
  let brokenId = -1;
  // Records cut from the ranges: [from file, from offset, to file, to offset).
  const cuts: [number, number, number, number][] = [];
  const where = (file: number, pos: number) => `${files[file].path} offset ${pos}`;
  // The end of a batch whose beginning damage took (its BatchEnd, or the note that closed it):
  // its records since the damage are cut, and the batch is dropped whole.
  const cutLostBeginning = (id: number, file: number, pos: number, size: number) => {
    parts.damage(id, shard);
    cuts.push([strayFile, strayPos, file, pos + size]);
    afterDamage = false;
    if (id === brokenId) return;
    log.warning(
      "recovery",
      `shard ${shard}: the batch ending at ${where(file, pos)} lost its beginning to damage: ` +
        `dropped, with its records from ${where(strayFile, strayPos)}`,
    );
  };
  const damage = (file: number, pos: number) => {
    if (open !== -1) {
      // Part of the open batch's part is gone: it is dropped whole, and ends here.
      parts.damage(open, shard);
      log.warning(
        "recovery",
        `shard ${shard}: the batch begun at ${where(openFile, openPos)} has damage inside it (at ${
          where(file, pos)
        }): dropped`,
      );
    }
    brokenId = open;
    open = -1;
    afterDamage = true;
    strayFile = -1;
  };
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const buf = await readFile(f.path);
    const limit = f.snapshot ? buf.length : dataEnd(buf);
    const newest = i === files.length - 1 && !f.snapshot;
    const result = survey1(
      buf,
      (pos, size) => {
        const type = buf[pos + 4];
        if (afterDamage && strayFile === -1) {
          strayFile = i;
          strayPos = pos;
        }
        if (type === RecordType.BatchBegin) {
          open = buf.readDoubleLE(pos + HEADER_SIZE);
          openCount = buf.readUInt16LE(pos + HEADER_SIZE + 8);
          members = participantsAt(buf, pos);
          openFile = i;
          openPos = pos;
          openWhole = (buf[pos + 5] & RecordFlags.WholeInSegment) !== 0;
          afterDamage = false;
          if (open > report.lastBatchId) report.lastBatchId = open;
        } else if (type === RecordType.BatchEnd) {
          const id = buf.readDoubleLE(pos + HEADER_SIZE);
          if (id > report.lastBatchId) report.lastBatchId = id;
          if (open === id) {
            parts.add(open, shard, openCount, members);
            open = -1;
          } else if (open === -1 && afterDamage) {
            cutLostBeginning(id, i, pos, size);
          }
        } else if (type === RecordType.BatchAbort) {
          const id = buf.readDoubleLE(pos + HEADER_SIZE);
          parts.abort(id, shard);
          // A note may outlive its batch's records (in a segment a compaction left): new batch
          // ids must not meet it.
          if (id > report.lastBatchId) report.lastBatchId = id;
          // The note of a batch that never ended closes it (see below), as its BatchEnd would
          // have, also when damage took the batch's beginning since.
          if (id === open) open = -1;
          else if (open === -1 && afterDamage && closesBatch(buf, pos)) {
            cutLostBeginning(id, i, pos, size);
          }
        } else if (type === RecordType.SnapshotInfo && f.snapshot) {
          const horizon = buf.readDoubleLE(pos + HEADER_SIZE + buf.readUInt32LE(pos + 24));
          parts.horizons[shard] = horizon;
          if (horizon > report.lastBatchId) report.lastBatchId = horizon;
        }
      },
      (pos) => damage(i, pos),
      newest,
      limit,
    );
    f.ranges = result.ranges;
    f.skipped = result.skipped;
    if (open !== -1 && openWhole && !newest && !f.snapshot && result.end === buf.length) {
      // An older segment ends inside a batch part written never to straddle a rotation: the
      // part's end (and any records after it) did not survive, though no bytes look damaged
      // (a file system that lost the file's tail).
      log.warning(
        "recovery",
        `shard ${shard}: ${f.path}: ends inside the batch begun at offset ${openPos} (not the newest file): its end was lost`,
      );
      damage(i, buf.length);
      f.damagedTail = true;
    }
    if (result.skipped > 0) {
      report.corruptBytes += result.skipped;
      log.warning(
        "recovery",
        `shard ${shard}: ${f.path}: skipped ${result.skipped} corrupt bytes; later records kept`,
      );
    }
    const zeros = result.end >= limit;
    if (result.end < buf.length && zeros && newest) {
      // Zeros only: the file's preallocated space, left by a crash (a clean stop trims it).
      log.notice(
        "recovery",
        `shard ${shard}: ${f.path}: trimmed ${
          buf.length - result.end
        } bytes of preallocated space after offset ${result.end}`,
      );
      await Deno.truncate(f.path, result.end);
      f.size = result.end;
    } else if (result.end < buf.length) {
      // Counted and kept up to the end of the data or of the record that failed, whichever is
      // later (its last bytes may be zeros): not with the preallocated zeros after them.
      // (A length field that is garbage claims megabytes of the zeros: not those.)
      const claimed = claimedEnd(buf, result.end);
      const end = zeros
        ? buf.length
        : claimed - limit > 1024 * 1024
        ? limit
        : Math.min(buf.length, Math.max(limit, claimed));
      const dropped = end - result.end;
      if (newest) {
        report.truncatedBytes += dropped;
        // The bytes cut are kept beside the segment: a tail is told from damage by the record
        // format alone (a damaged length field reads as a record cut short), so nothing that
        // might be data is destroyed.
        const kept = await keepAside(f.path, result.end, buf.subarray(result.end, end));
        log.warning(
          "recovery",
          `shard ${shard}: ${f.path}: torn tail at offset ${result.end}, truncated ${dropped} bytes (kept in ${kept})`,
        );
        await Deno.truncate(f.path, result.end);
        f.size = result.end;
      } else {
        report.corruptBytes += dropped;
        f.damagedTail = true;
        log.warning(
          "recovery",
          `shard ${shard}: ${f.path}: ${dropped} ${
            zeros ? "bytes of zeros where records should be" : "unreadable bytes"
          } at offset ${result.end} (not the newest file; kept as is)`,
        );
      }
    }
  }
  for (const [fromFile, from, toFile, to] of cuts) {
    for (let i = fromFile; i <= toFile; i++) {
      const f = files[i];
      const end = f.ranges!.at(-1)?.[1];
      f.ranges = cut(f.ranges!, i === fromFile ? from : 0, i === toFile ? to : Infinity);
      // Records cut at the end of a file: the next one resumes after a gap, as after damage.
      if (f.ranges.at(-1)?.[1] !== end) f.damagedTail = true;
    }
  }
  // A batch the log ends inside was being written when the server stopped (or its end decayed):
  // it is dropped, and noted dropped after replay (a BatchAbort record after it, which closes it),
  // so that the next run's records are not read as part of it. (Noting, not cutting it off: one
  // fdatasynced append, where a cut of a batch straddling segments is several truncations that
  // a crash can interrupt half done.)
  if (open !== -1) {
    parts.unfinished(open, shard);
    log.warning(
      "recovery",
      `shard ${shard}: ${
        files[openFile].path
      }: the batch begun at offset ${openPos} never ended (the server stopped while writing it): dropped`,
    );
  }
}

/**
 * Makes durable what a shard's log holds after the first pass, before the next run appends to
 * it: a crashed run may have left its newest segment's last writes (or its name) unsynced, and
 * the survey's truncation too. Records the next run acknowledges must not build on bytes a power
 * loss can still take (when the next run writes to a new segment, nothing else syncs them).
 */
async function syncNewest(dir: string, files: LogFile[]): Promise<void> {
  const last = files.at(-1);
  if (last && !last.snapshot) {
    const file = await Deno.open(last.path, { write: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
  }
  await syncDir(dir);
}

/** Removes what a compaction interrupted by a stop left: its unfinished snapshot. */
async function removeLeftovers(dir: string, log: Logger): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !/^\d+\.snap\.tmp$/.test(e.name)) continue;
    await Deno.remove(`${dir}/${e.name}`);
    log.notice("recovery", `${dir}/${e.name}: removed (a compaction the server stopped in)`);
  }
}

/**
 * Applies one record of shard `shard`, read from file `fileId` (negative: a snapshot), to the
 * keyspace, and keeps each entry's log bookkeeping (lsn, value location, live log bytes). A
 * record no newer than the entry's state (a snapshot already holds it) is skipped. Payload bytes
 * are copied before being kept.
 */
function apply(
  ks: Keyspace,
  shard: number,
  fileId: number,
  r: RecordView,
  keepHot: (length: number) => boolean,
  report: ShardRecovery,
  cold: ColdReader,
): void {
  if (r.db !== ALL_DBS && r.db >= ks.dbs.length && r.type !== RecordType.SwapDb) {
    throw new Error(`record for database ${r.db}, but only ${ks.dbs.length} are configured`);
  }
  const size = r.end - r.offset;
  if (r.type === RecordType.FlushDb) {
    // Clears this shard's part only: every shard logs its own flush record.
    const tables = ks.shards[shard].tables;
    for (let d = 0; d < tables.length; d++) {
      if (r.db !== ALL_DBS && d !== r.db) continue;
      for (const e of tables[d].entries()) if (entryLsn(e) < r.lsn) ks.dbs[d].delete(e.key);
    }
    return;
  }
  if (r.type === RecordType.SwapDb) {
    const tables = ks.shards[shard].tables;
    const a = r.view.getUint16(r.payloadStart, true),
      b = r.view.getUint16(r.payloadStart + 2, true);
    [tables[a], tables[b]] = [tables[b], tables[a]];
    return;
  }
  const db = ks.dbs[r.db];
  const key = r.key;
  // A raw lookup: expiry is judged from the records themselves.
  let e = r.absent ? undefined : ks.shards[shard].tables[r.db].get(key);
  // A record is superseded by a state at least as new. Only a Delete applies over a state with
  // its own sequence number: such a state was written by a snapshot after the delete.
  if (e !== undefined && entryLsn(e) >= r.lsn) {
    if (!(r.type === RecordType.Delete && entryLsn(e) === r.lsn)) return;
  }
  switch (r.type) {
    case RecordType.PutString: {
      const length = r.end - r.payloadStart;
      const hot = keepHot(length);
      const value = hot ? copyRange(r.buf, r.payloadStart, r.end) : COLD;
      e = e === undefined
        ? db.restore(shard, key, value, r.expireAt)
        : db.set(key, value, r.expireAt);
      setLocation(e, fileId, r.payloadStart);
      if (!hot) e.makeCold(length);
      e.logBytes = size;
      break;
    }
    case RecordType.PutValue: {
      const [p, name] = typedPayload(r, 2);
      const decode = valueDecoder(name);
      if (!decode) throw new Error(`unknown value type '${name}'`);
      p.next();
      // A copy: a decoder (a plugin's too) may keep views of it, and the file buffer goes.
      const value = decode(new Uint8Array(r.buf.subarray(p.start, p.end)));
      e = e === undefined
        ? db.restore(shard, key, value, r.expireAt)
        : db.set(key, value, r.expireAt);
      e.logBytes = size;
      break;
    }
    case RecordType.Op: {
      // Read in place: millions of these are replayed at start-up.
      const [p, name] = typedPayload(r, 2);
      p.next();
      const op = nameAt(r.buf, p.start, p.end);
      const args: Uint8Array[] = [];
      while (p.next()) args.push(copyRange(r.buf, p.start, p.end));
      const created = e === undefined;
      if (e === undefined) {
        const decode = valueDecoder(name);
        if (!decode) throw new Error(`unknown value type '${name}'`);
        e = db.restore(shard, key, decode(null), 0);
      }
      // An effect that cannot apply is one on a key a compaction snapshot dropped (deleted
      // after the snapshot began; the Delete follows): it is skipped and counted, not fatal.
      if (e.value instanceof Uint8Array || e.value.type !== name) {
        report.skippedEffects++;
        return;
      }
      // An effect may leave a collection empty for a moment (an encoding change logged before
      // the first member): commands delete empty keys with a Delete record of their own, so
      // emptiness is settled when the whole log has been read.
      // The memory estimate follows the collection, as the command's own sizeDelta did.
      const value = e.value;
      const before = value.memoryUsage();
      try {
        value.apply(op, args);
      } catch {
        report.skippedEffects++;
        if (created) db.delete(key);
        return;
      } finally {
        ks.usedBytes += value.memoryUsage() - before;
      }
      e.logBytes += size;
      break;
    }
    case RecordType.AppendString: {
      // Follows the string it grows; anything else is a key a compaction snapshot dropped
      // (deleted after the snapshot began; the Delete follows), as for an Op.
      if (e === undefined || !(e.cold || e.value instanceof Uint8Array)) {
        report.skippedEffects++;
        return;
      }
      // It grew the state the key's record of this sequence number left: any other means a
      // record of the key was lost to corruption (recovery keeps the records after a damaged
      // stretch), and joining would make a value that never existed. The key keeps its last
      // whole state instead.
      if (r.end - r.payloadStart < 8 || entryLsn(e) !== r.view.getFloat64(r.payloadStart, true)) {
        report.skippedEffects++;
        return;
      }
      // The value is whole in no one record now, so it stays hot whatever its size.
      const cur = e.cold ? cold.read(e) : e.value as Uint8Array;
      const added = new Uint8Array(
        r.buf.buffer,
        r.buf.byteOffset + r.payloadStart + 8,
        r.end - r.payloadStart - 8,
      );
      db.replace(e, appendBytes(cur, added), "raw");
      e.locSegment = NO_SEGMENT;
      e.logBytes += size;
      report.appends++;
      break;
    }
    case RecordType.Delete:
      if (e) db.delete(key);
      return;
    case RecordType.Expire:
      if (e === undefined) return;
      db.setExpire(e, r.expireAt);
      e.logBytes += size;
      break;
    default:
      return;
  }
  setEntryLsn(e, r.lsn);
}

/**
 * Appends a BatchAbort record for each of `ids` to the shard's newest segment (after the parts it
 * holds of them), durably, with sequence numbers after `report.lastLsn` (which it advances), and
 * returns the file's path. Done after replay, which finds the shard's last sequence number.
 */
async function noteDropped(
  dir: string,
  files: LogFile[],
  ids: number[],
  report: ShardRecovery,
  /** The batch the shard's log ended inside, whose records the note follows, or -1. */
  closes: number,
): Promise<string> {
  let last = files.at(-1)!;
  if (last.snapshot) {
    const id = last.id + 1;
    last = { id, path: `${dir}/${segmentName(id)}`, snapshot: false, size: 0, ranges: [] };
    files.push(last);
  }
  const bytes = Buffer.alloc(ids.length * recordSize(0, 9));
  const payload = new Uint8Array(9);
  let pos = 0;
  let lsn = Math.max(report.lastLsn, Date.now() * 1000);
  for (const id of ids) {
    putDouble(payload, 0, id);
    payload[8] = id === closes ? 1 : 0;
    pos = writeRecord(bytes, pos, RecordType.BatchAbort, 0, 0, "", payload, ++lsn);
  }
  const file = await Deno.open(last.path, { write: true, create: true });
  try {
    await file.seek(last.size, Deno.SeekMode.Start);
    await writeAll(file, bytes);
    await file.syncData();
  } finally {
    file.close();
  }
  if (last.size === 0) await syncDir(dir);
  const ranges = last.ranges ??= [];
  const tail = ranges.at(-1);
  if (tail && tail[1] === last.size) tail[1] += bytes.length;
  else ranges.push([last.size, last.size + bytes.length]);
  last.size += bytes.length;
  report.bytes += bytes.length;
  report.lastLsn = lsn;
  return last.path;
}

/**
 * Recovers every shard into `ks` (whose effect log must not record while this runs). `progress`
 * is called now and then with (shard, records so far, fraction of the shard's bytes read).
 */
export async function recover(
  ks: Keyspace,
  shardDirs: string[],
  log: Logger,
  progress: (shard: number, records: number, fraction: number) => void = () => {},
  keepHot: (length: number) => boolean = () => true,
): Promise<ShardRecovery[]> {
  const reports: ShardRecovery[] = [];
  const fileLists: LogFile[][] = [];
  const parts = new BatchParts();
  for (let s = 0; s < shardDirs.length; s++) {
    const report: ShardRecovery = {
      files: [],
      records: 0,
      bytes: 0,
      truncatedBytes: 0,
      corruptBytes: 0,
      droppedBatches: 0,
      skippedEffects: 0,
      appends: 0,
      lastBatchId: 0,
      lastLsn: 0,
    };
    await removeLeftovers(shardDirs[s], log);
    const files = await listLogFiles(shardDirs[s]);
    await survey(s, files, parts, log, report);
    await syncNewest(shardDirs[s], files);
    report.files = files;
    reports.push(report);
    fileLists.push(files);
  }
  const now = Date.now();
  ks.now = now;
  // Reads the values an APPEND record grows that were loaded cold.
  const cold = new ColdReader(shardDirs, (key) => ks.shardOf(key));
  try {
    for (let s = 0; s < shardDirs.length; s++) {
      const report = reports[s];
      const total = fileLists[s].reduce((n, f) => n + f.size, 0) || 1;
      let done = 0;
      let lastReport = performance.now();
      // Batch state carries across files: a batch may straddle a segment rotation.
      // Each record with the file it was read from (its value's location).
      let batch: [number, RecordView][] | null = null;
      let batchId = -1;
      let batchWhole = false;
      for (let i = 0; i < fileLists[s].length; i++) {
        const f = fileLists[s][i];
        const buf = await readFile(f.path);
        const fileId = f.snapshot ? -f.id : f.id;
        const r: RecordView = {
          buf,
          view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
          type: 0,
          db: 0,
          lsn: 0,
          expireAt: 0,
          key: "",
          payloadStart: 0,
          end: 0,
          offset: 0,
          absent: false,
        };
        const ranges = f.ranges ?? [];
        const gaps = gapsBefore(fileLists[s], i);
        const found = f.snapshot
          ? null
          : findSuperseded(buf, ranges, gaps, parts, batch === null ? -1 : batchId, batchWhole);
        const marks = found?.marks ?? null;
        // Replayed into empty tables, a key's first kept record finds nothing to look up (unless a
        // batch begun in the previous file, not seen by the pre-pass, still adds keys), and the
        // tables can be sized for those keys at once (for a snapshot, one record per key).
        const tables = ks.shards[s].tables;
        const empty = batch === null && tables.every((t) => t.size === 0);
        if (empty) {
          const keys = found?.firsts ?? keyRecordsPerDb(r.view, ranges);
          keys.forEach((n, db) => tables[db]?.reserve(n));
        }
        for (let k = 0; k < ranges.length; k++) {
          const [from, to] = ranges[k];
          // A batch open before damage was dropped by the first pass.
          if (gaps[k]) batch = null;
          for (let pos = from; pos < to; pos = r.end) {
            report.records++;
            const mark = marks === null ? KEPT : marks[pos >>> 5];
            if (mark === SUPERSEDED) {
              const lsn = r.view.getFloat64(pos + 8, true);
              if (lsn > report.lastLsn) report.lastLsn = lsn;
              r.end = recordEnd(r.view, pos);
              continue;
            }
            decodeAt(r, pos);
            r.absent = empty && mark === FIRST;
            if (r.lsn > report.lastLsn) report.lastLsn = r.lsn;
            if (r.type === RecordType.BatchBegin) {
              batchId = r.view.getFloat64(r.payloadStart, true);
              batchWhole = parts.whole(batchId, r.view.getUint16(r.payloadStart + 8, true));
              batch = [];
              continue;
            }
            if (r.type === RecordType.BatchEnd) {
              // One not whole was counted when the first pass found it so.
              if (batch && batchWhole) {
                for (const [file, b] of batch) apply(ks, s, file, b, keepHot, report, cold);
              }
              batch = null;
              continue;
            }
            if (r.type === RecordType.BatchAbort) {
              // The note of a batch that never ended, written by an earlier start, closes it.
              if (batch && r.view.getFloat64(r.payloadStart, true) === batchId) batch = null;
              continue;
            }
            if (batch) {
              batch.push([fileId, copyView(r)]);
              continue;
            }
            apply(ks, s, fileId, r, keepHot, report, cold);
            if ((report.records & 0xffff) === 0 && performance.now() - lastReport > 1000) {
              lastReport = performance.now();
              progress(s, report.records, (done + pos) / total);
            }
          }
        }
        done += f.size;
        report.bytes += f.size;
      }
      if (report.skippedEffects > 0) {
        log.warning(
          "recovery",
          `shard ${s}: skipped ${report.skippedEffects} effect(s) that did not apply (on keys a snapshot no longer holds, or appends to a string whose earlier record was lost to corruption)`,
        );
      }
      progress(s, report.records, 1);
    }
  } finally {
    cold.forget();
  }
  // Replay skipped these already (they are not whole); the notes make later starts skip them too.
  for (const [s, ids] of parts.newlyDropped()) {
    const file = await noteDropped(
      shardDirs[s],
      fileLists[s],
      ids,
      reports[s],
      parts.unfinishedIn(s),
    );
    reports[s].droppedBatches += ids.length;
    log.warning(
      "recovery",
      `shard ${s}: dropped ${ids.length} incomplete batch(es) (never ended, damaged, or a part missing in another shard); noted in ${file}, so that later starts drop them too and the next run's records are not read as part of them`,
    );
  }
  // Expiry is judged once, now that the log has been read: a record's deadline may have been
  // lifted or moved by a later record (PERSIST, EXPIRE, SET KEEPTTL …), and a key that expired
  // while the server ran has its Delete in the log. Collections a crash left empty (their Delete
  // record never reached the disk) are gone too.
  for (const shard of ks.shards) {
    for (let d = 0; d < shard.tables.length; d++) {
      const gone: string[] = [];
      for (const e of shard.tables[d].values()) {
        if (
          (e.expireAt !== 0 && e.expireAt <= now) ||
          (!(e.value instanceof Uint8Array) && !e.cold && e.value.isEmpty())
        ) gone.push(e.key);
      }
      for (const key of gone) ks.dbs[d].delete(key);
    }
  }
  return reports;
}
