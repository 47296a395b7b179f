/**
 * The server: configuration, keyspace, command registry, clients and listeners, put together.
 * `main.ts` builds one from the command line; embedders call {@link startServer}.
 *
 * @module
 */
import type { CommandGate } from "../commands/dispatch.ts";
import { registerBuiltins } from "../commands/mod.ts";
import { Registry } from "../commands/registry.ts";
import type { Command } from "../commands/spec.ts";
import { type Entry, Keyspace, NO_SEGMENT } from "../engine/keyspace.ts";
import { FileSlice } from "../protocol/reply.ts";
import { DurableEngine, lockDataDir } from "../engine/log/engine.ts";
import type { Durability } from "../engine/log/namespaces.ts";
import { MemoryGuard } from "../engine/memory.ts";
import { Connection, REPLY_BUFFER_BYTES } from "../protocol/connection.ts";
import type { ParserLimits } from "../protocol/parser.ts";
import { installOperations } from "../commands/server.ts";
import { registerNativePlugins } from "../plugins/native/mod.ts";
import { loadPlugins } from "../plugins/loader.ts";
import { Blocking } from "./blocking.ts";
import { type Client, isLoopback } from "./client.ts";
import { Config, type ConfigValue, parseMemory } from "./config.ts";
import { Logger, type LogLevel } from "./log.ts";
import { PauseState } from "./pause.ts";
import { WatchRegistry } from "./watch.ts";
import { PubSub } from "./pubsub.ts";
import { KeyspaceNotifier } from "./notifications.ts";
import { Tracking } from "./tracking.ts";
import { Acl } from "./acl.ts";
import { clientInfoLine } from "../commands/client.ts";
import { subscribedModeGate } from "../commands/pubsub.ts";
import { ServerStats } from "./stats.ts";

/** FerricStore's version, reported by INFO and HELLO. */
export const VERSION = "7.0.15-ferricstore.0.1.0";
/** The Redis version FerricStore answers as (`redis_version`, HELLO `version`). */
export const REDIS_VERSION = "7.0.15";

/** Called after every command that ran (slow log, latency monitor, metrics). */
/** Runs after every command; `waited` when the command waited (its time includes the wait). */
export type CommandHook = (
  client: Client,
  cmd: Command,
  argv: Uint8Array[],
  usec: number,
  waited: boolean,
) => void;

/** How long automatic compaction of a shard waits after a run that stopped. */
const AUTO_COMPACT_BACKOFF_MS = 10_000;

