/**
 * Client-side caching (CLIENT TRACKING): remembers which clients read which keys, and sends
 * them an invalidation when a key changes — as a RESP3 `invalidate` push, or, for RESP2 clients
 * that redirect to a subscribed connection, as a message on `__redis__:invalidate`. BCAST
 * clients get invalidations for every key under their prefixes without being remembered.
 *
 * @module
 */
import type { Keyspace, KeyspaceListener } from "../engine/keyspace.ts";
import { type Command, findKeys } from "../commands/spec.ts";
import { latin1 } from "../commands/args.ts";
import { Push, type Reply } from "../protocol/reply.ts";
import type { Client } from "./client.ts";

/** A client's tracking options. */
export interface TrackingOptions {
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  prefixes: string[];
}

/** Tracking state of a client. */
export interface ClientTracking extends TrackingOptions {
  /** CLIENT CACHING YES/NO given for the next command (null: not given). */
  caching: boolean | null;
  /** Set when the redirect client went away. */
  brokenRedirect: boolean;
}

/** The tracking table and the clients that track. */
export class Tracking implements KeyspaceListener {
  /** A flush's invalidation went out in this synchronous run of commands. */
  private flushSent = false;
  /** Keys read by tracking clients: key → ids of clients to invalidate. */
  private readonly table = new Map<string, Set<number>>();
  private readonly bcast = new Set<Client>();
  /**
   * Keys changed under BCAST prefixes since the last broadcast, with the client that changed
   * each first (for NOLOOP): sent after each batch of commands, one message per prefix and
   * client with its keys in byte order, as Redis broadcasts them before it sleeps.
   */
  private readonly changed = new Map<string, Client | null>();
  private broadcastDue = false;
  readonly clients: Set<Client> = new Set();
  /** `tracking-table-max-keys`: the most keys the table holds (0: no limit). */
  maxKeys = 1_000_000;
  /** Rounds in a row that ended still over the limit (Redis raises its effort with each). */
  private overLimitRounds = 0;

  constructor(
    private readonly keyspace: Keyspace,
    private readonly lookup: (id: number) => Client | undefined,
    private readonly current: () => Client | null,
  ) {
    keyspace.listen(this);
  }

  /** Number of keys in the tracking table. */
  get keys(): number {
    return this.table.size;
  }

  /** Number of (key, client) pairs in the tracking table (INFO `tracking_total_items`). */
  get items(): number {
    return this.itemCount;
  }

  /** Kept as the table changes: INFO must not walk a table of a million keys. */
  private itemCount = 0;

  /** Distinct BCAST prefixes, `""` for BCAST without PREFIX (INFO `tracking_total_prefixes`). */
  get prefixes(): number {
    const all = new Set<string>();
    for (const c of this.bcast) for (const p of c.tracking!.prefixes) all.add(p);
    return all.size;
  }

  /**
   * Turns tracking on with `options` (BCAST prefixes already merged with the client's, `""`
   * for BCAST without PREFIX). A CLIENT CACHING given before stays, as in Redis.
   */
  enable(client: Client, options: TrackingOptions): void {
    const caching = client.tracking?.caching ?? null;
    client.tracking = { ...options, caching, brokenRedirect: false };
    this.clients.add(client);
    if (options.bcast) this.bcast.add(client);
    else this.bcast.delete(client);
  }

  disable(client: Client): void {
    client.tracking = null;
    this.clients.delete(client);
    this.bcast.delete(client);
  }

  /** After a command: remember the keys a tracking client read (Redis's trackingRememberKeys). */
  afterCommand(client: Client, cmd: Command, argv: Uint8Array[]): void {
    // Each flushing command invalidates once (FLUSHALL signals every database).
    this.flushSent = false;
    const t = client.tracking;
    if (t === null) return;
    const caching = t.caching;
    // CLIENT CACHING applies to the next command, or to the whole transaction when MULTI comes
    // next; as in Redis, any CLIENT command in between keeps it too.
    if (client.tx === null && !client.inExec && (cmd.parent ?? cmd).name !== "client") {
      t.caching = null;
    }
    if (t.bcast || !cmd.flags.has("readonly")) return;
    if ((t.optin && caching !== true) || (t.optout && caching === false)) return;
    for (const k of findKeys(cmd, argv)) {
      const key = latin1(argv[k.index]);
      let ids = this.table.get(key);
      if (!ids) this.table.set(key, ids = new Set());
      if (!ids.has(client.id)) {
        ids.add(client.id);
        this.itemCount++;
      }
    }
    if (this.maxKeys !== 0 && this.table.size > this.maxKeys) this.limit();
  }

