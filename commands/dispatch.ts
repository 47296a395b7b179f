/**
 * The one command pipeline. Every command, from a socket, a transaction or a plugin, passes here:
 *
 *   lookup ─► subcommand ─► arity ─► auth ─► gates (ACL …) ─► loading ─► OOM ─► disk error
 *     ─► no_multi ─► pause ─► MULTI queue ─► handler(ctx, argv) ─► stats
 *
 * Handlers hold no policy; rejections are answered here with Redis's texts.
 *
 * @module
 */
import { NO_REPLY, QUEUED, type Reply, RespError, settled } from "../protocol/reply.ts";
import type { Client } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import { EPOCH_OFFSET, monotonicMs } from "../engine/clock.ts";
import { copyBytes, latin1 } from "./args.ts";
import { Errors, unknownCommand, unknownSubcommand, wrongArity } from "./errors.ts";
import type { Command, CommandContext } from "./spec.ts";

/** What dispatch produces: a reply, nothing (CLIENT REPLY OFF), or a reply to wait for. */
export type DispatchResult = Reply | typeof NO_REPLY | Promise<Reply | typeof NO_REPLY>;

/** A policy hook that may refuse a command before it runs (ACL, subscribed mode, shutdown …). */
export interface CommandGate {
  /**
   * Returns an error to refuse the command, a reply to answer instead of running it (QUEUED),
   * or undefined to let it run.
   */
  check(client: Client, cmd: Command, argv: Uint8Array[]): Reply | undefined;
  /** Told about every rejection (MULTI marks its transaction aborted). */
  rejected?(client: Client, error: RespError): void;
}

function resolve(server: Server, argv: Uint8Array[]): Command | RespError {
  const cmd = server.registry.lookup(argv[0]);
  if (cmd === undefined) {
    return unknownCommand(latin1(argv[0]), argv.slice(1).map(latin1));
  }
  if (cmd.subcommands === undefined) return cmd;
  // A container with a handler of its own (COMMAND) runs it when no subcommand is named.
  if (argv.length < 2) return cmd.handler ? cmd : wrongArity(cmd.fullName);
  const subName = latin1(argv[1]).toLowerCase();
  const sub = cmd.subcommands.get(subName);
  if (sub !== undefined) return sub;
  return unknownSubcommand(latin1(argv[1]), cmd.name);
}

// Clock reads cost as much as a small command (engine/clock.ts). Within one synchronous run of
// commands (a read batch), a command starts when the previous one ended, so each command reads
// the clock once; the first command of a run, and any after an await, reads it itself.
let lastReading = 0;
let readingFresh = false;
const staleReading = () => readingFresh = false;

function clockNow(): number {
  return readingFresh ? lastReading : monotonicMs();
}

function clockEnd(): number {
  lastReading = monotonicMs();
  if (!readingFresh) {
    readingFresh = true;
    queueMicrotask(staleReading);
  }
  return lastReading;
}

/**
 * Reads the clock when a batch of requests arrives and returns it as ms since the epoch: the
 * batch's first command starts at this reading, so the arrival costs no clock read of its own.
 */
export function batchArrived(): number {
  return EPOCH_OFFSET + clockEnd();
}

/** Commands that wait for something to happen without the "blocking" flag (as in Redis). */
const WAITING = new Set(["wait", "waitaof", "shutdown"]);

/** Commands MULTI still takes over maxmemory (as in Redis). */
const TX_CONTROL_OOM = new Set(["exec", "discard", "quit", "reset"]);

/** Redis's answer to writes after its AOF could not be written, with the OS's reason. */
function diskError(failure: Error): RespError {
  const cause = failure.cause instanceof Error ? failure.cause.message : failure.message;
  return new RespError(
    `MISCONF Errors writing to the AOF file: ${cause.replace(/ \(os error \d+\)$/, "")}`,
  );
}

/** Commands that run at once inside MULTI instead of being queued (as in Redis). */
const TX_CONTROL = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);

function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

