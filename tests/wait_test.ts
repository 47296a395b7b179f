/**
 * WAIT (no replicas: 0, after the timeout when replicas are asked for) against redis-server, and
 * WAITAOF, whose local acknowledgement is FerricStore's fdatasynced log.
 */
import { assert, assertEquals } from "./_assert.ts";
import { cmd, Differential, encodeCommand, RawClient, startFerric } from "./_harness.ts";
import type { DurableLog } from "../engine/log/durable_log.ts";

Deno.test("WAIT: replies, errors and blocking match redis-server (no replicas)", async () => {
  const d = await Differential.start();
  try {
    const script = [
      "WAIT 0 0",
      "WAIT -1 0",
      "WAIT 0 5",
      "WAIT x 0",
      "WAIT 0 x",
      "WAIT 0 -1",
      "WAIT 0 1.5",
      "WAIT 1",
      "WAIT 0 0 extra",
      "WAIT 99999999999999999999 0",
      "WAIT 0 99999999999999999999",
      "MULTI",
      "WAIT 1 0",
      "EXEC",
      "COMMAND INFO wait",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
    for (const port of [d.server.port, d.redisServer.port]) {
      // Asked for a replica, WAIT waits out its timeout and answers 0 replicas.
      const c = await RawClient.connect(port);
      const t = Date.now();
      assertEquals(await c.call("WAIT", "1", "150"), ":0\r\n");
      assert(Date.now() - t >= 140, `WAIT 1 150 answered after ${Date.now() - t} ms`);
      // Without a timeout it waits until CLIENT UNBLOCK.
      const id = (await c.call("CLIENT", "ID")).slice(1, -2);
      await c.write(encodeCommand(["WAIT", "1", "0"]));
      await new Promise((r) => setTimeout(r, 50));
      const admin = await RawClient.connect(port);
      assertEquals(await admin.call("CLIENT", "UNBLOCK", id), ":1\r\n");
      assertEquals(await c.read(), ":0\r\n");
      admin.close();
      c.close();
    }
  } finally {
    await d.close();
  }
});

Deno.test("WAITAOF: the local acknowledgement is an fdatasync of the log (async namespaces too)", async () => {
  const server = await startFerric({ durability: "async", "commit-window-ms": 10000 });
  const log = server.keyspace.log as DurableLog;
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("SET", "k", "v"), "+OK\r\n");
    assert(!log.synced(), "an async write waits for its 10 s window");
    assertEquals(await c.call("WAITAOF", "0", "0", "0"), "*2\r\n:0\r\n:0\r\n");
    const t = Date.now();
    assertEquals(await c.call("WAITAOF", "1", "0", "0"), "*2\r\n:1\r\n:0\r\n");
    assert(Date.now() - t < 5000, "WAITAOF 1 forced the fdatasync instead of waiting the window");
    assert(log.synced(), "every write is on disk after WAITAOF 1");
    assertEquals(await c.call("WAITAOF", "0", "0", "0"), "*2\r\n:1\r\n:0\r\n");
    // Inside MULTI it answers at once.
    await c.call("SET", "k", "w");
    await c.call("MULTI");
    await c.call("WAITAOF", "1", "0", "0");
    assertEquals(await c.call("EXEC"), "*1\r\n*2\r\n:0\r\n:0\r\n");
    // Other clients writing meanwhile do not take the acknowledgement away.
    const other = await RawClient.connect(server.port);
    let writing = true;
    const load = (async () => {
      for (let i = 0; writing && i < 5000; i++) {
        await other.write(encodeCommand(["SET", `o${i % 100}`, "x"]));
        await other.read();
      }
    })();
    for (let i = 0; i < 30; i++) {
      await c.call("SET", "mine", String(i));
      assertEquals(await c.call("WAITAOF", "1", "0", "0"), "*2\r\n:1\r\n:0\r\n", `round ${i}`);
    }
    writing = false;
    await load;
    other.close();
    // Replicas never acknowledge: the timeout ends the wait, after the local fdatasync.
    assertEquals(await c.call("WAITAOF", "1", "1", "100"), "*2\r\n:1\r\n:0\r\n");
    for (
      const [args, error] of [
        [["2", "0", "0"], "-ERR value is out of range, value must between 0 and 1\r\n"],
        [["1", "-1", "0"], "-ERR value is out of range, must be positive\r\n"],
        [["x", "0", "0"], "-ERR value is not an integer or out of range\r\n"],
        [["0", "0", "-1"], "-ERR timeout is negative\r\n"],
        [["0", "0", "x"], "-ERR timeout is not an integer or out of range\r\n"],
      ] as const
    ) {
      assertEquals(await c.call("WAITAOF", ...args), error, args.join(" "));
    }
  } finally {
    c.close();
    await server.close();
  }
});
