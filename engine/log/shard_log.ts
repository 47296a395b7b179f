/**
 * One shard's append-only log: segment files `NNNNN.log` under `<data-dir>/shard_N/`, rotated at
 * `log-segment-size`, written by group commit.
 *
 * Appends encode records into a pending buffer at once (so a record's file and offset are known
 * when it is appended). Appends of `sync` namespaces raise the sequence number that
 * {@link ShardLog.barrier} waits for; at the end of the event-loop turn (or of their commit
 * window) the shard's {@link GroupCommit} writes them and fdatasyncs, together with every other
 * shard's, so under load every fdatasync carries the writes of many clients. `async` appends are
 * written at the end of the turn and fdatasynced within their commit window without anyone
 * waiting, by a flush on Deno's thread pool (as are segment rotations and shutdown).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Payload, RecordFlags, recordSize, RecordType, writeRecord } from "./record.ts";
import { syncDirSync, writeAllSync } from "./files.ts";
import { GroupCommit } from "./group_commit.ts";
import { SyncThread } from "./sync_thread.ts";
import { epochMs } from "../clock.ts";
import { FILL_MAX, FILL_MIN, ZeroFill } from "./zero_fill.ts";
import type { JournaledLog, JournalPart } from "./journal.ts";

/** Segment file name for an id. */
export function segmentName(id: number): string {
  return `${String(id).padStart(5, "0")}.log`;
}

/** Per-shard storage counters (INFO bitcask, FERRICSTORE.COMPACT). */
export interface ShardLogStats {
  files: number;
  bytes: number;
  deadBytes: number;
  lastMerge: number;
  merging: boolean;
  /** Log bytes after the last compaction, or at start: growth past it triggers the next one. */
  baseBytes: number;
  flushes: number;
  records: number;
  /** Records known to be on disk (the "commit index" of the shard's log). */
  syncedRecords: number;
  /** Group commits made durable by the commit journal instead of an fdatasync of the file. */
  journaled: number;
}

/**
 * Up to this many records per fdatasync (on average), a group commit blocks the event loop for
 * its fdatasync; past it, the main thread has enough work to do meanwhile that the fdatasync runs
 * on the thread pool instead (see group_commit.ts). Unpipelined clients make batches of ~16 per
 * shard, `-P 16` ones of hundreds: blocking was 15% faster for the first and 15% slower for the
 * second.
 */
const BLOCKING_COMMIT_RECORDS = 64;

/** Size of a record buffer. */
const CHUNK = 64 * 1024;

interface Chunk {
  segment: number;
  buf: Buffer;
  pos: number;
}

