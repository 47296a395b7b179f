/**
 * SORT and SORT_RO: differential tests against redis-server (RESP2 and RESP3) over sets, sorted
 * sets and lists, with BY (string keys and hash fields), GET, LIMIT, ALPHA, DESC and STORE.
 */
import { assert, assertEquals } from "./_assert.ts";
import { Differential, RawClient, startFerric } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const SETUP = [
  "SADD s 3 1 2 10",
  "MSET w_1 30 w_2 20 w_3 10 w_10 x",
  "HSET o_1 f 3 g a",
  "HSET o_2 f 1 g b",
  "HSET o_3 f 2",
  "HSET o_10 g 1",
  "SADD t b a c",
  "SET str x",
  "ZADD z 3 c 1 a 2 b",
  "ZADD zn 1 10 2 9 3 8",
];

const SET_SCRIPT = [
  ...SETUP,
  "SORT s",
  "SORT s DESC",
  "SORT s ASC",
  "SORT s desc asc",
  "SORT s ALPHA",
  "SORT s ALPHA DESC",
  "SORT s LIMIT 1 2",
  "SORT s LIMIT 0 0",
  "SORT s LIMIT -5 2",
  "SORT s LIMIT 2 -1",
  "SORT s LIMIT 10 5",
  "SORT s LIMIT 4 1",
  "SORT s LIMIT 3 1",
  "SORT s LIMIT 1 9223372036854775807",
  "SORT s LIMIT -9223372036854775808 2",
  "SORT s LIMIT 1",
  "SORT s LIMIT a 1",
  "SORT s LIMIT 1 a",
  "SORT s LIMIT 9223372036854775808 1",
  "SORT s BY w_*",
  "SET w_10 5",
  "SORT s BY w_*",
  "SORT s BY w_* DESC",
  "SORT s BY w_* ALPHA",
  "SORT s BY w_* ALPHA DESC",
  "SORT s BY w_* LIMIT 1 2",
  "SORT s BY w_* LIMIT 1 2 GET #",
  "SORT s BY nosort",
  "SORT s BY nosort DESC",
  "SORT s BY nosort LIMIT 1 2",
  "SORT s BY nosort GET # GET w_*",
  // A BY without `*` leaves the result unsorted even when a later BY has one.
  "SORT s BY nosort BY w_*",
  "SORT s BY w_* BY nosort",
  "SORT s BY #",
  "SORT s GET w_* GET # GET nokey_* GET x GET #x",
  "SORT s GET w_*_*",
  "SORT s BY o_*->f",
  "SORT s BY o_*->f DESC GET # GET o_*->f GET o_*->g",
  "SORT s BY o_*->f ALPHA",
  "SORT s BY o_*->",
  "SORT s BY o_*->g",
  "SORT s BY o_*->g ALPHA",
  "SORT s BY w_*->f",
  "SORT s BY o_*",
  "SORT s GET o_* GET o_*-> GET o->f_*",
  "SORT s BY nokey_*",
  "SORT s BY nokey_* DESC",
  "SORT t ALPHA",
  "SORT t ALPHA DESC",
  "SORT t",
  "SORT t BY nokey_*",
  "SORT t BY nokey_* DESC",
  "~ SORT t BY nosort",
  "~ SORT t BY nokey_* ALPHA",
  "SORT t ALPHA LIMIT 1 1",
  "SORT str",
  "SORT str BY nosort",
  "SORT o_1",
  "SORT nokey",
  "SORT nokey BY w_* GET # LIMIT 0 10",
  "SORT nokey ALPHA DESC",
  "SORT s FOO",
  "SORT s STORE",
  "SORT s BY",
  "SORT s GET",
  "SORT s ALPHA LIMIT",
  "SORT",
  "SORT_RO s",
  "SORT_RO s ALPHA DESC LIMIT 0 2 GET # GET w_*",
  "SORT_RO s STORE d",
  "SORT_RO s BY w_*",
  "SORT_RO str",
  "SORT_RO nokey",
  "SORT_RO",
  // Scores as SORT reads them (strtod with Redis's checks).
  'SADD sc1 1.5 "  2" 1e3 -inf +5 .5 5. 0x10 "" infinity',
  "SORT sc1",
  "SORT sc1 DESC",
  "SADD sc4 nan",
  "SORT sc4",
  'SADD sc5 " "',
  "SORT sc5",
  'SADD sc6 "5 "',
  "SORT sc6",
  "SADD sc7 1e-300 0x1p-1070",
  "SORT sc7",
  [bytes("SADD"), bytes("sc8"), bytes("7\u0000x"), bytes("2")],
  "SORT sc8",
  [bytes("SET"), bytes("nul"), bytes("v")],
  [bytes("SORT"), bytes("s"), bytes("GET"), bytes("nul\u0000*")],
  [bytes("SORT"), bytes("s"), bytes("BY"), bytes("w\u0000_*")],
  // Sorted sets: their own order with BY nosort, converted to skiplist by SORT.
  "SORT z ALPHA",
  "SORT z ALPHA DESC",
  "SORT z BY nosort",
  "SORT z BY nosort DESC",
  "SORT z BY nosort LIMIT 1 1",
  "SORT z BY nosort DESC LIMIT 1 5",
  "SORT z BY nosort LIMIT 5 5",
  "SORT z BY nosort LIMIT 0 -1",
  "SORT z",
  "SORT zn",
  "SORT zn DESC",
  "SORT zn BY nosort GET #",
  "SORT zn BY nosort DESC LIMIT 1 1",
  "SORT_RO zn BY w_*",
  "ZADD zl 1 a",
  "OBJECT ENCODING zl",
  "SORT_RO zl ALPHA",
  "OBJECT ENCODING zl",
  // Out-of-range scores last: strtod's ERANGE stays in redis-server's errno (SORT does not
  // reset it), which makes its later numeric sorts fail until a system call clears it.
  "SADD sc2 1e-310",
  "SORT sc2",
  "SADD sc3 1e400",
  "SORT sc3",
];

