import { assert, assertEquals } from "./_assert.ts";
import {
  cmd,
  Differential,
  encodeCommand,
  RawClient,
  startFerric,
  startRedis,
} from "./_harness.ts";
import { RecordingLog } from "./_effects.ts";
import { type LexBound, SortedSetValue } from "../engine/values/sorted_set.ts";
import { decodeParts, encodeParts } from "../engine/values/codec.ts";
import { tempDir } from "./_temp_dir.ts";

/** Commands compared byte for byte with redis-server, in RESP2 and in RESP3. */
const SCRIPT: string[] = [
  // ZADD options, conflicts and errors
  "ZADD z 1 a 2 b 3 c",
  "ZADD z 1.1 d",
  "ZSCORE z d",
  "ZADD z NX 5 a 6 e",
  "ZADD z XX 7 a 8 f",
  "ZADD z XX CH 7 a 9 b",
  "ZADD z CH 7 a 9 b 1 g",
  "ZADD z GT 1 a 10 b",
  "ZADD z GT CH 1 a 10 c",
  "ZADD z LT CH 1 a 10 c",
  "ZADD z XX GT CH 100 a",
  "ZADD z NX XX 1 a",
  "ZADD z NX GT 1 a",
  "ZADD z LT GT 1 a",
  "ZADD z NX LT 1 a",
  "ZADD z INCR 1 a 2 b",
  "ZADD z INCR 5 a",
  "ZADD z INCR NX 5 a",
  "ZADD z INCR XX 5 nosuch",
  "ZADD z INCR GT -5 a",
  "ZADD z INCR LT -5 a",
  "ZADD z 1",
  "ZADD z 1 a 2",
  "ZADD z NX",
  "ZADD z abc a",
  "ZADD z nan a",
  "ZADD z 1 a x b",
  "ZADD z inf hi -inf lo",
  "ZADD z +inf hi2 -Infinity lo2",
  "ZADD z INCR -inf hi",
  "ZSCORE z hi",
  "ZADD z 1e400 x",
  "ZADD z 1e-400 x",
  'ZADD z " 1" x',
  "ZADD z 0x10 hex",
  "ZSCORE z hex",
  "ZADD z 1e-310 tiny",
  "ZSCORE z tiny",
  "ZADD z 0.1 p1 1.5e300 p2 -2.5e-5 p3 123456789012345678 p4",
  "ZMSCORE z p1 p2 p3 p4 nosuch",
  // Integer scores of every length around the 15-digit fast path, with signs and zeros.
  "ZADD zint 007 a -12 b 999999999999999 c -99999999999999 d 1234567890123456 e - f",
  'ZADD zint 007 a -12 b 999999999999999 c -99999999999999 d 1234567890123456 e "" f',
  "ZADD zint 007 a -12 b 999999999999999 c -99999999999999 d 1234567890123456 e +5 f",
  "ZADD zint -0 g 0 h 5- i",
  "ZRANGE zint 0 -1 WITHSCORES",
  // Zero-padded digits (redis-benchmark's __rand_int__), signed, up to 15 digits and past them.
  "ZADD zpad 000000012345 a +000000000000001 b -000000000000000 c 0000000000000001 d",
  "ZADD zpad 000000000000000012 e -00000000000000099 f +0 g -00 h 099999999999999 i",
  "ZADD zpad +-5 x",
  "ZADD zpad --5 x",
  "ZADD zpad + x",
  "ZADD zpad 0-0 x",
  "ZSCORE zpad c",
  "ZRANGE zpad 0 -1 WITHSCORES",
  "ZADD zx XX 1 a",
  "EXISTS zx",
  "ZADD zx XX INCR 1 a",
  "ZADD zneg -0 m",
  "ZSCORE zneg m",
  "ZADD zneg2 INCR -0 m",
  "ZSCORE zneg2 m",
  "ZRANGE z 0 -1 WITHSCORES",
  "ZCARD z",
  "ZCARD nosuch",
  // ZINCRBY
  "ZINCRBY z 2.5 a",
  "ZINCRBY z -1 newone",
  "ZINCRBY z abc a",
  "ZINCRBY z nx a",
  "ZINCRBY z incr a",
  "ZINCRBY zinf +inf m",
  "ZINCRBY zinf -inf m",
  "ZSCORE zinf m",
  // wrong type and arity
  "SET str hello",
  "ZADD str 1 a",
  "ZINCRBY str 1 a",
  "ZSCORE str a",
  "ZCARD str",
  "ZRANGE str 0 -1",
  "ZREM str a",
  "ZPOPMIN str",
  "ZRANK str a",
  "ZCOUNT str 0 1",
  "ZCOUNT str x 1",
  "ZADD",
  "ZADD z",
  "ZADD z 1",
  "ZSCORE z",
  "ZCARD",
  "ZRANGE z 0",
  "ZINCRBY z 1",
  "ZRANK z",
  "ZRANK z a b c",
  // ZREM
  "ZADD r 1 a 2 b 3 c",
  "ZREM r a nosuch a",
  "ZREM r nosuch",
  "ZREM nosuch a",
  "ZREM r b c d",
  "EXISTS r",
  // ranks and scores
  "DEL z",
  "ZADD z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h",
  "ZRANK z a",
  "ZRANK z g",
  "ZREVRANK z a",
  "ZREVRANK z h",
  "ZRANK z nosuch",
  "ZRANK nosuch a",
  "ZREVRANK nosuch a",
  "ZSCORE z nosuch",
  "ZSCORE nosuch a",
  "ZMSCORE nosuch a b",
  "ZMSCORE z a nosuch h",
  // ZCOUNT / ZLEXCOUNT
  "ZCOUNT z -inf +inf",
  "ZCOUNT z (1 5",
  "ZCOUNT z 1 (5",
  "ZCOUNT z (5 (5",
  "ZCOUNT z 5 5",
  "ZCOUNT z 6 1",
  "ZCOUNT z abc 1",
  "ZCOUNT z 1 nan",
  "ZCOUNT z ( (",
  'ZCOUNT z "" 100',
  "ZCOUNT z 1e500 inf",
  "ZCOUNT nosuch 0 1",
  "ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g",
  "ZLEXCOUNT lex - +",
  "ZLEXCOUNT lex [b (f",
  "ZLEXCOUNT lex (b [f",
  "ZLEXCOUNT lex + -",
  "ZLEXCOUNT lex - -",
  "ZLEXCOUNT lex [c [c",
  "ZLEXCOUNT lex (c [c",
  "ZLEXCOUNT lex a b",
  "ZLEXCOUNT lex [a +b",
  "ZLEXCOUNT lex -a +",
  "ZLEXCOUNT nosuch - +",
  // ZRANGE by rank
  "ZRANGE z 0 -1",
  "ZRANGE z 0 -1 WITHSCORES",
  "ZRANGE z 2 4",
  "ZRANGE z -3 -1 withscores",
  "ZRANGE z -100 100",
  "ZRANGE z 5 2",
  "ZRANGE z 100 200",
  "ZRANGE z 0 -100",
  "ZRANGE z 0 -1 REV",
  "ZRANGE z 0 1 REV WITHSCORES",
  "ZRANGE z 0 1 LIMIT 0 1",
  "ZRANGE z 0 1 LIMIT 0 -1",
  "ZRANGE z a 1",
  "ZRANGE z 0 1 FOO",
  "ZRANGE z 0 1 REV REV",
  "ZRANGE z 0 1 BYSCORE BYLEX",
  "ZRANGE z 0 1 LIMIT 0",
  "ZRANGE z 0 1 LIMIT x 1",
  "ZRANGE nosuch 0 -1",
  "ZREVRANGE z 0 -1",
  "ZREVRANGE z 1 3 WITHSCORES",
  "ZREVRANGE z 0 1 REV",
  "ZREVRANGE z 0 1 LIMIT 0 1",
  "ZREVRANGE z 0 1 BYSCORE",
  // by score
  "ZRANGE z 2 5 BYSCORE",
  "ZRANGE z (2 (5 BYSCORE WITHSCORES",
  "ZRANGE z 5 2 BYSCORE REV",
  "ZRANGE z -inf +inf BYSCORE LIMIT 2 3",
  "ZRANGE z -inf +inf BYSCORE LIMIT 2 -1",
  "ZRANGE z -inf +inf BYSCORE LIMIT -1 2",
  "ZRANGE z -inf +inf BYSCORE LIMIT 0 0",
  "ZRANGE z -inf +inf BYSCORE LIMIT 100 1",
  "ZRANGE z -inf +inf BYSCORE LIMIT 7 5",
  "ZRANGE z +inf -inf BYSCORE REV LIMIT 1 3 WITHSCORES",
  "ZRANGE z 5 5 BYSCORE",
  "ZRANGE z (5 5 BYSCORE",
  "ZRANGE z 6 1 BYSCORE",
  "ZRANGE z x 1 BYSCORE",
  "ZRANGEBYSCORE z -inf +inf",
  "ZRANGEBYSCORE z -inf +inf WITHSCORES",
  "ZRANGEBYSCORE z (1 5 LIMIT 1 2",
  "ZRANGEBYSCORE z (1 5 LIMIT 1 2 WITHSCORES",
  "ZRANGEBYSCORE z 1 5 REV",
  "ZRANGEBYSCORE z 1 5 BYLEX",
  "ZRANGEBYSCORE z 1 5 LIMIT 1",
  "ZRANGEBYSCORE z a 5",
  "ZREVRANGEBYSCORE z +inf -inf",
  "ZREVRANGEBYSCORE z 5 (1 WITHSCORES",
  "ZREVRANGEBYSCORE z 5 1 LIMIT 1 2",
  "ZREVRANGEBYSCORE z 1 5",
  // by lex
  "ZRANGE lex - + BYLEX",
  "ZRANGE lex [b (e BYLEX",
  "ZRANGE lex (e [b BYLEX REV",
  "ZRANGE lex + - BYLEX REV LIMIT 1 2",
  "ZRANGE lex - + BYLEX WITHSCORES",
  "ZRANGE lex a b BYLEX",
  "ZRANGEBYLEX lex - +",
  "ZRANGEBYLEX lex [c +",
  "ZRANGEBYLEX lex - [c LIMIT 1 1",
  "ZRANGEBYLEX lex (a (a",
  "ZRANGEBYLEX lex - + WITHSCORES",
  "ZRANGEBYLEX lex c d",
  "ZREVRANGEBYLEX lex + -",
  "ZREVRANGEBYLEX lex [e (b",
  "ZREVRANGEBYLEX lex + - LIMIT 2 2",
  "ZREVRANGEBYLEX lex - +",
  // ZRANGESTORE
  "ZRANGESTORE dst z 0 2",
  "ZRANGE dst 0 -1 WITHSCORES",
  "ZRANGESTORE dst z 2 5 BYSCORE REV",
  "ZRANGESTORE dst z 5 2 BYSCORE REV LIMIT 1 2",
  "ZRANGE dst 0 -1 WITHSCORES",
  "ZRANGESTORE dst lex [b [d BYLEX",
  "ZRANGE dst 0 -1",
  "ZRANGESTORE dst z 0 -1 WITHSCORES",
  "ZRANGESTORE dst nosuch 0 -1",
  "EXISTS dst",
  "ZRANGESTORE dst z 10 20",
  "ZRANGESTORE str2 str 0 -1",
  "SET strdst x",
  "ZRANGESTORE strdst z 0 0",
  "TYPE strdst",
  "ZRANGESTORE dst z",
  // ZREMRANGEBY*
  "ZADD rr 1 a 2 b 3 c 4 d 5 e 6 f",
  "ZREMRANGEBYRANK rr 0 0",
  "ZREMRANGEBYRANK rr -1 -1",
  "ZREMRANGEBYRANK rr 10 20",
  "ZREMRANGEBYRANK rr 2 1",
  "ZREMRANGEBYRANK rr x 1",
  "ZRANGE rr 0 -1",
  "ZREMRANGEBYSCORE rr (2 4",
  "ZREMRANGEBYSCORE rr 10 20",
  "ZREMRANGEBYSCORE rr x 1",
  "ZRANGE rr 0 -1 WITHSCORES",
  "ZREMRANGEBYLEX rr - +",
  "EXISTS rr",
  "ZADD rl 0 a 0 b 0 c 0 d",
  "ZREMRANGEBYLEX rl (a [c",
  "ZREMRANGEBYLEX rl a b",
  "ZRANGE rl 0 -1",
  "ZREMRANGEBYRANK rl 0 -1",
  "EXISTS rl",
  "ZREMRANGEBYRANK nosuch 0 -1",
  "ZREMRANGEBYSCORE nosuch 0 1",
  "ZREMRANGEBYLEX nosuch - +",
  "ZREMRANGEBYRANK str 0 1",
  "ZREMRANGEBYSCORE str x 1",
  // pops
  "ZADD p 1 a 2 b 3 c 4 d 5 e",
  "ZPOPMIN p",
  "ZPOPMAX p",
  "ZPOPMIN p 2",
  "ZPOPMAX p 0",
  "ZPOPMIN p -1",
  "ZPOPMIN p x",
  "ZPOPMIN p 1 2",
  "ZPOPMAX p 10",
  "EXISTS p",
  "ZPOPMIN nosuch",
  "ZPOPMIN nosuch 3",
  "ZPOPMIN nosuch 0",
  "ZPOPMIN str 0",
  "ZADD p 1 a 2 b 3 c 4 d 5 e",
  "ZMPOP 1 p MIN",
  "ZMPOP 2 nosuch p MAX COUNT 2",
  "ZMPOP 1 p MIN COUNT 10",
  "ZMPOP 1 p MIN",
  "ZMPOP 2 nosuch str MIN",
  "ZMPOP 2 str nosuch MIN",
  "ZMPOP 0 p MIN",
  "ZMPOP x p MIN",
  "ZMPOP 1 p FOO",
  "ZMPOP 2 p MIN",
  "ZMPOP 1 p MIN COUNT 0",
  "ZMPOP 1 p MIN COUNT x",
  "ZMPOP 1 p MIN COUNT 1 COUNT 1",
  "ZMPOP 1 p MIN COUNT",
  "ZMPOP 1 p MIN LIMIT 1",
  // ZRANDMEMBER (deterministic forms)
  "ZADD rm 1 a 2 b 3 c",
  "ZRANDMEMBER rm 3",
  "ZRANDMEMBER rm 10 WITHSCORES",
  "ZRANDMEMBER rm 0",
  "ZRANDMEMBER rm 0 WITHSCORES",
  "ZRANDMEMBER nosuch",
  "ZRANDMEMBER nosuch 5",
  "ZRANDMEMBER nosuch -5 WITHSCORES",
  "ZRANDMEMBER rm x",
  "ZRANDMEMBER rm 1 WITHSCORE",
  "ZRANDMEMBER rm 1 WITHSCORES x",
  "ZRANDMEMBER rm -9223372036854775808",
  "ZRANDMEMBER rm -9223372036854775807 WITHSCORES",
  "ZRANDMEMBER rm 4611686018427387904 WITHSCORES",
  "ZRANDMEMBER str",
  "ZRANDMEMBER str 1",
  "ZADD one 7.5 only",
  "ZRANDMEMBER one",
  "ZRANDMEMBER one -3 WITHSCORES",
  "ZRANDMEMBER one 1 WITHSCORES",
  // set operations
  "DEL z1 z2 z3 s1",
  "ZADD z1 1 a 2 b 3 c",
  "ZADD z2 10 b 20 c 30 d",
  "ZADD z3 100 c 200 e",
  "SADD s1 a c x",
  "ZUNION 2 z1 z2",
  "ZUNION 2 z1 z2 WITHSCORES",
  "ZUNION 3 z1 z2 z3 WEIGHTS 1 2 3 WITHSCORES",
  "ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES",
  "ZUNION 2 z1 z2 AGGREGATE max WITHSCORES",
  "ZUNION 2 z1 s1 WITHSCORES",
  "ZUNION 2 z1 nosuch WITHSCORES",
  "ZUNION 1 nosuch",
  "ZUNION 2 z1 z2 WEIGHTS 1",
  "ZUNION 2 z1 z2 WEIGHTS 1 x",
  "ZUNION 2 z1 z2 WEIGHTS 1 nan",
  "ZUNION 2 z1 z2 AGGREGATE avg",
  "ZUNION 2 z1 z2 AGGREGATE",
  "ZUNION 2 z1 z2 FOO",
  "ZUNION 0 z1",
  "ZUNION -1 z1",
  "ZUNION x z1",
  "ZUNION 3 z1 z2",
  "ZUNION 2 z1 str",
  "ZUNION 2 str z1 FOO",
  "ZUNION 2 z1 z2 WEIGHTS inf -inf WITHSCORES",
  "ZUNION 2 z1 z1 WEIGHTS 0 inf WITHSCORES",
  "ZINTER 2 z1 z2",
  "ZINTER 2 z1 z2 WITHSCORES",
  "ZINTER 3 z1 z2 z3 WITHSCORES",
  "ZINTER 2 z1 z2 WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES",
  "ZINTER 2 z1 s1 WITHSCORES",
  "ZINTER 2 s1 z1 AGGREGATE MIN WITHSCORES",
  "ZINTER 2 z1 nosuch",
  "ZINTER 2 z1 z1 WITHSCORES",
  "ZDIFF 2 z1 z2",
  "ZDIFF 2 z1 z2 WITHSCORES",
  "ZDIFF 1 z1 WITHSCORES",
  "ZDIFF 2 z1 s1 WITHSCORES",
  "ZDIFF 2 s1 z1 WITHSCORES",
  "ZDIFF 2 nosuch z1",
  "ZDIFF 2 z1 z2 WEIGHTS 1 1",
  "ZDIFF 2 z1 z2 AGGREGATE SUM",
  "ZDIFF 0 z1",
  "ZINTERCARD 2 z1 z2",
  "ZINTERCARD 3 z1 z2 z3",
  "ZINTERCARD 2 z1 z2 LIMIT 1",
  "ZINTERCARD 2 z1 z2 LIMIT 0",
  "ZINTERCARD 2 z1 s1",
  "ZINTERCARD 2 z1 z2 LIMIT -1",
  "ZINTERCARD 2 z1 z2 LIMIT x",
  "ZINTERCARD 2 z1 z2 WITHSCORES",
  "ZINTERCARD 2 z1 z2 WEIGHTS 1 1",
  "ZINTERCARD 0 z1",
  "ZINTERCARD 3 z1 z2",
  "ZINTERCARD 1 str",
  "ZUNIONSTORE out 2 z1 z2",
  "ZRANGE out 0 -1 WITHSCORES",
  "ZUNIONSTORE out 2 z1 z2 WEIGHTS 2 3 AGGREGATE MIN",
  "ZRANGE out 0 -1 WITHSCORES",
  "ZUNIONSTORE out 2 z1 z2 WITHSCORES",
  "ZINTERSTORE out 2 z1 z2",
  "ZRANGE out 0 -1 WITHSCORES",
  "ZINTERSTORE out 2 z1 z3 AGGREGATE MAX",
  "ZRANGE out 0 -1 WITHSCORES",
  "ZINTERSTORE out 2 z1 nosuch",
  "EXISTS out",
  "ZDIFFSTORE out 2 z1 z2",
  "ZRANGE out 0 -1 WITHSCORES",
  "ZDIFFSTORE out 2 z1 z1",
  "EXISTS out",
  "ZUNIONSTORE z1 2 z1 z2",
  "ZRANGE z1 0 -1 WITHSCORES",
  "ZUNIONSTORE str 1 z2",
  "TYPE str",
  "SET str hello",
  "ZUNIONSTORE out 0 z1",
  "ZINTERSTORE out 0 z1",
  "ZDIFFSTORE out 0 z1",
  "ZDIFFSTORE out 3 z1",
  "ZUNIONSTORE out 1 str",
  "ZUNIONSTORE out",
  // ZSCAN on small sets (listpack: all at once, cursor 0)
  "ZADD sc 1 a 2 b 3.5 c 4 ab",
  "ZSCAN sc 0",
  "ZSCAN sc 0 MATCH a*",
  "ZSCAN sc 0 COUNT 1",
  "ZSCAN sc 5 COUNT 1",
  "ZSCAN sc -1",
  'ZSCAN sc ""',
  "ZSCAN sc 18446744073709551615",
  "ZSCAN sc 18446744073709551616",
  'ZSCAN sc " 1"',
  "ZSCAN sc x",
  "ZSCAN sc 0 COUNT 0",
  "ZSCAN sc 0 COUNT x",
  "ZSCAN sc 0 MATCH",
  "ZSCAN sc 0 TYPE zset",
  "ZSCAN sc 0 NOVALUES",
  // A small set replies scores as its listpack stores them: whole numbers within 2^62 in full.
  "ZADD scw 123456789012345678 a 4611686018427387904 b 5e18 c -4e18 d 0.1 e 1e20 f -0 g 1e16 h",
  "ZSCAN scw 0",
  "ZSCORE scw a",
  "ZSCAN nosuch 0",
  "ZSCAN nosuch 0 COUNT 0",
  "ZSCAN nosuch x",
  "ZSCAN str 0",
  "ZSCAN str 0 COUNT 0",
  // number formats and edges
  "DEL f",
  "ZADD f 1.0 a +1 b -.5 c .5 d 5. e 1e5 g 0x1p3 h 1_0 i",
  "ZADD f 1.0 a +1 b -.5 c .5 d 5. e 1e5 g",
  "ZADD f 1e21 big 1.5e-7 small 123456789.123 mid 9007199254740993 odd 0.30000000000000004 ptt",
  "ZRANGE f 0 -1 WITHSCORES",
  'ZADD f "" a',
  'ZADD f "1 " a',
  "ZADD f 1e a",
  "ZINCRBY f 1e308 huge",
  "ZINCRBY f 1e308 huge",
  "ZSCORE f huge",
  "ZINCRBY f -inf huge",
  "ZINCRBY f inf huge",
  "ZRANGE f 0 9223372036854775807",
  "ZRANGE f -9223372036854775808 1",
  "ZRANGE f 0 9223372036854775808",
  "ZRANGE f -inf +inf BYSCORE LIMIT 9223372036854775807 9223372036854775807",
  "ZRANGE f -inf +inf BYSCORE LIMIT 1 9223372036854775807",
  "ZRANGEBYSCORE f (-inf (inf",
  "ZRANGEBYSCORE f -inf -inf",
  "ZRANGEBYSCORE f +inf +inf",
  "ZRANGEBYSCORE f (1 (1",
  "ZRANGEBYSCORE f 0x1 0x10 WITHSCORES",
  "ZRANGEBYSCORE f -1e500 (1e500",
  'ZRANGEBYSCORE f " 1" "\t5"',
  'ZRANGEBYSCORE f "1 " 5',
  "ZRANGEBYSCORE f inf -inf",
  "ZRANGEBYSCORE f -infinity +INFINITY",
  "ZCOUNT f (1 (1",
  "ZCOUNT f nan(123) 1",
  'ZADD lx 0 "" 0 a 0 aa 0 b',
  "ZRANGEBYLEX lx [ +",
  "ZRANGEBYLEX lx ( +",
  "ZRANGEBYLEX lx - [",
  "ZRANGEBYLEX lx - (a",
  "ZRANGEBYLEX lx [a [aa",
  "ZRANGEBYLEX lx +a +",
  'ZRANGEBYLEX lx "" +',
  "ZLEXCOUNT lx [ [",
  "ZLEXCOUNT lx ( [",
  "ZUNION 2 z1 z2 WEIGHTS 1 2 3",
  "ZUNION 2 z1 z2 WITHSCORES WITHSCORES",
  "ZUNION 2 z1 z2 AGGREGATE MIN AGGREGATE MAX WITHSCORES",
  "ZUNION 2 z1 z2 WEIGHTS 1 1 WEIGHTS 3 3 WITHSCORES",
  "ZINTER 1 z2 WEIGHTS -1 WITHSCORES",
  "ZINTER 1 z2 WEIGHTS 0x10 WITHSCORES",
  "ZADD s1 1 not-a-set",
  "MULTI",
  "ZADD tx 1 a",
  "ZINCRBY tx 2 a",
  "ZRANGE tx 0 -1 WITHSCORES",
  "ZPOPMIN tx",
  "EXEC",
];

