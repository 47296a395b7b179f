import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  cmd,
  concat,
  Differential,
  encodeCommand,
  RawClient,
  startFerric,
  startRedis,
  withFerric,
} from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

/** The text of a bulk (`$n`) or verbatim (`=n txt:`) reply. */
function bulkText(raw: string): string {
  const m = /^([$=])(\d+)\r\n/.exec(raw);
  if (!m) throw new Error(`not a bulk reply: ${JSON.stringify(raw)}`);
  const body = raw.slice(m[0].length, m[0].length + Number(m[2]));
  return m[1] === "=" ? body.slice(4) : body;
}

/** `key=value` fields of one CLIENT LIST line. */
function fields(line: string): Map<string, string> {
  return new Map(
    line.split(" ").map((f) => {
      const i = f.indexOf("=");
      return [f.slice(0, i), f.slice(i + 1)] as [string, string];
    }),
  );
}

/** Waits until `cond` holds (bounded). */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("CLIENT: errors and simple replies match redis-server byte for byte", async () => {
  const d = await Differential.start();
  try {
    const script = [
      "CLIENT",
      "CLIENT FOO",
      "CLIENT GETNAME",
      "CLIENT SETNAME foo",
      "CLIENT GETNAME",
      'CLIENT SETNAME "a b"',
      "CLIENT SETNAME a\nb",
      "CLIENT SETNAME caf\u00e9",
      "CLIENT GETNAME",
      'CLIENT SETNAME ""',
      "CLIENT GETNAME",
      "CLIENT SETNAME",
      "CLIENT GETNAME x",
      "CLIENT ID x",
      "CLIENT INFO x",
      "CLIENT UNPAUSE x",
      "CLIENT KILL",
      "CLIENT KILL 1.2.3.4:5",
      "CLIENT KILL id",
      "CLIENT KILL ID 0",
      "CLIENT KILL ID -5",
      "CLIENT KILL ID abc",
      "CLIENT KILL ID 999999",
      "CLIENT KILL ID 1 TYPE",
      "CLIENT KILL USER nosuchuser",
      "CLIENT KILL SKIPME maybe",
      "CLIENT KILL TYPE foo",
      "CLIENT KILL TYPE master",
      "CLIENT KILL TYPE pubsub",
      "CLIENT KILL TYPE replica SKIPME no",
      "CLIENT KILL FOO bar",
      "CLIENT KILL ADDR 1.2.3.4:5 SKIPME yes",
      "CLIENT KILL LADDR 1.2.3.4:5",
      "CLIENT LIST TYPE",
      "CLIENT LIST TYPE foo",
      "CLIENT LIST TYPE master",
      "CLIENT LIST TYPE pubsub",
      "CLIENT LIST ID",
      "CLIENT LIST ID abc",
      "CLIENT LIST ID 1 x",
      "CLIENT LIST ID 999999 888888",
      "CLIENT LIST foo bar",
      "CLIENT PAUSE",
      "CLIENT PAUSE abc",
      "CLIENT PAUSE -1",
      "CLIENT PAUSE 1.5",
      "CLIENT PAUSE 10 x",
      "CLIENT PAUSE abc x",
      "CLIENT PAUSE 10 all extra",
      "CLIENT UNBLOCK a b c",
      "CLIENT unblock 1 timeout x",
      "CLIENT UNBLOCK abc",
      "CLIENT UNBLOCK abc 1",
      "CLIENT UNBLOCK abc error",
      "CLIENT PAUSE 0",
      "CLIENT PAUSE 0 WRITE",
      "CLIENT UNPAUSE",
      "CLIENT REPLY",
      "CLIENT REPLY foo",
      "CLIENT NO-EVICT maybe",
      "CLIENT NO-EVICT on",
      "CLIENT NO-EVICT OFF",
      "CLIENT NO-EVICT",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
    const [f, r] = await d.both("CLIENT", "ID");
    assertMatch(f, /^:[1-9]\d*\r\n$/);
    assertMatch(r, /^:[1-9]\d*\r\n$/);
    const [fh, rh] = await d.both("CLIENT", "HELP");
    assertEquals(fh.split("\r\n")[1], rh.split("\r\n")[1]);
  } finally {
    await d.close();
  }
});

Deno.test("CLIENT INFO/LIST: Redis's fields in order, bulk in RESP2 and verbatim in RESP3", async () => {
  const d = await Differential.start();
  try {
    await d.both("CLIENT", "SETNAME", "me");
    for (const sub of ["INFO", "LIST"]) {
      const [f, r] = await d.both("CLIENT", sub);
      assertMatch(f, /^\$\d+\r\n/);
      const fl = fields(bulkText(f).trimEnd());
      const rl = fields(bulkText(r).trimEnd());
      // Redis 7.2 added lib-name and lib-ver at the end and 7.4 watch after multi; the oracle
      // is 7.0.
      const expected = [...rl.keys()];
      expected.splice(expected.indexOf("multi") + 1, 0, "watch");
      assertEquals([...fl.keys()], [...expected, "lib-name", "lib-ver"]);
      assert(bulkText(f).endsWith("\n"));
      for (const k of ["name", "flags", "db", "sub", "psub", "ssub", "multi", "user", "resp"]) {
        assertEquals(fl.get(k), rl.get(k), k);
      }
      assertEquals(fl.get("cmd"), `client|${sub.toLowerCase()}`);
      assertEquals(fl.get("argv-mem"), rl.get("argv-mem"));
    }
    await d.both("HELLO", "3");
    const [f3, r3] = await d.both("CLIENT", "INFO");
    assertMatch(f3, /^=\d+\r\ntxt:id=/);
    assertMatch(r3, /^=\d+\r\ntxt:id=/);
    assertEquals(fields(bulkText(f3).trimEnd()).get("resp"), "3");
    assertEquals(await d.compare([cmd("CLIENT LIST ID 999999"), cmd("CLIENT GETNAME")]), []);
  } finally {
    await d.close();
  }
});

/** Sends `lines` in one write and reads replies up to the reply to the final `PING end`. */
async function pipeline(c: RawClient, lines: string[]): Promise<string[]> {
  const reqs = [...lines, "PING end"].map((l) => encodeCommand(cmd(l)));
  await c.write(new Uint8Array(reqs.flatMap((r) => [...r])));
  const replies: string[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await c.read(3000);
    if (r === null) throw new Error("connection closed");
    replies.push(r);
    if (r === "$3\r\nend\r\n") return replies;
  }
  throw new Error("no end marker");
}

Deno.test("CLIENT REPLY OFF and SKIP silence a protocol error too, as redis-server", async () => {
  const d = await Differential.start();
  try {
    for (
      const before of [["CLIENT REPLY OFF"], ["CLIENT REPLY SKIP"], ["CLIENT REPLY SKIP", "PING"]]
    ) {
      const bytes = concat([...before.map((l) => encodeCommand(cmd(l))), "*1\r\n$x\r\n"]);
      const heard: string[][] = [];
      for (const port of [d.server.port, d.redisServer.port]) {
        const c = await RawClient.connect(port);
        await c.write(bytes);
        const replies: string[] = [];
        try {
          for (let r = await c.read(500); r !== null; r = await c.read(500)) replies.push(r);
          if (port === d.server.port) replies.push("(closed)");
        } catch { /* Redis leaves a silenced connection open (see docs/commands.md) */ }
        c.close();
        heard.push(replies);
      }
      const [ferric, redis] = heard;
      assertEquals(ferric.filter((r) => r !== "(closed)"), redis, before.join(", "));
      assertEquals(ferric.at(-1), "(closed)", `${before.join(", ")}: closed`);
    }
  } finally {
    await d.close();
  }
});

Deno.test("CLIENT REPLY OFF/SKIP/ON sequences match redis-server", async () => {
  const d = await Differential.start();
  try {
    const lines = [
      "CLIENT REPLY OFF",
      "PING a",
      "CLIENT REPLY SKIP",
      "PING b",
      "GET",
      "CLIENT REPLY ON",
      "PING c",
      "CLIENT REPLY SKIP",
      "PING d",
      "PING e",
      "CLIENT REPLY BAD",
      "CLIENT REPLY SKIP",
      "CLIENT REPLY BAD",
      "PING g",
      "CLIENT REPLY SKIP",
      "CLIENT REPLY OFF",
      "PING h",
      "CLIENT REPLY ON",
      "SET k v",
      "CLIENT REPLY SKIP",
      "GET k",
      "GET k",
    ];
    const f = await pipeline(d.ferric, lines);
    const r = await pipeline(d.redis, lines);
    assertEquals(f, r);
    assertEquals(f[0], "+OK\r\n");
  } finally {
    await d.close();
  }
});

Deno.test({
  name: "CLIENT REPLY ON right after SKIP is answered, as in Redis",
  async fn() {
    const d = await Differential.start();
    try {
      const lines = ["CLIENT REPLY SKIP", "CLIENT REPLY ON", "PING f"];
      assertEquals(await pipeline(d.ferric, lines), await pipeline(d.redis, lines));
    } finally {
      await d.close();
    }
  },
});

Deno.test("CLIENT KILL closes the connections its filters match", async () => {
  await withFerric(async (server) => {
    const a = await RawClient.connect(server.port);
    const open = async () => {
      const c = await RawClient.connect(server.port);
      const id = Number((await c.call("CLIENT", "ID")).slice(1, -2));
      const info = fields(bulkText(await c.call("CLIENT", "INFO")).trimEnd());
      return { c, id, addr: info.get("addr")!, laddr: info.get("laddr")! };
    };
    try {
      // By ID.
      let b = await open();
      assertEquals(await a.call("CLIENT", "KILL", "ID", String(b.id)), ":1\r\n");
      assert(await b.c.closedByServer());
      await until(() => !server.clients.has(b.id));
      // By ADDR, new and old form.
      b = await open();
      assertEquals(await a.call("CLIENT", "KILL", "ADDR", b.addr), ":1\r\n");
      assert(await b.c.closedByServer());
      b = await open();
      assertEquals(await a.call("CLIENT", "KILL", b.addr), "+OK\r\n");
      assert(await b.c.closedByServer());
      assertEquals(await a.call("CLIENT", "KILL", b.addr), "-ERR No such client\r\n");
      // By USER and LADDR: every other client, the caller skipped by default.
      b = await open();
      const c = await open();
      await until(() => server.clients.size === 3);
      assertEquals(await a.call("CLIENT", "KILL", "USER", "default"), ":2\r\n");
      assert(await b.c.closedByServer());
      assert(await c.c.closedByServer());
      b = await open();
      await until(() => server.clients.size === 2);
      assertEquals(await a.call("CLIENT", "KILL", "LADDR", b.laddr, "ID", String(b.id)), ":1\r\n");
      assert(await b.c.closedByServer());
      // USER names an ACL user: only its connections.
      if (server.registry.get("acl")) {
        assertEquals(await a.call("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*"), "+OK\r\n");
        const bob = await open();
        assertEquals(await bob.c.call("AUTH", "bob", "pw"), "+OK\r\n");
        b = await open();
        const listed = bulkText(await a.call("CLIENT", "LIST", "ID", String(bob.id)));
        assertEquals(fields(listed.trimEnd()).get("user"), "bob");
        assertEquals(await a.call("CLIENT", "KILL", "USER", "bob"), ":1\r\n");
        assert(await bob.c.closedByServer());
        assertEquals(await b.c.call("PING"), "+PONG\r\n");
        b.c.close();
        await until(() => server.clients.size === 1);
      }
      // MAXAGE: nobody is that old.
      b = await open();
      assertEquals(await a.call("CLIENT", "KILL", "MAXAGE", "1000"), ":0\r\n");
      assertEquals(await b.c.call("PING"), "+PONG\r\n");
      // TYPE pubsub: only the subscribed client.
      const sub = await open();
      assertMatch(await sub.c.call("SUBSCRIBE", "ch"), /^\*3\r\n/);
      const listed = bulkText(await a.call("CLIENT", "LIST", "TYPE", "pubsub")).trimEnd();
      assertEquals(fields(listed).get("id"), String(sub.id));
      assertEquals(fields(listed).get("flags"), "P");
      assertEquals(fields(listed).get("sub"), "1");
      assertEquals(await a.call("CLIENT", "KILL", "TYPE", "pubsub"), ":1\r\n");
      assert(await sub.c.closedByServer());
      assertEquals(await b.c.call("PING"), "+PONG\r\n");
      // SKIPME no: the caller is killed too, after its reply.
      await until(() => server.clients.size === 2);
      assertEquals(await a.call("CLIENT", "KILL", "USER", "default", "SKIPME", "no"), ":2\r\n");
      assert(await a.closedByServer());
      assert(await b.c.closedByServer());
      // The old form may kill the caller itself.
      const self = await open();
      assertEquals(await self.c.call("CLIENT", "KILL", self.addr), "+OK\r\n");
      assert(await self.c.closedByServer());
    } finally {
      a.close();
    }
  });
});

Deno.test("CLIENT LIST: flags and counters follow the client's state", async () => {
  await withFerric(async (server) => {
    const a = await RawClient.connect(server.port);
    const b = await RawClient.connect(server.port);
    try {
      await b.call("CLIENT", "SETNAME", "worker");
      const db = server.registry.get("select") ? "3" : "0";
      await b.call("SELECT", db);
      await b.call("CLIENT", "NO-EVICT", "on");
      await b.call("CLIENT", "NO-TOUCH", "on");
      await b.call("MULTI");
      await b.call("SET", "k", "v");
      const bid = [...server.clients.keys()][1];
      const line = fields(bulkText(await a.call("CLIENT", "LIST", "ID", String(bid))).trimEnd());
      assertEquals(line.get("name"), "worker");
      assertEquals(line.get("db"), db);
      assertEquals(line.get("flags"), "xeT");
      assertEquals(line.get("multi"), "1");
      assertEquals(line.get("multi-mem"), "5");
      assertEquals(line.get("argv-mem"), "0");
      assertEquals(line.get("fd"), "-1");
      await b.call("EXEC");
      await b.call("CLIENT", "NO-EVICT", "off");
      await b.call("CLIENT", "NO-TOUCH", "off");
      const list = bulkText(await a.call("CLIENT", "LIST")).split("\n").filter((l) => l);
      assertEquals(list.length, 2);
      assertEquals(list.map((l) => fields(l).get("flags")), ["N", "N"]);
      assertEquals(fields(list[0]).get("cmd"), "client|list");
      assertEquals(fields(list[0]).get("argv-mem"), "10");
      assertEquals(
        bulkText(await a.call("CLIENT", "LIST", "TYPE", "normal")).split("\n").length,
        3,
      );
      assertEquals(await a.call("CLIENT", "LIST", "TYPE", "replica"), "$0\r\n\r\n");
    } finally {
      a.close();
      b.close();
    }
  });
});

Deno.test("CLIENT SETINFO: Redis 7.2 attributes, shown at the end of CLIENT INFO", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      assertEquals(await c.call("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), "+OK\r\n");
      assertEquals(await c.call("CLIENT", "SETINFO", "lib-ver", "5.0.1"), "+OK\r\n");
      assert(
        bulkText(await c.call("CLIENT", "INFO")).endsWith(" lib-name=redis-py lib-ver=5.0.1\n"),
      );
      assertEquals(
        await c.call("CLIENT", "SETINFO", "foo", "x"),
        "-ERR Unrecognized option 'foo'\r\n",
      );
      assertEquals(
        await c.call("CLIENT", "SETINFO", "Lib-Name", "a b"),
        "-ERR Lib-Name cannot contain spaces, newlines or special characters.\r\n",
      );
      assertEquals(await c.call("CLIENT", "SETINFO", "lib-name", ""), "+OK\r\n");
      assert(bulkText(await c.call("CLIENT", "INFO")).endsWith(" lib-name= lib-ver=5.0.1\n"));
      assertEquals(
        await c.call("CLIENT", "SETINFO", "lib-name"),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
      );
      assertEquals(await c.call("CLIENT", "NO-TOUCH", "maybe"), "-ERR syntax error\r\n");
    } finally {
      c.close();
    }
  });
});

