/**
 * The incremental request parser: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
 * (`GET k\r\n`) requests, with Redis's limits and error texts.
 *
 * Socket reads land directly in the parser's buffer ({@link RequestParser.readTarget}), and the
 * arguments of a multibulk request are views into it: a request is copied once, by the kernel.
 * Views stay valid until the next `readTarget` call, so a command that keeps an argument (a value
 * to store) copies it.
 *
 * @module
 */
import { parseInt64 } from "./numbers.ts";
import { RespError } from "./reply.ts";
import { SetAside } from "./set_aside.ts";

/** Longest inline request, and longest `*`/`$` header line (Redis's PROTO_INLINE_MAX_SIZE). */
export const INLINE_MAX = 64 * 1024;
/**
 * Socket reads ask for between 1 KB and 16 KB (Redis reads 16 KB). A connection starts at the
 * least, so an idle one holds a buffer of 1 KB, not 32 (Redis keeps no query buffer for an idle
 * client); the read size doubles each time a read fills it, and halves after a run of reads that
 * fill less than a quarter of it.
 */
const MIN_READ = 1024;
const MAX_READ = 16 * 1024;
/** Reads in a row that fill less than a quarter of the read size before it halves. */
const SMALL_READS = 16;

/**
 * Parser limits, from `proto-max-bulk-len` and `client-query-buffer-limit`: one object the server
 * keeps current, so CONFIG SET applies to open connections too, as in Redis.
 */
export interface ParserLimits {
  maxBulkLen: number;
  maxQueryBuffer: number;
}

/** A request the client sent that cannot be parsed; the connection answers it and closes. */
export class ProtocolError extends RespError {}

/** The query buffer outgrew `client-query-buffer-limit`; the connection closes without a reply. */
export class QueryBufferOverflow extends Error {}

/** No arguments parsed yet (shared; never added to). */
const NO_ARGS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** Parses requests out of one connection's byte stream. */
export class RequestParser {
  // Plain typed arrays, not Buffers: a Buffer's views are made by a JavaScript subclass
  // constructor, several times slower than a plain view, and every argument is a view.
  private buf = new Uint8Array(MIN_READ);
  /**
   * `buf`'s ArrayBuffer and offset, kept beside it: reading a typed array's `buffer` costs more
   * than the view made from it (~25 ns, a call into V8's C++), and every argument is a view.
   */
  private bufArray: ArrayBuffer = this.buf.buffer;
  private bufOffset = 0;
  /** How many bytes the next socket read asks for (see {@link MIN_READ}). */
  private readSize = MIN_READ;
  /** Length of the last read target, and the run of small reads since the read size last changed. */
  private targetLen = 0;
  private smallReads = 0;
  /** A buffer that grew for a large request, kept for the next one, and since when. */
  private readonly grown = new SetAside();
  /** A view of all of `buf`, made once. */
  private whole: Uint8Array | null = null;
  private start = 0; // first byte of the request being parsed
  private end = 0; // end of received bytes
  // State of a partly received multibulk request, so a large one is not parsed again per read.
  private pos = 0;
  private args: Uint8Array[] = NO_ARGS;
  private remaining = 0;
  private bulkLen = -1;

  /** Set while the client must still authenticate: Redis then caps request sizes. */
  authRequired = false;

  constructor(readonly limits: ParserLimits) {}

  /** Bytes received and not yet consumed (the `qbuf` of CLIENT LIST). */
  get pending(): number {
    return this.end - this.start;
  }

  /** Free space of the buffer (`qbuf-free`). */
  get free(): number {
    return this.buf.length - this.end;
  }

