/**
 * The sorted set value (`TYPE zset`): an order-statistic list ordered by (score, member), plus a
 * member → element table (a {@link MemberTable}, searchable with the request's bytes), so ZADD, ZREM, ZRANK and the start of every range are O(log n) and
 * ZSCORE is O(1). Members are binary (latin1) strings; comparing them with `<` compares bytes,
 * as Redis's `sdscmp` does.
 *
 * The ordered part is a list of sorted blocks of up to 128 elements (scores in their own
 * arrays) with a Fenwick tree over the block sizes: finding a position is a binary search over
 * the blocks' last elements, then a scan of one block's scores (at most 128, in order in
 * memory: cheaper than a binary search's cache misses), and ranks are prefix sums. It gives the
 * skiplist's bounds (O(log n) search and rank, O(log n + m) ranges) with a few contiguous
 * arrays touched per search instead of one pointer chase per skiplist level, which is what
 * dominates in a garbage-collected heap.
 *
 * Encodings as Redis 7.0 names them: `listpack` while the set was never grown past
 * `zset-max-listpack-entries` elements nor given a member longer than `zset-max-listpack-value`
 * bytes, `skiplist` after that, for good (Redis converts back only when a store command builds
 * a new set). The data structure is the same either way; the encoding decides what OBJECT
 * ENCODING answers, that ZSCAN answers a listpack at once, and that a listpack keeps no `-0`
 * (Redis writes the score as text and reads back `0`).
 *
 * Every element also sits in a dense array (removal moves the last one into the hole), which gives
 * O(1) uniform random picks and a ZSCAN cursor with Redis's guarantee: scanning the array from
 * the top down, a member present for the whole scan only ever moves to a lower, unvisited index.
 *
 * Effects ({@link SortedSetValue.apply}): `zadd` score/member pairs (score as 8 bytes, float64
 * little-endian: the resulting score, never an increment), `zrem` members, and `skiplist` for the
 * conversion a command decided by the configured limits.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { BYTES_PER_STEP, PARTS_PER_STEP } from "./codec.ts";
import { MemberTable } from "./member_table.ts";
import { latin1 } from "../bytes.ts";
import { type DataValue, type EncodingLimits, registerValueType } from "./types.ts";

/** Defaults of `zset-max-listpack-entries` and `zset-max-listpack-value`. */
export const DEFAULT_MAX_LISTPACK_ENTRIES = 128;
export const DEFAULT_MAX_LISTPACK_VALUE = 64;

/** `zset-max-listpack-entries` from the encoding limits. */
export function maxListpackEntries(limits: EncodingLimits): number {
  return limits["zset-max-listpack-entries"] ?? DEFAULT_MAX_LISTPACK_ENTRIES;
}

/** `zset-max-listpack-value` from the encoding limits. */
export function maxListpackValue(limits: EncodingLimits): number {
  return limits["zset-max-listpack-value"] ?? DEFAULT_MAX_LISTPACK_VALUE;
}

/**
 * Blocks split past this many elements and merge with a neighbour when the two hold fewer than
 * half of it. 128 rather than 256: a rescore shifts half a block twice (out and in, scores and
 * nodes), and at 100 000 members ZADD -P 16 measured ~10% less CPU per request (2.6 vs 2.9 µs).
 */
const MAX_BLOCK = 128;
const MERGE_BELOW = MAX_BLOCK / 2;
/** Estimated bytes of one element besides its member's characters. */
const NODE_OVERHEAD = 80;
const BASE_SIZE = 96;

/** One element: a member and its score. */
export class ZNode {
  /** The block that holds it. */
  block: Block | null = null;
  /** Position in the dense array. */
  idx = -1;
  constructor(public member: string, public score: number) {}

  /** `[following element or null]` (a neighbour walk; ranges use {@link SortedSetValue.range}). */
  get next(): (ZNode | null)[] {
    return [this.block!.owner.neighbour(this, 1)];
  }

  /** The preceding element, or null. */
  get backward(): ZNode | null {
    return this.block!.owner.neighbour(this, -1);
  }
}

/** A run of consecutive elements: scores apart for cache-friendly searches. */
interface Block {
  readonly owner: SortedSetValue;
  scores: number[];
  nodes: ZNode[];
  /** Position in the block list. */
  index: number;
}

