/**
 * Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, BZPOPMIN BZPOPMAX BZMPOP …), as Redis's
 * blocked.c does it, for any data type.
 *
 * A blocking handler parses its arguments (the timeout with {@link timeoutArg}), then returns
 * `ctx.server.blocking.block(ctx, request)`:
 *
 * 1. `request.attempt(null)` runs at once: it tries to serve the client from the current data
 *    (checking every key in order, throwing WRONGTYPE as the command would) and returns the
 *    reply, or undefined when there is nothing to serve yet. A reply is returned as is.
 * 2. Otherwise, if the client may not block (inside MULTI/EXEC or a script, see
 *    {@link Blocking.atomic}), `request.noBlockReply` (default `timeoutReply`) is returned.
 * 3. Otherwise the client is blocked on `request.keys` and `block` returns a Promise of its
 *    reply (the connection waits for it before running the client's next command).
 *
 * Any change to a key some client is blocked on marks the key ready (the keyspace's `modified`
 * notification, so pushes, RENAME, MOVE, COPY, RESTORE, SWAPDB … all count; commands may also
 * call {@link Blocking.signalKeyReady}). After every command (the server's command hooks), the
 * ready keys are served as Redis's handleClientsBlockedOnKeys: for each ready key, the clients
 * blocked on it in the order they blocked (first blocked, first served) get
 * `attempt(readyKey)`; a reply (an error included) unblocks the client with that reply,
 * undefined leaves it blocked (e.g. the key now holds another type, or was emptied by an
 * earlier client). Each attempt is one effect batch: what it pops is logged like any pop.
 * Keys an attempt changes (BLMOVE's destination) are served in the same pass, before any other
 * command runs, so no other client can take the element in between.
 *
 * When the timeout passes, the client gets `request.timeoutReply`. A client that disconnects
 * while blocked is removed (server disconnect hook). CLIENT UNBLOCK calls {@link unblockClient}.
 *
 * @example
 * ```ts ignore
 * // BZPOPMIN key [key ...] timeout
 * handler: (ctx, argv) => {
 *   const deadline = timeoutArg(argv[argv.length - 1], ctx.db.keyspace.now);
 *   const keys = argv.slice(1, -1).map(latin1);
 *   return ctx.server.blocking.block(ctx, {
 *     keys,
 *     deadline,
 *     attempt: (ready) => popMin(ctx.db, ready === null ? keys : [ready], ready === null),
 *     timeoutReply: NULL_ARRAY,
 *   });
 * }
 * ```
 *
 * @module
 */
import type { CommandContext } from "../commands/spec.ts";
import type { Database } from "../engine/keyspace.ts";
import { parseLongDouble } from "../engine/longdouble.ts";
import { NULL_ARRAY, type Reply, RespError } from "../protocol/reply.ts";
import { latin1 } from "../commands/args.ts";
import type { Client } from "./client.ts";
import type { Server } from "./server.ts";

/** What a blocking command asks for. */
export interface BlockRequest {
  /** The keys (binary strings, in the client's database) to wait on, in the command's order. */
  keys: string[];
  /** Absolute deadline in ms since the epoch; 0 waits forever (see {@link timeoutArg}). */
  deadline: number;
  /**
   * Tries to serve the client. `readyKey` is null on the first try (check every key, throw
   * errors as the non-blocking path would), or the key that became ready (serve from it only;
   * return undefined to keep waiting, e.g. when it holds another type now).
   */
  attempt: (readyKey: string | null) => Reply | undefined;
  /** The reply when the timeout passes (NULL_ARRAY for every Redis 7.0 blocking command). */
  timeoutReply: Reply;
  /**
   * The reply when the client may not block (MULTI, scripts); defaults to `timeoutReply`.
   * (Redis 7.0's BLMOVE and BRPOPLPUSH answer a null bulk string there, not a null array.)
   */
  noBlockReply?: Reply;
  /**
   * The command takes elements from the key that became ready (blocking pops): once that key
   * is gone (its last element taken) it cannot be served and is not tried.
   */
  popsFromKey?: boolean;
}