/** A running FerricStore server. */
export class Server {
  readonly registry: Registry = new Registry();
  readonly keyspace: Keyspace;
  readonly clients: Map<number, Client> = new Map();
  readonly stats: ServerStats = new ServerStats();
  readonly log: Logger;
  readonly memory: MemoryGuard;
  readonly pause: PauseState = new PauseState();
  readonly watches: WatchRegistry;
  readonly pubsub: PubSub = new PubSub();
  readonly notifier: KeyspaceNotifier;
  readonly tracking: Tracking;
  readonly acl: Acl;
  /** Formats a client as a CLIENT LIST line (ACL LOG's client-info). */
  describeClient: (c: Client) => string = (c) => clientInfoLine(c, null);
  /**
   * The gates' checks and rejection hooks, as functions of their own: dispatch calls every check
   * for every command, and looking `check` up on gates of different shapes was a megamorphic
   * property load each time.
   */
  readonly gateChecks: CommandGate["check"][] = [];
  readonly gateRejections: NonNullable<CommandGate["rejected"]>[] = [];
  readonly commandHooks: CommandHook[] = [];
  /**
   * Told when the server's own work held the event loop (`event`, ms): a group commit's
   * fdatasyncs (`aof-fsync-always`). The latency monitor records them as Redis does its own.
   */
  readonly stallHooks: ((event: string, ms: number) => void)[] = [];
  /** Run by the server cron, `hz` times a second (INFO's instantaneous metrics …). */
  readonly cronHooks: (() => void)[] = [];
  /** Called when a client disconnects (pub/sub, WATCH and blocking state clean up here). */
  readonly disconnectHooks: ((c: Client) => void)[] = [];
  /** Called by RESET (leave MULTI, pub/sub, tracking …). */
  readonly resetHooks: ((c: Client) => void)[] = [];
  /** Clients blocked in BLPOP, BZPOPMIN … (server/blocking.ts). */
  readonly blocking: Blocking;
  /** Request size limits every connection's parser reads (kept current by CONFIG SET). */
  readonly requestLimits: ParserLimits;
  readonly startedAt: number = Date.now();
  readonly runId: string = Array.from(
    crypto.getRandomValues(new Uint8Array(20)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  readonly shardCount: number;
  /**
   * True until {@link open} has loaded the data directory (and during DEBUG RELOAD): commands
   * answer -LOADING. The RESP port is bound before the data is loaded, so a client that connects
   * in between is told to wait rather than served an empty keyspace.
   */
  loading = true;
  shuttingDown = false;
  /** `latency-tracking`: dispatch records each command's time in its latency histogram. */
  latencyTracking = true;
  /** `log-segment-size`, read on every log append (a field is cheaper than the registry). */
  private segmentSize = 0;
  /** The client whose command is running (NOLOOP tracking, plugins). */
  currentClient: Client | null = null;
  /**
   * Set while a transaction waits for one of its commands (an async plugin command, ACL LOAD):
   * every other client's command waits for `done`, so EXEC stays atomic, as in Redis.
   */
  exclusive: { client: Client; done: Promise<void> } | null = null;
  /** The port the RESP listener is bound to (differs from `port` when it was 0). */
  port = 0;
  private listeners: Deno.Listener[] = [];
  private cron: ReturnType<typeof setInterval> | undefined;
  private closedSignal: PromiseWithResolvers<void> = Promise.withResolvers();

  constructor(readonly config: Config) {
    this.log = new Logger(config.str("loglevel") as LogLevel, config.str("logfile"));
    config.watch("loglevel", (v) => this.log.level = v as LogLevel);
    const shards = config.int("shard-count") || savedShardCount(config.str("data-dir")) ||
      navigator.hardwareConcurrency || 1;
    this.shardCount = shards;
    this.keyspace = new Keyspace({ shardCount: shards, databases: config.int("databases") });
    this.memory = new MemoryGuard(this.keyspace, config);
    this.pause.onChange = (paused) => this.keyspace.expiryPaused = paused;
    this.blocking = new Blocking(this);
    this.watches = new WatchRegistry(this.keyspace);
    this.readOutputLimits();
    config.watch("client-output-buffer-limit", () => this.readOutputLimits());
    this.requestLimits = {
      maxBulkLen: config.int("proto-max-bulk-len"),
      maxQueryBuffer: config.int("client-query-buffer-limit"),
    };
    config.watch("proto-max-bulk-len", (v) => this.requestLimits.maxBulkLen = v as number);
    config.watch(
      "client-query-buffer-limit",
      (v) => this.requestLimits.maxQueryBuffer = v as number,
    );
    // Leaving a connection or RESET ends its transaction and its watches.
    const endTx = (c: Client) => {
      c.tx = null;
      this.watches.unwatchAll(c);
    };
    this.disconnectHooks.push(endTx);
    this.resetHooks.push(endTx);
    const leavePubSub = (c: Client) => this.pubsub.unsubscribeAll(c);
    this.disconnectHooks.push(leavePubSub);
    this.disconnectHooks.push((c) => this.pause.held.delete(c));
    this.resetHooks.push(leavePubSub);
    this.notifier = new KeyspaceNotifier(this.keyspace, this.pubsub);
    this.notifier.configure(config.str("notify-keyspace-events"));
    config.watch("notify-keyspace-events", (v) => this.notifier.configure(String(v)));
    this.latencyTracking = config.bool("latency-tracking");
    config.watch("latency-tracking", (v) => this.latencyTracking = v as boolean);
    this.segmentSize = config.int("log-segment-size");
    config.watch("log-segment-size", (v) => this.segmentSize = v as number);
    this.tracking = new Tracking(
      this.keyspace,
      (id) => this.clients.get(id),
      () => this.currentClient,
    );
    this.tracking.maxKeys = config.int("tracking-table-max-keys");
    config.watch("tracking-table-max-keys", (v) => {
      this.tracking.maxKeys = v as number;
      this.tracking.limit();
    });
    this.commandHooks.push((client, cmd, argv) => this.tracking.afterCommand(client, cmd, argv));
    this.disconnectHooks.push((c) => this.tracking.forget(c));
    this.resetHooks.push((c) => this.tracking.disable(c));
    registerBuiltins(this);
    registerNativePlugins(this);
    this.acl = new Acl(
      this.registry,
      (c) => this.describeClient(c),
      () => this.clients.values(),
      () => config.int("acllog-max-len"),
    );
    this.addGate(this.acl);
    // After the ACL check, as in Redis: a command the user may not run gets NOPERM (and an ACL
    // LOG entry) even in subscribed mode.
    this.addGate(subscribedModeGate);
    installOperations(this);
    this.acl.setRequirePass(config.str("requirepass"));
    config.watch("requirepass", (v) => this.acl.setRequirePass(String(v)));
    const setLfu = (v: ConfigValue) => this.keyspace.lfuMode = String(v).endsWith("-lfu");
    setLfu(config.get("maxmemory-policy"));
    config.watch("maxmemory-policy", setLfu);
    this.keyspace.lfuLogFactor = config.int("lfu-log-factor");
    this.keyspace.lfuDecayTime = config.int("lfu-decay-time");
    config.watch("lfu-log-factor", (v) => this.keyspace.lfuLogFactor = v as number);
    config.watch("lfu-decay-time", (v) => this.keyspace.lfuDecayTime = v as number);
    // OBJECT ENCODING thresholds: every *-max-* size parameter, kept current by CONFIG SET.
    const limits: Record<string, number> = {};
    for (const p of config.all()) {
      if (!/-max-(listpack|ziplist|intset)-/.test(p.name)) continue;
      limits[p.name] = config.int(p.name);
      config.watch(p.name, (v) => limits[p.name] = v as number);
    }
    this.keyspace.encodingLimits = limits;
  }

  /** The durable engine, once {@link open} has run. */
  engine: DurableEngine | null = null;
  /** Commands whose handlers are still at work asynchronously (a graceful shutdown waits). */
  commandsRunning = 0;
  private aclFileLoaded = false;
  /** False from stopAccepting() until resumeAccepting() (a graceful shutdown in between). */
  private acceptWanted = true;
  /** The rebinding under way after resumeAccepting(), if any. */
  private resuming: Promise<void> | null = null;
  /** The data directory's lock, from listen() until open() hands it to the engine. */
  private dataDirLock: Deno.FsFile | null = null;

  /** Loads `aclfile`, once (listen() does it before binding; openStore() has no listen()). */
  private async loadAclFile(): Promise<void> {
    if (this.aclFileLoaded) return;
    this.aclFileLoaded = true;
    const config = this.config;
    const aclfile = config.str("aclfile");
    if (aclfile) {
      // As Redis, which will not start without it (create it empty, or with ACL SAVE).
      let text: string;
      try {
        text = await Deno.readTextFile(aclfile);
      } catch (e) {
        throw new Error(`aclfile ${aclfile} cannot be read: ${(e as Error).message}`);
      }
      try {
        this.acl.replaceUsers(this.acl.parse(text, aclfile));
      } catch (e) {
        throw new Error(`aclfile: ${(e as Error).message.replace(/^ERR /, "")}`);
      }
      if (config.str("requirepass")) this.acl.setRequirePass(config.str("requirepass"));
    }
  }

  /**
   * Opens the data directory: locks it, recovers the keyspace from its logs (clients get
   * -LOADING meanwhile), and makes every later write durable.
   */
  async open(): Promise<void> {
    const config = this.config;
    await this.loadAclFile();
    const durability = () =>
      (config.str("durability") === "async" ? "async" : "sync") as Durability;
    this.loading = true;
    // The engine owns the lock from here (and releases it if it fails to open).
    const lock = this.dataDirLock ?? undefined;
    this.dataDirLock = null;
    try {
      const maxmemory = config.int("maxmemory") || Infinity;
      const hotMax = this.memory.hotMax;
      const ks = this.keyspace;
      this.engine = await DurableEngine.open(this.keyspace, {
        lock,
        dataDir: config.str("data-dir"),
        keepHot: (length) => length <= hotMax && ks.usedBytes < maxmemory,
        durability: durability(),
        windowMs: config.int("commit-window-ms"),
        segmentSize: () => this.segmentSize,
        log: this.log,
      });
      const engine = this.engine;
      const memory = this.memory;
      memory.log = {
        canCool: (e) =>
          e.locSegment !== NO_SEGMENT &&
          engine.shards[e.shard].isWritten(e.locSegment, e.locOffset + e.strLen),
        writePending: () => {
          for (const s of engine.shards) s.writePending();
        },
        canRewrite: () => engine.log.writesNow,
      };
      engine.log.onValueWritten = (e) => {
        if (memory.tooLargeToKeep(e)) memory.coolLater(e);
      };
      engine.log.onValueUnplaced = (e) => memory.placeLater(e);
      this.keyspace.onWarm = (e) => {
        if (memory.tooLargeToKeep(e)) memory.coolLater(e);
      };
      for (const s of engine.shards) s.onSynced = () => memory.drain();
      engine.commits.onBlocked = (ms) => {
        for (const hook of this.stallHooks) hook("aof-fsync-always", ms);
      };
      // Strings that APPEND records grew are in no one record of the log: those that may not stay
      // hot (maxmemory, hot-cache-max-value-size) are written whole (and then go cold as any
      // value) before commands come in.
      if (engine.recovery.some((r) => r.appends > 0) && memory.placeGrownStrings() > 0) {
        await engine.log.flushAll();
      }
    } finally {
      this.loading = false;
    }
    const ns = this.engine.namespaces;
    const update = () =>
      ns.setDefaults({ durability: durability(), windowMs: config.int("commit-window-ms") });
    config.watch("durability", update);
    config.watch("commit-window-ms", update);
  }

  /**
   * A large cold value as a file slice to stream (values over `sendfile-threshold`), or null
   * when it should simply be read back.
   */
  coldSlice(e: Entry): FileSlice | null {
    const engine = this.engine;
    if (!engine || !e.cold || e.locSegment === NO_SEGMENT) return null;
    if (e.strLen <= this.config.int("sendfile-threshold")) return null;
    const { path, offset, length } = engine.cold.locate(e);
    this.keyspace.coldReads++;
    return new FileSlice(Deno.openSync(path, { read: true }), offset, length);
  }

  private outputLimits = new Map<string, OutputLimit>();
  /** Output size from which replies are checked against the limits (see outputLimit). */
  outputCheckFrom = REPLY_BUFFER_BYTES + 64 * 1024;

  /** Parses client-output-buffer-limit (at start and whenever it is set). */
  private readOutputLimits(): void {
    const parts = this.config.str("client-output-buffer-limit").trim().split(/\s+/);
    const limits = new Map<string, OutputLimit>();
    for (let i = 0; i + 3 < parts.length; i += 4) {
      const cls = parts[i].toLowerCase() === "slave" ? "replica" : parts[i].toLowerCase();
      limits.set(cls, {
        hard: parseMemory(parts[i + 1]) ?? 0,
        soft: parseMemory(parts[i + 2]) ?? 0,
        seconds: Number(parts[i + 3]),
      });
    }
    this.outputLimits = limits;
    // Replies are checked from 64 KB of output past the reply buffer the limits do not count,
    // or from a smaller limit when one is set.
    let from = 64 * 1024;
    for (const l of limits.values()) {
      for (const v of [l.hard, l.soft]) if (v > 0 && v < from) from = v;
    }
    this.outputCheckFrom = REPLY_BUFFER_BYTES + from;
  }

  /**
   * The client-output-buffer-limit of a client's class (pubsub for subscribed clients, normal
   * otherwise), or null when that class has no limit.
   */
  outputLimit(client: Client): OutputLimit | null {
    const limit = this.outputLimits.get(client.inPubSubMode ? "pubsub" : "normal");
    return limit && (limit.hard > 0 || limit.soft > 0) ? limit : null;
  }

  /** Whether new clients start authenticated (the default user has no password). */
  get defaultUserNoPass(): boolean {
    return this.acl.defaultNoPass();
  }

  /** Binds the RESP listeners and starts background work. */
  async listen(): Promise<void> {
    const binds = this.config.str("bind").trim().split(/\s+/);
    // The data directory is locked and checked before anything listens: a second server on
    // it, or one with another shard count, stops here, before it says it is ready.
    this.dataDirLock ??= await lockDataDir(this.config.str("data-dir"), this.shardCount);
    // Users exist before the first client can AUTH (a missing file stops the start here).
    await this.loadAclFile();
    try {
      this.port = await this.bindListeners(binds, this.config.int("port"));
    } catch (e) {
      this.close();
      throw e;
    }
    if (this.config.int("http-port") >= 0) {
      try {
        // Loaded only when wanted: the HTTP side (prom-client above all) takes ~80 ms to load,
        // which a server without it should not wait for at every start.
        const { startHttp } = await import("../http/app.ts");
        this.http = await startHttp(this);
      } catch (e) {
        this.close();
        throw new Error(`cannot start the HTTP server: ${(e as Error).message}`);
      }
    }
    this.startCron();
    this.config.watch("hz", () => this.startCron());
    this.log.notice(
      "server",
      `Ready to accept connections tcp on ${binds.join(" ")} port ${this.port}`,
    );
  }

  /**
   * Binds the RESP listeners: TCP on every `bind` address at `port` (0: a free one), the Unix
   * socket and TLS when configured. Returns the TCP port bound.
   */
  private async bindListeners(binds: string[], port: number): Promise<number> {
    port = this.listenTcp(binds, port);
    const unix = this.config.str("unixsocket");
    if (unix !== "") await this.listenUnix(unix);
    if (this.config.int("tls-port") > 0) await this.listenTls(binds);
    return port;
  }

  private listenTcp(binds: string[], port: number): number {
    for (const raw of binds) {
      const optional = raw.startsWith("-");
      const hostname = optional ? raw.slice(1) : raw;
      try {
        const l = Deno.listen({ hostname: hostname === "*" ? "0.0.0.0" : hostname, port });
        port = (l.addr as Deno.NetAddr).port;
        this.listeners.push(l);
        this.acceptLoop(l);
      } catch (e) {
        if (optional) continue;
        throw new Error(`cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
      }
    }
    return port;
  }

  /**
   * Listens again after {@link stopAccepting}, on the same ports (a shutdown was aborted or
   * failed, and the server keeps running).
   */
  resumeAccepting(): Promise<void> {
    this.acceptWanted = true;
    // One attempt at a time: two would close each other's listeners on "in use".
    return this.resuming ??= this.rebind().finally(() => this.resuming = null);
  }

  private async rebind(): Promise<void> {
    const binds = this.config.str("bind").trim().split(/\s+/);
    // A closed listener lets its port go once its pending accept has been cancelled, a moment
    // later: binding again right away can find the port still in use.
    for (let attempt = 1;; attempt++) {
      // Checked before every attempt: a new shutdown may have begun during the wait.
      if (!this.acceptWanted || this.shuttingDown || this.listeners.length > 0) return;
      try {
        await this.bindListeners(binds, this.port);
        if (!this.acceptWanted || this.shuttingDown) {
          this.closeListeners(); // a shutdown began while binding
          return;
        }
        this.log.notice("server", "Accepting connections again");
        return;
      } catch (e) {
        this.closeListeners(); // what did bind, before trying again
        if (!/in use/.test((e as Error).message) || attempt === 50) {
          this.log.warning("server", `cannot accept connections again: ${(e as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Listens on a Unix domain socket too (`unixsocket`, `unixsocketperm`), as Redis does. */
  private async listenUnix(path: string): Promise<void> {
    try {
      // A socket file left by a server that did not exit cleanly would refuse the bind; one a
      // live server listens on is that server's.
      if (Deno.lstatSync(path).isSocket) {
        const live = await Deno.connect({ transport: "unix", path }).then((c) => {
          c.close();
          return true;
        }, () => false);
        if (live) {
          throw new Error(
            `cannot listen on unix socket ${path}: another server is listening on it`,
          );
        }
        Deno.removeSync(path);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    try {
      const l = Deno.listen({ transport: "unix", path });
      const perm = parseInt(this.config.str("unixsocketperm"), 8);
      if (perm !== 0) Deno.chmodSync(path, perm);
      this.listeners.push(l);
      this.unixSocket = { path, ino: Deno.lstatSync(path).ino };
      this.acceptLoop(l);
    } catch (e) {
      throw new Error(`cannot listen on unix socket ${path}: ${(e as Error).message}`);
    }
    this.log.notice("server", `The server is now ready to accept connections at ${path}`);
  }

  /** The Unix socket listened on (its file is removed when the server stops, if still ours). */
  private unixSocket: { path: string; ino: number | null } | null = null;

  /** The HTTP server (probes, metrics, dashboard), when `http-port` is not -1. */
  http: { port: number; close(): Promise<void> } | null = null;

  /** The TLS listener's port (0 when TLS is off). */
  tlsPort = 0;
  private closeTls: (() => void) | null = null;

  private async listenTls(binds: string[]): Promise<void> {
    const c = this.config;
    // node:tls is loaded only when a TLS port is configured.
    const { listenTls } = await import("../protocol/tls.ts");
    const { port, close } = await listenTls(
      {
        port: c.int("tls-port"),
        hostnames: binds.map((b) => b.replace(/^-/, "")),
        certFile: c.str("tls-cert-file"),
        keyFile: c.str("tls-key-file"),
        caFile: c.str("tls-ca-cert-file"),
        authClients: () => c.str("tls-auth-clients") as "yes" | "no" | "optional",
      },
      (stream, remote, local) => this.serveStream(stream, remote, local, true),
      (message) => this.log.warning("tls", message),
    );
    this.tlsPort = port;
    this.closeTls = close;
    this.log.notice("server", `Ready to accept connections tls on ${binds.join(" ")} port ${port}`);
  }

  /** Resolves when the server has closed. */
  get closed(): Promise<void> {
    return this.closedSignal.promise;
  }

  private async acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) this.accept(conn);
    } catch (e) {
      if (!this.shuttingDown) this.log.warning("server", `accept failed: ${(e as Error).message}`);
    }
  }

  /** Serves a new TCP connection. */
  accept(conn: Deno.Conn): void {
    if (this.shuttingDown) {
      conn.close();
      return;
    }
    const tcp = conn as Deno.TcpConn;
    try {
      tcp.setNoDelay?.(true);
      if (this.config.int("tcp-keepalive") > 0) tcp.setKeepAlive?.(true);
    } catch { /* not a TCP socket */ }
    this.serveStream(conn, conn.remoteAddr, conn.localAddr, false);
  }

  /** Serves any byte stream as a client connection (TCP, TLS, in-memory). */
  serveStream(
    stream: {
      read(p: Uint8Array): Promise<number | null>;
      write(p: Uint8Array): Promise<number>;
      close(): void;
    },
    remote?: Deno.Addr,
    local?: Deno.Addr,
    secure = false,
  ): Connection {
    const connection = new Connection(stream, this, remote, local);
    const client = connection.client;
    // A Unix socket is local by nature: neither TLS nor protected mode applies to it.
    const unix = remote?.transport === "unix";
    if (!secure && !unix && this.config.bool("require-tls") && remote !== undefined) {
      this.stats.rejectedConnections++;
      stream.write(new TextEncoder().encode(
        "-ERR plaintext connections are not accepted: this server requires TLS (require-tls yes)\r\n",
      )).catch(() => {}).finally(() => stream.close());
      return connection;
    }
    if (this.clients.size >= this.config.int("maxclients")) {
      this.stats.rejectedConnections++;
      stream.write(new TextEncoder().encode("-ERR max number of clients reached\r\n"))
        .catch(() => {})
        .finally(() => stream.close());
      return connection;
    }
    if (
      !secure && !unix && remote !== undefined && this.config.bool("protected-mode") &&
      this.defaultUserNoPass &&
      !isLoopback(connection.addr)
    ) {
      this.stats.rejectedConnections++;
      stream.write(new TextEncoder().encode(PROTECTED_MODE_DENIED)).catch(() => {}).finally(() =>
        stream.close()
      );
      return connection;
    }
    this.stats.connections++;
    client.authenticated = this.defaultUserNoPass;
    this.clients.set(client.id, client);
    connection.serve();
    return connection;
  }

  /** Adds a policy check that runs before every command (in the order gates are added). */
  addGate(gate: CommandGate): void {
    this.gateChecks.push(gate.check.bind(gate));
    if (gate.rejected) this.gateRejections.push(gate.rejected.bind(gate));
  }

  /** Bookkeeping when a client's connection ends. */
  disconnected(client: Client): void {
    // Commands of it still held (CLIENT PAUSE, a waiting transaction) must not run any more.
    client.closing = true;
    this.clients.delete(client.id);
    for (const hook of this.disconnectHooks) hook(client);
  }

  /** Runs after every executed command. */
  afterCommand(
    client: Client,
    cmd: Command,
    argv: Uint8Array[],
    usec: number,
    waited = false,
  ): void {
    this.memory.drain();
    const hooks = this.commandHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i](client, cmd, argv, usec, waited);
  }

  private startCron(): void {
    this.runCron((tick) => this.serverCron(tick));
  }

  /**
   * Runs only the cron's work on the data ({@link storeCron}): the cron of an embedded store,
   * which has no listeners or connections. Stopped by {@link close}, as the server's cron.
   */
  startStoreCron(): void {
    const run = () => this.runCron((tick) => this.storeCron(tick));
    run();
    this.config.watch("hz", run);
  }

  private runCron(work: (tick: number) => void): void {
    clearInterval(this.cron);
    const hz = this.config.int("hz");
    let tick = 0;
    this.cron = setInterval(() => {
      // Background work must not take the process down with it: a failure is logged.
      try {
        work(tick++);
      } catch (e) {
        this.log.warning("server", `server cron: ${(e as Error)?.stack ?? e}`);
      }
    }, Math.max(2, Math.floor(1000 / hz)));
  }

  /**
   * The keyspace's part of the cron (the server's and an embedded store's): active expiry
   * within `expireBudgetMs`, and active rehashing. Nothing expires inside a transaction that is
   * waiting for one of its commands.
   */
  keyspaceCron(expireBudgetMs: number, effort = 0): void {
    if (this.exclusive !== null) return;
    // Nothing expires during CLIENT PAUSE, as in Redis (a failover's replica must see no change).
    if (!this.keyspace.expiryPaused) this.keyspace.activeExpireCycle(expireBudgetMs, effort);
    if (this.config.bool("activerehashing")) this.keyspace.rehash(1);
  }

  private serverCron(tick: number): void {
    const hz = this.config.int("hz");
    if (tick % hz === 0) {
      this.closeIdleClients();
      const now = Date.now();
      for (const c of this.clients.values()) c.transport.trimBuffers?.(now);
    }
    // As Redis trims before commands: the table comes back within its limit, effort growing
    // while it stays over (a lowered limit, reads of many keys at once).
    if (this.tracking.clients.size !== 0) this.tracking.limit();
    for (const hook of this.cronHooks) hook();
    this.storeCron(tick);
  }

  /**
   * The cron's work on the data, which an embedded store (plugins/embed.ts) runs too, `hz`
   * times a second: active expiry and rehashing, the end of CLIENT PAUSE, and once a second
   * strings grown by APPEND written whole and automatic compaction; then the memory peak, giving
   * dropped values' memory back, cooling and eviction under maxmemory.
   */
  storeCron(tick: number): void {
    // Active expiry may use a quarter of each cron period, as Redis's slow cycle does (2% more
    // per step of active-expire-effort).
    const hz = this.config.int("hz");
    const effort = this.config.int("active-expire-effort") - 1;
    this.keyspaceCron((25 + 2 * effort) * 10 / hz, effort);
    if (tick % hz === 0) {
      this.memory.placeSettled();
      this.autoCompact();
    }
    this.pause.expire();
    this.memory.peak();
    this.memory.collector.tick();
    this.memory.drain();
    const max = this.config.int("maxmemory");
    if (max > 0 && this.keyspace.usedBytes > max) this.memory.evict(max);
  }

  /** Per shard: no automatic compaction before this time (after a run that stopped). */
  private autoCompactAfter: number[] = [];

  /**
   * Starts compaction of shards whose dead bytes passed merge-dead-ratio and
   * merge-min-dead-bytes, or whose log grew by merge-growth-percentage past merge-min-size (a log
   * of live element effects has no dead bytes, yet replays far slower than one snapshot).
   */
  private autoCompact(): void {
    const engine = this.engine;
    if (!engine) return;
    const ratio = Number(this.config.str("merge-dead-ratio"));
    const minDead = this.config.int("merge-min-dead-bytes");
    const growth = this.config.int("merge-growth-percentage");
    const minSize = this.config.int("merge-min-size");
    const now = Date.now();
    engine.shards.forEach((s, i) => {
      const st = s.stats;
      if (engine.compactor.isRunning(i) || st.bytes === 0) return;
      if (now < (this.autoCompactAfter[i] ?? 0)) return;
      const dead = st.deadBytes >= minDead && st.deadBytes / st.bytes >= ratio;
      const grown = growth > 0 && st.bytes >= minSize &&
        st.bytes >= st.baseBytes * (1 + growth / 100);
      if (dead || grown) {
        engine.compactor.compact(i).catch((e) => {
          // A run stopped (a flush, a swap, a full disk) leaves the trigger as it was: wait a
          // while before the next automatic one, as Redis backs off after a failed rewrite.
          this.autoCompactAfter[i] = Date.now() + AUTO_COMPACT_BACKOFF_MS;
          this.log.warning("compaction", (e as Error).message);
        });
      }
    });
  }

  private closeIdleClients(): void {
    const timeout = this.config.int("timeout");
    if (timeout <= 0) return;
    const now = Date.now();
    for (const c of this.clients.values()) {
      // As in Redis, subscribers, clients waiting in blocking commands and monitors (replicas
      // to Redis) do not time out.
      if (c.inPubSubMode || c.blocked || c.monitor) continue;
      if (now - c.lastInteraction > timeout * 1000) {
        this.log.verbose("server", `closing idle client id=${c.id} addr=${c.transport.addr}`);
        c.transport.close();
      }
    }
  }

  /** Stops taking new connections (the first step of a graceful shutdown). */
  stopAccepting(): void {
    this.acceptWanted = false;
    this.closeListeners();
  }

  private closeListeners(): void {
    for (const l of this.listeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    this.listeners = [];
    if (this.unixSocket !== null) {
      const { path, ino } = this.unixSocket;
      try {
        // Only our own file: another server may have replaced it since.
        if (Deno.lstatSync(path).ino === ino) Deno.removeSync(path);
      } catch { /* already gone */ }
      this.unixSocket = null;
    }
    this.closeTls?.();
    this.closeTls = null;
  }

  /**
   * Stops listening, closes every client, stops background work, and flushes and closes the
   * durable engine. Resolves when everything is on disk.
   */
  close(): Promise<void> {
    if (this.shuttingDown) return this.closedSignal.promise;
    this.shuttingDown = true;
    clearInterval(this.cron);
    for (const l of this.listeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    this.closeTls?.();
    for (const c of this.clients.values()) c.transport.close();
    this.pause.unpause();
    const engine = this.engine;
    this.dataDirLock?.close(); // taken by listen(), never handed to an engine
    this.dataDirLock = null;
    (async () => {
      try {
        await engine?.close();
      } catch (e) {
        this.log.warning("server", `closing the engine failed: ${(e as Error).message}`);
      }
      // HTTP goes last, so readiness answers "stopping" until everything is on disk.
      await this.http?.close().catch(() => {});
      this.log.close();
      this.closedSignal.resolve();
    })();
    return this.closedSignal.promise;
  }
}

/** Redis 7.0's protected-mode refusal, word for word (its "Setup a an" included). */
const PROTECTED_MODE_DENIED =
  "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/** One class's output buffer limit: bytes hard, bytes soft, seconds over soft. */
export interface OutputLimit {
  hard: number;
  soft: number;
  seconds: number;
}

/** Options of {@link startServer}: any configuration parameter, by name. */
export type ServerOptions = Record<string, string | number | boolean>;

/**
 * Starts a server inside the calling program.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, "data-dir": dataDir, "loglevel": "warning" });
 * console.assert(server.port > 0);
 * await server.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const config = new Config();
  for (const [name, value] of Object.entries(options)) {
    config.set(name, typeof value === "boolean" ? (value ? "yes" : "no") : String(value), "cli");
  }
  const server = new Server(config);
  try {
    // Plugins first: recovery needs the value types they add.
    await loadPlugins(server, config.list("loadplugin"));
  } catch (e) {
    await server.close();
    throw e;
  }
  try {
    await server.listen();
    await server.open();
  } catch (e) {
    await server.close();
    throw e;
  }
  return server;
}

/** The shard count a data directory was written with, if it has one (meta.json). */
function savedShardCount(dataDir: string): number {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dataDir}/meta.json`)).shardCount ?? 0;
  } catch {
    return 0;
  }
}