Deno.test("CLIENT PAUSE WRITE holds writes while reads answer; UNPAUSE releases them", async () => {
  await withFerric(async (server) => {
    const admin = await RawClient.connect(server.port);
    const writer = await RawClient.connect(server.port);
    const reader = await RawClient.connect(server.port);
    try {
      assertEquals(await admin.call("CLIENT", "PAUSE", "20000", "WRITE"), "+OK\r\n");
      await writer.write(encodeCommand(["SET", "k", "v"]));
      let answered = false;
      const reply = writer.read(5000).finally(() => answered = true);
      await new Promise((r) => setTimeout(r, 300));
      assert(!answered, "SET was answered during the pause");
      assertEquals(await reader.call("GET", "k"), "$-1\r\n");
      assertEquals(await admin.call("CLIENT", "UNPAUSE"), "+OK\r\n");
      assertEquals(await reply, "+OK\r\n");
      assertEquals(await reader.call("GET", "k"), "$1\r\nv\r\n");
      // A pause ends by itself when its time is up; ALL holds reads too.
      const start = Date.now();
      assertEquals(await admin.call("CLIENT", "PAUSE", "300"), "+OK\r\n");
      assertEquals(await reader.call("GET", "k"), "$1\r\nv\r\n");
      assert(Date.now() - start >= 250, "GET was answered during CLIENT PAUSE ALL");
      // A later, shorter pause does not shorten one in force.
      await admin.call("CLIENT", "PAUSE", "400", "WRITE");
      await admin.call("CLIENT", "PAUSE", "10", "WRITE");
      const t = Date.now();
      assertEquals(await writer.call("SET", "k", "w"), "+OK\r\n");
      assert(Date.now() - t >= 300, "the shorter pause cut the longer one short");
    } finally {
      admin.close();
      writer.close();
      reader.close();
    }
  });
});