/** One blocked client. */
interface Waiter {
  readonly client: Client;
  readonly db: Database;
  readonly keys: string[];
  readonly deadline: number;
  readonly attempt: BlockRequest["attempt"];
  readonly popsFromKey: boolean;
  readonly timeoutReply: Reply;
  readonly resolve: (r: Reply) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/** The error CLIENT UNBLOCK … ERROR sends to the unblocked client. */
export const UNBLOCKED_ERROR = new RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK");

const MAX_TIMER = 0x7fffffff; // setTimeout's longest delay

const TWO_63 = 1n << 63n;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * The common shape of `BLPOP key [key ...] timeout` and its kin: blocks on the keys between the
 * command name and the timeout, calling `pop(keys, woken)` to try (with every key first, then
 * with the key that became ready) and answering a null array on timeout.
 */
export function blockOnKeysUntilTimeout(
  ctx: CommandContext,
  argv: Uint8Array[],
  pop: (keys: string[], woken: boolean) => Reply | undefined,
): Reply | Promise<Reply> {
  const deadline = timeoutArg(argv[argv.length - 1], ctx.db.keyspace.now);
  const ks: string[] = [];
  for (let j = 1; j < argv.length - 1; j++) ks.push(latin1(argv[j]));
  return ctx.server.blocking.block(ctx, {
    keys: ks,
    deadline,
    attempt: (ready) => pop(ready === null ? ks : [ready], ready !== null),
    timeoutReply: NULL_ARRAY,
    popsFromKey: true,
  });
}

/**
 * A blocking command's timeout argument as an absolute deadline in ms (0 = wait forever),
 * exactly as Redis 7.0's getTimeoutFromObjectOrReply with seconds: the text is read as a long
 * double (`strtold`: hex and `inf` included, no spaces), multiplied by 1000 in long double,
 * rounded up (`ceill`) and converted to a 64-bit integer (out of range, infinities included,
 * gives INT64_MIN, hence "negative"; 0.0001 gives 1 ms; -0.0001 gives 0, hence forever).
 * Throws Redis's errors.
 */
export function timeoutArg(arg: Uint8Array, now: number): number {
  let s = "";
  for (let i = 0; i < arg.length; i++) s += String.fromCharCode(arg[i]);
  const v = parseLongDouble(s);
  if (v === null) throw new RespError("ERR timeout is not a float or out of range");
  let ms: bigint;
  if ("inf" in v) {
    ms = -TWO_63;
  } else {
    // mant × 2^exp × 1000, rounded to a 64-bit mantissa (ties to even), then truncated.
    let q = v.mant * 1000n;
    let e = v.exp;
    const bits = bitLength(q);
    if (bits > 64) {
      const shift = bits - 64;
      const rest = q & ((1n << BigInt(shift)) - 1n);
      q >>= BigInt(shift);
      const half = 1n << BigInt(shift - 1);
      if (rest > half || (rest === half && (q & 1n) === 1n)) q++;
      e += shift;
    }
    // ceill: the integer part, plus one for a positive value with a fraction.
    let abs: bigint;
    let fraction = false;
    if (e >= 0) abs = e > 64 ? TWO_63 : q << BigInt(e);
    else {
      abs = -e >= 128 ? 0n : q >> BigInt(-e);
      fraction = q !== 0n && (-e >= 128 || (q & ((1n << BigInt(-e)) - 1n)) !== 0n);
    }
    if (!v.neg && fraction) abs++;
    ms = abs >= TWO_63 ? -TWO_63 : (v.neg ? -abs : abs);
  }
  if (ms < 0n) throw new RespError("ERR timeout is negative");
  if (ms === 0n) return 0;
  return Number(ms) + now;
}

/** The blocked clients of a server (`server.blocking`). */
export class Blocking {
  /** Database index → key → clients blocked on it, in the order they blocked. */
  private readonly byKey = new Map<number, Map<string, Set<Waiter>>>();
  private readonly byClient = new Map<number, Waiter>();
  private ready: { db: number; key: string }[] = [];
  private readonly readySeen = new Set<string>();
  private depth = 0;
  private serving = false;
  private timed = 0;

