import { Buffer } from "node:buffer";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  concat as concatBytes,
  encodeCommand,
  keyInShard,
  logDataBytes,
  RawClient,
  spawnFerric,
  startFerric,
} from "./_harness.ts";
import {
  crc32,
  HEADER_SIZE,
  readRecord,
  recordSize,
  RecordType,
  writeRecord,
} from "../engine/log/record.ts";
import { listLogFiles } from "../engine/log/recovery.ts";
import { tempDir } from "./_temp_dir.ts";

Deno.test("record: type codes never change (they are on disk)", () => {
  assertEquals(RecordType, {
    PutString: 1,
    Delete: 2,
    Expire: 3,
    PutValue: 4,
    Op: 5,
    FlushDb: 6,
    SwapDb: 7,
    BatchBegin: 8,
    BatchEnd: 9,
    SnapshotInfo: 10,
    AppendString: 11,
    BatchAbort: 12,
  });
});

Deno.test("record: round trip, and every kind of corruption is detected", () => {
  const key = "user:\u00ff\u0000binary";
  const payload = Buffer.from([0, 1, 2, 255, 13, 10]);
  const buf = Buffer.alloc(recordSize(key.length, payload.length));
  const end = writeRecord(buf, 0, RecordType.PutString, 3, 1234.0, key, payload, 99);
  assertEquals(end, buf.length);
  const r = readRecord(buf, 0);
  assert(typeof r !== "string");
  assertEquals([r.type, r.db, r.expireAt, r.key, r.lsn], [1, 3, 1234, key, 99]);
  assertEquals([...r.payload], [...payload]);
  // Short: any prefix of the record.
  for (let n = 0; n < buf.length; n++) assertEquals(readRecord(buf.subarray(0, n), 0), "short");
  // Bad CRC: any flipped bit after the CRC field.
  for (let i = 4; i < buf.length; i++) {
    const copy = Buffer.from(buf);
    copy[i] ^= 0x10;
    const res = readRecord(copy, 0);
    assert(res === "crc" || res === "short", `byte ${i}: ${JSON.stringify(res)}`);
  }
  // Unknown type with a valid CRC.
  const odd = Buffer.from(buf);
  odd[4] = 200;
  odd.writeUInt32LE(crc32(odd, 4, odd.length), 0);
  assertEquals(readRecord(odd, 0), "type");
  // An empty value is not a tombstone.
  const empty = Buffer.alloc(recordSize(1, 0));
  writeRecord(empty, 0, RecordType.PutString, 0, 0, "k", new Uint8Array(0), 0);
  const e = readRecord(empty, 0);
  assert(typeof e !== "string" && e.type === RecordType.PutString && e.payload.length === 0);
  assertEquals(HEADER_SIZE, 32);
});

/** Every log segment file of a data directory. */
function segmentPaths(dir: string): string[] {
  const out: string[] = [];
  for (const shard of Deno.readDirSync(dir)) {
    if (!shard.isDirectory) continue;
    for (const f of Deno.readDirSync(`${dir}/${shard.name}`)) {
      if (f.name.endsWith(".log")) out.push(`${dir}/${shard.name}/${f.name}`);
    }
  }
  return out;
}

