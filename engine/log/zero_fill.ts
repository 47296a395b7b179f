/**
 * Zero-filled space ahead of a segment's write position, so that a group commit's fdatasync
 * overwrites blocks the file already has instead of appending.
 *
 * An appending fdatasync must also commit the file's new size and block map through the
 * journal; one that overwrites blocks already written and made durable commits the data alone.
 * Measured on this project's machine (ext4, a C loop of 1500-byte writes each followed by
 * fdatasync): append 139–153 µs, overwrite of a zero-filled file 82–85 µs, a `posix_fallocate`d
 * file 101–107 µs (its blocks are "unwritten" extents, converted by the first write to each).
 * PostgreSQL (WAL segments) and Kafka (`log.preallocate`) do the same.
 *
 * The filling runs on Deno's thread pool through a descriptor of its own (its own file offset),
 * so the event loop never waits for it; its region must not be written until it is done, which
 * {@link ZeroFill.blocks} tells the log. A fill begins some way past the write position and
 * doubles in size (up to {@link FILL_MAX}) each time, so that a shard that writes little
 * preallocates little. The space a file was given but not written is taken off again when the
 * log moves to the next segment or closes, and recovery takes a tail of zeros for the end of the
 * data (recovery.ts), since a crash leaves it there.
 *
 * @module
 */

/** The first fill of a log, and the growth of the next ones up to {@link FILL_MAX}. */
export const FILL_MIN = 1024 * 1024;
export const FILL_MAX = 16 * 1024 * 1024;
/**
 * A fill is written and fdatasynced a piece at a time: an fdatasync of the log's (same inode)
 * writes back every dirty page of the file, so zeros not yet synced would make one group commit
 * write them too; pieces keep that to this much, and let the log use each piece once it is done.
 */
export const FILL_PIECE = 256 * 1024;
/**
 * Where a fill starts when the writes have reached the filled space's end: this far past the
 * write position, so that writes made while its first piece runs (a few ms) stay short of it.
 */
export const FILL_GAP = 64 * 1024;

let zeros: Uint8Array | null = null;
const DONE = Promise.resolve();

/** The filled space of one segment file, and the fill running there. */
export class ZeroFill {
  /** Bytes up to here are zero-filled and durable (or were written by the log). */
  filled = 0;
  /** Start of the piece being filled; Infinity when no fill runs. */
  private busyFrom = Infinity;
  private running: Promise<void> | null = null;
  /** The piece being filled: resolves (never rejects) when it is done or failed. */
  private piece: Promise<void> = DONE;
  private file: Deno.FsFile | null = null;
  /** Set when a fill failed (a full disk …) or the file closed: no more filling. */
  private stopped = false;
  /** Set by close(): a fill failing after it (its file removed) is no news. */
  private closed = false;

  constructor(
    private readonly path: string,
    /** Told why filling stopped. */
    private readonly onWarning: (message: string) => void,
  ) {}

  /** True when writing up to `end` would reach the piece being filled. */
  blocks(end: number): boolean {
    return end > this.busyFrom;
  }

  /** Resolves when the piece being filled is done (at once when none is). */
  pieceDone(): Promise<void> {
    return this.piece;
  }

  /**
   * Starts filling when less than half of the next fill's size is left ahead of `position` (the
   * write position), up to `limit` (the segment size). Returns the size of the fill started, 0
   * when none was.
   */
  ahead(position: number, size: number, limit: number): number {
    if (this.running !== null || this.stopped) return 0;
    if (this.filled - position >= size / 2) return 0;
    const from = Math.max(this.filled, position + FILL_GAP);
    const to = Math.min(from + size, limit);
    if (to <= from) return 0;
    this.busyFrom = from;
    this.running = this.fill(from, to).catch((e) => {
      this.stopped = true;
      if (!this.closed) {
        this.onWarning(`${this.path}: preallocating log space failed, writes append: ${e}`);
      }
    }).finally(() => {
      this.busyFrom = Infinity;
      this.running = null;
      this.piece = DONE;
    });
    return to - from;
  }

  private async fill(from: number, to: number): Promise<void> {
    zeros ??= new Uint8Array(FILL_PIECE);
    for (let pos = from; pos < to && !this.stopped;) {
      const end = Math.min(pos + FILL_PIECE, to);
      this.busyFrom = pos;
      const failure: { error?: unknown } = {};
      // Set before the first await (the file's opening too): a write blocked by the piece waits
      // for this promise, and one already resolved would make it spin, starving the event loop.
      this.piece = (async () => {
        const file = this.file ??= await Deno.open(this.path, { write: true });
        await file.seek(pos, Deno.SeekMode.Start);
        for (let p = pos; p < end;) p += await file.write(zeros!.subarray(0, end - p));
        // Durable before the log writes there: its fdatasyncs then have no size or block map to
        // commit (they would, correctly, if it wrote sooner; it does not, see blocks()).
        await file.syncData();
      })().catch((e) => {
        failure.error = e;
      });
      await this.piece;
      if ("error" in failure) throw failure.error;
      this.filled = end;
      pos = end;
    }
  }

  /** Resolves when no fill is running. */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Stops filling after the piece under way and lets the descriptor go. */
  async close(): Promise<void> {
    this.stopped = this.closed = true;
    await this.settled();
    this.file?.close();
    this.file = null;
  }
}
