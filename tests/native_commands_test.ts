/**
 * FerricStore's native commands (shipped as plugins loaded by default): CAS, LOCK / UNLOCK /
 * EXTEND, RATELIMIT.ADD, FETCH_OR_COMPUTE (+ _RESULT, _ERROR). Exact replies over raw sockets,
 * races between many real clients (ioredis), and durability in an `async` namespace across
 * SIGKILL.
 */
import { Redis } from "ioredis";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { freePort, RawClient, waitForPort, withFerric } from "./_harness.ts";
import { registerNativePlugins } from "../plugins/native/mod.ts";
import { addToWindow } from "../plugins/native/ratelimit.ts";
import type { Server } from "../server/server.ts";
import { tempDir } from "./_temp_dir.ts";

const ROOT = new URL("../", import.meta.url).href;

async function withServer(fn: (server: Server) => Promise<void>): Promise<void> {
  await withFerric(async (server) => {
    registerNativePlugins(server); // a no-op once the server registers them itself
    await fn(server);
  });
}

function bulk(s: string): string {
  return `$${new TextEncoder().encode(s).length}\r\n${s}\r\n`;
}

async function ioredis(server: Server, n: number): Promise<Redis[]> {
  const clients = Array.from(
    { length: n },
    () =>
      new Redis({
        port: server.port,
        host: "127.0.0.1",
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

function quit(clients: Redis[]): void {
  for (const c of clients) c.disconnect();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("CAS: swap on match, 0 on mismatch, nil when missing, TTL kept or set by EX, errors", async () => {
  await withServer(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      assertEquals(await c.call("CAS", "k", "a", "b"), "$-1\r\n");
      assertEquals(await c.call("EXISTS", "k"), ":0\r\n");
      await c.call("SET", "k", "a", "PX", "100000");
      assertEquals(await c.call("CAS", "k", "x", "b"), ":0\r\n");
      assertEquals(await c.call("GET", "k"), bulk("a"));
      assertEquals(await c.call("CAS", "k", "a", "b"), ":1\r\n");
      assertEquals(await c.call("GET", "k"), bulk("b"));
      const pttl = Number((await c.call("PTTL", "k")).slice(1));
      assert(pttl > 90000 && pttl <= 100000, String(pttl));
      assertEquals(await c.call("CAS", "k", "b", "c", "ex", "50"), ":1\r\n");
      assertEquals(await c.call("TTL", "k"), ":50\r\n");
      // Binary-safe comparison and value.
      const bin = new Uint8Array([0, 255, 13, 10]);
      await c.call("SET", "bin", bin);
      assertEquals(await c.call("CAS", "bin", new Uint8Array([0, 255, 13]), "x"), ":0\r\n");
      assertEquals(await c.call("CAS", "bin", bin, new Uint8Array([1, 0, 2])), ":1\r\n");
      assertEquals(await c.call("STRLEN", "bin"), ":3\r\n");
      // Errors, in Redis's words.
      assertEquals(
        await c.call("CAS", "k", "c"),
        "-ERR wrong number of arguments for 'cas' command\r\n",
      );
      assertEquals(await c.call("CAS", "k", "c", "d", "EX"), "-ERR syntax error\r\n");
      assertEquals(await c.call("CAS", "k", "c", "d", "PX", "10"), "-ERR syntax error\r\n");
      assertEquals(await c.call("CAS", "k", "c", "d", "EX", "10", "NX"), "-ERR syntax error\r\n");
      assertEquals(
        await c.call("CAS", "k", "c", "d", "EX", "0"),
        "-ERR invalid expire time in 'cas' command\r\n",
      );
      assertEquals(
        await c.call("CAS", "k", "c", "d", "EX", "-5"),
        "-ERR invalid expire time in 'cas' command\r\n",
      );
      assertEquals(
        await c.call("CAS", "k", "c", "d", "EX", "1.5"),
        "-ERR value is not an integer or out of range\r\n",
      );
      assertEquals(await c.call("GET", "k"), bulk("c"));
      await c.call("RPUSH", "list", "x");
      assertEquals(
        await c.call("CAS", "list", "x", "y"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      // COMMAND DOCS describes the arguments as Redis describes GETEX's.
      const docs = await c.call("COMMAND", "DOCS", "cas");
      assert(
        docs.includes(
          "$9\r\narguments\r\n*4\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
        ) &&
          docs.endsWith(
            "*8\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nEX\r\n$5\r\nflags\r\n*1\r\n+optional\r\n",
          ),
        docs,
      );
      await c.call("HELLO", "3");
      assertEquals(await c.call("CAS", "missing", "a", "b"), "_\r\n");
    } finally {
      c.close();
    }
  });
});

Deno.test("LOCK, UNLOCK, EXTEND: owners, re-acquiring, expiry, DISTLOCK errors", async () => {
  await withServer(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      assertEquals(await c.call("LOCK", "res", "alice", "100000"), "+OK\r\n");
      assertEquals(await c.call("GET", "res"), bulk("alice"));
      assertEquals(
        await c.call("LOCK", "res", "bob", "100000"),
        "-DISTLOCK lock is held by another owner\r\n",
      );
      // The same owner re-acquires, and the TTL is renewed.
      assertEquals(await c.call("LOCK", "res", "alice", "500000"), "+OK\r\n");
      assert(Number((await c.call("PTTL", "res")).slice(1)) > 400000);
      assertEquals(
        await c.call("EXTEND", "res", "bob", "1000"),
        "-DISTLOCK caller is not the lock owner\r\n",
      );
      assertEquals(await c.call("EXTEND", "res", "alice", "200000"), ":1\r\n");
      const pttl = Number((await c.call("PTTL", "res")).slice(1));
      assert(pttl > 190000 && pttl <= 200000, String(pttl));
      assertEquals(
        await c.call("UNLOCK", "res", "bob"),
        "-DISTLOCK caller is not the lock owner\r\n",
      );
      assertEquals(await c.call("GET", "res"), bulk("alice"));
      assertEquals(await c.call("UNLOCK", "res", "alice"), ":1\r\n");
      assertEquals(await c.call("EXISTS", "res"), ":0\r\n");
      // Releasing a lock nobody holds succeeds (release is idempotent).
      assertEquals(await c.call("UNLOCK", "res", "alice"), ":1\r\n");
      assertEquals(
        await c.call("EXTEND", "res", "alice", "1000"),
        "-DISTLOCK lock does not exist or has expired\r\n",
      );
      // An expired lock can be taken by someone else.
      assertEquals(await c.call("LOCK", "res", "alice", "30"), "+OK\r\n");
      await sleep(60);
      assertEquals(
        await c.call("EXTEND", "res", "alice", "1000"),
        "-DISTLOCK lock does not exist or has expired\r\n",
      );
      assertEquals(await c.call("LOCK", "res", "bob", "1000"), "+OK\r\n");
      // Argument errors.
      assertEquals(
        await c.call("LOCK", "res", "bob", "0"),
        "-ERR invalid expire time in 'lock' command\r\n",
      );
      assertEquals(
        await c.call("LOCK", "res", "bob", "x"),
        "-ERR value is not an integer or out of range\r\n",
      );
      assertEquals(
        await c.call("EXTEND", "res", "bob", "-1"),
        "-ERR invalid expire time in 'extend' command\r\n",
      );
      assertEquals(
        await c.call("LOCK", "res", "bob"),
        "-ERR wrong number of arguments for 'lock' command\r\n",
      );
      assertEquals(
        await c.call("UNLOCK", "res"),
        "-ERR wrong number of arguments for 'unlock' command\r\n",
      );
      await c.call("SADD", "set", "x");
      assertEquals(
        await c.call("LOCK", "set", "x", "100"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      // The keyspace sees locks as strings with a TTL.
      assertEquals(await c.call("TYPE", "res"), "+string\r\n");
      assertMatch(await c.call("OBJECT", "ENCODING", "res"), /embstr/);
    } finally {
      c.close();
    }
  });
});

Deno.test("RATELIMIT.ADD: allowed until max, denied without taking, count argument, window rollover", async () => {
  await withServer(async (server) => {
    const c = await RawClient.connect(server.port);
    const reply = (status: string, count: number, remaining: number) =>
      new RegExp(
        `^\\*4\\r\\n\\$${status.length}\\r\\n${status}\\r\\n:${count}\\r\\n:${remaining}\\r\\n:\\d+\\r\\n$`,
      );
    try {
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "3"), reply("allowed", 1, 2));
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "3", "2"), reply("allowed", 3, 0));
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "3"), reply("denied", 3, 0));
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "3", "0"), reply("allowed", 3, 0));
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "5", "3"), reply("denied", 3, 2));
      assertMatch(await c.call("RATELIMIT.ADD", "rl", "60000", "5", "2"), reply("allowed", 5, 0));
      const ms = Number(
        (await c.call("RATELIMIT.ADD", "rl", "60000", "5")).split("\r\n").at(-2)!.slice(1),
      );
      assert(ms > 59000 && ms <= 60000, String(ms));
      const ttl = Number((await c.call("PTTL", "rl")).slice(1));
      assert(ttl > 110000 && ttl <= 120000, String(ttl));
      // A short window rolls over: the previous window's count decays.
      assertMatch(await c.call("RATELIMIT.ADD", "short", "100", "2", "2"), reply("allowed", 2, 0));
      assertMatch(await c.call("RATELIMIT.ADD", "short", "100", "2"), reply("denied", 2, 0));
      await sleep(250);
      assertMatch(await c.call("RATELIMIT.ADD", "short", "100", "2"), reply("allowed", 1, 1));
      // Errors.
      assertEquals(
        await c.call("RATELIMIT.ADD", "rl", "0", "5"),
        "-ERR window_ms must be a positive integer\r\n",
      );
      assertEquals(
        await c.call("RATELIMIT.ADD", "rl", "10", "-1"),
        "-ERR max must be a non-negative integer\r\n",
      );
      assertEquals(
        await c.call("RATELIMIT.ADD", "rl", "10", "1", "-1"),
        "-ERR count must be a non-negative integer\r\n",
      );
      assertEquals(
        await c.call("RATELIMIT.ADD", "rl", "x", "1"),
        "-ERR value is not an integer or out of range\r\n",
      );
      assertEquals(
        await c.call("RATELIMIT.ADD", "rl", "10", "1", "1", "1"),
        "-ERR syntax error\r\n",
      );
      await c.call("SET", "str", "hello");
      assertEquals(
        await c.call("RATELIMIT.ADD", "str", "10", "1"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
    } finally {
      c.close();
    }
  });
});

