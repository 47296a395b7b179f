/**
 * Graceful shutdown: SIGTERM and SHUTDOWN under write load exit 0 within a few seconds and keep
 * every acknowledged write; SHUTDOWN's flags (NOW, SAVE, ABORT) and errors.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  type ChildServer,
  concat,
  encodeCommand,
  RawClient,
  spawnFerric,
  startFerric,
  startRedis,
} from "./_harness.ts";
import { isShuttingDown } from "../server/shutdown.ts";
import type { Server } from "../server/server.ts";
import { tempDir } from "./_temp_dir.ts";

/** Writes pipelined SETs until the connection ends; records every acknowledged one. */
async function writer(
  port: number,
  id: number,
  acked: Map<string, string>,
  stop: { done: boolean },
): Promise<void> {
  let c: RawClient;
  try {
    c = await RawClient.connect(port);
  } catch {
    return;
  }
  let i = 0;
  try {
    while (!stop.done) {
      const batch: [string, string][] = [];
      for (let j = 0; j < 8; j++, i++) batch.push([`w${id}:${i}`, `value-${id}-${i}`]);
      await c.write(concat(batch.map(([k, v]) => encodeCommand(["SET", k, v]))));
      for (const [k, v] of batch) {
        const r = await c.read(10000);
        if (r !== "+OK\r\n") return;
        acked.set(k, v);
      }
    }
  } catch {
    // The server closed the connection: the writes without a reply were not acknowledged.
  } finally {
    c.close();
  }
}

