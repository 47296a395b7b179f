/**
 * INFO [section ...]: server information as Redis 7 lays it out — `# Title` headers, `field:value`
 * lines, sections separated by blank lines, CRLF line ends. Sections are a table of builders
 * ({@link INFO_SECTIONS}); a family that has something to report adds a section or fields there.
 *
 * @module
 */
import process from "node:process";
import { resolve } from "node:path";
import { Verbatim } from "../protocol/reply.ts";
import { REDIS_VERSION, type Server, VERSION } from "../server/server.ts";
import { operations } from "./server.ts";
import { latin1, utf8Bytes } from "./args.ts";
import type { CommandSpec } from "./spec.ts";
import { storedSize } from "../engine/keyspace.ts";
import { epochMs, FFI_CLOCK } from "../engine/clock.ts";
import { moduleInfoLines } from "../plugins/loader.ts";
import { procCpuTime } from "../server/stats.ts";

/** One `field:value` line. */
export type InfoLine = [field: string, value: string | number];

/** One INFO section. */
export interface InfoSection {
  /** Lower-case name INFO takes (`server`, `commandstats` …). */
  name: string;
  /** Other names that select it (`module_list`). */
  aliases?: string[];
  /** The header: `# Server`. */
  title: string;
  /** Part of INFO without arguments and of INFO default. */
  default: boolean;
  /** FerricStore's own: part of INFO everything (as a module's would be), not of INFO all. */
  extra?: boolean;
  /** The section's lines, computed when asked for. */
  lines(server: Server): InfoLine[];
}

