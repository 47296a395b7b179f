/**
 * FerricStore's own commands: FERRICSTORE.CONFIG (durability per namespace), FERRICSTORE.KEY_INFO
 * and FERRICSTORE.COMPACT. (FERRICSTORE.HOTNESS is in commands/server.ts, beside the read
 * counting it reports.)
 *
 * @module
 */
import { NO_SEGMENT, storedSize } from "../engine/keyspace.ts";
import type { Durability, NamespaceSettings } from "../engine/log/namespaces.ts";
import { OK, type Reply, RespMap } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import { latin1, word } from "./args.ts";
import { err, Errors } from "./errors.ts";
import { type CommandSpec, keys } from "./spec.ts";
import { typeName } from "../engine/values/types.ts";

function namespaces(server: Server) {
  const engine = server.engine;
  if (!engine) throw err("ERR the durable engine is not open");
  return engine.namespaces;
}

function describe(prefix: string, s: NamespaceSettings): Reply {
  return new RespMap([
    "prefix",
    prefix,
    "window_ms",
    s.windowMs,
    "durability",
    s.durability,
    "changed_at",
    s.changedAt,
    "changed_by",
    s.changedBy,
  ]);
}

function engineOf(server: Server) {
  const engine = server.engine;
  if (!engine) throw err("ERR the durable engine is not open");
  return engine;
}

/** FerricStore's native commands. */
export const ferricstoreCommands: CommandSpec[] = [
  {
    name: "ferricstore.compact",
    arity: -1,
    flags: ["admin"],
    categories: [],
    group: "server",
    summary: "Compacts the log of one shard, or of every shard, and returns when done.",
    since: "0.1.0",
    complexity: "O(N) where N is the number of keys in the compacted shards",
    /** FERRICSTORE.COMPACT [shard] */
    async handler(ctx, argv) {
      if (argv.length > 2) return Errors.syntax;
      const engine = engineOf(ctx.server);
      const n = engine.shards.length;
      let shards = [...Array(n).keys()];
      if (argv.length === 2) {
        const i = Number(latin1(argv[1]));
        if (!/^\d+$/.test(latin1(argv[1])) || i >= n) {
          return err(`ERR invalid shard index (expected 0 to ${n - 1})`);
        }
        shards = [i];
      }
      for (const s of shards) await engine.compactor.compact(s);
      return OK;
    },
  },
  {
    name: "ferricstore.key_info",
    arity: 2,
    flags: ["readonly"],
    categories: ["keyspace"],
    group: "generic",
    summary: "Returns where and how a key's value is stored.",
    since: "0.1.0",
    complexity: "O(1)",
    keys: [keys.one(1, "RO")],
    /** FERRICSTORE.KEY_INFO key */
    handler(ctx, argv) {
      const key = latin1(argv[1]);
      const e = ctx.db.peek(key, false);
      if (e === undefined) return null;
      const engine = ctx.server.engine;
      const isString = e.cold || e.value instanceof Uint8Array;
      const size = storedSize(e);
      const where = engine && e.locSegment !== NO_SEGMENT ? engine.cold.locate(e) : null;
      return new RespMap([
        "type",
        isString ? "string" : typeName(e.value),
        "value_size",
        size,
        "ttl_ms",
        e.expireAt === 0 ? -1 : Math.max(0, e.expireAt - ctx.db.keyspace.now),
        "hot_cache_status",
        e.cold ? "cold" : "hot",
        "shard",
        ctx.db.keyspace.shardOf(key),
        "file",
        where ? where.path.slice(where.path.lastIndexOf("/") + 1) : "",
        "offset",
        where ? where.offset : -1,
      ]);
    },
  },
  {
    name: "ferricstore.config",
    arity: -2,
    flags: [],
    categories: [],
    group: "server",
    summary: "Gets, sets or resets durability settings per key namespace.",
    since: "0.1.0",
    complexity: "O(1) per field",
    help: [
      "GET [<prefix>]",
      "    Settings of one namespace (the key prefix before the first ':'), or of every",
      "    namespace that has its own settings.",
      "SET <prefix> <field> <value> [<field> <value> ...]",
      "    Fields: durability (sync|quorum|async), window_ms (commit window in ms).",
      "RESET [<prefix>]",
      "    Back to the server-wide defaults, for one namespace or all.",
    ],
    subcommands: [
      {
        name: "get",
        arity: -2,
        flags: ["admin", "loading", "stale"],
        categories: [],
        group: "server",
        summary: "Returns durability settings of a namespace, or of every configured namespace.",
        since: "0.1.0",
        complexity: "O(N) where N is the number of configured namespaces",
        /** FERRICSTORE.CONFIG GET [prefix] */
        handler(ctx, argv) {
          if (argv.length > 3) return Errors.syntax;
          const ns = namespaces(ctx.server);
          if (argv.length === 3) {
            const prefix = latin1(argv[2]);
            return describe(prefix, ns.get(prefix));
          }
          return ns.prefixes().map((p) => describe(p, ns.get(p)));
        },
      },
      {
        name: "set",
        arity: -5,
        flags: ["admin"],
        categories: [],
        group: "server",
        summary: "Sets durability settings of a namespace; they survive restarts.",
        since: "0.1.0",
        complexity: "O(1)",
        /** FERRICSTORE.CONFIG SET prefix field value [field value ...] */
        async handler(ctx, argv) {
          if (argv.length % 2 === 0) {
            return err("ERR wrong number of arguments for 'ferricstore.config|set' command");
          }
          const prefix = latin1(argv[2]);
          const changes: { durability?: Durability; windowMs?: number } = {};
          for (let i = 3; i < argv.length; i += 2) {
            const field = word(argv[i]);
            const value = latin1(argv[i + 1]).toLowerCase();
            if (field === "durability") {
              if (value !== "sync" && value !== "quorum" && value !== "async") {
                return err(`ERR invalid durability '${value}' (expected sync, quorum or async)`);
              }
              changes.durability = value === "async" ? "async" : "sync";
            } else if (field === "window_ms") {
              const n = Number(value);
              if (!/^\d+$/.test(value) || n > 10000) {
                return err(
                  `ERR invalid window_ms '${value}' (expected an integer from 0 to 10000)`,
                );
              }
              changes.windowMs = n;
            } else {
              return err(
                `ERR unknown field '${latin1(argv[i])}' (expected durability or window_ms)`,
              );
            }
          }
          const c = ctx.client;
          await namespaces(ctx.server).set(prefix, changes, `${c.user}@${c.transport.addr}`);
          return OK;
        },
      },
      {
        name: "reset",
        arity: -2,
        flags: ["admin"],
        categories: [],
        group: "server",
        summary: "Returns a namespace, or every namespace, to the server-wide durability settings.",
        since: "0.1.0",
        complexity: "O(1)",
        /** FERRICSTORE.CONFIG RESET [prefix] */
        async handler(ctx, argv) {
          if (argv.length > 3) return Errors.syntax;
          await namespaces(ctx.server).reset(argv.length === 3 ? latin1(argv[2]) : null);
          return OK;
        },
      },
    ],
  },
];
