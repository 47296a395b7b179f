import { assert, assertEquals } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";

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
