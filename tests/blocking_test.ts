/**
 * Blocking list commands over several real connections. Each scenario runs on FerricStore and on
 * redis-server and must give the same transcript (replies, in the order they arrive); a few
 * checks look inside FerricStore (blocked-client count, CLIENT UNBLOCK's function, idle timeout).
 */
import { assert, assertEquals } from "./_assert.ts";
import { encodeCommand, replyEnd, startFerric, startRedis } from "./_harness.ts";
import type { Server } from "../server/server.ts";
import { unblockClient } from "../server/blocking.ts";

/**
 * A RESP connection that reads continuously into a buffer, so a test can check that nothing
 * arrived ({@link Conn.silent}) without losing what arrives later.
 */
class Conn {
  private buf = new Uint8Array(0);
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly pumping: Promise<void>;

  private constructor(private readonly conn: Deno.Conn) {
    this.pumping = this.pump();
  }

  static async open(port: number): Promise<Conn> {
    return new Conn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  private async pump(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(this.buf.length + n);
        next.set(this.buf);
        next.set(chunk.subarray(0, n), this.buf.length);
        this.buf = next;
        this.wake?.();
      }
    } catch { /* closed */ }
    this.ended = true;
    this.wake?.();
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  /** The next complete reply (raw text); null when the server closed the connection. */
  async read(timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = replyEnd(this.buf, 0);
      if (end >= 0) {
        const text = String.fromCharCode(...this.buf.subarray(0, end));
        this.buf = this.buf.slice(end);
        return text;
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a reply");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.wake = r;
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
      this.wake = null;
    }
  }

  /** Sends one command and returns its raw reply. */
  async call(...args: string[]): Promise<string> {
    await this.write(encodeCommand(args));
    const r = await this.read();
    if (r === null) throw new Error("connection closed");
    return r;
  }

  /** True when no reply has arrived after `ms`. */
  async silent(ms = 60): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.buf.length === 0;
  }

  /** True when the server closes the connection within `ms`. */
  async closedByServer(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  /** Half-closes: the server reads end-of-stream, the socket still takes its replies. */
  async closeWrite(): Promise<void> {
    await (this.conn as Deno.TcpConn).closeWrite();
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.pumping;
  }
}

/** One server under test: its port and how many clients it has blocked. */
interface Target {
  port: number;
  blocked(): Promise<number>;
}

/** A scenario: drives connections and returns what it saw. */
type Scenario = (t: Target, clients: Conn[]) => Promise<string[]>;

const send = (c: Conn, ...args: string[]) => c.write(encodeCommand(args));

/** Waits until `n` clients are blocked (bounded). */
async function blockedCount(t: Target, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await t.blocked() === n) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`expected ${n} blocked clients, have ${await t.blocked()}`);
}

const ferricTarget = (server: Server): Target => ({
  port: server.port,
  blocked: () => Promise.resolve(server.blocking.count),
});

/** Runs `scenario` with `n` connections on FerricStore and on redis-server; compares them. */
async function both(n: number, scenario: Scenario): Promise<string[]> {
  const server = await startFerric();
  const redis = await startRedis();
  const info = await Conn.open(redis.port);
  const redisTarget: Target = {
    port: redis.port,
    async blocked() {
      const text = await info.call("INFO", "clients");
      return Number(/blocked_clients:(\d+)/.exec(text)![1]);
    },
  };
  const results: string[][] = [];
  try {
    for (const t of [ferricTarget(server), redisTarget]) {
      const clients = await Promise.all(
        Array.from({ length: n }, () => Conn.open(t.port)),
      );
      try {
        results.push(await scenario(t, clients));
      } finally {
        for (const c of clients) await c.close();
      }
      await blockedCount(t, 0);
    }
  } finally {
    await info.close();
    await server.close();
    await redis.stop("SIGKILL");
  }
  assertEquals(results[0], results[1]);
  return results[0];
}

