import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";
import { RecordingLog } from "./_effects.ts";
import type { Entry } from "../engine/keyspace.ts";
import { type HashField, HashValue } from "../engine/values/hash.ts";
import { tempDir } from "./_temp_dir.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits a raw RESP2 flat array of bulk strings into its items (test-sized replies only). */
function bulks(raw: string): string[] {
  const out: string[] = [];
  const lines = raw.split("\r\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("$") && lines[i] !== "$-1") out.push(lines[++i]);
  }
  return out;
}

/** Integers of a raw RESP array of integers. */
function ints(raw: string): number[] {
  return raw.split("\r\n").filter((l) => l.startsWith(":")).map((l) => Number(l.slice(1)));
}

const BASIC = [
  "HSET h a 1 b 2 c 3",
  "HGETALL h",
  "HSET h a 5 d 4",
  "HGETALL h",
  "HKEYS h",
  "HVALS h",
  "HLEN h",
  "HGET h a",
  "HGET h zz",
  "HMGET h a zz b",
  "HMGET nokey a b",
  "HSTRLEN h a",
  "HSTRLEN h zz",
  "HSTRLEN nokey a",
  "HEXISTS h a",
  "HEXISTS h zz",
  "HEXISTS nokey a",
  "HDEL h a zz",
  "HDEL h zz",
  "HDEL nokey a",
  "HGETALL h",
  "HSET h a 9",
  "HGETALL h",
  "HSETNX h b 9",
  "HSETNX h e 9",
  "HSETNX new f v",
  "HGETALL new",
  "HDEL new f",
  "EXISTS new",
  "HDEL h a b c d e",
  "EXISTS h",
  'HSET bin "" empty "sp ace" "v v"',
  'HGET bin ""',
  'HGET bin "sp ace"',
  'HSET n i 10 s abc neg -5 lead 007 sp " 1"',
  "HINCRBY n i 5",
  "HINCRBY n i -20",
  "HINCRBY n fresh 3",
  "HINCRBY n s 1",
  "HINCRBY n lead 1",
  "HINCRBY n sp 1",
  "HINCRBY n i abc",
  "HINCRBY n i 1.5",
  "HINCRBY n i 9223372036854775808",
  "HSET n big 9223372036854775807",
  "HINCRBY n big 1",
  "HINCRBY n neg -9223372036854775804",
  "HINCRBY n neg -1",
  "HINCRBY newk x -7",
  "HGETALL newk",
  "HINCRBYFLOAT n f 10.50",
  "HINCRBYFLOAT n f 0.1",
  "HINCRBYFLOAT n f -10.6",
  "HINCRBYFLOAT n f 5.0e3",
  "HINCRBYFLOAT n f 2.0e2",
  "HINCRBYFLOAT n i 1.5",
  "HINCRBYFLOAT n s 1",
  "HINCRBYFLOAT n sp 1",
  "HINCRBYFLOAT n f inf",
  "HINCRBYFLOAT n f -inf",
  "HINCRBYFLOAT n f nan",
  "HINCRBYFLOAT n f abc",
  'HINCRBYFLOAT n f ""',
  "HINCRBYFLOAT n f 0x10",
  "HSET hf hugef 1e308",
  "HINCRBYFLOAT hf hugef 1e308",
  "HINCRBYFLOAT hf hugef 1e4000",
  "OBJECT ENCODING hf",
  "HGETALL hf",
  "HSET n inf inf",
  "HINCRBYFLOAT n inf 1",
  "HINCRBYFLOAT newf x 3.0",
  "HGETALL newf",
  "HGETALL n",
  // arity and argument errors
  "HSET h",
  "HSET h a",
  "HSET h a 1 b",
  "HMSET h a",
  "HMSET h a 1 b",
  "HMSET h a 1 b 2",
  "HSETNX h a",
  "HGET h",
  "HMGET h",
  "HDEL h",
  "HLEN",
  "HLEN h x",
  "HSTRLEN h",
  "HEXISTS h",
  "HKEYS",
  "HVALS h x",
  "HGETALL",
  "HINCRBY h a",
  "HINCRBYFLOAT h a",
  "HRANDFIELD",
  "HSCAN h",
  // wrong type
  "SET str x",
  "HGET str a",
  "HMGET str a",
  "HSET str a 1",
  "HMSET str a 1",
  "HSETNX str a 1",
  "HDEL str a",
  "HLEN str",
  "HSTRLEN str a",
  "HEXISTS str a",
  "HKEYS str",
  "HVALS str",
  "HGETALL str",
  "HINCRBY str a 1",
  "HINCRBY str a x",
  "HINCRBYFLOAT str a 1",
  "HINCRBYFLOAT str a x",
  "HRANDFIELD str",
  "HRANDFIELD str 1",
  "HRANDFIELD str x",
  "HSCAN str 0",
  "HSCAN str x",
  // empty results
  "HGETALL nokey",
  "HKEYS nokey",
  "HVALS nokey",
  "HLEN nokey",
  "HRANDFIELD nokey",
  "HRANDFIELD nokey 5",
  "HRANDFIELD nokey -5 WITHVALUES",
  "HSCAN nokey 0",
  "HSCAN nokey 0 COUNT 0",
  "HSCAN nokey abc",
  // HRANDFIELD: deterministic shapes
  "HSET r a 1 b 2 c 3",
  "HRANDFIELD r 0",
  "HRANDFIELD r 0 WITHVALUES",
  "HRANDFIELD r 3",
  "HRANDFIELD r 100",
  "HRANDFIELD r 100 WITHVALUES",
  "HRANDFIELD r 9223372036854775807",
  "HRANDFIELD r -9223372036854775808",
  "HRANDFIELD r -9223372036854775807 WITHVALUES",
  "HRANDFIELD r 4611686018427387903 WITHVALUES",
  "HRANDFIELD r 4611686018427387904 WITHVALUES",
  "HRANDFIELD r -4611686018427387904 WITHVALUES",
  "HRANDFIELD r x",
  "HRANDFIELD r 1.5",
  "HRANDFIELD r 1 foo",
  "HRANDFIELD r 1 WITHVALUES x",
  "HSET one only v",
  "HRANDFIELD one",
  "HRANDFIELD one -3",
  "HRANDFIELD one -3 WITHVALUES",
  "HRANDFIELD one 1 WITHVALUES",
  // HSCAN on a listpack: everything at once, cursor 0
  "HSCAN r 0",
  "HSCAN r 7",
  "HSCAN r 0 COUNT 1",
  "HSCAN r 0 MATCH [ab]*",
  "HSCAN r 0 MATCH * COUNT 2",
  "HSCAN r 0 MATCH zz",
  "HSCAN r 0 COUNT 0",
  "HSCAN r 0 COUNT -1",
  "HSCAN r 0 COUNT x",
  "HSCAN r 0 COUNT",
  "HSCAN r 0 MATCH",
  "HSCAN r 0 TYPE string",
  "HSCAN r 0 FOO bar",
  "HSCAN r abc",
  "HSCAN r -1",
  'HSCAN r ""',
  "HSCAN r +5",
  'HSCAN r " 1"',
  "HSCAN r 18446744073709551615",
  "HSCAN r 18446744073709551616",
  "HSCAN r 1.5",
  // encodings (defaults: 512 entries, 64 bytes)
  "OBJECT ENCODING r",
  "HSET long f 0123456789012345678901234567890123456789012345678901234567890123",
  "OBJECT ENCODING long",
  "HSET long g 01234567890123456789012345678901234567890123456789012345678901234",
  "OBJECT ENCODING long",
  "HDEL long g",
  "OBJECT ENCODING long",
  "HSETNX lf 01234567890123456789012345678901234567890123456789012345678901234 v",
  "OBJECT ENCODING lf",
  "HSET fl a 1",
  "HINCRBYFLOAT fl a 0.00000000000000001",
  "HINCRBYFLOAT fl a 1e70",
  "OBJECT ENCODING fl",
  "HGET fl a",
];

