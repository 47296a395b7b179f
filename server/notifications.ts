/**
 * Keyspace notifications (`notify-keyspace-events`): every `db.notify(class, event, key)` the
 * commands and the engine send becomes a pub/sub message on `__keyspace@<db>__:<key>` (the
 * event as message, class K) and `__keyevent@<db>__:<event>` (the key as message, class E).
 *
 * @module
 */
import type { Keyspace, KeyspaceListener } from "../engine/keyspace.ts";
import type { PubSub } from "./pubsub.ts";

/** Classes that `A` stands for. */
const ALL = "g$lshzxetd";
/** Every class letter, in the order Redis prints them (`n` is not part of `A`). */
const ORDER = "g$lshzxetdn";

/** Parses a flags string; null when it has a letter Redis does not know. */
export function parseEventFlags(text: string): Set<string> | null {
  const flags = new Set<string>();
  for (const ch of text) {
    if (ch === "A") { for (const c of ALL) flags.add(c); }
    else if ("KEg$lshzxetmnd".includes(ch)) flags.add(ch);
    else return null;
  }
  return flags;
}

/** The flags as Redis prints them back (CONFIG GET notify-keyspace-events). */
export function formatEventFlags(flags: Set<string>): string {
  let out = "";
  // As Redis 7.0's keyspaceEventsFlagsToString: with every class of `A` set, `A` alone stands
  // for the classes, `n` included (it is then not printed, though it stays set).
  if ([...ALL].every((c) => flags.has(c))) out = "A";
  else for (const c of ORDER) if (flags.has(c)) out += c;
  for (const c of "KEm") if (flags.has(c)) out += c;
  return out;
}

/** Publishes keyspace events by the configured flags. */
export class KeyspaceNotifier implements KeyspaceListener {
  private flags = new Set<string>();

  constructor(keyspace: Keyspace, private readonly pubsub: PubSub) {
    keyspace.listen(this);
  }

  /** Sets the flags from a `notify-keyspace-events` value. */
  configure(text: string): void {
    this.flags = parseEventFlags(text) ?? new Set();
  }

  notify(cls: string, event: string, db: number, key: string): void {
    const f = this.flags;
    if (f.size === 0 || !f.has(cls)) return;
    if (f.has("K")) this.pubsub.publish(`__keyspace@${db}__:${key}`, event);
    if (f.has("E")) this.pubsub.publish(`__keyevent@${db}__:${event}`, key);
  }
}
