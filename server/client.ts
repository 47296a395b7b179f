/**
 * The state of one client connection, as commands see it. The socket side lives in
 * protocol/connection.ts and is reached only through {@link Transport}.
 *
 * @module
 */
import type { Reply } from "../protocol/reply.ts";
import type { Command } from "../commands/spec.ts";
import type { ClientTracking } from "./tracking.ts";

/** What a client's connection offers to commands. */
export interface Transport {
  /** Remote address `ip:port`. */
  readonly addr: string;
  /** Local address `ip:port`. */
  readonly laddr: string;
  /** True for a Unix domain socket connection (CLIENT LIST flag `U`). */
  readonly unix?: boolean;
  /** Sends an out-of-band reply (push messages) as soon as possible. */
  push(reply: Reply): void;
  /** Closes the connection after the replies already queued are sent. */
  close(): void;
  /** Query buffer bytes pending and free (CLIENT LIST `qbuf`, `qbuf-free`). */
  queryBuffer(): [number, number];
  /** Reply buffer size and its recent peak use (CLIENT LIST `rbs`, `rbp`). */
  replyBuffer?(): [number, number];
  /** Output bytes waiting to be sent (CLIENT LIST `omem`, `obl`). */
  outputPending(): number;
  /** Sends bytes already encoded for this client's protocol (pub/sub fan-out encodes once). */
  pushEncoded(bytes: Uint8Array): void;
  /** Lets buffers kept for large requests and replies go once none came for a while. */
  trimBuffers?(now: number): void;
}

/** Whether a client address (`ip:port`) is on the loopback interface. */
export function isLoopback(addr: string): boolean {
  const ip = addr.slice(0, addr.lastIndexOf(":"));
  return ip === "127.0.0.1" || ip === "::1";
}

/**
 * Whether a client is local, as Redis's islocalClient (`enable-debug-command local`,
 * `enable-module-command local`): a Unix socket, the loopback interface, or a host program's
 * embedded client.
 */
export function isLocalClient(c: Client): boolean {
  const addr = c.transport.addr;
  return c.transport.unix === true || isLoopback(addr) || addr.startsWith("embedded:");
}

/** A transaction being queued. */
export interface Transaction {
  /** Queued commands with their own copies of the arguments. */
  queue: { cmd: Command; argv: Uint8Array[] }[];
  /** Set when a command was rejected while queuing: EXEC answers EXECABORT. */
  aborted: boolean;
}

let nextId = 1;

/** One connected client. */
export class Client {
  readonly id: number = nextId++;
  readonly createdAt: number = Date.now();
  lastInteraction: number = Date.now();
  /** Connection name (CLIENT SETNAME), a binary string; "" when unset. */
  name = "";
  libName = "";
  libVer = "";
  db = 0;
  resp: 2 | 3 = 2;
  user = "default";
  authenticated = false;
  /** Last command run, full name (`client|list`), for CLIENT LIST `cmd=`. */
  lastCommand = "NULL";
  // CLIENT REPLY ON|OFF|SKIP
  replyOff = false;
  replySkip = false;
  replySkipNext = false;
  noEvict = false;
  noTouch = false;
  /** In MONITOR mode (CLIENT LIST flag O; exempt from the idle timeout, as in Redis). */
  monitor = false;
  /** Set when the connection must close once its pending replies are written. */
  closing = false;
  /** The open transaction (between MULTI and EXEC/DISCARD), or null. */
  tx: Transaction | null = null;
  /** True while the client waits in a blocking command (BLPOP …). */
  blocked = false;
  /** True while EXEC runs this client's queued commands (blocking commands do not block). */
  inExec = false;
  /** How many commands the transaction EXEC runs has (CLIENT LIST `multi=` during EXEC). */
  execQueued = 0;
  /**
   * Keys this client WATCHes, as `db|key`, each with whether it had expired (unreclaimed) when
   * watched; `watchDirty` is set when one of them changed.
   */
  readonly watched: Map<string, boolean> = new Map();
  watchDirty = false;
  /** Pub/sub subscriptions: channels, patterns and shard channels (binary strings). */
  readonly channels: Set<string> = new Set();
  readonly patterns: Set<string> = new Set();
  readonly shardChannels: Set<string> = new Set();
  /**
   * Pushes to send after the reply of the command being run (a client's invalidations for keys it
   * changed itself follow the reply, as in Redis).
   */
  afterReply: Reply[] = [];
  /**
   * A blocked command of this client was served (or timed out) and its reply is not written
   * yet: pushes wait behind it, as in Redis, where the reply is in the buffer at once.
   */
  replyDue = false;
  /** CLIENT TRACKING state, or null when not tracking. */
  tracking: ClientTracking | null = null;
  /** Bytes read and written on this connection. */
  netIn = 0;
  netOut = 0;

  constructor(readonly transport: Transport) {}

  /** Number of channel and pattern subscriptions (shard channels count on their own). */
  get subscriptions(): number {
    return this.channels.size + this.patterns.size;
  }

  /** True in RESP2 subscribed mode, where only (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET run. */
  get inPubSubMode(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }
}
