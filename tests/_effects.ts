/**
 * A recording effect log for the persistence-contract tests: it sees every effect a command
 * logs, so a test can replay them into fresh values and compare those with the live ones, or
 * check that a command logs element-level effects rather than whole values.
 *
 * @module
 */
import type { EffectLog } from "../engine/effects.ts";
import type { Entry } from "../engine/keyspace.ts";
import { type DataValue, valueDecoder } from "../engine/values/types.ts";
import type { Server } from "../server/server.ts";

/** One effect as the log was given it (bytes copied, since the server may reuse its buffers). */
export interface RecordedEffect {
  /** "put", "delete", "flush", or the name of an element-level op ("lpush", "sadd" …). */
  kind: string;
  db: number;
  key: string;
  /** The value type of a collection put or an op; absent for a string put. */
  type?: string;
  /** A put's encoded value, or an op's arguments. */
  data?: Uint8Array[];
}

const WHOLE_KEY_KINDS = new Set(["put", "delete", "flush"]);

/** An effect log that records every effect and forwards it to the log it wraps. */
export class RecordingLog implements EffectLog {
  readonly records: RecordedEffect[] = [];
  constructor(readonly inner: EffectLog) {}

  /** Wraps `server`'s effect log with a recording one; {@link uninstall} puts it back. */
  static install(server: Server): RecordingLog {
    const log = new RecordingLog(server.keyspace.log);
    server.keyspace.log = log;
    return log;
  }

  /** Gives `server` back the log this one wraps. */
  uninstall(server: Server): void {
    server.keyspace.log = this.inner;
  }

  /** How many element-level op effects were recorded. */
  get opCount(): number {
    return this.records.filter((r) => !WHOLE_KEY_KINDS.has(r.kind)).length;
  }

  put(db: number, e: Entry): void {
    const v = e.value;
    this.records.push(
      v instanceof Uint8Array
        ? { kind: "put", db, key: e.key, data: [new Uint8Array(v)] }
        : { kind: "put", db, key: e.key, type: v.type, data: [v.encode()] },
    );
    this.inner.put(db, e);
  }
  delete(db: number, e: Entry, expired?: boolean): void {
    this.records.push({ kind: "delete", db, key: e.key });
    this.inner.delete(db, e, expired);
  }
  op(db: number, e: Entry, op: string, args: Uint8Array[]): void {
    const type = (e.value as DataValue).type;
    this.records.push({ kind: op, db, key: e.key, type, data: args.map((a) => new Uint8Array(a)) });
    this.inner.op(db, e, op, args);
  }
  append(db: number, e: Entry, added: Uint8Array): void {
    this.records.push({ kind: "append", db, key: e.key, data: [new Uint8Array(added)] });
    if (this.inner.append) this.inner.append(db, e, added);
    else this.inner.put(db, e);
  }
  expire(db: number, e: Entry): void {
    this.inner.expire(db, e);
  }
  flush(db: number): void {
    this.records.push({ kind: "flush", db, key: "" });
    this.inner.flush(db);
  }
  swap(a: number, b: number): void {
    this.inner.swap(a, b);
  }
  begin(): void {
    this.inner.begin?.();
  }
  end(): void {
    this.inner.end?.();
  }
  barrier(since?: number): Promise<void> | null {
    return this.inner.barrier?.(since) ?? null;
  }

  /**
   * Replays the records of database `db` into fresh values, key → value. With `dropEmptied`, a
   * collection an op leaves empty is gone, as recovery does; without it, only a logged delete
   * removes a key (so a test sees whether the server logs that delete).
   */
  replay(db = 0, { dropEmptied }: { dropEmptied: boolean }): Map<string, DataValue | Uint8Array> {
    const out = new Map<string, DataValue | Uint8Array>();
    for (const r of this.records) {
      if (r.kind === "flush") {
        if (r.db === -1 || r.db === db) out.clear();
        continue;
      }
      if (r.db !== db) continue;
      if (r.kind === "delete") out.delete(r.key);
      else if (r.kind === "put") {
        out.set(r.key, r.type === undefined ? r.data![0] : valueDecoder(r.type)!(r.data![0]));
      } else {
        let v = out.get(r.key);
        if (v === undefined || v instanceof Uint8Array) {
          v = valueDecoder(r.type!)!(null);
          out.set(r.key, v);
        }
        v.apply(r.kind, r.data!);
        if (dropEmptied && v.isEmpty()) out.delete(r.key);
      }
    }
    return out;
  }
}
