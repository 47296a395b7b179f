/**
 * Generic key commands and keyspace administration: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY
 * RENAME RENAMENX COPY MOVE TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
 * PEXPIRETIME PERSIST OBJECT, and SELECT SWAPDB DBSIZE FLUSHDB FLUSHALL. Replies, errors and
 * keyspace events follow Redis 7.0's db.c, expire.c and object.c.
 *
 * @module
 */
import { type Database, type Entry, lfuCounter, lruClock } from "../engine/keyspace.ts";
import { typeName } from "../engine/values/types.ts";
import { parseInt64 } from "../protocol/numbers.ts";
import { OK, type Reply, SimpleString } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import { copyBytes, int64Arg, intArg, isWord, latin1 } from "./args.ts";
import { err, Errors, type RespError } from "./errors.ts";
import { type CommandContext, type CommandSpec, familySpec, keys } from "./spec.ts";

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UINT64_LIMIT = 18446744073709551616n;

/** Redis shares the string objects of the integers 0..9999 (OBJ_SHARED_INTEGERS). */
const SHARED_INTEGERS = 10000;
/** OBJECT REFCOUNT of a shared object (OBJ_SHARED_REFCOUNT = INT_MAX). */
const SHARED_REFCOUNT = 2147483647;

const intOutOfRange = err(
  "ERR value is out of range, value must between -2147483648 and 2147483647",
);

/**
 * An `int` argument as Redis's getIntFromObjectOrReply reads it: not an integer, or outside
 * INT_MIN..INT_MAX, is an error (`error` replaces both texts when given).
 */
function int32Arg(b: Uint8Array, error?: RespError): number {
  const v = parseInt64(b);
  if (v === null) throw error ?? Errors.notInteger;
  if (typeof v === "bigint" || v < -2147483648 || v > 2147483647) throw error ?? intOutOfRange;
  return v;
}

/** The database `index` (argument already parsed), or "DB index is out of range". */
function databaseAt(ctx: CommandContext, index: number): Database {
  const dbs = ctx.server.keyspace.dbs;
  if (index < 0 || index >= dbs.length) throw Errors.dbIndexOutOfRange;
  return dbs[index];
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * A SCAN cursor as Redis's parseScanCursorOrReply reads it with strtoul: no leading space, an
 * optional sign (a negative value wraps around 2^64), decimal digits up to a NUL byte or the end,
 * nothing over 2^64-1. An empty string is cursor 0.
 */
function parseCursor(b: Uint8Array): bigint {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  if (end === 0) return 0n;
  if (isSpace(b[0])) throw Errors.invalidCursor;
  let i = 0;
  let negative = false;
  if (b[0] === 43 || b[0] === 45) {
    negative = b[0] === 45;
    i = 1;
  }
  if (i === end) throw Errors.invalidCursor;
  let v = 0n;
  for (; i < end; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) throw Errors.invalidCursor;
    v = v * 10n + BigInt(c);
    if (v >= UINT64_LIMIT) throw Errors.invalidCursor;
  }
  return negative && v !== 0n ? UINT64_LIMIT - v : v;
}

/** OBJECT ENCODING of a string entry: its pinned encoding, else what Redis derives. */
export function stringEncoding(db: Database, e: Entry): string {
  // "int-unshared": an integer in its own object (COPY's dupStringObject), not a shared one.
  if (e.encoding === "int-unshared") return "int";
  if (e.encoding !== undefined) return e.encoding;
  const length = e.strLen;
  if (length > 44) return "raw";
  if (e.cold) db.load(e);
  const v = e.value as Uint8Array;
  if (v.length <= 20 && parseInt64(v) !== null) return "int";
  return "embstr";
}