Deno.test("RATELIMIT.ADD: the sliding window weighs the previous window by its overlap", () => {
  // 10 taken in the window that started at 0 (window 1000 ms, max 10).
  const full = { current: 10, start: 0, previous: 0 };
  // At 1250 the next window (from 1000) runs: the previous 10 weigh 75% → 8 (rounded).
  let r = addToWindow(full, 1250, 1000, 10, 1);
  assertEquals([r.allowed, r.count, r.remaining, r.resetMs], [true, 9, 1, 750]);
  assertEquals(r.next, { current: 1, start: 1000, previous: 10 });
  // At 1750 the previous window weighs 25% → 3 (2.5 rounded up); 1 + 3 + 7 > 10 is denied.
  r = addToWindow(r.next, 1750, 1000, 10, 7);
  assertEquals([r.allowed, r.count, r.remaining, r.resetMs, r.next], [false, 4, 6, 250, null]);
  r = addToWindow({ current: 1, start: 1000, previous: 10 }, 1750, 1000, 10, 6);
  assertEquals([r.allowed, r.count, r.remaining], [true, 10, 0]);
  // Two windows later everything is forgotten.
  r = addToWindow(full, 2000, 1000, 10, 10);
  assertEquals([r.allowed, r.count, r.remaining], [true, 10, 0]);
});

