/**
 * Bytes in and out of the engine without Buffer's checked methods: the log record encoder, the
 * collection codec and the argument slabs write many small fields per command, and a call to
 * `writeUInt32LE` or `set()` costs more than the bytes it moves; keys and members become binary
 * (latin1) strings, and values that outlive a request are copied into shared slabs.
 *
 * @module
 */
import { Buffer } from "node:buffer";

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/** Writes `n` as a 32-bit little-endian integer at `off`. */
export function putUint32(out: Uint8Array, off: number, n: number): void {
  out[off] = n;
  out[off + 1] = n >>> 8;
  out[off + 2] = n >>> 16;
  out[off + 3] = n >>> 24;
}

/** Copies `src` to `off`: short runs in a loop, longer ones with `set()`. */
export function putBytes(out: Uint8Array, off: number, src: Uint8Array): void {
  const n = src.length;
  if (n < 32) {
    for (let i = 0; i < n; i++) out[off + i] = src[i];
  } else {
    out.set(src, off);
  }
}

// A Buffer over the whole of the last ArrayBuffer decoded from (a connection's request buffer,
// as a rule): arguments are plain views, and a Buffer view per decode would cost more than the
// decode. Only buffers up to CACHED_MAX are kept, so a huge request is not held after it is gone.
const CACHED_MAX = 1024 * 1024;
let cachedArray: ArrayBufferLike | null = null;
let cachedView: Latin1Buffer | null = null;

/** Bytes as a binary string, one char per byte (the engine's key representation). */
export function latin1(b: Uint8Array): string {
  return latin1Range(b, 0, b.length);
}

/**
 * Joined one character at a time, a string of 13 characters or more is a tree in V8 (a
 * ConsString per step, ~128 bytes for 15 characters instead of 32, for as long as a set member
 * or hash field lives, and slower to make than a Buffer's latin1Slice): shorter ones only.
 */
const SHORT_LATIN1 = 13;

function shortLatin1(src: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(src[i]);
  return s;
}

/** Bytes `from` to `to` of `src` as a binary string, without a view of the range first. */
export function latin1Range(src: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n < SHORT_LATIN1) return shortLatin1(src, from, to);
  const array = src.buffer;
  const start = src.byteOffset + from;
  if (array !== cachedArray) {
    const view = Buffer.from(array, 0, array.byteLength) as Latin1Buffer;
    if (array.byteLength > CACHED_MAX) return view.latin1Slice(start, start + n);
    cachedArray = array;
    cachedView = view;
  }
  return cachedView!.latin1Slice(start, start + n);
}

/**
 * {@link latin1Range} over one buffer, called many times: a snapshot of millions of members is
 * far larger than what latin1Range keeps a Buffer view of, so it would make one per call.
 */
export function latin1Reader(src: Uint8Array): (from: number, to: number) => string {
  const view = Buffer.from(src.buffer, src.byteOffset, src.byteLength) as Latin1Buffer;
  return (from, to) =>
    to - from < SHORT_LATIN1 ? shortLatin1(src, from, to) : view.latin1Slice(from, to);
}

const SLAB = 16 * 1024;
const SLAB_PART = 256;
/** Parts up to this size share slabs of MEDIUM_PARTS of their size class (a power of two). */
const MEDIUM_MAX = 4096;
const MEDIUM_PARTS = 4;

/**
 * Small buffers carved out of shared slabs: a typed array with a buffer of its own costs several
 * times more (~700 ns in Deno, and its share of the garbage collector's work) than a small copy
 * or encoding. A slab lives while any buffer cut from it does, so small ones (at most 256 bytes)
 * share 16 KiB slabs, medium ones (up to 4 KiB) slabs of four parts of their size class (a power
 * of two: a 1 KB value shares a 4 KiB slab with at most three others, so a value gone cold or
 * overwritten is not held in memory by many others), and larger ones have their own. What is kept
 * (values) and what is soon let go (encoded effects) take from slabs of their own.
 *
 * Slabs for what is kept can wait in a queue of `aging` slabs before they are cut: by their
 * turn the garbage collector has moved them to the old generation. A key's entry is old, and
 * storing a young buffer in an old object costs V8's write barrier a remembered-set insert (a
 * cache miss): 4.7% of a `SET -P 16` profile under perf, gone with a queue of 16.
 */
export class Slabs {
  private slab = new ArrayBuffer(SLAB);
  private pos = 0;
  private readonly queue: ArrayBuffer[] = [];
  /** Per size class (a power of two, by its exponent): the slab medium parts are cut from. */
  private readonly medium: { slab: ArrayBuffer; pos: number }[] = [];

  constructor(aging = 0) {
    for (let i = 0; i < aging; i++) this.queue.push(new ArrayBuffer(SLAB));
  }

