import { createClient } from "redis5";
import { assertEquals } from "./_assert.ts";
import { cmd, concat, Differential, encodeCommand, RawClient, startFerric } from "./_harness.ts";

/** PING's reply, also as a RESP2 connection in subscribed mode gets it. */
const PONG = /^(\+PONG\r\n|\*2\r\n\$4\r\npong\r\n\$0\r\n\r\n)$/;

/** The replies (and pushes) read up to a PONG: the PING sent after a step marks its end. */
async function upToPong(c: RawClient): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = (await c.read())!;
    if (PONG.test(r)) return out;
    out.push(r);
  }
}

Deno.test("client tracking: replies and invalidations match redis-server (RESP3)", async () => {
  const d = await Differential.start();
  try {
    await d.both("HELLO", "3"); // ids differ
    const script = [
      "CLIENT TRACKING ON BCAST PREFIX a PREFIX ab",
      "CLIENT TRACKING ON PREFIX a",
      "CLIENT TRACKING ON OPTIN OPTOUT",
      "CLIENT TRACKING ON BCAST OPTIN",
      "CLIENT TRACKING ON REDIRECT 999999",
      "CLIENT TRACKING MAYBE",
      "CLIENT CACHING YES",
      "CLIENT GETREDIR",
      "CLIENT TRACKINGINFO",
      "CLIENT TRACKING ON BCAST PREFIX x NOLOOP",
      "CLIENT TRACKINGINFO",
      "CLIENT GETREDIR",
      "SET x1 v",
      "CLIENT TRACKING OFF",
      "CLIENT TRACKING ON OPTIN",
      "CLIENT CACHING YES",
      "GET k",
      "SET k 1",
      "GET k",
      "SET k 2",
      "CLIENT TRACKINGINFO",
      "CLIENT TRACKING ON",
      // One invalidation per flush, FLUSHALL included.
      "GET k",
      "FLUSHALL",
      "GET k",
      "FLUSHDB",
      // RENAME invalidates the source, then the destination.
      "SET src 1",
      "SET dst 2",
      "GET src",
      "GET dst",
      "RENAME src dst",
      "GET dst",
      "SET src2 x",
      "GET src2",
      "RENAMENX src2 dst",
      "RENAME src2 dst",
      // Prefixes may not overlap the client's own; OPTIN and OPTOUT do not switch in place.
      "CLIENT TRACKING OFF",
      "CLIENT TRACKING ON BCAST PREFIX user:",
      "CLIENT TRACKING ON BCAST PREFIX use",
      "CLIENT TRACKING ON BCAST PREFIX user:",
      "CLIENT TRACKING ON BCAST PREFIX b PREFIX a",
      "CLIENT TRACKINGINFO",
      "CLIENT TRACKING ON OPTIN",
      "CLIENT TRACKING OFF",
      "CLIENT TRACKING ON OPTIN",
      "CLIENT TRACKING ON OPTOUT",
      "CLIENT TRACKING OFF",
    ].map(cmd);
    // Invalidations for the client's own writes come after the reply: a PING after each
    // command shows whatever was pushed in between.
    for (const c of script) {
      for (const client of [d.ferric, d.redis]) {
        await client.write(encodeCommand(c));
        await client.write(encodeCommand(["PING"]));
      }
      assertEquals(await upToPong(d.ferric), await upToPong(d.redis), c.join(" "));
    }
  } finally {
    await d.close();
  }
});

Deno.test("client tracking: RESP2 redirect to a subscribed connection; FLUSHALL invalidates everything", async () => {
  const server = await startFerric();
  const sink = await RawClient.connect(server.port);
  const reader = await RawClient.connect(server.port);
  const writer = await RawClient.connect(server.port);
  try {
    const sinkId = (await sink.call("CLIENT", "ID")).slice(1, -2);
    await sink.call("SUBSCRIBE", "__redis__:invalidate");
    assertEquals(await reader.call("CLIENT", "TRACKING", "ON", "REDIRECT", sinkId), "+OK\r\n");
    await reader.call("GET", "cached");
    await writer.call("SET", "cached", "new");
    assertEquals(
      await sink.read(),
      "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$6\r\ncached\r\n",
    );
    await reader.call("GET", "other");
    await writer.call("FLUSHALL");
    assertEquals(
      await sink.read(),
      "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n",
    );
    assertEquals(await reader.call("CLIENT", "GETREDIR"), `:${sinkId}\r\n`);
  } finally {
    for (const c of [sink, reader, writer]) c.close();
    await server.close();
  }
});