Deno.test("FETCH_OR_COMPUTE: compute, waiters get the hit, errors, hand-over on disconnect and timeout", async () => {
  await withServer(async (server) => {
    const a = await RawClient.connect(server.port);
    const b = await RawClient.connect(server.port);
    const d = await RawClient.connect(server.port);
    try {
      assertEquals(
        await a.call("FETCH_OR_COMPUTE", "page", "5000", "hint-a"),
        `*2\r\n${bulk("compute")}${bulk("hint-a")}`,
      );
      // Asking again while computing: it is still this client's job.
      assertEquals(
        await a.call("FETCH_OR_COMPUTE", "page", "5000"),
        `*2\r\n${bulk("compute")}$0\r\n\r\n`,
      );
      const waiting = b.call("FETCH_OR_COMPUTE", "page", "5000", "hint-b");
      await sleep(30);
      assertMatch(
        await d.call("CLIENT", "LIST"),
        /cmd=fetch_or_compute .*flags=b|flags=b.*cmd=fetch_or_compute/,
      );
      assertEquals(await a.call("FETCH_OR_COMPUTE_RESULT", "page", "<html>", "60000"), "+OK\r\n");
      assertEquals(await waiting, `*2\r\n${bulk("hit")}${bulk("<html>")}`);
      assertEquals(
        await d.call("FETCH_OR_COMPUTE", "page", "5000"),
        `*2\r\n${bulk("hit")}${bulk("<html>")}`,
      );
      assert(Number((await d.call("PTTL", "page")).slice(1)) > 59000);

      // A failed computation: the waiters get the error; the next caller computes.
      assertEquals(
        await a.call("FETCH_OR_COMPUTE", "q", "5000"),
        `*2\r\n${bulk("compute")}$0\r\n\r\n`,
      );
      const w1 = b.call("FETCH_OR_COMPUTE", "q", "5000");
      const w2 = d.call("FETCH_OR_COMPUTE", "q", "5000");
      await sleep(30);
      assertEquals(await a.call("FETCH_OR_COMPUTE_ERROR", "q", "database down"), "+OK\r\n");
      assertEquals(await w1, "-ERR compute failed: database down\r\n");
      assertEquals(await w2, "-ERR compute failed: database down\r\n");
      assertEquals(
        await b.call("FETCH_OR_COMPUTE", "q", "5000", "again"),
        `*2\r\n${bulk("compute")}${bulk("again")}`,
      );
      assertEquals(await a.call("FETCH_OR_COMPUTE_ERROR", "nothing", "x"), "+OK\r\n");

      // The computing client disconnects: the first waiter takes over (with its own hint).
      const owner = await RawClient.connect(server.port);
      assertEquals(
        await owner.call("FETCH_OR_COMPUTE", "r", "5000", "o"),
        `*2\r\n${bulk("compute")}${bulk("o")}`,
      );
      const next = a.call("FETCH_OR_COMPUTE", "r", "5000", "first");
      await sleep(20);
      const last = d.call("FETCH_OR_COMPUTE", "r", "5000", "second");
      await sleep(20);
      owner.close();
      assertEquals(await next, `*2\r\n${bulk("compute")}${bulk("first")}`);
      assertEquals(await a.call("FETCH_OR_COMPUTE_RESULT", "r", "v", "1000"), "+OK\r\n");
      assertEquals(await last, `*2\r\n${bulk("hit")}${bulk("v")}`);

      // The computing client takes too long: the lease passes to a waiter.
      assertEquals(await a.call("CONFIG", "SET", "fetch-or-compute-timeout-ms", "100"), "+OK\r\n");
      assertEquals(
        await a.call("FETCH_OR_COMPUTE", "s", "5000"),
        `*2\r\n${bulk("compute")}$0\r\n\r\n`,
      );
      const started = Date.now();
      assertEquals(
        await b.call("FETCH_OR_COMPUTE", "s", "5000", "b"),
        `*2\r\n${bulk("compute")}${bulk("b")}`,
      );
      assert(Date.now() - started >= 80, "handed over before the lease ended");
      // Nobody waiting when the lease ends: the next caller computes.
      await sleep(150);
      assertEquals(
        await d.call("FETCH_OR_COMPUTE", "s", "5000", "d"),
        `*2\r\n${bulk("compute")}${bulk("d")}`,
      );
      // A late result is still stored.
      assertEquals(await a.call("FETCH_OR_COMPUTE_RESULT", "s", "late", "1000"), "+OK\r\n");
      assertEquals(
        await b.call("FETCH_OR_COMPUTE", "s", "5000"),
        `*2\r\n${bulk("hit")}${bulk("late")}`,
      );

      // Inside MULTI a client cannot wait for someone else's computation.
      assertEquals(
        await a.call("CONFIG", "SET", "fetch-or-compute-timeout-ms", "30000"),
        "+OK\r\n",
      );
      assertEquals(
        await a.call("FETCH_OR_COMPUTE", "t", "5000"),
        `*2\r\n${bulk("compute")}$0\r\n\r\n`,
      );
      await b.call("MULTI");
      await b.call("FETCH_OR_COMPUTE", "t", "5000");
      await b.call("FETCH_OR_COMPUTE", "page", "5000");
      assertEquals(
        await b.call("EXEC"),
        `*2\r\n-ERR FETCH_OR_COMPUTE cannot wait for another client's computation inside a transaction\r\n*2\r\n${
          bulk("hit")
        }${bulk("<html>")}`,
      );
      // CLIENT UNBLOCK releases a waiter with a null reply.
      const id = (await b.call("CLIENT", "ID")).slice(1, -2);
      const unblocked = b.call("FETCH_OR_COMPUTE", "t", "5000");
      await sleep(20);
      assertEquals(await d.call("CLIENT", "UNBLOCK", id), ":1\r\n");
      assertEquals(await unblocked, "$-1\r\n");
      // Errors.
      await d.call("RPUSH", "l", "x");
      assertEquals(
        await d.call("FETCH_OR_COMPUTE", "l", "10"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      assertEquals(
        await d.call("FETCH_OR_COMPUTE", "k", "0"),
        "-ERR invalid expire time in 'fetch_or_compute' command\r\n",
      );
      assertEquals(await d.call("FETCH_OR_COMPUTE", "k", "1", "h", "x"), "-ERR syntax error\r\n");
      assertEquals(
        await d.call("FETCH_OR_COMPUTE_RESULT", "k", "v", "0"),
        "-ERR invalid expire time in 'fetch_or_compute_result' command\r\n",
      );
      assertEquals(
        await d.call("CONFIG", "SET", "fetch-or-compute-timeout-ms", "0"),
        "-ERR CONFIG SET failed (possibly related to argument 'fetch-or-compute-timeout-ms') - argument must be between 1 and 2147483647 inclusive\r\n",
      );
    } finally {
      a.close();
      b.close();
      d.close();
    }
  });
});

Deno.test("racing real clients: exactly one lock owner per round", async () => {
  await withServer(async (server) => {
    const clients = await ioredis(server, 16);
    try {
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          clients.map((c, i) =>
            c.call("LOCK", "race:lock", `owner-${i}`, "10000").then(
              () => i,
              (e: Error) => e.message,
            )
          ),
        );
        const winners = results.filter((r) => typeof r === "number") as number[];
        assertEquals(winners.length, 1, JSON.stringify(results));
        for (const r of results) {
          if (typeof r === "string") assertEquals(r, "DISTLOCK lock is held by another owner");
        }
        const w = winners[0];
        assertEquals(await clients[(w + 1) % 16].get("race:lock"), `owner-${w}`);
        assertEquals(await clients[w].call("UNLOCK", "race:lock", `owner-${w}`), 1);
      }
    } finally {
      quit(clients);
    }
  });
});

