/**
 * SLOWLOG, LATENCY, MEMORY, MONITOR, DEBUG, SAVE/BGSAVE/LASTSAVE, TIME, LOLWUT,
 * FERRICSTORE.HOTNESS and CLUSTER.*: reply shapes against redis-server (numbers masked) and
 * behaviour over real sockets.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  cmd,
  concat,
  Differential,
  encodeCommand,
  RawClient,
  startFerric,
  startRedis,
} from "./_harness.ts";
import type { Server } from "../server/server.ts";
import { installOperations, serverCommands } from "../commands/server.ts";
import { clusterCommands } from "../commands/cluster.ts";
import { trimArgs } from "../server/slowlog.ts";
import { LatencyHistogram, sparkline } from "../server/latency.ts";
import { tempDir } from "./_temp_dir.ts";

/**
 * An in-process FerricStore with the operations commands. Until commands/mod.ts registers these
 * families, they are registered here, and the default user (+@all) is told about them.
 */
async function startOps(options: Record<string, string | number | boolean> = {}): Promise<Server> {
  const server = await startFerric({ "enable-debug-command": "yes", ...options });
  let added = false;
  for (const spec of [...serverCommands, ...clusterCommands]) {
    if (server.registry.get(spec.name)) continue;
    server.registry.register(spec);
    added = true;
  }
  installOperations(server);
  if (added) server.acl.setUser("default", ["+@all"]);
  return server;
}

/** FerricStore with the operations commands and redis-server side by side, DEBUG on in both. */
async function startPair(
  options: Record<string, string | number | boolean> = {},
): Promise<Differential> {
  const redis = await startRedis(["--enable-debug-command", "yes"]);
  return await Differential.of(await startOps(options), redis);
}

/** Runs lines on both servers, comparing masked reply trees; returns the differences. */
async function compareMasked(
  p: Differential,
  lines: (string | string[])[],
  masker: (n: Node) => Node = maskNumbers,
): Promise<string[]> {
  const diffs: string[] = [];
  for (const line of lines) {
    const [f, r] = await p.both(...(typeof line === "string" ? cmd(line) : line));
    const a = JSON.stringify(masker(parse(f)));
    const b = JSON.stringify(masker(parse(r)));
    if (a !== b) {
      diffs.push(`${line}\n  ferric: ${JSON.stringify(f)}\n  redis:  ${JSON.stringify(r)}`);
    }
  }
  return diffs;
}

/** A parsed RESP reply: type byte, value, children. */
interface Node {
  t: string;
  v?: string | null;
  items?: Node[];
}

function parse(raw: string): Node {
  const pos = { i: 0 };
  const node = parseAt(raw, pos);
  if (pos.i !== raw.length) throw new Error(`trailing bytes in ${JSON.stringify(raw)}`);
  return node;
}

function parseAt(raw: string, pos: { i: number }): Node {
  const t = raw[pos.i];
  const eol = raw.indexOf("\r\n", pos.i);
  const line = raw.slice(pos.i + 1, eol);
  pos.i = eol + 2;
  switch (t) {
    case "$":
    case "=":
    case "!": {
      const n = Number(line);
      if (n < 0) return { t, v: null };
      const v = raw.slice(pos.i, pos.i + n);
      pos.i += n + 2;
      return { t, v };
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      let n = Number(line);
      if (n < 0) return { t, v: null };
      if (t === "%") n *= 2;
      const items: Node[] = [];
      for (let j = 0; j < n; j++) items.push(parseAt(raw, pos));
      return { t, items };
    }
    default:
      return { t, v: line };
  }
}

const NUMERIC = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/;

/** Integers, doubles, numeric strings and client addresses masked; text kept. */
function maskNumbers(n: Node): Node {
  if (n.items) return { t: n.t, items: n.items.map(maskNumbers) };
  if (n.t === ":" || n.t === ",") return { t: n.t, v: "#" };
  if (typeof n.v === "string") {
    if (NUMERIC.test(n.v)) return { t: n.t, v: "#" };
    if (/^127\.0\.0\.1:\d+$/.test(n.v)) return { t: n.t, v: "ADDR" };
  }
  return n;
}

/** Like {@link maskNumbers}, and digits inside text too (reports, DEBUG OBJECT). */
function maskDigits(n: Node): Node {
  const m = maskNumbers(n);
  if (m.items) return { t: m.t, items: m.items.map(maskDigits) };
  if (typeof m.v === "string") {
    return { t: m.t, v: m.v.replace(/0x[0-9a-f]+/g, "0x#").replace(/\d+(\.\d+)?/g, "#") };
  }
  return m;
}