Deno.test("durability: every acknowledged write survives SIGKILL in the middle of writes", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  const acked = new Map<string, string>();
  const counters = new Map<string, number>();
  let stop = false;
  const writer = async (w: number) => {
    const c = await RawClient.connect(server.port);
    try {
      for (let i = 0; !stop && i < 5000; i++) {
        const key = `k:${w}:${i}`;
        const value = `v${i}-${"x".repeat(i % 50)}`;
        const r = await c.call("SET", key, value);
        if (r === "+OK\r\n") acked.set(key, value);
        const n = await c.call("INCR", `counter:${w}`);
        if (n.startsWith(":")) counters.set(`counter:${w}`, Number(n.slice(1)));
      }
    } catch {
      /* the kill cuts connections */
    } finally {
      c.close();
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  await new Promise((r) => setTimeout(r, 700));
  await server.stop("SIGKILL");
  stop = true;
  await Promise.all(writers);
  assert(acked.size > 100, `only ${acked.size} writes acknowledged before the kill`);
  // The kill left zero-filled space after the data (engine/log/zero_fill.ts): recovery trims it.
  const zeroTail = (p: string) => Deno.statSync(p).size - logDataBytes(p);
  assert(segmentPaths(dir).some((p) => zeroTail(p) > 1024 * 1024), "no preallocated space");

  const again = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  const c = await RawClient.connect(again.port);
  try {
    for (const p of segmentPaths(dir)) assert(zeroTail(p) < 8, `${p}: not trimmed`);
    assert(!/warning \[recovery\]/.test(again.output()), again.output());
    for (const [key, value] of acked) {
      assertEquals(await c.call("GET", key), `$${value.length}\r\n${value}\r\n`, key);
    }
    for (const [key, n] of counters) {
      const got = Number((await c.call("GET", key)).split("\r\n")[1]);
      // The INCR after the last acknowledged one may have reached the disk unacknowledged.
      assert(got === n || got === n + 1, `${key}: acknowledged ${n}, recovered ${got}`);
    }
  } finally {
    c.close();
    await again.stop();
  }
});

Deno.test("durability: after a power loss that takes every page not fdatasynced, the commit journal brings back every acknowledged write", async () => {
  const server = await startFerric({ "shard-count": 2 });
  const dir = server.config.str("data-dir");
  const copy = await tempDir("ferric-powerloss-");
  const acked = new Map<string, string>();
  try {
    // Unpipelined clients side by side: their writes reach both shards in the same turns, whose
    // commits are journaled (one fdatasync, of the journal) instead of fdatasyncing the shards.
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      const c = await RawClient.connect(server.port);
      try {
        for (let i = 0; i < 150; i++) {
          const key = `k:${w}:${i}`, value = `v${i}-${"y".repeat(i % 40)}`;
          assertEquals(await c.call("SET", key, value), "+OK\r\n");
          acked.set(key, value);
        }
        assertEquals(await c.call("MSET", `m:${w}:a`, "1", `m:${w}:b`, "2"), "+OK\r\n");
        acked.set(`m:${w}:a`, "1").set(`m:${w}:b`, "2");
      } finally {
        c.close();
      }
    }));
    const shards = server.engine!.shards as unknown as {
      stats: { journaled: number };
      file: Deno.FsFile | null;
      fileSegment: number;
      fileBytes: number;
      syncedSegment: number;
      syncedBytes: number;
    }[];
    assert(shards.every((s) => s.stats.journaled > 10), "commits were journaled");
    // The disk as a power loss leaves it: a copy with every byte past each open segment's last
    // fdatasync gone (zeros, as preallocated space reads).
    for (const e of Deno.readDirSync(dir)) {
      if (e.name === "LOCK") continue;
      if (e.isFile) Deno.copyFileSync(`${dir}/${e.name}`, `${copy}/${e.name}`);
      else {
        Deno.mkdirSync(`${copy}/${e.name}`);
        for (const f of Deno.readDirSync(`${dir}/${e.name}`)) {
          Deno.copyFileSync(`${dir}/${e.name}/${f.name}`, `${copy}/${e.name}/${f.name}`);
        }
      }
    }
    let lost = 0;
    shards.forEach((s, i) => {
      const from = s.syncedSegment === s.fileSegment ? s.syncedBytes : 0;
      const f = Deno.openSync(`${copy}/shard_${i}/${String(s.fileSegment).padStart(5, "0")}.log`, {
        write: true,
      });
      f.seekSync(from, Deno.SeekMode.Start);
      f.writeSync(new Uint8Array(s.fileBytes - from));
      f.close();
      lost += s.fileBytes - from;
    });
    assert(lost > 1000, `only ${lost} bytes were not fdatasynced`);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
  const again = await spawnFerric(["--data-dir", copy, "--loglevel", "warning"]);
  const c = await RawClient.connect(again.port);
  try {
    assertMatch(again.output(), /commit journal: wrote back \d+ bytes at offset \d+ of shard_0\//);
    assertEquals(await c.call("DBSIZE"), `:${acked.size}\r\n`);
    for (const [key, value] of acked) {
      assertEquals(await c.call("GET", key), `$${value.length}\r\n${value}\r\n`, key);
    }
  } finally {
    c.close();
    await again.stop();
  }
});

