/**
 * The hash value (`TYPE` hash) with per-field expiry as Redis 7.4 has it, and the active expiry
 * of hash fields.
 *
 * Fields are binary (latin1) strings, values byte arrays; fields are found by their bytes in a
 * {@link MemberTable}, so a command names a field without making a string of it. A hash keeps
 * Redis's observable order: while small it behaves as a listpack (new fields at the end, an updated field keeps its place;
 * once a field-expiry command ran it is a `listpackex`, where fields with a TTL come first ordered
 * by expiry time and fields without one follow), and once it outgrows
 * `hash-max-listpack-entries` / `hash-max-listpack-value` it is a `hashtable` for good, where
 * fields keep their insertion order and carry a sequence number that HSCAN uses as its cursor (a
 * field present for a whole scan is returned; re-added fields get a new number).
 *
 * Field TTLs are absolute times in ms. Expired fields are invisible: commands call
 * {@link expireHashFields} first, which deletes due fields (logged as `hdel`, as Redis propagates
 * HDEL) and the key when none is left. Each hash keeps a min-heap of its field TTLs; hashes with
 * TTLs are indexed per database by their earliest TTL, and {@link activeExpireHashFields}, run by
 * the keyspace's active expire cycle, reclaims due fields of hashes nobody reads.
 *
 * Element-level effects (`apply`): `hset f v …` (sets, clears TTLs), `hsetkeep f v …` (sets,
 * keeps TTLs), `hdel f …`, `hexpire at f …` (absolute ms), `hpersist f …`, and the encoding
 * changes that decide the order fields are listed in: `hconvert` (to a hashtable) and `hfe` (a
 * listpack became a listpackex).
 *
 * @module
 */
import { type Database, type Entry, type Keyspace, subkeyExpireCycles } from "../keyspace.ts";
import {
  encodePartsInSteps,
  encodeView,
  PARTS_PER_STEP,
  PartsReader,
  type PartsView,
} from "./codec.ts";
import { MemberTable } from "./member_table.ts";
import { copyRange, latin1, latin1Bytes, latin1Reader } from "../bytes.ts";
import { type DataValue, type EncodingLimits, registerValueType } from "./types.ts";

/**
 * One field of a hash. The value is kept as its bytes' place (buffer, offset, {@link size}), not
 * as a view, which would cost 104 bytes per field (as the keyspace's entries do).
 */
export class HashField {
  private buf: ArrayBufferLike;
  private off: number;
  /**
   * The value's length, kept here so that replacing a value does not read the old one (a cache
   * miss per HSET of an existing field).
   */
  size: number;
  /** Absolute expiry in ms; 0 = none. */
  expireAt = 0;
  /** Scan order number (hashtable encoding only). */
  seq = 0;
  /** Position in the order array (hashtable encoding only). */
  idx = 0;

  constructor(readonly name: string, value: Uint8Array) {
    this.buf = value.buffer;
    this.off = value.byteOffset;
    this.size = value.length;
  }

  /** The value's bytes (a new view on each read). */
  get value(): Uint8Array {
    return new Uint8Array(this.buf, this.off, this.size);
  }

  set value(value: Uint8Array) {
    this.buf = value.buffer;
    this.off = value.byteOffset;
    this.size = value.length;
  }

  /** Notes the value's place at `i` of a {@link FieldPlaces} copy. */
  placeInto(to: FieldPlaces, i: number): void {
    to.names[i] = this.name;
    to.bufs[i] = this.buf;
    to.offs[i] = this.off;
    to.sizes[i] = this.size;
    to.expiries[i] = this.expireAt;
  }
}

/** Runs steps to the end at once. */
function drain(steps: Generator<void>): void {
  while (!steps.next().done);
}

/**
 * Fields as they were when copied, in parallel arrays: no object or view per field (a snapshot
 * of a hash being written makes one of millions of fields at once). Values' bytes never change,
 * so their places stay valid.
 */
interface FieldPlaces {
  /** How many fields were noted. */
  count: number;
  names: string[];
  bufs: ArrayBufferLike[];
  offs: Uint32Array;
  sizes: Uint32Array;
  expiries: Float64Array;
}

const BASE_BYTES = 64;
const FIELD_BYTES = 56;
const ENTRIES = "hash-max-listpack-entries";
const VALUE = "hash-max-listpack-value";