/** Runs one command line for a client. */
export function dispatch(server: Server, client: Client, argv: Uint8Array[]): DispatchResult {
  // Another client's transaction is waiting for one of its commands: EXEC is atomic.
  const exclusive = server.exclusive;
  if (exclusive !== null && exclusive.client !== client) {
    return exclusive.done.then(() => settled(redispatch(server, client, argv)));
  }
  const found = resolve(server, argv);
  if (found instanceof RespError) {
    client.lastCommand = "NULL"; // as Redis's lastcmd after a failed lookup
    return reject(server, client, null, found);
  }
  const cmd = found;
  // The command being run, refused or not (CLIENT LIST's cmd=, ACL LOG's client-info).
  client.lastCommand = cmd.fullName;
  if (!arityOk(cmd.arity, argv.length)) {
    return reject(server, client, cmd, wrongArity(cmd.fullName));
  }
  if (!client.authenticated && !cmd.flags.has("no_auth")) {
    return reject(server, client, cmd, Errors.noAuth);
  }
  const checks = server.gateChecks;
  for (let i = 0; i < checks.length; i++) {
    const answer = checks[i](client, cmd, argv);
    if (answer !== undefined) {
      if (answer instanceof RespError) return reject(server, client, cmd, answer);
      return answer;
    }
  }
  if (server.loading && !cmd.flags.has("loading")) {
    return reject(server, client, cmd, Errors.loading);
  }
  const tx = client.tx;
  const queued = cmd.name === "exec" ? tx?.queue : undefined;
  // Over maxmemory, as Redis: commands that may add data, EXEC of a transaction holding one, and
  // anything queued in MULTI (the queue itself takes memory).
  if (
    (cmd.flags.has("denyoom") || (tx !== null && !TX_CONTROL_OOM.has(cmd.name)) ||
      queued?.some((q) => q.cmd.flags.has("denyoom"))) && server.memory.overLimit()
  ) {
    return reject(server, client, cmd, Errors.oom);
  }
  // A log that cannot be written takes no more writes (nor PINGs, which Redis refuses too so
  // that health checks notice), as Redis answers after a failed AOF write.
  if (cmd.isWrite || cmd.name === "ping" || queued?.some((q) => q.cmd.isWrite)) {
    const failure = server.engine?.log.failure;
    if (failure) return reject(server, client, cmd, diskError(failure));
  }
  if (tx !== null && cmd.flags.has("no_multi")) {
    return reject(
      server,
      client,
      cmd,
      new RespError("ERR Command not allowed inside a transaction"),
    );
  }
  // A pause holds a write back before it is queued, and EXEC of a transaction that writes, as
  // Redis does: CLIENT PAUSE WRITE must stop every write, transactions included.
  if (server.pause.blocks(cmd, tx?.queue)) {
    return server.pause.hold(client).then(() => settled(redispatch(server, client, argv)));
  }
  if (tx !== null && !TX_CONTROL.has((cmd.parent ?? cmd).name)) {
    // Copies cut from slabs: a buffer of its own per argument costs ~700 ns in Deno.
    tx.queue.push({ cmd, argv: argv.map((a) => copyBytes(a)) });
    return QUEUED;
  }
  return call(server, client, cmd, argv);
}

/**
 * Dispatches a command that was held (CLIENT PAUSE, another client's waiting transaction),
 * unless its client disconnected meanwhile: its disconnect hooks have run, and a blocking
 * command would leave a waiter nobody cleans up (taking pushed elements with it).
 */
function redispatch(server: Server, client: Client, argv: Uint8Array[]): DispatchResult {
  if (client.closing) return NO_REPLY;
  return dispatch(server, client, argv);
}