Deno.test("hashes: replies match redis-server in RESP2 and RESP3", async () => {
  const d = await Differential.start();
  try {
    assertEquals(await d.compare(BASIC.map(cmd)), []);
    await d.both("FLUSHALL");
    await d.both("HELLO", "3");
    assertEquals(await d.compare(BASIC.map(cmd)), []);
  } finally {
    await d.close();
  }
});

Deno.test("hashes: listpack/hashtable conversion and big hashes match redis-server", async () => {
  const d = await Differential.start();
  try {
    const pairs = (from: number, to: number) => {
      const a: string[] = [];
      for (let i = from; i < to; i++) a.push(`f${i}`, `${i}`);
      return a;
    };
    const script: string[][] = [
      ["HSET", "h", ...pairs(0, 512)],
      ["OBJECT", "ENCODING", "h"],
      ["HGETALL", "h"],
      ["HSET", "h", "f0", "x"],
      ["OBJECT", "ENCODING", "h"],
      ["HSET", "h", "f512", "x"],
      ["OBJECT", "ENCODING", "h"],
      ["HDEL", "h", ...pairs(0, 500).filter((_, i) => i % 2 === 0)],
      ["OBJECT", "ENCODING", "h"],
      ["HLEN", "h"],
      ["HSET", "dup", ...Array.from({ length: 600 }, (_, i) => ["a", String(i)]).flat()],
      ["OBJECT", "ENCODING", "dup"],
      ["HGETALL", "dup"],
      ["HSET", "big", ...pairs(0, 2000)],
      ["OBJECT", "ENCODING", "big"],
      ["HLEN", "big"],
      ["HGET", "big", "f1999"],
      ["HMGET", "big", "f0", "nope", "f1500"],
      ["HSTRLEN", "big", "f1234"],
      ["HINCRBY", "big", "f10", "5"],
      ["HINCRBYFLOAT", "big", "f11", "0.5"],
      ["HRANDFIELD", "big", "0"],
    ];
    assertEquals(await d.compare(script), []);
    // Hashtable order is Redis's dict order: compare as sets.
    for (const c of ["HGETALL", "HKEYS", "HVALS"]) {
      const [f, r] = await d.both(c, "big");
      assertEquals(bulks(f).sort(), bulks(r).sort(), c);
    }
    const [f, r] = await d.both("HRANDFIELD", "big", "5000", "WITHVALUES");
    assertEquals(bulks(f).sort(), bulks(r).sort());
  } finally {
    await d.close();
  }
});