for (const resp3 of [false, true]) {
  Deno.test(`sort: replies match redis-server over sets and sorted sets (RESP${resp3 ? 3 : 2})`, async () => {
    const p = await Differential.start({}, { resp3 });
    try {
      assertEquals(await p.run(SET_SCRIPT), []);
    } finally {
      await p.close();
    }
  });
}

const LIST_SCRIPT = [
  ...SETUP,
  "RPUSH l 3 1 2 10 2",
  "RPUSH la b a c a",
  "SORT l",
  "SORT l DESC",
  "SORT l ALPHA",
  "SORT l BY nosort",
  "SORT l BY nosort DESC",
  "SORT l BY nosort LIMIT 1 2",
  "SORT l BY nosort DESC LIMIT 1 2",
  "SORT l BY nosort LIMIT 4 10",
  "SORT l BY nosort LIMIT 5 1",
  "SORT l BY nosort LIMIT -1 2",
  "SORT l BY nosort LIMIT 2 0",
  "SORT l BY w_* GET # GET w_*",
  "SORT la",
  "SORT la ALPHA",
  "SORT la BY nokey_* ALPHA",
  "SORT la BY nokey_* ALPHA DESC",
  "SORT la BY nokey_*",
  "SORT_RO la ALPHA LIMIT 1 2",
  // STORE writes a list (and deletes the destination for an empty result).
  "SORT l STORE dst",
  "LRANGE dst 0 -1",
  "TYPE dst",
  "OBJECT ENCODING dst",
  "SORT l DESC LIMIT 1 2 STORE dst",
  "LRANGE dst 0 -1",
  "SORT s GET w_* GET nokey_* STORE dst",
  "LRANGE dst 0 -1",
  "SORT t BY nosort STORE dst",
  "LRANGE dst 0 -1",
  "SORT t BY nosort DESC STORE dst",
  "LRANGE dst 0 -1",
  "SORT z BY nosort DESC STORE dst",
  "LRANGE dst 0 -1",
  "SET dst x",
  "EXPIRE dst 100",
  "SORT la ALPHA STORE dst",
  "TTL dst",
  "LRANGE dst 0 -1",
  "SORT nokey STORE dst",
  "EXISTS dst",
  "SORT la STORE dst",
  "EXISTS dst",
  "SORT la ALPHA LIMIT 9 1 STORE dst",
  "SORT la ALPHA STORE dst STORE dst2",
  "EXISTS dst dst2",
  "LRANGE dst2 0 -1",
  "SORT l STORE l",
  "LRANGE l 0 -1",
  "SORT str STORE dst",
  // ALPHA compares as C strings (strcoll) when it replies, each up to its first NUL byte, and
  // whole strings with STORE.
  ["RPUSH", "nul", "b", "b\0", "a", "\0\xff", "", "b\0a", "c", "b"],
  "SORT nul ALPHA",
  "SORT nul ALPHA DESC",
  "SORT nul ALPHA STORE dst",
  "LRANGE dst 0 -1",
];

