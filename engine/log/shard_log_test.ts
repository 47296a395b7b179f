import { assert, assertEquals } from "../../tests/_assert.ts";
import { RecordType } from "./record.ts";
import { ShardLog } from "./shard_log.ts";

/** Resolves to "resolved", or "pending" when `p` has not settled within `ms`. */
function settledWithin(p: Promise<void>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.then(() => "resolved"),
    new Promise<string>((r) => timer = setTimeout(() => r("pending"), ms)),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("ShardLog: a sync append written by writePending as a flush ends still gets its fdatasync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferric-shardlog-" });
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
  const dir = await Deno.makeTempDir({ prefix: "ferric-shardlog-" });
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
