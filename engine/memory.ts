/**
 * maxmemory: hot and cold values. Every key stays in memory; a string value that is safely in
 * the log may be dropped from memory ("cold") and read back on access. When the data is over
 * `maxmemory`, the `maxmemory-policy` picks which values go cold — data is never lost to
 * eviction. Values larger than `hot-cache-max-value-size` never stay hot. Only when nothing more
 * can go cold are commands that add data refused with -OOM (and reads keep working).
 *
 * A value dropped from memory is only garbage until V8 collects it, and V8 collects external
 * memory (the values' ArrayBuffers) late: while values keep going cold it lets the garbage grow
 * to a few times the live data, and memory the allocator got back is reused but not returned to
 * the system. So the process's resident size would follow the data written, not `maxmemory`. The
 * guard therefore counts the bytes it drops and has them collected and returned to the system
 * (see {@link ValueCollector}).
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { libc } from "./libc.ts";
import type { Config } from "../server/config.ts";
import {
  type Entry,
  entryLsn,
  type Keyspace,
  type KeyTable,
  lfuCounter,
  NO_SEGMENT,
} from "./keyspace.ts";

/** What the guard needs of the durable log. */
export interface ColdLog {
  /**
   * True when an entry's value is in its log file (written, if not yet fdatasynced: a read of
   * the file returns it), so it may go cold.
   */
  canCool(e: Entry): boolean;
  /** Writes the logs' pending records to their files now. */
  writePending(): void;
  /**
   * True when a string can be written whole now (no batch of records being collected, the log
   * works): a string grown by APPEND records needs that before it can go cold.
   */
  canRewrite(): boolean;
}

/** Decides what goes cold, and whether commands that add data are refused. */
export class MemoryGuard {
  /** Set by the durable engine; without a log nothing can go cold. */
  log: ColdLog | null = null;
  private queue: Entry[] = [];
  /**
   * Values the policy picked whose record is not in the log file yet (the write waits for the
   * space ahead to be zero-filled, or for the event loop's turn): they go cold once it is, and
   * count as gone meanwhile, so that a write is not refused for a wait of a few milliseconds.
   */
  private evicting: Entry[] = [];
  private evictingBytes = 0;

  /** maxmemory and hot-cache-max-value-size, kept current (read on every write). */
  private max: number;
  hotMax: number;

  /** Collects the values this guard dropped, once there are enough of them. */
  readonly collector = new ValueCollector();

  constructor(private readonly keyspace: Keyspace, private readonly config: Config) {
    this.max = config.int("maxmemory");
    this.hotMax = config.int("hot-cache-max-value-size");
    config.watch("maxmemory", (v) => this.max = v as number);
    // Strings grow by APPEND records only while they may stay hot: those the lower limit no
    // longer lets stay hot need placing (a walk of every key).
    config.watch("hot-cache-max-value-size", (v) => {
      const lower = (v as number) < this.hotMax;
      this.hotMax = v as number;
      if (lower) this.placeGrownStrings();
    });
  }

  /** Bytes held in memory by keys and hot values (estimated as they are stored). */
  used(): number {
    return this.keyspace.usedBytes;
  }

  private peakBytes = 0;

  /**
   * The most {@link used} has been (INFO used_memory_peak, MEMORY STATS peak.allocated): noted by
   * the server cron and whenever asked, as Redis's serverCron notes it.
   */
  peak(): number {
    const used = this.keyspace.usedBytes;
    if (used > this.peakBytes) this.peakBytes = used;
    return this.peakBytes;
  }

  /** Starts the peak again from the current use (CONFIG RESETSTAT). */
  resetPeak(): void {
    this.peakBytes = this.keyspace.usedBytes;
  }