/** A hash: field → value, with optional per-field expiry. */
export class HashValue implements DataValue {
  readonly type = "hash";
  private readonly map = new MemberTable<HashField>();
  /** Listpack order (dense) or, as a hashtable, insertion order with holes (null). */
  private order: (HashField | null)[] = [];
  /** Sequence numbers parallel to {@link order} (hashtable only; holes keep theirs). */
  private orderSeq: number[] = [];
  private holes = 0;
  private nextSeq = 1;
  /** Converted to a hashtable; never converts back. */
  private table = false;
  /** A field-expiry command ran while it was a listpack (Redis 7.4's `listpackex`). */
  private ex = false;
  /** The encoding was judged against live limits (false for values rebuilt by recovery). */
  private judged = false;
  /** Longest field or value stored while small (a long one converts to a hashtable). */
  private maxLen = 0;
  private bytes = BASE_BYTES;
  /** Fields that have a TTL. */
  private ttls = 0;
  /** Min-heap of (expiry, field); stale entries are skipped lazily. */
  private heapAt: number[] = [];
  private heapField: HashField[] = [];
  /** This hash's entry in the per-database expiry index (see {@link trackHashExpiry}). */
  reg: IndexEntry | null = null;

  /** Number of fields (expired ones not yet deleted included). */
  get size(): number {
    return this.map.size;
  }

  /** Number of fields with a TTL. */
  get ttlCount(): number {
    return this.ttls;
  }

  /** True once converted to a hashtable. */
  get isTable(): boolean {
    return this.table;
  }

  encoding(limits: EncodingLimits): string {
    if (!this.judged) this.sync(limits);
    if (this.table) return "hashtable";
    return this.ex ? "listpackex" : "listpack";
  }

  clone(): HashValue {
    const c = new HashValue();
    c.table = this.table;
    c.ex = this.ex;
    c.judged = this.judged;
    c.maxLen = this.maxLen;
    for (const f of this.fields()) {
      const g = c.newField(f.name, new Uint8Array(f.value));
      c.map.set(f.name, g);
      if (f.expireAt !== 0) c.ttlInPlace(g, f.expireAt);
    }
    return c;
  }

  memoryUsage(): number {
    return this.bytes;
  }

  isEmpty(): boolean {
    return this.map.size === 0;
  }

  /** Snapshot: a header (version, flags), then field, value, expiry (decimal, empty = none). */
  encode(): Uint8Array {
    const places = this.newPlaces();
    drain(this.takePlaces(places));
    return encodeView(this.partsOf(places));
  }

  private flags(): Uint8Array {
    return new Uint8Array([1, (this.table ? 1 : 0) | (this.ex ? 2 : 0)]);
  }

  /**
   * Encodes the snapshot a few thousand parts at a time. The fields' places are taken first (in
   * steps too, unless `copy`: the hash is being written meanwhile, and the copy must be of one
   * moment), and each part is made as it is encoded.
   */
  *encodeSteps(copy = false): Generator<void, Uint8Array> {
    const places = this.newPlaces();
    if (copy) drain(this.takePlaces(places));
    else yield* this.takePlaces(places);
    return yield* encodePartsInSteps(this.partsOf(places));
  }

  private newPlaces(): FieldPlaces {
    const n = this.size;
    return {
      count: 0,
      names: new Array(n),
      bufs: new Array(n),
      offs: new Uint32Array(n),
      sizes: new Uint32Array(n),
      expiries: new Float64Array(n),
    };
  }

  /** Notes every field's place in order (without the holes deletes leave), pausing now and then. */
  private *takePlaces(to: FieldPlaces): Generator<void> {
    let i = 0;
    for (const f of this.fields()) {
      if (i === to.names.length) throw new Error("hash: more fields than its size");
      f.placeInto(to, i++);
      if (i % PARTS_PER_STEP === 0) yield;
    }
    to.count = i;
  }

  /** The snapshot's parts: flags, then name, value and expiry (or "") of each field in order. */
  private partsOf(c: FieldPlaces): PartsView {
    const flags = this.flags();
    return {
      count: 1 + 3 * c.count,
      partAt: (p) => {
        if (p === 0) return flags;
        const j = Math.floor((p - 1) / 3);
        const k = (p - 1) % 3;
        if (k === 0) return c.names[j];
        if (k === 1) return new Uint8Array(c.bufs[j], c.offs[j], c.sizes[j]);
        return c.expiries[j] ? String(c.expiries[j]) : "";
      },
    };
  }

