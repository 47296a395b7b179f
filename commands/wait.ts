/**
 * WAIT and WAITAOF: what a client may wait for after its writes. FerricStore has no replicas, so
 * no replica ever acknowledges (as on a Redis without replicas: WAIT answers 0, at once when no
 * replica is asked for, else when the timeout ends). The local log is FerricStore's AOF: WAITAOF
 * with numlocal 1 answers once every write so far is fdatasynced, which for `async` namespaces
 * forces the fdatasync their commit window would otherwise delay.
 *
 * @module
 */
import type { Reply } from "../protocol/reply.ts";
import { int64Arg } from "./args.ts";
import { Errors, RespError } from "./errors.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

const timeoutNotInteger = new RespError("ERR timeout is not an integer or out of range");

/** A timeout in milliseconds (0: forever) as an absolute deadline, 0 for none. */
function deadlineOf(ctx: CommandContext, arg: Uint8Array): number {
  const ms = int64Arg(arg, timeoutNotInteger);
  if (ms < 0) throw Errors.timeoutNegative;
  return ms === 0 ? 0 : ctx.server.keyspace.now + Number(ms);
}

/** Blocks until the deadline (no replica will acknowledge), then answers `reply()`. */
function waitForReplicas(
  ctx: CommandContext,
  deadline: number,
  reply: () => Reply,
): Reply | Promise<Reply> {
  const blocked = ctx.server.blocking.block(ctx, {
    keys: [],
    deadline,
    attempt: () => undefined,
    timeoutReply: null,
  });
  // Answered when the wait ends (timeout, CLIENT UNBLOCK) or at once where it may not block.
  // (CLIENT UNBLOCK ... ERROR answers its error instead.)
  return blocked instanceof Promise
    ? blocked.then((r) => r instanceof RespError ? r : reply())
    : reply();
}

export const waitCommands: CommandSpec[] = [
  {
    name: "wait",
    arity: 3,
    flags: ["noscript"],
    categories: ["connection"],
    group: "generic",
    summary:
      "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
    since: "3.0.0",
    complexity: "O(1)",
    tips: ["request_policy:all_shards", "response_policy:agg_min"],
    differences:
      "FerricStore has no replicas: WAIT answers 0, after the timeout when numreplicas > 0.",
    /** WAIT numreplicas timeout */
    handler(ctx, argv) {
      const replicas = int64Arg(argv[1]);
      const deadline = deadlineOf(ctx, argv[2]);
      if (replicas <= 0) return 0;
      return waitForReplicas(ctx, deadline, () => 0);
    },
  },
  {
    name: "waitaof",
    arity: 4,
    flags: ["noscript"],
    categories: ["connection"],
    group: "generic",
    summary:
      "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
    since: "7.2.0",
    complexity: "O(1)",
    tips: ["request_policy:all_shards", "response_policy:agg_min"],
    differences:
      "The local log is FerricStore's append-only file; the local acknowledgement covers every write so far, not only the connection's. No replicas: the second count is always 0.",
    /** WAITAOF numlocal numreplicas timeout */
    handler(ctx, argv) {
      const local = int64Arg(argv[1]);
      if (local < 0 || local > 1) {
        return new RespError("ERR value is out of range, value must between 0 and 1");
      }
      const replicas = int64Arg(argv[2]);
      if (replicas < 0) return new RespError("ERR value is out of range, must be positive");
      const deadline = deadlineOf(ctx, argv[3]);
      const log = ctx.server.keyspace.log;
      if (local === 1 && log.flushAll === undefined) {
        return new RespError(
          "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
        );
      }
      // Local acknowledgement: 1 once every write so far (the connection's among them) is on
      // disk. Without numlocal it is only reported, as it stands.
      let acked = log.synced?.() ? 1 : 0;
      const acks = (): Reply => [acked, 0];
      const mayBlock = !ctx.client.inExec && !ctx.server.blocking.inAtomic;
      if ((local === 0 || acked === 1) && replicas === 0) return acks();
      if (!mayBlock) return acks();
      // The fdatasync starts now. Replicas never answer: with numreplicas > 0 the timeout ends
      // the wait; without, the fdatasync does (or the timeout, if it comes first).
      const synced = local === 1 ? log.flushAll!().then(() => acked = 1) : Promise.resolve();
      if (replicas > 0) {
        synced.catch(() => {}); // a failed log answers every later write with its error
        return waitForReplicas(ctx, deadline, acks);
      }
      const done = synced.then(acks, (e: Error) => new RespError(`ERR ${e.message}`));
      if (deadline === 0) return done;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<Reply>((resolve) =>
        timer = setTimeout(() => resolve(acks()), Math.max(0, deadline - Date.now()))
      );
      return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    },
  },
];
