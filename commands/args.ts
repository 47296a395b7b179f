/**
 * Argument helpers: bytes to binary (latin1) strings, numbers parsed as Redis parses them with
 * Redis's error texts, and case-insensitive keyword tests without allocation.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Errors, type RespError } from "./errors.ts";
import { parseDouble, parseInt64 } from "../protocol/numbers.ts";

import { latin1 } from "../engine/bytes.ts";

// Shared with the engine, which stores what they make.
export {
  copyBytes,
  latin1,
  latin1Bytes,
  latin1Value,
  numberBytes,
  valueBytes,
} from "../engine/bytes.ts";

/** Text (UTF-8) to bytes, for replies built from text. */
export function utf8Bytes(s: string): Uint8Array {
  return Buffer.from(s, "utf8");
}

/** True when `b` equals the lower-case ASCII `word`, ignoring case. */
export function isWord(b: Uint8Array, word: string): boolean {
  const n = word.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** The argument lower-cased as a string (for keyword switches). */
export function word(b: Uint8Array): string {
  return latin1(b).toLowerCase();
}

/** An int64 argument (number when safe, bigint beyond); throws `error` when not an integer. */
export function int64Arg(b: Uint8Array, error: RespError = Errors.notInteger): number | bigint {
  const v = parseInt64(b);
  if (v === null) throw error;
  return v;
}

/**
 * An integer argument as a number. Values beyond 2^53 are clamped to the nearest safe integer,
 * which every caller treats as "huge" (counts, offsets, indexes).
 */
export function intArg(b: Uint8Array, error: RespError = Errors.notInteger): number {
  const v = parseInt64(b);
  if (v === null) throw error;
  if (typeof v === "bigint") return v > 0n ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  return v;
}

/** A double argument, parsed as Redis's strtod check; throws `error` otherwise. */
export function floatArg(b: Uint8Array, error: RespError = Errors.notFloat): number {
  const v = parseDouble(latin1(b));
  if (v === null) throw error;
  return v;
}
