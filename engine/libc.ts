/**
 * glibc's functions through Deno's FFI, for the few things Deno has no API for or only a slow
 * one: `clock_gettime` (engine/clock.ts) and `malloc_trim` (engine/memory.ts).
 *
 * @module
 */

/**
 * The named libc functions, or null when they cannot be had: another OS, a libc that is not
 * glibc, or a process not allowed FFI (an embedding host's choice; asked without prompting, as a
 * server never stops to ask at a terminal). Callers fall back to what Deno offers.
 */
export function libc<const S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | null {
  if (Deno.build.os !== "linux" || typeof Deno.dlopen !== "function") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    return Deno.dlopen("libc.so.6", symbols).symbols;
  } catch {
    return null;
  }
}
