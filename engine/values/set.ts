/**
 * The set value (`TYPE set`), with Redis 7.0's two encodings: `intset` while every member is a
 * canonical int64 (as `string2ll` reads it) and the size is within `set-max-intset-entries`, and
 * `hashtable` after that, for good (Redis converts back only when SPOP rebuilds the set).
 *
 * Members are binary (latin1) strings held in a dense array with a member → index table (a
 * {@link MemberTable}, searchable with the request's bytes), so that membership, insertion,
 * removal and random picks are O(1). Removal moves the last member into
 * the hole, which never moves a member to a higher index: scanning the array from the top down
 * (the SSCAN cursor is the number of positions still to visit) therefore returns every member
 * present for the whole scan, which is Redis's SCAN guarantee.
 *
 * Replies list an intset's members in ascending numeric order, as Redis's intset does; a
 * hashtable's order is unspecified (here: the dense array's).
 *
 * Effects (what {@link SetValue.apply} replays): `sadd` members, `srem` members, and
 * `encoding hashtable|intset` for a conversion the command decided by the configured limit.
 *
 * @module
 */
import { encodePartsInSteps, encodeView, PartsReader, type PartsView } from "./codec.ts";
import { MemberTable } from "./member_table.ts";
import { latin1, latin1Reader } from "../bytes.ts";
import { type DataValue, type EncodingLimits, registerValueType } from "./types.ts";

/** Default of `set-max-intset-entries`. */
export const DEFAULT_MAX_INTSET_ENTRIES = 512;

/** Estimated bytes of one member besides its characters (map entry, array slot, string). */
const MEMBER_OVERHEAD = 48;
const BASE_SIZE = 64;

/** The `set-max-intset-entries` limit from the encoding limits. */
export function maxIntsetEntries(limits: EncodingLimits): number {
  return limits["set-max-intset-entries"] ?? DEFAULT_MAX_INTSET_ENTRIES;
}

/**
 * True when the binary string is a canonical int64 (Redis's `string2ll`: optional `-`, no
 * leading zeros, no `+`, no spaces, no `-0`, within range): what an intset can hold.
 *
 * @example
 * ```ts
 * import { isIntMember } from "./set.ts";
 * console.assert(isIntMember("-42") && !isIntMember("042") && !isIntMember("-0"));
 * ```
 */
export function isIntMember(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 20) return false;
  let i = 0;
  const negative = s.charCodeAt(0) === 45;
  if (negative) {
    if (n === 1) return false;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48) return n === 1;
  if (first < 49 || first > 57) return false;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  const digits = n - i;
  if (digits < 19) return true;
  if (digits > 19) return false;
  const digitsText = negative ? s.slice(1) : s;
  return digitsText <= (negative ? "9223372036854775808" : "9223372036854775807");
}

/** Orders two canonical integer strings numerically (intset order) without parsing them. */
export function compareIntMembers(a: string, b: string): number {
  const an = a.charCodeAt(0) === 45;
  const bn = b.charCodeAt(0) === 45;
  if (an !== bn) return an ? -1 : 1;
  if (a.length !== b.length) return (a.length < b.length) !== an ? -1 : 1;
  if (a === b) return 0;
  return (a < b) !== an ? -1 : 1;
}

const FLAG_INTSET = 0x69; // "i"
const FLAG_HASHTABLE = 0x68; // "h"

/** A set of binary strings. */
export class SetValue implements DataValue {
  readonly type = "set";
  /** True while the set is intset-encoded. */
  intset = true;
  private dense: string[] = [];
  private index = new MemberTable<number>();
  private chars = 0;
  /** An intset's members in ascending order, rebuilt after a change. */
  private sorted: string[] | null = null;

  /**
   * A new set holding `members` with the encoding Redis gives a freshly built set (SINTERSTORE,
   * SUNION, SPOP's rebuild): intset when every member is an integer and there are at most
   * `maxIntset` of them.
   */
  static build(members: Iterable<string>, maxIntset: number): SetValue {
    const s = new SetValue();
    for (const m of members) s.add(m);
    if (s.intset && s.size > maxIntset) s.intset = false;
    return s;
  }

  /** Number of members. */
  get size(): number {
    return this.dense.length;
  }

  has(member: string): boolean {
    return this.index.has(member);
  }

  /** {@link has} for a member given as bytes (no string is made). */
  hasBytes(member: Uint8Array): boolean {
    return this.index.getBytes(member) !== undefined;
  }

  /** Adds a member; false when it was already there. A non-integer member ends the intset. */
  add(member: string): boolean {
    if (!this.index.add(member, this.dense.length)) return false;
    this.added(member);
    return true;
  }

  /** {@link add} for a member given as bytes: its string is made only when it is new. */
  addBytes(member: Uint8Array): boolean {
    if (this.index.getBytes(member) !== undefined) return false;
    this.added(this.index.insertMissing(latin1(member), this.dense.length));
    return true;
  }

