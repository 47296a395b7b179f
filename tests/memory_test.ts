import { assert, assertEquals } from "./_assert.ts";
import { concat, encodeCommand, logDataBytes, RawClient, startFerric } from "./_harness.ts";
import type { Server } from "../server/server.ts";
import { tempDir } from "./_temp_dir.ts";

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

Deno.test("maxmemory: a value goes cold only once its record is in the file, whatever segments a batch spans", async () => {
  // A transaction whose records span several segments, written when the event loop's turn
  // ends: eviction right after it writes them in order, and reads find every value.
  const server = await startFerric({
    maxmemory: 6000,
    "maxmemory-policy": "allkeys-lru",
    "shard-count": 1,
    "log-segment-size": 4096,
  });
  const c = await RawClient.connect(server.port);
  const size = 2500;
  const v = (i: number) => `${i}:`.padEnd(size, String.fromCharCode(97 + i));
  try {
    assertEquals(await c.call("MULTI"), "+OK\r\n");
    for (let i = 0; i < 6; i++) assertEquals(await c.call("SET", `k${i}`, v(i)), "+QUEUED\r\n");
    const requests = [encodeCommand(["EXEC"]), encodeCommand(["SET", "x", "1"])];
    for (let i = 0; i < 6; i++) requests.push(encodeCommand(["GET", `k${i}`]));
    await c.write(concat(requests));
    await c.read();
    // Only the first segment's records can be written at once (a later one's file is opened
    // after the earlier one's fdatasync): the SET may be refused for now, never a value lost.
    const set = (await c.read())!;
    assert(set === "+OK\r\n" || set.startsWith("-OOM"), set);
    for (let i = 0; i < 6; i++) {
      assertEquals(await c.read(), `$${size}\r\n${v(i)}\r\n`, `GET k${i}`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("maxmemory: after a failed log write, eviction leaves strings grown by APPEND alone (MISCONF, not a dropped connection)", async () => {
  const server = await startFerric({
    "shard-count": 1,
    maxmemory: 45000,
    "maxmemory-policy": "allkeys-lru",
  });
  const c = await RawClient.connect(server.port);
  try {
    for (let i = 0; i < 20; i++) await c.call("APPEND", "a", "y".repeat(2000));
    // Break the log as a failing disk would: its next write fails.
    (server.engine!.shards[0] as unknown as { file: Deno.FsFile }).file.close();
    await c.call("SET", "b", "z".repeat(6000)).catch(() => "");
    const d = await RawClient.connect(server.port);
    try {
      const reply = await d.call("SET", "c", "3");
      assert(reply.startsWith("-MISCONF") || reply.startsWith("-OOM"), reply);
      assertEquals(await d.call("STRLEN", "a"), ":40000\r\n");
    } finally {
      d.close();
    }
  } finally {
    c.close();
    await server.close().catch(() => {});
  }
});

Deno.test("hot-cache-max-value-size: a large string built by APPENDs logs what they add, and goes cold once they stop", async () => {
  const server = await startFerric({ "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  const chunk = "y".repeat(4096), count = 100; // 400 KB, past the 64 KB limit
  try {
    await c.write(
      concat(Array.from({ length: count }, () => encodeCommand(["APPEND", "big", chunk]))),
    );
    for (let i = 1; i <= count; i++) assertEquals(await c.read(), `:${i * 4096}\r\n`);
    // Logged whole each time, its 100 versions would take 20 MB.
    const dir = server.config.str("data-dir");
    let logBytes = 0;
    for (const f of Deno.readDirSync(`${dir}/shard_0`)) {
      logBytes += logDataBytes(`${dir}/shard_0/${f.name}`);
    }
    assert(logBytes < 2_000_000, `${logBytes} log bytes for a string of ${count * 4096}`);
    // Written whole and made cold about a second after the appends stop.
    assertEquals(await statusBecomes(c, "big", "hot"), "hot");
    assertEquals(await statusBecomes(c, "big", "cold"), "cold");
    assertEquals(await c.call("GET", "big"), `$${count * 4096}\r\n${chunk.repeat(count)}\r\n`);
  } finally {
    c.close();
    await server.close();
  }
});

/** A key's hot_cache_status (FERRICSTORE.KEY_INFO), polled until `want` or 5 s. */
async function statusBecomes(c: RawClient, key: string, want: string): Promise<string> {
  const status = async () => {
    const info = await c.call("FERRICSTORE.KEY_INFO", key);
    return /hot_cache_status\r\n\$\d+\r\n(\w+)/.exec(info)![1];
  };
  const deadline = Date.now() + 5000;
  let now = await status();
  while (now !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = await status();
  }
  return now;
}

Deno.test("maxmemory noeviction: a large string built by APPENDs past maxmemory is never refused (it goes cold as it grows)", async () => {
  // Small segments: the value written whole often lands in a new segment, whose file opens
  // only after the last one's fdatasync.
  const server = await startFerric({
    "shard-count": 1,
    maxmemory: 300_000,
    "log-segment-size": 1024 * 1024,
  });
  const c = await RawClient.connect(server.port);
  try {
    for (let i = 1; i <= 200; i++) {
      assertEquals(await c.call("APPEND", "big", "y".repeat(4096)), `:${i * 4096}\r\n`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("hot-cache-max-value-size: a large value whose put a later record of its transaction superseded goes cold", async () => {
  const server = await startFerric({ "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  const value = "v".repeat(500_000);
  try {
    await c.call("MULTI");
    await c.call("SET", "a", value);
    await c.call("EXPIRE", "a", "10000");
    await c.call("EXEC");
    assertEquals(await statusBecomes(c, "a", "cold"), "cold");
    assertEquals(await c.call("GET", "a"), `$${value.length}\r\n${value}\r\n`);
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
  const dir = await tempDir("ferric-memory-");
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

Deno.test("maxmemory: values picked while their records wait for space being zero-filled go cold once written; writes are not refused", async () => {
  // A slow disk: each piece of a segment's space ahead takes 50 ms to fill (the log's own writes
  // do not seek), and writes that reach it wait. The strings built by APPEND are written whole
  // when picked, into that space.
  const seek = Deno.FsFile.prototype.seek;
  Deno.FsFile.prototype.seek = async function (this: Deno.FsFile, offset, whence) {
    await new Promise((r) => setTimeout(r, 50));
    return await seek.call(this, offset, whence);
  };
  const maxmemory = 512 * 1024;
  const n = 320;
  const server = await startFerric({ "maxmemory-policy": "allkeys-lru" });
  const c = await RawClient.connect(server.port);
  try {
    await appendValues(c, n);
    assertEquals(await c.call("CONFIG", "SET", "maxmemory", String(maxmemory)), "+OK\r\n");
    for (let i = 0; i < n; i++) {
      assertEquals(await c.call("SET", `more${i}`, appended(i)), "+OK\r\n", `SET more${i}`);
    }
    assert(server.memory.used() <= maxmemory * 1.1, `${server.memory.used()} bytes held`);
    await checkValues(c, n);
  } finally {
    Deno.FsFile.prototype.seek = seek;
    c.close();
    await server.close();
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
