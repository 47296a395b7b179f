/** MemberTable: hashes, binary members, growth and deletion against a Map, clone, misuse. */
import { assert, assertEquals, assertThrows } from "../../tests/_assert.ts";
import { hashBytes, hashMember, MemberTable } from "./member_table.ts";
import { latin1 } from "../bytes.ts";

function bytesOf(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Members and values of a table, checked against a Map: by string, by bytes, size, values. */
function assertSame(t: MemberTable<number>, ref: Map<string, number>): void {
  assertEquals(t.size, ref.size);
  for (const [k, v] of ref) {
    assertEquals(t.get(k), v, `get ${JSON.stringify(k)}`);
    assertEquals(t.getBytes(bytesOf(k)), v, `getBytes ${JSON.stringify(k)}`);
  }
  const values: number[] = [];
  t.forEachValue((v) => values.push(v));
  assertEquals(values.sort((a, b) => a - b), [...ref.values()].sort((a, b) => a - b));
}

Deno.test("MemberTable: string and byte hashes agree for every byte value and length", () => {
  for (let n = 0; n <= 9; n++) {
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c).repeat(n) + "\xff".repeat(n % 3);
      assertEquals(hashBytes(bytesOf(s), s.length), hashMember(s));
      assert(hashMember(s) !== 0);
    }
  }
  // Members longer than the string scratch buffer.
  const long = "\x00\x80\xff".repeat(1000);
  assertEquals(hashBytes(bytesOf(long), long.length), hashMember(long));
});

Deno.test("MemberTable: binary members with every byte value, the empty member and long ones", () => {
  const t = new MemberTable<number>();
  const ref = new Map<string, number>();
  const members = [""];
  for (let c = 0; c < 256; c++) members.push(String.fromCharCode(c), "a" + String.fromCharCode(c));
  members.push("x".repeat(5000), "x".repeat(4999) + "y", "\x00".repeat(300));
  members.forEach((m, i) => {
    assertEquals(t.getBytes(bytesOf(m)), undefined);
    assertEquals(t.insertMissing(latin1(bytesOf(m)), i), m);
    ref.set(m, i);
  });
  assertSame(t, ref);
  // A member differing from a stored one only in its last byte or its length is not found.
  assertEquals(t.get("x".repeat(5000 - 1)), undefined);
  assertEquals(t.getBytes(bytesOf("x".repeat(4999) + "z")), undefined);
  assertEquals(t.delete(""), 0);
  ref.delete("");
  assertEquals(t.deleteBytes(bytesOf("\x00".repeat(300))), members.length - 1);
  ref.delete("\x00".repeat(300));
  assertSame(t, ref);
});

Deno.test("MemberTable: growth, shrinking and random churn match a Map", () => {
  const t = new MemberTable<number>();
  const ref = new Map<string, number>();
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let step = 0; step < 60000; step++) {
    // Phases: mostly inserts, then mostly deletes (the table shrinks), then balanced churn.
    const phase = Math.floor(step / 20000);
    const m = `m${rand(phase === 2 ? 500 : 30000)}`;
    const op = rand(10);
    const insert = phase === 0 ? op < 8 : phase === 1 ? op < 2 : op < 5;
    if (insert) {
      if (rand(2) === 0) t.set(m, step);
      else if (t.getBytes(bytesOf(m)) === undefined) t.insertMissing(m, step);
      else t.set(m, step);
      ref.set(m, step);
    } else {
      const removed = rand(2) === 0 ? t.delete(m) : t.deleteBytes(bytesOf(m));
      assertEquals(removed, ref.get(m));
      ref.delete(m);
    }
    if (step % 5000 === 4999) assertSame(t, ref);
  }
  assertSame(t, ref);
  for (const k of [...ref.keys()]) {
    t.delete(k);
    ref.delete(k);
  }
  assertSame(t, ref);
  assert(t.tableBytes() < 1000, "an emptied table shrinks");
});

