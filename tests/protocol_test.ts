/**
 * The wire protocol as clients see it, over raw sockets: pipelining, inline commands, malformed
 * requests (each answered with Redis's exact text, then the connection closed), requests split
 * across many writes, large and binary values, the limits before AUTH, RESP3 and HELLO. Wherever
 * redis-server has an answer, both servers get the same bytes and their replies are compared.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  cmd,
  concat,
  Differential,
  encodeCommand,
  RawClient,
  replyEnd,
  startFerric,
  withFerric,
} from "./_harness.ts";

import { RequestParser } from "../protocol/parser.ts";
import { ReplyWriter } from "../protocol/writer.ts";
import type { Reply } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import type { SetAside } from "../protocol/set_aside.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("latin1");

/** The multibulk form of command lines. */
function requests(...lines: string[]): Uint8Array {
  return concat(lines.map((l) => encodeCommand(cmd(l))));
}

const QUIT = encodeCommand(["QUIT"]);

/**
 * Opens a new connection, writes `data` followed by QUIT (unless `quit` is false), and returns
 * every reply until the server closes the connection, which is recorded as "<closed>". QUIT needs
 * no authentication and answers the same in RESP2 and RESP3, so a transcript ends with
 * `+OK`, `<closed>` when the connection survived `data`, and without that `+OK` when a protocol
 * error closed it first.
 */
async function transcript(
  port: number,
  data: string | Uint8Array,
  opts: { quit?: boolean; timeoutMs?: number } = {},
): Promise<string[]> {
  const c = await RawClient.connect(port);
  const out: string[] = [];
  try {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    try {
      await c.write(opts.quit ?? true ? concat([bytes, QUIT]) : bytes);
    } catch { /* the server may close before taking everything */ }
    for (let i = 0; i < 10000; i++) {
      let r: string | null;
      try {
        r = await c.read(opts.timeoutMs ?? 5000);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith("timed out")) {
          out.push("<timeout>");
          return out;
        }
        r = null; // reset by the peer
      }
      if (r === null) {
        out.push("<closed>");
        return out;
      }
      out.push(r);
    }
    throw new Error("too many replies");
  } finally {
    c.close();
  }
}

/** Replies shortened for failure messages. */
function show(replies: string[]): string {
  return JSON.stringify(
    replies.map((r) => r.length > 200 ? `${r.slice(0, 200)}...(${r.length} chars)` : r),
  );
}

/** The transcript of the same bytes on both servers: [ferric, redis]. */
async function both(
  pair: Differential,
  data: string | Uint8Array,
  opts: { quit?: boolean; timeoutMs?: number } = {},
): Promise<[string[], string[]]> {
  return await Promise.all([
    transcript(pair.server.port, data, opts),
    transcript(pair.redisServer.port, data, opts),
  ]);
}

/** Asserts that both servers sent the same replies, showing them shortened when not. */
function assertSame(f: string[], r: string[]): void {
  if (JSON.stringify(f) !== JSON.stringify(r)) {
    throw new Error(`replies differ\n  ferric: ${show(f)}\n  redis:  ${show(r)}`);
  }
}

/** One differential case: bytes to send, whether to end with QUIT, how long to wait. */
interface Case {
  name: string;
  data: string | Uint8Array;
  quit?: boolean;
  timeoutMs?: number;
}

/** Compares many cases; returns the differences (empty when both servers answered alike). */
async function compareCases(
  pair: Differential,
  cases: Case[],
): Promise<string[]> {
  const diffs: string[] = [];
  for (const c of cases) {
    const [f, r] = (await both(pair, c.data, c)).map((t) => t.map(normalizeHello));
    if (JSON.stringify(f) !== JSON.stringify(r)) {
      diffs.push(`${c.name}\n  ferric: ${show(f)}\n  redis:  ${show(r)}`);
    }
  }
  return diffs;
}

/** True when FerricStore knows the command line (other families are still being written). */
async function understands(port: number, line: string): Promise<boolean> {
  const [r] = await transcript(port, requests(line));
  return !/^-ERR unknown (sub)?command/.test(r);
}

Deno.test("protocol: pipelined requests are answered in order, like redis-server", async () => {
  const pair = await Differential.start();
  try {
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      lines.push(i % 4 === 0 ? `SET k${i} v${i}` : i % 4 === 1 ? `GET k${i - 1}` : `INCR n`);
      if (i % 50 === 0) lines.push("GET missing", "PING", `ECHO "hello ${i}"`);
    }
    const [f, r] = await both(pair, requests(...lines));
    assertEquals(f.length, lines.length + 2);
    assertSame(f, r);
    // Inline and multibulk requests mixed in one write.
    const mixed = concat([
      "PING\r\n",
      encodeCommand(["SET", "mixed", "1"]),
      "INCR mixed\r\n",
      encodeCommand(["GET", "mixed"]),
      "ECHO inline\n",
    ]);
    const [f2, r2] = await both(pair, mixed);
    assertSame(f2, r2);
    assertEquals(f2.length, 7);
  } finally {
    await pair.close();
  }
});

