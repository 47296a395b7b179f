/**
 * A table from binary (latin1) member strings to values that can also be searched with the
 * member's bytes, as they arrive in a request, without making a string: the member table of
 * sets, hashes and sorted sets.
 *
 * A JavaScript `Map` needs a string key, and a string made fresh from request bytes costs its
 * allocation plus a hash and a cache-missing Map probe (about 0.9 µs per member in a 100k-member
 * collection). Here a lookup hashes the bytes, probes an `Int32Array` of 32-bit hashes and
 * compares the bytes with the stored member only on a hash match; a string is made only for a
 * member that is inserted.
 *
 * Layout: open addressing with linear probing over a power-of-two array of hashes (0 = empty
 * slot), with key and value of slot `i` at `pairs[2i]` and `pairs[2i + 1]` (one cache line for
 * both). Deletion shifts the following entries of the probe run back (no tombstones), so lookups
 * never slow down under churn. The table grows past 3/4 full and shrinks below 1/8.
 *
 * Resizes are incremental, as Redis rehashes its dicts: the old arrays stay beside the new ones
 * and their slots move over in order, a few with every insert and delete, so a collection of
 * millions of members never stops the server to move them all at once (a one-step resize took
 * 120 ms at 400k members, 150 ms at 800k). A lookup that misses the new arrays probes the old
 * ones, and a member found there moves over at once, so slot numbers always name new slots.
 * Moved old slots become tombstones (their hash stays, so probe runs through them hold).
 *
 * Hashes are HalfSipHash-1-3 keyed with a per-process random key, so clients cannot choose
 * members that collide (Redis's dict uses SipHash for the same reason).
 *
 * The table has no order: the collections keep their own order (dense arrays, insertion order)
 * for replies, random picks and SCAN cursors.
 *
 * @example
 * ```ts
 * import { MemberTable } from "./member_table.ts";
 * const t = new MemberTable<number>();
 * t.set("apple", 1);
 * const bytes = new TextEncoder().encode("apple");
 * console.assert(t.getBytes(bytes) === 1 && t.get("pear") === undefined);
 * ```
 *
 * @module
 */

const MIN_CAPACITY = 8;

/** The per-process hash key (two 32-bit words). */
const KEY = crypto.getRandomValues(new Int32Array(2));
const K0 = KEY[0], K1 = KEY[1];

/** Bytes of a string member being hashed (grown for long members). */
let scratch = new Uint8Array(256);

/**
 * HalfSipHash-1-3 of `n` bytes of `b` under the process key, never 0 (0 marks an empty slot).
 *
 * @example
 * ```ts
 * import { hashBytes, hashMember } from "./member_table.ts";
 * console.assert(hashBytes(Uint8Array.of(0x61, 0xff), 2) === hashMember("a\xff"));
 * ```
 */
export function hashBytes(b: Uint8Array, n: number): number {
  let v0 = K0, v1 = K1, v2 = 0x6c796765 ^ K0, v3 = 0x74656462 ^ K1;
  const whole = n & ~3;
  let m = 0;
  for (let i = 0;; i += 4) {
    if (i < whole) {
      m = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    } else {
      // The last word: the remaining bytes and the length in the top byte.
      m = n << 24;
      switch (n & 3) {
        case 3:
          m |= b[i + 2] << 16;
        // falls through
        case 2:
          m |= b[i + 1] << 8;
        // falls through
        case 1:
          m |= b[i];
      }
    }
    v3 ^= m;
    // One SipRound (compression). The round is written out here and below on purpose: as a
    // function it would have to pass the four words through an object, costing more than it.
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
    if (i >= whole) break;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  const h = v1 ^ v3;
  return h === 0 ? 1 : h;
}

/** {@link hashBytes} of a binary string's bytes. */
export function hashMember(s: string): number {
  const n = s.length;
  if (n > scratch.length) scratch = new Uint8Array(n * 2);
  const b = scratch;
  for (let i = 0; i < n; i++) b[i] = s.charCodeAt(i);
  return hashBytes(b, n);
}

/** True when the binary string `s` holds the bytes `b`. */
export function sameBytes(s: string, b: Uint8Array): boolean {
  const n = b.length;
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== b[i]) return false;
  return true;
}