/** True when Redis would hold this string as a shared integer object. */
function isSharedInteger(server: Server, db: Database, e: Entry): boolean {
  if (!(e.value instanceof Uint8Array) || stringEncoding(db, e) !== "int") return false;
  if (e.encoding === "int-unshared") return false;
  // Shared integers are off when maxmemory evicts by LRU/LFU (MAXMEMORY_FLAG_NO_SHARED_INTEGERS).
  const policy = server.config.str("maxmemory-policy");
  if (server.config.int("maxmemory") !== 0 && /-(lru|lfu)$/.test(policy)) return false;
  const v = parseInt64(e.value);
  return typeof v === "number" && v >= 0 && v < SHARED_INTEGERS;
}

/** OBJECT REFCOUNT (and DEBUG OBJECT's refcount) of a string entry. */
export function stringRefcount(server: Server, db: Database, e: Entry): number {
  return isSharedInteger(server, db, e) ? SHARED_REFCOUNT : 1;
}

/** Copies the access bookkeeping of an entry that moves to a new key (RENAME, MOVE). */
function keepAccess(from: Entry, to: Entry): void {
  to.lru = from.lru;
}

/** DEL/UNLINK: removes the keys, sending `del` for each that existed. */
function deleteKeys(db: Database, argv: Uint8Array[]): number {
  let n = 0;
  for (let i = 1; i < argv.length; i++) {
    const key = latin1(argv[i]);
    if (db.delete(key)) {
      db.notify("g", "del", key);
      n++;
    }
  }
  return n;
}

/** RENAME/RENAMENX: moves the value, its TTL and its access bookkeeping to a new name. */
function rename(db: Database, argv: Uint8Array[], nx: boolean): Reply {
  const from = latin1(argv[1]);
  const to = latin1(argv[2]);
  const e = db.find(from);
  if (e === undefined) throw Errors.noSuchKey;
  if (from === to) return nx ? 0 : OK;
  const replacing = db.peek(to, false) !== undefined;
  if (replacing && nx) return 0;
  // The source changes first, then the destination: Redis signals them in that order, which
  // is the order tracking invalidations arrive in.
  db.delete(from);
  if (replacing) db.delete(to);
  keepAccess(e, db.set(to, e.value, e.expireAt, e.encoding));
  db.notify("g", "rename_from", from);
  db.notify("g", "rename_to", to);
  return nx ? 1 : OK;
}

const EXPIRE_NX = 1, EXPIRE_XX = 2, EXPIRE_GT = 4, EXPIRE_LT = 8;

/** The NX/XX/GT/LT flags of the EXPIRE family, with Redis 7's conflict errors. */
function expireFlags(argv: Uint8Array[]): number {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const a = argv[j];
    if (isWord(a, "nx")) flags |= EXPIRE_NX;
    else if (isWord(a, "xx")) flags |= EXPIRE_XX;
    else if (isWord(a, "gt")) flags |= EXPIRE_GT;
    else if (isWord(a, "lt")) flags |= EXPIRE_LT;
    else throw err(`ERR Unsupported option ${latin1(a)}`);
  }
  if (flags & EXPIRE_NX && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) {
    throw err("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (flags & EXPIRE_GT && flags & EXPIRE_LT) {
    throw err("ERR GT and LT options at the same time are not compatible");
  }
  return flags;
}

/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, as Redis's expireGenericCommand: the time may be negative
 * (the key is then deleted); only an overflow of the unit conversion or of adding the base time
 * is an invalid expire time.
 */
function expireGeneric(
  ctx: CommandContext,
  argv: Uint8Array[],
  relative: boolean,
  seconds: boolean,
): Reply {
  const db = ctx.db;
  const flags = expireFlags(argv);
  let when = BigInt(int64Arg(argv[2]));
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) {
      throw Errors.invalidExpire(ctx.command.name);
    }
    when *= 1000n;
  }
  const now = db.keyspace.now;
  const base = relative ? BigInt(now) : 0n;
  if (when > INT64_MAX - base) throw Errors.invalidExpire(ctx.command.name);
  when += base;
  const key = latin1(argv[1]);
  const e = db.find(key, false);
  if (e === undefined) return 0;
  if (flags !== 0) {
    const current = e.expireAt === 0 ? -1n : BigInt(e.expireAt);
    if (flags & EXPIRE_NX && current !== -1n) return 0;
    if (flags & EXPIRE_XX && current === -1n) return 0;
    // A key without a TTL lives forever: GT never beats it, LT always does.
    if (flags & EXPIRE_GT && (current === -1n || when <= current)) return 0;
    if (flags & EXPIRE_LT && current !== -1n && when >= current) return 0;
  }
  if (when <= BigInt(now)) {
    db.delete(key);
    db.notify("g", "del", key);
    return 1;
  }
  db.setExpire(e, Number(when));
  db.notify("g", "expire", key);
  return 1;
}

