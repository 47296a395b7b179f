/**
 * Prometheus metrics of one server, in a prom-client registry of its own (several servers in
 * one process do not clash): the `ferricstore_*` server gauges and counters, keys and durability
 * per namespace, shard log counters, per-command call counters and latency histograms, and
 * prom-client's default process metrics.
 *
 * Values are read from the server when scraped (prom-client `collect` callbacks). Command
 * latencies are added up by a command hook into plain arrays — a few nanoseconds per command,
 * where prom-client's own `observe` costs about half a microsecond — and handed to prom-client
 * as a histogram when scraped.
 *
 * @module
 */
// A full specifier, so the module graph resolves without this repository's import map (plugins
// import mod.ts from another project or over https).
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  type LabelValues,
  Registry,
  // deno-lint-ignore no-import-prefix
} from "npm:prom-client@^15.1.3";
import type { Command } from "../commands/spec.ts";
import { type CommandHook, REDIS_VERSION, type Server, VERSION } from "../server/server.ts";
import { binaryToText, KeyInventory, shardKeys } from "./inventory.ts";
import { slowlogLength } from "./slowlog.ts";

/** Upper bounds (seconds) of the command latency histogram's buckets. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** Default process metrics left out: gauges whose names end in _total. */
const NON_COUNTER_TOTALS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Calls and latencies of one command, added up by the hook. */
interface CommandTally {
  name: string;
  calls: number;
  /** Seconds in total. */
  sum: number;
  /** Calls per bucket (not cumulative); the last slot counts calls over every bound. */
  counts: Float64Array;
}

/** A value of a histogram as prom-client formats it. */
interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

const LATENCY_NAME = "ferricstore_command_duration_seconds";
const LATENCY_HELP = "Time commands took to run, by command (subcommands as container|sub).";

/**
 * A histogram whose observations were added up elsewhere (see {@link ServerMetrics}): it hands
 * prom-client's registry (and its own `get()`) the buckets of the tallies when asked.
 */
class TalliedHistogram extends Histogram<"command"> {
  private tallies: () => Iterable<CommandTally> = () => [];

  constructor(registry: Registry, tallies: () => Iterable<CommandTally>) {
    super({
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      labelNames: ["command"],
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
    this.tallies = tallies;
  }

  /** What the registry formats, and what `get()` builds on (prom-client's own hook). */
  getForPromString(): Promise<unknown> {
    const values: HistogramValue[] = [];
    const bucket = `${LATENCY_NAME}_bucket`;
    const tallies = [...this.tallies()].sort((a, b) => a.name < b.name ? -1 : 1);
    for (const t of tallies) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += t.counts[i];
        values.push({ labels: { command: t.name, le }, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { command: t.name, le: "+Inf" }, value: t.calls, metricName: bucket },
        { labels: { command: t.name }, value: t.sum, metricName: `${LATENCY_NAME}_sum` },
        { labels: { command: t.name }, value: t.calls, metricName: `${LATENCY_NAME}_count` },
      );
    }
    // The instance's own fields, as prom-client's Histogram reports them (type "histogram").
    const self = this as unknown as {
      name: string;
      help: string;
      type: string;
      aggregator: string;
    };
    return Promise.resolve({
      name: self.name,
      help: self.help,
      type: self.type,
      values,
      aggregator: self.aggregator,
    });
  }
}

/** One server's metrics registry and the hook that feeds it. */
export class ServerMetrics {
  readonly registry: Registry = new Registry();
  readonly inventory: KeyInventory;
  private readonly tallies = new Map<Command, CommandTally>();

  /** Counts a command's call and latency (pushed onto `server.commandHooks`). */
  readonly hook: CommandHook = (_client, cmd, _argv, usec) => {
    let t = this.tallies.get(cmd);
    if (t === undefined) {
      t = {
        name: cmd.fullName,
        calls: 0,
        sum: 0,
        counts: new Float64Array(LATENCY_BUCKETS.length + 1),
      };
      this.tallies.set(cmd, t);
    }
    const seconds = usec / 1e6;
    t.calls++;
    t.sum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    t.counts[i]++;
  };

