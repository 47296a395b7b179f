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
 * The flags this process was started without, judged from its command line's `--v8-flags` and
 * `DENO_V8_FLAGS` (Linux only: elsewhere, and in a compiled binary, which embeds its flags,
 * nothing is reported).
 */
export function missingV8Flags(): string[] {
  let cmdline: string[];
  try {
    cmdline = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  } catch {
    return [];
  }
  if (!/^deno(\.exe)?$/.test(Deno.execPath().split(/[\\/]/).pop() ?? "")) return [];
  const given = [
    ...cmdline.filter((a) => a.startsWith("--v8-flags=")).map((a) => a.slice(11)),
    Deno.env.get("DENO_V8_FLAGS") ?? "",
  ].flatMap((list) => list.split(/[\s,]+/)).map(v8FlagName);
  return V8_FLAGS.filter((f) => !given.includes(v8FlagName(f)));
}

/** A V8 flag as V8 matches it: dashes and underscores alike, `--nofoo` the same as `--no-foo`. */
export function v8FlagName(flag: string): string {
  return flag.replace(/^-+/, "").replaceAll("_", "-").replace(/^no(?=[^-])/, "no-").split("=")[0];
}