/** TTL/PTTL/EXPIRETIME/PEXPIRETIME: -2 missing, -1 persistent, else the (rounded) time. */
function ttlGeneric(
  db: Database,
  argv: Uint8Array[],
  ms: boolean,
  absolute: boolean,
): number | bigint {
  const e = db.inspect(latin1(argv[1]));
  if (e === undefined) return -2;
  if (e.expireAt === 0) return -1;
  let t = absolute ? e.expireAt : e.expireAt - db.keyspace.now;
  if (t < 0) t = 0;
  if (!ms) t = Math.floor((t + 500) / 1000);
  // A time stored as a double may have rounded past the int64 range clients can parse.
  return t >= INT64_LIMIT ? INT64_MAX : t;
}

/** 2^63 as a double: the first value beyond the int64 range. */
const INT64_LIMIT = 2 ** 63;

/** FLUSHDB/FLUSHALL's `[ASYNC | SYNC]` (both flush at once here). */
function checkFlushMode(argv: Uint8Array[]): void {
  if (argv.length === 1) return;
  if (argv.length === 2 && (isWord(argv[1], "sync") || isWord(argv[1], "async"))) return;
  throw Errors.syntax;
}

/** The entry OBJECT subcommands inspect (no touch, no keymiss event); undefined when missing. */
function objectEntry(ctx: CommandContext, argv: Uint8Array[]): Entry | undefined {
  return ctx.db.inspect(latin1(argv[2]), false);
}

const LFU_NOTE =
  "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

const OBJECT_HELP = [
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
];

const generic = familySpec("keyspace", "generic");

const objectSub = (
  name: string,
  summary: string,
  since: string,
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name,
  arity: 3,
  flags: ["readonly"],
  categories: ["keyspace"],
  group: "generic",
  summary,
  since,
  complexity: "O(1)",
  keys: [keys.one(2, "RO")],
  handler,
});

