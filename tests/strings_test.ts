/**
 * Differential coverage of every string command against redis-server, in RESP2 and RESP3: each
 * option and option conflict, invalid numbers, integer overflow at both ends, INCRBYFLOAT's long
 * double arithmetic, range edge cases, LCS, and WRONGTYPE once another type exists.
 */
import { assertEquals } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";

/** A script line: a command, or `SLEEP ms` to let short expiries pass. */
type Line = string | (string | Uint8Array)[];

/**
 * Runs the script on both servers (after `HELLO 3` on both when `resp3`) and returns every
 * difference.
 */
async function differences(script: Line[], resp3: boolean): Promise<string[]> {
  const d = await Differential.start({}, { resp3 });
  try {
    const diffs: string[] = [];
    for (const line of script) {
      const args = typeof line === "string" ? cmd(line) : line;
      if (args[0] === "SLEEP") {
        await new Promise((r) => setTimeout(r, Number(args[1])));
        continue;
      }
      diffs.push(...await d.compare([args]));
    }
    return diffs.map((x) => `${resp3 ? "[RESP3] " : ""}${x}`);
  } finally {
    await d.close();
  }
}

/** Runs the script in RESP2 and in RESP3 and asserts both servers answered alike. */
async function assertSameAsRedis(script: Line[]): Promise<void> {
  const diffs = [...await differences(script, false), ...await differences(script, true)];
  assertEquals(diffs, []);
}

/** True when FerricStore registers `name` (other families are still being written). */
async function ferricHas(name: string): Promise<boolean> {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    return !(await c.call(name)).startsWith("-ERR unknown command");
  } finally {
    c.close();
    await server.close();
    await Deno.remove(server.config.str("data-dir"), { recursive: true }).catch(() => {});
  }
}

