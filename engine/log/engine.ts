/**
 * Opening and closing the durable engine: the data directory lock, the layout check, recovery,
 * and the shard logs that take new writes.
 *
 * ```
 * <data-dir>/
 *   LOCK              exclusive lock held while a server runs (holds its pid)
 *   meta.json         { "format": 3, "shardCount": N }: a data dir keeps its shard count
 *   namespaces.json   durability overrides per namespace
 *   commit.journal    group commits of several shards, replayed at start (journal.ts)
 *   shard_0/00001.log segments, rotated at log-segment-size
 *   shard_0/00003.snap compaction snapshot of everything up to segment 3
 * ```
 *
 * @module
 */
import type { Keyspace } from "../keyspace.ts";
import { NO_LOG } from "../effects.ts";
import type { Logger } from "../../server/log.ts";
import { DurableLog } from "./durable_log.ts";
import { type Durability, Namespaces } from "./namespaces.ts";
import { recover, type ShardRecovery } from "./recovery.ts";
import { segmentName, ShardLog } from "./shard_log.ts";
import { GroupCommit } from "./group_commit.ts";
import { CommitJournal, JOURNAL_NAME, replayJournal } from "./journal.ts";
import { ColdReader } from "./cold.ts";
import { Compactor } from "./compaction.ts";
import { syncDir, writeFileAtomic } from "./files.ts";

/** The data directory cannot be used (locked, wrong layout). */
export class DataDirError extends Error {}

/** Options of {@link DurableEngine.open}. */
export interface EngineOptions {
  dataDir: string;
  /** Whether a value of this length loaded at recovery stays in memory (else it is cold). */
  keepHot?: (length: number) => boolean;
  durability: Durability;
  windowMs: number;
  segmentSize: () => number;
  log: Logger;
  /** The data directory's lock, when the caller took it (and checked the layout) already. */
  lock?: Deno.FsFile;
}

/**
 * The data format this server writes. 2 added AppendString records, 3 the commit journal (whose
 * entries a server that does not replay them would lose after a power loss). An older directory
 * is upgraded when opened, so that a server that knows only an older format refuses it instead
 * of misreading it.
 */
const FORMAT = 3;
/** Older formats this server reads (and upgrades to {@link FORMAT}). */
const UPGRADES_FROM = [1, 2];

/** The open durable engine of one data directory. */
export class DurableEngine {
  private constructor(
    readonly dataDir: string,
    readonly log: DurableLog,
    readonly namespaces: Namespaces,
    readonly recovery: ShardRecovery[],
    private readonly lock: Deno.FsFile,
    readonly cold: ColdReader,
    readonly compactor: Compactor,
    /** The shard logs' end-of-turn group commit. */
    readonly commits: GroupCommit,
  ) {}

  /** The shard logs. */
  get shards(): ShardLog[] {
    return this.log.shards;
  }

