/**
 * List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM
 * LPOS LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP (through
 * server/blocking.ts), as Redis 7.0's t_list.c.
 *
 * Effects (engine/values/list.ts): pushes log the pushed elements, pops the count popped, LMOVE
 * a pop on the source and a push on the destination, LSET/LINSERT the resolved index, LTRIM the
 * counts removed at each end, LREM its count and element. Stored elements are copies of the
 * request; effect arguments may be views (the effect log encodes them at once).
 *
 * @module
 */
import type { Database, Entry, Key } from "../engine/keyspace.ts";
import {
  effectNumber,
  elementCost,
  LIST_ELEMENT_OVERHEAD,
  ListValue,
} from "../engine/values/list.ts";
import { NULL_ARRAY, OK, type Reply } from "../protocol/reply.ts";
import { blockOnKeysUntilTimeout, timeoutArg } from "../server/blocking.ts";
import { copyBytes, intArg, isWord, latin1 } from "./args.ts";
import { err, Errors, wrongArity } from "./errors.ts";
import { type CommandContext, type CommandSpec, familySpec, keys } from "./spec.ts";

// ---------------------------------------------------------------------------------------------
// Lookups and workers.

const ONE = effectNumber(1);
const outOfRange = err("ERR index out of range");
const mustBePositive = err("ERR value is out of range, must be positive");
const numkeysPositive = err("ERR numkeys should be greater than 0");
const countPositive = err("ERR count should be greater than 0");
const rankZero = err(
  "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... " +
    "or use negative to start from the end of the list",
);
const countNegative = err("ERR COUNT can't be negative");
const maxlenNegative = err("ERR MAXLEN can't be negative");

/** The list held by an entry; throws WRONGTYPE for other types. */
export function listOf(e: Entry): ListValue {
  if (!(e.value instanceof ListValue)) throw Errors.wrongType;
  return e.value;
}

/** The list at `key` for reading (hit/miss stats); null when missing; throws WRONGTYPE. */
function readList(db: Database, key: Key): ListValue | null {
  const e = db.get(key);
  return e === undefined ? null : listOf(e);
}

/** The list entry at `key` for writing; undefined when missing; throws WRONGTYPE. */
function writeList(db: Database, key: Key): Entry | undefined {
  const e = db.find(key);
  if (e !== undefined) listOf(e);
  return e;
}

/** Deletes the list at `e` when it is empty, as Redis deletes empty collections. */
function dropIfEmpty(db: Database, e: Entry): void {
  if (!(e.value as ListValue).isEmpty()) return;
  db.delete(e.key);
  db.notify("g", "del", e.key);
}

/**
 * Pushes `argv[from..]` (copied) to the list at `e`, or to a new list at `key` when `e` is
 * missing.
 */
function push(
  db: Database,
  key: Key,
  e: Entry | undefined,
  argv: Uint8Array[],
  from: number,
  head: boolean,
): number {
  const n = argv.length - from;
  const entry = e ?? db.set(key, new ListValue(n), 0);
  const list = entry.value as ListValue;
  const stored: Uint8Array[] = new Array(n);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const v = copyBytes(argv[from + i]);
    if (head) list.pushHead(v);
    else list.pushTail(v);
    stored[i] = v;
    bytes += elementCost(v);
  }
  db.effect(entry, head ? "lpush" : "rpush", stored, bytes);
  db.notify("l", head ? "lpush" : "rpush", entry.key);
  return list.length;
}

/** Pops up to `count` elements from the list at `e` (non-empty), deleting it when emptied. */
function pop(db: Database, e: Entry, head: boolean, count: number): Uint8Array[] {
  const list = e.value as ListValue;
  const n = Math.min(count, list.length);
  const out: Uint8Array[] = new Array(n);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const v = head ? list.popHead()! : list.popTail()!;
    out[i] = v;
    bytes += elementCost(v);
  }
  popped(db, e, head, n, bytes);
  return out;
}

