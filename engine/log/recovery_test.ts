import { Buffer } from "node:buffer";
import { assertEquals } from "../../tests/_assert.ts";
import { Keyspace } from "../keyspace.ts";
import { Logger } from "../../server/log.ts";
import { recover } from "./recovery.ts";
import { HEADER_SIZE, RecordFlags, recordSize, RecordType, writeRecord } from "./record.ts";
import { tempDir } from "../../tests/_temp_dir.ts";

/** One record to write: [type, db, key, payload, lsn, expireAt, flags]. */
type Rec = [number, number, string, Uint8Array | null, number, number?, number?];

function segment(records: Rec[]): Buffer {
  const size = records.reduce((n, [, , k, p]) => n + recordSize(k.length, p?.length ?? 0), 0);
  const buf = Buffer.alloc(size);
  let pos = 0;
  for (const [type, db, key, payload, lsn, expireAt, flags] of records) {
    pos = writeRecord(buf, pos, type, db, expireAt ?? 0, key, payload, lsn, flags);
  }
  return buf;
}

const v = (s: string) => new TextEncoder().encode(s);

function batchBegin(id: number, shards: number, lsn: number): Rec {
  const p = Buffer.alloc(10);
  p.writeDoubleLE(id, 0);
  p.writeUInt16LE(shards, 8);
  return [RecordType.BatchBegin, 0, "", p, lsn];
}

function batchEnd(id: number, lsn: number): Rec {
  const p = Buffer.alloc(8);
  p.writeDoubleLE(id, 0);
  return [RecordType.BatchEnd, 0, "", p, lsn];
}