Deno.test("MemberTable: clone is independent; clear empties", () => {
  const t = new MemberTable<number>();
  for (let i = 0; i < 100; i++) t.set(`k${i}`, i);
  const c = t.clone();
  t.delete("k1");
  c.set("new", 1);
  assertEquals(c.get("k1"), 1);
  assertEquals(t.get("new"), undefined);
  assertEquals([t.size, c.size], [99, 101]);
  t.clear();
  assertEquals([t.size, t.get("k2")], [0, undefined]);
  assertEquals(c.get("k2"), 2);
});

Deno.test("MemberTable: insertMissing needs a missed lookup just before it", () => {
  const t = new MemberTable<number>();
  assertThrows(() => t.insertMissing("a", 1));
  assertEquals(t.get("a"), undefined);
  t.insertMissing("a", 1);
  assertThrows(() => t.insertMissing("b", 2));
  assertEquals(t.get("a"), 1);
  assertThrows(() => t.insertMissing("a", 3), Error, "without a missed lookup");
  assertEquals(t.getBytes(Uint8Array.of(0x62)), undefined);
  // Another member than the one looked up (checked by length).
  assertThrows(() => t.insertMissing("cc", 3), Error, "without a missed lookup");
  t.insertMissing("b", 2);
  assertEquals([t.get("a"), t.get("b"), t.get("c")], [1, 2, undefined]);
  assert(!t.add("a", 9) && t.add("c", 3));
  assertEquals([t.get("a"), t.get("c"), t.size], [1, 3, 3]);
});

Deno.test("MemberTable: incremental resizes keep every member findable, counted and iterated", () => {
  const t = new MemberTable<number>();
  const ref = new Map<string, number>();
  let seed = 11;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let resizingSeen = 0;
  const check = () => {
    // Iteration first: lookups move members found in the old arrays.
    const values: number[] = [];
    t.forEachValue((v) => values.push(v));
    assertEquals(values.sort((a, b) => a - b), [...ref.values()].sort((a, b) => a - b));
    assertSame(t, ref);
  };
  for (let round = 0; round < 120_000; round++) {
    // Phases of growth and of shrinking, each interrupting resizes of the other kind.
    const growing = Math.floor(round / 20_000) % 2 === 0;
    const k = `m${rand(growing ? 30_000 : 8_000)}`;
    const op = rand(100);
    if (op < (growing ? 60 : 20)) {
      if (rand(2) === 0) t.set(k, round);
      else if (t.getBytes(bytesOf(k)) === undefined) t.insertMissing(k, round);
      else t.set(k, round);
      ref.set(k, round);
    } else if (op < 90) {
      const expect = ref.get(k);
      assertEquals(rand(2) === 0 ? t.delete(k) : t.deleteBytes(bytesOf(k)), expect);
      ref.delete(k);
    } else {
      assertEquals(t.get(k), ref.get(k));
    }
    if (t.resizing) {
      resizingSeen++;
      if (resizingSeen % 3001 === 0) check();
    }
    assertEquals(t.size, ref.size);
  }
  assert(resizingSeen > 1000, `resizing seen on ${resizingSeen} operations`);
  check();
  // A clone made during a resize holds everything.
  while (!t.resizing) t.set(`grow${t.size}`, -1), ref.set(`grow${t.size - 1}`, -1);
  const c = t.clone();
  assertSame(c, ref);
});

Deno.test("member table: reserve makes room at once, so inserts never resize", () => {
  const t = new MemberTable<number>();
  t.set("before", 0);
  t.reserve(100_000);
  assert(!t.resizing);
  const bytes = t.tableBytes();
  for (let i = 1; i < 100_000; i++) {
    t.set(`m${i}`, i);
    assert(!t.resizing, `resizing at ${i}`);
  }
  assertEquals(t.tableBytes(), bytes);
  assertEquals(t.size, 100_000);
  assertEquals(t.get("before"), 0);
  for (let i = 1; i < 100_000; i += 997) assertEquals(t.get(`m${i}`), i);
  // Reserving less than it holds changes nothing.
  t.reserve(10);
  assertEquals(t.tableBytes(), bytes);
});