/** The append side of one shard's log. */
export class ShardLog implements JournaledLog {
  /** Id of the segment new records go to. */
  segment: number;
  /** Logical size of that segment, pending bytes included. */
  private segmentBytes: number;
  /** Between a BatchBegin and its BatchEnd: no rotation (RecordFlags.WholeInSegment). */
  private inBatch = false;
  private chunks: Chunk[] = [];
  /** Written chunk buffers kept for reuse (allocating 64 KiB per flush shows in profiles). */
  private spare: Buffer[] = [];
  private file: Deno.FsFile | null = null;
  private fileSegment = -1;
  private fileBytes = 0;
  /** The open file's zero-filled space ahead of its writes (group commits overwrite it). */
  private zero: ZeroFill | null = null;
  /** The size of the next zero fill: doubles with each, so a shard that writes little fills little. */
  private fillSize = FILL_MIN;
  /** Everything before this point is on disk: segment id and bytes of it. */
  private syncedSegment = 0;
  private syncedBytes = 0;
  /**
   * The end of the last commit the commit journal made durable (journal.ts): the file holds it,
   * fdatasynced or not; a replay of the journal restores it after a power loss.
   */
  private journaledSegment = -1;
  private journaledBytes = 0;
  /** Called after each fdatasync (cooling values waits for them to be on disk). */
  onSynced: (() => void) | null = null;
  /** Called once, when the log fails (a write or fdatasync failed). */
  onFailed: ((e: Error) => void) | null = null;
  /** Told when the shard's sync thread could not run (its fdatasyncs then run on the main thread). */
  onWarning: ((message: string) => void) | null = null;
  private flushing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = Infinity;
  /** When async writes must be fdatasynced by, and the timer for it. */
  private syncDue = Infinity;
  private syncWindow = Infinity;
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** Sequence of the last sync append, and of the last one made durable. */
  private syncSeq = 0;
  private durableSeq = 0;
  /**
   * Clients waiting for the next flush cycle share one promise (one per cycle, not one per
   * client: under load a cycle acknowledges dozens of clients). `nextCycle` collects the barriers
   * taken since the running cycle looked at the sequence number; `inflight` is that cycle's.
   */
  private nextCycle: PromiseWithResolvers<void> | null = null;
  private inflight: PromiseWithResolvers<void> | null = null;
  /** The sequence number the running cycle makes durable; -1 between cycles. */
  private inflightSeq = -1;
  /** The group commit under way: what its fdatasync covers, and whether the sync thread runs it. */
  private commitSeq = 0;
  private commitRecords = 0;
  private commitSegment = 0;
  private commitBytes = 0;
  private commitOnThread = false;
  /** Where the commit's bytes begin in the file, and the bytes as written (for the journal). */
  private commitFrom = 0;
  private readonly commitViews: Uint8Array[] = [];
  /** Records per fdatasync, a moving average: large batches are committed without blocking. */
  private recordsPerSync = 0;
  /** Created the first time this shard commits beside another one (null again if it failed). */
  private thread: SyncThread | null = null;
  private threadFailed = false;
  /** The segment whose file the sync thread holds open, or -1. */
  private threadSegment = -1;
  private failed: Error | null = null;
  /** Set by close(): appends are refused (everything appended before is on disk). */
  private closedLog = false;
  /** When the log failed, in ms since the epoch (the clock of batchArrived). */
  private failedAt = Infinity;
  readonly stats: ShardLogStats = {
    files: 0,
    bytes: 0,
    deadBytes: 0,
    lastMerge: 0,
    merging: false,
    baseBytes: 0,
    flushes: 0,
    records: 0,
    syncedRecords: 0,
    journaled: 0,
  };

  constructor(
    readonly index: number,
    readonly dir: string,
    segment: number,
    segmentBytes: number,
    private segmentLimit: () => number,
    private readonly commits: GroupCommit = new GroupCommit(),
  ) {
    this.segment = segment;
    this.segmentBytes = segmentBytes;
    this.syncedSegment = segment;
    this.syncedBytes = segmentBytes;
    commits.add(this);
  }

  /** Why the log stopped taking writes (a failed write or fdatasync), or null while it works. */
  get failure(): Error | null {
    return this.failed;
  }

  /**
   * True when everything appended so far is written and durable, fdatasynced or journaled
   * (conservative).
   */
  get synced(): boolean {
    return !this.pending &&
      (this.file === null || this.durableTo(this.fileSegment) >= this.fileBytes);
  }

  /** How many bytes of segment `segment` are durable, fdatasynced or journaled. */
  private durableTo(segment: number): number {
    if (segment < this.syncedSegment) return Infinity;
    const synced = segment === this.syncedSegment ? this.syncedBytes : 0;
    return segment === this.journaledSegment ? Math.max(synced, this.journaledBytes) : synced;
  }

  /** True when this shard's group-commit fdatasyncs can run on its own thread. */
  get syncThreadRunning(): boolean {
    return this.thread?.ready ?? false;
  }

  /** True when records are waiting to be written. */
  get pending(): boolean {
    return this.chunks.length > 0 && this.chunks.some((c) => c.pos > 0);
  }

