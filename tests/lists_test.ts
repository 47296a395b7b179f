/**
 * List commands: differential tests against redis-server (RESP2 and RESP3, errors and edge
 * cases included), keyspace notifications, the deque itself, and the persistence contract
 * (recorded effects replay to the live values; snapshots round-trip).
 */
import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, encodeCommand, RawClient, startFerric } from "./_harness.ts";
import { RecordingLog } from "./_effects.ts";
import { decodeList, ListValue } from "../engine/values/list.ts";
import type { DataValue } from "../engine/values/types.ts";
import { tempDir } from "./_temp_dir.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Commands for one protocol; `p` prefixes every key so both runs start from nothing. */
function script(p: string): string[][] {
  const lines = [
    // Pushes, lengths, ranges.
    `RPUSH ${p}l a b c`,
    `LPUSH ${p}l z y`,
    `LRANGE ${p}l 0 -1`,
    `LPUSHX ${p}nokey a b`,
    `RPUSHX ${p}nokey a`,
    `LPUSHX ${p}l x1 x2`,
    `RPUSHX ${p}l r1`,
    `LLEN ${p}l`,
    `LLEN ${p}nokey`,
    `LRANGE ${p}l 1 3`,
    `LRANGE ${p}l -3 -1`,
    `LRANGE ${p}l -100 100`,
    `LRANGE ${p}l 5 2`,
    `LRANGE ${p}l 100 200`,
    `LRANGE ${p}l -9223372036854775808 9223372036854775807`,
    `LRANGE ${p}l 0 9223372036854775808`,
    `LRANGE ${p}l a 1`,
    `LRANGE ${p}nokey 0 -1`,
    `LRANGE ${p}nokey x y`,
    // LINDEX / LSET.
    `LINDEX ${p}l 0`,
    `LINDEX ${p}l -1`,
    `LINDEX ${p}l 100`,
    `LINDEX ${p}l -100`,
    `LINDEX ${p}l x`,
    `LINDEX ${p}nokey x`,
    `LINDEX ${p}nokey 0`,
    `LSET ${p}l 0 first`,
    `LSET ${p}l -1 last`,
    `LSET ${p}l 100 x`,
    `LSET ${p}l -100 x`,
    `LSET ${p}l x v`,
    `LSET ${p}nokey 0 v`,
    `LSET ${p}nokey x v`,
    `LRANGE ${p}l 0 -1`,
    // LINSERT.
    `LINSERT ${p}l BEFORE a ins1`,
    `LINSERT ${p}l after a ins2`,
    `LINSERT ${p}l AFTER last tail`,
    `LINSERT ${p}l BEFORE first head`,
    `LINSERT ${p}l BEFORE nothere x`,
    `LINSERT ${p}l MIDDLE a x`,
    `LINSERT ${p}nokey BEFORE a x`,
    `LINSERT ${p}nokey MIDDLE a x`,
    `LRANGE ${p}l 0 -1`,
    // LPOP / RPOP with and without count.
    `LPOP ${p}l`,
    `RPOP ${p}l`,
    `LPOP ${p}l 2`,
    `RPOP ${p}l 2`,
    `LPOP ${p}l 0`,
    `RPOP ${p}l 0`,
    `LPOP ${p}l -1`,
    `LPOP ${p}l x`,
    `LPOP ${p}l 1 2`,
    `LPOP ${p}nokey`,
    `LPOP ${p}nokey 0`,
    `LPOP ${p}nokey 5`,
    `LPOP ${p}nokey -1`,
    `RPOP ${p}nokey 1`,
    `RPUSH ${p}p 1 2 3`,
    `RPOP ${p}p 100`,
    `EXISTS ${p}p`,
    `RPUSH ${p}p 1 2 3`,
    `LPOP ${p}p 9223372036854775807`,
    `EXISTS ${p}p`,
    `RPUSH ${p}p 1`,
    `LPOP ${p}p`,
    `EXISTS ${p}p`,
    // LREM.
    `RPUSH ${p}r a b a c a b a`,
    `LREM ${p}r 2 a`,
    `LRANGE ${p}r 0 -1`,
    `LREM ${p}r -1 a`,
    `LRANGE ${p}r 0 -1`,
    `LREM ${p}r 0 b`,
    `LREM ${p}r 0 zz`,
    `LREM ${p}r x a`,
    `LREM ${p}r -9223372036854775808 a`,
    `LRANGE ${p}r 0 -1`,
    `LREM ${p}r 0 c`,
    `EXISTS ${p}r`,
    `LREM ${p}nokey 0 a`,
    `LREM ${p}nokey x a`,
    // LTRIM.
    `RPUSH ${p}t 0 1 2 3 4 5 6 7 8 9`,
    `LTRIM ${p}t 1 -2`,
    `LRANGE ${p}t 0 -1`,
    `LTRIM ${p}t -3 100`,
    `LRANGE ${p}t 0 -1`,
    `LTRIM ${p}t 0 -1`,
    `LTRIM ${p}t x 1`,
    `LTRIM ${p}t 1 x`,
    `LTRIM ${p}t 5 1`,
    `EXISTS ${p}t`,
    `LTRIM ${p}nokey 0 1`,
    `LTRIM ${p}nokey x 1`,
    `RPUSH ${p}t a b c`,
    `LTRIM ${p}t -9223372036854775808 9223372036854775807`,
    `LRANGE ${p}t 0 -1`,
    `LTRIM ${p}t 100 200`,
    `EXISTS ${p}t`,
    // LPOS.
    `RPUSH ${p}q a b c 1 2 3 c c`,
    `LPOS ${p}q c`,
    `LPOS ${p}q c RANK 2`,
    `LPOS ${p}q c RANK -1`,
    `LPOS ${p}q c RANK -3`,
    `LPOS ${p}q c RANK 4`,
    `LPOS ${p}q c COUNT 0`,
    `LPOS ${p}q c COUNT 2`,
    `LPOS ${p}q c COUNT 2 RANK 2`,
    `LPOS ${p}q c COUNT 2 RANK -1`,
    `LPOS ${p}q c COUNT 0 MAXLEN 3`,
    `LPOS ${p}q c COUNT 0 MAXLEN 7`,
    `LPOS ${p}q c MAXLEN 2`,
    `LPOS ${p}q c RANK -1 MAXLEN 1`,
    `LPOS ${p}q zz`,
    `LPOS ${p}q zz COUNT 1`,
    `LPOS ${p}q c RANK 0`,
    `LPOS ${p}q c RANK x`,
    `LPOS ${p}q c COUNT -1`,
    `LPOS ${p}q c COUNT x`,
    `LPOS ${p}q c MAXLEN -1`,
    `LPOS ${p}q c MAXLEN x`,
    `LPOS ${p}q c RANK`,
    `LPOS ${p}q c FOO 1`,
    `LPOS ${p}q c RANK 1 RANK -1`,
    `LPOS ${p}q c RANK 9223372036854775807`,
    `LPOS ${p}q c RANK -9223372036854775808`,
    `LPOS ${p}q c RANK -9223372036854775808 COUNT 1`,
    `LPOS ${p}q c RANK -9223372036854775808 COUNT 1 MAXLEN 2`,
    `LPOS ${p}q c RANK -9223372036854775807 COUNT 1`,
    `LPOS ${p}nokey c`,
    `LPOS ${p}nokey c COUNT 0`,
    `LPOS ${p}nokey c RANK 0`,
    // LMOVE / RPOPLPUSH.
    `RPUSH ${p}src 1 2 3`,
    `LMOVE ${p}src ${p}dst LEFT RIGHT`,
    `LMOVE ${p}src ${p}dst RIGHT LEFT`,
    `LRANGE ${p}dst 0 -1`,
    `LMOVE ${p}src ${p}src LEFT RIGHT`,
    `LRANGE ${p}src 0 -1`,
    `LMOVE ${p}src ${p}dst UP LEFT`,
    `LMOVE ${p}src ${p}dst LEFT DOWN`,
    `LMOVE ${p}nokey ${p}dst LEFT LEFT`,
    `LMOVE ${p}nokey ${p}dst UP LEFT`,
    `RPOPLPUSH ${p}src ${p}dst`,
    `EXISTS ${p}src`,
    `LRANGE ${p}dst 0 -1`,
    `RPOPLPUSH ${p}nokey ${p}dst`,
    `RPUSH ${p}one x`,
    `RPOPLPUSH ${p}one ${p}one`,
    `LRANGE ${p}one 0 -1`,
    // LMPOP.
    `RPUSH ${p}m1 a b c d`,
    `LMPOP 2 ${p}nokey ${p}m1 LEFT`,
    `LMPOP 2 ${p}nokey ${p}m1 RIGHT COUNT 2`,
    `LMPOP 1 ${p}m1 left COUNT 10`,
    `EXISTS ${p}m1`,
    `LMPOP 1 ${p}m1 LEFT`,
    `LMPOP 0 ${p}m1 LEFT`,
    `LMPOP -1 ${p}m1 LEFT`,
    `LMPOP x ${p}m1 LEFT`,
    `LMPOP 2 ${p}m1 LEFT`,
    `LMPOP 1 ${p}m1 MIDDLE`,
    `LMPOP 1 ${p}m1 LEFT COUNT 0`,
    `LMPOP 1 ${p}m1 LEFT COUNT -1`,
    `LMPOP 1 ${p}m1 LEFT COUNT x`,
    `LMPOP 1 ${p}m1 LEFT COUNT 1 COUNT 2`,
    `LMPOP 1 ${p}m1 LEFT COUNT`,
    `LMPOP 1 ${p}m1 LEFT FOO`,
    // Blocking commands that answer at once, and their argument errors.
    `RPUSH ${p}b1 x y z`,
    `BLPOP ${p}nokey ${p}b1 0`,
    `BRPOP ${p}b1 ${p}nokey 0`,
    `BLPOP ${p}b1 1.5`,
    `BLPOP ${p}b1 -1`,
    `BLPOP ${p}b1 abc`,
    `BLPOP ${p}b1 inf`,
    `BLPOP ${p}b1 -inf`,
    `BLPOP ${p}b1 nan`,
    `BLPOP ${p}b1 1e300`,
    `BLPOP ${p}b1 9223372036854775807`,
    `BLPOP ${p}b1 ""`,
    `BLPOP ${p}b1 " 1"`,
    `BLPOP ${p}b1 "1 "`,
    `BLPOP ${p}nokey 0.001`,
    `BLPOP ${p}nokey 0.01`,
    `BRPOP ${p}nokey 0.01`,
    `RPUSH ${p}b2 1 2 3`,
    `BLMOVE ${p}b2 ${p}b3 RIGHT LEFT 0`,
    `BLMOVE ${p}b2 ${p}b3 RIGHT MIDDLE 0`,
    `BLMOVE ${p}b2 ${p}b3 RIGHT LEFT -1`,
    `BLMOVE ${p}b2 ${p}b3 RIGHT LEFT x`,
    `BLMOVE ${p}nokey ${p}b3 RIGHT LEFT 0.01`,
    `BRPOPLPUSH ${p}b2 ${p}b3 0`,
    `BRPOPLPUSH ${p}b2 ${p}b3 x`,
    `BRPOPLPUSH ${p}nokey ${p}b3 0.01`,
    `LRANGE ${p}b3 0 -1`,
    `BLMPOP 0 2 ${p}nokey ${p}b3 RIGHT COUNT 5`,
    `BLMPOP 0.01 1 ${p}nokey LEFT`,
    `BLMPOP x 1 ${p}nokey LEFT`,
    `BLMPOP -1 1 ${p}nokey LEFT`,
    `BLMPOP x 0 ${p}nokey LEFT`,
    `BLMPOP 0 1 ${p}nokey MIDDLE`,
    `BLMPOP 0 1 ${p}nokey LEFT COUNT 0`,
    `BLMPOP 0 2 ${p}nokey LEFT`,
    // Inside MULTI blocking commands do not block.
    `MULTI`,
    `BLPOP ${p}nokey 0`,
    `BRPOP ${p}nokey 0`,
    `BLMOVE ${p}nokey ${p}x LEFT LEFT 0`,
    `BRPOPLPUSH ${p}nokey ${p}x 0`,
    `BLMPOP 0 1 ${p}nokey LEFT`,
    `RPUSH ${p}mx a`,
    `BLPOP ${p}mx 0`,
    `EXEC`,
    // WRONGTYPE everywhere.
    `SET ${p}s str`,
    `LPUSH ${p}s a`,
    `RPUSH ${p}s a`,
    `LPUSHX ${p}s a`,
    `RPUSHX ${p}s a`,
    `LPOP ${p}s`,
    `RPOP ${p}s 2`,
    `LPOP ${p}s 0`,
    `LLEN ${p}s`,
    `LRANGE ${p}s 0 -1`,
    `LINDEX ${p}s 0`,
    `LINDEX ${p}s x`,
    `LSET ${p}s 0 a`,
    `LSET ${p}s x a`,
    `LINSERT ${p}s BEFORE a b`,
    `LREM ${p}s 0 a`,
    `LTRIM ${p}s 0 1`,
    `LPOS ${p}s a`,
    `LPOS ${p}s a COUNT 0`,
    `LMOVE ${p}s ${p}dst LEFT LEFT`,
    `RPUSH ${p}ok a`,
    `LMOVE ${p}ok ${p}s LEFT LEFT`,
    `LLEN ${p}ok`,
    `RPOPLPUSH ${p}s ${p}ok`,
    `LMOVE ${p}nokey ${p}s LEFT LEFT`,
    `LMPOP 2 ${p}nokey ${p}s LEFT`,
    `LMPOP 2 ${p}ok ${p}s LEFT`,
    `BLPOP ${p}nokey ${p}s 0`,
    `BLMPOP 0 2 ${p}nokey ${p}s LEFT`,
    `BLMOVE ${p}s ${p}ok LEFT LEFT 0`,
    `RPUSH ${p}ok b`,
    `BLMOVE ${p}ok ${p}s LEFT LEFT 0`,
    // Wrong arity.
    `LPUSH ${p}l`,
    `RPUSH`,
    `LLEN`,
    `LLEN a b`,
    `LRANGE ${p}l 0`,
    `LINDEX ${p}l`,
    `LSET ${p}l 0`,
    `LINSERT ${p}l BEFORE a`,
    `LREM ${p}l 0`,
    `LTRIM ${p}l 0`,
    `LPOS ${p}l`,
    `LMOVE ${p}l ${p}x LEFT`,
    `RPOPLPUSH ${p}l`,
    `LMPOP 1 ${p}l`,
    `BLPOP ${p}l`,
    `BLMOVE ${p}l ${p}x LEFT LEFT`,
    `BRPOPLPUSH ${p}l ${p}x`,
    `BLMPOP 0 1 ${p}l`,
    `LPOP`,
    // Binary-safe elements and empty strings.
    `RPUSH ${p}bin "" "a b" "\\"q\\""`,
    `LRANGE ${p}bin 0 -1`,
    `LPOS ${p}bin ""`,
    `LREM ${p}bin 0 ""`,
    `LRANGE ${p}bin 0 -1`,
    // Generic commands over lists.
    `TYPE ${p}l`,
    `OBJECT ENCODING ${p}l`,
    `RPUSH ${p}small a`,
    `OBJECT ENCODING ${p}small`,
  ];
  return lines.map(cmd);
}

