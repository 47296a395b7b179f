/**
 * Sorted set commands: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT
 * ZRANGE ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP
 * ZRANDMEMBER ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZSCAN.
 *
 * Layers (STYLE 4): the ordered structure in engine/values/sorted_set.ts; the generic workers
 * here (`zaddGeneric`, `rangeNodes`, `popFrom`/`zpopFirst`, `setOperation`, `removeRange`);
 * thin handlers. The blocking pops block through server/blocking.ts (any change to a key wakes
 * its waiters through the keyspace's `modified` signal). Replies follow Redis 7.0: scores are
 * doubles (bulk strings in RESP2), WITHSCORES answers flat member/score arrays in RESP2 and
 * [member, score] pairs in RESP3. ZRANK/ZREVRANK take Redis 7.2's WITHSCORE.
 *
 * @module
 */
import type { Database, Entry, Key } from "../engine/keyspace.ts";
import { globMatch } from "../engine/glob.ts";
import type { SetValue } from "../engine/values/set.ts";
import {
  type LexBound,
  type LexRange,
  maxListpackEntries,
  maxListpackValue,
  scoreBytes,
  type ScoreRange,
  SortedSetValue,
  type ZNode,
} from "../engine/values/sorted_set.ts";
import {
  formatDouble,
  formatStoredScore,
  hexDouble,
  parseDouble,
  parseInt64,
} from "../protocol/numbers.ts";
import { Double, NULL_ARRAY, type Reply } from "../protocol/reply.ts";
import { int64Arg, intArg, isWord, latin1, latin1Bytes } from "./args.ts";
import { blockOnKeysUntilTimeout, timeoutArg } from "../server/blocking.ts";
import { err, Errors, MAX_RANDOM_PICKS, wrongArity } from "./errors.ts";
import { type CommandContext, type CommandSpec, familySpec, keys } from "./spec.ts";

// Error texts of this family, worded as Redis 7.0 words them.
const ZErrors = {
  xxAndNx: err("ERR XX and NX options at the same time are not compatible"),
  gtLtNx: err("ERR GT, LT, and/or NX options at the same time are not compatible"),
  incrPair: err("ERR INCR option supports a single increment-element pair"),
  nan: err("ERR resulting score is not a number (NaN)"),
  minMaxFloat: err("ERR min or max is not a float"),
  minMaxLex: err("ERR min or max not valid string range item"),
  limitRank: err(
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
  ),
  withScoresLex: err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
  weight: err("ERR weight value is not a float"),
  limitNegative: err("ERR LIMIT can't be negative"),
  numkeys: err("ERR numkeys should be greater than 0"),
  count: err("ERR count should be greater than 0"),
  positive: err("ERR value is out of range, must be positive"),
  outOfRange: err("ERR value is out of range"),
  randRange: err(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
  ),
  atLeastOneKey: (cmd: string) => err(`ERR at least 1 input key is needed for '${cmd}' command`),
} as const;

const EMPTY: Reply[] = [];

// ─── Lookups ────────────────────────────────────────────────────────────────────────────────

/** The sorted set held by an entry; throws WRONGTYPE for other types. */
export function zsetOf(e: Entry): SortedSetValue {
  if (!(e.value instanceof SortedSetValue)) throw Errors.wrongType;
  return e.value;
}

/** The sorted set at `key` for reading (null when missing); throws WRONGTYPE. */
function readZset(db: Database, key: string): SortedSetValue | null {
  const e = db.get(key);
  return e === undefined ? null : zsetOf(e);
}

/** The entry of the sorted set at `key` for writing (undefined when missing); WRONGTYPE. */
function findZset(db: Database, key: Key): Entry | undefined {
  const e = db.find(key);
  if (e !== undefined) zsetOf(e);
  return e;
}

// ─── Effects ────────────────────────────────────────────────────────────────────────────────

/**
 * Collects what one command changes in one sorted set and logs it as effects: the conversion
 * to skiplist first (so replay keeps `-0` scores inserted after it), then one `zadd` with the
 * resulting scores, or one `zrem` with the removed members.
 */
class Changes {
  private readonly adds: Uint8Array[] = [];
  private readonly removed: Uint8Array[] = [];
  /** Index in `adds` where the set converted to skiplist, -1 when it did not. */
  private convertedAt = -1;
  private readonly before: number;

  constructor(
    private readonly db: Database,
    private readonly e: Entry,
    readonly z: SortedSetValue,
  ) {
    this.before = z.memoryUsage();
  }

  /**
   * Sets the score of `member` (as the request gave it: the log encodes it before the command
   * returns), whose element is `node`, or undefined when the last lookup did not find it: it is
   * inserted, converting the encoding first when that passes the limits.
   */
  set(member: Uint8Array, score: number, node: ZNode | undefined): void {
    const z = this.z;
    let stored: number;
    if (node !== undefined) stored = z.rescore(node, score);
    else {
      if (z.growFor(this.db.keyspace.encodingLimits, member.length)) {
        this.convertedAt = this.adds.length;
      }
      stored = z.insert(latin1(member), score);
    }
    this.adds.push(scoreBytes(stored), member);
  }

  /** Records members removed from the set. */
  removedNodes(nodes: readonly ZNode[]): void {
    for (const n of nodes) this.removed.push(latin1Bytes(n.member));
  }

  /** Records a member removed from the set, as the request gave it. */
  removedArg(bytes: Uint8Array): void {
    this.removed.push(bytes);
  }

  /** Logs the effects; deletes the key (notifying `del`) when the set is left empty. */
  commit(): void {
    const { db, e, z } = this;
    const delta = z.memoryUsage() - this.before;
    const adds = this.adds;
    const at = this.convertedAt;
    // The conversion goes where it happened, so replay stores the same scores (a listpack
    // keeps no -0); the set is never empty there (a new set starts out in its encoding).
    if (at > 0) db.effect(e, "zadd", adds.slice(0, at));
    if (at >= 0) db.effect(e, "skiplist", []);
    const rest = at > 0 ? adds.slice(at) : adds;
    if (rest.length > 0) db.effect(e, "zadd", rest, this.removed.length ? 0 : delta);
    if (this.removed.length > 0) db.effect(e, "zrem", this.removed, delta);
    if (z.isEmpty()) {
      db.delete(e.key);
      db.notify("g", "del", e.key);
    }
  }
}