  /** A view of free buffer space to read socket bytes into; pass the count read to `commit`. */
  readTarget(): Uint8Array {
    if (this.start === this.end) {
      this.start = this.end = 0;
      this.resetPartial();
      // A buffer that grew for a large request is set aside once it has been parsed, so the
      // next read (which an idle connection keeps pending) holds a small one; the next large
      // request reuses it, and {@link trim} lets it go when none comes.
      if (this.buf.length > 2 * this.readSize) {
        this.grown.keep(this.buf);
        this.use(new Uint8Array(2 * this.readSize));
      }
    }
    let need = this.readSize;
    if (this.bulkLen >= 0) need = Math.max(need, this.pos + this.bulkLen + 2 - this.end);
    if (this.buf.length - this.end < need) {
      const used = this.end - this.start;
      if (this.start > 0 && this.buf.length - used >= need && used < this.buf.length / 2) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buf.length * 2;
        while (size - used < need) size *= 2;
        const next = this.grown.alloc(size);
        next.set(this.buf.subarray(this.start, this.end));
        this.use(next);
      }
      this.end = used;
      this.start = 0;
      this.resetPartial(); // argument views pointed into the old layout
    }
    // The usual case, an empty buffer, reuses one view of it (a view costs as much as a read).
    const target = this.end === 0
      ? this.whole ??= this.buf.subarray(0)
      : this.buf.subarray(this.end);
    this.targetLen = target.length;
    return target;
  }

  /** Makes `buf` the buffer requests are read into. */
  private use(buf: Uint8Array<ArrayBuffer>): void {
    this.buf = buf;
    this.bufArray = buf.buffer;
    this.bufOffset = buf.byteOffset;
    this.whole = null;
  }

  /** Lets a set-aside large buffer go when no large request came for a while. */
  trim(now: number): void {
    this.grown.trim(now);
  }

  /** Records that `n` bytes were read into the last `readTarget`. */
  commit(n: number): void {
    if (n >= this.targetLen) {
      // The read filled what it was given: more was waiting.
      if (this.readSize < MAX_READ) this.readSize *= 2;
      this.smallReads = 0;
    } else if (n < this.readSize >> 2 && this.readSize > MIN_READ) {
      if (++this.smallReads >= SMALL_READS) {
        this.readSize >>= 1;
        this.smallReads = 0;
      }
    } else this.smallReads = 0;
    this.end += n;
  }

  /** Appends bytes from elsewhere (in-process clients and tests). */
  feed(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const target = this.readTarget();
      const n = Math.min(target.length, bytes.length - off);
      target.set(bytes.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  private resetPartial(): void {
    this.pos = this.start;
    this.args = NO_ARGS;
    this.remaining = 0;
    this.bulkLen = -1;
  }

  /**
   * The next complete request: its arguments (an empty array for an empty request, which the
   * caller skips), or `null` when more bytes are needed. Throws {@link ProtocolError}.
   */
  next(): Uint8Array[] | null {
    if (this.start >= this.end) return null;
    const argv = this.remaining === 0 && this.buf[this.start] !== 42
      ? this.inline()
      : this.multibulk();
    // Checked on what is not parsed yet, as Redis checks its query buffer: complete requests
    // are served first, and the arguments of a partial one already read leave it.
    const unparsed = this.end - (this.remaining > 0 ? this.pos : this.start);
    if (argv === null && unparsed > this.limits.maxQueryBuffer) {
      throw new QueryBufferOverflow("client-query-buffer-limit exceeded");
    }
    return argv;
  }

  private finish(at: number): void {
    this.start = at;
    this.pos = at;
    this.args = NO_ARGS;
    this.remaining = 0;
    this.bulkLen = -1;
  }

  /** Finds `\r` followed by one more byte in [from, end); -1 when the line is not complete. */
  private lineEnd(from: number): number {
    // Header lines (`*3`, `$16`) are a few bytes: a loop finds their end sooner than a call
    // into the native search, which takes over for long (inline or malformed) lines.
    const buf = this.buf;
    const stop = Math.min(this.end, from + 24);
    let cr = from;
    while (cr < stop && buf[cr] !== 13) cr++;
    if (cr === stop) cr = stop < this.end ? buf.indexOf(13, stop) : -1;
    if (cr < 0 || cr >= this.end - 1) return -1;
    return cr;
  }

  private multibulk(): Uint8Array[] | null {
    const buf = this.buf;
    let args = this.args;
    if (this.remaining === 0) {
      const cr = this.lineEnd(this.start);
      if (cr < 0) {
        if (this.end - this.start > INLINE_MAX) {
          throw new ProtocolError("ERR Protocol error: too big mbulk count string");
        }
        return null;
      }
      const count = parseLength(buf, this.start + 1, cr);
      if (count === null || count > 2147483647) {
        // Redis finds the line end with strchr, which stops at a NUL: it waits for more.
        if (hasNul(buf, this.start, cr)) {
          if (this.end - this.start > INLINE_MAX) {
            throw new ProtocolError("ERR Protocol error: too big mbulk count string");
          }
          return null;
        }
        throw new ProtocolError("ERR Protocol error: invalid multibulk length");
      }
      if (count > 10 && this.authRequired) {
        throw new ProtocolError("ERR Protocol error: unauthenticated multibulk length");
      }
      if (count <= 0) {
        this.finish(cr + 2);
        return [];
      }
      this.remaining = count;
      this.pos = cr + 2;
      this.bulkLen = -1;
      args = [];
    }
    while (this.remaining > 0) {
      if (this.bulkLen < 0) {
        if (this.pos >= this.end) return this.partial(args);
        const cr = this.lineEnd(this.pos);
        if (cr < 0) {
          if (this.end - this.pos > INLINE_MAX) {
            throw new ProtocolError("ERR Protocol error: too big bulk count string");
          }
          return this.partial(args);
        }
        const len = buf[this.pos] === 36 ? parseLength(buf, this.pos + 1, cr) : null;
        if (len === null || len < 0 || len > this.limits.maxBulkLen) {
          // As above: a NUL hides the line end from Redis, which then waits for more.
          if (hasNul(buf, this.pos, cr)) {
            if (this.end - this.pos > INLINE_MAX) {
              throw new ProtocolError("ERR Protocol error: too big bulk count string");
            }
            return this.partial(args);
          }
          if (buf[this.pos] !== 36) {
            throw new ProtocolError(
              `ERR Protocol error: expected '$', got '${String.fromCharCode(buf[this.pos])}'`,
            );
          }
          throw new ProtocolError("ERR Protocol error: invalid bulk length");
        }
        if (len > 16384 && this.authRequired) {
          throw new ProtocolError("ERR Protocol error: unauthenticated bulk length");
        }
        this.bulkLen = len;
        this.pos = cr + 2;
      }
      if (this.end - this.pos < this.bulkLen + 2) return this.partial(args);
      // The constructor over the ArrayBuffer makes a view for ~40% less than subarray(), which
      // looks up a species constructor first (every argument of every request is one).
      args.push(new Uint8Array(this.bufArray, this.bufOffset + this.pos, this.bulkLen));
      this.pos += this.bulkLen + 2;
      this.bulkLen = -1;
      this.remaining--;
    }
    this.finish(this.pos);
    return args;
  }

  /**
   * Keeps the arguments of a request not received whole yet, and asks for more bytes. Only then
   * is the new array stored in the parser: storing a young object in an old one costs V8's write
   * barrier a remembered-set insert, per request when it was done for every one.
   */
  private partial(args: Uint8Array[]): null {
    this.args = args;
    return null;
  }

  private inline(): Uint8Array[] | null {
    let nl = this.buf.indexOf(10, this.start);
    // Redis finds the newline with strchr, which stops at a NUL: such a line never ends.
    if (nl >= 0 && nl < this.end && hasNul(this.buf, this.start, nl)) nl = -1;
    if (nl < 0 || nl >= this.end) {
      if (this.end - this.start > INLINE_MAX) {
        throw new ProtocolError("ERR Protocol error: too big inline request");
      }
      return null;
    }
    let lineEnd = nl;
    if (lineEnd > this.start && this.buf[lineEnd - 1] === 13) lineEnd--;
    const args = splitArgs(this.buf.subarray(this.start, lineEnd));
    if (args === null) throw new ProtocolError("ERR Protocol error: unbalanced quotes in request");
    this.finish(nl + 1);
    return args;
  }
}

/** True when buf[from, to) holds a NUL byte. */
function hasNul(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === 0) return true;
  return false;
}

