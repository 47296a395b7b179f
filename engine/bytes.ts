/**
 * Writing into byte buffers without Buffer's checked methods: the log record encoder, the
 * collection codec and the argument slabs write many small fields per command, and a call to
 * `writeUInt32LE` or `set()` costs more than the bytes it moves.
 *
 * @module
 */

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
