/**
 * The dashboard pages, rendered on the server as plain HTML (readable without JavaScript):
 * overview, slow log, compaction, storage, consensus, configuration, clients and namespaces.
 *
 * @module
 */
import { resolve } from "node:path";
import { clientInfoLine } from "../../commands/client.ts";
import { REDIS_VERSION, type Server, VERSION } from "../../server/server.ts";
import { isShuttingDown } from "../../server/shutdown.ts";
import type { KeyInventory, NamespaceUsage } from "../inventory.ts";
import { MAX_NAMESPACES, shardKeys } from "../inventory.ts";
import type { Sampler } from "../sampler.ts";
import { slowlogEntries, slowlogOf } from "../slowlog.ts";
import { lineChart, niceBytes } from "./charts.ts";
import {
  bar,
  bytes,
  card,
  duration,
  esc,
  frame,
  type FrameInfo,
  int,
  type PageInfo,
  PAGES,
  percent,
  printable,
  rate,
  table,
  timestamp,
} from "./layout.ts";

/** What the pages read from. */
export interface DashboardContext {
  server: Server;
  sampler: Sampler;
  inventory: KeyInventory;
}

/** The server's state as the header and the readiness probe name it. */
export function serverStatus(server: Server): FrameInfo["status"] {
  if (isShuttingDown(server)) return "stopping";
  if (server.loading || server.engine === null) return "loading";
  return "ready";
}

type Render = (ctx: DashboardContext) => string | Promise<string>;

const RENDERERS: Record<string, Render> = {
  "": overview,
  slowlog,
  merge,
  storage,
  raft,
  config,
  clients,
  prefixes,
};

/** The page for a path segment ("" = overview), or null when there is none. */
export function findPage(slug: string): PageInfo | null {
  return PAGES.find((p) => p.slug === slug) ?? null;
}

/** Renders a page as a whole HTML document. */
export async function renderPage(page: PageInfo, ctx: DashboardContext): Promise<string> {
  const content = await RENDERERS[page.slug](ctx);
  return frame(
    page,
    { version: VERSION, status: serverStatus(ctx.server), now: Date.now() },
    content,
  );
}

/** The most history the overview's charts show, in seconds. */
const CHART_SECONDS = 300;

/** The charts' time axis: the sampled history rounded up to a minute, 1 to 5 minutes. */
function chartWindow(sampler: Sampler): number {
  const first = sampler.samples(CHART_SECONDS)[0];
  const age = first === undefined ? 0 : (Date.now() - first.at) / 1000;
  return Math.min(CHART_SECONDS, Math.max(60, Math.ceil(age / 60) * 60));
}

function overview(ctx: DashboardContext): string {
  const s = ctx.server;
  const ks = s.keyspace;
  const uptime = (Date.now() - s.startedAt) / 1000;
  let blocked = 0;
  for (const c of s.clients.values()) if (c.blocked) blocked++;
  const max = s.config.int("maxmemory");
  const used = s.memory.used();
  const hits = ks.stats.hits;
  const misses = ks.stats.misses;
  const reads = ks.hotReads + ks.coldReads;
  const keys = ks.totalKeys();
  const cards = [
    card("Version", VERSION.replace(/^.*ferricstore\./, ""), `Redis ${REDIS_VERSION} protocol`),
    card("Uptime", duration(uptime), `since ${timestamp(s.startedAt)}`),
    card(
      "Clients",
      int(s.clients.size),
      `${blocked} blocked · ${s.tracking.clients.size} tracking`,
    ),
    card("Ops/s", rate(ctx.sampler.currentOps()), `${int(s.stats.commands)} commands`),
    card(
      "Memory",
      bytes(used),
      max > 0 ? `${percent(used / max)} of maxmemory ${bytes(max)}` : "no maxmemory",
    ),
    card("RSS", bytes(Deno.memoryUsage().rss), "process resident memory"),
    card("Keys", int(keys), `${s.shardCount} shard${s.shardCount === 1 ? "" : "s"}`),
    card(
      "Hit ratio",
      percent(hits + misses === 0 ? null : hits / (hits + misses)),
      `${int(hits)} hits · ${int(misses)} misses`,
    ),
    card(
      "Hot reads",
      percent(reads === 0 ? null : ks.hotReads / reads),
      `${int(ks.hotReads)} hot · ${int(ks.coldReads)} cold`,
    ),
    logCard(s),
  ];
  const window = chartWindow(ctx.sampler);
  const samples = ctx.sampler.samples(window);
  const charts = [
    lineChart({
      title: "Commands per second",
      points: ctx.sampler.opsPerSecond(window),
      windowSeconds: window,
      format: rate,
    }),
    lineChart({
      title: "Memory used",
      points: samples.map((x) => ({ at: x.at, value: x.usedBytes })),
      windowSeconds: window,
      format: bytes,
      nice: niceBytes,
      color: "#8b5cf6",
    }),
    lineChart({
      title: "Hot share of reads",
      points: ctx.sampler.hotRatio(window),
      windowSeconds: window,
      format: (v) => percent(v),
      max: 1,
      color: "#10b981",
    }),
    lineChart({
      title: "Keys",
      points: samples.map((x) => ({ at: x.at, value: x.keys })),
      windowSeconds: window,
      format: (v) => int(v),
      color: "#e8590c",
    }),
  ];
  return `<div class="cards">${cards.join("")}</div>\n<div class="charts">${charts.join("")}</div>`;
}

