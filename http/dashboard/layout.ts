/**
 * The dashboard's page frame (sidebar, header, self-refresh, styles) and the formatting helpers
 * every page uses. Every value that reaches the HTML goes through {@link esc}.
 *
 * @module
 */

/** A dashboard page: its path segment, sidebar title and refresh period. */
export interface PageInfo {
  /** "" for the overview, else the segment after /dashboard/. */
  slug: string;
  title: string;
  refreshSeconds: number;
}

/** The pages, in sidebar order. */
export const PAGES: readonly PageInfo[] = [
  { slug: "", title: "Overview", refreshSeconds: 2 },
  { slug: "slowlog", title: "Slow log", refreshSeconds: 5 },
  { slug: "merge", title: "Compaction", refreshSeconds: 10 },
  { slug: "storage", title: "Storage", refreshSeconds: 10 },
  { slug: "raft", title: "Consensus", refreshSeconds: 5 },
  { slug: "config", title: "Configuration", refreshSeconds: 10 },
  { slug: "clients", title: "Clients", refreshSeconds: 5 },
  { slug: "prefixes", title: "Namespaces", refreshSeconds: 10 },
];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Bytes as B, KiB, MiB, GiB … with three significant digits. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toPrecision(3)} ${units[i]}`;
}

/** An integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A share 0..1 as a percentage, or "–" when undefined. */
export function percent(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "–";
  const p = x * 100;
  return `${Number.isInteger(p) || p >= 99.95 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** A duration in seconds as `3d 4h`, `5h 12m`, `4m 10s` or `12s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A time as `YYYY-MM-DD HH:MM:SS` UTC, or "never" for 0. */
export function timestamp(ms: number): string {
  if (ms <= 0) return "never";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/** A rate per second with a sensible number of digits. */
export function rate(x: number): string {
  if (x === 0) return "0";
  if (x >= 100) return int(x);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Bytes (a binary string or a byte array) as readable text: UTF-8, control bytes as \xNN. */
export function printable(b: Uint8Array | string): string {
  let bytes = b;
  if (typeof bytes === "string") {
    const s = bytes;
    bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  }
  return new TextDecoder().decode(bytes).replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** One summary card. */
export function card(label: string, value: string, detail = ""): string {
  return `<div class="card"><div class="label">${esc(label)}</div>` +
    `<div class="value">${esc(value)}</div>` +
    (detail ? `<div class="detail">${esc(detail)}</div>` : "") + `</div>`;
}

/** A column of {@link table}: header, alignment, and the cell's HTML (already escaped). */
export interface Column<T> {
  title: string;
  numeric?: boolean;
  /** Long values wrap instead of widening the table. */
  wrap?: boolean;
  /** Prose that wraps and takes the width left. */
  prose?: boolean;
  html: (row: T) => string;
}

/** A table; `empty` is shown in one cell when there are no rows. */
export function table<T>(columns: Column<T>[], rows: T[], empty = "Nothing to show."): string {
  const head = columns.map((c) => `<th${c.numeric ? ' class="num"' : ""}>${esc(c.title)}</th>`)
    .join("");
  const body = rows.length === 0
    ? `<tr><td class="empty" colspan="${columns.length}">${esc(empty)}</td></tr>`
    : rows.map((r) =>
      "<tr>" +
      columns.map((c) => `<td${cellClass(c)}>${c.html(r)}</td>`).join("") +
      "</tr>"
    ).join("\n");
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead>` +
    `<tbody>${body}</tbody></table></div>`;
}

function cellClass<T>(c: Column<T>): string {
  if (c.numeric) return ' class="num"';
  if (c.prose) return ' class="prose"';
  return c.wrap ? ' class="wrap"' : "";
}

/** A horizontal bar for a share 0..1 (no script; a styled span). */
export function bar(share: number, tone: "accent" | "warn" = "accent"): string {
  const w = Math.max(0, Math.min(1, Number.isFinite(share) ? share : 0)) * 100;
  return `<span class="bar"><span class="fill ${tone}" style="width:${
    w.toFixed(1)
  }%"></span></span>`;
}

/** What the frame shows about the server in its header. */
export interface FrameInfo {
  version: string;
  status: "ready" | "loading" | "stopping";
  /** Server time at rendering, ms since the epoch. */
  now: number;
}

