/**
 * Pub/sub: who is subscribed to what, and delivery. A message is encoded once per protocol and
 * the same bytes go to every subscriber, so fan-out costs one copy per subscriber.
 *
 * @module
 */
import { transientCopy } from "../engine/bytes.ts";
import { globMatch } from "../engine/glob.ts";
import { Push, type Reply } from "../protocol/reply.ts";
import { ReplyWriter } from "../protocol/writer.ts";
import type { Client } from "./client.ts";

/** Channel kinds: plain channels, patterns, shard channels. */
export type SubscriptionKind = "channel" | "pattern" | "shard";

/** Where messages are encoded (one at a time, then copied out). */
const encoder = new ReplyWriter(256);

/** Encodes one push message for both protocols at most once. */
class Encoded {
  private readonly bytes: [Uint8Array | null, Uint8Array | null] = [null, null];
  constructor(private readonly items: Reply[]) {}
  for(resp: 2 | 3): Uint8Array {
    const i = resp - 2;
    let b = this.bytes[i];
    if (b === null) {
      encoder.write(new Push(this.items), resp);
      // A copy cut from a slab: a buffer of its own costs ~700 ns in Deno. Subscribers copy it
      // into their output at once (one holding its pushes back keeps the view).
      b = this.bytes[i] = transientCopy(encoder.take());
      encoder.shrink();
    }
    return b;
  }
}

/** Subscriptions of every client. */
export class PubSub {
  readonly channels: Map<string, Set<Client>> = new Map();
  readonly patterns: Map<string, Set<Client>> = new Map();
  readonly shardChannels: Map<string, Set<Client>> = new Map();

  private table(kind: SubscriptionKind): Map<string, Set<Client>> {
    return kind === "channel"
      ? this.channels
      : kind === "pattern"
      ? this.patterns
      : this.shardChannels;
  }

  private own(client: Client, kind: SubscriptionKind): Set<string> {
    return kind === "channel"
      ? client.channels
      : kind === "pattern"
      ? client.patterns
      : client.shardChannels;
  }

  /** Subscribes; returns false when the client already was. */
  subscribe(client: Client, kind: SubscriptionKind, name: string): boolean {
    const own = this.own(client, kind);
    if (own.has(name)) return false;
    own.add(name);
    const table = this.table(kind);
    let set = table.get(name);
    if (!set) table.set(name, set = new Set());
    set.add(client);
    return true;
  }

  /** Unsubscribes; returns false when the client was not subscribed. */
  unsubscribe(client: Client, kind: SubscriptionKind, name: string): boolean {
    const own = this.own(client, kind);
    if (!own.delete(name)) return false;
    const table = this.table(kind);
    const set = table.get(name);
    set?.delete(client);
    if (set?.size === 0) table.delete(name);
    return true;
  }

  /** Drops every subscription of a client (disconnect, RESET). */
  unsubscribeAll(client: Client): void {
    for (const kind of ["channel", "pattern", "shard"] as const) {
      for (const name of [...this.own(client, kind)]) this.unsubscribe(client, kind, name);
    }
  }

  /** Delivers a message; returns the number of clients that received it (PUBLISH's reply). */
  publish(channel: string, message: Uint8Array | string): number {
    let receivers = 0;
    const subs = this.channels.get(channel);
    if (subs) {
      const msg = new Encoded(["message", channel, message]);
      for (const c of subs) {
        c.transport.pushEncoded(msg.for(c.resp));
        receivers++;
      }
    }
    for (const [pattern, clients] of this.patterns) {
      if (!globMatch(pattern, channel)) continue;
      const msg = new Encoded(["pmessage", pattern, channel, message]);
      for (const c of clients) {
        c.transport.pushEncoded(msg.for(c.resp));
        receivers++;
      }
    }
    return receivers;
  }

  /** Delivers a shard-channel message (SPUBLISH). */
  publishShard(channel: string, message: Uint8Array): number {
    const subs = this.shardChannels.get(channel);
    if (!subs) return 0;
    const msg = new Encoded(["smessage", channel, message]);
    for (const c of subs) c.transport.pushEncoded(msg.for(c.resp));
    return subs.size;
  }

  /** Number of clients that would receive a message on `channel` (for keyspace events). */
  hasSubscribers(channel: string): boolean {
    if (this.channels.has(channel)) return true;
    for (const p of this.patterns.keys()) if (globMatch(p, channel)) return true;
    return false;
  }
}