Deno.test("client tracking: node-redis clientSideCache over RESP3 sees invalidations", async () => {
  const server = await startFerric();
  const cached = createClient({
    socket: { port: server.port },
    RESP: 3,
    clientSideCache: { ttl: 0, maxEntries: 0 },
  });
  const other = createClient({ socket: { port: server.port } });
  try {
    await cached.connect();
    await other.connect();
    await other.set("csc", "one");
    assertEquals(await cached.get("csc"), "one");
    assertEquals(await cached.get("csc"), "one"); // served from the local cache
    await other.set("csc", "two");
    const deadline = Date.now() + 2000;
    let value = await cached.get("csc");
    while (value !== "two" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      value = await cached.get("csc");
    }
    assertEquals(value, "two");
  } finally {
    await cached.quit();
    await other.quit();
    await server.close();
  }
});

Deno.test("tracking: a key that expires while its reader is idle is invalidated at once, NOLOOP too", async () => {
  const server = await startFerric();
  const reader = await RawClient.connect(server.port);
  try {
    await reader.call("HELLO", "3");
    await reader.call("CLIENT", "TRACKING", "ON", "NOLOOP");
    await reader.call("SET", "e", "v", "PX", "150");
    assertEquals(await reader.call("GET", "e"), "$1\r\nv\r\n");
    // No more commands from the reader: active expiry removes the key and the push comes alone.
    const push = await reader.read(3000);
    assertEquals(push, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ne\r\n");
  } finally {
    reader.close();
    await server.close();
  }
});

Deno.test("client tracking: BCAST invalidations are batched per prefix, keys in order, as redis-server", async () => {
  const d = await Differential.start();
  const clients = async (port: number) => {
    const reader = await RawClient.connect(port);
    await reader.call("HELLO", "3");
    await reader.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "obj", "PREFIX", "a");
    return { reader, writer: await RawClient.connect(port) };
  };
  const pair = [await clients(d.server.port), await clients(d.redisServer.port)];
  try {
    // Each line makes one push per server: the keys of one prefix, in byte order.
    for (const line of ["MSET obj2 a obj1 b x 1", "MSET ac 1 ab 2", "DEL ac ab", "SET ab 1"]) {
      const got: (string | null)[] = [];
      for (const { reader, writer } of pair) {
        await writer.call(...cmd(line));
        got.push(await reader.read(5000));
      }
      assertEquals(got[0], got[1], line);
    }
  } finally {
    for (const { reader, writer } of pair) {
      reader.close();
      writer.close();
    }
    await d.close();
  }
});

/** INFO stats' tracking_total_keys. */
async function trackedKeys(c: RawClient): Promise<number> {
  return Number(/tracking_total_keys:(\d+)/.exec(await c.call("INFO", "stats"))![1]);
}

Deno.test("tracking-table-max-keys: keys over the limit are invalidated for their readers, as redis-server", async () => {
  const d = await Differential.start();
  try {
    const results: string[] = [];
    for (const port of [d.server.port, d.redisServer.port]) {
      const c = await RawClient.connect(port), admin = await RawClient.connect(port);
      await admin.call("CONFIG", "SET", "tracking-table-max-keys", "5");
      await c.call("HELLO", "3");
      await c.call("CLIENT", "TRACKING", "on");
      // Every frame, replies and pushes alike (Redis trims the table before each command).
      const frames: string[] = [];
      for (let i = 1; i <= 8; i++) {
        await c.write(encodeCommand(["GET", `tk${i}`]));
        frames.push((await c.read())!);
      }
      await admin.call("PING");
      await c.write("*1\r\n$4\r\nPING\r\n");
      for (let r = await c.read(); r !== null; r = await c.read()) {
        frames.push(r);
        if (r.startsWith("+PONG")) break;
      }
      const invalidated = frames.filter((f) => f.includes("invalidate")).length;
      results.push(`${invalidated} ${await trackedKeys(admin)}`);
      await admin.call("CONFIG", "SET", "tracking-table-max-keys", "1000000");
      c.close();
      admin.close();
    }
    assertEquals(results, ["3 5", "3 5"]);
  } finally {
    await d.close();
  }
});