for (const resp3 of [false, true]) {
  Deno.test(`sort: replies match redis-server over lists, and STORE (RESP${resp3 ? 3 : 2})`, async () => {
    const p = await Differential.start({}, { resp3 });
    try {
      assertEquals(await p.run(LIST_SCRIPT), []);
    } finally {
      await p.close();
    }
  });
}

Deno.test("sort: the list STORE writes survives a restart", async () => {
  const dir = await tempDir("ferric-sort-");
  let server = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(server.port);
  const expected = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
  try {
    await c.call("SADD", "s", "b", "a", "c");
    assertEquals(await c.call("SORT", "s", "ALPHA", "STORE", "d"), ":3\r\n");
    assertEquals(await c.call("LRANGE", "d", "0", "-1"), expected);
    await c.call("SET", "gone", "x");
    assertEquals(await c.call("SORT", "nokey", "STORE", "gone"), ":0\r\n");
  } finally {
    c.close();
    await server.close();
  }
  server = await startFerric({ "data-dir": dir });
  c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("LRANGE", "d", "0", "-1"), expected);
    assertEquals(await c.call("TYPE", "d"), "+list\r\n");
    assertEquals(await c.call("EXISTS", "gone"), ":0\r\n");
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sort: STORE sends Redis's keyspace notifications", async () => {
  const p = await Differential.start();
  try {
    const events = await p.keyspaceEvents([
      "RPUSH l 3 1 2",
      "SORT l STORE d",
      "SORT l LIMIT 0 0 STORE d",
      "SORT nokey STORE d",
      "SORT_RO l",
      "SORT l",
    ]);
    assertEquals(events.diffs, []);
    assertEquals(events.ferric, events.redis);
    assert(events.redis.some((m) => m.includes("sortstore")));
  } finally {
    await p.close();
  }
});

Deno.test("sort: BY and GET need read access to every key (ACL)", async () => {
  const p = await Differential.start();
  try {
    const diffs = await p.run([
      "SADD ks 2 1",
      "SET kw_1 5",
      "ACL SETUSER limited on nopass ~k* +@all",
      "ACL SETUSER reader on nopass %R~* +@all",
      "AUTH limited x",
      "SORT ks",
      "SORT ks BY nosort",
      "SORT ks BY kw_*",
      "SORT ks GET #",
      "SORT ks BY kw_* GET #",
      "SORT ks LIMIT 0 1 GET kw_*",
      "SORT_RO ks BY kw_*",
      "AUTH reader x",
      "SORT ks BY kw_* GET # GET kw_*",
      "SORT ks GET # STORE kdst",
    ]);
    assertEquals(diffs, []);
  } finally {
    await p.close();
  }
});
