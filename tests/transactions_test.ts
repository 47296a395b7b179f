import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

/** Runs a script on a fresh pair of servers in RESP2 and then RESP3; fails with every difference. */
async function sameInBothProtocols(script: string[]): Promise<void> {
  for (const proto of ["2", "3"]) {
    const d = await Differential.start();
    try {
      await d.both("HELLO", proto);
      assertEquals(await d.compare(script.map(cmd)), [], `RESP${proto}`);
    } finally {
      await d.close();
    }
  }
}

Deno.test("transactions: a HELLO inside MULTI changes the protocol from its own reply on", async () => {
  const script = [
    "MULTI",
    "HGETALL nokey",
    "ZSCORE nokey x",
    "HELLO 2",
    "GET nokey",
    "HGETALL nokey",
    "HELLO 3",
    "GET nokey",
    "EXEC",
    "GET nokey",
  ];
  // HELLO's map holds the client's id, which differs between the servers.
  const sameId = (reply: string) => reply.replace(/id\r\n:\d+/g, "id\r\n:N");
  for (const proto of ["2", "3"]) {
    const d = await Differential.start();
    try {
      await d.both("HELLO", proto);
      for (const line of script) {
        const [f, r] = await d.both(...cmd(line));
        assertEquals(sameId(f), sameId(r), `RESP${proto}: ${line}`);
      }
    } finally {
      await d.close();
    }
  }
});

Deno.test("transactions: replies match redis-server (RESP2 and RESP3)", async () => {
  await sameInBothProtocols([
    // LRANGE's reply is read where the list keeps its elements: the commands after it in the
    // transaction must not change what it answered.
    "MULTI",
    "RPUSH l a b c",
    "LRANGE l 0 -1",
    "LPOP l 2",
    "RPUSH l d e f g h i j k l m n o p",
    "LRANGE l 1 3",
    "LTRIM l 5 -1",
    "EXEC",
    "LRANGE l 0 -1",
    "MULTI",
    "SET a 1",
    "INCR a",
    "GET a",
    "EXEC",
    "EXEC",
    "DISCARD",
    "MULTI",
    "MULTI",
    "WATCH x",
    "SET b 2",
    "DISCARD",
    "GET b",
    "MULTI",
    "SET c 1",
    "NOSUCHCOMMAND",
    "GET",
    "EXEC",
    "GET c",
    "SET s hello",
    "MULTI",
    "INCR s",
    "SET t 1",
    "EXEC",
    "GET t",
    "WATCH w",
    "SET w changed",
    "MULTI",
    "SET w2 x",
    "EXEC",
    "GET w2",
    "WATCH w",
    "UNWATCH",
    "SET w again",
    "MULTI",
    "SET w3 x",
    "EXEC",
    "MULTI",
    "EXEC",
    "MULTI",
    "PING",
    "ECHO hi",
    "DISCARD",
  ]);
});

Deno.test("transactions: subscriptions inside MULTI and EXEC refused before it runs match redis-server", async () => {
  await sameInBothProtocols([
    // EXEC refused for its arity discards the transaction: the next EXEC has no MULTI.
    "MULTI",
    "SET a 1",
    "EXEC x",
    "EXEC",
    "GET a",
    "EXEC x",
    "MULTI",
    "SSUBSCRIBE s",
    "EXEC",
    "MULTI",
    "UNSUBSCRIBE",
    "EXEC",
    // The confirmation is EXEC's reply for the command, inside its array.
    "MULTI",
    "PSUBSCRIBE p*",
    "PUNSUBSCRIBE p*",
    "EXEC",
    "MULTI",
    "SUBSCRIBE x",
    "PING",
    "EXEC",
    "UNSUBSCRIBE x",
  ]);
  const d = await Differential.alike({ requirepass: "pw" });
  try {
    assertEquals(await d.compare(["EXEC", "EXEC x", "MULTI"].map(cmd)), []);
  } finally {
    await d.close();
  }
});