/** Runs `test` with a fresh temporary directory, removed afterwards. */
async function inTempDir<T>(test: (dir: string) => Promise<T>): Promise<T> {
  const dir = await tempDir("recovery-test-");
  try {
    return await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Recovers one shard made of these files (`.log` or `.snap` names) into a fresh keyspace. */
async function recoverFiles(files: Record<string, Rec[]>): Promise<Keyspace> {
  return await inTempDir(async (dir) => {
    for (const [name, records] of Object.entries(files)) {
      await Deno.writeFile(`${dir}/${name}`, segment(records));
    }
    const ks = new Keyspace({ shardCount: 1, databases: 2 });
    await recover(ks, [dir], new Logger("nothing"));
    return ks;
  });
}

function contents(ks: Keyspace, db: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of ks.shards[0].tables[db].values()) {
    out[e.key] = new TextDecoder().decode(e.value as Uint8Array);
  }
  return out;
}

const { PutString, Delete, Expire, SwapDb, FlushDb } = RecordType;

Deno.test("recovery: later puts and deletes replace earlier records of their key", async () => {
  const ks = await recoverFiles({
    "00001.log": [
      [PutString, 0, "a", v("1"), 1],
      [PutString, 0, "b", v("1"), 2],
      [PutString, 0, "a", v("2"), 3],
      [Expire, 0, "b", null, 4, Date.now() + 60_000],
      [Delete, 0, "b", null, 5],
      [PutString, 1, "a", v("db1"), 6],
      [PutString, 0, "b", v("3"), 7],
      [PutString, 0, "a", v("4"), 8],
    ],
  });
  assertEquals(contents(ks, 0), { a: "4", b: "3" });
  assertEquals(contents(ks, 1), { a: "db1" });
  assertEquals(ks.shards[0].tables[0].get("b")!.expireAt, 0);
  assertEquals(ks.shards[0].tables[0].get("a")!.logBytes, recordSize(1, 1));
});

Deno.test("recovery: a put after SWAPDB does not replace the key moved by the swap", async () => {
  const swap = Buffer.alloc(4);
  swap.writeUInt16LE(0, 0);
  swap.writeUInt16LE(1, 2);
  const ks = await recoverFiles({
    "00001.log": [
      [PutString, 0, "k", v("before"), 1],
      [SwapDb, 0xffff, "", swap, 2],
      [PutString, 0, "k", v("after"), 3],
    ],
  });
  assertEquals(contents(ks, 0), { k: "after" });
  assertEquals(contents(ks, 1), { k: "before" });
});

Deno.test("recovery: a put inside an incomplete batch does not replace earlier records", async () => {
  const ks = await recoverFiles({
    "00001.log": [
      [PutString, 0, "k", v("kept"), 1],
      [PutString, 0, "j", v("old"), 2],
      batchBegin(7, 2, 3), // two shards take part, only this one logged its part
      [PutString, 0, "k", v("dropped"), 4],
      batchEnd(7, 5),
      batchBegin(8, 1, 6),
      [PutString, 0, "j", v("new"), 7],
      batchEnd(8, 8),
      batchBegin(9, 1, 9), // its end never reached the disk
      [Delete, 0, "j", null, 10],
    ],
  });
  assertEquals(contents(ks, 0), { k: "kept", j: "new" });
});

Deno.test("recovery: a snapshot's newer state wins over older segment records", async () => {
  const ks = await recoverFiles({
    "00002.snap": [[PutString, 0, "k", v("snap"), 50]],
    "00003.log": [
      [PutString, 0, "k", v("older"), 40],
      [PutString, 0, "x", v("x0"), 41],
      [PutString, 0, "z", v("z0"), 42],
      [FlushDb, 0, "", null, 45],
      [PutString, 0, "x", v("x1"), 46],
      [PutString, 0, "k", v("newer"), 60],
    ],
  });
  assertEquals(contents(ks, 0), { k: "newer", x: "x1" });
});

Deno.test("recovery: an effect on a key the snapshot no longer holds is skipped, not fatal", async () => {
  const { encodeEffect, encodeValue } = await import("../values/codec.ts");
  const { ListValue } = await import("../values/list.ts");
  const pop = encodeEffect("list", "lpop", [v("1")]);
  const ks = await recoverFiles({
    // The snapshot was written after L was deleted; the pop and the delete come after it.
    "00002.snap": [[PutString, 0, "k", v("kept"), 10]],
    // (In another segment than the delete, so the pre-pass does not see the pop superseded.)
    "00003.log": [[RecordType.Op, 0, "L", pop, 20]],
    "00004.log": [
      [Delete, 0, "L", null, 21],
      [RecordType.PutValue, 0, "M", encodeValue("list", new ListValue().encode()), 22],
      [RecordType.Op, 0, "M", encodeEffect("list", "rpush", [v("a")]), 23],
    ],
  });
  const table = ks.shards[0].tables[0];
  assertEquals(table.get("L"), undefined);
  assertEquals(new TextDecoder().decode(table.get("k")!.value as Uint8Array), "kept");
  assertEquals((table.get("M")!.value as InstanceType<typeof ListValue>).length, 1);
});

Deno.test("recovery: a Delete applies over a snapshot state stamped with its own sequence number", async () => {
  // A snapshot that wrote a key deleted while it ran carries the Delete's sequence number.
  const ks = await recoverFiles({
    "00002.snap": [[PutString, 0, "gone", v("stale"), 30], [PutString, 0, "k", v("v"), 10]],
    "00003.log": [[Delete, 0, "gone", null, 30]],
  });
  assertEquals(contents(ks, 0), { k: "v" });
});

Deno.test("recovery: a value in a batch that straddles a segment rotation is located in its own file", async () => {
  const ks = await recoverFiles({
    "00001.log": [batchBegin(7, 1, 1), [PutString, 0, "a", v("in-one"), 2]],
    "00002.log": [[PutString, 0, "b", v("in-two"), 3], batchEnd(7, 4)],
  });
  const table = ks.shards[0].tables[0];
  assertEquals(table.get("a")!.locSegment, 1);
  assertEquals(table.get("b")!.locSegment, 2);
});

Deno.test("recovery: a batch part whose sibling is in a later snapshot applies; one whose sibling is missing does not", async () => {
  /** A BatchBegin naming its participants. */
  const begin = (id: number, shards: number[], lsn: number): Rec => {
    const p = Buffer.alloc(10 + 2 * shards.length);
    p.writeDoubleLE(id, 0);
    p.writeUInt16LE(shards.length, 8);
    shards.forEach((s, i) => p.writeUInt16LE(s, 10 + 2 * i));
    return [RecordType.BatchBegin, 0, "", p, lsn];
  };
  const horizon = (id: number): Rec => {
    const p = Buffer.alloc(8);
    p.writeDoubleLE(id, 0);
    return [RecordType.SnapshotInfo, 0, "", p, 0];
  };
  const shard0: Record<string, Rec[]> = {
    "00001.log": [begin(5, [0, 1], 1), [PutString, 0, "x", v("1"), 2], batchEnd(5, 3)],
  };
  const run = async (shard1: Record<string, Rec[]>) => {
    const dirs = [await tempDir(), await tempDir()];
    try {
      for (const [i, files] of [shard0, shard1].entries()) {
        for (const [name, records] of Object.entries(files)) {
          await Deno.writeFile(`${dirs[i]}/${name}`, segment(records));
        }
      }
      const ks = new Keyspace({ shardCount: 2, databases: 1 });
      await recover(ks, dirs, new Logger("nothing"));
      return ks.shards[0].tables[0].get("x") !== undefined;
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  };
  // Shard 1 was compacted after the batch: its part is in the snapshot.
  assertEquals(await run({ "00002.snap": [horizon(6), [PutString, 0, "y", v("2"), 4]] }), true);
  // Shard 1's snapshot predates the batch, and its part never reached the disk.
  assertEquals(await run({ "00002.snap": [horizon(5), [PutString, 0, "y", v("2"), 4]] }), false);
  assertEquals(await run({}), false);
});

Deno.test("recovery: a batch dropped at one start stays dropped once the shard missing its part is compacted", async () => {
  const p = Buffer.alloc(14);
  p.writeDoubleLE(5, 0);
  p.writeUInt16LE(2, 8);
  p.writeUInt16LE(0, 10);
  p.writeUInt16LE(1, 12);
  const info = Buffer.alloc(8);
  info.writeDoubleLE(6, 0); // a horizon after the batch
  const dirs = [await tempDir(), await tempDir()];
  const start = async () => {
    const ks = new Keyspace({ shardCount: 2, databases: 1 });
    await recover(ks, dirs, new Logger("nothing"));
    return ks.shards[0].tables[0].get("x") !== undefined;
  };
  try {
    const shard0 = segment([
      [RecordType.BatchBegin, 0, "", p, 1],
      [PutString, 0, "x", v("1"), 2],
      batchEnd(5, 3),
    ]);
    await Deno.writeFile(`${dirs[0]}/00001.log`, shard0);
    await Deno.writeFile(`${dirs[1]}/00001.log`, segment([[PutString, 0, "y", v("2"), 4]]));
    assertEquals(await start(), false);
    // The drop is noted in shard 0's log, once.
    const noted = (await Deno.stat(`${dirs[0]}/00001.log`)).size;
    assertEquals(noted, shard0.length + recordSize(0, 9));
    // Shard 1 is compacted: its snapshot's horizon is past the batch, which it never applied.
    await Deno.writeFile(
      `${dirs[1]}/00002.snap`,
      segment([[RecordType.SnapshotInfo, 0, "", info, 0], [PutString, 0, "y", v("2"), 4]]),
    );
    await Deno.remove(`${dirs[1]}/00001.log`);
    assertEquals(await start(), false);
    assertEquals((await Deno.stat(`${dirs[0]}/00001.log`)).size, noted);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

/** Recovers a shard (fresh keyspace) from the files in `dir`, as a start does. */
async function startIn(dir: string): Promise<Record<string, string>> {
  const ks = new Keyspace({ shardCount: 1, databases: 1 });
  await recover(ks, [dir], new Logger("nothing"));
  return contents(ks, 0);
}

Deno.test("recovery: a batch that never ended is dropped and noted, so the next run's records are not read as part of it", async () => {
  await inTempDir(async (dir) => {
    // It straddles a segment rotation: a crash between two cuts of it could not leave its tail.
    const first = segment([[PutString, 0, "before", v("1"), 1], batchBegin(7, 1, 2)]);
    const second = segment([[PutString, 0, "a", v("1"), 3]]); // its BatchEnd never reached the disk
    await Deno.writeFile(`${dir}/00001.log`, first);
    await Deno.writeFile(`${dir}/00002.log`, second);
    assertEquals(await startIn(dir), { before: "1" });
    // Noted after it (a BatchAbort record), once; nothing is cut.
    const noted = second.length + recordSize(0, 9);
    assertEquals((await Deno.stat(`${dir}/00001.log`)).size, first.length);
    assertEquals((await Deno.stat(`${dir}/00002.log`)).size, noted);
    // The next run appends where the log now ends.
    const next = segment([[PutString, 0, "after", v("2"), 10], [PutString, 0, "a", v("3"), 11]]);
    await Deno.writeFile(`${dir}/00002.log`, next, { append: true });
    assertEquals(await startIn(dir), { before: "1", after: "2", a: "3" });
    assertEquals((await Deno.stat(`${dir}/00002.log`)).size, noted + next.length);
  });
});

Deno.test("recovery: a batch that never ended is noted even when an older segment had damage before it", async () => {
  await inTempDir(async (dir) => {
    const first = segment([
      [PutString, 0, "decayed", v("1"), 1],
      [PutString, 0, "before", v("1"), 2],
      batchBegin(7, 1, 3),
    ]);
    first[HEADER_SIZE] ^= 0xff; // a byte of the first record's key: its CRC fails
    await Deno.writeFile(`${dir}/00001.log`, first);
    await Deno.writeFile(`${dir}/00002.log`, segment([[PutString, 0, "a", v("1"), 4]]));
    assertEquals(await startIn(dir), { before: "1" });
    const next = segment([[PutString, 0, "after", v("2"), 10]]);
    await Deno.writeFile(`${dir}/00002.log`, next, { append: true });
    assertEquals(await startIn(dir), { before: "1", after: "2" });
  });
});

Deno.test("recovery: each shard holding a part of a dropped batch notes it, even when an earlier start noted it in another shard only", async () => {
  // Batch 5 over shards 0, 1 and 2; shard 2's part never reached the disk. An earlier start
  // noted the drop in shard 0 and stopped before noting it in shard 1.
  const p = Buffer.alloc(16);
  p.writeDoubleLE(5, 0);
  p.writeUInt16LE(3, 8);
  [0, 1, 2].forEach((s, i) => p.writeUInt16LE(s, 10 + 2 * i));
  const abort = Buffer.alloc(8);
  abort.writeDoubleLE(5, 0);
  const info = Buffer.alloc(8);
  info.writeDoubleLE(6, 0); // a horizon after the batch
  const part = (key: string): Rec[] => [
    [RecordType.BatchBegin, 0, "", p, 1],
    [PutString, 0, key, v("1"), 2],
    batchEnd(5, 3),
  ];
  const dirs = [await tempDir(), await tempDir(), await tempDir()];
  const start = async () => {
    const ks = new Keyspace({ shardCount: 3, databases: 1 });
    await recover(ks, dirs, new Logger("nothing"));
    return ks.shards[1].tables[0].get("y") !== undefined;
  };
  try {
    await Deno.writeFile(
      `${dirs[0]}/00001.log`,
      segment([...part("x"), [RecordType.BatchAbort, 0, "", abort, 4]]),
    );
    await Deno.writeFile(`${dirs[1]}/00001.log`, segment(part("y")));
    await Deno.writeFile(`${dirs[2]}/00001.log`, segment([[PutString, 0, "z", v("2"), 4]]));
    assertEquals(await start(), false);
    // Shards 0 and 2 are compacted: their snapshots' horizons pass the batch, and shard 0's
    // note is gone with its segment. Shard 1's own note keeps the batch dropped.
    for (const d of [dirs[0], dirs[2]]) {
      await Deno.writeFile(
        `${d}/00002.snap`,
        segment([[RecordType.SnapshotInfo, 0, "", info, 0], [PutString, 0, "w", v("3"), 4]]),
      );
      await Deno.remove(`${d}/00001.log`);
    }
    assertEquals(await start(), false);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("recovery: a torn tail cut again at the same offset keeps both cuts; a compaction's unfinished snapshot is removed", async () => {
  await inTempDir(async (dir) => {
    const whole = segment([[PutString, 0, "a", v("1"), 1], [PutString, 0, "b", v("2"), 2]]);
    const torn = whole.subarray(0, whole.length - 1);
    const at = recordSize(1, 1);
    await Deno.writeFile(`${dir}/00001.log`, torn);
    await Deno.writeFile(`${dir}/00002.snap.tmp`, whole);
    assertEquals(await startIn(dir), { a: "1" });
    await Deno.writeFile(`${dir}/00001.log`, torn);
    assertEquals(await startIn(dir), { a: "1" });
    assertEquals((await Deno.stat(`${dir}/00001.log.torn-${at}`)).size, torn.length - at);
    assertEquals((await Deno.stat(`${dir}/00001.log.torn-${at}.1`)).size, torn.length - at);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), ["00001.log", `00001.log.torn-${at}`, `00001.log.torn-${at}.1`]);
  });
});

Deno.test("recovery: a record-shaped run inside a torn value in the newest file is not replayed", async () => {
  // A value carrying a valid FlushDb record, its tail torn off by a crash.
  const inner = segment([[FlushDb, 0, "", null, 50]]);
  const evil = new Uint8Array(100 + inner.length + 4000).fill(120);
  evil.set(inner, 100);
  const whole = segment([[PutString, 0, "victim", v("original"), 10], [
    PutString,
    0,
    "evil",
    evil,
    20,
  ]]);
  const recoverBytes = (bytes: Uint8Array) =>
    inTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/00001.log`, bytes);
      const ks = new Keyspace({ shardCount: 1, databases: 1 });
      await recover(ks, [dir], new Logger("nothing"));
      return contents(ks, 0);
    });
  assertEquals(await recoverBytes(whole.subarray(0, whole.length - 100)), { victim: "original" });
  // Cut exactly where the inner record ends: the rest reads as whole records, but the value
  // around it runs past the end of the file, so it is still the torn tail.
  const innerEnd = recordSize(6, 8) + HEADER_SIZE + 4 + 100 + inner.length;
  assertEquals(await recoverBytes(whole.subarray(0, innerEnd)), { victim: "original" });
  // Damage in the middle of the newest file ends its data, even with whole records after it:
  // they were written after the last fdatasync that covered the damaged bytes.
  const flipped = segment([
    [PutString, 0, "a", v("1"), 1],
    [PutString, 0, "b", v("2"), 2],
    [PutString, 0, "c", v("3"), 3],
  ]);
  flipped[recordSize(1, 1) + HEADER_SIZE] ^= 0xff; // b's key byte: its CRC fails
  assertEquals(await recoverBytes(flipped), { a: "1" });
});

Deno.test("recovery: in the newest segment, zeroed sectors before later records (pages a power loss never wrote) end the data there", async () => {
  // The log overwrites zero-filled space: after a power loss, unsynced pages may be on disk in
  // any order, and one that is not reads as zeros. What follows it was never acknowledged, and
  // applying it would apply half a batch (here: its delete without its put).
  const records: Rec[] = [
    [PutString, 0, "acked", v("x".repeat(100)), 1],
    batchBegin(5, 1, 2),
    [PutString, 0, "a", v("y".repeat(2000)), 3],
    [Delete, 0, "acked", null, 4],
    batchEnd(5, 5),
  ];
  const data = segment(records);
  const gapFrom = recordSize(5, 100);
  const gapTo = gapFrom + recordSize(0, 10) + recordSize(1, 2000);
  const file = Buffer.alloc(data.length + 64 * 1024); // and the preallocated zeros after it
  data.copy(file);
  file.fill(0, gapFrom, gapTo);
  await inTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/00001.log`, file);
    const ks = new Keyspace({ shardCount: 1, databases: 2 });
    await recover(ks, [dir], new Logger("nothing"));
    assertEquals(contents(ks, 0), { acked: "x".repeat(100) });
    // Cut where the data stops being whole; the rest is kept beside it.
    assertEquals((await Deno.stat(`${dir}/00001.log`)).size, gapFrom);
    assertEquals((await Deno.stat(`${dir}/00001.log.torn-${gapFrom}`)).size, data.length - gapFrom);
  });
});

Deno.test("recovery: a record cut short before the preallocated zeros is a torn tail, whatever its value holds", async () => {
  // A value (client data) that holds a whole record, cut right after it: the outer record claims
  // more bytes than the data has, so the inner one must not be read as a record.
  const inner = segment([[PutString, 0, "injected", v("evil"), 9]]);
  const value = Buffer.concat([inner, Buffer.from("and the rest of the value")]);
  const outer = segment([[PutString, 0, "ok", v("1"), 1], [PutString, 0, "big", value, 2]]);
  const cut = recordSize(2, 1) + recordSize(3, 0) + inner.length; // up to the inner record's end
  const file = Buffer.alloc(cut + 64 * 1024);
  outer.copy(file, 0, 0, cut);
  await inTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/00001.log`, file);
    const ks = new Keyspace({ shardCount: 1, databases: 2 });
    await recover(ks, [dir], new Logger("nothing"));
    assertEquals(contents(ks, 0), { ok: "1" });
  });
});

/** Flips a byte of the `n`th record (from 0) of a segment, so that its CRC fails. */
function decay(buf: Buffer, n: number, at = HEADER_SIZE): Buffer {
  let pos = 0;
  for (let i = 0; i < n; i++) {
    pos += recordSize(buf.readUInt32LE(pos + 24), buf.readUInt32LE(pos + 28));
  }
  buf[pos + at] ^= 0xff;
  return buf;
}

Deno.test("recovery: a batch whose BatchEnd decayed in an older segment is dropped alone; the records after it are kept", async () => {
  await inTempDir(async (dir) => {
    const first = segment([
      batchBegin(7, 1, 1),
      [PutString, 0, "a", v("1"), 2],
      [PutString, 0, "b", v("1"), 3],
      batchEnd(7, 4),
      [PutString, 0, "k1", v("1"), 5],
      [PutString, 0, "k2", v("1"), 6],
    ]);
    await Deno.writeFile(`${dir}/00001.log`, decay(first, 3));
    await Deno.writeFile(`${dir}/00002.log`, segment([[PutString, 0, "k3", v("1"), 7]]));
    assertEquals(await startIn(dir), { k1: "1", k2: "1", k3: "1" });
    const next = segment([[PutString, 0, "after", v("2"), 10]]);
    await Deno.writeFile(`${dir}/00002.log`, next, { append: true });
    assertEquals(await startIn(dir), { k1: "1", k2: "1", k3: "1", after: "2" });
  });
});

/** Recovers two shards, each from one older segment and a newer one; returns both contents. */
async function startTwo(older: Buffer[], newer: Rec[][]): Promise<Record<string, string>> {
  const dirs = [await tempDir(), await tempDir()];
  try {
    for (const s of [0, 1]) {
      await Deno.writeFile(`${dirs[s]}/00001.log`, older[s]);
      await Deno.writeFile(`${dirs[s]}/00002.log`, segment(newer[s]));
    }
    const ks = new Keyspace({ shardCount: 2, databases: 1 });
    await recover(ks, dirs, new Logger("nothing"));
    const out: Record<string, string> = {};
    for (const shard of ks.shards) {
      for (const e of shard.tables[0].values()) {
        out[e.key] = new TextDecoder().decode(e.value as Uint8Array);
      }
    }
    return out;
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("recovery: damage inside a batch part in an older segment drops the whole batch (its BatchBegin, or a record in the middle)", async () => {
  const p = Buffer.alloc(14);
  p.writeDoubleLE(5, 0);
  p.writeUInt16LE(2, 8);
  p.writeUInt16LE(0, 10);
  p.writeUInt16LE(1, 12);
  const part = (keys: string[]): Rec[] => [
    [RecordType.BatchBegin, 0, "", p, 2],
    ...keys.map((k, i): Rec => [PutString, 0, k, v("2"), 3 + i]),
    batchEnd(5, 9),
  ];
  const older = (keys: string[], decayed: number) =>
    decay(
      segment([[PutString, 0, keys[0], v("1"), 1], ...part(keys), [PutString, 0, "p", v("3"), 10]]),
      decayed,
    );
  const newer: Rec[][] = [[[PutString, 0, "q", v("4"), 11]], [[PutString, 0, "r", v("4"), 11]]];
  const expected = { x1: "1", y1: "1", p: "3", q: "4", r: "4" };
  // Shard 0's BatchBegin (record 1), then its second record (record 3).
  for (const decayed of [1, 3]) {
    const shard1 = segment([[PutString, 0, "y1", v("1"), 1], ...part(["y1"])]);
    const shard0 = older(["x1", "x2", "x3"], decayed);
    assertEquals(await startTwo([shard0, shard1], newer), expected);
  }
});

Deno.test("recovery: a batch open where an older segment's unreadable tail begins is dropped, with its records in the next segment", async () => {
  await inTempDir(async (dir) => {
    const first = segment([
      [PutString, 0, "before", v("1"), 1],
      batchBegin(7, 1, 2),
      [PutString, 0, "a", v("1"), 3],
      [PutString, 0, "gone", v("1"), 4],
    ]);
    first.fill(0xee, first.length - 10); // the last record's end decayed: nothing valid after
    await Deno.writeFile(`${dir}/00001.log`, first);
    await Deno.writeFile(
      `${dir}/00002.log`,
      segment([[PutString, 0, "b", v("1"), 5], batchEnd(7, 6), [PutString, 0, "c", v("1"), 7]]),
    );
    assertEquals(await startIn(dir), { before: "1", c: "1" });
  });
});

Deno.test("recovery: a batch id seen only in a BatchEnd after damage counts in the largest batch id", async () => {
  await inTempDir(async (dir) => {
    const first = segment([
      batchBegin(40, 1, 1),
      [PutString, 0, "a", v("1"), 2],
      batchEnd(40, 3),
      [PutString, 0, "k", v("1"), 4],
    ]);
    await Deno.writeFile(`${dir}/00001.log`, decay(first, 0));
    await Deno.writeFile(`${dir}/00002.log`, segment([[PutString, 0, "z", v("1"), 5]]));
    const ks = new Keyspace({ shardCount: 1, databases: 1 });
    const [report] = await recover(ks, [dir], new Logger("nothing"));
    assertEquals(contents(ks, 0), { k: "1", z: "1" });
    assertEquals(report.lastBatchId, 40);
  });
});

Deno.test("recovery: the note that closed a batch the log ended inside still ends it once damage took its BatchBegin", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeFile(
      `${dir}/00001.log`,
      segment([
        [PutString, 0, "before", v("1"), 1],
        batchBegin(7, 1, 2),
        [PutString, 0, "a", v("1"), 3],
        [PutString, 0, "b", v("1"), 4],
      ]),
    );
    // The server stopped inside batch 7: dropped, and noted after its records.
    assertEquals(await startIn(dir), { before: "1" });
    const later = Date.now() * 1000 + 1e9; // after the note's sequence number
    await Deno.writeFile(`${dir}/00002.log`, segment([[PutString, 0, "k", v("1"), later]]));
    // Later the batch's BatchBegin decays: its records are still not plain records.
    const first = Buffer.from(await Deno.readFile(`${dir}/00001.log`));
    await Deno.writeFile(`${dir}/00001.log`, decay(first, 1));
    assertEquals(await startIn(dir), { before: "1", k: "1" });
    // Also when the damage is inside the batch, after its BatchBegin.
    await Deno.writeFile(`${dir}/00001.log`, decay(decay(first, 1), 2));
    assertEquals(await startIn(dir), { before: "1", k: "1" });
  });
});

Deno.test("recovery: a batch open where an empty older segment follows damage is dropped, not carried into the next segment", async () => {
  for (const empty of [new Uint8Array(0), new Uint8Array(8192)]) {
    await inTempDir(async (dir) => {
      const first = segment([
        [PutString, 0, "before", v("1"), 1],
        batchBegin(7, 1, 2),
        [PutString, 0, "a", v("1"), 3],
        [PutString, 0, "gone", v("1"), 4],
      ]);
      first.fill(0xee, first.length - 10); // its tail decayed
      await Deno.writeFile(`${dir}/00001.log`, first);
      await Deno.writeFile(`${dir}/00002.log`, empty); // lost whole
      await Deno.writeFile(
        `${dir}/00003.log`,
        segment([[PutString, 0, "k1", v("1"), 10], [PutString, 0, "k2", v("1"), 11]]),
      );
      assertEquals(await startIn(dir), { before: "1", k1: "1", k2: "1" });
    });
  }
});

Deno.test("recovery: zeros ending an older segment are damage, not preallocated space (a rotation cuts that durably first)", async () => {
  const zeroTail = (records: Rec[]) => Buffer.concat([segment(records), Buffer.alloc(4096)]);
  // The batch's end (and a record) read back as zeros: it is dropped, and the next segment's
  // records are not taken for the rest of it.
  await inTempDir(async (dir) => {
    const first = zeroTail([
      [PutString, 0, "before", v("1"), 1],
      batchBegin(7, 1, 2),
      [PutString, 0, "a", v("1"), 3],
    ]);
    await Deno.writeFile(`${dir}/00001.log`, first);
    await Deno.writeFile(
      `${dir}/00002.log`,
      segment([[PutString, 0, "k1", v("1"), 10], [PutString, 0, "k2", v("1"), 11]]),
    );
    assertEquals(await startIn(dir), { before: "1", k1: "1", k2: "1" });
    assertEquals((await Deno.stat(`${dir}/00001.log`)).size, first.length); // kept as is
  });
  // A BatchBegin read back as zeros: the rest of its batch in the next segment is cut.
  await inTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/00001.log`, zeroTail([[PutString, 0, "before", v("1"), 1]]));
    await Deno.writeFile(
      `${dir}/00002.log`,
      segment([[PutString, 0, "b", v("1"), 3], batchEnd(7, 4), [PutString, 0, "k", v("1"), 5]]),
    );
    assertEquals(await startIn(dir), { before: "1", k: "1" });
  });
});