/** The generic key family and the keyspace administration commands. */
export const keyCommands: CommandSpec[] = [
  generic(
    "del",
    -2,
    ["write"],
    [keys.range(1, -1, 1, "RM", "DELETE")],
    "Delete a key",
    "1.0.0",
    "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    /** DEL key [key ...] */
    (ctx, argv) => deleteKeys(ctx.db, argv),
  ),
  generic(
    "unlink",
    -2,
    ["write", "fast"],
    [keys.range(1, -1, 1, "RM", "DELETE")],
    "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
    "4.0.0",
    "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    /** UNLINK key [key ...] */
    (ctx, argv) => deleteKeys(ctx.db, argv),
  ),
  generic(
    "exists",
    -2,
    ["readonly", "fast"],
    [keys.range(1, -1, 1, "RO")],
    "Determine if a key exists",
    "1.0.0",
    "O(N) where N is the number of keys to check.",
    /** EXISTS key [key ...] */
    (ctx, argv) => {
      let n = 0;
      for (let i = 1; i < argv.length; i++) if (ctx.db.inspect(latin1(argv[i]))) n++;
      return n;
    },
  ),
  generic(
    "type",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Determine the type stored at key",
    "1.0.0",
    "O(1)",
    /** TYPE key */
    (ctx, argv) => {
      const e = ctx.db.inspect(latin1(argv[1]));
      return new SimpleString(e === undefined ? "none" : typeName(e.value));
    },
  ),
  {
    ...generic(
      "keys",
      2,
      ["readonly"],
      [],
      "Find all keys matching the given pattern",
      "1.0.0",
      "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
      /** KEYS pattern */
      (ctx, argv) => ctx.db.keys(latin1(argv[1])),
    ),
    categories: ["keyspace", "dangerous"],
  },
  generic(
    "scan",
    -2,
    ["readonly"],
    [],
    "Incrementally iterate the keys space",
    "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
    (ctx, argv) => {
      const cursor = parseCursor(argv[1]);
      let count = 10;
      let pattern: string | null = null;
      let type: string | null = null;
      for (let i = 2; i < argv.length; i += 2) {
        const a = argv[i];
        if (i + 1 >= argv.length) throw Errors.syntax;
        if (isWord(a, "count")) {
          count = intArg(argv[i + 1]);
          if (count < 1) throw Errors.syntax;
        } else if (isWord(a, "match")) {
          const p = latin1(argv[i + 1]);
          pattern = p === "*" ? null : p;
        } else if (isWord(a, "type")) {
          // Redis compares type names ignoring case.
          type = latin1(argv[i + 1]).toLowerCase();
        } else throw Errors.syntax;
      }
      // The engine's cursor packs a 32-bit bucket cursor and a shard index; any 64-bit cursor
      // maps onto one, as Redis's cursor bits beyond its table size are ignored.
      const n = BigInt(ctx.db.keyspace.shards.length);
      const start = ((cursor / n) % 0x100000000n) * n + cursor % n;
      const [next, found] = ctx.db.scan(Number(start), count, pattern, type);
      return [String(next), found];
    },
  ),
  generic(
    "randomkey",
    1,
    ["readonly"],
    [],
    "Return a random key from the keyspace",
    "1.0.0",
    "O(1)",
    /** RANDOMKEY */
    (ctx) => ctx.db.randomKey(),
  ),
  generic(
    "rename",
    3,
    ["write"],
    [keys.one(1, "RW", "ACCESS", "DELETE"), keys.one(2, "OW", "UPDATE")],
    "Rename a key",
    "1.0.0",
    "O(1)",
    /** RENAME key newkey */
    (ctx, argv) => rename(ctx.db, argv, false),
  ),
  generic(
    "renamenx",
    3,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE"), keys.one(2, "OW", "INSERT")],
    "Rename a key, only if the new key does not exist",
    "1.0.0",
    "O(1)",
    /** RENAMENX key newkey */
    (ctx, argv) => rename(ctx.db, argv, true),
  ),
  generic(
    "copy",
    -3,
    ["write", "denyoom"],
    [keys.one(1, "RO", "ACCESS"), keys.one(2, "OW", "UPDATE")],
    "Copy a key",
    "6.2.0",
    "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    /** COPY source destination [DB destination-db] [REPLACE] */
    (ctx, argv) => {
      const src = ctx.db;
      let dst = src;
      let replace = false;
      for (let j = 3; j < argv.length; j++) {
        if (isWord(argv[j], "replace")) replace = true;
        else if (isWord(argv[j], "db") && j + 1 < argv.length) {
          dst = databaseAt(ctx, int32Arg(argv[++j]));
        } else throw Errors.syntax;
      }
      const from = latin1(argv[1]);
      const to = latin1(argv[2]);
      if (src === dst && from === to) throw Errors.sameObject;
      const e = src.get(from);
      if (e === undefined) return 0;
      if (dst.peek(to, false) !== undefined) {
        if (!replace) return 0;
        dst.delete(to);
      }
      const v = e.value;
      // Redis's COPY duplicates a string into an object of its own (dupStringObject): a shared
      // integer's copy has refcount 1.
      const encoding = isSharedInteger(ctx.server, src, e) ? "int-unshared" : e.encoding;
      dst.set(to, v instanceof Uint8Array ? copyBytes(v) : v.clone(), e.expireAt, encoding);
      dst.notify("g", "copy_to", to);
      return 1;
    },
  ),
  generic(
    "move",
    3,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Move a key to another database",
    "1.0.0",
    "O(1)",
    /** MOVE key db */
    (ctx, argv) => {
      const src = ctx.db;
      const dst = databaseAt(ctx, int32Arg(argv[2]));
      if (dst === src) throw Errors.sameObject;
      const key = latin1(argv[1]);
      const e = src.find(key);
      if (e === undefined) return 0;
      if (dst.peek(key, false) !== undefined) return 0;
      keepAccess(e, dst.set(key, e.value, e.expireAt, e.encoding));
      src.delete(key);
      src.notify("g", "move_from", key);
      dst.notify("g", "move_to", key);
      return 1;
    },
  ),
  generic(
    "touch",
    -2,
    ["readonly", "fast"],
    [keys.range(1, -1, 1, "RO")],
    "Alters the last access time of a key(s). Returns the number of existing keys specified.",
    "3.2.1",
    "O(N) where N is the number of keys that will be touched.",
    /** TOUCH key [key ...] */
    (ctx, argv) => {
      let n = 0;
      for (let i = 1; i < argv.length; i++) if (ctx.db.get(latin1(argv[i]), false)) n++;
      return n;
    },
  ),
  ...([
    ["expire", "Set a key's time to live in seconds", "1.0.0", true, true],
    ["pexpire", "Set a key's time to live in milliseconds", "2.6.0", true, false],
    ["expireat", "Set the expiration for a key as a UNIX timestamp", "1.2.0", false, true],
    [
      "pexpireat",
      "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
      "2.6.0",
      false,
      false,
    ],
  ] as const).map(([name, summary, since, relative, seconds]) =>
    generic(
      name,
      -3,
      ["write", "fast"],
      [keys.one(1, "RW", "UPDATE")],
      summary,
      since,
      "O(1)",
      /**
       * EXPIRE key seconds [NX | XX | GT | LT]
       * PEXPIRE key milliseconds [NX | XX | GT | LT]
       * EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
       * PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
       */
      (ctx, argv) => expireGeneric(ctx, argv, relative, seconds),
    )
  ),
  ...([
    ["ttl", "Get the time to live for a key in seconds", "1.0.0", false, false],
    ["pttl", "Get the time to live for a key in milliseconds", "2.6.0", true, false],
    ["expiretime", "Get the expiration Unix timestamp for a key", "7.0.0", false, true],
    [
      "pexpiretime",
      "Get the expiration Unix timestamp for a key in milliseconds",
      "7.0.0",
      true,
      true,
    ],
  ] as const).map(([name, summary, since, ms, absolute]) =>
    generic(
      name,
      2,
      ["readonly", "fast"],
      [keys.one(1, "RO", "ACCESS")],
      summary,
      since,
      "O(1)",
      /** TTL key | PTTL key | EXPIRETIME key | PEXPIRETIME key */
      (ctx, argv) => ttlGeneric(ctx.db, argv, ms, absolute),
    )
  ),
  generic(
    "persist",
    2,
    ["write", "fast"],
    [keys.one(1, "RW", "UPDATE")],
    "Remove the expiration from a key",
    "2.2.0",
    "O(1)",
    /** PERSIST key */
    (ctx, argv) => {
      const key = latin1(argv[1]);
      const e = ctx.db.find(key, false);
      if (e === undefined || e.expireAt === 0) return 0;
      ctx.db.setExpire(e, 0);
      ctx.db.notify("g", "persist", key);
      return 1;
    },
  ),
  {
    name: "object",
    arity: -2,
    flags: [],
    categories: [],
    group: "generic",
    summary: "A container for object introspection commands",
    since: "2.2.3",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        categories: ["keyspace"],
        group: "generic",
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        complexity: "O(1)",
        /** OBJECT HELP */
        handler: () =>
          [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            ...OBJECT_HELP,
            "HELP",
            "    Prints this help.",
          ].map((l) => new SimpleString(l)),
      },
      objectSub(
        "encoding",
        "Inspect the internal encoding of a Redis object",
        "2.2.3",
        /** OBJECT ENCODING key */
        (ctx, argv) => {
          const e = objectEntry(ctx, argv);
          if (e === undefined) return null;
          if (e.value instanceof Uint8Array) return stringEncoding(ctx.db, e);
          return e.value.encoding(ctx.db.keyspace.encodingLimits);
        },
      ),
      objectSub(
        "freq",
        "Get the logarithmic access frequency counter of a Redis object",
        "4.0.0",
        /** OBJECT FREQ key */
        (ctx, argv) => {
          const e = objectEntry(ctx, argv);
          if (e === undefined) return null;
          const ks = ctx.db.keyspace;
          if (!ks.lfuMode) {
            throw err(
              `ERR An LFU maxmemory policy is not selected, access frequency not tracked. ${LFU_NOTE}`,
            );
          }
          return lfuCounter(e, ks.lfuDecayTime);
        },
      ),
      objectSub(
        "idletime",
        "Get the time since a Redis object was last accessed",
        "2.2.3",
        /** OBJECT IDLETIME key */
        (ctx, argv) => {
          const e = objectEntry(ctx, argv);
          if (e === undefined) return null;
          const ks = ctx.db.keyspace;
          if (ks.lfuMode) {
            throw err(
              `ERR An LFU maxmemory policy is selected, idle time not tracked. ${LFU_NOTE}`,
            );
          }
          return Math.max(0, lruClock(ks.now) - e.lru);
        },
      ),
      objectSub(
        "refcount",
        "Get the number of references to the value of the key",
        "2.2.3",
        /** OBJECT REFCOUNT key */
        (ctx, argv) => {
          const e = objectEntry(ctx, argv);
          if (e === undefined) return null;
          return stringRefcount(ctx.server, ctx.db, e);
        },
      ),
    ],
  },
  {
    name: "select",
    arity: 2,
    flags: ["loading", "stale", "fast"],
    categories: ["connection"],
    group: "connection",
    summary: "Change the selected database for the current connection",
    since: "1.0.0",
    complexity: "O(1)",
    /** SELECT index */
    handler: (ctx, argv) => {
      ctx.client.db = databaseAt(ctx, int32Arg(argv[1])).index;
      return OK;
    },
  },
  {
    name: "swapdb",
    arity: 3,
    flags: ["write", "fast"],
    categories: ["keyspace", "dangerous"],
    group: "server",
    summary: "Swaps two Redis databases",
    since: "4.0.0",
    complexity:
      "O(N) where N is the count of clients watching or blocking on keys from both databases.",
    /** SWAPDB index1 index2 */
    handler: (ctx, argv) => {
      const a = int32Arg(argv[1], err("ERR invalid first DB index"));
      const b = int32Arg(argv[2], err("ERR invalid second DB index"));
      databaseAt(ctx, a);
      databaseAt(ctx, b);
      if (a !== b) ctx.server.keyspace.swap(a, b);
      return OK;
    },
  },
  {
    name: "dbsize",
    arity: 1,
    flags: ["readonly", "fast"],
    categories: ["keyspace"],
    group: "server",
    summary: "Return the number of keys in the selected database",
    since: "1.0.0",
    complexity: "O(1)",
    /** DBSIZE */
    handler: (ctx) => ctx.db.size(),
  },
  {
    name: "flushdb",
    arity: -1,
    flags: ["write"],
    categories: ["keyspace", "dangerous"],
    group: "server",
    summary: "Remove all keys from the current database",
    since: "1.0.0",
    complexity: "O(N) where N is the number of keys in the selected database",
    /** FLUSHDB [ASYNC | SYNC] */
    handler: (ctx, argv) => {
      checkFlushMode(argv);
      ctx.db.flush();
      return OK;
    },
  },
  {
    name: "flushall",
    arity: -1,
    flags: ["write"],
    categories: ["keyspace", "dangerous"],
    group: "server",
    summary: "Remove all keys from all databases",
    since: "1.0.0",
    complexity: "O(N) where N is the total number of keys in all databases",
    /** FLUSHALL [ASYNC | SYNC] */
    handler: (ctx, argv) => {
      checkFlushMode(argv);
      ctx.server.keyspace.flushAll();
      return OK;
    },
  },
];
