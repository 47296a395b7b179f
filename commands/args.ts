/**
 * Argument helpers: bytes to binary (latin1) strings, numbers parsed as Redis parses them with
 * Redis's error texts, and case-insensitive keyword tests without allocation.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Errors, type RespError } from "./errors.ts";
import { parseDouble, parseInt64 } from "../protocol/numbers.ts";
import { putBytes } from "../engine/bytes.ts";

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

// A Buffer over the whole of the last ArrayBuffer decoded from (a connection's request buffer,
// as a rule): arguments are plain views, and a Buffer view per decode would cost more than the
// decode. Only buffers up to CACHED_MAX are kept, so a huge request is not held after it is gone.
const CACHED_MAX = 1024 * 1024;
let cachedArray: ArrayBufferLike | null = null;
let cachedView: Latin1Buffer | null = null;

/** Bytes as a binary string, one char per byte (the engine's key representation). */
export function latin1(b: Uint8Array): string {
  const n = b.length;
  if (n < 16) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  const array = b.buffer;
  if (array !== cachedArray) {
    const view = Buffer.from(array, 0, array.byteLength) as Latin1Buffer;
    if (array.byteLength > CACHED_MAX) return view.latin1Slice(b.byteOffset, b.byteOffset + n);
    cachedArray = array;
    cachedView = view;
  }
  return cachedView!.latin1Slice(b.byteOffset, b.byteOffset + n);
}

/** A binary string back to bytes. */
export function latin1Bytes(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}

/** Text (UTF-8) to bytes, for replies built from text. */
export function utf8Bytes(s: string): Uint8Array {
  return Buffer.from(s, "utf8");
}

// Small copies are carved out of shared slabs: allocating a typed array of its own costs several
// times more than the copy. A slab lives while any value cut from it does, so only small values
// share one (at most SLAB_VALUE bytes, in slabs of SLAB bytes).
const SLAB = 16 * 1024;
const SLAB_VALUE = 256;
let slab = new Uint8Array(SLAB);
let slabPos = 0;

/** The ASCII text of a number as bytes (INCR's results), cut from the same slabs. */
export function numberBytes(n: number | bigint): Uint8Array {
  const s = String(n);
  const len = s.length;
  if (slabPos + len > SLAB) {
    slab = new Uint8Array(SLAB);
    slabPos = 0;
  }
  const out = new Uint8Array(slab.buffer, slabPos, len);
  for (let i = 0; i < len; i++) out[i] = s.charCodeAt(i);
  slabPos += len;
  return out;
}

/** A copy of an argument, for values that outlive the request buffer. */
export function copyBytes(b: Uint8Array): Uint8Array {
  const n = b.length;
  // Not b.slice(): on a Buffer that is a view, and the request buffer is reused.
  if (n > SLAB_VALUE) return new Uint8Array(b);
  if (slabPos + n > SLAB) {
    slab = new Uint8Array(SLAB);
    slabPos = 0;
  }
  // A view made by the constructor costs less than subarray() (no species lookup).
  const out = new Uint8Array(slab.buffer, slabPos, n);
  putBytes(out, 0, b);
  slabPos += n;
  return out;
}

/** True when `b` equals the lower-case ASCII `word`, ignoring case. */
export function isWord(b: Uint8Array, word: string): boolean {
  const n = word.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** The argument lower-cased as a string (for keyword switches). */
export function word(b: Uint8Array): string {
  return latin1(b).toLowerCase();
}

/** An int64 argument (number when safe, bigint beyond); throws `error` when not an integer. */
export function int64Arg(b: Uint8Array, error: RespError = Errors.notInteger): number | bigint {
  const v = parseInt64(b);
  if (v === null) throw error;
  return v;
}

/**
 * An integer argument as a number. Values beyond 2^53 are clamped to the nearest safe integer,
 * which every caller treats as "huge" (counts, offsets, indexes).
 */
export function intArg(b: Uint8Array, error: RespError = Errors.notInteger): number {
  const v = parseInt64(b);
  if (v === null) throw error;
  if (typeof v === "bigint") return v > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  return v;
}

/** A double argument, parsed as Redis's strtod check; throws `error` otherwise. */
export function floatArg(b: Uint8Array, error: RespError = Errors.notFloat): number {
  const v = parseDouble(latin1(b));
  if (v === null) throw error;
  return v;
}