Deno.test("hashes: HSCAN over a hashtable returns every field present for the whole scan", async () => {
  const s = await startFerric();
  const c = await RawClient.connect(s.port);
  try {
    const args = ["HSET", "h"];
    for (let i = 0; i < 3000; i++) args.push(`k${i}`, `v${i}`);
    await c.call(...args);
    // A plain full scan: each field once, values paired, cursor back to 0.
    const seen = new Map<string, string>();
    let cursor = "0", calls = 0;
    do {
      const raw = await c.call("HSCAN", "h", cursor, "COUNT", "100");
      const items = bulks(raw);
      cursor = items.shift()!;
      for (let i = 0; i < items.length; i += 2) {
        assert(!seen.has(items[i]), `duplicate ${items[i]}`);
        seen.set(items[i], items[i + 1]);
      }
      calls++;
    } while (cursor !== "0" && calls < 1000);
    assertEquals(seen.size, 3000);
    assertEquals(seen.get("k2999"), "v2999");
    assert(calls >= 30);
    // With deletions and insertions during the scan: the untouched fields all come back.
    const found = new Set<string>();
    cursor = "0";
    calls = 0;
    do {
      const raw = await c.call("HSCAN", "h", cursor, "COUNT", "50", "NOVALUES");
      const items = bulks(raw);
      cursor = items.shift()!;
      for (const it of items) found.add(it);
      await c.call("HDEL", "h", `k${calls * 7}`, `k${calls * 7 + 1}`);
      await c.call("HSET", "h", `new${calls}`, "x");
      calls++;
    } while (cursor !== "0" && calls < 1000);
    for (let i = 0; i < 3000; i++) {
      const touched = i % 7 <= 1 && Math.floor(i / 7) < calls;
      if (!touched) assert(found.has(`k${i}`), `k${i} missing from the scan`);
    }
    for (const f of found) assert(f.startsWith("k") || f.startsWith("new"), f);
    // MATCH filters; NOVALUES drops values; COUNT 0 is a syntax error.
    const m = bulks(await c.call("HSCAN", "h", "0", "MATCH", "k29??", "COUNT", "100000"));
    assertEquals(m.length - 1, 2 * 100);
    assertEquals(
      await c.call("HSCAN", "h", "0", "COUNT", "0"),
      "-ERR syntax error\r\n",
    );
  } finally {
    c.close();
    await s.close();
  }
});

Deno.test("hashes: HRANDFIELD sampling is uniform enough, unique or repeated as asked", async () => {
  const s = await startFerric();
  const c = await RawClient.connect(s.port);
  try {
    for (const n of [10, 1000]) {
      const key = `h${n}`;
      const args = ["HSET", key];
      for (let i = 0; i < n; i++) args.push(`f${i}`, `v${i}`);
      await c.call(...args);
      for (const count of [1, 3, Math.floor(n / 2), n - 1]) {
        const items = bulks(await c.call("HRANDFIELD", key, String(count), "WITHVALUES"));
        assertEquals(items.length, 2 * count);
        const names = items.filter((_, i) => i % 2 === 0);
        assertEquals(new Set(names).size, count, `${key} ${count} unique`);
        for (let i = 0; i < items.length; i += 2) {
          assertEquals(items[i + 1], "v" + items[i].slice(1));
        }
      }
      const rep = bulks(await c.call("HRANDFIELD", key, String(-3 * n)));
      assertEquals(rep.length, 3 * n);
      assert(new Set(rep).size < rep.length, "negative count repeats");
      assert(new Set(rep).size > n / 2, "negative count covers the hash");
    }
    // RESP3: WITHVALUES gives pairs.
    await c.call("HELLO", "3");
    const raw = await c.call("HRANDFIELD", "h10", "-2", "WITHVALUES");
    assert(raw.startsWith("*2\r\n*2\r\n$"), raw);
    assert((await c.call("HGETALL", "h10")).startsWith("%10\r\n"));
  } finally {
    c.close();
    await s.close();
  }
});

