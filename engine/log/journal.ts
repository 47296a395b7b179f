/**
 * The commit journal: one fdatasync per group commit, however many shards it covers.
 *
 * On this project's machine (ext4 on a virtual disk) two fdatasyncs of two files take as long as
 * two in a row, whether run one after the other or on two threads: each writes its own blocks
 * and waits for them (a C loop of a small write and fdatasync: one file 124–144 µs, two files
 * 229–279 µs). Redis's `appendfsync always` makes one per event-loop turn, of its one AOF. So
 * when the shards of a group commit (group_commit.ts) have written their records to their
 * segment files, the same bytes go to this journal, with where they belong, and only the journal
 * is fdatasynced (137 µs for the same loop). The segment files are fdatasynced later: before the
 * journal wraps round to its start, at a rotation, a compaction or a shutdown.
 *
 * At start, before recovery reads the shards, {@link replayJournal} writes every entry back
 * into its segment file (a power loss may have lost those pages) and invalidates the journal,
 * so that stale entries can never be written over what a later run put at the same offsets
 * (recovery cuts torn tails and the log writes on from there).
 *
 * A shard's bytes are journaled only when everything before them in its file is already durable
 * (fdatasynced or journaled): replaying into a file with a lost stretch before the entry would
 * leave a hole that recovery reads as the end of the data. Otherwise, and for commits larger
 * than {@link JOURNAL_COMMIT_MAX}, the shards fdatasync their own files as before.
 *
 * The file, `commit.journal` in the data directory, is zero-filled to its size when first used
 * (so that an fdatasync overwrites blocks and has no size to commit, as zero_fill.ts explains
 * for segments) and written from its start. An entry (little-endian):
 *
 * ```
 * offset  size  field
 *      0     4  CRC-32 of bytes 4 .. end (the rest of the header and the bytes)
 *      4     4  byte count n
 *      8     8  generation: random, new at each start and each wrap
 *     16     4  sequence number: 0 for a generation's first entry, then +1 each
 *     20     2  shard
 *     22     2  reserved, 0
 *     24     4  segment id
 *     28     8  offset in the segment file (a float64)
 *     36     n  the bytes written there
 * ```
 *
 * Reading starts at offset 0 and stops at the first entry that fails its CRC, has another
 * generation, or does not follow its sequence: what lies beyond is older (before a wrap) or was
 * never fdatasynced.
 *
 * @module
 */
import { crc32 } from "./record.ts";
import { segmentName } from "./shard_log.ts";
import { syncDir, writeAll, writeAllSync } from "./files.ts";

/** The journal's file name in the data directory. */
export const JOURNAL_NAME = "commit.journal";
/** The journal's size: it wraps round to its start (after fdatasyncing the shards) when full. */
export const JOURNAL_SIZE = 4 * 1024 * 1024;
/**
 * The most bytes one commit journals; a larger commit fdatasyncs its shards' files instead. The
 * journal saves an I/O per shard but writes the bytes twice: with two shards, a C loop of both
 * ways took 145 against 268 µs per commit at 1 KB per shard, 178 against 269 at 16 KB, 316
 * against 337 at 60 KB and 508 against 416 at 128 KB.
 */
export const JOURNAL_COMMIT_MAX = 64 * 1024;
/** Bytes of an entry's header. */
export const ENTRY_HEADER = 36;

/** What one shard wrote to its segment file in a group commit. */
export interface JournalPart {
  shard: number;
  segment: number;
  /** Where in the segment file the bytes begin. */
  offset: number;
  /** The bytes, as written (in order). */
  views: Uint8Array[];
  /** Their total length. */
  bytes: number;
}

/** A log whose commits the journal can carry (a {@link ShardLog}). */
export interface JournaledLog {
  /** This commit's part, or null when it cannot be journaled (see the module comment). */
  journalPart(): JournalPart | null;
  /** fdatasyncs what the log journaled; false (the log failed) when that failed. */
  syncJournaled(): boolean;
}

/** The journal a {@link GroupCommit} writes, created on its first commit. */
export class CommitJournal {
  private file: Deno.FsFile | null = null;
  /** The zero fill of a new file, under way on the thread pool. */
  private preparing: Promise<void> | null = null;
  private pos = 0;
  private generation = newGeneration();
  private seq = 0;
  /** Set when the journal failed: commits then fdatasync their shards (never wrapping over it). */
  private disabled = false;
  private buf = new Uint8Array(64 * 1024);
  /** Commits written (a close with none leaves the file as it is). */
  commits = 0;