/** Pops one element from the list at `e` (non-empty), deleting it when emptied. */
function popOne(db: Database, e: Entry, head: boolean): Uint8Array {
  const list = e.value as ListValue;
  const v = head ? list.popHead()! : list.popTail()!;
  popped(db, e, head, 1, elementCost(v));
  return v;
}

/** Logs and signals `n` elements (costing `bytes`) popped from the list at `e`. */
function popped(db: Database, e: Entry, head: boolean, n: number, bytes: number): void {
  db.effect(e, head ? "lpop" : "rpop", [n === 1 ? ONE : effectNumber(n)], -bytes);
  db.notify("l", head ? "lpop" : "rpop", e.key);
  dropIfEmpty(db, e);
}

/**
 * Moves one element from the list at `src` (non-empty) to the list at `dstKey` (`dst`, already
 * checked to be a list, or undefined to create it). The push event goes out before the pop
 * event, for LMOVE and for a woken BLMOVE alike, as in Redis.
 */
function move(
  db: Database,
  src: Entry,
  dstKey: string,
  dst: Entry | undefined,
  fromHead: boolean,
  toHead: boolean,
): Uint8Array {
  const list = src.value as ListValue;
  const v = fromHead ? list.popHead()! : list.popTail()!;
  const popEvent = fromHead ? "lpop" : "rpop";
  db.effect(src, popEvent, [ONE], -elementCost(v));
  const target = dst ?? db.set(dstKey, new ListValue(), 0);
  const dl = target.value as ListValue;
  if (toHead) dl.pushHead(v);
  else dl.pushTail(v);
  db.effect(target, toHead ? "lpush" : "rpush", [v], elementCost(v));
  db.notify("l", toHead ? "lpush" : "rpush", dstKey);
  db.notify("l", popEvent, src.key);
  dropIfEmpty(db, src);
  return v;
}

/** LEFT → true (head), RIGHT → false; anything else is a syntax error. */
function whereArg(b: Uint8Array): boolean {
  if (isWord(b, "left")) return true;
  if (isWord(b, "right")) return false;
  throw Errors.syntax;
}

/** A start/end pair resolved as Redis's LRANGE: null when the range is empty. */
function resolveRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

/** The arguments of LMPOP/BLMPOP after the numkeys at `numkeysIdx`. */
interface MpopArgs {
  keys: string[];
  head: boolean;
  count: number;
}

/** Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` as Redis's lmpopGenericCommand. */
function parseMpop(argv: Uint8Array[], numkeysIdx: number): MpopArgs {
  const numkeys = intArg(argv[numkeysIdx], numkeysPositive);
  if (numkeys < 1) throw numkeysPositive;
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) throw Errors.syntax;
  const head = whereArg(argv[whereIdx]);
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    if (count === -1 && isWord(argv[j], "count") && j + 1 < argv.length) {
      count = intArg(argv[++j], countPositive);
      if (count < 1) throw countPositive;
    } else throw Errors.syntax;
  }
  const keyList: string[] = [];
  for (let j = numkeysIdx + 1; j < whereIdx; j++) keyList.push(latin1(argv[j]));
  return { keys: keyList, head, count: count === -1 ? 1 : count };
}

/**
 * One try of the pop family's blocking commands (and LMPOP): the first non-empty list of `ks`
 * gives `[key, element]` (or `[key, [elements]]` with `count`). On the first try (`woken`
 * false) a key of another type is WRONGTYPE; a woken try leaves the client waiting instead.
 */
function popFirst(
  db: Database,
  ks: readonly string[],
  head: boolean,
  count: number | null,
  woken: boolean,
): Reply | undefined {
  for (const key of ks) {
    const e = woken ? db.peek(key) : db.find(key);
    if (e === undefined) continue;
    if (!(e.value instanceof ListValue)) {
      if (woken) return undefined;
      throw Errors.wrongType;
    }
    if (e.value.isEmpty()) continue;
    if (count === null) return [key, popOne(db, e, head)];
    return [key, pop(db, e, head, count)];
  }
  return undefined;
}