  /** Locks the data directory, recovers the keyspace from it and starts logging to it. */
  static async open(ks: Keyspace, opts: EngineOptions): Promise<DurableEngine> {
    const dir = opts.dataDir;
    const lock = opts.lock ?? await lockDataDir(dir, ks.shards.length);
    try {
      const shardDirs = ks.shards.map((_, i) => `${dir}/shard_${i}`);
      for (const d of shardDirs) await Deno.mkdir(d, { recursive: true });
      await syncDir(dir);
      const namespaces = new Namespaces(`${dir}/namespaces.json`, {
        durability: opts.durability,
        windowMs: opts.windowMs,
      });
      await namespaces.load();
      const started = performance.now();
      // Before the shards are read: it puts back what a power loss took from their files.
      const replay = replayJournal(dir, shardDirs);
      for (const r of replay.restored) {
        opts.log.warning(
          "recovery",
          `commit journal: wrote back ${r.bytes} bytes at offset ${r.offset} of shard_${r.shard}/${
            segmentName(r.segment)
          } that the file had lost`,
        );
      }
      const saved = ks.log;
      ks.log = NO_LOG;
      let reports: ShardRecovery[];
      try {
        reports = await recover(ks, shardDirs, opts.log, (shard, records, fraction) => {
          opts.log.notice(
            "recovery",
            `shard ${shard}: ${records} records, ${Math.round(fraction * 100)}%`,
          );
        }, opts.keepHot);
      } finally {
        ks.log = saved;
      }
      const records = reports.reduce((n, r) => n + r.records, 0);
      opts.log.notice(
        "recovery",
        `loaded ${ks.totalKeys()} keys from ${records} records in ${
          Math.round(performance.now() - started)
        } ms`,
      );
      // One group commit for every shard, with one journal for them all.
      const commits = new GroupCommit(
        new CommitJournal(
          `${dir}/${JOURNAL_NAME}`,
          (message) => opts.log.warning("storage", message),
        ),
      );
      const shards = reports.map((r, i) => {
        const last = r.files.at(-1);
        const segment = last === undefined ? 1 : last.snapshot ? last.id + 1 : last.id;
        const bytes = last === undefined || last.snapshot ? 0 : last.size;
        const sl = new ShardLog(i, shardDirs[i], segment, bytes, opts.segmentSize, commits);
        sl.onWarning = (message) => opts.log.warning("storage", message);
        sl.stats.files = r.files.length;
        sl.stats.bytes = r.bytes;
        sl.stats.baseBytes = r.bytes;
        return sl;
      });
      const durable = new DurableLog(
        shards,
        namespaces,
        reports.map((r) => r.lastLsn),
        () => ks.now,
        Math.max(0, ...reports.map((r) => r.lastBatchId)),
      );
      ks.log = durable;
      const cold = new ColdReader(shardDirs, (key) => ks.shardOf(key));
      ks.coldReader = (e) => cold.read(e);
      const compactor = new Compactor(
        ks,
        shards,
        opts.log,
        (e) => cold.read(e),
        () => durable.batchHorizon,
        (path) => cold.forget((p) => p === path),
      );
      durable.onFlushOrSwap = () => compactor.abortAll();
      return new DurableEngine(dir, durable, namespaces, reports, lock, cold, compactor, commits);
    } catch (e) {
      lock.close();
      throw e;
    }
  }

  /** Flushes every shard, closes the logs and releases the lock. */
  async close(): Promise<void> {
    let clean = false;
    try {
      await this.compactor.stopAll();
      await this.log.close();
      // Every shard's file fdatasynced: the journal holds nothing they lack.
      clean = this.log.shards.every((s) => s.failure === null);
      this.cold.forget();
    } finally {
      await this.commits.journal?.close(clean);
      try {
        await this.lock.unlock();
      } catch { /* closing releases it too */ }
      this.lock.close();
    }
  }
}

/**
 * Creates the data directory if needed, locks it for this process and checks (for a new one,
 * records) its format and shard count: a second server on the same directory, or one started
 * with another shard count, fails here with the reason, before it listens or says it is ready.
 */
export async function lockDataDir(dir: string, shardCount: number): Promise<Deno.FsFile> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/LOCK`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    let holder = "another process";
    try {
      const pid = (await Deno.readTextFile(path)).trim();
      if (pid) holder = `pid ${pid}`;
    } catch { /* unreadable */ }
    throw new DataDirError(
      `data directory ${dir} is locked by ${holder}: another FerricStore server is using it`,
    );
  }
  try {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    await checkLayout(dir, shardCount);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/** Checks (or, for a new directory, records) the data directory's format and shard count. */
async function checkLayout(dir: string, shardCount: number): Promise<void> {
  const path = `${dir}/meta.json`;
  let meta: { format: number; shardCount: number } | null = null;
  try {
    meta = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new DataDirError(`${path} is unreadable: ${(e as Error).message}`);
    }
  }
  if (meta === null) {
    await writeFileAtomic(path, JSON.stringify({ format: FORMAT, shardCount }) + "\n");
    return;
  }
  if (meta.format !== FORMAT && !UPGRADES_FROM.includes(meta.format)) {
    throw new DataDirError(
      `${dir} has data format ${meta.format}; this server reads formats ${
        [...UPGRADES_FROM, FORMAT].join(", ")
      }`,
    );
  }
  if (meta.shardCount !== shardCount) {
    throw new DataDirError(
      `${dir} was written with shard-count ${meta.shardCount}; start with --shard-count ${meta.shardCount}`,
    );
  }
  if (meta.format !== FORMAT) {
    await writeFileAtomic(path, JSON.stringify({ format: FORMAT, shardCount }) + "\n");
  }
}
