import { assert, assertEquals, assertMatch } from "../../tests/_assert.ts";
import { checkRecord, RecordType } from "./record.ts";
import { FILL_GAP, FILL_MIN } from "./zero_fill.ts";
import { ShardLog } from "./shard_log.ts";
import { GroupCommit } from "./group_commit.ts";
import { SyncThread } from "./sync_thread.ts";
import { dataEnd } from "./recovery.ts";
import { Buffer } from "node:buffer";
import { tempDir } from "../../tests/_temp_dir.ts";

/** Resolves to "resolved", or "pending" when `p` has not settled within `ms`. */
function settledWithin(p: Promise<void>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.then(() => "resolved"),
    new Promise<string>((r) => timer = setTimeout(() => r("pending"), ms)),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("ShardLog: a sync append written by writePending as a flush ends still gets its fdatasync", async () => {
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 1 << 30);
  const value = new Uint8Array(100);
  let lsn = 1;
  let waited: Promise<string> | null = null;
  log.onSynced = () => {
    if (waited !== null) return;
    // A command run by a microtask of the tick that ended the fdatasync (the flush has taken
    // its last look but not ended): a sync write, then a command whose eviction writes it.
    const second = new Promise<void>((resolve) =>
      queueMicrotask(() => {
        log.append(RecordType.PutString, 0, 0, "k2", value, lsn++, true, 0);
        log.writePending();
        const b = log.barrier();
        assert(b !== null, "the write waits for its fdatasync");
        b.then(resolve);
      })
    );
    waited = settledWithin(second, 2000);
  };
  try {
    log.append(RecordType.PutString, 0, 0, "k1", value, lsn++, true, 0);
    await log.barrier();
    assertEquals(await waited, "resolved");
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ShardLog: flush(true) fdatasyncs a new segment's bytes even when fewer than the last synced file's", async () => {
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 4096);
  try {
    log.append(RecordType.PutString, 0, 0, "a", new Uint8Array(3000), 1, true, 0);
    await log.barrier();
    assert(log.synced);
    // An async record that rotates to segment 2: 2000 bytes there, under segment 1's 3000.
    log.append(RecordType.PutString, 0, 0, "b", new Uint8Array(2000), 2, false, 60_000);
    // Written at the end of the event loop's turn, not fdatasynced (its window is a minute).
    await new Promise((r) => setTimeout(r, 50));
    assert(!log.pending && !log.synced);
    await log.flush(true);
    assert(log.synced, "the new segment's bytes were not fdatasynced");
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Two shard logs committed by one GroupCommit, in a fresh directory each. */
async function twoShards(): Promise<{ logs: ShardLog[]; dirs: string[]; commits: GroupCommit }> {
  const commits = new GroupCommit();
  const dirs = [
    await tempDir("ferric-shardlog-"),
    await tempDir("ferric-shardlog-"),
  ];
  const logs = dirs.map((dir, i) => new ShardLog(i, dir, 1, 0, () => 1 << 30, commits));
  return { logs, dirs, commits };
}

async function closeAll(logs: ShardLog[], dirs: string[]): Promise<void> {
  await Promise.all(logs.map((l) => l.close().catch(() => {})));
  for (const dir of dirs) await Deno.remove(dir, { recursive: true });
}

/** Waits (appending nothing) until the second shard's sync thread has started. */
async function threadStarted(log: ShardLog): Promise<void> {
  await started(() => log.syncThreadRunning);
}

/** Waits up to 5 s, appending nothing, until a worker thread says it runs. */
async function started(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(ready(), "the sync thread did not start");
}

Deno.test("GroupCommit: shards with sync writes in one turn commit together, the second on its sync thread", async () => {
  const { logs, dirs, commits } = await twoShards();
  const value = new Uint8Array(100);
  const blocked: number[] = [];
  commits.onBlocked = (ms) => blocked.push(ms);
  try {
    let lsn = 1;
    for (let turn = 0; turn < 20; turn++) {
      for (const log of logs) {
        log.append(RecordType.PutString, 0, 0, `k${turn}`, value, lsn++, true, 0);
      }
      // The first turn starts the thread (its fdatasync then runs on the main thread).
      if (turn === 1) await threadStarted(logs[1]);
      await Promise.all(logs.map((l) => l.barrier()));
      for (const log of logs) assert(log.synced, `turn ${turn}: shard ${log.index} not synced`);
    }
    assert(!logs[0].syncThreadRunning, "the first shard commits on the main thread");
    assertEquals(blocked.length, 20, "one commit per turn, each timed");
    assert(blocked.every((ms) => ms >= 0));
    for (const log of logs) {
      assertEquals(log.stats.syncedRecords, 20);
      // Every record is in the file (the zero-filled space after them is trimmed at close).
      const file = await Deno.readFile(`${log.dir}/00001.log`);
      assertEquals(dataEnd(Buffer.from(file)) <= log.stats.bytes, true);
      assertEquals(file.subarray(0, log.stats.bytes).some((b) => b !== 0), true);
      await log.close();
      assertEquals((await Deno.stat(`${log.dir}/00001.log`)).size, log.stats.bytes);
    }
  } finally {
    await closeAll(logs, dirs);
  }
});

Deno.test("GroupCommit: an fdatasync that fails on a sync thread fails that shard alone", async () => {
  const { logs, dirs } = await twoShards();
  const value = new Uint8Array(10);
  try {
    for (const log of logs) log.append(RecordType.PutString, 0, 0, "a", value, 1, true, 0);
    await Promise.all(logs.map((l) => l.barrier()));
    await threadStarted(logs[1]);
    // The thread opens the segment by its name at its first fdatasync: gone, that fails.
    await Deno.remove(`${dirs[1]}/00001.log`);
    for (const log of logs) log.append(RecordType.PutString, 0, 0, "b", value, 2, true, 0);
    const [first, second] = await Promise.allSettled(logs.map((l) => l.barrier()));
    assertEquals(first.status, "fulfilled");
    assertEquals(second.status, "rejected");
    assertMatch(String((second as PromiseRejectedResult).reason), /shard 1: log write failed/);
    assert(logs[1].failure !== null && logs[0].failure === null);
  } finally {
    await closeAll(logs, dirs);
  }
});

Deno.test("SyncThread: fdatasyncs a file by name, reports a failure, and stops", async () => {
  const dir = await tempDir("ferric-syncthread-");
  const thread = new SyncThread(() => {});
  try {
    await started(() => thread.ready);
    await Deno.writeTextFile(`${dir}/f`, "data");
    thread.start(`${dir}/f`);
    assertEquals(thread.wait(), null);
    thread.start(`${dir}/missing`);
    assertMatch(String(thread.wait()), /No such file|not found/i);
    thread.start(`${dir}/f`);
    assertEquals(thread.wait(), null);
    thread.release();
  } finally {
    thread.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GroupCommit: compaction's release closes the sync thread's descriptor of a removed segment", async () => {
  if (Deno.build.os !== "linux") return; // reads /proc/self/fd
  const { logs, dirs } = await twoShards();
  const value = new Uint8Array(10);
  const openDeleted = () => {
    const found: string[] = [];
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      try {
        const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
        if (target.startsWith(dirs[1]) && target.endsWith("(deleted)")) found.push(target);
      } catch { /* closed meanwhile */ }
    }
    return found;
  };
  try {
    for (const log of logs) log.append(RecordType.PutString, 0, 0, "a", value, 1, true, 0);
    await Promise.all(logs.map((l) => l.barrier()));
    await threadStarted(logs[1]);
    // Shard 1's thread fdatasyncs (and holds) segment 1.
    for (const log of logs) log.append(RecordType.PutString, 0, 0, "b", value, 2, true, 0);
    await Promise.all(logs.map((l) => l.barrier()));
    // What compaction does: a new segment takes the writes, the old one is removed.
    logs[1].rotate();
    logs[1].append(RecordType.PutString, 0, 0, "c", value, 3, true, 0);
    await logs[1].barrier();
    await Deno.remove(`${dirs[1]}/00001.log`);
    logs[1].release(1);
    assertEquals(openDeleted(), []);
  } finally {
    await closeAll(logs, dirs);
  }
});

Deno.test("SyncThread: stopped before it said it is ready, it lets the process exit", async () => {
  // The worker waits in Atomics.wait before the main thread (busy) has seen its first message.
  const script = `
    import { SyncThread } from ${JSON.stringify(new URL("./sync_thread.ts", import.meta.url).href)};
    const thread = new SyncThread(() => {});
    const until = Date.now() + 300;
    while (Date.now() < until) { /* busy: the ready message waits */ }
    thread.stop();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const { code, stderr } = await child.output();
  clearTimeout(timer);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
});

Deno.test("GroupCommit: large batches leave blocking commits for the thread pool, and come back when small", async () => {
  const { logs, dirs, commits } = await twoShards();
  const value = new Uint8Array(10);
  let blocked = 0;
  commits.onBlocked = () => blocked++;
  let lsn = 1;
  /** One turn: `n` sync records per shard, then both barriers. Whether its commit blocked. */
  const turn = async (n: number): Promise<boolean> => {
    const before = blocked;
    for (let i = 0; i < n; i++) {
      for (const log of logs) {
        log.append(RecordType.PutString, 0, 0, `k${i}`, value, lsn++, true, 0);
      }
    }
    await Promise.all(logs.map((l) => l.barrier()));
    for (const log of logs) assert(log.synced && log.stats.syncedRecords === log.stats.records);
    return blocked > before;
  };
  try {
    assert(await turn(1), "small batches block");
    const large: boolean[] = [];
    for (let i = 0; i < 10; i++) large.push(await turn(300));
    assert(large[0], "the average starts low");
    assert(!large.at(-1)!, `large batches go to the thread pool: ${large}`);
    const small: boolean[] = [];
    for (let i = 0; i < 60; i++) small.push(await turn(1));
    assert(!small[0] && small.at(-1)!, `back to blocking as the average falls: ${small}`);
  } finally {
    await closeAll(logs, dirs);
  }
});

Deno.test("SyncThread: a worker that died is broken, not waited for", async () => {
  const dir = await tempDir("ferric-syncthread-");
  const thread = new SyncThread(
    () => {},
    new URL("../../tests/_dying_sync_worker.ts", import.meta.url),
  );
  try {
    await started(() => thread.ready);
    await Deno.writeTextFile(`${dir}/f`, "data");
    assert(thread.start(`${dir}/f`));
    // Dead, not Failed: no error of an fdatasync, and the caller must do it itself.
    assertEquals(thread.wait(), null);
    assert(thread.broken && !thread.ready);
    assertEquals(thread.start(`${dir}/f`), false);
    thread.release();
  } finally {
    thread.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GroupCommit: a failing onSynced is reported, and the log keeps working", async () => {
  const { logs, dirs } = await twoShards();
  const warnings: string[] = [];
  logs[0].onWarning = (m) => warnings.push(m);
  logs[0].onSynced = () => {
    throw new Error("cooling failed");
  };
  try {
    logs[0].append(RecordType.PutString, 0, 0, "a", new Uint8Array(10), 1, true, 0);
    await logs[0].barrier();
    assertEquals(logs[0].failure, null);
    assertMatch(warnings.join("\n"), /after an fdatasync: Error: cooling failed/);
    logs[0].append(RecordType.PutString, 0, 0, "b", new Uint8Array(10), 2, true, 0);
    await logs[0].barrier();
    assert(logs[0].synced);
  } finally {
    await closeAll(logs, dirs);
  }
});

/** The records of a segment file, walked from its start: their count and where they end. */
async function walkRecords(path: string): Promise<{ count: number; end: number; size: number }> {
  const buf = Buffer.from(await Deno.readFile(path));
  let pos = 0, count = 0;
  for (let size = checkRecord(buf, pos); size > 0; size = checkRecord(buf, pos)) {
    pos += size;
    count++;
  }
  return { count, end: pos, size: buf.length };
}

/** Waits up to 5 s for `done`. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert(done(), "timed out");
}

Deno.test("ShardLog: sync commits overwrite zero-filled space ahead of them; rotation and close trim each file to its data", async () => {
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 2 * 1024 * 1024);
  const first = `${dir}/00001.log`;
  const value = new Uint8Array(1000).fill(7);
  let lsn = 1;
  const write = async (v: Uint8Array) => {
    log.append(RecordType.PutString, 0, 0, `k${lsn}`, v, lsn++, true, 0);
    await log.barrier();
  };
  try {
    await write(value);
    // The fill runs on the thread pool: the file grows past its data once it is done.
    await until(() => Deno.statSync(first).size >= FILL_GAP + FILL_MIN);
    const size = Deno.statSync(first).size;
    for (let i = 0; i < 50; i++) await write(value);
    assertEquals(Deno.statSync(first).size, size, "writes into the filled space do not grow it");
    // Up to the 2 MB segment size and past it: the first file is cut back to its records.
    while (log.segment === 1) await write(new Uint8Array(50_000));
    const old = await walkRecords(first);
    assertEquals(old.end, old.size);
    assertEquals(old.count, lsn - 2, "every record but the one that rotated is in segment 1");
    await log.close();
    const last = await walkRecords(`${dir}/00002.log`);
    assertEquals([last.count, last.end], [1, last.size]);
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ShardLog: writes that reach the space being zero-filled wait for the fill; every record is intact", async () => {
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 1 << 30);
  const warnings: string[] = [];
  log.onWarning = (m) => warnings.push(m);
  try {
    // Each write passes FILL_GAP: the next one reaches the fill the last one started.
    for (let lsn = 1; lsn <= 30; lsn++) {
      log.append(
        RecordType.PutString,
        0,
        0,
        `k${lsn}`,
        new Uint8Array(300_000).fill(lsn),
        lsn,
        true,
        0,
      );
      await log.barrier();
    }
    assertEquals(log.failure, null);
    await log.close();
    const file = await walkRecords(`${dir}/00001.log`);
    assertEquals([file.count, file.end], [30, file.size]);
    assertEquals(warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ShardLog: a batch part never straddles a rotation, and its BatchBegin says so", async () => {
  const dir = await tempDir("ferric-shardlog-");
  const log = new ShardLog(0, dir, 1, 0, () => 400); // segments of ~400 bytes
  const value = new Uint8Array(100);
  const id = new Uint8Array(10);
  let lsn = 1;
  try {
    log.append(RecordType.PutString, 0, 0, "plain", value, lsn++, false, 0);
    for (let batch = 0; batch < 3; batch++) {
      log.append(RecordType.BatchBegin, 0, 0, "", id, lsn++, false, 0);
      for (let k = 0; k < 5; k++) {
        log.append(RecordType.PutString, 0, 0, `k${k}`, value, lsn++, false, 0);
      }
      log.append(RecordType.BatchEnd, 0, 0, "", id.subarray(0, 8), lsn++, true, 0);
    }
    await log.barrier();
  } finally {
    await log.close();
  }
  try {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log"))
      .sort();
    assert(names.length >= 3, `rotated: ${names}`);
    let batches = 0;
    for (const name of names) {
      const buf = Buffer.from(await Deno.readFile(`${dir}/${name}`));
      let open = false;
      for (let pos = 0; pos < buf.length;) {
        const size = checkRecord(buf, pos);
        assert(size > 0, `${name}: a valid record at ${pos}`);
        const type = buf[pos + 4];
        assertEquals(buf[pos + 5], type === RecordType.BatchBegin ? 1 : 0, `${name} flags`);
        if (type === RecordType.BatchBegin) open = true;
        if (type === RecordType.BatchEnd) [open, batches] = [false, batches + 1];
        pos += size;
      }
      assert(!open, `${name} ends inside a batch`);
    }
    assertEquals(batches, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
