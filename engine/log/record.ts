/**
 * The on-disk record. Every shard log segment is a sequence of these:
 *
 * ```
 *  offset  size  field
 *  ------  ----  ---------------------------------------------------------------
 *       0     4  crc32      CRC-32 (IEEE) of bytes 4 .. end of the record
 *       4     1  type       RecordType, append-only numbering (see below)
 *       5     1  flags      bit 0 on a BatchBegin: the shard's part of the batch is wholly in
 *                           this segment (RecordFlags); other bits reserved, 0
 *       6     2  db         logical database (0xffff: every database)
 *       8     8  lsn        log sequence number: microseconds since the epoch when the record
 *                           was made, strictly increasing within a shard (float64)
 *      16     8  expireAt   absolute expiry in ms since the epoch, 0 = none (float64)
 *      24     4  keyLen     bytes of key
 *      28     4  valLen     bytes of payload
 *      32     …  key        the key's bytes (latin1 binary string)
 *       …     …  payload    depends on type
 * ```
 *
 * All integers are little-endian. A record is valid only when its whole length is present and
 * its CRC matches; recovery truncates a torn tail at the first invalid record.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { crc32 as zlibCrc32 } from "node:zlib";
import { putBytes, putUint32 } from "../bytes.ts";
import { effectSize, writeEffect } from "../values/codec.ts";

/** Bits of a record's flags byte. */
export const RecordFlags = {
  /**
   * On a BatchBegin: the shard's part of the batch (to its BatchEnd) is in the same segment. A
   * log that sets it never rotates inside a batch part, so an older segment that ends inside
   * one lost its end (recovery). Parts written before it was added may straddle a rotation.
   */
  WholeInSegment: 1,
} as const;

/** Bytes before the key. */
export const HEADER_SIZE = 32;

/**
 * Record types. The numbers are written to disk: never reuse or renumber them (a test guards
 * this list); add new types at the end.
 */
export const RecordType = {
  /** A string value: payload = the value's bytes. */
  PutString: 1,
  /** The key was deleted (a tombstone; never confused with an empty value). */
  Delete: 2,
  /** The key's expiry changed to `expireAt` (0 = persist). */
  Expire: 3,
  /** A whole collection: payload = parts [type name, snapshot]. */
  PutValue: 4,
  /** An element-level change to a collection: payload = parts [type name, op, args...]. */
  Op: 5,
  /** Every key of `db` (0xffff: of every db) removed. */
  FlushDb: 6,
  /** Databases swapped: payload = two uint16. */
  SwapDb: 7,
  /**
   * Start of an atomic batch: payload = batch id (float64), participant count (uint16), and the
   * participating shards (uint16 each; absent in logs written before they were added).
   */
  BatchBegin: 8,
  /** End of an atomic batch: payload = batch id (float64). */
  BatchEnd: 9,
  /**
   * First record of a snapshot, and again its last (in snapshots made since that was added, so
   * that one decayed copy loses nothing): payload = its batch horizon (float64): every batch
   * with a smaller id was wholly in the log before the snapshot's boundary, so its part in this
   * shard is part of the snapshot (recovery must not call the batch incomplete for lack of it).
   */
  SnapshotInfo: 10,
  /**
   * The key's string value grew (APPEND): payload = the key's log sequence number before it
   * (float64: that of its previous record), then the bytes appended. The value is no longer whole
   * in any one record; recovery joins it to what the key's earlier records left, when the last of
   * them is that record (else a record of the key was lost to corruption, and it keeps the value
   * it has).
   */
  AppendString: 11,
  /**
   * A batch that recovery dropped (a part of it never reached the disk): payload = batch id
   * (float64), then a byte: 1 when the note closes a batch its shard's log ended inside (it
   * follows that batch's records, as a BatchEnd would), else 0 (absent in notes written before
   * it was added). Written by recovery after the parts that did, so that later starts drop it too
   * (once the shard missing a part has a snapshot made after the batch, its horizon would
   * otherwise make the batch look whole).
   */
  BatchAbort: 12,
} as const;

/** The highest record type number (records of a higher type are not valid). */
const LAST_TYPE = RecordType.BatchAbort;

/** A record type number. */
export type RecordTypeCode = typeof RecordType[keyof typeof RecordType];

/** The database field value meaning "every database". */
export const ALL_DBS = 0xffff;

/**
 * Slicing-by-8 tables: CRC_TABLES[k * 256 + b] is the CRC of byte b followed by k zero bytes, so
 * eight bytes are folded in per step with eight independent lookups.
 */
const CRC_TABLES = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 8; k++) {
    const c = CRC_TABLES[(k - 1) * 256 + n];
    CRC_TABLES[k * 256 + n] = CRC_TABLES[c & 0xff] ^ (c >>> 8);
  }
}