/** The overview's card about the log files on disk. */
function logCard(s: Server): string {
  const shards = s.engine?.shards ?? [];
  let size = 0;
  let dead = 0;
  let files = 0;
  for (const sh of shards) {
    size += sh.stats.bytes;
    dead += sh.stats.deadBytes;
    files += sh.stats.files;
  }
  if (s.engine === null) return card("Log", "–", "loading");
  return card("Log", bytes(size), `${percent(size ? dead / size : 0)} dead · ${int(files)} files`);
}

function slowlog(ctx: DashboardContext): string {
  const s = ctx.server;
  const log = slowlogOf(s);
  const threshold = s.config.int("slowlog-log-slower-than");
  const note =
    `<p class="note">Commands that ran for at least <code>slowlog-log-slower-than</code> ` +
    `= ${esc(threshold < 0 ? "off (-1)" : `${int(threshold)} µs`)}; the newest ` +
    `<code>slowlog-max-len</code> = ${esc(int(s.config.int("slowlog-max-len")))} are kept. ` +
    `Same entries as <code>SLOWLOG GET</code>.</p>`;
  const entries = slowlogEntries(s, 200);
  return note + `<div class="cards">${card("Entries", int(log.length))}</div><h2>Entries</h2>` +
    table(
      [
        { title: "Id", numeric: true, html: (e) => esc(e.id) },
        { title: "Time", html: (e) => esc(timestamp(e.time * 1000)) },
        { title: "Duration", numeric: true, html: (e) => `${esc(int(e.duration))} µs` },
        {
          title: "Command",
          html: (e) => `<code>${esc(e.argv.map((a) => quoteArg(printable(a))).join(" "))}</code>`,
        },
        { title: "Client", html: (e) => esc(e.peer) },
        { title: "Name", html: (e) => esc(printable(e.name)) },
      ],
      entries,
      "No command was slow enough yet.",
    );
}