/** A byte stream the test controls: reads hand out queued chunks, writes are recorded. */
class ScriptedStream {
  readonly writes: Uint8Array[] = [];
  /** Reads that handed out bytes. */
  reads = 0;
  private chunks: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  /** `maxWrite`: the most one write takes (a socket that accepts part of a write). */
  constructor(private readonly maxWrite = Infinity) {}

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.waiter?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null;
      await new Promise<void>((r) => this.waiter = r);
      this.waiter = null;
    }
    const chunk = this.chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.chunks.shift();
    else this.chunks[0] = chunk.subarray(n);
    this.reads++;
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    const n = Math.min(p.length, this.maxWrite);
    this.writes.push(p.slice(0, n));
    // Later, as a socket would: the rest of the connection's work runs in between.
    return new Promise((resolve) => setTimeout(() => resolve(n), 0));
  }

  close(): void {
    this.ended = true;
    this.waiter?.();
  }

  /** Every reply written so far. */
  replies(): string[] {
    const all = concat(this.writes);
    const out: string[] = [];
    let pos = 0;
    for (let end = replyEnd(all, pos); end >= 0; end = replyEnd(all, pos)) {
      out.push(dec.decode(all.subarray(pos, end)));
      pos = end;
    }
    return out;
  }

  async waitForReplies(n: number, timeoutMs = 10000): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const r = this.replies();
      if (r.length >= n) return r;
      await new Promise((res) => setTimeout(res, 5));
    }
    throw new Error(`expected ${n} replies, got ${this.replies().length}`);
  }
}

Deno.test("protocol: the replies to the requests of one read go out in one socket write", async () => {
  await withFerric(async (server) => {
    const stream = new ScriptedStream();
    server.serveStream(stream);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(i % 3 === 0 ? `SET p${i} ${i}` : `GET p${i - 1}`);
    stream.push(requests(...lines));
    const replies = await stream.waitForReplies(300);
    assertEquals(replies.length, 300);
    assertEquals(replies[0], "+OK\r\n");
    assertEquals(replies[1], "$1\r\n0\r\n");
    // A new connection reads 1 KB at first and doubles its reads while they come back full:
    // the 7 KB pipeline takes a few reads, and each read's replies at most one write (reads
    // served in the same event-loop turn share one).
    assert(stream.writes.length <= stream.reads, `${stream.writes.length} writes`);
    assert(stream.reads <= 4, `${stream.reads} reads`);
    stream.close();
  });
});

Deno.test("protocol: replies a socket takes a few bytes at a time arrive whole and in order", async () => {
  await withFerric(async (server) => {
    const stream = new ScriptedStream(7);
    server.serveStream(stream);
    const big = "v".repeat(5000);
    stream.push(requests("SET big " + big, "GET big", "PING", "INCR n", "ECHO hello"));
    assertEquals(await stream.waitForReplies(5), [
      "+OK\r\n",
      `$5000\r\n${big}\r\n`,
      "+PONG\r\n",
      ":1\r\n",
      "$5\r\nhello\r\n",
    ]);
    // A second batch while nothing is pending, then one sent while replies are still going out.
    stream.push(requests("INCR n"));
    assertEquals((await stream.waitForReplies(6))[5], ":2\r\n");
    stream.push(requests("GET big", "INCR n"));
    stream.push(requests("INCR n"));
    const all = await stream.waitForReplies(9);
    assertEquals(all.slice(6), [`$5000\r\n${big}\r\n`, ":3\r\n", ":4\r\n"]);
    assert(stream.writes.every((w) => w.length <= 7));
    stream.close();
  });
});

Deno.test("protocol: requests delivered one byte per read are parsed whole", async () => {
  await withFerric(async (server) => {
    const stream = new ScriptedStream();
    server.serveStream(stream);
    const value = new Uint8Array(300).map((_, i) => i % 256);
    const data = concat([
      encodeCommand(["SET", "bytewise", value]),
      "GET bytewise\r\n",
      encodeCommand(["APPEND", "bytewise", "\r\n"]),
      "STRLEN bytewise\r\n",
    ]);
    for (let i = 0; i < data.length; i++) stream.push(data.subarray(i, i + 1));
    const replies = await stream.waitForReplies(4);
    assertEquals(replies[0], "+OK\r\n");
    assertEquals(replies[1], `$300\r\n${dec.decode(value)}\r\n`);
    assertEquals(replies[2], ":302\r\n");
    assertEquals(replies[3], ":302\r\n");
    stream.close();
  });
});

