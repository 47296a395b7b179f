/**
 * Numbers as Redis reads and writes them: `string2ll` for integers, `strtod` for doubles, and
 * `%.17g` for doubles in replies (Redis 7.0's addReplyDouble).
 *
 * @module
 */

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Parses a signed 64-bit integer exactly as Redis's `string2ll`: optional `-`, digits, no `+`, no
 * spaces, no leading zeros. Returns a `number` when it is a safe integer, a `bigint` beyond that,
 * and `null` when the text is not an integer or is out of range.
 */
export function parseInt64(bytes: Uint8Array): number | bigint | null {
  const n = bytes.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  let negative = false;
  if (bytes[0] === 45) {
    negative = true;
    i = 1;
    if (n === 1) return null;
  }
  const first = bytes[i];
  if (first === 48) return n === 1 ? 0 : null; // "0" only; "-0" and "01" are invalid
  if (first < 49 || first > 57) return null;
  if (n - i <= 15) {
    let v = 0;
    for (; i < n; i++) {
      const c = bytes[i] - 48;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return negative ? -v : v;
  }
  let v = 0n;
  for (; i < n; i++) {
    const c = bytes[i] - 48;
    if (c < 0 || c > 9) return null;
    v = v * 10n + BigInt(c);
  }
  if (negative) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  return normalizeInt(v);
}

/** A bigint that fits a safe integer becomes a number; numbers stay as they are. */
export function normalizeInt(v: number | bigint): number | bigint {
  if (typeof v === "bigint" && v <= 9007199254740991n && v >= -9007199254740991n) return Number(v);
  return v;
}

/** Adds two int64 values; `null` when the result overflows int64 (Redis checks before adding). */
export function addInt64(a: number | bigint, b: number | bigint): number | bigint | null {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = BigInt(a) + BigInt(b);
  if (r > INT64_MAX || r < INT64_MIN) return null;
  return normalizeInt(r);
}

/** True when v is within int64. */
export function isInt64(v: number | bigint): boolean {
  if (typeof v === "number") return Number.isSafeInteger(v);
  return v <= INT64_MAX && v >= INT64_MIN;
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

/**
 * Parses a double as Redis does (`strtod` over the whole argument): no leading space, no NaN, and
 * overflow or underflow to zero are errors. Returns `null` when it is not a valid double.
 */
export function parseDouble(text: string): number | null {
  if (text.length === 0 || text.length > 5000) return null;
  if (DECIMAL_FLOAT.test(text)) {
    const v = Number(text);
    if (!Number.isFinite(v)) return null; // ERANGE overflow
    if (v === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ""))) return null; // ERANGE underflow
    return v;
  }
  const inf = INFINITY.exec(text);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  const hex = HEX_FLOAT.exec(text);
  if (hex && (hex[2].length > 0 || (hex[3] ?? "").length > 0)) {
    const v = hexDouble(hex[2], hex[3] ?? "", Number(hex[4] ?? 0));
    if (!Number.isFinite(v)) return null; // ERANGE overflow
    if (v === 0 && /[1-9a-f]/i.test(hex[2] + (hex[3] ?? ""))) return null; // ERANGE underflow
    return hex[1] === "-" ? -v : v;
  }
  return null;
}

/**
 * The value of a hexadecimal float `0x<whole>.<fraction>p<exponent>` (without sign), as strtod
 * computes it: the exact value n·2^p, rounded once. Written as an exact decimal, it is rounded
 * by JavaScript's number parsing, which rounds correctly (subnormals included).
 */
export function hexDouble(whole: string, fraction: string, exponent: number): number {
  const n = BigInt(`0x${whole + fraction || "0"}`);
  if (n === 0n) return 0;
  const p = exponent - 4 * fraction.length;
  // Far beyond the double range either way (the mantissa has at most 20 000 bits here).
  if (p > 2000) return Infinity;
  if (p < -25000) return 0;
  return p >= 0 ? Number(n << BigInt(p)) : Number(`${n * 5n ** BigInt(-p)}e-${-p}`);
}

/**
 * Formats a double as C's `printf("%.17g")`, which Redis 7.0 uses for double replies
 * (`inf`, `-inf`, `nan` for the special values).
 */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return "nan";
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  let exp = d.toExponential(16);
  let e = exp.indexOf("e");
  const x = Number(exp.slice(e + 1));
  // JavaScript rounds an exact tie at the 17th digit up; C rounds it to even. The tie is the
  // rare double whose exact value has 18 significant digits: then the digit JavaScript rounded
  // up to, when odd, goes back down.
  const last = exp.charCodeAt(e - 1);
  const tie = (last & 1) === 1 && isTieAt17(d);
  if (tie) {
    exp = exp.slice(0, e - 1) + String.fromCharCode(last - 1) + exp.slice(e);
    e = exp.indexOf("e");
  }
  if (x < -4 || x >= 17) {
    const mantissa = stripZeros(exp.slice(0, e));
    const sign = x < 0 ? "-" : "+";
    const ax = Math.abs(x);
    return `${mantissa}e${sign}${ax < 10 ? "0" : ""}${ax}`;
  }
  if (!tie) return stripZeros(d.toFixed(16 - x));
  // The corrected 17 digits, with the point where %g puts it.
  const negative = exp.charCodeAt(0) === 45;
  const digits = exp.slice(negative ? 1 : 0, e).replace(".", "");
  const fixed = x >= 0
    ? `${digits.slice(0, x + 1)}.${digits.slice(x + 1)}`
    : `0.${"0".repeat(-x - 1)}${digits}`;
  return (negative ? "-" : "") + stripZeros(fixed);
}

/**
 * A score as a small (listpack) sorted set stores it, which ZSCAN replies as is: Redis's
 * `d2string`, a whole number within ±2^62 as an integer (so 123456789012345678 reads
 * `123456789012345680`, and -0 reads `0`), anything else as {@link formatDouble}.
 */
export function formatStoredScore(d: number): string {
  if (Number.isInteger(d) && Math.abs(d) <= 2 ** 62) return BigInt(d).toString();
  return formatDouble(d);
}

const doubleBits = new DataView(new ArrayBuffer(8));
const LOG10_5 = Math.log10(5);

/**
 * True when `d`'s exact decimal value has exactly 18 significant digits (so its rounding to 17
 * is an exact tie: the 18th digit of a binary fraction is 5). d = m·2^-j with m odd is
 * m·5^j / 10^j: its digits are those of m·5^j.
 */
function isTieAt17(d: number): boolean {
  doubleBits.setFloat64(0, d);
  const hi = doubleBits.getUint32(0), lo = doubleBits.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (hi & 0xfffff) * 2 ** 32 + lo + (biased === 0 ? 0 : 2 ** 52);
  let j = 1075 - (biased === 0 ? 1 : biased);
  if (m === 0) return false;
  while (m % 2 === 0) {
    m /= 2;
    j--;
  }
  if (j <= 0) return false; // an integer: its last digit is even or it has at most 16 digits
  const estimate = Math.log10(m) + j * LOG10_5;
  if (estimate < 16.5 || estimate > 18.5) return false;
  return (BigInt(m) * 5n ** BigInt(j)).toString().length === 18;
}

function stripZeros(s: string): string {
  if (s.indexOf(".") < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}