/** An argument as redis-cli would need it typed: quoted when it has spaces or quotes. */
function quoteArg(a: string): string {
  return a === "" || /[\s"']/.test(a) ? `"${a.replace(/(["\\])/g, "\\$1")}"` : a;
}

function merge(ctx: DashboardContext): string {
  const s = ctx.server;
  const engine = s.engine;
  const ratio = Number(s.config.str("merge-dead-ratio"));
  const minDead = s.config.int("merge-min-dead-bytes");
  const note = `<p class="note">Compaction rewrites a shard's live records into a snapshot and ` +
    `deletes the segments it replaces. It starts by itself when a shard's dead bytes reach ` +
    `<code>merge-dead-ratio</code> = ${esc(ratio)} of its log and at least ` +
    `<code>merge-min-dead-bytes</code> = ${esc(bytes(minDead))}; ` +
    `<code>FERRICSTORE.COMPACT [shard]</code> starts it by hand.</p>`;
  if (engine === null) return note + `<p class="note">The data directory is still loading.</p>`;
  const rows = engine.shards.map((sh, i) => ({
    i,
    st: sh.stats,
    running: engine.compactor.isRunning(i),
  }));
  const totalBytes = rows.reduce((n, r) => n + r.st.bytes, 0);
  const totalDead = rows.reduce((n, r) => n + r.st.deadBytes, 0);
  return note + `<div class="cards">` +
    card("Log bytes", bytes(totalBytes), `${int(rows.reduce((n, r) => n + r.st.files, 0))} files`) +
    card(
      "Dead bytes",
      bytes(totalDead),
      `${percent(totalBytes ? totalDead / totalBytes : 0)} of the log`,
    ) +
    card("Running", int(rows.filter((r) => r.running).length), "compactions now") +
    `</div><h2>Shards</h2>` +
    table(
      [
        { title: "Shard", numeric: true, html: (r) => esc(r.i) },
        { title: "Files", numeric: true, html: (r) => esc(int(r.st.files)) },
        { title: "Bytes", numeric: true, html: (r) => esc(bytes(r.st.bytes)) },
        { title: "Dead bytes", numeric: true, html: (r) => esc(bytes(r.st.deadBytes)) },
        {
          title: "Dead ratio",
          html: (r) => {
            const d = r.st.bytes ? r.st.deadBytes / r.st.bytes : 0;
            return `${bar(d, d >= ratio ? "warn" : "accent")} ${esc(percent(d))}`;
          },
        },
        { title: "Last merge", html: (r) => esc(timestamp(r.st.lastMerge)) },
        {
          title: "Running",
          html: (r) => r.running ? '<span class="yes">yes</span>' : '<span class="no">no</span>',
        },
        {
          title: "Due",
          html: (r) => {
            const due = r.st.bytes > 0 && r.st.deadBytes >= minDead &&
              r.st.deadBytes / r.st.bytes >= ratio;
            return due ? '<span class="yes">yes</span>' : '<span class="no">no</span>';
          },
        },
      ],
      rows,
    );
}

/** Files of a shard directory, by name, with their sizes. */
async function listFiles(dir: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      try {
        out.push({ name: e.name, size: (await Deno.stat(`${dir}/${e.name}`)).size });
      } catch { /* removed meanwhile (compaction) */ }
      if (out.length >= 10000) break;
    }
  } catch { /* not there (yet) */ }
  return out.sort((a, b) => a.name < b.name ? -1 : 1);
}

/** Segment files listed per shard on the storage page. */
const FILES_SHOWN = 12;

async function storage(ctx: DashboardContext): Promise<string> {
  const s = ctx.server;
  const c = s.config;
  const dataDir = resolve(c.str("data-dir"));
  const engine = s.engine;
  const facts = `<dl class="facts">` +
    fact("Data directory", `<code>${esc(dataDir)}</code>`) +
    fact("Shards", esc(s.shardCount)) +
    fact("Durability", `<code>${esc(c.str("durability"))}</code> (server default)`) +
    fact("Commit window", `${esc(c.int("commit-window-ms"))} ms`) +
    fact("Segment size", esc(bytes(c.int("log-segment-size")))) +
    fact("Hot value limit", esc(bytes(c.int("hot-cache-max-value-size")))) +
    `</dl>`;
  if (engine === null) return facts + `<p class="note">The data directory is still loading.</p>`;
  const shards = await Promise.all(engine.shards.map(async (sh, i) => {
    // The open segment's file runs past its data (zero-filled space for the next writes).
    const files = (await listFiles(sh.dir)).map((f) => {
      const m = /^(\d+)\.log$/.exec(f.name);
      return m ? { name: f.name, size: sh.dataBytes(Number(m[1]), f.size) } : f;
    });
    return { i, sh, files, recovered: engine.recovery[i]?.records ?? 0 };
  }));
  const shardTable = table(
    [
      { title: "Shard", numeric: true, html: (r) => esc(r.i) },
      {
        title: "Directory",
        html: (r) => `<code>${esc(r.sh.dir.slice(r.sh.dir.lastIndexOf("/") + 1))}</code>`,
      },
      { title: "Keys", numeric: true, html: (r) => esc(int(shardKeys(s, r.i))) },
      { title: "Segments", numeric: true, html: (r) => esc(int(r.files.length)) },
      { title: "Log bytes", numeric: true, html: (r) => esc(bytes(r.sh.stats.bytes)) },
      { title: "Recovered records", numeric: true, html: (r) => esc(int(r.recovered)) },
      { title: "Appended", numeric: true, html: (r) => esc(int(r.sh.stats.records)) },
      { title: "fdatasyncs", numeric: true, html: (r) => esc(int(r.sh.stats.flushes)) },
      {
        title: "Files",
        html: (r) => {
          const shown = r.files.slice(-FILES_SHOWN).map((f) =>
            `<code>${esc(f.name)}</code> <span class="muted">${esc(bytes(f.size))}</span>`
          ).join(" ");
          const more = r.files.length > FILES_SHOWN
            ? ` <span class="muted">and ${r.files.length - FILES_SHOWN} older</span>`
            : "";
          return shown + more;
        },
      },
    ],
    shards,
  );
  const ns = engine.namespaces;
  const nsRows = ns.prefixes().map((p) => ({ p, st: ns.get(p) }));
  const nsTable = table(
    [
      { title: "Namespace", html: (r) => prefixHtml(printable(r.p)) },
      { title: "Durability", html: (r) => `<code>${esc(r.st.durability)}</code>` },
      { title: "Commit window", numeric: true, html: (r) => `${esc(r.st.windowMs)} ms` },
      { title: "Changed", html: (r) => esc(timestamp(r.st.changedAt)) },
      { title: "By", html: (r) => esc(r.st.changedBy) },
    ],
    nsRows,
    "No namespace has settings of its own; every write uses the server defaults.",
  );
  return facts + `<h2>Shards</h2>` + shardTable +
    `<h2>Namespaces with their own durability</h2>` +
    `<p class="note">Set with <code>FERRICSTORE.CONFIG SET &lt;prefix&gt; durability ` +
    `sync|async window_ms N</code>; kept in <code>namespaces.json</code>.</p>` + nsTable;
}

function fact(label: string, html: string): string {
  return `<dt>${esc(label)}</dt><dd>${html}</dd>`;
}

function raft(ctx: DashboardContext): string {
  const s = ctx.server;
  const engine = s.engine;
  const note = `<p class="note">FerricStore runs as a single node: each shard's log is its own ` +
    `replication group with this node as its only member, so every shard is the leader of ` +
    `term 1. The <b>commit index</b> counts the shard's records known to be on disk ` +
    `(recovered at start plus those written and fdatasynced since); the <b>applied index</b> ` +
    `counts the records applied to memory (recovered plus every record appended since). A gap ` +
    `between them is writes waiting for their group commit.</p>`;
  if (engine === null) return note + `<p class="note">The data directory is still loading.</p>`;
  const rows = engine.shards.map((sh, i) => {
    const recovered = engine.recovery[i]?.records ?? 0;
    const applied = recovered + sh.stats.records;
    const commit = Math.min(applied, recovered + ctx.sampler.syncedRecords(i));
    return { i, applied, commit };
  });
  return note + `<div class="cards">` +
    card("Node", s.runId.slice(0, 12), "run id") +
    card("Role", "leader", `of ${rows.length} shard group${rows.length === 1 ? "" : "s"}`) +
    card("Term", "1", "no elections: one node") +
    `</div><h2>Shards</h2>` +
    table(
      [
        { title: "Shard", numeric: true, html: (r) => esc(r.i) },
        { title: "Role", html: () => "leader" },
        { title: "Term", numeric: true, html: () => "1" },
        { title: "Commit index", numeric: true, html: (r) => esc(int(r.commit)) },
        { title: "Applied index", numeric: true, html: (r) => esc(int(r.applied)) },
        { title: "Pending", numeric: true, html: (r) => esc(int(r.applied - r.commit)) },
        { title: "Members", html: () => "this node" },
      ],
      rows,
    );
}

/** Parameters whose values the dashboard never shows. */
const SECRET = /pass/;

function config(ctx: DashboardContext): string {
  const c = ctx.server.config;
  const rows = c.all().map((p) => ({ p, source: c.source(p.name), value: c.format(p.name) }))
    .sort((a, b) => a.p.name < b.p.name ? -1 : 1);
  return `<p class="note">Every parameter with its value and where the value came from ` +
    `(default &lt; file &lt; env &lt; cli &lt; runtime <code>CONFIG SET</code>). ` +
    `Passwords are not shown.</p>` +
    table(
      [
        { title: "Parameter", html: (r) => `<code>${esc(r.p.name)}</code>` },
        {
          title: "Value",
          wrap: true,
          html: (r) =>
            SECRET.test(r.p.name)
              ? `<span class="muted">${r.value === "" ? "(not set)" : "(hidden)"}</span>`
              : r.value === ""
              ? '<span class="muted">""</span>'
              : `<code>${esc(printable(r.value))}</code>`,
        },
        {
          title: "Source",
          html: (r) =>
            r.source === "default" ? '<span class="muted">default</span>' : esc(r.source),
        },
        {
          title: "Default",
          wrap: true,
          html: (r) =>
            SECRET.test(r.p.name) ? "" : `<span class="muted">${esc(r.p.default)}</span>`,
        },
        {
          title: "Runtime",
          html: (r) => r.p.mutable ? "CONFIG SET" : '<span class="muted">restart</span>',
        },
        {
          title: "Description",
          prose: true,
          html: (r) => `<span class="muted">${esc(r.p.doc)}</span>`,
        },
      ],
      rows,
    );
}

function clients(ctx: DashboardContext): string {
  const now = Date.now();
  const rows = [...ctx.server.clients.values()].map((c) => parseInfo(clientInfoLine(c, null, now)));
  const col = (title: string, field: string, numeric = false) => ({
    title,
    numeric,
    html: (r: Map<string, string>) => {
      const v = r.get(field) ?? "";
      return field === "name" || field === "lib-name" ? esc(printable(v)) : esc(v);
    },
  });
  return `<p class="note">Connected clients, as <code>CLIENT LIST</code> shows them.</p>` +
    `<div class="cards">${card("Connected", int(rows.length))}${
      card("Max clients", int(ctx.server.config.int("maxclients")))
    }</div><h2>Clients</h2>` +
    table(
      [
        col("Id", "id", true),
        col("Address", "addr"),
        col("Name", "name"),
        col("User", "user"),
        col("Age (s)", "age", true),
        col("Idle (s)", "idle", true),
        col("Flags", "flags"),
        col("Db", "db", true),
        {
          title: "Subs",
          numeric: true,
          html: (r: Map<string, string>) =>
            esc(["sub", "psub", "ssub"].reduce((n, f) => n + Number(r.get(f) ?? 0), 0)),
        },
        col("Multi", "multi", true),
        col("Out buf", "omem", true),
        col("Last command", "cmd"),
        col("RESP", "resp", true),
        col("Library", "lib-name"),
      ],
      rows,
      "No client is connected.",
    );
}

/** `k=v k=v …` of a CLIENT LIST line as a map. */
function parseInfo(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of line.split(" ")) {
    const eq = part.indexOf("=");
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

function prefixHtml(prefix: string): string {
  return prefix === "" ? '<span class="muted">(no prefix)</span>' : `<code>${esc(prefix)}</code>`;
}

async function prefixes(ctx: DashboardContext): Promise<string> {
  const inv = await ctx.inventory.get();
  const ns = ctx.server.engine?.namespaces;
  const c = ctx.server.config;
  const settings = (p: string) =>
    ns?.get(p) ?? { durability: c.str("durability"), windowMs: c.int("commit-window-ms") };
  const total = inv.keys || 1;
  const rows: NamespaceUsage[] = inv.namespaces;
  return `<p class="note">Keys per namespace: the key prefix before the first <code>:</code>. ` +
    `Bytes are key plus value bytes (cold values as stored in the log). ` +
    `At most the ${MAX_NAMESPACES} largest namespaces are listed.</p>` +
    `<div class="cards">${card("Keys", int(inv.keys), "in every database")}${
      card("Namespaces", int(inv.namespaces.length + inv.otherNamespaces), "distinct key prefixes")
    }${card("Keydir memory", bytes(inv.keydirBytes), "per-key overhead and key bytes")}</div>` +
    `<h2>Namespaces</h2>` +
    table(
      [
        { title: "Namespace", html: (r) => prefixHtml(r.prefix) },
        { title: "Keys", numeric: true, html: (r) => esc(int(r.keys)) },
        { title: "Share", html: (r) => `${bar(r.keys / total)} ${esc(percent(r.keys / total))}` },
        { title: "Bytes", numeric: true, html: (r) => esc(bytes(r.bytes)) },
        { title: "Hot", numeric: true, html: (r) => esc(int(r.hot)) },
        { title: "Cold", numeric: true, html: (r) => esc(int(r.cold)) },
        { title: "Durability", html: (r) => `<code>${esc(settings(r.raw).durability)}</code>` },
        { title: "Window", numeric: true, html: (r) => `${esc(settings(r.raw).windowMs)} ms` },
      ],
      rows,
      "The keyspace is empty.",
    ) +
    (inv.otherNamespaces > 0
      ? `<p class="note">…and ${esc(int(inv.otherNamespaces))} smaller namespaces with ${
        esc(int(inv.otherKeys))
      } keys (${esc(bytes(inv.otherBytes))}).</p>`
      : "");
}