Deno.test("lists: replies match redis-server byte for byte (RESP2 and RESP3)", async () => {
  const d = await Differential.start();
  try {
    assertEquals(await d.compare(script("r2:")), []);
    await d.both("HELLO", "3"); // (the replies differ in the client id only)
    assertEquals(await d.compare(script("r3:")), []);
  } finally {
    await d.close();
  }
});

Deno.test("lists: long lists through growth, wrap-around and shrinking match redis-server", async () => {
  const d = await Differential.start();
  try {
    const lines: string[][] = [];
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => `e${from + i}`);
    lines.push(["RPUSH", "big", ...batch(0, 300)]);
    lines.push(["LPUSH", "big", ...batch(300, 300)]);
    lines.push(["LRANGE", "big", "290", "310"]);
    lines.push(["LPOP", "big", "250"]);
    lines.push(["RPOP", "big", "200"]);
    lines.push(["RPUSH", "big", ...batch(600, 50)]);
    lines.push(["LINSERT", "big", "BEFORE", "e620", "mid"]);
    lines.push(["LINSERT", "big", "AFTER", "e60", "mid2"]);
    lines.push(["LREM", "big", "0", "e70"]);
    lines.push(["LSET", "big", "5", "five"]);
    lines.push(["LRANGE", "big", "0", "-1"]);
    lines.push(["LPOS", "big", "mid", "RANK", "-1"]);
    lines.push(["LTRIM", "big", "10", "-10"]);
    lines.push(["LRANGE", "big", "0", "-1"]);
    for (let i = 0; i < 40; i++) lines.push(["LMOVE", "big", "big", "LEFT", "RIGHT"]);
    lines.push(["LRANGE", "big", "0", "-1"]);
    lines.push(["LINDEX", "big", "-7"]);
    lines.push(["LLEN", "big"]);
    assertEquals(await d.compare(lines), []);
  } finally {
    await d.close();
  }
});

