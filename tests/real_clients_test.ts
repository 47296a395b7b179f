/**
 * Real client libraries against an in-process FerricStore: ioredis (RESP2), node-redis v4
 * (RESP2) and node-redis v5 (RESP2 and RESP3; v4 cannot speak RESP3, v5 can with `RESP: 3`).
 * Connect, string commands, pipelines, binary values, errors as the libraries surface them, and
 * reconnection after CLIENT KILL when the CLIENT command exists.
 */
import { Buffer } from "node:buffer";
import { Redis, ReplyError } from "ioredis";
import { commandOptions, createClient as createClientV4, ErrorReply as ErrorReplyV4 } from "redis";
import { createClient as createClientV5, ErrorReply as ErrorReplyV5, RESP_TYPES } from "redis5";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { RawClient, withFerric } from "./_harness.ts";

/** Which optional commands this build of FerricStore registers. */
async function probe(port: number): Promise<{ info: boolean; client: boolean }> {
  const c = await RawClient.connect(port);
  try {
    const info = await c.call("INFO", "server");
    const id = await c.call("CLIENT", "ID");
    const kill = await c.call("CLIENT", "KILL", "ID", "999999999");
    return {
      info: info.startsWith("$") || info.startsWith("="),
      // CLIENT KILL ID of an unknown id kills nobody (:0) when KILL exists.
      client: id.startsWith(":") && kill === ":0\r\n",
    };
  } finally {
    c.close();
  }
}

/** Closes an ioredis client and waits until its socket is gone. */
async function quitIoredis(client: Redis): Promise<void> {
  const ended = new Promise<void>((r) => client.once("end", () => r()));
  await client.quit();
  await ended;
}

const until = async (cond: () => boolean | Promise<boolean>, ms = 5000) => {
  const stop = Date.now() + ms;
  while (Date.now() < stop) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("condition not reached in time");
};

