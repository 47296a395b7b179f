/**
 * Graceful shutdown, for SHUTDOWN, SIGTERM and SIGINT alike:
 *
 * 1. not ready: {@link isShuttingDown} turns true (the readiness probe answers 503), and commands
 *    that arrive from now on are held (they run if the shutdown is aborted, never otherwise);
 * 2. stop accepting connections;
 * 3. finish in-flight commands: every shard log is flushed and fdatasync'ed, so the replies that
 *    wait for their writes to be durable go out, and connections get a moment to send them
 *    (skipped with NOW);
 * 4. with SAVE, compact every shard; then a final flush and fdatasync of every shard;
 * 5. close every connection and the engine (which flushes again and releases the data dir lock).
 *
 * An aborted or failed shutdown releases the held commands and listens again.
 *
 * The whole sequence is bounded by `shutdown-timeout` seconds for the waits of step 3. A failed
 * flush or save stops the shutdown (the server keeps running) unless FORCE is given. Nothing here
 * exits the process: the promise resolves and `main.ts` exits.
 *
 * @module
 */
import type { CommandGate } from "../commands/dispatch.ts";
import { dispatch } from "../commands/dispatch.ts";
import type { Command } from "../commands/spec.ts";
import { NO_REPLY, type Reply, RespError, settled } from "../protocol/reply.ts";
import type { Client } from "./client.ts";
import type { Server } from "./server.ts";

/** SHUTDOWN's flags. */
export interface ShutdownOptions {
  /** Compact every shard before exiting (SHUTDOWN SAVE). */
  save?: boolean;
  /** Never compact (SHUTDOWN NOSAVE); the log is still flushed: acknowledged data is kept. */
  nosave?: boolean;
  /** Do not wait for in-flight replies to be sent (SHUTDOWN NOW). */
  now?: boolean;
  /** Close even if flushing or saving fails (SHUTDOWN FORCE). */
  force?: boolean;
  /** Who asked, for the log ("SIGTERM", "SHUTDOWN from id=7 addr=…"). */
  reason?: string;
}

/** How a shutdown ended. */
export interface ShutdownResult {
  /** True when the server is closed. */
  closed: boolean;
  /** Set when the shutdown stopped and the server keeps running. */
  error?: "aborted" | "failed";
}

type Phase = "running" | "draining" | "closing" | "closed";

interface ShutdownState {
  phase: Phase;
  promise: Promise<ShutdownResult> | null;
  aborted: boolean;
  /** Commands that arrived while draining: released on abort. */
  held: (() => void)[];
  gateInstalled: boolean;
  /** When the last shutdown failed (0: it did not): a signal soon after closes at once. */
  failedAt: number;
}

const states = new WeakMap<Server, ShutdownState>();

function stateOf(server: Server): ShutdownState {
  let st = states.get(server);
  if (st === undefined) {
    st = {
      phase: "running",
      promise: null,
      aborted: false,
      held: [],
      gateInstalled: false,
      failedAt: 0,
    };
    states.set(server, st);
  }
  return st;
}

/**
 * True from the moment a shutdown starts (readiness probes answer "not ready"), and while the
 * server closes.
 *
 * @example
 * ```ts
 * import { isShuttingDown } from "./shutdown.ts";
 * import { startServer } from "./server.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, "data-dir": dataDir });
 * console.assert(!isShuttingDown(server));
 * await server.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export function isShuttingDown(server: Server): boolean {
  const phase = states.get(server)?.phase ?? "running";
  return phase !== "running" || server.shuttingDown;
}

/** True while a shutdown is under way but can still be aborted (SHUTDOWN ABORT). */
export function shutdownInProgress(server: Server): boolean {
  return states.get(server)?.phase === "draining";
}

/**
 * Cancels a shutdown in progress (SHUTDOWN ABORT); false when there is none or it is past the
 * point of no return. Held commands then run.
 */
export function abortShutdown(server: Server): boolean {
  const st = states.get(server);
  if (st === undefined || st.phase !== "draining") return false;
  st.aborted = true;
  return true;
}

/**
 * The gate that holds commands arriving during a shutdown: they wait, and run only if the
 * shutdown is aborted. SHUTDOWN itself passes (SHUTDOWN ABORT must reach the server).
 */
