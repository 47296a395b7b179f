/**
 * The V8 flags FerricStore runs with (server/v8_flags.ts): every way of starting it passes them,
 * and a server started without them says so.
 */
import { assert, assertEquals } from "./_assert.ts";
import { spawnFerric } from "./_harness.ts";
import { V8_FLAGS_ARG, v8FlagName } from "../server/v8_flags.ts";
import { compileArgs } from "../server/compile.ts";
import { tempDir } from "./_temp_dir.ts";

Deno.test("v8 flags: deno task start and deno task compile pass them", async () => {
  const root = new URL("../", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
  assert(tasks.start.split(" ").includes(V8_FLAGS_ARG), tasks.start);
  assert(compileArgs([], root).args.includes(V8_FLAGS_ARG));
});

Deno.test("deno task compile includes the worker module the shard logs start", async () => {
  const root = new URL("../", import.meta.url);
  const args = compileArgs([], root).args;
  const worker = args[args.indexOf("--include") + 1];
  assert(worker.endsWith("engine/log/sync_thread_worker.ts"), args.join(" "));
  assert((await Deno.stat(worker)).isFile);
  const source = await Deno.readTextFile(new URL("engine/log/sync_thread.ts", root));
  assert(source.includes(`new URL("./sync_thread_worker.ts", import.meta.url)`));
});

Deno.test("v8 flags: spellings V8 accepts for the same flag are recognised", () => {
  for (
    const f of [
      "--noincremental-marking-task",
      "--no_incremental_marking_task",
      "no-incremental-marking-task",
    ]
  ) {
    assertEquals(v8FlagName(f), "no-incremental-marking-task", f);
  }
  assert(v8FlagName("--incremental-marking-task") !== "no-incremental-marking-task");
});

Deno.test({
  name: "v8 flags: a server started without them warns once, with them it does not",
  // The warning reads /proc/self/cmdline.
  ignore: Deno.build.os !== "linux",
}, async () => {
  for (const v8Flags of [false, true]) {
    const dataDir = await tempDir("ferric-v8flags-");
    const server = await spawnFerric(["--data-dir", dataDir], { v8Flags });
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
    const warnings = server.output().split("\n").filter((l) => l.includes(V8_FLAGS_ARG));
    assertEquals(warnings.length, v8Flags ? 0 : 1, server.output());
  }
});
