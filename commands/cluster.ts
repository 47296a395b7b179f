/**
 * FerricStore's cluster view of one node: CLUSTER.HEALTH, CLUSTER.STATUS, CLUSTER.STATS,
 * CLUSTER.SLOTS, CLUSTER.KEYSLOT and CLUSTER.ROLE. The node's shards each own a contiguous range
 * of the 16384 Redis Cluster slots (engine/slot.ts) and each is the leader of its own log.
 * Replies are maps in RESP3 (flat arrays in RESP2).
 *
 * @module
 */
import { entryMemory, type KeyTable } from "../engine/keyspace.ts";
import type { ShardLog } from "../engine/log/shard_log.ts";
import { keySlot, shardSlotRange, SLOT_COUNT } from "../engine/slot.ts";
import { type Reply, RespMap } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import { isShuttingDown } from "../server/shutdown.ts";
import { latin1 } from "./args.ts";
import type { CommandSpec } from "./spec.ts";

/** Shards with more keys than this have their memory estimated from a sample. */
const EXACT_MEMORY_KEYS = 100_000;
const MEMORY_SAMPLES = 4096;

/** The error that stopped a shard's log (it acknowledges nothing more), or null. */
export function shardFailure(log: ShardLog): Error | null {
  // ShardLog keeps the error private; it is read here without changing it.
  return (log as unknown as { failed: Error | null }).failed ?? null;
}

/** Keys and estimated memory of one shard (every database). */
function shardUsage(server: Server, shard: number): { keys: number; memory: number } {
  let keys = 0;
  let memory = 0;
  for (const t of server.keyspace.shards[shard].tables) {
    keys += t.size;
    memory += tableMemory(t);
  }
  return { keys, memory };
}

function tableMemory(t: KeyTable): number {
  if (t.size === 0) return 0;
  if (t.size <= EXACT_MEMORY_KEYS) {
    let m = 0;
    for (const e of t.values()) m += entryMemory(e);
    return m;
  }
  let sum = 0;
  for (let i = 0; i < MEMORY_SAMPLES; i++) sum += entryMemory(t.random()!);
  return Math.round((sum / MEMORY_SAMPLES) * t.size);
}

interface ShardState {
  index: number;
  status: "ok" | "failed" | "loading";
  error: string;
}

function shardStates(server: Server): ShardState[] {
  const n = server.keyspace.shards.length;
  const logs = server.engine?.shards ?? [];
  return Array.from({ length: n }, (_, i) => {
    const failure = logs[i] ? shardFailure(logs[i]) : null;
    return {
      index: i,
      status: failure ? "failed" : server.loading || !server.engine ? "loading" : "ok",
      error: failure ? failure.message : "",
    };
  });
}

/** Overall state: ok, loading, shutting_down, or degraded when a shard's log failed. */
function nodeStatus(server: Server, shards: ShardState[]): string {
  if (isShuttingDown(server)) return "shutting_down";
  if (shards.some((s) => s.status === "failed")) return "degraded";
  if (server.loading || !server.engine) return "loading";
  return "ok";
}

function slotsOf(shard: number, count: number): number {
  const [first, last] = shardSlotRange(shard, count);
  return last - first + 1;
}

const spec = (
  name: string,
  arity: number,
  summary: string,
  complexity: string,
  handler: CommandSpec["handler"],
  fast = true,
): CommandSpec => ({
  name,
  arity,
  flags: fast ? ["loading", "stale", "fast"] : ["loading", "stale"],
  categories: [],
  group: "cluster",
  summary,
  since: "0.1.0",
  complexity,
  tips: ["nondeterministic_output"],
  handler,
});