  /**
   * True when maxmemory is set and the data is still over it after making values cold
   * (Redis's performEvictions before a command that may add data).
   */
  overLimit(): boolean {
    const max = this.max;
    if (max <= 0 || this.keyspace.usedBytes <= max) return false;
    this.drain();
    this.evict(max);
    if (this.keyspace.usedBytes - this.evictingBytes <= max) return false;
    // Values written by the last commands may still wait for their write to the log (until the
    // event loop's turn ends, or a sync namespace's commit window): written now, they can go
    // cold, and a burst of writes is not refused for want of a write already due.
    this.log?.writePending();
    this.evict(max);
    if (this.keyspace.usedBytes > max) this.coolUnplaced();
    // Large values on their way to the log file (a new segment's file opens after the last
    // one's fdatasync) go cold as soon as they are written: they are not memory that stays.
    return this.keyspace.usedBytes - this.coolingBytes() - this.evictingBytes > max;
  }

  /** Drops a hot string value from memory; false when it cannot go cold (yet). */
  cool(e: Entry): boolean {
    if (e.cold || !(e.value instanceof Uint8Array) || !this.log?.canCool(e)) return false;
    this.keyspace.usedBytes -= e.strLen;
    this.collector.dropped(e.strLen);
    e.makeCold(e.strLen);
    return true;
  }

  /**
   * Strings larger than hot-cache-max-value-size in no one record of the log (so hot until
   * written whole), with their log sequence number at the last look.
   */
  private readonly unplaced = new Map<Entry, number>();

  /**
   * `e`'s string has no one place in the log: APPEND grew it by a record, or a later record of
   * the same batch (an EXPIRE after a SET in a transaction) superseded its put before it was
   * written. Such a string stays hot until it is written whole again: when maxmemory picks it,
   * then ({@link evict}); one larger than hot-cache-max-value-size, which is not kept hot, once
   * it stops changing ({@link placeSettled}), or at once when memory is over maxmemory
   * ({@link overLimit}). So while a client keeps appending to it, each APPEND logs what it adds,
   * not the whole value.
   */
  placeLater(e: Entry): void {
    if (e.strLen > this.hotMax && !this.unplaced.has(e)) this.unplaced.set(e, -1);
  }

  /**
   * Called once a second: writes whole each large string of {@link placeLater} that did not
   * change since the last look (then it goes cold as any large value, {@link coolLater}).
   */
  placeSettled(): void {
    for (const [e, lastLsn] of this.unplaced) {
      const db = this.stillUnplaced(e);
      if (db < 0) continue;
      const lsn = entryLsn(e);
      if (lsn !== lastLsn) {
        this.unplaced.set(e, lsn); // still changing
        continue;
      }
      if (!this.log?.canRewrite()) continue;
      this.unplaced.delete(e);
      this.keyspace.dbs[db].rewrite(e);
    }
  }

  /**
   * The database of an entry of {@link unplaced} that still needs writing whole, or -1 (it is
   * then dropped from the map): gone, cold, no longer large, or written whole meanwhile (a
   * compaction; it goes cold as any large value).
   */
  private stillUnplaced(e: Entry): number {
    const db = this.databaseOf(e);
    if (db < 0 || e.cold || e.strLen <= this.hotMax || e.locSegment !== NO_SEGMENT) {
      this.unplaced.delete(e);
      if (db >= 0 && !e.cold && e.strLen > this.hotMax) this.coolLater(e);
      return -1;
    }
    return db;
  }

  /**
   * Over maxmemory with nothing else to drop: the large strings of {@link placeLater} go cold
   * now whatever the policy, as any large value does, written whole first. True when any did.
   */
  private coolUnplaced(): boolean {
    const log = this.log;
    if (log === null || this.unplaced.size === 0 || !log.canRewrite()) return false;
    const written: Entry[] = [];
    for (const e of this.unplaced.keys()) {
      const db = this.stillUnplaced(e);
      if (db < 0) continue;
      this.keyspace.dbs[db].rewrite(e);
      written.push(e);
    }
    log.writePending();
    let cooled = false;
    for (const e of written) {
      this.unplaced.delete(e);
      if (this.cool(e)) cooled = true;
      else this.coolLater(e);
    }
    return cooled;
  }