Deno.test("CLIENT PAUSE: keys past their TTL read as missing but are not deleted until it ends, as redis-server", async () => {
  const d = await Differential.start();
  try {
    for (
      const line of ["SET k1 v PX 300", "SET k2 v PX 300", "SET k3 v", "CLIENT PAUSE 5000 WRITE"]
    ) {
      await d.both(...cmd(line));
    }
    await new Promise((r) => setTimeout(r, 600));
    const replies: [string, string][] = [];
    for (
      const line of ["GET k1", "EXISTS k2", "TTL k1", "DBSIZE", "KEYS *", "SCAN 0", "RANDOMKEY"]
    ) {
      replies.push(await d.both(...cmd(line)));
    }
    const stats = await d.both("INFO", "stats");
    const expired = stats.map((s) => /expired_keys:(\d+)/.exec(s)![1]);
    await d.both("CLIENT", "UNPAUSE");
    for (const [f, r] of replies) assertEquals(f, r);
    assertEquals(replies[3][0], ":3\r\n"); // DBSIZE: nothing was deleted
    assertEquals(expired, ["0", "0"]);
    // Once the pause ends, reads reclaim them again.
    assertEquals(await d.both("GET", "k1"), ["$-1\r\n", "$-1\r\n"]);
    const after = await d.both("INFO", "stats");
    for (const s of after) assert(Number(/expired_keys:(\d+)/.exec(s)![1]) >= 1, s);
  } finally {
    await d.close();
  }
});

