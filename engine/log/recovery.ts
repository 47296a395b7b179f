/**
 * Recovery: rebuilds the keyspace from the shard logs at start.
 *
 * Per shard, the newest snapshot `NNNNN.snap` (written by compaction) is loaded first, then
 * every segment `NNNNN.log` with a larger id, in order. A torn tail of the newest segment (a short
 * record or a bad CRC, left by a crash in the middle of a write) is truncated, with a log line
 * saying which file, where and how many bytes. A bad record in the middle of an older segment is
 * reported, and reading resumes at the next valid record.
 *
 * Batches (the records of one command or transaction) are applied whole or not at all: a first
 * pass over every shard finds which batch parts are complete, the second applies the records.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Keyspace } from "../keyspace.ts";
import { decodeParts } from "../values/codec.ts";
import { valueDecoder } from "../values/types.ts";
import type { Logger } from "../../server/log.ts";
import { ALL_DBS, HEADER_SIZE, type LogRecord, readRecord, RecordType } from "./record.ts";

/** The value of an entry loaded cold (its bytes stay in the log until read). */
const COLD = new Uint8Array(0);

/** A segment or snapshot file found in a shard directory. */
export interface LogFile {
  id: number;
  path: string;
  snapshot: boolean;
  size: number;
}

/** What recovery found in one shard. */
export interface ShardRecovery {
  /** Files still part of the log after recovery (snapshot first), in order. */
  files: LogFile[];
  records: number;
  bytes: number;
  truncatedBytes: number;
  corruptBytes: number;
  droppedBatches: number;
  /** The largest log sequence number seen. */
  lastLsn: number;
}

/** Lists a shard directory's log files: the newest snapshot and the segments after it. */
export async function listLogFiles(dir: string): Promise<LogFile[]> {
  const all: LogFile[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = /^(\d+)\.(log|snap)$/.exec(e.name);
    if (!m || !e.isFile) continue;
    const path = `${dir}/${e.name}`;
    all.push({
      id: Number(m[1]),
      path,
      snapshot: m[2] === "snap",
      size: (await Deno.stat(path)).size,
    });
  }
  const snaps = all.filter((f) => f.snapshot).sort((a, b) => a.id - b.id);
  const base = snaps.at(-1);
  const segments = all.filter((f) => !f.snapshot && (!base || f.id > base.id)).sort((a, b) =>
    a.id - b.id
  );
  return base ? [base, ...segments] : segments;
}

type Visit = (rec: LogRecord) => void;

/**
 * Visits every valid record of a file's bytes. Returns the offset after the last valid record
 * and the number of bytes skipped over corrupt records in the middle.
 */
function scan(buf: Buffer, visit: Visit): { end: number; skipped: number; tail: boolean } {
  let pos = 0;
  let skipped = 0;
  let end = 0;
  while (pos < buf.length) {
    const r = readRecord(buf, pos);
    if (typeof r !== "string") {
      visit(r);
      pos += r.size;
      end = pos;
      continue;
    }
    // Look for the next valid record; if there is none, this is a torn tail.
    let next = -1;
    for (let q = pos + 1; q + HEADER_SIZE <= buf.length; q++) {
      if (typeof readRecord(buf, q) !== "string") {
        next = q;
        break;
      }
    }
    if (next < 0) return { end, skipped, tail: true };
    skipped += next - pos;
    pos = next;
  }
  return { end, skipped, tail: false };
}

/** Keys of complete batch parts found in one shard: batch id → participant count. */
type BatchParts = Map<number, number>;