/** Members with every byte value, to check that order is by bytes (memcmp). */
function binaryScript(): (string | Uint8Array)[][] {
  const b = (...bytes: number[]) => Uint8Array.from(bytes);
  const zadd: (string | Uint8Array)[] = ["ZADD", "bin"];
  for (const m of [b(0), b(255), b(0, 0), b(128), b(127), b(1, 255), b(), b(97, 0), b(97)]) {
    zadd.push("0", m);
  }
  return [
    zadd,
    ["ZRANGE", "bin", "0", "-1"],
    ["ZRANGEBYLEX", "bin", Uint8Array.of(40, 97), Uint8Array.of(91, 255)],
    ["ZRANK", "bin", b(128)],
    ["ZSCORE", "bin", b()],
    ["ZREM", "bin", b(0), b(255, 255)],
    ["ZSCAN", "bin", "0", "MATCH", Uint8Array.of(97, 42)],
    ["ZRANGE", "bin", "0", "-1", "REV"],
  ];
}

async function runScript(proto: 2 | 3): Promise<void> {
  const d = await Differential.start();
  try {
    await d.both("HELLO", String(proto));
    const diffs = await d.compare([...SCRIPT.map(cmd), ...binaryScript()]);
    assertEquals(diffs, [], `RESP${proto}`);
  } finally {
    await d.close();
  }
}