  /** Rebuilds a hash from {@link encode}'s snapshot. */
  static decode(snapshot: Uint8Array): HashValue {
    const r = new PartsReader(snapshot);
    const h = new HashValue();
    if (!r.next()) throw new RangeError("hash: empty snapshot");
    const flags = r.end - r.start > 1 ? snapshot[r.start + 1] : 0;
    if (flags & 1) h.table = true;
    if (flags & 2) h.ex = true;
    h.map.reserve(Math.floor((r.count - 1) / 3));
    const text = latin1Reader(snapshot);
    // Field name, value and TTL, each straight from the snapshot's bytes.
    for (let left = r.count - 1; left >= 3; left -= 3) {
      r.next();
      const name = text(r.start, r.end);
      r.next();
      const f = h.newField(name, copyRange(snapshot, r.start, r.end));
      h.map.set(name, f);
      if (!h.table) h.maxLen = Math.max(h.maxLen, f.name.length, f.size);
      r.next();
      if (r.end > r.start) h.ttlInPlace(f, Number(text(r.start, r.end)));
    }
    return h;
  }

  apply(op: string, args: Uint8Array[]): void {
    switch (op) {
      case "hset":
      case "hsetkeep":
        for (let i = 0; i + 1 < args.length; i += 2) {
          this.setBytes(args[i], args[i + 1], op === "hsetkeep");
        }
        return;
      case "hdel":
        for (const a of args) this.deleteBytes(a);
        return;
      case "hexpire": {
        const at = Number(latin1(args[0]));
        for (let i = 1; i < args.length; i++) {
          const f = this.map.getBytes(args[i]);
          if (f !== undefined) this.expire(f, at);
        }
        return;
      }
      case "hconvert":
        if (!this.table) this.toTable();
        return;
      case "hfe":
        this.markExpiry();
        return;
      case "hpersist":
        for (const a of args) {
          const f = this.map.getBytes(a);
          if (f !== undefined) this.persist(f);
        }
        return;
      default:
        throw new Error(`unknown hash effect '${op}'`);
    }
  }

  /** The field `name` (expired or not: callers expire due fields first). */
  get(name: string): HashField | undefined {
    return this.map.get(name);
  }

  /** {@link get} for a field name given as bytes (no string is made). */
  getBytes(name: Uint8Array): HashField | undefined {
    return this.map.getBytes(name);
  }

  /** Every field, in Redis's order for the encoding. */
  *fields(): IterableIterator<HashField> {
    const o = this.order;
    for (let i = 0; i < o.length; i++) {
      const f = o[i];
      if (f !== null) yield f;
    }
  }

  /**
   * Sets `name` to `value` (the caller's copy is kept). Without `keepTtl` a TTL on the field is
   * cleared (in a listpackex the field then moves to the end, as Redis re-inserts it). True when
   * the field is new.
   */
  set(name: string, value: Uint8Array, keepTtl = false): boolean {
    const f = this.map.get(name);
    if (!this.table) this.maxLen = Math.max(this.maxLen, name.length, value.length);
    if (f !== undefined) return this.update(f, value, keepTtl);
    this.map.insertMissing(name, this.newField(name, value));
    return true;
  }

  /** {@link set} for a field name given as bytes: its string is made only for a new field. */
  setBytes(name: Uint8Array, value: Uint8Array, keepTtl = false): boolean {
    const f = this.map.getBytes(name);
    if (!this.table) this.maxLen = Math.max(this.maxLen, name.length, value.length);
    if (f !== undefined) return this.update(f, value, keepTtl);
    const s = latin1(name);
    this.map.insertMissing(s, this.newField(s, value));
    return true;
  }

  /** Gives an existing field a new value; false (the field is not new). */
  private update(f: HashField, value: Uint8Array, keepTtl: boolean): false {
    this.bytes += value.length - f.size;
    f.value = value;
    if (!keepTtl && f.expireAt !== 0) this.persist(f);
    return false;
  }

  /** Deletes `name`; true when it existed. */
  delete(name: string): boolean {
    const f = this.map.delete(name);
    if (f === undefined) return false;
    this.dropped(f);
    return true;
  }