  constructor(readonly server: Server) {
    this.inventory = new KeyInventory(server);
    const r = this.registry;
    const s = server;
    gauge(
      r,
      "ferricstore_connected_clients",
      "Clients connected (INFO connected_clients).",
      () => s.clients.size,
    );
    // Redis's total_* fields restart from 0 on CONFIG RESETSTAT, so they are exported as
    // gauges under their INFO names; ferricstore_commands_total is the monotonic counter.
    gauge(
      r,
      "ferricstore_total_connections_received",
      "Connections accepted since start or CONFIG RESETSTAT (INFO total_connections_received).",
      () => s.stats.connections,
    );
    gauge(
      r,
      "ferricstore_total_commands_processed",
      "Commands run since start or CONFIG RESETSTAT (INFO total_commands_processed).",
      () => s.stats.commands,
    );
    counter(
      r,
      "ferricstore_hot_reads_total",
      "Reads of string values held in memory.",
      () => s.keyspace.hotReads,
    );
    counter(
      r,
      "ferricstore_cold_reads_total",
      "Reads of string values read back from the log (cold).",
      () => s.keyspace.coldReads,
    );
    gauge(
      r,
      "ferricstore_used_memory_bytes",
      "Estimated bytes held by keys and hot values (INFO used_memory).",
      () => s.memory.used(),
    );
    gauge(
      r,
      "ferricstore_keydir_used_bytes",
      "Estimated bytes held by the keydir: a fixed cost per key plus the key bytes.",
      async () => (await this.inventory.get()).keydirBytes,
    );
    gauge(
      r,
      "ferricstore_uptime_seconds",
      "Seconds since the server started.",
      () => Math.floor((Date.now() - s.startedAt) / 1000),
    );
    gauge(r, "ferricstore_blocked_clients", "Clients waiting in a blocking command.", () => {
      let n = 0;
      for (const c of s.clients.values()) if (c.blocked) n++;
      return n;
    });
    gauge(
      r,
      "ferricstore_tracking_clients",
      "Clients with client-side caching (CLIENT TRACKING) on.",
      () => s.tracking.clients.size,
    );
    gauge(
      r,
      "ferricstore_slowlog_entries",
      "Entries in the slow log (SLOWLOG LEN).",
      () => slowlogLength(s),
    );
    gauge(
      r,
      "ferricstore_maxmemory_bytes",
      "The maxmemory limit (0 = none).",
      () => s.config.int("maxmemory"),
    );
    gauge(
      r,
      "ferricstore_loading",
      "1 while the data directory is being loaded.",
      () => s.loading ? 1 : 0,
    );
    counter(
      r,
      "ferricstore_keyspace_hits_total",
      "Key lookups that found the key (INFO keyspace_hits).",
      () => s.keyspace.stats.hits,
    );
    counter(
      r,
      "ferricstore_keyspace_misses_total",
      "Key lookups that did not find the key (INFO keyspace_misses).",
      () => s.keyspace.stats.misses,
    );
    counter(
      r,
      "ferricstore_evictions_total",
      "Values made cold by the maxmemory policy (INFO evicted_keys).",
      () => s.keyspace.stats.evicted,
    );
    counter(
      r,
      "ferricstore_expired_keys_total",
      "Keys deleted on expiry (INFO expired_keys).",
      () => s.keyspace.stats.expired,
    );
    labeledGauge(r, "ferricstore_build_info", "Versions of this server; always 1.", [
      "version",
      "redis_version",
    ], () => [[{ version: VERSION, redis_version: REDIS_VERSION }, 1]]);
    labeledGauge(
      r,
      "ferricstore_db_keys",
      "Keys per logical database (databases without keys are left out).",
      ["db"],
      () =>
        s.keyspace.dbs.filter((db) => db.size() > 0).map((
          db,
        ) => [{ db: String(db.index) }, db.size()]),
    );

    // Namespaces: keys and bytes, and their durability settings.
    labeledGauge(
      r,
      "ferricstore_namespace_keys",
      "Keys per namespace (the key prefix before the first ':'; \"\" = keys without one).",
      ["prefix"],
      async () =>
        (await this.inventory.get()).namespaces.map((n) => [{ prefix: n.prefix }, n.keys]),
    );
    labeledGauge(
      r,
      "ferricstore_namespace_bytes",
      "Key and value bytes per namespace (cold values counted as stored in the log).",
      ["prefix"],
      async () =>
        (await this.inventory.get()).namespaces.map((n) => [{ prefix: n.prefix }, n.bytes]),
    );
    gauge(
      r,
      "ferricstore_namespaces_not_shown",
      "Namespaces beyond the largest 100, which the per-namespace metrics leave out.",
      async () => (await this.inventory.get()).otherNamespaces,
    );
    labeledGauge(
      r,
      "ferricstore_namespace_sync",
      "1 when writes to the namespace are acknowledged after fdatasync (durability sync), 0 for async.",
      ["prefix"],
      async () =>
        (await this.durabilityPrefixes()).map(([text, raw]) => [
          { prefix: text },
          this.settings(raw).sync,
        ]),
    );
    labeledGauge(
      r,
      "ferricstore_namespace_commit_window_seconds",
      "Longest time a write to the namespace waits to be grouped with others (commit window).",
      ["prefix"],
      async () =>
        (await this.durabilityPrefixes()).map(([text, raw]) => [
          { prefix: text },
          this.settings(raw).window,
        ]),
    );

    // Shard logs.
    const shards = () => s.engine?.shards ?? [];
    const perShard = (f: (i: number) => number) => () =>
      shards().map((_, i): [LabelValues<string>, number] => [{ shard: String(i) }, f(i)]);
    labeledGauge(
      r,
      "ferricstore_shard_keys",
      "Keys held by each shard.",
      ["shard"],
      () =>
        Array.from(
          { length: s.keyspace.shards.length },
          (_, i): [LabelValues<string>, number] => [{ shard: String(i) }, shardKeys(s, i)],
        ),
    );
    labeledGauge(
      r,
      "ferricstore_shard_log_files",
      "Log segment and snapshot files of each shard.",
      ["shard"],
      perShard((i) => shards()[i].stats.files),
    );
    labeledGauge(
      r,
      "ferricstore_shard_log_bytes",
      "Bytes of log and snapshot files of each shard.",
      ["shard"],
      perShard((i) => shards()[i].stats.bytes),
    );
    labeledGauge(
      r,
      "ferricstore_shard_log_dead_bytes",
      "Bytes of records superseded or deleted, reclaimed by compaction.",
      ["shard"],
      perShard((i) => shards()[i].stats.deadBytes),
    );
    labeledCounter(
      r,
      "ferricstore_shard_log_records_total",
      "Records appended to each shard's log since start.",
      ["shard"],
      perShard((i) => shards()[i].stats.records),
    );
    labeledCounter(
      r,
      "ferricstore_shard_log_fsyncs_total",
      "fdatasync calls of each shard's segment files since start.",
      ["shard"],
      perShard((i) => shards()[i].stats.flushes),
    );
    labeledCounter(
      r,
      "ferricstore_shard_log_journaled_commits_total",
      "Group commits of each shard made durable by the commit journal's fdatasync instead.",
      ["shard"],
      perShard((i) => shards()[i].stats.journaled),
    );
    labeledGauge(
      r,
      "ferricstore_shard_merging",
      "1 while a shard's log is being compacted.",
      ["shard"],
      perShard((i) => s.engine?.compactor.isRunning(i) ? 1 : 0),
    );
    labeledGauge(
      r,
      "ferricstore_shard_last_merge_timestamp_seconds",
      "When each shard's log was last compacted (0 = not since start).",
      ["shard"],
      perShard((i) => shards()[i].stats.lastMerge / 1000),
    );

    // Commands.
    labeledCounter(
      r,
      "ferricstore_commands_total",
      "Commands run, by command (subcommands as container|sub).",
      ["command"],
      () =>
        [...this.tallies.values()].map((t): [LabelValues<string>, number] => [
          { command: t.name },
          t.calls,
        ]),
    );
    new TalliedHistogram(r, () => this.tallies.values());

    collectDefaultMetrics({ register: r });
    // Gauges named *_total break Prometheus's naming rules (promtool check metrics refuses them);
    // each is the sum of a labeled gauge that stays (nodejs_active_handles{type} …).
    for (const name of NON_COUNTER_TOTALS) r.removeSingleMetric(name);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Namespaces shown with durability: those with keys (largest first) and those with settings
   * of their own, as [label text, binary prefix].
   */
  private async durabilityPrefixes(): Promise<[string, string][]> {
    const inv = await this.inventory.get();
    const out = new Map<string, string>(inv.namespaces.map((n) => [n.prefix, n.raw]));
    for (const p of this.server.engine?.namespaces.prefixes() ?? []) {
      const text = binaryToText(p);
      if (!out.has(text)) out.set(text, p);
    }
    return [...out];
  }

  private settings(prefix: string): { sync: number; window: number } {
    const ns = this.server.engine?.namespaces;
    const config = this.server.config;
    if (ns === undefined) {
      return {
        sync: config.str("durability") === "async" ? 0 : 1,
        window: config.int("commit-window-ms") / 1000,
      };
    }
    const s = ns.get(prefix);
    return { sync: s.durability === "sync" ? 1 : 0, window: s.windowMs / 1000 };
  }
}

type Labeled = [LabelValues<string>, number][];

function gauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Promise<number>,
): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });
}

function counter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Promise<number>,
): void {
  new Counter({
    name,
    help,
    registers: [registry],
    async collect() {
      this.reset();
      this.inc(Math.max(0, await read()));
    },
  });
}

function labeledGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Labeled | Promise<Labeled>,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const [labels, value] of rows) this.set(labels, value);
    },
  });
}

function labeledCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Labeled | Promise<Labeled>,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const [labels, value] of rows) this.inc(labels, Math.max(0, value));
    },
  });
}

const instances = new WeakMap<Server, ServerMetrics>();

/**
 * The metrics of a server, created on first use; creating them adds their command hook to the
 * server, so command counts and latencies start from that moment.
 *
 * @example
 * ```ts
 * import { startServer } from "../server/server.ts";
 * import { serverMetrics } from "./metrics.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, "data-dir": dataDir });
 * const text = await serverMetrics(server).text();
 * console.assert(text.includes("ferricstore_connected_clients"));
 * await server.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export function serverMetrics(server: Server): ServerMetrics {
  let m = instances.get(server);
  if (m === undefined) {
    m = new ServerMetrics(server);
    instances.set(server, m);
    server.commandHooks.push(m.hook);
  }
  return m;
}