/** BLPOP / BRPOP key [key ...] timeout */
function blockingPop(
  ctx: CommandContext,
  argv: Uint8Array[],
  head: boolean,
): Reply | Promise<Reply> {
  return blockOnKeysUntilTimeout(ctx, argv, (ks, woken) => popFirst(ctx.db, ks, head, null, woken));
}

/** LMOVE's worker: moves one element, or null when the source is missing; WRONGTYPE checks. */
function lmove(db: Database, src: string, dst: string, fromHead: boolean, toHead: boolean): Reply {
  const e = writeList(db, src);
  if (e === undefined) return null;
  const d = writeList(db, dst);
  return move(db, e, dst, d, fromHead, toHead);
}

/** BLMOVE / BRPOPLPUSH: moves at once, or blocks on the source. */
function blockingMove(
  ctx: CommandContext,
  src: string,
  dst: string,
  fromHead: boolean,
  toHead: boolean,
  deadline: number,
): Reply | Promise<Reply> {
  const db = ctx.db;
  return ctx.server.blocking.block(ctx, {
    keys: [src],
    deadline,
    attempt: (ready) => {
      const woken = ready !== null;
      const e = woken ? db.peek(src) : db.find(src);
      if (e === undefined) return undefined;
      if (!(e.value instanceof ListValue)) {
        if (woken) return undefined;
        throw Errors.wrongType;
      }
      if (e.value.isEmpty()) return undefined;
      // A destination of another type is an error on both paths (it unblocks a woken client).
      const d = writeList(db, dst);
      return move(db, e, dst, d, fromHead, toHead);
    },
    timeoutReply: NULL_ARRAY,
    popsFromKey: true,
    // Redis 7.0 answers a null bulk string when it may not block (MULTI).
    noBlockReply: null,
  });
}

// ---------------------------------------------------------------------------------------------
// Specs.

const list = familySpec("list", "list");

const PUSH_COMPLEXITY =
  "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const POP_KEYS = () => [keys.one(1, "RW", "ACCESS", "DELETE")];
const MOVE_KEYS = () => [keys.one(1, "RW", "ACCESS", "DELETE"), keys.one(2, "RW", "INSERT")];

/** LPUSH/RPUSH/LPUSHX/RPUSHX. */
function pushCommand(head: boolean, onlyIfExists: boolean): CommandSpec["handler"] {
  return (ctx, argv) => {
    // By the key's bytes: a string is made only for a new list.
    const e = writeList(ctx.db, argv[1]);
    if (e === undefined && onlyIfExists) return 0;
    return push(ctx.db, argv[1], e, argv, 2, head);
  };
}

/** LPOP/RPOP key [count]. */
function popCommand(head: boolean): CommandSpec["handler"] {
  return (ctx, argv) => {
    if (argv.length > 3) throw wrongArity(ctx.command.fullName);
    const hasCount = argv.length === 3;
    let count = 0;
    if (hasCount) {
      count = intArg(argv[2], mustBePositive);
      if (count < 0) throw mustBePositive;
    }
    const e = writeList(ctx.db, argv[1]);
    if (e === undefined) return hasCount ? NULL_ARRAY : null;
    if (hasCount && count === 0) return [];
    if (!hasCount) return popOne(ctx.db, e, head);
    return pop(ctx.db, e, head, count);
  };
}

