import { Redis } from "ioredis";
import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric, startRedis } from "./_harness.ts";

Deno.test("pubsub: subscribe/unsubscribe/publish replies match redis-server in RESP2 and RESP3", async () => {
  for (const proto of ["2", "3"]) {
    const d = await Differential.start();
    const pubF = await RawClient.connect((d.ferric.conn.remoteAddr as Deno.NetAddr).port);
    const pubR = await RawClient.connect((d.redis.conn.remoteAddr as Deno.NetAddr).port);
    try {
      await d.both("HELLO", proto);
      const steps: [string, number][] = [
        // [command for the subscriber, number of replies it produces]
        ["SUBSCRIBE a b a", 3],
        ["PSUBSCRIBE h?llo n*", 2],
        ["SSUBSCRIBE s1", 1],
        ["PING", 1],
        ["PING hi", 1],
        ["GET x", 1],
        ["UNSUBSCRIBE a", 1],
        ["PUNSUBSCRIBE", 2],
        ["SUNSUBSCRIBE", 1],
        ["UNSUBSCRIBE", 1],
        ["UNSUBSCRIBE", 1],
        ["PUNSUBSCRIBE", 1],
        ["SUNSUBSCRIBE nope", 1],
      ];
      for (const [line, n] of steps) {
        const args = cmd(line);
        await d.ferric.write(encode(args));
        await d.redis.write(encode(args));
        for (let i = 0; i < n; i++) {
          assertEquals(await d.ferric.read(), await d.redis.read(), `RESP${proto} ${line} #${i}`);
        }
      }
      // Messages, in both protocols, and PUBLISH's receiver count.
      await d.both("SUBSCRIBE", "news");
      await d.both("PSUBSCRIBE", "n*");
      assertEquals(
        await pubF.call("PUBLISH", "news", "hello"),
        await pubR.call("PUBLISH", "news", "hello"),
      );
      assertEquals(await d.ferric.read(), await d.redis.read());
      assertEquals(await d.ferric.read(), await d.redis.read());
      for (
        const line of [
          "PUBSUB CHANNELS",
          "PUBSUB CHANNELS n*",
          "PUBSUB NUMSUB news nothing",
          "PUBSUB NUMPAT",
          "PUBSUB SHARDCHANNELS",
          "PUBSUB CHANNELS a b",
          "PUBSUB shardchannels a b c",
          "PUBSUB NUMPAT x",
          "PUBSUB SHARDNUMSUB s1",
          "PUBLISH nobody x",
        ]
      ) {
        assertEquals(await pubF.call(...cmd(line)), await pubR.call(...cmd(line)), line);
      }
      assertEquals(await d.ferric.call("RESET"), await d.redis.call("RESET"));
      assertEquals(await pubF.call("PUBSUB", "NUMSUB", "news"), "*2\r\n$4\r\nnews\r\n:0\r\n");
    } finally {
      pubF.close();
      pubR.close();
      await d.close();
    }
  }
});

function encode(args: string[]): string {
  return `*${args.length}\r\n` +
    args.map((a) => `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`).join("");
}

Deno.test("pubsub: ioredis subscribers receive channel and pattern messages", async () => {
  const server = await startFerric();
  const sub = new Redis({ port: server.port, lazyConnect: true, enableReadyCheck: false });
  const pub = new Redis({ port: server.port, lazyConnect: true, enableReadyCheck: false });
  try {
    await sub.connect();
    await pub.connect();
    const got: string[] = [];
    sub.on("message", (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    sub.on("pmessage", (p: string, ch: string, msg: string) => got.push(`${p}|${ch}:${msg}`));
    await sub.subscribe("orders");
    await sub.psubscribe("ord*");
    assertEquals(await pub.publish("orders", "o1"), 2);
    assertEquals(await pub.publish("ordinal", "o2"), 1);
    const deadline = Date.now() + 2000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assertEquals(got.sort(), ["ord*|orders:o1", "ord*|ordinal:o2", "orders:o1"]);
  } finally {
    sub.disconnect();
    pub.disconnect();
    await server.close();
  }
});

Deno.test("pubsub: a subscriber that does not read is disconnected; memory stays bounded", async () => {
  const server = await startFerric({ "client-output-buffer-limit": "pubsub 2mb 1mb 1" });
  const sub = await RawClient.connect(server.port);
  const pub = await RawClient.connect(server.port);
  try {
    await sub.call("SUBSCRIBE", "firehose");
    const payload = "x".repeat(64 * 1024);
    let receivers = 1;
    for (let i = 0; i < 2000 && receivers > 0; i++) {
      receivers = Number((await pub.call("PUBLISH", "firehose", payload)).slice(1, -2));
    }
    assertEquals(receivers, 0, "the slow subscriber was never disconnected");
    for (const c of server.clients.values()) {
      assert(
        c.transport.outputPending() < 4 * 1024 * 1024,
        "a client holds more than the hard limit",
      );
    }
    assertEquals(await pub.call("PUBSUB", "NUMSUB", "firehose"), "*2\r\n$8\r\nfirehose\r\n:0\r\n");
  } finally {
    sub.close();
    pub.close();
    await server.close();
  }
});

Deno.test("keyspace notifications: the same events as redis-server", async () => {
  const ferric = await startFerric({ "notify-keyspace-events": "KEA" });
  const redis = await startRedis(["--notify-keyspace-events", "KEA"]);
  const subs = [await RawClient.connect(ferric.port), await RawClient.connect(redis.port)];
  const cmds = [await RawClient.connect(ferric.port), await RawClient.connect(redis.port)];
  try {
    for (const s of subs) await s.call("PSUBSCRIBE", "__key*__:*");
    const script = [
      "SET k v",
      "SET k v EX 100",
      "APPEND k x",
      "INCR n",
      "INCRBYFLOAT n 1.5",
      "SETRANGE k 0 y",
      "GETDEL k",
      "MSET a 1 b 2",
      "GETEX a PX 100000",
      "GETEX a PERSIST",
      "SET n2 1 PX 20",
    ];
    for (const line of script) {
      for (const c of cmds) await c.call(...cmd(line));
    }
    await new Promise((r) => setTimeout(r, 300)); // n2 expires (the active cycle finds it)
    const drain = async (c: RawClient) => {
      const out: string[] = [];
      for (;;) {
        try {
          out.push((await c.read(150))!);
        } catch {
          return out;
        }
      }
    };
    const [f, r] = [await drain(subs[0]), await drain(subs[1])];
    assertEquals(f, r);
    assert(f.some((m) => m.includes("expired")), "no expired event");
  } finally {
    for (const c of [...subs, ...cmds]) c.close();
    await ferric.close();
    await redis.stop("SIGKILL");
  }
});

Deno.test("keyspace notifications: `n` stays on beside `A` (KEAn), as redis-server", async () => {
  const d = await Differential.start();
  try {
    const heard: (string | null)[] = [];
    for (const port of [d.server.port, d.redisServer.port]) {
      const [sub, c] = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
      await c.call("CONFIG", "SET", "notify-keyspace-events", "KEAn");
      assertEquals(
        await c.call("CONFIG", "GET", "notify-keyspace-events"),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n",
      );
      await sub.call("SUBSCRIBE", "__keyevent@0__:new");
      await c.call("SET", "newkey", "v");
      heard.push(await sub.read(2000));
      sub.close();
      c.close();
    }
    assertEquals(heard[0], "*3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:new\r\n$6\r\nnewkey\r\n");
    assertEquals(heard[0], heard[1]);
  } finally {
    await d.close();
  }
});