Deno.test("CLIENT PAUSE WRITE holds writes queued in MULTI and EXEC of a writing transaction", async () => {
  await withFerric(async (server) => {
    const admin = await RawClient.connect(server.port);
    const writer = await RawClient.connect(server.port);
    const reader = await RawClient.connect(server.port);
    /** Sends a command, checks it is not answered while the pause lasts; returns its reply. */
    const held = async (...args: string[]) => {
      await writer.write(encodeCommand(args));
      let answered = false;
      const reply = writer.read(5000).finally(() => answered = true);
      await new Promise((r) => setTimeout(r, 250));
      assert(!answered, `${args.join(" ")} was answered during the pause`);
      return [reply]; // (in an array: a returned promise would be awaited with this one)
    };
    try {
      assertEquals(await writer.call("MULTI"), "+OK\r\n");
      assertEquals(await writer.call("SET", "t1", "1"), "+QUEUED\r\n");
      assertEquals(await admin.call("CLIENT", "PAUSE", "20000", "WRITE"), "+OK\r\n");
      // Queuing a write waits, as in Redis; a read is queued at once.
      const [queued] = await held("INCR", "t2");
      assertEquals(await admin.call("CLIENT", "UNPAUSE"), "+OK\r\n");
      assertEquals(await queued, "+QUEUED\r\n");
      // A transaction queued before the pause does not run its writes during it.
      assertEquals(await admin.call("CLIENT", "PAUSE", "20000", "WRITE"), "+OK\r\n");
      const [exec] = await held("EXEC");
      assertEquals(await reader.call("GET", "t1"), "$-1\r\n");
      assertEquals(await admin.call("CLIENT", "UNPAUSE"), "+OK\r\n");
      assertEquals(await exec, "*2\r\n+OK\r\n:1\r\n");
      // A transaction that only reads runs during a WRITE pause.
      assertEquals(await admin.call("CLIENT", "PAUSE", "20000", "WRITE"), "+OK\r\n");
      assertEquals(await writer.call("MULTI"), "+OK\r\n");
      assertEquals(await writer.call("GET", "t1"), "+QUEUED\r\n");
      assertEquals(await writer.call("EXEC"), "*1\r\n$1\r\n1\r\n");
      assertEquals(await admin.call("CLIENT", "UNPAUSE"), "+OK\r\n");
    } finally {
      admin.close();
      writer.close();
      reader.close();
    }
  });
});