Deno.test("blocking: BLPOP waits and is woken by another client's RPUSH", async () => {
  const out = await both(2, async (t, [a, b]) => {
    await send(a, "BLPOP", "k", "0");
    await blockedCount(t, 1);
    const quiet = await a.silent();
    const pushed = await b.call("RPUSH", "k", "v1", "v2");
    return [String(quiet), pushed, (await a.read())!, await b.call("LRANGE", "k", "0", "-1")];
  });
  assertEquals(out[2], "*2\r\n$1\r\nk\r\n$2\r\nv1\r\n");
});

Deno.test("blocking: clients blocked on a key are served first come, first served", async () => {
  await both(4, async (t, [a, b, c, p]) => {
    await send(b, "BRPOP", "q", "0");
    await blockedCount(t, 1);
    await send(a, "BRPOP", "q", "0");
    await blockedCount(t, 2);
    await send(c, "BLPOP", "q", "0");
    await blockedCount(t, 3);
    const out = [await p.call("RPUSH", "q", "x", "y")];
    out.push((await b.read())!, (await a.read())!, String(await c.silent()));
    out.push(await p.call("RPUSH", "q", "z"), (await c.read())!, await p.call("EXISTS", "q"));
    return out;
  });
});

Deno.test("blocking: timeouts answer null in RESP2 and RESP3 shapes", async () => {
  const out = await both(2, async (_t, [a, b]) => {
    await b.call("HELLO", "3");
    const started = Date.now();
    const r = [
      await a.call("BLPOP", "none", "0.1"),
      await a.call("BRPOP", "none", "none2", "0.1"),
      await a.call("BLMOVE", "none", "d", "LEFT", "RIGHT", "0.1"),
      await a.call("BRPOPLPUSH", "none", "d", "0.1"),
      await a.call("BLMPOP", "0.1", "1", "none", "LEFT"),
      await b.call("BLPOP", "none", "0.1"),
      await b.call("BLMOVE", "none", "d", "LEFT", "RIGHT", "0.1"),
      await b.call("BLMPOP", "0.1", "1", "none", "LEFT", "COUNT", "3"),
    ];
    const elapsed = Date.now() - started;
    r.push(String(elapsed >= 8 * 95 && elapsed < 8 * 100 + 2000));
    return r;
  });
  assertEquals(out.slice(0, 5), ["*-1\r\n", "*-1\r\n", "*-1\r\n", "*-1\r\n", "*-1\r\n"]);
  assertEquals(out.slice(5), ["_\r\n", "_\r\n", "_\r\n", "true"]);
});

