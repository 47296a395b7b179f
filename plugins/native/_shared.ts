/**
 * Helpers FerricStore's native plugins share: byte comparison, TTL arguments, string lookups.
 *
 * @module
 */
import { int64Arg } from "../../commands/args.ts";
import { Errors } from "../../commands/errors.ts";
import type { Entry } from "../../engine/keyspace.ts";

/** True when two byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The string value of an entry; throws WRONGTYPE for collections. */
export function stringValue(e: Entry | { readonly value: Entry["value"] }): Uint8Array {
  if (!(e.value instanceof Uint8Array)) throw Errors.wrongType;
  return e.value;
}

/**
 * A relative TTL argument (`unit` ms per step: 1 for milliseconds, 1000 for seconds) as an
 * absolute expiry in ms: not an integer is Redis's "not an integer" error; zero, negative or too
 * far in the future is "invalid expire time in '<command>' command".
 */
export function ttlArg(arg: Uint8Array, unit: number, now: number, command: string): number {
  const v = int64Arg(arg);
  if (typeof v === "bigint" || v <= 0) throw Errors.invalidExpire(command);
  const at = now + v * unit;
  if (!Number.isSafeInteger(at)) throw Errors.invalidExpire(command);
  return at;
}