  constructor(private readonly server: Server) {
    server.keyspace.listen({
      modified: (db, key) => {
        if (this.byClient.size === 0) return;
        if (key !== null) this.signalKeyReady(db, key);
        else for (const k of this.byKey.get(db)?.keys() ?? []) this.signalKeyReady(db, k);
      },
    });
    // Commands EXEC runs do not serve anyone: EXEC's own hook does, once the transaction is done.
    server.commandHooks.push((client) => {
      if (!client.inExec) this.handleReady();
    });
    server.disconnectHooks.push((c) => {
      const w = this.byClient.get(c.id);
      if (w) this.finish(w, w.timeoutReply);
    });
  }

  /** Number of blocked clients (INFO `blocked_clients`). */
  get count(): number {
    return this.byClient.size;
  }

  /** Number of keys with blocked clients (INFO `total_blocking_keys` in later Redis). */
  get keyCount(): number {
    let n = 0;
    for (const m of this.byKey.values()) n += m.size;
    return n;
  }

  /** Blocked clients with a timeout (INFO `clients_in_timeout_table`). */
  get timeoutCount(): number {
    return this.timed;
  }

  /** True while `client` waits in a blocking command (CLIENT LIST flag `b`, idle timeout). */
  isBlocked(client: Client): boolean {
    return this.byClient.has(client.id);
  }

  /** The keys `client` is blocked on (CLIENT LIST, debugging), or undefined. */
  blockedKeys(client: Client): readonly string[] | undefined {
    return this.byClient.get(client.id)?.keys;
  }

  /** True when a blocking command of `client` must answer at once (EXEC, scripts). */
  denied(client: Client): boolean {
    return this.depth > 0 || client.inExec;
  }

  /**
   * Serves a blocking command: at once if `attempt(null)` has a reply, otherwise by blocking the
   * client (a Promise of the reply), or with the no-block reply where blocking is not allowed.
   */
  /** True inside {@link atomic} (EXEC): commands there may not block. */
  get inAtomic(): boolean {
    return this.depth > 0;
  }

  block(ctx: CommandContext, req: BlockRequest): Reply | Promise<Reply> {
    const now = req.attempt(null);
    if (now !== undefined) return now;
    const client = ctx.client;
    if (this.depth > 0 || client.inExec || this.server.shuttingDown) {
      return req.noBlockReply !== undefined ? req.noBlockReply : req.timeoutReply;
    }
    const { promise, resolve } = Promise.withResolvers<Reply>();
    const w: Waiter = {
      client,
      db: ctx.db,
      keys: [...new Set(req.keys)],
      deadline: req.deadline,
      attempt: req.attempt,
      popsFromKey: req.popsFromKey === true,
      timeoutReply: req.timeoutReply,
      resolve,
      timer: undefined,
      done: false,
    };
    this.byClient.get(client.id)?.resolve(w.timeoutReply); // cannot happen: one command at a time
    this.byClient.set(client.id, w);
    client.blocked = true;
    let keys = this.byKey.get(ctx.db.index);
    if (keys === undefined) this.byKey.set(ctx.db.index, keys = new Map());
    for (const k of w.keys) {
      let set = keys.get(k);
      if (set === undefined) keys.set(k, set = new Set());
      set.add(w);
    }
    if (w.deadline > 0) {
      this.timed++;
      this.arm(w);
    }
    return promise;
  }

  /**
   * Marks `key` of database `db` as ready: clients blocked on it are tried after the current
   * command. Changes through `ctx.db` signal automatically; call this for changes made otherwise.
   */
  signalKeyReady(db: number, key: string): void {
    if (!this.byKey.get(db)?.has(key)) return;
    const id = `${db}:${key}`;
    if (this.readySeen.has(id)) return;
    this.readySeen.add(id);
    this.ready.push({ db, key });
  }

