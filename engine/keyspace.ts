/**
 * The sharded keyspace. Keys are binary strings (one char per byte, latin1), routed to a shard by
 * their cluster slot; every shard holds one {@link KeyTable} per logical database. Handlers reach
 * data through a {@link Database} view (`ctx.db`); every change goes through it, so the effect log,
 * WATCH and keyspace notifications see all writes.
 *
 * Expiry is lazy (checked on access) and active ({@link Keyspace.activeExpireCycle}, Redis's
 * sampling cycle), so the memory of expired keys comes back without reads.
 *
 * @module
 */
import { type EffectLog, NO_LOG } from "./effects.ts";
import { globMatch } from "./glob.ts";
import { keySlot, keySlotBytes, slotShard } from "./slot.ts";
import { hashBytes, hashMember, sameBytes } from "./values/member_table.ts";
import { latin1 } from "./bytes.ts";
import { type EncodingLimits, typeName, type Value, valueSize } from "./values/types.ts";

/** Where the LRU clock starts: 2024-01-01T00:00:00Z, in seconds since the Unix epoch. */
export const LRU_EPOCH_S = 1_704_067_200;

/**
 * The LRU clock at a time in ms since the epoch: whole seconds (Redis's LRU clock has a
 * resolution of one second) since {@link LRU_EPOCH_S}, so it is a small integer (until 2058),
 * stored in the entry itself. A time in ms is a heap number, a box of its own per entry that
 * every read of a key would touch.
 */
export function lruClock(ms: number): number {
  return Math.floor(ms / 1000) - LRU_EPOCH_S;
}

/** `expireAt` argument of {@link Database.set} that keeps the key's current TTL. */
export const KEEP_TTL = -1;

/**
 * Estimated fixed memory of one key besides its name's and value's bytes, for maxmemory
 * accounting: the entry, its bucket slot, the name's string header and the log bookkeeping.
 * Measured: a key of 16 bytes with a 3-byte value and its log location grows the V8 heap by
 * ~202 bytes (2026-11-27, Deno 2.9), 183 besides those bytes.
 */
export const ENTRY_OVERHEAD = 185;

/** Bytes of a key's value, in memory or cold (a cold string keeps its length). */
export function storedSize(e: Entry): number {
  return e.strLen >= 0 ? e.strLen : valueSize(e.value);
}

/** Bytes a key and its value hold in memory (a cold value is not in memory). */
export function entryMemory(e: Entry): number {
  return ENTRY_OVERHEAD + e.key.length +
    (e.cold ? 0 : storedSize(e));
}

/**
 * One key. A string value is kept as its bytes' place (buffer, offset, length), not as a view:
 * a `Uint8Array` costs 104 bytes of its own (Deno's V8 has no pointer compression), a third of
 * a small key's memory. Reading {@link value} makes a view, which dies young.
 */
export class Entry {
  /** Hash for the scan table. */
  readonly hash: number;
  /** The next entry in the same bucket of the table's scan chains. */
  next: Entry | null = null;
  readonly key: string;
  /** Absolute expiry in ms since the epoch; 0 = persistent. */
  expireAt: number;
  /**
   * Three small fields in one small integer (8 bytes each otherwise): {@link cold} (bit 0), a
   * pinned {@link encoding} (bits 1–2) and the {@link shard} (from bit 3).
   */
  private flags: number;
  /** A collection, or the buffer holding a string's bytes (at {@link dataOffset}, {@link strLen} long). */
  private data: Value | ArrayBufferLike;
  private dataOffset = 0;
  /**
   * Redis's `lru` field: with an LFU policy ({@link Keyspace.lfuMode}), the minute the counter
   * last decayed (16 bits, of {@link lfuMinutes}) above the logarithmic access counter (8 bits:
   * OBJECT FREQ); otherwise the last access on the {@link lruClock} (OBJECT IDLETIME). As in
   * Redis, a change of policy reads the other kind until keys are touched again.
   */
  lru: number;
  /**
   * The length of the value when it is a string, in memory or cold (-1 for other types), so that
   * replacing it does not read the old value (a cache miss per SET of an existing key), and the
   * length of its bytes at its log location. Set with {@link value} and {@link makeCold}.
   */
  strLen = -1;
  /**
   * Log sequence number of the last record written for this key (0: none yet), as two small
   * integers ({@link entryLsn}): a µs clock is a heap number, a box of its own per entry that
   * every write of the key would touch.
   */
  lsnHigh = 0;
  lsnLow = 0;
  /** Bytes of log records that describe this key's current state (dead once superseded). */
  logBytes = 0;
  /**
   * Where the key's string value is in the log: its file (a segment id, negative for a snapshot;
   * {@link NO_SEGMENT} when not written, or not a string) and the offset of the value's bytes
   * there ({@link strLen} of them). Fields, not an object: each write would make one that
   * outlives it.
   */
  locSegment = NO_SEGMENT;
  locOffset = 0;
  /** Position in the table's volatile array, -1 when persistent. */
  volIdx = -1;