Deno.test("CLIENT NO-TOUCH: reads leave the key's access time alone", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      await c.call("SET", "k", "v");
      const accessed = () => server.keyspace.dbs[0].peek("k")!.lru;
      const before = accessed();
      await new Promise((r) => setTimeout(r, 20));
      assertEquals(await c.call("CLIENT", "NO-TOUCH", "ON"), "+OK\r\n");
      assertEquals(await c.call("GET", "k"), "$1\r\nv\r\n");
      assertEquals(accessed(), before);
      if (server.registry.get("object")) {
        await new Promise((r) => setTimeout(r, 1100));
        await c.call("GET", "k");
        // At least a second idle (whole seconds, so 1 or 2 depending on where the clock ticked).
        assertMatch(await c.call("OBJECT", "IDLETIME", "k"), /^:[12]\r\n$/);
      }
      assertEquals(await c.call("CLIENT", "NO-TOUCH", "OFF"), "+OK\r\n");
      await c.call("GET", "k");
      assert(accessed() > before);
      if (server.registry.get("object")) {
        assertEquals(await c.call("OBJECT", "IDLETIME", "k"), ":0\r\n");
      }
    } finally {
      c.close();
    }
  });
});

Deno.test("CLIENT LIST shows watch and multi counts and the x flag", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      await c.call("WATCH", "a", "b");
      await c.call("MULTI");
      await c.call("SET", "a", "1");
      // CLIENT INFO inside MULTI would be queued: look from another connection.
      const other = await RawClient.connect(server.port);
      const list = bulkText(await other.call("CLIENT", "LIST"));
      other.close();
      const line = list.split("\n").find((l) => l.includes("cmd=set"))!;
      const f = fields(line.trim());
      assertEquals([f.get("multi"), f.get("watch"), f.get("flags")], ["1", "2", "x"]);
      // CLIENT INFO run by EXEC still sees the transaction, as in Redis.
      await c.call("CLIENT", "INFO");
      const exec = await c.call("EXEC");
      const info = fields(exec.split("\r\n")[3].trim());
      assertEquals([info.get("multi"), info.get("flags")], ["2", "x"]);
    } finally {
      c.close();
    }
  });
});