/** The list family's commands. */
export const listCommands: CommandSpec[] = [
  list(
    "lpush",
    -3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Prepend one or multiple elements to a list",
    "1.0.0",
    PUSH_COMPLEXITY,
    /** LPUSH key element [element ...] */
    pushCommand(true, false),
  ),
  list(
    "rpush",
    -3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Append one or multiple elements to a list",
    "1.0.0",
    PUSH_COMPLEXITY,
    /** RPUSH key element [element ...] */
    pushCommand(false, false),
  ),
  list(
    "lpushx",
    -3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Prepend an element to a list, only if the list exists",
    "2.2.0",
    PUSH_COMPLEXITY,
    /** LPUSHX key element [element ...] */
    pushCommand(true, true),
  ),
  list(
    "rpushx",
    -3,
    ["write", "denyoom", "fast"],
    [keys.one(1, "RW", "INSERT")],
    "Append an element to a list, only if the list exists",
    "2.2.0",
    PUSH_COMPLEXITY,
    /** RPUSHX key element [element ...] */
    pushCommand(false, true),
  ),
  list(
    "lpop",
    -2,
    ["write", "fast"],
    POP_KEYS(),
    "Remove and get the first elements in a list",
    "1.0.0",
    "O(N) where N is the number of elements returned",
    /** LPOP key [count] */
    popCommand(true),
  ),
  list(
    "rpop",
    -2,
    ["write", "fast"],
    POP_KEYS(),
    "Remove and get the last elements in a list",
    "1.0.0",
    "O(N) where N is the number of elements returned",
    /** RPOP key [count] */
    popCommand(false),
  ),
  list(
    "llen",
    2,
    ["readonly", "fast"],
    [keys.one(1, "RO")],
    "Get the length of a list",
    "1.0.0",
    "O(1)",
    /** LLEN key */
    (ctx, argv) => readList(ctx.db, latin1(argv[1]))?.length ?? 0,
  ),
  list(
    "lrange",
    4,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Get a range of elements from a list",
    "1.0.0",
    "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
    /** LRANGE key start stop */
    (ctx, argv) => {
      const start = intArg(argv[2]);
      const end = intArg(argv[3]);
      const l = readList(ctx.db, latin1(argv[1]));
      if (l === null) return [];
      const r = resolveRange(start, end, l.length);
      return r === null ? [] : l.rangeReply(r[0], r[1]);
    },
  ),
  list(
    "lindex",
    3,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Get an element from a list by its index",
    "1.0.0",
    "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
    /** LINDEX key index */
    (ctx, argv) => {
      const l = readList(ctx.db, latin1(argv[1]));
      if (l === null) return null;
      let i = intArg(argv[2]);
      if (i < 0) i += l.length;
      return i < 0 || i >= l.length ? null : l.at(i);
    },
  ),
  list(
    "lset",
    4,
    ["write", "denyoom"],
    [keys.one(1, "RW", "UPDATE")],
    "Set the value of an element in a list by its index",
    "1.0.0",
    "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
    /** LSET key index element */
    (ctx, argv) => {
      const db = ctx.db;
      const e = writeList(db, latin1(argv[1]));
      if (e === undefined) throw Errors.noSuchKey;
      const l = e.value as ListValue;
      let i = intArg(argv[2]);
      if (i < 0) i += l.length;
      if (i < 0 || i >= l.length) throw outOfRange;
      const v = copyBytes(argv[3]);
      const old = l.set(i, v);
      db.effect(e, "lset", [effectNumber(i), v], v.length - old.length);
      db.notify("l", "lset", e.key);
      return OK;
    },
  ),
  list(
    "linsert",
    5,
    ["write", "denyoom"],
    [keys.one(1, "RW", "INSERT")],
    "Insert an element before or after another element in a list",
    "2.2.0",
    "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
    /** LINSERT key <BEFORE | AFTER> pivot element */
    (ctx, argv) => {
      let after: boolean;
      if (isWord(argv[2], "after")) after = true;
      else if (isWord(argv[2], "before")) after = false;
      else throw Errors.syntax;
      const db = ctx.db;
      const e = writeList(db, latin1(argv[1]));
      if (e === undefined) return 0;
      const l = e.value as ListValue;
      const at = l.indexOf(argv[3]);
      if (at < 0) return -1;
      const v = copyBytes(argv[4]);
      const i = after ? at + 1 : at;
      l.insertAt(i, v);
      db.effect(e, "linsert", [effectNumber(i), v], elementCost(v));
      db.notify("l", "linsert", e.key);
      return l.length;
    },
  ),
  list(
    "lrem",
    4,
    ["write"],
    [keys.one(1, "RW", "DELETE")],
    "Remove elements from a list",
    "1.0.0",
    "O(N+M) where N is the length of the list and M is the number of elements removed.",
    /** LREM key count element */
    (ctx, argv) => {
      const count = intArg(argv[2]);
      const db = ctx.db;
      const e = writeList(db, latin1(argv[1]));
      if (e === undefined) return 0;
      const { removed, bytes } = (e.value as ListValue).removeEqual(count, argv[3]);
      if (removed > 0) {
        db.effect(
          e,
          "lrem",
          [effectNumber(count), argv[3]],
          -(bytes + removed * LIST_ELEMENT_OVERHEAD),
        );
        db.notify("l", "lrem", e.key);
      }
      dropIfEmpty(db, e);
      return removed;
    },
  ),
  list(
    "ltrim",
    4,
    ["write"],
    [keys.one(1, "RW", "DELETE")],
    "Trim a list to the specified range",
    "1.0.0",
    "O(N) where N is the number of elements to be removed by the operation.",
    /** LTRIM key start stop */
    (ctx, argv) => {
      const start = intArg(argv[2]);
      const end = intArg(argv[3]);
      const db = ctx.db;
      const e = writeList(db, latin1(argv[1]));
      if (e === undefined) return OK;
      const l = e.value as ListValue;
      const len = l.length;
      const r = resolveRange(start, end, len);
      const left = r === null ? len : r[0];
      const right = r === null ? 0 : len - r[1] - 1;
      const n = left + right;
      const bytes = l.trim(left, right);
      const args = [effectNumber(left), effectNumber(right)];
      db.effect(e, "ltrim", args, -(bytes + n * LIST_ELEMENT_OVERHEAD));
      db.notify("l", "ltrim", e.key);
      dropIfEmpty(db, e);
      return OK;
    },
  ),
  list(
    "lpos",
    -3,
    ["readonly"],
    [keys.one(1, "RO", "ACCESS")],
    "Return the index of matching elements on a list",
    "6.0.6",
    "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
    /** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
    (ctx, argv) => {
      let rank = 1;
      // RANK -2^63 cannot be negated in C: Redis then returns every match from the tail.
      let rankMin = false;
      let count = -1;
      let maxlen = 0;
      for (let j = 3; j < argv.length; j++) {
        const more = j + 1 < argv.length;
        if (more && isWord(argv[j], "rank")) {
          const v = intArg(argv[++j]);
          if (v === 0) throw rankZero;
          rank = v;
          rankMin = v === Number.MIN_SAFE_INTEGER && latin1(argv[j]) === "-9223372036854775808";
        } else if (more && isWord(argv[j], "count")) {
          count = intArg(argv[++j], countNegative);
          if (count < 0) throw countNegative;
        } else if (more && isWord(argv[j], "maxlen")) {
          maxlen = intArg(argv[++j], maxlenNegative);
          if (maxlen < 0) throw maxlenNegative;
        } else throw Errors.syntax;
      }
      const fromTail = rank < 0;
      if (fromTail) rank = -rank;
      const l = readList(ctx.db, latin1(argv[1]));
      if (l === null) return count !== -1 ? [] : null;
      const ele = argv[2];
      const len = l.length;
      const limit = maxlen === 0 ? len : Math.min(maxlen, len);
      const found: number[] = [];
      let matches = 0;
      for (let index = 0; index < limit; index++) {
        const pos = fromTail ? len - index - 1 : index;
        if (!l.equalsAt(pos, ele)) continue;
        matches++;
        if (!rankMin && matches < rank) continue;
        found.push(pos);
        if (count === -1) break;
        if (count !== 0 && !rankMin && matches - rank + 1 >= count) break;
      }
      if (count !== -1) return found;
      return found.length > 0 ? found[0] : null;
    },
  ),
  list(
    "lmove",
    5,
    ["write", "denyoom"],
    MOVE_KEYS(),
    "Pop an element from a list, push it to another list and return it",
    "6.2.0",
    "O(1)",
    /** LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> */
    (ctx, argv) => {
      const fromHead = whereArg(argv[3]);
      const toHead = whereArg(argv[4]);
      return lmove(ctx.db, latin1(argv[1]), latin1(argv[2]), fromHead, toHead);
    },
  ),
  list(
    "rpoplpush",
    3,
    ["write", "denyoom"],
    MOVE_KEYS(),
    "Remove the last element in a list, prepend it to another list and return it",
    "1.2.0",
    "O(1)",
    /** RPOPLPUSH source destination */
    (ctx, argv) => lmove(ctx.db, latin1(argv[1]), latin1(argv[2]), false, true),
  ),
  list(
    "lmpop",
    -4,
    ["write"],
    [keys.counted(1, "RW", "ACCESS", "DELETE")],
    "Pop elements from a list",
    "7.0.0",
    "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
    /** LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
    (ctx, argv) => {
      const o = parseMpop(argv, 1);
      return popFirst(ctx.db, o.keys, o.head, o.count, false) ?? NULL_ARRAY;
    },
  ),
  list(
    "blpop",
    -3,
    ["write", "noscript", "blocking"],
    [keys.range(1, -2, 1, "RW", "ACCESS", "DELETE")],
    "Remove and get the first element in a list, or block until one is available",
    "2.0.0",
    "O(N) where N is the number of provided keys.",
    /** BLPOP key [key ...] timeout */
    (ctx, argv) => blockingPop(ctx, argv, true),
  ),
  list(
    "brpop",
    -3,
    ["write", "noscript", "blocking"],
    [keys.range(1, -2, 1, "RW", "ACCESS", "DELETE")],
    "Remove and get the last element in a list, or block until one is available",
    "2.0.0",
    "O(N) where N is the number of provided keys.",
    /** BRPOP key [key ...] timeout */
    (ctx, argv) => blockingPop(ctx, argv, false),
  ),
  list(
    "blmove",
    6,
    ["write", "denyoom", "noscript", "blocking"],
    MOVE_KEYS(),
    "Pop an element from a list, push it to another list and return it; or block until one is available",
    "6.2.0",
    "O(1)",
    /** BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout */
    (ctx, argv) => {
      const fromHead = whereArg(argv[3]);
      const toHead = whereArg(argv[4]);
      const deadline = timeoutArg(argv[5], ctx.db.keyspace.now);
      return blockingMove(ctx, latin1(argv[1]), latin1(argv[2]), fromHead, toHead, deadline);
    },
  ),
  list(
    "brpoplpush",
    4,
    ["write", "denyoom", "noscript", "blocking"],
    MOVE_KEYS(),
    "Pop an element from a list, push it to another list and return it; or block until one is available",
    "2.2.0",
    "O(1)",
    /** BRPOPLPUSH source destination timeout */
    (ctx, argv) => {
      const deadline = timeoutArg(argv[3], ctx.db.keyspace.now);
      return blockingMove(ctx, latin1(argv[1]), latin1(argv[2]), false, true, deadline);
    },
  ),
  list(
    "blmpop",
    -5,
    ["write", "blocking"],
    [keys.counted(2, "RW", "ACCESS", "DELETE")],
    "Pop elements from a list, or block until one is available",
    "7.0.0",
    "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
    /** BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
    (ctx, argv) => {
      const o = parseMpop(argv, 2);
      const db = ctx.db;
      const deadline = timeoutArg(argv[1], db.keyspace.now);
      return ctx.server.blocking.block(ctx, {
        keys: o.keys,
        deadline,
        attempt: (ready) =>
          popFirst(db, ready === null ? o.keys : [ready], o.head, o.count, ready !== null),
        timeoutReply: NULL_ARRAY,
        popsFromKey: true,
      });
    },
  ),
];
