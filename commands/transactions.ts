/**
 * Transactions: MULTI EXEC DISCARD WATCH UNWATCH. Queueing happens in dispatch (commands sent
 * after MULTI answer +QUEUED; a command refused while queuing aborts the transaction); EXEC runs
 * the queue without letting any other client's command in between, and its effects reach the
 * log as one batch.
 *
 * @module
 */
import { Frames, inMemory, NULL_ARRAY, OK, type Reply, RespError } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import type { Client } from "../server/client.ts";
import { latin1 } from "./args.ts";
import { call } from "./dispatch.ts";
import { type CommandSpec, keys } from "./spec.ts";

const EXEC_ABORT = new RespError("EXECABORT Transaction discarded because of previous errors.");

function unwatch(server: Server, client: Client): void {
  server.watches.unwatchAll(client);
}

/**
 * Runs the queued commands of `client`'s transaction as one atomic step: synchronously, or, when
 * a queued command has to wait (an async plugin command, ACL LOAD), with every other client's
 * commands and the cron's active expiry held back until the transaction ends
 * ({@link Server.exclusive}). Its effects are one log batch either way.
 */
function exec(server: Server, client: Client): Reply | Promise<Reply> {
  const tx = client.tx!;
  client.tx = null;
  if (tx.aborted) {
    unwatch(server, client);
    return EXEC_ABORT;
  }
  // A watched key that expired since WATCH is a change too (checked, not deleted, as Redis's
  // isWatchedKeyExpired).
  let dirty = client.watchDirty;
  for (const [k, expiredAtWatch] of client.watched) {
    if (dirty) break;
    const bar = k.indexOf("|");
    const db = server.keyspace.dbs[Number(k.slice(0, bar))];
    if (!expiredAtWatch && db.expiredInPlace(k.slice(bar + 1))) dirty = true;
  }
  unwatch(server, client);
  if (dirty) return NULL_ARRAY;
  const replies: Reply[] = [];
  const queue = tx.queue;
  const log = server.keyspace.log;
  let release: (() => void) | null = null;
  let i = 0;
  const run = (): Reply | Promise<Reply> => {
    for (; i < queue.length; i++) {
      // The ACL rules may have changed since the command was queued.
      const denied = server.acl.recheck(client, queue[i].cmd, queue[i].argv);
      if (denied) {
        server.stats.countError(denied);
        add(denied);
        continue;
      }
      const r = call(server, client, queue[i].cmd, queue[i].argv);
      if (r instanceof Promise) {
        i++;
        if (release === null) {
          server.exclusive = { client, done: new Promise((resolve) => release = resolve) };
        }
        return r.then((v) => {
          add(v);
          return run();
        });
      }
      add(r);
    }
    return replies;
  };
  // A large cold value is read into memory here: only a whole reply can be streamed. A HELLO in
  // the transaction switches protocols from its own reply on: the replies before it keep theirs.
  let proto = client.resp;
  let pinned = 0;
  const add = (r: Parameters<typeof inMemory>[0]) => {
    if (client.resp !== proto) {
      for (; pinned < replies.length; pinned++) {
        replies[pinned] = new Frames([replies[pinned]], proto);
      }
      proto = client.resp;
    }
    replies.push(inMemory(r));
  };
  const end = () => {
    log.end?.();
    client.inExec = false;
    server.keyspace.execTime = 0;
    if (release !== null) {
      server.exclusive = null;
      release();
    }
  };
  // The batch stays open across a wait (dispatch closes only its own level after EXEC returns).
  log.begin?.();
  client.inExec = true;
  client.execQueued = queue.length;
  server.keyspace.execTime = server.keyspace.now;
  let result: Reply | Promise<Reply>;
  try {
    result = run();
  } catch (e) {
    end();
    throw e;
  }
  if (result instanceof Promise) return result.finally(end);
  end();
  return result;
}

const tx = (
  name: string,
  arity: number,
  flags: CommandSpec["flags"],
  summary: string,
  since: string,
  complexity: string,
  handler: CommandSpec["handler"],
  keySpecs?: CommandSpec["keys"],
): CommandSpec => ({
  name,
  arity,
  flags,
  categories: ["transaction"],
  group: "transactions",
  summary,
  since,
  complexity,
  keys: keySpecs,
  handler,
});

/** The transaction family's commands. */
export const transactionCommands: CommandSpec[] = [
  tx(
    "multi",
    1,
    ["noscript", "loading", "stale", "fast", "allow_busy"],
    "Starts a transaction.",
    "1.2.0",
    "O(1)",
    /** MULTI */
    (ctx) => {
      if (ctx.client.tx !== null) return new RespError("ERR MULTI calls can not be nested");
      ctx.client.tx = { queue: [], aborted: false };
      return OK;
    },
  ),
  tx(
    "exec",
    1,
    ["noscript", "loading", "stale", "skip_slowlog"],
    "Executes all commands in a transaction.",
    "1.2.0",
    "Depends on commands in the transaction",
    /** EXEC */
    (ctx) => {
      if (ctx.client.tx === null) return new RespError("ERR EXEC without MULTI");
      return exec(ctx.server, ctx.client);
    },
  ),
  tx(
    "discard",
    1,
    ["noscript", "loading", "stale", "fast", "allow_busy"],
    "Discards a transaction.",
    "2.0.0",
    "O(N), when N is the number of queued commands",
    /** DISCARD */
    (ctx) => {
      if (ctx.client.tx === null) return new RespError("ERR DISCARD without MULTI");
      ctx.client.tx = null;
      unwatch(ctx.server, ctx.client);
      return OK;
    },
  ),
  tx(
    "watch",
    -2,
    ["noscript", "loading", "stale", "fast", "allow_busy"],
    "Monitors changes to keys to determine the execution of a transaction.",
    "2.2.0",
    "O(1) for every key.",
    /** WATCH key [key ...] */
    (ctx, argv) => {
      if (ctx.client.tx !== null) return new RespError("ERR WATCH inside MULTI is not allowed");
      for (let i = 1; i < argv.length; i++) {
        const key = latin1(argv[i]);
        // As Redis: a key whose TTL passed but is not reclaimed yet is noted as such (its
        // deletion later is no change), and not deleted.
        ctx.server.watches.watch(ctx.client, ctx.client.db, key, ctx.db.expiredInPlace(key));
      }
      return OK;
    },
    [keys.range(1, -1, 1, "RO")],
  ),
  tx(
    "unwatch",
    1,
    ["noscript", "loading", "stale", "fast", "allow_busy"],
    "Forgets about watched keys of a transaction.",
    "2.2.0",
    "O(1)",
    /** UNWATCH */
    (ctx) => {
      unwatch(ctx.server, ctx.client);
      return OK;
    },
  ),
];
