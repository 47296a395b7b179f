/**
 * Power losses at random points of random shard-log workloads, against an oracle of its own:
 * every fdatasync and fsync records the file's content at that moment, and a power-loss image
 * keeps, per file, the last content so recorded plus any subset of the pages written since (in
 * any order), with the file's old size, its new one, or a page boundary in between. Every sync
 * record acknowledged before the loss must come back through replayJournal and recover.
 *
 * The workload mixes sync and async appends over three shards, writes without fdatasync
 * (writePending, as maxmemory does), background flushes, a journal small enough to wrap every
 * few commits and segments small enough to rotate. Values are sometimes mostly zeros, so that
 * a file left short by the loss reads like the zeros it lost.
 *
 * This module replaces `Deno.open`, `Deno.openSync` and the `FsFile` sync methods for its own
 * isolate (each test module runs in one of its own), and runs shard fdatasyncs on the main
 * thread: a sync thread's would not be seen.
 */
import { assert } from "../../tests/_assert.ts";
import { RecordType } from "./record.ts";
import { ShardLog } from "./shard_log.ts";
import { GroupCommit } from "./group_commit.ts";
import { CommitJournal, JOURNAL_NAME, replayJournal } from "./journal.ts";
import { recover } from "./recovery.ts";
import { Keyspace } from "../keyspace.ts";
import { Logger } from "../../server/log.ts";
import { tempDir } from "../../tests/_temp_dir.ts";

const PAGE = 4096;
/** Path of every file opened, and each file's content as of its last fdatasync. */
const pathOf = new WeakMap<Deno.FsFile, string>();
const durable = new Map<string, Uint8Array>();

const openSync = Deno.openSync, open = Deno.open;
Object.assign(Deno, {
  openSync(path: string | URL, options?: Deno.OpenOptions): Deno.FsFile {
    const f = openSync(path, options);
    pathOf.set(f, String(path));
    return f;
  },
  async open(path: string | URL, options?: Deno.OpenOptions): Promise<Deno.FsFile> {
    const f = await open(path, options);
    pathOf.set(f, String(path));
    return f;
  },
});

function contentOf(f: Deno.FsFile): [string, Uint8Array] | null {
  const path = pathOf.get(f);
  if (path === undefined) return null;
  try {
    return [path, Deno.readFileSync(path)];
  } catch {
    return null; // removed
  }
}

const proto = Deno.FsFile.prototype;
for (const name of ["syncDataSync", "syncSync"] as const) {
  const sync = proto[name];
  proto[name] = function (this: Deno.FsFile) {
    sync.call(this);
    const c = contentOf(this);
    if (c) durable.set(c[0], c[1]);
  };
}
for (const name of ["syncData", "sync"] as const) {
  const sync = proto[name];
  proto[name] = async function (this: Deno.FsFile) {
    // What the file held when the call began is durable once it returns.
    const c = contentOf(this);
    await sync.call(this);
    if (c && (durable.get(c[0])?.length ?? -1) <= c[1].length) durable.set(c[0], c[1]);
  };
}
(ShardLog.prototype as unknown as { startSync(): void }).startSync = () => {};

/** Totals over the runs, so the test can tell it exercised the journal. */
const totals = { journaled: 0, acked: 0 };
let seed = 1;
function random(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}

