/**
 * maxmemory: hot and cold values. Every key stays in memory; a string value that is safely in
 * the log may be dropped from memory ("cold") and read back on access. When the data is over
 * `maxmemory`, the `maxmemory-policy` picks which values go cold — data is never lost to
 * eviction. Values larger than `hot-cache-max-value-size` never stay hot. Only when nothing more
 * can go cold are commands that add data refused with -OOM (and reads keep working).
 *
 * @module
 */
import type { Config } from "../server/config.ts";
import { type Entry, type Keyspace, type KeyTable, lfuCounter } from "./keyspace.ts";

/** Decides what goes cold, and whether commands that add data are refused. */
export class MemoryGuard {
  /** Set by the durable engine: true when an entry's value is on disk and may go cold. */
  canCool: (e: Entry) => boolean = () => false;
  private queue: Entry[] = [];

  /** maxmemory and hot-cache-max-value-size, kept current (read on every write). */
  private max: number;
  hotMax: number;

  constructor(private readonly keyspace: Keyspace, private readonly config: Config) {
    this.max = config.int("maxmemory");
    this.hotMax = config.int("hot-cache-max-value-size");
    config.watch("maxmemory", (v) => this.max = v as number);
    config.watch("hot-cache-max-value-size", (v) => this.hotMax = v as number);
  }

  /** Bytes held in memory by keys and hot values (estimated as they are stored). */
  used(): number {
    return this.keyspace.usedBytes;
  }

  /**
   * True when maxmemory is set and the data is still over it after making values cold
   * (Redis's performEvictions before a command that may add data).
   */
  overLimit(): boolean {
    const max = this.max;
    if (max <= 0 || this.keyspace.usedBytes <= max) return false;
    this.evict(max);
    return this.keyspace.usedBytes > max;
  }

  /** Drops a hot string value from memory; false when it cannot go cold (yet). */
  cool(e: Entry): boolean {
    if (e.cold || !(e.value instanceof Uint8Array) || !this.canCool(e)) return false;
    this.keyspace.usedBytes -= e.value.length;
    e.value = EMPTY;
    e.cold = true;
    return true;
  }

  /** Asks for `e` to go cold once its value is on disk (large values never stay hot). */
  coolLater(e: Entry): void {
    this.queue.push(e);
  }

  /** Cools queued entries whose values have reached the disk. */
  drain(): void {
    if (this.queue.length === 0) return;
    const keep: Entry[] = [];
    for (const e of this.queue) {
      if (e.cold || !(e.value instanceof Uint8Array) || e.value.length <= this.hotMax) continue;
      if (!this.cool(e) && e.loc !== null) keep.push(e);
    }
    this.queue = keep;
  }

  /** True when a large value should be handed to {@link coolLater} instead of staying hot. */
  tooLargeToKeep(e: Entry): boolean {
    return e.value instanceof Uint8Array && e.value.length > this.hotMax;
  }

  /** Makes values cold by the policy until memory is at most `max` or nothing more can go. */
  evict(max: number): number {
    const policy = this.config.str("maxmemory-policy");
    if (policy === "noeviction") return 0;
    const ks = this.keyspace;
    const samples = this.config.int("maxmemory-samples");
    const volatileOnly = policy.startsWith("volatile-");
    let cooled = 0;
    let misses = 0;
    while (ks.usedBytes > max && misses < 16) {
      let best: Entry | undefined;
      let bestScore = Infinity;
      for (let i = 0; i < samples; i++) {
        const e = this.sample(volatileOnly);
        if (e === undefined || e.cold || !(e.value instanceof Uint8Array) || !this.canCool(e)) {
          continue;
        }
        const score = policy.endsWith("-lru")
          ? e.access
          : policy.endsWith("-lfu")
          ? lfuCounter(e, ks.lfuDecayTime)
          : policy === "volatile-ttl"
          ? e.expireAt
          : Math.random();
        if (score < bestScore) {
          best = e;
          bestScore = score;
        }
      }
      if (best === undefined || !this.cool(best)) {
        misses++;
        continue;
      }
      misses = 0;
      cooled++;
      ks.stats.evicted++;
      ks.notify("e", "evicted", this.dbOf(best), best.key);
    }
    return cooled;
  }

  private dbOf(e: Entry): number {
    const ks = this.keyspace;
    const shard = ks.shards[ks.shardOf(e.key)];
    for (let d = 0; d < shard.tables.length; d++) {
      if (shard.tables[d].map.get(e.key) === e) return d;
    }
    return 0;
  }

  /** A random key from a random non-empty table (keys with a TTL only, for volatile-*). */
  private sample(volatileOnly: boolean): Entry | undefined {
    const shards = this.keyspace.shards;
    const tables: KeyTable[] = [];
    for (const s of shards) {
      for (const t of s.tables) if (volatileOnly ? t.volatile.length : t.size) tables.push(t);
    }
    if (tables.length === 0) return undefined;
    const t = tables[Math.floor(Math.random() * tables.length)];
    if (volatileOnly) return t.volatile[Math.floor(Math.random() * t.volatile.length)];
    return t.random();
  }
}

const EMPTY = new Uint8Array(0);