Deno.test("sorted sets: replies match redis-server byte for byte (RESP2)", async () => {
  await runScript(2);
});

Deno.test("sorted sets: replies match redis-server byte for byte (RESP3)", async () => {
  await runScript(3);
});

/** Commands around the listpack → skiplist conversion, compared with redis-server. */
function encodingScript(): string[][] {
  const s: string[][] = [];
  const add = (key: string, from: number, to: number, prefix = "m") => {
    const args = ["ZADD", key];
    for (let i = from; i <= to; i++) args.push(String(i + 0.5), `${prefix}${i}`);
    s.push(args);
  };
  add("big", 1, 128);
  s.push(["OBJECT", "ENCODING", "big"], ["ZCARD", "big"]);
  s.push(["ZADD", "big", "NX", "1", "m1"], ["OBJECT", "ENCODING", "big"]);
  s.push(["ZADD", "big", "200", "m129"], ["OBJECT", "ENCODING", "big"]);
  s.push(["ZREMRANGEBYRANK", "big", "0", "-3"], ["OBJECT", "ENCODING", "big"]);
  s.push(["ZRANGE", "big", "0", "-1", "WITHSCORES"]);
  s.push(["ZADD", "long", "1", "x".repeat(64)], ["OBJECT", "ENCODING", "long"]);
  s.push(["ZADD", "long", "2", "y".repeat(65)], ["OBJECT", "ENCODING", "long"]);
  s.push(["ZADD", "long2", "1", "a", "2", "y".repeat(65)], ["OBJECT", "ENCODING", "long2"]);
  s.push(["ZINCRBY", "long3", "1", "z".repeat(100)], ["OBJECT", "ENCODING", "long3"]);
  // A skiplist keeps -0, a listpack writes it as 0.
  s.push(["ZADD", "big", "-0", "negzero"], ["ZSCORE", "big", "negzero"]);
  s.push(["ZADD", "small", "-0", "negzero"], ["ZSCORE", "small", "negzero"]);
  s.push(["ZADD", "small", "1", "a"], ["ZADD", "small", "-0", "a"], ["ZSCORE", "small", "a"]);
  s.push(["ZADD", "big", "1", "a"], ["ZADD", "big", "-0", "a"], ["ZSCORE", "big", "a"]);
  s.push(["ZUNIONSTORE", "u", "1", "big"], ["OBJECT", "ENCODING", "u"], ["ZSCORE", "u", "a"]);
  s.push(["ZUNION", "1", "big", "WITHSCORES"]);
  // The insert that converts keeps its -0; the ones before it in the same command do not.
  add("e128", 1, 127);
  s.push(["ZADD", "e128", "-0", "first", "-0", "second", "-0", "third"]);
  s.push(["ZRANGE", "e128", "0", "3", "WITHSCORES"], ["OBJECT", "ENCODING", "e128"]);
  add("big2", 1, 300, "n");
  s.push(["OBJECT", "ENCODING", "big2"]);
  s.push(["ZRANGESTORE", "r1", "big2", "0", "127"], ["OBJECT", "ENCODING", "r1"]);
  s.push(["ZRANGESTORE", "r2", "big2", "0", "128"], ["OBJECT", "ENCODING", "r2"]);
  // ZRANGESTORE builds its result element by element: BYSCORE and BYLEX start a listpack and
  // convert at the 129th element (or at a member over 64 bytes), so the -0 scores stored before
  // the conversion lose their sign; a rank range over 128 elements is a skiplist at once.
  const negzero: string[] = ["ZADD", "nz"];
  for (let i = 0; i < 200; i++) negzero.push("-0", `z${String(i).padStart(3, "0")}`);
  s.push(negzero);
  add("nz", 1, 140);
  for (
    const range of [
      ["-0", "0", "BYSCORE"],
      ["0", "-0", "BYSCORE", "REV"],
      ["-", "+", "BYLEX"],
      ["0", "199"],
      ["0", "99"],
    ]
  ) {
    s.push(["ZRANGESTORE", "nzr", "nz", ...range], ["OBJECT", "ENCODING", "nzr"]);
    s.push(["ZRANGE", "nzr", "0", "-1", "WITHSCORES"]);
  }
  s.push(["ZADD", "nzl", "-0", "a", "-0", "b", "-0", "c" + "x".repeat(70), "-0", "d"]);
  s.push(["ZRANGESTORE", "nzr", "nzl", "-0", "0", "BYSCORE"], ["OBJECT", "ENCODING", "nzr"]);
  s.push(["ZRANGE", "nzr", "0", "-1", "WITHSCORES"]);
  s.push(["ZUNIONSTORE", "u2", "2", "big2", "small"], ["OBJECT", "ENCODING", "u2"]);
  s.push(["ZINTERSTORE", "i2", "2", "big2", "big2"], ["OBJECT", "ENCODING", "i2"]);
  s.push(["ZDIFFSTORE", "d2", "2", "big2", "r2"], ["OBJECT", "ENCODING", "d2"], ["ZCARD", "d2"]);
  s.push(["ZRANGE", "big2", "100", "110", "WITHSCORES"]);
  s.push(["ZRANGE", "big2", "(10", "20.5", "BYSCORE", "LIMIT", "2", "5", "WITHSCORES"]);
  s.push(["ZRANGE", "big2", "(200", "20.5", "BYSCORE", "REV", "LIMIT", "2", "5"]);
  s.push(["ZRANGEBYSCORE", "big2", "-inf", "+inf", "LIMIT", "295", "10"]);
  s.push(["ZCOUNT", "big2", "(10", "250"], ["ZRANK", "big2", "n150"], ["ZREVRANK", "big2", "n150"]);
  s.push(["ZRANDMEMBER", "big2", "1000", "WITHSCORES"], ["ZRANDMEMBER", "big2", "300"]);
  s.push(["ZPOPMIN", "big2", "3"], ["ZPOPMAX", "big2", "3"], [
    "ZMPOP",
    "1",
    "big2",
    "MAX",
    "COUNT",
    "2",
  ]);
  s.push(["ZREMRANGEBYSCORE", "big2", "(50", "100"], ["ZREMRANGEBYRANK", "big2", "10", "20"]);
  s.push(["ZRANGE", "big2", "0", "-1", "WITHSCORES"]);
  s.push(["ZINCRBY", "big2", "1000", "n30"], ["ZRANGE", "big2", "-3", "-1", "WITHSCORES"]);
  s.push([
    "ZADD",
    "lexbig",
    ...Array.from({ length: 200 }, (_, i) => ["0", `k${1000 + i}`]).flat(),
  ]);
  s.push(["ZRANGEBYLEX", "lexbig", "[k1050", "(k1060"], ["ZLEXCOUNT", "lexbig", "(k1050", "+"]);
  s.push(["ZREVRANGEBYLEX", "lexbig", "+", "[k1190", "LIMIT", "1", "3"]);
  s.push(["ZREMRANGEBYLEX", "lexbig", "[k1010", "[k1189"], ["ZRANGE", "lexbig", "0", "-1"]);
  s.push(["OBJECT", "ENCODING", "lexbig"]);
  s.push(["COPY", "big", "bigcopy"], ["OBJECT", "ENCODING", "bigcopy"]);
  s.push(["ZRANGE", "bigcopy", "0", "-1", "WITHSCORES"]);
  return s;
}