/** The keyspace events a script produces, as a subscriber to every event sees them. */
async function events(port: number, run: RawClient, lines: string[][]): Promise<string[]> {
  const sub = await RawClient.connect(port);
  try {
    await run.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
    await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
    for (const l of lines) await run.call(...l);
    await run.call("SET", "end-marker", "1");
    const out: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const m = await sub.read();
      if (m === null) break;
      out.push(m);
      if (m.includes("end-marker")) break;
    }
    return out;
  } finally {
    sub.close();
  }
}

Deno.test("lists: keyspace notifications match redis-server", async () => {
  const d = await Differential.start();
  try {
    const lines = [
      "RPUSH n a b c",
      "LPUSH n z",
      "LPUSHX n y",
      "RPUSHX nokey y",
      "LPOP n",
      "RPOP n 2",
      "LSET n 0 q",
      "LINSERT n BEFORE q p",
      "LREM n 0 p",
      "LTRIM n 0 -1",
      "RPUSH n 1 2",
      "LMOVE n m LEFT RIGHT",
      "RPOPLPUSH n m",
      "LMPOP 1 m LEFT COUNT 5",
      "RPUSH k only",
      "BLPOP k 0",
      "RPUSH k a b",
      "LTRIM k 5 6",
      "RPUSH k a",
      "LREM k 0 a",
    ].map(cmd);
    const port = (c: RawClient) => (c.conn.remoteAddr as Deno.NetAddr).port;
    const f = await events(port(d.ferric), d.ferric, lines);
    const r = await events(port(d.redis), d.redis, lines);
    assertEquals(f, r);
  } finally {
    await d.close();
  }
});