function holdGate(server: Server, st: ShutdownState): CommandGate {
  return {
    check(client: Client, cmd: Command, argv: Uint8Array[]): Reply | undefined {
      if (st.phase === "running") return undefined;
      if ((cmd.parent ?? cmd).name === "shutdown") return undefined;
      // A call made by a command already running (a plugin's ctx.call) is part of that command,
      // which the shutdown waits for: holding it would stall both. Past the drain (the wait
      // timed out) the engine is closing or closed: nothing may run any more.
      if (client.inExec) {
        return st.phase === "draining"
          ? undefined
          : new RespError("ERR the server is shutting down") as unknown as Reply;
      }
      // Past the point of no return: the connection is about to close, the command never runs.
      if (st.phase !== "draining") return NO_REPLY as unknown as Reply;
      const copy = argv.map((a) => new Uint8Array(a));
      const held = new Promise<Reply | typeof NO_REPLY>((resolve) => {
        st.held.push(() => {
          if (st.phase === "running") resolve(settled(dispatch(server, client, copy)));
          else resolve(NO_REPLY);
        });
      });
      // Dispatch hands a gate's answer back as the command's result; a promise makes the
      // connection wait for it, as it waits for CLIENT PAUSE.
      return held as unknown as Reply;
    },
  };
}

