/**
 * Embedding: FerricStore in-process without a socket (openStore) and as a server started from a
 * program (startServer), both through the package root (mod.ts).
 */
import { Redis } from "ioredis";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import {
  defineCommand,
  definePlugin,
  loadPlugin,
  openStore,
  registerNativePlugins,
  ReplyError,
  startServer,
  type Store,
} from "../mod.ts";
import { tempDir } from "./_temp_dir.ts";

const HELLO = new URL("../plugins/examples/hello.ts", import.meta.url).pathname;
const COUNTMAP = new URL("../plugins/examples/countmap.ts", import.meta.url).pathname;

async function withStore(
  fn: (store: Store, dataDir: string) => Promise<void>,
  options: Omit<Parameters<typeof openStore>[0], "dataDir"> = {},
): Promise<void> {
  const dataDir = await tempDir("ferric-embed-");
  const store = await openStore({ dataDir, ...options });
  try {
    await fn(store, dataDir);
  } finally {
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("openStore: runs the server cron's work on the data (a large string built by APPENDs goes cold)", async () => {
  await withStore(async (s) => {
    for (let i = 0; i < 100; i++) await s.command("APPEND", "big", "y".repeat(4096));
    const status = async () => {
      const info = await s.command("FERRICSTORE.KEY_INFO", "big") as Record<string, unknown>;
      return info.hot_cache_status;
    };
    const deadline = Date.now() + 5000;
    while ((await status()) !== "cold" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await status(), "cold");
    assertEquals(await s.command("STRLEN", "big"), 409600);
  });
});

Deno.test("openStore: SHUTDOWN stops the store's background work (nothing writes to the closed log)", async () => {
  const dataDir = await tempDir("ferric-embed-");
  const store = await openStore({ dataDir });
  try {
    for (let i = 0; i < 10; i++) await store.command("APPEND", "big", "y".repeat(40_000));
    await store.command("SHUTDOWN", "NOSAVE").catch(() => {});
    // The string would be written whole a second or two later: an uncaught error in a timer
    // would end this process.
    await new Promise((r) => setTimeout(r, 2500));
  } finally {
    await store.close().catch(() => {});
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("openStore: replies as JavaScript values, errors thrown as ReplyError", async () => {
  await withStore(async (s) => {
    assertEquals(await s.command("SET", "city", "Zürich"), "OK");
    assertEquals(await s.command("GET", "city"), "Zürich");
    assertEquals(await s.command("STRLEN", "city"), 7);
    assertEquals(await s.command("GET", "missing"), null);
    assertEquals(await s.command("INCRBY", "n", 41), 41);
    assertEquals(await s.command("INCRBYFLOAT", "f", "1.5"), "1.5");
    assertEquals(await s.command("RPUSH", "l", "a", "b", "c"), 3);
    assertEquals(await s.command("LRANGE", "l", 0, -1), ["a", "b", "c"]);
    await s.command("HSET", "h", "x", "1", "y", "2");
    assertEquals(await s.command("HGETALL", "h"), { x: "1", y: "2" });
    await s.command("SADD", "s", "m");
    assertEquals(await s.command("SMEMBERS", "s"), ["m"]);
    await s.command("ZADD", "z", "1.5", "a");
    assertEquals(await s.command("ZSCORE", "z", "a"), 1.5);
    assertEquals(await s.command("ZRANGE", "z", 0, -1, "WITHSCORES"), [["a", 1.5]]);
    assertEquals(await s.command("EXISTS", "city", "n", "nope"), 2);
    // Errors are thrown with their code; inside EXEC they are values.
    const e = await s.command("LPUSH", "city", "x").catch((e) => e);
    assert(e instanceof ReplyError);
    assertEquals(e.code, "WRONGTYPE");
    assertEquals(e.message, "WRONGTYPE Operation against a key holding the wrong kind of value");
    await assertRejects(() => s.command("NOSUCH"), /unknown command 'NOSUCH'/);
    await assertRejects(() => s.command("GET"), /wrong number of arguments for 'get' command/);
    assertEquals(await s.command("MULTI"), "OK");
    assertEquals(await s.command("INCR", "n"), "QUEUED");
    assertEquals(await s.command("LPUSH", "city", "x"), "QUEUED");
    const exec = await s.command("EXEC") as unknown[];
    assertEquals(exec[0], 42);
    assert(exec[1] instanceof ReplyError && exec[1].code === "WRONGTYPE");
    // Replies made before a HELLO inside EXEC keep their protocol, and their values.
    await s.command("MULTI");
    await s.command("GET", "city");
    await s.command("HELLO", "2");
    await s.command("GET", "city");
    await s.command("HELLO", "3");
    const pinned = await s.command("EXEC") as unknown[];
    assertEquals([pinned[0], pinned[2]], ["Zürich", "Zürich"]);
    // Binary values with commandBuffer; maps become Maps there.
    const bytes = new Uint8Array([0, 0xff, 0x80, 10]);
    assertEquals(await s.command("SET", "bin", bytes), "OK");
    assertEquals(await s.commandBuffer("GET", "bin"), bytes);
    const m = await s.commandBuffer("HGETALL", "h") as Map<Uint8Array, Uint8Array>;
    assertEquals(
      [...m].map(([k, v]) => [new TextDecoder().decode(k), new TextDecoder().decode(v)]),
      [["x", "1"], ["y", "2"]],
    );
    assertEquals(
      await s.command("CLIENT", "INFO").then((i) => String(i).includes("addr=embedded:0")),
      true,
    );
  });
});

Deno.test("openStore: RESP2 shapes on request; commands run in order, one at a time", async () => {
  await withStore(async (s) => {
    await s.command("HSET", "h", "a", "1");
    assertEquals(await s.command("HGETALL", "h"), ["a", "1"]);
    await s.command("ZADD", "z", "2", "b");
    assertEquals(await s.command("ZSCORE", "z", "b"), "2");
    // Fired without waiting: the replies come in order.
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.command("RPUSH", "q", i)),
    );
    assertEquals(replies, Array.from({ length: 50 }, (_, i) => i + 1));
    // A blocking command waits (here for its timeout) and the next command after it.
    const started = Date.now();
    const [popped, after] = await Promise.all([
      s.command("BLPOP", "empty", "0.1"),
      s.command("PING"),
    ]);
    assertEquals([popped, after], [null, "PONG"]);
    assert(Date.now() - started >= 90);
  }, { resp: 2 });
});

Deno.test("openStore: data survives close and reopen, with plugins and their value types", async () => {
  const dataDir = await tempDir("ferric-embed-");
  const greet = definePlugin({
    name: "greet",
    version: "1.0.0",
    commands: [defineCommand({
      name: "greet.me",
      arity: 2,
      flags: ["readonly", "fast"],
      summary: "Greets.",
      handler: (_ctx, argv) => `hi ${new TextDecoder().decode(argv[1])}`,
    })],
  });
  try {
    let s = await openStore({ dataDir, plugins: [COUNTMAP, greet], config: { "shard-count": 2 } });
    assertEquals(await s.command("GREET.ME", "you"), "hi you");
    assertEquals(await s.command("CMAP.INCRBY", "cm", "a", 3), 3);
    assertEquals(await s.command("LOCK", "lk", "me", 600000), "OK");
    assertEquals(await s.command("SET", "k", "v", "EX", 1000), "OK");
    // The directory is locked while the store is open.
    await assertRejects(() => openStore({ dataDir }));
    await s.close();
    await s.close(); // closing twice is harmless
    await assertRejects(() => s.command("PING"), /the store is closed/);

    s = await openStore({ dataDir, plugins: [COUNTMAP] });
    try {
      assertEquals(await s.command("CMAP.GETALL", "cm"), { a: 3 });
      assertEquals(await s.command("GET", "lk"), "me");
      assertEquals(await s.command("GET", "k"), "v");
      assert(Number(await s.command("TTL", "k")) > 990);
      await assertRejects(() => s.command("GREET.ME", "x"), /unknown command/);
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("openStore: pushes (pub/sub, keyspace notifications) reach onPush; expiry runs in the background", async () => {
  const pushes: unknown[] = [];
  await withStore(async (s) => {
    assertEquals(await s.command("SUBSCRIBE", "news", "__keyevent@0__:expired"), null);
    assertEquals(await s.command("PUBLISH", "news", "hello"), 1);
    assertEquals(await s.command("SET", "ephemeral", "x", "PX", 30), "OK");
    // Nobody reads the key: the background expire cycle removes it and notifies.
    const until = Date.now() + 3000;
    while (s.server.keyspace.dbs[0].size() > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(s.server.keyspace.dbs[0].size(), 0);
    await new Promise((r) => setTimeout(r, 10));
    assertEquals(pushes, [
      ["subscribe", "news", 1],
      ["subscribe", "__keyevent@0__:expired", 2],
      ["message", "news", "hello"],
      ["message", "__keyevent@0__:expired", "ephemeral"],
    ]);
  }, { onPush: (m) => pushes.push(m), config: { "notify-keyspace-events": "Ex" } });
});

Deno.test("openStore: ACL applies to the embedded client; AUTH works as over a socket", async () => {
  await withStore(async (s) => {
    await assertRejects(() => s.command("GET", "k"), /^ReplyError: NOAUTH Authentication required/);
    assertEquals(await s.command("AUTH", "secret"), "OK");
    assertEquals(await s.command("ACL", "SETUSER", "ro", "on", ">pw", "+@read", "~*"), "OK");
    assertEquals(await s.command("AUTH", "ro", "pw"), "OK");
    assertEquals(await s.command("GET", "k"), null);
    await assertRejects(() => s.command("LOCK", "k", "me", 1000), /NOPERM .*'lock' command/);
  }, { config: { requirepass: "secret" } });
});

/**
 * Runs `fn` with a server started through the package root's startServer on a temporary data
 * directory, and an ioredis client for it that `fn` connects (after loading plugins, if any).
 */
async function withEmbeddedServer(
  options: Record<string, string>,
  fn: (server: Awaited<ReturnType<typeof startServer>>, r: Redis) => Promise<void>,
): Promise<void> {
  const dataDir = await tempDir("ferric-embed-");
  const server = await startServer({
    port: 0,
    bind: "127.0.0.1",
    "data-dir": dataDir,
    loglevel: "warning",
    "http-port": -1,
    ...options,
  });
  const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
  try {
    await fn(server, r);
  } finally {
    r.disconnect();
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("startServer: a server in this program, plugins loaded into it, real clients", async () => {
  await withEmbeddedServer({}, async (server, r) => {
    registerNativePlugins(server);
    await loadPlugin(server, HELLO, ["Servus"]);
    await r.connect();
    assertEquals(await r.call("HELLO.WORLD"), "Servus, world!");
    assertEquals(await r.call("LOCK", "job", "w1", "1000"), "OK");
    assertEquals(await r.call("CAS", "job", "w1", "w2"), 1);
    assertEquals(await r.get("job"), "w2");
  });
});

Deno.test("startServer({ loadplugin }): plugins named in the options are loaded before the data", async () => {
  await withEmbeddedServer({ loadplugin: `${HELLO} Hej` }, async (_server, r) => {
    await r.connect();
    assertEquals(await r.call("HELLO.WORLD"), "Hej, world!");
    assertEquals(await r.call("RATELIMIT.ADD", "rl", "1000", "1"), ["allowed", 1, 0, 1000]);
  });
});

Deno.test("openStore: a host that grants only file access gets a working store (no FFI, no sys)", async () => {
  const dataDir = await tempDir("ferric-embed-");
  const script = `${dataDir}/host.ts`;
  await Deno.writeTextFile(
    script,
    `import { openStore } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
const store = await openStore({ dataDir: ${JSON.stringify(`${dataDir}/data`)} });
await store.command("SET", "k", "v");
const info = await store.command("INFO", "everything");
console.log(JSON.stringify([await store.command("GET", "k"), /monotonic_clock:(.*)\\r/.exec(info)[1],
  /^os:/m.test(info), /total_system_memory:/.test(info)]));
await store.close();`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, stderr);
  // The clock falls back to performance.now(); INFO answers without the sys permission.
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), [
    "v",
    "performance.now()",
    true,
    true,
  ]);
  assert(!/warning/.test(stderr), stderr);
});
