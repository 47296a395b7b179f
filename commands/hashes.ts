/**
 * Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
 * HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, and field expiry as Redis 7.4/8 has it: HEXPIRE HPEXPIRE
 * HEXPIREAT HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST HGETDEL HGETEX HSETEX.
 *
 * Every lookup first deletes the hash's fields whose TTL has passed (engine/values/hash.ts), so
 * expired fields are invisible to every command. Effects: `hset`/`hsetkeep` with field/value
 * pairs, `hdel` with fields, `hexpire` with an absolute time in ms then fields, `hpersist`.
 * Stored values are copies of the request; effect arguments may be views into it (a field name),
 * as the effect log encodes them before the handler returns.
 *
 * @module
 */
import { type Database, type Entry, type Key, keyString } from "../engine/keyspace.ts";
import { globMatch } from "../engine/glob.ts";
import { incrByFloat, longDoubleText, parseLongDouble } from "../engine/longdouble.ts";
import {
  expireHashFields,
  type HashField,
  HashValue,
  trackHashExpiry,
} from "../engine/values/hash.ts";
import { addInt64, parseInt64 } from "../protocol/numbers.ts";
import { OK, type Reply, RespMap } from "../protocol/reply.ts";
import { copyBytes, int64Arg, isWord, latin1, latin1Bytes, latin1Value } from "./args.ts";
import { err, Errors, MAX_RANDOM_PICKS, RespError, wrongArity } from "./errors.ts";
import { type CommandSpec, familySpec, keys } from "./spec.ts";

// ---------------------------------------------------------------------------------------------
// Lookups and bookkeeping.

/** The hash held by an entry; throws WRONGTYPE for other types. */
export function hashOf(e: Entry): HashValue {
  if (!(e.value instanceof HashValue)) throw Errors.wrongType;
  return e.value;
}

/** Deletes due fields of the hash at `e`; null when that left the key deleted. */
function live(db: Database, e: Entry | undefined): Entry | null {
  if (e === undefined) return null;
  const hv = hashOf(e);
  if (hv.ttlCount !== 0 && expireHashFields(db, e, hv)) return null;
  return e;
}

/** The hash at `key` for reading (hit/miss stats), expired fields gone; null when missing. */
function readHash(db: Database, key: string): HashValue | null {
  const e = live(db, db.get(key));
  return e === null ? null : e.value as HashValue;
}

/** The hash entry at `key` for writing, expired fields gone; null when missing. */
function writeHash(db: Database, key: Key): Entry | null {
  return live(db, db.find(key));
}

/**
 * The hash entry `e`, or a new empty hash at `key` when null; converted to a hashtable first when
 * an argument about to be stored (the longest is `longest` bytes) is too long for a listpack.
 */
function ensureHash(db: Database, key: Key, e: Entry | null, longest: number): Entry {
  const limits = db.keyspace.encodingLimits;
  if (e === null) {
    const hv = new HashValue();
    hv.prepare(limits, longest);
    return db.set(keyString(key), hv, 0);
  }
  if ((e.value as HashValue).prepare(limits, longest)) db.effect(e, "hconvert", []);
  return e;
}

/**
 * Logs that a listpack became a listpackex (`fresh`, from {@link HashValue.markExpiry}) when the
 * command changed something; a command that changed nothing logs nothing and signals no change,
 * as Redis (which after a reload also lists such a hash as a plain listpack again).
 */
function logExpiryMark(db: Database, e: Entry, fresh: boolean): void {
  if (fresh) db.effect(e, "hfe", []);
}

/** Logs an in-place change made since the hash's size was `before`. */
function logEffect(
  db: Database,
  e: Entry,
  op: string,
  args: Uint8Array[],
  before: number,
): number {
  const hv = e.value as HashValue;
  const now = hv.memoryUsage();
  db.effect(e, op, args, now - before);
  return now;
}

/**
 * After a change: deletes the key when no field is left (with `del`), else converts the encoding
 * when the hash outgrew the listpack limits and files its field TTLs for active expiry.
 */
function settle(db: Database, e: Entry): void {
  const hv = e.value as HashValue;
  if (hv.isEmpty()) {
    db.delete(e.key);
    db.notify("g", "del", e.key);
    return;
  }
  if (hv.sync(db.keyspace.encodingLimits)) db.effect(e, "hconvert", []);
  if (hv.ttlCount !== 0) trackHashExpiry(db, e.key, hv);
}