Deno.test("recovery: records of a damaged batch cut up to the end of an older segment do not leave the batch open into the next", async () => {
  await inTempDir(async (dir) => {
    const first = segment([
      [PutString, 0, "before", v("1"), 1],
      batchBegin(7, 1, 2),
      [PutString, 0, "a", v("1"), 3],
      [PutString, 0, "b", v("1"), 4],
      batchEnd(7, 5), // the segment's last record
    ]);
    await Deno.writeFile(`${dir}/00001.log`, decay(first, 2)); // "a" decayed
    await Deno.writeFile(`${dir}/00002.log`, segment([[PutString, 0, "k", v("1"), 6]]));
    assertEquals(await startIn(dir), { before: "1", k: "1" });
  });
});

Deno.test("recovery: an older segment that ends inside a batch part written never to straddle a rotation lost the batch's end", async () => {
  await inTempDir(async (dir) => {
    const [type, db, key, payload, lsn] = batchBegin(7, 1, 2);
    await Deno.writeFile(
      `${dir}/00001.log`,
      segment([
        [PutString, 0, "before", v("1"), 1],
        [type, db, key, payload, lsn, 0, RecordFlags.WholeInSegment],
        [PutString, 0, "a", v("1"), 3],
      ]), // cut at a record boundary: no bytes look damaged
    );
    await Deno.writeFile(
      `${dir}/00002.log`,
      segment([[PutString, 0, "k1", v("1"), 10], [PutString, 0, "k2", v("1"), 11]]),
    );
    assertEquals(await startIn(dir), { before: "1", k1: "1", k2: "1" });
    // The same batch written before the flag existed may straddle the rotation: kept whole.
    await Deno.writeFile(
      `${dir}/00001.log`,
      segment([[PutString, 0, "before", v("1"), 1], batchBegin(7, 1, 2), [
        PutString,
        0,
        "a",
        v("1"),
        3,
      ]]),
    );
    await Deno.writeFile(
      `${dir}/00002.log`,
      segment([[PutString, 0, "b", v("1"), 4], batchEnd(7, 5), [PutString, 0, "k", v("1"), 10]]),
    );
    assertEquals(await startIn(dir), { before: "1", a: "1", b: "1", k: "1" });
  });
});
