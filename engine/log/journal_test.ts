import { assert, assertEquals } from "../../tests/_assert.ts";
import { crc32, RecordType } from "./record.ts";
import { ShardLog } from "./shard_log.ts";
import { GroupCommit } from "./group_commit.ts";
import {
  CommitJournal,
  ENTRY_HEADER,
  JOURNAL_NAME,
  readJournal,
  replayJournal,
} from "./journal.ts";
import { tempDir } from "../../tests/_temp_dir.ts";

/** Two shard logs under one data directory, committed by one GroupCommit with a journal. */
async function journaled(size?: number, journalPath?: string) {
  const dir = await tempDir("ferric-journal-");
  const shardDirs = [`${dir}/shard_0`, `${dir}/shard_1`];
  for (const d of shardDirs) await Deno.mkdir(d);
  const warnings: string[] = [];
  const journal = new CommitJournal(
    journalPath ?? `${dir}/${JOURNAL_NAME}`,
    (m) => warnings.push(m),
    size,
  );
  await journal.prepare();
  const commits = new GroupCommit(journal);
  const logs = shardDirs.map((d, i) => new ShardLog(i, d, 1, 0, () => 1 << 30, commits));
  const close = async () => {
    await Promise.all(logs.map((l) => l.close().catch(() => {})));
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, shardDirs, journal, logs, warnings, close };
}

/** Appends one sync record per log (one event-loop turn) and waits until they are durable. */
async function commitTurn(logs: ShardLog[], key: string, value: Uint8Array, lsn: number) {
  for (const log of logs) log.append(RecordType.PutString, 0, 0, key, value, lsn, true, 0);
  await Promise.all(logs.map((l) => l.barrier()));
}

/** The data written to a shard's first segment so far. */
function segmentData(shardDir: string, bytes: number): Uint8Array {
  return Deno.readFileSync(`${shardDir}/00001.log`).subarray(0, bytes);
}

/** As a power loss that kept none of the file's pages since its last fdatasync: zeros instead. */
function losePages(shardDir: string, from: number, to: number): void {
  const f = Deno.openSync(`${shardDir}/00001.log`, { write: true });
  f.seekSync(from, Deno.SeekMode.Start);
  f.writeSync(new Uint8Array(to - from));
  f.close();
}

