/**
 * The end-of-turn group commit of every shard log.
 *
 * A shard log that had records appended with no commit window asks for the end of the event-loop
 * turn (an immediate: it runs once every connection that became readable has been served). There,
 * the shards whose clients wait for durability (`sync` appends) write their records and fdatasync
 * them all at once: the first shard on the main thread, each other one on its own
 * {@link SyncThread}, and the main thread blocks until every one is done. Shards with only `async`
 * records just write them to their files, and so do shards whose batches are large (see
 * BLOCKING_COMMIT_RECORDS in shard_log.ts): their fdatasyncs run on Deno's thread pool.
 *
 * When two shards or more commit together and a {@link CommitJournal} is given, their bytes go
 * to the journal as well and only the journal is fdatasynced: one fdatasync per commit, as
 * Redis's one AOF (journal.ts says why, and when a commit cannot be journaled).
 *
 * Why the event loop blocks, as Redis's does under `appendfsync always`: the earlier design ran
 * each shard's fdatasync on Deno's thread pool while the loop went on serving. On the 2-core
 * benchmark machine that cost more than it saved: the fdatasyncs competed for the processors with
 * the loop, redis-benchmark and the kernel's journal thread and took ~300 µs instead of ~180 µs,
 * each one cost a thread hand-off both ways, and the requests that came in meanwhile were spread
 * over more, smaller cycles. Blocking, SET with 50 clients went from ~48k to ~57k req/s (see
 * docs/performance.md). While a commit blocks, clients keep sending: the requests that queue up
 * are the next cycle's batch.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { ShardLog } from "./shard_log.ts";
import type { CommitJournal } from "./journal.ts";

/** Commits the shard logs that asked for it, once per event-loop turn. */
export class GroupCommit {
  private due: ShardLog[] = [];
  /** Every log committed here (a wrap of the journal fdatasyncs them all). */
  private readonly logs: ShardLog[] = [];
  /**
   * Told how long each commit blocked the event loop for its fdatasyncs, in ms (the latency
   * monitor's `aof-fsync-always` event, as Redis names its own).
   */
  onBlocked: ((ms: number) => void) | null = null;

  constructor(readonly journal: CommitJournal | null = null) {}

  /** Registers a log (its constructor does). */
  add(log: ShardLog): void {
    this.logs.push(log);
  }

  /** Asks for {@link ShardLog.turnEnded} at the end of this event-loop turn. */
  request(log: ShardLog): void {
    if (this.due.length === 0) setImmediate(this.run);
    if (!this.due.includes(log)) this.due.push(log);
  }

  private readonly run = (): void => {
    const logs = this.due;
    this.due = [];
    // In shard order, so that shard 0 always commits on the main thread and needs no thread.
    const commits = logs.filter((log) => log.turnEnded()).sort((a, b) => a.index - b.index);
    if (commits.length === 0) return;
    const started = performance.now();
    let synced: ShardLog[];
    if (commits.length > 1 && this.journal?.commit(commits, this.logs)) {
      synced = commits.filter((log) => log.endJournaled());
    } else {
      // The others' fdatasyncs start first, on their threads; the first runs here meanwhile.
      for (let i = 1; i < commits.length; i++) commits[i].startSync();
      synced = commits.filter((log) => log.endCommit());
    }
    this.onBlocked?.(performance.now() - started);
    for (const log of synced) log.reportSynced();
  };
}