/** A whole page: sidebar, header, content, refreshed every `page.refreshSeconds`. */
export function frame(page: PageInfo, info: FrameInfo, content: string): string {
  const nav = PAGES.map((p) => {
    const href = p.slug === "" ? "/dashboard" : `/dashboard/${p.slug}`;
    const active = p.slug === page.slug ? ' class="active" aria-current="page"' : "";
    return `<a href="${href}"${active}>${esc(p.title)}</a>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${page.refreshSeconds}">
<title>${esc(page.title)} · FerricStore</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<nav class="sidebar">
<div class="brand">FerricStore</div>
${nav}
<div class="version">${esc(info.version)}</div>
</nav>
<main>
<header><h1>${esc(page.title)}</h1><span class="status ${info.status}">${
    esc(info.status)
  }</span></header>
${content}
<footer>Generated ${esc(timestamp(info.now))} · refreshes every ${page.refreshSeconds} s</footer>
</main>
</body>
</html>
`;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;display:flex;min-height:100vh;background:#f4f5f7;color:#1f2733;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.sidebar{width:190px;flex:none;background:#18202e;color:#c9d1de;padding:18px 0;display:flex;
flex-direction:column}
.sidebar .brand{font-weight:700;font-size:16px;color:#fff;padding:0 20px 16px;letter-spacing:.02em}
.sidebar a{display:block;padding:8px 20px;color:#c9d1de;text-decoration:none;border-left:3px solid
transparent}
.sidebar a:hover{background:#222c3d;color:#fff}
.sidebar a.active{background:#253147;color:#fff;border-left-color:#e8590c}
.sidebar .version{margin-top:auto;padding:16px 20px 0;font-size:11px;color:#7d8899;word-break:break-all}
main{flex:1;min-width:0;padding:22px 30px 30px}
header{display:flex;align-items:center;gap:12px;margin-bottom:18px}
h1{font-size:22px;margin:0;font-weight:600}
h2{font-size:15px;margin:26px 0 10px;font-weight:600;color:#374151}
p.note{color:#556070;max-width:860px;margin:0 0 14px}
.status{font-size:12px;padding:2px 10px;border-radius:999px;font-weight:600}
.status.ready{background:#dcfce7;color:#166534}
.status.loading{background:#fef3c7;color:#92400e}
.status.stopping{background:#fee2e2;color:#991b1b}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
.card .label{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280}
.card .value{font-size:21px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card .detail{font-size:12px;color:#6b7280;margin-top:2px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px;margin-top:12px}
.chart{background:#fff;border-radius:8px;padding:12px 16px 8px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
.chart .title{display:flex;justify-content:space-between;font-size:12px;color:#6b7280;
text-transform:uppercase;letter-spacing:.05em}
.chart .title b{color:#1f2733;font-size:14px;text-transform:none;letter-spacing:0}
.chart svg{display:block;width:100%;height:auto;margin-top:6px}
.table-wrap{overflow-x:auto;background:#fff;border-radius:8px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
table{border-collapse:collapse;width:100%}
th,td{padding:7px 10px;text-align:left;border-bottom:1px solid #edf0f3;white-space:nowrap}
th{font-size:11px;text-transform:uppercase;letter-spacing:.03em;color:#6b7280;background:#fafbfc}
tr:last-child td{border-bottom:none}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.empty{color:#8a94a3;text-align:center;padding:18px}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:120px;max-width:260px}
td.prose{white-space:normal;min-width:300px}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f6;
padding:1px 5px;border-radius:4px}
.muted{color:#8a94a3}
.bar{display:inline-block;width:90px;height:8px;background:#edf0f3;border-radius:4px;
vertical-align:middle;overflow:hidden}
.bar .fill{display:block;height:100%}
.fill.accent{background:#3b82f6}
.fill.warn{background:#e8590c}
.yes{color:#166534;font-weight:600}
.no{color:#8a94a3}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;background:#fff;
border-radius:8px;padding:14px 18px;margin:0;box-shadow:0 1px 2px rgba(16,24,40,.08)}
dl.facts dt{color:#6b7280}
dl.facts dd{margin:0;font-variant-numeric:tabular-nums;word-break:break-all}
footer{margin-top:26px;font-size:12px;color:#8a94a3}
`;