Deno.test("racing real clients: a rate limit allows exactly max", async () => {
  await withServer(async (server) => {
    const clients = await ioredis(server, 8);
    try {
      const per = 25;
      const results = await Promise.all(clients.map(async (c) => {
        // Each client pipelines its requests, so they interleave with the other clients'.
        const p = c.pipeline();
        for (let i = 0; i < per; i++) p.call("RATELIMIT.ADD", "race:rl", "60000", "77");
        return (await p.exec())!.map(([err, r]) => {
          assertEquals(err, null);
          return (r as [string, number, number, number])[0];
        });
      }));
      const all = results.flat();
      assertEquals(all.length, 8 * per);
      assertEquals(all.filter((s) => s === "allowed").length, 77);
      assertEquals(all.filter((s) => s === "denied").length, 8 * per - 77);
    } finally {
      quit(clients);
    }
  });
});

Deno.test("racing real clients: CAS increments are never lost", async () => {
  await withServer(async (server) => {
    const clients = await ioredis(server, 8);
    try {
      await clients[0].set("race:n", "0");
      const each = 15;
      await Promise.all(clients.map(async (c) => {
        for (let done = 0; done < each;) {
          const cur = await c.get("race:n");
          if (await c.call("CAS", "race:n", cur!, String(Number(cur) + 1)) === 1) done++;
        }
      }));
      assertEquals(await clients[0].get("race:n"), String(8 * each));
    } finally {
      quit(clients);
    }
  });
});