Deno.test("tracking-table-max-keys: a lowered limit trims the table while commands run, as redis-server", async () => {
  const d = await Differential.start();
  try {
    for (const port of [d.server.port, d.redisServer.port]) {
      const c = await RawClient.connect(port), admin = await RawClient.connect(port);
      await c.call("CLIENT", "TRACKING", "on");
      await c.call("MGET", ...Array.from({ length: 3000 }, (_, i) => `mk${i}`));
      await admin.call("CONFIG", "SET", "tracking-table-max-keys", "10");
      let keys = Infinity;
      for (const end = Date.now() + 5000; keys > 10 && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 100));
        keys = await trackedKeys(admin);
      }
      assertEquals(keys, 10, `port ${port}`);
      await admin.call("CONFIG", "SET", "tracking-table-max-keys", "1000000");
      c.close();
      admin.close();
    }
  } finally {
    await d.close();
  }
});

Deno.test("tracking: INFO counts tracked keys, items and BCAST prefixes as redis-server", async () => {
  const d = await Differential.start();
  try {
    const lines: string[] = [];
    for (const port of [d.server.port, d.redisServer.port]) {
      const [a, b, c, e] = await Promise.all([1, 2, 3, 4].map(() => RawClient.connect(port)));
      for (const x of [a, b]) {
        await x.call("HELLO", "3");
        await x.call("CLIENT", "TRACKING", "on");
      }
      await a.call("GET", "t1");
      await a.call("GET", "t2");
      await b.call("GET", "t1");
      await c.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y");
      await e.call("CLIENT", "TRACKING", "on", "BCAST");
      const stats = await e.call("INFO", "stats");
      lines.push(stats.split("\r\n").filter((l) => l.startsWith("tracking")).join(" "));
      for (const x of [a, b, c, e]) x.close();
    }
    assertEquals(
      lines[0],
      "tracking_total_keys:2 tracking_total_items:3 tracking_total_prefixes:3",
    );
    assertEquals(lines[0], lines[1]);
  } finally {
    await d.close();
  }
});

Deno.test("client tracking: CLIENT CACHING covers a whole MULTI/EXEC and survives other CLIENT commands, as redis-server (RESP3)", async () => {
  const d = await Differential.start();
  try {
    await d.both("HELLO", "3");
    // Each step runs as a block followed by PING: a MULTI block is queued whole.
    const steps = [
      ["CLIENT TRACKING ON OPTIN", "CLIENT CACHING YES", "MULTI", "GET m1", "GET m2", "EXEC"],
      ["SET m1 x"],
      ["SET m2 x"],
      ["CLIENT CACHING YES", "CLIENT GETNAME", "GET m3"],
      ["SET m3 x"],
      ["GET m3"],
      ["SET m3 y"],
      [
        "CLIENT TRACKING OFF",
        "CLIENT TRACKING ON OPTOUT",
        "CLIENT CACHING NO",
        "MULTI",
        "GET m4",
        "EXEC",
      ],
      ["SET m4 x"],
      ["CLIENT TRACKING OFF", "CLIENT TRACKING ON"],
      ["CLIENT CACHING YES"],
      ["CLIENT CACHING NO"],
      ["CLIENT CACHING MAYBE"],
      ["CLIENT TRACKING OFF"],
      ["CLIENT CACHING YES"],
    ];
    for (const step of steps) {
      for (const client of [d.ferric, d.redis]) {
        for (const line of step) await client.write(encodeCommand(cmd(line)));
        await client.write(encodeCommand(["PING"]));
      }
      assertEquals(await upToPong(d.ferric), await upToPong(d.redis), step.join(" / "));
    }
  } finally {
    await d.close();
  }
});