  /**
   * Writes whole, through the log, every string grown by APPEND records that may no longer stay
   * hot (larger than hot-cache-max-value-size, lowered since it grew, or after a restart that
   * replayed its appends), so that it can go cold once written. Returns how many it wrote. (A
   * string whose put is still being written is written again: harmless, and only when these
   * settings change.)
   */
  placeGrownStrings(): number {
    const ks = this.keyspace;
    let written = 0;
    for (const shard of ks.shards) {
      for (let d = 0; d < shard.tables.length; d++) {
        for (const e of shard.tables[d].values()) {
          const v = e.value;
          if (e.cold || e.locSegment !== NO_SEGMENT || !(v instanceof Uint8Array)) continue;
          if (v.length <= this.hotMax) continue;
          ks.dbs[d].rewrite(e);
          written++;
        }
      }
    }
    return written;
  }

  /** Asks for `e` to go cold once its value is on disk (large values never stay hot). */
  coolLater(e: Entry): void {
    this.queue.push(e);
  }

  /** Bytes of the hot values queued to go cold once written ({@link coolLater}). */
  private coolingBytes(): number {
    let bytes = 0;
    for (const e of this.queue) if (!e.cold && e.strLen > this.hotMax) bytes += e.strLen;
    return bytes;
  }

  /** Cools queued entries whose values have reached the disk. */
  drain(): void {
    if (this.evicting.length > 0) this.drainEvicting();
    if (this.queue.length === 0) return;
    const keep: Entry[] = [];
    for (const e of this.queue) {
      if (e.cold || !(e.value instanceof Uint8Array) || e.value.length <= this.hotMax) continue;
      // Deleted, expired or flushed meanwhile: its memory was already given back.
      if (!this.inKeyspace(e)) continue;
      if (!this.cool(e) && e.locSegment !== NO_SEGMENT) keep.push(e);
    }
    this.queue = keep;
  }

  /** Cools the {@link evicting} values whose records have reached the log file. */
  private drainEvicting(): void {
    const keep: Entry[] = [];
    let bytes = 0;
    for (const e of this.evicting) {
      if (e.cold || !(e.value instanceof Uint8Array) || !this.inKeyspace(e)) continue;
      if (this.cool(e)) this.keyspace.stats.evicted++;
      else if (e.locSegment !== NO_SEGMENT) {
        keep.push(e);
        bytes += e.strLen;
      }
    }
    this.evicting = keep;
    this.evictingBytes = bytes;
  }

  /** True while `e` is still an entry of some database (few queued values: large ones). */
  private inKeyspace(e: Entry): boolean {
    return this.databaseOf(e) >= 0;
  }

  /** The database `e` is an entry of, or -1 when it is no longer in the keyspace. */
  private databaseOf(e: Entry): number {
    const tables = this.keyspace.shards[e.shard].tables;
    for (let d = 0; d < tables.length; d++) if (tables[d].get(e.key) === e) return d;
    return -1;
  }

  /** True when a large value should be handed to {@link coolLater} instead of staying hot. */
  tooLargeToKeep(e: Entry): boolean {
    // Read from the entry's fields: the value getter makes a view (this runs per write).
    return e.strLen > this.hotMax && !e.cold;
  }