Deno.test("durability: values and members of every size come back byte for byte after SIGKILL", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  // Around the copy thresholds of start-up (shared slabs up to 256 bytes, a buffer of its own
  // above) and of the request path, with every byte value.
  const sizes = [0, 1, 31, 32, 255, 256, 257, 1024, 1025, 70000];
  let seed = 7;
  const bytes = (n: number) =>
    Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const enc = (s: string) => new TextEncoder().encode(s);
  const probes = ["LRANGE l 0 -1", "HGETALL h", "SMEMBERS s", "ZRANGE z 0 -1 WITHSCORES"];
  const snapshot = async (c: RawClient) => {
    const out: string[] = [];
    for (const n of sizes) out.push(await c.call("GET", `s${n}`));
    for (const p of probes) out.push(await c.call(...p.split(" ")));
    return out;
  };
  let c = await RawClient.connect(server.port);
  let before: string[];
  try {
    for (const [i, n] of sizes.entries()) {
      assertEquals(await c.call(enc("SET"), enc(`s${n}`), bytes(n)), "+OK\r\n");
      await c.call(enc("RPUSH"), enc("l"), bytes(n), bytes(n));
      await c.call(enc("HSET"), enc("h"), bytes(n), bytes(n));
      await c.call(enc("SADD"), enc("s"), bytes(n));
      await c.call(enc("ZADD"), enc("z"), enc(String(i)), bytes(n));
    }
    before = await snapshot(c);
  } finally {
    c.close();
  }
  await server.stop("SIGKILL");
  server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  c = await RawClient.connect(server.port);
  try {
    assertEquals(await snapshot(c), before);
  } finally {
    c.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("durability: strings grown by APPEND come back byte for byte after SIGKILL", async () => {
  const dir = await tempDir("ferric-durability-");
  // A small hot-value limit, so that one string outgrows it and is logged whole from there.
  const flags = ["--data-dir", dir, "--loglevel", "warning", "--hot-cache-max-value-size", "2kb"];
  let server = await spawnFerric(flags);
  let seed = 11;
  const bytes = (n: number) =>
    Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const enc = (s: string) => new TextEncoder().encode(s);
  const expected = new Map<string, number[]>();
  let c = await RawClient.connect(server.port);
  /** Pipelines APPENDs of `count` chunks of `size` random bytes to `key`, and remembers them. */
  const appendMany = async (key: string, count: number, size: number) => {
    const want = expected.get(key) ?? [];
    expected.set(key, want);
    const requests: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const chunk = bytes(size);
      want.push(...chunk);
      requests.push(encodeCommand([enc("APPEND"), enc(key), chunk]));
    }
    await c.write(concatBytes(requests));
    for (let i = 0; i < count; i++) assertMatch((await c.read())!, /^:\d+\r\n$/);
  };
  // Replies are read as windows-1252 text (what TextDecoder calls latin1): one char per byte.
  const text = (b: number[]) => new TextDecoder("latin1").decode(Uint8Array.from(b));
  const check = async () => {
    for (const [key, want] of expected) {
      assertEquals(await c.call("GET", key), `$${want.length}\r\n${text(want)}\r\n`, key);
    }
  };
  try {
    await appendMany("small", 1500, 1); // stays hot: logged as what was appended
    await appendMany("big", 300, 20); // passes 2kb: logged whole from there
    await appendMany("copied", 3, 5);
    assertEquals(await c.call("COPY", "copied", "copy"), ":1\r\n");
    expected.set("copy", [...expected.get("copied")!]);
    await appendMany("copied", 2, 3);
    await appendMany("copy", 2, 3);
    await c.write(concatBytes([
      encodeCommand(["MULTI"]),
      encodeCommand([enc("APPEND"), enc("multi"), enc("one")]),
      encodeCommand([enc("APPEND"), enc("multi"), enc("two")]),
      encodeCommand(["EXEC"]),
    ]));
    for (let i = 0; i < 4; i++) await c.read();
    expected.set("multi", [...enc("onetwo")]);
    assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    await appendMany("small", 100, 2);
    await appendMany("compacted", 50, 4);
    await check();
  } finally {
    c.close();
  }
  await server.stop("SIGKILL");
  server = await spawnFerric(flags);
  c = await RawClient.connect(server.port);
  try {
    await check();
    // And once more after a restart that replayed them.
    await appendMany("small", 10, 1);
    await check();
  } finally {
    c.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const maxmemory of [null, "100mb"]) {
  Deno.test(`durability: a string built by many small APPENDs keeps a log in proportion to it${maxmemory ? " (maxmemory set)" : ""}`, async () => {
    const dir = await tempDir("ferric-durability-");
    const limit = maxmemory ? ["--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru"] : [];
    const server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning", ...limit]);
    const c = await RawClient.connect(server.port);
    try {
      const count = 4000;
      await c.write(
        concatBytes(
          Array.from({ length: count }, () => encodeCommand(["APPEND", "s", "0123456789"])),
        ),
      );
      for (let i = 0; i < count; i++) await c.read();
      assertEquals(await c.call("STRLEN", "s"), `:${count * 10}\r\n`);
      let logBytes = 0;
      for (const shard of Deno.readDirSync(dir)) {
        if (!shard.isDirectory) continue;
        for (const f of Deno.readDirSync(`${dir}/${shard.name}`)) {
          logBytes += logDataBytes(`${dir}/${shard.name}/${f.name}`);
        }
      }
      // Logged whole each time, the value's 4000 versions would take 80 MB.
      assert(logBytes < 1_000_000, `${logBytes} log bytes for a string of ${count * 10}`);
    } finally {
      c.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("durability: async namespace acknowledges at once; what survives a kill is correct", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  const c = await RawClient.connect(server.port);
  assertEquals(
    await c.call("FERRICSTORE.CONFIG", "SET", "cache", "durability", "async", "window_ms", "50"),
    "+OK\r\n",
  );
  for (let i = 0; i < 2000; i++) await c.call("SET", `cache:${i}`, `value-${i}`);
  await c.call("SET", "durable", "yes"); // a sync write after them flushes its own shard
  c.close();
  await server.stop("SIGKILL");
  const again = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  const d = await RawClient.connect(again.port);
  try {
    assertEquals(await d.call("GET", "durable"), "$3\r\nyes\r\n");
    for (let i = 0; i < 2000; i++) {
      const r = await d.call("GET", `cache:${i}`);
      assert(r === "$-1\r\n" || r === `$${`value-${i}`.length}\r\nvalue-${i}\r\n`, r);
    }
    const get = await d.call("FERRICSTORE.CONFIG", "GET", "cache");
    assertMatch(get, /durability\r\n\$5\r\nasync/);
    assertMatch(get, /window_ms\r\n:50/);
  } finally {
    d.close();
    await again.stop();
  }
});

Deno.test("durability: namespace settings survive restart; RESET restores defaults", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(server.port);
  assertEquals(await c.call("FERRICSTORE.CONFIG", "SET", "sess", "durability", "async"), "+OK\r\n");
  assertMatch(
    await c.call("FERRICSTORE.CONFIG", "SET", "sess", "durability", "maybe"),
    /^-ERR invalid durability/,
  );
  assertMatch(
    await c.call("FERRICSTORE.CONFIG", "SET", "sess", "colour", "red"),
    /^-ERR unknown field/,
  );
  assertMatch(
    await c.call("FERRICSTORE.CONFIG", "SET", "sess", "window_ms"),
    /^-ERR wrong number of arguments/,
  );
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir });
  c = await RawClient.connect(server.port);
  try {
    assertMatch(await c.call("FERRICSTORE.CONFIG", "GET", "sess"), /async/);
    assertMatch(await c.call("FERRICSTORE.CONFIG", "GET"), /^\*1\r\n/);
    assertEquals(await c.call("FERRICSTORE.CONFIG", "RESET", "sess"), "+OK\r\n");
    assertMatch(await c.call("FERRICSTORE.CONFIG", "GET", "sess"), /sync/);
    assertEquals(await c.call("FERRICSTORE.CONFIG", "GET"), "*0\r\n");
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("recovery: a torn tail is truncated with a log line; earlier writes are intact", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  let c = await RawClient.connect(server.port);
  for (let i = 0; i < 100; i++) await c.call("SET", `key${i}`, `value${i}`);
  c.close();
  await server.close();
  const [seg] = await listLogFiles(`${dir}/shard_0`);
  const size = seg.size;
  // A record cut short, as a crash in the middle of a write leaves it.
  const partial = Buffer.alloc(recordSize(4, 100));
  writeRecord(partial, 0, RecordType.PutString, 0, 0, "torn", new Uint8Array(100), Date.now());
  const f = await Deno.open(seg.path, { append: true });
  await f.write(partial.subarray(0, 50));
  f.close();
  const child = await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  const d = await RawClient.connect(child.port);
  assertEquals(await d.call("GET", "key99"), "$7\r\nvalue99\r\n");
  assertEquals(await d.call("GET", "torn"), "$-1\r\n");
  d.close();
  await child.stop();
  assertMatch(child.output(), new RegExp(`torn tail at offset ${size}, truncated 50 bytes`));
  assertEquals((await Deno.stat(seg.path)).size, size);
  // The bytes cut are kept beside the segment, not destroyed.
  assertEquals([...await Deno.readFile(`${seg.path}.torn-${size}`)], [...partial.subarray(0, 50)]);
  server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  c = await RawClient.connect(server.port);
  assertEquals(await c.call("GET", "key0"), "$6\r\nvalue0\r\n");
  c.close();
  await server.close();
});

Deno.test("recovery: zeros after the newest segment's data (preallocated space a crash left) are trimmed without a warning; in an older segment they are damage, kept", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 1, "log-segment-size": 4096 });
  let c = await RawClient.connect(server.port);
  for (let i = 0; i < 300; i++) await c.call("SET", `key${i}`, `value${i}`.padEnd(40, "."));
  c.close();
  await server.close();
  const files = await listLogFiles(`${dir}/shard_0`);
  assert(files.length > 3, `expected several segments, got ${files.length}`);
  const zeros = new Uint8Array(3 * 1024 * 1024);
  for (const f of [files[0], files.at(-1)!]) {
    const w = await Deno.open(f.path, { append: true });
    await w.write(zeros);
    w.close();
  }
  const child = await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  const d = await RawClient.connect(child.port);
  for (let i = 0; i < 300; i++) {
    const value = `value${i}`.padEnd(40, ".");
    assertEquals(await d.call("GET", `key${i}`), `$40\r\n${value}\r\n`);
  }
  d.close();
  await child.stop();
  const newest = files.at(-1)!, older = files[0];
  assertMatch(
    child.output(),
    new RegExp(
      `${newest.path}: trimmed ${zeros.length} bytes of preallocated space after offset ${newest.size}`,
    ),
  );
  assertEquals((await Deno.stat(newest.path)).size, newest.size);
  // A rotation cuts an older segment's preallocated space durably before the next one begins:
  // zeros there are records lost (reported, and the file is left as it is).
  const warnings = child.output().split("\n").filter((l) => /warning \[recovery\]/.test(l));
  assertEquals(warnings.length, 1, child.output());
  assertMatch(
    warnings[0],
    new RegExp(
      `${older.path}: ${zeros.length} bytes of zeros where records should be at offset ${older.size}`,
    ),
  );
  assertEquals((await Deno.stat(older.path)).size, older.size + zeros.length);

  // A record cut short before the zeros is a torn tail still, kept to the length it claims.
  const last = files.at(-1)!;
  const partial = Buffer.alloc(recordSize(4, 100));
  const value = new Uint8Array(100).fill(0x61);
  writeRecord(partial, 0, RecordType.PutString, 0, 0, "torn", value, Date.now());
  partial.fill(0, 50);
  const w = await Deno.open(last.path, { append: true });
  await w.write(partial.subarray(0, 50));
  await w.write(zeros);
  w.close();
  server = await startFerric({ "data-dir": dir, "shard-count": 1, "log-segment-size": 4096 });
  c = await RawClient.connect(server.port);
  assertEquals(await c.call("GET", "torn"), "$-1\r\n");
  assertEquals(await c.call("DBSIZE"), ":300\r\n");
  c.close();
  await server.close();
  assertEquals((await Deno.stat(last.path)).size, last.size);
  assertEquals([...await Deno.readFile(`${last.path}.torn-${last.size}`)], [...partial]);
});

Deno.test("recovery: corruption inside an older segment is reported and later records kept", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1, "log-segment-size": 4096 });
  const c = await RawClient.connect(server.port);
  for (let i = 0; i < 300; i++) await c.call("SET", `key${i}`, `value${i}`.padEnd(40, "."));
  c.close();
  await server.close();
  const files = await listLogFiles(`${dir}/shard_0`);
  assert(files.length > 3, `expected several segments, got ${files.length}`);
  const first = await Deno.readFile(files[0].path);
  first[100] ^= 0xff; // inside the second or third record
  await Deno.writeFile(files[0].path, first);
  const child = await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  const d = await RawClient.connect(child.port);
  let present = 0;
  for (let i = 0; i < 300; i++) if ((await d.call("GET", `key${i}`)) !== "$-1\r\n") present++;
  d.close();
  await child.stop();
  assertMatch(child.output(), /skipped \d+ corrupt bytes; later records kept/);
  assert(present >= 298, `only ${present} of 300 keys recovered`);
});

