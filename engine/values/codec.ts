/**
 * The snapshot codec collections share: a list of byte strings, each prefixed with its length
 * as a 32-bit little-endian integer, after a 32-bit count. Effects' arguments and collection
 * snapshots use it.
 *
 * Small results are cut from shared slabs of their own ({@link Slabs}): most are soon let go, and
 * a slab lives while any result cut from it does. Lengths are written byte by byte, without a
 * `DataView`.
 *
 * @module
 */
import { putBytes, putUint32, Slabs } from "../bytes.ts";

const results = new Slabs();

/** A zeroed buffer of `size` bytes, cut from the current slab when small. */
function allocate(size: number): Uint8Array {
  return results.take(size);
}

function readUint32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function writeParts(out: Uint8Array, off: number, parts: readonly (Uint8Array | string)[]): void {
  for (let i = 0; i < parts.length; i++) off = writePart(out, off, parts[i]);
}

/** Writes one part (its length, then its bytes) at `off`; returns the offset after it. */
function writePart(out: Uint8Array, off: number, p: Uint8Array | string): number {
  if (typeof p === "string") return writeText(out, off, p);
  putUint32(out, off, p.length);
  putBytes(out, off + 4, p);
  return off + 4 + p.length;
}

function writeText(out: Uint8Array, off: number, s: string): number {
  const n = s.length;
  putUint32(out, off, n);
  off += 4;
  for (let j = 0; j < n; j++) out[off + j] = s.charCodeAt(j);
  return off + n;
}

/**
 * Packs byte strings into one buffer. A part may be given as a latin1 string (a collection's
 * member): its bytes are written in place, without a buffer of its own (a Buffer per member made
 * snapshots of big hashes and sets take seconds).
 */
export function encodeParts(parts: readonly (Uint8Array | string)[]): Uint8Array {
  let size = 4;
  for (let i = 0; i < parts.length; i++) size += 4 + parts[i].length;
  const out = allocate(size);
  putUint32(out, 0, parts.length);
  writeParts(out, 4, parts);
  return out;
}

/** Parts {@link encodePartsInSteps} writes between two yields (fewer when they are large). */
export const PARTS_PER_STEP = 16384;
/** Bytes a step writes before it yields (at least one part, whatever its size). */
export const BYTES_PER_STEP = 1 << 20;

/** A snapshot's parts as a count and an accessor (no array of them is built). */
export interface PartsView {
  count: number;
  partAt(i: number): Uint8Array | string;
}

/** {@link encodeParts} of a {@link PartsView}, in one go. */
export function encodeView(v: PartsView): Uint8Array {
  const out = allocate(4 + sizeOf(v, 0, v.count));
  putUint32(out, 0, v.count);
  writeView(out, { off: 4, next: 0 }, v, v.count, Infinity);
  return out;
}

/** Bytes parts `from` to `to` of `v` take. */
function sizeOf(v: PartsView, from: number, to: number): number {
  let size = 0;
  for (let i = from; i < to; i++) size += 4 + v.partAt(i).length;
  return size;
}

/** Writes parts of `v` from `at.next` on, up to `parts` of them or about `bytes`; moves `at`. */
function writeView(
  out: Uint8Array,
  at: { off: number; next: number },
  v: PartsView,
  parts: number,
  bytes: number,
): void {
  let off = at.off, i = at.next;
  const end = Math.min(v.count, i + parts), limit = off + bytes;
  for (; i < end && off < limit; i++) off = writePart(out, off, v.partAt(i));
  at.off = off;
  at.next = i;
}

/**
 * {@link encodeView} in steps: it yields after every {@link PARTS_PER_STEP} parts or megabyte
 * (the size pass included) and returns the same bytes. Whoever resumes it must have kept the
 * parts from changing in between (compaction checks that the key's log sequence number did not
 * move), unless the view is a copy.
 */
export function* encodePartsInSteps(v: PartsView): Generator<void, Uint8Array> {
  let size = 4;
  for (let from = 0; from < v.count; from += PARTS_PER_STEP) {
    if (from > 0) yield;
    size += sizeOf(v, from, Math.min(v.count, from + PARTS_PER_STEP));
  }
  const out = allocate(size);
  putUint32(out, 0, v.count);
  const at = { off: 4, next: 0 };
  for (;;) {
    writeView(out, at, v, PARTS_PER_STEP, BYTES_PER_STEP);
    if (at.next === v.count) return out;
    yield;
  }
}