/** Longest argument in argv[from..]. */
function longest(argv: Uint8Array[], from: number): number {
  let n = 0;
  for (let i = from; i < argv.length; i++) if (argv[i].length > n) n = argv[i].length;
  return n;
}

const fieldBytes = (f: HashField): Uint8Array => latin1Bytes(f.name);

// ---------------------------------------------------------------------------------------------
// Workers.

/** HSET / HMSET: sets field/value pairs; returns how many fields were new. */
function setFields(db: Database, argv: Uint8Array[], name: string): number {
  if (argv.length % 2 === 1) throw wrongArity(name);
  // Looked up by the request's bytes: the key's string is made only for a new hash.
  const e = ensureHash(db, argv[1], writeHash(db, argv[1]), longest(argv, 2));
  const hv = e.value as HashValue;
  const before = hv.memoryUsage();
  const args: Uint8Array[] = new Array(argv.length - 2);
  let created = 0;
  for (let i = 2; i < argv.length; i += 2) {
    const value = copyBytes(argv[i + 1]);
    if (hv.setBytes(argv[i], value)) created++;
    args[i - 2] = argv[i];
    args[i - 1] = value;
  }
  logEffect(db, e, "hset", args, before);
  db.notify("h", "hset", e.key);
  settle(db, e);
  return created;
}

/** Sets one field keeping its TTL (HINCRBY, HINCRBYFLOAT), creating the hash if needed. */
function setKeepTtl(db: Database, e: Entry | null, key: string, field: Uint8Array, v: string) {
  e = ensureHash(db, key, e, 0);
  const hv = e.value as HashValue;
  const before = hv.memoryUsage();
  const value = latin1Value(v);
  hv.setBytes(field, value, true);
  logEffect(db, e, "hsetkeep", [field, value], before);
  return e;
}

/** HKEYS / HVALS / HGETALL. */
function getAll(db: Database, key: string, fields: boolean, values: boolean): Reply {
  const hv = readHash(db, key);
  const out: Reply[] = [];
  if (hv !== null) {
    for (const f of hv.fields()) {
      if (fields) out.push(f.name);
      if (values) out.push(f.value);
    }
  }
  return fields && values ? new RespMap(out) : out;
}

/** The RESP2/RESP3 shape of HRANDFIELD's reply with values: flat, or pairs in RESP3. */
function randomReply(picked: HashField[], withValues: boolean, resp3: boolean): Reply[] {
  const out: Reply[] = [];
  for (const f of picked) {
    if (!withValues) out.push(f.name);
    else if (resp3) out.push([f.name, f.value]);
    else out.push(f.name, f.value);
  }
  return out;
}

/** HRANDFIELD key count [WITHVALUES] with Redis's sampling cases. */
function randomFields(hv: HashValue, count: number, unique: boolean): HashField[] {
  const size = hv.size;
  const picked: HashField[] = [];
  if (!unique || count === 1) {
    for (let i = 0; i < count; i++) picked.push(hv.randomField());
    return picked;
  }
  if (count >= size) return [...hv.fields()];
  if (!hv.isTable) {
    // Listpack: a random subset, in listpack order (Redis's lpRandomPairsUnique).
    let need = count, left = size;
    for (const f of hv.fields()) {
      if (Math.random() * left < need) {
        picked.push(f);
        need--;
      }
      left--;
    }
    return picked;
  }
  if (count * 3 > size) {
    const all = [...hv.fields()];
    let n = all.length;
    while (n > count) {
      const i = Math.floor(Math.random() * n);
      all[i] = all[--n];
    }
    all.length = n;
    return all;
  }
  const seen = new Set<HashField>();
  while (picked.length < count) {
    const f = hv.randomField();
    if (seen.has(f)) continue;
    seen.add(f);
    picked.push(f);
  }
  return picked;
}

/**
 * HSCAN's cursor, parsed as Redis's strtoul: optional sign, decimal digits, no leading space,
 * no overflow past 2^64 - 1 (a negative number wraps). The empty string is cursor 0.
 */