/** A score interval (`zrangespec`): `minex`/`maxex` exclude the bound. */
export interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** A lexicographic bound: a member (inclusive or exclusive), `-` (below all) or `+` (above all). */
export type LexBound = { inf: -1 | 1 } | { value: string; ex: boolean };

/** A lex interval (`zlexrangespec`). */
export interface LexRange {
  min: LexBound;
  max: LexBound;
}

function gteMin(v: number, r: ScoreRange): boolean {
  return r.minex ? v > r.min : v >= r.min;
}
function lteMax(v: number, r: ScoreRange): boolean {
  return r.maxex ? v < r.max : v <= r.max;
}

/** True when no score can be in `r` (Redis's early empty test). */
export function emptyScoreRange(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}

/** `sdscmplex`: compares bounds where `-` is below and `+` above every string. */
function cmpLex(a: LexBound, b: LexBound): number {
  const ai = "inf" in a ? a.inf : 0;
  const bi = "inf" in b ? b.inf : 0;
  if (ai !== 0 || bi !== 0) {
    if (ai === bi) return 0;
    return ai < bi ? -1 : 1;
  }
  const av = (a as { value: string }).value;
  const bv = (b as { value: string }).value;
  return av === bv ? 0 : av < bv ? -1 : 1;
}

/** True when no member can be in `r`. */
export function emptyLexRange(r: LexRange): boolean {
  const c = cmpLex(r.min, r.max);
  return c > 0 || (c === 0 && (exclusive(r.min) || exclusive(r.max)));
}

/** `+` and `-` count as exclusive, as Redis parses them. */
function exclusive(b: LexBound): boolean {
  return "inf" in b || b.ex;
}

function lexGteMin(v: string, b: LexBound): boolean {
  if ("inf" in b) return b.inf < 0;
  return b.ex ? v > b.value : v >= b.value;
}
function lexLteMax(v: string, b: LexBound): boolean {
  if ("inf" in b) return b.inf > 0;
  return b.ex ? v < b.value : v <= b.value;
}

/** True when (s1, m1) orders before (s2, m2). */
function lessThan(s1: number, m1: string, s2: number, m2: string): boolean {
  return s1 < s2 || (s1 === s2 && m1 < m2);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Score bytes are cut from shared slabs: a typed array with a buffer of its own costs several
// times more than a view. A slab lives while any view cut from it does.
const SCORE_SLAB = 256;
let scoreSlab = new Float64Array(SCORE_SLAB);
let scoreSlabPos = 0;

/** A score as the 8 bytes of a `zadd` effect or snapshot (float64, little-endian). */
export function scoreBytes(score: number): Uint8Array {
  if (!LITTLE_ENDIAN) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, score, true);
    return b;
  }
  if (scoreSlabPos === SCORE_SLAB) {
    scoreSlab = new Float64Array(SCORE_SLAB);
    scoreSlabPos = 0;
  }
  scoreSlab[scoreSlabPos] = score;
  return new Uint8Array(scoreSlab.buffer, 8 * scoreSlabPos++, 8);
}

function readScore(b: Uint8Array): number {
  if (b.length !== 8) throw new Error("zset: bad score bytes");
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
}

type LatinBuffer = Buffer & { latin1Slice(start: number, end: number): string };

/** Inserts `v` at `i` (shifting by hand: no garbage, fast for block-sized arrays). */
function insertAt<T>(a: T[], i: number, v: T): void {
  a.push(v);
  for (let k = a.length - 1; k > i; k--) a[k] = a[k - 1];
  a[i] = v;
}

/** Removes the item at `i`. */
function removeAt<T>(a: T[], i: number): void {
  const n = a.length - 1;
  for (let k = i; k < n; k++) a[k] = a[k + 1];
  a.pop();
}

const FLAG_LISTPACK = 0x6c; // "l"
const FLAG_SKIPLIST = 0x73; // "s"

/** Writes one member and its score as two snapshot parts at `off`; returns the offset after. */
function writeNode(out: Uint8Array, view: DataView, off: number, m: string, score: number): number {
  const len = m.length;
  view.setUint32(off, len, true);
  off += 4;
  if (len < 32) {
    for (let i = 0; i < len; i++) out[off + i] = m.charCodeAt(i);
  } else {
    out.set(Buffer.from(m, "latin1"), off);
  }
  off += len;
  view.setUint32(off, 8, true);
  view.setFloat64(off + 4, score, true);
  return off + 12;
}