  private added(member: string): void {
    if (this.intset && !isIntMember(member)) this.intset = false;
    this.dense.push(member);
    this.chars += member.length;
    this.sorted = null;
  }

  /** Removes a member; false when it was not there. */
  remove(member: string): boolean {
    const i = this.index.delete(member);
    if (i === undefined) return false;
    const last = this.dense.pop()!;
    if (last !== member) {
      this.dense[i] = last;
      this.index.set(last, i);
    }
    this.chars -= member.length;
    this.sorted = null;
    return true;
  }

  /** A uniformly random member; undefined when empty. */
  random(): string | undefined {
    const n = this.dense.length;
    return n === 0 ? undefined : this.dense[Math.floor(Math.random() * n)];
  }

  /**
   * `count` distinct random members (count < size), in random order: a partial shuffle of a
   * copy when the sample is a large part of the set, rejection sampling otherwise.
   */
  sample(count: number): string[] {
    const n = this.dense.length;
    if (count * 3 > n) {
      const copy = this.dense.slice();
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(Math.random() * (n - i));
        const t = copy[i];
        copy[i] = copy[j];
        copy[j] = t;
      }
      copy.length = count;
      return copy;
    }
    const picked = new Set<string>();
    while (picked.size < count) picked.add(this.dense[Math.floor(Math.random() * n)]);
    return [...picked];
  }

  /**
   * The members in reply order (ascending numbers for an intset). The array is the set's own:
   * do not change it, and do not keep it across changes to the set.
   */
  members(): readonly string[] {
    if (!this.intset) return this.dense;
    if (this.sorted === null) this.sorted = this.dense.slice().sort(compareIntMembers);
    return this.sorted;
  }

  /**
   * One SSCAN step. An intset answers everything at once with cursor 0 (as Redis does). A
   * hashtable visits `count` positions of the dense array from the top down; the cursor is the
   * number of positions left to visit (0 = start, and 0 again when done).
   */
  scan(cursor: number, count: number): [number, readonly string[]] {
    if (this.intset) return [0, this.members()];
    const n = this.dense.length;
    const hi = cursor === 0 || cursor > n ? n : cursor;
    const lo = Math.max(0, hi - count);
    const out: string[] = [];
    for (let i = hi - 1; i >= lo; i--) out.push(this.dense[i]);
    return [lo, out];
  }

  encoding(_limits: EncodingLimits): string {
    return this.intset ? "intset" : "hashtable";
  }

  clone(): SetValue {
    const s = new SetValue();
    s.intset = this.intset;
    s.dense = this.dense.slice();
    s.index = this.index.clone();
    s.chars = this.chars;
    return s;
  }

  memoryUsage(): number {
    return BASE_SIZE + this.dense.length * MEMBER_OVERHEAD + this.chars;
  }

  isEmpty(): boolean {
    return this.dense.length === 0;
  }

  /** Snapshot: an encoding flag (`i` or `h`) followed by the members. */
  encode(): Uint8Array {
    return encodeView(this.parts(false));
  }

  encodeSteps(copy = false): Generator<void, Uint8Array> {
    return encodePartsInSteps(this.parts(copy));
  }

  /** The snapshot's parts: the encoding flag, then the members (a copy of their list if asked). */
  private parts(copy: boolean): PartsView {
    const flag = Uint8Array.of(this.intset ? FLAG_INTSET : FLAG_HASHTABLE);
    const members = copy ? this.members().slice() : this.members();
    return { count: 1 + members.length, partAt: (i) => i === 0 ? flag : members[i - 1] };
  }

  /** Rebuilds a set from {@link encode}'s snapshot; an empty set for null. */
  static decode(snapshot: Uint8Array | null): SetValue {
    const s = new SetValue();
    if (snapshot === null) return s;
    const r = new PartsReader(snapshot);
    if (!r.next()) return s;
    const hashtable = r.end > r.start && snapshot[r.start] === FLAG_HASHTABLE;
    s.index.reserve(r.count - 1);
    const text = latin1Reader(snapshot);
    while (r.next()) s.add(text(r.start, r.end));
    if (hashtable) s.intset = false;
    return s;
  }

  apply(op: string, args: Uint8Array[]): void {
    switch (op) {
      case "sadd":
        for (const a of args) this.addBytes(a);
        return;
      case "srem":
        for (const a of args) this.remove(latin1(a));
        return;
      case "encoding": {
        const name = latin1(args[0]);
        if (name === "hashtable") this.intset = false;
        else if (name === "intset" && this.dense.every(isIntMember)) this.intset = true;
        else throw new Error(`set: bad encoding effect '${name}'`);
        this.sorted = null;
        return;
      }
      default:
        throw new Error(`set: unknown effect '${op}'`);
    }
  }
}

registerValueType("set", SetValue.decode);