Deno.test("CLIENT PAUSE: a held client counts as blocked (blocked_clients, flag b), as redis-server", async () => {
  const d = await Differential.start();
  try {
    const seen: string[][] = [];
    for (const port of [d.server.port, d.redisServer.port]) {
      const [admin, writer, look] = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
      const id = (await writer.call("CLIENT", "ID")).slice(1, -2);
      await admin.call("CLIENT", "PAUSE", "20000", "WRITE");
      await writer.write(encodeCommand(["RPUSH", "l", "a"]));
      let blocked = "";
      for (let i = 0; i < 100 && !blocked.endsWith(":1"); i++) {
        await new Promise((r) => setTimeout(r, 10));
        const info = await look.call("INFO", "clients");
        blocked = info.split("\r\n").find((l) => l.startsWith("blocked_clients"))!;
      }
      const line = bulkText(await look.call("CLIENT", "LIST", "ID", id));
      await admin.call("CLIENT", "UNPAUSE");
      seen.push([blocked, fields(line.trim()).get("flags")!, (await writer.read())!]);
      for (const c of [admin, writer, look]) c.close();
    }
    assertEquals(seen[0], ["blocked_clients:1", "b", ":1\r\n"]);
    assertEquals(seen[0], seen[1]);
  } finally {
    await d.close();
  }
});