  /** `n` fresh zeroed bytes: cut from the current slab when small, else a buffer of their own. */
  take(n: number): Uint8Array {
    if (n > SLAB_PART) {
      if (n > MEDIUM_MAX) return new Uint8Array(n);
      const k = 32 - Math.clz32(n - 1);
      let c = this.medium[k];
      if (c === undefined || c.pos + n > c.slab.byteLength) {
        c = { slab: new ArrayBuffer(MEDIUM_PARTS << k), pos: 0 };
        this.medium[k] = c;
      }
      const out = new Uint8Array(c.slab, c.pos, n);
      c.pos += n;
      return out;
    }
    if (this.pos + n > SLAB) {
      // Without aging, the queue is empty and the new slab is taken at once.
      this.queue.push(new ArrayBuffer(SLAB));
      this.slab = this.queue.shift()!;
      this.pos = 0;
    }
    // A view made by the constructor costs less than subarray() (no species lookup).
    const out = new Uint8Array(this.slab, this.pos, n);
    this.pos += n;
    return out;
  }
}

/** The slabs of values that outlive their request or log buffer (256 KiB aging). */
const values = new Slabs(16);

/** `n` zeroed bytes for a value that outlives its request, cut from the same slabs. */
export function valueBytes(n: number): Uint8Array {
  return values.take(n);
}

/** The ASCII text of a number as bytes (INCR's results), cut from the same slabs. */
export function numberBytes(n: number | bigint): Uint8Array {
  return latin1Value(String(n));
}

/** A binary string's bytes, for a value that is kept (HINCRBYFLOAT's), cut from the same slabs. */
export function latin1Value(s: string): Uint8Array {
  return latin1Into(values.take(s.length), s);
}

/**
 * The slabs of bytes a command needs only until it ends: its effects' arguments (the log encodes
 * them when the command ends) and batch records. In Deno a typed array with a buffer of its own
 * costs ~700 ns to make (V8 keeps none in its heap, and each buffer is an allocation outside it
 * that the garbage collector tracks); a view cut from a slab ~30 ns.
 */
const transient = new Slabs();

/** `n` zeroed bytes that live until the command's effects are written. */
export function transientBytes(n: number): Uint8Array {
  return transient.take(n);
}

/** A copy of bytes that lives until the command ends (or a little longer: a push held back). */
export function transientCopy(src: Uint8Array): Uint8Array {
  return copyOut(transient, src, 0, src.length);
}

/** A binary string's bytes, living until the command's effects are written (effect arguments). */
export function latin1Bytes(s: string): Uint8Array {
  return latin1Into(transient.take(s.length), s);
}

function latin1Into(out: Uint8Array, s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A copy of an argument, for values that outlive the request buffer. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return copyRange(b, 0, b.length);
}

/**
 * A copy of bytes `from` to `to` of `src` (a request buffer, a log file read at start-up) that
 * may outlive it, without making a view of the range first.
 */
export function copyRange(src: Uint8Array, from: number, to: number): Uint8Array {
  return copyOut(values, src, from, to);
}

/** Bytes `from` to `to` of `src`, copied into bytes cut from `slabs`. */
function copyOut(slabs: Slabs, src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  // Not src.slice(): on a Buffer that is a view, and the source buffer is reused.
  const out = slabs.take(n);
  if (n < 32) {
    for (let i = 0; i < n; i++) out[i] = src[from + i];
  } else {
    out.set(from === 0 && to === src.length ? src : src.subarray(from, to));
  }
  return out;
}

// Strings grown by APPEND keep room to grow, as Redis's strings do: each buffer made here is
// noted with how much of it is in use, and a value is a view of its first bytes.
const inUse = new WeakMap<ArrayBufferLike, number>();
/** Growth past this many bytes is by this many more, not by doubling (Redis's SDS_MAX_PREALLOC). */
const GROW_MAX = 1024 * 1024;

/**
 * `cur` followed by `add`, as APPEND makes it. When `cur` ends where a buffer made here is in use
 * up to and that buffer has room, `add` is written after it in place: no other value can see
 * those bytes (every value of the buffer is a view of its first bytes, and `cur` is the longest),
 * and no earlier view of the value changes, so a log record still holding one is unharmed. Else
 * the bytes move to a new buffer with as much room again (up to {@link GROW_MAX} more), so n
 * appends copy O(n) bytes in all.
 *
 * @example
 * ```ts
 * import { appendBytes } from "./bytes.ts";
 * const a = appendBytes(new Uint8Array([1]), new Uint8Array([2]));
 * const b = appendBytes(a, new Uint8Array([3])); // in place: a is unchanged
 * console.assert(a.length === 2 && b.length === 3 && a.buffer === b.buffer);
 * ```
 */
export function appendBytes(cur: Uint8Array, add: Uint8Array): Uint8Array {
  const end = cur.byteOffset + cur.length;
  const length = cur.length + add.length;
  const buf = cur.buffer;
  if (inUse.get(buf) === end && end + add.length <= buf.byteLength) {
    new Uint8Array(buf, end, add.length).set(add);
    inUse.set(buf, end + add.length);
    return new Uint8Array(buf, cur.byteOffset, length);
  }
  const room = length + Math.min(Math.max(length, 16), GROW_MAX);
  const out = new Uint8Array(new ArrayBuffer(room), 0, length);
  out.set(cur);
  out.set(add, cur.length);
  inUse.set(out.buffer, length);
  return out;
}
