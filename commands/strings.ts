/**
 * String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND STRLEN
 * INCR DECR INCRBY DECRBY INCRBYFLOAT GETRANGE SUBSTR SETRANGE LCS.
 *
 * @module
 */
import { type Database, type Entry, KEEP_TTL, type Key } from "../engine/keyspace.ts";
import { appendBytes } from "../engine/bytes.ts";
import { incrByFloat, longDoubleText } from "../engine/longdouble.ts";
import { addInt64, parseInt64 } from "../protocol/numbers.ts";
import { OK, type Reply, RespMap } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import { copyBytes, int64Arg, intArg, isWord, latin1, latin1Value, numberBytes } from "./args.ts";
import { err, Errors, RespError, wrongArity } from "./errors.ts";
import { type CommandSpec, familySpec, keys, type KeySpecFlag } from "./spec.ts";

const EMPTY = new Uint8Array(0);

/** The string held by an entry; throws WRONGTYPE for other types. */
export function stringOf(e: Entry): Uint8Array {
  const v = e.value; // a new view each time it is read
  if (!(v instanceof Uint8Array)) throw Errors.wrongType;
  return v;
}

/** The string at `key` for reading (null when missing); throws WRONGTYPE. */
export function readString(db: Database, key: string): Uint8Array | null {
  const e = db.get(key);
  return e === undefined ? null : stringOf(e);
}

/** Longest string a command may build (proto-max-bulk-len). */
function checkLength(server: Server, total: number): void {
  if (total > server.config.int("proto-max-bulk-len")) throw Errors.stringTooLong;
}

/** Expiry options shared by SET and GETEX. */
interface ExpireOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  persist: boolean;
  /** The expiry unit and its argument, checked later by {@link expireAt}. */
  unit: ExpireUnit | null;
  amount: Uint8Array | null;
}

type ExpireUnit = "ex" | "px" | "exat" | "pxat";
const UNITS: readonly ExpireUnit[] = ["ex", "px", "exat", "pxat"];
const INT64_MAX = 9223372036854775807n;

/**
 * Parses `[NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]` (SET) or
 * `[EX s|PX ms|EXAT ts|PXAT ts|PERSIST]` (GETEX) in one pass with Redis's conflict rules: a
 * conflicting or unknown word is a syntax error. The expiry number is checked separately, when
 * Redis checks it.
 */
function parseExpireOptions(argv: Uint8Array[], from: number, forSet: boolean): ExpireOptions {
  const o: ExpireOptions = {
    nx: false,
    xx: false,
    get: false,
    keepTtl: false,
    persist: false,
    unit: null,
    amount: null,
  };
  for (let j = from; j < argv.length; j++) {
    const a = argv[j];
    const hasNext = j + 1 < argv.length;
    if (forSet && isWord(a, "nx") && !o.xx) o.nx = true;
    else if (forSet && isWord(a, "xx") && !o.nx) o.xx = true;
    else if (forSet && isWord(a, "get")) o.get = true;
    else if (forSet && isWord(a, "keepttl") && o.unit === null) o.keepTtl = true;
    else if (!forSet && isWord(a, "persist") && o.unit === null) o.persist = true;
    else if (!o.keepTtl && !o.persist && hasNext && (o.unit === null || isWord(a, o.unit))) {
      const u = UNITS.find((w) => isWord(a, w));
      if (u === undefined) throw Errors.syntax;
      o.unit = u;
      o.amount = argv[++j];
    } else throw Errors.syntax;
  }
  return o;
}

/**
 * An expiry argument as an absolute time in ms, checked as Redis's getExpireMillisecondsOrReply:
 * not positive, or overflowing int64 once converted and added to now, is an invalid expire time.
 */
function expireAt(amount: Uint8Array, unit: ExpireUnit, now: number, cmd: string): number {
  let ms = BigInt(int64Arg(amount));
  if (ms <= 0n) throw Errors.invalidExpire(cmd);
  if (unit === "ex" || unit === "exat") {
    if (ms > INT64_MAX / 1000n) throw Errors.invalidExpire(cmd);
    ms *= 1000n;
  }
  if (unit === "ex" || unit === "px") ms += BigInt(now);
  if (ms > INT64_MAX) throw Errors.invalidExpire(cmd);
  return Number(ms);
}

