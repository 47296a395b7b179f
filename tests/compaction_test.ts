import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  concat,
  encodeCommand,
  keyInShard,
  RawClient,
  spawnFerric,
  startFerric,
} from "./_harness.ts";
import { listLogFiles } from "../engine/log/recovery.ts";
import { tempDir } from "./_temp_dir.ts";

/** Starts a server on `dir` again, runs `check` with a client, then stops it and removes `dir`. */
async function afterRestart(
  dir: string,
  options: Record<string, string | number>,
  check: (r: RawClient) => Promise<void>,
): Promise<void> {
  const server = await startFerric({ ...options, "data-dir": dir });
  const r = await RawClient.connect(server.port);
  try {
    await check(r);
  } finally {
    r.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function logBytes(dir: string, shard = 0): Promise<number> {
  return (await listLogFiles(`${dir}/shard_${shard}`)).reduce((n, f) => n + f.size, 0);
}

Deno.test("compaction: FERRICSTORE.COMPACT shrinks the log to the live data, which survives restart", async () => {
  const dir = await tempDir("ferric-compaction-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 1, "log-segment-size": 65536 });
  let c = await RawClient.connect(server.port);
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 200; i++) {
      await c.call("SET", `key${i}`, `round${round}-${"v".repeat(100)}`);
    }
  }
  for (let i = 100; i < 200; i++) await c.call("DEL", `key${i}`).catch(() => "");
  await c.call("SET", "ttl", "x", "PX", "1");
  await new Promise((r) => setTimeout(r, 5));
  const before = await logBytes(dir);
  assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
  assertMatch(await c.call("FERRICSTORE.COMPACT", "7"), /^-ERR invalid shard index/);
  const after = await logBytes(dir);
  assert(after < before / 5, `log went from ${before} to ${after} bytes`);
  const files = await listLogFiles(`${dir}/shard_0`);
  assert(files[0].snapshot, "the first file after compaction is the snapshot");
  // No removed log file is kept open (its disk space would not be freed until the next write).
  const open: string[] = [];
  for (const fd of Deno.readDirSync("/proc/self/fd")) {
    const target = (() => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${fd.name}`);
      } catch {
        return "";
      }
    })();
    if (target.startsWith(dir) && target.endsWith("(deleted)")) open.push(target);
  }
  assertEquals(open, []);
  await c.call("SET", "after", "compaction");
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  c = await RawClient.connect(server.port);
  try {
    const del = await c.call("DEL", "nothing");
    const hasDel = !del.startsWith("-ERR unknown");
    for (let i = 0; i < 200; i++) {
      const expected = i < 100 || !hasDel ? `round9-${"v".repeat(100)}` : null;
      const got = await c.call("GET", `key${i}`);
      assertEquals(
        got,
        expected === null ? "$-1\r\n" : `$${expected.length}\r\n${expected}\r\n`,
        `key${i}`,
      );
    }
    assertEquals(await c.call("GET", "after"), "$10\r\ncompaction\r\n");
    assertEquals(await c.call("GET", "ttl"), "$-1\r\n");
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("compaction: runs by itself when dead bytes pass merge-dead-ratio", async () => {
  const dir = await tempDir("ferric-compaction-");
  const server = await startFerric({
    "data-dir": dir,
    "shard-count": 1,
    "merge-dead-ratio": "0.5",
    "merge-min-dead-bytes": "64kb",
    hz: 50,
  });
  const c = await RawClient.connect(server.port);
  try {
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) await c.call("SET", `k${i}`, "x".repeat(200));
    }
    const stats = server.engine!.shards[0].stats;
    const deadline = Date.now() + 10000;
    while (stats.lastMerge === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(stats.lastMerge > 0, "no compaction started");
    // 1000 writes of about 250 bytes were logged; compaction keeps the log well below that.
    assert(stats.bytes < 1000 * 250 / 2, `log still ${stats.bytes} bytes`);
    assertEquals(await c.call("GET", "k49"), `$200\r\n${"x".repeat(200)}\r\n`);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("compaction: runs by itself when the log grows by merge-growth-percentage", async () => {
  const dir = await tempDir("ferric-compaction-");
  const options = {
    "data-dir": dir,
    "shard-count": 1,
    // Off while the set is filled, so the first run starts after the last SADD.
    "merge-growth-percentage": 0,
    "merge-min-size": "64kb",
    "merge-min-dead-bytes": "1gb", // no dead-bytes trigger: only growth
    hz: 50,
  };
  const server = await startFerric(options);
  const c = await RawClient.connect(server.port);
  const stats = server.engine!.shards[0].stats;
  const waitForMerge = async (after: number) => {
    const deadline = Date.now() + 10000;
    while ((stats.lastMerge <= after || stats.merging) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return stats.lastMerge > after;
  };
  // Live element effects only (no dead bytes): about 100 bytes of log per SADD.
  let added = 0;
  const sadd = async (n: number) => {
    for (let i = 0; i < n; i++, added++) {
      await c.call("SADD", "s", `member-${added}-${"m".repeat(40)}`);
    }
  };
  try {
    await sadd(1000);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(stats.lastMerge, 0); // off
    assertEquals(await c.call("CONFIG", "SET", "merge-growth-percentage", "100"), "+OK\r\n");
    assert(await waitForMerge(0), `no compaction at ${stats.bytes} bytes`);
    const first = stats.lastMerge;
    const base = stats.baseBytes;
    assert(base > 0 && base === stats.bytes, `base ${base}, log ${stats.bytes}`);
    // Less than the base again: no second run.
    await sadd(100);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(stats.lastMerge, first);
    // Past twice the base: a second run.
    await sadd(Math.ceil(base / 80));
    assert(await waitForMerge(first), `no second compaction at ${stats.bytes} bytes`);
  } finally {
    c.close();
    await server.close();
  }
  await afterRestart(dir, options, async (r) => {
    assertEquals(await r.call("SCARD", "s"), `:${added}\r\n`);
  });
});

Deno.test("compaction: SIGKILL during compaction under concurrent writes loses no acknowledged write", async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await tempDir("ferric-compaction-");
    const server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
    const seed = await RawClient.connect(server.port);
    for (let i = 0; i < 3000; i++) {
      await seed.call("SET", `seed:${i}`, `value-${i}-${"s".repeat(64)}`);
    }
    const acked = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      const c = await RawClient.connect(server.port);
      try {
        for (let i = 0; !stop; i++) {
          const key = `w:${w}:${i % 500}`;
          const value = `${i}`;
          if ((await c.call("SET", key, value)) === "+OK\r\n") acked.set(key, value);
        }
      } catch {
        /* killed */
      } finally {
        c.close();
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const compacting = seed.call("FERRICSTORE.COMPACT").catch(() => "killed");
    await new Promise((r) => setTimeout(r, 20 + attempt * 40));
    await server.stop("SIGKILL");
    stop = true;
    await Promise.all(writers);
    await compacting;
    seed.close();
    const again = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
    const c = await RawClient.connect(again.port);
    try {
      for (let i = 0; i < 3000; i += 7) {
        const v = `value-${i}-${"s".repeat(64)}`;
        assertEquals(await c.call("GET", `seed:${i}`), `$${v.length}\r\n${v}\r\n`);
      }
      for (const [key, value] of acked) {
        assertEquals(await c.call("GET", key), `$${value.length}\r\n${value}\r\n`, key);
      }
    } finally {
      c.close();
      await again.stop();
    }
  }
});

Deno.test("compaction: keys added while it walks a growing table are all there after restart", async () => {
  const dir = await tempDir("ferric-compaction-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  // 30000 keys fill a table of 32768 buckets; the 30000 added during the walk make it resize
  // (and rehash step by step) while the cursor is part way through.
  const n = 30000;
  const mset = async (from: number) => {
    for (let i = from; i < from + n; i += 500) {
      const pairs = Array.from({ length: 500 }, (_, j) => [`k${i + j}`, `v${i + j}`]).flat();
      assertEquals(await c.call("MSET", ...pairs), "+OK\r\n");
    }
  };
  await mset(0);
  const d = await RawClient.connect(server.port);
  const compacting = d.call("FERRICSTORE.COMPACT");
  await mset(n);
  assertEquals(await compacting, "+OK\r\n");
  d.close();
  c.close();
  await server.close();
  await afterRestart(dir, { "shard-count": 1 }, async (r) => {
    assertEquals(await r.call("DBSIZE"), `:${2 * n}\r\n`);
    for (let i = 0; i < 2 * n; i += 997) {
      assertEquals(await r.call("GET", `k${i}`), `$${`v${i}`.length}\r\nv${i}\r\n`);
    }
  });
});

Deno.test("compaction: big collections written while they are encoded in steps come back exact", async () => {
  const dir = await tempDir("ferric-compaction-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  // Each collection takes several steps of 16384 parts to encode.
  const n = 40000;
  for (let i = 0; i < n; i += 1000) {
    const ids = Array.from({ length: 1000 }, (_, j) => String(i + j));
    await c.call("SADD", "s", ...ids.map((x) => `m${x}`));
    await c.call("HSET", "h", ...ids.flatMap((x) => [`f${x}`, `v${x}`]));
    await c.call("ZADD", "z", ...ids.flatMap((x) => [x, `m${x}`]));
    await c.call("RPUSH", "l", ...ids.map((x) => `e${x}`));
  }
  // A longer list, so that its encoding takes many steps and the writes below land in them.
  for (let i = 0; i < 2 * n; i += 1000) {
    await c.call("RPUSH", "l", ...Array.from({ length: 1000 }, (_, j) => `x${i + j}`));
  }
  const d = await RawClient.connect(server.port);
  let compacted = false;
  const compacting = d.call("FERRICSTORE.COMPACT").then((r) => (compacted = true, r));
  // Writes to every collection until the compaction is done, so some land between the steps of
  // an encoding (which then goes on from a copy) and some after it.
  for (let i = 0; !compacted && i < 2000; i++) {
    await c.call("SADD", "s", `new${i}`);
    await c.call("SREM", "s", `m${i}`);
    await c.call("HSET", "h", `f${i}`, `changed${i}`);
    await c.call("HDEL", "h", `f${n - 1 - i}`);
    await c.call("ZADD", "z", String(-i), `m${n - 1 - i}`);
    await c.call("LPOP", "l");
    await c.call("RPUSH", "l", `late${i}`);
    await c.call("LSET", "l", "5", `set${i}`); // an element replaced in place
  }
  assertEquals(await compacting, "+OK\r\n");
  d.close();
  const probes = [["SMEMBERS", "s"], ["HGETALL", "h"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], [
    "LRANGE",
    "l",
    "0",
    "-1",
  ]];
  const contents = async (r: RawClient) => {
    const out: string[] = [];
    for (const p of probes) out.push(await r.call(...p));
    // SMEMBERS of a hashtable set has no fixed order across a restart: compare sorted.
    out[0] = out[0].split("\r\n").sort().join("\n");
    return out;
  };
  const before = await contents(c);
  c.close();
  await server.close();
  await afterRestart(dir, { "shard-count": 1 }, async (r) => {
    assertEquals(await contents(r), before);
  });
});

Deno.test("compaction: keys deleted while it runs stay deleted after restart", async () => {
  const dir = await tempDir("ferric-compaction-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  const n = 20000;
  for (let i = 0; i < n; i += 100) {
    const keys = Array.from({ length: 100 }, (_, j) => [`k${i + j}`, "v"]).flat();
    await c.call("MSET", ...keys);
  }
  // The compaction visits the keys a few hundred at a time; the deletes land in between.
  const d = await RawClient.connect(server.port);
  const compacting = d.call("FERRICSTORE.COMPACT");
  await new Promise((r) => setTimeout(r, 10)); // the compaction's walk has begun
  // One pipeline of single-key deletes, read back whole.
  await c.write(
    concat(Array.from({ length: n / 2 }, (_, i) => encodeCommand(["DEL", `k${n / 2 + i}`]))),
  );
  let replies = "";
  while (replies.length < (n / 2) * 4) replies += await c.read();
  assertEquals(replies, ":1\r\n".repeat(n / 2));
  assertEquals(await compacting, "+OK\r\n");
  d.close();
  assertEquals(await c.call("DBSIZE"), `:${n / 2}\r\n`);
  c.close();
  await server.close();
  await afterRestart(dir, { "shard-count": 1 }, async (r) => {
    assertEquals(await r.call("DBSIZE"), `:${n / 2}\r\n`);
  });
});

Deno.test("compaction: a write that spanned shards survives compacting one of them", async () => {
  const dir = await tempDir("ferric-compaction-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  // Keys on both shards, written by one command (one batch, a part in each shard's log).
  const keys = Array.from({ length: 20 }, (_, i) => `key${i}`);
  assert(new Set(keys.map((k) => server.keyspace.shardOf(k))).size === 2);
  await c.call("MSET", ...keys.flatMap((k) => [k, `v-${k}`]));
  await c.call("SET", "a", "hello");
  await c.call("RENAME", "a", "key0-renamed");
  assertEquals(await c.call("FERRICSTORE.COMPACT", "1"), "+OK\r\n");
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const r = await RawClient.connect(server.port);
  try {
    for (const k of keys) assertEquals(await r.call("GET", k), `$${k.length + 2}\r\nv-${k}\r\n`, k);
    assertEquals(await r.call("GET", "key0-renamed"), "$5\r\nhello\r\n");
    // And after compacting the other shard too, and another restart.
    assertEquals(await r.call("FERRICSTORE.COMPACT", "0"), "+OK\r\n");
  } finally {
    r.close();
    await server.close();
  }
  server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const r2 = await RawClient.connect(server.port);
  try {
    assertEquals(await r2.call("DBSIZE"), ":21\r\n");
  } finally {
    r2.close();
    await server.close();
  }
});

Deno.test("compaction: FERRICSTORE.COMPACT stopped by FLUSHALL answers an error, not OK", async () => {
  const server = await startFerric({ "shard-count": 1, "enable-debug-command": "yes" });
  const c = await RawClient.connect(server.port);
  const d = await RawClient.connect(server.port);
  try {
    // Enough keys that the compaction's walk, which yields between steps, is still going when
    // FLUSHALL comes (with 50 000 it sometimes ended first on a loaded machine).
    assertEquals(await c.call("DEBUG", "POPULATE", "300000"), "+OK\r\n");
    const compacting = d.call("FERRICSTORE.COMPACT");
    // FLUSHALL once the walk has written part of the snapshot (a fixed sleep was too long on a
    // loaded machine). A flush before the walk begins stops nothing: the walk finds the new,
    // empty tables, and the compaction completes correctly.
    const dir = server.engine!.shards[0].dir;
    const written = () => {
      for (const f of Deno.readDirSync(dir)) {
        if (f.name.endsWith(".tmp") && Deno.statSync(`${dir}/${f.name}`).size > 1_000_000) {
          return true;
        }
      }
      return false;
    };
    const deadline = Date.now() + 20000;
    while (!written()) {
      assert(Date.now() < deadline, "the snapshot file never passed 1 MB");
      await new Promise((r) => setTimeout(r, 0));
    }
    assertEquals(await c.call("FLUSHALL"), "+OK\r\n");
    assertEquals(
      await compacting,
      "-ERR shard 0: compaction stopped: aborted by FLUSHDB/FLUSHALL/SWAPDB\r\n",
    );
    // A compaction after it completes.
    assertEquals(await d.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    assertEquals(await c.call("DBSIZE"), ":0\r\n");
  } finally {
    c.close();
    d.close();
    await server.close();
  }
});

Deno.test("compaction: other shards' async records are on disk before a snapshot that may hold their batches' effects", async () => {
  const server = await startFerric({ "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(
      await c.call("FERRICSTORE.CONFIG", "SET", "lazy", "durability", "async", "window_ms", "5000"),
      "+OK\r\n",
    );
    const ks = server.keyspace;
    // An async batch across both shards: a power loss must not keep one half.
    assertEquals(
      await c.call(
        "MSET",
        keyInShard(server, "lazy:", 0),
        "1",
        keyInShard(server, "lazy:", 1),
        "1",
      ),
      "+OK\r\n",
    );
    const log = ks.log as unknown as { shards: { synced: boolean }[] };
    assertEquals(log.shards[1].synced, false);
    assertEquals(await c.call("FERRICSTORE.COMPACT", "0"), "+OK\r\n");
    assertEquals(log.shards.map((s) => s.synced), [true, true]);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("compaction: a snapshot whose first record (its batch horizon) decayed still holds its batches whole", async () => {
  const dir = await tempDir("ferric-compaction-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  const keys = Array.from({ length: 20 }, (_, i) => `key${i}`);
  await c.call("MSET", ...keys.flatMap((k) => [k, `v-${k}`])); // one batch, a part in each shard
  assertEquals(await c.call("FERRICSTORE.COMPACT", "1"), "+OK\r\n");
  c.close();
  await server.close();
  const [snap] = (await listLogFiles(`${dir}/shard_1`)).filter((f) => f.snapshot);
  const bytes = await Deno.readFile(snap.path);
  bytes[35] ^= 0x01; // in the horizon, the payload of the first record: its CRC fails
  await Deno.writeFile(snap.path, bytes);
  server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const r = await RawClient.connect(server.port);
  try {
    for (const k of keys) assertEquals(await r.call("GET", k), `$${k.length + 2}\r\nv-${k}\r\n`, k);
  } finally {
    r.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