  // The order of the field declarations is the layout (class fields are defined in that order).
  // What every lookup reads comes first (a chain walk reads hash and next, a hit key, expireAt,
  // flags, the value and lru), so a lookup touches one or two cache lines of the entry, not three.
  constructor(
    key: string,
    value: Value,
    expireAt: number,
    shard: number,
    encoding: string | undefined,
    now: number,
    lfu: boolean,
  ) {
    this.hash = hashKey(key);
    this.key = key;
    this.expireAt = expireAt;
    this.flags = (shard << 3) | (encodingCode(encoding) << 1);
    this.data = value;
    this.lru = lfu ? (lfuMinutes(now) << 8) | LFU_INIT : lruClock(now);
    this.value = value;
  }

  /**
   * True when the string value is not held in memory (read back from its log location on
   * access). Assigning a {@link value} makes it hot.
   */
  get cold(): boolean {
    return (this.flags & 1) !== 0;
  }

  /** Drops the string's bytes from memory: its `length` bytes are at its log location. */
  makeCold(length: number): void {
    this.flags |= 1;
    this.data = EMPTY_BUFFER;
    this.dataOffset = 0;
    this.strLen = length;
  }

  /** A string's encoding when it is not derived from its content (APPEND makes `raw`). */
  get encoding(): string | undefined {
    return ENCODINGS[(this.flags >> 1) & 3];
  }

  set encoding(encoding: string | undefined) {
    this.flags = (this.flags & ~6) | (encodingCode(encoding) << 1);
  }

  /** The shard that owns the key (its slot's), kept so writes do not hash the key again. */
  get shard(): number {
    return this.flags >> 3;
  }

  /** The value: a collection, or a new view of the string's bytes (empty when cold). */
  get value(): Value {
    const n = this.strLen;
    if (n < 0) return this.data as Value;
    return (this.flags & 1) === 0
      ? new Uint8Array(this.data as ArrayBuffer, this.dataOffset, n)
      : new Uint8Array(0);
  }

  set value(v: Value) {
    this.flags &= ~1;
    if (v instanceof Uint8Array) {
      this.data = v.buffer;
      this.dataOffset = v.byteOffset;
      this.strLen = v.length;
    } else {
      this.data = v;
      this.strLen = -1;
    }
  }
}

const EMPTY_BUFFER = new ArrayBuffer(0);

/** Encodings a string can have pinned ({@link Entry.encoding}), by their code in the entry. */
const ENCODINGS = [undefined, "raw", "embstr", "int-unshared"] as const;

/** The code of a pinned encoding; any other name (`int` …) is derived from the content: 0. */
function encodingCode(encoding: string | undefined): number {
  return encoding === "raw" ? 1 : encoding === "embstr" ? 2 : encoding === "int-unshared" ? 3 : 0;
}

/** {@link Entry.locSegment} of a value that has no place in the log (segment ids start at 1). */
export const NO_SEGMENT = 0;

const LSN_SPLIT = 2 ** 30;

/** The log sequence number of the last record written for an entry (0: none yet). */
export function entryLsn(e: Entry): number {
  return e.lsnHigh * LSN_SPLIT + e.lsnLow;
}

/** Notes the log sequence number (an integer below 2^53) of a record written for an entry. */
export function setEntryLsn(e: Entry, lsn: number): void {
  const high = Math.floor(lsn / LSN_SPLIT);
  e.lsnHigh = high;
  // `| 0`: the difference of two doubles is a double even when whole, and one such store makes
  // V8 keep the field as a box of its own (16 bytes) in every entry; an int32 stays inline.
  e.lsnLow = (lsn - high * LSN_SPLIT) | 0;
}

/** Notes where an entry's string value (all {@link Entry.strLen} bytes of it) is in the log. */
export function setLocation(e: Entry, segment: number, offset: number): void {
  e.locSegment = segment;
  e.locOffset = offset;
}

/** Keyspace counters reported by INFO. */
export interface KeyspaceStats {
  hits: number;
  misses: number;
  expired: number;
  evicted: number;
  expiredStalePercent: number;
  expireCycleMs: number;
}

/** Who hears about changes: WATCH, client tracking, keyspace notifications. */
export interface KeyspaceListener {
  /**
   * `key` in `db` changed; `key` is null when the whole database is about to change (flush,
   * swap: called before the change). For a swap, `swappedWith` is the database whose keys `db`
   * is about to hold.
   */
  modified?(db: number, key: string | null, swappedWith?: number): void;
  /** A keyspace notification: `cls` is Redis's class letter (`$`, `g`, `x` …). */
  notify?(cls: string, event: string, db: number, key: string): void;
}

/**
 * The key's hash: HalfSipHash under the process's random key (so clients cannot choose keys that
 * share a bucket, as Redis's SipHash prevents), cut to 30 bits: a small integer (Smi) is stored in
 * the entry itself, while a larger number would cost every entry a separate heap box.
 */
function hashKey(key: string): number {
  return hashMember(key) & 0x3fffffff;
}

/** A key as a binary string, or as its bytes straight from a request (no string is made). */
export type Key = string | Uint8Array;

/** A key as a binary string (made from its bytes when it came as bytes). */
export function keyString(key: Key): string {
  return typeof key === "string" ? key : latin1(key);
}