Deno.test("sorted sets: encodings and large sets match redis-server", async () => {
  for (const proto of [2, 3]) {
    const d = await Differential.start();
    try {
      await d.both("HELLO", String(proto));
      assertEquals(await d.compare(encodingScript()), [], `RESP${proto}`);
    } finally {
      await d.close();
    }
  }
});

/** Write commands whose keyspace notifications are compared with redis-server's. */
const NOTIFY_SCRIPT = [
  "ZUNIONSTORE u1 2 nosuch1 nosuch2",
  "ZINTERSTORE u2 1 nosuch3",
  "ZDIFFSTORE u3 1 nosuch4",
  "ZADD n 1 a 2 b 3 c",
  "ZADD n 1 a",
  "ZADD n XX 5 nosuch",
  "ZADD n INCR 1 a",
  "ZINCRBY n 0 a",
  "ZINCRBY n 1 d",
  "ZREM n nosuch",
  "ZREM n a",
  "ZPOPMIN n",
  "ZPOPMAX n 0",
  "ZPOPMAX n 10",
  "ZADD n 1 a 2 b 3 c 4 d",
  "ZREMRANGEBYRANK n 0 0",
  "ZREMRANGEBYSCORE n 100 200",
  "ZREMRANGEBYSCORE n 2 2",
  "ZREMRANGEBYLEX n - +",
  "ZADD n 1 a 2 b",
  "ZADD m 2 b 3 c",
  "ZUNIONSTORE u 2 n m",
  "ZINTERSTORE u 2 n m",
  "ZDIFFSTORE u 2 n m",
  "ZDIFFSTORE u 2 n n",
  "ZRANGESTORE r n 0 -1",
  "ZRANGESTORE r nosuch 0 -1",
  "ZMPOP 2 nosuch n MIN COUNT 5",
  "ZADD x 1 a",
  "ZREM x a",
].map(cmd);