Deno.test("protocol: requests split across many small socket writes", async () => {
  const pair = await Differential.start();
  try {
    const data = concat([
      encodeCommand(["SET", "split", "a\r\nb"]),
      "GET split\r\n",
      encodeCommand(["MSET", "s1", "x".repeat(100), "s2", "y"]),
      encodeCommand(["MGET", "s1", "s2", "split"]),
    ]);
    const run = async (port: number) => {
      const c = await RawClient.connect(port);
      try {
        // Byte by byte for the first command, then chunks of 7 bytes, pausing so reads split.
        let off = 0;
        while (off < data.length) {
          const step = off < 40 ? 1 : 7;
          await c.write(data.subarray(off, off + step));
          off += step;
          await new Promise((r) => setTimeout(r, 1));
        }
        const out: string[] = [];
        for (let i = 0; i < 4; i++) out.push((await c.read()) ?? "<closed>");
        return out;
      } finally {
        c.close();
      }
    };
    const [f, r] = await Promise.all([run(pair.server.port), run(pair.redisServer.port)]);
    assertSame(f, r);
    assertEquals(f[1], "$4\r\na\r\nb\r\n");
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: inline commands, quotes and escapes match redis-server", async () => {
  const pair = await Differential.start();
  try {
    const cases = [
      "PING\r\n",
      "PING\n",
      "ping hello\r\n",
      "  PING   \r\n",
      "PING\t\tx\r\n",
      'SET k "a b"\r\nGET k\r\n',
      'ECHO "\\x41\\n"\r\n',
      'ECHO "\\x4g"\r\n',
      'ECHO "\\xZZ\\x7e\\X41"\r\n',
      'ECHO "tab\\there\\r\\a\\b\\\\ \\"q\\" \\z"\r\n',
      "ECHO 'single \"quoted\"'\r\n",
      "ECHO 'it\\'s'\r\n",
      "ECHO 'no \\n escapes \\x41'\r\n",
      'ECHO ""\r\n',
      "ECHO ''\r\n",
      'SET "" empty\r\nGET ""\r\n',
      "ECHO a\rb\r\n",
      "ECHO a\r\r\n",
      "\r\n\r\n\n  \r\nPING\r\n",
      "GET\r\n",
      "GET a b\r\n",
      "SET k\r\n",
      "nosuchcommand a b\r\n",
      "nosuchcommand\r\n",
      "ECHO \xff\xfe\r\n",
      "SET\tk2 v2\r\nGET k2\r\n",
      "SET k3 v3\nGET k3\n",
      "ECHO a\x0bb\x0cc\r\n",
      "\x0b\x0cECHO x\x0b \r\n",
      'ECHO "a"\x0b\r\n',
      // Quotes opened inside a word; arguments rewritten in place over their text.
      'SET k x"y z"\r\nGET k\r\n',
      "ECHO ab'c\\'d' \"\\x41\\x42\\x43\" e\r\n",
    ].map((data, i) => ({ name: `inline #${i}: ${JSON.stringify(data)}`, data: latin1(data) }));
    // Redis looks for the end of a line with strchr, which stops at a NUL byte: such a request
    // waits for more input, and fails as too big once 64 KiB have arrived.
    const nul = [
      { name: "inline NUL", data: "\x00PING\r\nPING\r\n", timeoutMs: 300 },
      { name: "inline NUL then too big", data: "P\x00\r\n" + "x".repeat(70000), quit: false },
    ].map((c) => ({ ...c, data: latin1(c.data) }));
    assertEquals(await compareCases(pair, [...cases, ...nul]), []);
  } finally {
    await pair.close();
  }
});

/** Latin1 text to bytes (one byte per char). */
function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

Deno.test("protocol: malformed requests get Redis's error text and close the connection", async () => {
  const pair = await Differential.start();
  try {
    // Acknowledged data that must survive every protocol error below.
    const setup = requests("SET survivor alive");
    const [f0, r0] = await both(pair, setup);
    assertEquals(f0, ["+OK\r\n", "+OK\r\n", "<closed>"]);
    assertSame(f0, r0);
    const big = "x".repeat(70000);
    const cases: Case[] = [
      { name: "invalid multibulk length", data: "*abc\r\n" },
      { name: "multibulk length with plus", data: "*+1\r\n$4\r\nPING\r\n" },
      { name: "multibulk count over INT_MAX", data: "*2147483648\r\n" },
      { name: "multibulk count far over INT_MAX", data: "*99999999999999999999\r\n" },
      { name: "multibulk count with leading zero", data: "*01\r\n$4\r\nPING\r\n" },
      { name: "empty multibulk count", data: "*\r\n" },
      { name: "negative multibulk count is skipped", data: "*-1\r\nPING\r\n" },
      {
        name: "19-digit negative multibulk count is skipped",
        data: "*-1000000000000000000\r\n*1\r\n$4\r\nPING\r\n",
      },
      { name: "INT64_MIN multibulk count is skipped", data: "*-9223372036854775808\r\nPING\r\n" },
      { name: "multibulk count below INT64_MIN", data: "*-9223372036854775809\r\nPING\r\n" },
      { name: "20-digit negative multibulk count", data: "*-10000000000000000000\r\nPING\r\n" },
      { name: "zero multibulk count is skipped", data: "*0\r\n*1\r\n$4\r\nPING\r\n" },
      { name: "negative bulk length", data: "*1\r\n$-5\r\n" },
      { name: "bulk length -1", data: "*1\r\n$-1\r\n" },
      { name: "bulk length -0", data: "*1\r\n$-0\r\n" },
      { name: "multibulk count -0", data: "*-0\r\nPING\r\n" },
      { name: "bulk length 00", data: "*1\r\n$00\r\n\r\n" },
      { name: "bulk length with plus", data: "*1\r\n$+4\r\nPING\r\n" },
      { name: "bulk length not a number", data: "*1\r\n$abc\r\n" },
      { name: "empty bulk length", data: "*1\r\n$\r\n" },
      { name: "expected $", data: "*1\r\nfoo\r\n" },
      { name: "expected $ got *", data: "*2\r\n$4\r\nECHO\r\n*1\r\n" },
      { name: "expected $ got space", data: "*1\r\n \r\n" },
      {
        name: "bulk length over proto-max-bulk-len",
        data: "*2\r\n$3\r\nGET\r\n$536870913\r\n",
      },
      { name: "bulk length over int64", data: "*1\r\n$99999999999999999999\r\n" },
      { name: "unbalanced double quote", data: 'ECHO "abc\r\n' },
      { name: "unbalanced single quote", data: "ECHO 'abc\r\n" },
      { name: "text right after a closing quote", data: 'ECHO "a"b\r\n' },
      { name: "text right after a closing single quote", data: "ECHO 'a'b\r\n" },
      { name: "error after good commands", data: 'PING\r\nSET ok 1\r\nECHO "x\r\nPING\r\n' },
      { name: "too big inline request", data: big, quit: false },
      { name: "NUL in a multibulk count", data: "*1\x00\r\n$4\r\nPING\r\n", timeoutMs: 300 },
      { name: "NUL in a bulk length", data: "*1\r\n$4\x00\r\nPING\r\n", timeoutMs: 300 },
      { name: "NUL instead of $", data: "*1\r\n\x00\r\nPING\r\n", timeoutMs: 300 },
      { name: "NUL in a count, too big", data: "*1\x00\r\n" + "1".repeat(70000), quit: false },
      {
        name: "NUL in a bulk length, too big",
        data: "*1\r\n$\x00\r\n" + "1".repeat(70000),
        quit: false,
      },
      { name: "too big mbulk count string", data: "*" + "1".repeat(70000), quit: false },
      {
        name: "too big bulk count string",
        data: "*1\r\n$" + "1".repeat(70000),
        quit: false,
      },
    ];
    assertEquals(await compareCases(pair, cases), []);
    // Every error closed its connection; a new one still works and the data is intact.
    const after = requests("GET survivor", "GET ok", "PING");
    const [f1, r1] = await both(pair, after);
    assertSame(f1, r1);
    assertEquals(f1, ["$5\r\nalive\r\n", "$1\r\n1\r\n", "+PONG\r\n", "+OK\r\n", "<closed>"]);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: proto-max-bulk-len bounds bulk arguments", async () => {
  const pair = await Differential.alike({ "proto-max-bulk-len": "1mb" });
  try {
    const cases = [
      {
        name: "bulk just at the limit header",
        data: `*2\r\n$4\r\nECHO\r\n$${1024 * 1024 + 1}\r\n`,
      },
      { name: "SETRANGE past the limit", data: requests("SETRANGE r 1048576 x") },
      { name: "APPEND past the limit", data: requests("SETRANGE a 1048570 x", "APPEND a 123456") },
    ];
    assertEquals(await compareCases(pair, cases), []);
    const [f, r] = await both(pair, requests("GET r", "STRLEN a"));
    assertSame(f, r);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: CONFIG SET of request limits applies to connections already open", async () => {
  const pair = await Differential.start();
  const ports = [pair.server.port, pair.redisServer.port];
  const open = await Promise.all(ports.map((p) => RawClient.connect(p)));
  const admin = await Promise.all(ports.map((p) => RawClient.connect(p)));
  try {
    const run = (clients: RawClient[], data: Uint8Array) =>
      Promise.all(clients.map(async (c) => {
        try {
          await c.write(data);
        } catch { /* the server may answer and close before taking everything */ }
        try {
          return await c.read(5000);
        } catch {
          return "<closed>";
        }
      }));
    const value = "v".repeat(1024 * 1024 + 10);
    // Lowered while the connections are open: their next large bulk is refused.
    assertEquals(await run(admin, requests("CONFIG SET proto-max-bulk-len 1mb")), [
      "+OK\r\n",
      "+OK\r\n",
    ]);
    const header = enc.encode(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${value.length}\r\n`);
    const [f, r] = await run(open, header);
    assertEquals(f, "-ERR Protocol error: invalid bulk length\r\n");
    assertEquals(f, r);
    // Raised again: a connection opened under the low limit takes it.
    const later = await Promise.all(ports.map((p) => RawClient.connect(p)));
    try {
      assertEquals(await run(admin, requests("CONFIG SET proto-max-bulk-len 512mb")), [
        "+OK\r\n",
        "+OK\r\n",
      ]);
      assertEquals(await run(later, encodeCommand(["SET", "big", value])), ["+OK\r\n", "+OK\r\n"]);
    } finally {
      later.forEach((c) => c.close());
    }
  } finally {
    open.forEach((c) => c.close());
    admin.forEach((c) => c.close());
    await pair.close();
  }
});

Deno.test("protocol: a query buffer over client-query-buffer-limit closes the connection", async () => {
  const pair = await Differential.alike({ "client-query-buffer-limit": "1mb" });
  try {
    const [f0, r0] = await both(pair, requests("SET kept 1"));
    assertSame(f0, r0);
    const huge = concat([`*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$${3 * 1024 * 1024}\r\n`]);
    const body = new Uint8Array(3 * 1024 * 1024 + 2).fill(120);
    const data = concat([huge, body]);
    const [f, r] = await both(pair, data, { quit: false });
    assertEquals(f, ["<closed>"]);
    assertEquals(r, ["<closed>"]);
    const [f1, r1] = await both(pair, requests("GET kept", "EXISTS huge"));
    assertEquals(f1[0], "$1\r\n1\r\n");
    assertEquals(f1[0], r1[0]);
    // Arguments of 32 KB or more leave Redis's query buffer once read: three of 500 KB in one
    // request, sent in one write, stay within 1 MB.
    const halfMb = "x".repeat(500 * 1024);
    const [f3, r3] = await both(
      pair,
      concat([encodeCommand(["MSET", "a", halfMb, "b", halfMb, "c", halfMb]), requests("PING")]),
    );
    assertEquals(f3, ["+OK\r\n", "+PONG\r\n", "+OK\r\n", "<closed>"]);
    assertSame(f3, r3);
    // Arguments of a partial request already read leave the query buffer too: 2.4 MB of small
    // SADD arguments arrive, the last one later, and the request is served.
    const members = Array.from({ length: 150000 }, (_, i) => `m${String(i).padStart(9, "0")}`);
    const whole = encodeCommand(["SADD", "s", ...members]);
    const cut = whole.length - 20;
    for (const port of [pair.server.port, pair.redisServer.port]) {
      const c = await RawClient.connect(port);
      await c.write(whole.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 200));
      await c.write(whole.subarray(cut));
      assertEquals(await c.read(), ":150000\r\n", `port ${port}`);
      c.close();
    }
    // The same amount of data in many small commands is fine.
    const many: string[] = [];
    for (let i = 0; i < 2000; i++) many.push(`SET m${i} ${"v".repeat(1000)}`);
    const [f2] = await both(pair, requests(...many));
    assertEquals(f2.length, 2002);
    assert(f2.slice(0, 2001).every((x) => x === "+OK\r\n"));
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: binary-safe keys and values, every byte value", async () => {
  const pair = await Differential.start();
  try {
    const all = new Uint8Array(256).map((_, i) => i);
    const crlf = latin1("\r\n\r\n$3\r\n*1\r\n\x00end");
    const key = concat([all, "key"]);
    const data = concat([
      encodeCommand(["SET", key, all]),
      encodeCommand(["GET", key]),
      encodeCommand(["SET", crlf, crlf]),
      encodeCommand(["GET", crlf]),
      encodeCommand(["STRLEN", crlf]),
      encodeCommand(["APPEND", key, crlf]),
      encodeCommand(["GETRANGE", key, "250", "270"]),
      encodeCommand(["MGET", key, crlf, "nokey"]),
      encodeCommand(["ECHO", all]),
      encodeCommand([latin1("FOO\r\nBAR"), latin1("a\r\nb")]),
    ]);
    const [f, r] = await both(pair, data);
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(f.length, r.length); i++) {
      if (f[i] !== r[i]) diffs.push(`#${i}: ${show([f[i] ?? "-", r[i] ?? "-"])}`);
    }
    assertEquals(diffs, []);
    assertEquals(f[1], `$256\r\n${dec.decode(all)}\r\n`);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: unknown command errors cut names and arguments at a NUL byte", async () => {
  // Redis formats them with %s, which ends at a NUL.
  const pair = await Differential.start();
  try {
    const data = concat([
      encodeCommand([latin1("GET\x00"), "k"]),
      encodeCommand([latin1("FOO"), latin1("a\x00b"), latin1("\x00x"), "y"]),
    ]);
    const [f, r] = await both(pair, data);
    assertSame(f, r);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: unknown commands and wrong arity match redis-server", async () => {
  const pair = await Differential.start();
  try {
    const long = "a".repeat(200);
    const lines = [
      "FOO",
      "FOO a b c",
      `FOO ${long}`,
      `${long} x`,
      `FOO ${"b".repeat(60)} ${"c".repeat(60)} ${"d".repeat(60)} e`,
      "GET",
      "GET a b",
      "get",
      "SET k",
      "set k",
      "SETEX k 10",
      "MSET a",
      "MSET a 1 b",
      "MSETNX a",
      "MGET",
      "INCR",
      "INCRBY k",
      "GETEX",
      "GETRANGE k 0",
      "LCS k",
      "PING a b",
      "ECHO",
      "ECHO a b",
      "AUTH",
      "AUTH a b c",
      "QUIT_",
      "pInG",
      "PiNg hi",
      "sEt MiXeD 1",
      "gEt MiXeD",
      "InCrBy MiXeD 5",
    ];
    const [f, r] = await both(pair, requests(...lines));
    const diffs: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (f[i] !== r[i]) diffs.push(`${lines[i]}\n  ferric: ${f[i]}\n  redis:  ${r[i]}`);
    }
    assertEquals(diffs, []);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: large values round trip (10 MB and 50 MB)", async () => {
  const server = await startFerric();
  const c = await BulkClient.connect(server.port);
  try {
    for (const size of [10 * 1024 * 1024, 50 * 1024 * 1024]) {
      const value = new Uint8Array(size);
      for (let i = 0; i < size; i += 4096) value[i] = (i / 4096) % 251;
      value[size - 1] = 13;
      await c.send(encodeCommand(["SET", `big${size}`, value]));
      assertEquals(await c.line(), "+OK");
      await c.send(encodeCommand(["STRLEN", `big${size}`]));
      assertEquals(await c.line(), `:${size}`);
      await c.send(encodeCommand(["GET", `big${size}`]));
      const got = await c.bulk();
      assertEquals(got.length, size);
      assert(equalBytes(got, value), "value changed on the round trip");
      await c.send(encodeCommand(["GETRANGE", `big${size}`, "-3", "-1"]));
      assertEquals(dec.decode(await c.bulk()), dec.decode(value.subarray(size - 3)));
    }
  } finally {
    c.close();
    await server.close();
    await Deno.remove(server.config.str("data-dir"), { recursive: true }).catch(() => {});
  }
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A client that reads large bulk replies into one preallocated buffer. */
class BulkClient {
  private pending: Uint8Array = new Uint8Array(0);
  private constructor(private readonly conn: Deno.Conn) {}

  static async connect(port: number): Promise<BulkClient> {
    return new BulkClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  private async fill(): Promise<void> {
    const chunk = new Uint8Array(256 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("connection closed");
    this.pending = concat([this.pending, chunk.subarray(0, n)]);
  }

  /** One reply line without its CRLF. */
  async line(): Promise<string> {
    for (let i = 0; i < 1000; i++) {
      const cr = this.pending.indexOf(13);
      if (cr >= 0 && cr + 1 < this.pending.length) {
        const text = dec.decode(this.pending.subarray(0, cr));
        this.pending = this.pending.slice(cr + 2);
        return text;
      }
      await this.fill();
    }
    throw new Error("no reply line");
  }

  /** A bulk string reply's bytes. */
  async bulk(): Promise<Uint8Array> {
    const head = await this.line();
    if (!head.startsWith("$")) throw new Error(`expected a bulk reply, got ${head}`);
    const n = Number(head.slice(1));
    const out = new Uint8Array(n + 2);
    let got = Math.min(this.pending.length, n + 2);
    out.set(this.pending.subarray(0, got));
    this.pending = this.pending.slice(got);
    while (got < n + 2) {
      const r = await this.conn.read(out.subarray(got));
      if (r === null) throw new Error("connection closed in a bulk reply");
      got += r;
    }
    return out.subarray(0, n);
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

Deno.test("protocol: requirepass limits unauthenticated clients as redis-server does", async () => {
  const pair = await Differential.alike({ requirepass: "pw" });
  try {
    const big = "v".repeat(20000);
    const cases = [
      { name: "NOAUTH before AUTH", data: requests("GET k", "SET k v", "PING") },
      { name: "inline NOAUTH", data: "GET k\r\nPING\r\n" },
      { name: "wrong password", data: requests("AUTH nope", "AUTH default nope", "GET k") },
      { name: "AUTH then commands", data: requests("AUTH pw", "SET k v", "GET k") },
      { name: "AUTH with user", data: requests("AUTH default pw", "GET k") },
      { name: "AUTH arity", data: requests("AUTH", "AUTH a b c") },
      { name: "unauthenticated multibulk length", data: requests("MSET a 1 b 2 c 3 d 4 e 5 f 6") },
      { name: "ten arguments are allowed", data: requests("MGET a b c d e f g h i") },
      { name: "unauthenticated bulk length", data: requests(`ECHO ${big}`) },
      { name: "bulk of 16384 is allowed", data: requests(`ECHO ${"w".repeat(16384)}`) },
      { name: "QUIT without auth", data: requests("QUIT") },
      { name: "RESET keeps requiring auth", data: requests("AUTH pw", "RESET", "GET k") },
      { name: "HELLO with wrong AUTH", data: requests("HELLO 3 AUTH default nope", "GET k") },
      { name: "HELLO AUTH", data: requests("HELLO 2 AUTH default pw", "GET k") },
    ];
    assertEquals(await compareCases(pair, cases), []);
  } finally {
    await pair.close();
  }
});

/** Replaces the connection id in a HELLO reply, which differs between servers. */
function normalizeHello(r: string): string {
  return r.replace(/(\$2\r\nid\r\n):\d+\r\n/, "$1:<id>\r\n");
}

Deno.test("protocol: HELLO and RESP3 reply shapes match redis-server", async () => {
  const pair = await Differential.start();
  try {
    const cases = [
      { name: "HELLO", data: requests("HELLO") },
      { name: "HELLO 2", data: requests("HELLO 2") },
      {
        name: "HELLO 3 then RESP3 shapes",
        data: requests(
          "HELLO 3",
          "SET k v",
          "GET k",
          "GET missing",
          "MGET k missing",
          "SET k v2 GET",
          "SET k v3 NX GET",
          "SET n 1 XX",
          "GETDEL missing",
          "INCRBYFLOAT f 1.5",
          "SET a ohmytext",
          "SET b mynewtext",
          "LCS a b IDX MINMATCHLEN 2 WITHMATCHLEN",
          "LCS a b LEN",
          "PING",
          "ECHO x",
          "FOO",
          "HELLO",
        ),
      },
      { name: "HELLO 3 then 2", data: requests("HELLO 3", "HELLO 2", "GET missing") },
      { name: "HELLO 4", data: requests("HELLO 4", "GET missing") },
      { name: "HELLO 1", data: requests("HELLO 1") },
      { name: "HELLO 0", data: requests("HELLO 0") },
      { name: "HELLO -3", data: requests("HELLO -3") },
      { name: "HELLO text", data: requests("HELLO three") },
      { name: "HELLO 3.0", data: requests("HELLO 3.0") },
      { name: "HELLO huge", data: requests("HELLO 99999999999999999999") },
      { name: "HELLO 03", data: requests("HELLO 03", "GET missing") },
      { name: "HELLO 01", data: requests("HELLO 01") },
      { name: "HELLO -0", data: requests("HELLO -0") },
      { name: "HELLO INT64_MAX", data: requests("HELLO 9223372036854775807") },
      { name: "HELLO INT64_MIN", data: requests("HELLO -9223372036854775808") },
      { name: "HELLO SETNAME", data: requests("HELLO 3 SETNAME myname", "GET missing") },
      { name: "HELLO SETNAME with space", data: requests('HELLO 3 SETNAME "my name"') },
      { name: "HELLO SETNAME missing", data: requests("HELLO 3 SETNAME") },
      { name: "HELLO AUTH without password set", data: requests("HELLO 3 AUTH default x") },
      { name: "HELLO AUTH missing password", data: requests("HELLO 3 AUTH default") },
      {
        name: "RESET after CLIENT REPLY SKIP and OFF",
        data: requests(
          "CLIENT REPLY SKIP",
          "RESET",
          "PING",
          "CLIENT REPLY OFF",
          "RESET",
          "PING",
        ),
      },
      {
        name: "AUTH with the default user off but without a password",
        data: requests("ACL SETUSER default off", "AUTH x", "ACL SETUSER default on", "AUTH x"),
      },
      { name: "HELLO unknown option", data: requests("HELLO 3 FOO") },
      { name: "RESET back to RESP2", data: requests("HELLO 3", "RESET", "GET missing") },
    ];
    const diffs: string[] = [];
    for (const c of cases) {
      const [f, r] = await both(pair, c.data);
      const fn = f.map(normalizeHello), rn = r.map(normalizeHello);
      if (JSON.stringify(fn) !== JSON.stringify(rn)) {
        diffs.push(`${c.name}\n  ferric: ${show(fn)}\n  redis:  ${show(rn)}`);
      }
    }
    assertEquals(diffs, []);
    // The shapes themselves, as a RESP3 client reads them.
    const [f] = await both(pair, requests("HELLO 3", "GET missing"));
    assert(f[0].startsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), f[0]);
    assertEquals(f[1], "_\r\n");
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: HELLO AUTH and SETNAME with requirepass", async () => {
  const pair = await Differential.alike({ requirepass: "pw" });
  try {
    const lines = [
      "HELLO 3 AUTH default pw SETNAME conn1",
      "GET missing",
      "HELLO 2 AUTH default wrong",
      "GET missing",
    ];
    const [f, r] = await both(pair, requests(...lines));
    assertEquals(f.map(normalizeHello), r.map(normalizeHello));
    // A bad name fails HELLO after its AUTH took effect (and before the protocol switch).
    const [f3, r3] = await both(pair, requests('HELLO 3 AUTH default pw SETNAME "x y"', "GET k"));
    assertEquals(f3, r3);
    if (await understands(pair.server.port, "CLIENT GETNAME")) {
      const [f2, r2] = await both(
        pair,
        requests("HELLO 3 AUTH default pw SETNAME conn2", "CLIENT GETNAME"),
      );
      assertEquals(f2.map(normalizeHello), r2.map(normalizeHello));
    }
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: HELLO before AUTH answers Redis 7.0's NOAUTH text", async () => {
  const pair = await Differential.alike({ requirepass: "pw" });
  try {
    const [f, r] = await both(pair, requests("HELLO", "HELLO 2", "HELLO 3 SETNAME x"));
    assertSame(f, r);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: the unauthenticated limits lift once AUTH succeeds", async () => {
  const pair = await Differential.alike({ requirepass: "pw" });
  try {
    const big = "v".repeat(20000);
    const later = requests("MSET a 1 b 2 c 3 d 4 e 5 f 6", `ECHO ${big}`, "MGET a f");
    // AUTH answered first, the large requests in a later write.
    const run = async (port: number) => {
      const c = await RawClient.connect(port);
      try {
        const out = [await c.call("AUTH", "pw")];
        await c.write(later);
        for (let i = 0; i < 3; i++) out.push((await c.read()) ?? "<closed>");
        return out;
      } finally {
        c.close();
      }
    };
    const [f, r] = await Promise.all([run(pair.server.port), run(pair.redisServer.port)]);
    assertSame(f, r);
    assertEquals(f[1], "+OK\r\n");
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: AUTH pipelined with requests over the unauthenticated limits", async () => {
  const pair = await Differential.alike({ requirepass: "pw" });
  try {
    // AUTH and an 11-argument request in the same write: Redis checks the limit per request,
    // so it no longer applies once AUTH has run.
    const data = requests("AUTH pw", "MSET a 1 b 2 c 3 d 4 e 5 f 6", "MGET a f");
    const [f, r] = await both(pair, data);
    assertSame(f, r);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: QUIT answers OK and closes; other connections are unaffected", async () => {
  const pair = await Differential.start();
  try {
    const [f, r] = await both(pair, requests("SET q 1", "QUIT", "GET q"), { quit: false });
    assertSame(f, r);
    assertEquals(f, ["+OK\r\n", "+OK\r\n", "<closed>"]);
    const [f2, r2] = await both(pair, "QUIT\r\n", { quit: false });
    assertSame(f2, r2);
  } finally {
    await pair.close();
  }
});

Deno.test("protocol: buffers that grew for a large request or reply are given back", () => {
  const parser = new RequestParser({ maxBulkLen: 512 * 1024 * 1024, maxQueryBuffer: 1 << 30 });
  assert(parser.free <= 1024, `a new connection reads into ${parser.free} bytes`);
  const value = "v".repeat(1024 * 1024);
  parser.feed(encodeCommand(["SET", "big", value]));
  assertEquals(parser.next()?.length, 3);
  // Parsed: the 1 MB buffer goes at the next read; the read size falls back as reads stay small.
  parser.readTarget();
  assert(parser.free <= 32 * 1024, `after a large request: ${parser.free} bytes`);
  // The large buffer is set aside for the next large request, and let go once none came.
  const grown = () => (parser as unknown as { grown: SetAside }).grown.buffer;
  const aside = grown();
  assert(aside !== null && aside.length >= value.length, "the grown buffer is kept aside");
  // As a connection reads: into each read target, parsing after each read (the bulk length
  // then sizes the buffer at once).
  const request = encodeCommand(["SET", "big", value]);
  let args: Uint8Array[] | null = null;
  for (let off = 0; args === null;) {
    const target = parser.readTarget();
    const n = Math.min(target.length, request.length - off);
    target.set(request.subarray(off, off + n));
    parser.commit(n);
    off += n;
    args = parser.next();
  }
  assertEquals(args.length, 3);
  parser.readTarget();
  assert(grown() === aside, "the next large request reused it");
  parser.trim(Date.now() + 60_000);
  assertEquals(grown(), null);
  for (let i = 0; i < 100; i++) {
    parser.feed(encodeCommand(["GET", "k"]));
    assertEquals(parser.next()?.length, 2);
  }
  parser.readTarget();
  assert(parser.free <= 2048, `after small requests: ${parser.free} bytes`);

  const writer = new ReplyWriter();
  writer.write(value, 2);
  assertEquals(writer.take().length, value.length + 12); // $1048576\r\n…\r\n
  writer.shrink();
  assert(writer.buf.length <= 1024, `reply buffer after a large reply: ${writer.buf.length}`);
  // The next large reply, even one built from many small parts, reuses the buffer set aside.
  const asideReply = (writer as unknown as { grown: SetAside }).grown.buffer;
  assert(asideReply !== null, "the large reply buffer is kept aside");
  for (let i = 0; i < 2000; i++) writer.write("p".repeat(600), 2);
  assert(writer.buf === asideReply, "a large reply reused it");
  writer.take();
  writer.shrink();
  // Replies of a few KB keep their buffer while they keep coming.
  for (let i = 0; i < 200; i++) {
    writer.write("w".repeat(3000), 2);
    writer.take();
    writer.shrink();
  }
  assert(writer.buf.length >= 3000);
});

Deno.test("protocol: integers and lengths are written as Redis writes them, at every size", () => {
  const text = (r: Reply, proto: 2 | 3 = 2) => {
    const w = new ReplyWriter();
    w.write(r, proto);
    return new TextDecoder().decode(w.take());
  };
  const ints = [0, 9, 10, 99, 100, 255, 256, 999, 1000, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1];
  ints.push(2 ** 60, 1e21, Number.MAX_VALUE); // integers past int64, as JavaScript prints them
  for (const n of [...ints, ...ints.map((n) => -n), -(2 ** 31)]) {
    assertEquals(text(n), `:${n}\r\n`, String(n));
  }
  assertEquals(text(-0), ":0\r\n");
  assertEquals(text(12345678901234567890n), ":12345678901234567890\r\n");
  for (const n of [0, 1, 9, 10, 11, 99, 100, 1000, 65536, 1234567]) {
    const s = "v".repeat(n);
    assertEquals(text(s), `$${n}\r\n${s}\r\n`);
    assertEquals(text(new Array(n).fill(1)), `*${n}\r\n${":1\r\n".repeat(n)}`);
  }
});

/** Holds every log barrier after the first `pass` until `release()` (a slow fdatasync). */
function holdBarriers(server: Server, pass = 0) {
  const log = server.keyspace.log as { barrier?: (since?: number) => Promise<void> | null };
  const barrier = log.barrier!.bind(log);
  const { promise: gate, resolve: release } = Promise.withResolvers<void>();
  let calls = 0;
  log.barrier = (since) => {
    const b = barrier(since);
    return b === null || calls++ < pass ? b : b.then(() => gate);
  };
  return release;
}

const written = (s: ScriptedStream) => new TextDecoder().decode(concat(s.writes));
const oks = (s: ScriptedStream) => written(s).split("+OK\r\n").length - 1;

Deno.test("protocol: a push due in the same turn does not carry a reply out before its fdatasync", async () => {
  await withFerric(async (server) => {
    const sub = new ScriptedStream();
    const pub = new ScriptedStream();
    server.serveStream(sub);
    server.serveStream(pub);
    sub.push(requests("HELLO 3", "SUBSCRIBE ch"));
    await sub.waitForReplies(2);
    const release = holdBarriers(server);
    const before = sub.writes.length;
    // Both reads complete in one turn: the publisher's push to `sub` queues its write first,
    // then `sub` runs SET, whose +OK must wait for the (held) fdatasync.
    pub.push(requests("PUBLISH ch m"));
    sub.push(requests("SET k v"));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(oks(sub), 0, "no +OK before the write is durable");
    release();
    await sub.waitForReplies(4);
    assert(sub.writes.length > before);
    assertEquals(oks(sub), 1);
    assert(written(sub).includes("message"), "the push arrives too");
    sub.close();
    pub.close();
  });
});

Deno.test("protocol: a socket write finishing while the next batch waits for its fdatasync sends only what was durable", async () => {
  await withFerric(async (server) => {
    const stream = new ScriptedStream();
    server.serveStream(stream);
    stream.push(requests("PING"));
    await stream.waitForReplies(1);
    // The first SET's fdatasync passes; the second's is held while the first +OK's write (which
    // this stream completes a timer later) finishes.
    const release = holdBarriers(server, 1);
    stream.push(requests("SET a 1"));
    stream.push(requests("SET b 2"));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(oks(stream), 1, "only the first SET is acknowledged");
    release();
    await stream.waitForReplies(3);
    assertEquals(oks(stream), 2);
    stream.close();
  });
});

Deno.test("protocol: a cold value streamed while an earlier write is still under way follows the replies before it", async () => {
  await withFerric(async (server) => {
    const stream = new ScriptedStream();
    server.serveStream(stream);
    const big = "v".repeat(100_000);
    stream.push(requests("PING"));
    stream.push(encodeCommand(["SET", "big", big]));
    await stream.waitForReplies(2);
    await new Promise((r) => setTimeout(r, 200)); // written, so cold
    assert(server.memory.used() < big.length, "the value went cold");
    // A socket that takes 100 ms per write: the +OK of `a` is still being written while the
    // next batch answers `b` and streams `big`.
    stream.write = function (p: Uint8Array) {
      this.writes.push(p.slice());
      return new Promise((resolve) => setTimeout(() => resolve(p.length), 100));
    };
    stream.push(requests("SET a 1"));
    stream.push(concat([requests("SET b 2"), encodeCommand(["GET", "big"])]));
    const replies = await stream.waitForReplies(5);
    assertEquals(replies.slice(2), ["+OK\r\n", "+OK\r\n", `$${big.length}\r\n${big}\r\n`]);
    stream.close();
  }, { "hot-cache-max-value-size": "64kb" });
});

Deno.test("protocol: CLIENT KILL of a client waiting for its fdatasync sends its reply only after it", async () => {
  await withFerric(async (server) => {
    const victim = new ScriptedStream();
    const killer = new ScriptedStream();
    server.serveStream(victim);
    server.serveStream(killer);
    victim.push(requests("CLIENT SETNAME victim"));
    killer.push(requests("PING"));
    await victim.waitForReplies(1);
    await killer.waitForReplies(1);
    const release = holdBarriers(server);
    victim.push(requests("SET k v"));
    await new Promise((r) => setTimeout(r, 20));
    killer.push(requests("CLIENT KILL SKIPME yes"));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(oks(victim), 1, "only CLIENT SETNAME's +OK before the fdatasync");
    release();
    await killer.waitForReplies(2);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(oks(victim), 2);
    killer.close();
  });
});