async function readFile(path: string): Promise<Buffer> {
  const bytes = await Deno.readFile(path);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** First pass over a shard: truncates a torn tail and collects complete batch parts. */
async function survey(
  shard: number,
  files: LogFile[],
  parts: BatchParts,
  log: Logger,
  report: ShardRecovery,
): Promise<void> {
  let open = -1;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const buf = await readFile(f.path);
    const result = scan(buf, (r) => {
      if (r.type === RecordType.BatchBegin) open = r.payload.readDoubleLE(0);
      else if (r.type === RecordType.BatchEnd && open === r.payload.readDoubleLE(0)) {
        parts.set(open, (parts.get(open) ?? 0) + 1);
        open = -1;
      }
    });
    if (result.skipped > 0) {
      report.corruptBytes += result.skipped;
      log.warning(
        "recovery",
        `shard ${shard}: ${f.path}: skipped ${result.skipped} corrupt bytes; later records kept`,
      );
    }
    if (result.end < buf.length) {
      const dropped = buf.length - result.end;
      if (i === files.length - 1 && !f.snapshot) {
        report.truncatedBytes += dropped;
        log.warning(
          "recovery",
          `shard ${shard}: ${f.path}: torn tail at offset ${result.end}, truncated ${dropped} bytes`,
        );
        await Deno.truncate(f.path, result.end);
        f.size = result.end;
      } else {
        report.corruptBytes += dropped;
        log.warning(
          "recovery",
          `shard ${shard}: ${f.path}: ${dropped} unreadable bytes at offset ${result.end} (not the newest file; kept as is)`,
        );
      }
    }
  }
}

/**
 * Applies one record of shard `shard`, read from file `fileId` (negative: a snapshot), to the
 * keyspace, and keeps each entry's log bookkeeping (lsn, value location, live log bytes). A
 * record no newer than the entry's state (a snapshot already holds it) is skipped. Payload views
 * are copied before being kept.
 */
function apply(
  ks: Keyspace,
  shard: number,
  fileId: number,
  r: LogRecord,
  now: number,
  keepHot: (length: number) => boolean,
): void {
  if (r.db !== ALL_DBS && r.db >= ks.dbs.length && r.type !== RecordType.SwapDb) {
    throw new Error(`record for database ${r.db}, but only ${ks.dbs.length} are configured`);
  }
  if (r.type === RecordType.FlushDb) {
    // Clears this shard's part only: every shard logs its own flush record.
    const tables = ks.shards[shard].tables;
    for (let d = 0; d < tables.length; d++) {
      if (r.db !== ALL_DBS && d !== r.db) continue;
      for (const e of [...tables[d].map.values()]) if (e.lsn < r.lsn) ks.dbs[d].delete(e.key);
    }
    return;
  }
  if (r.type === RecordType.SwapDb) {
    const tables = ks.shards[shard].tables;
    const a = r.payload.readUInt16LE(0), b = r.payload.readUInt16LE(2);
    [tables[a], tables[b]] = [tables[b], tables[a]];
    return;
  }
  const db = ks.dbs[r.db];
  let e = db.peek(r.key);
  if (e !== undefined && e.lsn >= r.lsn) return;
  const expired = r.expireAt !== 0 && r.expireAt <= now;
  switch (r.type) {
    case RecordType.PutString: {
      if (expired) {
        db.delete(r.key);
        return;
      }
      const hot = keepHot(r.payload.length);
      e = db.set(r.key, hot ? new Uint8Array(r.payload) : COLD, r.expireAt);
      e.loc = {
        segment: fileId,
        offset: r.offset + HEADER_SIZE + r.key.length,
        length: r.payload.length,
      };
      e.cold = !hot;
      e.logBytes = r.size;
      break;
    }
    case RecordType.PutValue: {
      const [type, snapshot] = decodeParts(r.payload);
      const name = Buffer.from(type).toString("latin1");
      const decode = valueDecoder(name);
      if (!decode) throw new Error(`unknown value type '${name}'`);
      if (expired) {
        db.delete(r.key);
        return;
      }
      e = db.set(r.key, decode(new Uint8Array(snapshot)), r.expireAt);
      e.logBytes = r.size;
      break;
    }
    case RecordType.Op: {
      const [type, op, ...args] = decodeParts(r.payload);
      const name = Buffer.from(type).toString("latin1");
      if (e === undefined) {
        const decode = valueDecoder(name);
        if (!decode) throw new Error(`unknown value type '${name}'`);
        e = db.set(r.key, decode(null), 0);
        e.logBytes = 0;
      }
      if (e.value instanceof Uint8Array || e.value.type !== name) {
        throw new Error(`'${name}' effect on key of another type`);
      }
      e.value.apply(Buffer.from(op).toString("latin1"), args.map((a) => new Uint8Array(a)));
      if (e.value.isEmpty()) {
        db.delete(r.key);
        return;
      }
      e.logBytes += r.size;
      break;
    }
    case RecordType.Delete:
      db.delete(r.key);
      return;
    case RecordType.Expire:
      if (e === undefined) return;
      if (expired) {
        db.delete(r.key);
        return;
      }
      db.setExpire(e, r.expireAt);
      e.logBytes += r.size;
      break;
    default:
      return;
  }
  e.lsn = r.lsn;
}

