/**
 * Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SPOP SMOVE SINTER
 * SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
 *
 * Every in-place change is logged as its effect (`sadd`/`srem` with the members actually added
 * or removed, `encoding hashtable` when the size limit converts an intset); commands that build a
 * whole new set (the STORE variants, SPOP's rebuild) log it as one value.
 *
 * @module
 */
import type { Database, Entry } from "../engine/keyspace.ts";
import { KEEP_TTL } from "../engine/keyspace.ts";
import { globMatch } from "../engine/glob.ts";
import { maxIntsetEntries, SetValue } from "../engine/values/set.ts";
import { parseInt64 } from "../protocol/numbers.ts";
import { type Reply, RespSet } from "../protocol/reply.ts";
import { intArg, isWord, latin1, latin1Bytes } from "./args.ts";
import { err, Errors, MAX_RANDOM_PICKS } from "./errors.ts";
import { type CommandSpec, familySpec, keys } from "./spec.ts";

const HASHTABLE = new TextEncoder().encode("hashtable");

const rangeMustBePositive = err("ERR value is out of range, must be positive");
const countOutOfRange = err(
  "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
);
const numkeysPositive = err("ERR numkeys should be greater than 0");
const tooManyKeys = err("ERR Number of keys can't be greater than number of args");
const limitNegative = err("ERR LIMIT can't be negative");

/** The set held by an entry; throws WRONGTYPE for other types. */
export function setOf(e: Entry): SetValue {
  if (!(e.value instanceof SetValue)) throw Errors.wrongType;
  return e.value;
}

/** The set at `key` for reading (null when missing); throws WRONGTYPE. */
export function readSet(db: Database, key: string): SetValue | null {
  const e = db.get(key);
  return e === undefined ? null : setOf(e);
}

function intsetLimit(db: Database): number {
  return maxIntsetEntries(db.keyspace.encodingLimits);
}

/**
 * Adds the members `argv[from..]` to the set at `e` (logging the ones added) and converts an
 * intset that grew past the limit; returns how many were added.
 */
function addToSet(db: Database, e: Entry, argv: Uint8Array[], from: number): number {
  const s = setOf(e);
  const before = s.memoryUsage();
  const added: Uint8Array[] = [];
  for (let i = from; i < argv.length; i++) if (s.addBytes(argv[i])) added.push(argv[i]);
  if (added.length === 0) return 0;
  db.effect(e, "sadd", added, s.memoryUsage() - before);
  if (s.intset && s.size > intsetLimit(db)) {
    s.intset = false;
    db.effect(e, "encoding", [HASHTABLE]);
  }
  return added.length;
}

/**
 * Removes members from the set at `e`, logging the ones removed; deletes the key when the set is
 * left empty. Returns the removed members.
 */
function removeFromSet(db: Database, e: Entry, members: Iterable<string>): string[] {
  const s = setOf(e);
  const before = s.memoryUsage();
  const removed: string[] = [];
  for (const m of members) {
    if (s.remove(m)) removed.push(m);
    if (s.isEmpty()) break;
  }
  if (removed.length > 0) {
    db.effect(e, "srem", removed.map((m) => latin1Bytes(m)), s.memoryUsage() - before);
  }
  if (s.isEmpty()) db.delete(e.key);
  return removed;
}

/** The sets named by argv[from..to), null for missing keys; WRONGTYPE if any is not a set. */
function readSets(db: Database, argv: Uint8Array[], from: number, to: number): (SetValue | null)[] {
  const out: (SetValue | null)[] = [];
  for (let i = from; i < to; i++) out.push(readSet(db, latin1(argv[i])));
  return out;
}

/**
 * The intersection in the order of the smallest set (Redis iterates the smallest set and probes
 * the others), stopping at `limit` members when it is not 0.
 */
function intersection(sets: (SetValue | null)[], limit: number): string[] {
  for (const s of sets) if (s === null) return [];
  const bySize = (sets as SetValue[]).slice().sort((a, b) => a.size - b.size);
  const first = bySize[0];
  const out: string[] = [];
  outer:
  for (const m of first.members()) {
    for (let j = 1; j < bySize.length; j++) if (!bySize[j].has(m)) continue outer;
    out.push(m);
    if (out.length === limit) break;
  }
  return out;
}

/** SUNION's result, built as Redis builds it (a new set, intset while it can be). */
function union(sets: (SetValue | null)[], maxIntset: number): SetValue {
  const out = new SetValue();
  for (const s of sets) if (s !== null) { for (const m of s.members()) out.add(m); }
  if (out.intset && out.size > maxIntset) out.intset = false;
  return out;
}