  constructor(
    readonly path: string,
    /** Told why the journal stopped being used. */
    private readonly onWarning: (message: string) => void = () => {},
    private readonly size = JOURNAL_SIZE,
  ) {}

  /**
   * Writes the parts of `logs`' commit and fdatasyncs the journal: true when their records are
   * durable. False when the commit cannot be journaled (the logs then fdatasync their files);
   * `all` are every log of the journal, fdatasynced before it wraps.
   */
  commit(logs: readonly JournaledLog[], all: readonly JournaledLog[]): boolean {
    if (this.disabled) return false;
    const parts: JournalPart[] = [];
    let size = 0;
    for (const log of logs) {
      const part = log.journalPart();
      if (part === null) return false;
      parts.push(part);
      size += ENTRY_HEADER + part.bytes;
    }
    if (size > JOURNAL_COMMIT_MAX || size > this.size) return false;
    if (this.file === null) {
      void this.prepare();
      return false;
    }
    try {
      if (this.pos + size > this.size && !this.wrap(all)) return false;
      if (this.buf.length < size) this.buf = new Uint8Array(Math.max(size, 2 * this.buf.length));
      const buf = this.buf;
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      let at = 0;
      for (const part of parts) {
        const start = at;
        view.setUint32(at + 4, part.bytes, true);
        view.setFloat64(at + 8, this.generation, true);
        view.setUint32(at + 16, this.seq++, true);
        view.setUint16(at + 20, part.shard, true);
        view.setUint16(at + 22, 0, true);
        view.setUint32(at + 24, part.segment, true);
        view.setFloat64(at + 28, part.offset, true);
        at += ENTRY_HEADER;
        for (const v of part.views) {
          buf.set(v, at);
          at += v.length;
        }
        view.setUint32(start, crc32(buf, start + 4, at), true);
      }
      writeAllSync(this.file!, buf.subarray(0, at));
      this.pos += at;
      this.file!.syncDataSync();
    } catch (e) {
      this.disable(`writing it failed: ${(e as Error).message}`);
      return false;
    }
    this.commits++;
    return true;
  }

  /**
   * Closes the file. `clean` when every log it served closed with everything fdatasynced: the
   * journal is then invalidated, so the next start has nothing to replay.
   */
  async close(clean = false): Promise<void> {
    const disabled = this.disabled;
    this.disabled = true; // a fill still under way opens nothing
    await this.preparing;
    const file = this.file;
    this.file = null;
    if (file === null) return;
    try {
      if (clean && !disabled && this.commits > 0) invalidate(file);
    } finally {
      file.close();
    }
  }

  /**
   * Opens the file, zero-filled to its size, without blocking the event loop: the first commits
   * that could use it fdatasync their shards meanwhile. Only a server whose sync writes reach
   * several shards at once ever makes one.
   */
  prepare(): Promise<void> {
    return this.preparing ??= (async () => {
      let file: Deno.FsFile | null = null;
      try {
        file = await Deno.open(this.path, { read: true, write: true, create: true });
        if ((await file.stat()).size < this.size) {
          await writeAll(file, new Uint8Array(this.size));
          await file.sync();
          await syncDir(this.path.slice(0, this.path.lastIndexOf("/")) || ".");
        }
        await file.seek(0, Deno.SeekMode.Start);
        if (this.disabled) return file.close();
        this.file = file;
        this.pos = 0;
      } catch (e) {
        file?.close();
        this.disable(`preparing it failed: ${(e as Error).message}`);
      }
    })();
  }

  /**
   * Starts again at the journal's start, once every log has fdatasynced what it journaled: the
   * entries written over are then no longer needed. A new generation, so that reading stops
   * where the new entries end.
   */
  private wrap(all: readonly JournaledLog[]): boolean {
    for (const log of all) {
      if (!log.syncJournaled()) {
        this.disable("a shard could not fdatasync what it journaled");
        return false;
      }
    }
    this.file!.seekSync(0, Deno.SeekMode.Start);
    this.pos = 0;
    this.generation = newGeneration();
    this.seq = 0;
    return true;
  }