Deno.test("unixsocket: clients connect through a Unix socket as they do to redis-server", async () => {
  const dir = await tempDir("ferric-unix-");
  const ferricPath = `${dir}/ferric.sock`, redisPath = `${dir}/redis.sock`;
  // A stale socket file from a server that did not exit cleanly is replaced.
  Deno.listen({ transport: "unix", path: ferricPath }).close();
  const ferric = await startFerric({
    unixsocket: ferricPath,
    unixsocketperm: "700",
    "protected-mode": "yes",
    "enable-debug-command": "local",
  });
  const redis = await startRedis([
    "--unixsocket",
    redisPath,
    "--unixsocketperm",
    "700",
    "--enable-debug-command",
    "local",
  ]);
  try {
    const replies: string[][] = [];
    for (const path of [ferricPath, redisPath]) {
      assertEquals((Deno.statSync(path).mode! & 0o777).toString(8), "700");
      const c = await RawClient.connectUnix(path);
      const info = await c.call("CLIENT", "INFO");
      replies.push([
        await c.call("PING"),
        await c.call("SET", "k", "v"),
        await c.call("GET", "k"),
        // Local: flag U, address the socket's path with port 0.
        / addr=([^ ]+) .*flags=(\w+) /.exec(info)!.slice(1).join(" ").replace(path, "PATH"),
        await c.call("CONFIG", "GET", "unixsocketperm"),
        // A Unix socket client is local (enable-debug-command local).
        await c.call("DEBUG", "SLEEP", "0"),
      ]);
      c.close();
    }
    assertEquals(replies[0], replies[1]);
    assertEquals(replies[0][3], "PATH:0 U");
    // A second server does not take over a socket a live server listens on.
    let refused = "";
    await startFerric({ unixsocket: ferricPath }).then(
      (s) => s.close(),
      (e) => refused = (e as Error).message,
    );
    assertMatch(refused, /another server is listening on it/);
    const still = await RawClient.connectUnix(ferricPath);
    assertEquals(await still.call("PING"), "+PONG\r\n");
    still.close();
  } finally {
    await ferric.close();
    await redis.stop("SIGKILL");
  }
  assert(!(await Deno.stat(ferricPath).then(() => true, () => false)), "socket file removed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CLIENT INFO: rbs and rbp show the reply buffer and its recent peak", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      const field = (info: string, name: string) =>
        Number(new RegExp(` ${name}=(\\d+)`).exec(info)![1]);
      let info = await c.call("CLIENT", "INFO");
      assert(field(info, "rbs") > 0, info);
      await c.call("SET", "v", "x".repeat(5000));
      await c.call("GET", "v");
      info = await c.call("CLIENT", "INFO");
      assert(field(info, "rbp") >= 5000, info);
      assert(field(info, "tot-mem") >= field(info, "rbs"), info);
    } finally {
      c.close();
    }
  });
});

Deno.test("CLIENT LIST cmd=: NULL after an unknown command or subcommand, exec after a transaction, as redis-server", async () => {
  const d = await Differential.start();
  const ferric2 = await RawClient.connect(d.server.port);
  const redis2 = await RawClient.connect(d.redisServer.port);
  try {
    const ids = (await d.both("CLIENT", "ID")).map((r) => r.slice(1, -2));
    const cmdOf = async () => {
      const lists = [
        await ferric2.call("CLIENT", "LIST", "ID", ids[0]),
        await redis2.call("CLIENT", "LIST", "ID", ids[1]),
      ];
      return lists.map((l) => / cmd=(\S+)/.exec(l)?.[1]);
    };
    for (
      const script of [["FOOBAR"], ["CONFIG", "FOO"], ["GET", "k"], ["MULTI"], ["SET", "k", "v"], [
        "EXEC",
      ]]
    ) {
      await d.both(...script);
      const [f, r] = await cmdOf();
      assertEquals(f, r, script.join(" "));
    }
  } finally {
    ferric2.close();
    redis2.close();
    await d.close();
  }
});