  /** {@link delete} for a field name given as bytes. */
  deleteBytes(name: Uint8Array): boolean {
    const f = this.map.deleteBytes(name);
    if (f === undefined) return false;
    this.dropped(f);
    return true;
  }

  /** Bookkeeping for a field just removed from the table. */
  private dropped(f: HashField): void {
    if (f.expireAt !== 0) this.ttls--;
    this.unlink(f);
    this.bytes -= FIELD_BYTES + f.name.length + f.value.length;
    if (this.ttls === 0 && this.heapAt.length) {
      this.heapAt = [];
      this.heapField = [];
    }
  }

  /** Sets the absolute expiry of an existing field (a listpackex keeps TTL order). */
  expire(f: HashField, at: number): void {
    if (!this.table) this.ex = true;
    this.setTtl(f, at);
  }

  /** Removes a field's TTL; true when it had one. */
  persist(f: HashField): boolean {
    if (f.expireAt === 0) return false;
    f.expireAt = 0;
    this.ttls--;
    if (!this.table) {
      this.unlink(f);
      this.order.push(f);
    }
    if (this.ttls === 0) {
      this.heapAt = [];
      this.heapField = [];
    }
    return true;
  }

  /**
   * Marks the hash as used with field expiry (Redis converts a listpack to a listpackex); true
   * when that changed the encoding (the caller logs an `hfe` effect).
   */
  markExpiry(): boolean {
    if (this.table || this.ex) return false;
    this.ex = true;
    return true;
  }

  /**
   * Redis 7.0's hashTypeTryConversion, before adding arguments whose longest is `longest` bytes:
   * one longer than `hash-max-listpack-value` makes a hashtable at once. True when it converted
   * (the caller logs an `hconvert` effect).
   */
  prepare(limits: EncodingLimits, longest: number): boolean {
    if (this.table || longest <= (limits[VALUE] ?? 64)) return false;
    this.toTable();
    return true;
  }

  /**
   * Converts to a hashtable when the hash outgrew the listpack limits (after a change); true when
   * it converted (the caller logs an `hconvert` effect).
   */
  sync(limits: EncodingLimits): boolean {
    this.judged = true;
    if (this.table) return false;
    if (this.map.size <= (limits[ENTRIES] ?? 512) && this.maxLen <= (limits[VALUE] ?? 64)) {
      return false;
    }
    this.toTable();
    return true;
  }

  /** The earliest field TTL, 0 when no field has one. */
  minExpire(): number {
    const at = this.heapAt, fs = this.heapField;
    while (at.length) {
      const f = fs[0];
      if (f.expireAt === at[0] && this.map.get(f.name) === f) return at[0];
      this.heapPop();
    }
    return 0;
  }

  /** Deletes the fields whose TTL is at or before `now`; returns their names. */
  expireDue(now: number, max = Infinity): string[] {
    const out: string[] = [];
    for (;;) {
      const m = this.minExpire();
      if (m === 0 || m > now || out.length >= max) break;
      const f = this.heapField[0];
      this.heapPop();
      this.delete(f.name);
      out.push(f.name);
    }
    return out;
  }

  /** A random field (uniform); the hash must not be empty. */
  randomField(): HashField {
    const o = this.order;
    for (;;) {
      const f = o[Math.floor(Math.random() * o.length)];
      if (f !== null) return f;
    }
  }