function reverseBits(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

/** The reverse-binary cursor after `v` over buckets `mask` (Redis's SCAN increment). */
function nextCursor(v: number, mask: number): number {
  return reverseBits((reverseBits((v | ~mask) >>> 0) + 1) >>> 0);
}

/**
 * The keys of one database in one shard: a power-of-two table of buckets, each a chain through
 * the entries' `next` field (no array per bucket, no second index), that serves lookups, gives
 * SCAN Redis's guarantee (a key present for the whole scan is returned) through resizes, and
 * picks random keys; plus an array of keys with a TTL for sampling by the active expire cycle.
 * The table doubles past one entry per bucket and halves below 10%, as Redis's dict does.
 *
 * A resize is incremental, as Redis's rehashing: the old bucket array stays beside the new one
 * and its buckets move over in order, a few with every add and remove and the rest in the server
 * cron ({@link rehash}), so a table of millions of keys never stops the server to move them all
 * at once (a one-step resize took 120 ms at 1M keys, 250 ms at 2M). An entry is in the old
 * array exactly when its old bucket has not moved yet, so every lookup walks one chain.
 */
export class KeyTable {
  private heads: (Entry | null)[] = new Array(4).fill(null);
  private mask = 3;
  /** While rehashing: the bucket array being emptied into `heads` (null otherwise). */
  private old: (Entry | null)[] | null = null;
  private oldMask = 0;
  /** While rehashing: the buckets of `old` before this one have moved. */
  private rehashIdx = 0;
  private count = 0;
  readonly volatile: Entry[] = [];

  get size(): number {
    return this.count;
  }

  /** True while an incremental resize is under way. */
  get rehashing(): boolean {
    return this.old !== null;
  }

  /** The entry of `key` (expired or not), or undefined. */
  get(key: string): Entry | undefined {
    const h = hashKey(key);
    for (let e = this.chain(h); e !== null; e = e.next) {
      if (e.hash === h && e.key === key) return e;
    }
    return undefined;
  }

  /** {@link get} for a key given as a string or as its bytes. */
  find(key: Key): Entry | undefined {
    return typeof key === "string" ? this.get(key) : this.getBytes(key);
  }

  /** {@link get} for a key given as bytes. */
  getBytes(key: Uint8Array): Entry | undefined {
    const h = hashBytes(key, key.length) & 0x3fffffff;
    for (let e = this.chain(h); e !== null; e = e.next) {
      if (e.hash === h && sameBytes(e.key, key)) return e;
    }
    return undefined;
  }

  /** True when the entry of hash `h` is in the old array (its old bucket has not moved yet). */
  private inOld(h: number): boolean {
    return this.old !== null && (h & this.oldMask) >= this.rehashIdx;
  }

  /** The first entry of the chain that holds hash `h`. */
  private chain(h: number): Entry | null {
    return this.inOld(h) ? this.old![h & this.oldMask] : this.heads[h & this.mask];
  }

  /** Adds an entry whose key is not in the table. */
  add(e: Entry): void {
    if (this.old !== null) this.rehashSteps(2);
    const inOld = this.inOld(e.hash);
    const heads = inOld ? this.old! : this.heads;
    const i = e.hash & (inOld ? this.oldMask : this.mask);
    e.next = heads[i];
    heads[i] = e;
    if (++this.count > this.heads.length) this.resize(this.heads.length * 2);
    if (e.expireAt !== 0) this.addVolatile(e);
  }

  remove(e: Entry): void {
    const old = this.old;
    const inOld = this.inOld(e.hash);
    const heads = inOld ? old! : this.heads;
    const i = e.hash & (inOld ? this.oldMask : this.mask);
    let cur = heads[i];
    if (cur === e) heads[i] = e.next;
    else {
      while (cur!.next !== e) cur = cur!.next;
      cur!.next = e.next;
    }
    e.next = null;
    this.count--;
    if (e.volIdx >= 0) this.removeVolatile(e);
    if (old !== null) this.rehashSteps(2);
    // Shrink below 10% fill, as Redis does, so random sampling stays cheap.
    if (this.heads.length > 4 && this.count * 10 < this.heads.length) {
      let size = 4;
      while (size < this.count) size *= 2;
      this.resize(size);
    }
  }

  /** Makes room for `n` entries at once (recovery knows how many keys are coming). */
  reserve(n: number): void {
    let size = this.heads.length;
    while (size < n) size *= 2;
    if (size > this.heads.length) {
      this.resize(size);
      this.rehashSteps(Infinity);
    }
  }

  /**
   * Every entry, bucket by bucket. The table must not change while this runs; code that changes
   * it on the way, or waits between entries, takes a copy ({@link entries}) or uses {@link scan}.
   */
  *values(): IterableIterator<Entry> {
    for (const heads of this.old === null ? [this.heads] : [this.old, this.heads]) {
      for (let i = 0; i < heads.length; i++) {
        for (let e = heads[i]; e !== null; e = e.next) yield e;
      }
    }
  }

  /** Every entry, in an array of its own. */
  entries(): Entry[] {
    return Array.from(this.values());
  }

  /** Keeps the volatile array in step with an entry's expiry. */
  setExpire(e: Entry, at: number): void {
    e.expireAt = at;
    if (at !== 0 && e.volIdx < 0) this.addVolatile(e);
    else if (at === 0 && e.volIdx >= 0) this.removeVolatile(e);
  }

  private addVolatile(e: Entry): void {
    e.volIdx = this.volatile.length;
    this.volatile.push(e);
  }

  private removeVolatile(e: Entry): void {
    const last = this.volatile.pop()!;
    if (last !== e) {
      this.volatile[e.volIdx] = last;
      last.volIdx = e.volIdx;
    }
    e.volIdx = -1;
  }

  /** Starts moving the entries into a bucket array of `size` (finishing a resize under way). */
  private resize(size: number): void {
    if (this.old !== null) this.rehashSteps(Infinity);
    if (size === this.heads.length) return;
    this.old = this.heads;
    this.oldMask = this.mask;
    this.rehashIdx = 0;
    this.heads = new Array(size).fill(null);
    this.mask = size - 1;
  }

  /**
   * Moves up to `n` non-empty old buckets (visiting at most 10 empty ones per bucket, as Redis's
   * rehash step); returns how many were moved or visited.
   */
  private rehashSteps(n: number): number {
    const old = this.old!;
    const heads = this.heads, mask = this.mask;
    let i = this.rehashIdx;
    let empty = n * 10;
    let done = 0;
    while (n > 0 && i < old.length) {
      let e = old[i];
      if (e === null) {
        i++;
        done++;
        if (--empty === 0) break;
        continue;
      }
      old[i++] = null;
      while (e !== null) {
        const next: Entry | null = e.next;
        const j = e.hash & mask;
        e.next = heads[j];
        heads[j] = e;
        e = next;
      }
      n--;
      done++;
    }
    this.rehashIdx = i;
    if (i === old.length) this.old = null;
    return done;
  }

  /**
   * Moves old buckets for about `ms` milliseconds (the server cron's active rehashing); true when
   * a resize is still under way afterwards.
   */
  rehash(ms: number): boolean {
    if (this.old === null) return false;
    const until = performance.now() + ms;
    while (this.old !== null && performance.now() < until) this.rehashSteps(100);
    return this.old !== null;
  }

  /**
   * Visits the buckets from `cursor` (Redis's reverse-binary cursor) until `count` entries are
   * collected or the table wraps; returns the next cursor (0 when done). While rehashing, each
   * step visits the smaller array's bucket and every bucket of the larger one that it expands
   * to, as Redis's dictScan does, so no entry is missed whichever array holds it.
   */
  scan(cursor: number, count: number, out: Entry[]): number {
    let v = cursor >>> 0;
    let visits = count * 10;
    const target = out.length + count;
    do {
      const old = this.old;
      if (old === null) {
        const m = this.mask;
        for (let e = this.heads[v & m]; e !== null; e = e.next) out.push(e);
        v = nextCursor(v, m);
      } else {
        let small = old, large = this.heads, m0 = this.oldMask, m1 = this.mask;
        if (m0 > m1) {
          [small, large] = [large, small];
          [m0, m1] = [m1, m0];
        }
        for (let e = small[v & m0]; e !== null; e = e.next) out.push(e);
        do {
          for (let e = large[v & m1]; e !== null; e = e.next) out.push(e);
          // Over the larger mask: through the expansion bits first, then (once they wrap) into
          // the smaller mask's bits, the next step.
          v = nextCursor(v, m1);
        } while ((v & (m0 ^ m1)) !== 0);
      }
    } while (v !== 0 && --visits > 0 && out.length < target);
    return v;
  }

  /** A random entry, or undefined when empty. */
  random(): Entry | undefined {
    if (this.count === 0) return undefined;
    const old = this.old;
    for (;;) {
      // While rehashing, a bucket of either array (the old one's moved buckets are empty).
      const n = this.heads.length + (old === null ? 0 : old.length);
      const i = Math.floor(Math.random() * n);
      let e = i < this.heads.length ? this.heads[i] : old![i - this.heads.length];
      if (e === null) continue;
      let len = 0;
      for (let c: Entry | null = e; c !== null; c = c.next) len++;
      for (let k = Math.floor(Math.random() * len); k > 0; k--) e = e!.next;
      return e!;
    }
  }
}

/** One shard: the tables of every database for the slots it owns. */
export class Shard {
  readonly tables: KeyTable[];
  constructor(readonly index: number, databases: number) {
    this.tables = Array.from({ length: databases }, () => new KeyTable());
  }
}

/** Options of a {@link Keyspace}. */
export interface KeyspaceOptions {
  shardCount: number;
  databases: number;
  log?: EffectLog;
}

/**
 * Active expiry of parts of values (hash fields with TTLs), run at the end of every
 * {@link Keyspace.activeExpireCycle} with `ks.now` set and the budget left. Value families that
 * expire sub-elements register here when their module loads.
 */
export const subkeyExpireCycles: ((ks: Keyspace, budgetMs: number) => void)[] = [];

/** All data: shards × databases, and what watches it. */
export class Keyspace {
  readonly shards: Shard[];
  readonly dbs: Database[];
  readonly stats: KeyspaceStats = {
    hits: 0,
    misses: 0,
    expired: 0,
    evicted: 0,
    expiredStalePercent: 0,
    expireCycleMs: 0,
  };
  private readonly modifiedHooks: ((
    db: number,
    key: string | null,
    swappedWith?: number,
  ) => void)[] = [];
  private readonly notifyHooks: ((cls: string, event: string, db: number, key: string) => void)[] =
    [];
  log: EffectLog;
  /** Time of the command being run, so one command sees one clock (Redis's cached mstime). */
  now: number = Date.now();
  /**
   * While EXEC runs, its start: keys expire by this time, so none expires between two of a
   * transaction's commands (Redis 7.0's fixed_time_expire), while new TTLs and TTL replies
   * still count from {@link now}. 0 otherwise.
   */
  execTime = 0;

  /** The time keys expire by: {@link now}, or EXEC's start while it runs. */
  get expiryNow(): number {
    return this.execTime || this.now;
  }
  /** Set by dispatch for clients in CLIENT NO-TOUCH mode. */
  noTouch = false;
  /** True while listeners hear of a key that expired (a change no client made). */
  expiring = false;
  /**
   * True during CLIENT PAUSE: keys past their TTL read as missing but are not deleted (no
   * `expired` event, no log record), as Redis expires nothing while paused. Writes still
   * replace such a key (a write that runs during a pause).
   */
  expiryPaused = false;
  /** LFU bookkeeping (maxmemory-policy *-lfu): counters instead of recency. */
  lfuMode = false;
  lfuLogFactor = 10;
  lfuDecayTime = 1;
  /** Thresholds for OBJECT ENCODING, from the *-max-listpack-* parameters. */
  encodingLimits: EncodingLimits = {};
  /** Estimated bytes held by keys and values. */
  usedBytes = 0;
  /** Reads a cold value back (set by the durable engine); counts hot and cold reads. */
  coldReader: ((e: Entry) => Uint8Array) | null = null;
  /** Called after a cold value was read back (large values go cold again). */
  onWarm: ((e: Entry) => void) | null = null;
  hotReads = 0;
  coldReads = 0;
  private readonly shardMask: number;

  constructor(opts: KeyspaceOptions) {
    this.shards = Array.from({ length: opts.shardCount }, (_, i) => new Shard(i, opts.databases));
    this.dbs = Array.from({ length: opts.databases }, (_, i) => new Database(this, i));
    this.log = opts.log ?? NO_LOG;
    this.shardMask = opts.shardCount - 1;
  }

  /** The shard that owns `key`. */
  shardOf(key: Key): number {
    if (this.shardMask === 0) return 0;
    const slot = typeof key === "string" ? keySlot(key) : keySlotBytes(key);
    return slotShard(slot, this.shards.length);
  }

  /** The table of `key` in database `db`. */
  table(db: number, key: string): KeyTable {
    return this.shards[this.shardOf(key)].tables[db];
  }

  /**
   * Adds a listener. Its methods are kept as functions of their own, one list per kind: every
   * write calls them, and a loop over different listener objects looking up an optional method
   * on each was a megamorphic property load per listener per write.
   */
  listen(l: KeyspaceListener): void {
    if (l.modified) this.modifiedHooks.push(l.modified.bind(l));
    if (l.notify) this.notifyHooks.push(l.notify.bind(l));
  }

  /** Tells listeners a key (or, with null, a whole database) changed. */
  modified(db: number, key: string | null, swappedWith?: number): void {
    const hooks = this.modifiedHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i](db, key, swappedWith);
  }

  /** Sends a keyspace notification to listeners. */
  notify(cls: string, event: string, db: number, key: string): void {
    const hooks = this.notifyHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i](cls, event, db, key);
  }

  /** Removes every key of every database (FLUSHALL). */
  flushAll(): void {
    // Listeners hear of a whole-database change before it happens, so they can still see
    // which of their keys existed (WATCH marks only those).
    for (let i = 0; i < this.dbs.length; i++) this.modified(i, null);
    // Without visiting the old tables' entries: usedBytes counts entries only.
    for (let db = 0; db < this.dbs.length; db++) this.emptyTables(db);
    this.usedBytes = 0;
    this.log.flush(-1);
  }

  /** Gives database `db` empty tables in every shard, without logging or accounting. */
  emptyTables(db: number): void {
    for (const s of this.shards) s.tables[db] = new KeyTable();
  }

  /** Swaps the contents of two databases (SWAPDB). */
  swap(a: number, b: number): void {
    this.modified(a, null, b);
    this.modified(b, null, a);
    for (const s of this.shards) [s.tables[a], s.tables[b]] = [s.tables[b], s.tables[a]];
    this.log.swap(a, b);
  }

  /**
   * Active rehashing (the server cron, `activerehashing yes`): moves buckets of tables being
   * resized for about `budgetMs` in all, as Redis's databasesCron gives each database 1 ms.
   */
  rehash(budgetMs: number): void {
    const until = performance.now() + budgetMs;
    for (const shard of this.shards) {
      for (const t of shard.tables) {
        if (!t.rehashing) continue;
        const left = until - performance.now();
        if (left <= 0) return;
        t.rehash(left);
      }
    }
  }

  /**
   * One active expire cycle: samples keys with a TTL in every table and deletes the expired
   * ones, repeating on a table while more than 10% of a sample had expired, within `budgetMs`.
   * `effort` (0-9, `active-expire-effort` - 1) samples more keys per round and accepts fewer
   * stale ones, as Redis's does.
   */
  activeExpireCycle(budgetMs: number, effort = 0): void {
    const perLoop = 20 + 5 * effort;
    const acceptableStale = 10 - effort;
    const start = performance.now();
    const now = Date.now();
    this.now = now;
    let sampled = 0;
    let expired = 0;
    outer:
    for (const shard of this.shards) {
      for (let db = 0; db < shard.tables.length; db++) {
        const t = shard.tables[db];
        for (;;) {
          const vol = t.volatile;
          if (vol.length === 0) break;
          const n = Math.min(perLoop, vol.length);
          let hit = 0;
          for (let i = 0; i < n && vol.length > 0; i++) {
            const e = vol[Math.floor(Math.random() * vol.length)];
            if (e.expireAt <= now) {
              this.dbs[db].expireEntry(t, e);
              hit++;
            }
          }
          sampled += n;
          expired += hit;
          if (performance.now() - start > budgetMs) break outer;
          if (hit * 100 <= n * acceptableStale) break;
        }
      }
    }
    for (const run of subkeyExpireCycles) {
      run(this, Math.max(0, budgetMs - (performance.now() - start)));
    }
    if (sampled > 0) {
      this.stats.expiredStalePercent = this.stats.expiredStalePercent * 0.95 +
        (expired / sampled) * 100 * 0.05;
    }
    this.stats.expireCycleMs += performance.now() - start;
  }

  /** Total keys in every database. */
  totalKeys(): number {
    let n = 0;
    for (const s of this.shards) for (const t of s.tables) n += t.size;
    return n;
  }
}