/** Sets a string and sends the notifications SET sends. */
function setString(db: Database, key: Key, value: Uint8Array, expireAt: number): void {
  const e = db.set(key, value, expireAt);
  db.notify("$", "set", e.key);
  if (expireAt > 0) db.notify("g", "expire", e.key);
}

/**
 * Stores a string computed from what `key` held: `e` is the entry the command looked up (kept,
 * with its TTL, and not looked up again), or undefined when the key did not exist.
 */
function storeOver(
  db: Database,
  key: Key,
  e: Entry | undefined,
  value: Uint8Array,
  encoding?: string,
): Entry {
  if (e === undefined) return db.set(key, value, 0, encoding);
  db.replace(e, value, encoding);
  return e;
}

/** INCR/DECR/INCRBY/DECRBY: adds `by` to the integer at `key`, keeping its TTL. */
function incrBy(db: Database, key: Key, by: number | bigint): Reply {
  const e = db.find(key);
  let current: number | bigint = 0;
  if (e !== undefined) {
    const v = parseInt64(stringOf(e));
    if (v === null) throw Errors.notInteger;
    current = v;
  }
  const next = addInt64(current, by);
  if (next === null) throw Errors.overflow;
  const stored = storeOver(db, key, e, numberBytes(next));
  db.notify("$", "incrby", stored.key);
  return next;
}

const str = familySpec("string", "string");