/** An array of `n` undefined slots, packed (small tables). */
function emptyPairs(n: number): unknown[] {
  const a: unknown[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

/** Binary string → value, searchable by string or by bytes. */
export class MemberTable<V> {
  private hashes = new Int32Array(MIN_CAPACITY);
  /** Key of slot i at 2i, value at 2i + 1. */
  private pairs: unknown[] = emptyPairs(2 * MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;
  /** While resizing: the arrays being emptied into the new ones (null otherwise). */
  private oldHashes: Int32Array | null = null;
  private oldPairs: unknown[] = [];
  /** While resizing: the old slots before this one have moved. */
  private moveIdx = 0;
  /** Hash and free slot of the last lookup if it missed (-1 after a hit or a change). */
  private missHash = 0;
  private missSlot = -1;
  /** Length of the member the last lookup missed (a check on {@link insertMissing}'s caller). */
  private missLength = -1;

  /** Number of members. */
  get size(): number {
    return this.count;
  }

  /** The value of `member`, or undefined. */
  get(member: string): V | undefined {
    const i = this.find(member);
    return i < 0 ? undefined : this.pairs[2 * i + 1] as V;
  }

  /** The value of the member whose bytes are `b`, or undefined. */
  getBytes(b: Uint8Array): V | undefined {
    const i = this.findBytes(b);
    return i < 0 ? undefined : this.pairs[2 * i + 1] as V;
  }

  has(member: string): boolean {
    return this.find(member) >= 0;
  }

  /** Sets the value of `member`, inserting it when absent. */
  set(member: string, value: V): void {
    const i = this.find(member);
    if (i >= 0) this.pairs[2 * i + 1] = value;
    else this.place(member, value);
  }

  /** Inserts `member` unless present; true when it inserted. */
  add(member: string, value: V): boolean {
    if (this.find(member) >= 0) return false;
    this.place(member, value);
    return true;
  }

  /**
   * Inserts `member`, which the last lookup of this table (by string or bytes) did not find, at
   * the free slot that lookup ended on, without searching again. Returns `member`.
   */
  insertMissing(member: string, value: V): string {
    // Checked by length (the lookup's key is not kept: it may be a view of a request buffer;
    // hashing it again cost as much as the lookup).
    if (this.missSlot < 0 || member.length !== this.missLength) {
      throw new Error("member table: insert without a missed lookup of the member");
    }
    this.place(member, value);
    return member;
  }

  /** Stores `member` at the free slot the last lookup, a miss, ended on. */
  private place(member: string, value: V): void {
    let slot = this.missSlot;
    this.missSlot = -1;
    if (this.oldHashes !== null) {
      // Moving slots may take the free slot the lookup found.
      this.moveSlots(4);
      slot = this.freeSlot(this.missHash);
    }
    if ((this.count + 1) * 4 > (this.mask + 1) * 3) {
      this.resize((this.mask + 1) * 2);
      slot = this.freeSlot(this.missHash);
    }
    this.hashes[slot] = this.missHash;
    this.pairs[2 * slot] = member;
    this.pairs[2 * slot + 1] = value;
    this.count++;
  }

  /**
   * Makes room for `n` members in all, at once (a collection decoded from a snapshot knows how
   * many it will hold): no resizes, and no incremental moves, while they go in.
   */
  reserve(n: number): void {
    let capacity = this.mask + 1;
    while (n * 4 > capacity * 3) capacity *= 2;
    if (capacity === this.mask + 1) return;
    this.resize(capacity);
    if (this.oldHashes !== null) this.moveSlots(Infinity);
  }

  /** Removes `member`; returns its value, or undefined when it was absent. */
  delete(member: string): V | undefined {
    const i = this.find(member);
    return i < 0 ? undefined : this.removeSlot(i);
  }

  /** Removes the member whose bytes are `b`; returns its value, or undefined when absent. */
  deleteBytes(b: Uint8Array): V | undefined {
    const i = this.findBytes(b);
    return i < 0 ? undefined : this.removeSlot(i);
  }

  /** Removes every member. */
  clear(): void {
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.pairs = emptyPairs(2 * MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
    this.missSlot = -1;
    this.oldHashes = null;
    this.oldPairs = [];
  }

  /** True while an incremental resize is under way. */
  get resizing(): boolean {
    return this.oldHashes !== null;
  }

  /** A copy holding the same values (not copies of them). */
  clone(): MemberTable<V> {
    if (this.oldHashes !== null) this.moveSlots(Infinity);
    const t = new MemberTable<V>();
    t.hashes = this.hashes.slice();
    t.pairs = this.pairs.slice();
    t.mask = this.mask;
    t.count = this.count;
    return t;
  }

  /** Calls `f` with every value, in no particular order. */
  forEachValue(f: (value: V) => void): void {
    const h = this.hashes, p = this.pairs;
    for (let i = 0; i < h.length; i++) if (h[i] !== 0) f(p[2 * i + 1] as V);
    const oh = this.oldHashes, op = this.oldPairs;
    if (oh === null) return;
    for (let i = this.moveIdx; i < oh.length; i++) {
      if (oh[i] !== 0 && op[2 * i] !== MOVED) f(op[2 * i + 1] as V);
    }
  }

  /** Approximate bytes of the table itself (hash and pair arrays), besides keys and values. */
  tableBytes(): number {
    return (this.mask + 1 + (this.oldHashes === null ? 0 : this.oldHashes.length)) * 20;
  }

  private find(member: string): number {
    const h = hashMember(member);
    const hs = this.hashes, p = this.pairs, m = this.mask;
    for (let i = h & m;; i = (i + 1) & m) {
      const x = hs[i];
      if (x === 0) {
        return this.oldHashes === null
          ? this.miss(h, i, member.length)
          : this.findOld(h, member, i);
      }
      if (x === h && p[2 * i] === member) return this.hit(i);
    }
  }

  private findBytes(b: Uint8Array): number {
    const h = hashBytes(b, b.length);
    const hs = this.hashes, p = this.pairs, m = this.mask;
    for (let i = h & m;; i = (i + 1) & m) {
      const x = hs[i];
      if (x === 0) {
        return this.oldHashes === null ? this.miss(h, i, b.length) : this.findOld(h, b, i);
      }
      if (x === h && sameBytes(p[2 * i] as string, b)) return this.hit(i);
    }
  }

  /**
   * A lookup that missed the new arrays (ending on free slot `free`) while old ones remain:
   * probes the old arrays; a member found there moves to the new ones at once.
   */
  private findOld(h: number, member: string | Uint8Array, free: number): number {
    const hs = this.oldHashes!, p = this.oldPairs, m = hs.length - 1;
    for (let i = h & m;; i = (i + 1) & m) {
      const x = hs[i];
      if (x === 0) return this.miss(h, free, member.length);
      if (x !== h) continue;
      const k = p[2 * i];
      if (k === MOVED) continue;
      if (typeof member === "string" ? k !== member : !sameBytes(k as string, member)) continue;
      this.hashes[free] = h;
      this.pairs[2 * free] = k;
      this.pairs[2 * free + 1] = p[2 * i + 1];
      p[2 * i] = MOVED;
      p[2 * i + 1] = undefined;
      return this.hit(free);
    }
  }

  /**
   * Moves up to `n` old slots (empty or not) into the new arrays; the old ones are let go once
   * every slot has moved.
   */
  private moveSlots(n: number): void {
    const oh = this.oldHashes!, op = this.oldPairs;
    const hs = this.hashes, p = this.pairs;
    let i = this.moveIdx;
    const end = Math.min(oh.length, i + n);
    for (; i < end; i++) {
      const h = oh[i];
      if (h === 0 || op[2 * i] === MOVED) continue;
      const j = this.freeSlot(h);
      hs[j] = h;
      p[2 * j] = op[2 * i];
      p[2 * j + 1] = op[2 * i + 1];
      // A tombstone, not an empty slot: probe runs passing through it must go on.
      op[2 * i] = MOVED;
      op[2 * i + 1] = undefined;
    }
    this.moveIdx = i;
    if (i === oh.length) {
      this.oldHashes = null;
      this.oldPairs = [];
    }
  }

  private hit(slot: number): number {
    this.missSlot = -1;
    return slot;
  }

  private miss(h: number, slot: number, length: number): number {
    this.missHash = h;
    this.missSlot = slot;
    this.missLength = length;
    return -1;
  }

  private freeSlot(h: number): number {
    const hs = this.hashes, m = this.mask;
    let i = h & m;
    while (hs[i] !== 0) i = (i + 1) & m;
    return i;
  }

  /** Empties slot `i`, moving later entries of its probe run back into the gap. */
  private removeSlot(i: number): V {
    const hs = this.hashes, p = this.pairs, m = this.mask;
    const value = p[2 * i + 1] as V;
    let gap = i;
    for (let j = (i + 1) & m; hs[j] !== 0; j = (j + 1) & m) {
      // The entry at j may fill the gap unless its home slot lies cyclically in (gap, j].
      if (((j - (hs[j] & m)) & m) >= ((j - gap) & m)) {
        hs[gap] = hs[j];
        p[2 * gap] = p[2 * j];
        p[2 * gap + 1] = p[2 * j + 1];
        gap = j;
      }
    }
    hs[gap] = 0;
    p[2 * gap] = undefined;
    p[2 * gap + 1] = undefined;
    this.count--;
    this.missSlot = -1;
    if (this.oldHashes !== null) this.moveSlots(16);
    if (this.count * 8 < this.mask + 1 && this.mask + 1 > MIN_CAPACITY) {
      this.resize((this.mask + 1) / 2);
    }
    return value;
  }

  /**
   * Starts moving the members into arrays of `capacity` slots (finishing a resize under way).
   * Small tables move at once: two sets of arrays would cost more than the pause saved.
   */
  private resize(capacity: number): void {
    if (this.oldHashes !== null) this.moveSlots(Infinity);
    this.oldHashes = this.hashes;
    this.oldPairs = this.pairs;
    this.moveIdx = 0;
    this.hashes = new Int32Array(capacity);
    // A large holey array is made at once (V8 keeps it in fast elements); filling one with
    // push() cost 100 ms at 4M slots.
    this.pairs = capacity <= INCREMENTAL_FROM ? emptyPairs(2 * capacity) : new Array(2 * capacity);
    this.mask = capacity - 1;
    if (capacity <= INCREMENTAL_FROM) this.moveSlots(Infinity);
  }
}

/** The key of an old slot whose member has moved to the new arrays. */
const MOVED = Symbol("moved");

/** Tables of at most this many slots resize in one step. */
const INCREMENTAL_FROM = 4096;