/** The time in minutes, 16 bits of it (Redis's LFUGetTimeInMinutes). */
function lfuMinutes(now: number): number {
  return Math.floor(now / 60000) & 0xffff;
}

/** Decremented LFU counter for the time since it last decayed (Redis's LFUDecrAndReturn). */
export function lfuCounter(e: Entry, decayTime: number): number {
  const counter = e.lru & 0xff;
  if (decayTime <= 0) return counter;
  const last = (e.lru >>> 8) & 0xffff;
  const minutes = lfuMinutes(Date.now());
  const elapsed = minutes >= last ? minutes - last : 65535 - last + minutes;
  const periods = Math.floor(elapsed / decayTime);
  return periods > counter ? 0 : counter - periods;
}

/** The counter value a new key starts with (LFU_INIT_VAL). */
const LFU_INIT = 5;

// `expireAt` is 0 for most keys and a time in ms (not a small integer) for keys with a TTL. Once
// V8 sees a double in a field it stores that field as a box of its own in every entry of the
// shape, 0s included: 16 bytes more per key, and one more cache miss for the expiry check of
// every lookup. A field that has once held a non-number is "tagged" instead: a small integer
// stays in the entry and only keys with a TTL get a box. One throwaway entry makes it so.
(new Entry("", new Uint8Array(0), 0, 0, undefined, 0, false) as unknown as { expireAt: unknown })
  .expireAt = null;

