/**
 * Key slots as Redis Cluster computes them: CRC16 (XMODEM) of the key, or of its `{hashtag}` when
 * the key has a non-empty one, modulo 16384.
 *
 * @module
 */

/** Number of hash slots. */
export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  TABLE[i] = crc;
}

function crc16(key: string, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff];
  }
  return crc;
}

/**
 * The hash slot of a key given as a binary (latin1) string.
 *
 * @example
 * ```ts
 * import { keySlot } from "./slot.ts";
 * console.assert(keySlot("foo") === 12182);
 * console.assert(keySlot("{user1000}.following") === keySlot("{user1000}.followers"));
 * ```
 */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key, 0, key.length) & (SLOT_COUNT - 1);
}

function crc16Bytes(key: Uint8Array, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ key[i]) & 0xff];
  }
  return crc;
}

/**
 * {@link keySlot} of a key given as its bytes (as it arrives in a request).
 *
 * @example
 * ```ts
 * import { keySlot, keySlotBytes } from "./slot.ts";
 * console.assert(keySlotBytes(new TextEncoder().encode("{user1000}.x")) === keySlot("{user1000}.y"));
 * ```
 */
export function keySlotBytes(key: Uint8Array): number {
  // One pass computes the CRC and looks for `{` (most keys have none: no indexOf calls, which
  // cost more than a short key's loop).
  const n = key.length;
  let crc = 0;
  for (let i = 0; i < n; i++) {
    const b = key[i];
    if (b === 123) { // {
      const close = key.indexOf(125, i + 1); // }
      if (close > i + 1) return crc16Bytes(key, i + 1, close) & (SLOT_COUNT - 1);
      return crc16Bytes(key, 0, n) & (SLOT_COUNT - 1);
    }
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff];
  }
  return crc & (SLOT_COUNT - 1);
}

/** The shard that owns a slot when slots are split into `shardCount` contiguous ranges. */
export function slotShard(slot: number, shardCount: number): number {
  return Math.floor((slot * shardCount) / SLOT_COUNT);
}

/** The first and last slot of a shard's range. */
export function shardSlotRange(shard: number, shardCount: number): [number, number] {
  const first = Math.ceil((shard * SLOT_COUNT) / shardCount);
  const last = Math.ceil(((shard + 1) * SLOT_COUNT) / shardCount) - 1;
  return [first, last];
}