Deno.test("recovery: a string whose earlier record was lost to corruption keeps its last whole state", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1, "log-segment-size": 4096 });
  const c = await RawClient.connect(server.port);
  // Long enough that each APPEND is logged as what it appended (not the whole value again).
  const base = "b".repeat(300);
  await c.call("SET", "a", base);
  for (const chunk of ["-one", "-two", "-three"]) await c.call("APPEND", "a", chunk);
  // A lost SET of the same length: appends after it must not land on the value before it.
  await c.call("SET", "s", "A".repeat(300));
  await c.call("SET", "s", "B".repeat(300));
  for (const chunk of ["-c", "-d"]) await c.call("APPEND", "s", chunk);
  // Later records, so the damage is inside an older segment, not a torn tail.
  for (let i = 0; i < 200; i++) await c.call("SET", `key${i}`, `value${i}`.padEnd(40, "."));
  c.close();
  await server.close();
  // Damage the record of "-two", and the SET of "B"s.
  const files = await listLogFiles(`${dir}/shard_0`);
  const buf = Buffer.from(await Deno.readFile(files[0].path));
  const hits: number[] = [];
  for (let pos = 0; pos < buf.length;) {
    const r = readRecord(buf, pos);
    if (typeof r === "string") break;
    const text = r.payload.toString("latin1");
    if (r.type === RecordType.AppendString && text.endsWith("-two")) hits.push(pos);
    if (r.type === RecordType.PutString && text === "B".repeat(300)) hits.push(pos);
    pos += r.size;
  }
  assertEquals(hits.length, 2, "the records to damage are not in the first segment");
  for (const at of hits) buf[at + HEADER_SIZE + 10] ^= 0xff; // in their payloads
  await Deno.writeFile(files[0].path, buf);
  const child = await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  const d = await RawClient.connect(child.port);
  try {
    // Not base + "-one-three", nor "A"s + "-c-d": values that never existed.
    assertEquals(await d.call("GET", "a"), `$304\r\n${base}-one\r\n`);
    assertEquals(await d.call("GET", "s"), `$300\r\n${"A".repeat(300)}\r\n`);
    assertEquals(await d.call("GET", "key199"), `$40\r\n${"value199".padEnd(40, ".")}\r\n`);
  } finally {
    d.close();
    await child.stop();
  }
  assertMatch(child.output(), /appends to a string whose earlier record was lost/);
});

