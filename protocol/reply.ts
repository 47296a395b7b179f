/**
 * Reply values: what command handlers return. They are RESP3-shaped; only the encoder
 * (protocol/writer.ts) knows how RESP2 flattens them.
 *
 * | JS value            | RESP3                 | RESP2                         |
 * |---------------------|-----------------------|-------------------------------|
 * | `Uint8Array`        | bulk string           | bulk string                   |
 * | `string`            | bulk string (latin1 bytes: the engine's binary strings) | same |
 * | `number`/`bigint`   | integer               | integer                       |
 * | `null`              | null `_`              | null bulk `$-1`               |
 * | `NULL_ARRAY`        | null `_`              | null array `*-1`              |
 * | `boolean`           | boolean `#t`          | integer 1/0                   |
 * | `Reply[]`           | array                 | array                         |
 * | `SimpleString`      | `+text`               | `+text`                       |
 * | `RespError`         | `-CODE text`          | `-CODE text`                  |
 * | `Double`            | `,1.5`                | bulk string                   |
 * | `RespMap`           | map `%`               | flat array                    |
 * | `RespSet`           | set `~`               | array                         |
 * | `Push`              | push `>`              | array                         |
 * | `Verbatim`          | `=txt:…`              | bulk string                   |
 * | `BigNumber`         | `(123…`               | bulk string                   |
 *
 * @module
 */

/** A RESP simple string (`+OK`). */
export class SimpleString {
  constructor(readonly text: string) {}
}

/**
 * An error reply. `message` is the whole wire text after `-`, prefix included
 * (`ERR syntax error`, `WRONGTYPE Operation against ...`).
 */
export class RespError extends Error {
  constructor(message: string) {
    // A reply line cannot carry CR or LF: Redis replaces them with spaces.
    super(message.replace(/[\r\n]/g, " "));
  }
  /** The error code: the first word (`ERR`, `WRONGTYPE`, `NOAUTH` …). */
  get code(): string {
    const i = this.message.indexOf(" ");
    return i < 0 ? this.message : this.message.slice(0, i);
  }
}

/** A RESP3 double; a bulk string in RESP2. */
export class Double {
  constructor(readonly value: number) {}
}

/** A RESP3 map; a flat array of key, value, key, value … in RESP2. */
export class RespMap {
  /** `entries` is flat: key, value, key, value … */
  constructor(readonly entries: Reply[]) {}
  static of(obj: Record<string, Reply>): RespMap {
    const flat: Reply[] = [];
    for (const k in obj) flat.push(k, obj[k]);
    return new RespMap(flat);
  }
}

/** A RESP3 set; an array in RESP2. */
export class RespSet {
  constructor(readonly items: Reply[]) {}
}

/** A RESP3 out-of-band push (pub/sub messages, invalidations); an array in RESP2. */
export class Push {
  constructor(readonly items: Reply[]) {}
}

/**
 * Several replies written back to back where one is expected: Redis answers (un)subscribing to
 * several channels inside MULTI this way, all in the command's slot of EXEC's array. With
 * `proto`, they are written in that protocol whatever the connection's (a reply made inside
 * EXEC before a HELLO switched protocols keeps the one it was made in, as Redis encodes it).
 */
export class Frames {
  constructor(readonly replies: Reply[], readonly proto?: 2 | 3) {}
}

/** A RESP3 verbatim string (`=txt:...`); a bulk string in RESP2. */
export class Verbatim {
  constructor(readonly format: string, readonly text: string) {}
}

/** A RESP3 big number; a bulk string in RESP2. */
export class BigNumber {
  constructor(readonly value: bigint) {}
}

/**
 * A bulk string whose bytes are in a file (a large cold value): the connection streams it from
 * the file to the socket in chunks instead of holding it in memory. Only valid as a whole reply.
 */
export class FileSlice {
  /** `file` is opened when the reply is made, so the bytes stay readable even if compaction
   * removes the file meanwhile; the connection closes it. */
  constructor(readonly file: Deno.FsFile, readonly offset: number, readonly length: number) {}
}

/**
 * An array of bulk strings read where a collection keeps them: `count` places (buffer, offset,
 * length) in rings of `mask + 1` slots, from slot `first` (LRANGE over a list). The writer copies
 * each straight from its buffer, with no view made per element. Valid only until the collection
 * changes: where a reply is kept instead of written at once, {@link inMemory} makes it views.
 */
export class BulkRing {
  constructor(
    readonly bufs: readonly (ArrayBufferLike | undefined)[],
    readonly offs: Uint32Array,
    readonly lens: Uint32Array,
    readonly mask: number,
    readonly first: number,
    readonly count: number,
  ) {}

  /** The elements as views of their bytes. */
  views(): Uint8Array[] {
    const out: Uint8Array[] = new Array(this.count);
    for (let k = 0; k < this.count; k++) {
      const s = (this.first + k) & this.mask;
      out[k] = new Uint8Array(this.bufs[s]!, this.offs[s], this.lens[s]);
    }
    return out;
  }
}

/**
 * A reply made now and written later (a command run when a pause, a transaction or a shutdown
 * gate let it): a {@link BulkRing} is read at once, before other commands change its list.
 */
export function settled<T>(r: T): T | Uint8Array[] {
  return r instanceof BulkRing ? r.views() : r;
}

/** Reads a cold value's bytes into memory and closes its file. */
export function readFileSlice(slice: FileSlice): Uint8Array {
  const out = new Uint8Array(slice.length);
  try {
    slice.file.seekSync(slice.offset, Deno.SeekMode.Start);
    let off = 0;
    while (off < out.length) {
      const n = slice.file.readSync(out.subarray(off));
      if (n === null) throw new Error("log file cut short while reading a value");
      off += n;
    }
  } finally {
    slice.file.close();
  }
  return out;
}

/**
 * A command's result as a value to keep in memory, where a reply is not written straight to a
 * socket (inside EXEC's array, a plugin's nested call): no reply is null, a streamed cold value
 * is read into memory.
 */
export function inMemory(r: Reply | typeof NO_REPLY): Reply {
  if (r === NO_REPLY) return null;
  if (r instanceof FileSlice) return readFileSlice(r);
  if (r instanceof BulkRing) return r.views();
  return r;
}

/** The null that RESP2 writes as a null array (`*-1`), e.g. BLPOP's timeout and aborted EXEC. */
export const NULL_ARRAY: unique symbol = Symbol("null-array");

/** Everything a handler may return. */
export type Reply =
  | Uint8Array
  | string
  | number
  | bigint
  | null
  | boolean
  | Reply[]
  | SimpleString
  | RespError
  | Double
  | RespMap
  | RespSet
  | Push
  | Frames
  | Verbatim
  | BigNumber
  | FileSlice
  | BulkRing
  | typeof NULL_ARRAY;

/** The ubiquitous `+OK`. */
export const OK: SimpleString = new SimpleString("OK");
/** `+QUEUED`, the reply to a command queued inside MULTI. */
export const QUEUED: SimpleString = new SimpleString("QUEUED");
/** `+PONG`. */
export const PONG: SimpleString = new SimpleString("PONG");

/** Returned by a handler that sends no reply at all (CLIENT REPLY OFF/SKIP, QUIT handled later). */
export const NO_REPLY: unique symbol = Symbol("no-reply");