Deno.test("lists: the deque keeps order through growth, wrap-around, inserts and removals", () => {
  const l = new ListValue();
  const model: string[] = [];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let step = 0; step < 5000; step++) {
    const v = `v${step}`;
    const op = rand(8);
    if (op === 0 || op === 1) {
      l.pushTail(enc.encode(v));
      model.push(v);
    } else if (op === 2) {
      l.pushHead(enc.encode(v));
      model.unshift(v);
    } else if (op === 3 && model.length) {
      assertEquals(dec.decode(l.popHead()), model.shift());
    } else if (op === 4 && model.length) {
      assertEquals(dec.decode(l.popTail()), model.pop());
    } else if (op === 5) {
      const i = rand(model.length + 1);
      l.insertAt(i, enc.encode(v));
      model.splice(i, 0, v);
    } else if (op === 6 && model.length) {
      const i = rand(model.length);
      l.set(i, enc.encode(v));
      model[i] = v;
    } else if (op === 7 && model.length > 3) {
      const target = model[rand(model.length)];
      const count = rand(5) - 2;
      const { removed } = l.removeEqual(count, enc.encode(target));
      let left = count === 0 ? Infinity : Math.abs(count);
      let n = 0;
      if (count >= 0) {
        for (let i = 0; i < model.length && left > 0;) {
          if (model[i] === target) {
            model.splice(i, 1);
            left--;
            n++;
          } else i++;
        }
      } else {
        for (let i = model.length - 1; i >= 0 && left > 0; i--) {
          if (model[i] === target) {
            model.splice(i, 1);
            left--;
            n++;
          }
        }
      }
      assertEquals(removed, n);
    }
    assertEquals(l.length, model.length);
  }
  assertEquals(l.toArray().map((b) => dec.decode(b)), model);
  l.trim(3, 5);
  assertEquals(l.toArray().map((b) => dec.decode(b)), model.slice(3, model.length - 5));
  assertEquals(l.encoding({}), "quicklist");
  const round = decodeList(l.encode());
  assertEquals(round.toArray(), l.toArray());
  assertEquals(round.memoryUsage(), l.memoryUsage());
  const copy = l.clone() as ListValue;
  copy.pushTail(enc.encode("new"));
  assertEquals(copy.length, l.length + 1);
  assert(decodeList(null).isEmpty());
});

