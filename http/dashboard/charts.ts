/**
 * Inline SVG line charts for the dashboard: no script, no external assets.
 *
 * @module
 */
import type { Point } from "../sampler.ts";
import { esc } from "./layout.ts";

/** What to draw. */
export interface ChartOptions {
  title: string;
  points: Point[];
  /** Width of the time axis in seconds, ending now. */
  windowSeconds: number;
  /** Formats values for the axis and the latest value. */
  format: (v: number) => string;
  /** Fixed top of the value axis (else the data's maximum, rounded up by `nice`). */
  max?: number;
  /** Rounds the data's maximum up to the axis top (default {@link niceMax}). */
  nice?: (v: number) => number;
  color?: string;
  /** When the chart ends (ms since the epoch); defaults to now. */
  now?: number;
}

const W = 560;
const H = 150;
const LEFT = 58;
const RIGHT = 8;
const TOP = 8;
const BOTTOM = 22;

/** A "nice" axis maximum ≥ v: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** {@link niceMax} in binary units: 1, 2, 2.5, 5 … times a power of 1024. */
export function niceBytes(v: number): number {
  if (!(v > 0)) return 1024;
  const unit = 1024 ** Math.max(0, Math.floor(Math.log(v) / Math.log(1024)));
  return niceMax(v / unit) * unit;
}

/** A chart card: title, latest value, and the SVG with its axes. */
export function lineChart(o: ChartOptions): string {
  const now = o.now ?? Date.now();
  const start = now - o.windowSeconds * 1000;
  const pts = o.points.filter((p) => p.at >= start);
  const values = pts.map((p) => p.value).filter((v): v is number => v !== null);
  const max = o.max ?? (o.nice ?? niceMax)(Math.max(0, ...values));
  const color = o.color ?? "#3b82f6";
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const x = (at: number) => LEFT + ((at - start) / (now - start)) * plotW;
  const y = (v: number) => TOP + plotH - (Math.min(v, max) / max) * plotH;
  const last = [...pts].reverse().find((p) => p.value !== null)?.value ?? null;

  // Grid and labels.
  let svg = "";
  for (const f of [0, 0.5, 1]) {
    const gy = y(max * f).toFixed(1);
    svg += `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${gy}" y2="${gy}" stroke="#e5e7eb"/>`;
    svg += `<text x="${LEFT - 6}" y="${gy}" dy="4" text-anchor="end">${
      esc(o.format(max * f))
    }</text>`;
  }
  const minutes = o.windowSeconds / 60;
  svg += `<text x="${LEFT}" y="${H - 4}">${
    esc(minutes >= 1 ? `−${minutes} min` : `−${o.windowSeconds} s`)
  }</text>`;
  svg += `<text x="${W - RIGHT}" y="${H - 4}" text-anchor="end">now</text>`;

  // The series, broken where a value is undefined.
  const segments: Point[][] = [];
  let current: Point[] = [];
  for (const p of pts) {
    if (p.value === null) {
      if (current.length) segments.push(current);
      current = [];
    } else current.push(p);
  }
  if (current.length) segments.push(current);
  for (const seg of segments) {
    const line = seg.map((p) => `${x(p.at).toFixed(1)},${y(p.value!).toFixed(1)}`).join(" ");
    if (seg.length > 1) {
      const base = (TOP + plotH).toFixed(1);
      const area = `${x(seg[0].at).toFixed(1)},${base} ${line} ${
        x(seg[seg.length - 1].at).toFixed(1)
      },${base}`;
      svg += `<polygon points="${area}" fill="${color}" fill-opacity="0.12"/>`;
      svg += `<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.8" ` +
        `stroke-linejoin="round"/>`;
    } else {
      const [cx, cy] = line.split(",");
      svg += `<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`;
    }
  }
  if (values.length === 0) {
    svg += `<text x="${LEFT + plotW / 2}" y="${TOP + plotH / 2}" text-anchor="middle" ` +
      `fill="#9ca3af">collecting samples…</text>`;
  }
  return `<div class="chart"><div class="title"><span>${esc(o.title)}</span><b>${
    last === null ? "–" : esc(o.format(last))
  }</b></div><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}" ` +
    `font-size="11" fill="#6b7280">${svg}</svg></div>`;
}