  /**
   * Appends a record with log sequence number `lsn` and returns its offset in segment
   * {@link segment} (read it after the call: the append may rotate). `windowMs` is the longest
   * the record may wait before being written; `sync` makes the next {@link barrier} wait for it
   * to be on disk.
   */
  append(
    type: number,
    db: number,
    expireAt: number,
    key: string,
    payload: Payload,
    lsn: number,
    sync: boolean,
    windowMs: number,
  ): number {
    if (this.failed) throw this.failed;
    if (this.closedLog) throw new Error(`shard ${this.index}: the log is closed`);
    const size = recordSize(key.length, payload ? payload.length : 0);
    // A batch's part stays in one segment (which may pass the limit by that much), so that
    // recovery can tell an older segment ending inside a batch for damage.
    const begins = type === RecordType.BatchBegin;
    if (
      (begins || !this.inBatch) && this.segmentBytes > 0 &&
      this.segmentBytes + size > this.segmentLimit()
    ) {
      this.segment++;
      this.segmentBytes = 0;
    }
    if (begins) this.inBatch = true;
    else if (type === RecordType.BatchEnd) this.inBatch = false;
    let chunk = this.chunks[this.chunks.length - 1];
    if (
      chunk === undefined || chunk.segment !== this.segment || chunk.buf.length - chunk.pos < size
    ) {
      if (chunk !== undefined && chunk.segment === this.segment && chunk.pos === 0) {
        chunk.buf = this.buffer(size);
      } else {
        chunk = {
          segment: this.segment,
          buf: this.buffer(size),
          pos: 0,
        };
        this.chunks.push(chunk);
      }
    }
    const offset = this.segmentBytes;
    chunk.pos = writeRecord(
      chunk.buf,
      chunk.pos,
      type,
      db,
      expireAt,
      key,
      payload,
      lsn,
      begins ? RecordFlags.WholeInSegment : 0,
    );
    this.segmentBytes += size;
    this.stats.bytes += size;
    this.stats.records++;
    if (sync) {
      this.syncSeq++;
      this.schedule(windowMs);
    } else {
      // Async: on its way to the file at once, fdatasync'ed within its window.
      this.schedule(0);
      this.requestSync(windowMs);
    }
    return offset;
  }

  /** A buffer for records: a spare one when the record fits, else a new one. */
  private buffer(size: number): Buffer {
    if (size <= CHUNK) return this.spare.pop() ?? Buffer.allocUnsafe(CHUNK);
    return Buffer.allocUnsafe(size);
  }

  /** True when the bytes at a location (segment id, end offset) are on disk. */
  isSynced(segment: number, end: number): boolean {
    if (segment < 0) return true; // snapshots are complete before they exist
    return segment < this.syncedSegment ||
      (segment === this.syncedSegment && end <= this.syncedBytes);
  }

  /**
   * True when the bytes at a location (segment id, end offset) are in the file, if not yet
   * fdatasynced: a read of the file returns them. (A segment before the open one was fdatasynced
   * when the next was opened.)
   */
  isWritten(segment: number, end: number): boolean {
    if (this.isSynced(segment, end)) return true;
    return segment < this.fileSegment || (segment === this.fileSegment && end <= this.fileBytes);
  }