Deno.test("journal: two shards' commit is one journal fdatasync; replay writes back what a power loss took from their files", async () => {
  const { dir, shardDirs, journal, logs, warnings, close } = await journaled();
  try {
    const value = new Uint8Array(100).fill(7);
    for (let turn = 0; turn < 5; turn++) await commitTurn(logs, `k${turn}`, value, turn + 1);
    assertEquals(journal.commits, 5);
    for (const log of logs) {
      assert(log.synced, `shard ${log.index}: its records are durable`);
      assertEquals(log.stats.journaled, 5);
      assertEquals(log.stats.flushes, 0, "the segment files were not fdatasynced");
      assertEquals(log.stats.syncedRecords, 5);
    }
    const before = shardDirs.map((d, i) => segmentData(d, logs[i].stats.bytes));
    for (let i = 0; i < 2; i++) losePages(shardDirs[i], 0, logs[i].stats.bytes);
    const replay = replayJournal(dir, shardDirs);
    assertEquals(replay.entries, 10);
    assertEquals(replay.restored.length, 10);
    assertEquals(replay.restored.map((r) => r.shard).sort(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    for (let i = 0; i < 2; i++) {
      assertEquals(segmentData(shardDirs[i], logs[i].stats.bytes), before[i], `shard ${i}`);
    }
    // Invalidated: a second start replays nothing (later runs write over those offsets).
    assertEquals(replayJournal(dir, shardDirs).entries, 0);
    assertEquals(warnings, []);
  } finally {
    await close();
  }
});

Deno.test("journal: a shard whose file holds bytes not yet durable fdatasyncs instead of journaling", async () => {
  const { journal, logs, close } = await journaled();
  try {
    const value = new Uint8Array(10);
    // An async record: written to the file at the end of the turn, fdatasynced within a minute.
    logs[0].append(RecordType.PutString, 0, 0, "async", value, 1, false, 60_000);
    await new Promise((r) => setTimeout(r, 20));
    assert(!logs[0].synced && !logs[0].pending);
    // A replay into a file that lost the async record would leave a hole before the entry.
    await commitTurn(logs, "sync", value, 2);
    assertEquals(journal.commits, 0);
    assertEquals(logs[0].stats.flushes, 1);
    assert(logs[0].synced);
    // Both durable now: the next commit is journaled again.
    await commitTurn(logs, "again", value, 3);
    assertEquals(journal.commits, 1);
  } finally {
    await close();
  }
});

Deno.test("journal: wrapping round fdatasyncs every shard first; a replay then reads the new generation only", async () => {
  // Room for a few commits of two ~140-byte entries.
  const { dir, shardDirs, journal, logs, close } = await journaled(1500);
  try {
    const value = new Uint8Array(60).fill(1);
    for (let turn = 0; turn < 12; turn++) await commitTurn(logs, `key${turn}`, value, turn + 1);
    assertEquals(journal.commits, 12);
    for (const log of logs) assert(log.stats.flushes >= 2, `shard ${log.index}: wrapped twice`);
    const entries = readJournal(Deno.readFileSync(`${dir}/${JOURNAL_NAME}`));
    // Each commit wrote two entries; the wraps left the last commits' only.
    assert(entries.length > 0 && entries.length < 24 && entries.length % 2 === 0);
    const last = entries.at(-1)!;
    assertEquals(last.offset + last.bytes.length, logs[last.shard].stats.bytes);
    // What the journal no longer holds was fdatasynced before the wrap: a power loss takes only
    // what came after, which the replay puts back.
    const from = Math.min(...entries.filter((e) => e.shard === 0).map((e) => e.offset));
    const before = segmentData(shardDirs[0], logs[0].stats.bytes);
    losePages(shardDirs[0], from, logs[0].stats.bytes);
    assertEquals(replayJournal(dir, shardDirs).entries, entries.length);
    assertEquals(segmentData(shardDirs[0], logs[0].stats.bytes), before);
  } finally {
    await close();
  }
});

Deno.test("journal: reading stops at a torn entry, and at one of another generation or out of sequence", async () => {
  const { dir, journal, logs, close } = await journaled();
  try {
    const value = new Uint8Array(20);
    for (let turn = 0; turn < 3; turn++) await commitTurn(logs, `k${turn}`, value, turn + 1);
    assertEquals(journal.commits, 3);
    const content = Deno.readFileSync(`${dir}/${JOURNAL_NAME}`);
    const entries = readJournal(content);
    assertEquals(entries.length, 6);
    const second = ENTRY_HEADER + entries[0].bytes.length;
    // A flipped byte in the second entry's bytes (a write the crash cut short).
    const torn = content.slice();
    torn[second + ENTRY_HEADER + 3] ^= 0xff;
    assertEquals(readJournal(torn).length, 1);
    // The second entry of another generation (older, before a wrap): the CRC holds but it is
    // not this one's continuation.
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const other = content.slice();
    view(other).setFloat64(second + 8, 12345, true);
    fixCrc(other, second);
    assertEquals(readJournal(other).length, 1);
    const skipped = content.slice();
    view(skipped).setUint32(second + 16, 5, true);
    fixCrc(skipped, second);
    assertEquals(readJournal(skipped).length, 1);
  } finally {
    await close();
  }
});

/** Recomputes the CRC of the entry at `at` (as a writer of that entry would have). */
function fixCrc(buf: Uint8Array, at: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = at + ENTRY_HEADER + view.getUint32(at + 4, true);
  view.setUint32(at, crc32(buf, at + 4, end), true);
}

Deno.test("journal: replay skips entries of segment files compaction removed", async () => {
  const { dir, shardDirs, journal, logs, close } = await journaled();
  try {
    await commitTurn(logs, "k", new Uint8Array(5), 1);
    assertEquals(journal.commits, 1);
    await logs[1].close();
    await Deno.remove(`${shardDirs[1]}/00001.log`);
    losePages(shardDirs[0], 0, logs[0].stats.bytes);
    const replay = replayJournal(dir, shardDirs);
    assertEquals(replay.entries, 2);
    assertEquals(replay.restored.map((r) => r.shard), [0]);
    // Not created again.
    assertEquals((await Array.fromAsync(Deno.readDir(shardDirs[1]))).length, 0);
  } finally {
    await close();
  }
});

Deno.test("journal: one that cannot be written is given up with a warning; commits fdatasync the shards", async () => {
  const { journal, logs, warnings, close } = await journaled(undefined, "/nonexistent/dir/x");
  try {
    for (let turn = 0; turn < 3; turn++) {
      await commitTurn(logs, `k${turn}`, new Uint8Array(5), turn + 1);
    }
    assertEquals(journal.commits, 0);
    assertEquals(warnings.length, 1);
    assert(/commit journal .*fdatasync every shard's file/.test(warnings[0]), warnings[0]);
    for (const log of logs) {
      assert(log.synced);
      assertEquals(log.stats.flushes, 3);
    }
  } finally {
    await close();
  }
});

Deno.test("journal: replay writes back an entry a crash left the file short of, even where the bytes lost were zeros", async () => {
  const { dir, shardDirs, journal, logs, close } = await journaled();
  try {
    // A value of zeros but its first byte (a bitmap after SETBIT k 80000 0, a padded blob).
    const value = new Uint8Array(10_000);
    value[0] = 1;
    await commitTurn(logs, "bitmap", value, 1);
    assertEquals(journal.commits, 1);
    const full = logs[0].stats.bytes;
    const before = segmentData(shardDirs[0], full);
    // The disk kept the file's first two pages and its size at that point: the rest reads as
    // the end of the file, which the zeros the record ends with do not show.
    Deno.truncateSync(`${shardDirs[0]}/00001.log`, 8192);
    const replay = replayJournal(dir, shardDirs);
    assertEquals(replay.restored.map((r) => r.shard), [0]);
    assertEquals(segmentData(shardDirs[0], full), before);
  } finally {
    await close();
  }
});

Deno.test("journal: a clean close leaves nothing to replay; one after a failed log keeps the entries", async () => {
  for (const clean of [true, false]) {
    const { dir, journal, logs, close } = await journaled();
    try {
      await commitTurn(logs, "k", new Uint8Array(5), 1);
      await Promise.all(logs.map((l) => l.close()));
      await journal.close(clean);
      const entries = readJournal(Deno.readFileSync(`${dir}/${JOURNAL_NAME}`));
      assertEquals(entries.length, clean ? 0 : 2);
    } finally {
      await close();
    }
  }
});