/** One logical database (`SELECT n`): the view handlers use as `ctx.db`. */
export class Database {
  constructor(readonly keyspace: Keyspace, readonly index: number) {}

  private table(key: string): KeyTable {
    return this.keyspace.table(this.index, key);
  }

  /** Deletes an entry whose TTL passed, as an expiry (stats, effect, `expired` event). */
  expireEntry(t: KeyTable, e: Entry): void {
    const ks = this.keyspace;
    this.unlink(t, e);
    ks.stats.expired++;
    ks.log.delete(this.index, e, true);
    ks.notify("x", "expired", this.index, e.key);
    ks.expiring = true;
    try {
      ks.modified(this.index, e.key);
    } finally {
      ks.expiring = false;
    }
  }

  private unlink(t: KeyTable, e: Entry): void {
    t.remove(e);
    this.keyspace.usedBytes -= entryMemory(e);
  }

  private touch(e: Entry): void {
    const ks = this.keyspace;
    if (ks.noTouch) return;
    if (ks.lfuMode) {
      let c = lfuCounter(e, ks.lfuDecayTime);
      if (c < 255) {
        const base = Math.max(0, c - LFU_INIT);
        if (Math.random() < 1 / (base * ks.lfuLogFactor + 1)) c++;
      }
      e.lru = (lfuMinutes(ks.now) << 8) | c;
    } else e.lru = lruClock(ks.now);
  }