  /**
   * Writes what is pending to the open file now, without waiting for the event loop's turn or
   * the commit window, and without an fdatasync: the records become readable from the file
   * (maxmemory can then drop their values). Records of a segment after the open file's wait for
   * the flush, which opens that file after the open one's fdatasync.
   */
  writePending(): void {
    if (this.failed || this.closedLog || !this.pending) return;
    try {
      // Between a flush's steps too: every write to the file is a writeChunks, in order, and a
      // flush notes what its fdatasync covers before it waits for it. (While a flush waits for
      // the old file's fdatasync before opening the next, the records are the next file's, and
      // wait for it.) Segments are written in order, as a flush writes them, so that every
      // segment before the open one is whole in its file (isWritten).
      const file = this.file ?? this.openSegment(this.firstPending()!.segment);
      if (!this.chunks.every((c) => c.segment === this.fileSegment || c.pos === 0)) return;
      if (this.blockedByFill()) return; // the flush writes them once the fill is done
      this.writeChunks(file);
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Resolves when every sync append made so far is on disk; null when it already is. `since` is
   * when the caller's commands began (ms since the epoch): commands that began after the log
   * failed wrote nothing to it (appends are refused), so they have nothing to wait for.
   */
  barrier(since = -Infinity): Promise<void> | null {
    if (this.failed) return since > this.failedAt ? null : Promise.reject(this.failed);
    if (this.durableSeq >= this.syncSeq) return null;
    // Covered by the fdatasync under way: nothing was appended since its cycle began.
    if (this.syncSeq <= this.inflightSeq) {
      return (this.inflight ??= Promise.withResolvers()).promise;
    }
    return (this.nextCycle ??= Promise.withResolvers()).promise;
  }

  private schedule(windowMs: number): void {
    if (this.flushing) return; // the running flush picks up what was appended
    if (windowMs <= 0) {
      // No window: written (and committed) when the event-loop turn's commands are done.
      if (this.timerDue === 0) return;
      clearTimeout(this.timer);
      this.timerDue = 0;
      this.commits.request(this);
      return;
    }
    const due = Date.now() + windowMs;
    if (due >= this.timerDue) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timerDue = 0;
      this.commits.request(this);
    }, windowMs);
  }

  /**
   * The end of the turn (or window) this log asked its {@link GroupCommit} for. With sync
   * appends waiting, writes what is pending and returns true: the group commit then fdatasyncs
   * ({@link startSync}, {@link endCommit}). Otherwise (async records only, large batches, a
   * rotation to make) leaves it all to a flush and returns false.
   */
  turnEnded(): boolean {
    this.timerDue = Infinity;
    if (this.flushing || this.failed || this.closedLog) return false; // a flush picks it up
    const blocking = this.syncSeq > this.durableSeq &&
      this.recordsPerSync <= BLOCKING_COMMIT_RECORDS;
    const file = blocking ? this.committableFile() : null;
    // Writes that would reach the space being zero-filled wait for it, in a flush.
    if (file === null || this.blockedByFill()) {
      this.background();
      return false;
    }
    this.commitFrom = this.fileBytes;
    this.commitViews.length = 0;
    try {
      this.writeChunks(file, this.commitViews);
    } catch (e) {
      this.fail(e);
      return false;
    }
    this.preallocate();
    this.commitSeq = this.syncSeq;
    this.commitRecords = this.stats.records;
    this.commitSegment = this.fileSegment;
    this.commitBytes = this.fileBytes;
    this.commitOnThread = false;
    this.inflight = this.nextCycle;
    this.nextCycle = null;
    this.inflightSeq = this.commitSeq;
    return true;
  }

  /**
   * The file a group commit writes and fdatasyncs: the open one (opened now if none is), or null
   * when records wait for a later segment, whose rotation a flush does.
   */
  private committableFile(): Deno.FsFile | null {
    const segment = this.file !== null ? this.fileSegment : this.firstPending()?.segment;
    if (segment === undefined) return null;
    if (!this.chunks.every((c) => c.segment === segment || c.pos === 0)) return null;
    try {
      return this.file ?? this.openSegment(segment);
    } catch (e) {
      this.fail(e);
      return null;
    }
  }

  /**
   * The commit's bytes for the commit journal, or null when they cannot be journaled: bytes
   * before them in the file are not durable yet (async records written without an fdatasync),
   * so a replay after a power loss would leave a hole before them.
   */
  journalPart(): JournalPart | null {
    if (this.durableTo(this.commitSegment) < this.commitFrom) return null;
    return {
      shard: this.index,
      segment: this.commitSegment,
      offset: this.commitFrom,
      views: this.commitViews,
      bytes: this.commitBytes - this.commitFrom,
    };
  }