/** A sorted set. */
export class SortedSetValue implements DataValue {
  readonly type = "zset";
  /** True once the set is skiplist-encoded (it never goes back). */
  skiplist = false;
  private blocks: Block[] = [];
  /** Score and member of each block's last element (the block search keys). */
  private lastScore: number[] = [];
  private lastMember: string[] = [];
  /** Fenwick tree over the block sizes (1-based). */
  private tree: number[] = [0];
  /**
   * Set when blocks were split, merged or added: the tree is rebuilt when a rank is next asked
   * for, so writes that never ask (ZADD, ZREM) neither rebuild it nor keep it up to date.
   */
  private treeStale = false;
  private readonly dict = new MemberTable<ZNode>();
  private readonly dense: ZNode[] = [];
  private chars = 0;

  /** Number of elements. */
  get size(): number {
    return this.dense.length;
  }

  /** The score of `member`, or undefined. */
  score(member: string): number | undefined {
    return this.dict.get(member)?.score;
  }

  /** The element of `member`, or undefined. */
  node(member: string): ZNode | undefined {
    return this.dict.get(member);
  }

  /** {@link node} for a member given as bytes (no string is made). */
  nodeOf(member: Uint8Array): ZNode | undefined {
    return this.dict.getBytes(member);
  }

  /** The length in bytes of the longest member (O(n)). */
  maxMemberLength(): number {
    let max = 0;
    for (const n of this.dense) if (n.member.length > max) max = n.member.length;
    return max;
  }

  /**
   * Sets `member`'s score, inserting it when new; returns the score stored (in listpack
   * encoding `-0` is stored as `0`, as Redis's listpack does).
   */
  set(member: string, score: number): number {
    const n = this.dict.get(member);
    return n === undefined ? this.insert(member, score) : this.rescore(n, score);
  }

  /**
   * Inserts `member`, which the last lookup of this set ({@link node}, {@link nodeOf}) did not
   * find; returns the score stored (as {@link set}).
   */
  insert(member: string, score: number): number {
    if (score === 0 && !this.skiplist) score = 0; // drops the sign of -0
    const node = new ZNode(member, score);
    this.dict.insertMissing(member, node);
    this.link(node);
    node.idx = this.dense.length;
    this.dense.push(node);
    this.chars += member.length;
    return score;
  }

  /** Changes the score of an element of this set; returns the score stored (as {@link set}). */
  rescore(n: ZNode, score: number): number {
    if (score === 0 && !this.skiplist) score = 0;
    if (!Object.is(n.score, score)) {
      this.unlinkNode(n);
      n.score = score;
      this.link(n);
    }
    return score;
  }

  /** Removes `member`; false when it was not there. */
  remove(member: string): boolean {
    const n = this.dict.get(member);
    if (n === undefined) return false;
    this.deleteNode(n);
    return true;
  }

  /** {@link remove} for a member given as bytes. */
  removeBytes(member: Uint8Array): boolean {
    const n = this.dict.getBytes(member);
    if (n === undefined) return false;
    this.deleteNode(n);
    return true;
  }

  /**
   * Called before inserting a new member of `memberLength` bytes: converts the set to skiplist
   * when the insert would pass the limits, as Redis's zsetAdd converts before inserting. True
   * when it converted (the command logs the conversion before the insert).
   */
  growFor(limits: EncodingLimits, memberLength: number): boolean {
    if (this.skiplist) return false;
    if (this.size + 1 > maxListpackEntries(limits) || memberLength > maxListpackValue(limits)) {
      this.skiplist = true;
      return true;
    }
    return false;
  }

  /**
   * Chooses the encoding of a set a store command built (ZUNIONSTORE, ZRANGESTORE …): listpack
   * when it fits the limits, as Redis's zsetConvertToListpackIfNeeded.
   */
  settleEncoding(limits: EncodingLimits): void {
    this.skiplist = this.size > maxListpackEntries(limits) ||
      this.maxMemberLength() > maxListpackValue(limits);
    if (!this.skiplist) {
      for (const b of this.blocks) {
        for (let j = 0; j < b.nodes.length; j++) {
          if (Object.is(b.scores[j], -0)) b.scores[j] = b.nodes[j].score = 0;
        }
      }
      for (let i = 0; i < this.blocks.length; i++) {
        if (Object.is(this.lastScore[i], -0)) this.lastScore[i] = 0;
      }
    }
  }

  // ─── The ordered list ───────────────────────────────────────────────────────────────────

