/**
 * The V8 flags FerricStore runs with. V8 reads them only at start, so they go on the command
 * line: `deno task start`, `deno task compile` (embedded in the binary), the benchmarks and the
 * tests' servers pass {@link V8_FLAGS_ARG}; `deno run -A main.ts` without them still works, and
 * says at start what it misses.
 *
 * `--no-incremental-marking-task`: V8 runs the incremental marking of its old-generation
 * collector partly as foreground tasks, and Deno's event loop runs pending tasks back to back
 * before it polls sockets again. With a heap of hundreds of thousands of keys, a pass of marking
 * then kept the server from reading any socket for 50-600 ms at a time. Without the tasks, the
 * marking steps ride on allocation (about a millisecond each) and V8's background threads do
 * the rest (docs/operations.md, "Latency").
 *
 * @module
 */

/** The flags, as V8 spells them. */
export const V8_FLAGS: readonly string[] = ["--no-incremental-marking-task"];

/** The `deno run` / `deno compile` argument that sets {@link V8_FLAGS}. */
export const V8_FLAGS_ARG = `--v8-flags=${V8_FLAGS.join(",")}`;

/**
 * The flags this process was started without, judged from its command line and `DENO_V8_FLAGS`
 * (empty where the command line cannot be read, or in a compiled binary, which embeds them).
 */
export function missingV8Flags(): string[] {
  let given = Deno.env.get("DENO_V8_FLAGS") ?? "";
  try {
    given += " " + Deno.readTextFileSync("/proc/self/cmdline").replaceAll("\0", " ");
  } catch {
    return [];
  }
  if (!/^deno(\.exe)?$/.test(Deno.execPath().split(/[\\/]/).pop() ?? "")) return [];
  return V8_FLAGS.filter((f) => !given.includes(f.slice(2)));
}
