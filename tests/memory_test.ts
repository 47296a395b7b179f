import { assert, assertEquals } from "./_assert.ts";
import { concat, encodeCommand, RawClient, startFerric } from "./_harness.ts";
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

Deno.test("maxmemory: async durability: a pipelined burst 20x maxmemory is never refused", async () => {
  // Values wait for their write to the log until the event loop's turn ends and for their
  // fdatasync until the commit window does: a value is in the file, and may go cold, once
  // written, and eviction writes what is pending when it has nothing else to drop.
  const maxmemory = 512 * 1024;
  const server = await startFerric({
    maxmemory,
    "maxmemory-policy": "allkeys-lru",
    durability: "async",
    "commit-window-ms": 1000,
  });
  const c = await RawClient.connect(server.port);
  const n = 640, size = 16384;
  const valueOf = (i: number) => `${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26)));
  try {
    const requests: Uint8Array[] = [];
    for (let i = 0; i < n; i++) requests.push(encodeCommand(["SET", `k${i}`, valueOf(i)]));
    // And strings grown by APPEND: picked by eviction, each is written whole once, then cold.
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 4; k++) {
        requests.push(encodeCommand(["APPEND", `a${i}`, "x".repeat(4096)]));
      }
    }
    await c.write(concat(requests));
    for (let i = 0; i < n; i++) assertEquals(await c.read(), "+OK\r\n", `SET k${i}`);
    for (let i = 0; i < n; i++) {
      for (let k = 1; k <= 4; k++) assertEquals(await c.read(), `:${k * 4096}\r\n`, `APPEND a${i}`);
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    for (let i = 0; i < n; i += 7) {
      assertEquals(await c.call("GET", `k${i}`), `$${size}\r\n${valueOf(i)}\r\n`, `GET k${i}`);
      assertEquals(await c.call("STRLEN", `a${i}`), ":16384\r\n", `STRLEN a${i}`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

/** Values of 16 KB built by four APPENDs of 4 KB (logged as what was appended, while allowed). */
const CHUNK = 4096, CHUNKS = 4;
const appended = (i: number) => `${i}:`.padEnd(CHUNK * CHUNKS, String.fromCharCode(97 + (i % 26)));

/** Builds values 0 to n-1 at keys k0 … by APPENDs, checking each reply. */
async function appendValues(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const v = appended(i);
    for (let k = 0; k < CHUNKS; k++) {
      assertEquals(
        await c.call("APPEND", `k${i}`, v.slice(k * CHUNK, (k + 1) * CHUNK)),
        `:${(k + 1) * CHUNK}\r\n`,
        `APPEND k${i}`,
      );
    }
  }
}

/** Reads every 7th of the values back whole. */
async function checkValues(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i += 7) {
    assertEquals(
      await c.call("GET", `k${i}`),
      `$${CHUNK * CHUNKS}\r\n${appended(i)}\r\n`,
      `GET k${i}`,
    );
  }
}

Deno.test("maxmemory: strings built by APPEND go cold too; writes 20x maxmemory are never refused", async () => {
  const maxmemory = 512 * 1024;
  const server = await startFerric({ maxmemory, "maxmemory-policy": "allkeys-lru" });
  const c = await RawClient.connect(server.port);
  const n = 640;
  try {
    await appendValues(c, n);
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    await checkValues(c, n);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("maxmemory: strings built by APPEND before maxmemory was set go cold too (CONFIG SET, restart)", async () => {
  const maxmemory = 512 * 1024;
  const n = 320;
  /** Writes as much again in new keys: never refused, and the limit holds. */
  const writeMore = async (c: RawClient, server: Server) => {
    for (let i = 0; i < n; i++) {
      assertEquals(await c.call("SET", `more${i}`, appended(i)), "+OK\r\n", `SET more${i}`);
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    await checkValues(c, n);
  };
  // At run time.
  let server = await startFerric({ "maxmemory-policy": "allkeys-lru" });
  let c = await RawClient.connect(server.port);
  try {
    await appendValues(c, n);
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
    await appendValues(c, n);
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