Deno.test("recovery: a batch whose end never reached the disk is dropped whole, and the next run's writes survive a crash", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  await c.call("SET", "before", "1");
  await c.call("MSET", "a", "1", "b", "2", "c", "3");
  c.close();
  await server.close();
  const [seg] = await listLogFiles(`${dir}/shard_0`);
  // Cut the BatchEnd record (the last 40 bytes: header + 8 byte batch id).
  await Deno.truncate(seg.path, seg.size - (HEADER_SIZE + 8));
  const again = await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  const d = await RawClient.connect(again.port);
  try {
    assertEquals(await d.call("GET", "before"), "$1\r\n1\r\n");
    for (const k of ["a", "b", "c"]) assertEquals(await d.call("GET", k), "$-1\r\n");
    // Writes of this run, acknowledged, then a crash: the dropped batch must not swallow them.
    for (let i = 0; i < 50; i++) assertEquals(await d.call("SET", `k${i}`, `v${i}`), "+OK\r\n");
  } finally {
    d.close();
    await again.stop("SIGKILL");
  }
  assertMatch(again.output(), /the batch begun at offset \d+ never ended .*: dropped/);
  const third = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const e = await RawClient.connect(third.port);
  try {
    for (let i = 0; i < 50; i++) {
      assertEquals(await e.call("GET", `k${i}`), `$${`v${i}`.length}\r\nv${i}\r\n`);
    }
    for (const k of ["a", "b", "c"]) assertEquals(await e.call("GET", k), "$-1\r\n");
  } finally {
    e.close();
    await third.close();
  }
});