function releaseHeld(st: ShutdownState): void {
  const held = st.held;
  st.held = [];
  for (const run of held) run();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Shuts the server down gracefully (see the module documentation). Calling it again while a
 * shutdown runs returns the same promise. Resolves when the server is closed, or when the
 * shutdown stopped (aborted, or a flush/save failed without FORCE) and the server keeps running.
 */
export function shutdown(server: Server, opts: ShutdownOptions = {}): Promise<ShutdownResult> {
  const st = stateOf(server);
  if (st.promise) return st.promise;
  if (server.shuttingDown) {
    return server.closed.then(() => ({ closed: true }));
  }
  st.promise = run(server, st, opts).finally(() => st.promise = null);
  return st.promise;
}

async function run(
  server: Server,
  st: ShutdownState,
  opts: ShutdownOptions,
): Promise<ShutdownResult> {
  const log = server.log;
  const started = Date.now();
  const deadline = started + server.config.int("shutdown-timeout") * 1000;
  st.phase = "draining";
  st.aborted = false;
  if (!st.gateInstalled) {
    server.addGate(holdGate(server, st));
    st.gateInstalled = true;
  }
  log.warning("shutdown", `${opts.reason ?? "User requested shutdown"}: shutting down...`);
  const stopAccepting = (server as unknown as { stopAccepting?: () => void }).stopAccepting;
  stopAccepting?.call(server);

  const stop = (error: "aborted" | "failed"): ShutdownResult => {
    st.phase = "running";
    st.failedAt = error === "failed" ? Date.now() : 0;
    log.warning(
      "shutdown",
      error === "aborted"
        ? "Shutdown manually aborted."
        : "Errors trying to shut down the server. Check the logs above. Shutdown aborted " +
          "(SHUTDOWN FORCE, or another SIGTERM/SIGINT, closes without them).",
    );
    releaseHeld(st);
    // The server keeps running: it takes new connections again.
    const resume = (server as unknown as { resumeAccepting?: () => Promise<void> }).resumeAccepting;
    resume?.call(server);
    return { closed: false, error };
  };

  // A second signal may close the server while this waits (shutdownOnSignal).
  const overtaken = () => st.phase !== "draining";
  const closedMeanwhile = async (): Promise<ShutdownResult> => {
    await server.closed;
    return { closed: true };
  };

  const engine = server.engine;
  // 3. In-flight commands: those still at work finish (bounded by the deadline), their writes
  // reach the disk, their replies the sockets.
  while (server.commandsRunning > 0 && Date.now() < deadline && !st.aborted && !overtaken()) {
    await sleep(5);
  }
  if (overtaken()) return closedMeanwhile();
  if (st.aborted) return stop("aborted");
  if (engine) {
    try {
      await bounded(engine.log.flushAll(), deadline);
    } catch (e) {
      if (overtaken()) return closedMeanwhile();
      log.warning("shutdown", `flushing the logs failed: ${(e as Error).message}`);
      if (!opts.force) return stop("failed");
    }
  }
  if (!opts.now) {
    while (Date.now() < deadline && !st.aborted && !overtaken()) {
      let pending = 0;
      for (const c of server.clients.values()) pending += c.transport.outputPending();
      if (pending === 0) break;
      await sleep(5);
    }
  }
  if (overtaken()) return closedMeanwhile();
  if (st.aborted) return stop("aborted");

  // 4. SAVE: compact every shard. Then the final flush and fdatasync.
  if (engine && opts.save && !opts.nosave) {
    log.notice("shutdown", "Saving: compacting every shard before exiting.");
    const ok = await compactAll(server).catch((e) => {
      log.warning("shutdown", `saving failed: ${(e as Error).message}`);
      return false;
    });
    if (overtaken()) return closedMeanwhile();
    if (!ok && !opts.force) return stop("failed");
    if (ok) log.notice("shutdown", "Every shard compacted.");
  }
  if (st.aborted) return stop("aborted");
  if (engine) {
    try {
      await engine.log.flushAll();
    } catch (e) {
      if (overtaken()) return closedMeanwhile();
      log.warning("shutdown", `flushing the logs failed: ${(e as Error).message}`);
      if (!opts.force) return stop("failed");
    }
  }

  if (overtaken()) return closedMeanwhile();
  // 5. Past the point of no return.
  st.phase = "closing";
  releaseHeld(st);
  log.warning(
    "shutdown",
    `FerricStore is now ready to exit, bye bye... (${Date.now() - started} ms to drain and flush)`,
  );
  await server.close();
  st.phase = "closed";
  return { closed: true };
}

/** Waits for `p`, or until `deadline` (then carries on, as a bounded shutdown must). */
async function bounded(p: Promise<void>, deadline: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Flushes and compacts every shard (SAVE, BGSAVE, SHUTDOWN SAVE, DEBUG RELOAD); true when every
 * shard's compaction completed (a compaction stopped by FLUSHALL or an I/O error is a failure).
 */
export async function compactAll(server: Server): Promise<boolean> {
  const engine = server.engine;
  if (!engine) return false;
  const before = engine.shards.map((s) => s.stats.lastMerge);
  await engine.log.flushAll();
  let ok = true;
  for (let i = 0; i < engine.shards.length; i++) {
    // A server that closed meanwhile must not write files any more.
    if (server.shuttingDown) return false;
    try {
      await engine.compactor.compact(i);
    } catch (e) {
      server.log.warning("compaction", (e as Error).message);
    }
    if (engine.shards[i].stats.lastMerge <= before[i]) ok = false;
  }
  return ok;
}

/** The SHUTDOWN flags a signal uses (`shutdown-on-sigterm`, `shutdown-on-sigint`). */
export function signalOptions(server: Server, signal: "SIGTERM" | "SIGINT"): ShutdownOptions {
  const name = signal === "SIGTERM" ? "shutdown-on-sigterm" : "shutdown-on-sigint";
  const flags = server.config.str(name).split(/\s+/);
  return {
    save: flags.includes("save"),
    nosave: flags.includes("nosave"),
    now: flags.includes("now"),
    force: flags.includes("force"),
    reason: `Received ${signal}, scheduling shutdown`,
  };
}

/**
 * What main.ts calls for SIGTERM and SIGINT: a graceful shutdown with the signal's configured
 * flags. A second signal while a shutdown waits closes the server at once (the logs are still
 * flushed by the engine's close), as Redis exits on a second SIGINT.
 */
export function shutdownOnSignal(
  server: Server,
  signal: "SIGTERM" | "SIGINT",
): Promise<ShutdownResult> {
  const st = stateOf(server);
  // A second signal while a shutdown drains closes at once; so does one that follows a failed
  // shutdown within a minute, or at any time once the log cannot be written (nothing more can
  // be flushed). Later, with the cause gone, a signal shuts down gracefully again.
  const failedRecently = st.failedAt !== 0 &&
    (Date.now() - st.failedAt < 60_000 || server.engine?.log.failure != null);
  if ((st.promise && st.phase === "draining") || (failedRecently && st.phase === "running")) {
    server.log.warning("shutdown", `You insist (${signal})... closing now.`);
    st.phase = "closing";
    releaseHeld(st);
    return server.close().then(() => ({ closed: true }));
  }
  return shutdown(server, signalOptions(server, signal));
}