  /**
   * One HSCAN step over a hashtable: up to `count` fields from sequence number `cursor` on;
   * returns the next cursor (0 when done). A small hash is scanned whole by the caller.
   */
  scan(cursor: number, count: number, out: HashField[]): number {
    const o = this.order, seqs = this.orderSeq;
    let lo = 0, hi = o.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqs[mid] < cursor) lo = mid + 1;
      else hi = mid;
    }
    let i = lo, n = 0;
    for (; i < o.length && n < count; i++) {
      const f = o[i];
      if (f !== null) {
        out.push(f);
        n++;
      }
    }
    while (i < o.length && o[i] === null) i++;
    return i < o.length ? seqs[i] : 0;
  }

  /** A new field placed in the order (the caller puts it in the table). */
  private newField(name: string, value: Uint8Array): HashField {
    const f = new HashField(name, value);
    this.bytes += FIELD_BYTES + name.length + value.length;
    if (this.table) {
      f.seq = this.nextSeq++;
      f.idx = this.order.length;
      this.orderSeq.push(f.seq);
    }
    this.order.push(f);
    return f;
  }

  /** Sets a TTL without moving the field (snapshots and clones are already in order). */
  private ttlInPlace(f: HashField, at: number): void {
    if (f.expireAt === 0) this.ttls++;
    f.expireAt = at;
    this.heapPush(at, f);
  }

  private setTtl(f: HashField, at: number): void {
    if (f.expireAt === 0) this.ttls++;
    f.expireAt = at;
    if (!this.table) {
      // listpackex order: before the first field without a TTL or with a later-or-equal one.
      this.unlink(f);
      const o = this.order;
      let i = 0;
      while (i < o.length && o[i]!.expireAt !== 0 && o[i]!.expireAt < at) i++;
      o.splice(i, 0, f);
    }
    this.heapPush(at, f);
    if (this.heapAt.length > 2 * this.ttls + 32) this.rebuildHeap();
  }

  private unlink(f: HashField): void {
    if (!this.table) {
      this.order.splice(this.order.indexOf(f), 1);
      return;
    }
    this.order[f.idx] = null;
    this.holes++;
    if (this.holes > 16 && this.holes * 2 > this.order.length) this.compact();
  }

  private compact(): void {
    const o: HashField[] = [];
    const s: number[] = [];
    for (const f of this.order) {
      if (f === null) continue;
      f.idx = o.length;
      o.push(f);
      s.push(f.seq);
    }
    this.order = o;
    this.orderSeq = s;
    this.holes = 0;
  }

  private toTable(): void {
    this.table = true;
    const o = this.order;
    this.orderSeq = new Array(o.length);
    for (let i = 0; i < o.length; i++) {
      const f = o[i]!;
      f.idx = i;
      f.seq = this.nextSeq++;
      this.orderSeq[i] = f.seq;
    }
  }

  private rebuildHeap(): void {
    this.heapAt = [];
    this.heapField = [];
    this.map.forEachValue((f) => {
      if (f.expireAt !== 0) this.heapPush(f.expireAt, f);
    });
  }

  private heapPush(at: number, f: HashField): void {
    const a = this.heapAt, fs = this.heapField;
    let i = a.length;
    a.push(at);
    fs.push(f);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= at) break;
      a[i] = a[p];
      fs[i] = fs[p];
      i = p;
    }
    a[i] = at;
    fs[i] = f;
  }

  private heapPop(): void {
    const a = this.heapAt, fs = this.heapField;
    const lastAt = a.pop()!, lastF = fs.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= lastAt) break;
      a[i] = a[c];
      fs[i] = fs[c];
      i = c;
    }
    a[i] = lastAt;
    fs[i] = lastF;
  }
}

registerValueType(
  "hash",
  (snapshot) => snapshot === null ? new HashValue() : HashValue.decode(snapshot),
);

// ---------------------------------------------------------------------------------------------
// Field expiry at the keyspace level: lazy (on access) and active (the expire cycle).

/** One hash in the expiry index of a database, filed under its earliest field TTL. */
export interface IndexEntry {
  at: number;
  db: number;
  key: string;
  hv: HashValue;
}

/** Per keyspace: a min-heap of hashes by earliest field TTL for every database. */
interface ExpiryIndex {
  heaps: IndexEntry[][];
  /** Discovery scan cursors, per shard × database (finds hashes renamed, copied, recovered). */
  cursors: number[];
  next: number;
}

const indexes = new WeakMap<Keyspace, ExpiryIndex>();

function indexOf(ks: Keyspace): ExpiryIndex {
  let ix = indexes.get(ks);
  if (ix === undefined) {
    ix = { heaps: ks.dbs.map(() => []), cursors: [], next: 0 };
    indexes.set(ks, ix);
  }
  return ix;
}

function push(heap: IndexEntry[], e: IndexEntry): void {
  let i = heap.length;
  heap.push(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (heap[p].at <= e.at) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = e;
}

function pop(heap: IndexEntry[]): void {
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap[c + 1].at < heap[c].at) c++;
    if (heap[c].at >= last.at) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = last;
}

/**
 * Files the hash at `key` in `db` in the expiry index under its earliest field TTL (a no-op when
 * it is already filed there no later than that, or has no TTLs). Commands call it after changing
 * field TTLs; the active cycle re-files what it visits.
 */