  /**
   * The live entry for `key` (expired keys are deleted on the way), without touching it. A cold
   * value is read back unless `warm` is false (then the caller must use {@link load}).
   */
  peek(key: Key, warm = true): Entry | undefined {
    const ks = this.keyspace;
    const t = ks.shards[ks.shardOf(key)].tables[this.index];
    const e = t.find(key);
    if (e === undefined) return undefined;
    if (e.expireAt !== 0 && e.expireAt <= this.keyspace.expiryNow) {
      if (!ks.expiryPaused) this.expireEntry(t, e);
      return undefined;
    }
    if (!e.cold) {
      if (e.strLen >= 0) this.keyspace.hotReads++; // a string (without reading the value)
    } else if (warm) this.load(e);
    return e;
  }

  /** Reads a cold string value back into memory. */
  load(e: Entry): void {
    const ks = this.keyspace;
    const value = ks.coldReader!(e);
    e.value = value;
    ks.coldReads++;
    ks.usedBytes += value.length;
    ks.onWarm?.(e);
  }

  /**
   * Looks a key up for reading: counts a hit or a miss and updates its access time. With
   * `warm` false a cold value stays cold (GET streams large ones from the log).
   */
  get(key: Key, warm = true): Entry | undefined {
    const e = this.peek(key, warm);
    if (e === undefined) {
      this.keyspace.stats.misses++;
      this.keyspace.notify("m", "keymiss", this.index, keyString(key));
      return undefined;
    }
    this.keyspace.stats.hits++;
    this.touch(e);
    return e;
  }

