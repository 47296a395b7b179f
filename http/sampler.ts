/**
 * Samples a few server counters once a second into a ring buffer while the HTTP server runs,
 * for the dashboard's trend charts (commands per second, memory, hot/cold reads), and follows
 * each shard log's fdatasyncs to tell how many records are durable (the dashboard's commit
 * index).
 *
 * @module
 */
import type { Server } from "../server/server.ts";

/** One sample of the server's counters. */
export interface Sample {
  /** ms since the epoch. */
  at: number;
  /** Commands processed (INFO's total_commands_processed; CONFIG RESETSTAT lowers it). */
  commands: number;
  usedBytes: number;
  rssBytes: number;
  hotReads: number;
  coldReads: number;
  keys: number;
  clients: number;
}

/** A point of a derived series; `value` is null where it is undefined (no reads, a reset). */
export interface Point {
  at: number;
  value: number | null;
}

/** Samples kept: ten minutes at one a second. */
export const CAPACITY = 600;

/** The ring buffer of samples, and the sampling timer. */
export class Sampler {
  private readonly ring: (Sample | undefined)[] = new Array(CAPACITY);
  private next = 0;
  private count = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Records durably on disk per shard since start (set after each fdatasync). */
  private readonly synced: number[] = [];
  private hooked = false;

  constructor(private readonly server: Server, private readonly intervalMs = 1000) {}

  /** Takes a sample now and then every interval. */
  start(): void {
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records one sample (the timer calls this; tests may too). */
  take(): void {
    const s = this.server;
    this.followSyncs();
    this.ring[this.next] = {
      at: Date.now(),
      commands: s.stats.commands,
      usedBytes: s.memory.used(),
      rssBytes: Deno.memoryUsage().rss,
      hotReads: s.keyspace.hotReads,
      coldReads: s.keyspace.coldReads,
      keys: s.keyspace.totalKeys(),
      clients: s.clients.size,
    };
    this.next = (this.next + 1) % CAPACITY;
    if (this.count < CAPACITY) this.count++;
  }

  /** Samples of the last `seconds`, oldest first. */
  samples(seconds = CAPACITY): Sample[] {
    const out: Sample[] = [];
    const since = Date.now() - seconds * 1000;
    for (let i = 0; i < this.count; i++) {
      const s = this.ring[(this.next - this.count + i + CAPACITY) % CAPACITY]!;
      if (s.at >= since) out.push(s);
    }
    return out;
  }

  /** Commands per second between consecutive samples. */
  opsPerSecond(seconds?: number): Point[] {
    return rates(this.samples(seconds), (s) => s.commands);
  }

  /** Share of reads served from memory (0..1) between consecutive samples. */
  hotRatio(seconds?: number): Point[] {
    const ss = this.samples(seconds);
    const out: Point[] = [];
    for (let i = 1; i < ss.length; i++) {
      const hot = ss[i].hotReads - ss[i - 1].hotReads;
      const cold = ss[i].coldReads - ss[i - 1].coldReads;
      out.push({
        at: ss[i].at,
        value: hot < 0 || cold < 0 || hot + cold === 0 ? null : hot / (hot + cold),
      });
    }
    return out;
  }

  /** The latest rate of commands per second (over the last few samples), or 0. */
  currentOps(): number {
    const ss = this.samples(6);
    if (ss.length < 2) return 0;
    const a = ss[0];
    const b = ss[ss.length - 1];
    const d = b.commands - a.commands;
    return d < 0 || b.at === a.at ? 0 : d * 1000 / (b.at - a.at);
  }

  /**
   * Records durably on disk in shard `index` since this server started, as far as the
   * fdatasyncs seen so far tell (a lower bound while writes are in flight).
   */
  syncedRecords(index: number): number {
    this.followSyncs();
    return this.synced[index] ?? 0;
  }

  /** Chains onto each shard log's fdatasync callback once the engine is open. */
  private followSyncs(): void {
    const engine = this.server.engine;
    if (this.hooked || engine === null) return;
    this.hooked = true;
    engine.shards.forEach((shard, i) => {
      this.synced[i] = shard.pending ? 0 : shard.stats.records;
      const previous = shard.onSynced;
      shard.onSynced = () => {
        previous?.();
        // Everything appended before this fdatasync started is on disk; when nothing was
        // appended since, that is every record.
        if (!shard.pending) this.synced[i] = shard.stats.records;
      };
    });
  }
}

function rates(ss: Sample[], f: (s: Sample) => number): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < ss.length; i++) {
    const d = f(ss[i]) - f(ss[i - 1]);
    const dt = ss[i].at - ss[i - 1].at;
    out.push({ at: ss[i].at, value: d < 0 || dt <= 0 ? null : d * 1000 / dt });
  }
  return out;
}
