/**
 * Cache-aside with stampede protection: of all the clients that miss the same key at the same
 * time, exactly one is told to compute the value; the others wait for it.
 *
 * ```
 * FETCH_OR_COMPUTE key ttl_ms [hint]
 *   → ["hit", value]     the key holds a value
 *   → ["compute", hint]  the caller must compute the value (its own hint comes back)
 *   (waits)              another client is computing: the reply comes when it is done,
 *                        ["hit", value] or -ERR compute failed: <message>
 * FETCH_OR_COMPUTE_RESULT key value ttl_ms   → OK: stores the value (durably), wakes the waiters
 * FETCH_OR_COMPUTE_ERROR key message         → OK: the waiters get -ERR compute failed: message
 * ```
 *
 * A computation has a lease of `fetch-or-compute-timeout-ms` (default 30000; CONFIG SET
 * changes it). If the computing client disconnects, or does not deliver within the lease, the
 * computation passes to the first client still waiting, which gets ["compute", its hint]; with
 * nobody waiting, the next caller computes. A late result is still stored (and serves whoever
 * waits). `ttl_ms` of FETCH_OR_COMPUTE is the TTL the caller means to give the value (FerricStore's
 * client SDKs send it); FETCH_OR_COMPUTE_RESULT's `ttl_ms` is the one applied.
 *
 * Inside MULTI/EXEC a client cannot wait: FETCH_OR_COMPUTE answers an error there while another
 * client computes.
 *
 * @module
 */
import { copyBytes, latin1 } from "../../commands/args.ts";
import { err, Errors } from "../../commands/errors.ts";
import { OK, type Reply, RespError } from "../../protocol/reply.ts";
import type { Client } from "../../server/client.ts";
import type { ParamDef } from "../../server/config.ts";
import type { Server } from "../../server/server.ts";
import { defineCommand, definePlugin, keys } from "../api.ts";
import { stringValue, ttlArg } from "./_shared.ts";

/** The lease parameter. */
export const computeTimeoutParam: ParamDef = {
  name: "fetch-or-compute-timeout-ms",
  type: "int",
  default: "30000",
  min: 1,
  max: 2147483647,
  mutable: true,
  doc:
    "How long a FETCH_OR_COMPUTE caller may compute before the computation passes to a waiting client.",
};

interface Waiting {
  readonly client: Client;
  readonly hint: Uint8Array;
}

/** One computation in progress. */
interface Computation {
  readonly id: string;
  readonly db: number;
  readonly key: string;
  owner: Client;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set by FETCH_OR_COMPUTE_ERROR: what its waiters get. */
  failed: RespError | null;
  /** Set once the computation is over (result, error, or nobody left to take it over). */
  over: boolean;
  /** Clients waiting for it, in arrival order. */
  readonly waiters: Waiting[];
}

/** The computations of one server. */
class Coordinator {
  readonly running = new Map<string, Computation>();
  readonly onDisconnect = (c: Client) => {
    for (const comp of [...this.running.values()]) if (comp.owner === c) this.handOver(comp);
  };

  constructor(private readonly server: Server) {}

  /** Starts (or renews) the lease of a computation's owner. */
  lease(comp: Computation): void {
    clearTimeout(comp.timer);
    const ms = this.server.config.int(computeTimeoutParam.name);
    comp.timer = setTimeout(() => {
      comp.timer = undefined;
      if (comp.over) return;
      this.server.log.verbose(
        "plugin:ferricstore.fetch_or_compute",
        `computation of key ${JSON.stringify(comp.key)} timed out after ${ms} ms`,
      );
      this.handOver(comp);
    }, ms);
  }

  /** Passes a computation to the first client still waiting, or ends it. */
  handOver(comp: Computation): void {
    clearTimeout(comp.timer);
    const blocking = this.server.blocking;
    while (comp.waiters.length > 0) {
      const w = comp.waiters.shift()!;
      if (!blocking.isBlocked(w.client)) continue;
      comp.owner = w.client;
      this.lease(comp);
      // The waiter's attempt sees that it owns the computation now.
      blocking.signalKeyReady(comp.db, comp.key);
      blocking.handleReady();
      return;
    }
    this.end(comp);
  }

  /** Ends a computation (its waiters are served by the change that ended it). */
  end(comp: Computation): void {
    comp.over = true;
    clearTimeout(comp.timer);
    comp.timer = undefined;
    if (this.running.get(comp.id) === comp) this.running.delete(comp.id);
  }

  close(): void {
    for (const comp of this.running.values()) clearTimeout(comp.timer);
    this.running.clear();
  }
}

const coordinators = new WeakMap<Server, Coordinator>();

function coordinator(server: Server): Coordinator {
  const c = coordinators.get(server);
  if (c === undefined) throw err("ERR the fetch_or_compute plugin is not loaded on this server");
  return c;
}

const HIT = "hit";
const COMPUTE = "compute";
const EMPTY = new Uint8Array(0);