  /**
   * Looks a key up for writing: updates its access time, counts nothing. With `warm` false a
   * cold value stays cold (commands that change only the TTL).
   */
  find(key: Key, warm = true): Entry | undefined {
    const e = this.peek(key, warm);
    if (e !== undefined) this.touch(e);
    return e;
  }

  /**
   * Looks a key up for reading without touching it (Redis's LOOKUP_NOTOUCH: EXISTS, TYPE, TTL,
   * OBJECT): counts a hit or a miss and, unless `notifyMiss` is false (LOOKUP_NONOTIFY), sends
   * `keymiss`. A cold value stays cold.
   */
  inspect(key: Key, notifyMiss = true): Entry | undefined {
    const e = this.peek(key, false);
    const ks = this.keyspace;
    if (e === undefined) {
      ks.stats.misses++;
      if (notifyMiss) ks.notify("m", "keymiss", this.index, keyString(key));
    } else {
      ks.stats.hits++;
    }
    return e;
  }

  /** True when `key` is still in its table though its TTL has passed (nothing is reclaimed). */
  expiredInPlace(key: string): boolean {
    const e = this.table(key).get(key);
    return e !== undefined && e.expireAt !== 0 && e.expireAt <= this.keyspace.expiryNow;
  }

  /** True when `key` exists (does not touch it). */
  exists(key: Key): boolean {
    return this.peek(key, false) !== undefined;
  }

  /**
   * Sets `key` to `value`. `expireAt` is an absolute time in ms, 0 for no expiry, or
   * {@link KEEP_TTL}. `encoding` pins a string's encoding (APPEND and SETRANGE make `raw`).
   */
  set(key: Key, value: Value, expireAt: number, encoding?: string): Entry {
    const ks = this.keyspace;
    const shard = ks.shardOf(key);
    const t = ks.shards[shard].tables[this.index];
    let e = t.find(key);
    if (e !== undefined && e.expireAt !== 0 && e.expireAt <= ks.expiryNow) {
      this.expireEntry(t, e);
      e = undefined;
    }
    if (e === undefined) {
      const at = expireAt === KEEP_TTL ? 0 : expireAt;
      e = new Entry(keyString(key), value, at, shard, encoding, ks.now, ks.lfuMode);
      t.add(e);
      ks.usedBytes += entryMemory(e);
      ks.notify("n", "new", this.index, e.key);
    } else {
      this.revalue(e, value, encoding);
      if (expireAt !== KEEP_TTL) t.setExpire(e, expireAt);
      this.touch(e);
    }
    ks.log.put(this.index, e, value);
    ks.modified(this.index, e.key);
    return e;
  }

  /**
   * Recovery: adds `key`, known to be absent, to shard `shard` (its slot's) with no effect, event
   * or second lookup; nobody is connected yet and the log is being read, not written.
   */
  restore(shard: number, key: string, value: Value, expireAt: number): Entry {
    const ks = this.keyspace;
    const e = new Entry(key, value, expireAt, shard, undefined, ks.now, ks.lfuMode);
    ks.shards[shard].tables[this.index].add(e);
    ks.usedBytes += entryMemory(e);
    return e;
  }

  /**
   * Gives an entry this command already looked up (`find`, `get`) a new value, keeping its TTL:
   * {@link set} with {@link KEEP_TTL} without looking the key up again (INCR, APPEND …).
   */
  replace(e: Entry, value: Value, encoding?: string): void {
    this.revalue(e, value, encoding);
    this.keyspace.log.put(this.index, e, value);
    this.keyspace.modified(this.index, e.key);
  }

  /**
   * APPEND: the string at `e` (looked up by this command) grew to `value`, whose last bytes are
   * `added`; the log records the bytes added, not the whole value.
   */
  appended(e: Entry, value: Uint8Array, added: Uint8Array): void {
    this.revalue(e, value, "raw");
    const log = this.keyspace.log;
    if (log.append) log.append(this.index, e, added);
    else log.put(this.index, e);
    this.keyspace.modified(this.index, e.key);
  }

  /**
   * Logs `e`'s value whole again, unchanged: a string grown by APPEND records gets one place in
   * the log, from which it can go cold.
   */
  rewrite(e: Entry): void {
    this.keyspace.log.put(this.index, e);
  }

  private revalue(e: Entry, value: Value, encoding: string | undefined): void {
    const old = e.cold ? 0 : storedSize(e);
    const len = value instanceof Uint8Array ? value.length : -1;
    this.keyspace.usedBytes += (len >= 0 ? len : valueSize(value)) - old;
    e.value = value;
    e.encoding = encoding;
  }

  /**
   * Records an element-level change a command made in place to the collection at `e`: the
   * effect goes to the log (`op` and `args` must replay through the value's `apply`), the memory
   * estimate moves by `sizeDelta`, and listeners (WATCH, tracking) hear of it. A collection left
   * empty must be deleted by the caller (`db.delete`), as Redis deletes empty collections.
   * `args` (the array and its bytes) are read when the command ends, so they must not change
   * until then (views into the request are fine: it stays as it is).
   */
  effect(e: Entry, op: string, args: Uint8Array[], sizeDelta = 0): void {
    const ks = this.keyspace;
    ks.usedBytes += sizeDelta;
    ks.log.op(this.index, e, op, args);
    ks.modified(this.index, e.key);
  }