Deno.test("strings: GET and SET with every option combination", async () => {
  const now = Date.now();
  const script: Line[] = [
    "GET missing",
    "SET k v",
    "GET k",
    "SET k v2 GET",
    "SET k v3 NX",
    "SET k v3 NX GET",
    "SET k v4 XX",
    "SET k v5 XX GET",
    "SET new v XX",
    "SET new v XX GET",
    "GET new",
    "SET new v NX GET",
    "SET new v2 NX",
    "GET new",
    "SET k v NX XX",
    "SET k v XX NX",
    "SET k v NX NX",
    "SET k v XX XX GET GET",
    "SET k v EX 100",
    "SET k v PX 100000",
    `SET k v EXAT ${Math.floor(now / 1000) + 1000}`,
    `SET k v PXAT ${now + 1000000}`,
    "SET k v KEEPTTL",
    "SET k v KEEPTTL KEEPTTL",
    "SET k v EX 10 EX 20",
    "SET k v EX 10 PX 100",
    "SET k v PX 100 EX 10",
    "SET k v EX 10 EXAT 100",
    "SET k v PXAT 100 PX 10",
    "SET k v EX 10 KEEPTTL",
    "SET k v KEEPTTL EX 10",
    "SET k v KEEPTTL PXAT 10",
    "SET k v PERSIST",
    "SET k v EX",
    "SET k v PX",
    "SET k v EX 10 PX",
    "SET k v FOO",
    "SET k v GET FOO",
    "SET k v ex 10 nx get",
    "SET k v Ex 10 xX gEt",
    "SET k v EX 0",
    "SET k v EX -1",
    "SET k v PX 0",
    "SET k v PX -100",
    "SET k v EXAT 0",
    "SET k v PXAT -1",
    "SET k v EX abc",
    "SET k v EX 1.5",
    "SET k v EX 01",
    "SET k v EX +1",
    'SET k v EX " 1"',
    "SET k v EX 9223372036854775807",
    "SET k v EX 9223372036854775",
    "SET k v EX 9223372036854776",
    "SET k v PX 9223372036854775807",
    "SET k v PX 9223372036854775808",
    "SET k v EXAT 9223372036854775807",
    "SET k v PXAT 9223372036854775807",
    "SET k v NX EX 0",
    "SET nope v XX EX abc",
    "GET k",
    "SET exp v PX 40",
    "SET exp2 v EXAT 1",
    "SET exp3 v PXAT 1 GET",
    "GET exp2",
    "SLEEP 80",
    "GET exp",
    "SET exp v NX",
    "SET exp3 v XX",
    "SET e v",
    'SET e ""',
    "GET e",
    'SET "" emptykey',
    'GET ""',
    ["SET", "bin\x00key", "bin\r\nvalue\x00"],
    ["GET", "bin\x00key"],
    "SET int 12345",
    "GET int",
    "SET int 12345 GET",
    "SET neg -42",
    "GET neg",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: SETNX SETEX PSETEX GETSET GETDEL", async () => {
  const script: Line[] = [
    "SETNX a 1",
    "SETNX a 2",
    "GET a",
    "SETEX b 100 v",
    "GET b",
    "SETEX b 0 v",
    "SETEX b -5 v",
    "SETEX b abc v",
    "SETEX b 1.5 v",
    "SETEX b 9223372036854775807 v",
    "SETEX b 9223372036854775 v",
    "SETEX b 9223372036854776 v",
    "SETEX b 9223372036854775808 v",
    "PSETEX c 100000 v",
    "GET c",
    "PSETEX c 0 v",
    "PSETEX c -1 v",
    "PSETEX c x v",
    "PSETEX c 9223372036854775807 v",
    "PSETEX short 30 v",
    "SETEX a 100 replaced",
    "GET a",
    "GETSET a new",
    "GETSET missing1 first",
    "GET missing1",
    'GETSET a ""',
    "GET a",
    "GETDEL a",
    "GETDEL a",
    "GET a",
    "GETDEL never",
    "SLEEP 60",
    "GET short",
    "GETDEL short",
    "SETNX short again",
    "GET short",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: GETEX with EX PX EXAT PXAT PERSIST and invalid times", async () => {
  const now = Date.now();
  const script: Line[] = [
    "GETEX missing",
    "GETEX missing EX 10",
    "GETEX missing EX abc",
    "GETEX missing EX 0",
    "GETEX missing FOO",
    "SET k v",
    "GETEX k",
    "GETEX k EX 100",
    "GETEX k PX 100000",
    `GETEX k EXAT ${Math.floor(now / 1000) + 1000}`,
    `GETEX k PXAT ${now + 1000000}`,
    "GETEX k PERSIST",
    "GETEX k PERSIST PERSIST",
    "GETEX k EX 10 EX 20",
    "GETEX k EX 10 PX 20",
    "GETEX k PERSIST EX 10",
    "GETEX k EX 10 PERSIST",
    "GETEX k KEEPTTL",
    "GETEX k NX",
    "GETEX k GET",
    "GETEX k EX",
    "GETEX k EX 0",
    "GETEX k EX -1",
    "GETEX k PX 0",
    "GETEX k EXAT 0",
    "GETEX k PXAT -5",
    "GETEX k EX abc",
    "GETEX k EX 1.0",
    "GETEX k EX 9223372036854775807",
    "GETEX k PX 9223372036854775807",
    "GETEX k EXAT 9223372036854775807",
    "GETEX k PXAT 9223372036854775807",
    "GETEX k ex 100",
    "GET k",
    "SET gone v",
    "GETEX gone EXAT 1",
    "GET gone",
    "SET gone2 v",
    "GETEX gone2 PXAT 1",
    "GETEX gone2",
    "SET soon v",
    "GETEX soon PX 40",
    "SLEEP 80",
    "GETEX soon",
    "SET kept v EX 100",
    "GETEX kept PERSIST",
    "GET kept",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: MGET MSET MSETNX APPEND STRLEN", async () => {
  const script: Line[] = [
    "MSET a 1 b 2 c 3",
    "MGET a b c d",
    "MGET d",
    "MSET a",
    "MSET a 1 b",
    "MSET a 10 a 20",
    "GET a",
    "MSETNX x 1 y 2",
    "MSETNX x 1 z 3",
    "MGET x y z",
    "MSETNX z 1 z 2",
    "GET z",
    "MSETNX q",
    "MSETNX q 1 r",
    "APPEND ap hello",
    'APPEND ap " world"',
    "GET ap",
    'APPEND ap ""',
    'APPEND empty ""',
    "GET empty",
    "STRLEN ap",
    "STRLEN nokey",
    "STRLEN empty",
    "SET n 12345",
    "STRLEN n",
    "APPEND n 6",
    "GET n",
    "INCR n",
    "SET neg -100",
    "STRLEN neg",
    "APPEND neg 0",
    "INCR neg",
    ["APPEND", "bin", "\x00\r\n"],
    ["APPEND", "bin", "\xff"],
    "STRLEN bin",
    "GET bin",
    ["MSET", "m\x001", "\x00", "m\r\n2", "\r\n"],
    ["MGET", "m\x001", "m\r\n2"],
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: INCR DECR INCRBY DECRBY, overflow at both ends and invalid numbers", async () => {
  const script: Line[] = [
    "INCR c",
    "INCR c",
    "DECR c",
    "DECR c",
    "DECR c",
    "INCRBY c 100",
    "INCRBY c -200",
    "DECRBY c 50",
    "DECRBY c -50",
    "SET max 9223372036854775806",
    "INCR max",
    "INCR max",
    "INCRBY max 0",
    "INCRBY max -1",
    "INCRBY max 2",
    "GET max",
    "SET min -9223372036854775807",
    "DECR min",
    "DECR min",
    "DECRBY min 1",
    "INCRBY min -1",
    "INCRBY min 9223372036854775807",
    "DECRBY min -9223372036854775807",
    "SET z 0",
    "INCRBY z 9223372036854775807",
    "INCRBY z 9223372036854775807",
    "SET z 0",
    "INCRBY z -9223372036854775808",
    "DECRBY z 9223372036854775807",
    "SET z 0",
    "DECRBY z -9223372036854775808",
    "DECRBY z 9223372036854775808",
    "INCRBY z 9223372036854775808",
    "INCRBY z -9223372036854775809",
    "INCRBY z 99999999999999999999",
    "SET big 9223372036854775808",
    "INCR big",
    "SET big -9223372036854775809",
    "DECR big",
    "SET safe 9007199254740991",
    "INCR safe",
    "INCR safe",
    "INCRBY safe 9007199254740991",
    "DECRBY safe 18014398509481984",
    "SET f 1.5",
    "INCR f",
    'SET s " 1"',
    "INCR s",
    'SET s "1 "',
    "INCR s",
    "SET s +1",
    "INCR s",
    "SET s 01",
    "INCR s",
    "SET s -0",
    "INCR s",
    "SET s 0",
    "INCR s",
    'SET s ""',
    "INCR s",
    "SET s abc",
    "DECR s",
    "SET s 1e3",
    "INCRBY s 1",
    "SET s 0x10",
    "INCR s",
    'INCRBY c " 1"',
    "INCRBY c +1",
    "INCRBY c 01",
    "INCRBY c 1.0",
    'INCRBY c ""',
    "INCRBY c abc",
    "INCRBY c -0",
    "DECRBY c 1e2",
    'DECRBY c ""',
    "INCRBY c 0",
    "GET c",
    "SET ttl v",
    "SET ttl 10 EX 100",
    "INCR ttl",
    "GET ttl",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: INCRBYFLOAT as Redis computes it in long doubles", async () => {
  const script: Line[] = [
    "INCRBYFLOAT f 10.50",
    "INCRBYFLOAT f 0.1",
    "INCRBYFLOAT f -0.1",
    "INCRBYFLOAT f -10.5",
    "GET f",
    "SET f 5.0e3",
    "INCRBYFLOAT f 2.0e2",
    "INCRBYFLOAT f 1e-5",
    "SET g 0.1",
    "INCRBYFLOAT g 0.2",
    "INCRBYFLOAT g 0.3",
    "INCRBYFLOAT g -0.6",
    "SET h 1e308",
    "INCRBYFLOAT h 1e308",
    "INCRBYFLOAT h 9e308",
    "GET h",
    "SET h 1.7976931348623157e308",
    "INCRBYFLOAT h 1.7976931348623157e308",
    "SET h 1e4931",
    "INCRBYFLOAT h 1e4931",
    "INCRBYFLOAT h 1e4932",
    "INCRBYFLOAT h 2e4932",
    "INCRBYFLOAT h 1e5000",
    "INCRBYFLOAT i inf",
    "INCRBYFLOAT i -inf",
    "INCRBYFLOAT i +inf",
    "INCRBYFLOAT i infinity",
    "INCRBYFLOAT i INF",
    "INCRBYFLOAT i nan",
    "INCRBYFLOAT i NaN",
    "INCRBYFLOAT i -nan",
    "SET i inf",
    "INCRBYFLOAT i 1",
    "SET i nan",
    "INCRBYFLOAT i 1",
    "INCRBYFLOAT j 0x10",
    "INCRBYFLOAT j 0x1p3",
    "INCRBYFLOAT j 0X1.8P1",
    "INCRBYFLOAT j -0x.8",
    "INCRBYFLOAT j 0x",
    "GET j",
    'INCRBYFLOAT k " 1"',
    'INCRBYFLOAT k "1 "',
    ["INCRBYFLOAT", "k", "\t1"],
    'INCRBYFLOAT k ""',
    "INCRBYFLOAT k +1.5",
    "INCRBYFLOAT k .5",
    "INCRBYFLOAT k 5.",
    "INCRBYFLOAT k 1e",
    "INCRBYFLOAT k 1e+",
    "INCRBYFLOAT k 1e+2",
    "INCRBYFLOAT k 1E-2",
    "INCRBYFLOAT k 1_000",
    "INCRBYFLOAT k 1,5",
    "INCRBYFLOAT k --1",
    "INCRBYFLOAT k abc",
    "GET k",
    'SET k " 1"',
    "INCRBYFLOAT k 1",
    "SET k abc",
    "INCRBYFLOAT k 1",
    "SET k 1.5e",
    "INCRBYFLOAT k 1",
    "INCRBYFLOAT z -0",
    "GET z",
    "SET z -0",
    "INCRBYFLOAT z -0",
    "INCRBYFLOAT z 0",
    "SET z -0.0",
    "INCRBYFLOAT z -0.0",
    "INCRBYFLOAT t 1e-20",
    "INCRBYFLOAT t -1e-20",
    "INCRBYFLOAT t -1e-20",
    "GET t",
    "INCRBYFLOAT u 5e-4951",
    "INCRBYFLOAT u 1e-5000",
    "INCRBYFLOAT u 1e-4940",
    "INCRBYFLOAT u 3.6e-4951",
    "INCRBYFLOAT v 123456789012345678901234567890",
    "INCRBYFLOAT v 0.000000000000000001",
    "INCRBYFLOAT w 1.23456789012345678901",
    "INCRBYFLOAT w 9.87654321098765432109",
    "INCRBYFLOAT x 100",
    "INCRBYFLOAT x 1e2",
    "INCRBYFLOAT x 3.0",
    "INCRBYFLOAT y 9223372036854775807",
    "INCRBYFLOAT y 1",
    "SET n 10",
    "INCRBYFLOAT n 1.5",
    "INCR n",
    "SET n 10",
    "INCRBYFLOAT n 5",
    "INCR n",
    "SET ttl 1 EX 100",
    "INCRBYFLOAT ttl 0.5",
    "INCRBYFLOAT f",
    "INCRBYFLOAT f 1 2",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: GETRANGE and SUBSTR index edge cases", async () => {
  const script: Line[] = ['SET s "Hello World"', "SET n 12345", 'SET e ""'];
  const ranges = [
    "0 -1",
    "0 0",
    "0 4",
    "6 10",
    "-5 -1",
    "-1 -1",
    "-1 -5",
    "5 3",
    "3 3",
    "10 10",
    "11 11",
    "11 20",
    "-100 -50",
    "-100 100",
    "-100 -1",
    "0 100",
    "50 100",
    "-3 2",
    "2 -3",
    "-9223372036854775808 9223372036854775807",
    "9223372036854775807 9223372036854775807",
    "-9223372036854775808 -9223372036854775808",
    "0 9223372036854775808",
    "a 1",
    "1 b",
    "1.5 2",
  ];
  for (const key of ["s", "n", "e", "missing"]) {
    for (const r of ranges) script.push(`GETRANGE ${key} ${r}`);
  }
  for (const r of ranges.slice(0, 8)) script.push(`SUBSTR s ${r}`);
  script.push("GETRANGE s 0", "SUBSTR s 0 1 2");
  await assertSameAsRedis(script);
});

Deno.test("strings: SETRANGE offsets, padding and limits", async () => {
  const script: Line[] = [
    "SETRANGE s 0 hello",
    "GET s",
    "SETRANGE s 6 world",
    "GET s",
    "SETRANGE s 0 H",
    "GET s",
    "SETRANGE s 20 !",
    "GET s",
    "STRLEN s",
    'SETRANGE s 0 ""',
    'SETRANGE s 1000 ""',
    'SETRANGE missing 5 ""',
    "GET missing",
    'SETRANGE missing 0 ""',
    "SETRANGE pad 3 x",
    "GET pad",
    "SETRANGE s -1 x",
    'SETRANGE s -1 ""',
    'SETRANGE missing2 -1 ""',
    "SETRANGE s abc x",
    "SETRANGE s 1.5 x",
    "SETRANGE s 536870912 x",
    "SETRANGE s 536870911 xy",
    "SETRANGE huge 536870912 x",
    'SETRANGE huge 536870912 ""',
    "SETRANGE s 9223372036854775807 x",
    "SETRANGE s 9223372036854775808 x",
    "GET huge",
    "SET n 12345",
    "SETRANGE n 1 9",
    "GET n",
    "INCR n",
    "SETRANGE n 5 0",
    "INCR n",
    ["SETRANGE", "bin", "2", "\x00\r\n\xff"],
    "GET bin",
    "SET ttl abc EX 100",
    "SETRANGE ttl 1 X",
    "GET ttl",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: LCS with LEN, IDX, MINMATCHLEN and WITHMATCHLEN", async () => {
  const script: Line[] = [
    "MSET key1 ohmytext key2 mynewtext",
    "LCS key1 key2",
    "LCS key1 key2 LEN",
    "LCS key1 key2 IDX",
    "LCS key1 key2 IDX MINMATCHLEN 4",
    "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
    "LCS key1 key2 IDX WITHMATCHLEN",
    "LCS key1 key2 WITHMATCHLEN IDX MINMATCHLEN 2",
    "LCS key1 key2 IDX MINMATCHLEN 0",
    "LCS key1 key2 IDX MINMATCHLEN -5",
    "LCS key1 key2 IDX MINMATCHLEN abc",
    "LCS key1 key2 IDX MINMATCHLEN",
    "LCS key1 key2 LEN IDX",
    "LCS key1 key2 IDX LEN",
    "LCS key1 key2 LEN WITHMATCHLEN",
    "LCS key1 key2 MINMATCHLEN 3",
    "LCS key1 key2 FOO",
    "LCS key1 key2 len",
    "LCS key1 key1",
    "LCS key1 key1 IDX",
    "LCS key1 missing",
    "LCS missing key1 IDX",
    "LCS missing missing2 LEN",
    "LCS missing missing2 IDX WITHMATCHLEN",
    "MSET a ABCBDAB b BDCABA",
    "LCS a b",
    "LCS b a",
    "LCS a b IDX WITHMATCHLEN",
    "MSET x aaaaaaaaaa y aaa",
    "LCS x y IDX WITHMATCHLEN",
    'MSET x "the quick brown fox" y "the lazy brown dog quick"',
    "LCS x y",
    "LCS x y IDX MINMATCHLEN 3 WITHMATCHLEN",
    "MSET p abc q xyz",
    "LCS p q",
    "LCS p q IDX",
    "LCS p q LEN",
    'SET e ""',
    "LCS e p IDX",
    "SET n1 12345",
    "SET n2 2345",
    "LCS n1 n2 IDX WITHMATCHLEN",
    "LCS key1",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: LCS over longer random strings matches redis-server", async () => {
  // A fixed-seed generator, so a failure replays.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const word = (len: number) =>
    Array.from({ length: len }, () => String.fromCharCode(97 + rand(4))).join("");
  const script: Line[] = [];
  for (let i = 0; i < 20; i++) {
    const a = word(1 + rand(60)), b = word(1 + rand(60));
    script.push(["MSET", "ra", a, "rb", b]);
    script.push("LCS ra rb", "LCS ra rb LEN", "LCS ra rb IDX WITHMATCHLEN");
    script.push(`LCS ra rb IDX MINMATCHLEN ${rand(4)}`);
  }
  await assertSameAsRedis(script);
});

Deno.test("strings: which commands keep, set or clear a key's TTL", async () => {
  if (!(await ferricHas("TTL"))) {
    console.log("TTL is not registered yet: TTL effects not checked");
    return;
  }
  const now = Date.now();
  const script: Line[] = [
    "TTL missing",
    "SET k v",
    "TTL k",
    "SET k v EX 100",
    "TTL k",
    "SET k v2 KEEPTTL",
    "TTL k",
    "SET k v3 XX KEEPTTL GET",
    "TTL k",
    "SET k v4 NX EX 50",
    "TTL k",
    "SET k v5 GET",
    "TTL k",
    `SET k v EXAT ${Math.floor(now / 1000) + 200}`,
    "TTL k",
    "GETEX k EX 300",
    "TTL k",
    "GETEX k",
    "TTL k",
    "GETEX k PERSIST",
    "TTL k",
    "SETEX n 100 5",
    "INCR n",
    "TTL n",
    "INCRBY n 5",
    "DECR n",
    "TTL n",
    "INCRBYFLOAT n 0.5",
    "TTL n",
    "APPEND n 1",
    "TTL n",
    "SETRANGE n 0 9",
    "TTL n",
    "GETSET n 1",
    "TTL n",
    "SETEX m 100 v",
    "MSET m w",
    "TTL m",
    "SETEX m 100 v",
    "SETNX m x",
    "TTL m",
    "MSETNX m x other y",
    "TTL m",
    "GETDEL m",
    "TTL m",
    "PSETEX p 100000 v",
    "TTL p",
  ];
  await assertSameAsRedis(script);
});

Deno.test("strings: WRONGTYPE against keys of another type", async () => {
  const maker = (await ferricHas("LPUSH"))
    ? "LPUSH other x"
    : (await ferricHas("SADD"))
    ? "SADD other x"
    : (await ferricHas("HSET"))
    ? "HSET other f v"
    : (await ferricHas("ZADD"))
    ? "ZADD other 1 x"
    : null;
  if (maker === null) {
    console.log("no other data type is registered yet: WRONGTYPE cases skipped");
    return;
  }
  const script: Line[] = [
    maker,
    "SET k v",
    "GET other",
    "SET other v GET",
    "SET other v NX GET",
    "GETSET other v",
    "GETDEL other",
    "GETEX other",
    "GETEX other EX 10",
    "GETEX other EX abc",
    "APPEND other x",
    "STRLEN other",
    "INCR other",
    "DECR other",
    "INCRBY other 5",
    "DECRBY other 5",
    "INCRBYFLOAT other 1.5",
    "GETRANGE other 0 -1",
    "SUBSTR other 0 -1",
    "SETRANGE other 0 x",
    'SETRANGE other 0 ""',
    "SETRANGE other -1 x",
    "LCS k other",
    "LCS other k IDX",
    "MGET k other missing",
    "SETNX other v",
    "MSETNX other v fresh v",
    "GET fresh",
    "SET other v XX",
    "GET other",
    maker,
    "MSET other v",
    "GET other",
    maker,
    "SETEX other 100 v",
    "GET other",
  ];
  await assertSameAsRedis(script);
});