/** The string family's commands. */
export const stringCommands: CommandSpec[] = [
  str(
    "get",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO", "ACCESS")],
    "Returns the string value of a key.",
    "1.0.0",
    "O(1)",
    /** GET key */
    (ctx, argv) => {
      const e = ctx.db.get(argv[1], false);
      if (e === undefined) return null;
      if (e.cold) {
        // A large cold value goes from the log file to the socket without being loaded.
        const slice = ctx.server.coldSlice(e);
        if (slice) return slice;
        ctx.db.load(e);
      }
      return stringOf(e);
    },
  ),
  str(
    "set",
    -3,
    ["write", "denyoom"],
    [keys.one(1, "RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS")],
    "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    "1.0.0",
    "O(1)",
    /** SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] */
    (ctx, argv) => {
      const db = ctx.db;
      // The common form looks the key up by its bytes: no string unless the key is new.
      if (argv.length === 3) {
        setString(db, argv[1], copyBytes(argv[2]), 0);
        return OK;
      }
      const key = latin1(argv[1]);
      const o = parseExpireOptions(argv, 3, true);
      const at = o.unit ? expireAt(o.amount!, o.unit, db.keyspace.now, "set") : 0;
      let old: Reply = null;
      let found: boolean;
      if (o.get) {
        const e = db.get(key);
        if (e !== undefined) old = stringOf(e);
        found = e !== undefined;
      } else {
        found = db.exists(key);
      }
      if ((o.nx && found) || (o.xx && !found)) return o.get ? old : null;
      setString(db, key, copyBytes(argv[2]), o.keepTtl ? KEEP_TTL : at);
      return o.get ? old : OK;
    },
  ),
  str(
    "setnx",
    3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "OW", "INSERT")],
    "Set the string value of a key only when the key doesn't exist.",
    "1.0.0",
    "O(1)",
    /** SETNX key value */
    (ctx, argv) => {
      const key = latin1(argv[1]);
      if (ctx.db.exists(key)) return 0;
      setString(ctx.db, key, copyBytes(argv[2]), 0);
      return 1;
    },
  ),
  str(
    "setex",
    4,
    ["write", "denyoom"],
    [keys.one(1, "OW", "UPDATE")],
    "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
    "2.0.0",
    "O(1)",
    /** SETEX key seconds value */
    (ctx, argv) => {
      const at = expireAt(argv[2], "ex", ctx.db.keyspace.now, "setex");
      setString(ctx.db, argv[1], copyBytes(argv[3]), at);
      return OK;
    },
  ),
  str(
    "psetex",
    4,
    ["write", "denyoom"],
    [keys.one(1, "OW", "UPDATE")],
    "Sets both string value and expiration time in milliseconds of a key.",
    "2.6.0",
    "O(1)",
    /** PSETEX key milliseconds value */
    (ctx, argv) => {
      const at = expireAt(argv[2], "px", ctx.db.keyspace.now, "psetex");
      setString(ctx.db, argv[1], copyBytes(argv[3]), at);
      return OK;
    },
  ),
  str(
    "getset",
    3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Returns the previous string value of a key after setting it to a new value.",
    "1.0.0",
    "O(1)",
    /** GETSET key value */
    (ctx, argv) => {
      const key = latin1(argv[1]);
      const old = readString(ctx.db, key);
      setString(ctx.db, key, copyBytes(argv[2]), 0);
      return old;
    },
  ),
  str(
    "getdel",
    2,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE")],
    "Returns the string value of a key after deleting the key.",
    "6.2.0",
    "O(1)",
    /** GETDEL key */
    (ctx, argv) => {
      const key = latin1(argv[1]);
      const value = readString(ctx.db, key);
      if (value !== null) {
        ctx.db.delete(key);
        ctx.db.notify("g", "del", key);
      }
      return value;
    },
  ),
  str(
    "getex",
    -2,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Returns the string value of a key after setting its expiration time.",
    "6.2.0",
    "O(1)",
    /** GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const o = parseExpireOptions(argv, 2, false);
      const e = db.get(key);
      if (e === undefined) return null;
      const value = stringOf(e);
      const at = o.unit ? expireAt(o.amount!, o.unit, db.keyspace.now, "getex") : 0;
      if (at > 0 && at <= db.keyspace.now) {
        db.delete(key);
        db.notify("g", "del", key);
      } else if (at > 0) {
        db.setExpire(e, at);
        db.notify("g", "expire", key);
      } else if (o.persist && e.expireAt !== 0) {
        db.setExpire(e, 0);
        db.notify("g", "persist", key);
      }
      return value;
    },
  ),
  str(
    "mget",
    -2,
    ["readonly", "fast"],
    [keys.range(1, -1, 1, "RO", "ACCESS")],
    "Atomically returns the string values of one or more keys.",
    "1.0.0",
    "O(N) where N is the number of keys to retrieve.",
    /** MGET key [key ...] */
    (ctx, argv) => {
      const out: Reply[] = new Array(argv.length - 1);
      for (let i = 1; i < argv.length; i++) {
        const e = ctx.db.get(argv[i]);
        out[i - 1] = e !== undefined && e.strLen >= 0 ? e.value as Uint8Array : null; // a string
      }
      return out;
    },
  ),
  str(
    "mset",
    -3,
    ["write", "denyoom"],
    [keys.range(1, -1, 2, "OW", "UPDATE")],
    "Atomically creates or modifies the string values of one or more keys.",
    "1.0.1",
    "O(N) where N is the number of keys to set.",
    /** MSET key value [key value ...] */
    (ctx, argv) => {
      if (argv.length % 2 === 0) return wrongArity("mset");
      for (let i = 1; i < argv.length; i += 2) {
        setString(ctx.db, argv[i], copyBytes(argv[i + 1]), 0);
      }
      return OK;
    },
  ),
  str(
    "msetnx",
    -3,
    ["write", "denyoom"],
    [keys.range(1, -1, 2, "OW", "INSERT")],
    "Atomically modifies the string values of one or more keys only when all keys don't exist.",
    "1.0.1",
    "O(N) where N is the number of keys to set.",
    /** MSETNX key value [key value ...] */
    (ctx, argv) => {
      if (argv.length % 2 === 0) return wrongArity("msetnx");
      for (let i = 1; i < argv.length; i += 2) if (ctx.db.exists(latin1(argv[i]))) return 0;
      for (let i = 1; i < argv.length; i += 2) {
        setString(ctx.db, latin1(argv[i]), copyBytes(argv[i + 1]), 0);
      }
      return 1;
    },
  ),
  {
    ...str(
      "append",
      3,
      ["write", "denyoom", "fast"],
      [keys.one(1, "RW", "INSERT")],
      "Appends a string to the value of a key. Creates the key if it doesn't exist.",
      "2.0.0",
      "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
      /** APPEND key value */
      (ctx, argv) => {
        const db = ctx.db;
        const key = latin1(argv[1]);
        const e = db.find(key);
        let next: Uint8Array;
        if (e === undefined) {
          next = copyBytes(argv[2]);
          db.set(key, next, 0);
        } else {
          const cur = stringOf(e);
          checkLength(ctx.server, cur.length + argv[2].length);
          next = appendBytes(cur, argv[2]);
          // Logged as the bytes appended; the value stays hot until written whole again (a
          // large one once its appends stop), since a cold value is read back from one record.
          db.appended(e, next, next.subarray(cur.length));
          ctx.server.memory.placeLater(e);
        }
        db.notify("$", "append", key);
        return next.length;
      },
    ),
    differences:
      "APPEND logs the bytes appended. A value larger than `hot-cache-max-value-size` (64kb by default), otherwise never kept hot, stays hot while appends to it go on, and is written whole and made cold about a second after they stop (a cold value is read back from one record). While memory is over `maxmemory` with nothing else to make cold, each APPEND to such a value writes it whole and makes it cold, so the next one reads it back.",
  },
  str(
    "strlen",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Returns the length of a string value.",
    "2.2.0",
    "O(1)",
    /** STRLEN key */
    (ctx, argv) => readString(ctx.db, latin1(argv[1]))?.length ?? 0,
  ),
  str(
    "incr",
    2,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    "1.0.0",
    "O(1)",
    /** INCR key */
    (ctx, argv) => incrBy(ctx.db, argv[1], 1),
  ),
  str(
    "decr",
    2,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    "1.0.0",
    "O(1)",
    /** DECR key */
    (ctx, argv) => incrBy(ctx.db, argv[1], -1),
  ),
  str(
    "incrby",
    3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    "1.0.0",
    "O(1)",
    /** INCRBY key increment */
    (ctx, argv) => incrBy(ctx.db, argv[1], int64Arg(argv[2])),
  ),
  str(
    "decrby",
    3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    "1.0.0",
    "O(1)",
    /** DECRBY key decrement */
    (ctx, argv) => {
      const by = int64Arg(argv[2]);
      if (by === -9223372036854775808n) return err("ERR decrement would overflow");
      return incrBy(ctx.db, argv[1], typeof by === "bigint" ? -by : -by);
    },
  ),
  str(
    "incrbyfloat",
    3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    "2.6.0",
    "O(1)",
    /** INCRBYFLOAT key increment */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = db.find(key);
      const current = e === undefined ? "0" : longDoubleText(stringOf(e));
      const result = incrByFloat(current, longDoubleText(argv[2]));
      if (result instanceof RespError) return result;
      const bytes = latin1Value(result);
      storeOver(db, key, e, bytes, bytes.length <= 44 ? "embstr" : "raw");
      db.notify("$", "incrbyfloat", key);
      return bytes;
    },
  ),
  ...["getrange", "substr"].map((name) =>
    str(
      name,
      4,
      ["readonly"],
      [keys.one(1, "RO", "ACCESS")],
      "Returns a substring of the string stored at a key.",
      name === "getrange" ? "2.4.0" : "1.0.0",
      "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
      /** GETRANGE key start end */
      (ctx, argv) => {
        let start = intArg(argv[2]);
        let end = intArg(argv[3]);
        const s = readString(ctx.db, latin1(argv[1])) ?? EMPTY;
        const len = s.length;
        if (start < 0 && end < 0 && start > end) return EMPTY;
        if (start < 0) start = len + start;
        if (end < 0) end = len + end;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= len) end = len - 1;
        if (start > end || len === 0) return EMPTY;
        return s.subarray(start, end + 1);
      },
    )
  ),
  {
    ...str(
      "setrange",
      4,
      ["write", "denyoom"],
      [keys.one(1, "RW", "UPDATE")],
      "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
      "2.2.0",
      "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
      /** SETRANGE key offset value */
      (ctx, argv) => {
        const db = ctx.db;
        const offset = intArg(argv[2]);
        if (offset < 0) return Errors.offsetOutOfRange;
        const key = latin1(argv[1]);
        const patch = argv[3];
        const e = db.find(key);
        const cur = e === undefined ? EMPTY : stringOf(e);
        if (patch.length === 0) return cur.length;
        checkLength(ctx.server, offset + patch.length);
        const next = new Uint8Array(Math.max(cur.length, offset + patch.length));
        next.set(cur);
        next.set(patch, offset);
        storeOver(db, key, e, next, "raw");
        db.notify("$", "setrange", key);
        return next.length;
      },
    ),
    differences:
      "Each SETRANGE logs the whole new value, so its cost grows with the value's length.",
  },
  str(
    "lcs",
    -3,
    ["readonly"],
    [keys.range(1, 1, 1, "RO", "ACCESS")],
    "Finds the longest common substring.",
    "7.0.0",
    "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    /** LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN] */
    (ctx, argv) => lcs(ctx.db, ctx.server, argv),
  ),
];