/**
 * SDIFF's result, with Redis's choice between its two algorithms (it decides the result's
 * encoding): keep the first set's members found in no other set, or copy the first set and
 * remove every other set's members.
 */
function difference(sets: (SetValue | null)[], maxIntset: number): SetValue {
  const first = sets[0];
  if (first === null) return new SetValue();
  const others = sets.slice(1).filter((s): s is SetValue => s !== null);
  let one = first.size;
  let two = first.size;
  for (const s of others) {
    one += first.size;
    two += s.size;
  }
  if (Math.floor(one / 2) <= two) {
    others.sort((a, b) => b.size - a.size);
    const kept: string[] = [];
    outer:
    for (const m of first.members()) {
      for (const s of others) if (s === first || s.has(m)) continue outer;
      kept.push(m);
    }
    return SetValue.build(kept, maxIntset);
  }
  const out = SetValue.build(first.members(), maxIntset);
  for (const s of others) {
    for (const m of s.members()) out.remove(m);
    if (out.isEmpty()) break;
  }
  return out;
}

/** Stores a STORE variant's result at `dst` (deleting `dst` when it is empty). */
function storeSet(db: Database, dst: string, result: SetValue, event: string): number {
  if (result.isEmpty()) {
    if (db.delete(dst)) db.notify("g", "del", dst);
    return 0;
  }
  db.set(dst, result, 0);
  db.notify("s", event, dst);
  return result.size;
}

/**
 * Parses an SSCAN cursor as Redis's strtoul check: decimal digits with an optional sign (a
 * negative cursor wraps around 2^64), no spaces, at most 2^64-1; the empty string is 0.
 */
