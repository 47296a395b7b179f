/**
 * Set commands: differential tests against redis-server (RESP2 and RESP3), encodings, random
 * commands' properties, SSCAN's guarantee, and the persistence contract (effects replay).
 */
import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric, unordered } from "./_harness.ts";
import type { Server } from "../server/server.ts";
import { SetValue } from "../engine/values/set.ts";
import { RecordingLog } from "./_effects.ts";
import { tempDir } from "./_temp_dir.ts";

const ints = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i)).join(" ");

const SCRIPT = [
  // SADD / SCARD / SMEMBERS / SISMEMBER / SMISMEMBER
  "SADD s 3 1 2 -5 10",
  "SADD s 3 4",
  "SMEMBERS s",
  "SCARD s",
  "SCARD nokey",
  "SISMEMBER s 4",
  "SISMEMBER s 44",
  "SISMEMBER nokey 4",
  "SMISMEMBER s 1 x 4",
  "SMISMEMBER nokey a b",
  "SADD big 9223372036854775807 -9223372036854775808 0 -1",
  "SMEMBERS big",
  "SADD h a b c 1",
  "~ SMEMBERS h",
  "SMEMBERS nokey",
  "SET str x",
  "SADD str a",
  "SREM str a",
  "SMEMBERS str",
  "SISMEMBER str a",
  "SMISMEMBER str a",
  "SCARD str",
  "SADD s",
  "SREM s",
  "SMEMBERS",
  "SISMEMBER s",
  "SMISMEMBER s",
  'SADD bin "a b" "" "\\"q\\""',
  "~ SMEMBERS bin",
  // SREM
  "SREM s 4 44 3",
  "SMEMBERS s",
  "SREM nokey a",
  "SADD gone a b",
  "SREM gone a b c",
  "SCARD gone",
  "SMEMBERS gone",
  // SRANDMEMBER
  "SRANDMEMBER nokey",
  "SRANDMEMBER nokey 5",
  "SRANDMEMBER nokey -5",
  "SRANDMEMBER s 0",
  "SRANDMEMBER s 100",
  "SRANDMEMBER s 4",
  "SRANDMEMBER s 9223372036854775807",
  "# SRANDMEMBER s 2",
  "# SRANDMEMBER s -20",
  "# SRANDMEMBER h 3",
  "~ SRANDMEMBER h 4",
  "SADD one x",
  "SRANDMEMBER one",
  "SRANDMEMBER one 1",
  "SRANDMEMBER one -3",
  "SRANDMEMBER s abc",
  "SRANDMEMBER s 1.5",
  "SRANDMEMBER s -9223372036854775808",
  "SRANDMEMBER s 9223372036854775808",
  "SRANDMEMBER s 1 2",
  "SRANDMEMBER str",
  "SRANDMEMBER str 1",
  "SRANDMEMBER str abc",
  // SPOP
  "SPOP nokey",
  "SPOP nokey 3",
  "SPOP nokey 0",
  "SPOP s 0",
  "SPOP s -1",
  "SPOP s abc",
  "SPOP s 1 2",
  "SPOP str",
  "SPOP str 1",
  "SPOP str 0",
  "SPOP str -1",
  "SPOP one",
  "SPOP one",
  "SCARD one",
  "SADD p 5 1 3",
  "SPOP p 3",
  "SCARD p",
  "SADD p 5 1 3",
  "SPOP p 9223372036854775807",
  "SADD p 7",
  "SPOP p 1",
  "SADD q a b c d e f g h i j",
  "# SPOP q 2",
  "SCARD q",
  "# SPOP q 7",
  "SCARD q",
  // SMOVE
  "SADD m1 1 2 a",
  "SMOVE m1 m2 1",
  "SMEMBERS m2",
  "SMOVE m1 m2 1",
  "SMOVE m1 m2 a",
  "SMEMBERS m1",
  "~ SMEMBERS m2",
  "SMOVE m1 m1 2",
  "SMOVE m1 m1 z",
  "SMOVE nokey m2 a",
  "SMOVE nokey str a",
  "SMOVE m1 str 2",
  "SMOVE str m1 2",
  "SMOVE m1 m2 2",
  "SCARD m1",
  "SMOVE m1 m2",
  // SINTER / SUNION / SDIFF and their STORE forms
  "SADD i1 1 2 3 4 5",
  "SADD i2 4 5 6",
  "SADD i3 5 6 7",
  "SADD t1 a b c 5",
  "SINTER i1 i2",
  "SINTER i1 i2 i3",
  "SINTER i1",
  "SINTER i1 nokey",
  "SINTER nokey i1",
  "SINTER nokey str",
  "SINTER i1 str",
  "~ SINTER t1 i1",
  "SUNION i1 i2 i3",
  "SUNION nokey i2",
  "SUNION nokey",
  "~ SUNION i1 t1",
  "SUNION i1 str",
  "SDIFF i1 i2 i3",
  "SDIFF i1 nokey",
  "SDIFF nokey i1",
  "SDIFF i1 i1",
  "~ SDIFF t1 i1",
  "SDIFF t1 t1 i1",
  "SDIFF i1 str",
  "SINTER",
  "SINTERCARD 2 i1 i2",
  "SINTERCARD 3 i1 i2 i3",
  "SINTERCARD 1 i1",
  "SINTERCARD 1 i1 LIMIT 2",
  "SINTERCARD 1 i1 limit 0",
  "SINTERCARD 1 i1 LIMIT 100",
  "SINTERCARD 2 i1 nokey",
  "SINTERCARD 2 i1 str",
  "SINTERCARD 0 i1",
  "SINTERCARD -1 i1",
  "SINTERCARD abc i1",
  "SINTERCARD 3 i1 i2",
  "SINTERCARD 1 i1 LIMIT -1",
  "SINTERCARD 1 i1 LIMIT abc",
  "SINTERCARD 1 i1 LIMIT",
  "SINTERCARD 1 i1 i2",
  "SINTERCARD 1 i1 LIMIT 1 LIMIT 2",
  "SINTERCARD 1",
  "SINTERSTORE d1 i1 i2",
  "SMEMBERS d1",
  "SINTERSTORE d1 i1 nokey",
  "SMEMBERS d1",
  "SUNIONSTORE d2 i1 i2 i3",
  "SMEMBERS d2",
  "SDIFFSTORE d3 i1 i2",
  "SMEMBERS d3",
  "SDIFFSTORE d3 i1 i1",
  "SCARD d3",
  "SUNIONSTORE str i1",
  "SMEMBERS str",
  "SET str2 x",
  "SINTERSTORE str2 nokey",
  "GET str2",
  "SUNIONSTORE i1 i1 i2",
  "SMEMBERS i1",
  "SINTERSTORE d4 i1 str2",
  "SINTERSTORE d4",
  "SUNIONSTORE d4",
  "SDIFFSTORE d4",
  "~ SUNIONSTORE d5 t1 i2",
  "~ SMEMBERS d5",
  // SSCAN
  "SSCAN i1 0",
  "SSCAN i1 0 COUNT 1",
  "SSCAN i1 0 MATCH 1*",
  "SSCAN i1 0 MATCH * COUNT 100",
  "SSCAN i1 0 match [2-4] count 2",
  "SSCAN i1 5",
  "SSCAN i1 -1",
  "SSCAN i1 +7",
  'SSCAN i1 ""',
  "SSCAN i1 18446744073709551615",
  "SSCAN i1 18446744073709551616",
  'SSCAN i1 " 1"',
  "SSCAN i1 1x",
  "SSCAN i1 +",
  "SSCAN i1 0 COUNT 0",
  "SSCAN i1 0 COUNT -1",
  "SSCAN i1 0 COUNT abc",
  "SSCAN i1 0 MATCH",
  "SSCAN i1 0 TYPE set",
  "SSCAN i1 0 FOO bar",
  "SSCAN nokey 0",
  "SSCAN nokey 0 COUNT 0",
  "SSCAN nokey abc",
  "SSCAN str 0",
  "SSCAN str 0 COUNT 0",
  "~ SSCAN t1 0",
  "~ SSCAN t1 0 MATCH [a-b]",
  "SSCAN i1",
];