async function notifications(port: number): Promise<string[]> {
  const sub = await RawClient.connect(port);
  const c = await RawClient.connect(port);
  try {
    await c.call("CONFIG", "SET", "notify-keyspace-events", "KEAm");
    await sub.call("PSUBSCRIBE", "__key*__:*");
    for (const line of NOTIFY_SCRIPT) await c.call(...line);
    await sub.write("*1\r\n$4\r\nPING\r\n");
    const out: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = (await sub.read())!;
      if (r.includes("pong")) break;
      out.push(r);
    }
    return out;
  } finally {
    sub.close();
    c.close();
  }
}

Deno.test("sorted sets: keyspace notifications match redis-server", async () => {
  const server = await startFerric();
  const redis = await startRedis();
  try {
    const mine = await notifications(server.port);
    const theirs = await notifications(redis.port);
    assert(theirs.length > 40, `redis sent ${theirs.length} notifications`);
    assertEquals(mine, theirs);
  } finally {
    server.close();
    await redis.stop("SIGKILL");
  }
});

/** Parses a flat RESP2 array of bulk strings (or nested arrays) into strings. */
function parseArray(raw: string): string[] {
  const lines = raw.split("\r\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("$") && lines[i] !== "$-1") out.push(lines[++i]);
  }
  return out;
}

Deno.test("sorted sets: ZRANDMEMBER counts, distinctness and scores", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    for (const size of [5, 300]) {
      const key = `rnd${size}`;
      const args = ["ZADD", key];
      for (let i = 0; i < size; i++) args.push(String(i), `m${i}`);
      await c.call(...args);
      for (const count of [1, 2, 4, size - 1, size, size + 5]) {
        const got = parseArray(await c.call("ZRANDMEMBER", key, String(count), "WITHSCORES"));
        const members = got.filter((_, i) => i % 2 === 0);
        assertEquals(members.length, Math.min(count, size), `count ${count}`);
        assertEquals(new Set(members).size, members.length, "distinct");
        for (let i = 0; i < got.length; i += 2) assertEquals(`m${got[i + 1]}`, got[i]);
      }
      const many = parseArray(await c.call("ZRANDMEMBER", key, String(-3 * size)));
      assertEquals(many.length, 3 * size);
      for (const m of many) assert(/^m\d+$/.test(m) && Number(m.slice(1)) < size);
      // With a repeating count every member shows up sooner or later (uniform picks).
      assert(new Set(many).size > size / 2, "negative count covers the set");
      const one = parseArray(await c.call("ZRANDMEMBER", key));
      assertEquals(one.length, 1);
    }
    await c.call("HELLO", "3");
    const r3 = await c.call("ZRANDMEMBER", "rnd5", "-2", "WITHSCORES");
    assert(/^\*2\r\n\*2\r\n\$2\r\nm(\d)\r\n,\1\r\n\*2\r\n\$2\r\nm(\d)\r\n,\2\r\n$/.test(r3), r3);
  } finally {
    c.close();
    server.close();
  }
});

Deno.test("sorted sets: ZSCAN of a skiplist returns every member present for the whole scan", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    const args = ["ZADD", "big"];
    for (let i = 0; i < 1000; i++) args.push(String(i / 4), `m${i}`);
    await c.call(...args);
    const seen = new Map<string, string>();
    let cursor = "0";
    let calls = 0;
    do {
      const raw = await c.call("ZSCAN", "big", cursor, "COUNT", "37");
      const items = parseArray(raw);
      cursor = items[0];
      for (let i = 1; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
      // Churn between calls: remove some members that stay out, add new ones.
      await c.call("ZREM", "big", `m${900 + calls}`);
      await c.call("ZADD", "big", "5000", `new${calls}`, "-1", `low${calls}`);
      calls++;
    } while (cursor !== "0" && calls < 1000);
    assertEquals(cursor, "0");
    for (let i = 0; i < 900; i++) assertEquals(seen.get(`m${i}`), String(i / 4), `m${i}`);
    // MATCH filters members (and their scores), COUNT bounds the work per call.
    const page = parseArray(await c.call("ZSCAN", "big", "0", "MATCH", "m1?", "COUNT", "2000"));
    assertEquals(page[0], "0");
    assertEquals(page.slice(1).filter((_, i) => i % 2 === 0).sort(), [
      "m10",
      "m11",
      "m12",
      "m13",
      "m14",
      "m15",
      "m16",
      "m17",
      "m18",
      "m19",
    ]);
  } finally {
    c.close();
    server.close();
  }
});