function scanCursor(b: Uint8Array): number {
  const s = latin1(b);
  const m = /^([+-]?)(\d*)$/.exec(s);
  if (m === null || (m[1] !== "" && m[2] === "")) throw Errors.invalidCursor;
  let v = m[2] === "" ? 0n : BigInt(m[2]);
  if (v > 0xffffffffffffffffn) throw Errors.invalidCursor;
  if (m[1] === "-" && v !== 0n) v = (1n << 64n) - v;
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Field expiry.

/** Redis's HFE_MAX_ABS_TIME_MSEC: ((2^48 - 1) >> 2) ms. */
const HFE_MAX_MS = 70368744177663;

const Hfe = {
  fieldsMissing: err("ERR Mandatory argument FIELDS is missing or not at the right position"),
  numFields: err("ERR Parameter `numFields` should be greater than 0"),
  numFieldsPositive: err("ERR Number of fields must be a positive integer"),
  numFieldsMatch: err("ERR The `numfields` parameter must match the number of arguments"),
  negativeExpire: err("ERR invalid expire time, must be >= 0"),
};

/**
 * An expiry argument as an absolute time in ms (Redis's parseExpireTime for hash fields):
 * negative is an error, and the result may not pass HFE_MAX_ABS_TIME_MSEC.
 */
function fieldExpireAt(arg: Uint8Array, seconds: boolean, base: number, cmd: string): number {
  const v = int64Arg(arg);
  if (v < 0) throw Hfe.negativeExpire;
  let ms = Number(v);
  if (typeof v === "bigint" || ms > HFE_MAX_MS) throw Errors.invalidExpire(cmd);
  if (seconds) {
    if (ms > Math.floor(HFE_MAX_MS / 1000)) throw Errors.invalidExpire(cmd);
    ms *= 1000;
  }
  if (ms > HFE_MAX_MS - base) throw Errors.invalidExpire(cmd);
  return ms + base;
}

/**
 * Checks `FIELDS numfields field ...` with FIELDS at `at`; returns the index of the first field.
 * `numError` is the error for a bad count (Redis words it differently per command).
 */
function fieldsBlock(argv: Uint8Array[], at: number, numError: RespError): number {
  // As Redis: the FIELDS keyword is looked for first (`HGETEX k PXAT 1 1` lacks it).
  if (at >= argv.length || !isWord(argv[at], "fields")) throw Hfe.fieldsMissing;
  if (at + 1 >= argv.length) throw wrongArity(latin1(argv[0]).toLowerCase());
  const n = parseInt64(argv[at + 1]);
  if (n === null || n < 1) throw numError;
  if (Number(n) !== argv.length - at - 2) throw Hfe.numFieldsMatch;
  return at + 2;
}

/** The reply for fields of a missing hash: `code` for each. */
function each(argv: Uint8Array[], first: number, code: Reply): Reply[] {
  return new Array(argv.length - first).fill(code);
}

type Cond = "nx" | "xx" | "gt" | "lt" | null;

/** HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT. */
function expireFields(
  db: Database,
  argv: Uint8Array[],
  seconds: boolean,
  relative: boolean,
): Reply {
  const cmd = latin1(argv[0]).toLowerCase();
  const key = latin1(argv[1]);
  const e = writeHash(db, key);
  const now = db.keyspace.now;
  const at = fieldExpireAt(argv[2], seconds, relative ? now : 0, cmd);
  let cond: Cond = null;
  for (const c of ["nx", "xx", "gt", "lt"] as const) if (isWord(argv[3], c)) cond = c;
  const first = fieldsBlock(argv, cond === null ? 3 : 4, Hfe.numFields);
  if (e === null) return each(argv, first, -2);
  const hv = e.value as HashValue;
  const fresh = hv.markExpiry();
  const before = hv.memoryUsage();
  const out: Reply[] = [];
  const updated: Uint8Array[] = [latin1Bytes(String(at))];
  const deleted: Uint8Array[] = [];
  for (let i = first; i < argv.length; i++) {
    const f = hv.getBytes(argv[i]);
    if (f === undefined) {
      out.push(-2);
      continue;
    }
    const prev = f.expireAt;
    if (
      (prev === 0 && (cond === "xx" || cond === "gt")) ||
      (prev !== 0 &&
        (cond === "nx" || (cond === "gt" && prev >= at) || (cond === "lt" && prev <= at)))
    ) {
      out.push(0);
      continue;
    }
    if (at <= now) {
      hv.delete(f.name);
      deleted.push(fieldBytes(f));
      out.push(2);
    } else {
      hv.expire(f, at);
      updated.push(fieldBytes(f));
      out.push(1);
    }
  }
  if (deleted.length === 0 && updated.length === 1) return out;
  logExpiryMark(db, e, fresh);
  if (deleted.length) logEffect(db, e, "hdel", deleted, before);
  if (updated.length > 1) logEffect(db, e, "hexpire", updated, before);
  db.notify("h", deleted.length ? "hdel" : "hexpire", key);
  settle(db, e);
  return out;
}

/** HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME. */
function fieldTtls(db: Database, argv: Uint8Array[], seconds: boolean, relative: boolean): Reply {
  const hv = readHash(db, latin1(argv[1]));
  const first = fieldsBlock(argv, 2, Hfe.numFieldsPositive);
  if (hv === null) return each(argv, first, -2);
  const base = relative ? db.keyspace.now : 0;
  const out: Reply[] = [];
  for (let i = first; i < argv.length; i++) {
    const f = hv.getBytes(argv[i]);
    if (f === undefined) out.push(-2);
    else if (f.expireAt === 0) out.push(-1);
    else if (seconds) out.push(Math.floor((f.expireAt + 999 - base) / 1000));
    else out.push(f.expireAt - base);
  }
  return out;
}

/** HSETEX's options, parsed in one pass as Redis's hsetexParseArgs. */
interface SetExOptions {
  fnx: boolean;
  fxx: boolean;
  keepTtl: boolean;
  /** Absolute expiry, or null when none was given. */
  at: number | null;
  first: number;
}

function parseSetEx(argv: Uint8Array[], now: number): SetExOptions {
  const o: SetExOptions = { fnx: false, fxx: false, keepTtl: false, at: null, first: 0 };
  const onlyOneExpiry = err(
    "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
  );
  const onlyOneCond = err("ERR Only one of FXX or FNX arguments can be specified");
  const argc = argv.length;
  for (let i = 2; i < argc; i++) {
    const a = argv[i];
    if (isWord(a, "fields")) {
      if (i >= argc - 3) throw wrongArity("hsetex");
      const n = parseInt64(argv[i + 1]);
      if (n === null || n < 1 || n > 2147483647) throw err("ERR invalid number of fields");
      const remaining = argc - i - 2;
      if (remaining % 2 !== 0 || Number(n) !== remaining / 2) throw wrongArity("hsetex");
      o.first = i + 2;
      return o;
    }
    const unit = ["ex", "px", "exat", "pxat"].find((w) => isWord(a, w));
    if (unit !== undefined) {
      if (o.at !== null || o.keepTtl) throw onlyOneExpiry;
      if (i >= argc - 1) throw err("ERR missing expire time");
      i++;
      const seconds = unit === "ex" || unit === "exat";
      o.at = fieldExpireAt(argv[i], seconds, unit.endsWith("at") ? 0 : now, "hsetex");
    } else if (isWord(a, "keepttl")) {
      if (o.at !== null || o.keepTtl) throw onlyOneExpiry;
      o.keepTtl = true;
    } else if (isWord(a, "fxx") || isWord(a, "fnx")) {
      if (o.fnx || o.fxx) throw onlyOneCond;
      if (isWord(a, "fxx")) o.fxx = true;
      else o.fnx = true;
    } else {
      throw err(`ERR unknown argument: ${latin1(a)}`);
    }
  }
  throw wrongArity("hsetex");
}

// ---------------------------------------------------------------------------------------------
// Specs.

const hash = familySpec("hash", "hash");

const RO = [keys.one(1, "RO")];
const RO_ACCESS = [keys.one(1, "RO", "ACCESS")];
const RW_UPDATE = [keys.one(1, "RW", "UPDATE")];

/** HEXPIRE-family spec. */
const expireSpec = (name: string, unit: string, seconds: boolean, relative: boolean) =>
  hash(
    name,
    -6,
    ["write", "denyoom", "fast"],
    RW_UPDATE,
    `Set expiry for hash field using ${
      relative ? "relative" : "an absolute Unix timestamp"
    } (${unit})`,
    "7.4.0",
    "O(N) where N is the number of specified fields",
    /** HEXPIRE key seconds [NX | XX | GT | LT] FIELDS numfields field [field ...] */
    (ctx, argv) => expireFields(ctx.db, argv, seconds, relative),
  );

/** HTTL-family spec. */
const ttlSpec = (name: string, summary: string, seconds: boolean, relative: boolean) =>
  hash(
    name,
    -5,
    ["readonly", "fast"],
    RO_ACCESS,
    summary,
    "7.4.0",
    "O(N) where N is the number of specified fields",
    /** HTTL key FIELDS numfields field [field ...] */
    (ctx, argv) => fieldTtls(ctx.db, argv, seconds, relative),
  );

/** The hash family's commands. */
export const hashCommands: CommandSpec[] = [
  hash(
    "hset",
    -4,
    ["write", "denyoom", "fast"],
    RW_UPDATE,
    "Creates or modifies the value of a field in a hash.",
    "2.0.0",
    "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
    /** HSET key field value [field value ...] */
    (ctx, argv) => setFields(ctx.db, argv, "hset"),
  ),
  hash(
    "hmset",
    -4,
    ["write", "denyoom", "fast"],
    RW_UPDATE,
    "Sets the values of multiple fields.",
    "2.0.0",
    "O(N) where N is the number of fields being set.",
    /** HMSET key field value [field value ...] */
    (ctx, argv) => {
      setFields(ctx.db, argv, "hmset");
      return OK;
    },
  ),
  hash(
    "hsetnx",
    4,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Sets the value of a field in a hash only when the field doesn't exist.",
    "2.0.0",
    "O(1)",
    /** HSETNX key field value */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const field = latin1(argv[2]);
      let e = writeHash(db, key);
      if (e !== null && hashOf(e).get(field) !== undefined) return 0;
      e = ensureHash(db, key, e, longest(argv, 2));
      const hv = e.value as HashValue;
      const before = hv.memoryUsage();
      const value = copyBytes(argv[3]);
      hv.set(field, value);
      logEffect(db, e, "hset", [argv[2], value], before);
      db.notify("h", "hset", key);
      settle(db, e);
      return 1;
    },
  ),
  hash(
    "hget",
    3,
    ["readonly", "fast"],
    RO_ACCESS,
    "Returns the value of a field in a hash.",
    "2.0.0",
    "O(1)",
    /** HGET key field */
    (ctx, argv) => readHash(ctx.db, latin1(argv[1]))?.getBytes(argv[2])?.value ?? null,
  ),
  hash(
    "hmget",
    -3,
    ["readonly", "fast"],
    RO_ACCESS,
    "Returns the values of all fields in a hash.",
    "2.0.0",
    "O(N) where N is the number of fields being requested.",
    /** HMGET key field [field ...] */
    (ctx, argv) => {
      const hv = readHash(ctx.db, latin1(argv[1]));
      const out: Reply[] = [];
      for (let i = 2; i < argv.length; i++) out.push(hv?.getBytes(argv[i])?.value ?? null);
      return out;
    },
  ),
  hash(
    "hdel",
    -3,
    ["write", "fast"],
    [keys.one(1, "RW", "DELETE")],
    "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
    "2.0.0",
    "O(N) where N is the number of fields to be removed.",
    /** HDEL key field [field ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      if (e === null) return 0;
      const hv = e.value as HashValue;
      const before = hv.memoryUsage();
      const gone: Uint8Array[] = [];
      for (let i = 2; i < argv.length && !hv.isEmpty(); i++) {
        if (hv.deleteBytes(argv[i])) gone.push(argv[i]);
      }
      if (gone.length === 0) return 0;
      logEffect(db, e, "hdel", gone, before);
      db.notify("h", "hdel", key);
      settle(db, e);
      return gone.length;
    },
  ),
  {
    ...hash(
      "hlen",
      2,
      ["readonly", "fast"],
      RO,
      "Returns the number of fields in a hash.",
      "2.0.0",
      "O(1)",
      /** HLEN key */
      (ctx, argv) => readHash(ctx.db, latin1(argv[1]))?.size ?? 0,
    ),
    differences:
      "Counts only fields whose TTL has not passed: expired fields are removed whenever the hash is read (Redis 7.4+ counts them until they are reclaimed, and HDEL of such a field returns 1 there).",
  },
  hash(
    "hstrlen",
    3,
    ["readonly", "fast"],
    RO,
    "Returns the length of the value of a field.",
    "3.2.0",
    "O(1)",
    /** HSTRLEN key field */
    (ctx, argv) => readHash(ctx.db, latin1(argv[1]))?.getBytes(argv[2])?.value.length ?? 0,
  ),
  hash(
    "hexists",
    3,
    ["readonly", "fast"],
    RO,
    "Determines whether a field exists in a hash.",
    "2.0.0",
    "O(1)",
    /** HEXISTS key field */
    (ctx, argv) => readHash(ctx.db, latin1(argv[1]))?.getBytes(argv[2]) ? 1 : 0,
  ),
  hash(
    "hkeys",
    2,
    ["readonly"],
    RO_ACCESS,
    "Returns all fields in a hash.",
    "2.0.0",
    "O(N) where N is the size of the hash.",
    /** HKEYS key */
    (ctx, argv) => getAll(ctx.db, latin1(argv[1]), true, false),
  ),
  hash(
    "hvals",
    2,
    ["readonly"],
    RO_ACCESS,
    "Returns all values in a hash.",
    "2.0.0",
    "O(N) where N is the size of the hash.",
    /** HVALS key */
    (ctx, argv) => getAll(ctx.db, latin1(argv[1]), false, true),
  ),
  hash(
    "hgetall",
    2,
    ["readonly"],
    RO_ACCESS,
    "Returns all fields and values in a hash.",
    "2.0.0",
    "O(N) where N is the size of the hash.",
    /** HGETALL key */
    (ctx, argv) => getAll(ctx.db, latin1(argv[1]), true, true),
  ),
  hash(
    "hincrby",
    4,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
    "2.0.0",
    "O(1)",
    /** HINCRBY key field increment */
    (ctx, argv) => {
      const db = ctx.db;
      const incr = int64Arg(argv[3]);
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      const f = e === null ? undefined : hashOf(e).getBytes(argv[2]);
      let current: number | bigint = 0;
      if (f !== undefined) {
        const v = parseInt64(f.value);
        if (v === null) throw err("ERR hash value is not an integer");
        current = v;
      }
      const next = addInt64(current, incr);
      if (next === null) throw Errors.overflow;
      settle(db, setKeepTtl(db, e, key, argv[2], String(next)));
      db.notify("h", "hincrby", key);
      return next;
    },
  ),
  hash(
    "hincrbyfloat",
    4,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
    "2.6.0",
    "O(1)",
    /** HINCRBYFLOAT key field increment */
    (ctx, argv) => {
      const db = ctx.db;
      const incrText = longDoubleText(argv[3]);
      const incr = parseLongDouble(incrText);
      if (incr === null) throw Errors.notFloat;
      if ("inf" in incr) throw err("ERR value is NaN or Infinity");
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      const f = e === null ? undefined : hashOf(e).getBytes(argv[2]);
      const current = f === undefined ? "0" : longDoubleText(f.value);
      if (f !== undefined && parseLongDouble(current) === null) {
        throw err("ERR hash value is not a float");
      }
      const next = incrByFloat(current, incrText);
      if (next instanceof RespError) throw next;
      settle(db, setKeepTtl(db, e, key, argv[2], next));
      db.notify("h", "hincrbyfloat", key);
      return next;
    },
  ),
  hash(
    "hrandfield",
    -2,
    ["readonly"],
    RO_ACCESS,
    "Returns one or more random fields from a hash.",
    "6.2.0",
    "O(N) where N is the number of fields returned",
    /** HRANDFIELD key [count [WITHVALUES]] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      if (argv.length === 2) {
        const hv = readHash(db, key);
        return hv === null ? null : hv.randomField().name;
      }
      const l = parseInt64(argv[2]);
      if (l === null) throw Errors.notInteger;
      if (l === -9223372036854775808n) {
        throw err(
          "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        );
      }
      if (argv.length > 4 || (argv.length === 4 && !isWord(argv[3], "withvalues"))) {
        throw Errors.syntax;
      }
      const withValues = argv.length === 4;
      if (withValues && (l < -4611686018427387903n || l > 4611686018427387903n)) {
        throw err("ERR value is out of range");
      }
      const hv = readHash(db, key);
      if (hv === null || Number(l) === 0) return [];
      const unique = l > 0;
      const count = unique ? Math.min(Number(l), hv.size) : -Number(l);
      if (count > MAX_RANDOM_PICKS) throw Errors.tooManyPicks;
      return randomReply(randomFields(hv, count, unique), withValues, ctx.client.resp === 3);
    },
  ),
  hash(
    "hscan",
    -3,
    ["readonly"],
    RO_ACCESS,
    "Iterates over fields and values of a hash.",
    "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", // Redis 7.0's text, as SSCAN and ZSCAN
    /** HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES] */
    (ctx, argv) => {
      const cursor = scanCursor(argv[2]);
      const hv = readHash(ctx.db, latin1(argv[1]));
      if (hv === null) return ["0", []];
      let count = 10;
      let pattern: string | null = null;
      let noValues = false;
      for (let i = 3; i < argv.length; i++) {
        const more = i + 1 < argv.length;
        if (more && isWord(argv[i], "count")) {
          const n = parseInt64(argv[++i]);
          if (n === null) throw Errors.notInteger;
          if (n < 1) throw Errors.syntax;
          count = Number(n);
        } else if (more && isWord(argv[i], "match")) {
          const p = latin1(argv[++i]);
          pattern = p === "*" ? null : p;
        } else if (isWord(argv[i], "novalues")) {
          noValues = true;
        } else throw Errors.syntax;
      }
      let next = 0;
      let visited: Iterable<HashField>;
      if (hv.isTable) {
        const out: HashField[] = [];
        next = hv.scan(cursor, count, out);
        visited = out;
      } else {
        visited = hv.fields();
      }
      const items: Reply[] = [];
      for (const f of visited) {
        if (pattern !== null && !globMatch(pattern, f.name)) continue;
        items.push(f.name);
        if (!noValues) items.push(f.value);
      }
      return [String(next), items];
    },
  ),
  expireSpec("hexpire", "seconds", true, true),
  expireSpec("hpexpire", "milliseconds", false, true),
  expireSpec("hexpireat", "seconds", true, false),
  expireSpec("hpexpireat", "milliseconds", false, false),
  ttlSpec("httl", "Returns the TTL in seconds of a hash field.", true, true),
  ttlSpec("hpttl", "Returns the TTL in milliseconds of a hash field.", false, true),
  ttlSpec(
    "hexpiretime",
    "Returns the expiration time of a hash field as a Unix timestamp, in seconds.",
    true,
    false,
  ),
  ttlSpec(
    "hpexpiretime",
    "Returns the expiration time of a hash field as a Unix timestamp, in msec.",
    false,
    false,
  ),
  hash(
    "hpersist",
    -5,
    ["write", "fast"],
    RW_UPDATE,
    "Removes the expiration time for each specified field",
    "7.4.0",
    "O(N) where N is the number of specified fields",
    /** HPERSIST key FIELDS numfields field [field ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      const first = fieldsBlock(argv, 2, Hfe.numFieldsPositive);
      if (e === null) return each(argv, first, -2);
      const hv = e.value as HashValue;
      const out: Reply[] = [];
      const done: Uint8Array[] = [];
      for (let i = first; i < argv.length; i++) {
        const f = hv.getBytes(argv[i]);
        if (f === undefined) out.push(-2);
        else if (!hv.persist(f)) out.push(-1);
        else {
          done.push(fieldBytes(f));
          out.push(1);
        }
      }
      if (done.length) {
        logEffect(db, e, "hpersist", done, hv.memoryUsage());
        db.notify("h", "hpersist", key);
      }
      return out;
    },
  ),
  hash(
    "hgetdel",
    -5,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE")],
    "Returns the value of a field and deletes it from the hash.",
    "8.0.0",
    "O(N) where N is the number of specified fields",
    /** HGETDEL key FIELDS numfields field [field ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      const first = fieldsBlock(argv, 2, Hfe.numFieldsPositive);
      if (e === null) return each(argv, first, null);
      const hv = e.value as HashValue;
      const before = hv.memoryUsage();
      const out: Reply[] = [];
      const gone: Uint8Array[] = [];
      for (let i = first; i < argv.length; i++) {
        const f = hv.getBytes(argv[i]);
        if (f === undefined) {
          out.push(null);
          continue;
        }
        out.push(f.value);
        hv.delete(f.name);
        gone.push(fieldBytes(f));
      }
      if (gone.length) {
        logEffect(db, e, "hdel", gone, before);
        db.notify("h", "hdel", key);
        settle(db, e);
      }
      return out;
    },
  ),
  hash(
    "hgetex",
    -5,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Get the value of one or more fields of a given hash key, and optionally set their expiration.",
    "8.0.0",
    "O(N) where N is the number of specified fields",
    /** HGETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] FIELDS numfields field [field ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = writeHash(db, key);
      const now = db.keyspace.now;
      const unit = ["ex", "px", "exat", "pxat"].find((w) => isWord(argv[2], w));
      const persist = isWord(argv[2], "persist");
      let at = 0;
      let fieldsAt = 2;
      if (unit !== undefined) {
        const seconds = unit === "ex" || unit === "exat";
        at = fieldExpireAt(argv[3], seconds, unit.endsWith("at") ? 0 : now, "hgetex");
        fieldsAt = 4;
      } else if (persist) fieldsAt = 3;
      const first = fieldsBlock(argv, fieldsAt, Hfe.numFieldsPositive);
      if (e === null) return each(argv, first, null);
      const hv = e.value as HashValue;
      const cond = unit !== undefined || persist;
      const fresh = cond && hv.markExpiry();
      const before = hv.memoryUsage();
      const out: Reply[] = [];
      const updated: Uint8Array[] = persist ? [] : [latin1Bytes(String(at))];
      const deleted: Uint8Array[] = [];
      for (let i = first; i < argv.length; i++) {
        const f = hv.getBytes(argv[i]);
        if (f === undefined) {
          out.push(null);
          continue;
        }
        out.push(f.value);
        if (persist) {
          if (hv.persist(f)) updated.push(fieldBytes(f));
        } else if (unit !== undefined) {
          if (at <= now) {
            hv.delete(f.name);
            deleted.push(fieldBytes(f));
          } else {
            hv.expire(f, at);
            updated.push(fieldBytes(f));
          }
        }
      }
      const changed = updated.length > (persist ? 0 : 1);
      if (changed || deleted.length) logExpiryMark(db, e, fresh);
      if (deleted.length) logEffect(db, e, "hdel", deleted, before);
      if (changed) logEffect(db, e, persist ? "hpersist" : "hexpire", updated, before);
      if (changed) db.notify("h", persist ? "hpersist" : "hexpire", key);
      else if (deleted.length) db.notify("h", "hdel", key);
      if (changed || deleted.length) settle(db, e);
      return out;
    },
  ),
  hash(
    "hsetex",
    -6,
    ["write", "denyoom", "fast"],
    RW_UPDATE,
    "Set the value of one or more fields of a given hash key, and optionally set their expiration.",
    "8.0.0",
    "O(N) where N is the number of fields being set.",
    /** HSETEX key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const now = db.keyspace.now;
      const o = parseSetEx(argv, now);
      const key = latin1(argv[1]);
      let e = writeHash(db, key);
      if (e === null && o.fxx) return 0;
      if (e !== null && (o.fnx || o.fxx)) {
        const hv = e.value as HashValue;
        for (let i = o.first; i < argv.length; i += 2) {
          const exists = hv.getBytes(argv[i]) !== undefined;
          if (exists === o.fnx) return 0;
        }
      }
      e = ensureHash(db, key, e, longest(argv, o.first));
      const hv = e.value as HashValue;
      if (o.at !== null) logExpiryMark(db, e, hv.markExpiry());
      const keep = o.keepTtl || o.at !== null;
      const before = hv.memoryUsage();
      const pairs: Uint8Array[] = [];
      for (let i = o.first; i < argv.length; i += 2) {
        const value = copyBytes(argv[i + 1]);
        hv.setBytes(argv[i], value, keep);
        pairs.push(argv[i], value);
      }
      let size = logEffect(db, e, keep ? "hsetkeep" : "hset", pairs, before);
      db.notify("h", "hset", key);
      if (o.at !== null) {
        const at = o.at;
        const names: Uint8Array[] = [];
        for (let i = 0; i < pairs.length; i += 2) names.push(pairs[i]);
        if (at <= now) {
          for (const n of names) hv.deleteBytes(n);
          size = logEffect(db, e, "hdel", names, size);
          db.notify("h", "hdel", key);
        } else {
          for (const n of names) hv.expire(hv.getBytes(n)!, at);
          logEffect(db, e, "hexpire", [latin1Bytes(String(at)), ...names], size);
          db.notify("h", "hexpire", key);
        }
      }
      settle(db, e);
      return 1;
    },
  ),
];