  /**
   * The first position (block index, offset) whose element is not `below`, for a predicate
   * that holds for a prefix of the order; block index = number of blocks when none.
   */
  private seek(
    belowLast: (i: number) => boolean,
    below: (b: Block, j: number) => boolean,
  ): [number, number] {
    let lo = 0, hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (belowLast(mid)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.blocks.length) return [lo, 0];
    const b = this.blocks[lo];
    let l = 0, h = b.nodes.length;
    while (l < h) {
      const m = (l + h) >>> 1;
      if (below(b, m)) l = m + 1;
      else h = m;
    }
    return [lo, l];
  }

  /** The position where (score, member) is or would go (the hot path: no closures). */
  private locate(score: number, member: string): [number, number] {
    const ls = this.lastScore, lm = this.lastMember;
    let lo = 0, hi = ls.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = ls[mid];
      if (s < score || (s === score && lm[mid] < member)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === ls.length) return [lo, 0];
    const b = this.blocks[lo];
    const sc = b.scores;
    // In the block, scores are scanned in order: a block's scores are a few KB read front to
    // back, where a binary search takes a cache miss per step (~10% of a ZADD's rescore). Equal
    // scores are ordered by member, found by binary search (each step compares a string).
    const n = sc.length;
    let l = 0;
    while (l < n && sc[l] < score) l++;
    if (l < n && sc[l] === score) {
      let h = l + 1;
      while (h < n && sc[h] === score) h++;
      while (l < h) {
        const m = (l + h) >>> 1;
        if (b.nodes[m].member < member) l = m + 1;
        else h = m;
      }
    }
    return [lo, l];
  }

  /** Puts `n` at its place in the order. */
  private link(n: ZNode): void {
    if (this.blocks.length === 0) {
      const b: Block = { owner: this, scores: [n.score], nodes: [n], index: 0 };
      n.block = b;
      this.blocks.push(b);
      this.lastScore.push(n.score);
      this.lastMember.push(n.member);
      this.treeStale = true;
      return;
    }
    let [bi, j] = this.locate(n.score, n.member);
    if (bi === this.blocks.length) { // after everything: append to the last block
      bi--;
      j = this.blocks[bi].nodes.length;
    }
    const b = this.blocks[bi];
    insertAt(b.scores, j, n.score);
    insertAt(b.nodes, j, n);
    n.block = b;
    if (j === b.nodes.length - 1) {
      this.lastScore[bi] = n.score;
      this.lastMember[bi] = n.member;
    }
    this.addToTree(bi, 1);
    if (b.nodes.length > MAX_BLOCK) this.split(bi);
  }

  /** Offset of `n` inside its block. */
  private offsetOf(n: ZNode): number {
    // A scan of the block's node references (a few hundred, in order in memory) beats a binary
    // search that reads scores and member strings: ZRANK ~25% faster, ZADD's rescore ~10%.
    const l = n.block!.nodes.indexOf(n);
    if (l < 0) throw new Error("zset: element not in its block");
    return l;
  }

  /** Takes `n` out of the order (it stays in the map and the dense array). */
  private unlinkNode(n: ZNode): void {
    const b = n.block!;
    const bi = b.index;
    const j = this.offsetOf(n);
    removeAt(b.scores, j);
    removeAt(b.nodes, j);
    n.block = null;
    this.addToTree(bi, -1);
    if (b.nodes.length === 0) {
      this.removeBlock(bi);
      return;
    }
    if (j === b.nodes.length) {
      this.lastScore[bi] = b.scores[j - 1];
      this.lastMember[bi] = b.nodes[j - 1].member;
    }
    if (
      bi + 1 < this.blocks.length && b.nodes.length + this.blocks[bi + 1].nodes.length < MERGE_BELOW
    ) {
      this.merge(bi);
    } else if (bi > 0 && b.nodes.length + this.blocks[bi - 1].nodes.length < MERGE_BELOW) {
      this.merge(bi - 1);
    }
  }

  private deleteNode(n: ZNode): void {
    this.unlinkNode(n);
    this.dict.delete(n.member);
    const last = this.dense.pop()!;
    if (last !== n) {
      this.dense[n.idx] = last;
      last.idx = n.idx;
    }
    n.idx = -1;
    this.chars -= n.member.length;
  }