Deno.test("transactions: WATCH sees writes by other clients, expiry and FLUSHALL, even of the same value", async () => {
  const server = await startFerric();
  const a = await RawClient.connect(server.port);
  const b = await RawClient.connect(server.port);
  try {
    await a.call("SET", "k", "v");
    // Written back with the same value by another client: still a change.
    await a.call("WATCH", "k");
    await b.call("SET", "k", "v");
    await a.call("MULTI");
    await a.call("SET", "k", "mine");
    assertEquals(await a.call("EXEC"), "*-1\r\n");
    assertEquals(await a.call("GET", "k"), "$1\r\nv\r\n");
    // Untouched: EXEC runs.
    await a.call("WATCH", "k");
    await a.call("MULTI");
    await a.call("SET", "k", "mine");
    assertEquals(await a.call("EXEC"), "*1\r\n+OK\r\n");
    // Expiry of a watched key.
    await a.call("SET", "e", "1", "PX", "30");
    await a.call("WATCH", "e");
    await new Promise((r) => setTimeout(r, 60));
    await a.call("MULTI");
    await a.call("SET", "z", "1");
    assertEquals(await a.call("EXEC"), "*-1\r\n");
    // FLUSHALL of a watched key that exists.
    await a.call("SET", "f", "1");
    await a.call("WATCH", "f");
    await b.call("FLUSHALL");
    await a.call("MULTI");
    await a.call("SET", "z", "1");
    assertEquals(await a.call("EXEC"), "*-1\r\n");
    // RESET leaves MULTI and forgets watches.
    await a.call("MULTI");
    assertEquals(await a.call("RESET"), "+RESET\r\n");
    assertEquals(await a.call("EXEC"), "-ERR EXEC without MULTI\r\n");
  } finally {
    a.close();
    b.close();
    await server.close();
  }
});

Deno.test("transactions: EXEC is atomic under concurrent load", async () => {
  const server = await startFerric();
  const clients = await Promise.all(
    Array.from({ length: 6 }, () => RawClient.connect(server.port)),
  );
  const observer = await RawClient.connect(server.port);
  try {
    let stop = false;
    let torn = 0;
    const watch = (async () => {
      while (!stop) {
        const r = await observer.call("MGET", "x", "y");
        const [x, y] = r.split("\r\n").filter((l) => !/^[*$]/.test(l));
        if ((x ?? "") !== (y ?? "")) torn++;
      }
    })();
    await Promise.all(clients.map(async (c, w) => {
      for (let i = 0; i < 150; i++) {
        await c.write(
          "*1\r\n$5\r\nMULTI\r\n" +
            `*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$${String(w * 1000 + i).length}\r\n${w * 1000 + i}\r\n` +
            `*3\r\n$3\r\nSET\r\n$1\r\ny\r\n$${String(w * 1000 + i).length}\r\n${w * 1000 + i}\r\n` +
            "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n" +
            "*1\r\n$4\r\nEXEC\r\n",
        );
        for (let j = 0; j < 5; j++) await c.read();
      }
    }));
    stop = true;
    await watch;
    assertEquals(torn, 0, "an observer saw x and y from different transactions");
    assertEquals(await observer.call("GET", "counter"), "$3\r\n900\r\n");
  } finally {
    for (const c of clients) c.close();
    observer.close();
    await server.close();
  }
});

