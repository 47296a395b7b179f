/**
 * INCRBYFLOAT and HINCRBYFLOAT arithmetic exactly as Redis does it on x86-64: both numbers are
 * read with `strtold` into 80-bit long doubles (64-bit mantissa), added, and printed with
 * `%.17Lf` with trailing zeros removed. Doing the same in doubles gives different text
 * (10.5 + 0.1 would print 10.59999999999999964 instead of 10.6), so this emulates the long double
 * with exact BigInt arithmetic and rounds to 64 bits where the hardware would.
 *
 * @module
 */
import { RespError } from "../protocol/reply.ts";
import { latin1 } from "./bytes.ts";

/** A finite long double: mantissa × 2^exp, mantissa < 2^64 (0 for zero), or ±Infinity. */
type LongDouble = { neg: boolean; mant: bigint; exp: number } | { neg: boolean; inf: true };

const MANT_BITS = 64;
const MAX_EXP = 16384; // values reach 2^16384 before overflowing to infinity
const MIN_EXP = -16445; // smallest subnormal is 2^-16445
const MAX_CHARS = 5 * 1024; // MAX_LONG_DOUBLE_CHARS

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Rounds the exact value num/den × 2^shift (num, den > 0) to a long double, ties to even. */
function round(neg: boolean, num: bigint, den: bigint, shift: number): LongDouble {
  // Choose e so that num/den × 2^(shift - e) has exactly 64 integer bits.
  let e = bitLength(num) - bitLength(den) + shift - MANT_BITS;
  let q: bigint, r: bigint, d: bigint;
  for (;;) {
    if (e < MIN_EXP) e = MIN_EXP;
    const s = shift - e;
    let n = num, dd = den;
    if (s >= 0) n <<= BigInt(s);
    else dd <<= BigInt(-s);
    q = n / dd;
    r = n - q * dd;
    d = dd;
    if (q >= 1n << 64n && e > MIN_EXP) {
      e++;
      continue;
    }
    if (q < 1n << 63n && e > MIN_EXP) {
      e--;
      continue;
    }
    break;
  }
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
  if (q === 1n << 64n) {
    q >>= 1n;
    e++;
  }
  if (q !== 0n && e + MANT_BITS > MAX_EXP) return { neg, inf: true };
  return { neg, mant: q, exp: e };
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INF = /^([+-]?)inf(?:inity)?$/i;

/**
 * The text of a value or argument to parse as a long double: "" (which never parses) when it is
 * longer than any number can be, so that no string is made of a huge value (V8 refuses strings
 * over about 512 MB, where Redis simply answers that the value is not a float).
 */
export function longDoubleText(b: Uint8Array): string {
  return b.length >= MAX_CHARS ? "" : latin1(b);
}

/**
 * strtold over the whole text, as Redis's getLongDoubleFromObject; null when not valid (empty,
 * or MAX_LONG_DOUBLE_CHARS long or longer, as Redis's string2ld refuses).
 */
export function parseLongDouble(text: string): LongDouble | null {
  if (text.length === 0 || text.length >= MAX_CHARS) return null;
  const inf = INF.exec(text);
  if (inf) return { neg: inf[1] === "-", inf: true };
  let neg: boolean, mantissa: bigint, shift2 = 0, exp10 = 0;
  const dec = DECIMAL.exec(text);
  const hex = dec ? null : HEX.exec(text);
  if (dec && (dec[2] || dec[3])) {
    neg = dec[1] === "-";
    const frac = dec[3] ?? "";
    mantissa = BigInt((dec[2] || "0") + frac);
    exp10 = Number(dec[4] ?? 0) - frac.length;
  } else if (hex && (hex[2] || hex[3])) {
    neg = hex[1] === "-";
    const frac = hex[3] ?? "";
    mantissa = BigInt("0x" + ((hex[2] || "0") + frac));
    shift2 = Number(hex[4] ?? 0) - 4 * frac.length;
  } else return null;
  if (mantissa === 0n) return { neg, mant: 0n, exp: 0 };
  const digits = mantissa.toString().length;
  // Beyond these the value overflows or underflows whatever the digits: strtold's ERANGE.
  if (exp10 + digits > 4940 || shift2 > MAX_EXP + 64) return null;
  if (exp10 + digits < -4960 || shift2 < MIN_EXP - 4 * text.length) return null;
  let num = mantissa, den = 1n;
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den = 10n ** BigInt(-exp10);
  const v = round(neg, num, den, shift2);
  if ("inf" in v || v.mant === 0n) return null; // ERANGE overflow or underflow to zero
  return v;
}

function add(a: LongDouble, b: LongDouble): LongDouble | null {
  if ("inf" in a || "inf" in b) {
    if ("inf" in a && "inf" in b && a.neg !== b.neg) return null; // inf - inf = NaN
    return "inf" in a ? a : b;
  }
  if (a.mant === 0n) return b.mant === 0n ? { neg: a.neg && b.neg, mant: 0n, exp: 0 } : b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const va = (a.neg ? -a.mant : a.mant) << BigInt(a.exp - e);
  const vb = (b.neg ? -b.mant : b.mant) << BigInt(b.exp - e);
  const sum = va + vb;
  if (sum === 0n) return { neg: false, mant: 0n, exp: 0 };
  return round(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

/** `%.17Lf` with trailing zeros (and a trailing dot) removed, `-0` printed as `0`. */
export function formatLongDouble(v: LongDouble): string {
  if ("inf" in v) return v.neg ? "-inf" : "inf";
  // value × 10^17, rounded to an integer (ties to even), then placed around the decimal point.
  let num = v.mant * 10n ** 17n;
  let den = 1n;
  if (v.exp >= 0) num <<= BigInt(v.exp);
  else den <<= BigInt(-v.exp);
  let q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  let s = q.toString().padStart(18, "0");
  s = `${s.slice(0, -17)}.${s.slice(-17)}`.replace(/0+$/, "").replace(/\.$/, "");
  if (v.neg && s !== "0") s = "-" + s;
  return s;
}

/**
 * Adds `incr` to `current` (both as text) the way INCRBYFLOAT does; returns the new text or the
 * error Redis answers.
 */
export function incrByFloat(current: string, incr: string): string | RespError {
  const a = parseLongDouble(current);
  const b = parseLongDouble(incr);
  if (a === null || b === null) return new RespError("ERR value is not a valid float");
  const sum = add(a, b);
  if (sum === null || "inf" in sum) {
    return new RespError("ERR increment would produce NaN or Infinity");
  }
  return formatLongDouble(sum);
}