  /** Splits block `bi` in two halves. */
  private split(bi: number): void {
    const b = this.blocks[bi];
    const half = b.nodes.length >>> 1;
    const nb: Block = {
      owner: this,
      scores: b.scores.splice(half),
      nodes: b.nodes.splice(half),
      index: bi + 1,
    };
    for (const n of nb.nodes) n.block = nb;
    this.blocks.splice(bi + 1, 0, nb);
    this.lastScore.splice(bi, 0, b.scores[half - 1]);
    this.lastMember.splice(bi, 0, b.nodes[half - 1].member);
    this.renumber(bi + 1);
  }

  /** Moves block `bi + 1` into block `bi`. */
  private merge(bi: number): void {
    const b = this.blocks[bi], next = this.blocks[bi + 1];
    for (let j = 0; j < next.nodes.length; j++) {
      b.scores.push(next.scores[j]);
      b.nodes.push(next.nodes[j]);
      next.nodes[j].block = b;
    }
    this.lastScore[bi] = this.lastScore[bi + 1];
    this.lastMember[bi] = this.lastMember[bi + 1];
    this.removeBlock(bi + 1);
  }

  private removeBlock(bi: number): void {
    this.blocks.splice(bi, 1);
    this.lastScore.splice(bi, 1);
    this.lastMember.splice(bi, 1);
    this.renumber(bi);
  }

  private renumber(from: number): void {
    for (let i = from; i < this.blocks.length; i++) this.blocks[i].index = i;
    this.treeStale = true;
  }

  /** The Fenwick tree, rebuilt first if blocks changed since it was built. */
  private freshTree(): number[] {
    if (!this.treeStale) return this.tree;
    this.treeStale = false;
    const n = this.blocks.length;
    const t = new Array<number>(n + 1).fill(0);
    for (let i = 1; i <= n; i++) {
      t[i] += this.blocks[i - 1].nodes.length;
      const up = i + (i & -i);
      if (up <= n) t[up] += t[i];
    }
    this.tree = t;
    return t;
  }

  private addToTree(bi: number, d: number): void {
    if (this.treeStale) return;
    const t = this.tree;
    for (let k = bi + 1; k < t.length; k += k & -k) t[k] += d;
  }

  /** Number of elements in the blocks before block `bi`. */
  private before(bi: number): number {
    const t = this.freshTree();
    let s = 0;
    for (let k = bi; k > 0; k -= k & -k) s += t[k];
    return s;
  }

  /** The (block index, offset) of 0-based rank `r` (in bounds). */
  private at(r: number): [number, number] {
    const t = this.freshTree();
    const n = t.length - 1;
    let pos = 0, rem = r;
    let step = 1;
    while (step * 2 <= n) step *= 2;
    for (; step > 0; step >>>= 1) {
      const nx = pos + step;
      if (nx <= n && t[nx] <= rem) {
        pos = nx;
        rem -= t[nx];
      }
    }
    return [pos, rem];
  }

  /** The element next to `n` in direction `dir` (1 or -1), or null. */
  neighbour(n: ZNode, dir: 1 | -1): ZNode | null {
    const b = n.block!;
    const j = this.offsetOf(n) + dir;
    if (j >= 0 && j < b.nodes.length) return b.nodes[j];
    const other = this.blocks[b.index + dir];
    if (other === undefined) return null;
    return dir > 0 ? other.nodes[0] : other.nodes[other.nodes.length - 1];
  }

  // ─── Queries ────────────────────────────────────────────────────────────────────────────

  /** 0-based rank of `member` (from the highest when `reverse`), or -1. */
  rank(member: string, reverse = false): number {
    const n = this.dict.get(member);
    if (n === undefined) return -1;
    const r = this.before(n.block!.index) + this.offsetOf(n);
    return reverse ? this.size - 1 - r : r;
  }

  /** The element at 0-based rank `r` from the lowest (r within bounds). */
  byRank(r: number): ZNode {
    if (r < 0 || r >= this.size) throw new Error("zset: rank out of range");
    const [bi, j] = this.at(r);
    return this.blocks[bi].nodes[j];
  }

  /**
   * `count` elements from rank `from` (0-based, in bounds), walking up the order, or down it
   * when `reverse` (then `from` is the highest rank taken).
   */
  range(from: number, count: number, reverse = false): ZNode[] {
    const out: ZNode[] = [];
    if (count <= 0 || from < 0 || from >= this.size) return out;
    let [bi, j] = this.at(from);
    const blocks = this.blocks;
    while (out.length < count) {
      const b = blocks[bi];
      out.push(b.nodes[j]);
      if (reverse) {
        if (--j < 0) {
          if (--bi < 0) break;
          j = blocks[bi].nodes.length - 1;
        }
      } else if (++j >= b.nodes.length) {
        if (++bi >= blocks.length) break;
        j = 0;
      }
    }
    return out;
  }

