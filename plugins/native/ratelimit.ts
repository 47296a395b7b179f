/**
 * RATELIMIT.ADD: a sliding-window rate limiter on one string key, durable whatever the key's
 * namespace durability.
 *
 * ```
 * RATELIMIT.ADD key window_ms max [count]
 *   → [status, count, remaining, ms_until_reset]
 * ```
 *
 * `count` (default 1) units are taken if the window's weighted count plus `count` stays within
 * `max` (`status` is `allowed`), otherwise nothing is taken (`denied`). The sliding window is
 * approximated with two fixed windows, as in Cloudflare's and FerricStore's original limiter: the
 * current window's count plus the previous window's count weighted by how much of it still
 * overlaps the sliding window. `count` in the reply is that weighted count after the call,
 * `remaining` what is left of `max`, `ms_until_reset` the time until the current window ends.
 * A window starts with the first call after the previous one ended (directly after it, or at
 * the call when a whole window passed without calls). The key holds
 * `"<current> <window start ms> <previous>"` and expires two windows after the current one
 * started, when nothing of it counts any more.
 *
 * @module
 */
import { intArg, latin1, latin1Bytes } from "../../commands/args.ts";
import { err, Errors } from "../../commands/errors.ts";
import { defineCommand, definePlugin, keys } from "../api.ts";
import { stringValue } from "./_shared.ts";

/** The state of one limiter. */
export interface WindowState {
  current: number;
  start: number;
  previous: number;
}

/** Parses a limiter's value; null when the string is not one. */
export function parseWindow(value: Uint8Array): WindowState | null {
  const m = /^(\d+) (\d+) (\d+)$/.exec(latin1(value));
  if (m === null) return null;
  return { current: Number(m[1]), start: Number(m[2]), previous: Number(m[3]) };
}

/**
 * One RATELIMIT.ADD step on a state (null: a new limiter): the state to store (null when it is
 * unchanged) and the reply's fields.
 */
export function addToWindow(
  state: WindowState | null,
  now: number,
  windowMs: number,
  max: number,
  count: number,
): {
  next: WindowState | null;
  allowed: boolean;
  count: number;
  remaining: number;
  resetMs: number;
} {
  let s = state ?? { current: 0, start: now, previous: 0 };
  let changed = state === null;
  const age = now - s.start;
  if (age >= 2 * windowMs) {
    s = { current: 0, start: now, previous: 0 };
    changed = true;
  } else if (age >= windowMs) {
    // The next window follows the last one, so the last one's count weighs by its overlap.
    s = { current: 0, start: s.start + windowMs, previous: s.current };
    changed = true;
  }
  const weight = Math.max(0, 1 - (now - s.start) / windowMs);
  const effective = s.current + Math.round(s.previous * weight);
  const resetMs = Math.max(0, s.start + windowMs - now);
  if (effective + count > max) {
    return {
      next: changed ? s : null,
      allowed: false,
      count: effective,
      remaining: Math.max(0, max - effective),
      resetMs,
    };
  }
  const next = { ...s, current: s.current + count };
  return {
    next: count > 0 || changed ? next : null,
    allowed: true,
    count: effective + count,
    remaining: Math.max(0, max - effective - count),
    resetMs,
  };
}

/** The RATELIMIT.ADD command. */
export const rateLimitCommand = defineCommand({
  name: "ratelimit.add",
  arity: -4,
  flags: ["write", "denyoom", "fast"],
  categories: ["string"],
  group: "string",
  summary: "Takes count units from a sliding-window rate limit if they fit within max.",
  since: "0.1.0",
  complexity: "O(1)",
  keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
  arguments: [
    { name: "key", type: "key", key_spec_index: 0 },
    { name: "window_ms", type: "integer" },
    { name: "max", type: "integer" },
    { name: "count", type: "integer", flags: ["optional"] },
  ],
  /** RATELIMIT.ADD key window_ms max [count] */
  handler(ctx, argv) {
    if (argv.length > 5) throw Errors.syntax;
    const windowMs = intArg(argv[2]);
    if (windowMs <= 0 || !Number.isSafeInteger(Date.now() + 3 * windowMs)) {
      throw err("ERR window_ms must be a positive integer");
    }
    const max = intArg(argv[3]);
    if (max < 0) throw err("ERR max must be a non-negative integer");
    const count = argv.length === 5 ? intArg(argv[4]) : 1;
    if (count < 0) throw err("ERR count must be a non-negative integer");
    const db = ctx.db;
    const key = latin1(argv[1]);
    const e = db.find(key);
    let state: WindowState | null = null;
    if (e !== undefined) {
      state = parseWindow(stringValue(e));
      if (state === null) throw Errors.wrongType;
    }
    const now = db.keyspace.now;
    const r = addToWindow(state, now, windowMs, max, count);
    const reply = [r.allowed ? "allowed" : "denied", r.count, r.remaining, r.resetMs];
    if (r.next === null) return reply;
    const n = r.next;
    db.set(key, latin1Bytes(`${n.current} ${n.start} ${n.previous}`), n.start + 2 * windowMs);
    db.notify("$", "set", key);
    return ctx.durable(reply, [key]);
  },
});

/** The native plugin that adds RATELIMIT.ADD. */
export default definePlugin({
  name: "ferricstore.ratelimit",
  version: "0.1.0",
  commands: [rateLimitCommand],
});