Deno.test("hashes: field expiry commands (Redis 7.4/8 replies and errors)", async () => {
  const s = await startFerric();
  const c = await RawClient.connect(s.port);
  const call = (line: string) => c.call(...cmd(line));
  try {
    await call("HSET h a 1 b 2 c 3 d 4");
    assertEquals(await call("HEXPIRE h 100 FIELDS 2 b zz"), "*2\r\n:1\r\n:-2\r\n");
    assertEquals(await call("OBJECT ENCODING h"), "$10\r\nlistpackex\r\n");
    // listpackex: fields with a TTL first, by expiry; then the others in insertion order.
    assertEquals(bulks(await call("HKEYS h")), ["b", "a", "c", "d"]);
    assertEquals(await call("HPEXPIRE h 50000 FIELDS 1 d"), "*1\r\n:1\r\n");
    assertEquals(bulks(await call("HKEYS h")), ["d", "b", "a", "c"]);
    assertEquals(ints(await call("HTTL h FIELDS 4 a b d zz")), [-1, 100, 50, -2]);
    const pttl = ints(await call("HPTTL h FIELDS 1 b"))[0];
    assert(pttl > 99000 && pttl <= 100000, String(pttl));
    const now = Date.now();
    const at = ints(await call("HPEXPIRETIME h FIELDS 1 b"))[0];
    assert(Math.abs(at - (now + 100000)) < 2000);
    assertEquals(ints(await call("HEXPIRETIME h FIELDS 1 b"))[0], Math.floor((at + 999) / 1000));
    // Conditions: NX only without a TTL, XX only with one, GT/LT compare (no TTL = infinite).
    assertEquals(ints(await call("HEXPIRE h 300 NX FIELDS 2 b a")), [0, 1]);
    assertEquals(ints(await call("HEXPIRE h 400 XX FIELDS 2 b c")), [1, 0]);
    assertEquals(ints(await call("HEXPIRE h 200 GT FIELDS 3 b a c")), [0, 0, 0]);
    assertEquals(ints(await call("HEXPIRE h 500 GT FIELDS 1 b")), [1]);
    assertEquals(ints(await call("HEXPIRE h 250 LT FIELDS 3 b a c")), [1, 1, 1]);
    assertEquals(ints(await call("HTTL h FIELDS 3 a b c")), [250, 250, 250]);
    // Absolute times, and a time in the past deletes the field (2).
    const later = Math.floor(Date.now() / 1000) + 1000;
    assertEquals(ints(await call(`HEXPIREAT h ${later} FIELDS 1 a`)), [1]);
    assertEquals(ints(await call(`HEXPIRETIME h FIELDS 1 a`)), [later]);
    assertEquals(ints(await call("HPEXPIREAT h 1 FIELDS 2 a zz")), [2, -2]);
    assertEquals(ints(await call("HEXPIRE h 0 FIELDS 1 c")), [2]);
    assertEquals(bulks(await call("HKEYS h")), ["d", "b"]);
    // HPERSIST
    assertEquals(ints(await call("HPERSIST h FIELDS 3 b zz b")), [1, -2, -1]);
    assertEquals(bulks(await call("HKEYS h")), ["d", "b"]);
    // HSET clears a TTL (the field moves to the end of a listpackex); HINCRBY keeps it.
    await call("HSET h x 1");
    assertEquals(ints(await call("HINCRBY h d 1")), [5]);
    assertEquals(ints(await call("HTTL h FIELDS 1 d")), [50]);
    assertEquals(bulks(await call("HINCRBYFLOAT h d 1")), ["6"]);
    assertEquals(ints(await call("HTTL h FIELDS 1 d")), [50]);
    await call("HSET h d 1");
    assertEquals(ints(await call("HTTL h FIELDS 1 d")), [-1]);
    assertEquals(bulks(await call("HKEYS h")), ["b", "x", "d"]);
    // Missing keys: -2 for every field; wrong type first.
    assertEquals(ints(await call("HEXPIRE nokey 10 FIELDS 2 a b")), [-2, -2]);
    assertEquals(ints(await call("HTTL nokey FIELDS 2 a b")), [-2, -2]);
    assertEquals(ints(await call("HPERSIST nokey FIELDS 1 a")), [-2]);
    assertEquals(await call("EXISTS nokey"), ":0\r\n");
    await call("SET str x");
    const wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for (
      const line of [
        "HEXPIRE str 10 FIELDS 1 a",
        "HEXPIRE str x FIELDS 1 a",
        "HTTL str FIELDS 1 a",
        "HPERSIST str FIELDS 1 a",
        "HGETDEL str FIELDS 1 a",
        "HGETEX str FIELDS 1 a",
        "HSETEX str FIELDS 1 a 1",
      ]
    ) assertEquals(await call(line), wrongType, line);
    // Errors, worded as Redis 8 words them.
    const errors: [string, string][] = [
      ["HEXPIRE h 10 FIELDS 0 a", "ERR Parameter `numFields` should be greater than 0"],
      ["HEXPIRE h 10 FIELDS x a", "ERR Parameter `numFields` should be greater than 0"],
      [
        "HEXPIRE h 10 FIELDS 2 a",
        "ERR The `numfields` parameter must match the number of arguments",
      ],
      [
        "HEXPIRE h 10 FIELDS 1 a b",
        "ERR The `numfields` parameter must match the number of arguments",
      ],
      [
        "HEXPIRE h 10 NX FIELDS 1",
        "ERR The `numfields` parameter must match the number of arguments",
      ],
      [
        "HEXPIRE h 10 FELDS 1 a",
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      ],
      [
        "HEXPIRE h 10 NX XX FIELDS 1 a",
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      ],
      ["HEXPIRE h -1 FIELDS 1 a", "ERR invalid expire time, must be >= 0"],
      ["HEXPIRE h abc FIELDS 1 a", "ERR value is not an integer or out of range"],
      ["HEXPIRE h 70368744178 FIELDS 1 a", "ERR invalid expire time in 'hexpire' command"],
      ["HPEXPIREAT h 70368744177664 FIELDS 1 a", "ERR invalid expire time in 'hpexpireat' command"],
      ["HPEXPIRE h 70368744177663 FIELDS 1 a", "ERR invalid expire time in 'hpexpire' command"],
      ["HEXPIRE h 10 FIELDS 1", "ERR wrong number of arguments for 'hexpire' command"],
      ["HTTL h FIELDS 0 a", "ERR Number of fields must be a positive integer"],
      ["HTTL h FIELDS 2 a", "ERR The `numfields` parameter must match the number of arguments"],
      ["HTTL h FIELD 1 a", "ERR Mandatory argument FIELDS is missing or not at the right position"],
      ["HPTTL h FIELDS", "ERR wrong number of arguments for 'hpttl' command"],
      ["HPERSIST h FIELDS -1 a", "ERR Number of fields must be a positive integer"],
      ["HGETDEL h FIELDS 0 a", "ERR Number of fields must be a positive integer"],
      ["HGETDEL h FIELDS 2 a", "ERR The `numfields` parameter must match the number of arguments"],
      [
        "HGETDEL h FIELD 1 a",
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      ],
      ["HGETEX h EX -1 FIELDS 1 a", "ERR invalid expire time, must be >= 0"],
      ["HGETEX h EX x FIELDS 1 a", "ERR value is not an integer or out of range"],
      [
        "HGETEX h XX FIELDS 1 a",
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      ],
      [
        "HGETEX h PERSIST FIELDS 2 a",
        "ERR The `numfields` parameter must match the number of arguments",
      ],
      ["HGETEX h EX 10 FIELDS", "ERR wrong number of arguments for 'hgetex' command"],
      // Redis's hash-field-expire.tcl "HGETEX - input validation": FIELDS is looked for first.
      [
        "HGETEX h PXAT 1 1",
        "ERR Mandatory argument FIELDS is missing or not at the right position",
      ],
      ["HSETEX h FIELDS 2 a 1", "ERR wrong number of arguments for 'hsetex' command"],
      ["HSETEX h FIELDS 1 a 1 b", "ERR wrong number of arguments for 'hsetex' command"],
      ["HSETEX h FIELDS 0 a 1", "ERR invalid number of fields"],
      ["HSETEX h FIELDS x a 1", "ERR invalid number of fields"],
      ["HSETEX h FOO FIELDS 1 a 1", "ERR unknown argument: FOO"],
      [
        "HSETEX h EX 10 PX 10 FIELDS 1 a 1",
        "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
      ],
      [
        "HSETEX h KEEPTTL EX 10 FIELDS 1 a 1",
        "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
      ],
      ["HSETEX h FNX FXX FIELDS 1 a 1", "ERR Only one of FXX or FNX arguments can be specified"],
      ["HSETEX h EX -5 FIELDS 1 a 1", "ERR invalid expire time, must be >= 0"],
      ["HSETEX h EXAT 70368744178 FIELDS 1 a 1", "ERR invalid expire time in 'hsetex' command"],
      ["HSETEX h FNX EX", "ERR wrong number of arguments for 'hsetex' command"],
    ];
    for (const [line, text] of errors) assertEquals(await call(line), `-${text}\r\n`, line);
    // HGETDEL
    await call("DEL g");
    await call("HSET g a 1 b 2 c 3");
    assertEquals(bulks(await call("HGETDEL g FIELDS 3 a zz a")), ["1"]);
    assertEquals(await call("HGETDEL g FIELDS 3 a zz a"), "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    assertEquals(await call("HGETDEL nokey FIELDS 1 a"), "*1\r\n$-1\r\n");
    assertEquals(bulks(await call("HGETDEL g FIELDS 2 b c")), ["2", "3"]);
    assertEquals(await call("EXISTS g"), ":0\r\n");
    // HGETEX
    await call("HSET g a 1 b 2 c 3");
    assertEquals(await call("HGETEX g EX 100 FIELDS 2 a zz"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assertEquals(ints(await call("HTTL g FIELDS 2 a b")), [100, -1]);
    assertEquals(bulks(await call("HGETEX g PERSIST FIELDS 2 a b")), ["1", "2"]);
    assertEquals(ints(await call("HTTL g FIELDS 1 a")), [-1]);
    assertEquals(bulks(await call("HGETEX g FIELDS 1 c")), ["3"]);
    assertEquals(bulks(await call(`HGETEX g PXAT ${Date.now() + 60000} FIELDS 1 c`)), ["3"]);
    assert(ints(await call("HPTTL g FIELDS 1 c"))[0] > 50000);
    assertEquals(bulks(await call(`HGETEX g EXAT ${later} FIELDS 1 c`)), ["3"]);
    assertEquals(ints(await call("HEXPIRETIME g FIELDS 1 c")), [later]);
    assertEquals(bulks(await call("HGETEX g PX 0 FIELDS 2 a a")), ["1"]);
    assertEquals(await call("HGETEX nokey EX 10 FIELDS 1 a"), "*1\r\n$-1\r\n");
    assertEquals(bulks(await call("HGETALL g")), ["c", "3", "b", "2"]);
    assertEquals(bulks(await call("HGETEX g EX 0 FIELDS 2 b c")), ["2", "3"]);
    assertEquals(await call("EXISTS g"), ":0\r\n");
    // HSETEX
    assertEquals(await call("HSETEX s FIELDS 2 a 1 b 2"), ":1\r\n");
    assertEquals(await call("OBJECT ENCODING s"), "$8\r\nlistpack\r\n");
    assertEquals(await call("HSETEX s FNX FIELDS 2 c 3 a 5"), ":0\r\n");
    assertEquals(await call("HSETEX s FNX FIELDS 1 c 3"), ":1\r\n");
    assertEquals(await call("HSETEX s FXX EX 100 FIELDS 2 a 9 b 8"), ":1\r\n");
    assertEquals(await call("OBJECT ENCODING s"), "$10\r\nlistpackex\r\n");
    assertEquals(ints(await call("HTTL s FIELDS 3 a b c")), [100, 100, -1]);
    assertEquals(await call("HSETEX s FXX FIELDS 2 a 1 zz 1"), ":0\r\n");
    assertEquals(await call("HSETEX s KEEPTTL FIELDS 1 a 10"), ":1\r\n");
    assertEquals(ints(await call("HTTL s FIELDS 1 a")), [100]);
    assertEquals(await call("HSETEX s FIELDS 1 a 11"), ":1\r\n");
    assertEquals(ints(await call("HTTL s FIELDS 1 a")), [-1]);
    assertEquals(await call(`HSETEX s PXAT ${Date.now() + 30000} FIELDS 1 c 4`), ":1\r\n");
    assert(ints(await call("HPTTL s FIELDS 1 c"))[0] > 20000);
    assertEquals(await call("HSETEX s PX 0 FIELDS 1 a 1"), ":1\r\n");
    assertEquals(bulks(await call("HGETALL s")), ["c", "4", "b", "8"]);
    assertEquals(await call("HSETEX nokey FXX FIELDS 1 a 1"), ":0\r\n");
    assertEquals(await call("EXISTS nokey"), ":0\r\n");
    assertEquals(await call("HSETEX s EX 0 FIELDS 2 b 1 c 2"), ":1\r\n");
    assertEquals(await call("EXISTS s"), ":0\r\n");
    // A field-expiry command makes a listpack a listpackex even when nothing changes.
    await call("HSET t a 1");
    assertEquals(ints(await call("HEXPIRE t 100 XX FIELDS 1 a")), [0]);
    assertEquals(await call("OBJECT ENCODING t"), "$10\r\nlistpackex\r\n");
    // A hashtable keeps its order when TTLs change.
    const args = ["HSET", "big"];
    for (let i = 0; i < 600; i++) args.push(`f${i}`, "v");
    await call(args.join(" "));
    assertEquals(ints(await call("HEXPIRE big 100 FIELDS 2 f5 f1")), [1, 1]);
    assertEquals(await call("OBJECT ENCODING big"), "$9\r\nhashtable\r\n");
    assertEquals(bulks(await call("HKEYS big")).slice(0, 3), ["f0", "f1", "f2"]);
  } finally {
    c.close();
    await s.close();
  }
});

Deno.test("hashes: expired fields are invisible, reclaimed lazily and actively", async () => {
  const s = await startFerric({ hz: 50 });
  const c = await RawClient.connect(s.port);
  const call = (line: string) => c.call(...cmd(line));
  const raw = (key: string) => s.keyspace.table(0, key).get(key);
  try {
    await call("HSET h a 1 b 2 c 3");
    await call("HPEXPIRE h 30 FIELDS 2 a b");
    await call("HSET h2 a 1 b 2");
    await call("HPEXPIRE h2 30 FIELDS 1 a");
    await sleep(60);
    // Whatever the active cycle did, no command sees the expired fields.
    assertEquals(await call("HLEN h"), ":1\r\n");
    assertEquals(bulks(await call("HGETALL h")), ["c", "3"]);
    assertEquals(await call("HGET h a"), "$-1\r\n");
    assertEquals(await call("HEXISTS h2 a"), ":0\r\n");
    assertEquals(ints(await call("HTTL h2 FIELDS 1 a")), [-2]);
    assertEquals(await call("HSETNX h2 a new"), ":1\r\n");
    // The last field expiring deletes the key, even if nobody reads it (active expiry).
    await call("HSET gone a 1 b 2");
    await call("HPEXPIRE gone 20 FIELDS 2 a b");
    const big = ["HSET", "bigx"];
    for (let i = 0; i < 700; i++) big.push(`f${i}`, "v");
    await c.call(...big);
    await call("HPEXPIRE bigx 20 FIELDS 3 f1 f2 f3");
    for (let i = 0; i < 100 && raw("gone") !== undefined; i++) await sleep(20);
    assertEquals(raw("gone"), undefined);
    for (let i = 0; i < 100 && (raw("bigx")!.value as HashValue).size !== 697; i++) {
      await sleep(20);
    }
    assertEquals((raw("bigx")!.value as HashValue).size, 697);
    // Lazy: a read deletes the key whose fields all expired.
    await call("HSET lazy a 1");
    await call("HPEXPIRE lazy 5 FIELDS 1 a");
    await sleep(20);
    assertEquals(await call("HGETALL lazy"), "*0\r\n");
    assertEquals(await call("EXISTS lazy"), ":0\r\n");
    // A renamed hash keeps its field TTLs and is found by the active cycle's discovery scan.
    await call("HSET moved a 1 b 2");
    await call("HPEXPIRE moved 40 FIELDS 1 a");
    await call("RENAME moved moved2");
    for (let i = 0; i < 150 && (raw("moved2")?.value as HashValue).size !== 1; i++) {
      await sleep(20);
    }
    assertEquals((raw("moved2")!.value as HashValue).size, 1);
  } finally {
    c.close();
    await s.close();
  }
});

Deno.test("hashes: keyspace notifications for field changes and expiry", async () => {
  const s = await startFerric({ "notify-keyspace-events": "KEA" });
  const c = await RawClient.connect(s.port);
  const sub = await RawClient.connect(s.port);
  const call = (line: string) => c.call(...cmd(line));
  try {
    await sub.call("PSUBSCRIBE", "__keyspace@0__:*");
    const events: string[] = [];
    const expect = async (line: string, want: string[]) => {
      await call(line);
      for (const w of want) {
        const msg = await sub.read(2000);
        const parts = bulks(msg!);
        events.push(parts[parts.length - 1]);
        assertEquals(parts[parts.length - 1], w, line);
      }
    };
    await expect("HSET h a 1 b 2", ["hset"]);
    await expect("HINCRBY h a 1", ["hincrby"]);
    await expect("HINCRBYFLOAT h a 1", ["hincrbyfloat"]);
    await expect("HEXPIRE h 100 FIELDS 1 a", ["hexpire"]);
    await expect("HPERSIST h FIELDS 1 a", ["hpersist"]);
    await expect("HPEXPIRE h 1 FIELDS 1 a", ["hexpire"]);
    await sleep(10);
    await expect("HGET h b", ["hexpired"]);
    await expect("HEXPIRE h 0 FIELDS 1 b", ["hdel", "del"]);
    await expect("HSETEX k EX 100 FIELDS 1 a 1", ["hset", "hexpire"]);
    await expect("HGETDEL k FIELDS 1 a", ["hdel", "del"]);
  } finally {
    c.close();
    sub.close();
    await s.close();
  }
});

Deno.test("hashes: effects replay to the live value (persistence contract)", async () => {
  const s = await startFerric();
  const log = RecordingLog.install(s);
  const c = await RawClient.connect(s.port);
  const call = (line: string) => c.call(...cmd(line));
  try {
    const script = [
      "HSET a f1 v1 f2 v2 f3 v3",
      "HSET a f1 x f4 v4",
      "HDEL a f2 nope",
      "HSETNX a f5 v5",
      "HINCRBY a n 10",
      "HINCRBYFLOAT a fl 10.5",
      "HINCRBYFLOAT a fl 0.1",
      "HEXPIRE a 1000 FIELDS 2 f3 f4",
      "HPEXPIRE a 500000 FIELDS 1 f1",
      "HEXPIRE a 2000 GT FIELDS 1 f3",
      "HSET a f4 again",
      "HPERSIST a FIELDS 1 f1",
      "HINCRBY a f3 0",
      "HSETEX a KEEPTTL FIELDS 1 f3 7",
      "HSETEX a EX 300 FIELDS 2 f6 v6 f1 y",
      "HGETEX a PX 400000 FIELDS 1 f5",
      "HGETEX a PERSIST FIELDS 1 f6",
      "HGETDEL a FIELDS 2 n zz",
      "HSET b x 1 y 2",
      "HPEXPIRE b 10 FIELDS 1 x",
      "HSET c only 1",
      "HPEXPIRE c 10 FIELDS 1 only",
      "HSET d x 1",
      "HSET d long 01234567890123456789012345678901234567890123456789012345678901234",
      "HDEL d long",
      "HEXPIRE d 100 FIELDS 1 x",
      "HSET e1 x 1",
      "HSET e2 x 1 y 2",
      "HEXPIREAT e2 1 FIELDS 1 x",
      "HSET e3 x 1",
      "HEXPIRE e3 100 NX FIELDS 1 nope",
      "HSET gone a 1",
      "HDEL gone a",
      "HSETEX f EX 0 FIELDS 1 a 1",
    ];
    const args = ["HSET", "big"];
    for (let i = 0; i < 520; i++) args.push(`k${i}`, `v${i}`);
    await c.call(...args);
    for (const line of script) await call(line);
    await c.call("HDEL", "big", "k3", "k7");
    await c.call("HEXPIRE", "big", "500", "FIELDS", "2", "k9", "k1");
    await sleep(25);
    await call("HGETALL b"); // lazy expiry of b.x
    await call("HLEN c"); // deletes c
    const replay = log.replay(0, { dropEmptied: true });
    const live = new Map<string, Entry>();
    for (const t of s.keyspace.shards.map((sh) => sh.tables[0])) {
      for (const e of t.values()) live.set(e.key, e);
    }
    assertEquals([...replay.keys()].sort(), [...live.keys()].sort());
    const limits = s.keyspace.encodingLimits;
    const fieldsOf = (h: HashValue) =>
      [...h.fields()].map((f) => [f.name, [...f.value].join(","), f.expireAt]);
    for (const [k, e] of live) {
      const v = e.value as HashValue;
      const r = replay.get(k) as HashValue;
      assertEquals(fieldsOf(r), fieldsOf(v), k);
      if (k === "e3") {
        // A field-expiry command that changed nothing logs nothing: a listpack again on reload.
        assertEquals([v.encoding(limits), r.encoding(limits)], ["listpackex", "listpack"]);
        continue;
      }
      assertEquals(r.encode(), v.encode(), k);
      assertEquals(r.encoding(limits), v.encoding(limits), k);
      // A snapshot decodes to the same value.
      const again = HashValue.decode(v.encode());
      assertEquals(again.encode(), v.encode(), k);
      assertEquals(v.clone().encode(), v.encode(), k);
    }
    assertEquals(
      (live.get("a")!.value as HashValue).encoding(s.keyspace.encodingLimits),
      "listpackex",
    );
    assertEquals(
      (live.get("big")!.value as HashValue).encoding(s.keyspace.encodingLimits),
      "hashtable",
    );
    assertEquals(
      (live.get("d")!.value as HashValue).encoding(s.keyspace.encodingLimits),
      "hashtable",
    );
    assertEquals(
      (live.get("e2")!.value as HashValue).encoding(s.keyspace.encodingLimits),
      "listpackex",
    );
    assert(!live.has("c") && !live.has("gone") && !live.has("f"));
  } finally {
    c.close();
    await s.close();
  }
});

Deno.test("hashes: values, orders and field TTLs survive a restart and a compaction", async () => {
  const dir = await tempDir("ferric-hash-");
  const script = [
    "HSET a f1 v1 f2 v2 f3 v3 f4 v4",
    "HEXPIRE a 1000 FIELDS 1 f3",
    "HPEXPIRE a 2000000 FIELDS 1 f2",
    "HINCRBYFLOAT a n 1.1",
    "HSET big x 01234567890123456789012345678901234567890123456789012345678901234",
    "HSETEX big PX 3000000 FIELDS 1 y 1",
  ];
  const probe = [
    "HGETALL a",
    "HPEXPIRETIME a FIELDS 4 f1 f2 f3 n",
    "OBJECT ENCODING a",
    "HGETALL big",
    "HPEXPIRETIME big FIELDS 2 x y",
    "OBJECT ENCODING big",
  ];
  let s = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(s.port);
  try {
    for (const line of script) await c.call(...cmd(line));
    const before: string[] = [];
    for (const line of probe) before.push(await c.call(...cmd(line)));
    c.close();
    await s.close();
    s = await startFerric({ "data-dir": dir });
    c = await RawClient.connect(s.port);
    const after: string[] = [];
    for (const line of probe) after.push(await c.call(...cmd(line)));
    assertEquals(after, before);
    assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    c.close();
    await s.close();
    s = await startFerric({ "data-dir": dir });
    c = await RawClient.connect(s.port);
    const compacted: string[] = [];
    for (const line of probe) compacted.push(await c.call(...cmd(line)));
    assertEquals(compacted, before);
  } finally {
    c.close();
    await s.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("hashes: HashValue keeps listpack order, TTL order and hashtable cursors", () => {
  const enc = new TextEncoder();
  const h = new HashValue();
  for (const f of ["a", "b", "c", "d"]) h.set(f, enc.encode(f));
  assertEquals([...h.fields()].map((f) => f.name), ["a", "b", "c", "d"]);
  h.expire(h.get("c")!, 200);
  h.expire(h.get("a")!, 100);
  h.expire(h.get("d")!, 200);
  assertEquals([...h.fields()].map((f) => f.name), ["a", "d", "c", "b"]);
  assertEquals(h.encoding({}), "listpackex");
  assertEquals(h.minExpire(), 100);
  assertEquals(h.expireDue(150), ["a"]);
  assertEquals(h.minExpire(), 200);
  h.persist(h.get("d")!);
  assertEquals([...h.fields()].map((f) => f.name), ["c", "b", "d"]);
  h.set("c", enc.encode("new"));
  assertEquals([...h.fields()].map((f) => f.name), ["b", "d", "c"]);
  assertEquals(h.ttlCount, 0);
  assertEquals(h.minExpire(), 0);
  // Limits decide the encoding; a hashtable never converts back.
  const t = new HashValue();
  for (let i = 0; i < 5; i++) t.set(`f${i}`, enc.encode("v"));
  assert(!t.sync({ "hash-max-listpack-entries": 5, "hash-max-listpack-value": 64 }));
  assert(t.sync({ "hash-max-listpack-entries": 4, "hash-max-listpack-value": 64 }));
  assertEquals(t.encoding({}), "hashtable");
  t.delete("f0");
  assertEquals(t.encoding({ "hash-max-listpack-entries": 512 }), "hashtable");
  // Cursor scans survive deletions and compaction of the order array.
  for (let i = 5; i < 200; i++) t.set(`f${i}`, enc.encode("v"));
  const seen = new Set<string>();
  let cursor = 0, rounds = 0;
  do {
    const out: HashField[] = [];
    cursor = t.scan(cursor, 10, out);
    for (const f of out) seen.add(f.name);
    for (let j = 0; j < 5; j++) t.delete(`f${rounds * 5 + j + 100}`);
    rounds++;
  } while (cursor !== 0 && rounds < 100);
  for (let i = 1; i < 100; i++) assert(seen.has(`f${i}`), `f${i}`);
  // A value rebuilt from a snapshot without judging limits is judged on first look.
  const small = new HashValue();
  small.set("a", enc.encode("1"));
  const restored = HashValue.decode(small.encode());
  assertEquals(restored.encoding({ "hash-max-listpack-entries": 0 }), "hashtable");
});