/**
 * Recovers every shard into `ks` (whose effect log must not record while this runs). `progress`
 * is called now and then with (shard, records so far, fraction of the shard's bytes read).
 */
export async function recover(
  ks: Keyspace,
  shardDirs: string[],
  log: Logger,
  progress: (shard: number, records: number, fraction: number) => void = () => {},
  keepHot: (length: number) => boolean = () => true,
): Promise<ShardRecovery[]> {
  const reports: ShardRecovery[] = [];
  const fileLists: LogFile[][] = [];
  const parts: BatchParts = new Map();
  for (let s = 0; s < shardDirs.length; s++) {
    const report: ShardRecovery = {
      files: [],
      records: 0,
      bytes: 0,
      truncatedBytes: 0,
      corruptBytes: 0,
      droppedBatches: 0,
      lastLsn: 0,
    };
    const files = await listLogFiles(shardDirs[s]);
    await survey(s, files, parts, log, report);
    report.files = files;
    reports.push(report);
    fileLists.push(files);
  }
  const now = Date.now();
  ks.now = now;
  for (let s = 0; s < shardDirs.length; s++) {
    const report = reports[s];
    const total = fileLists[s].reduce((n, f) => n + f.size, 0) || 1;
    let done = 0;
    let lastReport = performance.now();
    // Batch state carries across files: a batch may straddle a segment rotation.
    let batch: LogRecord[] | null = null;
    let batchWhole = false;
    for (const f of fileLists[s]) {
      const buf = await readFile(f.path);
      const fileId = f.snapshot ? -f.id : f.id;
      scan(buf.subarray(0, f.size), (r) => {
        report.records++;
        if (r.lsn > report.lastLsn) report.lastLsn = r.lsn;
        if (r.type === RecordType.BatchBegin) {
          const id = r.payload.readDoubleLE(0);
          batchWhole = parts.get(id) === r.payload.readUInt16LE(8);
          batch = [];
          return;
        }
        if (r.type === RecordType.BatchEnd) {
          if (batch && batchWhole) { for (const b of batch) apply(ks, s, fileId, b, now, keepHot); }
          else if (batch) report.droppedBatches++;
          batch = null;
          return;
        }
        if (batch) {
          batch.push(r);
          return;
        }
        apply(ks, s, fileId, r, now, keepHot);
        if ((report.records & 0xffff) === 0 && performance.now() - lastReport > 1000) {
          lastReport = performance.now();
          progress(s, report.records, (done + r.offset) / total);
        }
      });
      done += f.size;
      report.bytes += f.size;
    }
    if (batch) report.droppedBatches++; // a batch whose end never reached the disk
    if (report.droppedBatches > 0) {
      log.warning("recovery", `shard ${s}: dropped ${report.droppedBatches} incomplete batch(es)`);
    }
    progress(s, report.records, 1);
  }
  return reports;
}