  /** The lowest element, or null. */
  first(): ZNode | null {
    return this.blocks.length ? this.blocks[0].nodes[0] : null;
  }

  /** The highest element, or null. */
  last(): ZNode | null {
    const b = this.blocks[this.blocks.length - 1];
    return b ? b.nodes[b.nodes.length - 1] : null;
  }

  /** The element at a position and its rank; null past the end. */
  private found(bi: number, j: number): [ZNode, number] | null {
    if (bi >= this.blocks.length) return null;
    return [this.blocks[bi].nodes[j], this.before(bi) + j];
  }

  /** The element just before a position and its rank; null before the start. */
  private foundBefore(bi: number, j: number): [ZNode, number] | null {
    if (j === 0) {
      if (bi === 0) return null;
      bi--;
      j = this.blocks[bi].nodes.length;
    }
    return [this.blocks[bi].nodes[j - 1], this.before(bi) + j - 1];
  }

  /** First element with a score in `r` and its rank, or null. */
  firstInScoreRange(r: ScoreRange): [ZNode, number] | null {
    if (emptyScoreRange(r)) return null;
    const ls = this.lastScore;
    const f = this.found(...this.seek((i) => !gteMin(ls[i], r), (b, j) => !gteMin(b.scores[j], r)));
    return f !== null && lteMax(f[0].score, r) ? f : null;
  }

  /** Last element with a score in `r` and its rank, or null. */
  lastInScoreRange(r: ScoreRange): [ZNode, number] | null {
    if (emptyScoreRange(r)) return null;
    const ls = this.lastScore;
    const [bi, j] = this.seek((i) => lteMax(ls[i], r), (b, j) => lteMax(b.scores[j], r));
    const f = this.foundBefore(bi, j);
    return f !== null && gteMin(f[0].score, r) ? f : null;
  }

  /** First element with a member in `r` and its rank, or null. */
  firstInLexRange(r: LexRange): [ZNode, number] | null {
    if (emptyLexRange(r)) return null;
    const lm = this.lastMember;
    const f = this.found(
      ...this.seek((i) => !lexGteMin(lm[i], r.min), (b, j) => !lexGteMin(b.nodes[j].member, r.min)),
    );
    return f !== null && lexLteMax(f[0].member, r.max) ? f : null;
  }

  /** Last element with a member in `r` and its rank, or null. */
  lastInLexRange(r: LexRange): [ZNode, number] | null {
    if (emptyLexRange(r)) return null;
    const lm = this.lastMember;
    const [bi, j] = this.seek(
      (i) => lexLteMax(lm[i], r.max),
      (b, j) => lexLteMax(b.nodes[j].member, r.max),
    );
    const f = this.foundBefore(bi, j);
    return f !== null && lexGteMin(f[0].member, r.min) ? f : null;
  }

  /** Number of elements with a score in `r`. */
  countScore(r: ScoreRange): number {
    const a = this.firstInScoreRange(r);
    if (a === null) return 0;
    return this.lastInScoreRange(r)![1] - a[1] + 1;
  }

  /** Number of elements with a member in `r`, as ZLEXCOUNT counts them. */
  countLex(r: LexRange): number {
    if (this.skiplist) {
      // Redis ranks the first and the last member in range (each found by a search).
      const first = this.firstInLexRange(r);
      const last = first && this.lastInLexRange(r);
      return first === null || last === null ? 0 : last[1] - first[1] + 1;
    }
    return this.lexWalk(r, false, 0, -1).length;
  }