/**
 * Stores a set a command built at `dst` (ZRANGESTORE, Z*STORE): with the encoding Redis gives a
 * new set, or deletes `dst` when the result is empty. Returns the stored size.
 */
function storeResult(
  db: Database,
  dst: string,
  z: SortedSetValue,
  event: string,
  settle = true,
): number {
  if (z.size > 0) {
    if (settle) z.settleEncoding(db.keyspace.encodingLimits);
    db.set(dst, z, 0);
    db.notify("z", event, dst);
    return z.size;
  }
  if (db.delete(dst)) db.notify("g", "del", dst);
  return 0;
}

// ─── Reply shapes ───────────────────────────────────────────────────────────────────────────

/** Members, with scores when asked: flat in RESP2, [member, score] pairs in RESP3. */
function nodesReply(nodes: Iterable<ZNode>, withScores: boolean, resp: number): Reply[] {
  const out: Reply[] = [];
  if (!withScores) {
    for (const n of nodes) out.push(n.member);
  } else if (resp > 2) {
    for (const n of nodes) out.push([n.member, new Double(n.score)]);
  } else {
    for (const n of nodes) out.push(n.member, new Double(n.score));
  }
  return out;
}

// ─── Argument parsing ───────────────────────────────────────────────────────────────────────

const STRTOD =
  /^[ \t\n\v\f\r]*([+-]?)(?:(inf(?:inity)?)|(nan(?:\([0-9a-z_]*\))?)|0x((?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+))(?:p([+-]?\d+))?|((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))$/i;

/**
 * A range bound as Redis reads it with `strtod` (zslParseRange): leading spaces allowed,
 * overflow to infinity allowed, an empty text is 0; null when text remains or it is NaN.
 */
function strtod(text: string): number | null {
  if (text.length === 0) return 0;
  const m = STRTOD.exec(text);
  if (m === null || m[3] !== undefined) return null;
  const neg = m[1] === "-";
  let v: number;
  if (m[2] !== undefined) v = Infinity;
  else if (m[6] !== undefined) v = Number(m[6]);
  else {
    const [intPart, frac = ""] = m[4].split(".");
    v = hexDouble(intPart, frac, Number(m[5] ?? 0));
  }
  return neg ? -v : v;
}

/** `min max` of a score range: `(` excludes, `-inf`/`+inf` allowed. */
function parseScoreRange(min: Uint8Array, max: Uint8Array): ScoreRange {
  const lo = scoreBound(min);
  const hi = scoreBound(max);
  return { min: lo[0], minex: lo[1], max: hi[0], maxex: hi[1] };
}

function scoreBound(b: Uint8Array): [number, boolean] {
  const text = latin1(b);
  const ex = text.charCodeAt(0) === 40; // (
  const v = strtod(ex ? text.slice(1) : text);
  if (v === null) throw ZErrors.minMaxFloat;
  return [v, ex];
}

/** `min max` of a lex range: `[a` inclusive, `(a` exclusive, `-` and `+` the extremes. */
function parseLexRange(min: Uint8Array, max: Uint8Array): LexRange {
  return { min: lexBound(min), max: lexBound(max) };
}

function lexBound(b: Uint8Array): LexBound {
  const c = b[0];
  if (c === 43 && b.length === 1) return { inf: 1 }; // +
  if (c === 45 && b.length === 1) return { inf: -1 }; // -
  if (c === 40 || c === 91) return { value: latin1(b.subarray(1)), ex: c === 40 }; // ( [
  throw ZErrors.minMaxLex;
}

/** A score argument (ZADD, ZINCRBY): Redis's strict double. */
function scoreArg(b: Uint8Array): number {
  // Plain integers (most scores) are read from the bytes, exactly, without a string; anything
  // string2ll refuses ("007", "-0", "1.5", "inf", beyond 2^53) goes the strtod way.
  const int = parseInt64(b);
  if (typeof int === "number") return int;
  // Digits with leading zeros (redis-benchmark's zero-padded __rand_int__), or a sign: exact
  // below 10^15, and what strtod makes of them ("-0" is -0), without a regular expression.
  const n = b.length;
  let i = n > 1 && (b[0] === 45 || b[0] === 43) ? 1 : 0; // - +
  if (n > i && n - i <= 15) {
    let digits = 0;
    for (; i < n; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) break;
      digits = digits * 10 + d;
    }
    if (i === n) return b[0] === 45 ? -digits : digits;
  }
  const v = parseDouble(latin1(b));
  if (v === null) throw Errors.notFloat;
  return v;
}

/** A count in 1..LONG_MAX with a fixed error text for anything else (ZMPOP's numkeys/COUNT). */
function rangeCount(b: Uint8Array, error: ReturnType<typeof err>): number {
  const v = int64Arg(b, error);
  if (v < 1) throw error;
  return typeof v === "bigint" ? Number.MAX_SAFE_INTEGER : v;
}

// ─── ZADD / ZINCRBY ─────────────────────────────────────────────────────────────────────────

const NX = 1, XX = 2, GT = 4, LT = 8, INCR = 16;

/**
 * ZADD's worker (ZINCRBY is ZADD INCR): options, scores checked before anything changes, then
 * each pair applied with Redis's zsetAdd rules. Returns the reply.
 */