Deno.test("sorted sets: ZRANK/ZREVRANK WITHSCORE (Redis 7.2) in RESP2 and RESP3", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    await c.call("ZADD", "z", "1.5", "a", "2", "b", "3", "c");
    assertEquals(await c.call("ZRANK", "z", "b", "WITHSCORE"), "*2\r\n:1\r\n$1\r\n2\r\n");
    assertEquals(await c.call("ZREVRANK", "z", "a", "withscore"), "*2\r\n:2\r\n$3\r\n1.5\r\n");
    assertEquals(await c.call("ZRANK", "z", "x", "WITHSCORE"), "*-1\r\n");
    assertEquals(await c.call("ZRANK", "nosuch", "x", "WITHSCORE"), "*-1\r\n");
    assertEquals(await c.call("ZRANK", "z", "x"), "$-1\r\n");
    assertEquals(await c.call("ZRANK", "z", "a", "WITHSCORES"), "-ERR syntax error\r\n");
    assertEquals(
      await c.call("ZRANK", "z", "a", "WITHSCORE", "x"),
      "-ERR wrong number of arguments for 'zrank' command\r\n",
    );
    await c.call("HELLO", "3");
    assertEquals(await c.call("ZRANK", "z", "c", "WITHSCORE"), "*2\r\n:2\r\n,3\r\n");
    assertEquals(await c.call("ZREVRANK", "z", "x", "WITHSCORE"), "_\r\n");
  } finally {
    c.close();
    server.close();
  }
});

Deno.test("sorted sets: the ordered list agrees with a sorted array (splits, merges, rebuilds)", () => {
  let z = new SortedSetValue();
  z.skiplist = true;
  const ref = new Map<string, number>();
  const sorted = () =>
    [...ref].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const members = (nodes: { member: string }[]) => nodes.map((n) => n.member);
  // Phases: a small set, growth to many blocks, mass deletion (merges), regrowth.
  const phases = [[60, 0.3], [3000, 0.2], [3000, 0.8], [4000, 0.25]] as const;
  for (let p = 0; p < phases.length; p++) {
    const [population, deletes] = phases[p];
    for (let i = 0; i < 6000; i++) {
      const m = "m" + Math.floor(Math.random() * population);
      const r = Math.random();
      if (r < (1 - deletes) * 0.98) {
        const s = Math.floor(Math.random() * 30);
        z.set(m, s);
        ref.set(m, s);
      } else if (r < 0.98) {
        z.remove(m);
        ref.delete(m);
      } else {
        const a = sorted();
        assertEquals(z.size, a.length);
        for (let k = 0; k < 5 && a.length > 0; k++) {
          const x = Math.floor(Math.random() * a.length);
          assertEquals(z.byRank(x).member, a[x][0]);
          assertEquals(z.rank(a[x][0]), x);
          assertEquals(z.rank(a[x][0], true), a.length - 1 - x);
          const n = Math.floor(Math.random() * 700);
          assertEquals(members(z.range(x, n)), a.slice(x, x + n).map((e) => e[0]));
          assertEquals(
            members(z.range(x, n, true)),
            a.slice(Math.max(0, x - n + 1), x + 1).reverse().map((e) => e[0]),
          );
          assertEquals(z.byRank(x).next[0]?.member, a[x + 1]?.[0]);
          assertEquals(z.byRank(x).backward?.member, a[x - 1]?.[0]);
          const min = Math.floor(Math.random() * 32) - 1, max = Math.floor(Math.random() * 32) - 1;
          const range = { min, max, minex: Math.random() < .5, maxex: Math.random() < .5 };
          const inRange = a.map((e, i) => [e[0], i] as const).filter(([, i]) => {
            const s = a[i][1];
            return (range.minex ? s > min : s >= min) && (range.maxex ? s < max : s <= max);
          });
          assertEquals(z.countScore(range), inRange.length);
          const first = z.firstInScoreRange(range), last = z.lastInScoreRange(range);
          assertEquals(first && [first[0].member, first[1]], inRange[0] ? [...inRange[0]] : null);
          assertEquals(
            last && [last[0].member, last[1]],
            inRange.at(-1) ? [...inRange.at(-1)!] : null,
          );
        }
      }
    }
    assertEquals([...z.nodes()].map((n) => [n.member, n.score]), sorted());
    // Sets rebuilt from a clone or a snapshot (built in one pass) keep working the same.
    if (p === 1) z = z.clone();
    if (p === 2) z = SortedSetValue.decode(z.encode());
  }
  // Lex ranges over members with one score.
  const lex = new SortedSetValue();
  for (let i = 0; i < 3000; i++) lex.set(`k${Math.floor(Math.random() * 100000)}`, 0);
  const all = [...lex.nodes()].map((n) => n.member);
  const bound = (inf: -1 | 1): LexBound => {
    const r = Math.random();
    if (r < 0.05) return { inf };
    const v = r < 0.4
      ? all[Math.floor(Math.random() * all.length)]
      : `k${Math.floor(Math.random() * 100000)}`;
    return { value: v, ex: Math.random() < 0.5 };
  };
  for (let k = 0; k < 500; k++) {
    const range = { min: bound(-1), max: bound(1) };
    const ok = (m: string, b: LexBound, low: boolean) =>
      "inf" in b
        ? true
        : low
        ? (b.ex ? m > b.value : m >= b.value)
        : (b.ex ? m < b.value : m <= b.value);
    const idx = all.map((m, i) => [m, i] as const).filter(([m]) =>
      ok(m, range.min, true) && ok(m, range.max, false)
    );
    assertEquals(lex.countLex(range), idx.length);
    assertEquals(lex.firstInLexRange(range)?.[1] ?? null, idx[0]?.[1] ?? null);
    assertEquals(lex.lastInLexRange(range)?.[1] ?? null, idx.at(-1)?.[1] ?? null);
  }
});

Deno.test("sorted sets: snapshots use the shared parts format", () => {
  const z = new SortedSetValue();
  z.set("a", 1.5);
  z.set("\xff\x00", -Infinity);
  const parts = decodeParts(z.encode());
  assertEquals(parts.length, 5);
  assertEquals([...parts[0]], [0x6c]); // "l": listpack
  assertEquals(new TextDecoder("latin1").decode(parts[1]), "\xff\x00");
  assertEquals(new DataView(parts[2].buffer, parts[2].byteOffset).getFloat64(0, true), -Infinity);
  assertEquals(new TextDecoder().decode(parts[3]), "a");
  const back = SortedSetValue.decode(encodeParts(parts));
  assertEquals([...back.nodes()].map((n) => [n.member, n.score]), [["\xff\x00", -Infinity], [
    "a",
    1.5,
  ]]);
});

