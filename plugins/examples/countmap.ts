/**
 * An example plugin that adds a value type with its own persistence: a counter map (`TYPE`
 * answers `countmap`), a map from fields to 64-bit signed counters.
 *
 * ```
 * CMAP.INCRBY key field increment   → the field's new value (creates key and field at 0)
 * CMAP.GET key field                → the field's value, or nil
 * CMAP.GETALL key                   → map of field → value
 * CMAP.DEL key field [field ...]    → number of fields removed (the key goes with its last one)
 * CMAP.LEN key                      → number of fields
 * ```
 *
 * Persistence: a new map is logged whole (its {@link CountMap.encode} snapshot); later changes
 * are logged as element effects (`set field value`, `del field ...`) that recovery replays
 * through {@link CountMap.apply}; compaction writes each map back as one snapshot. Effects log
 * the resulting value, not the increment, so replaying is exact.
 *
 * @module
 */
import {
  addInt64,
  type DataValue,
  decodeParts,
  defineCommand,
  definePlugin,
  encodeParts,
  Errors,
  int64Arg,
  keys,
  latin1,
  latin1Bytes,
  RespMap,
} from "../mod.ts";

type Int = number | bigint;

function parseCounter(b: Uint8Array): Int {
  const s = latin1(b);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

/** The counter map value. */
export class CountMap implements DataValue {
  readonly type = "countmap";
  readonly fields = new Map<string, Int>();
  private bytes = 0;

  encoding(): string {
    return "raw";
  }

  clone(): CountMap {
    const c = new CountMap();
    for (const [f, v] of this.fields) c.set(f, v);
    return c;
  }

  memoryUsage(): number {
    return 48 + this.bytes;
  }

  isEmpty(): boolean {
    return this.fields.size === 0;
  }

  /** Sets a field; returns the change in memory use. */
  set(field: string, value: Int): number {
    const before = this.bytes;
    if (!this.fields.has(field)) this.bytes += field.length + 24;
    this.fields.set(field, value);
    return this.bytes - before;
  }

  /** Removes a field; returns the change in memory use (0 when it was not there). */
  remove(field: string): number {
    if (!this.fields.delete(field)) return 0;
    this.bytes -= field.length + 24;
    return -(field.length + 24);
  }

  encode(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const [f, v] of this.fields) parts.push(latin1Bytes(f), latin1Bytes(String(v)));
    return encodeParts(parts);
  }

  apply(op: string, args: Uint8Array[]): void {
    if (op === "set") this.set(latin1(args[0]), parseCounter(args[1]));
    else if (op === "del") { for (const a of args) this.remove(latin1(a)); }
    else throw new Error(`countmap: unknown effect '${op}'`);
  }

  /** Rebuilds a map from a snapshot ({@link encode}), or an empty one for null. */
  static decode(snapshot: Uint8Array | null): CountMap {
    const c = new CountMap();
    if (snapshot === null) return c;
    const parts = decodeParts(snapshot);
    for (let i = 0; i + 1 < parts.length; i += 2) {
      c.set(latin1(parts[i]), parseCounter(parts[i + 1]));
    }
    return c;
  }
}

/** The counter map at an entry, or WRONGTYPE. */
function countMapOf(e: { readonly value: unknown }): CountMap {
  if (!(e.value instanceof CountMap)) throw Errors.wrongType;
  return e.value;
}

export default definePlugin({
  name: "countmap",
  version: "1.0.0",
  types: [{ name: "countmap", decode: CountMap.decode }],
  commands: [
    defineCommand({
      name: "cmap.incrby",
      arity: 4,
      flags: ["write", "denyoom", "fast"],
      categories: ["hash"],
      keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
      summary: "Adds increment to a field of a counter map and returns the new value.",
      /** CMAP.INCRBY key field increment */
      handler(ctx, argv) {
        const by = int64Arg(argv[3]);
        const db = ctx.db;
        const key = latin1(argv[1]);
        const field = latin1(argv[2]);
        const e = db.find(key);
        const cm = e === undefined ? new CountMap() : countMapOf(e);
        const next = addInt64(cm.fields.get(field) ?? 0, by);
        if (next === null) throw Errors.overflow;
        const delta = cm.set(field, next);
        // A new map is logged whole; a change to an existing one as an element effect.
        if (e === undefined) db.set(key, cm, 0);
        else db.effect(e, "set", [argv[2], latin1Bytes(String(next))], delta);
        db.notify("d", "cmap.incrby", key);
        return next;
      },
    }),
    defineCommand({
      name: "cmap.get",
      arity: 3,
      flags: ["readonly", "fast"],
      categories: ["hash"],
      keys: [keys.one(1, "RO", "ACCESS")],
      summary: "Returns the value of a field of a counter map.",
      /** CMAP.GET key field */
      handler(ctx, argv) {
        const e = ctx.db.get(latin1(argv[1]));
        if (e === undefined) return null;
        return countMapOf(e).fields.get(latin1(argv[2])) ?? null;
      },
    }),
    defineCommand({
      name: "cmap.getall",
      arity: 2,
      flags: ["readonly"],
      categories: ["hash"],
      keys: [keys.one(1, "RO", "ACCESS")],
      summary: "Returns every field and value of a counter map.",
      complexity: "O(N) where N is the number of fields",
      /** CMAP.GETALL key */
      handler(ctx, argv) {
        const e = ctx.db.get(latin1(argv[1]));
        if (e === undefined) return new RespMap([]);
        const flat: (string | Int)[] = [];
        for (const [f, v] of countMapOf(e).fields) flat.push(f, v);
        return new RespMap(flat);
      },
    }),
    defineCommand({
      name: "cmap.del",
      arity: -3,
      flags: ["write", "fast"],
      categories: ["hash"],
      keys: [keys.one(1, "RW", "DELETE")],
      summary: "Removes fields from a counter map.",
      complexity: "O(N) where N is the number of fields to remove",
      /** CMAP.DEL key field [field ...] */
      handler(ctx, argv) {
        const db = ctx.db;
        const key = latin1(argv[1]);
        const e = db.find(key);
        if (e === undefined) return 0;
        const cm = countMapOf(e);
        const removed: Uint8Array[] = [];
        let delta = 0;
        for (let i = 2; i < argv.length; i++) {
          const d = cm.remove(latin1(argv[i]));
          if (d !== 0) {
            delta += d;
            removed.push(argv[i]);
          }
        }
        if (removed.length === 0) return 0;
        db.notify("d", "cmap.del", key);
        if (cm.isEmpty()) {
          db.delete(key);
          db.notify("g", "del", key);
        } else {
          db.effect(e, "del", removed, delta);
        }
        return removed.length;
      },
    }),
    defineCommand({
      name: "cmap.len",
      arity: 2,
      flags: ["readonly", "fast"],
      categories: ["hash"],
      keys: [keys.one(1, "RO")],
      summary: "Returns the number of fields of a counter map.",
      /** CMAP.LEN key */
      handler(ctx, argv) {
        const e = ctx.db.get(latin1(argv[1]));
        return e === undefined ? 0 : countMapOf(e).fields.size;
      },
    }),
  ],
});