  /** Completes a commit that the commit journal made durable, instead of {@link endCommit}. */
  endJournaled(): true {
    this.commitViews.length = 0;
    this.journaledSegment = this.commitSegment;
    this.journaledBytes = this.commitBytes;
    this.stats.journaled++;
    this.noteRecords(this.commitRecords);
    this.durableSeq = this.commitSeq;
    this.endCycle();
    return true;
  }

  /**
   * fdatasyncs the open file when it holds journaled bytes not yet fdatasynced, so that the
   * journal may write over their entries; false when that failed (the log has failed then).
   * Older segments were fdatasynced when the next one was opened.
   */
  syncJournaled(): boolean {
    const file = this.file;
    if (file === null || this.fileSegment !== this.journaledSegment) return true;
    if (this.isSynced(this.journaledSegment, this.journaledBytes)) return true;
    // A failed log's journaled bytes keep needing the journal: it must not wrap over them.
    if (this.failed) return false;
    try {
      const bytes = this.fileBytes;
      file.syncDataSync();
      this.syncedSegment = this.fileSegment;
      this.syncedBytes = bytes;
      this.stats.flushes++;
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /**
   * Starts the commit's fdatasync on this shard's sync thread, so that it runs beside the main
   * thread's; when the thread is not running (yet), {@link endCommit} fdatasyncs here instead.
   */
  startSync(): void {
    if (this.failed) return;
    const path = `${this.dir}/${segmentName(this.commitSegment)}`;
    if (this.thread === null) {
      if (this.threadFailed || !SyncThread.fits(path)) return;
      try {
        const thread: SyncThread = new SyncThread((e) => {
          if (this.thread === thread) this.threadStopped(e);
        });
        this.thread = thread;
      } catch (e) {
        this.threadStopped(e);
        return;
      }
    }
    if (!this.thread.ready) return;
    if (!this.thread.start(path)) {
      this.threadStopped("it died");
      return;
    }
    this.threadSegment = this.commitSegment;
    this.commitOnThread = true;
  }

  private threadStopped(e: unknown): void {
    this.thread?.stop();
    this.thread = null;
    this.threadFailed = true;
    this.threadSegment = -1;
    this.onWarning?.(
      `shard ${this.index}: no sync thread (${e}); its fdatasyncs run on the main thread`,
    );
  }

  /**
   * Completes the commit: waits for (or runs) its fdatasync and answers the clients it covers.
   * True when it is durable ({@link reportSynced} then tells `onSynced`).
   */
  endCommit(): boolean {
    this.commitViews.length = 0;
    // Failed meanwhile (its fdatasync for a wrap of the journal): another fdatasync may well
    // succeed, and prove nothing (a failed one marks the pages it lost clean).
    if (this.failed) return false;
    try {
      const thread = this.commitOnThread ? this.thread! : null;
      const error = thread?.wait() ?? null;
      if (error !== null) throw error;
      if (thread === null || thread.broken) {
        // Not on a thread, or its thread died before it said it was done: here, now.
        if (thread !== null) this.threadStopped("it died");
        this.file!.syncDataSync();
      }
      this.noteSync(this.commitSegment, this.commitBytes, this.commitRecords);
      this.durableSeq = this.commitSeq;
      this.endCycle();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /**
   * Tells `onSynced` that a commit made records durable. Its failure (memory's work after a
   * commit) is reported, not taken for the log's: the records are on disk.
   */
  reportSynced(): void {
    try {
      this.onSynced?.();
    } catch (e) {
      this.onWarning?.(`shard ${this.index}: after an fdatasync: ${(e as Error)?.stack ?? e}`);
    }
  }

  /** Asks for an fdatasync of what async appends wrote, at the latest `windowMs` from now. */
  private requestSync(windowMs: number): void {
    // A sync already due within a window no longer than this one comes soon enough.
    if (this.syncDue !== Infinity && windowMs >= this.syncWindow) return;
    this.syncWindow = windowMs;
    const due = Date.now() + windowMs;
    if (due >= this.syncDue) return;
    this.syncDue = due;
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => this.background(true), windowMs);
  }

  /**
   * A flush nobody waits for (timers). A failure is not lost: it is kept in `failed`, which
   * every later append and barrier reports, and waiters were rejected with it.
   */
  private background(sync = false): void {
    this.flush(sync).catch(() => {});
  }

  /**
   * Writes everything pending, and fdatasyncs when a sync append is waiting, an async window
   * ran out, or `sync` is set. Resolves when done.
   */
  flush(sync = false): Promise<void> {
    if (this.flushing) {
      return this.flushing.then(() => this.pending || sync ? this.flush(sync) : undefined);
    }
    clearTimeout(this.timer);
    this.timerDue = Infinity;
    // Nothing to write and nothing to fdatasync (sync appends may be written already, by
    // writePending, and still wait for theirs).
    if (
      !this.pending && this.syncSeq <= this.durableSeq &&
      !(sync && this.unsyncedBytes())
    ) return Promise.resolve();
    if (this.failed) return Promise.reject(this.failed);
    // The common case of async writes (once per event-loop turn): nothing to fdatasync yet and
    // the segment already open, so the records are written in place, without the loop's
    // promises and async frames.
    if (
      !sync && this.durableSeq >= this.syncSeq && Date.now() < this.syncDue && this.file !== null &&
      this.chunks.every((c) => c.segment === this.fileSegment) && !this.blockedByFill()
    ) {
      try {
        this.writeChunks(this.file);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(this.fail(e));
      }
    }
    this.flushing = this.flushLoop(sync).finally(() => {
      this.flushing = null;
      // Appends made after the loop's last look (by commands running in promise callbacks
      // before this one) found a flush "running" and scheduled none: schedule it now. Sync
      // appends that writePending wrote meanwhile still wait for their fdatasync.
      if ((this.pending || this.syncSeq > this.durableSeq) && !this.failed) this.schedule(0);
    });
    return this.flushing;
  }

  private async flushLoop(forceSync: boolean): Promise<void> {
    try {
      // Sync appends written by the last cycle after it took its sequence number (they came in
      // while it waited) still need an fdatasync, even when nothing more is pending.
      while (this.pending || forceSync || this.syncSeq > this.durableSeq) {
        // Every pending record is written before the fdatasync; a rotation may have left records
        // of an older segment first, each segment in its file.
        for (let c = this.firstPending(); c !== undefined; c = this.firstPending()) {
          const file = await this.open(c.segment);
          while (this.blockedByFill()) await this.zero!.pieceDone();
          this.writeChunks(file);
        }
        // Everything appended so far is in the file: this cycle's fdatasync makes it durable and
        // answers every barrier taken so far.
        const seq = this.syncSeq;
        const records = this.stats.records;
        this.inflight = this.nextCycle;
        this.nextCycle = null;
        this.inflightSeq = seq;
        const mustSync = forceSync || seq > this.durableSeq || Date.now() >= this.syncDue;
        // Sync writes come in: the next ones overwrite zero-filled space.
        if (seq > this.durableSeq) this.preallocate();
        forceSync = false;
        if (mustSync && this.file !== null) {
          // What the fdatasync covers: writePending may write more while it runs.
          const segment = this.fileSegment, bytes = this.fileBytes;
          await this.file.syncData();
          this.noteSync(segment, bytes, records);
        }
        // Without a file nothing was ever written, so nothing is waiting to be made durable.
        if (mustSync) this.durableSeq = seq;
        this.endCycle();
        if (mustSync) this.onSynced?.();
      }
    } catch (e) {
      throw this.fail(e);
    }
  }

  /**
   * Notes an fdatasync that made the open file durable up to (`segment`, `bytes`), and the log's
   * first `records` records with it; a pending async window's fdatasync is then not needed.
   */
  private noteSync(segment: number, bytes: number, records: number): void {
    this.syncedSegment = segment;
    this.syncedBytes = bytes;
    this.syncDue = Infinity;
    clearTimeout(this.syncTimer);
    this.stats.flushes++;
    this.noteRecords(records);
  }

  /** Notes that the log's first `records` records are durable. */
  private noteRecords(records: number): void {
    if (records < this.stats.syncedRecords) return;
    this.recordsPerSync = 0.9 * this.recordsPerSync + 0.1 * (records - this.stats.syncedRecords);
    this.stats.syncedRecords = records;
  }

  private endCycle(): void {
    const cycle = this.inflight;
    this.inflight = null;
    this.inflightSeq = -1;
    cycle?.resolve();
  }

  /**
   * Writes the pending chunks of the open file's segment, in order, up to the first chunk of
   * another segment (which needs its own file). A write to the page cache is a short copy: done
   * in place, it saves an async hop per flush; only the fdatasync waits on the disk.
   */
  private writeChunks(file: Deno.FsFile, written?: Uint8Array[]): void {
    // Callers wait for a fill they would overwrite (blockedByFill): its zeros could land after
    // the records.
    if (this.blockedByFill()) throw new Error("a write would overlap the space being zero-filled");
    const chunks = this.chunks;
    let i = 0;
    for (; i < chunks.length; i++) {
      const c = chunks[i];
      if (c.pos === 0) continue;
      if (c.segment !== this.fileSegment) break;
      const bytes = c.buf.subarray(0, c.pos);
      writeAllSync(file, bytes);
      this.fileBytes += bytes.length;
      // The buffer may go to `spare`: nothing is appended before the journal copies the view.
      written?.push(bytes);
      // Written: the buffer can take the next flush's records.
      if (c.buf.length === CHUNK && this.spare.length < 4) this.spare.push(c.buf);
    }
    this.chunks = i === chunks.length ? [] : chunks.slice(i);
  }

  /**
   * True when the open file has bytes not yet fdatasynced (its offsets compared within the same
   * segment: after a rotation the last fdatasync was of the previous file).
   */
  private unsyncedBytes(): boolean {
    return this.file !== null && !this.isSynced(this.fileSegment, this.fileBytes);
  }

  /** True when writing what is pending for the open file would reach a zero fill under way. */
  private blockedByFill(): boolean {
    if (this.zero === null) return false;
    let end = this.fileBytes;
    for (const c of this.chunks) if (c.segment === this.fileSegment) end += c.pos;
    return this.zero.blocks(end);
  }

  /** Keeps zero-filled space ahead of the open file's writes (see zero_fill.ts). */
  private preallocate(): void {
    if (this.zero === null) return;
    if (this.zero.ahead(this.fileBytes, this.fillSize, this.segmentLimit()) > 0) {
      this.fillSize = Math.min(2 * this.fillSize, FILL_MAX);
    }
  }

  /**
   * Ends the open file's zero filling and cuts the file back to its data (what its fdatasyncs
   * cover), so that only a crash leaves a tail of zeros for recovery to take off. Failing to is
   * reported, not taken for a failure of the log (recovery trims the newest file's zeros too),
   * unless `strict` (a rotation: an older segment must not end in zeros).
   */
  private async trimFile(strict = false): Promise<void> {
    const zero = this.zero;
    this.zero = null;
    if (zero === null) return;
    await zero.close();
    try {
      const file = this.file;
      if (file !== null && (await file.stat()).size > this.fileBytes) {
        await file.truncate(this.fileBytes);
      }
    } catch (e) {
      if (strict) throw e;
      this.onWarning?.(`shard ${this.index}: trimming the preallocated space of a segment: ${e}`);
    }
  }

  /**
   * Bytes of data in a segment file of `size` bytes: the open file may be longer (zero-filled
   * space), and the current segment's records are counted as they are appended.
   */
  dataBytes(segment: number, size: number): number {
    if (segment === this.segment) return this.segmentBytes;
    return segment === this.fileSegment ? this.fileBytes : size;
  }

  private firstPending(): Chunk | undefined {
    return this.chunks.find((c) => c.pos > 0);
  }

  /** A log that cannot be written must not acknowledge anything more: waiters get the error. */
  private fail(e: unknown): Error {
    if (this.failed === null) {
      this.failed = new Error(`shard ${this.index}: log write failed: ${(e as Error).message}`, {
        cause: e,
      });
      this.failedAt = epochMs();
      this.onFailed?.(this.failed);
    }
    this.inflight?.reject(this.failed);
    this.nextCycle?.reject(this.failed);
    this.inflight = this.nextCycle = null;
    this.inflightSeq = -1;
    return this.failed;
  }

  private async open(segment: number): Promise<Deno.FsFile> {
    if (this.fileSegment === segment && this.file) return this.file;
    if (this.file) {
      // Cut back to its data durably before the next segment exists: recovery then reads zeros
      // ending an older segment as damage, never as preallocated space a crash left.
      await this.trimFile(true);
      await this.file.syncData();
      this.file.close();
      this.file = null;
      this.fileSegment = -1;
    }
    return this.openSegment(segment);
  }

  /**
   * Opens (creating) a segment's file for writing at its end. Synchronous, so that the file a
   * flush and {@link writePending} write is never half opened; it happens once per segment. Not
   * in append mode: writes go to the log's own position, which zero-filled space lies beyond.
   */
  private openSegment(segment: number): Deno.FsFile {
    const path = `${this.dir}/${segmentName(segment)}`;
    const file = Deno.openSync(path, { create: true, write: true });
    this.file = file;
    this.fileSegment = segment;
    // A closed segment holds its data only (trimFile; recovery trims what a crash left).
    this.fileBytes = file.statSync().size;
    file.seekSync(this.fileBytes, Deno.SeekMode.Start);
    this.zero = new ZeroFill(
      path,
      (message) => this.onWarning?.(`shard ${this.index}: ${message}`),
    );
    // A new segment's records are durable only once its name is: fdatasync covers the bytes.
    if (this.fileBytes === 0) {
      syncDirSync(this.dir);
      this.stats.files++;
    }
    return file;
  }

  /**
   * Closes the open file when compaction removed its segment (`upTo` and older), so the disk
   * space is freed now rather than at the shard's next write, which may never come.
   */
  release(upTo: number): void {
    // The sync thread's descriptor too, even when the log itself has moved on to a newer file.
    if (this.threadSegment !== -1 && this.threadSegment <= upTo) {
      this.thread?.release();
      this.threadSegment = -1;
    }
    if (this.file === null || this.fileSegment > upTo) return;
    if (this.flushing) {
      const retry = () => this.release(upTo);
      this.flushing.then(retry, retry);
      return;
    }
    // Records still to be written there would need the file (none are expected: compaction
    // starts a new segment first).
    if (this.chunks.some((c) => c.segment === this.fileSegment && c.pos > 0)) return;
    // Its file is gone: no trimming, but the filling descriptor must close too.
    void this.zero?.close();
    this.zero = null;
    this.file.close();
    this.file = null;
    this.fileSegment = -1;
  }

  /** Starts writing to a new segment (compaction snapshots everything before it). */
  rotate(): number {
    this.segment++;
    this.segmentBytes = 0;
    return this.segment - 1;
  }

  /** Flushes and closes the segment file; appends after this are refused. */
  async close(): Promise<void> {
    try {
      // Again while records were written during a flush's fdatasync (writePending), so that
      // async ones are on disk too.
      do {
        await this.flush(true);
      } while (
        !this.failed && (this.pending || this.unsyncedBytes())
      );
    } finally {
      // The data directory may belong to another process once its lock is released.
      this.closedLog = true;
      clearTimeout(this.timer);
      clearTimeout(this.syncTimer);
      this.thread?.stop();
      this.thread = null;
      // A failed log's file is left as it is (its descriptor may be what failed).
      if (this.failed) await this.zero?.close();
      else await this.trimFile();
      this.zero = null;
      this.file?.close();
      this.file = null;
      this.fileSegment = -1;
    }
  }
}
