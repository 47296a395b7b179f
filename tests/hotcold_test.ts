import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

function valueOf(i: number, size: number): string {
  const base = `value-${i}-`;
  return base + String.fromCharCode(97 + (i % 26)).repeat(size - base.length);
}

Deno.test("hot/cold: a data set 5x maxmemory stays fully readable, byte for byte", async () => {
  const dir = await tempDir("ferric-hotcold-");
  const maxmemory = 1024 * 1024;
  let server = await startFerric({
    "data-dir": dir,
    maxmemory,
    "maxmemory-policy": "allkeys-lru",
  });
  let c = await RawClient.connect(server.port);
  const n = 500, size = 10 * 1024; // 5 MB of values
  try {
    for (let i = 0; i < n; i++) {
      assertEquals(await c.call("SET", `k${i}`, valueOf(i, size)), "+OK\r\n");
    }
    await new Promise((r) => setTimeout(r, 300)); // the cron cools what the last writes added
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    assert(server.keyspace.stats.evicted > 0, "nothing was made cold");
    let cold = 0;
    for (let i = 0; i < n; i++) {
      if ((await c.call("FERRICSTORE.KEY_INFO", `k${i}`)).includes("cold")) cold++;
    }
    assert(cold > n / 2, `only ${cold} of ${n} values are cold`);
    for (let i = 0; i < n; i++) {
      const v = valueOf(i, size);
      assertEquals(await c.call("GET", `k${i}`), `$${v.length}\r\n${v}\r\n`, `k${i}`);
    }
    assert(server.keyspace.coldReads > 0 && server.keyspace.hotReads > 0);
  } finally {
    c.close();
    await server.close();
  }
  // After a restart the values beyond maxmemory load cold.
  server = await startFerric({ "data-dir": dir, maxmemory, "maxmemory-policy": "allkeys-lru" });
  c = await RawClient.connect(server.port);
  try {
    assert(server.memory.used() <= maxmemory * 1.2, `${server.memory.used()} bytes after restart`);
    for (let i = 0; i < n; i += 3) {
      const v = valueOf(i, size);
      assertEquals(await c.call("GET", `k${i}`), `$${v.length}\r\n${v}\r\n`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("hot/cold: noeviction refuses writes over maxmemory with Redis's OOM; reads work", async () => {
  const server = await startFerric({ maxmemory: "200kb", "maxmemory-policy": "noeviction" });
  const c = await RawClient.connect(server.port);
  try {
    let oom = "";
    for (let i = 0; i < 100 && !oom; i++) {
      const r = await c.call("SET", `k${i}`, "x".repeat(10000));
      if (r.startsWith("-")) oom = r;
    }
    assertEquals(oom, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    assertEquals(await c.call("GET", "k0"), `$10000\r\n${"x".repeat(10000)}\r\n`);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("hot/cold: values over hot-cache-max-value-size go cold and stream back from the log", async () => {
  const server = await startFerric({
    "hot-cache-max-value-size": "64kb",
    "sendfile-threshold": "64kb",
  });
  const c = await RawClient.connect(server.port);
  try {
    const big = "0123456789abcdef".repeat(65536); // 1 MiB
    assertEquals(await c.call("SET", "big", big), "+OK\r\n");
    assertEquals(await c.call("SET", "small", "tiny"), "+OK\r\n");
    await new Promise((r) => setTimeout(r, 200));
    assertMatch(await c.call("FERRICSTORE.KEY_INFO", "big"), /cold/);
    assertMatch(await c.call("FERRICSTORE.KEY_INFO", "small"), /hot/);
    const before = server.memory.used();
    assert(before < big.length, `${before} bytes held with a 1 MiB value cold`);
    for (let i = 0; i < 3; i++) {
      assertEquals(await c.call("GET", "big"), `$${big.length}\r\n${big}\r\n`);
    }
    // Pipelined with other commands, the streamed reply keeps its place.
    await c.write(
      "*2\r\n$3\r\nGET\r\n$5\r\nsmall\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n*1\r\n$4\r\nPING\r\n",
    );
    assertEquals(await c.read(), "$4\r\ntiny\r\n");
    assertEquals(await c.read(), `$${big.length}\r\n${big}\r\n`);
    assertEquals(await c.read(), "+PONG\r\n");
    assert(server.memory.used() < big.length, "streaming kept the value out of memory");
    const info = await c.call("FERRICSTORE.KEY_INFO", "big");
    assertMatch(info, /value_size\r\n:1048576/);
    assertMatch(info, /file\r\n\$9\r\n00001\.log/);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("hot/cold: a large value deleted, overwritten or flushed before it is on disk is not counted twice", async () => {
  const server = await startFerric({ durability: "async", "commit-window-ms": 50 });
  const c = await RawClient.connect(server.port);
  try {
    const big = "x".repeat(100_000); // over hot-cache-max-value-size: goes cold once written
    for (const end of [["DEL", "b"], ["SET", "b", "small"], ["FLUSHALL"]]) {
      assertEquals(await c.call("SET", "b", big), "+OK\r\n");
      await c.call(...end);
      await c.call("DEL", "b");
      await new Promise((r) => setTimeout(r, 300)); // the async write lands; queued values cool
      const used = server.memory.used();
      assert(used >= 0 && used < 10_000, `used_memory ${used} after SET; ${end.join(" ")}`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("hot/cold: cold values stay readable when their TTL changes during a compaction, and removed files are closed", async () => {
  const server = await startFerric({ "shard-count": 1, "hot-cache-max-value-size": "1kb" });
  const c = await RawClient.connect(server.port);
  const d = await RawClient.connect(server.port);
  const value = (i: number) => `${i}-`.padEnd(4000, "x");
  const deletedOpen = () =>
    [...Deno.readDirSync("/proc/self/fd")].filter((f) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${f.name}`).endsWith(" (deleted)");
      } catch {
        return false;
      }
    }).length;
  try {
    const n = 2000;
    for (let i = 0; i < n; i++) await c.call("SET", `big${i}`, value(i));
    assertEquals(await c.call("GET", "big0"), `$4000\r\n${value(0)}\r\n`); // opens the segment
    const compacting = d.call("FERRICSTORE.COMPACT");
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < n; i += 7) await c.call("EXPIRE", `big${i}`, "100000");
    assertEquals(await compacting, "+OK\r\n");
    for (let i = 0; i < n; i += 7) {
      assertEquals(await c.call("GET", `big${i}`), `$4000\r\n${value(i)}\r\n`, `big${i}`);
    }
    assertEquals(deletedOpen(), 0, "handles of files compaction removed are closed");
  } finally {
    c.close();
    d.close();
    await server.close();
  }
});

Deno.test("hot/cold: a cold value in EXEC's reply, under CLIENT REPLY OFF, and with pushes arriving while it streams", async () => {
  const server = await startFerric({ "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  const publisher = await RawClient.connect(server.port);
  const openFiles = () => [...Deno.readDirSync("/proc/self/fd")].length;
  try {
    const big = "0123456789abcdef".repeat(4 * 65536); // 4 MiB: over the 64kb defaults, streams
    assertEquals(await c.call("SET", "big", big), "+OK\r\n");
    await new Promise((r) => setTimeout(r, 200));
    assertMatch(await c.call("FERRICSTORE.KEY_INFO", "big"), /cold/);
    // Inside EXEC the value is part of an array: it is read into memory, the connection stays.
    assertEquals(await c.call("MULTI"), "+OK\r\n");
    assertEquals(await c.call("GET", "big"), "+QUEUED\r\n");
    assertEquals(await c.call("EXEC"), `*1\r\n$${big.length}\r\n${big}\r\n`);
    assertEquals(await c.call("PING"), "+PONG\r\n");
    // Silenced replies close the file they would have streamed from.
    const files = openFiles();
    await c.write("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n");
    for (let i = 0; i < 20; i++) await c.write("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    assertEquals(await c.call("CLIENT", "REPLY", "ON"), "+OK\r\n");
    assert(openFiles() <= files + 2, `${openFiles() - files} files left open`);
    // RESP3 pushes published while the value streams come after it, never inside it.
    assertMatch(await c.call("HELLO", "3"), /^%/);
    assertMatch(await c.call("SUBSCRIBE", "ch"), /^>3/);
    let publishing = true;
    const published = (async () => {
      let n = 0;
      while (publishing) {
        await publisher.call("PUBLISH", "ch", `m${n++}`);
      }
      return n;
    })();
    for (let i = 0; i < 3; i++) {
      await c.write("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
      let reply = (await c.read())!;
      while (reply.startsWith(">")) reply = (await c.read())!;
      assertEquals(reply.length, big.length + `$${big.length}\r\n\r\n`.length);
      assert(reply === `$${big.length}\r\n${big}\r\n`, "the streamed value was cut into");
    }
    publishing = false;
    assert((await published) > 0);
  } finally {
    c.close();
    publisher.close();
    await server.close();
  }
});

Deno.test("memory: used_memory after a restart is what it was before (collections replayed from effects)", async () => {
  const dir = await tempDir("ferric-mem-");
  try {
    let server = await startFerric({ "data-dir": dir });
    const c = await RawClient.connect(server.port);
    await c.call("RPUSH", "L", "a", "b", "c");
    await c.call("LPOP", "L");
    await c.call("HSET", "H", "f", "v", "g", "w");
    await c.call("SADD", "S", "x", "y");
    await c.call("ZADD", "Z", "1", "m");
    await c.call("SET", "k", "value");
    const before = server.keyspace.usedBytes;
    c.close();
    await server.close();
    server = await startFerric({ "data-dir": dir });
    try {
      assertEquals(server.keyspace.usedBytes, before);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