/**
 * Runs steps on several connections to FerricStore and to redis-server side by side and
 * compares, after each step, everything each connection received (replies and pushes) up to
 * the reply of a PING sent after the step. A step is [connection, command lines sent in one
 * write, connections not to ping (blocked ones)]; `$N` in a line is connection N's client id.
 */
async function sameAcrossConnections(
  steps: [number, string[], number[]?][],
  connections: number,
  settings: Record<string, string> = {},
): Promise<void> {
  const d = await Differential.alike(settings);
  const sides: { clients: RawClient[]; ids: string[] }[] = [];
  try {
    for (const port of [d.server.port, d.redisServer.port]) {
      const clients = await Promise.all(
        Array.from({ length: connections }, () => RawClient.connect(port)),
      );
      const ids = await Promise.all(
        clients.map(async (c) => (await c.call("CLIENT", "ID")).slice(1, -2)),
      );
      sides.push({ clients, ids });
    }
    for (const [on, lines, skip = []] of steps) {
      const got: string[][][] = [];
      for (const { clients, ids } of sides) {
        const bytes = lines.map((l) => encodeCommand(cmd(l.replace(/\$(\d)/g, (_, n) => ids[n]))));
        await clients[on].write(concat(bytes));
        const seen: string[][] = [];
        for (let i = 0; i < connections; i++) {
          if (skip.includes(i)) {
            seen.push([]);
            continue;
          }
          await clients[i].write(encodeCommand(["PING"]));
          seen.push(await upToPong(clients[i]));
        }
        // HELLO's reply names the server and the client id: only its place is compared.
        lines.forEach((l, j) => {
          if (/^hello/i.test(l) && seen[on][j] !== undefined) seen[on][j] = "<hello>";
        });
        got.push(seen);
      }
      assertEquals(got[0], got[1], `${on}: ${lines.join(" | ")}`);
    }
  } finally {
    for (const { clients } of sides) for (const c of clients) c.close();
    await d.close();
  }
}

Deno.test("client tracking: flushes, BCAST prefixes, NOLOOP, redirects and CACHING across connections, as redis-server", async () => {
  await sameAcrossConnections([
    [1, ["HELLO 3"]],
    [2, ["HELLO 3"]],
    [3, ["HELLO 3"]],
    // Every FLUSHALL invalidates, even two in one pipeline or one transaction.
    [1, ["CLIENT TRACKING ON"]],
    [2, ["CLIENT TRACKING ON"]],
    [1, ["FLUSHALL", "SET a 1", "GET a", "FLUSHALL"]],
    [1, ["MULTI", "FLUSHALL", "FLUSHDB", "EXEC"]],
    [0, ["FLUSHALL", "FLUSHALL"]],
    // SWAPDB invalidates nothing (Redis 7.0).
    [0, ["SWAPDB 0 1"]],
    // The redirect target that makes the change hears of it before its reply.
    [2, ["CLIENT TRACKING ON REDIRECT $3"]],
    [2, ["GET r"]],
    [3, ["SET r 1"]],
    [2, ["CLIENT TRACKING OFF"]],
    [1, ["CLIENT TRACKING OFF"]],
    // BCAST without PREFIX is the prefix "": it overlaps any other, and adds to the others.
    [1, ["CLIENT TRACKING ON BCAST"]],
    [1, ["CLIENT TRACKINGINFO"]],
    [1, ["CLIENT TRACKING ON BCAST PREFIX x"]],
    [0, ["SET q 1"]],
    [1, ["CLIENT TRACKING OFF"]],
    [1, ["CLIENT TRACKING ON BCAST PREFIX b PREFIX a"]],
    [1, ['CLIENT TRACKING ON BCAST PREFIX ""']],
    [1, ["CLIENT TRACKING ON BCAST"]],
    [1, ["CLIENT TRACKINGINFO"]],
    [0, ["SET zz 1"]],
    [0, ["SET ab 1"]],
    [0, ["MSET a1 1 b1 1 c1 1"]],
    [1, ["CLIENT TRACKING OFF"]],
    // NOLOOP compares with the first writer of a key since the last broadcast.
    [2, ["CLIENT TRACKING ON BCAST NOLOOP"]],
    [2, ["BLPOP src 0"], [2]],
    [0, ["LPUSH src x y"]],
    [2, ["CLIENT TRACKING OFF"]],
    // REDIRECT once, to an integer id.
    [1, ["CLIENT TRACKING ON REDIRECT $0 REDIRECT $0"]],
    [1, ["CLIENT TRACKING ON REDIRECT 0x1"]],
    [1, ["CLIENT TRACKING ON REDIRECT 1.0"]],
    [1, ["CLIENT TRACKING ON REDIRECT 99999999999999999999"]],
    // CLIENT CACHING survives a repeated TRACKING ON, and is used up by a refused command.
    [1, ["CLIENT TRACKING ON OPTIN", "CLIENT CACHING yes", "CLIENT TRACKING ON OPTIN"]],
    [1, ["CLIENT TRACKINGINFO", "GET k1"]],
    [0, ["SET k1 1"]],
    [1, ["CLIENT CACHING yes", "NOSUCHCOMMAND", "GET o1"]],
    [1, ["CLIENT CACHING yes", "GET"]],
    [1, ["GET o2"]],
    [0, ["SET o1 1", "SET o2 1"]],
    [1, ["CLIENT TRACKING OFF"]],
  ], 4);
});

