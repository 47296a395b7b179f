/**
 * SORT and SORT_RO over lists, sets and sorted sets, as Redis 7.0's sortCommandGeneric: BY with
 * `*` substitution from string keys and `->field` from hashes, `BY nosort`, LIMIT, GET (`#` for
 * the element itself), ASC/DESC, ALPHA, and STORE into a list.
 *
 * @module
 */
import type { Database } from "../engine/keyspace.ts";
import { HashValue } from "../engine/values/hash.ts";
import { ListValue } from "../engine/values/list.ts";
import { SetValue } from "../engine/values/set.ts";
import { SortedSetValue, type ZNode } from "../engine/values/sorted_set.ts";
import type { DataValue } from "../engine/values/types.ts";
import { parseDouble } from "../protocol/numbers.ts";
import type { Reply } from "../protocol/reply.ts";
import { copyBytes, intArg, isWord, latin1, latin1Value } from "./args.ts";
import { err, Errors } from "./errors.ts";
import {
  type CommandContext,
  type CommandSpec,
  type FoundKey,
  keys,
  type KeySpec,
  type KeySpecFlag,
} from "./spec.ts";

const notDouble = err("ERR One or more scores can't be converted into double");
const byDenied = err("ERR BY option of SORT denied due to insufficient ACL permissions.");
const getDenied = err("ERR GET option of SORT denied due to insufficient ACL permissions.");

/** Parsed SORT options. */
interface SortOptions {
  desc: boolean;
  alpha: boolean;
  limitStart: number;
  limitCount: number;
  /** BY pattern; null when absent. */
  by: string | null;
  /** True for a BY pattern without `*` (BY nosort): keep the value's own order. */
  dontSort: boolean;
  gets: string[];
  store: string | null;
}

/**
 * Parses the options in one pass, as Redis does: the first bad word is a syntax error, LIMIT's
 * numbers are checked as they come, STORE only where it is allowed.
 */
function parseOptions(ctx: CommandContext, argv: Uint8Array[], readonly: boolean): SortOptions {
  const o: SortOptions = {
    desc: false,
    alpha: false,
    limitStart: 0,
    limitCount: -1,
    by: null,
    dontSort: false,
    gets: [],
    store: null,
  };
  let fullAccess: boolean | undefined;
  const canReadAllKeys = () => fullAccess ??= fullKeyAccess(ctx);
  for (let j = 2; j < argv.length; j++) {
    const a = argv[j];
    const left = argv.length - j - 1;
    if (isWord(a, "asc")) o.desc = false;
    else if (isWord(a, "desc")) o.desc = true;
    else if (isWord(a, "alpha")) o.alpha = true;
    else if (isWord(a, "limit") && left >= 2) {
      o.limitStart = intArg(argv[j + 1]);
      o.limitCount = intArg(argv[j + 2]);
      j += 2;
    } else if (!readonly && isWord(a, "store") && left >= 1) {
      o.store = latin1(argv[++j]);
    } else if (isWord(a, "by") && left >= 1) {
      o.by = latin1(argv[++j]);
      // Once a BY without `*` is seen the result stays unsorted, even if a later BY has one
      // (Redis's dontsort is never reset).
      if (cString(o.by).indexOf("*") < 0) o.dontSort = true;
      else if (!canReadAllKeys()) throw byDenied;
    } else if (isWord(a, "get") && left >= 1) {
      if (!canReadAllKeys()) throw getDenied;
      o.gets.push(latin1(argv[++j]));
    } else throw Errors.syntax;
  }
  return o;
}

/**
 * True when the client's user may read every key (Redis checks the key `*` against the user's
 * key patterns before it lets BY and GET look keys up).
 */
function fullKeyAccess(ctx: CommandContext): boolean {
  const user = ctx.server.acl.users.get(ctx.client.user);
  if (user === undefined) return true;
  return [user.root, ...user.selectors].some((s) => s.canAccessKey("*", true, false));
}

