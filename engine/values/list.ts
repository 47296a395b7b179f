/**
 * The list value: a deque of byte strings in a ring buffer that grows by doubling (and shrinks by
 * halving when it is mostly empty), so pushes and pops at both ends are O(1) amortized and any
 * index is reached in O(1). Inserting or removing in the middle moves the shorter side only.
 *
 * Element-level effects (what the list commands log, replayed by {@link ListValue.apply}):
 *
 * | op        | args                      | meaning                                           |
 * |-----------|---------------------------|---------------------------------------------------|
 * | `rpush`   | elements…                 | append each element at the tail, in order         |
 * | `lpush`   | elements…                 | prepend each element at the head, in order        |
 * | `lpop`    | count                     | remove `count` elements from the head             |
 * | `rpop`    | count                     | remove `count` elements from the tail             |
 * | `lset`    | index, element            | replace the element at `index` (0-based)          |
 * | `linsert` | index, element            | insert so that `element` ends up at `index`       |
 * | `lrem`    | count, element            | LREM's removal (count < 0 from the tail, 0 = all) |
 * | `ltrim`   | head, tail                | remove `head` elements at the head, `tail` at the tail |
 *
 * @module
 */
import { copyRange, latin1Bytes } from "../bytes.ts";
import { BulkRing } from "../../protocol/reply.ts";
import { encodePartsInSteps, encodeView, PartsReader, type PartsView } from "./codec.ts";
import { type DataValue, type EncodingLimits, registerValueType } from "./types.ts";

/** Estimated bytes one element costs besides its content (for maxmemory accounting). */
export const LIST_ELEMENT_OVERHEAD = 16;
/** Estimated bytes of an empty list. */
const LIST_BASE = 64;
const MIN_CAPACITY = 8;