Deno.test("sorted sets: effects replay to the live value (persistence contract)", async () => {
  const server = await startFerric();
  const rec = RecordingLog.install(server);
  const c = await RawClient.connect(server.port);
  try {
    const script = [
      ...SCRIPT.map(cmd),
      ...encodingScript(),
      ...NOTIFY_SCRIPT,
      cmd("ZADD e 1 a 2 b 3 c"),
      cmd("ZADD e -0 a"),
      cmd("ZADD e INCR 0.25 c"),
      cmd("ZADD e GT 10 a 0 b"),
    ];
    for (let i = 0; i < 200; i++) {
      const r = Math.random();
      const m = `r${Math.floor(Math.random() * 180)}`;
      if (r < 0.5) script.push(["ZADD", "rand", String(Math.floor(Math.random() * 50) - 25), m]);
      else if (r < 0.6) script.push(["ZINCRBY", "rand", "-0.5", m]);
      else if (r < 0.8) script.push(["ZREM", "rand", m]);
      else if (r < 0.85) script.push(["ZPOPMIN", "rand", "3"]);
      else if (r < 0.9) script.push(["ZREMRANGEBYSCORE", "rand", "(-2", "2"]);
      else script.push(["ZMPOP", "1", "rand", "MAX"]);
    }
    for (const line of script) await c.call(...line);
    assert(rec.opCount > 100, `only ${rec.opCount} effects`);
    const db = server.keyspace.dbs[0];
    const replay = rec.replay(0, { dropEmptied: true });
    let checked = 0;
    for (const key of db.keys("*")) {
      const live = db.peek(key)!.value;
      if (!(live instanceof SortedSetValue)) continue;
      const replayed = replay.get(key);
      assert(replayed instanceof SortedSetValue, `no replay for ${key}`);
      assertEquals(replayed.encode(), live.encode(), key);
      assertEquals(replayed.encoding({}), live.encoding({}), key);
      const copy = SortedSetValue.decode(live.encode());
      assertEquals([...copy.nodes()].map((n) => [n.member, n.score]), [
        ...[...live.nodes()].map((n) => [n.member, n.score]),
      ]);
      assertEquals(copy.encoding({}), live.encoding({}));
      checked++;
    }
    assert(checked > 15, `checked ${checked} sorted sets`);
    for (const [k, v] of replay) {
      if (v instanceof SortedSetValue) assert(db.exists(k), `${k} replayed but gone`);
    }
  } finally {
    rec.uninstall(server);
    c.close();
    server.close();
  }
});

/**
 * A scenario over several connections: `a: CMD` calls and reads the reply, `a> CMD` sends
 * without reading (a client that blocks), `a<` reads its pending reply, `sleep N` waits.
 * Returns every reply in order, labelled by client.
 */
