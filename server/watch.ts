/**
 * WATCH: which clients watch which keys, and marking them when a watched key changes. Every
 * change goes through the keyspace's `modified` signal — writes by any client, expiry, eviction
 * of the key, FLUSHDB/FLUSHALL/SWAPDB — so a key written back with the same value still counts.
 *
 * @module
 */
import type { Keyspace, KeyspaceListener } from "../engine/keyspace.ts";
import type { Client } from "./client.ts";

function id(db: number, key: string): string {
  return `${db}|${key}`;
}

/** The watched keys of every client. */
export class WatchRegistry implements KeyspaceListener {
  private readonly watchers = new Map<string, Set<Client>>();

  constructor(private readonly keyspace: Keyspace) {
    keyspace.listen(this);
  }

  /** Number of keys watched by anyone. */
  get size(): number {
    return this.watchers.size;
  }

  /**
   * `client` watches `key` in `db`; `expired` when the key's TTL has passed but it is not
   * reclaimed yet (its reclaiming later is then no change).
   */
  watch(client: Client, db: number, key: string, expired: boolean): void {
    const k = id(db, key);
    if (client.watched.has(k)) return;
    client.watched.set(k, expired);
    let set = this.watchers.get(k);
    if (!set) this.watchers.set(k, set = new Set());
    set.add(client);
  }

  /** Forgets every key `client` watches (UNWATCH, EXEC, DISCARD, RESET, disconnect). */
  unwatchAll(client: Client): void {
    for (const k of client.watched.keys()) {
      const set = this.watchers.get(k);
      set?.delete(client);
      if (set?.size === 0) this.watchers.delete(k);
    }
    client.watched.clear();
    client.watchDirty = false;
  }

  modified(db: number, key: string | null, swappedWith?: number): void {
    if (this.watchers.size === 0) return;
    if (key !== null) {
      const k = id(db, key);
      const set = this.watchers.get(k);
      if (!set) return;
      const expiring = this.keyspace.expiring;
      for (const c of set) {
        // A key already expired when watched, now reclaimed: logically no change.
        if (expiring && c.watched.get(k) === true) c.watched.set(k, false);
        else c.watchDirty = true;
      }
      return;
    }
    // A flush or swap of `db` is about to happen: watched keys that exist there now change, and
    // with a swap, so do those the other database brings in (as Redis's
    // touchAllWatchedKeysInDb).
    const dbs = this.keyspace.dbs;
    const prefix = `${db}|`;
    for (const [k, set] of this.watchers) {
      if (!k.startsWith(prefix)) continue;
      const name = k.slice(prefix.length);
      if (dbs[db].exists(name) || (swappedWith !== undefined && dbs[swappedWith].exists(name))) {
        for (const c of set) c.watchDirty = true;
      }
    }
  }
}