export function parseCursor(b: Uint8Array): number {
  const s = latin1(b);
  if (!/^[+-]?\d*$/.test(s) || (s.length > 0 && !/\d/.test(s))) throw Errors.invalidCursor;
  const digits = s.replace(/^[+-]/, "");
  let v = digits.length ? BigInt(digits) : 0n;
  if (v > 0xffffffffffffffffn) throw Errors.invalidCursor;
  if (s.startsWith("-") && v !== 0n) v = (1n << 64n) - v;
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** SCAN-family options after the cursor: `[MATCH pattern] [COUNT count]`, as Redis parses them. */
export function parseScanOptions(
  argv: Uint8Array[],
  from: number,
): { pattern: string | null; count: number } {
  let pattern: string | null = null;
  let count = 10;
  for (let i = from; i < argv.length; i += 2) {
    if (i + 1 >= argv.length) throw Errors.syntax;
    if (isWord(argv[i], "count")) {
      count = intArg(argv[i + 1]);
      if (count < 1) throw Errors.syntax;
    } else if (isWord(argv[i], "match")) {
      const p = latin1(argv[i + 1]);
      pattern = p === "*" ? null : p;
    } else throw Errors.syntax;
  }
  return { pattern, count };
}

const set = familySpec("set", "set");

const COMPLEXITY_INTER =
  "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const COMPLEXITY_UNION = "O(N) where N is the total number of elements in all given sets.";

/** The set family's commands. */
export const setCommands: CommandSpec[] = [
  set(
    "sadd",
    -3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Add one or more members to a set",
    "1.0.0",
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
    /** SADD key member [member ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      let e = db.find(key);
      if (e === undefined) e = db.set(key, new SetValue(), 0);
      else setOf(e);
      const added = addToSet(db, e, argv, 2);
      if (added > 0) db.notify("s", "sadd", key);
      return added;
    },
  ),
  set(
    "srem",
    -3,
    ["write", "fast"],
    [keys.one(1, "RW", "DELETE")],
    "Remove one or more members from a set",
    "1.0.0",
    "O(N) where N is the number of members to be removed.",
    /** SREM key member [member ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = db.find(key);
      if (e === undefined) return 0;
      const s = setOf(e);
      const removed = removeFromSet(db, e, argv.slice(2).map(latin1));
      if (removed.length > 0) {
        db.notify("s", "srem", key);
        if (s.isEmpty()) db.notify("g", "del", key);
      }
      return removed.length;
    },
  ),
  set(
    "smembers",
    2,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Get all the members in a set",
    "1.0.0",
    "O(N) where N is the set cardinality.",
    /** SMEMBERS key */
    (ctx, argv) => {
      const s = readSet(ctx.db, latin1(argv[1]));
      return new RespSet(s === null ? [] : s.members().slice());
    },
  ),
  set(
    "sismember",
    3,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Determine if a given value is a member of a set",
    "1.0.0",
    "O(1)",
    /** SISMEMBER key member */
    (ctx, argv) => {
      const s = readSet(ctx.db, latin1(argv[1]));
      return s !== null && s.hasBytes(argv[2]) ? 1 : 0;
    },
  ),
  set(
    "smismember",
    -3,
    ["readonly", "fast"],
    [keys.one(1, "RO", "ACCESS")],
    "Returns the membership associated with the given elements for a set",
    "6.2.0",
    "O(N) where N is the number of elements being checked for membership",
    /** SMISMEMBER key member [member ...] */
    (ctx, argv) => {
      const s = readSet(ctx.db, latin1(argv[1]));
      const out: Reply[] = [];
      for (let i = 2; i < argv.length; i++) out.push(s !== null && s.hasBytes(argv[i]) ? 1 : 0);
      return out;
    },
  ),
  set(
    "scard",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Get the number of members in a set",
    "1.0.0",
    "O(1)",
    /** SCARD key */
    (ctx, argv) => readSet(ctx.db, latin1(argv[1]))?.size ?? 0,
  ),
  set(
    "srandmember",
    -2,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Get one or multiple random members from a set",
    "1.0.0",
    "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
    /** SRANDMEMBER key [count] */
    (ctx, argv) => {
      if (argv.length > 3) throw Errors.syntax;
      const key = latin1(argv[1]);
      if (argv.length === 2) return readSet(ctx.db, key)?.random() ?? null;
      const n = parseInt64(argv[2]);
      if (n === null) throw Errors.notInteger;
      if (n === -9223372036854775808n) throw countOutOfRange;
      const s = readSet(ctx.db, key);
      if (s === null || n === 0) return [];
      if (n < 0) {
        if (n < -MAX_RANDOM_PICKS) throw Errors.tooManyPicks;
        const out: Reply[] = new Array(-Number(n));
        for (let i = 0; i < out.length; i++) out[i] = s.random()!;
        return out;
      }
      if (n >= s.size) return s.members().slice();
      return n === 1 ? [s.random()!] : s.sample(Number(n));
    },
  ),
  set(
    "spop",
    -2,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE")],
    "Remove and return one or multiple random members from a set",
    "1.0.0",
    "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
    /** SPOP key [count] */
    (ctx, argv) => {
      if (argv.length > 3) throw Errors.syntax;
      return argv.length === 2 ? popOne(ctx.db, latin1(argv[1])) : popCount(ctx.db, argv);
    },
  ),
  set(
    "smove",
    4,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE"), keys.one(2, "RW", "INSERT")],
    "Move a member from one set to another",
    "1.0.0",
    "O(1)",
    /** SMOVE source destination member */
    (ctx, argv) => {
      const db = ctx.db;
      const src = latin1(argv[1]);
      const dst = latin1(argv[2]);
      const member = latin1(argv[3]);
      const se = db.find(src);
      const de = db.find(dst);
      if (se === undefined) return 0;
      const s = setOf(se);
      if (de !== undefined) setOf(de);
      if (src === dst) return s.has(member) ? 1 : 0;
      if (!s.has(member)) return 0;
      removeFromSet(db, se, [member]);
      db.notify("s", "srem", src);
      if (s.isEmpty()) db.notify("g", "del", src);
      const target = de ?? db.set(dst, new SetValue(), 0);
      if (addToSet(db, target, argv, 3) > 0) db.notify("s", "sadd", dst);
      return 1;
    },
  ),
  set(
    "sinter",
    -2,
    ["readonly"],
    [keys.range(1, -1, 1, "RO", "ACCESS")],
    "Intersect multiple sets",
    "1.0.0",
    COMPLEXITY_INTER,
    /** SINTER key [key ...] */
    (ctx, argv) => new RespSet(intersection(readSets(ctx.db, argv, 1, argv.length), 0)),
  ),
  set(
    "sintercard",
    -3,
    ["readonly"],
    [keys.counted(1, "RO", "ACCESS")],
    "Intersect multiple sets and return the cardinality of the result",
    "7.0.0",
    COMPLEXITY_INTER,
    /** SINTERCARD numkeys key [key ...] [LIMIT limit] */
    (ctx, argv) => {
      const numkeys = intArg(argv[1], numkeysPositive);
      if (numkeys < 1) throw numkeysPositive;
      if (numkeys > argv.length - 2) throw tooManyKeys;
      let limit = 0;
      for (let j = 2 + numkeys; j < argv.length; j++) {
        if (isWord(argv[j], "limit") && j + 1 < argv.length) {
          limit = intArg(argv[++j], limitNegative);
          if (limit < 0) throw limitNegative;
        } else throw Errors.syntax;
      }
      return intersection(readSets(ctx.db, argv, 2, 2 + numkeys), limit).length;
    },
  ),
  set(
    "sinterstore",
    -3,
    ["write", "denyoom"],
    [keys.one(1, "RW", "UPDATE"), keys.range(2, -1, 1, "RO", "ACCESS")],
    "Intersect multiple sets and store the resulting set in a key",
    "1.0.0",
    COMPLEXITY_INTER,
    /** SINTERSTORE destination key [key ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const members = intersection(readSets(db, argv, 2, argv.length), 0);
      const result = SetValue.build(members, intsetLimit(db));
      return storeSet(db, latin1(argv[1]), result, "sinterstore");
    },
  ),
  set(
    "sunion",
    -2,
    ["readonly"],
    [keys.range(1, -1, 1, "RO", "ACCESS")],
    "Add multiple sets",
    "1.0.0",
    COMPLEXITY_UNION,
    /** SUNION key [key ...] */
    (ctx, argv) => {
      const sets = readSets(ctx.db, argv, 1, argv.length);
      return new RespSet(union(sets, intsetLimit(ctx.db)).members().slice());
    },
  ),
  set(
    "sunionstore",
    -3,
    ["write", "denyoom"],
    [keys.one(1, "OW", "UPDATE"), keys.range(2, -1, 1, "RO", "ACCESS")],
    "Add multiple sets and store the resulting set in a key",
    "1.0.0",
    COMPLEXITY_UNION,
    /** SUNIONSTORE destination key [key ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const result = union(readSets(db, argv, 2, argv.length), intsetLimit(db));
      return storeSet(db, latin1(argv[1]), result, "sunionstore");
    },
  ),
  set(
    "sdiff",
    -2,
    ["readonly"],
    [keys.range(1, -1, 1, "RO", "ACCESS")],
    "Subtract multiple sets",
    "1.0.0",
    COMPLEXITY_UNION,
    /** SDIFF key [key ...] */
    (ctx, argv) => {
      const sets = readSets(ctx.db, argv, 1, argv.length);
      return new RespSet(difference(sets, intsetLimit(ctx.db)).members().slice());
    },
  ),
  set(
    "sdiffstore",
    -3,
    ["write", "denyoom"],
    [keys.one(1, "OW", "UPDATE"), keys.range(2, -1, 1, "RO", "ACCESS")],
    "Subtract multiple sets and store the resulting set in a key",
    "1.0.0",
    COMPLEXITY_UNION,
    /** SDIFFSTORE destination key [key ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const result = difference(readSets(db, argv, 2, argv.length), intsetLimit(db));
      return storeSet(db, latin1(argv[1]), result, "sdiffstore");
    },
  ),
  set(
    "sscan",
    -3,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Incrementally iterate Set elements",
    "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    /** SSCAN key cursor [MATCH pattern] [COUNT count] */
    (ctx, argv) => {
      const cursor = parseCursor(argv[2]);
      const s = readSet(ctx.db, latin1(argv[1]));
      if (s === null) return ["0", []];
      const { pattern, count } = parseScanOptions(argv, 3);
      const [next, members] = s.scan(cursor, count);
      const out: Reply[] = [];
      for (const m of members) if (pattern === null || globMatch(pattern, m)) out.push(m);
      return [String(next), out];
    },
  ),
];

/** SPOP key: one random member, removed. */
function popOne(db: Database, key: string): Reply {
  const e = db.find(key);
  if (e === undefined) return null;
  const s = setOf(e);
  const member = s.random()!;
  removeFromSet(db, e, [member]);
  db.notify("s", "spop", key);
  if (s.isEmpty()) db.notify("g", "del", key);
  return member;
}

/**
 * SPOP key count, with Redis's three cases: the whole set (the key goes), a few random members
 * (logged as their removal), or most of the set (the few members left are drawn and the set is
 * rebuilt from them, which can make it an intset again; logged as the new value).
 */
function popCount(db: Database, argv: Uint8Array[]): Reply {
  const n = parseInt64(argv[2]);
  if (n === null || n < 0) throw rangeMustBePositive;
  const key = latin1(argv[1]);
  const e = db.find(key);
  if (e === undefined) return new RespSet([]);
  const s = setOf(e);
  if (n === 0) return new RespSet([]);
  db.notify("s", "spop", key);
  const size = s.size;
  if (n >= size) {
    const all = s.members().slice();
    db.delete(key);
    db.notify("g", "del", key);
    return new RespSet(all);
  }
  const count = Number(n);
  const remaining = size - count;
  if (remaining * 5 > count) {
    return new RespSet(removeFromSet(db, e, s.sample(count)));
  }
  const kept: string[] = [];
  for (let i = 0; i < remaining; i++) {
    const m = s.random()!;
    s.remove(m);
    kept.push(m);
  }
  const popped = s.members().slice();
  db.set(key, SetValue.build(kept, intsetLimit(db)), KEEP_TTL);
  return new RespSet(popped);
}