function zaddGeneric(ctx: CommandContext, argv: Uint8Array[], flags: number): Reply {
  const db = ctx.db;
  let ch = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (isWord(a, "nx")) flags |= NX;
    else if (isWord(a, "xx")) flags |= XX;
    else if (isWord(a, "ch")) ch = true;
    else if (isWord(a, "incr")) flags |= INCR;
    else if (isWord(a, "gt")) flags |= GT;
    else if (isWord(a, "lt")) flags |= LT;
    else break;
  }
  const pairs = argv.length - i;
  if (pairs % 2 !== 0 || pairs === 0) throw Errors.syntax;
  const nx = (flags & NX) !== 0, xx = (flags & XX) !== 0, gt = (flags & GT) !== 0;
  const lt = (flags & LT) !== 0, incr = (flags & INCR) !== 0;
  if (nx && xx) throw ZErrors.xxAndNx;
  if ((gt && nx) || (lt && nx) || (gt && lt)) throw ZErrors.gtLtNx;
  if (incr && pairs > 2) throw ZErrors.incrPair;
  const scores: number[] = [];
  for (let j = i; j < argv.length; j += 2) scores.push(scoreArg(argv[j]));

  // Looked up by the request's bytes: the key's string is made only for a new key.
  let e = findZset(db, argv[1]);
  if (e === undefined) {
    if (xx) return incr ? null : 0;
    // Created as Redis 7.0 creates it: a skiplist when the first member is already too long
    // for a listpack (so the conversion is part of the new value, not an effect on an empty one).
    const created = new SortedSetValue();
    const limits = db.keyspace.encodingLimits;
    created.skiplist = maxListpackEntries(limits) === 0 ||
      argv[i + 1].length > maxListpackValue(limits);
    e = db.set(latin1(argv[1]), created, 0);
  }
  const changes = new Changes(db, e, zsetOf(e));
  const z = changes.z;
  let added = 0, updated = 0, processed = 0;
  let score = 0;
  let failed = false;
  for (let j = 0; j < scores.length; j++) {
    const member = argv[i + 1 + 2 * j];
    let s = scores[j];
    const node = z.nodeOf(member);
    if (node !== undefined) {
      const cur = node.score;
      if (nx) continue;
      if (incr) {
        s += cur;
        if (Number.isNaN(s)) {
          failed = true;
          break;
        }
      }
      if ((lt && s >= cur) || (gt && s <= cur)) continue;
      processed++;
      score = s;
      if (s !== cur) {
        changes.set(member, s, node);
        updated++;
      }
    } else if (!xx) {
      changes.set(member, s, undefined);
      added++;
      processed++;
      score = s;
    }
  }
  changes.commit();
  if (added || updated) db.notify("z", incr ? "zincr" : "zadd", e.key);
  if (failed) throw ZErrors.nan;
  if (incr) return processed ? new Double(score) : null;
  return ch ? added + updated : added;
}

// ─── Ranges ─────────────────────────────────────────────────────────────────────────────────

/** A parsed ZRANGE-family request. */
interface RangeRequest {
  by: "rank" | "score" | "lex";
  reverse: boolean;
  withScores: boolean;
  offset: number;
  /** -1: no limit. */
  limit: number;
  start: number;
  end: number;
  score: ScoreRange | null;
  lex: LexRange | null;
}

/**
 * Parses `min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]` from `from` (the
 * index of min) as Redis's zrangeGenericCommand: options first, conflicts, then the range.
 * `by`/`reverse` are preset (and then not accepted as options) for the legacy commands.
 */
function parseRange(
  argv: Uint8Array[],
  from: number,
  by: RangeRequest["by"] | null,
  reverse: boolean | null,
  store: boolean,
): RangeRequest {
  let withScores = false, offset = 0, limit = -1;
  for (let j = from + 2; j < argv.length; j++) {
    const a = argv[j];
    const left = argv.length - j - 1;
    if (!store && isWord(a, "withscores")) withScores = true;
    else if (isWord(a, "limit") && left >= 2) {
      offset = intArg(argv[j + 1]);
      limit = intArg(argv[j + 2]);
      j += 2;
    } else if (reverse === null && isWord(a, "rev")) reverse = true;
    else if (by === null && isWord(a, "bylex")) by = "lex";
    else if (by === null && isWord(a, "byscore")) by = "score";
    else throw Errors.syntax;
  }
  by ??= "rank";
  reverse ??= false;
  if (limit !== -1 && by === "rank") throw ZErrors.limitRank;
  if (withScores && by === "lex") throw ZErrors.withScoresLex;
  let minArg = argv[from], maxArg = argv[from + 1];
  if (reverse && by !== "rank") [minArg, maxArg] = [maxArg, minArg];
  const q: RangeRequest = {
    by,
    reverse,
    withScores,
    offset,
    limit,
    start: 0,
    end: 0,
    score: null,
    lex: null,
  };
  if (by === "rank") {
    q.start = intArg(minArg);
    q.end = intArg(maxArg);
  } else if (by === "score") {
    q.score = parseScoreRange(minArg, maxArg);
  } else {
    q.lex = parseLexRange(minArg, maxArg);
  }
  return q;
}

