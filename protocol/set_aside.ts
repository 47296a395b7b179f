/**
 * A buffer that grew for one large request or reply, kept for the next: the parser and the
 * reply writer give large buffers back so idle connections stay small, and take this one again
 * instead of zero-filling a fresh buffer per large request or reply.
 *
 * @module
 */

/** How long a set-aside buffer waits for the next large need before it is let go. */
const KEEP_MS = 2000;

/** One set-aside buffer and since when it waits. */
export class SetAside {
  private kept: Uint8Array<ArrayBuffer> | null = null;
  private since = 0;

  /** The buffer waiting, if any (for inspection). */
  get buffer(): Uint8Array | null {
    return this.kept;
  }

  /** Keeps `buf` for the next large need. */
  keep(buf: Uint8Array<ArrayBuffer>): void {
    this.kept = buf;
    this.since = Date.now();
  }

  /**
   * A buffer of at least `size` bytes: the kept one when it suits (big enough, not more than
   * four times too big), else a new one. Its old bytes are stale: callers write before reading.
   */
  alloc(size: number): Uint8Array<ArrayBuffer> {
    const b = this.kept;
    if (b !== null && b.length >= size && b.length <= size * 4) {
      this.kept = null;
      return b;
    }
    return new Uint8Array(size);
  }

  /** Lets the kept buffer go when no large need came for a while (the server cron calls it). */
  trim(now: number): void {
    if (this.kept !== null && now - this.since > KEEP_MS) this.kept = null;
  }
}