  /**
   * The members a lex range selects, in reply order, as Redis selects them: from the first
   * member in range (`reverse`: the last), skip `offset` members without looking at them, then
   * take members while they stay within the range's far end, at most `limit` (-1: no limit).
   * Lex ranges are meant for members of one score, which are in member order; when scores
   * differ they are not, and this answers what Redis answers. The start is found as Redis finds
   * it: a listpack is scanned from its end, a skiplist searched (where Redis's answer then
   * depends on its nodes' random levels, any start in range is one Redis may give).
   */
  lexWalk(r: LexRange, reverse: boolean, offset: number, limit: number): ZNode[] {
    const out: ZNode[] = [];
    const start = this.lexStart(r, reverse);
    if (start < 0) return out;
    let at = reverse ? start - offset : start + offset;
    const step = reverse ? -1 : 1;
    const inRange = reverse
      ? (m: string) => lexGteMin(m, r.min)
      : (m: string) => lexLteMax(m, r.max);
    while (at >= 0 && at < this.size && limit !== 0) {
      // Members a chunk at a time: a walk usually ends long before the set does.
      const chunk = this.range(at, 64, reverse);
      for (const node of chunk) {
        if (!inRange(node.member) || limit === 0) return out;
        out.push(node);
        if (limit > 0) limit--;
      }
      at += step * chunk.length;
    }
    return out;
  }

  /** The rank a lex walk starts from ({@link lexWalk}), or -1 when nothing is in range. */
  private lexStart(r: LexRange, reverse: boolean): number {
    if (this.skiplist) {
      const f = reverse ? this.lastInLexRange(r) : this.firstInLexRange(r);
      return f === null ? -1 : f[1];
    }
    const n = this.size;
    if (n === 0 || emptyLexRange(r)) return -1;
    const m = this.range(0, n, false).map((node) => node.member);
    // zzlIsInLexRange: the set's ends must reach into the range.
    if (!lexGteMin(m[n - 1], r.min) || !lexLteMax(m[0], r.max)) return -1;
    if (reverse) {
      let i = n - 1;
      while (!lexLteMax(m[i], r.max)) i--;
      return lexGteMin(m[i], r.min) ? i : -1;
    }
    let i = 0;
    while (!lexGteMin(m[i], r.min)) i++;
    return lexLteMax(m[i], r.max) ? i : -1;
  }

  /** Removes the elements of 0-based ranks `start..end` (in bounds); returns them in order. */
  removeRankRange(start: number, end: number): ZNode[] {
    const out = this.range(start, end - start + 1);
    for (const n of out) this.deleteNode(n);
    return out;
  }

  /** Every element in order (lowest first). */
  *nodes(): IterableIterator<ZNode> {
    for (const b of this.blocks) yield* b.nodes.slice();
  }

  /** A uniformly random element (the set must not be empty). */
  random(): ZNode {
    return this.dense[Math.floor(Math.random() * this.dense.length)];
  }

  /** The element at position `i` of the dense array (ZRANDMEMBER, ZSCAN). */
  item(i: number): ZNode {
    return this.dense[i];
  }

  /**
   * One ZSCAN step. A listpack answers everything at once with cursor 0, as Redis does. A
   * skiplist visits `count` positions of the dense array from the top down; the cursor is the
   * number of positions left to visit (0 = start, and 0 again when done).
   */
  scan(cursor: number, count: number): [number, ZNode[]] {
    if (!this.skiplist) return [0, [...this.nodes()]];
    const n = this.dense.length;
    const hi = cursor === 0 || cursor > n ? n : cursor;
    const lo = Math.max(0, hi - count);
    const out: ZNode[] = [];
    for (let i = hi - 1; i >= lo; i--) out.push(this.dense[i]);
    return [lo, out];
  }

  encoding(_limits: EncodingLimits): string {
    return this.skiplist ? "skiplist" : "listpack";
  }

  clone(): SortedSetValue {
    const z = new SortedSetValue();
    z.skiplist = this.skiplist;
    const it = this.nodes();
    z.build(() => {
      const r = it.next();
      return r.done ? null : r.value;
    });
    return z;
  }

  /** Fills an empty set in O(n) from elements already in (score, member) order. */
  private build(next: () => { member: string; score: number } | null): void {
    const fill = MAX_BLOCK * 3 / 4;
    let b: Block | null = null;
    let prev: { score: number; member: string } | null = null;
    for (let e = next(); e !== null; e = next()) {
      if (prev !== null && !lessThan(prev.score, prev.member, e.score, e.member)) {
        throw new Error("zset: snapshot out of order");
      }
      prev = { score: e.score, member: e.member };
      if (b === null || b.nodes.length >= fill) {
        b = { owner: this, scores: [], nodes: [], index: this.blocks.length };
        this.blocks.push(b);
        this.lastScore.push(0);
        this.lastMember.push("");
      }
      const n = new ZNode(e.member, e.score);
      n.block = b;
      b.scores.push(e.score);
      b.nodes.push(n);
      this.lastScore[b.index] = e.score;
      this.lastMember[b.index] = e.member;
      n.idx = this.dense.length;
      this.dense.push(n);
      this.dict.set(e.member, n);
      this.chars += e.member.length;
    }
    this.treeStale = true;
  }