/** FETCH_OR_COMPUTE, FETCH_OR_COMPUTE_RESULT and FETCH_OR_COMPUTE_ERROR. */
export const fetchOrComputeCommands = [
  defineCommand({
    name: "fetch_or_compute",
    arity: -3,
    flags: ["readonly", "blocking"],
    categories: ["string"],
    group: "string",
    summary:
      "Returns a key's value, or tells exactly one of the callers that miss it to compute it while the others wait.",
    since: "0.1.0",
    complexity: "O(1)",
    keys: [keys.one(1, "RO", "ACCESS")],
    arguments: [
      { name: "key", type: "key", key_spec_index: 0 },
      { name: "ttl_ms", type: "integer" },
      { name: "hint", type: "string", flags: ["optional"] },
    ],
    /** FETCH_OR_COMPUTE key ttl_ms [hint] */
    handler(ctx, argv) {
      if (argv.length > 4) throw Errors.syntax;
      ttlArg(argv[2], 1, ctx.db.now, "fetch_or_compute");
      const coord = coordinator(ctx.server);
      const key = latin1(argv[1]);
      const db = ctx.db;
      const e = db.get(key);
      if (e !== undefined) return [HIT, stringValue(e)];
      const hint = argv.length === 4 ? copyBytes(argv[3]) : EMPTY;
      const client = ctx.client;
      const id = `${db.index}:${key}`;
      let comp = coord.running.get(id);
      if (comp === undefined || comp.owner === client) {
        if (comp === undefined) {
          comp = {
            id,
            db: db.index,
            key,
            owner: client,
            timer: undefined,
            failed: null,
            over: false,
            waiters: [],
          };
          coord.running.set(id, comp);
        }
        coord.lease(comp);
        return [COMPUTE, hint];
      }
      const server = ctx.server;
      if (server.blocking.denied(client)) {
        return err(
          "ERR FETCH_OR_COMPUTE cannot wait for another client's computation inside a transaction",
        );
      }
      const running = comp;
      const me: Waiting = { client, hint };
      running.waiters.push(me);
      const base = {
        server,
        client,
        db: server.keyspace.dbs[db.index],
        command: ctx.command,
      };
      const reply = server.blocking.block(base, {
        keys: [key],
        deadline: 0,
        timeoutReply: null,
        attempt: (ready): Reply | undefined => {
          if (ready === null) return undefined; // the handler already knows it must wait
          if (running.failed !== null) return running.failed;
          const e = db.get(key);
          if (e !== undefined) {
            return e.value instanceof Uint8Array ? [HIT, e.value] : Errors.wrongType;
          }
          if (running.owner === client && !running.over) return [COMPUTE, me.hint];
          return undefined;
        },
      });
      const remove = () => {
        const i = running.waiters.indexOf(me);
        if (i >= 0) running.waiters.splice(i, 1);
      };
      if (!(reply instanceof Promise)) {
        remove();
        return reply;
      }
      return reply.finally(remove);
    },
  }),
  defineCommand({
    name: "fetch_or_compute_result",
    arity: 4,
    flags: ["write", "denyoom"],
    categories: ["string"],
    group: "string",
    summary: "Stores a computed value for FETCH_OR_COMPUTE and wakes the clients waiting for it.",
    since: "0.1.0",
    complexity: "O(N) where N is the number of waiting clients",
    keys: [keys.one(1, "OW", "UPDATE")],
    arguments: [
      { name: "key", type: "key", key_spec_index: 0 },
      { name: "value", type: "string" },
      { name: "ttl_ms", type: "integer" },
    ],
    /** FETCH_OR_COMPUTE_RESULT key value ttl_ms */
    handler(ctx, argv) {
      const db = ctx.db;
      const at = ttlArg(argv[3], 1, db.keyspace.now, "fetch_or_compute_result");
      const coord = coordinator(ctx.server);
      const key = latin1(argv[1]);
      db.set(key, copyBytes(argv[2]), at);
      db.notify("$", "set", key);
      db.notify("g", "expire", key);
      const comp = coord.running.get(`${db.index}:${key}`);
      if (comp !== undefined) coord.end(comp);
      return ctx.durable(OK, [key]);
    },
  }),
  defineCommand({
    name: "fetch_or_compute_error",
    arity: 3,
    flags: ["write", "fast"],
    categories: ["string"],
    group: "string",
    summary: "Reports a failed FETCH_OR_COMPUTE computation to the clients waiting for it.",
    since: "0.1.0",
    complexity: "O(N) where N is the number of waiting clients",
    keys: [keys.one(1, "RW", "UPDATE")],
    arguments: [
      { name: "key", type: "key", key_spec_index: 0 },
      { name: "message", type: "string" },
    ],
    /** FETCH_OR_COMPUTE_ERROR key message */
    handler(ctx, argv) {
      const coord = coordinator(ctx.server);
      const db = ctx.db;
      const key = latin1(argv[1]);
      const comp = coord.running.get(`${db.index}:${key}`);
      if (comp !== undefined) {
        comp.failed = new RespError(`ERR compute failed: ${latin1(argv[2])}`);
        coord.end(comp);
        // The waiters are served after this command (the server's command hooks).
        ctx.server.blocking.signalKeyReady(db.index, key);
      }
      return OK;
    },
  }),
];

/** The native plugin that adds FETCH_OR_COMPUTE and its companions. */
export default definePlugin({
  name: "ferricstore.fetch_or_compute",
  version: "0.1.0",
  commands: fetchOrComputeCommands,
  onLoad({ server }) {
    if (!server.config.def(computeTimeoutParam.name)) server.config.define(computeTimeoutParam);
    const coord = new Coordinator(server);
    coordinators.set(server, coord);
    server.disconnectHooks.push(coord.onDisconnect);
  },
  onUnload({ server }) {
    const coord = coordinators.get(server);
    if (coord === undefined) return;
    coord.close();
    const hooks = server.disconnectHooks;
    const i = hooks.indexOf(coord.onDisconnect);
    if (i >= 0) hooks.splice(i, 1);
    coordinators.delete(server);
  },
});
