/**
 * One client connection: reads into the parser's buffer, dispatches every complete request of a
 * read batch, and sends all their replies with one socket write when the event-loop turn ends
 * (see {@link Connection.flushAtTurnEnd}). The next read starts while replies are being written;
 * only when more than 1 MB of replies is pending does the connection wait for the write before
 * reading again, so a client that does not read its replies is slowed down instead of growing
 * the server's memory.
 *
 * @module
 */
import { batchArrived, dispatch } from "../commands/dispatch.ts";
import { Client, type Transport } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import { ProtocolError, QueryBufferOverflow, RequestParser } from "./parser.ts";
import { FileSlice, NO_REPLY, type Reply } from "./reply.ts";
import { ReplyWriter } from "./writer.ts";

const CRLF = new Uint8Array([13, 10]);
const RESOLVED = Promise.resolve();

/** A socket-like byte stream (Deno.Conn, a TLS socket adapter, an in-memory pipe). */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

function formatAddr(addr: Deno.Addr | undefined, local?: Deno.Addr): string {
  // A Unix socket client has no path of its own: Redis shows the server's socket, port 0.
  if (addr?.transport === "unix") return `${addr.path ?? (local as Deno.UnixAddr)?.path ?? ""}:0`;
  if (!addr || !("hostname" in addr)) return "?:0";
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${host.replace(/^\[(.*)\]$/, "$1")}:${addr.port}`;
}

/** Serves one client until it disconnects or is closed. */
export class Connection implements Transport {
  readonly client: Client;
  readonly addr: string;
  readonly laddr: string;
  readonly unix: boolean;
  private readonly parser: RequestParser;
  // Two writers: replies go into one while the other is being written to the socket.
  private writer = new ReplyWriter();
  private spare = new ReplyWriter();
  private flushing: Promise<void> | null = null;
  private closed = false;
  /**
   * True while a read batch is processed and its durability awaited: pushes that arrive then
   * (pub/sub messages) wait too, so they cannot carry earlier replies out before their writes
   * are on disk.
   */
  private holding = false;
  /** Bytes handed to the socket and not yet taken by it (part of the output buffer). */
  private sending = 0;
  /** True while a cold value streams to the socket ({@link stream}). */
  private streaming = false;
  /** When the batch being served arrived (ms since the epoch): log barriers are taken from it. */
  private batchStart = 0;
  /** When the output first went over the soft limit (0: it is not over). */
  private softSince = 0;
  /** A socket read started while a command waited ({@link whileWaiting}), into `aheadBuf`. */
  private ahead: Promise<number | null> | null = null;
  private aheadBuf: Uint8Array | null = null;
  /** Set when the client's departure was reported while a command waited. */
  private gone = false;
  /** True while the connection waits in {@link Connection.due} for its socket write. */
  private flushDue = false;
  /** Connections whose output goes to their sockets when the event-loop turn ends. */
  private static due: Connection[] = [];

  constructor(
    private readonly conn: ByteStream,
    private readonly server: Server,
    remote?: Deno.Addr,
    local?: Deno.Addr,
  ) {
    this.addr = formatAddr(remote, local);
    this.unix = remote?.transport === "unix";
    this.laddr = formatAddr(local);
    this.parser = new RequestParser(server.requestLimits);
    this.client = new Client(this);
  }

  replyBuffer(): [number, number] {
    return [this.writer.buf.length, Math.max(this.writer.recentPeak, this.spare.recentPeak)];
  }

  queryBuffer(): [number, number] {
    return [this.parser.pending, this.parser.free];
  }

  /** Lets buffers kept for large requests and replies go once none came for a while. */
  trimBuffers(now: number): void {
    this.parser.trim(now);
    this.writer.trim(now);
    this.spare.trim(now);
  }

  outputPending(): number {
    return this.writer.length + this.spare.length + this.sending;
  }

  push(reply: Reply): void {
    if (this.closed) return;
    if (this.client.replyDue) this.held.push(reply);
    else {
      this.writer.write(reply, this.client.resp);
      this.afterPush();
    }
  }

  pushEncoded(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.client.replyDue) this.held.push(new Encoded(bytes));
    else {
      this.writer.raw(bytes);
      this.afterPush();
    }
  }

  /** Pushes that came while a served blocked command's reply was due (see Client.replyDue). */
  private held: (Reply | Encoded)[] = [];

  private afterPush(): void {
    if (this.overOutputLimit()) return;
    if (!this.holding) this.flushAtTurnEnd();
  }

  /**
   * Applies client-output-buffer-limit to a client whose output keeps growing (a subscriber that
   * does not read): over the hard limit, or over the soft limit for too long, it is closed.
   */
  private overOutputLimit(): boolean {
    const limit = this.server.outputLimit(this.client);
    if (limit === null) return false;
    // As Redis, which counts only what overflows its 16 KB per-client reply buffer.
    const pending = Math.max(0, this.outputPending() - REPLY_BUFFER_BYTES);
    const over = (limit.hard > 0 && pending > limit.hard) ||
      (limit.soft > 0 && pending > limit.soft &&
        (this.softSince === 0
          ? (this.softSince = Date.now(), false)
          : Date.now() - this.softSince > limit.seconds * 1000));
    if (limit.soft > 0 && pending <= limit.soft) this.softSince = 0;
    if (!over) return false;
    this.server.log.warning(
      "connection",
      `closing client id=${this.client.id} addr=${this.addr}: ${pending} bytes of output over client-output-buffer-limit`,
    );
    this.writer.take();
    this.spare.take();
    this.client.closing = true;
    this.shutdown();
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.client.closing = true;
    // A batch waiting for its writes to be durable: the serve loop sends its replies after
    // that, then closes (it stops at `closing`).
    if (this.holding) return;
    this.flush().finally(() => this.shutdown());
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed by the peer */ }
  }

  /** Reads and serves requests until the client goes away. */
  async serve(): Promise<void> {
    const server = this.server;
    const client = this.client;
    try {
      while (!client.closing) {
        this.parser.authRequired = !client.authenticated;
        // The socket read is awaited right here (no wrapper function): one promise per request.
        let n: number | null;
        if (this.ahead === null) {
          n = await this.conn.read(this.parser.readTarget());
          if (n !== null) this.parser.commit(n);
        } else {
          n = await this.readAhead();
        }
        if (n === null) break;
        client.netIn += n;
        server.stats.netInput += n;
        server.stats.reads++;
        client.lastInteraction = this.batchStart = batchArrived();
        this.holding = true;
        const pending = this.processBatch();
        if (pending) await pending;
        const durable = this.durable();
        if (durable) await durable;
        this.holding = false;
        // The write goes out while the next request is read; only a client that lets its
        // replies pile up waits for them to drain.
        if (this.outputPending() > 1024 * 1024) await this.flush();
        else this.flushAtTurnEnd();
      }
    } catch (e) {
      if (e instanceof QueryBufferOverflow) {
        server.log.warning(
          "connection",
          `closing client ${this.addr} (id=${client.id}): query buffer over client-query-buffer-limit`,
        );
      } else if (!this.closed && !isDisconnect(e)) {
        server.log.warning("connection", `client ${this.addr}: ${(e as Error)?.stack ?? e}`);
      }
    } finally {
      try {
        await this.flush();
      } catch { /* peer gone */ }
      this.shutdown();
      if (!this.gone) server.disconnected(client);
    }
  }

  /** Finishes a socket read started while a command waited ({@link whileWaiting}). */
  private async readAhead(): Promise<number | null> {
    const n = await this.ahead;
    this.ahead = null;
    if (n !== null) this.parser.feed(this.aheadBuf!.subarray(0, n));
    return n;
  }

  /**
   * Waits for the reply of a command that waits (blocking pops, CLIENT PAUSE) while still
   * reading the socket, as Redis does for a blocked client: a client that disconnects is noticed
   * at once (the disconnect hooks cancel its wait, so it cannot take an element it would never
   * receive), and requests it sends meanwhile are kept for after the reply (not parsed before:
   * the waiting command's arguments still live in the parser's buffer).
   */
  private async whileWaiting<T>(result: Promise<T>): Promise<T> {
    let settled = false;
    const done = result.then(() => settled = true, () => settled = true).then(() => undefined);
    const stash: Uint8Array[] = [];
    let stashed = 0;
    const limit = this.server.config.int("client-query-buffer-limit");
    while (!settled && !this.closed && !this.gone) {
      // Small: a blocked client rarely sends more while it waits, and many may be blocked.
      this.aheadBuf ??= new Uint8Array(1024);
      // A read error ends the connection just as end-of-stream does.
      this.ahead ??= this.conn.read(this.aheadBuf).catch(() => null);
      const n = await Promise.race([done, this.ahead]);
      if (n === undefined) break;
      this.ahead = null;
      if (n !== null) {
        this.client.netIn += n;
        this.server.stats.netInput += n;
        this.client.lastInteraction = Date.now();
        stash.push(this.aheadBuf.slice(0, n));
        stashed += n;
        if (stashed <= limit) continue;
        this.server.log.warning(
          "connection",
          `closing client ${this.addr} (id=${this.client.id}): query buffer over client-query-buffer-limit`,
        );
      }
      this.gone = true;
      this.client.closing = true;
      this.server.disconnected(this.client);
    }
    try {
      return await result;
    } finally {
      if (!this.gone) { for (const chunk of stash) this.parser.feed(chunk); }
    }
  }

  /** Dispatches every complete request in the buffer; returns a promise if one must be awaited. */
  private processBatch(): Promise<void> | undefined {
    const client = this.client;
    while (!client.closing) {
      let argv: Uint8Array[] | null;
      try {
        // AUTH earlier in the same batch lifts the unauthenticated size limits at once.
        this.parser.authRequired = !client.authenticated;
        argv = this.parser.next();
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.server.stats.countError(e);
        // CLIENT REPLY OFF, or SKIP for the request that failed to parse, silences it too.
        if (!client.replyOff && !client.replySkip) this.writer.write(e, client.resp);
        this.server.log.verbose("connection", `protocol error from ${this.addr}: ${e.message}`);
        client.closing = true;
        return;
      }
      if (argv === null) return;
      if (argv.length === 0) continue;
      const skip = client.replySkip;
      const result = dispatch(this.server, client, argv);
      if (result instanceof Promise) {
        return Promise.resolve(this.durable()).then(() => {
          // While the command waits (blocking pops, CLIENT PAUSE), pushes go out at once.
          this.holding = false;
          return this.flush();
        }).then(() => this.whileWaiting(result)).then(async (r) => {
          this.holding = true;
          // A client that left while it waited gets nothing (Redis frees it at once).
          if (this.gone) return;
          await this.reply(r, skip);
          return this.processBatch();
        });
      }
      const streaming = this.reply(result, skip);
      if (streaming) return streaming.then(() => this.processBatch());
      // client-output-buffer-limit, as replies pile up (a pipeline whose replies are not read,
      // a huge reply): checked once the output is past 64 KB or a smaller configured limit.
      if (this.outputPending() > this.server.outputCheckFrom && this.overOutputLimit()) return;
    }
  }

  private reply(r: Reply | typeof NO_REPLY, skip: boolean): Promise<void> | undefined {
    const client = this.client;
    // CLIENT REPLY SKIP silences the next command, unless that command is CLIENT REPLY ON.
    const silenced = skip && client.replySkip;
    if (skip) client.replySkip = false;
    if (client.replySkipNext) {
      client.replySkipNext = false;
      client.replySkip = true;
    }
    if (r === NO_REPLY || silenced || client.replyOff) {
      if (r instanceof FileSlice) r.file.close();
      this.afterReply();
      return;
    }
    if (r instanceof FileSlice) return this.stream(r).then(() => this.afterReply());
    this.writer.write(r, client.resp);
    this.afterReply();
  }

  private afterReply(): void {
    const client = this.client;
    const pushes = client.afterReply;
    if (pushes.length !== 0) {
      client.afterReply = [];
      for (const p of pushes) this.writer.write(p, client.resp);
    }
    if (client.replyDue) {
      client.replyDue = false;
      const held = this.held;
      this.held = [];
      for (const p of held) {
        if (p instanceof Encoded) this.writer.raw(p.bytes);
        else this.writer.write(p, client.resp);
      }
    }
  }

  /**
   * Sends a bulk string from a file, 64 KiB at a time, never holding it whole. The replies before
   * it go out first; while it streams nothing else is written (pushes that arrive meanwhile wait
   * in the writer), so nothing can land inside the bulk string.
   */
  private async stream(slice: FileSlice): Promise<void> {
    const file = slice.file;
    try {
      await this.durable();
      // Every reply before the value is durable now: all of it goes first (a write that was
      // under way leaves what queued meanwhile in the writer while the batch is held).
      do await this.flush(); while (this.writer.length > 0 && !this.closed);
      this.streaming = true;
      const header = new TextEncoder().encode(`$${slice.length}\r\n`);
      await this.send(header);
      await file.seek(slice.offset, Deno.SeekMode.Start);
      const chunk = new Uint8Array(Math.min(64 * 1024, slice.length));
      let left = slice.length;
      while (left > 0) {
        const n = await file.read(chunk.subarray(0, Math.min(chunk.length, left)));
        if (n === null) throw new Error("log file cut short while streaming a value");
        left -= n;
        await this.send(chunk.subarray(0, n));
      }
      await this.send(CRLF);
    } finally {
      this.streaming = false;
      file.close();
    }
  }

  /** Writes bytes straight to the socket (a streamed value's parts). */
  private async send(bytes: Uint8Array): Promise<void> {
    this.client.netOut += bytes.length;
    this.server.stats.netOutput += bytes.length;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /**
   * Waits until the writes these replies acknowledge are on disk (group commit). If the log
   * cannot be written, the replies are dropped and the connection closed: nothing that is not
   * durable is acknowledged.
   */
  private durable(): Promise<void> | undefined {
    const barrier = this.server.keyspace.log.barrier?.(this.batchStart);
    if (!barrier) return undefined;
    return this.awaitDurable(barrier);
  }

  private async awaitDurable(barrier: Promise<void>): Promise<void> {
    try {
      await barrier;
    } catch (e) {
      this.server.log.warning(
        "connection",
        `dropping replies to ${this.addr}: ${(e as Error).message}`,
      );
      this.writer.take();
      this.client.closing = true;
      this.shutdown();
    }
  }

  /**
   * Sends what is queued once every connection that became readable in this event-loop turn has
   * been served, rather than at once. A client with many connections (redis-benchmark, a
   * connection pool) is then woken once for many replies instead of once per reply: waking a
   * peer that sleeps costs the sender kernel time, and on a virtual machine an interrupt to
   * another processor. At -P 16 this halved the server's system time per request (LPUSH 410k →
   * 530k req/s); unpipelined it changes nothing measurable.
   */
  private flushAtTurnEnd(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    // Deno settles every socket read that completed in this turn before it runs their promise
    // callbacks, in order: a microtask queued by the first connection served runs after the
    // others were served (an immediate would too, but adds a few µs to a lone client's reply).
    if (Connection.due.length === 0) queueMicrotask(Connection.flushDueConnections);
    Connection.due.push(this);
  }

  private static flushDueConnections(): void {
    const due = Connection.due;
    Connection.due = [];
    for (const c of due) {
      c.flushDue = false;
      // Served again since it was queued, and now waiting for its writes to be durable: its
      // replies (and the pushes before them) go out after that, from the serve loop.
      if (c.holding) continue;
      c.flush().catch((e) => {
        c.server.log.warning("connection", `client ${c.addr}: write failed: ${e}`);
        c.shutdown();
      });
    }
  }

  /** Sends everything queued; resolves when the socket has taken it. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    // A value being streamed owns the socket; what queued meanwhile follows it.
    if (this.streaming) return RESOLVED;
    if (this.writer.length === 0 || this.closed) return RESOLVED;
    // Written with promise callbacks rather than an async function: this runs once per request
    // unpipelined, and every async frame and promise saved there shows in throughput.
    const w = this.writer;
    this.writer = this.spare;
    this.spare = w;
    const bytes = w.take();
    this.client.netOut += bytes.length;
    this.server.stats.netOutput += bytes.length;
    this.server.stats.writes++;
    this.sending = bytes.length;
    this.flushing = this.conn.write(bytes).then(
      (n) => this.written(w, bytes, n),
      (e) => this.writeFailed(e),
    );
    return this.flushing;
  }

  /** After a socket write took `n` bytes of `bytes`: writes the rest, then what queued since. */
  private written(w: ReplyWriter, bytes: Uint8Array, n: number): Promise<void> | undefined {
    if (n < bytes.length && !this.closed) {
      const rest = bytes.subarray(n);
      this.sending = rest.length;
      return this.conn.write(rest).then(
        (m) => this.written(w, rest, m),
        (e) => this.writeFailed(e),
      );
    }
    w.shrink();
    this.sending = 0;
    this.flushing = null;
    // Output all taken by the socket: a soft limit's clock starts again with the next burst.
    if (this.writer.length === 0) this.softSince = 0;
    // Not while a batch waits for its writes to be durable: its replies are in the writer.
    if (this.writer.length > 0 && !this.closed && !this.holding) return this.flush();
  }

  private writeFailed(e: unknown): void {
    this.flushing = null;
    this.sending = 0;
    if (!isDisconnect(e)) throw e;
    this.shutdown();
  }
}

/** Redis's per-client reply buffer (PROTO_REPLY_CHUNK_BYTES): output limits count beyond it. */
export const REPLY_BUFFER_BYTES = 16 * 1024;

function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.BadResource ||
    e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected ||
    e instanceof Deno.errors.ConnectionAborted;
}

/** A push already encoded (held with replies to encode, see Connection.held). */
class Encoded {
  constructor(readonly bytes: Uint8Array) {}
}