/** The text of a bulk or verbatim reply. */
function text(raw: string): string {
  const n = parse(raw);
  if (typeof n.v !== "string") throw new Error(`not a string reply: ${JSON.stringify(raw)}`);
  return n.t === "=" ? n.v.slice(4) : n.v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// SLOWLOG

Deno.test("SLOWLOG: entries, trimming, redaction and errors match redis-server in RESP2 and RESP3", async () => {
  const p = await startPair();
  try {
    const many = ["MSET", ...Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`]).flat()];
    const long = ["SET", "big", "x".repeat(200)];
    const script: (string | string[])[] = [
      "CONFIG SET slowlog-log-slower-than 0",
      "SLOWLOG RESET",
      "SET foo bar",
      "CLIENT SETNAME myname",
      many,
      long,
      "AUTH foo bar",
      "AUTH onlypass",
      "HELLO 2 AUTH default wrong",
      'CONFIG SET requirepass "" maxmemory 0',
      "MULTI",
      "SET t 1",
      "EXEC",
      "GET",
      "NOSUCHCOMMAND x",
      "SLOWLOG GET 3",
      "SLOWLOG GET -1",
      "SLOWLOG LEN",
      "SLOWLOG GET -2",
      "SLOWLOG GET x",
      "SLOWLOG GET 1 2",
      "SLOWLOG LEN x",
      "SLOWLOG FOO",
      "SLOWLOG",
      "SLOWLOG HELP",
      "HELLO 3",
      "SLOWLOG GET 2",
      "SLOWLOG RESET",
      "SLOWLOG GET 0",
    ];
    assertEquals(await compareMasked(p, script), []);
  } finally {
    await p.close();
  }
});

Deno.test("SLOWLOG: thresholds, max length, ids and skip_slowlog", async () => {
  const server = await startOps();
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1"), "+OK\r\n");
    await c.call("SLOWLOG", "RESET");
    await c.call("SET", "a", "1");
    assertEquals(await c.call("SLOWLOG", "LEN"), ":0\r\n");
    // Only commands at least this slow are logged.
    await c.call("CONFIG", "SET", "slowlog-log-slower-than", "100000");
    await c.call("SET", "a", "2");
    await c.call("DEBUG", "SLEEP", "0.12");
    const entries = parse(await c.call("SLOWLOG", "GET"));
    assertEquals(entries.items!.length, 1);
    const e = entries.items![0].items!;
    assertEquals(e[3].items!.map((n) => n.v), ["DEBUG", "SLEEP", "0.12"]);
    assert(Number(e[2].v) >= 120000, `duration ${e[2].v} µs`);
    assert(Math.abs(Number(e[1].v) - Date.now() / 1000) < 5);
    // Every command; the log keeps the newest slowlog-max-len, ids keep counting.
    await c.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await c.call("CONFIG", "SET", "slowlog-max-len", "3");
    for (let i = 0; i < 5; i++) await c.call("SET", `k${i}`, "v");
    const kept = parse(await c.call("SLOWLOG", "GET", "-1")).items!;
    assertEquals(kept.length, 3);
    const ids = kept.map((k) => Number(k.items![0].v));
    assertEquals(ids, [ids[0], ids[0] - 1, ids[0] - 2]);
    assertEquals(kept[0].items![3].items!.map((n) => n.v), ["SET", "k4", "v"]);
    // EXEC is skip_slowlog; the commands it runs are logged.
    await c.call("CONFIG", "SET", "slowlog-max-len", "128");
    await c.call("SLOWLOG", "RESET");
    await c.call("MULTI");
    await c.call("SET", "m", "1");
    await c.call("EXEC");
    const names = parse(await c.call("SLOWLOG", "GET", "-1")).items!.map((x) =>
      x.items![3].items![0].v
    );
    assertEquals(names, ["SET", "MULTI", "SLOWLOG"]);
    // slowlog-max-len 0 logs nothing.
    await c.call("CONFIG", "SET", "slowlog-max-len", "0");
    await c.call("SET", "z", "1");
    assertEquals(await c.call("CONFIG", "SET", "slowlog-max-len", "10"), "+OK\r\n");
    assertEquals(
      parse(await c.call("SLOWLOG", "GET", "-1")).items!.map((x) => x.items![3].items![0].v),
      ["CONFIG", "SLOWLOG", "SET", "MULTI", "SLOWLOG"],
    );
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("trimArgs: 32 arguments and 128 bytes each, as Redis keeps them", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const args = Array.from({ length: 33 }, (_, i) => enc(`a${i}`));
  const kept = trimArgs(args);
  assertEquals(kept.length, 32);
  assertEquals(dec(kept[31]), "... (2 more arguments)");
  assertEquals(trimArgs(args.slice(0, 32)).map(dec), args.slice(0, 32).map(dec));
  const long = trimArgs([enc("x".repeat(129))]);
  assertEquals(dec(long[0]), "x".repeat(128) + "... (1 more bytes)");
  // Copies, not views of the request buffer.
  const src = enc("abc");
  const copy = trimArgs([src])[0];
  src[0] = 0;
  assertEquals(dec(copy), "abc");
});

// ---------------------------------------------------------------------------------------------
// LATENCY

Deno.test("LATENCY: LATEST, HISTORY, GRAPH, DOCTOR, RESET, HISTOGRAM and HELP match redis-server", async () => {
  const p = await startPair();
  try {
    const script = [
      "LATENCY LATEST",
      "LATENCY DOCTOR",
      // High enough that a loaded machine's own pauses are not recorded.
      "CONFIG SET latency-monitor-threshold 100",
      "LATENCY DOCTOR",
      "DEBUG SLEEP 0.12",
      "LATENCY LATEST",
      "LATENCY HISTORY command",
      "LATENCY HISTORY nosuch",
      "LATENCY HISTORY",
      "LATENCY GRAPH command",
      "LATENCY GRAPH nosuch",
      "LATENCY DOCTOR",
      "LATENCY HELP",
      "LATENCY FOO",
      "CONFIG RESETSTAT",
      "SET a b",
      "LATENCY HISTOGRAM set nosuch",
      "HELLO 3",
      "LATENCY LATEST",
      "LATENCY DOCTOR",
      "LATENCY GRAPH command",
      "LATENCY HISTOGRAM set",
      "LATENCY RESET nosuch",
      "LATENCY RESET command x",
      "LATENCY RESET",
      "LATENCY LATEST",
      "CONFIG SET latency-monitor-threshold 0",
      "LATENCY DOCTOR",
    ];
    assertEquals(await compareMasked(p, script, maskDigits), []);
  } finally {
    await p.close();
  }
});

Deno.test("LATENCY: a group commit that held the event loop is the aof-fsync-always event", async () => {
  const server = await startOps({ "latency-monitor-threshold": 1 });
  const c = await RawClient.connect(server.port);
  try {
    // A sync write: its commit is timed (on this disk well under the 1 ms threshold).
    let blocked = -1;
    const commits = server.engine!.commits;
    const report = commits.onBlocked!;
    commits.onBlocked = (ms) => {
      blocked = ms;
      report(ms);
    };
    assertEquals(await c.call("SET", "k", "v"), "+OK\r\n");
    assert(blocked >= 0, "the commit was not timed");
    // One that took 7 ms, as a slow disk's would.
    report(7.4);
    const latest = parse(await c.call("LATENCY", "LATEST")).items!;
    const row = latest.find((r) => r.items![0].v === "aof-fsync-always");
    assert(row !== undefined, JSON.stringify(latest));
    assertEquals(row.items![2].v, "7");
    assertMatch(await c.call("LATENCY", "DOCTOR"), /relax the fsync policy/);
  } finally {
    c.close();
    await server.close();
    await Deno.remove(server.config.str("data-dir"), { recursive: true });
  }
});

Deno.test("LATENCY: samples per second keep the maximum; threshold 0 records nothing", async () => {
  const server = await startOps({ "latency-monitor-threshold": 40 });
  const c = await RawClient.connect(server.port);
  try {
    await c.call("DEBUG", "SLEEP", "0.08");
    await c.call("DEBUG", "SLEEP", "0.05");
    await c.call("TIME"); // fast and quick: no sample
    const latest = parse(await c.call("LATENCY", "LATEST")).items!;
    assertEquals(latest.length, 1);
    const [event, , last, max] = latest[0].items!.map((n) => n.v);
    assertEquals(event, "command");
    // One sample per second keeps its largest latency (two, if the sleeps straddled a second).
    assert(Number(max) >= 80 && Number(last) >= 50, `latest ${last}, max ${max}`);
    const history = parse(await c.call("LATENCY", "HISTORY", "command")).items!;
    assert(history.length >= 1 && history.length <= 2);
    assertEquals(await c.call("LATENCY", "RESET", "COMMAND"), ":1\r\n");
    await c.call("CONFIG", "SET", "latency-monitor-threshold", "0");
    await c.call("DEBUG", "SLEEP", "0.02");
    assertEquals(await c.call("LATENCY", "LATEST"), "*0\r\n");
    // Histograms count every call, in power-of-two buckets, cumulative.
    const h = parse(await c.call("LATENCY", "HISTOGRAM", "debug")).items!;
    assertEquals(h[0].v, "debug");
    const [, calls, , buckets] = h[1].items!;
    assertEquals(calls.v, "3");
    const counts = buckets.items!.filter((_, i) => i % 2 === 1).map((n) => Number(n.v));
    assertEquals(counts.at(-1), 3);
    assertEquals(counts, [...counts].sort((a, b) => a - b));
    // CONFIG SET latency-tracking no stops the histograms.
    await c.call("CONFIG", "SET", "latency-tracking", "no");
    await c.call("DEBUG", "SLEEP", "0");
    const again = parse(await c.call("LATENCY", "HISTOGRAM", "debug")).items!;
    assertEquals(again[1].items![1].v, "3");
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("LatencyHistogram: Redis's hdr bucket values (1, 2, 4, 8, 16, 33, 66 … µs)", () => {
  const h = new LatencyHistogram();
  for (const us of [0.5, 1.5, 3, 5, 12, 30, 60, 250, 4000, 5_000_000]) h.record(us);
  assertEquals(h.cumulative().map(([us]) => us), [1, 2, 4, 8, 16, 33, 66, 264, 4227, 1082130]);
  assertEquals(h.cumulative().at(-1)![1], 10);
  // Percentiles come from a level's linear quarters: 12 µs is in the second quarter of 8-16 µs.
  assertEquals(h.percentile(50), 12.383);
  assertEquals(h.percentile(100), 1082130.431);
  h.reset();
  assertEquals([h.total, h.cumulative().length, h.percentile(50)], [0, 0, 0]);
});

Deno.test("sparkline: Redis's LATENCY GRAPH rendering", () => {
  assertEquals(sparkline([30], ["0s"], 80, 4), " \n \n \n_\n \n0\ns\n");
  const out = sparkline([1, 5, 10], ["2s", "1s", "0s"], 80, 4);
  assertEquals(out.split("\n").slice(0, 4), ["  #", "  |", " #|", "_||"]);
});

// ---------------------------------------------------------------------------------------------
// MEMORY, TIME, LASTSAVE

Deno.test("MEMORY: USAGE, STATS, DOCTOR, PURGE, HELP shapes match redis-server", async () => {
  const p = await startPair();
  try {
    const script = [
      "SET foo bar",
      "SET counter 12345",
      "MEMORY USAGE foo",
      "MEMORY USAGE nosuch",
      "MEMORY USAGE foo SAMPLES 0",
      "MEMORY USAGE foo SAMPLES 10",
      "MEMORY USAGE foo SAMPLES -1",
      "MEMORY USAGE foo SAMPLES x",
      "MEMORY USAGE foo SAMPLES",
      "MEMORY USAGE foo bar",
      "MEMORY USAGE",
      "MEMORY STATS",
      "MEMORY STATS x",
      "MEMORY DOCTOR",
      "MEMORY PURGE",
      "MEMORY HELP",
      "MEMORY FOO",
      "TIME",
      "TIME x",
      "LASTSAVE",
      "ROLE",
      "ROLE x",
      "BGREWRITEAOF x",
      "HELLO 3",
      "ROLE",
      "MEMORY USAGE nosuch",
      "MEMORY STATS",
      "MEMORY DOCTOR",
      "TIME",
      "LASTSAVE",
    ];
    assertEquals(await compareMasked(p, script), []);
    // MALLOC-STATS: the same reply type (the allocators differ).
    const [f, r] = await p.both(...cmd("MEMORY MALLOC-STATS"));
    assertEquals(f[0], r[0]);
  } finally {
    await p.close();
  }
});

Deno.test("MEMORY USAGE grows with the value; TIME is the clock; STATS counts keys", async () => {
  const server = await startOps();
  const c = await RawClient.connect(server.port);
  try {
    await c.call("SET", "small", "x");
    await c.call("SET", "large", "x".repeat(10000));
    const small = Number(parse(await c.call("MEMORY", "USAGE", "small")).v);
    const large = Number(parse(await c.call("MEMORY", "USAGE", "large")).v);
    assertEquals(large - small, 9999);
    assert(small > "small".length + 1);
    await c.call("HSET", "h", "f1", "v1");
    const h1 = Number(parse(await c.call("MEMORY", "USAGE", "h")).v);
    await c.call("HSET", "h", "f2", "v".repeat(1000));
    const h2 = Number(parse(await c.call("MEMORY", "USAGE", "h")).v);
    assert(h2 - h1 >= 1000, `${h1} -> ${h2}`);
    const [sec, usec] = parse(await c.call("TIME")).items!.map((n) => Number(n.v));
    assert(Math.abs(sec + usec / 1e6 - Date.now() / 1000) < 2);
    assert(usec >= 0 && usec < 1e6);
    const stats = parse(await c.call("MEMORY", "STATS")).items!;
    const field = (name: string) => stats[stats.findIndex((n) => n.v === name) + 1];
    assertEquals(field("keys.count").v, "3");
    assertEquals(Number(field("total.allocated").v), server.memory.used());
    assert(field("db.0").items !== undefined);
  } finally {
    c.close();
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// DEBUG

Deno.test("DEBUG: OBJECT, DIGEST, DIGEST-VALUE, POPULATE, ERROR, SLEEP and errors match redis-server", async () => {
  const p = await startPair();
  try {
    const script = [
      "DEBUG DIGEST",
      "SET s hello",
      "SET n 123",
      "SET big 1234567890123",
      "APPEND r xyz",
      `SET long ${"y".repeat(50)}`,
      "RPUSH l a b c",
      "SADD set x y 12",
      "HSET h f v g w",
      "ZADD z 1.5 a 2 b",
      "PEXPIRE z 100000",
      "DEBUG OBJECT s",
      "DEBUG OBJECT n",
      "DEBUG OBJECT big",
      "DEBUG OBJECT r",
      "DEBUG OBJECT long",
      "DEBUG OBJECT l",
      "DEBUG OBJECT nosuch",
      "DEBUG OBJECT",
      "DEBUG OBJECT a b",
      "DEBUG DIGEST-VALUE s n l set h z nosuch",
      "DEBUG DIGEST-VALUE",
      "DEBUG DIGEST",
      "DEBUG POPULATE 3",
      "DEBUG POPULATE 2 p 12",
      "GET p:1",
      "GET key:2",
      "DEBUG POPULATE -1",
      "DEBUG POPULATE x",
      "DEBUG POPULATE 1 a -1",
      "DEBUG POPULATE 1 a 2 3",
      "DEBUG DIGEST",
      "SELECT 3",
      "SET other 1",
      "DEBUG DIGEST",
      'DEBUG ERROR "oops this"',
      "DEBUG ERROR a b",
      "DEBUG LOG hello",
      "DEBUG SLEEP 0",
      "DEBUG SLEEP abc",
      "DEBUG SLEEP",
      "DEBUG SET-ACTIVE-EXPIRE 1",
      "DEBUG SET-ACTIVE-EXPIRE",
      "DEBUG RELOAD BAD",
      "DEBUG NOSUCH",
      "DEBUG",
    ];
    const maskObject = (n: Node) =>
      n.t === "+" && n.v?.startsWith("Value at:")
        ? {
          t: "+",
          v: n.v.replace(/0x[0-9a-f]+/, "0x#").replace(
            /(serializedlength|lru|lru_seconds_idle):\d+/g,
            "$1:#",
          ),
        }
        : maskNumbers(n);
    assertEquals(await compareMasked(p, script, maskObject), []);
  } finally {
    await p.close();
  }
});

Deno.test("DEBUG: enable-debug-command no refuses it, even queued in MULTI (EXECABORT)", async () => {
  const server = await startOps({ "enable-debug-command": "no" });
  const redis = await startRedis();
  const f = await RawClient.connect(server.port);
  const r = await RawClient.connect(redis.port);
  try {
    for (const line of ["DEBUG SLEEP 0", "MULTI", "DEBUG SLEEP 0", "EXEC", "DEBUG"]) {
      assertEquals(await f.call(...cmd(line)), await r.call(...cmd(line)), line);
    }
  } finally {
    f.close();
    r.close();
    await server.close();
    await redis.stop("SIGKILL");
  }
  const local = await startOps({ "enable-debug-command": "local" });
  const c = await RawClient.connect(local.port);
  try {
    assertEquals(await c.call("DEBUG", "SLEEP", "0"), "+OK\r\n");
  } finally {
    c.close();
    await local.close();
  }
});

Deno.test("DEBUG SLEEP stops the whole server; SET-ACTIVE-EXPIRE 0 stops active expiry", async () => {
  const server = await startOps({ hz: 50 });
  const a = await RawClient.connect(server.port);
  const b = await RawClient.connect(server.port);
  try {
    const started = performance.now();
    const sleeping = a.call("DEBUG", "SLEEP", "0.2");
    await sleep(20);
    assertEquals(await b.call("PING"), "+PONG\r\n");
    assert(performance.now() - started >= 190, "PING answered while the server slept");
    assertEquals(await sleeping, "+OK\r\n");

    assertEquals(await a.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"), "+OK\r\n");
    await a.call("SET", "gone", "1", "PX", "30");
    await sleep(250);
    assertEquals(await a.call("DBSIZE"), ":1\r\n"); // expired, but nobody removed it
    assertEquals(await a.call("DEBUG", "SET-ACTIVE-EXPIRE", "1"), "+OK\r\n");
    const until = Date.now() + 3000;
    while ((await a.call("DBSIZE")) !== ":0\r\n" && Date.now() < until) await sleep(20);
    assertEquals(await a.call("DBSIZE"), ":0\r\n");
  } finally {
    a.close();
    b.close();
    await server.close();
  }
});

Deno.test("DEBUG RELOAD: the keyspace comes back from the data directory unchanged", async () => {
  const server = await startOps({ "hot-cache-max-value-size": "1kb" });
  const c = await RawClient.connect(server.port);
  try {
    await c.call("SET", "s", "v");
    await c.call("SET", "ttl", "v", "EX", "1000");
    await c.call("SET", "cold", "z".repeat(5000));
    await c.call("HSET", "h", "a", "1", "b", "2");
    await c.call("SADD", "set", "x", "y");
    await c.call("ZADD", "z", "1", "m");
    await c.call("SELECT", "2");
    await c.call("SET", "db2", "here");
    await c.call("SELECT", "0");
    await c.call("DEL", "s");
    await c.call("SET", "s", "again");
    const digest = await c.call("DEBUG", "DIGEST");
    const saved = Number(parse(await c.call("LASTSAVE")).v);
    for (const opts of [[], ["NOSAVE"], ["MERGE"], ["NOSAVE", "NOFLUSH", "MERGE"]]) {
      assertEquals(await c.call("DEBUG", "RELOAD", ...opts), "+OK\r\n", opts.join(" "));
      assertEquals(await c.call("DEBUG", "DIGEST"), digest, opts.join(" "));
    }
    assertEquals(
      await c.call("DEBUG", "RELOAD", "NOFLUSH"),
      "-ERR Error trying to load the data directory, duplicate keys: check server logs.\r\n",
    );
    assertEquals(await c.call("GET", "s"), "$5\r\nagain\r\n");
    assertEquals(await c.call("GET", "cold"), `$5000\r\n${"z".repeat(5000)}\r\n`);
    assert(Number(parse(await c.call("TTL", "ttl")).v) > 990);
    assertEquals(await c.call("DBSIZE"), ":6\r\n");
    assert(Number(parse(await c.call("LASTSAVE")).v) >= saved);
    // Memory accounting survives the swap of tables.
    const usage = Number(parse(await c.call("MEMORY", "USAGE", "h")).v);
    assert(usage > 0);
    assert(server.memory.used() > 0);
  } finally {
    c.close();
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// MONITOR

/** Reads `n` MONITOR lines (with timestamps and client ports masked). */
async function monitorLines(c: RawClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await c.read();
    if (r === null) throw new Error("monitor connection closed");
    out.push(r.replace(/^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]/, "+T [$1 ADDR]"));
  }
  return out;
}

Deno.test("MONITOR: lines match redis-server (format, quoting, db, redaction, exclusions)", async () => {
  const p = await startPair();
  const fm = await RawClient.connect(p.server.port);
  const rm = await RawClient.connect(p.redisServer.port);
  try {
    assertEquals(await fm.call("MONITOR"), "+OK\r\n");
    assertEquals(await rm.call("MONITOR"), "+OK\r\n");
    const binary = new Uint8Array([0, 1, 10, 13, 34, 92, 200, 65, 7, 8, 9, 127]);
    const script: (string | (string | Uint8Array)[])[] = [
      "SET a b",
      "SELECT 2",
      "GET a",
      "AUTH foo bar",
      "AUTH onlypass",
      "HELLO 2 AUTH default wrong SETNAME x",
      "CONFIG GET maxmemory",
      "SLOWLOG LEN",
      "MULTI",
      "SET t 1",
      "EXEC",
      ["SET", "bin", binary],
      "GET a b",
      "NOSUCH command",
      'ECHO "with space"',
      "PING",
    ];
    for (const line of script) {
      const args = typeof line === "string" ? cmd(line) : line;
      await p.ferric.call(...args);
      await p.redis.call(...args);
    }
    // Shown: SET SELECT GET AUTH AUTH HELLO MULTI SET EXEC SET ECHO PING.
    const f = await monitorLines(fm, 12);
    const r = await monitorLines(rm, 12);
    assertEquals(f, r);
    assertEquals(f[0], '+T [0 ADDR] "SET" "a" "b"\r\n');
    assertEquals(f[3], '+T [2 ADDR] "AUTH" "(redacted)" "(redacted)"\r\n');
    assertEquals(f[9], '+T [2 ADDR] "SET" "bin" "\\x00\\x01\\n\\r\\"\\\\\\xc8A\\a\\b\\t\\x7f"\r\n');
    // The monitor itself: its own commands follow their replies; it may not touch keys.
    for (const m of [fm, rm]) {
      assertEquals(await m.call("PING"), "+PONG\r\n");
      assertEquals((await monitorLines(m, 1))[0], '+T [0 ADDR] "PING"\r\n');
      assertEquals(await m.call("GET", "a"), "-ERR Replica can't interact with the keyspace\r\n");
      // A second MONITOR is ignored without a reply; RESET leaves monitor mode.
      await m.write("*1\r\n$7\r\nMONITOR\r\n");
      assertEquals(await m.call("RESET"), "+RESET\r\n");
      assertEquals(await m.call("GET", "a"), "$1\r\nb\r\n");
      // Its own QUIT: the reply, then the connection closes, with no line of its own.
      await m.call("MONITOR");
      assertEquals(await m.call("QUIT"), "+OK\r\n");
      assertEquals(await m.read().catch(() => null), null);
    }
  } finally {
    fm.close();
    rm.close();
    await p.close();
  }
});

Deno.test("MONITOR: every client's commands reach every monitor; a closed monitor is forgotten", async () => {
  const server = await startOps();
  const m1 = await RawClient.connect(server.port);
  const m2 = await RawClient.connect(server.port);
  const c = await RawClient.connect(server.port);
  try {
    await m1.call("MONITOR");
    await m2.call("MONITOR");
    await c.call("SET", "k", "v");
    assertMatch((await monitorLines(m1, 1))[0], /"SET" "k" "v"/);
    assertMatch((await monitorLines(m2, 1))[0], /"SET" "k" "v"/);
    m2.close();
    const until = Date.now() + 2000;
    while (server.clients.size > 2 && Date.now() < until) await sleep(10);
    await c.call("SET", "k", "w");
    assertMatch((await monitorLines(m1, 1))[0], /"SET" "k" "w"/);
    // MONITOR inside MULTI is refused when EXEC runs it.
    await c.call("MULTI");
    await c.call("MONITOR");
    assertEquals(
      await c.call("EXEC"),
      "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
    );
  } finally {
    m1.close();
    c.close();
    await server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// SAVE, BGSAVE, LASTSAVE, LOLWUT

Deno.test("SAVE/BGSAVE compact every shard and move LASTSAVE; errors as Redis", async () => {
  const server = await startOps({ "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  try {
    for (let i = 0; i < 50; i++) await c.call("SET", `k${i}`, "v");
    for (let i = 0; i < 50; i++) await c.call("SET", `k${i}`, "w"); // dead records
    const before = server.engine!.shards.map((s) => s.stats.deadBytes);
    assert(before.some((d) => d > 0));
    assertEquals(await c.call("SAVE"), "+OK\r\n");
    assertEquals(server.engine!.shards.map((s) => s.stats.deadBytes), [0, 0]);
    assert(server.engine!.shards.every((s) => s.stats.lastMerge > 0));
    const last = Number(parse(await c.call("LASTSAVE")).v);
    assert(Math.abs(last - Date.now() / 1000) < 3);
    // Two BGSAVEs in one batch: the second finds the first running.
    await c.write(
      "*1\r\n$6\r\nBGSAVE\r\n*2\r\n$6\r\nBGSAVE\r\n$8\r\nSCHEDULE\r\n*1\r\n$4\r\nSAVE\r\n",
    );
    assertEquals(await c.read(), "+Background saving started\r\n");
    assertEquals(await c.read(), "-ERR Background save already in progress\r\n");
    assertEquals(await c.read(), "-ERR Background save already in progress\r\n");
    const until = Date.now() + 5000;
    while ((await c.call("SAVE")) !== "+OK\r\n" && Date.now() < until) await sleep(10);
    assertEquals(await c.call("BGSAVE", "FOO"), "-ERR syntax error\r\n");
    assertEquals(await c.call("BGSAVE", "SCHEDULE", "x"), "-ERR syntax error\r\n");
    assertEquals(await c.call("MULTI"), "+OK\r\n");
    assertEquals(await c.call("SAVE"), "-ERR Command not allowed inside a transaction\r\n");
    assertEquals(await c.call("DISCARD"), "+OK\r\n");
    await c.call("MULTI");
    await c.call("BGSAVE");
    assertEquals(await c.call("EXEC"), "*1\r\n+Background saving scheduled\r\n");
    for (let i = 0; i < 50; i++) assertEquals(await c.call("GET", `k${i}`), "$1\r\nw\r\n");
    // The scheduled save is done before the server closes.
    const done = Date.now() + 5000;
    while ((await c.call("SAVE")) !== "+OK\r\n" && Date.now() < done) await sleep(10);
    // BGREWRITEAOF is the same compaction; each waits for the other as Redis's children do.
    const batch = (...lines: string[][]) => c.write(concat(lines.map((l) => encodeCommand(l))));
    await batch(["BGSAVE"], ["BGREWRITEAOF"], ["BGREWRITEAOF"], ["INFO", "persistence"]);
    assertEquals(await c.read(), "+Background saving started\r\n");
    assertEquals(await c.read(), "+Background append only file rewriting scheduled\r\n");
    assertEquals(await c.read(), "+Background append only file rewriting scheduled\r\n");
    assertMatch((await c.read())!, /aof_rewrite_scheduled:1/);
    let info = "";
    for (const end = Date.now() + 5000; Date.now() < end; await sleep(10)) {
      info = await c.call("INFO", "persistence");
      if (/aof_rewrite_scheduled:0/.test(info) && /aof_rewrite_in_progress:0/.test(info)) break;
    }
    assertMatch(info, /aof_rewrite_scheduled:0/);
    await batch(["BGREWRITEAOF"], ["BGREWRITEAOF"], ["BGSAVE"], ["BGSAVE", "SCHEDULE"]);
    assertEquals(await c.read(), "+Background append only file rewriting started\r\n");
    assertEquals(
      await c.read(),
      "-ERR Background append only file rewriting already in progress\r\n",
    );
    assertMatch((await c.read())!, /^-ERR Another child process is active \(AOF\?\)/);
    assertEquals(await c.read(), "+Background saving scheduled\r\n");
    const settled = Date.now() + 5000;
    while ((await c.call("SAVE")) !== "+OK\r\n" && Date.now() < settled) await sleep(10);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("LOLWUT: Schotter as Redis draws it, deterministic, with the version line", async () => {
  const p = await startPair();
  try {
    // Without randomness (one or two rows of squares) the art is Redis's, pixel for pixel.
    for (const args of [["10", "1", "1"], ["40", "4", "2"]]) {
      const [f, r] = await p.both("LOLWUT", "VERSION", "5", ...args);
      const fl = text(f).split("\n"), rl = text(r).split("\n");
      assertEquals(fl.slice(0, -2), rl.slice(0, -2));
      assertEquals(
        fl.at(-2),
        "Georg Nees - schotter, plotter on paper, 1968. FerricStore ver. 7.0.15-ferricstore.0.1.0",
      );
    }
    const [a, b] = [await p.ferric.call("LOLWUT"), await p.ferric.call("LOLWUT")];
    assertEquals(a, b);
    assert(text(a).split("\n").length > 30);
    assertEquals(
      await p.ferric.call("LOLWUT", "VERSION", "x"),
      "-ERR value is not an integer or out of range\r\n",
    );
    await p.both("HELLO", "3");
    const [f3, r3] = await p.both(...cmd("LOLWUT VERSION 5 10 1 1"));
    assert(f3.startsWith("=") && r3.startsWith("="));
  } finally {
    await p.close();
  }
});

// ---------------------------------------------------------------------------------------------
// COMMAND INFO of the Redis commands

Deno.test("COMMAND INFO of SLOWLOG LATENCY MEMORY MONITOR DEBUG SHUTDOWN SAVE BGSAVE LASTSAVE TIME LOLWUT matches redis-server", async () => {
  const p = await startPair();
  /**
   * Sets (flags, categories, tips, subcommands) compared without order. Redis 7.0 sends the
   * subcommand list as an array where COMMAND here sends a set (commands/command.ts), so
   * aggregates are compared by content only.
   */
  const unordered = (n: Node): Node => {
    const items = n.items?.map(unordered);
    if (items && (n.t === "~" || n.t === "*")) {
      const sorted = [...items].sort((x, y) => JSON.stringify(x) < JSON.stringify(y) ? -1 : 1);
      return { t: "*", items: sorted };
    }
    return items ? { t: n.t, items } : n;
  };
  try {
    const names = [
      "slowlog",
      "latency",
      "memory",
      "monitor",
      "debug",
      "shutdown",
      "save",
      "bgsave",
      "lastsave",
      "time",
      "lolwut",
    ];
    for (const proto of ["2", "3"]) {
      await p.both("HELLO", proto);
      assertEquals(await compareMasked(p, names.map((n) => ["COMMAND", "INFO", n]), unordered), []);
    }
  } finally {
    await p.close();
  }
});

// ---------------------------------------------------------------------------------------------
// FERRICSTORE.HOTNESS and CLUSTER.*

Deno.test("FERRICSTORE.HOTNESS: reads per namespace, hot and cold, over a window", async () => {
  const server = await startOps({ "hot-cache-max-value-size": "1kb" });
  const c = await RawClient.connect(server.port);
  try {
    await c.call("SET", "user:1", "a");
    await c.call("SET", "user:2", "b");
    await c.call("SET", "session:1", "x".repeat(4000)); // too large to stay hot
    await c.call("SET", "plain", "p");
    await sleep(50);
    for (let i = 0; i < 3; i++) await c.call("GET", "user:1");
    await c.call("MGET", "user:1", "user:2", "plain");
    await c.call("GET", "session:1");
    await c.call("EXISTS", "user:1"); // does not read the value
    const reply = parse(await c.call("FERRICSTORE.HOTNESS"));
    const map = (n: Node) => {
      const m = new Map<string, Node>();
      for (let i = 0; i < n.items!.length; i += 2) m.set(n.items![i].v!, n.items![i + 1]);
      return m;
    };
    const top = map(reply);
    assertEquals(top.get("window_seconds")!.v, "60");
    assertEquals(top.get("key_reads")!.v, "7");
    assertEquals(top.get("namespaces")!.v, "3");
    assert(Number(top.get("cold_reads")!.v) >= 1);
    const prefixes = top.get("prefixes")!.items!.map(map);
    assertEquals(prefixes.map((m) => m.get("prefix")!.v), ["user", "", "session"]);
    assertEquals(prefixes.map((m) => m.get("reads")!.v), ["5", "1", "1"]);
    assertEquals(prefixes[2].get("cold_reads")!.v, "1");
    assertEquals(prefixes[0].get("cold_reads")!.v, "0");
    // TOP and WINDOW.
    const one = map(parse(await c.call("FERRICSTORE.HOTNESS", "TOP", "1", "WINDOW", "5")));
    assertEquals(one.get("prefixes")!.items!.length, 1);
    assertEquals(one.get("window_seconds")!.v, "5");
    assertEquals(
      await c.call("FERRICSTORE.HOTNESS", "WINDOW", "0"),
      "-ERR WINDOW must be between 1 and 3600 seconds\r\n",
    );
    assertEquals(
      await c.call("FERRICSTORE.HOTNESS", "TOP", "x"),
      "-ERR value is not an integer or out of range\r\n",
    );
    assertEquals(await c.call("FERRICSTORE.HOTNESS", "TOP"), "-ERR syntax error\r\n");
    await c.call("HELLO", "3");
    assert((await c.call("FERRICSTORE.HOTNESS")).startsWith("%7\r\n"));
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("CLUSTER.*: slots, keyslot as Redis's, per-shard stats, health, status and role", async () => {
  const server = await startOps({ "shard-count": 4 });
  const c = await RawClient.connect(server.port);
  const redis = await startRedis([
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf", // in startRedis's own directory, removed with it
  ]);
  const r = await RawClient.connect(redis.port);
  try {
    for (const key of ["foo", "{user1000}.following", "", "a{}b", "\u00ff\u0000x"]) {
      assertEquals(
        await c.call("CLUSTER.KEYSLOT", key),
        await r.call("CLUSTER", "KEYSLOT", key),
        key,
      );
    }
    const slots = parse(await c.call("CLUSTER.SLOTS")).items!.map((s) => s.items!.map((n) => n.v));
    assertEquals(slots.length, 4);
    assertEquals(slots[0][3], "0");
    assertEquals(slots[3][5], "16383");
    for (let i = 1; i < 4; i++) assertEquals(Number(slots[i][3]), Number(slots[i - 1][5]) + 1);
    for (let i = 0; i < 40; i++) await c.call("SET", `key${i}`, "value");
    const stats = parse(await c.call("CLUSTER.STATS")).items!;
    const shards = stats[1].items!.map((s) => s.items!);
    const get = (m: Node[], k: string) => m[m.findIndex((n) => n.v === k) + 1].v;
    assertEquals(shards.map((s) => get(s, "role")), ["master", "master", "master", "master"]);
    assertEquals(shards.reduce((n, s) => n + Number(get(s, "keys")), 0), 40);
    const totals = stats[3].items!;
    assertEquals(get(totals, "keys"), "40");
    assertEquals(Number(get(totals, "memory")), server.memory.used());
    assertEquals(shards.reduce((n, s) => n + Number(get(s, "memory")), 0), server.memory.used());
    const health = parse(await c.call("CLUSTER.HEALTH")).items!;
    assertEquals(get(health, "status"), "ok");
    assertEquals(get(health, "ready"), "1");
    assertEquals(get(health, "shards_ok"), "4");
    const status = parse(await c.call("CLUSTER.STATUS")).items!;
    assertEquals(get(status, "state"), "ok");
    assertEquals(get(status, "slots_ok"), "16384");
    const role = parse(await c.call("CLUSTER.ROLE")).items!;
    assertEquals(get(role, "role"), "master");
    assertEquals(role[5].items!.length, 4);
    await c.call("HELLO", "3");
    assert((await c.call("CLUSTER.HEALTH")).startsWith("%8\r\n$6\r\nstatus\r\n"));
    assertEquals(
      await c.call("CLUSTER.KEYSLOT"),
      "-ERR wrong number of arguments for 'cluster.keyslot' command\r\n",
    );
  } finally {
    c.close();
    r.close();
    await server.close();
    await redis.stop("SIGKILL");
  }
});

Deno.test("a client that connects before the data directory is open is told -LOADING", async () => {
  const { Server } = await import("../server/server.ts");
  const { Config } = await import("../server/config.ts");
  const config = new Config();
  config.set("port", "0", "cli");
  config.set("http-port", "-1", "cli");
  config.set("loglevel", "warning", "cli");
  config.set("data-dir", await tempDir("ferric-loading-"), "cli");
  const server = new Server(config);
  await server.listen();
  const c = await RawClient.connect(server.port);
  try {
    // Bound, not yet loaded: Redis's answer while it loads, not an empty keyspace.
    assertMatch(await c.call("PING"), /^-LOADING /);
    assertMatch(await c.call("INFO", "persistence"), /loading:1/);
    await server.open();
    assertEquals(await c.call("PING"), "+PONG\r\n");
    assertMatch(await c.call("INFO", "persistence"), /loading:0/);
  } finally {
    c.close();
    await server.close();
    await Deno.remove(config.str("data-dir"), { recursive: true });
  }
});

Deno.test("SLOWLOG records a blocking command served at once, and not one that waited", async () => {
  const server = await startFerric({ "slowlog-log-slower-than": 0 });
  const c = await RawClient.connect(server.port);
  const other = await RawClient.connect(server.port);
  try {
    await c.call("LPUSH", "bl", "x");
    await c.call("SLOWLOG", "RESET");
    assertEquals(await c.call("BLPOP", "bl", "1"), "*2\r\n$2\r\nbl\r\n$1\r\nx\r\n");
    const waiting = c.call("BLPOP", "bl", "5");
    await new Promise((r) => setTimeout(r, 50));
    await other.call("RPUSH", "bl", "y");
    await waiting;
    const log = await other.call("SLOWLOG", "GET", "10");
    assertEquals(
      log.split("$5\r\nBLPOP\r\n").length - 1 + (log.split("$5\r\nblpop\r\n").length - 1),
      1,
      log,
    );
  } finally {
    c.close();
    other.close();
    await server.close();
  }
});