{
  const set = stringCommands.find((c) => c.name === "set")!;
  set.keys![0].notes = "RW and ACCESS due to the optional `GET` argument";
  stringCommands.find((c) => c.name === "getex")!.keys![0].notes =
    "RW and UPDATE because it changes the TTL";
}

// SET reads its key only with GET: without it the key is written over (OW), as Redis's setGetKeys.
// (Asked after every SET by the read statistics, so it allocates no more than its answer.)
const SET_READS: readonly KeySpecFlag[] = ["RW", "ACCESS", "UPDATE"];
const SET_OVERWRITES: readonly KeySpecFlag[] = ["OW", "UPDATE"];
stringCommands.find((c) => c.name === "set")!.getKeys = (argv) => {
  let get = false;
  for (let i = 3; i < argv.length && !get; i++) get = isWord(argv[i], "get");
  return [{ index: 1, flags: get ? SET_READS : SET_OVERWRITES }];
};

/** LCS, following Redis's lcsCommand step for step (same ranges, same order). */
function lcs(db: Database, server: Server, argv: Uint8Array[]): Reply {
  const ea = db.get(latin1(argv[1]));
  const eb = db.get(latin1(argv[2]));
  if ((ea && !(ea.value instanceof Uint8Array)) || (eb && !(eb.value instanceof Uint8Array))) {
    return err("ERR The specified keys must contain string values");
  }
  const a = (ea?.value as Uint8Array | undefined) ?? EMPTY;
  const b = (eb?.value as Uint8Array | undefined) ?? EMPTY;
  let getIdx = false, getLen = false, withMatchLen = false, minMatchLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (isWord(argv[j], "idx")) getIdx = true;
    else if (isWord(argv[j], "len")) getLen = true;
    else if (isWord(argv[j], "withmatchlen")) withMatchLen = true;
    else if (isWord(argv[j], "minmatchlen") && more > 0) {
      minMatchLen = Math.max(0, intArg(argv[++j]));
    } else return Errors.syntax;
  }
  if (getIdx && getLen) {
    return err("ERR If you want both the length and indexes, please just use IDX.");
  }
  const alen = a.length, blen = b.length;
  if ((alen + 1) * (blen + 1) >= server.config.int("proto-max-bulk-len") / 4) {
    return err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  const w = blen + 1;
  const dp = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      dp[i * w + j] = a[i - 1] === b[j - 1]
        ? dp[(i - 1) * w + j - 1] + 1
        : Math.max(dp[(i - 1) * w + j], dp[i * w + j - 1]);
    }
  }
  const total = dp[alen * w + blen];
  let idx = total;
  const computeLcs = getIdx || !getLen;
  const result = new Uint8Array(idx);
  const matches: Reply[] = [];
  let i = alen, j = blen;
  let aStart = alen, aEnd = 0, bStart = 0, bEnd = 0;
  while (computeLcs && i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1];
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (dp[(i - 1) * w + j] > dp[i * w + j - 1]) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    const matchLen = aEnd - aStart + 1;
    if (emit) {
      if (getIdx && (minMatchLen === 0 || matchLen >= minMatchLen)) {
        const m: Reply[] = [[aStart, aEnd], [bStart, bEnd]];
        if (withMatchLen) m.push(matchLen);
        matches.push(m);
      }
      aStart = alen;
    }
  }
  if (getIdx) return new RespMap(["matches", matches, "len", total]);
  if (getLen) return total;
  return result;
}