Deno.test("racing real clients: a stampede computes exactly once", async () => {
  await withServer(async (server) => {
    const clients = await ioredis(server, 12);
    try {
      for (const outcome of ["result", "error"] as const) {
        const key = `race:${outcome}`;
        let computed = 0;
        const results = await Promise.all(clients.map(async (c, i) => {
          try {
            const r = await c.call("FETCH_OR_COMPUTE", key, "60000", `h${i}`) as [string, string];
            if (r[0] !== "compute") return r;
            computed++;
            await sleep(50); // the expensive computation
            if (outcome === "result") {
              await c.call("FETCH_OR_COMPUTE_RESULT", key, `value-from-${i}`, "60000");
            } else {
              await c.call("FETCH_OR_COMPUTE_ERROR", key, "upstream timeout");
            }
            return ["computed", String(i)];
          } catch (e) {
            return ["error", (e as Error).message];
          }
        }));
        assertEquals(computed, 1, JSON.stringify(results));
        const winner = results.find((r) => r[0] === "computed")![1];
        const others = results.filter((r) => r[0] !== "computed");
        assertEquals(others.length, 11);
        for (const r of others) {
          assertEquals(
            r,
            outcome === "result"
              ? ["hit", `value-from-${winner}`]
              : ["error", "ERR compute failed: upstream timeout"],
          );
        }
      }
    } finally {
      quit(clients);
    }
  });
});