  /**
   * Keeps the table within `maxKeys` (Redis's trackingLimitUsedSlots): invalidates keys, as if
   * they had changed, up to an effort that grows while the table stays over the limit. Redis
   * picks the keys at random; here the oldest go first.
   */
  limit(): void {
    if (this.maxKeys === 0 || this.table.size <= this.maxKeys) {
      this.overLimitRounds = 0;
      return;
    }
    let effort = 100 * (this.overLimitRounds + 1);
    for (const key of this.table.keys()) {
      if (effort-- === 0) break;
      this.invalidate(key, null);
      if (this.table.size <= this.maxKeys) {
        this.overLimitRounds = 0;
        return;
      }
    }
    this.overLimitRounds++;
  }

  /** Forgets a key and tells the clients that read it (but `writer`, under NOLOOP). */
  private invalidate(key: string, writer: Client | null): void {
    const ids = this.table.get(key);
    if (!ids) return;
    this.table.delete(key);
    this.itemCount -= ids.size;
    for (const id of ids) {
      const c = this.lookup(id);
      if (!c || c.tracking === null || c.tracking.bcast) continue;
      if (c.tracking.noloop && c === writer) continue;
      this.send(c, key);
    }
  }

  modified(_db: number, key: string | null, swappedWith?: number): void {
    // Keys read while tracking was on stay in the table after it is turned off, until written
    // (as Redis's TrackingTable): a client that turns it on again hears only of later reads.
    if (this.clients.size === 0 && this.table.size === 0) return;
    // An expiry is nobody's change (Redis signals it without a client): NOLOOP clients hear of
    // keys that expired when they read them.
    const writer = this.keyspace.expiring ? null : this.current();
    if (key === null) {
      // SWAPDB invalidates nothing in Redis 7.0.
      if (swappedWith !== undefined) return;
      // A flush invalidates everything every tracking client may hold: once per command, as
      // Redis does (FLUSHALL signals each database).
      if (this.flushSent) return;
      this.flushSent = true;
      queueMicrotask(() => this.flushSent = false);
      for (const c of this.clients) this.send(c, null);
      this.table.clear();
      this.itemCount = 0;
      return;
    }
    this.invalidate(key, writer);
    if (this.bcast.size === 0) return;
    // The first writer since the last broadcast is the one NOLOOP compares with, as Redis's
    // raxTryInsert keeps it.
    if (!this.changed.has(key)) this.changed.set(key, writer);
    if (!this.broadcastDue) {
      this.broadcastDue = true;
      // Before any other client's command runs (Redis broadcasts before it sleeps, before
      // the next read): a BCAST client must not get a reply read after the change before the
      // invalidation. The commands of this read batch are done by then, and share the message.
      queueMicrotask(() => this.broadcast());
    }
  }

  /** Sends the BCAST invalidations of the keys changed since the last broadcast. */
  private broadcast(): void {
    this.broadcastDue = false;
    if (this.changed.size === 0) return;
    const changed = [...this.changed].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    this.changed.clear();
    for (const c of this.bcast) {
      const t = c.tracking!;
      for (const prefix of [...t.prefixes].sort()) {
        const keys = changed.filter(([k, by]) => k.startsWith(prefix) && !(t.noloop && by === c))
          .map(([k]) => k);
        if (keys.length) this.send(c, keys);
      }
    }
  }

  /**
   * Sends one invalidation (null: everything) to a tracking client or its redirect. As in Redis,
   * a message about the client running the command waits until its reply is out; any other goes
   * out at once (before the reply of a redirect target that made the change itself).
   */
  private send(client: Client, key: string | string[] | null): void {
    const t = client.tracking!;
    const keys: Reply = key === null ? null : typeof key === "string" ? [key] : key;
    const deferred = client === this.current();
    let target = client;
    if (t.redirect > 0) {
      const redir = this.lookup(t.redirect);
      if (!redir) {
        t.brokenRedirect = true;
        if (client.resp === 3) {
          const msg = new Push(["tracking-redir-broken", t.redirect]);
          if (deferred) client.afterReply.push(msg);
          else client.transport.push(msg);
        }
        return;
      }
      target = redir;
    }
    let msg: Push;
    if (target.resp === 3) msg = new Push(["invalidate", keys]);
    else if (t.redirect > 0 && target.inPubSubMode) {
      // A RESP2 connection hears through the channel (a client redirecting to itself too).
      msg = new Push(["message", "__redis__:invalidate", keys]);
    } else return;
    if (deferred && target === client) target.afterReply.push(msg);
    else target.transport.push(msg);
  }

  /** Forgets a client that disconnected. */
  forget(client: Client): void {
    this.disable(client);
  }
}
