/**
 * The snapshot codec collections share: a list of byte strings, each prefixed with its length
 * as a 32-bit little-endian integer. Effects' arguments and collection snapshots use it.
 *
 * @module
 */

/** Packs byte strings into one buffer. */
export function encodeParts(parts: readonly Uint8Array[]): Uint8Array {
  let size = 4;
  for (const p of parts) size += 4 + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, parts.length, true);
  let off = 4;
  for (const p of parts) {
    view.setUint32(off, p.length, true);
    out.set(p, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** Unpacks what {@link encodeParts} packed; throws on a truncated buffer. */
export function decodeParts(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  const out: Uint8Array[] = new Array(n);
  let off = 4;
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(off, true);
    if (off + 4 + len > bytes.length) throw new RangeError("truncated snapshot");
    out[i] = bytes.subarray(off + 4, off + 4 + len);
    off += 4 + len;
  }
  return out;
}