/** FerricStore's cluster commands. */
export const clusterCommands: CommandSpec[] = [
  spec(
    "cluster.health",
    1,
    "Returns whether the node serves: its status, readiness and failed shards.",
    "O(N) where N is the number of shards",
    /** CLUSTER.HEALTH */
    (ctx) => {
      const server = ctx.server;
      const shards = shardStates(server);
      const status = nodeStatus(server, shards);
      const failed = shards.filter((s) => s.status === "failed");
      return new RespMap([
        "status",
        status,
        "ready",
        status === "ok",
        "loading",
        server.loading,
        "shutting_down",
        isShuttingDown(server),
        "shards",
        shards.length,
        "shards_ok",
        shards.filter((s) => s.status === "ok").length,
        "shards_failed",
        failed.length,
        "failures",
        failed.map((s) => `shard ${s.index}: ${s.error}`),
      ]);
    },
  ),
  spec(
    "cluster.status",
    1,
    "Returns the node's cluster state: slots assigned and served, shards and nodes.",
    "O(N) where N is the number of shards",
    /** CLUSTER.STATUS */
    (ctx) => {
      const server = ctx.server;
      const shards = shardStates(server);
      const n = shards.length;
      const failedSlots = shards.filter((s) => s.status === "failed")
        .reduce((sum, s) => sum + slotsOf(s.index, n), 0);
      const status = nodeStatus(server, shards);
      return new RespMap([
        "state",
        status === "ok" ? "ok" : status === "degraded" ? "fail" : status,
        "mode",
        "standalone",
        "node_id",
        server.runId,
        "nodes",
        1,
        "shards",
        n,
        "slots_assigned",
        SLOT_COUNT,
        "slots_ok",
        SLOT_COUNT - failedSlots,
        "slots_fail",
        failedSlots,
      ]);
    },
  ),
  spec(
    "cluster.stats",
    1,
    "Returns per-shard statistics (role, status, slots, keys, memory, log) and their totals.",
    "O(N) where N is the number of keys (sampled in shards over 100000 keys)",
    /** CLUSTER.STATS */
    (ctx) => {
      const server = ctx.server;
      const states = shardStates(server);
      const logs = server.engine?.shards ?? [];
      const n = states.length;
      let keys = 0, logBytes = 0, deadBytes = 0, logFiles = 0;
      const shards: Reply[] = states.map((st) => {
        const usage = shardUsage(server, st.index);
        const [first, last] = shardSlotRange(st.index, n);
        const s = logs[st.index]?.stats;
        keys += usage.keys;
        logBytes += s?.bytes ?? 0;
        deadBytes += s?.deadBytes ?? 0;
        logFiles += s?.files ?? 0;
        return new RespMap([
          "shard",
          st.index,
          "role",
          "master",
          "status",
          st.status,
          "first_slot",
          first,
          "last_slot",
          last,
          "keys",
          usage.keys,
          "memory",
          usage.memory,
          "log_files",
          s?.files ?? 0,
          "log_bytes",
          s?.bytes ?? 0,
          "dead_bytes",
          s?.deadBytes ?? 0,
          "merging",
          s?.merging ?? false,
          "last_merge",
          s ? Math.floor(s.lastMerge / 1000) : 0,
        ]);
      });
      return new RespMap([
        "shards",
        shards,
        "totals",
        new RespMap([
          "shards",
          n,
          "keys",
          keys,
          "memory",
          server.memory.used(),
          "log_files",
          logFiles,
          "log_bytes",
          logBytes,
          "dead_bytes",
          deadBytes,
        ]),
      ]);
    },
    false,
  ),
  spec(
    "cluster.slots",
    1,
    "Returns the slot range each shard owns.",
    "O(N) where N is the number of shards",
    /** CLUSTER.SLOTS */
    (ctx) => {
      const n = ctx.server.keyspace.shards.length;
      return Array.from({ length: n }, (_, i) => {
        const [first, last] = shardSlotRange(i, n);
        return new RespMap(["shard", i, "first_slot", first, "last_slot", last]);
      });
    },
  ),
  {
    ...spec(
      "cluster.keyslot",
      2,
      "Returns the hash slot of a key, as CLUSTER KEYSLOT.",
      "O(N) where N is the number of bytes in the key",
      /** CLUSTER.KEYSLOT key */
      (_ctx, argv) => keySlot(latin1(argv[1])),
    ),
    flags: ["loading", "stale"],
    tips: [],
  },
  spec(
    "cluster.role",
    1,
    "Returns the node's role and each shard's role as leader of its log.",
    "O(N) where N is the number of shards",
    /** CLUSTER.ROLE */
    (ctx) => {
      const server = ctx.server;
      const logs = server.engine?.shards ?? [];
      return new RespMap([
        "role",
        "master",
        "node_id",
        server.runId,
        "shards",
        server.keyspace.shards.map((_, i) => {
          const s = logs[i]?.stats;
          return new RespMap([
            "shard",
            i,
            "role",
            "leader",
            "log_records",
            s?.records ?? 0,
            "fsyncs",
            s?.flushes ?? 0,
          ]);
        }),
      ]);
    },
  ),
];