const show = (v: DataValue | Uint8Array | undefined) =>
  v instanceof ListValue ? v.toArray().map((b) => dec.decode(b)) : v;

Deno.test("lists: effects replay to the live values (blocked pops included); snapshots round-trip", async () => {
  const server = await startFerric();
  const log = RecordingLog.install(server);
  const c = await RawClient.connect(server.port);
  const blocked = await RawClient.connect(server.port);
  try {
    const lines = [
      "RPUSH a 1 2 3 4 5 6 7 8 9",
      "LPUSH a x y z",
      "LPOP a",
      "RPOP a 3",
      "LSET a 2 set",
      "LSET a -1 last",
      "LINSERT a BEFORE set before",
      "LINSERT a AFTER set after",
      "RPUSH a 1 1 1",
      "LREM a 2 1",
      "LREM a -1 1",
      "LTRIM a 1 -2",
      "LMOVE a b LEFT RIGHT",
      "LMOVE a b RIGHT LEFT",
      "RPOPLPUSH a a",
      "LMPOP 2 none a RIGHT COUNT 2",
      "RPUSH gone 1",
      "LPOP gone",
      "RPUSH gone2 1 2",
      "LTRIM gone2 5 6",
      "RPUSH gone3 q q",
      "LREM gone3 0 q",
      'RPUSH "bin key" "" "a b"',
    ].map(cmd);
    for (const l of lines) await c.call(...l);
    // A blocked client served by a push: its pop is an effect like any other.
    await blocked.write("*3\r\n$5\r\nBLPOP\r\n$1\r\nw\r\n$1\r\n0\r\n");
    await blocked.write(
      "*6\r\n$6\r\nBLMOVE\r\n$2\r\nw2\r\n$1\r\nb\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$1\r\n0\r\n",
    );
    for (let i = 0; i < 100 && server.blocking.count === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await c.call("RPUSH", "w", "p1", "p2");
    assertEquals(await blocked.read(), "*2\r\n$1\r\nw\r\n$2\r\np1\r\n");
    await c.call("RPUSH", "w2", "m1");
    assertEquals(await blocked.read(), "$2\r\nm1\r\n");

    const db = server.keyspace.dbs[0];
    const replayed = log.replay(0, { dropEmptied: false });
    const live = new Map<string, DataValue>();
    for (const k of db.keys("*")) live.set(k, db.peek(k)!.value as DataValue);
    assertEquals([...replayed.keys()].sort(), [...live.keys()].sort());
    for (const [k, v] of live) {
      assertEquals(show(replayed.get(k)), show(v), k);
      const round = decodeList(v.encode());
      assertEquals(show(round), show(v), k);
      assertEquals(round.memoryUsage(), v.memoryUsage(), k);
    }
    assertEquals(show(live.get("w")), ["p2"]);
    assertEquals((show(live.get("b")) as string[])[0], "m1");
    // Per-element log records stay small: an LPUSH of one element logs that element only.
    const before = log.records.length;
    await c.call("LPUSH", "a", "fresh");
    await c.call("RPOP", "a");
    assertEquals(
      log.records.slice(before).map((r) => [r.kind, r.data?.map((d) => dec.decode(d))]),
      [["lpush", ["fresh"]], ["rpop", ["1"]]],
    );
  } finally {
    c.close();
    blocked.close();
    await server.close();
  }
});

Deno.test("lists: memory accounting returns to where it started once the lists are gone", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    const ks = server.keyspace;
    const base = ks.usedBytes;
    const lines = [
      "RPUSH a 1 22 333 4444 55555",
      "LPUSH a x yy",
      "LSET a 0 longer-value",
      "LINSERT a AFTER 333 ins",
      "LREM a 1 22",
      "LTRIM a 1 -2",
      "LMOVE a b LEFT RIGHT",
      "RPOPLPUSH a b",
      "LMPOP 2 a b LEFT COUNT 100",
      "LMPOP 2 a b LEFT COUNT 100",
      "RPUSH c q",
      "BLPOP c 0",
    ].map(cmd);
    for (const l of lines) await c.call(...l);
    assertEquals(await c.call("DBSIZE"), ":0\r\n");
    assertEquals(ks.usedBytes, base);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("lists: survive a restart (effects and snapshots replay from the log)", async () => {
  const dir = await tempDir("ferric-lists-");
  const lines = [
    "RPUSH a 1 2 3 4 5 6",
    "LPUSH a z",
    "LPOP a 2",
    "LSET a 1 set",
    "LINSERT a BEFORE set ins",
    "LREM a 0 5",
    "LTRIM a 0 3",
    "LMOVE a b RIGHT LEFT",
    'RPUSH bin "" "x y"',
    "RPUSH gone 1",
    "RPOP gone",
  ].map(cmd);
  let server = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(server.port);
  for (const l of lines) await c.call(...l);
  const before = [
    await c.call("LRANGE", "a", "0", "-1"),
    await c.call("LRANGE", "b", "0", "-1"),
    await c.call("LRANGE", "bin", "0", "-1"),
    await c.call("EXISTS", "gone"),
  ];
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir });
  c = await RawClient.connect(server.port);
  try {
    const after = [
      await c.call("LRANGE", "a", "0", "-1"),
      await c.call("LRANGE", "b", "0", "-1"),
      await c.call("LRANGE", "bin", "0", "-1"),
      await c.call("EXISTS", "gone"),
    ];
    assertEquals(after, before);
    assertEquals(before[0], "*3\r\n$1\r\n2\r\n$3\r\nins\r\n$3\r\nset\r\n");
    assertEquals(before[1], "*1\r\n$1\r\n4\r\n");
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The keyspace events of a BLMOVE woken by an LPUSH (inside MULTI or not), as "event key". */
async function wokenMoveEvents(port: number, inMulti: boolean): Promise<string[]> {
  const [a, b, sub] = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
  try {
    await a.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
    await sub.call("PSUBSCRIBE", "__keyevent@*");
    await b.write(encodeCommand(["BLMOVE", "wsrc", "wdst", "RIGHT", "LEFT", "0"]));
    await new Promise((r) => setTimeout(r, 100));
    if (inMulti) {
      await a.call("MULTI");
      await a.call("LPUSH", "wsrc", "a", "b");
      await a.call("EXEC");
    } else await a.call("LPUSH", "wsrc", "a", "b");
    assertEquals(await b.read(), "$1\r\na\r\n");
    await sub.write(encodeCommand(["PING"]));
    const out: string[] = [];
    for (let r = await sub.read(); r !== null && !r.includes("pong"); r = await sub.read()) {
      const parts = r.split("\r\n").filter((x) => x && !/^[*$]/.test(x));
      out.push(`${parts[2].split(":").pop()} ${parts[3]}`);
    }
    return out;
  } finally {
    for (const c of [a, b, sub]) c.close();
  }
}

Deno.test("lists: a woken BLMOVE sends the push event before the pop event, as redis-server", async () => {
  const d = await Differential.start();
  try {
    for (const inMulti of [false, true]) {
      const f = await wokenMoveEvents(d.server.port, inMulti);
      assertEquals(f, await wokenMoveEvents(d.redisServer.port, inMulti));
      assertEquals(f, ["lpush wsrc", "lpush wdst", "rpop wsrc"]);
      await d.both("DEL", "wsrc", "wdst");
    }
  } finally {
    await d.close();
  }
});