/** Memory an element adds to a list's {@link ListValue.memoryUsage}. */
export function elementCost(e: Uint8Array): number {
  return e.length + LIST_ELEMENT_OVERHEAD;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function integer(b: Uint8Array): number {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bad integer in a list effect: ${s}`);
  return n;
}

/**
 * A Redis list. Each element is kept as its bytes' place in three parallel rings (buffer,
 * offset, length: 16 bytes a slot), not as a view, which would cost 104 bytes per element
 * (Deno's V8 has no pointer compression); reading an element makes a view, which dies young.
 */
export class ListValue implements DataValue {
  readonly type = "list";
  private bufs: (ArrayBufferLike | undefined)[];
  private offs: Uint32Array;
  private lens: Uint32Array;
  private mask: number;
  private head = 0;
  private len = 0;
  private bytes = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity) cap *= 2;
    this.bufs = new Array(cap);
    this.offs = new Uint32Array(cap);
    this.lens = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  /** A list holding `elements` (stored as given, not copied). */
  static of(elements: readonly Uint8Array[]): ListValue {
    const l = new ListValue(elements.length);
    for (const e of elements) l.pushTail(e);
    return l;
  }

  /** Number of elements. */
  get length(): number {
    return this.len;
  }

  /** The element in ring slot `slot`. */
  private view(slot: number): Uint8Array {
    return new Uint8Array(this.bufs[slot]!, this.offs[slot], this.lens[slot]);
  }

  private put(slot: number, v: Uint8Array): void {
    this.bufs[slot] = v.buffer;
    this.offs[slot] = v.byteOffset;
    this.lens[slot] = v.length;
  }

  /** Moves the element of ring slot `from` to slot `to`. */
  private move(to: number, from: number): void {
    this.bufs[to] = this.bufs[from];
    this.offs[to] = this.offs[from];
    this.lens[to] = this.lens[from];
  }

  /** Element at `i` (0 ≤ i < length). */
  at(i: number): Uint8Array {
    return this.view((this.head + i) & this.mask);
  }

  /** Replaces the element at `i` (0 ≤ i < length); returns the old one. */
  set(i: number, v: Uint8Array): Uint8Array {
    const slot = (this.head + i) & this.mask;
    const old = this.view(slot);
    this.put(slot, v);
    this.bytes += v.length - old.length;
    return old;
  }

  pushHead(v: Uint8Array): void {
    if (this.len === this.bufs.length) this.resize(this.bufs.length * 2);
    this.head = (this.head - 1) & this.mask;
    this.put(this.head, v);
    this.len++;
    this.bytes += v.length;
  }

  pushTail(v: Uint8Array): void {
    if (this.len === this.bufs.length) this.resize(this.bufs.length * 2);
    this.put((this.head + this.len) & this.mask, v);
    this.len++;
    this.bytes += v.length;
  }

  /** Removes and returns the first element (undefined when empty). */
  popHead(): Uint8Array | undefined {
    if (this.len === 0) return undefined;
    const v = this.view(this.head);
    this.bufs[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
    this.bytes -= v.length;
    this.maybeShrink();
    return v;
  }

  /** Removes and returns the last element (undefined when empty). */
  popTail(): Uint8Array | undefined {
    if (this.len === 0) return undefined;
    const slot = (this.head + this.len - 1) & this.mask;
    const v = this.view(slot);
    this.bufs[slot] = undefined;
    this.len--;
    this.bytes -= v.length;
    this.maybeShrink();
    return v;
  }

  /** Inserts `v` so that it ends up at index `i` (0 ≤ i ≤ length), moving the shorter side. */
  insertAt(i: number, v: Uint8Array): void {
    if (i === 0) return this.pushHead(v);
    if (i === this.len) return this.pushTail(v);
    if (this.len === this.bufs.length) this.resize(this.bufs.length * 2);
    const m = this.mask;
    if (i < this.len - i) {
      // Shift the first i elements one slot towards the head.
      this.head = (this.head - 1) & m;
      for (let k = 0; k < i; k++) this.move((this.head + k) & m, (this.head + k + 1) & m);
    } else {
      for (let k = this.len; k > i; k--) this.move((this.head + k) & m, (this.head + k - 1) & m);
    }
    this.put((this.head + i) & m, v);
    this.len++;
    this.bytes += v.length;
  }

  /** Index of the first element equal to `pivot` from the head, or -1. */
  indexOf(pivot: Uint8Array): number {
    for (let i = 0; i < this.len; i++) if (equalBytes(this.at(i), pivot)) return i;
    return -1;
  }

  /** True when the element at `i` equals `v`. */
  equalsAt(i: number, v: Uint8Array): boolean {
    return equalBytes(this.at(i), v);
  }

  /**
   * Elements from index `start` to `end` inclusive (both within the list) as a reply written
   * straight from where they are kept: valid until the list changes.
   */
  rangeReply(start: number, end: number): BulkRing {
    const n = Math.max(0, end - start + 1);
    const first = (this.head + start) & this.mask;
    return new BulkRing(this.bufs, this.offs, this.lens, this.mask, first, n);
  }

  /** Elements from index `start` to `end` inclusive (both within the list), in order. */
  range(start: number, end: number): Uint8Array[] {
    return this.rangeReply(start, end).views();
  }

  /**
   * Removes elements equal to `v` as LREM does: up to `count` from the head (count > 0), up to
   * `-count` from the tail (count < 0), or all (count 0). Returns how many were removed and the
   * bytes they held. One pass, O(n).
   */
  removeEqual(count: number, v: Uint8Array): { removed: number; bytes: number } {
    const limit = count === 0 ? Infinity : Math.abs(count);
    const n = this.len;
    const drop = new Uint8Array(n);
    let removed = 0;
    if (count >= 0) {
      for (let i = 0; i < n && removed < limit; i++) {
        if (equalBytes(this.at(i), v)) {
          drop[i] = 1;
          removed++;
        }
      }
    } else {
      for (let i = n - 1; i >= 0 && removed < limit; i--) {
        if (equalBytes(this.at(i), v)) {
          drop[i] = 1;
          removed++;
        }
      }
    }
    if (removed === 0) return { removed: 0, bytes: 0 };
    const m = this.mask;
    let w = 0;
    let bytes = 0;
    for (let r = 0; r < n; r++) {
      const slot = (this.head + r) & m;
      if (drop[r]) {
        bytes += this.lens[slot];
        continue;
      }
      this.move((this.head + w) & m, slot);
      w++;
    }
    for (let k = w; k < n; k++) this.bufs[(this.head + k) & m] = undefined;
    this.len = w;
    this.bytes -= bytes;
    this.maybeShrink();
    return { removed, bytes };
  }

  /** Removes `left` elements at the head and `right` at the tail; returns the bytes removed. */
  trim(left: number, right: number): number {
    const before = this.bytes;
    const bufs = this.bufs, m = this.mask;
    left = Math.min(left, this.len);
    for (let k = 0; k < left; k++) {
      const slot = (this.head + k) & m;
      this.bytes -= this.lens[slot];
      bufs[slot] = undefined;
    }
    this.head = (this.head + left) & m;
    this.len -= left;
    right = Math.min(right, this.len);
    for (let k = this.len - right; k < this.len; k++) {
      const slot = (this.head + k) & m;
      this.bytes -= this.lens[slot];
      bufs[slot] = undefined;
    }
    this.len -= right;
    this.maybeShrink();
    return before - this.bytes;
  }

  /** Every element, head first. */
  toArray(): Uint8Array[] {
    return this.len === 0 ? [] : this.range(0, this.len - 1);
  }

  private maybeShrink(): void {
    const cap = this.bufs.length;
    if (cap > MIN_CAPACITY && this.len * 4 <= cap) this.resize(cap / 2);
  }

  private resize(cap: number): void {
    const { bufs, offs, lens } = this.inOrder(cap);
    this.bufs = bufs;
    this.offs = offs;
    this.lens = lens;
    this.mask = cap - 1;
    this.head = 0;
  }

  /** The elements' places, head first, in arrays of `cap` slots. */
  private inOrder(cap: number): {
    bufs: (ArrayBufferLike | undefined)[];
    offs: Uint32Array;
    lens: Uint32Array;
  } {
    const bufs: (ArrayBufferLike | undefined)[] = new Array(cap);
    const offs = new Uint32Array(cap), lens = new Uint32Array(cap);
    for (let i = 0; i < this.len; i++) {
      const slot = (this.head + i) & this.mask;
      bufs[i] = this.bufs[slot];
      offs[i] = this.offs[slot];
      lens[i] = this.lens[slot];
    }
    return { bufs, offs, lens };
  }

  /** Redis 7.0 names every list's encoding `quicklist` (listpack for small lists came in 7.2). */
  encoding(_limits: EncodingLimits): string {
    return "quicklist";
  }

  clone(): ListValue {
    const l = new ListValue(this.len);
    for (let i = 0; i < this.len; i++) l.pushTail(this.at(i));
    return l;
  }

  memoryUsage(): number {
    return LIST_BASE + this.bytes + this.len * LIST_ELEMENT_OVERHEAD;
  }

  isEmpty(): boolean {
    return this.len === 0;
  }

  encode(): Uint8Array {
    return encodeView(this.parts(false));
  }

  encodeSteps(copy = false): Generator<void, Uint8Array> {
    return encodePartsInSteps(this.parts(copy));
  }

  /**
   * The snapshot's parts: the elements in order. With `copy`, of a copy of the elements' places
   * (their bytes never change), so the list may change while the snapshot is encoded in steps;
   * a view is made per part as it is encoded, not one per element up front (a list of millions
   * would make that many views at once, all promoted to the old generation before they die).
   */
  private parts(copy: boolean): PartsView {
    if (copy) {
      const { bufs, offs, lens } = this.inOrder(this.len);
      return { count: this.len, partAt: (i) => new Uint8Array(bufs[i]!, offs[i], lens[i]) };
    }
    return { count: this.len, partAt: (i) => this.at(i) };
  }

  apply(op: string, args: Uint8Array[]): void {
    switch (op) {
      case "rpush":
        for (const a of args) this.pushTail(a);
        return;
      case "lpush":
        for (const a of args) this.pushHead(a);
        return;
      case "lpop":
      case "rpop": {
        const n = integer(args[0]);
        if (n > this.len) throw new RangeError(`${op} ${n} on a list of ${this.len}`);
        for (let i = 0; i < n; i++) op === "lpop" ? this.popHead() : this.popTail();
        return;
      }
      case "lset": {
        const i = integer(args[0]);
        if (i < 0 || i >= this.len) throw new RangeError(`lset ${i} on a list of ${this.len}`);
        this.set(i, args[1]);
        return;
      }
      case "linsert": {
        const i = integer(args[0]);
        if (i < 0 || i > this.len) throw new RangeError(`linsert ${i} on a list of ${this.len}`);
        this.insertAt(i, args[1]);
        return;
      }
      case "lrem":
        this.removeEqual(integer(args[0]), args[1]);
        return;
      case "ltrim":
        this.trim(integer(args[0]), integer(args[1]));
        return;
      default:
        throw new RangeError(`unknown list effect '${op}'`);
    }
  }
}

/** The decimal bytes of a count or index, as list effects carry them. */
export function effectNumber(n: number): Uint8Array {
  return latin1Bytes(String(n));
}

/** Rebuilds a list from its snapshot (or an empty one for null). */
export function decodeList(snapshot: Uint8Array | null): ListValue {
  if (snapshot === null) return new ListValue();
  const r = new PartsReader(snapshot);
  const items: Uint8Array[] = [];
  // Copied (small ones into shared slabs, as requests' are) so the list does not keep the
  // snapshot buffer alive.
  while (r.next()) items.push(copyRange(snapshot, r.start, r.end));
  return ListValue.of(items);
}

registerValueType("list", decodeList);