/** One workload and one power loss; the acknowledged keys that did not come back. */
async function once(run: number, zeroTails: boolean): Promise<string[]> {
  durable.clear();
  const dir = await tempDir("ferric-journal-fuzz-");
  const SHARDS = 3;
  const shardDirs = Array.from({ length: SHARDS }, (_, i) => `${dir}/shard_${i}`);
  for (const d of shardDirs) Deno.mkdirSync(d);
  const journal = new CommitJournal(`${dir}/${JOURNAL_NAME}`, () => {}, 2500);
  await journal.prepare();
  const commits = new GroupCommit(journal);
  const segmentLimit = 3000 + Math.floor(random() * 20000);
  const logs = shardDirs.map((d, i) => new ShardLog(i, d, 1, 0, () => segmentLimit, commits));
  const acked: { shard: number; key: string }[] = [];
  const waits: Promise<void>[] = [];
  let lsn = 1;
  const turns = 20 + Math.floor(random() * 60);
  for (let t = 0; t < turns; t++) {
    for (let s = 0; s < SHARDS; s++) {
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const sync = random() < 0.6;
        // With zero tails, some values span pages (a bitmap after SETBIT, a padded blob).
        const big = zeroTails && random() < 0.2;
        const len = 1 + Math.floor(random() * (big ? 9000 : 400));
        const value = new Uint8Array(len).fill(0x41 + (t % 20));
        if (zeroTails) value.fill(0, Math.min(len >> 1, 16));
        const key = `k${run}-${t}-${s}-${k}`;
        const window = sync ? 0 : Math.floor(random() * 30);
        logs[s].append(RecordType.PutString, 0, 0, key, value, lsn++, sync, window);
        if (!sync) continue;
        const barrier = logs[s].barrier();
        if (barrier === null) acked.push({ shard: s, key });
        else waits.push(barrier.then(() => void acked.push({ shard: s, key })));
      }
      if (random() < 0.2) logs[s].writePending();
    }
    if (random() < 0.05) void logs[Math.floor(random() * SHARDS)].flush(true).catch(() => {});
    const wait = random();
    await new Promise((r) =>
      wait < 0.6
        ? setTimeout(r, 0)
        : wait < 0.9
        ? queueMicrotask(() => setTimeout(r, 0))
        : setTimeout(r, 5)
    );
  }

  // The power loss, now: an image of the data directory as the disk may hold it.
  const image = await tempDir("ferric-journal-fuzz-image-");
  const files = [`${dir}/${JOURNAL_NAME}`];
  for (const d of shardDirs) for (const e of Deno.readDirSync(d)) files.push(`${d}/${e.name}`);
  for (const file of files) {
    const now = Deno.readFileSync(file);
    const base = durable.get(file) ?? new Uint8Array(0);
    let size = random() < 0.5 ? base.length : Math.max(base.length, now.length);
    if (zeroTails && now.length > base.length && random() < 0.5) {
      // Cut at a page boundary past the last fdatasync's content.
      const first = Math.ceil(base.length / PAGE) * PAGE;
      size = Math.min(now.length, first + PAGE * Math.floor(random() * (now.length / PAGE)));
    }
    const out = new Uint8Array(size);
    out.set(base.subarray(0, Math.min(size, base.length)));
    for (let p = 0; p < size; p += PAGE) {
      const end = Math.min(p + PAGE, size, now.length);
      if (end > p && random() < 0.5) out.set(now.subarray(p, end), p);
    }
    const target = image + file.slice(dir.length);
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    Deno.writeFileSync(target, out);
  }
  const ackedAtLoss = acked.slice();
  totals.acked += ackedAtLoss.length;
  for (const l of logs) totals.journaled += l.stats.journaled;
  await Promise.all(logs.map((l) => l.close().catch(() => {})));
  await journal.close();
  await Promise.allSettled(waits);
  await Deno.remove(dir, { recursive: true });

  const imageShards = shardDirs.map((d) => image + d.slice(dir.length));
  for (const d of imageShards) Deno.mkdirSync(d, { recursive: true });
  replayJournal(image, imageShards);
  const ks = new Keyspace({ shardCount: SHARDS, databases: 16 });
  await recover(ks, imageShards, new Logger("nothing"));
  await Deno.remove(image, { recursive: true });
  return ackedAtLoss
    .filter((a) => ks.shards[a.shard].tables[0].get(a.key) === undefined)
    .map((a) => `run ${run}${zeroTails ? " (zero tails)" : ""}: ${a.key} of shard ${a.shard}`);
}

Deno.test("journal: every acknowledged sync write survives random power losses (journal wraps, rotations, async and unsynced writes)", async () => {
  let runs = 0;
  const lost: string[] = [];
  const started = Date.now();
  // Bounded: at least 20 runs, then until 60 or 8 s.
  while (runs < 20 || (runs < 60 && Date.now() - started < 8000)) {
    lost.push(...await once(runs, runs % 2 === 1));
    runs++;
  }
  assert(lost.length === 0, `acknowledged writes lost:\n${lost.slice(0, 10).join("\n")}`);
  assert(totals.journaled > 10 * runs && totals.acked > 50 * runs, JSON.stringify(totals));
});