  /**
   * Runs `fn` as one atomic unit (EXEC, scripts): blocking commands inside it answer at once
   * (their no-block reply), and clients woken by its changes are served after it, not between
   * its commands.
   */
  atomic<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) this.handleReady();
    }
  }

  /**
   * Unblocks a blocked client with its timeout reply (`timeout`) or the UNBLOCKED error
   * (`error`), as CLIENT UNBLOCK does. Returns false when the client is not blocked.
   */
  unblock(clientId: number, mode: "timeout" | "error"): boolean {
    const w = this.byClient.get(clientId);
    if (w === undefined) return false;
    this.finish(w, mode === "error" ? UNBLOCKED_ERROR : w.timeoutReply);
    return true;
  }

  /** Serves clients blocked on ready keys (Redis's handleClientsBlockedOnKeys). */
  handleReady(): void {
    if (this.serving || this.depth > 0 || this.ready.length === 0) return;
    // A transaction waiting for one of its commands is still running: nothing is served in the
    // middle of it (EXEC's own end serves the keys it made ready).
    if (this.server.exclusive !== null) return;
    this.serving = true;
    const server = this.server;
    const ks = server.keyspace;
    try {
      // Serving may make more keys ready (BLMOVE pushes): loop until none is left.
      for (let rounds = 0; this.ready.length > 0 && rounds < 1_000_000; rounds++) {
        const batch = this.ready;
        this.ready = [];
        this.readySeen.clear();
        for (const { db, key } of batch) {
          const set = this.byKey.get(db)?.get(key);
          if (set === undefined) continue;
          const database = ks.dbs[db];
          // Iterated in place (a served waiter leaves the set; deleting during iteration is
          // safe). Once the key's last element is taken (an empty collection is deleted), the
          // blocking pops still waiting are passed over without an attempt, so a push costs
          // little however many wait, as in Redis.
          let gone = !database.exists(key);
          for (const w of set) {
            if (w.done || (gone && w.popsFromKey)) continue;
            ks.now = Date.now();
            let reply: Reply | undefined;
            const current = server.currentClient;
            server.currentClient = w.client;
            // The reply comes before the pushes its own pops cause (lpop, del events to a
            // subscribed RESP3 client), as Redis writes it at once; undone if not served.
            const due = w.client.replyDue;
            w.client.replyDue = true;
            ks.log.begin?.();
            try {
              reply = w.attempt(key);
            } catch (e) {
              reply = e instanceof RespError ? e : new RespError(`ERR ${(e as Error)?.message}`);
            } finally {
              ks.log.end?.();
              server.currentClient = current;
              if (reply === undefined) w.client.replyDue = due;
            }
            if (reply !== undefined) {
              this.finish(w, reply);
              gone = !database.exists(key);
            }
          }
        }
      }
    } finally {
      this.serving = false;
    }
  }

  private arm(w: Waiter): void {
    const left = w.deadline - Date.now();
    w.timer = setTimeout(() => {
      w.timer = undefined;
      if (w.done) return;
      if (Date.now() < w.deadline) this.arm(w);
      else this.finish(w, w.timeoutReply);
    }, Math.max(0, Math.min(left, MAX_TIMER)));
  }

  /** Unblocks `w` with `reply`. */
  private finish(w: Waiter, reply: Reply): void {
    if (w.done) return;
    w.done = true;
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.deadline > 0) this.timed--;
    if (this.byClient.get(w.client.id) === w) {
      this.byClient.delete(w.client.id);
      w.client.blocked = false;
    }
    const keys = this.byKey.get(w.db.index);
    if (keys !== undefined) {
      for (const k of w.keys) {
        const set = keys.get(k);
        if (set === undefined) continue;
        set.delete(w);
        if (set.size === 0) keys.delete(k);
      }
      if (keys.size === 0) this.byKey.delete(w.db.index);
    }
    w.client.replyDue = true;
    w.resolve(reply);
  }
}

/**
 * CLIENT UNBLOCK id [TIMEOUT|ERROR]: unblocks client `clientId` if it is blocked in a blocking
 * command; false when it is not.
 */
export function unblockClient(
  server: Server,
  clientId: number,
  mode: "timeout" | "error" = "timeout",
): boolean {
  return server.blocking.unblock(clientId, mode);
}