Deno.test("client tracking: a RESP2 client redirecting to itself hears through the channel; NOLOOP hears of its own keys expiring", async () => {
  await sameAcrossConnections(
    [
      [1, ["CLIENT TRACKING ON REDIRECT $1", "GET a", "SUBSCRIBE __redis__:invalidate"]],
      [0, ["SET a 1"]],
      [0, ["FLUSHALL"]],
      [0, ["DEBUG SET-ACTIVE-EXPIRE 0"]],
      [2, ["HELLO 3", "CLIENT TRACKING ON BCAST NOLOOP", "SET b1 1 PX 30"]],
      [2, ["DEBUG SLEEP 0.1"]],
      [2, ["GET b1"]],
    ],
    3,
    { "enable-debug-command": "yes" },
  );
});

Deno.test("pubsub: PSUBSCRIBE * does not match the empty channel name, as redis-server", async () => {
  await sameAcrossConnections([
    [1, ["PSUBSCRIBE *"]],
    [2, ['SUBSCRIBE ""']],
    [0, ['PUBLISH "" empty', "PUBSUB CHANNELS *", "PUBLISH x y"]],
  ], 3);
});

Deno.test("client tracking: keys read before TRACKING OFF are forgotten when written, as redis-server", async () => {
  const d = await Differential.start();
  try {
    const seen: string[] = [];
    for (const port of [d.server.port, d.redisServer.port]) {
      const [a, b] = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
      await a.call("HELLO", "3");
      await a.call("CLIENT", "TRACKING", "on");
      await a.call("GET", "stale1");
      await a.call("CLIENT", "TRACKING", "off");
      await b.call("SET", "stale1", "1");
      await a.call("CLIENT", "TRACKING", "on");
      await b.call("SET", "stale1", "2");
      // Nothing is owed to `a`: its PING's reply comes first.
      seen.push(await a.call("PING"));
      const stats = await b.call("INFO", "stats");
      seen.push(stats.split("\r\n").filter((l) => l.startsWith("tracking_total_")).join(" "));
      a.close();
      b.close();
    }
    assertEquals(seen[0], "+PONG\r\n");
    assertEquals(seen[1], "tracking_total_keys:0 tracking_total_items:0 tracking_total_prefixes:0");
    assertEquals(seen.slice(0, 2), seen.slice(2));
  } finally {
    await d.close();
  }
});