/**
 * The payload of an element-level effect: the same bytes as
 * `encodeParts([latin1(type), latin1(op), ...args])` (type and op are short latin1 names),
 * without building the intermediate strings' buffers or the spread array.
 *
 * @example
 * ```ts
 * import { decodeParts, encodeEffect } from "./codec.ts";
 * const parts = decodeParts(encodeEffect("list", "rpush", [new Uint8Array([120])]));
 * console.assert(parts.length === 3 && parts[2][0] === 120);
 * ```
 */
export function encodeEffect(type: string, op: string, args: readonly Uint8Array[]): Uint8Array {
  const out = allocate(effectSize(type, op, args));
  writeEffect(out, 0, type, op, args);
  return out;
}

/** Bytes {@link encodeEffect} makes of an effect. */
export function effectSize(type: string, op: string, args: readonly Uint8Array[]): number {
  let size = 12 + type.length + op.length;
  for (let i = 0; i < args.length; i++) size += 4 + args[i].length;
  return size;
}

/**
 * Writes {@link encodeEffect}'s bytes at `off` of `out` (which has room for
 * {@link effectSize} bytes): the log writes effects straight into its record buffer.
 */
export function writeEffect(
  out: Uint8Array,
  off: number,
  type: string,
  op: string,
  args: readonly Uint8Array[],
): void {
  putUint32(out, off, args.length + 2);
  off = writeText(out, off + 4, type);
  off = writeText(out, off, op);
  writeParts(out, off, args);
}

/**
 * The payload of a whole collection (a PutValue record, a compaction snapshot record): the same
 * bytes as `encodeParts([latin1(type), snapshot])`.
 */
export function encodeValue(type: string, snapshot: Uint8Array): Uint8Array {
  const out = allocate(12 + type.length + snapshot.length);
  putUint32(out, 0, 2);
  writeParts(out, writeText(out, 4, type), [snapshot]);
  return out;
}

/** Unpacks what {@link encodeParts} packed; throws on a truncated buffer. */
export function decodeParts(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < 4) throw new RangeError("truncated snapshot");
  const n = readUint32(bytes, 0);
  const out: Uint8Array[] = new Array(n);
  let off = 4;
  for (let i = 0; i < n; i++) {
    if (off + 4 > bytes.length) throw new RangeError("truncated snapshot");
    const len = readUint32(bytes, off);
    if (off + 4 + len > bytes.length) throw new RangeError("truncated snapshot");
    // A view by constructor: subarray() of a Buffer builds a Buffer (a species lookup and a
    // subclass constructor), which was a fifth of replaying element effects at start-up.
    out[i] = new Uint8Array(bytes.buffer, bytes.byteOffset + off + 4, len);
    off += 4 + len;
  }
  return out;
}

/**
 * Reads what {@link encodeParts} packed one part at a time, as a range of the packed bytes:
 * decoding a snapshot of a million members through {@link decodeParts} made a million views,
 * all alive until the end for the garbage collector to copy.
 *
 * @example
 * ```ts
 * import { encodeParts, PartsReader } from "./codec.ts";
 * const r = new PartsReader(encodeParts([new Uint8Array([1, 2]), new Uint8Array([3])]));
 * const lengths: number[] = [];
 * while (r.next()) lengths.push(r.end - r.start);
 * console.assert(r.count === 2 && lengths.join() === "2,1");
 * ```
 */
export class PartsReader {
  /** How many parts there are. */
  readonly count: number;
  /** The current part: bytes[start, end). */
  start = 0;
  end = 0;
  private read = 0;

  /** Reads the parts packed at `bytes[from, to)` (offsets stay those of `bytes`). */
  constructor(readonly bytes: Uint8Array, from = 0, private readonly to = bytes.length) {
    if (to - from < 4) throw new RangeError("truncated snapshot");
    this.count = readUint32(bytes, from);
    this.end = from + 4;
  }

  /** Moves to the next part; false after the last. Throws on a truncated buffer. */
  next(): boolean {
    if (this.read === this.count) return false;
    const bytes = this.bytes, off = this.end;
    if (off + 4 > this.to) throw new RangeError("truncated snapshot");
    const len = readUint32(bytes, off);
    if (off + 4 + len > this.to) throw new RangeError("truncated snapshot");
    this.start = off + 4;
    this.end = off + 4 + len;
    this.read++;
    return true;
  }

  /** A view of the current part (for use before the next part is read). */
  view(): Uint8Array {
    const b = this.bytes;
    return new Uint8Array(b.buffer, b.byteOffset + this.start, this.end - this.start);
  }
}
