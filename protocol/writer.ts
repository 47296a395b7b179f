/**
 * The RESP encoder. One {@link ReplyWriter} per connection collects the replies of a whole read
 * batch into one growing buffer, so a pipeline of N commands costs one socket write.
 *
 * @module
 */
import {
  BigNumber,
  BulkRing,
  Double,
  Frames,
  Push,
  type Reply,
  RespError,
  RespMap,
  RespSet,
  SimpleString,
  Verbatim,
} from "./reply.ts";
import { formatDouble } from "./numbers.ts";
import { SetAside } from "./set_aside.ts";

const CRLF0 = 13;
const CRLF1 = 10;

/** Pre-encoded integer replies for the small numbers most replies carry. */
const SMALL_INTS: Uint8Array[] = [];
for (let i = 0; i < 256; i++) SMALL_INTS.push(new TextEncoder().encode(`:${i}\r\n`));

/** A writer's first buffer: enough for the replies of most requests; it grows for more. */
const INITIAL_SIZE = 256;
/** A buffer larger than this is dropped as soon as its bytes are sent. */
const SHRINK_AT_ONCE = 64 * 1024;
/** Takes between two looks at whether the buffer is larger than recent replies need. */
const SHRINK_WINDOW = 64;

/** RESP protocol version of a connection. */
export type Protocol = 2 | 3;

/** Collects encoded replies; {@link ReplyWriter.take} hands out the bytes to send. */
export class ReplyWriter {
  buf: Uint8Array<ArrayBuffer>;
  pos = 0;

  /** Takes since the last look at {@link peak}, and the largest of them. */
  private takes = 0;
  private peak = 0;
  /** A buffer that grew for a large reply, kept for the next one. */
  private readonly grown = new SetAside();
  /** The last small buffer {@link bulkAt} copied from, and a view of it. */
  private sourceBuffer: ArrayBufferLike | null = null;
  private source: Uint8Array | null = null;

  constructor(private readonly initialSize = INITIAL_SIZE) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Bytes waiting to be sent. */
  get length(): number {
    return this.pos;
  }

  /** The most bytes one batch of replies needed lately (CLIENT LIST `rbp`). */
  get recentPeak(): number {
    return Math.max(this.peak, this.pos);
  }

  /** Returns the pending bytes (a view, valid until the next write) and empties the writer. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    if (this.pos > this.peak) this.peak = this.pos;
    this.takes++;
    this.pos = 0;
    return out;
  }

  /**
   * Called once the bytes of {@link take} are sent: drops a buffer that grew for large replies,
   * at once when it is over 64 KB, else when recent replies used less than a quarter of it, so
   * an idle connection holds little (Redis frees its reply blocks once they are written).
   */
  shrink(): void {
    if (this.pos !== 0 || this.buf.length === this.initialSize) return;
    if (this.buf.length > SHRINK_AT_ONCE) {
      // Kept aside for the next large reply; {@link trim} lets it go when none comes.
      this.grown.keep(this.buf);
      this.buf = new Uint8Array(this.initialSize);
    } else if (this.takes >= SHRINK_WINDOW) {
      if (this.peak * 4 < this.buf.length) this.buf = new Uint8Array(this.initialSize);
      this.takes = this.peak = 0;
    }
  }

