/**
 * The maxmemory guard. Until values can go cold (the durable engine), every policy refuses
 * writes that add data over `maxmemory`, as `noeviction` does, and never deletes data.
 *
 * @module
 */
import type { Config } from "../server/config.ts";
import type { Keyspace } from "./keyspace.ts";

/** Decides whether commands that add data are refused with `-OOM`. */
export class MemoryGuard {
  constructor(private readonly keyspace: Keyspace, private readonly config: Config) {}

  /** Bytes held by keys and values (estimated as they are stored). */
  used(): number {
    return this.keyspace.usedBytes;
  }

  /** True when maxmemory is set and the data is over it. */
  overLimit(): boolean {
    const max = this.config.int("maxmemory");
    return max > 0 && this.keyspace.usedBytes > max;
  }
}