/** CRC-32 (IEEE 802.3) of buf[from, to). */
export function crc32(buf: Uint8Array, from = 0, to = buf.length): number {
  // zlib's native CRC wins for long runs; the table loops win for the small records most are.
  if (to - from > 256) return zlibCrc32(buf.subarray(from, to)) >>> 0;
  const t = CRC_TABLES;
  let c = -1;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const lo = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + buf[i + 4]] ^ t[512 + buf[i + 5]] ^ t[256 + buf[i + 6]] ^ t[buf[i + 7]];
  }
  for (; i < to; i++) c = t[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** A decoded record; `key` is a latin1 binary string, `payload` a view into the read buffer. */
export interface LogRecord {
  type: number;
  db: number;
  /** Log sequence number (a µs clock, strictly increasing per shard). */
  lsn: number;
  expireAt: number;
  key: string;
  payload: Buffer;
  /** Offset of the record in its segment and its total size. */
  offset: number;
  size: number;
}

/**
 * An element-level effect as a record's payload, encoded (as `encodeEffect` would) only when it
 * is written into the log's buffer: no intermediate buffer per write command.
 */
export class EffectPayload {
  readonly length: number;
  constructor(
    readonly valueType: string,
    readonly op: string,
    /** Read when the record is written: the command's arguments, still valid then. */
    readonly args: readonly Uint8Array[],
  ) {
    this.length = effectSize(valueType, op, args);
  }
}

/** An AppendString record's payload, written when the record is. */
export class AppendPayload {
  readonly length: number;
  constructor(
    /** The key's log sequence number before the append. */
    readonly before: number,
    /** The bytes appended: the tail of the value, which never changes. */
    readonly bytes: Uint8Array,
  ) {
    this.length = 8 + bytes.length;
  }
}

/** What a record carries after its key. */
export type Payload = Uint8Array | EffectPayload | AppendPayload | null;

/** Size of a record with this key and payload. */
export function recordSize(keyLen: number, payloadLen: number): number {
  return HEADER_SIZE + keyLen + payloadLen;
}

/**
 * Writes a record into `out` at `pos` (which must have room for {@link recordSize} bytes);
 * returns the position after it.
 */
export function writeRecord(
  out: Buffer,
  pos: number,
  type: number,
  db: number,
  expireAt: number,
  key: string,
  payload: Payload,
  lsn: number,
  flags = 0,
): number {
  const keyLen = key.length;
  const valLen = payload ? payload.length : 0;
  // The header is written byte by byte: Buffer's write methods check their arguments in
  // JavaScript on every call, which cost more than the writes (one record per write command).
  out[pos + 4] = type;
  out[pos + 5] = flags;
  out[pos + 6] = db;
  out[pos + 7] = db >>> 8;
  putDouble(out, pos + 8, lsn);
  putDouble(out, pos + 16, expireAt);
  putUint32(out, pos + 24, keyLen);
  putUint32(out, pos + 28, valLen);
  let p = pos + HEADER_SIZE;
  if (keyLen < 32) {
    for (let i = 0; i < keyLen; i++) out[p + i] = key.charCodeAt(i);
  } else {
    out.write(key, p, keyLen, "latin1");
  }
  p += keyLen;
  if (payload instanceof Uint8Array) putBytes(out, p, payload);
  else if (payload instanceof EffectPayload) {
    writeEffect(out, p, payload.valueType, payload.op, payload.args);
  } else if (payload) {
    putDouble(out, p, payload.before);
    putBytes(out, p + 8, payload.bytes);
  }
  p += valLen;
  putUint32(out, pos, crc32(out, pos + 4, p));
  return p;
}

/** A float64's bytes in this machine's order, and whether that order is little-endian. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Writes a float64 little-endian, as every number in a record is. */
export function putDouble(out: Uint8Array, pos: number, v: number): void {
  F64[0] = v;
  const b = F64_BYTES;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) out[pos + i] = b[i];
  } else {
    for (let i = 0; i < 8; i++) out[pos + i] = b[7 - i];
  }
}

/**
 * Checks the record at `pos` without decoding it: its size when whole and valid, or -1 when it
 * is short, fails its CRC or has an unknown type.
 */
export function checkRecord(buf: Buffer, pos: number): number {
  if (buf.length - pos < HEADER_SIZE) return -1;
  const keyLen = buf.readUInt32LE(pos + 24);
  const valLen = buf.readUInt32LE(pos + 28);
  const end = pos + HEADER_SIZE + keyLen + valLen;
  if (end > buf.length) return -1;
  const type = buf[pos + 4];
  if (type < RecordType.PutString || type > LAST_TYPE) return -1;
  if (buf.readUInt32LE(pos) !== crc32(buf, pos + 4, end)) return -1;
  return end - pos;
}

/** Why a record could not be read. */
export type ReadFailure = "short" | "crc" | "type";

/**
 * Reads the record at `pos` in `buf`; returns it, or a failure when the bytes there are not a
 * whole valid record.
 */
export function readRecord(buf: Buffer, pos: number): LogRecord | ReadFailure {
  if (buf.length - pos < HEADER_SIZE) return "short";
  const keyLen = buf.readUInt32LE(pos + 24);
  const valLen = buf.readUInt32LE(pos + 28);
  const end = pos + HEADER_SIZE + keyLen + valLen;
  if (end > buf.length) return "short";
  if (buf.readUInt32LE(pos) !== crc32(buf, pos + 4, end)) return "crc";
  const type = buf[pos + 4];
  if (type < RecordType.PutString || type > LAST_TYPE) return "type";
  const keyStart = pos + HEADER_SIZE;
  return {
    type,
    db: buf.readUInt16LE(pos + 6),
    lsn: buf.readDoubleLE(pos + 8),
    expireAt: buf.readDoubleLE(pos + 16),
    key: buf.toString("latin1", keyStart, keyStart + keyLen),
    payload: buf.subarray(keyStart + keyLen, end),
    offset: pos,
    size: end - pos,
  };
}