for (const resp3 of [false, true]) {
  Deno.test(`sets: replies match redis-server (RESP${resp3 ? 3 : 2})`, async () => {
    const p = await Differential.start({}, { resp3 });
    try {
      assertEquals(await p.run(SCRIPT), []);
    } finally {
      await p.close();
    }
  });
}

Deno.test("sets: encodings follow Redis 7.0 (intset, hashtable, limit, no way back)", async () => {
  const p = await Differential.start();
  try {
    const script = [
      "SADD e1 1 2 3",
      "SADD e2 01",
      "SADD e3 -0",
      "SADD e4 9223372036854775808",
      "SADD e5 -9223372036854775808 9223372036854775807",
      "SADD e6 +1",
      'SADD e7 " 1"',
      "SADD e8 a",
      "SADD e8 1",
      "SREM e8 a",
      `SADD e9 ${ints(1, 512)}`,
      `SADD e10 ${ints(1, 513)}`,
      "SREM e10 1 2 3 4 5",
      `SADD e11 ${ints(1, 512)}`,
      "SADD e11 513",
      "SADD e12 1 2 x",
      "SREM e12 x",
      "SINTERSTORE e13 e12 e12",
      "SUNIONSTORE e14 e12 e1",
      `SUNIONSTORE e15 e10 e1`,
      "SDIFFSTORE e16 e10 e1",
      "SDIFFSTORE e17 e1 e10",
      "SMOVE e12 e18 1",
      "SADD e19 x",
      "SMOVE e19 e20 x",
      `SADD e21 ${ints(1, 600)}`,
      `SADD e22 ${ints(1, 20)}`,
      "SDIFFSTORE e23 e21 e22",
      "SDIFFSTORE e24 e22 e21",
      "SINTERSTORE e25 e21 e21",
      "SSCAN e1 0",
      "~ SMEMBERS e12",
      "SMEMBERS e14",
    ];
    assertEquals(await p.run(script), []);
    const keys = Array.from({ length: 25 }, (_, i) => `e${i + 1}`);
    assertEquals(await p.encodings(keys), []);
    // A lower limit applies to later changes, and to sets built afterwards.
    const limited = [
      "CONFIG SET set-max-intset-entries 3",
      "SADD l1 1 2 3",
      "SADD l2 1 2 3 4",
      "SADD l3 1 2",
      "SADD l3 3",
      "SADD l3 4",
      "SREM l3 4 3",
      "SUNIONSTORE l4 l1 l3",
      "SUNIONSTORE l5 l1 l2",
      "SMOVE l1 l6 1",
      "SADD e1 4",
      "CONFIG SET set-max-intset-entries 512",
      "SADD l7 1 2 3 4 5",
    ];
    assertEquals(await p.run(limited), []);
    assertEquals(await p.encodings(["l1", "l2", "l3", "l4", "l5", "l6", "l7", "e1"]), []);
  } finally {
    await p.close();
  }
});

