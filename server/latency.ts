/**
 * The latency monitor (LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET) and per-command latency
 * histograms (LATENCY HISTOGRAM), as Redis 7.0 keeps them:
 *
 * - an *event* (`command`, `fast-command`, …) gets a sample when something took at least
 *   `latency-monitor-threshold` ms; each event keeps its last 160 samples, one per second (a
 *   second sample in the same second keeps the larger latency), and its all-time maximum;
 * - every command's execution times go into a histogram of power-of-two levels from 1 µs to 1 s
 *   (each split into linear sub-buckets for percentiles), reported as the cumulative counts
 *   Redis's hdr_histogram iteration reports.
 *
 * @module
 */
import type { Config } from "./config.ts";

/** Samples kept per event (Redis's LATENCY_TS_LEN). */
export const LATENCY_TS_LEN = 160;

/** One latency sample: when (unix seconds) and how long (ms). */
export interface LatencySample {
  time: number;
  latency: number;
}

/** The samples of one event: a ring of {@link LATENCY_TS_LEN}, and the all-time maximum. */
export class LatencySeries {
  readonly samples: LatencySample[] = Array.from(
    { length: LATENCY_TS_LEN },
    () => ({ time: 0, latency: 0 }),
  );
  idx = 0;
  max = 0;

  /** Adds a sample at `now` (unix seconds), merging samples of the same second. */
  add(latency: number, now: number): void {
    if (latency > this.max) this.max = latency;
    const prev = this.samples[(this.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev.time === now) {
      if (latency > prev.latency) prev.latency = latency;
      return;
    }
    const s = this.samples[this.idx];
    s.time = now;
    s.latency = latency;
    this.idx = (this.idx + 1) % LATENCY_TS_LEN;
  }

  /** The newest sample. */
  latest(): LatencySample {
    return this.samples[(this.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
  }

  /** Every sample held, oldest first. */
  history(): LatencySample[] {
    const out: LatencySample[] = [];
    for (let j = 0; j < LATENCY_TS_LEN; j++) {
      const s = this.samples[(this.idx + j) % LATENCY_TS_LEN];
      if (s.time !== 0) out.push(s);
    }
    return out;
  }
}

/** What {@link analyze} finds in an event's samples (Redis's latencyStats). */
export interface LatencyStats {
  allTimeHigh: number;
  avg: number;
  min: number;
  max: number;
  /** Mean absolute deviation from the average. */
  mad: number;
  samples: number;
  /** Seconds from the oldest sample to now (at least 1). */
  period: number;
}

/** Statistics of a series, computed as Redis's analyzeLatencyForEvent does. */
export function analyze(ts: LatencySeries | undefined, now: number): LatencyStats {
  const st: LatencyStats = {
    allTimeHigh: ts ? ts.max : 0,
    avg: 0,
    min: 0,
    max: 0,
    mad: 0,
    samples: 0,
    period: 0,
  };
  if (!ts) return st;
  let sum = 0;
  for (const s of ts.samples) {
    if (s.time === 0) continue;
    st.samples++;
    if (st.samples === 1) st.min = st.max = s.latency;
    else {
      st.min = Math.min(st.min, s.latency);
      st.max = Math.max(st.max, s.latency);
    }
    sum += s.latency;
    if (st.period === 0 || s.time < st.period) st.period = s.time;
  }
  if (st.samples) {
    st.avg = Math.floor(sum / st.samples);
    st.period = now - st.period || 1;
  }
  sum = 0;
  for (const s of ts.samples) if (s.time !== 0) sum += Math.abs(st.avg - s.latency);
  if (st.samples) st.mad = Math.floor(sum / st.samples);
  return st;
}

/** The latency events of one server. */
export class LatencyMonitor {
  readonly events: Map<string, LatencySeries> = new Map();
  private threshold: number;

  constructor(private readonly config: Config) {
    this.threshold = config.int("latency-monitor-threshold");
    config.watch("latency-monitor-threshold", (v) => this.threshold = v as number);
  }

  /** Records `ms` for `event` when the monitor is on and `ms` reaches the threshold. */
  addSampleIfNeeded(event: string, ms: number): void {
    if (this.threshold > 0 && ms >= this.threshold) this.addSample(event, ms);
  }

  /** Records a sample unconditionally. */
  addSample(event: string, ms: number): void {
    let ts = this.events.get(event);
    if (ts === undefined) {
      ts = new LatencySeries();
      this.events.set(event, ts);
    }
    ts.add(ms, Math.floor(Date.now() / 1000));
  }

  /** Forgets one event (case-insensitive) or, with null, every event; returns how many. */
  reset(event: string | null): number {
    let n = 0;
    for (const name of [...this.events.keys()]) {
      if (event === null || name.toLowerCase() === event.toLowerCase()) {
        this.events.delete(name);
        n++;
      }
    }
    return n;
  }

  /** LATENCY GRAPH: an ASCII sparkline of an event's samples, as Redis draws it. */
  graph(event: string, ts: LatencySeries): string {
    const now = Math.floor(Date.now() / 1000);
    const values: number[] = [];
    const labels: string[] = [];
    for (const s of ts.history()) {
      const elapsed = now - s.time;
      labels.push(
        elapsed < 60
          ? `${elapsed}s`
          : elapsed < 3600
          ? `${Math.floor(elapsed / 60)}m`
          : elapsed < 86400
          ? `${Math.floor(elapsed / 3600)}h`
          : `${Math.floor(elapsed / 86400)}d`,
      );
      values.push(s.latency);
    }
    const min = values.length ? Math.min(...values) : 0;
    const max = values.length ? Math.max(...values) : 0;
    let out = `${event} - high ${max} ms, low ${min} ms (all time high ${ts.max} ms)\n`;
    out += "-".repeat(GRAPH_COLS) + "\n";
    return out + sparkline(values, labels, GRAPH_COLS, 4);
  }

  /** LATENCY DOCTOR: Redis's human-readable report, advice included. */
  doctor(hz: number, slowlogSlowerThan: number, fsyncAlways: boolean): string {
    const threshold = this.threshold;
    if (this.events.size === 0 && threshold === 0) {
      return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
    }
    const advise = new Set<string>();
    let advices = 0;
    let report = "";
    let eventnum = 0;
    const now = Math.floor(Date.now() / 1000);
    for (const [event, ts] of this.events) {
      eventnum++;
      if (eventnum === 1) {
        report +=
          "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
      }
      const ls = analyze(ts, now);
      report += `${eventnum}. ${event}: ${ls.samples} latency spikes (average ${ls.avg}ms, ` +
        `mean deviation ${ls.mad}ms, period ${(ls.period / ls.samples).toFixed(2)} sec). ` +
        `Worst all time event ${ts.max}ms.`;
      const on = (...names: string[]) => {
        for (const n of names) advise.add(n);
        advices += names.length;
      };
      switch (event.toLowerCase()) {
        case "command":
          if (slowlogSlowerThan < 0) on("slowlog_enabled");
          else if (Math.floor(slowlogSlowerThan / 1000) > threshold) on("slowlog_tuning");
          on("slowlog_inspect", "large_objects");
          break;
        case "fast-command":
          on("scheduler");
          break;
        case "aof-write-pending-fsync":
          on("local_disk", "disk_contention", "ssd", "data_writeback");
          break;
        case "aof-write-active-child":
          on("no_appendfsync", "data_writeback", "ssd");
          break;
        case "aof-write-alone":
          on("local_disk", "data_writeback", "ssd");
          break;
        case "aof-fsync-always":
          on("relax_fsync_policy");
          break;
        case "aof-fstat":
        case "rdb-unlink-temp-file":
          on("disk_contention", "local_disk");
          break;
        case "aof-rewrite-diff-write":
        case "aof-rename":
          on("write_load_info", "data_writeback", "ssd", "local_disk");
          break;
        case "expire-cycle":
          on("hz", "large_objects");
          break;
        case "eviction-del":
          on("large_objects");
          break;
        case "eviction-cycle":
          on("mass_eviction");
          break;
      }
      report += "\n";
    }
    if (anonHugePages() > 0) {
      advise.add("disable_thp");
      advices++;
    }
    if (eventnum === 0 && advices === 0) {
      return report +
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
    }
    if (eventnum > 0 && advices === 0) {
      return report +
        "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";
    }
    report += "\nI have a few advices for you:\n\n";
    const has = (n: string) => advise.has(n);
    if (has("slowlog_enabled")) {
      report +=
        `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${
          threshold * 1000
        }'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
    }
    if (has("slowlog_tuning")) {
      report +=
        `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${
          threshold * 1000
        }'.\n`;
    }
    if (has("slowlog_inspect")) {
      report +=
        "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n";
    }
    if (has("scheduler")) {
      report +=
        "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
        "  1) Lower the system load.\n" +
        "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
        '  3) Check if you have a "noisy neighbour" problem.\n' +
        "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
        "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";
    }
    if (has("local_disk")) {
      report +=
        "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n";
    }
    if (has("ssd")) {
      report +=
        "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n";
    }
    if (has("data_writeback")) {
      report +=
        "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n";
    }
    if (has("disk_contention")) {
      report +=
        "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n";
    }
    if (has("no_appendfsync")) {
      report +=
        "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n";
    }
    if (has("relax_fsync_policy") && fsyncAlways) {
      report +=
        "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n";
    }
    if (has("write_load_info")) {
      report +=
        "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n";
    }
    if (has("hz") && hz < 100) {
      report +=
        "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n";
    }
    if (has("large_objects")) {
      report +=
        "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n";
    }
    if (has("mass_eviction")) {
      report +=
        "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n";
    }
    if (has("disable_thp")) {
      report +=
        "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n";
    }
    return report;
  }
}

/** Bytes of anonymous huge pages this process uses (Linux), 0 when unknown. */
function anonHugePages(): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/smaps_rollup");
    const m = /^AnonHugePages:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const GRAPH_COLS = 80;
const CHARSET_FILL = "_o#";

/**
 * Redis's sparkline (sparkline.c with SPARKLINE_FILL): `rows` rows of `_o#|` scaled between
 * the smallest and largest value, then the labels written vertically, in chunks of `columns`.
 */
export function sparkline(
  values: number[],
  labels: string[],
  columns: number,
  rows: number,
): string {
  let out = "";
  if (values.length === 0) return out;
  let min = values[0];
  let max = values[0];
  for (let i = 1; i < values.length; i++) {
    // sparkline.c updates min and max with if/else-if: a new minimum is never also the maximum.
    if (values[i] < min) min = values[i];
    else if (values[i] > max) max = values[i];
  }
  const hasLabels = labels.some((l) => l !== "");
  for (let offset = 0; offset < values.length; offset += columns) {
    const len = Math.min(columns, values.length - offset);
    if (offset !== 0) out += "\n";
    const relmax = max - min === 0 ? 1 : max - min;
    const steps = CHARSET_FILL.length * rows;
    for (let row = 0;; row++) {
      let loop = false;
      const chars = new Array<string>(len).fill(" ");
      for (let j = 0; j < len; j++) {
        const relval = values[offset + j] - min;
        let step = Math.trunc(Math.trunc(relval * steps) / relmax);
        if (step < 0) step = 0;
        if (step >= steps) step = steps - 1;
        if (row < rows) {
          const charidx = step - (rows - row - 1) * CHARSET_FILL.length;
          loop = true;
          if (charidx >= 0 && charidx < CHARSET_FILL.length) chars[j] = CHARSET_FILL[charidx];
          else if (charidx >= CHARSET_FILL.length) chars[j] = "|";
        } else {
          // One blank row between the graph and its labels.
          if (hasLabels && row - rows < 1) {
            loop = true;
            break;
          }
          const label = labels[offset + j];
          const at = row - rows - 1;
          if (label && label.length > at) {
            loop = true;
            chars[j] = label[at];
          }
        }
      }
      if (!loop) break;
      out += chars.join("") + "\n";
    }
  }
  return out;
}

/** Smallest and largest latency a histogram tracks, in ns (Redis's LATENCY_HISTOGRAM_*). */
const HIST_MIN_NS = 1;
const HIST_MAX_NS = 1_000_000_000;
/** Reporting levels: 1024 ns doubling up to past 1 s. */
const HIST_LEVELS = 21;
/** Linear sub-buckets per level, for percentiles finer than a power of two (as hdr's are). */
const HIST_SUBS = 4;

/**
 * The µs value Redis reports for the bucket ending at `1024 * 2^k` ns: hdr_histogram's highest
 * value equivalent to it at 2 significant digits (sub-buckets of 1/128 of the magnitude).
 */
function levelMicros(k: number): number {
  const level = 1024 * 2 ** k;
  return Math.floor((level + level / 128 - 1) / 1000);
}

/** The largest ns value of each level. */
const HIST_TOPS = Array.from({ length: HIST_LEVELS }, (_, k) => {
  const level = 1024 * 2 ** k;
  return level + level / 128 - 1;
});

/** The largest ns value below level `k` (where its sub-buckets start). */
function levelBottom(k: number): number {
  return k === 0 ? 0 : HIST_TOPS[k - 1];
}

/** Level index of a duration in ns. */
function levelOf(ns: number): number {
  let k = 0;
  while (k < HIST_LEVELS - 1 && ns > HIST_TOPS[k]) k++;
  return k;
}

/**
 * One command's execution times (LATENCY HISTOGRAM and INFO latencystats): power-of-two levels
 * as Redis reports them, each split into {@link HIST_SUBS} linear sub-buckets for percentiles.
 */
export class LatencyHistogram {
  readonly counts: Uint32Array = new Uint32Array(HIST_LEVELS * HIST_SUBS);
  total = 0;

  /** Records a duration in microseconds. */
  record(usec: number): void {
    const ns = Math.min(HIST_MAX_NS, Math.max(HIST_MIN_NS, Math.round(usec * 1000)));
    const k = levelOf(ns);
    const low = levelBottom(k);
    const sub = Math.min(
      HIST_SUBS - 1,
      Math.floor(((ns - low) * HIST_SUBS) / (HIST_TOPS[k] - low)),
    );
    this.counts[k * HIST_SUBS + sub]++;
    this.total++;
  }

  /** Forgets every sample (CONFIG RESETSTAT). */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  /** [µs, cumulative count] for every level that holds samples, as Redis reports them. */
  cumulative(): [number, number][] {
    const out: [number, number][] = [];
    let cum = 0;
    for (let k = 0; k < HIST_LEVELS; k++) {
      let n = 0;
      for (let j = 0; j < HIST_SUBS; j++) n += this.counts[k * HIST_SUBS + j];
      if (n === 0) continue;
      cum += n;
      out.push([levelMicros(k), cum]);
    }
    return out;
  }

  /** The latency at percentile `p` (0-100) in µs: the top of the sub-bucket it falls in. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.total));
    let cum = 0;
    for (let i = 0; i < this.counts.length; i++) {
      cum += this.counts[i];
      if (cum < want) continue;
      const k = Math.floor(i / HIST_SUBS);
      const low = levelBottom(k);
      return (low + ((HIST_TOPS[k] - low) * (i % HIST_SUBS + 1)) / HIST_SUBS) / 1000;
    }
    return HIST_TOPS[HIST_LEVELS - 1] / 1000;
  }
}