/**
 * Parses the decimal number in buf[from, to) as `string2ll`; null when it is not one. Past 2^53
 * the value is approximate, which no length limit can tell from the exact one.
 */
function parseLength(buf: Uint8Array, from: number, to: number): number | null {
  // Longer than any real length: int64's exact bounds decide (a view is made only here).
  if (to - from > 15) {
    const v = parseInt64(buf.subarray(from, to));
    return v === null ? null : Number(v);
  }
  if (to <= from) return null;
  let i = from;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
    if (i === to) return null;
  }
  // Only "0" may start with a zero ("00", "-0" and "01" are not numbers to string2ll).
  if (buf[i] === 48 && (neg || to - i > 1)) return null;
  let v = 0;
  for (; i < to; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return neg ? -v : v;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexValue(c: number): number {
  if (c <= 57) return c - 48;
  if (c >= 97) return c - 87;
  return c - 55;
}

function isSpace(c: number | undefined): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 11 || c === 12;
}

/**
 * Splits an inline request line into arguments exactly as Redis's `sdssplitargs`: spaces separate
 * arguments, "double quotes" understand `\n \r \t \b \a \\ \" \xHH`, 'single quotes' only `\'`,
 * and a closing quote must be followed by a space or the end. Returns null on unbalanced quotes.
 *
 * The arguments are views of `line`, which is rewritten in place: each argument's bytes go where
 * its text began (an argument is never longer than its text). A buffer per argument would cost
 * ~700 ns each in Deno.
 */
export function splitArgs(line: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let p = 0;
  const n = line.length;
  for (;;) {
    while (p < n && isSpace(line[p])) p++;
    if (p >= n) return out;
    let inq = false; // inside "double quotes"
    let insq = false; // inside 'single quotes'
    let done = false;
    const begin = p;
    let w = p; // where the next byte of the argument goes (never past p)
    while (!done) {
      const c = line[p];
      if (inq) {
        if (p >= n) return null;
        if (c === 92 && line[p + 1] === 120 && isHex(line[p + 2]) && isHex(line[p + 3])) {
          line[w++] = hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]);
          p += 3;
        } else if (c === 92 && p + 1 < n) {
          p++;
          const e = line[p];
          line[w++] = e === 110
            ? 10
            : e === 114
            ? 13
            : e === 116
            ? 9
            : e === 98
            ? 8
            : e === 97
            ? 7
            : e;
        } else if (c === 34) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          line[w++] = c;
        }
      } else if (insq) {
        if (p >= n) return null;
        if (c === 92 && line[p + 1] === 39) {
          p++;
          line[w++] = 39;
        } else if (c === 39) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          line[w++] = c;
        }
      } else {
        // Unquoted text ends only at these four (vertical tab and form feed belong to it).
        if (p >= n || c === 32 || c === 10 || c === 13 || c === 9) done = true;
        else if (c === 34) inq = true;
        else if (c === 39) insq = true;
        else line[w++] = c;
      }
      if (p < n) p++;
    }
    out.push(line.subarray(begin, w));
  }
}