  /** Makes values cold by the policy until memory is at most `max` or nothing more can go. */
  evict(max: number): number {
    const policy = this.config.str("maxmemory-policy");
    const log = this.log;
    if (policy === "noeviction" || log === null) return 0;
    const ks = this.keyspace;
    const samples = this.config.int("maxmemory-samples");
    const volatileOnly = policy.startsWith("volatile-");
    const found = this.candidates;
    let cooled = 0;
    let misses = 0;
    this.refills = 0;
    while (ks.usedBytes - this.evictingBytes > max && misses < 16) {
      let best = -1;
      let bestEntry: Entry | null = null;
      let bestScore = Infinity;
      for (let i = 0; i < samples; i++) {
        const at = this.candidate(volatileOnly);
        if (at < 0) break;
        // Stale candidates dropped on the way are swap-removed: the best one may have moved.
        if (best >= 0 && found.entries[best] !== bestEntry) {
          best = found.entries.indexOf(bestEntry!);
          if (best < 0) bestScore = Infinity;
        }
        const e = found.entries[at];
        // A string grown by APPEND records (no place) is written whole when picked: not while a
        // batch is being collected. (One whose record is still on its way to the file goes
        // cold once it is there.)
        if (e.locSegment === NO_SEGMENT && !log.canRewrite()) continue;
        const score = policy.endsWith("-lru")
          ? e.lru
          : policy.endsWith("-lfu")
          ? lfuCounter(e, ks.lfuDecayTime)
          : policy === "volatile-ttl"
          ? e.expireAt
          : Math.random();
        if (score < bestScore) {
          best = at;
          bestEntry = e;
          bestScore = score;
        }
      }
      if (best < 0) {
        if (found.entries.length === 0) break; // nothing hot is left
        misses++;
        continue;
      }
      const e = found.entries[best];
      const table = found.tables[best];
      found.remove(best);
      if (e.locSegment === NO_SEGMENT) {
        // Grown by APPEND records: written whole now, once, so it has one place to go cold from.
        ks.dbs[ks.shards[e.shard].tables.indexOf(table)].rewrite(e);
        log.writePending();
      }
      if (!this.cool(e)) {
        if (e.locSegment !== NO_SEGMENT && e.value instanceof Uint8Array) {
          this.evicting.push(e);
          this.evictingBytes += e.strLen;
        }
        continue;
      }
      misses = 0;
      cooled++;
      // Counted as Redis counts evictions (evicted_keys), but no `evicted` keyspace event: the
      // key and its value are still there, only no longer in memory.
      ks.stats.evicted++;
    }
    return cooled;
  }

  /**
   * Hot string values eviction samples from. Sampling the whole keyspace, as Redis does, stops
   * working once most values are cold (at 10x maxmemory nine samples in ten are cold), so the
   * guard keeps a list of hot ones, filled by a scan that resumes where it stopped, and samples
   * from it. Values that became hot since the list was filled wait for the next fill: they are the
   * most recently used anyway.
   */
  private readonly candidates = new Candidates();
  /** Where the filling scan is: a table index and a SCAN cursor in it (-1: take the next table). */
  private scanTable = 0;
  private scanCursor = -1;
  /** Fills during the current {@link evict} (one is enough: a second finds nothing new). */
  private refills = 0;

  /** Index of a random hot candidate (still in its table), or -1 when there is none. */
  private candidate(volatileOnly: boolean): number {
    const found = this.candidates;
    for (;;) {
      if (found.entries.length === 0 && (this.refills++ > 0 || !this.refill())) return -1;
      const at = Math.floor(Math.random() * found.entries.length);
      const e = found.entries[at];
      const table = found.tables[at];
      if (
        e.cold || !(e.value instanceof Uint8Array) || table.get(e.key) !== e ||
        // FLUSHDB/FLUSHALL replace a table whole: its entries are gone, their memory given back.
        !this.keyspace.shards[e.shard].tables.includes(table) ||
        (volatileOnly && e.expireAt === 0)
      ) {
        found.remove(at);
        continue;
      }
      return at;
    }
  }

  /** Scans on from where the last fill stopped until it has a batch of hot values. */
  private refill(): boolean {
    const tables: KeyTable[] = [];
    let total = 0;
    for (const s of this.keyspace.shards) {
      for (const t of s.tables) {
        tables.push(t);
        total += t.size;
      }
    }
    const found = this.candidates;
    const seen: Entry[] = [];
    // Every entry about once per fill (a resize may show some twice), so a keyspace with nothing
    // hot ends the scan.
    for (let visited = 0; visited <= total && found.entries.length < FILL_BATCH;) {
      if (this.scanCursor < 0) {
        this.scanTable = (this.scanTable + 1) % tables.length;
        this.scanCursor = 0;
      }
      const table = tables[this.scanTable];
      seen.length = 0;
      const next = table.scan(this.scanCursor, FILL_BATCH - found.entries.length, seen);
      this.scanCursor = next === 0 ? -1 : next;
      visited += seen.length;
      for (const e of seen) if (!e.cold && e.value instanceof Uint8Array) found.add(e, table);
      if (total === 0) break;
    }
    return found.entries.length > 0;
  }
}