/** Starts `n` writers; resolves once `min` writes are acknowledged. */
async function load(port: number, n: number, min: number) {
  const acked = new Map<string, string>();
  const stop = { done: false };
  const writers = Array.from({ length: n }, (_, id) => writer(port, id, acked, stop));
  const until = Date.now() + 20000;
  while (acked.size < min && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert(acked.size >= min, `only ${acked.size} writes acknowledged`);
  return {
    acked,
    async finish() {
      stop.done = true;
      await Promise.all(writers);
    },
  };
}

/** Starts main.ts in a child process on a fresh temporary data directory. */
async function spawnInTempDir(flags: string[]): Promise<{ dir: string; child: ChildServer }> {
  const dir = await tempDir("ferric-shutdown-");
  return { dir, child: await spawnFerric(["--data-dir", dir, ...flags]) };
}

/** Opens the data directory again and checks every acknowledged write. */
async function checkAcked(
  dataDir: string,
  acked: Map<string, string>,
  shards: number,
): Promise<void> {
  const server = await startFerric({ "data-dir": dataDir, "shard-count": shards });
  try {
    const db = server.keyspace.dbs[0];
    const dec = new TextDecoder();
    let missing = 0;
    for (const [k, v] of acked) {
      const e = db.peek(k);
      if (e === undefined || dec.decode(e.value as Uint8Array) !== v) missing++;
    }
    assertEquals(missing, 0, `${missing} of ${acked.size} acknowledged writes lost`);
  } finally {
    await server.close();
  }
}

Deno.test("SIGTERM under write load (main.ts): exit 0 within seconds, every acknowledged write kept", async () => {
  const { dir, child } = await spawnInTempDir(["--shard-count", "2", "--loglevel", "notice"]);
  const run = await load(child.port, 4, 400);
  const started = performance.now();
  const status = await child.stop("SIGTERM");
  const took = performance.now() - started;
  await run.finish();
  assertEquals(status.code, 0, child.output());
  assert(took < 5000, `exit took ${Math.round(took)} ms`);
  assert(child.output().includes("Received SIGTERM, scheduling shutdown"), child.output());
  assert(child.output().includes("ready to exit, bye bye"), child.output());
  await checkAcked(dir, run.acked, 2);
});

Deno.test("SHUTDOWN from a client under write load: no reply, exit 0, every acknowledged write kept", async () => {
  const { dir, child } = await spawnInTempDir(["--shard-count", "2", "--loglevel", "warning"]);
  const run = await load(child.port, 4, 400);
  const admin = await RawClient.connect(child.port);
  const started = performance.now();
  await admin.write(encodeCommand(["SHUTDOWN"]));
  assertEquals(await admin.read(10000), null); // closed without a reply, as Redis
  admin.close();
  const status = await child.process.status;
  const took = performance.now() - started;
  await child.stop();
  await run.finish();
  assertEquals(status.code, 0, child.output());
  assert(took < 5000, `exit took ${Math.round(took)} ms`);
  await checkAcked(dir, run.acked, 2);
});

Deno.test("SHUTDOWN errors match redis-server; ABORT without a shutdown fails", async () => {
  const server = await startFerric();
  const redis = await startRedis();
  const f = await RawClient.connect(server.port);
  const r = await RawClient.connect(redis.port);
  try {
    for (
      const line of [
        ["SHUTDOWN", "SAVE", "NOSAVE"],
        ["SHUTDOWN", "ABORT", "NOW"],
        ["SHUTDOWN", "ABORT", "FORCE"],
        ["SHUTDOWN", "FOO"],
        ["SHUTDOWN", "ABORT"],
        ["MULTI"],
        ["SHUTDOWN"],
        ["DISCARD"],
      ]
    ) {
      assertEquals(await f.call(...line), await r.call(...line), line.join(" "));
    }
  } finally {
    f.close();
    r.close();
    await server.close();
    await redis.stop("SIGKILL");
  }
});

Deno.test("SHUTDOWN SAVE compacts before closing; the data reopens from snapshots", async () => {
  const dir = await tempDir("ferric-shutdown-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  for (let i = 0; i < 30; i++) await c.call("SET", `k${i}`, "old");
  for (let i = 0; i < 30; i++) await c.call("SET", `k${i}`, "new");
  await c.write(encodeCommand(["SHUTDOWN", "SAVE"]));
  assertEquals(await c.read(), null);
  c.close();
  await server.closed;
  assert(isShuttingDown(server));
  for (const shard of ["shard_0", "shard_1"]) {
    const names = [...Deno.readDirSync(`${dir}/${shard}`)].map((e) => e.name);
    assert(names.some((n) => n.endsWith(".snap")), `${shard}: ${names}`);
  }
  const again = await startFerric({ "data-dir": dir, "shard-count": 2 });
  try {
    assertEquals(again.keyspace.totalKeys(), 30);
    assertEquals(again.engine!.shards.map((s) => s.stats.deadBytes), [0, 0]);
  } finally {
    await again.close();
  }
});

/**
 * A subscriber that never reads while large messages are published to it: once the socket is
 * full, the server holds its pending output (below the pub/sub output buffer limits).
 */
async function stuckSubscriber(server: Server): Promise<RawClient> {
  const sub = await RawClient.connect(server.port);
  await sub.call("SUBSCRIBE", "ch");
  const pub = await RawClient.connect(server.port);
  const message = "x".repeat(300_000);
  for (let i = 0; i < 25; i++) await pub.call("PUBLISH", "ch", message);
  pub.close();
  let pending = 0;
  for (const c of server.clients.values()) pending += c.transport.outputPending();
  assert(pending > 0, "the subscriber's output is not pending");
  return sub;
}

Deno.test("SHUTDOWN waits for pending replies (bounded by shutdown-timeout); ABORT resumes held commands", async () => {
  const server = await startFerric({ "shutdown-timeout": 10 });
  const stuck = await stuckSubscriber(server);
  const admin = await RawClient.connect(server.port);
  const other = await RawClient.connect(server.port);
  const setup = await RawClient.connect(server.port);
  try {
    await admin.write(encodeCommand(["SHUTDOWN"]));
    const until = Date.now() + 3000;
    while (!isShuttingDown(server) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert(isShuttingDown(server), "the shutdown did not start");
    // Commands that arrive now wait; SHUTDOWN ABORT gets through and cancels the shutdown.
    await other.write(encodeCommand(["SET", "during", "yes"]));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(await setup.call("SHUTDOWN", "ABORT"), "+OK\r\n");
    assertEquals(await admin.read(), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assertEquals(await other.read(), "+OK\r\n");
    assert(!isShuttingDown(server));
    assertEquals(await admin.call("GET", "during"), "$3\r\nyes\r\n");
    assertEquals(await setup.call("SHUTDOWN", "ABORT"), "-ERR No shutdown in progress.\r\n");
    // It takes new connections again.
    const late = await RawClient.connect(server.port);
    assertEquals(await late.call("PING"), "+PONG\r\n");
    late.close();

    // With a short timeout the wait ends on its own.
    await admin.call("CONFIG", "SET", "shutdown-timeout", "1");
    const started = performance.now();
    await admin.write(encodeCommand(["SHUTDOWN", "NOSAVE"]));
    assertEquals(await admin.read(), null);
    await server.closed;
    const took = performance.now() - started;
    assert(took >= 900 && took < 4000, `shutdown took ${Math.round(took)} ms`);
  } finally {
    stuck.close();
    admin.close();
    other.close();
    setup.close();
    await server.close();
  }
});

Deno.test("SHUTDOWN NOW closes at once even with replies pending", async () => {
  const server = await startFerric({ "shutdown-timeout": 30 });
  const stuck = await stuckSubscriber(server);
  const setup = await RawClient.connect(server.port);
  try {
    const started = performance.now();
    await setup.write(encodeCommand(["SHUTDOWN", "NOW", "FORCE"]));
    assertEquals(await setup.read(), null);
    await server.closed;
    assert(performance.now() - started < 3000);
  } finally {
    stuck.close();
    setup.close();
    await server.close();
  }
});

Deno.test("A second signal while the shutdown waits closes at once, data flushed", async () => {
  const { dir, child } = await spawnInTempDir(["--shutdown-timeout", "30", "--loglevel", "notice"]);
  const sub = await RawClient.connect(child.port);
  const pub = await RawClient.connect(child.port);
  try {
    await sub.call("SUBSCRIBE", "ch");
    const message = "x".repeat(300_000);
    for (let i = 0; i < 25; i++) await pub.call("PUBLISH", "ch", message);
    assertEquals(await pub.call("SET", "kept", "yes"), "+OK\r\n");
    child.process.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    const early = await Promise.race([
      child.process.status,
      new Promise((r) => setTimeout(r, 0, "running")),
    ]);
    assertEquals(early, "running"); // waiting for the subscriber's output (up to 30 s)
    const started = performance.now();
    const status = await child.stop("SIGINT");
    assertEquals(status.code, 0, child.output());
    assert(performance.now() - started < 5000);
    assert(child.output().includes("You insist (SIGINT)"), child.output());
  } finally {
    sub.close();
    pub.close();
  }
  await checkAcked(dir, new Map([["kept", "yes"]]), 0);
});

/**
 * Registers SLOW.SET key value, a plugin command that sets the key through ctx.call after `ms`;
 * `called` resolves with what that call answered.
 */
async function registerSlowSet(server: Server, ms: number): Promise<{ called: Promise<unknown> }> {
  const { registerPlugin } = await import("../plugins/loader.ts");
  const { defineCommand, definePlugin } = await import("../plugins/api.ts");
  const { promise, resolve } = Promise.withResolvers<unknown>();
  await registerPlugin(
    server,
    definePlugin({
      name: "slow",
      version: 1,
      commands: [defineCommand({
        name: "slow.set",
        arity: 3,
        flags: ["write"],
        summary: "Sets a key after a moment.",
        async handler(ctx, argv) {
          await new Promise((r) => setTimeout(r, ms));
          const reply = ctx.call("SET", argv[1], argv[2]);
          resolve(reply);
          return reply;
        },
      })],
    }),
  );
  return { called: promise };
}

Deno.test("SHUTDOWN waits for an async command still at work; its reply and write go out first", async () => {
  const server = await startFerric({ "shutdown-timeout": 10 });
  await registerSlowSet(server, 300);
  const worker = await RawClient.connect(server.port);
  const admin = await RawClient.connect(server.port);
  try {
    await worker.write(encodeCommand(["SLOW.SET", "k", "v"]));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await admin.write(encodeCommand(["SHUTDOWN", "NOSAVE"]));
    assertEquals(await worker.read(), "+OK\r\n");
    await server.closed;
    const took = Date.now() - started;
    assert(took >= 200 && took < 5000, `shutdown took ${took} ms`);
  } finally {
    worker.close();
    admin.close();
  }
});

Deno.test("A command still at work when the shutdown gives up cannot write any more", async () => {
  const dir = await tempDir("ferric-late-");
  const server = await startFerric({ "data-dir": dir, "shutdown-timeout": 1 });
  // Its SET comes after the shutdown's deadline.
  const { called } = await registerSlowSet(server, 1500);
  const worker = await RawClient.connect(server.port);
  const admin = await RawClient.connect(server.port);
  try {
    await worker.write(encodeCommand(["SLOW.SET", "late", "v"]));
    await new Promise((r) => setTimeout(r, 50));
    await admin.write(encodeCommand(["SHUTDOWN", "NOSAVE"]));
    await server.closed;
    const late = await called;
    assert(late instanceof Error && /shutting down/.test(late.message), String(late));
    const again = await startFerric({ "data-dir": dir });
    try {
      assertEquals(again.keyspace.dbs[0].get("late"), undefined);
    } finally {
      await again.close();
    }
  } finally {
    worker.close();
    admin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