async function scenario(port: number, steps: string[]): Promise<string[]> {
  const clients = new Map<string, RawClient>();
  const client = async (name: string) => {
    let c = clients.get(name);
    if (c === undefined) clients.set(name, c = await RawClient.connect(port));
    return c;
  };
  const out: string[] = [];
  try {
    for (const step of steps) {
      const m = /^(\w+)([:<>])\s*(.*)$/.exec(step);
      if (step.startsWith("sleep ")) {
        await new Promise((r) => setTimeout(r, Number(step.slice(6))));
      } else if (m === null) {
        throw new Error(`bad step ${step}`);
      } else if (m[2] === ":") {
        out.push(`${m[1]}: ${await (await client(m[1])).call(...cmd(m[3]))}`);
      } else if (m[2] === ">") {
        const c = await client(m[1]);
        await c.write(encodeCommand(cmd(m[3])));
        await new Promise((r) => setTimeout(r, 40)); // let the server block it
      } else {
        out.push(`${m[1]}< ${await (await client(m[1])).read(5000)}`);
      }
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
  return out;
}

const BLOCKING_SCENARIOS: string[][] = [
  // Served at once, argument errors, timeouts.
  [
    "a: ZADD z 1 a 2 b 3 c",
    "a: BZPOPMIN z 0",
    "a: BZPOPMAX nosuch z 0",
    "a: BZMPOP 0 2 nosuch z MIN COUNT 5",
    "a: BZPOPMIN z 0.01",
    "a: BZMPOP 0.01 1 z MAX",
    "a: BZPOPMIN z -1",
    "a: BZPOPMIN z abc",
    "a: BZPOPMIN z 1e400",
    "a: BZPOPMIN z inf",
    "a: BZPOPMIN z",
    "a: SET s x",
    "a: BZPOPMIN nosuch s 0",
    "a: BZMPOP 0 1 s MIN",
    "a: BZMPOP x 1 z MIN",
    "a: BZMPOP -1 1 z MIN",
    "a: BZMPOP 0 0 z MIN",
    "a: BZMPOP 0 1 z FOO",
    "a: BZMPOP 0 1 z MIN COUNT 0",
    "a: BZMPOP 0 3 z MIN",
    "a: MULTI",
    "a: BZPOPMIN nosuch 0",
    "a: BZMPOP 0 1 nosuch MAX",
    "a: ZADD w 5 x",
    "a: BZPOPMAX w 0",
    "a: EXEC",
  ],
  // Woken by ZADD, first blocked first served, COUNT honoured, keys in order.
  [
    "a> BZPOPMIN k1 k2 0",
    "b> BZPOPMAX k2 0",
    "c> BZMPOP 0 2 k3 k2 MAX COUNT 3",
    "d: ZADD k2 1 x 2 y 3 z 4 w",
    "a<",
    "b<",
    "c<",
    "d: ZRANGE k2 0 -1 WITHSCORES",
    "a> BZMPOP 0 1 k4 MIN COUNT 10",
    "d: ZADD k4 1 only",
    "a<",
    "d: EXISTS k4",
  ],
  // A key of another type keeps the client waiting; ZUNIONSTORE, ZINCRBY and MULTI wake it.
  [
    "a> BZPOPMIN t 0",
    "d: SET t str",
    "d: DEL t",
    "d: ZINCRBY t 2.5 m",
    "a<",
    "a> BZPOPMAX u 0",
    "d: ZADD src 7 p 8 q",
    "d: ZUNIONSTORE u 1 src",
    "a<",
    "a> BZPOPMIN v 0",
    "d: MULTI",
    "d: ZADD v 1 gone",
    "d: ZREM v gone",
    "d: EXEC",
    "d: ZADD v 9 stays",
    "a<",
    "a> BZMPOP 0.2 1 never MIN",
    "a<",
  ],
];

Deno.test("sorted sets: blocking pops match redis-server (RESP2 and RESP3)", async () => {
  const server = await startFerric();
  const redis = await startRedis();
  try {
    for (const proto of ["2", "3"]) {
      for (const steps of BLOCKING_SCENARIOS) {
        // In RESP3 every client says HELLO 3 first.
        const names = [...new Set(steps.map((s) => /^(\w+)/.exec(s)![1]))].filter((n) =>
          n !== "sleep"
        );
        const withHello = proto === "3" ? [...names.map((c) => `${c}: HELLO 3`), ...steps] : steps;
        await scenario(server.port, ["a: FLUSHALL"]);
        await scenario(redis.port, ["a: FLUSHALL"]);
        const mine = await scenario(server.port, withHello);
        const theirs = await scenario(redis.port, withHello);
        // HELLO's reply names the server: compare everything else.
        const strip = (r: string[]) => r.filter((x) => !/^\w: [%*]\d+\r\n\$6\r\nserver/.test(x));
        assertEquals(strip(mine), strip(theirs), `RESP${proto}`);
      }
    }
  } finally {
    server.close();
    await redis.stop("SIGKILL");
  }
});

/** Every sorted set's contents and encoding, for comparing states across restarts. */
async function dumpZsets(c: RawClient): Promise<string[]> {
  const keys = parseArray(await c.call("KEYS", "*")).sort();
  const out: string[] = [];
  for (const k of keys) {
    if ((await c.call("TYPE", k)) !== "+zset\r\n") continue;
    out.push(k, await c.call("ZRANGE", k, "0", "-1", "WITHSCORES"));
    out.push(await c.call("OBJECT", "ENCODING", k));
  }
  return out;
}

Deno.test("sorted sets: contents and encodings survive restart and compaction", async () => {
  const dir = await tempDir("ferric-zset-");
  let server = await startFerric({ "data-dir": dir });
  let c = await RawClient.connect(server.port);
  for (const line of [...SCRIPT.map(cmd), ...encodingScript(), ...NOTIFY_SCRIPT]) {
    await c.call(...line);
  }
  await c.call("ZADD", "neg", "-0", "x");
  await c.call("ZADD", "big", "-0", "negzero");
  const before = await dumpZsets(c);
  assert(before.length > 60, `only ${before.length / 3} sorted sets`);
  c.close();
  await server.close();
  for (const compact of [false, true]) {
    server = await startFerric({ "data-dir": dir });
    c = await RawClient.connect(server.port);
    assertEquals(await dumpZsets(c), before, compact ? "after compaction" : "after restart");
    if (!compact) assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    c.close();
    await server.close();
  }
});

Deno.test("sorted sets: COMMAND INFO and GETKEYS match redis-server", async () => {
  const names = [
    "zadd zincrby zrem zcard zscore zmscore zcount zlexcount zrange zrangestore zrevrange",
    "zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zremrangebyrank",
    "zremrangebyscore zremrangebylex zpopmin zpopmax zmpop bzpopmin bzpopmax bzmpop",
    "zunion zinter zdiff zunionstore zinterstore zdiffstore zintercard",
  ].join(" ").split(" ");
  const d = await Differential.start();
  try {
    const script = [
      ...names.map((n) => ["COMMAND", "INFO", n]),
      cmd("COMMAND GETKEYS ZUNIONSTORE dst 2 a b WEIGHTS 1 2"),
      cmd("COMMAND GETKEYS BZMPOP 0 2 a b MIN"),
      cmd("COMMAND GETKEYS BZPOPMIN a b c 0"),
      cmd("COMMAND GETKEYS ZRANGESTORE dst src 0 -1"),
      cmd("COMMAND GETKEYS ZINTERCARD 3 a b c LIMIT 1"),
    ];
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("sorted sets: lex ranges over members of different scores answer what redis-server answers", async () => {
  // Lex ranges assume one score; with several, Redis walks its listpack from the first member
  // >= min (last <= max for REV) while members stay in range. Seeded, so a failure repeats.
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const member = () => "abcdef"[rand(6)] + (rand(3) === 0 ? "abc"[rand(3)] : "");
  const bound = () => {
    const r = rand(10);
    return r === 0 ? "-" : r === 1 ? "+" : (r < 6 ? "[" : "(") + member();
  };
  const script: string[][] = [];
  for (let round = 0; round < 40; round++) {
    script.push(["DEL", "z"]);
    const zadd = ["ZADD", "z"];
    for (let i = 0, n = 1 + rand(12); i < n; i++) zadd.push(String(rand(5)), member());
    script.push(zadd);
    for (let q = 0; q < 6; q++) {
      const [min, max] = [bound(), bound()];
      script.push(
        ["ZRANGEBYLEX", "z", min, max],
        ["ZREVRANGEBYLEX", "z", max, min],
        ["ZRANGEBYLEX", "z", min, max, "LIMIT", String(rand(3)), String(rand(4) - 1)],
        ["ZREVRANGEBYLEX", "z", max, min, "LIMIT", String(rand(4)), String(rand(4) - 1)],
        ["ZRANGE", "z", max, min, "BYLEX", "REV", "LIMIT", "1", "2"],
        ["ZLEXCOUNT", "z", min, max],
      );
    }
    const [min, max] = [bound(), bound()];
    script.push(["ZRANGESTORE", "dst", "z", min, max, "BYLEX"], ["ZRANGE", "dst", "0", "-1"]);
    script.push(["ZREMRANGEBYLEX", "z", min, max], ["ZRANGE", "z", "0", "-1"]);
  }
  // An offset skips members without looking at them, then members are taken while in range.
  script.push(
    ["DEL", "k"],
    ["ZADD", "k", "1", "a", "2", "z", "3", "b", "4", "c"],
    ["ZRANGEBYLEX", "k", "[a", "[c", "LIMIT", "2", "10"],
    ["ZRANGE", "k", "[a", "[c", "BYLEX", "LIMIT", "2", "5"],
    ["DEL", "k"],
    ["ZADD", "k", "1", "a", "2", "b", "3", "0", "4", "c"],
    ["ZREVRANGEBYLEX", "k", "[c", "[a", "LIMIT", "2", "10"],
    // A skiplist whose first member starts the range: the walk stops at the first member past
    // max, and ZREMRANGEBYLEX removes only what it walked.
    ["CONFIG", "SET", "zset-max-listpack-entries", "0"],
    ["DEL", "k2"],
    ["ZADD", "k2", "1", "a", "2", "z", "3", "b", "4", "c", "5", "d", "6", "e", "7", "f"],
    ["OBJECT", "ENCODING", "k2"],
    ["ZRANGEBYLEX", "k2", "[a", "[c"],
    ["ZREMRANGEBYLEX", "k2", "[a", "[c"],
    ["ZRANGE", "k2", "0", "-1"],
    ["CONFIG", "SET", "zset-max-listpack-entries", "128"],
  );
  const d = await Differential.start();
  try {
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("sorted sets: a lex walk over a skiplist of mixed scores stays within its range", () => {
  let seed = 99;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const letter = () => "abcdefgh"[rand(8)];
  const bound = (): LexBound =>
    rand(8) === 0 ? { inf: rand(2) === 0 ? -1 : 1 } : { value: letter(), ex: rand(2) === 0 };
  const gte = (m: string, b: LexBound) =>
    "inf" in b ? b.inf < 0 : b.ex ? m > b.value : m >= b.value;
  const lte = (m: string, b: LexBound) =>
    "inf" in b ? b.inf > 0 : b.ex ? m < b.value : m <= b.value;
  for (let round = 0; round < 300; round++) {
    const z = new SortedSetValue();
    z.skiplist = true;
    for (let i = 0, n = 1 + rand(200); i < n; i++) z.set(letter() + rand(50), rand(20));
    const r = { min: bound(), max: bound() };
    const reverse = rand(2) === 0;
    const walk = z.lexWalk(r, reverse, 0, -1);
    for (const node of walk) {
      assert(gte(node.member, r.min) && lte(node.member, r.max), `${node.member} out of range`);
    }
    // Consecutive ranks from the start, in the walk's direction.
    for (let i = 1; i < walk.length; i++) {
      const step = z.rank(walk[i].member) - z.rank(walk[i - 1].member);
      assertEquals(step, reverse ? -1 : 1);
    }
  }
});

Deno.test("sorted sets: scores on an exact rounding tie print as C's %.17g (half to even); hex subnormals parse as strtod, differential", async () => {
  // Doubles whose exact value has 18 significant digits: the 17-digit rounding is a tie.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const scores: string[] = ["285000000000000.125", "-285000000000000.125", "1.00000762939453125"];
  for (let i = 0; i < 60; i++) {
    const whole = String(1e14 + Math.floor(random() * 9e14));
    scores.push(`${whole}.${["125", "375", "625", "875"][i % 4]}`);
    scores.push(String(1 + Math.floor(random() * 2 ** 17) * 2 ** -17));
  }
  const d = await Differential.start();
  try {
    for (const resp of ["2", "3"]) {
      await d.both("HELLO", resp);
      const script = [cmd("DEL z")];
      scores.forEach((s, i) => script.push(["ZADD", "z", s, `m${i}`], ["ZSCORE", "z", `m${i}`]));
      script.push(cmd("ZRANGE z 0 -1 WITHSCORES"), ["ZINCRBY", "z", "0.125", "m0"]);
      // Hexadecimal scores in the subnormal range round once, as strtod rounds them.
      script.push(
        cmd("DEL h"),
        cmd("ZADD h 0x1p-1074 a 0x1p-1073 b"),
        cmd("ZCOUNT h 0x1.8p-1074 +inf"),
        cmd("ZINCRBY h 0x3p-1075 a"),
        cmd("ZADD h 0x1p-1080 l"),
        cmd("ZADD h 0x1p-1075 l"),
        cmd("ZRANGE h 0 -1 WITHSCORES"),
      );
      assertEquals(await d.compare(script), [], `RESP${resp}`);
    }
  } finally {
    await d.close();
  }
});