Deno.test("sets: SPOP with a count close to the size rebuilds the set (intset again)", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    const limits = server.keyspace.encodingLimits;
    let intsets = 0;
    for (let round = 0; round < 20; round++) {
      await c.call("SADD", "k", "a", "1", "2", "3", "4", "5", "6", "7", "8", "9");
      const popped = await c.call("SPOP", "k", "9");
      assert(popped.startsWith("*9\r\n"), popped);
      const v = server.keyspace.dbs[0].peek("k")!.value as SetValue;
      assertEquals(v.size, 1);
      const left = v.members()[0];
      assertEquals(v.encoding(limits), left === "a" ? "hashtable" : "intset");
      if (left !== "a") intsets++;
      await c.call("SPOP", "k");
    }
    assert(intsets > 0);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("sets: SRANDMEMBER and SPOP return members as Redis's cases say", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  const members = (raw: string) =>
    raw.split("\r\n").filter((l, i) => i > 0 && l !== "" && !l.startsWith("$"));
  try {
    const all = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await c.call("SADD", "k", ...all);
    for (const n of [1, 2, 10, 16, 17, 40, 49]) {
      const got = members(await c.call("SRANDMEMBER", "k", String(n)));
      assertEquals(got.length, n);
      assertEquals(new Set(got).size, n, "distinct members");
      for (const m of got) assert(all.includes(m));
    }
    const rep = members(await c.call("SRANDMEMBER", "k", "-200"));
    assertEquals(rep.length, 200);
    assert(new Set(rep).size < 200, "repeats are allowed");
    assert(new Set(rep).size > 10, "random, not constant");
    let left = new Set(all);
    for (const n of [3, 20, 20]) {
      const got = members(await c.call("SPOP", "k", String(n)));
      assertEquals(got.length, n);
      for (const m of got) assert(left.delete(m), `popped ${m} once`);
      const rest = members(await c.call("SMEMBERS", "k"));
      assertEquals(new Set(rest), left);
    }
    left = new Set();
    assertEquals(members(await c.call("SPOP", "k", "100")).length, 7);
    assertEquals(await c.call("SCARD", "k"), ":0\r\n");
    assertEquals(await c.call("SRANDMEMBER", "k", "-5"), "*0\r\n");
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("random picks: SRANDMEMBER, HRANDFIELD and ZRANDMEMBER share one documented limit", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    await c.call("SADD", "s", "a");
    await c.call("HSET", "h", "a", "1");
    await c.call("ZADD", "z", "1", "a");
    const refused = "-ERR value is out of range, a negative count must be at least -16777216\r\n";
    for (
      const [command, key] of [["SRANDMEMBER", "s"], ["HRANDFIELD", "h"], ["ZRANDMEMBER", "z"]]
    ) {
      assertEquals(await c.call(command, key, "-16777217"), refused, command);
      assertEquals(await c.call(command, key, "-3"), "*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n");
    }
    assertEquals(await c.call("PING"), "+PONG\r\n");
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("sets: SSCAN returns every member present for the whole scan", () => {
  for (let round = 0; round < 20; round++) {
    const s = new SetValue();
    const stable: string[] = [];
    for (let i = 0; i < 300; i++) {
      s.add(`k${i}`);
      if (i % 3 === 0) stable.push(`k${i}`);
    }
    const seen = new Set<string>();
    let cursor = 0;
    let steps = 0;
    let extra = 0;
    do {
      const [next, out] = s.scan(cursor, 1 + (round % 13));
      for (const m of out) seen.add(m);
      cursor = next;
      // Churn between calls: remove non-stable members, add new ones.
      for (let j = 0; j < 5; j++) {
        const victim = `k${Math.floor(Math.random() * 300)}`;
        if (!stable.includes(victim)) s.remove(victim);
        s.add(`x${extra++}`);
      }
      assert(++steps < 10000);
    } while (cursor !== 0);
    for (const m of stable) assert(seen.has(m), `missed ${m} in round ${round}`);
  }
});

function describeSet(v: SetValue, limits: Record<string, number>): string {
  return `${v.encoding(limits)} ${[...v.members()].sort().join(",")}`;
}

Deno.test("sets: effects replay to the live values; snapshots round-trip", async () => {
  const server = await startFerric();
  const log = RecordingLog.install(server);
  const c = await RawClient.connect(server.port);
  try {
    const script = [
      "SADD a 1 2 3",
      "SADD a 3 4 x",
      "SREM a 1 nope",
      `SADD b ${ints(1, 600)}`,
      "SREM b 5 6 7",
      "SPOP b",
      "SPOP b 10",
      "SPOP b 500",
      "SMOVE a c x",
      "SMOVE a c 2",
      "SMOVE c a x",
      "SADD d only",
      "SPOP d",
      "SADD e 1 2",
      "SREM e 1 2",
      "SINTERSTORE f a c",
      "SUNIONSTORE g a b c",
      "SDIFFSTORE h g a",
      "SADD i q r s t u v w",
      "SPOP i 6",
      "SADD j 1 2 3 4 5 6 y",
      "SPOP j 6",
      "SINTERSTORE g nokey",
      'SADD "bin key" "a\\"b" ""',
    ].map(cmd);
    for (const line of script) await c.call(...line);
    const limits = server.keyspace.encodingLimits;
    const replayed = log.replay(0, { dropEmptied: true });
    const live = new Map<string, SetValue>();
    for (const k of server.keyspace.dbs[0].keys("*")) {
      live.set(k, server.keyspace.dbs[0].peek(k)!.value as SetValue);
    }
    assertEquals([...replayed.keys()].sort(), [...live.keys()].sort());
    for (const [k, v] of live) {
      const r = replayed.get(k) as SetValue;
      assertEquals(describeSet(r, limits), describeSet(v, limits), k);
      const round = SetValue.decode(v.encode());
      assertEquals(describeSet(round, limits), describeSet(v, limits), k);
      assertEquals(round.memoryUsage(), v.memoryUsage());
      const copy = v.clone();
      copy.add("zzz-new");
      assert(!v.has("zzz-new"), "clone is deep");
    }
    // Per-element log records stay small: one SADD of one member logs that member only.
    const before = log.records.length;
    await c.call("SADD", "b", "fresh");
    const added = log.records.slice(before);
    assertEquals(added.map((r) => [r.kind, r.data?.map((d) => new TextDecoder().decode(d))]), [
      ["sadd", ["fresh"]],
    ]);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("sets: keyspace notifications match redis-server", async () => {
  const p = await Differential.start();
  try {
    const events = await p.keyspaceEvents([
      "SADD a 1 2 3",
      "SADD a 1",
      "SADD a x",
      "SREM a nope",
      "SREM a 1",
      "SREM a 2 3 x",
      "SADD b 1 2 3 4 5 6 7 8 9", // one-digit members: SPOP b replies with any of them
      "# SPOP b",
      "SPOP b 0",
      "# SPOP b 2",
      "# SPOP b 100",
      "SADD c only",
      "SPOP c",
      "SADD d 1 2",
      "SMOVE d e 1",
      "SMOVE d e 1",
      "SMOVE d e 2",
      "SMOVE e e 1",
      "SADD f 1 2 3",
      "SINTERSTORE g f e",
      "SUNIONSTORE h f e",
      "SDIFFSTORE i f e",
      "SINTERSTORE g f nokey",
      "SDIFFSTORE h f f",
      "SDIFFSTORE nokey2 f f",
    ]);
    assertEquals(events.diffs, []);
    assertEquals(events.ferric, events.redis);
    assert(events.redis.length > 20);
  } finally {
    await p.close();
  }
});

for (const compact of [false, true]) {
  Deno.test(`sets: values and encodings survive a restart (${compact ? "snapshots" : "log replay"})`, async () => {
    await restartCheck(compact);
  });
}

async function restartCheck(compact: boolean): Promise<void> {
  const dir = await tempDir("ferric-sets-");
  const script = [
    "SADD a 1 2 3",
    "SADD a x",
    "SREM a x",
    `SADD b ${ints(1, 520)}`,
    "SPOP b 3",
    "SADD c q r s 1 2 3",
    "SPOP c 5",
    "SMOVE a d 1",
    "SUNIONSTORE e a d",
    "SADD gone 1",
    "SREM gone 1",
  ].map(cmd);
  const snapshot = async (server: Server, c: RawClient) => {
    const out: Record<string, string> = {};
    for (const k of ["a", "b", "c", "d", "e", "gone"]) {
      const e = server.keyspace.dbs[0].peek(k);
      const enc = e === undefined
        ? "none"
        : (e.value as SetValue).encoding(server.keyspace.encodingLimits);
      out[k] = `${enc} ${unordered(await c.call("SMEMBERS", k))}`;
    }
    return out;
  };
  let server = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(server.port);
  let before: Record<string, string>;
  try {
    for (const line of script) await c.call(...line);
    if (compact) assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    before = await snapshot(server, c);
  } finally {
    c.close();
    await server.close();
  }
  server = await startFerric({ "data-dir": dir });
  c = await RawClient.connect(server.port);
  try {
    assertEquals(await snapshot(server, c), before);
    assert(before.b.startsWith("hashtable"));
    assert(before.a.startsWith("hashtable"));
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}