export function trackHashExpiry(db: Database, key: string, hv: HashValue): void {
  const at = hv.minExpire();
  if (at === 0) return;
  const r = hv.reg;
  if (r !== null && r.db === db.index && r.key === key && r.at <= at) return;
  const e: IndexEntry = { at, db: db.index, key, hv };
  hv.reg = e;
  const heap = indexOf(db.keyspace).heaps[db.index];
  push(heap, e);
  if (heap.length > 1024 && heap.length > 4 * countLive(heap)) {
    const live = heap.filter((x) => x.hv.reg === x);
    heap.length = 0;
    for (const x of live) push(heap, x);
  }
}

function countLive(heap: IndexEntry[]): number {
  let n = 0;
  for (const x of heap) if (x.hv.reg === x) n++;
  return n;
}

/**
 * Deletes the fields of the hash at `e` whose TTL has passed (at the command's clock), logging
 * them as `hdel` and sending `hexpired`; deletes the key (and sends `del`) when no field is left.
 * Returns true when the key was deleted. `max` bounds the fields deleted (the active cycle).
 */
export function expireHashFields(db: Database, e: Entry, hv: HashValue, max = Infinity): boolean {
  const now = db.keyspace.now;
  const m = hv.minExpire();
  if (m === 0 || m > now) return false;
  const before = hv.memoryUsage();
  const gone = hv.expireDue(now, max);
  db.effect(e, "hdel", gone.map((name) => latin1Bytes(name)), hv.memoryUsage() - before);
  db.notify("h", "hexpired", e.key);
  if (hv.isEmpty()) {
    db.delete(e.key);
    db.notify("g", "del", e.key);
    return true;
  }
  return false;
}

/** Fields the active cycle may delete per run. */
const ACTIVE_FIELDS_PER_CYCLE = 10000;
/** Keys per run the discovery scan visits, looking for hashes the index lost track of. */
const DISCOVERY_PER_CYCLE = 256;

/**
 * The active expiry of hash fields: deletes due fields of the hashes the index files as due,
 * within `budgetMs` and a field quota, then visits a few keys to file hashes with TTLs the index
 * has not seen (renamed, copied, moved or recovered ones). Run by the keyspace's active expire
 * cycle (registered in `subkeyExpireCycles`), with `ks.now` set.
 */
export function activeExpireHashFields(ks: Keyspace, budgetMs: number): void {
  const start = performance.now();
  const now = ks.now;
  const ix = indexOf(ks);
  let quota = ACTIVE_FIELDS_PER_CYCLE;
  for (let d = 0; d < ix.heaps.length && quota > 0; d++) {
    const heap = ix.heaps[d];
    const db = ks.dbs[d];
    while (heap.length && heap[0].at <= now && quota > 0) {
      const r = heap[0];
      pop(heap);
      const hv = r.hv;
      if (hv.reg !== r) continue;
      hv.reg = null;
      const e = db.peek(r.key);
      if (e === undefined || e.value !== hv) continue;
      const before = hv.size;
      if (!expireHashFields(db, e, hv, quota)) trackHashExpiry(db, r.key, hv);
      quota -= before - hv.size;
      if (performance.now() - start > budgetMs) return;
    }
  }
  // Discovery: a bounded walk over the key tables.
  const tables = ks.shards.length * ks.dbs.length;
  let visited = 0;
  for (let n = 0; n < tables && visited < DISCOVERY_PER_CYCLE; n++) {
    const t = ix.next;
    const shard = ks.shards[Math.floor(t / ks.dbs.length) % ks.shards.length];
    const d = t % ks.dbs.length;
    const out: Entry[] = [];
    const cursor = shard.tables[d].scan(ix.cursors[t] ?? 0, DISCOVERY_PER_CYCLE - visited, out);
    ix.cursors[t] = cursor;
    if (cursor === 0) ix.next = (t + 1) % tables;
    visited += out.length + 1;
    for (const e of out) {
      const v = e.value;
      if (!(v instanceof HashValue) || v.ttlCount === 0) continue;
      const r = v.reg;
      if (r === null || r.db !== d || r.key !== e.key) trackHashExpiry(ks.dbs[d], e.key, v);
    }
    if (cursor !== 0) break;
  }
}

subkeyExpireCycles.push(activeExpireHashFields);