/** `%.2f` as C's printf rounds it (exact ties go to even, where toFixed rounds them up). */
export function fixed2(x: number): string {
  const d = x * 200;
  if (Number.isInteger(d) && d % 2 !== 0) {
    const lo = Math.floor(d / 2);
    return ((lo % 2 === 0 ? lo : lo + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/** Redis's bytesToHuman: 1023B, 1.00K, 943.46K, 6.77M, 23.59G … */
export function bytesToHuman(n: number): string {
  const units = ["K", "M", "G", "T", "P"];
  if (n < 1024) return `${n}B`;
  for (let i = 0; i < units.length; i++) {
    if (n < 1024 ** (i + 2)) return fixed2(n / 1024 ** (i + 1)) + units[i];
  }
  return `${n}B`;
}

/**
 * Redis's instantaneous metrics: the rate of a counter per 100 ms period, averaged over the last
 * 16 periods. Samples are taken as commands run instead of by a timer: since a command at least
 * 100 ms after the last sample takes a new one, whatever a long gap adds happened in its first
 * 100 ms, and the periods after it were idle.
 */
class InstantMetric {
  private readonly samples = new Float64Array(16);
  private idx = 0;
  private lastTime: number;
  private lastValue: number;

  constructor(now: number, value: number) {
    this.lastTime = now;
    this.lastValue = value;
  }

  track(now: number, value: number): void {
    const dt = now - this.lastTime;
    if (dt < 100) return;
    const periods = Math.floor(dt / 100);
    // The first period of the gap carries the increase; one beyond the last 16 is forgotten.
    const rate = periods > 16 ? 0 : (value - this.lastValue) * 1000 / (periods === 1 ? dt : 100);
    this.add(rate);
    for (let i = 1; i < Math.min(periods, 16); i++) this.add(0);
    this.lastTime = now;
    this.lastValue = value;
  }

  private add(rate: number): void {
    this.samples[this.idx] = rate;
    this.idx = (this.idx + 1) % 16;
  }

  /** The mean rate per second. */
  get value(): number {
    let sum = 0;
    for (const s of this.samples) sum += s;
    return sum / 16;
  }

  reset(now: number, value: number): void {
    this.samples.fill(0);
    this.lastTime = now;
    this.lastValue = value;
  }
}

/** What INFO keeps per server between calls: rates and the memory peak. */
class InfoState {
  readonly ops: InstantMetric;
  readonly netIn: InstantMetric;
  readonly netOut: InstantMetric;
  /** Replication ID (a master without replicas still has one). */
  readonly replId: string = Array.from(
    crypto.getRandomValues(new Uint8Array(20)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

  constructor(private readonly server: Server) {
    const now = Date.now();
    const st = server.stats;
    this.ops = new InstantMetric(now, st.commands);
    this.netIn = new InstantMetric(now, st.netInput);
    this.netOut = new InstantMetric(now, st.netOutput);
    // Sampled by the server cron, as Redis's serverCron samples them (not after every command).
    server.cronHooks.push(() => this.sample());
  }

  /** Takes the samples due (from the server cron, and on INFO). */
  sample(): void {
    const now = Date.now();
    const st = this.server.stats;
    this.ops.track(now, st.commands);
    this.netIn.track(now, st.netInput);
    this.netOut.track(now, st.netOutput);
  }

  reset(): void {
    const now = Date.now();
    const st = this.server.stats;
    this.ops.reset(now, st.commands);
    this.netIn.reset(now, st.netInput);
    this.netOut.reset(now, st.netOutput);
  }
}

const states = new WeakMap<Server, InfoState>();

function stateOf(server: Server): InfoState {
  let s = states.get(server);
  if (s === undefined) states.set(server, s = new InfoState(server));
  return s;
}

/** Restarts the instantaneous rates (CONFIG RESETSTAT). */
export function resetInfoStats(server: Server): void {
  stateOf(server).reset();
}

/** A path or other UTF-8 text as the binary string replies carry. */
function text(s: string): string {
  return latin1(utf8Bytes(s));
}

const SYSNAMES: Record<string, string> = {
  linux: "Linux",
  darwin: "Darwin",
  windows: "Windows",
  freebsd: "FreeBSD",
  netbsd: "NetBSD",
  openbsd: "OpenBSD",
  solaris: "SunOS",
  android: "Linux",
  aix: "AIX",
  illumos: "SunOS",
};

/** `%ld.%06ld` seconds from microseconds. */
function seconds6(usec: number): string {
  return `${Math.floor(usec / 1e6)}.${String(Math.floor(usec % 1e6)).padStart(6, "0")}`;
}

/**
 * What a call that needs `--allow-sys` returns, or `fallback` where the process does not have it
 * (an embedded store's host may not grant it): INFO answers either way.
 */
function granted<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Every section, in Redis's order. */
export const INFO_SECTIONS: InfoSection[] = [
  {
    name: "server",
    title: "Server",
    default: true,
    lines(server) {
      const uptime = Math.floor((Date.now() - server.startedAt) / 1000);
      const hz = server.config.int("hz");
      const file = server.config.file;
      return [
        ["redis_version", REDIS_VERSION],
        ["ferricstore_version", VERSION],
        ["redis_mode", "standalone"],
        [
          "os",
          `${SYSNAMES[Deno.build.os] ?? Deno.build.os} ${
            granted(() => Deno.osRelease(), "unknown")
          } ${Deno.build.arch}`,
        ],
        ["arch_bits", 64],
        // Redis says which clock times its commands; so does FerricStore (engine/clock.ts).
        ["monotonic_clock", FFI_CLOCK ? "POSIX clock_gettime" : "performance.now()"],
        ["process_id", Deno.pid],
        ["run_id", server.runId],
        ["tcp_port", server.port],
        ["server_time_usec", Math.floor(epochMs() * 1000)],
        ["uptime_in_seconds", uptime],
        ["uptime_in_days", Math.floor(uptime / 86400)],
        ["hz", hz],
        ["configured_hz", hz],
        ["lru_clock", Math.floor(Date.now() / 1000) & 0xffffff],
        ["executable", text(Deno.execPath())],
        ["config_file", file === null ? "" : text(resolve(file))],
      ];
    },
  },
  {
    name: "clients",
    title: "Clients",
    default: true,
    lines(server) {
      let maxIn = 0;
      let maxOut = 0;
      for (const c of server.clients.values()) {
        maxIn = Math.max(maxIn, c.transport.queryBuffer()[0]);
        maxOut = Math.max(maxOut, c.transport.outputPending());
      }
      return [
        ["connected_clients", server.clients.size],
        ["cluster_connections", 0],
        ["maxclients", server.config.int("maxclients")],
        ["client_recent_max_input_buffer", maxIn],
        ["client_recent_max_output_buffer", maxOut],
        ["blocked_clients", server.blocking.count + server.pause.held.size],
        ["tracking_clients", server.tracking.clients.size],
        ["clients_in_timeout_table", server.blocking.timeoutCount],
      ];
    },
  },
  {
    name: "memory",
    title: "Memory",
    default: true,
    lines(server) {
      const st = stateOf(server);
      st.sample();
      const used = server.memory.used();
      const mu = Deno.memoryUsage();
      const rss = mu.rss;
      const allocated = Math.max(1, mu.heapUsed + mu.external);
      const peak = server.memory.peak();
      const total = granted(() => Deno.systemMemoryInfo().total, 0);
      const max = server.config.int("maxmemory");
      return [
        ["used_memory", used],
        ["used_memory_human", bytesToHuman(used)],
        ["used_memory_rss", rss],
        ["used_memory_rss_human", bytesToHuman(rss)],
        ["used_memory_peak", peak],
        ["used_memory_peak_human", bytesToHuman(peak)],
        ["used_memory_peak_perc", `${fixed2(peak === 0 ? 0 : used / peak * 100)}%`],
        ["total_system_memory", total],
        ["total_system_memory_human", bytesToHuman(total)],
        ["maxmemory", max],
        ["maxmemory_human", bytesToHuman(max)],
        ["maxmemory_policy", server.config.str("maxmemory-policy")],
        // RSS against what the runtime has allocated (V8's heap in use and memory outside it,
        // such as value buffers), as Redis compares RSS with its allocator's total.
        ["mem_fragmentation_ratio", fixed2(rss / allocated)],
        ["mem_fragmentation_bytes", rss - allocated],
      ];
    },
  },
  {
    name: "persistence",
    title: "Persistence",
    default: true,
    lines(server) {
      const ops = operations(server);
      const shards = server.engine?.shards ?? [];
      // Redis's names for what FerricStore does: every write goes to the shard logs (the
      // "AOF"), and SAVE/BGSAVE/compaction rewrite them.
      return [
        ["loading", server.loading ? 1 : 0],
        ["async_loading", 0],
        ["rdb_changes_since_last_save", ops.changesSinceSave],
        ["rdb_bgsave_in_progress", ops.bgsaveKind === "rdb" ? 1 : 0],
        ["rdb_last_save_time", ops.lastSaveTime()],
        ["rdb_last_bgsave_status", ops.lastBgsaveOk ? "ok" : "err"],
        ["aof_enabled", server.engine === null ? 0 : 1],
        ["aof_rewrite_in_progress", shards.some((s) => s.stats.merging) ? 1 : 0],
        ["aof_rewrite_scheduled", ops.scheduled.has("aof") ? 1 : 0],
        ["aof_last_write_status", shards.some((s) => s.failure !== null) ? "err" : "ok"],
      ];
    },
  },
  {
    name: "stats",
    title: "Stats",
    default: true,
    lines(server) {
      const info = stateOf(server);
      info.sample();
      const st = server.stats;
      const ks = server.keyspace.stats;
      const ps = server.pubsub;
      return [
        ["total_connections_received", st.connections],
        ["total_commands_processed", st.commands],
        ["instantaneous_ops_per_sec", Math.round(info.ops.value)],
        ["total_net_input_bytes", st.netInput],
        ["total_reads_processed", st.reads],
        ["total_writes_processed", st.writes],
        ["total_net_output_bytes", st.netOutput],
        ["instantaneous_input_kbps", fixed2(info.netIn.value / 1024)],
        ["instantaneous_output_kbps", fixed2(info.netOut.value / 1024)],
        ["rejected_connections", st.rejectedConnections],
        ["expired_keys", ks.expired],
        ["expired_stale_perc", fixed2(ks.expiredStalePercent)],
        ["expire_cycle_cpu_milliseconds", Math.round(ks.expireCycleMs)],
        ["evicted_keys", ks.evicted],
        ["keyspace_hits", ks.hits],
        ["keyspace_misses", ks.misses],
        ["pubsub_channels", ps.channels.size],
        ["pubsub_patterns", ps.patterns.size],
        ["pubsubshard_channels", ps.shardChannels.size],
        ["tracking_total_keys", server.tracking.keys],
        ["tracking_total_items", server.tracking.items],
        ["tracking_total_prefixes", server.tracking.prefixes],
        ["total_error_replies", st.errorReplies],
      ];
    },
  },
  {
    name: "replication",
    title: "Replication",
    default: true,
    lines: (server) => [
      ["role", "master"],
      ["connected_slaves", 0],
      ["master_failover_state", "no-failover"],
      ["master_replid", stateOf(server).replId],
      ["master_replid2", "0".repeat(40)],
      ["master_repl_offset", 0],
      ["second_repl_offset", -1],
      ["repl_backlog_active", 0],
    ],
  },
  {
    name: "cpu",
    title: "CPU",
    default: true,
    lines() {
      const cpu = process.cpuUsage();
      // The main thread is the one that runs commands.
      const main = procCpuTime(`/proc/self/task/${Deno.pid}/stat`);
      return [
        ["used_cpu_sys", seconds6(cpu.system)],
        ["used_cpu_user", seconds6(cpu.user)],
        ["used_cpu_sys_children", seconds6(0)],
        ["used_cpu_user_children", seconds6(0)],
        ...(main === null ? [] : [
          ["used_cpu_sys_main_thread", seconds6(main.system)],
          ["used_cpu_user_main_thread", seconds6(main.user)],
        ] as [string, string][]),
      ];
    },
  },
  {
    name: "modules",
    aliases: ["module_list"],
    title: "Modules",
    default: true,
    lines: (server) =>
      moduleInfoLines(server).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  },
  {
    name: "commandstats",
    title: "Commandstats",
    default: false,
    lines(server) {
      const out: InfoLine[] = [];
      for (const c of server.registry.everyCommand()) {
        const s = c.stats;
        if (s.calls === 0 && s.failed === 0 && s.rejected === 0) continue;
        out.push([
          `cmdstat_${c.fullName}`,
          `calls=${s.calls},usec=${Math.floor(s.usec)},usec_per_call=${
            fixed2(s.calls === 0 ? 0 : s.usec / s.calls)
          },rejected_calls=${s.rejected},failed_calls=${s.failed}`,
        ]);
      }
      return out;
    },
  },
  {
    name: "errorstats",
    title: "Errorstats",
    default: true,
    lines(server) {
      const codes = [...server.stats.errors].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      return codes.map(([code, n]): InfoLine => [`errorstat_${code}`, `count=${n}`]);
    },
  },
  {
    name: "cluster",
    title: "Cluster",
    default: true,
    lines: () => [["cluster_enabled", 0]],
  },
  {
    name: "keyspace",
    title: "Keyspace",
    default: true,
    lines(server) {
      const out: InfoLine[] = [];
      for (const db of server.keyspace.dbs) {
        const keys = db.size();
        if (keys === 0) continue;
        out.push([
          `db${db.index}`,
          `keys=${keys},expires=${db.volatileCount()},avg_ttl=${db.averageTtl()}`,
        ]);
      }
      return out;
    },
  },
  {
    name: "latencystats",
    title: "Latencystats",
    default: false,
    lines(server) {
      const out: InfoLine[] = [];
      const text = server.config.str("latency-tracking-info-percentiles");
      const percentiles = text === "" ? [] : text.split(" ");
      for (const c of server.registry.everyCommand()) {
        const h = c.stats.histogram;
        if (h.total === 0) continue;
        out.push([
          `latency_percentiles_usec_${c.fullName}`,
          percentiles.map((p) => `p${p}=${fixed3(h.percentile(Number(p)))}`).join(","),
        ]);
      }
      return out;
    },
  },
  {
    name: "namespace_config",
    extra: true,
    title: "Namespace_config",
    default: false,
    lines(server) {
      const ns = server.engine?.namespaces;
      const out: InfoLine[] = [
        ["default_durability", server.config.str("durability") === "async" ? "async" : "sync"],
        ["default_window_ms", server.config.int("commit-window-ms")],
      ];
      for (const prefix of ns?.prefixes() ?? []) {
        const n = ns!.get(prefix);
        out.push([
          `ns_${prefix}`,
          `durability=${n.durability},window_ms=${n.windowMs},changed_at=${n.changedAt},changed_by=${n.changedBy}`,
        ]);
      }
      return out;
    },
  },
  {
    name: "raft",
    extra: true,
    title: "Raft",
    default: false,
    lines(server) {
      // One node: every shard's log is its own leader; commit = on disk, applied = in memory.
      // Both count the records recovered at start too, as the dashboard and docs/http.md do.
      const out: InfoLine[] = [["cluster_nodes", 1]];
      const engine = server.engine;
      for (const [i, s] of (engine?.shards ?? []).entries()) {
        const recovered = engine!.recovery[i]?.records ?? 0;
        out.push([
          `shard_${i}`,
          `role=leader,term=1,commit_index=${recovered + s.stats.syncedRecords},applied_index=${
            recovered + s.stats.records
          }`,
        ]);
      }
      return out;
    },
  },
  {
    name: "bitcask",
    extra: true,
    title: "Bitcask",
    default: false,
    lines(server) {
      const out: InfoLine[] = [];
      for (const [i, s] of (server.engine?.shards ?? []).entries()) {
        const st = s.stats;
        out.push([
          `shard_${i}`,
          `files=${st.files},bytes=${st.bytes},dead_bytes=${st.deadBytes},` +
          `dead_ratio=${fixed2(st.bytes ? st.deadBytes / st.bytes : 0)},` +
          `last_merge=${Math.floor(st.lastMerge / 1000)},merge_running=${st.merging ? 1 : 0},` +
          `fsyncs=${st.flushes},journaled_commits=${st.journaled}`,
        ]);
      }
      return out;
    },
  },
  {
    name: "ferricstore",
    extra: true,
    title: "FerricStore",
    default: false,
    lines(server) {
      const ks = server.keyspace;
      const reads = ks.hotReads + ks.coldReads;
      let cold = 0;
      for (const sh of ks.shards) {
        for (const t of sh.tables) for (const e of t.values()) if (e.cold) cold++;
      }
      return [
        ["hot_reads", ks.hotReads],
        ["cold_reads", ks.coldReads],
        ["cold_read_ratio", fixed2(reads ? ks.coldReads / reads : 0)],
        ["cold_values", cold],
        ["values_made_cold", ks.stats.evicted],
        ["hot_cache_max_value_size", server.config.int("hot-cache-max-value-size")],
        ["shard_count", server.shardCount],
        ["data_dir", resolve(server.config.str("data-dir"))],
      ];
    },
  },
  {
    name: "keydir_analysis",
    extra: true,
    title: "Keydir_analysis",
    default: false,
    lines(server) {
      // Keys and bytes per namespace (the key prefix before the first ':'), largest first.
      const per = new Map<string, [number, number]>();
      for (const sh of server.keyspace.shards) {
        for (const t of sh.tables) {
          for (const e of t.values()) {
            const i = e.key.indexOf(":");
            const prefix = i < 0 ? "" : e.key.slice(0, i);
            const cur = per.get(prefix) ?? [0, 0];
            cur[0]++;
            cur[1] += e.key.length + storedSize(e);
            per.set(prefix, cur);
          }
        }
      }
      return [...per].sort((a, b) => b[1][1] - a[1][1]).slice(0, 100).map((
        [prefix, [keys, bytes]],
      ) => [`prefix_${prefix === "" ? "(none)" : prefix}`, `keys=${keys},bytes=${bytes}`]);
    },
  },
];

// Redis lists latencystats right after errorstats.
INFO_SECTIONS.splice(
  INFO_SECTIONS.findIndex((s) => s.name === "errorstats") + 1,
  0,
  ...INFO_SECTIONS.splice(INFO_SECTIONS.findIndex((s) => s.name === "latencystats"), 1),
);

/** `%.3f`. */
function fixed3(x: number): string {
  return x.toFixed(3);
}

/**
 * The INFO text for the given section arguments (none: the default sections; `default`, `all`
 * and `everything` as Redis reads them; unknown names select nothing).
 */
export function infoText(server: Server, args: string[]): string {
  let all = false;
  let everything = false;
  const wanted = new Set<string>();
  if (args.length === 0) args = ["default"];
  for (const a of args.map((x) => x.toLowerCase())) {
    if (a === "all" || a === "everything") all = true;
    if (a === "everything") everything = true;
    else if (a === "default") {
      for (const s of INFO_SECTIONS) if (s.default) wanted.add(s.name);
    } else wanted.add(a);
  }
  const parts: string[] = [];
  for (const s of INFO_SECTIONS) {
    const named = wanted.has(s.name) || (s.aliases ?? []).some((a) => wanted.has(a));
    if (!named && !(all && (!s.extra || everything))) continue;
    let t = `# ${s.title}\r\n`;
    for (const [field, value] of s.lines(server)) t += `${field}:${value}\r\n`;
    parts.push(t);
  }
  return parts.join("\r\n");
}

/** INFO. */
export const infoCommands: CommandSpec[] = [
  {
    name: "info",
    arity: -1,
    flags: ["loading", "stale"],
    categories: ["dangerous"],
    group: "server",
    summary: "Get information and statistics about the server",
    since: "1.0.0",
    complexity: "O(1)",
    /** INFO [section [section ...]] */
    handler(ctx, argv) {
      stateOf(ctx.server).sample();
      return new Verbatim("txt", infoText(ctx.server, argv.slice(1).map(latin1)));
    },
  },
];
