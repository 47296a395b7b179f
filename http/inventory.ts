/**
 * A walk over every key that adds up what the metrics and the dashboard show per namespace:
 * keys, bytes, and the keydir's own memory. The walk yields to the event loop every few
 * thousand keys (commands keep running while a large keyspace is counted); requests made while
 * a walk runs share it (the metrics of one scrape all read the same walk).
 *
 * @module
 */
import { ENTRY_OVERHEAD, storedSize } from "../engine/keyspace.ts";
import type { Server } from "../server/server.ts";

/** Keys and bytes of one namespace (the key prefix before the first `:`). */
export interface NamespaceUsage {
  /** The prefix as UTF-8 text (invalid bytes replaced); "" for keys without a `:`. */
  prefix: string;
  /** The prefix as the keys hold it (a latin1 binary string), for namespace settings. */
  raw: string;
  keys: number;
  /** Key bytes plus value bytes (hot values in memory, cold ones as stored in the log). */
  bytes: number;
  /** Values held in memory and values read back from the log on access. */
  hot: number;
  cold: number;
}

/** The result of one walk. */
export interface Inventory {
  /** When the walk ended (ms since the epoch). */
  at: number;
  keys: number;
  /** Memory of the keydir itself: a fixed cost per key plus the key bytes. */
  keydirBytes: number;
  /** Namespaces by key count, largest first, at most {@link MAX_NAMESPACES}. */
  namespaces: NamespaceUsage[];
  /** Namespaces beyond {@link MAX_NAMESPACES}, added up. */
  otherNamespaces: number;
  otherKeys: number;
  otherBytes: number;
}

/** How many namespaces are reported one by one (bounds the metrics' label cardinality). */
export const MAX_NAMESPACES = 100;
/** Keys counted between two yields to the event loop. */
const KEYS_PER_SLICE = 20000;

const utf8 = new TextDecoder();

/** A latin1 binary string (how keys are held) as UTF-8 text. */
export function binaryToText(s: string): string {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return utf8.decode(bytes);
}

/** Counts a server's keys per namespace, sharing walks that overlap in time. */
export class KeyInventory {
  private running: Promise<Inventory> | null = null;

  constructor(private readonly server: Server) {}

  /** The result of the walk under way, or of a new one. */
  get(): Promise<Inventory> {
    this.running ??= this.walk().finally(() => this.running = null);
    return this.running;
  }

  private async walk(): Promise<Inventory> {
    const byPrefix = new Map<string, NamespaceUsage>();
    let keys = 0;
    let keyBytes = 0;
    let slice = 0;
    for (const shard of this.server.keyspace.shards) {
      for (const table of shard.tables) {
        for (const e of table.entries()) {
          const k = e.key;
          const colon = k.indexOf(":");
          const raw = colon < 0 ? "" : k.slice(0, colon);
          let ns = byPrefix.get(raw);
          if (ns === undefined) {
            ns = { prefix: raw, raw, keys: 0, bytes: 0, hot: 0, cold: 0 };
            byPrefix.set(raw, ns);
          }
          const size = storedSize(e);
          ns.keys++;
          ns.bytes += k.length + size;
          if (e.cold) ns.cold++;
          else ns.hot++;
          keys++;
          keyBytes += k.length;
          if (++slice === KEYS_PER_SLICE) {
            slice = 0;
            await new Promise((r) => setTimeout(r, 0));
          }
        }
      }
    }
    // Binary prefixes that decode to the same text (invalid UTF-8) are reported as one.
    const byText = new Map<string, NamespaceUsage>();
    for (const ns of byPrefix.values()) {
      const text = binaryToText(ns.prefix);
      const same = byText.get(text);
      if (same === undefined) byText.set(text, { ...ns, prefix: text });
      else {
        same.keys += ns.keys;
        same.bytes += ns.bytes;
        same.hot += ns.hot;
        same.cold += ns.cold;
      }
    }
    const all = [...byText.values()].sort((a, b) =>
      b.keys - a.keys || (a.prefix < b.prefix ? -1 : 1)
    );
    const shown = all.slice(0, MAX_NAMESPACES);
    const rest = all.slice(MAX_NAMESPACES);
    const inv: Inventory = {
      at: Date.now(),
      keys,
      keydirBytes: keys * ENTRY_OVERHEAD + keyBytes,
      namespaces: shown,
      otherNamespaces: rest.length,
      otherKeys: rest.reduce((n, x) => n + x.keys, 0),
      otherBytes: rest.reduce((n, x) => n + x.bytes, 0),
    };
    return inv;
  }
}

/** Keys of every database held by shard `index` (cheap: table sizes). */
export function shardKeys(server: Server, index: number): number {
  let n = 0;
  for (const t of server.keyspace.shards[index].tables) n += t.size;
  return n;
}