/** Starts a server in a child process with the native plugins registered. */
async function spawnServer(
  dir: string,
  data: string,
): Promise<{ port: number; kill(): Promise<void> }> {
  const launcher = `${dir}/launcher.ts`;
  await Deno.writeTextFile(
    launcher,
    `import { Config } from "${ROOT}server/config.ts";
import { Server } from "${ROOT}server/server.ts";
import { registerNativePlugins } from "${ROOT}plugins/native/mod.ts";
const config = new Config();
for (const [name, value] of Config.parseArgs(Deno.args).pairs) config.set(name, value, "cli");
const server = new Server(config);
registerNativePlugins(server);
await server.listen();
await server.open();
await server.closed;
`,
  );
  const port = freePort();
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      launcher,
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--http-port",
      "-1",
      "--data-dir",
      data,
      "--loglevel",
      "warning",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return {
    port,
    async kill() {
      proc.kill("SIGKILL");
      await proc.status;
    },
  };
}

Deno.test("native writes are fdatasynced before their reply in an async namespace; plain writes wait", async () => {
  await withServer(async (server) => {
    const c = await RawClient.connect(server.port);
    const synced = (key: string) => {
      const e = server.keyspace.dbs[0].peek(key)!;
      const shard = server.engine!.shards[server.keyspace.shardOf(key)];
      return shard.isSynced(e.locSegment, e.locOffset + e.strLen);
    };
    try {
      assertEquals(
        await c.call(
          "FERRICSTORE.CONFIG",
          "SET",
          "ns",
          "durability",
          "async",
          "window_ms",
          "10000",
        ),
        "+OK\r\n",
      );
      assertEquals(await c.call("SET", "ns:plain", "v"), "+OK\r\n");
      await sleep(20);
      assert(!synced("ns:plain"), "an async write is fdatasynced only when its window ends");
      await c.call("SET", "ns:cas", "a");
      assertEquals(await c.call("CAS", "ns:cas", "a", "b"), ":1\r\n");
      assert(synced("ns:cas"));
      assertEquals(await c.call("LOCK", "ns:lock", "me", "600000"), "+OK\r\n");
      assert(synced("ns:lock"));
      assertMatch(await c.call("RATELIMIT.ADD", "ns:rl", "600000", "10", "4"), /allowed/);
      assert(synced("ns:rl"));
      assertEquals(await c.call("FETCH_OR_COMPUTE_RESULT", "ns:page", "html", "600000"), "+OK\r\n");
      assert(synced("ns:page"));
      assertEquals(await c.call("SET", "ns:plain2", "v"), "+OK\r\n");
      assert(!synced("ns:plain2"));
    } finally {
      c.close();
    }
  });
});