Deno.test("data dir: a second server cannot open a directory in use", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir });
  try {
    const child = spawnFerric(["--data-dir", dir]);
    let message = "";
    try {
      await child;
    } catch (e) {
      message = (e as Error).message;
    }
    assertMatch(message, new RegExp(`data directory ${dir} is locked by pid ${Deno.pid}`));
    // Refused before it listens: it never says it is ready.
    assert(!/Ready to accept/.test(message), message);
  } finally {
    await server.close();
  }
});

Deno.test("data dir: restart with another shard count is refused with the count to use", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  await server.close();
  let message = "";
  try {
    await spawnFerric(["--data-dir", dir, "--shard-count", "4"]);
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /written with shard-count 2; start with --shard-count 2/);
  // Refused before it listens: it never says it is ready.
  assert(!/Ready to accept/.test(message), message);
});

Deno.test("data dir: a format-1 directory is upgraded; a newer format is refused", async () => {
  const dir = await tempDir("ferric-durability-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  await c.call("SET", "k", "v");
  c.close();
  await server.close();
  // As a server from before APPEND records wrote it: opened, it becomes format 3, which such a
  // server then refuses rather than reading those records as corruption.
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ format: 1, shardCount: 1 }));
  const again = await startFerric({ "data-dir": dir, "shard-count": 1 });
  const d = await RawClient.connect(again.port);
  assertEquals(await d.call("GET", "k"), "$1\r\nv\r\n");
  d.close();
  await again.close();
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/meta.json`)).format, 3);
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ format: 4, shardCount: 1 }));
  let message = "";
  try {
    await spawnFerric(["--data-dir", dir, "--shard-count", "1"]);
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /has data format 4; this server reads formats 1, 2, 3/);
});

Deno.test("group commit: many clients writing at once never stall (a lost flush would hang them)", async () => {
  const server = await startFerric();
  const clients = await Promise.all(
    Array.from({ length: 40 }, () => RawClient.connect(server.port)),
  );
  try {
    const started = Date.now();
    await Promise.all(clients.map(async (c, w) => {
      for (let i = 0; i < 150; i++) {
        // Pipelined pairs make commands run in promise callbacks of the same tick as flushes.
        await c.write(
          `*3\r\n$3\r\nSET\r\n$${
            `k${w}:${i}`.length
          }\r\nk${w}:${i}\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n`,
        );
        assertEquals(await c.read(10000), "+OK\r\n");
        assertMatch((await c.read(10000))!, /^:\d+\r\n$/);
      }
    }));
    assert(Date.now() - started < 60000);
    assertEquals(await clients[0].call("GET", "n"), "$4\r\n6000\r\n");
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

/** A shard log in a fresh directory, with one sync append made, and its barrier. */
async function logWithSyncAppend() {
  const { ShardLog } = await import("../engine/log/shard_log.ts");
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 1 << 30);
  const value = new Uint8Array([1]);
  log.append(RecordType.PutString, 0, 0, "a", value, 1, true, 0);
  const append = (key: string, lsn: number) =>
    log.append(RecordType.PutString, 0, 0, key, value, lsn, true, 0);
  return { log, dir, first: log.barrier()!, append };
}

/** "flushed" when `barrier` resolves within 3 s, else "lost". */
async function flushedOrLost(barrier: Promise<unknown>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    barrier.then(() => "flushed"),
    new Promise<string>((r) => timer = setTimeout(() => r("lost"), 3000)),
  ]);
  clearTimeout(timer);
  return outcome;
}

Deno.test("group commit: a sync append made as a flush ends is still flushed", async () => {
  const { log, dir, first, append } = await logWithSyncAppend();
  // Runs when the first flush resolves its waiters: after the flush loop's last look at its
  // queue and before the flush is marked finished, exactly where appends used to get lost.
  const second = first.then(() => {
    append("b", 2);
    return log.barrier();
  });
  await first;
  const barrier = await second;
  const outcome = await flushedOrLost(barrier ?? Promise.resolve());
  await log.close();
  await Deno.remove(dir, { recursive: true });
  assertEquals(outcome, "flushed");
});

Deno.test("group commit: a sync append made while a flush is writing is made durable too", async () => {
  const { log, dir, first, append } = await logWithSyncAppend();
  // The flush runs until it waits for its file; the append below lands in the pending bytes it
  // is about to write. Its fdatasync must cover it (or a later one must): with every client
  // waiting, no further append would come along to start one.
  const flushing = log.flush();
  append("b", 2);
  const second = log.barrier()!;
  const outcome = await flushedOrLost(Promise.all([first, second]));
  await flushing;
  await log.close();
  await Deno.remove(dir, { recursive: true });
  assertEquals(outcome, "flushed");
});

Deno.test("shard log: a write that fails rejects its waiters and later appends, and does not crash the process", async () => {
  const { ShardLog } = await import("../engine/log/shard_log.ts");
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 1 << 30);
  const value = new Uint8Array([1]);
  // Async appends are written by a background flush once per event-loop turn.
  log.append(RecordType.PutString, 0, 0, "a", value, 1, false, 1000);
  await log.flush();
  // The segment file goes away under the log (as a disk that fails would make writes fail).
  const internals = log as unknown as { file: Deno.FsFile };
  internals.file.close();
  log.append(RecordType.PutString, 0, 0, "b", value, 2, true, 0);
  const barrier = log.barrier()!;
  const failure = await barrier.then(() => null, (e: Error) => e);
  assert(failure instanceof Error && /log write failed/.test(failure.message), String(failure));
  let thrown: unknown = null;
  try {
    log.append(RecordType.PutString, 0, 0, "c", value, 3, false, 1000);
  } catch (e) {
    thrown = e;
  }
  assert(thrown instanceof Error && /log write failed/.test(thrown.message));
  // The background flushes' own promises were not left rejected without a handler (the test
  // sanitizer would fail this test).
  await new Promise((r) => setTimeout(r, 50));
  internals.file = null as unknown as Deno.FsFile;
  await Deno.remove(dir, { recursive: true });
});

Deno.test("recovery: a TTL lifted or moved before its deadline keeps the key; one that ran out does not", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  let c = await RawClient.connect(server.port);
  const script = [
    "SET s1 v PX 300",
    "PERSIST s1",
    "SET s2 v PX 300",
    "PEXPIRE s2 100000",
    "SET s3 v PX 300",
    "SET s3 w KEEPTTL",
    "PERSIST s3",
    "SET s4 v PX 300",
    "GETEX s4 PERSIST",
    "RPUSH l1 a b",
    "PEXPIRE l1 300",
    "PERSIST l1",
    "HSET h1 f v",
    "PEXPIRE h1 300",
    "PEXPIRE h1 100000",
    "SADD st1 m1 m2",
    "PEXPIRE st1 300",
    "PERSIST st1",
    "RPUSH l2 a b c",
    "PEXPIRE l2 300",
    "PERSIST l2",
    // Written to before its deadline, then left to expire: it must not come back.
    "RPUSH gone a",
    "PEXPIRE gone 300",
    "RPUSH gone b",
    "SET gone2 v PX 300",
    "APPEND gone2 w",
  ];
  for (const line of script) assert(!(await c.call(...line.split(" "))).startsWith("-"), line);
  await new Promise((r) => setTimeout(r, 400));
  const KEYS = ["s1", "s2", "s3", "s4", "l1", "h1", "st1", "l2", "gone", "gone2"];
  assertEquals(await c.call("RPUSH", "l2", "d"), ":4\r\n");
  const before = await keyStates(c, KEYS);
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  c = await RawClient.connect(server.port);
  try {
    assertEquals(await keyStates(c, KEYS), before);
    assertEquals(before, [
      "s1 +string -1 v",
      "s2 +string ttl v",
      "s3 +string -1 w",
      "s4 +string -1 v",
      "l1 +list -1 a,b",
      "h1 +hash ttl f,v",
      "st1 +set -1 m1,m2",
      "l2 +list -1 a,b,c,d",
      "gone +none -2 ",
      "gone2 +none -2 ",
    ]);
  } finally {
    c.close();
    await server.close();
  }
});

/** Each key as "key type ttl|-1|-2 values", values sorted for sets (raw RESP bulk strings). */
async function keyStates(c: RawClient, keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const k of keys) {
    const type = (await c.call("TYPE", k)).trim();
    const ttl = Number((await c.call("PTTL", k)).slice(1, -2));
    const read = {
      "+string": ["GET", k],
      "+list": ["LRANGE", k, "0", "-1"],
      "+hash": ["HGETALL", k],
      "+set": ["SMEMBERS", k],
    }[type];
    const raw = read ? await c.call(...read) : "";
    const values = [...raw.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]);
    if (type === "+set") values.sort();
    out.push(`${k} ${type} ${ttl > 0 ? "ttl" : ttl} ${values.join(",")}`);
  }
  return out;
}

Deno.test("durability: a batch with a sync write is acknowledged only when every shard's part is on disk", async () => {
  const server = await startFerric({ "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(
      await c.call("FERRICSTORE.CONFIG", "SET", "lazy", "durability", "async", "window_ms", "5000"),
      "+OK\r\n",
    );
    const ks = server.keyspace;
    const lazy = keyInShard(server, "lazy:", 0), durable = keyInShard(server, "durable", 1);
    const log = ks.log as unknown as { shards: { synced: boolean }[] };
    for (const script of [["MSET", lazy, "1", durable, "1"], ["MULTI"]]) {
      if (script[0] === "MULTI") {
        await c.call("MULTI");
        await c.call("SET", lazy, "2");
        await c.call("SET", durable, "2");
        assertEquals(await c.call("EXEC"), "*2\r\n+OK\r\n+OK\r\n");
      } else assertEquals(await c.call(...script), "+OK\r\n");
      // Recovery drops a batch with a part missing: the async part must be on disk as well, or
      // a power loss would take the acknowledged sync write with it.
      assertEquals(log.shards.map((s) => s.synced), [true, true]);
    }
    // Alone, an async write is acknowledged before its fdatasync.
    await c.call("SET", lazy, "3");
    assertEquals(log.shards[0].synced, false);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("durability: concurrent FERRICSTORE.CONFIG SET and RESET all succeed and the last one is saved", async () => {
  const dir = await tempDir("ferric-durability-");
  let server = await startFerric({ "data-dir": dir });
  const clients = await Promise.all(
    Array.from({ length: 8 }, () => RawClient.connect(server.port)),
  );
  const replies = await Promise.all(
    clients.flatMap((c, i) =>
      Array.from(
        { length: 10 },
        (_, round) =>
          round % 3 === 2
            ? c.call("FERRICSTORE.CONFIG", "RESET", `ns${i}`)
            : c.call("FERRICSTORE.CONFIG", "SET", `ns${i}`, "window_ms", String(round + 1)),
      )
    ),
  );
  assertEquals(replies.filter((r) => r !== "+OK\r\n"), []);
  assertEquals(
    await clients[0].call("FERRICSTORE.CONFIG", "SET", "last", "window_ms", "77"),
    "+OK\r\n",
  );
  const before = await clients[0].call("FERRICSTORE.CONFIG", "GET");
  for (const c of clients) c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir });
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("FERRICSTORE.CONFIG", "GET"), before);
    assertMatch(before, /last/);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("log failure: the writes it lost are not acknowledged; reads go on, writes and PING get MISCONF, a second signal closes", async () => {
  const server = await startFerric({ "shard-count": 1 });
  const c = await RawClient.connect(server.port);
  assertEquals(await c.call("SET", "a", "1"), "+OK\r\n");
  // Keys that expire after the failure: by a read (lazy) and by the cron (active).
  assertEquals(await c.call("SET", "lazy", "1", "PX", "150"), "+OK\r\n");
  assertEquals(await c.call("SET", "active", "1", "PX", "150"), "+OK\r\n");
  // The segment file goes away under the log (as a failing disk makes writes fail).
  const internals = server.engine!.shards[0] as unknown as { file: Deno.FsFile | null };
  internals.file!.close();
  await c.write(encodeCommand(["SET", "b", "2"]));
  // Never acknowledged: the connection is closed without a reply.
  assertEquals(await c.read().catch(() => null), null);
  c.close();
  const d = await RawClient.connect(server.port);
  try {
    assertEquals(await d.call("GET", "a"), "$1\r\n1\r\n");
    const misconf = /^-MISCONF Errors writing to the AOF file: \S/;
    assertMatch(await d.call("SET", "c", "3"), misconf);
    assertMatch(await d.call("PING"), misconf);
    assertEquals(await d.call("MULTI"), "+OK\r\n");
    assertMatch(await d.call("INCR", "a"), misconf);
    assertMatch(
      await d.call("EXEC"),
      /^-EXECABORT Transaction discarded because of previous errors/,
    );
    assertEquals(await d.call("MULTI"), "+OK\r\n");
    assertEquals(await d.call("GET", "a"), "+QUEUED\r\n");
    assertEquals(await d.call("EXEC"), "*1\r\n$1\r\n1\r\n");
    assertMatch(await d.call("INFO", "persistence"), /aof_last_write_status:err/);
    assertEquals(await d.call("GET", "a"), "$1\r\n1\r\n");
    // Expiry goes on without the log (its deadline is on disk): no crash, no dropped reply.
    await new Promise((r) => setTimeout(r, 400));
    assertEquals(await d.call("GET", "lazy"), "$-1\r\n");
    assertEquals(await d.call("EXISTS", "active"), ":0\r\n");
  } finally {
    d.close();
  }
  // The graceful shutdown cannot flush; the server keeps running until told again.
  const { shutdown, shutdownOnSignal } = await import("../server/shutdown.ts");
  assertEquals((await shutdown(server)).error, "failed");
  // It listens again (the same port, though the listener closed a moment ago).
  let e: RawClient | null = null;
  for (let i = 0; i < 100 && e === null; i++) {
    e = await RawClient.connect(server.port).catch(() => null);
    if (e === null) await new Promise((r) => setTimeout(r, 20));
  }
  assert(e !== null, "the server does not listen again");
  assertEquals(await e.call("GET", "a"), "$1\r\n1\r\n");
  e.close();
  assertEquals((await shutdownOnSignal(server, "SIGTERM")).closed, true);
  internals.file = null;
});