  /** Deletes `key`; true when it existed. */
  delete(key: string): boolean {
    const t = this.table(key);
    const e = t.get(key);
    if (e === undefined) return false;
    if (e.expireAt !== 0 && e.expireAt <= this.keyspace.expiryNow) {
      this.expireEntry(t, e);
      return false;
    }
    this.unlink(t, e);
    this.keyspace.log.delete(this.index, e);
    this.keyspace.modified(this.index, key);
    return true;
  }

  /** Sets the absolute expiry of an existing entry (0 = persist). */
  setExpire(e: Entry, expireAt: number): void {
    this.table(e.key).setExpire(e, expireAt);
    this.keyspace.log.expire(this.index, e);
    this.keyspace.modified(this.index, e.key);
  }

  /** Number of keys (expired ones not yet reclaimed included, as Redis's DBSIZE). */
  size(): number {
    let n = 0;
    for (const s of this.keyspace.shards) n += s.tables[this.index].size;
    return n;
  }

  /** Number of keys with a TTL. */
  volatileCount(): number {
    let n = 0;
    for (const s of this.keyspace.shards) n += s.tables[this.index].volatile.length;
    return n;
  }

  /** Average remaining TTL of keys with one, in ms (0 when none), from a sample as Redis does. */
  averageTtl(): number {
    let sum = 0;
    let n = 0;
    const now = Date.now();
    for (const s of this.keyspace.shards) {
      const vol = s.tables[this.index].volatile;
      for (let i = 0; i < Math.min(vol.length, 100); i++) {
        const ttl = vol[Math.floor(Math.random() * vol.length)].expireAt - now;
        if (ttl > 0) {
          sum += ttl;
          n++;
        }
      }
    }
    return n ? Math.round(sum / n) : 0;
  }

  /** FLUSHDB: removes every key of this database. */
  flush(): void {
    const ks = this.keyspace;
    ks.modified(this.index, null);
    for (const s of ks.shards) {
      for (const e of s.tables[this.index].values()) ks.usedBytes -= entryMemory(e);
    }
    ks.emptyTables(this.index);
    ks.log.flush(this.index);
  }

  /** Sends a keyspace notification for `key` in this database. */
  notify(cls: string, event: string, key: string): void {
    this.keyspace.notify(cls, event, this.index, key);
  }

  /** Every live key matching `pattern` (KEYS). Expired keys are skipped, not deleted. */
  keys(pattern: string): string[] {
    const out: string[] = [];
    const now = this.keyspace.expiryNow;
    const all = pattern === "*";
    for (const s of this.keyspace.shards) {
      for (const e of s.tables[this.index].values()) {
        if (e.expireAt !== 0 && e.expireAt <= now) continue;
        if (all || globMatch(pattern, e.key)) out.push(e.key);
      }
    }
    return out;
  }

  /**
   * One SCAN step. The cursor packs the bucket cursor of one shard and the shard index:
   * `cursor = bucketCursor * shardCount + shard`. Returns the next cursor and the keys visited
   * that pass the filters (expired keys are deleted, as Redis's SCAN does).
   */
  scan(
    cursor: number,
    count: number,
    pattern: string | null,
    type: string | null,
  ): [number, string[]] {
    const shards = this.keyspace.shards;
    const n = shards.length;
    let shard = cursor % n;
    let v = Math.floor(cursor / n) % 0x100000000;
    const visited: Entry[] = [];
    while (visited.length < count) {
      const t = shards[shard].tables[this.index];
      v = t.scan(v, count - visited.length, visited);
      if (v !== 0) break; // this shard's visit budget is spent
      shard++;
      if (shard >= n) break;
    }
    const next = shard >= n ? 0 : v * n + shard;
    const keys: string[] = [];
    const now = this.keyspace.expiryNow;
    for (const e of visited) {
      if (e.expireAt !== 0 && e.expireAt <= now) {
        if (!this.keyspace.expiryPaused) {
          this.expireEntry(this.keyspace.table(this.index, e.key), e);
        }
        continue;
      }
      if (pattern !== null && !globMatch(pattern, e.key)) continue;
      if (type !== null && typeName(e.value) !== type) continue;
      keys.push(e.key);
    }
    return [next, keys];
  }

  /** A random live key, or null when the database is empty (RANDOMKEY). */
  randomKey(): string | null {
    // While expiry is paused expired keys stay: after this many of them in a row, one is the
    // answer (as Redis 7.2 does, rather than looking forever when every key has expired).
    let expiredTries = 100;
    for (;;) {
      const total = this.size();
      if (total === 0) return null;
      let r = Math.floor(Math.random() * total);
      let t: KeyTable | undefined;
      for (const s of this.keyspace.shards) {
        const tt = s.tables[this.index];
        if (r < tt.size) {
          t = tt;
          break;
        }
        r -= tt.size;
      }
      const e = t!.random()!;
      if (e.expireAt !== 0 && e.expireAt <= this.keyspace.expiryNow) {
        if (!this.keyspace.expiryPaused) this.expireEntry(t!, e);
        else if (--expiredTries === 0) return e.key;
        continue;
      }
      return e.key;
    }
  }
}