  memoryUsage(): number {
    return BASE_SIZE + this.dense.length * NODE_OVERHEAD + this.chars;
  }

  isEmpty(): boolean {
    return this.dense.length === 0;
  }

  /**
   * Snapshot in the shared parts format (engine/values/codec.ts): an encoding flag (`l` or
   * `s`), then member and 8-byte score per element, in order. Written in one pass.
   */
  encode(): Uint8Array {
    const out = this.snapshotBuffer();
    const view = new DataView(out.buffer);
    let off = 9;
    for (const b of this.blocks) {
      for (const x of b.nodes) off = writeNode(out, view, off, x.member, x.score);
    }
    return out;
  }

  /** {@link encode} in steps; with `copy`, of a copy of the members and scores taken at once. */
  *encodeSteps(copy = false): Generator<void, Uint8Array> {
    const out = this.snapshotBuffer();
    const view = new DataView(out.buffer);
    let off = 9;
    let written = 0;
    let stepStart = off;
    // A step ends after PARTS_PER_STEP members or a megabyte, as the shared codec's steps do.
    const stepDone = () => {
      if (++written % PARTS_PER_STEP !== 0 && off - stepStart < BYTES_PER_STEP) return false;
      stepStart = off;
      return true;
    };
    if (copy) {
      const members: string[] = [], scores: number[] = [];
      for (const b of this.blocks) {
        for (const x of b.nodes) {
          members.push(x.member);
          scores.push(x.score);
        }
      }
      for (let i = 0; i < members.length; i++) {
        off = writeNode(out, view, off, members[i], scores[i]);
        if (stepDone()) yield;
      }
      return out;
    }
    for (const b of this.blocks) {
      for (const x of b.nodes) {
        off = writeNode(out, view, off, x.member, x.score);
        if (stepDone()) yield;
      }
    }
    return out;
  }

  /** The snapshot's buffer with its count and encoding flag written (members go at 9). */
  private snapshotBuffer(): Uint8Array {
    const n = this.dense.length;
    const out = new Uint8Array(4 + 5 + n * 20 + this.chars);
    const view = new DataView(out.buffer);
    view.setUint32(0, 1 + 2 * n, true);
    view.setUint32(4, 1, true);
    out[8] = this.skiplist ? FLAG_SKIPLIST : FLAG_LISTPACK;
    return out;
  }

  /** Rebuilds a sorted set from {@link encode}'s snapshot; an empty set for null. */
  static decode(snapshot: Uint8Array | null): SortedSetValue {
    const z = new SortedSetValue();
    if (snapshot === null) return z;
    const buf = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const parts = view.getUint32(0, true);
    if (parts % 2 !== 1 || view.getUint32(4, true) !== 1) throw new Error("zset: bad snapshot");
    z.skiplist = snapshot[8] === FLAG_SKIPLIST;
    let off = 9;
    let left = (parts - 1) / 2;
    const e = { member: "", score: 0 };
    z.build(() => {
      if (left === 0) return null;
      left--;
      const len = view.getUint32(off, true);
      if (off + 4 + len + 12 > snapshot.length || view.getUint32(off + 4 + len, true) !== 8) {
        throw new RangeError("zset: truncated snapshot");
      }
      e.member = (buf as LatinBuffer).latin1Slice(off + 4, off + 4 + len);
      e.score = view.getFloat64(off + 8 + len, true);
      off += 4 + len + 12;
      return e;
    });
    return z;
  }

  apply(op: string, args: Uint8Array[]): void {
    switch (op) {
      case "zadd":
        if (args.length % 2 !== 0) throw new Error("zset: bad zadd effect");
        for (let i = 0; i < args.length; i += 2) {
          const n = this.nodeOf(args[i + 1]);
          if (n === undefined) this.insert(latin1(args[i + 1]), readScore(args[i]));
          else this.rescore(n, readScore(args[i]));
        }
        return;
      case "zrem":
        for (const a of args) this.removeBytes(a);
        return;
      case "skiplist":
        this.skiplist = true;
        return;
      default:
        throw new Error(`zset: unknown effect '${op}'`);
    }
  }
}

registerValueType("zset", SortedSetValue.decode);
