/**
 * KeyTable: incremental resizing (lookups, adds and removes while old buckets are still moving),
 * SCAN's guarantee across growth and shrinking in the middle of a scan, random picks.
 */
import { assert, assertEquals } from "../tests/_assert.ts";
import { type Entry, Keyspace, type KeyTable } from "./keyspace.ts";

const VALUE = new Uint8Array([1]);

function setup(): { ks: Keyspace; table: KeyTable } {
  const ks = new Keyspace({ shardCount: 1, databases: 1 });
  return { ks, table: ks.shards[0].tables[0] };
}

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Every key of `keys` is found (by string and by bytes), and nothing else is in the table. */
function assertHolds(table: KeyTable, keys: Set<string>): void {
  assertEquals(table.size, keys.size);
  for (const k of keys) {
    assertEquals(table.get(k)?.key, k, `get ${k}`);
    assertEquals(table.getBytes(bytesOf(k))?.key, k, `getBytes ${k}`);
  }
  const seen = table.entries().map((e) => e.key);
  assertEquals(seen.length, keys.size);
  assertEquals(new Set(seen).size, keys.size);
  for (const k of seen) assert(keys.has(k), `stray ${k}`);
}

Deno.test("KeyTable: a resize moves buckets a few at a time, and the table stays whole meanwhile", () => {
  const { ks, table } = setup();
  const db = ks.dbs[0];
  const keys = new Set<string>();
  let sawRehash = 0;
  // Grows through 2^15 buckets: every step of each resize is checked on the way.
  for (let i = 0; i < 40_000; i++) {
    const k = `key:${i}`;
    db.set(k, VALUE, 0);
    keys.add(k);
    if (table.rehashing) {
      sawRehash++;
      if (sawRehash % 997 === 0) assertHolds(table, keys);
    }
  }
  assert(sawRehash > 10_000, `rehashing seen on ${sawRehash} adds`);
  assertHolds(table, keys);
  // Shrinks: removes move the buckets of each smaller array over.
  let shrinking = 0;
  for (let i = 0; i < 39_990; i++) {
    const k = `key:${i}`;
    db.delete(k);
    keys.delete(k);
    if (table.rehashing && ++shrinking % 499 === 0) assertHolds(table, keys);
  }
  assert(shrinking > 0);
  assertHolds(table, keys);
  // The cron finishes a resize that writes left under way.
  for (let i = 0; i < 5000; i++) db.set(`more:${i}`, VALUE, 0), keys.add(`more:${i}`);
  if (table.rehashing) {
    ks.rehash(1000);
    assert(!table.rehashing);
  }
  assertHolds(table, keys);
});

Deno.test("KeyTable: random operations against a Set, looking up by string and bytes", () => {
  const { ks, table } = setup();
  const db = ks.dbs[0];
  const keys = new Set<string>();
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 60_000; round++) {
    // Phases of growth and of shrinking, so both kinds of resize are interrupted by the other.
    const growing = Math.floor(round / 15_000) % 2 === 0;
    const k = `k${rand(growing ? 50_000 : 20_000)}`;
    if (rand(100) < (growing ? 70 : 25)) {
      if (!keys.has(k)) db.set(k, VALUE, 0), keys.add(k);
    } else if (keys.has(k)) {
      db.delete(k);
      keys.delete(k);
    }
    assertEquals(table.get(k) !== undefined, keys.has(k));
    if (round % 5000 === 0) assertHolds(table, keys);
    if (round % 50 === 0 && keys.size > 0) assert(keys.has(table.random()!.key));
  }
  assertHolds(table, keys);
});

Deno.test("KeyTable: SCAN returns every key present for the whole scan, through resizes under way", () => {
  for (const grow of [true, false]) {
    const { ks, table } = setup();
    const db = ks.dbs[0];
    const stable = new Set<string>();
    // Keys that stay for the whole scan, and churn that resizes the table while it runs.
    for (let i = 0; i < 3000; i++) db.set(`stay:${i}`, VALUE, 0), stable.add(`stay:${i}`);
    if (!grow) { for (let i = 0; i < 60_000; i++) db.set(`tmp:${i}`, VALUE, 0); }
    const seen = new Set<string>();
    let cursor = 0;
    let step = 0;
    let duringRehash = 0;
    do {
      const out: Entry[] = [];
      if (table.rehashing) duringRehash++;
      cursor = table.scan(cursor, 10, out);
      for (const e of out) seen.add(e.key);
      step++;
      // Growing: 40 new keys per scan step; shrinking: 200 of the temporary keys go.
      if (grow) { for (let i = 0; i < 40; i++) db.set(`new:${step}:${i}`, VALUE, 0); }
      else {
        for (let i = 0; i < 200; i++) {
          const k = `tmp:${(step - 1) * 200 + i}`;
          if (table.get(k)) db.delete(k);
        }
      }
    } while (cursor !== 0);
    assert(duringRehash > 0, "the scan ran while a resize was under way");
    for (const k of stable) assert(seen.has(k), `${grow ? "growing" : "shrinking"}: missed ${k}`);
  }
});

Deno.test("KeyTable: reserve() makes room at once (recovery), with no resize left under way", () => {
  const { table } = setup();
  table.reserve(100_000);
  assert(!table.rehashing);
});