Deno.test("transactions: a transaction's writes reach the log as one batch", async () => {
  const dir = await tempDir("ferric-tx-");
  const server = await startFerric({ "data-dir": dir, "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  try {
    await c.call("MULTI");
    for (let i = 0; i < 20; i++) await c.call("SET", `key${i}`, `${i}`);
    const before = server.engine!.shards.map((s) => s.stats.records);
    await c.call("EXEC");
    const after = server.engine!.shards.map((s) => s.stats.records);
    // 20 puts plus a begin and an end record in each shard that took part.
    const written = after.reduce((n, a, i) => n + a - before[i], 0);
    assert(written === 22 || written === 24, `${written} records`);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("MULTI over maxmemory: queuing is refused, EXEC of a queued write is aborted (differential)", async () => {
  const d = await Differential.start();
  const ferric2 = await RawClient.connect(d.server.port);
  const redis2 = await RawClient.connect(d.redisServer.port);
  try {
    const on = async (f: RawClient, r: RawClient, ...args: string[]) => [
      await f.call(...args),
      await r.call(...args),
    ];
    // A transaction with a write queued before the limit is reached (FerricStore's used memory
    // counts data, so some is stored first).
    assertEquals(
      await d.compare([cmd("FLUSHALL"), cmd("SET other value"), cmd("MULTI"), cmd("SET k v")]),
      [],
    );
    const [f, r] = await on(ferric2, redis2, "CONFIG", "SET", "maxmemory", "1");
    assertEquals(f, r);
    assertEquals(
      await d.compare([
        cmd("EXEC"),
        // Anything queued is refused (not only commands that add data), but not EXEC/DISCARD.
        cmd("MULTI"),
        cmd("GET k"),
        cmd("PING"),
        cmd("EXEC"),
        cmd("MULTI"),
        cmd("DISCARD"),
        cmd("GET k"),
        cmd("SET k v"),
      ]),
      [],
    );
    assertEquals(
      ...await on(ferric2, redis2, "CONFIG", "SET", "maxmemory", "0") as [string, string],
    );
  } finally {
    ferric2.close();
    redis2.close();
    await d.close();
  }
});

Deno.test("WATCH: SWAPDB that brings a watched key in, or takes one away, aborts EXEC (differential)", async () => {
  const d = await Differential.start();
  const ferric2 = await RawClient.connect(d.server.port);
  const redis2 = await RawClient.connect(d.redisServer.port);
  const other = async (...args: string[]) => {
    assertEquals(await ferric2.call(...args), await redis2.call(...args), args.join(" "));
  };
  try {
    for (const [setup, watched] of [["1", "k"], ["0", "k"], ["1", "absent"]]) {
      await other("FLUSHALL");
      await other("SELECT", setup);
      await other("SET", "k", "v");
      await other("SELECT", "0");
      assertEquals(await d.compare([["WATCH", watched]]), []);
      await other("SWAPDB", "0", "1");
      assertEquals(await d.compare([cmd("MULTI"), cmd("PING"), cmd("EXEC")]), []);
    }
  } finally {
    ferric2.close();
    redis2.close();
    await d.close();
  }
});

Deno.test("transactions: EXEC stays atomic while a queued command waits (ACL SAVE)", async () => {
  const dir = await tempDir("ferric-tx-");
  const aclfile = `${dir}/users.acl`;
  await Deno.writeTextFile(aclfile, "user default on nopass ~* &* +@all\n");
  const server = await startFerric({ aclfile });
  const [a, b, waiter] = await Promise.all(
    [0, 1, 2].map(() => RawClient.connect(server.port)),
  );
  try {
    // A client blocked on the list the transaction pushes to and pops from again: Redis never
    // serves it in the middle of EXEC.
    await waiter.write("BLPOP l 0\r\n");
    assertEquals(await a.call("MULTI"), "+OK\r\n");
    for (const line of [["INCR", "k"], ["ACL", "SAVE"], ["RPUSH", "l", "x"], ["LPOP", "l"]]) {
      assertEquals(await a.call(...line), "+QUEUED\r\n");
    }
    assertEquals(await a.call("INCR", "k"), "+QUEUED\r\n");
    // Another client's write sent while the transaction runs lands before or after it, whole.
    await a.write("EXEC\r\n");
    await b.write("SET k 100\r\n");
    assertEquals(await a.read(), "*5\r\n:1\r\n+OK\r\n:1\r\n$1\r\nx\r\n:2\r\n");
    assertEquals(await b.read(), "+OK\r\n");
    assertEquals(await b.call("GET", "k"), "$3\r\n100\r\n");
    // The waiter is still blocked, and served by the next push.
    assertEquals(await b.call("RPUSH", "l", "y"), ":1\r\n");
    assertEquals(await waiter.read(), "*2\r\n$1\r\nl\r\n$1\r\ny\r\n");
  } finally {
    for (const c of [a, b, waiter]) c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transactions: an LRANGE held behind a waiting EXEC answers the list as it ran", async () => {
  const dir = await tempDir("ferric-tx-");
  const aclfile = `${dir}/users.acl`;
  await Deno.writeTextFile(aclfile, "user default on nopass ~* &* +@all\n");
  const server = await startFerric({ aclfile });
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
  try {
    assertEquals(await b.call("RPUSH", "l", "a", "b", "c", "d"), ":4\r\n");
    assertEquals(await a.call("MULTI"), "+OK\r\n");
    assertEquals(await a.call("ACL", "LOAD"), "+QUEUED\r\n");
    // Both held while EXEC waits for the file, then run in order: LRANGE first.
    await a.write("EXEC\r\n");
    await b.write("LRANGE l 0 -1\r\nPING\r\n");
    await c.write("RPOP l 2\r\nLSET l 0 ZZZZ\r\n");
    assertEquals(await a.read(), "*1\r\n+OK\r\n");
    assertEquals(await b.read(), "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assertEquals(await b.read(), "+PONG\r\n");
    assertEquals(await c.read(), "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    assertEquals(await c.read(), "+OK\r\n");
  } finally {
    for (const x of [a, b, c]) x.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transactions: commands inside EXEC see one clock, as redis-server", async () => {
  const d = await Differential.alike({ "enable-debug-command": "yes" });
  try {
    assertEquals(
      await d.compare(
        [
          "MULTI",
          "SET k v PX 20",
          "DEBUG SLEEP 0.05",
          "GET k",
          "EXISTS k",
          "PTTL k",
          "EXEC",
        ].map(cmd),
      ),
      [],
    );
    // The key set in the transaction outlived the sleep in it: GET gave its value.
    assertEquals(await d.both("EXISTS", "k"), [":0\r\n", ":0\r\n"]);
    // Keys expire by EXEC's start, but a new TTL counts from the real clock (Redis 7.0). Each
    // server on its own: the other's sleep must not pass in between.
    for (const port of [d.server.port, d.redisServer.port]) {
      const c = await RawClient.connect(port);
      for (const line of ["MULTI", "DEBUG SLEEP 0.3", "SET k2 v PX 250"]) {
        await c.call(...cmd(line));
      }
      assertEquals(await c.call("EXEC"), "*2\r\n+OK\r\n+OK\r\n");
      assertEquals(await c.call("GET", "k2"), "$1\r\nv\r\n", `port ${port}`);
      c.close();
    }
  } finally {
    await d.close();
  }
});

Deno.test("WATCH: a key already expired when watched is checked, not deleted, as redis-server", async () => {
  const d = await Differential.alike({ "enable-debug-command": "yes" });
  try {
    const script = async () => {
      const out: string[][] = [];
      const step = async (line: string) => out.push(await d.both(...cmd(line)));
      await step("DEBUG SET-ACTIVE-EXPIRE 0");
      await step("SET k v PX 20");
      await step("SET w v PX 100");
      await new Promise((r) => setTimeout(r, 50));
      await step("WATCH k w");
      await step("DBSIZE");
      // k had expired before WATCH (no change); w is still alive.
      await step("MULTI");
      await step("SET z 1");
      await step("EXEC");
      // w expires after WATCH: a change, found at EXEC without deleting it.
      await step("WATCH w");
      await new Promise((r) => setTimeout(r, 80));
      await step("MULTI");
      await step("SET z 2");
      await step("EXEC");
      await step("DBSIZE");
      return out;
    };
    for (const [f, r] of await script()) assertEquals(f, r);
    const [stats] = await d.both("INFO", "stats");
    assertEquals(/expired_keys:(\d+)/.exec(stats)![1], "0");
  } finally {
    await d.close();
  }
});
