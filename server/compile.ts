/**
 * Builds the single-file binary: `deno compile -A --v8-flags=--no-incremental-marking-task
 * --output dist/ferricstore main.ts` (the `compile` task runs this; the binary embeds the V8
 * flags of server/v8_flags.ts). Extra arguments are passed to `deno compile` before the entry point,
 * e.g. `--target x86_64-unknown-linux-gnu` or `--include plugins/examples/hello.ts` (plugins the
 * binary should be able to `--loadplugin` must be included: a compiled binary imports only modules
 * that were compiled into it).
 *
 * `deno compile` downloads the Deno runtime it embeds (`denort`) from dl.deno.land. Without
 * network access that fails; this script then says so and how to build elsewhere or offline
 * (`DENORT_BIN` pointing at a downloaded `denort`).
 *
 * ```
 * deno run -A server/compile.ts [--output path] [deno compile flags ...]
 * ```
 *
 * @module
 */

import { V8_FLAGS_ARG } from "./v8_flags.ts";

/** What {@link compileArgs} builds from the script's arguments. */
export interface CompilePlan {
  output: string;
  args: string[];
}

/** The `deno compile` arguments for this script's arguments (`--output` defaults to dist/ferricstore). */
export function compileArgs(argv: readonly string[], root: URL): CompilePlan {
  const rest: string[] = [];
  let output = new URL("dist/ferricstore", root).pathname;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === "--output" || a === "-o") && i + 1 < argv.length) output = argv[++i];
    else if (a.startsWith("--output=")) output = a.slice("--output=".length);
    else rest.push(a);
  }
  const main = new URL("main.ts", root).pathname;
  // A worker's module is compiled in only when named (the shard logs' fdatasync threads).
  const worker = new URL("engine/log/sync_thread_worker.ts", root).pathname;
  return {
    output,
    args: ["compile", "-A", V8_FLAGS_ARG, "--include", worker, "--output", output, ...rest, main],
  };
}

/** True when `deno compile` failed because it could not download the runtime it embeds. */
export function isRuntimeDownloadFailure(stderr: string): boolean {
  return /denort|dl\.deno\.land/i.test(stderr) &&
    /error sending request|dns error|failed to lookup|connect|network|timed out|download/i.test(
      stderr,
    );
}

/** The message for a runtime that could not be downloaded. */
export function offlineHelp(version: string, target: string): string {
  return [
    "ferricstore compile: `deno compile` could not download the Deno runtime it embeds",
    `(denort ${version} for ${target}) from https://dl.deno.land: this machine has no network access.`,
    "",
    "To build the binary:",
    "  - run `deno task compile` on a machine with network access (add `--target <triple>` to",
    "    build for another platform), or",
    `  - download https://dl.deno.land/release/v${version}/denort-${target}.zip elsewhere, unzip it`,
    "    here, and run `DENORT_BIN=/path/to/denort deno task compile`.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const root = new URL("../", import.meta.url);
  const plan = compileArgs(argv, root);
  await Deno.mkdir(new URL("dist/", root), { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: plan.args,
    cwd: root.pathname,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    const text = decoder.decode(chunk, { stream: true });
    stderr += text;
    await Deno.stderr.write(chunk);
  }
  const status = await child.status;
  if (status.success) {
    console.log(`ferricstore compile: wrote ${plan.output}`);
    return 0;
  }
  if (isRuntimeDownloadFailure(stderr)) {
    const target = argv.includes("--target")
      ? argv[argv.indexOf("--target") + 1]
      : Deno.build.target;
    console.error(`\n${offlineHelp(Deno.version.deno, target)}`);
  }
  return status.code || 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