Deno.test("blocking: BLMOVE and BRPOPLPUSH move the element atomically when woken", async () => {
  await both(3, async (t, [a, b, p]) => {
    await send(a, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0");
    await blockedCount(t, 1);
    // A client blocked on the destination is served in the same pass, before anyone else.
    await send(b, "BLPOP", "dst", "0");
    await blockedCount(t, 2);
    const out = [await p.call("RPUSH", "src", "s1", "s2")];
    out.push((await a.read())!, (await b.read())!);
    out.push(await p.call("LRANGE", "src", "0", "-1"), await p.call("EXISTS", "dst"));
    await send(a, "BRPOPLPUSH", "src2", "dst2", "0");
    await blockedCount(t, 1);
    out.push(await p.call("LPUSH", "src2", "only"), (await a.read())!);
    out.push(await p.call("EXISTS", "src2"), await p.call("LRANGE", "dst2", "0", "-1"));
    // A destination of another type by the time the source fills: the client gets WRONGTYPE.
    await send(a, "BLMOVE", "src3", "dst3", "LEFT", "LEFT", "0");
    await blockedCount(t, 1);
    out.push(await p.call("SET", "dst3", "string"), await p.call("RPUSH", "src3", "e"));
    out.push((await a.read())!, await p.call("LLEN", "src3"));
    return out;
  });
});

Deno.test("blocking: BLMPOP with COUNT, and a client blocked on several keys", async () => {
  await both(3, async (t, [a, b, p]) => {
    await send(a, "BLMPOP", "0", "3", "k1", "k2", "k3", "RIGHT", "COUNT", "2");
    await blockedCount(t, 1);
    await send(b, "BLPOP", "k1", "k2", "k3", "0");
    await blockedCount(t, 2);
    const out = [await p.call("RPUSH", "k3", "1", "2", "3", "4")];
    out.push((await a.read())!, (await b.read())!, await p.call("LRANGE", "k3", "0", "-1"));
    // A client blocked on several keys is unblocked from all of them once served.
    await send(b, "BRPOP", "x1", "x2", "0");
    await blockedCount(t, 1);
    out.push(await p.call("RPUSH", "x2", "a"), (await b.read())!);
    out.push(await p.call("RPUSH", "x1", "b"), await p.call("LLEN", "x1"));
    return out;
  });
});

Deno.test("blocking: a command pipelined after a blocking one waits for it", async () => {
  await both(2, async (t, [a, p]) => {
    await a.write(
      new Uint8Array([
        ...encodeCommand(["BLPOP", "pk", "0"]),
        ...encodeCommand(["PING"]),
        ...encodeCommand(["LLEN", "pk"]),
      ]),
    );
    await blockedCount(t, 1);
    const out = [String(await a.silent()), await p.call("RPUSH", "pk", "a", "b")];
    out.push((await a.read())!, (await a.read())!, (await a.read())!);
    return out;
  });
});

Deno.test("blocking: a client that disconnected while blocked does not take an element", async () => {
  await both(3, async (t, [a, b, p]) => {
    await send(a, "BLPOP", "dk", "0");
    await blockedCount(t, 1);
    await send(b, "BLPOP", "dk", "0");
    await blockedCount(t, 2);
    await a.close();
    await blockedCount(t, 1);
    const out = [await p.call("RPUSH", "dk", "e1", "e2")];
    out.push((await b.read())!, await p.call("LRANGE", "dk", "0", "-1"));
    return out;
  });
});

Deno.test("blocking: a client that half-closes while blocked gets no reply and takes nothing", async () => {
  await both(2, async (t, [a, p]) => {
    await send(a, "BLPOP", "hk", "0");
    await blockedCount(t, 1);
    await a.closeWrite();
    await blockedCount(t, 0);
    // Closed without a reply (a timeout's null would be a lie: the timeout was 0).
    const out = [String(await a.read())];
    out.push(await p.call("LPUSH", "hk", "x"), await p.call("LLEN", "hk"));
    return out;
  });
});

Deno.test("blocking: a served RESP3 subscriber gets its reply before the events of its own pop", async () => {
  await both(2, async (t, [a, p]) => {
    await p.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
    await a.call("HELLO", "3");
    const out = [await a.call("PSUBSCRIBE", "__keyevent@0__:*")];
    await send(a, "BLPOP", "ev", "0");
    await blockedCount(t, 1);
    out.push(await p.call("RPUSH", "ev", "x"));
    // rpush, then BLPOP's reply, then lpop and del.
    for (let i = 0; i < 4; i++) out.push((await a.read())!);
    await p.call("CONFIG", "SET", "notify-keyspace-events", "");
    return out;
  });
});

Deno.test("blocking: pushes inside MULTI and pipelines serve blocked clients only after them", async () => {
  await both(2, async (t, [a, p]) => {
    await send(a, "BLPOP", "mk", "0");
    await blockedCount(t, 1);
    const out = [
      await p.call("MULTI"),
      await p.call("RPUSH", "mk", "t1"),
      await p.call("LPOP", "mk"),
      await p.call("EXEC"),
      String(await a.silent()),
    ];
    // RPUSH then LPOP pipelined: the blocked client is served between them, as in Redis.
    await p.write(
      new Uint8Array([...encodeCommand(["RPUSH", "mk", "t2"]), ...encodeCommand(["LPOP", "mk"])]),
    );
    out.push((await p.read())!, (await p.read())!, (await a.read())!);
    // A key that turns into another type leaves the client blocked; a list later serves it.
    await send(a, "BLPOP", "mk", "0");
    await blockedCount(t, 1);
    out.push(await p.call("SET", "mk", "str"), String(await a.silent()));
    out.push(await p.call("DEL", "mk"), await p.call("RPUSH", "tmp", "r"));
    out.push(await p.call("RENAME", "tmp", "mk"), (await a.read())!);
    return out;
  });
});

Deno.test("blocking: blocked clients are counted; CLIENT UNBLOCK's function; idle timeout spares them", async () => {
  const ferric = await startFerric();
  const a = await Conn.open(ferric.port);
  const b = await Conn.open(ferric.port);
  const idle = await Conn.open(ferric.port);
  const p = await Conn.open(ferric.port);
  const t = ferricTarget(ferric);
  try {
    const idOf = async (c: Conn) => Number((await c.call("CLIENT", "ID")).slice(1, -2));
    const aId = await idOf(a);
    const bId = await idOf(b);
    await send(a, "BLPOP", "u1", "u2", "0");
    await send(b, "BLMOVE", "u3", "u4", "LEFT", "LEFT", "0");
    await blockedCount(t, 2);
    assertEquals(ferric.blocking.keyCount, 3);
    assertEquals(ferric.blocking.timeoutCount, 0);
    assert(!unblockClient(ferric, await idOf(p), "timeout"), "p is not blocked");
    assert(unblockClient(ferric, aId, "timeout"));
    assertEquals(await a.read(), "*-1\r\n");
    assert(unblockClient(ferric, bId, "error"));
    assertEquals(await b.read(), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assertEquals(ferric.blocking.count, 0);
    assertEquals(ferric.blocking.keyCount, 0);

    await send(a, "BLPOP", "idle", "0");
    await send(b, "BLPOP", "idle", "10");
    await blockedCount(t, 2);
    assertEquals(ferric.blocking.timeoutCount, 1);
    assertEquals(await p.call("CONFIG", "SET", "timeout", "1"), "+OK\r\n");
    try {
      // The idle client is closed after a second; the blocked ones stay.
      assert(await idle.closedByServer(3500), "the idle client was closed");
      assertEquals(ferric.blocking.count, 2);
      const pusher = await Conn.open(ferric.port);
      await pusher.call("RPUSH", "idle", "v1", "v2");
      await pusher.close();
      assertEquals(await a.read(), "*2\r\n$4\r\nidle\r\n$2\r\nv1\r\n");
      assertEquals(await b.read(), "*2\r\n$4\r\nidle\r\n$2\r\nv2\r\n");
    } finally {
      const q = await Conn.open(ferric.port);
      await q.call("CONFIG", "SET", "timeout", "0");
      await q.close();
    }
    assertEquals(ferric.blocking.timeoutCount, 0);
  } finally {
    for (const c of [a, b, idle, p]) await c.close();
    await ferric.close();
  }
});

Deno.test("blocking: servers stop cleanly", async () => {
  const ferric = await startFerric();
  const c = await Conn.open(ferric.port);
  await send(c, "BLPOP", "forever", "0");
  await send(c, "PING");
  await blockedCount(ferricTarget(ferric), 1);
  // Closing the server closes the blocked connection and clears its wait (no leaked timers).
  await ferric.close();
  await blockedCount(ferricTarget(ferric), 0);
  assertEquals(await c.read(), null);
  await c.close();
});

Deno.test("CLIENT UNBLOCK: TIMEOUT and ERROR release a blocked client as redis-server does", async () => {
  const { startFerric, startRedis, RawClient } = await import("./_harness.ts");
  const ferric = await startFerric();
  const redis = await startRedis();
  try {
    for (const mode of ["TIMEOUT", "ERROR"]) {
      const results: string[][] = [];
      for (const port of [ferric.port, redis.port]) {
        const blocked = await RawClient.connect(port);
        const admin = await RawClient.connect(port);
        const id = (await blocked.call("CLIENT", "ID")).slice(1, -2);
        await blocked.write("*3\r\n$5\r\nBLPOP\r\n$7\r\nnothing\r\n$1\r\n0\r\n");
        await new Promise((r) => setTimeout(r, 50));
        const unblocked = await admin.call("CLIENT", "UNBLOCK", id, mode);
        const again = await admin.call("CLIENT", "UNBLOCK", id, mode);
        results.push([unblocked, (await blocked.read())!, again]);
        blocked.close();
        admin.close();
      }
      assertEquals(results[0], results[1], mode);
    }
  } finally {
    await ferric.close();
    await redis.stop("SIGKILL");
  }
});