Deno.test("native writes in an async namespace survive SIGKILL", async () => {
  const dir = await tempDir("ferric-native-");
  const data = `${dir}/data`;
  try {
    let child = await spawnServer(dir, data);
    let c = await RawClient.connect(child.port);
    assertEquals(
      await c.call("FERRICSTORE.CONFIG", "SET", "ns", "durability", "async", "window_ms", "10000"),
      "+OK\r\n",
    );
    assertEquals(await c.call("SET", "ns:cas", "a"), "+OK\r\n");
    assertEquals(await c.call("CAS", "ns:cas", "a", "b"), ":1\r\n");
    assertEquals(await c.call("LOCK", "ns:lock", "me", "600000"), "+OK\r\n");
    assertEquals(await c.call("LOCK", "ns:gone", "me", "600000"), "+OK\r\n");
    assertEquals(await c.call("UNLOCK", "ns:gone", "me"), ":1\r\n");
    assertMatch(await c.call("RATELIMIT.ADD", "ns:rl", "600000", "10", "4"), /allowed/);
    assertEquals(await c.call("FETCH_OR_COMPUTE_RESULT", "ns:page", "html", "600000"), "+OK\r\n");
    c.close();
    await child.kill();

    child = await spawnServer(dir, data);
    c = await RawClient.connect(child.port);
    try {
      assertEquals(await c.call("GET", "ns:cas"), bulk("b"));
      assertEquals(await c.call("GET", "ns:lock"), bulk("me"));
      assertEquals(await c.call("EXISTS", "ns:gone"), ":0\r\n");
      assertMatch(
        await c.call("RATELIMIT.ADD", "ns:rl", "600000", "10", "0"),
        /^\*4\r\n\$7\r\nallowed\r\n:4\r\n:6\r\n/,
      );
      assertEquals(await c.call("GET", "ns:page"), bulk("html"));
    } finally {
      c.close();
      await child.kill();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
