/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE
 * SUNSUBSCRIBE SPUBLISH PUBSUB.
 *
 * @module
 */
import { globMatch } from "../engine/glob.ts";
import { Frames, NO_REPLY, Push, type Reply, RespError } from "../protocol/reply.ts";
import type { CommandGate } from "./dispatch.ts";
import type { Client } from "../server/client.ts";
import type { SubscriptionKind } from "../server/pubsub.ts";
import type { Server } from "../server/server.ts";
import { latin1 } from "./args.ts";
import { subcommandSyntaxError } from "./errors.ts";
import { type CommandSpec, keys } from "./spec.ts";

/** Commands a RESP2 client may run while subscribed. */
const SUBSCRIBED_MODE = new Set([
  "ping",
  "subscribe",
  "ssubscribe",
  "unsubscribe",
  "sunsubscribe",
  "psubscribe",
  "punsubscribe",
  "quit",
  "reset",
]);

/**
 * In RESP2 a subscribed connection carries messages, so only subscription commands, PING, QUIT
 * and RESET may run on it (RESP3 has push frames and no such limit).
 */
export const subscribedModeGate: CommandGate = {
  check(client, cmd) {
    if (client.resp !== 2 || !client.inPubSubMode || SUBSCRIBED_MODE.has(cmd.name)) {
      return undefined;
    }
    return new RespError(
      `ERR Can't execute '${cmd.fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
    );
  },
};

const WORDS: Record<SubscriptionKind, [string, string]> = {
  channel: ["subscribe", "unsubscribe"],
  pattern: ["psubscribe", "punsubscribe"],
  shard: ["ssubscribe", "sunsubscribe"],
};

function count(client: Client, kind: SubscriptionKind): number {
  return kind === "shard" ? client.shardChannels.size : client.subscriptions;
}

function own(client: Client, kind: SubscriptionKind): Set<string> {
  return kind === "channel"
    ? client.channels
    : kind === "pattern"
    ? client.patterns
    : client.shardChannels;
}

/**
 * Sends (un)subscription confirmations as pushes. Inside EXEC they are the command's reply in the
 * transaction's array instead; several of them share the one slot, back to back, as in Redis.
 */
function confirm(client: Client, confirmations: Push[]): Reply | typeof NO_REPLY {
  if (client.inExec) {
    return confirmations.length === 1 ? confirmations[0] : new Frames(confirmations);
  }
  for (const c of confirmations) client.transport.push(c);
  return NO_REPLY;
}

/** SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name. */
function subscribe(
  server: Server,
  client: Client,
  kind: SubscriptionKind,
  argv: Uint8Array[],
): Reply | typeof NO_REPLY {
  // Redis 7.0 refuses SSUBSCRIBE while EXEC runs (the client expects one reply per command).
  if (kind === "shard" && client.inExec) {
    return new RespError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  }
  const out: Push[] = [];
  for (let i = 1; i < argv.length; i++) {
    const name = latin1(argv[i]);
    server.pubsub.subscribe(client, kind, name);
    out.push(new Push([WORDS[kind][0], name, count(client, kind)]));
  }
  return confirm(client, out);
}

/** UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or all when none is named. */
function unsubscribe(
  server: Server,
  client: Client,
  kind: SubscriptionKind,
  argv: Uint8Array[],
): Reply | typeof NO_REPLY {
  const names = argv.length > 1 ? argv.slice(1).map(latin1) : [...own(client, kind)];
  if (names.length === 0) {
    return confirm(client, [new Push([WORDS[kind][1], null, count(client, kind)])]);
  }
  const out: Push[] = [];
  for (const name of names) {
    server.pubsub.unsubscribe(client, kind, name);
    out.push(new Push([WORDS[kind][1], name, count(client, kind)]));
  }
  return confirm(client, out);
}

function matching(names: Iterable<string>, pattern: Uint8Array | undefined): string[] {
  const p = pattern === undefined ? null : latin1(pattern);
  return [...names].filter((n) => p === null || globMatch(p, n));
}

const ps = (
  name: string,
  arity: number,
  flags: CommandSpec["flags"],
  summary: string,
  since: string,
  handler: CommandSpec["handler"],
  keySpecs?: CommandSpec["keys"],
): CommandSpec => ({
  name,
  arity,
  flags,
  categories: [],
  group: "pubsub",
  summary,
  since,
  complexity: PUBSUB_COMPLEXITY[name],
  keys: keySpecs,
  handler,
});

/** Each command's complexity, as Redis's COMMAND DOCS gives it. */
const PUBSUB_COMPLEXITY: Record<string, string> = {
  subscribe: "O(N) where N is the number of channels to subscribe to.",
  unsubscribe: "O(N) where N is the number of clients already subscribed to a channel.",
  psubscribe: "O(N) where N is the number of patterns the client is already subscribed to.",
  punsubscribe:
    "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
  ssubscribe: "O(N) where N is the number of shard channels to subscribe to.",
  sunsubscribe: "O(N) where N is the number of clients already subscribed to a shard channel.",
  publish:
    "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
  spublish: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
  channels:
    "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
  numpat: "O(1)",
  numsub: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
  shardchannels:
    "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
  shardnumsub:
    "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
};

const SUB_FLAGS: CommandSpec["flags"] = ["pubsub", "noscript", "loading", "stale"];

/** The pub/sub family's commands. */
export const pubsubCommands: CommandSpec[] = [
  ps(
    "subscribe",
    -2,
    SUB_FLAGS,
    "Listens for messages published to channels.",
    "2.0.0",
    /** SUBSCRIBE channel [channel ...] */
    (ctx, argv) => subscribe(ctx.server, ctx.client, "channel", argv),
  ),
  ps(
    "unsubscribe",
    -1,
    SUB_FLAGS,
    "Stops listening to messages posted to channels.",
    "2.0.0",
    /** UNSUBSCRIBE [channel [channel ...]] */
    (ctx, argv) => unsubscribe(ctx.server, ctx.client, "channel", argv),
  ),
  ps(
    "psubscribe",
    -2,
    SUB_FLAGS,
    "Listens for messages published to channels that match one or more patterns.",
    "2.0.0",
    /** PSUBSCRIBE pattern [pattern ...] */
    (ctx, argv) => subscribe(ctx.server, ctx.client, "pattern", argv),
  ),
  ps(
    "punsubscribe",
    -1,
    SUB_FLAGS,
    "Stops listening to messages published to channels that match one or more patterns.",
    "2.0.0",
    /** PUNSUBSCRIBE [pattern [pattern ...]] */
    (ctx, argv) => unsubscribe(ctx.server, ctx.client, "pattern", argv),
  ),
  ps(
    "ssubscribe",
    -2,
    SUB_FLAGS,
    "Listens for messages published to shard channels.",
    "7.0.0",
    /** SSUBSCRIBE shardchannel [shardchannel ...] */
    (ctx, argv) => subscribe(ctx.server, ctx.client, "shard", argv),
    [keys.range(1, -1, 1, "NOT_KEY")],
  ),
  ps(
    "sunsubscribe",
    -1,
    SUB_FLAGS,
    "Stops listening to messages posted to shard channels.",
    "7.0.0",
    /** SUNSUBSCRIBE [shardchannel [shardchannel ...]] */
    (ctx, argv) => unsubscribe(ctx.server, ctx.client, "shard", argv),
    [keys.range(1, -1, 1, "NOT_KEY")],
  ),
  ps(
    "publish",
    3,
    ["pubsub", "loading", "stale", "fast", "may_replicate"],
    "Posts a message to a channel.",
    "2.0.0",
    /** PUBLISH channel message */
    (ctx, argv) => ctx.server.pubsub.publish(latin1(argv[1]), argv[2]),
  ),
  ps(
    "spublish",
    3,
    ["pubsub", "loading", "stale", "fast", "may_replicate"],
    "Post a message to a shard channel",
    "7.0.0",
    /** SPUBLISH shardchannel message */
    (ctx, argv) => ctx.server.pubsub.publishShard(latin1(argv[1]), argv[2]),
    [keys.one(1, "NOT_KEY")],
  ),
  {
    name: "pubsub",
    arity: -2,
    flags: [],
    categories: [],
    group: "pubsub",
    summary: "A container for Pub/Sub commands.",
    since: "2.8.0",
    complexity: "Depends on subcommand.",
    help: [
      "CHANNELS [<pattern>]",
      "    Return the currently active channels matching a <pattern> (default: '*').",
      "NUMPAT",
      "    Return number of subscriptions to patterns.",
      "NUMSUB [<channel> ...]",
      "    Return the number of subscribers for the specified channels, excluding",
      "    pattern subscriptions(default: no channels).",
      "SHARDCHANNELS [<pattern>]",
      "    Return the currently active shard level channels matching a <pattern> (default: '*').",
      "SHARDNUMSUB [<shardchannel> ...]",
      "    Return the number of subscribers for the specified shard level channel(s)",
    ],
    subcommands: [
      ps(
        "channels",
        -2,
        ["pubsub", "loading", "stale"],
        "Returns the active channels.",
        "2.8.0",
        /** PUBSUB CHANNELS [pattern] */
        (ctx, argv): Reply =>
          argv.length > 3
            ? subcommandSyntaxError(argv)
            : matching(ctx.server.pubsub.channels.keys(), argv[2]),
      ),
      ps(
        "numsub",
        -2,
        ["pubsub", "loading", "stale"],
        "Returns a count of subscribers to channels.",
        "2.8.0",
        /** PUBSUB NUMSUB [channel [channel ...]] */
        (ctx, argv): Reply => {
          const out: Reply[] = [];
          for (const a of argv.slice(2)) {
            out.push(
              a,
              ctx.server.pubsub.channels.get(latin1(a))?.size ?? 0,
            );
          }
          return out;
        },
      ),
      ps(
        "numpat",
        2,
        ["pubsub", "loading", "stale"],
        "Returns a count of unique pattern subscriptions.",
        "2.8.0",
        /** PUBSUB NUMPAT */
        (ctx) => ctx.server.pubsub.patterns.size,
      ),
      ps(
        "shardchannels",
        -2,
        ["pubsub", "loading", "stale"],
        "Returns the active shard channels.",
        "7.0.0",
        /** PUBSUB SHARDCHANNELS [pattern] */
        (ctx, argv): Reply =>
          argv.length > 3
            ? subcommandSyntaxError(argv)
            : matching(ctx.server.pubsub.shardChannels.keys(), argv[2]),
      ),
      ps(
        "shardnumsub",
        -2,
        ["pubsub", "loading", "stale"],
        "Returns the count of subscribers of shard channels.",
        "7.0.0",
        /** PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]] */
        (ctx, argv): Reply => {
          const out: Reply[] = [];
          for (const a of argv.slice(2)) {
            out.push(
              a,
              ctx.server.pubsub.shardChannels.get(latin1(a))?.size ?? 0,
            );
          }
          return out;
        },
      ),
    ],
  },
];