  /** Lets a set-aside large buffer go when no large reply came for a while. */
  trim(now: number): void {
    this.grown.trim(now);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = this.grown.alloc(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Appends raw bytes. */
  raw(bytes: Uint8Array): void {
    this.copy(bytes, 0, bytes.length);
  }

  /**
   * Appends `len` bytes of `src` from `off`. A few bytes are copied one by one: `set()` goes
   * through a builtin and memmove, ~60 ns whatever the size, four times a loop's cost for the
   * 3-byte values and integer replies of most commands.
   */
  private copy(src: Uint8Array, off: number, len: number): void {
    this.ensure(len);
    const out = this.buf;
    let p = this.pos;
    if (len < 32) {
      for (let i = 0; i < len; i++) out[p++] = src[off + i];
    } else {
      out.set(off === 0 && len === src.length ? src : src.subarray(off, off + len), p);
      p += len;
    }
    this.pos = p;
  }

  /** Appends an ASCII/latin1 string as bytes. */
  private latin1(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Appends `<prefix><decimal n>\r\n`. */
  private header(prefix: number, n: number): void {
    // Room for the longest number text ("-1.7976931348623157e+308"), prefix and CRLF.
    this.ensure(32);
    const buf = this.buf;
    buf[this.pos++] = prefix;
    if (n < 0) {
      buf[this.pos++] = 45; // '-'
      n = -n;
    }
    if (n < 10) {
      buf[this.pos++] = 48 + n;
    } else if (n <= 0x7fffffff) {
      // Digits written from the last one back, without a string per number (lengths, counts
      // and list lengths are written for most replies).
      let digits = 2;
      for (let t = (n / 100) | 0; t > 0; t = (t / 10) | 0) digits++;
      let p = this.pos + digits;
      this.pos = p;
      for (let t = n; t > 0; t = (t / 10) | 0) buf[--p] = 48 + t % 10;
    } else {
      const s = String(n);
      for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i);
    }
    buf[this.pos++] = CRLF0;
    buf[this.pos++] = CRLF1;
  }

  private crlf(): void {
    this.ensure(2);
    this.buf[this.pos++] = CRLF0;
    this.buf[this.pos++] = CRLF1;
  }

  /** Bulk string from bytes. */
  bulk(bytes: Uint8Array): void {
    this.header(36, bytes.length); // '$'
    this.copy(bytes, 0, bytes.length);
    this.crlf();
  }

  /** Bulk string from `len` bytes at `off` of `buffer` (no view of them is made). */
  private bulkAt(buffer: ArrayBufferLike, off: number, len: number): void {
    this.header(36, len);
    // One view per source buffer (small values share slabs), kept only for small buffers.
    let src = this.source;
    if (this.sourceBuffer !== buffer) {
      src = new Uint8Array(buffer);
      if (buffer.byteLength <= 64 * 1024) {
        this.sourceBuffer = buffer;
        this.source = src;
      }
    }
    this.copy(src!, off, len);
    this.crlf();
  }

  /** Bulk string from a binary (latin1) string. */
  bulkString(s: string): void {
    this.header(36, s.length);
    this.latin1(s);
    this.crlf();
  }

  /** Integer reply. */
  integer(n: number | bigint): void {
    if (typeof n === "number" && Number.isInteger(n)) {
      if (n >= 0 && n < 256) this.raw(SMALL_INTS[n]);
      else this.header(58, n); // ':'
      return;
    }
    this.latin1(`:${typeof n === "number" ? Math.trunc(n) : n}\r\n`);
  }

  /** Array, set, map or push header with `n` elements (pairs for maps in RESP3). */
  aggregate(prefix: number, n: number): void {
    this.header(prefix, n);
  }

  /** Encodes one reply value for the given protocol. */
  write(r: Reply, proto: Protocol): void {
    if (r instanceof Uint8Array) return this.bulk(r);
    switch (typeof r) {
      case "string":
        return this.bulkString(r);
      case "number":
      case "bigint":
        return this.integer(r);
      case "boolean":
        if (proto === 3) return this.latin1(r ? "#t\r\n" : "#f\r\n");
        return this.integer(r ? 1 : 0);
      case "symbol": // NULL_ARRAY
        return this.latin1(proto === 3 ? "_\r\n" : "*-1\r\n");
    }
    if (r === null) return this.latin1(proto === 3 ? "_\r\n" : "$-1\r\n");
    if (Array.isArray(r)) {
      this.header(42, r.length); // '*'
      for (let i = 0; i < r.length; i++) this.write(r[i], proto);
      return;
    }
    if (r instanceof SimpleString) {
      this.latin1("+");
      this.latin1(r.text);
      return this.crlf();
    }
    if (r instanceof RespError) {
      this.latin1("-");
      this.latin1(r.message);
      return this.crlf();
    }
    if (r instanceof Double) {
      const text = formatDouble(r.value);
      if (proto === 3) return this.latin1(`,${text}\r\n`);
      return this.bulkString(text);
    }
    if (r instanceof RespMap) {
      const e = r.entries;
      if (proto === 3) this.header(37, e.length / 2); // '%'
      else this.header(42, e.length);
      for (let i = 0; i < e.length; i++) this.write(e[i], proto);
      return;
    }
    if (r instanceof RespSet) {
      this.header(proto === 3 ? 126 : 42, r.items.length); // '~'
      for (const item of r.items) this.write(item, proto);
      return;
    }
    if (r instanceof Push) {
      this.header(proto === 3 ? 62 : 42, r.items.length); // '>'
      for (const item of r.items) this.write(item, proto);
      return;
    }
    if (r instanceof BulkRing) {
      this.header(42, r.count);
      for (let k = 0; k < r.count; k++) {
        const s = (r.first + k) & r.mask;
        this.bulkAt(r.bufs[s]!, r.offs[s], r.lens[s]);
      }
      return;
    }
    if (r instanceof Frames) {
      for (const item of r.replies) this.write(item, r.proto ?? proto);
      return;
    }
    if (r instanceof Verbatim) {
      if (proto === 2) return this.bulkString(r.text);
      this.header(61, r.text.length + 4); // '='
      this.latin1(r.format);
      this.latin1(":");
      this.latin1(r.text);
      return this.crlf();
    }
    if (r instanceof BigNumber) {
      if (proto === 3) return this.latin1(`(${r.value}\r\n`);
      return this.bulkString(String(r.value));
    }
    throw new TypeError(`cannot encode ${r?.constructor?.name ?? String(r)} here`);
  }
}
