/**
 * The server's clock: a monotonic reading in milliseconds (fractional) that times every command,
 * and the same reading as a time since the epoch.
 *
 * Dispatch reads the clock once per command (SLOWLOG, commandstats and the latency histograms
 * time each command exactly, as Redis does). `performance.now()` is a Deno op: ~120 ns here, of
 * which the clock itself (the vDSO's `clock_gettime`) is ~25 ns and the rest the op's glue, and
 * it was 7% of the CPU of a pipelined SET (perf). On Linux, when the process may use FFI (`-A`,
 * or `--allow-ffi`), the clock is read by calling `clock_gettime(CLOCK_MONOTONIC)` through Deno's
 * FFI fast call instead: ~33 ns. Otherwise (an embedding host that does not grant FFI, another
 * OS, a libc that cannot be opened) it is `performance.now()`. Both are monotonic, and
 * {@link EPOCH_OFFSET} makes either a time since the epoch that agrees with
 * `performance.timeOrigin + performance.now()`.
 *
 * @example
 * ```ts
 * import { epochMs, monotonicMs } from "./clock.ts";
 * const start = monotonicMs();
 * const elapsed = monotonicMs() - start;
 * console.assert(elapsed >= 0 && Math.abs(epochMs() - Date.now()) < 1000);
 * ```
 *
 * @module
 */

import { libc } from "./libc.ts";

const CLOCK_MONOTONIC = 1; // Linux's clockid_t

/** `clock_gettime` through FFI, or null where it is not allowed or not found. */
function ffiClock(): (() => number) | null {
  const c = libc({ clock_gettime: { parameters: ["i32", "pointer"], result: "i32" } });
  if (c === null) return null;
  const gettime = c.clock_gettime;
  // A `struct timespec` (two 64-bit fields) in memory that never moves: an ArrayBuffer's.
  const buffer = new ArrayBuffer(16);
  const ts = new Int32Array(buffer);
  const ptr = Deno.UnsafePointer.of(new Uint8Array(buffer));
  if (gettime(CLOCK_MONOTONIC, ptr) !== 0) return null;
  // Seconds since boot (the high word is 0 for 68 years) and nanoseconds, as small numbers:
  // readings counted from the first keep their sub-microsecond precision.
  const base = ts[0];
  const read = () => {
    gettime(CLOCK_MONOTONIC, ptr);
    return (ts[0] - base) * 1000 + ts[2] / 1e6;
  };
  // Checked against performance.now() before it is trusted.
  const a = performance.now(), r = read(), b = performance.now(), r2 = read();
  return r2 >= r && r2 - r <= b - a + 1 ? read : null;
}

const ffi = ffiClock();

/** True when the clock is read through FFI (see the module's notes). */
export const FFI_CLOCK = ffi !== null;

/** A monotonic time in ms from an arbitrary start: differences of two readings are durations. */
export const monotonicMs: () => number = ffi ?? (() => performance.now());

/** What {@link monotonicMs} adds up to a time since the epoch. */
export const EPOCH_OFFSET = performance.timeOrigin + performance.now() - monotonicMs();

/** The time in ms since the epoch (fractional), from the monotonic clock. */
export function epochMs(): number {
  return EPOCH_OFFSET + monotonicMs();
}