/** How many hot values one fill of the eviction candidates collects. */
const FILL_BATCH = 4096;

/** Entries with the table each was found in (swap-removal keeps both arrays aligned). */
class Candidates {
  readonly entries: Entry[] = [];
  readonly tables: KeyTable[] = [];

  add(e: Entry, table: KeyTable): void {
    this.entries.push(e);
    this.tables.push(table);
  }

  remove(at: number): void {
    const last = this.entries.length - 1;
    this.entries[at] = this.entries[last];
    this.tables[at] = this.tables[last];
    this.entries.pop();
    this.tables.pop();
  }
}

const MiB = 1024 * 1024;

/**
 * Gives memory of dropped values back: a full V8 collection, then (where the process may call
 * into libc) `malloc_trim`, since glibc keeps freed memory for reuse instead of returning it.
 *
 * A collection pauses the server — about 70 ms with a small heap (V8 runs it as a low-memory
 * collection, twice over), more with millions of keys — so it runs only once values stopped being
 * dropped for {@link ValueCollector.QUIET_MS}, after at least {@link ValueCollector.QUIET_BYTES}
 * were dropped: after a load, not during one. While values keep being dropped, V8's own
 * (incremental) collections bound the garbage to about 64 MB more than the live values; collecting
 * during a load as well (within a tenth of the time) lowered the peak by only 10–15% and cost
 * throughput.
 */
export class ValueCollector {
  static readonly QUIET_MS: number = 1000;
  static readonly QUIET_BYTES: number = 4 * MiB;
  /** Value bytes dropped since the last collection. */
  pending = 0;
  /** Collections run, and the time they took (ms). */
  runs = 0;
  totalMs = 0;
  /** {@link pending} at the last tick, and when it last moved. */
  private seen = 0;
  private lastDrop = 0;
  private gc: (() => void) | null | undefined;
  private trim: (() => void) | null | undefined;

  /** Notes `bytes` of values dropped from memory (on the eviction path: no clock read here). */
  dropped(bytes: number): void {
    this.pending += bytes;
  }

  /**
   * From the server cron: notes whether values were dropped since the last tick, and collects
   * once they stopped being dropped for {@link ValueCollector.QUIET_MS}.
   */
  tick(): void {
    const now = performance.now();
    if (this.pending !== this.seen) {
      this.seen = this.pending;
      this.lastDrop = now;
    } else if (
      this.pending >= ValueCollector.QUIET_BYTES && now - this.lastDrop >= ValueCollector.QUIET_MS
    ) {
      this.collect(now);
    }
  }

  private collect(now: number): void {
    const gc = this.gc === undefined ? this.gc = exposeGc() : this.gc;
    this.pending = this.seen = 0;
    if (gc === null) return;
    gc();
    this.totalMs += performance.now() - now;
    this.runs++;
    // V8 frees the values' memory on a background thread after the collection.
    const trim = this.trim === undefined ? this.trim = mallocTrim() : this.trim;
    if (trim !== null) setTimeout(trim, 50);
  }
}

/**
 * V8's `gc()` without `--expose-gc` on the command line: the flag, set at run time, gives new
 * contexts the function. Null where the runtime does not allow it.
 */
function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc");
    return typeof gc === "function" ? () => gc() : null;
  } catch {
    return null;
  }
}

/** glibc's `malloc_trim(0)`, when the process may use FFI and libc is glibc; else null. */
function mallocTrim(): (() => void) | null {
  const c = libc({ malloc_trim: { parameters: ["usize"], result: "i32" } });
  return c === null ? null : () => c.malloc_trim(0n);
}