Deno.test("CLIENT UNPAUSE releases one client's held pipeline whole before the next client's (differential)", async () => {
  const d = await Differential.start();
  const open = async (port: number) => [
    await RawClient.connect(port),
    await RawClient.connect(port),
  ];
  const [fo, fm] = await open(d.server.port);
  const [ro, rm] = await open(d.redisServer.port);
  try {
    const replies: string[][] = [];
    for (const [admin, o, m] of [[d.ferric, fo, fm], [d.redis, ro, rm]]) {
      await admin.call("SET", "k", "old");
      assertEquals(await admin.call("CLIENT", "PAUSE", "10000", "WRITE"), "+OK\r\n");
      await o.write(encodeCommand(["SET", "k", "v"]));
      await new Promise((r) => setTimeout(r, 50));
      await o.write(encodeCommand(["GET", "k"]));
      await m.write(encodeCommand(["FLUSHALL"]));
      await new Promise((r) => setTimeout(r, 50));
      assertEquals(await admin.call("CLIENT", "UNPAUSE"), "+OK\r\n");
      replies.push([(await o.read())!, (await o.read())!, (await m.read())!]);
    }
    assertEquals(replies[0], replies[1]);
    assertEquals(replies[0], ["+OK\r\n", "$1\r\nv\r\n", "+OK\r\n"]);
  } finally {
    for (const c of [fo, fm, ro, rm]) c.close();
    await d.close();
  }
});

Deno.test("client-output-buffer-limit normal: a client that does not read its replies is closed; MONITOR does not time out", async () => {
  const server = await startFerric({
    "client-output-buffer-limit": "normal 1mb 512kb 1",
    // Values stay in memory: a cold one streams from its file and holds no output buffer.
    "hot-cache-max-value-size": "8mb",
  });
  const c = await RawClient.connect(server.port);
  const big = await RawClient.connect(server.port);
  const monitor = await RawClient.connect(server.port);
  const closed = async (client: RawClient) => {
    try {
      for (let i = 0; i < 10_000; i++) if ((await client.read()) === null) return true;
    } catch {
      return true;
    }
    return false;
  };
  try {
    assertEquals(await c.call("SET", "v60", "x".repeat(60_000)), "+OK\r\n");
    assertEquals(await c.call("SET", "v5m", "y".repeat(5_000_000)), "+OK\r\n");
    // 400 replies of 60 KB (24 MB) asked for at once and never read.
    await c.write(concat(Array.from({ length: 400 }, () => encodeCommand(["GET", "v60"]))));
    // One reply over the hard limit on its own.
    await big.write(encodeCommand(["GET", "v5m"]));
    assert(await closed(big), "a 5 MB reply went past the 1 MB hard limit");
    assert(await closed(c), "24 MB of unread replies went past the 1 MB hard limit");
    for (const client of server.clients.values()) {
      assert(client.transport.outputPending() < 4 * 1024 * 1024, "a client holds too much output");
    }
    // A monitor is exempt from the idle timeout, as in Redis.
    const admin = await RawClient.connect(server.port);
    assertEquals(await admin.call("CONFIG", "SET", "timeout", "1"), "+OK\r\n");
    assertEquals(await monitor.call("MONITOR"), "+OK\r\n");
    await new Promise((r) => setTimeout(r, 2500));
    // (the idle admin connection itself timed out meanwhile)
    const after = await RawClient.connect(server.port);
    assertMatch(await after.call("CLIENT", "LIST"), /flags=O/);
    after.close();
    admin.close();
  } finally {
    c.close();
    big.close();
    monitor.close();
    await server.close();
  }
});

Deno.test("client-output-buffer-limit: a soft limit counts time over it within a burst, not across bursts read in full", async () => {
  const server = await startFerric({ "client-output-buffer-limit": "normal 0 32kb 1" });
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("SET", "v", "x".repeat(10_000)), "+OK\r\n");
    for (let round = 0; round < 2; round++) {
      await c.write(concat(Array.from({ length: 10 }, () => encodeCommand(["GET", "v"]))));
      for (let i = 0; i < 10; i++) assertMatch((await c.read())!, /^\$10000\r\n/, `round ${round}`);
      await new Promise((r) => setTimeout(r, 1500));
    }
    assertEquals(await c.call("PING"), "+PONG\r\n");
  } finally {
    c.close();
    await server.close();
  }
});