/** Normalizes Redis rank indexes; null when the range is empty. */
function rankBounds(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

/** The nodes a range request selects, in reply order. */
function rangeNodes(z: SortedSetValue, q: RangeRequest): ZNode[] {
  const out: ZNode[] = [];
  if (q.by === "rank") {
    const b = rankBounds(q.start, q.end, z.size);
    if (b === null) return out;
    const [s, e] = b;
    return z.range(q.reverse ? z.size - 1 - s : s, e - s + 1, q.reverse);
  }
  if (q.offset < 0 || (q.offset > 0 && q.offset >= z.size)) return out;
  if (q.by === "lex") return z.lexWalk(q.lex!, q.reverse, q.offset, q.limit);
  // Scores are in order: the range's ends as ranks, then the offset is a jump by rank.
  const first = z.firstInScoreRange(q.score!);
  const last = first && z.lastInScoreRange(q.score!);
  if (first === null || last === null) return out;
  let from: number, count: number;
  if (q.reverse) {
    from = last[1] - q.offset;
    count = from - first[1] + 1;
  } else {
    from = first[1] + q.offset;
    count = last[1] - from + 1;
  }
  if (count <= 0) return out;
  if (q.limit >= 0 && q.limit < count) count = q.limit;
  return z.range(from, count, q.reverse);
}

/** ZRANGE and its legacy forms: `from` is the index of min. */
function zrangeGeneric(
  ctx: CommandContext,
  argv: Uint8Array[],
  by: RangeRequest["by"] | null,
  reverse: boolean | null,
): Reply {
  const q = parseRange(argv, 2, by, reverse, false);
  const z = readZset(ctx.db, latin1(argv[1]));
  if (z === null) return EMPTY;
  return nodesReply(rangeNodes(z, q), q.withScores, ctx.client.resp);
}

/** ZREMRANGEBYRANK/SCORE/LEX: removes a range, answering how many went. */
function removeRange(ctx: CommandContext, argv: Uint8Array[], by: RangeRequest["by"]): Reply {
  let start = 0, end = 0;
  let score: ScoreRange | null = null, lex: LexRange | null = null;
  if (by === "rank") {
    start = intArg(argv[2]);
    end = intArg(argv[3]);
  } else if (by === "score") score = parseScoreRange(argv[2], argv[3]);
  else lex = parseLexRange(argv[2], argv[3]);
  const db = ctx.db;
  const key = latin1(argv[1]);
  const e = findZset(db, key);
  if (e === undefined) return 0;
  const changes = new Changes(db, e, zsetOf(e));
  const z = changes.z;
  let removed: ZNode[];
  if (by === "rank") {
    const b = rankBounds(start, end, z.size);
    if (b === null) return 0;
    removed = z.removeRankRange(b[0], b[1]);
  } else if (by === "score") {
    const first = z.firstInScoreRange(score!);
    const last = first && z.lastInScoreRange(score!);
    removed = first === null || last === null ? [] : z.removeRankRange(first[1], last[1]);
  } else {
    // Redis deletes from the first member in range for as long as members stay in it.
    const walk = z.lexWalk(lex!, false, 0, -1);
    if (walk.length === 0) removed = [];
    else {
      const from = z.rank(walk[0].member);
      removed = z.removeRankRange(from, from + walk.length - 1);
    }
  }
  if (removed.length === 0) return 0;
  changes.removedNodes(removed);
  db.notify("z", `zremrangeby${by}`, key);
  changes.commit();
  return removed.length;
}

// ─── Pops ───────────────────────────────────────────────────────────────────────────────────

/**
 * Pops up to `count` elements from the lowest (`max` false) or highest end of the set at `e`,
 * with the effects and notifications Redis sends.
 */
function popFrom(db: Database, e: Entry, max: boolean, count: number): ZNode[] {
  const changes = new Changes(db, e, zsetOf(e));
  const z = changes.z;
  const n = Math.min(count, z.size);
  const popped = max
    ? z.removeRankRange(z.size - n, z.size - 1).reverse()
    : z.removeRankRange(0, n - 1);
  changes.removedNodes(popped);
  db.notify("z", max ? "zpopmax" : "zpopmin", e.key);
  changes.commit();
  return popped;
}

/** Pairs in RESP3 when `nested`, flat otherwise (ZPOP's reply rules). */
function popReply(nodes: ZNode[], nested: boolean): Reply[] {
  return nodesReply(nodes, true, nested ? 3 : 2);
}

/**
 * One try of ZMPOP and the blocking pops: pops from the first non-empty sorted set of `ks`,
 * answering `[key, member, score]` (BZPOPMIN/BZPOPMAX: `count` null) or `[key, [[member,
 * score] ...]]`; undefined when there is nothing to pop. On the first try a key of another
 * type is WRONGTYPE; a woken try (`woken`) keeps the client waiting instead, as Redis does.
 */
function zpopFirst(
  db: Database,
  ks: readonly string[],
  max: boolean,
  count: number | null,
  woken: boolean,
): Reply | undefined {
  for (const key of ks) {
    const e = woken ? db.peek(key) : db.find(key);
    if (e === undefined) continue;
    if (!(e.value instanceof SortedSetValue)) {
      if (woken) return undefined;
      throw Errors.wrongType;
    }
    if (e.value.isEmpty()) continue;
    const popped = popFrom(db, e, max, count ?? 1);
    if (count === null) return [key, popped[0].member, new Double(popped[0].score)];
    return [key, popReply(popped, true)];
  }
  return undefined;
}

/** BZPOPMIN / BZPOPMAX key [key ...] timeout */
function blockingZpop(
  ctx: CommandContext,
  argv: Uint8Array[],
  max: boolean,
): Reply | Promise<Reply> {
  return blockOnKeysUntilTimeout(ctx, argv, (ks, woken) => zpopFirst(ctx.db, ks, max, null, woken));
}

/** ZPOPMIN/ZPOPMAX key [count]. */
function zpopGeneric(ctx: CommandContext, argv: Uint8Array[], max: boolean): Reply {
  if (argv.length > 3) throw Errors.syntax;
  let count = -1;
  if (argv.length === 3) {
    const v = int64Arg(argv[2], ZErrors.positive);
    if (v < 0) throw ZErrors.positive;
    count = typeof v === "bigint" ? Number.MAX_SAFE_INTEGER : v;
  }
  const e = findZset(ctx.db, latin1(argv[1]));
  if (e === undefined || count === 0) return EMPTY;
  const popped = popFrom(ctx.db, e, max, count < 0 ? 1 : count);
  return popReply(popped, ctx.client.resp > 2 && count !== -1);
}

/** Parses `numkeys key [key ...] MIN|MAX [COUNT count]` from `at` (ZMPOP, BZMPOP). */
function parseMpop(
  argv: Uint8Array[],
  at: number,
): { keys: string[]; max: boolean; count: number } {
  const numkeys = rangeCount(argv[at], ZErrors.numkeys);
  const whereAt = at + 1 + numkeys;
  if (whereAt >= argv.length) throw Errors.syntax;
  let max: boolean;
  if (isWord(argv[whereAt], "min")) max = false;
  else if (isWord(argv[whereAt], "max")) max = true;
  else throw Errors.syntax;
  let count = -1;
  for (let j = whereAt + 1; j < argv.length; j++) {
    if (count === -1 && isWord(argv[j], "count") && j + 1 < argv.length) {
      count = rangeCount(argv[++j], ZErrors.count);
    } else throw Errors.syntax;
  }
  const ks: string[] = [];
  for (let j = at + 1; j < whereAt; j++) ks.push(latin1(argv[j]));
  return { keys: ks, max, count: count === -1 ? 1 : count };
}

// ─── ZRANDMEMBER ────────────────────────────────────────────────────────────────────────────

/** ZRANDMEMBER key count [WITHSCORES] once the count is parsed. */
function randMembers(ctx: CommandContext, key: string, count: number, withScores: boolean): Reply {
  const z = readZset(ctx.db, key);
  if (z === null || count === 0) return EMPTY;
  const resp = ctx.client.resp;
  if (count < 0 || count === 1) {
    const n = Math.abs(count);
    if (n > MAX_RANDOM_PICKS) throw Errors.tooManyPicks;
    const picks: ZNode[] = new Array(n);
    for (let i = 0; i < n; i++) picks[i] = z.random();
    return nodesReply(picks, withScores, resp);
  }
  if (count >= z.size) {
    // The whole set, highest first (Redis 7.0 answers it in reverse rank order).
    return nodesReply(z.range(z.size - 1, z.size, true), withScores, resp);
  }
  // Distinct members: a partial shuffle of the positions, or rejection sampling when few.
  const size = z.size;
  let picks: ZNode[];
  if (count * 3 > size) {
    const idx = Array.from({ length: size }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    picks = idx.slice(0, count).map((i) => z.item(i));
  } else {
    const chosen = new Set<ZNode>();
    while (chosen.size < count) chosen.add(z.random());
    picks = [...chosen];
  }
  return nodesReply(picks, withScores, resp);
}

// ─── ZUNION / ZINTER / ZDIFF ────────────────────────────────────────────────────────────────

/** One input of a set operation: a sorted set, a set (scores 1) or a missing key. */
interface Source {
  z: SortedSetValue | null;
  s: SetValue | null;
  weight: number;
}

function sourceSize(src: Source): number {
  return src.z ? src.z.size : src.s ? src.s.size : 0;
}

/** Visits every (member, score) of a source in its natural order. */
function eachOf(src: Source, fn: (member: string, score: number) => boolean | void): void {
  if (src.z) {
    for (const n of src.z.nodes()) if (fn(n.member, n.score) === false) return;
  } else if (src.s) {
    for (const m of src.s.members()) if (fn(m, 1) === false) return;
  }
}

function scoreIn(src: Source, member: string): number | undefined {
  if (src.z) return src.z.score(member);
  if (src.s) return src.s.has(member) ? 1 : undefined;
  return undefined;
}

type Aggregate = "sum" | "min" | "max";

function aggregate(target: number, value: number, how: Aggregate): number {
  if (how === "sum") {
    const r = target + value;
    return Number.isNaN(r) ? 0 : r; // +inf + -inf is 0 by Redis's convention
  }
  if (how === "min") return value < target ? value : target;
  return value > target ? value : target;
}

type SetOp = "union" | "inter" | "diff";

/**
 * ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD (zunionInterDiffGenericCommand): numkeys, keys
 * (looked up and type-checked before options, as Redis does), WEIGHTS, AGGREGATE, WITHSCORES
 * or LIMIT, then the operation. `dst` is set for the STORE forms.
 */
function setOperation(
  ctx: CommandContext,
  argv: Uint8Array[],
  numkeysAt: number,
  op: SetOp,
  dst: string | null,
  cardinalityOnly: boolean,
): Reply {
  const db = ctx.db;
  const setnum = intArg(argv[numkeysAt]);
  if (setnum < 1) throw ZErrors.atLeastOneKey(ctx.command.fullName);
  if (setnum > argv.length - (numkeysAt + 1)) throw Errors.syntax;
  const srcs: Source[] = [];
  let j = numkeysAt + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const k = latin1(argv[j]);
    const e = db.get(k); // a read, STORE or not: a missing source counts a miss (keymiss)
    const src: Source = { z: null, s: null, weight: 1 };
    if (e !== undefined) {
      const v = e.value;
      if (v instanceof SortedSetValue) src.z = v;
      else if (!(v instanceof Uint8Array) && v.type === "set") src.s = v as SetValue;
      else throw Errors.wrongType;
    }
    srcs.push(src);
  }
  let how: Aggregate = "sum";
  let withScores = false;
  let limit = 0;
  while (j < argv.length) {
    const remaining = argv.length - j;
    const a = argv[j];
    if (op !== "diff" && !cardinalityOnly && remaining >= setnum + 1 && isWord(a, "weights")) {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseDouble(latin1(argv[j]));
        if (w === null) throw ZErrors.weight;
        srcs[i].weight = w;
      }
    } else if (op !== "diff" && !cardinalityOnly && remaining >= 2 && isWord(a, "aggregate")) {
      const w = argv[j + 1];
      if (isWord(w, "sum")) how = "sum";
      else if (isWord(w, "min")) how = "min";
      else if (isWord(w, "max")) how = "max";
      else throw Errors.syntax;
      j += 2;
    } else if (dst === null && !cardinalityOnly && isWord(a, "withscores")) {
      withScores = true;
      j++;
    } else if (cardinalityOnly && remaining >= 2 && isWord(a, "limit")) {
      const v = int64Arg(argv[j + 1], ZErrors.limitNegative);
      if (v < 0) throw ZErrors.limitNegative;
      limit = typeof v === "bigint" ? Number.MAX_SAFE_INTEGER : v;
      j += 2;
    } else throw Errors.syntax;
  }
  // Smallest input first (a stable sort: the order of equal sizes decides float sums).
  if (op !== "diff") srcs.sort((a, b) => sourceSize(a) - sourceSize(b));

  const result = new SortedSetValue();
  result.skiplist = true; // built unconstrained; a store settles the encoding at the end
  let cardinality = 0;
  if (op === "inter") {
    const first = srcs[0];
    if (sourceSize(first) > 0) {
      eachOf(first, (member, s) => {
        let score = first.weight * s;
        if (Number.isNaN(score)) score = 0;
        let i = 1;
        for (; i < srcs.length; i++) {
          const v = scoreIn(srcs[i], member);
          if (v === undefined) break;
          score = aggregate(score, v * srcs[i].weight, how);
        }
        if (i < srcs.length) return;
        if (cardinalityOnly) {
          cardinality++;
          if (limit && cardinality >= limit) return false;
        } else result.set(member, score);
      });
    }
  } else if (op === "union") {
    const acc = new Map<string, number>();
    for (const src of srcs) {
      eachOf(src, (member, s) => {
        let score = src.weight * s;
        if (Number.isNaN(score)) score = 0;
        const cur = acc.get(member);
        acc.set(member, cur === undefined ? score : aggregate(cur, score, how));
      });
    }
    for (const [m, s] of acc) result.set(m, s);
  } else {
    eachOf(srcs[0], (member, s) => {
      for (let i = 1; i < srcs.length; i++) if (scoreIn(srcs[i], member) !== undefined) return;
      result.set(member, s);
    });
  }
  if (cardinalityOnly) return cardinality;
  if (dst !== null) {
    const event = op === "union" ? "zunionstore" : op === "inter" ? "zinterstore" : "zdiffstore";
    return storeResult(db, dst, result, event);
  }
  return nodesReply(result.nodes(), withScores, ctx.client.resp);
}