  private disable(why: string): void {
    this.disabled = true;
    this.onWarning(
      `commit journal ${this.path}: ${why}; group commits fdatasync every shard's file from now on`,
    );
  }
}

/** A random 48-bit generation (exact in a float64). */
function newGeneration(): number {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return r[0] * 0x10000 + (r[1] & 0xffff);
}

/** One entry read back from a journal file. */
export interface JournalEntry {
  shard: number;
  segment: number;
  offset: number;
  bytes: Uint8Array;
}

/** The entries of a journal file's content, up to the first that does not belong (see above). */
export function readJournal(buf: Uint8Array): JournalEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const entries: JournalEntry[] = [];
  let generation = -1;
  for (let at = 0; at + ENTRY_HEADER <= buf.length;) {
    const n = view.getUint32(at + 4, true);
    const end = at + ENTRY_HEADER + n;
    if (end > buf.length || crc32(buf, at + 4, end) !== view.getUint32(at, true)) break;
    const gen = view.getFloat64(at + 8, true);
    if (view.getUint32(at + 16, true) !== entries.length) break;
    if (entries.length === 0) generation = gen;
    else if (gen !== generation) break;
    entries.push({
      shard: view.getUint16(at + 20, true),
      segment: view.getUint32(at + 24, true),
      offset: view.getFloat64(at + 28, true),
      bytes: buf.subarray(at + ENTRY_HEADER, end),
    });
    at = end;
  }
  return entries;
}

/** What {@link replayJournal} found. */
export interface JournalReplay {
  /** Entries read. */
  entries: number;
  /** Entries whose bytes were missing from their segment file and were written back. */
  restored: { shard: number; segment: number; offset: number; bytes: number }[];
}

/**
 * Writes every journaled commit back into its segment file (`restored` lists those the file did
 * not hold: a power loss took those pages), fdatasyncs the files, and invalidates the journal.
 * Entries of segment files that no longer exist are skipped: compaction removed them, after
 * fdatasyncing everything they held into a snapshot.
 */
export function replayJournal(dataDir: string, shardDirs: readonly string[]): JournalReplay {
  const path = `${dataDir}/${JOURNAL_NAME}`;
  let content: Uint8Array;
  try {
    content = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { entries: 0, restored: [] };
    throw e;
  }
  const entries = readJournal(content);
  const restored: JournalReplay["restored"] = [];
  const written = new Map<string, Deno.FsFile>();
  try {
    for (const e of entries) {
      if (e.shard >= shardDirs.length) continue;
      const file = `${shardDirs[e.shard]}/${segmentName(e.segment)}`;
      let f = written.get(file);
      if (f === undefined) {
        try {
          f = Deno.openSync(file, { read: true, write: true });
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue;
          throw err;
        }
        written.set(file, f);
      }
      // Written back whatever the file holds: a page the cache still has may have failed to
      // reach the disk (a failed fdatasync marks it clean), and a file the crash left short
      // reads as if padded with zeros. Reading first only tells what was missing.
      const have = new Uint8Array(e.bytes.length);
      f.seekSync(e.offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < have.length) {
        const n = f.readSync(have.subarray(got));
        if (n === null) break;
        got += n;
      }
      f.seekSync(e.offset, Deno.SeekMode.Start);
      writeAllSync(f, e.bytes);
      if (got < have.length || !sameContent(have, e.bytes)) {
        restored.push({
          shard: e.shard,
          segment: e.segment,
          offset: e.offset,
          bytes: e.bytes.length,
        });
      }
    }
    for (const f of written.values()) f.syncDataSync();
  } finally {
    for (const f of written.values()) f.close();
  }
  if (content.length >= ENTRY_HEADER && content.subarray(0, ENTRY_HEADER).some((b) => b !== 0)) {
    const f = Deno.openSync(path, { write: true });
    try {
      invalidate(f);
    } finally {
      f.close();
    }
  }
  return { entries: entries.length, restored };
}

/**
 * Zeroes a journal file's first entry header, durably: reading then stops at once. Once every
 * entry is in its fdatasynced segment file (after a replay, after a clean close of every shard
 * log); the next run writes from the start with a new generation.
 */
function invalidate(file: Deno.FsFile): void {
  file.seekSync(0, Deno.SeekMode.Start);
  writeAllSync(file, new Uint8Array(ENTRY_HEADER));
  file.syncDataSync();
}

function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
