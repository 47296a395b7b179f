/**
 * Reading values back from the log. A cold string value (dropped from memory by the maxmemory
 * policy, or too large to keep hot) is read from its segment or snapshot on access.
 *
 * @module
 */
import { type Entry, NO_SEGMENT } from "../keyspace.ts";
import { snapshotName } from "./compaction.ts";
import { segmentName } from "./shard_log.ts";

/** Opens and caches read handles of log files. */
export class ColdReader {
  private readonly files = new Map<string, Deno.FsFile>();

  constructor(
    private readonly shardDirs: string[],
    private readonly shardOf: (key: string) => number,
  ) {}

  /** Path of a log file (a segment id, negative for a snapshot). */
  path(shard: number, segment: number): string {
    const name = segment < 0 ? snapshotName(-segment) : segmentName(segment);
    return `${this.shardDirs[shard]}/${name}`;
  }

  /** The file path and value location of an entry (for streaming and KEY_INFO). */
  locate(e: Entry): { path: string; offset: number; length: number } {
    return {
      path: this.path(this.shardOf(e.key), e.locSegment),
      offset: e.locOffset,
      length: e.strLen,
    };
  }

  /** Reads an entry's value bytes from the log (synchronously: a page-cache read). */
  read(e: Entry): Uint8Array {
    if (e.locSegment === NO_SEGMENT) throw new Error(`value of '${e.key}' is not in the log`);
    const path = this.path(this.shardOf(e.key), e.locSegment);
    let file = this.files.get(path);
    if (!file) {
      file = Deno.openSync(path, { read: true });
      this.files.set(path, file);
    }
    const out = new Uint8Array(e.strLen);
    file.seekSync(e.locOffset, Deno.SeekMode.Start);
    let off = 0;
    while (off < out.length) {
      const n = file.readSync(out.subarray(off));
      if (n === null) throw new Error(`${path}: value of '${e.key}' is cut short`);
      off += n;
    }
    return out;
  }

  /** Closes handles of files that compaction removed (or all). */
  forget(paths?: (path: string) => boolean): void {
    for (const [p, f] of this.files) {
      if (paths && !paths(p)) continue;
      f.close();
      this.files.delete(p);
    }
  }
}