/** Runs a command that passed every check (also used by EXEC for queued commands). */
export function call(
  server: Server,
  client: Client,
  cmd: Command,
  argv: Uint8Array[],
): DispatchResult {
  const ks = server.keyspace;
  const started = clockNow();
  // One clock reading serves the command's wall time (Redis's cached mstime) and its duration.
  ks.now = Math.floor(EPOCH_OFFSET + started);
  ks.noTouch = client.noTouch && cmd.name !== "touch";
  // The client whose command runs (tracking's NOLOOP, replies before pushes); null again after
  // it, so changes made between commands (active expiry) are nobody's.
  const previous = server.currentClient;
  server.currentClient = client;
  const ctx: CommandContext = { server, client, db: ks.dbs[client.db], command: cmd };
  // Commands run by EXEC leave EXEC as the client's last command, as in Redis.
  if (!client.inExec) client.lastCommand = cmd.fullName;
  let result: Reply | typeof NO_REPLY | Promise<Reply | typeof NO_REPLY>;
  const log = ks.log;
  // One command's effects form one batch: recovery applies all of them or none.
  log.begin?.();
  try {
    result = cmd.handler!(ctx, argv);
  } catch (e) {
    result = handlerError(server, cmd, e);
  } finally {
    log.end?.();
  }
  if (result instanceof Promise) {
    // A command that waited (blocking pops, WAIT): its time includes the wait, which is not
    // execution time, so the latency histogram leaves it out, as Redis's does.
    server.currentClient = previous;
    // One still at work (an async plugin command, SAVE) is waited for by a graceful shutdown;
    // one waiting for something to happen (blocking pops, WAIT) is not.
    const working = !cmd.flags.has("blocking") && !WAITING.has(cmd.name);
    if (working) server.commandsRunning++;
    // A command at work (not waiting) counts in the latency histogram as one that ran at once.
    return result.then(
      (r) => finish(server, client, cmd, argv, started, r, working),
      (e) => finish(server, client, cmd, argv, started, handlerError(server, cmd, e), working),
    ).finally(() => {
      if (working) server.commandsRunning--;
    });
  }
  const reply = finish(server, client, cmd, argv, started, result, true);
  server.currentClient = previous;
  return reply;
}

function handlerError(server: Server, cmd: Command, e: unknown): RespError {
  if (e instanceof RespError) return e;
  server.log.warning("dispatch", `command '${cmd.fullName}' failed: ${(e as Error)?.stack ?? e}`);
  return new RespError(`ERR ${(e as Error)?.message ?? String(e)}`);
}

function finish(
  server: Server,
  client: Client,
  cmd: Command,
  argv: Uint8Array[],
  started: number,
  r: Reply | typeof NO_REPLY,
  ranAtOnce: boolean,
): Reply | typeof NO_REPLY {
  const usec = (clockEnd() - started) * 1000;
  const st = cmd.stats;
  st.calls++;
  st.usec += usec;
  if (ranAtOnce && server.latencyTracking) st.histogram.record(usec);
  server.stats.commands++;
  if (r instanceof RespError) {
    st.failed++;
    server.stats.countError(r);
  }
  server.afterCommand(client, cmd, argv, usec, !ranAtOnce);
  return r;
}

function reject(server: Server, client: Client, cmd: Command | null, e: RespError): RespError {
  if (cmd) cmd.stats.rejected++;
  for (const rejected of server.gateRejections) rejected(client, e);
  if (cmd?.name === "exec") {
    // EXEC itself refused (arity, NOAUTH, ACL) discards the transaction, if any, and says so, as
    // in Redis.
    client.tx = null;
    server.watches.unwatchAll(client);
    const why = e.message.startsWith("ERR ") ? e.message.slice(4) : e.message;
    e = new RespError(`EXECABORT Transaction discarded because of: ${why}`);
  } else if (client.tx !== null) {
    // A command refused while queuing makes the transaction fail with EXECABORT.
    client.tx.aborted = true;
  }
  // A refused command uses up CLIENT CACHING as a command that ran does (Redis's resetClient),
  // unless it was queued or a CLIENT command.
  const t = client.tracking;
  if (t !== null && client.tx === null && (cmd?.parent ?? cmd)?.name !== "client") {
    t.caching = null;
  }
  server.stats.countError(e);
  return e;
}