Deno.test("ioredis: string commands, pipeline, binary values and errors", async () => {
  await withFerric(async (server) => {
    const has = await probe(server.port);
    // ioredis checks readiness with INFO; without INFO registered it would never be ready, so
    // the check is turned off when this build of FerricStore does not have INFO.
    const client = new Redis({
      port: server.port,
      host: "127.0.0.1",
      enableReadyCheck: has.info,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    try {
      await client.connect();
      assertEquals(await client.ping(), "PONG");
      assertEquals(await client.set("greeting", "hello"), "OK");
      assertEquals(await client.get("greeting"), "hello");
      assertEquals(await client.get("missing"), null);
      assertEquals(await client.set("greeting", "again", "NX"), null);
      assertEquals(await client.set("greeting", "bye", "XX", "GET"), "hello");
      assertEquals(await client.incr("counter"), 1);
      assertEquals(await client.incrby("counter", 41), 42);
      assertEquals(await client.decr("counter"), 41);
      assertEquals(await client.incrbyfloat("float", "10.5"), "10.5");
      assertEquals(await client.incrbyfloat("float", "0.1"), "10.6");
      assertEquals(await client.mset({ a: "1", b: "2", c: "3" }), "OK");
      assertEquals(await client.mget("a", "b", "missing", "c"), ["1", "2", null, "3"]);
      assertEquals(await client.msetnx("a", "x", "fresh", "y"), 0);
      assertEquals(await client.setex("temp", 100, "t"), "OK");
      assertEquals(await client.psetex("ptemp", 100000, "t"), "OK");
      assertEquals(await client.getex("temp", "PERSIST"), "t");
      assertEquals(await client.append("greeting", "!"), 4);
      assertEquals(await client.strlen("greeting"), 4);
      assertEquals(await client.getrange("greeting", 0, 2), "bye");
      assertEquals(await client.setrange("greeting", 0, "B"), 4);
      assertEquals(await client.getset("greeting", "new"), "Bye!");
      assertEquals(await client.getdel("greeting"), "new");
      assertEquals(await client.setnx("greeting", "x"), 1);
      assertEquals(await client.call("LCS", "a", "b"), "");
      // Unicode goes through as UTF-8.
      assertEquals(await client.set("unicode", "héllo wörld ✓"), "OK");
      assertEquals(await client.get("unicode"), "héllo wörld ✓");

      // Binary values as Buffers, every byte value included.
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const key = Buffer.from([0, 13, 10, 255]);
      assertEquals(await client.set(key, bytes), "OK");
      const back = await client.getBuffer(key);
      assert(back !== null && Buffer.compare(back, bytes) === 0);
      assertEquals(await client.strlen(key), 256);

      // A pipeline of many commands sent together, replies in order.
      const p = client.pipeline();
      for (let i = 0; i < 200; i++) p.set(`p:${i}`, String(i));
      for (let i = 0; i < 200; i++) p.incr(`p:${i}`);
      p.get("p:199");
      p.incr("greeting"); // fails: not an integer
      const results = await p.exec();
      assert(results !== null);
      assertEquals(results.length, 402);
      assertEquals(results[0], [null, "OK"]);
      assertEquals(results[200], [null, 1]);
      assertEquals(results[400], [null, "200"]);
      const [pipeErr] = results[401];
      assert(pipeErr instanceof ReplyError);
      assertEquals(pipeErr?.message, "ERR value is not an integer or out of range");

      // Errors as ReplyError with Redis's text.
      await assertRejects(client.incr("greeting"), (e: Error) => {
        assert(e instanceof ReplyError);
        assertEquals(e.message, "ERR value is not an integer or out of range");
        return true;
      });
      await assertRejects(client.call("GET"), (e: Error) => {
        assert(e instanceof ReplyError);
        assertEquals(e.message, "ERR wrong number of arguments for 'get' command");
        return true;
      });
      await assertRejects(client.call("NOSUCHCOMMAND", "x"), (e: Error) => {
        assertEquals(
          e.message,
          "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ",
        );
        return true;
      });
      await assertRejects(client.set("k", "v", "EX", 0), /invalid expire time in 'set' command/);
      await assertRejects(client.incrbyfloat("float", "abc"), /ERR value is not a valid float/);
      // The connection is still usable after errors.
      assertEquals(await client.get("p:0"), "1");
    } finally {
      await quitIoredis(client);
    }
  });
});

Deno.test("ioredis: reconnects after CLIENT KILL", async () => {
  await withFerric(async (server) => {
    const has = await probe(server.port);
    if (!has.client) {
      console.log("CLIENT KILL is not registered yet: reconnection not tested");
      return;
    }
    const client = new Redis({
      port: server.port,
      host: "127.0.0.1",
      enableReadyCheck: has.info,
      retryStrategy: () => 20,
    });
    const killer = await RawClient.connect(server.port);
    try {
      await client.set("survives", "yes");
      const id = await client.client("ID");
      let reconnects = 0;
      client.on("reconnecting", () => reconnects++);
      assertEquals(await killer.call("CLIENT", "KILL", "ID", String(id)), ":1\r\n");
      await until(() => reconnects > 0 && client.status === "ready");
      assertEquals(await client.get("survives"), "yes");
      assert(Number(await client.client("ID")) !== Number(id));
    } finally {
      killer.close();
      await quitIoredis(client);
    }
  });
});

Deno.test("node-redis v4 (RESP2): commands, batching, binary values and errors", async () => {
  await withFerric(async (server) => {
    const client = createClientV4({ socket: { host: "127.0.0.1", port: server.port } });
    client.on("error", () => {/* surfaced through the rejected commands */});
    await client.connect();
    try {
      assertEquals(await client.ping(), "PONG");
      assertEquals(await client.set("k", "v"), "OK");
      assertEquals(await client.get("k"), "v");
      assertEquals(await client.get("missing"), null);
      assertEquals(await client.set("k", "w", { NX: true }), null);
      assertEquals(await client.set("k", "w", { XX: true, GET: true }), "v");
      assertEquals(await client.set("ttl", "x", { EX: 100 }), "OK");
      assertEquals(await client.incr("n"), 1);
      assertEquals(await client.incrBy("n", 9), 10);
      assertEquals(await client.decrBy("n", 3), 7);
      assertEquals(await client.incrByFloat("f", 0.1), "0.1");
      assertEquals(await client.incrByFloat("f", 0.2), "0.3");
      assertEquals(await client.mSet({ a: "1", b: "2" }), "OK");
      assertEquals(await client.mGet(["a", "b", "c"]), ["1", "2", null]);
      assertEquals(await client.mSetNX({ c: "3", d: "4" }), true);
      assertEquals(await client.getEx("ttl", { PERSIST: true }), "x");
      assertEquals(await client.getDel("ttl"), "x");
      assertEquals(await client.append("k", "!"), 2);
      assertEquals(await client.getRange("k", 0, 0), "w");
      assertEquals(await client.setRange("k", 3, "z"), 4);
      assertEquals(await client.get("k"), "w!\x00z");
      assertEquals(await client.strLen("k"), 4);
      assertEquals(await client.LCS_LEN("a", "b"), 0);

      // Many commands in flight at once: node-redis writes them together (auto-pipelining).
      const sets = Array.from({ length: 300 }, (_, i) => client.set(`batch:${i}`, String(i)));
      assert((await Promise.all(sets)).every((r) => r === "OK"));
      const gets = await Promise.all(
        Array.from({ length: 300 }, (_, i) => client.get(`batch:${i}`)),
      );
      assertEquals(gets, Array.from({ length: 300 }, (_, i) => String(i)));

      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      assertEquals(await client.set(Buffer.from("bin\r\n"), bytes), "OK");
      const back = await client.get(
        commandOptions({ returnBuffers: true }),
        Buffer.from("bin\r\n"),
      );
      assert(back !== null && Buffer.compare(back, bytes) === 0);

      await assertRejects(client.incr("k"), (e: Error) => {
        assert(e instanceof ErrorReplyV4);
        assertEquals(e.message, "ERR value is not an integer or out of range");
        return true;
      });
      await assertRejects(client.sendCommand(["GET"]), (e: Error) => {
        assert(e instanceof ErrorReplyV4);
        assertEquals(e.message, "ERR wrong number of arguments for 'get' command");
        return true;
      });
      assertEquals(await client.get("a"), "1");
    } finally {
      await client.quit();
    }
  });
});

for (const RESP of [2, 3] as const) {
  Deno.test(`node-redis v5 (RESP${RESP}): commands, batching, binary values and errors`, async () => {
    await withFerric(async (server) => {
      const client = createClientV5({ socket: { host: "127.0.0.1", port: server.port }, RESP });
      client.on("error", () => {/* surfaced through the rejected commands */});
      await client.connect();
      try {
        assertEquals(await client.ping(), "PONG");
        const hello = await client.sendCommand(["HELLO"]);
        if (RESP === 3) {
          // A RESP3 map arrives as a JS object with the HELLO fields.
          assert(hello !== null && typeof hello === "object" && !Array.isArray(hello));
          assertEquals((hello as unknown as Record<string, unknown>).proto, 3);
        } else {
          assert(Array.isArray(hello));
          assertEquals(hello[4], "proto");
          assertEquals(hello[5], 2);
        }
        assertEquals(await client.set("k", "v"), "OK");
        assertEquals(await client.get("k"), "v");
        assertEquals(await client.get("missing"), null);
        assertEquals(await client.set("k", "v2", { GET: true }), "v");
        assertEquals(await client.incr("n"), 1);
        assertEquals(await client.incrBy("n", 41), 42);
        assertEquals(await client.incrByFloat("f", 10.5), "10.5");
        assertEquals(await client.mSet({ a: "ohmytext", b: "mynewtext" }), "OK");
        assertEquals(await client.mGet(["a", "b", "zz"]), ["ohmytext", "mynewtext", null]);
        assertEquals(await client.LCS("a", "b"), "mytext");
        assertEquals(await client.LCS_LEN("a", "b"), 6);
        const idx = await client.LCS_IDX_WITHMATCHLEN("a", "b");
        assertEquals(idx.len, 6);
        assertEquals(idx.matches.length, 2);
        assertEquals(await client.getEx("k", { type: "PX", value: 100000 }), "v2");
        assertEquals(await client.getDel("k"), "v2");

        const replies = await Promise.all(
          Array.from({ length: 300 }, (_, i) => client.incrBy(`c:${i % 10}`, i)),
        );
        assertEquals(replies.length, 300);
        assertEquals(await client.get("c:9"), String((9 + 299) * 30 / 2));

        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        assertEquals(await client.set("bin", bytes), "OK");
        const back = await client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get("bin");
        assert(back !== null && Buffer.compare(back, bytes) === 0);

        await assertRejects(client.incr("a"), (e: Error) => {
          assert(e instanceof ErrorReplyV5);
          assertEquals(e.message, "ERR value is not an integer or out of range");
          return true;
        });
        await assertRejects(client.sendCommand(["SET", "k"]), (e: Error) => {
          assert(e instanceof ErrorReplyV5);
          assertEquals(e.message, "ERR wrong number of arguments for 'set' command");
          return true;
        });
        assertEquals(await client.get("a"), "ohmytext");
      } finally {
        client.destroy();
        await until(() => !client.isOpen);
      }
    });
  });
}

Deno.test("node-redis v5: reconnects after CLIENT KILL", async () => {
  await withFerric(async (server) => {
    const has = await probe(server.port);
    if (!has.client) {
      console.log("CLIENT KILL is not registered yet: reconnection not tested");
      return;
    }
    const client = createClientV5({
      socket: { host: "127.0.0.1", port: server.port, reconnectStrategy: () => 20 },
    });
    client.on("error", () => {/* the kill is expected */});
    await client.connect();
    const killer = await RawClient.connect(server.port);
    try {
      await client.set("survives", "yes");
      const id = await client.clientId();
      assertEquals(await killer.call("CLIENT", "KILL", "ID", String(id)), ":1\r\n");
      await until(async () => {
        try {
          return client.isReady && (await client.clientId()) !== id;
        } catch {
          return false;
        }
      });
      assertEquals(await client.get("survives"), "yes");
    } finally {
      killer.close();
      client.destroy();
    }
  });
});