// ─── ZSCAN ──────────────────────────────────────────────────────────────────────────────────

const ULONG_MAX = 18446744073709551615n;

/** A SCAN cursor as Redis's strtoul check reads it; throws `ERR invalid cursor`. */
function cursorArg(b: Uint8Array): bigint {
  const text = latin1(b);
  if (text.length === 0) return 0n;
  const m = /^([+-]?)(\d+)$/.exec(text);
  if (m === null) throw Errors.invalidCursor;
  const v = BigInt(m[2]);
  if (v > ULONG_MAX) throw Errors.invalidCursor;
  return m[1] === "-" && v !== 0n ? ULONG_MAX + 1n - v : v;
}

// ─── Specs ──────────────────────────────────────────────────────────────────────────────────

const z = familySpec("sortedset", "sorted-set");

const RO = keys.one(1, "RO", "ACCESS");
const LOG_RANGE =
  "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const LOG_REMOVE =
  "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";
const POP_COMPLEXITY =
  "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.";
const INTER_COMPLEXITY =
  "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF_COMPLEXITY =
  "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";

/** The sorted set family's commands. */
export const sortedSetCommands: CommandSpec[] = [
  z(
    "zadd",
    -4,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "UPDATE")],
    "Add one or more members to a sorted set, or update its score if it already exists",
    "1.2.0",
    "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    /** ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...] */
    (ctx, argv) => zaddGeneric(ctx, argv, 0),
  ),
  z(
    "zincrby",
    4,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "ACCESS", "UPDATE")],
    "Increment the score of a member in a sorted set",
    "1.2.0",
    "O(log(N)) where N is the number of elements in the sorted set.",
    /** ZINCRBY key increment member */
    (ctx, argv) => zaddGeneric(ctx, argv, INCR),
  ),
  z(
    "zrem",
    -3,
    ["write", "fast"],
    [keys.one(1, "RW", "DELETE")],
    "Remove one or more members from a sorted set",
    "1.2.0",
    "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
    /** ZREM key member [member ...] */
    (ctx, argv) => {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = findZset(db, key);
      if (e === undefined) return 0;
      const changes = new Changes(db, e, zsetOf(e));
      let removed = 0;
      for (let j = 2; j < argv.length && !changes.z.isEmpty(); j++) {
        if (changes.z.removeBytes(argv[j])) {
          changes.removedArg(argv[j]);
          removed++;
        }
      }
      if (removed === 0) return 0;
      db.notify("z", "zrem", key);
      changes.commit();
      return removed;
    },
  ),
  z(
    "zcard",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Get the number of members in a sorted set",
    "1.2.0",
    "O(1)",
    /** ZCARD key */
    (ctx, argv) => readZset(ctx.db, latin1(argv[1]))?.size ?? 0,
  ),
  z(
    "zscore",
    3,
    ["readonly", "fast"],
    [RO],
    "Get the score associated with the given member in a sorted set",
    "1.2.0",
    "O(1)",
    /** ZSCORE key member */
    (ctx, argv) => {
      const s = readZset(ctx.db, latin1(argv[1]))?.nodeOf(argv[2])?.score;
      return s === undefined ? null : new Double(s);
    },
  ),
  z(
    "zmscore",
    -3,
    ["readonly", "fast"],
    [RO],
    "Get the score associated with the given members in a sorted set",
    "6.2.0",
    "O(N) where N is the number of members being requested.",
    /** ZMSCORE key member [member ...] */
    (ctx, argv) => {
      const zs = readZset(ctx.db, latin1(argv[1]));
      const out: Reply[] = [];
      for (let j = 2; j < argv.length; j++) {
        const s = zs?.nodeOf(argv[j])?.score;
        out.push(s === undefined ? null : new Double(s));
      }
      return out;
    },
  ),
  ...(["zrank", "zrevrank"] as const).map((name) =>
    z(
      name,
      -3,
      ["readonly", "fast"],
      [RO],
      name === "zrank"
        ? "Determine the index of a member in a sorted set"
        : "Determine the index of a member in a sorted set, with scores ordered from high to low",
      "2.0.0",
      "O(log(N))",
      /** ZRANK key member [WITHSCORE] (ZREVRANK alike) */
      (ctx, argv) => {
        if (argv.length > 4) throw wrongArity(name);
        let withScore = false;
        if (argv.length === 4) {
          if (!isWord(argv[3], "withscore")) throw Errors.syntax;
          withScore = true;
        }
        const zs = readZset(ctx.db, latin1(argv[1]));
        const member = latin1(argv[2]);
        const rank = zs === null ? -1 : zs.rank(member, name === "zrevrank");
        if (rank < 0) return withScore ? NULL_ARRAY : null;
        return withScore ? [rank, new Double(zs!.score(member)!)] : rank;
      },
    )
  ),
  z(
    "zcount",
    4,
    ["readonly", "fast"],
    [RO],
    "Count the members in a sorted set with scores within the given values",
    "2.0.0",
    "O(log(N)) with N being the number of elements in the sorted set.",
    /** ZCOUNT key min max */
    (ctx, argv) => {
      const r = parseScoreRange(argv[2], argv[3]);
      return readZset(ctx.db, latin1(argv[1]))?.countScore(r) ?? 0;
    },
  ),
  z(
    "zlexcount",
    4,
    ["readonly", "fast"],
    [RO],
    "Count the number of members in a sorted set between a given lexicographical range",
    "2.8.9",
    "O(log(N)) with N being the number of elements in the sorted set.",
    /** ZLEXCOUNT key min max */
    (ctx, argv) => {
      const r = parseLexRange(argv[2], argv[3]);
      return readZset(ctx.db, latin1(argv[1]))?.countLex(r) ?? 0;
    },
  ),
  z(
    "zrange",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set",
    "1.2.0",
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    /** ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES] */
    (ctx, argv) => zrangeGeneric(ctx, argv, null, null),
  ),
  z(
    "zrangestore",
    -5,
    ["write", "denyoom"],
    [keys.one(1, "OW", "UPDATE"), keys.one(2, "RO", "ACCESS")],
    "Store a range of members from sorted set into another key",
    "6.2.0",
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
    /** ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count] */
    (ctx, argv) => {
      const q = parseRange(argv, 3, null, null, true);
      const src = readZset(ctx.db, latin1(argv[2]));
      const nodes = src === null ? [] : rangeNodes(src, q);
      // Built as Redis 7.0 builds it, element by element in reply order: a skiplist from the
      // start when a rank range is known to pass zset-max-listpack-entries, else a listpack
      // (BYSCORE and BYLEX do not know their size) converted by the insert that passes a limit.
      // A listpack keeps no -0: scores inserted before the conversion lose their sign.
      const limits = ctx.db.keyspace.encodingLimits;
      const out = new SortedSetValue();
      out.skiplist = q.by === "rank" && nodes.length > maxListpackEntries(limits);
      for (const n of nodes) {
        out.growFor(limits, n.member.length);
        out.set(n.member, n.score);
      }
      return storeResult(ctx.db, latin1(argv[1]), out, "zrangestore", false);
    },
  ),
  z(
    "zrevrange",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set, by index, with scores ordered from high to low",
    "1.2.0",
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    /** ZREVRANGE key start stop [WITHSCORES] */
    (ctx, argv) => zrangeGeneric(ctx, argv, "rank", true),
  ),
  z(
    "zrangebyscore",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set, by score",
    "1.0.5",
    LOG_RANGE,
    /** ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count] */
    (ctx, argv) => zrangeGeneric(ctx, argv, "score", false),
  ),
  z(
    "zrevrangebyscore",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set, by score, with scores ordered from high to low",
    "2.2.0",
    LOG_RANGE,
    /** ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count] */
    (ctx, argv) => zrangeGeneric(ctx, argv, "score", true),
  ),
  z(
    "zrangebylex",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set, by lexicographical range",
    "2.8.9",
    LOG_RANGE,
    /** ZRANGEBYLEX key min max [LIMIT offset count] */
    (ctx, argv) => zrangeGeneric(ctx, argv, "lex", false),
  ),
  z(
    "zrevrangebylex",
    -4,
    ["readonly"],
    [RO],
    "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
    "2.8.9",
    LOG_RANGE,
    /** ZREVRANGEBYLEX key max min [LIMIT offset count] */
    (ctx, argv) => zrangeGeneric(ctx, argv, "lex", true),
  ),
  z(
    "zremrangebyrank",
    4,
    ["write"],
    [keys.one(1, "RW", "DELETE")],
    "Remove all members in a sorted set within the given indexes",
    "2.0.0",
    LOG_REMOVE,
    /** ZREMRANGEBYRANK key start stop */
    (ctx, argv) => removeRange(ctx, argv, "rank"),
  ),
  z(
    "zremrangebyscore",
    4,
    ["write"],
    [keys.one(1, "RW", "DELETE")],
    "Remove all members in a sorted set within the given scores",
    "1.2.0",
    LOG_REMOVE,
    /** ZREMRANGEBYSCORE key min max */
    (ctx, argv) => removeRange(ctx, argv, "score"),
  ),
  z(
    "zremrangebylex",
    4,
    ["write"],
    [keys.one(1, "RW", "DELETE")],
    "Remove all members in a sorted set between the given lexicographical range",
    "2.8.9",
    LOG_REMOVE,
    /** ZREMRANGEBYLEX key min max */
    (ctx, argv) => removeRange(ctx, argv, "lex"),
  ),
  z(
    "zpopmin",
    -2,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE")],
    "Remove and return members with the lowest scores in a sorted set",
    "5.0.0",
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    /** ZPOPMIN key [count] */
    (ctx, argv) => zpopGeneric(ctx, argv, false),
  ),
  z(
    "zpopmax",
    -2,
    ["write", "fast"],
    [keys.one(1, "RW", "ACCESS", "DELETE")],
    "Remove and return members with the highest scores in a sorted set",
    "5.0.0",
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    /** ZPOPMAX key [count] */
    (ctx, argv) => zpopGeneric(ctx, argv, true),
  ),
  z(
    "zmpop",
    -4,
    ["write"],
    [keys.counted(1, "RW", "ACCESS", "DELETE")],
    "Remove and return members with scores in a sorted set",
    "7.0.0",
    POP_COMPLEXITY,
    /** ZMPOP numkeys key [key ...] MIN | MAX [COUNT count] */
    (ctx, argv) => {
      const o = parseMpop(argv, 1);
      return zpopFirst(ctx.db, o.keys, o.max, o.count, false) ?? NULL_ARRAY;
    },
  ),
  z(
    "bzpopmin",
    -3,
    ["write", "noscript", "blocking", "fast"],
    [keys.range(1, -2, 1, "RW", "ACCESS", "DELETE")],
    "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
    "5.0.0",
    "O(log(N)) with N being the number of elements in the sorted set.",
    /** BZPOPMIN key [key ...] timeout */
    (ctx, argv) => blockingZpop(ctx, argv, false),
  ),
  z(
    "bzpopmax",
    -3,
    ["write", "noscript", "blocking", "fast"],
    [keys.range(1, -2, 1, "RW", "ACCESS", "DELETE")],
    "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
    "5.0.0",
    "O(log(N)) with N being the number of elements in the sorted set.",
    /** BZPOPMAX key [key ...] timeout */
    (ctx, argv) => blockingZpop(ctx, argv, true),
  ),
  z(
    "bzmpop",
    -5,
    ["write", "blocking"],
    [keys.counted(2, "RW", "ACCESS", "DELETE")],
    "Remove and return members with scores in a sorted set or block until one is available",
    "7.0.0",
    POP_COMPLEXITY,
    /** BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count] */
    (ctx, argv) => {
      const o = parseMpop(argv, 2);
      const db = ctx.db;
      const deadline = timeoutArg(argv[1], db.keyspace.now);
      return ctx.server.blocking.block(ctx, {
        keys: o.keys,
        deadline,
        attempt: (ready) =>
          zpopFirst(db, ready === null ? o.keys : [ready], o.max, o.count, ready !== null),
        timeoutReply: NULL_ARRAY,
        popsFromKey: true,
      });
    },
  ),
  z(
    "zrandmember",
    -2,
    ["readonly"],
    [RO],
    "Get one or multiple random elements from a sorted set",
    "6.2.0",
    "O(N) where N is the number of elements returned",
    /** ZRANDMEMBER key [count [WITHSCORES]] */
    (ctx, argv) => {
      const key = latin1(argv[1]);
      if (argv.length >= 3) {
        const v = int64Arg(argv[2]);
        if (v === -9223372036854775808n) throw ZErrors.randRange;
        if (argv.length > 4 || (argv.length === 4 && !isWord(argv[3], "withscores"))) {
          throw Errors.syntax;
        }
        const withScores = argv.length === 4;
        if (withScores && (v < -4611686018427387903n || v > 4611686018427387903n)) {
          throw ZErrors.outOfRange;
        }
        return randMembers(ctx, key, Number(v), withScores);
      }
      const zs = readZset(ctx.db, key);
      if (zs === null) return null;
      return zs.random().member;
    },
  ),
  ...([
    ["zunion", "union", "Add multiple sorted sets", "6.2.0"],
    ["zinter", "inter", "Intersect multiple sorted sets", "6.2.0"],
    ["zdiff", "diff", "Subtract multiple sorted sets", "6.2.0"],
  ] as const).map(([name, op, summary, since]) =>
    z(
      name,
      -3,
      ["readonly"],
      [keys.counted(1, "RO", "ACCESS")],
      summary,
      since,
      op === "union"
        ? "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."
        : op === "inter"
        ? INTER_COMPLEXITY
        : DIFF_COMPLEXITY,
      /** ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES] (ZINTER alike; ZDIFF numkeys key [key ...] [WITHSCORES]) */
      (ctx, argv) => setOperation(ctx, argv, 1, op, null, false),
    )
  ),
  ...([
    [
      "zunionstore",
      "union",
      "Add multiple sorted sets and store the resulting sorted set in a new key",
      "2.0.0",
    ],
    [
      "zinterstore",
      "inter",
      "Intersect multiple sorted sets and store the resulting sorted set in a new key",
      "2.0.0",
    ],
    [
      "zdiffstore",
      "diff",
      "Subtract multiple sorted sets and store the resulting sorted set in a new key",
      "6.2.0",
    ],
  ] as const).map(([name, op, summary, since]) =>
    z(
      name,
      -4,
      ["write", "denyoom"],
      [keys.one(1, "OW", "UPDATE"), keys.counted(2, "RO", "ACCESS")],
      summary,
      since,
      op === "union"
        ? "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."
        : op === "inter"
        ? INTER_COMPLEXITY
        : DIFF_COMPLEXITY,
      /** ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] (ZINTERSTORE alike; ZDIFFSTORE destination numkeys key [key ...]) */
      (ctx, argv) => setOperation(ctx, argv, 2, op, latin1(argv[1]), false),
    )
  ),
  z(
    "zintercard",
    -3,
    ["readonly"],
    [keys.counted(1, "RO", "ACCESS")],
    "Intersect multiple sorted sets and return the cardinality of the result",
    "7.0.0",
    "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
    /** ZINTERCARD numkeys key [key ...] [LIMIT limit] */
    (ctx, argv) => setOperation(ctx, argv, 1, "inter", null, true),
  ),
  z(
    "zscan",
    -3,
    ["readonly"],
    [RO],
    "Incrementally iterate sorted sets elements and associated scores",
    "2.8.0",
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    /** ZSCAN key cursor [MATCH pattern] [COUNT count] */
    (ctx, argv) => {
      const cursor = cursorArg(argv[2]);
      const zs = readZset(ctx.db, latin1(argv[1]));
      if (zs === null) return ["0", []];
      let count = 10;
      let pattern: string | null = null;
      for (let j = 3; j < argv.length; j++) {
        const left = argv.length - j;
        if (isWord(argv[j], "count") && left >= 2) {
          count = intArg(argv[++j]);
          if (count < 1) throw Errors.syntax;
        } else if (isWord(argv[j], "match") && left >= 2) {
          const p = latin1(argv[++j]);
          pattern = p === "*" ? null : p;
        } else throw Errors.syntax;
      }
      const c = cursor > BigInt(zs.size) ? zs.size + 1 : Number(cursor);
      const [next, nodes] = zs.scan(c, count);
      // A small set replies the scores as its listpack stores them, a big one as doubles.
      const format = zs.skiplist ? formatDouble : formatStoredScore;
      const items: Reply[] = [];
      for (const n of nodes) {
        if (pattern !== null && !globMatch(pattern, n.member)) continue;
        items.push(n.member, format(n.score));
      }
      return [String(next), items];
    },
  ),
];