/** The part of a pattern C's string functions see (up to the first NUL byte). */
function cString(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

/**
 * Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is replaced by
 * the element and the key read as a string, or, with `->field` after the `*`, the field read
 * from a hash. Null when the pattern has no `*`, the key is missing, or it has another type.
 */
function lookupByPattern(
  db: Database,
  pattern: string,
  element: string,
): Uint8Array | string | null {
  if (pattern === "#" || pattern.startsWith("#\0")) return element;
  const c = cString(pattern);
  const star = c.indexOf("*");
  if (star < 0) return null;
  const arrow = c.indexOf("->", star + 1);
  let field: string | null = null;
  let end = pattern.length;
  if (arrow >= 0 && arrow + 2 < c.length) {
    field = pattern.slice(arrow + 2);
    end = arrow;
  }
  const key = pattern.slice(0, star) + element + pattern.slice(star + 1, end);
  const e = db.get(key);
  if (e === undefined) return null;
  if (field === null) return e.value instanceof Uint8Array ? e.value : null;
  if (!(e.value instanceof HashValue)) return null;
  const f = e.value.get(field);
  if (f === undefined || (f.expireAt !== 0 && f.expireAt <= db.keyspace.now)) return null;
  return f.value;
}

/**
 * A score as Redis's strtod check in SORT: leading spaces allowed, the text must be used up to
 * its end (or a NUL byte), no NaN, no overflow or underflow; the empty string is 0.
 */
function sortScore(text: Uint8Array | string): number | null {
  const s = cString(typeof text === "string" ? text : latin1(text));
  if (s.length === 0) return 0;
  const trimmed = s.replace(/^[ \t\n\v\f\r]+/, "");
  if (trimmed.length === 0) return null;
  const v = parseDouble(trimmed);
  // strtod flags an inexact subnormal result with ERANGE, which SORT refuses (decimal input
  // practically always is inexact there; hexadecimal input is exact).
  if (v !== null && v !== 0 && Math.abs(v) < MIN_NORMAL && !/^[+-]?0[xX]/.test(trimmed)) {
    return null;
  }
  return v;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** Binary comparison (memcmp, then length), as compareStringObjects. */
function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ALPHA's comparison when the result is returned, as Redis's strcoll() of C strings: each up to
 * its first NUL byte (with STORE Redis compares whole strings, as {@link compareBinary}).
 */
function compareCString(a: string, b: string): number {
  const na = a.indexOf("\0"), nb = b.indexOf("\0");
  return compareBinary(na < 0 ? a : a.slice(0, na), nb < 0 ? b : b.slice(0, nb));
}

/** A list, set or sorted set as SORT reads it: its length and its elements in a given order. */
interface SortSource {
  length: number;
  /** `count` elements from position `start` of the value's order (reversed when `desc`). */
  range(start: number, count: number, desc: boolean): string[];
}

/** Reads the elements of a SORT-able value; null for other types (WRONGTYPE). */
function sortSource(value: DataValue): SortSource | null {
  if (value instanceof SetValue) {
    return {
      length: value.size,
      range: (start, count) => value.members().slice(start, start + count),
    };
  }
  if (value instanceof ListValue) {
    return {
      length: value.length,
      range: (start, count, desc) => {
        const out: string[] = [];
        const n = value.length;
        for (let i = 0; i < count; i++) {
          out.push(latin1(value.at(desc ? n - 1 - start - i : start + i)));
        }
        return out;
      },
    };
  }
  if (value instanceof SortedSetValue) {
    // Redis converts a listpack sorted set to a skiplist for SORT (in memory only: it is not
    // propagated, and a reload converts it back).
    value.skiplist = true;
    return {
      length: value.size,
      range: (start, count, desc) => {
        const out: string[] = [];
        if (count <= 0) return out;
        let n: ZNode | null = value.byRank(desc ? value.size - 1 - start : start);
        for (let i = 0; i < count && n !== null; i++) {
          out.push(n.member);
          n = desc ? n.backward : n.next[0];
        }
        return out;
      },
    };
  }
  return null;
}

interface SortItem {
  element: string;
  score: number;
  /** The BY value for ALPHA with BY (null when missing). */
  by: string | null;
}

/** The sort, shared by SORT and SORT_RO. */
function sortGeneric(ctx: CommandContext, argv: Uint8Array[], readonly: boolean): Reply {
  const db = ctx.db;
  const o = parseOptions(ctx, argv, readonly);
  const e = db.get(latin1(argv[1]));
  let src: SortSource = { length: 0, range: () => [] };
  let isSet = false;
  if (e !== undefined) {
    const s = e.value instanceof Uint8Array ? null : sortSource(e.value);
    if (s === null) throw Errors.wrongType;
    src = s;
    isSet = e.value instanceof SetValue;
  }
  let { dontSort, alpha, by } = o;
  // A set has no order of its own: sorting it for STORE keeps the stored list deterministic.
  if (dontSort && isSet && o.store !== null) {
    dontSort = false;
    alpha = true;
    by = null;
  }
  const len = src.length;
  let start = Math.min(Math.max(o.limitStart, 0), len);
  const limitCount = Math.min(Math.max(o.limitCount, -1), len);
  let end = limitCount < 0 ? len : start + limitCount - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;

  let items: SortItem[];
  if (dontSort && !isSet) {
    // Lists and sorted sets keep their order; only the LIMIT range is read.
    const n = end - start + 1;
    items = (n > 0 ? src.range(start, n, o.desc) : []).map((el) => ({
      element: el,
      score: 0,
      by: null,
    }));
    end -= start;
    start = 0;
  } else {
    items = src.range(0, len, false).map((el) => ({ element: el, score: 0, by: null }));
  }

  let badScore = false;
  if (!dontSort) {
    for (const it of items) {
      let v: Uint8Array | string | null;
      if (by !== null) {
        v = lookupByPattern(db, by, it.element);
        if (v === null) continue;
      } else v = it.element;
      if (alpha) {
        if (by !== null) it.by = typeof v === "string" ? v : latin1(v);
      } else {
        const score = sortScore(v);
        if (score === null) badScore = true;
        else it.score = score;
      }
    }
    const sign = o.desc ? -1 : 1;
    const byPattern = by !== null;
    const collate = o.store === null ? compareCString : compareBinary;
    items.sort((a, b) => {
      let c: number;
      if (!alpha) {
        c = a.score > b.score ? 1 : a.score < b.score ? -1 : compareBinary(a.element, b.element);
      } else if (byPattern) {
        if (a.by === null || b.by === null) c = a.by === b.by ? 0 : a.by === null ? -1 : 1;
        else c = collate(a.by, b.by);
      } else c = collate(a.element, b.element);
      return sign * c;
    });
  }
  if (badScore) throw notDouble;

  const out: (string | Uint8Array | null)[] = [];
  for (let j = start; j <= end; j++) {
    const el = items[j].element;
    if (o.gets.length === 0) out.push(el);
    for (const g of o.gets) out.push(lookupByPattern(db, g, el));
  }
  if (o.store === null) return out as Reply[];

  const dst = o.store;
  if (out.length > 0) {
    db.set(dst, ListValue.of(out.map((v) => toBytes(v ?? ""))), 0);
    db.notify("l", "sortstore", dst);
  } else if (db.delete(dst)) db.notify("g", "del", dst);
  return out.length;
}

/** An element SORT STORE keeps, cut from the value slabs (a buffer of its own is ~700 ns). */
function toBytes(v: string | Uint8Array): Uint8Array {
  return typeof v === "string" ? latin1Value(v) : copyBytes(v);
}

const COMPLEXITY =
  "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

/** The keys BY and GET patterns name: known only once the sorted values are (as in Redis). */
const BY_GET_KEYS: KeySpec = {
  notes:
    "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
  flags: ["RO", "ACCESS"],
  begin: { unknown: true },
  find: { unknown: true },
};

const STORE_KEY: KeySpec = {
  notes:
    "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array",
  flags: ["OW", "UPDATE"],
  begin: { unknown: true },
  find: { unknown: true },
};

const RO_ACCESS: KeySpecFlag[] = ["RO", "ACCESS"];

/**
 * SORT's keys as Redis's sortGetKeys finds them: the sorted key, and the word after the last
 * STORE (the arguments of LIMIT, GET and BY are skipped; the word after STORE is not).
 */
function sortKeys(argv: readonly Uint8Array[]): FoundKey[] {
  const out: FoundKey[] = [{ index: 1, flags: RO_ACCESS }];
  let store = -1;
  for (let i = 2; i < argv.length; i++) {
    const word = latin1(argv[i]).toLowerCase();
    if (word === "limit") i += 2;
    else if (word === "get" || word === "by") i += 1;
    else if (word === "store" && i + 1 < argv.length) store = i + 1;
  }
  if (store > 0) out.push({ index: store, flags: ["OW", "UPDATE"] });
  return out;
}

/** SORT and SORT_RO. */
export const sortCommands: CommandSpec[] = [
  {
    name: "sort",
    arity: -2,
    flags: ["write", "denyoom"],
    categories: ["set", "sortedset", "list", "dangerous"],
    group: "generic",
    summary: "Sort the elements in a list, set or sorted set",
    since: "1.0.0",
    complexity: COMPLEXITY,
    keys: [keys.one(1, "RO", "ACCESS"), BY_GET_KEYS, STORE_KEY],
    getKeys: sortKeys,
    /** SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination] */
    handler: (ctx, argv) => sortGeneric(ctx, argv, false),
  },
  {
    name: "sort_ro",
    arity: -2,
    flags: ["readonly"],
    categories: ["set", "sortedset", "list", "dangerous"],
    group: "generic",
    summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
    since: "7.0.0",
    complexity: COMPLEXITY,
    keys: [keys.one(1, "RO", "ACCESS"), BY_GET_KEYS],
    getKeys: () => [{ index: 1, flags: RO_ACCESS }],
    /** SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] */
    handler: (ctx, argv) => sortGeneric(ctx, argv, true),
  },
];
