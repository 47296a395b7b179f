import { assert, assertEquals } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";
import type { Server } from "../server/server.ts";

Deno.test("maxmemory: writes 20x maxmemory are never refused while values can go cold", async () => {
  const maxmemory = 512 * 1024;
  const server = await startFerric({ maxmemory, "maxmemory-policy": "allkeys-lru" });
  const c = await RawClient.connect(server.port);
  const n = 640, size = 16384; // 10 MB of values
  const valueOf = (i: number) => `${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26)));
  try {
    for (let i = 0; i < n; i++) {
      assertEquals(await c.call("SET", `k${i}`, valueOf(i)), "+OK\r\n", `SET k${i}`);
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    for (let i = 0; i < n; i += 7) {
      assertEquals(await c.call("GET", `k${i}`), `$${size}\r\n${valueOf(i)}\r\n`, `GET k${i}`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("maxmemory: strings built by APPEND go cold too; writes 20x maxmemory are never refused", async () => {
  const maxmemory = 512 * 1024;
  const server = await startFerric({ maxmemory, "maxmemory-policy": "allkeys-lru" });
  const c = await RawClient.connect(server.port);
  // Each value is built by APPENDs (logged as what was appended, so at first in no one record).
  const n = 640, chunk = 4096, chunks = 4;
  const valueOf = (i: number) => `${i}:`.padEnd(chunk * chunks, String.fromCharCode(97 + (i % 26)));
  try {
    for (let i = 0; i < n; i++) {
      const v = valueOf(i);
      for (let k = 0; k < chunks; k++) {
        assertEquals(
          await c.call("APPEND", `k${i}`, v.slice(k * chunk, (k + 1) * chunk)),
          `:${(k + 1) * chunk}\r\n`,
          `APPEND k${i}`,
        );
      }
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    for (let i = 0; i < n; i += 7) {
      assertEquals(
        await c.call("GET", `k${i}`),
        `$${chunk * chunks}\r\n${valueOf(i)}\r\n`,
        `GET k${i}`,
      );
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("maxmemory: strings built by APPEND before maxmemory was set go cold too (CONFIG SET, restart)", async () => {
  const maxmemory = 512 * 1024;
  const n = 320, chunk = 4096, chunks = 4;
  const valueOf = (i: number) => `${i}:`.padEnd(chunk * chunks, String.fromCharCode(97 + (i % 26)));
  /** Builds every value by APPENDs while maxmemory is unset: logged as what was appended. */
  const build = async (c: RawClient) => {
    for (let i = 0; i < n; i++) {
      const v = valueOf(i);
      for (let k = 0; k < chunks; k++) {
        await c.call("APPEND", `k${i}`, v.slice(k * chunk, (k + 1) * chunk));
      }
    }
  };
  /** Writes as much again in new keys: never refused, and the limit holds. */
  const writeMore = async (c: RawClient, server: Server) => {
    for (let i = 0; i < n; i++) {
      assertEquals(await c.call("SET", `more${i}`, valueOf(i)), "+OK\r\n", `SET more${i}`);
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    for (let i = 0; i < n; i += 7) {
      assertEquals(
        await c.call("GET", `k${i}`),
        `$${chunk * chunks}\r\n${valueOf(i)}\r\n`,
        `GET k${i}`,
      );
    }
  };
  // At run time.
  let server = await startFerric({ "maxmemory-policy": "allkeys-lru" });
  let c = await RawClient.connect(server.port);
  try {
    await build(c);
    assertEquals(await c.call("CONFIG", "SET", "maxmemory", String(maxmemory)), "+OK\r\n");
    await writeMore(c, server);
  } finally {
    c.close();
    await server.close();
  }
  // After a restart with maxmemory, which replays the APPEND records.
  const dir = await Deno.makeTempDir({ prefix: "ferric-memory-" });
  server = await startFerric({ "data-dir": dir });
  c = await RawClient.connect(server.port);
  try {
    await build(c);
  } finally {
    c.close();
    await server.close();
  }
  server = await startFerric({ "data-dir": dir, maxmemory, "maxmemory-policy": "allkeys-lru" });
  c = await RawClient.connect(server.port);
  try {
    await writeMore(c, server);
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("maxmemory: after FLUSHALL/FLUSHDB the memory count stays true and the limit holds", async () => {
  const maxmemory = 512 * 1024;
  const server = await startFerric({ maxmemory, "maxmemory-policy": "allkeys-lru" });
  const c = await RawClient.connect(server.port);
  const size = 10_000, n = 200; // 2 MB a round: values go cold
  const value = "v".repeat(size);
  try {
    for (const flush of ["FLUSHALL", "FLUSHDB", "FLUSHALL"]) {
      for (let i = 0; i < n; i++) assertEquals(await c.call("SET", `k${i}`, value), "+OK\r\n");
      assert(server.keyspace.stats.evicted > 0, "nothing went cold");
      assertEquals(await c.call(flush), "+OK\r\n");
      // Entries the flush dropped must not be made cold (and their bytes subtracted) again.
      assertEquals(await c.call("SET", "probe", value), "+OK\r\n");
      const used = server.memory.used();
      assert(used >= size && used < 64 * 1024, `${used} bytes counted with one value stored`);
    }
    // The limit still holds: with noeviction, hot writes stop near maxmemory.
    assertEquals(await c.call("FLUSHALL"), "+OK\r\n");
    assertEquals(await c.call("CONFIG", "SET", "maxmemory-policy", "noeviction"), "+OK\r\n");
    let stored = 0;
    while (stored < 1000 && (await c.call("SET", `h${stored}`, value)) === "+OK\r\n") stored++;
    assert(stored * size <= maxmemory * 1.1, `${stored} values of ${size} bytes taken`);
  } finally {
    c.close();
    await server.close();
  }
});
