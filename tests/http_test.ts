/**
 * The HTTP side: probes, /metrics (content, promtool and a strict parser of the exposition
 * format), the dashboard pages over plain HTTP, authentication, 404/405, and FERRICSTORE.METRICS.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";
import { type HttpHandle, startHttp } from "../http/app.ts";
import { metricsCommands } from "../commands/metrics.ts";
import { slowlogOf } from "../http/slowlog.ts";
import { PAGES } from "../http/dashboard/layout.ts";
import { Config } from "../server/config.ts";
import { Server } from "../server/server.ts";
import { ENTRY_OVERHEAD } from "../engine/keyspace.ts";
import { tempDir } from "./_temp_dir.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A server with its HTTP side on free ports. */
async function start(options: Record<string, string | number> = {}) {
  const server = await startFerric(options);
  const http = await startHttp(server, { port: 0 });
  const base = `http://127.0.0.1:${http.port}`;
  return {
    server,
    http,
    base,
    async stop() {
      await http.close();
      await server.close();
    },
  };
}

async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function basic(user: string, password: string): HeadersInit {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

/** The value of one sample (`name{labels}`) in exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

Deno.test("http: /health/live and /health/ready answer with their JSON shapes", async () => {
  const t = await start();
  try {
    const live = await get(`${t.base}/health/live`);
    assertEquals(live.status, 200);
    assertEquals(live.headers.get("content-type"), "application/json");
    assertEquals(JSON.parse(live.body), { status: "alive" });

    const c = await RawClient.connect(t.server.port);
    for (let i = 0; i < 25; i++) assertEquals(await c.call("SET", `k${i}`, "v"), "+OK\r\n");
    c.close();
    const ready = await get(`${t.base}/health/ready`);
    assertEquals(ready.status, 200);
    const body = JSON.parse(ready.body);
    assertEquals(Object.keys(body), ["status", "shard_count", "shards", "uptime_seconds"]);
    assertEquals(body.status, "ok");
    assertEquals(body.shard_count, t.server.shardCount);
    assertEquals(body.shards.length, t.server.shardCount);
    body.shards.forEach((s: { index: number; status: string; keys: number }, i: number) => {
      assertEquals(Object.keys(s), ["index", "status", "keys"]);
      assertEquals(s.index, i);
      assertEquals(s.status, "ok");
      assert(Number.isInteger(s.keys));
    });
    assertEquals(body.shards.reduce((n: number, s: { keys: number }) => n + s.keys, 0), 25);
    assert(Number.isInteger(body.uptime_seconds) && body.uptime_seconds >= 0);
  } finally {
    await t.stop();
  }
});

Deno.test("http: /health/ready is 503 starting before the engine opens and while loading", async () => {
  const config = new Config();
  for (
    const [k, v] of Object.entries({
      port: "0",
      bind: "127.0.0.1",
      loglevel: "warning",
      "data-dir": await tempDir("ferric-http-"),
    })
  ) config.set(k, v, "cli");
  const server = new Server(config);
  await server.listen();
  const http = await startHttp(server, { port: 0 });
  const base = `http://127.0.0.1:${http.port}`;
  try {
    // Listening, but the data directory is not open yet.
    let r = await get(`${base}/health/ready`);
    assertEquals(r.status, 503);
    let body = JSON.parse(r.body);
    assertEquals(body.status, "starting");
    assert(body.shards.every((s: { status: string }) => s.status === "starting"));
    assertEquals((await get(`${base}/health/live`)).status, 200);

    await server.open();
    assertEquals((await get(`${base}/health/ready`)).status, 200);

    server.loading = true;
    r = await get(`${base}/health/ready`);
    assertEquals(r.status, 503);
    assertEquals(JSON.parse(r.body).status, "starting");
    server.loading = false;
    r = await get(`${base}/health/ready`);
    assertEquals(r.status, 200);
    body = JSON.parse(r.body);
    assertEquals(body.status, "ok");
  } finally {
    await http.close();
    await server.close();
  }
});

Deno.test("http: /health/ready is 503 stopping once the server shuts down", async () => {
  const t = await start();
  try {
    assertEquals((await get(`${t.base}/health/ready`)).status, 200);
    const closed = t.server.close();
    const r = await get(`${t.base}/health/ready`);
    assertEquals(r.status, 503);
    assertEquals(JSON.parse(r.body).status, "stopping");
    assertEquals((await get(`${t.base}/health/live`)).status, 200);
    await closed;
  } finally {
    await t.stop();
  }
});

/** The eleven server metrics every scrape has. */
const SERVER_METRICS = [
  "ferricstore_connected_clients",
  "ferricstore_total_connections_received",
  "ferricstore_total_commands_processed",
  "ferricstore_hot_reads_total",
  "ferricstore_cold_reads_total",
  "ferricstore_used_memory_bytes",
  "ferricstore_keydir_used_bytes",
  "ferricstore_uptime_seconds",
  "ferricstore_blocked_clients",
  "ferricstore_tracking_clients",
  "ferricstore_slowlog_entries",
];

Deno.test("http: /metrics has every ferricstore_* metric and its counters move", async () => {
  const t = await start();
  try {
    const first = await get(`${t.base}/metrics`);
    assertEquals(first.status, 200);
    assertMatch(first.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    for (const name of SERVER_METRICS) {
      assert(first.body.includes(`\n# TYPE ${name} `), `${name} missing`);
      assert(sample(first.body, name) !== undefined, `${name} has no sample`);
    }
    // prom-client's default process metrics work under Deno.
    for (
      const name of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "nodejs_heap_size_used_bytes",
      ]
    ) {
      assert((sample(first.body, name) ?? 0) > 0, name);
    }

    const c = await RawClient.connect(t.server.port);
    const tracker = await RawClient.connect(t.server.port);
    assertEquals(await tracker.call("CLIENT", "TRACKING", "on"), "+OK\r\n");
    for (let i = 0; i < 30; i++) await c.call("SET", `user:${i}`, `value-${i}`);
    for (let i = 0; i < 5; i++) await c.call("SET", `session:${i}`, "s");
    for (let i = 0; i < 7; i++) await c.call("GET", `user:${i}`);
    // A blocked client: BLPOP when the lists family has it, else the flag it sets.
    let blocker: RawClient | null = null;
    if (t.server.registry.get("blpop")) {
      blocker = await RawClient.connect(t.server.port);
      await blocker.write("*3\r\n$5\r\nBLPOP\r\n$4\r\nnone\r\n$1\r\n0\r\n");
      for (let i = 0; i < 100 && ![...t.server.clients.values()].some((x) => x.blocked); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
    } else {
      [...t.server.clients.values()].at(-1)!.blocked = true;
    }
    await c.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await c.call("PING");
    await c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
    const slow = slowlogOf(t.server).length;
    assert(slow >= 2, "PING and CONFIG SET were logged");

    const m = (await get(`${t.base}/metrics`)).body;
    assertEquals(sample(m, "ferricstore_connected_clients"), t.server.clients.size);
    assertEquals(sample(m, "ferricstore_tracking_clients"), 1);
    assertEquals(sample(m, "ferricstore_blocked_clients"), 1);
    assertEquals(sample(m, "ferricstore_slowlog_entries"), slow);
    assert(sample(m, "ferricstore_total_connections_received")! >= 3);
    assert(
      sample(m, "ferricstore_total_commands_processed")! >=
        sample(first.body, "ferricstore_total_commands_processed")! + 42,
    );
    assertEquals(sample(m, 'ferricstore_commands_total{command="set"}'), 35);
    assertEquals(sample(m, 'ferricstore_commands_total{command="get"}'), 7);
    assertEquals(sample(m, 'ferricstore_commands_total{command="client|tracking"}'), 1);
    assertEquals(sample(m, 'ferricstore_command_duration_seconds_count{command="set"}'), 35);
    assertEquals(
      sample(m, 'ferricstore_command_duration_seconds_bucket{command="set",le="+Inf"}'),
      35,
    );
    assert(sample(m, 'ferricstore_command_duration_seconds_sum{command="set"}')! > 0);
    assertEquals(sample(m, "ferricstore_hot_reads_total"), t.server.keyspace.hotReads);
    assert(sample(m, "ferricstore_hot_reads_total")! >= 7);
    assertEquals(sample(m, 'ferricstore_namespace_keys{prefix="user"}'), 30);
    assertEquals(sample(m, 'ferricstore_namespace_keys{prefix="session"}'), 5);
    assertEquals(sample(m, 'ferricstore_namespace_sync{prefix="user"}'), 1);
    assertEquals(sample(m, 'ferricstore_db_keys{db="0"}'), 35);
    // 96 bytes per key plus the key bytes.
    const keyBytes = 30 * "user:".length + 10 + 20 * 2 + 5 * "session:".length + 5;
    assertEquals(sample(m, "ferricstore_keydir_used_bytes"), 35 * ENTRY_OVERHEAD + keyBytes);
    assert(
      sample(m, "ferricstore_used_memory_bytes")! > sample(m, "ferricstore_keydir_used_bytes")!,
    );
    const shardKeys = [...Array(t.server.shardCount).keys()]
      .reduce((n, i) => n + sample(m, `ferricstore_shard_keys{shard="${i}"}`)!, 0);
    assertEquals(shardKeys, 35);
    const records = [...Array(t.server.shardCount).keys()]
      .reduce((n, i) => n + sample(m, `ferricstore_shard_log_records_total{shard="${i}"}`)!, 0);
    assertEquals(records, 35);
    // Every sync write was committed, by an fdatasync of its shard's file or of the journal.
    const commits = [...Array(t.server.shardCount).keys()].reduce(
      (n, i) =>
        n + sample(m, `ferricstore_shard_log_fsyncs_total{shard="${i}"}`)! +
        sample(m, `ferricstore_shard_log_journaled_commits_total{shard="${i}"}`)!,
      0,
    );
    assert(commits > 0 && Number.isFinite(commits), `commits: ${commits}`);

    // A namespace with durability of its own shows up even without keys.
    await c.call("FERRICSTORE.CONFIG", "SET", "audit", "durability", "async", "window_ms", "250");
    await new Promise((r) => setTimeout(r, 1000));
    const m2 = (await get(`${t.base}/metrics`)).body;
    assertEquals(sample(m2, 'ferricstore_namespace_sync{prefix="audit"}'), 0);
    assertEquals(sample(m2, 'ferricstore_namespace_commit_window_seconds{prefix="audit"}'), 0.25);
    assert(sample(m2, "ferricstore_uptime_seconds")! >= 1);
    if (blocker) blocker.close();
    else for (const x of t.server.clients.values()) x.blocked = false;
    tracker.close();
    c.close();
  } finally {
    await t.stop();
  }
});

/**
 * A strict reader of the Prometheus text format 0.0.4: comment and sample syntax, one TYPE per
 * family before its samples, families not interleaved, no duplicate series, valid values,
 * counters ≥ 0, histogram buckets cumulative with +Inf equal to _count. Returns the problems.
 */
function checkExposition(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith("\n")) problems.push("text does not end with a newline");
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seenSeries = new Set<string>();
  const finished = new Set<string>();
  let current = "";
  const buckets = new Map<string, { le: number; v: number }[]>();
  const counts = new Map<string, number>();
  const familyOf = (name: string) => {
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && types.get(base) === "histogram") return base;
    }
    return name;
  };
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, n) => {
    const at = `line ${n + 1}: ${line.slice(0, 80)}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return;
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) problems.push(`${at}: bad metric name`);
      if (kind === "HELP") {
        if (helps.has(name)) problems.push(`${at}: second HELP`);
        helps.add(name);
        if (/\\[^\\n]/.test(rest)) problems.push(`${at}: bad escape in HELP`);
      } else {
        if (types.has(name)) problems.push(`${at}: second TYPE`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          problems.push(`${at}: bad type`);
        }
        if (seenSeries.has(name) || finished.has(name)) problems.push(`${at}: TYPE after samples`);
        types.set(name, rest);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (m === null) {
      problems.push(`${at}: not a sample line`);
      return;
    }
    const [, name, , labelText, valueText] = m;
    const labels = new Map<string, string>();
    if (labelText !== undefined && labelText !== "") {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const l = re.exec(labelText);
        if (l === null) {
          problems.push(`${at}: bad label syntax`);
          return;
        }
        if (labels.has(l[1])) problems.push(`${at}: label ${l[1]} twice`);
        labels.set(l[1], l[2]);
        pos = re.lastIndex;
      }
    }
    const value = /^(NaN|[+-]?Inf)$/i.test(valueText)
      ? Number(valueText.replace(/inf/i, "Infinity"))
      : Number(valueText);
    if (!/^(NaN|[+-]?Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/i.test(valueText)) {
      problems.push(`${at}: bad value`);
    }
    const family = familyOf(name);
    if (family !== current) {
      if (finished.has(family)) problems.push(`${at}: family ${family} interleaved`);
      if (current !== "") finished.add(current);
      current = family;
    }
    const type = types.get(family);
    if (type === undefined) problems.push(`${at}: sample without TYPE`);
    const series = name + JSON.stringify([...labels].sort());
    if (seenSeries.has(series)) problems.push(`${at}: duplicate series`);
    seenSeries.add(series);
    if (type === "counter" && !(value >= 0)) problems.push(`${at}: counter below 0`);
    if (type === "histogram") {
      const rest = JSON.stringify([...labels].filter(([k]) => k !== "le").sort());
      const key = family + rest;
      if (name.endsWith("_bucket")) {
        const le = labels.get("le");
        if (le === undefined) problems.push(`${at}: bucket without le`);
        else {
          const list = buckets.get(key) ?? [];
          list.push({ le: le === "+Inf" ? Infinity : Number(le), v: value });
          buckets.set(key, list);
        }
      } else if (name.endsWith("_count")) counts.set(key, value);
    }
  });
  for (const [key, list] of buckets) {
    for (let i = 1; i < list.length; i++) {
      if (!(list[i].le > list[i - 1].le)) problems.push(`${key}: le not increasing`);
      if (list[i].v < list[i - 1].v) problems.push(`${key}: buckets not cumulative`);
    }
    if (list.at(-1)?.le !== Infinity) problems.push(`${key}: no +Inf bucket`);
    else if (counts.get(key) !== list.at(-1)!.v) problems.push(`${key}: +Inf differs from _count`);
  }
  return problems;
}

/** promtool's path, or null when it is not installed (Debian package `prometheus`). */
function promtool(): string | null {
  for (const p of ["/usr/bin/promtool", "/usr/local/bin/promtool"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* next */ }
  }
  return null;
}

Deno.test("http: /metrics passes promtool check metrics and a strict format check", async () => {
  const t = await start();
  try {
    const c = await RawClient.connect(t.server.port);
    await c.call("SET", 'odd"name\\:x', "1");
    await c.call("SET", "ünï:1", "2");
    await c.call("SET", "\xff\xfe:1", "3");
    await c.call("CLIENT", "LIST");
    await c.call("GET", "nothing");
    c.close();
    const m = (await get(`${t.base}/metrics`)).body;
    assertEquals(checkExposition(m), []);
    // Label values are escaped; binary prefixes are decoded as UTF-8.
    assertEquals(sample(m, 'ferricstore_namespace_keys{prefix="odd\\"name\\\\"}'), 1);
    assertEquals(sample(m, 'ferricstore_namespace_keys{prefix="ünï"}'), 1);
    const tool = promtool();
    if (tool === null) {
      console.warn("promtool is not installed (apt-get install -y prometheus): strict check only");
      return;
    }
    const p = new Deno.Command(tool, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(m));
    await w.close();
    const out = await p.output();
    const report = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `promtool check metrics:\n${report}`);
  } finally {
    await t.stop();
  }
});

Deno.test("http: the strict format check finds what is wrong", () => {
  const bad = [
    "# TYPE a counter",
    "a -1",
    "# TYPE h histogram",
    'h_bucket{le="1"} 3',
    'h_bucket{le="2"} 2',
    'h_bucket{le="+Inf"} 4',
    "h_count 5",
    "h_sum 1",
    "b 1",
    'c{x="1",x="2"} 1',
    "a 2",
    "",
  ].join("\n");
  const problems = checkExposition(bad);
  for (
    const expected of [
      "counter below 0",
      "buckets not cumulative",
      "+Inf differs from _count",
      "sample without TYPE",
      "label x twice",
      "family a interleaved",
    ]
  ) assert(problems.some((p) => p.includes(expected)), `${expected}: ${problems.join("; ")}`);
});

Deno.test("http: every dashboard page renders, refreshes itself and escapes what it shows", async () => {
  const t = await start({ requirepass: "" });
  try {
    const c = await RawClient.connect(t.server.port);
    await c.call("CLIENT", "SETNAME", "<b>bold</b>");
    await c.call("SET", "<script>alert(1)</script>:k", "v");
    await c.call("SET", "plain", "v");
    // The slow log page lists entries, escaped.
    slowlogOf(t.server).push(
      [enc("SET"), enc("<img src=x>"), enc("a b")],
      123456,
      "127.0.0.1:5555",
      "<i>n</i>",
    );
    for (const page of PAGES) {
      const path = page.slug === "" ? "/dashboard" : `/dashboard/${page.slug}`;
      const r = await get(t.base + path);
      assertEquals(r.status, 200, path);
      assertEquals(r.headers.get("content-type"), "text/html; charset=utf-8");
      assert(r.headers.get("content-security-policy")!.includes("default-src 'none'"));
      assert(
        r.body.includes(`<meta http-equiv="refresh" content="${page.refreshSeconds}">`),
        path,
      );
      assert(!r.body.includes("<script"), `${path} has a raw <script`);
      assert(!r.body.includes("<b>bold"), `${path} has raw client-name HTML`);
      for (const other of PAGES) {
        assert(r.body.includes(`href="/dashboard${other.slug ? "/" + other.slug : ""}"`));
      }
    }
    const prefixes = (await get(`${t.base}/dashboard/prefixes`)).body;
    assert(prefixes.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    const clients = (await get(`${t.base}/dashboard/clients`)).body;
    assert(clients.includes("&lt;b&gt;bold&lt;/b&gt;"));
    const overview = (await get(`${t.base}/dashboard/`)).body;
    assert(overview.includes("<svg"), "overview has charts");
    const slow = (await get(`${t.base}/dashboard/slowlog`)).body;
    assert(
      slow.includes("SET &quot;&lt;img src=x&gt;&quot; &quot;a b&quot;"),
      "slow log entry shown",
    );
    assert(slow.includes("123,456 µs") && slow.includes("&lt;i&gt;n&lt;/i&gt;"));
    const raft = (await get(`${t.base}/dashboard/raft`)).body;
    assert(raft.includes("single node"));
    // The open segment shows the bytes of its records, not its zero-filled space.
    const storage = (await get(`${t.base}/dashboard/storage`)).body;
    const shown = [...storage.matchAll(/\d+\.log<\/code> <span class="muted">([^<]+)</g)];
    assert(shown.length > 0, "segments listed");
    for (const [, size] of shown) assert(/^\d+ B$/.test(size), `a segment of ${size}`);
    // Passwords never appear on the configuration page.
    await c.call("CONFIG", "SET", "requirepass", "s3cret-pw");
    await c.call("AUTH", "s3cret-pw");
    const config =
      (await get(`${t.base}/dashboard/config`, { headers: basic("default", "s3cret-pw") }))
        .body;
    assert(config.includes("requirepass") && !config.includes("s3cret-pw"));
    assert(config.includes("(hidden)"));
    c.close();
  } finally {
    await t.stop();
  }
});

Deno.test("http: unknown paths are 404, other methods 405 with Allow, HEAD has no body", async () => {
  const t = await start();
  try {
    for (const p of ["/", "/nope", "/dashboard/nope", "/metrics/x", "/health", "/health/ready/x"]) {
      const r = await get(t.base + p, { redirect: "manual" });
      if (p === "/") {
        assertEquals(r.status, 302);
        assertEquals(r.headers.get("location"), "/dashboard");
      } else assertEquals(r.status, 404, p);
    }
    for (const p of ["/metrics", "/health/live", "/dashboard"]) {
      for (const method of ["POST", "PUT", "DELETE"]) {
        const r = await get(t.base + p, { method });
        assertEquals(r.status, 405, `${method} ${p}`);
        assertEquals(r.headers.get("allow"), "GET, HEAD");
      }
    }
    const head = await get(`${t.base}/health/live`, { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(head.body, "");
    // HEAD sends GET's headers, Content-Length included.
    const full = await get(`${t.base}/health/live`);
    assertEquals(
      head.headers.get("content-length"),
      String(new TextEncoder().encode(full.body).length),
    );
  } finally {
    await t.stop();
  }
});

Deno.test("http: /metrics and /dashboard need an admin ACL user once passwords exist; probes stay open", async () => {
  const t = await start();
  const c = await RawClient.connect(t.server.port);
  try {
    // Open server: no credentials needed.
    assertEquals((await get(`${t.base}/metrics`)).status, 200);
    // Another user makes credentials necessary even while default has no password.
    assertEquals(
      await c.call("ACL", "SETUSER", "viewer", "on", ">view-pw", "~*", "+get", "+info"),
      "+OK\r\n",
    );
    assertEquals(await c.call("ACL", "SETUSER", "ops", "on", ">ops-pw", "+@all"), "+OK\r\n");
    assertEquals(await c.call("ACL", "SETUSER", "gone", "off", ">gone-pw", "+@all"), "+OK\r\n");
    // The read-only metrics user docs/http.md suggests.
    assertEquals(
      await c.call(
        "ACL",
        "SETUSER",
        "metrics",
        "on",
        ">m-pw",
        "resetkeys",
        "-@all",
        "+config|get",
        "+info",
      ),
      "+OK\r\n",
    );
    for (const p of ["/metrics", "/dashboard", "/dashboard/config"]) {
      const none = await get(t.base + p);
      assertEquals(none.status, 401, p);
      assertEquals(
        none.headers.get("www-authenticate"),
        'Basic realm="FerricStore", charset="UTF-8"',
      );
      assertEquals((await get(t.base + p, { headers: basic("ops", "wrong") })).status, 401);
      assertEquals((await get(t.base + p, { headers: basic("nobody", "x") })).status, 401);
      assertEquals((await get(t.base + p, { headers: basic("gone", "gone-pw") })).status, 401);
      assertEquals(
        (await get(t.base + p, { headers: { authorization: "Basic !!!" } })).status,
        401,
      );
      assertEquals((await get(t.base + p, { headers: { authorization: "Bearer x" } })).status, 401);
      const viewer = await get(t.base + p, { headers: basic("viewer", "view-pw") });
      assertEquals(viewer.status, 403, p);
      assertEquals(viewer.headers.get("www-authenticate"), null);
      assertEquals((await get(t.base + p, { headers: basic("ops", "ops-pw") })).status, 200, p);
      assertEquals((await get(t.base + p, { headers: basic("metrics", "m-pw") })).status, 200, p);
    }
    for (const p of ["/health/live", "/health/ready"]) {
      assertEquals((await get(t.base + p)).status, 200);
    }

    // requirepass alone (default user with a password) also closes them.
    assertEquals(await c.call("ACL", "DELUSER", "viewer", "ops", "gone", "metrics"), ":4\r\n");
    assertEquals((await get(`${t.base}/metrics`)).status, 200);
    assertEquals(await c.call("CONFIG", "SET", "requirepass", "pw:with:colons"), "+OK\r\n");
    assertEquals((await get(`${t.base}/metrics`)).status, 401);
    assertEquals((await get(`${t.base}/metrics`, { headers: basic("default", "pw") })).status, 401);
    assertEquals(
      (await get(`${t.base}/metrics`, { headers: basic("default", "pw:with:colons") })).status,
      200,
    );
    assertEquals((await get(`${t.base}/health/ready`)).status, 200);
  } finally {
    c.close();
    await t.stop();
  }
});

Deno.test("http: FERRICSTORE.METRICS returns the same exposition over RESP", async () => {
  const t = await start();
  try {
    if (!t.server.registry.get("ferricstore.metrics")) {
      // Until commands/mod.ts registers it: as a plugin command, which +@all users may run.
      t.server.registry.register(metricsCommands[0], "http-test");
    }
    const c = await RawClient.connect(t.server.port);
    await c.call("SET", "a:1", "x");
    const reply = await c.call("FERRICSTORE.METRICS");
    assertMatch(reply, /^\$\d+\r\n/);
    const body = reply.slice(reply.indexOf("\r\n") + 2, -2);
    assertEquals(
      Number(reply.slice(1, reply.indexOf("\r\n"))),
      new TextEncoder().encode(body).length,
    );
    for (const name of SERVER_METRICS) assert(body.includes(`# TYPE ${name} `), name);
    assertEquals(sample(body, 'ferricstore_namespace_keys{prefix="a"}'), 1);
    assertEquals(checkExposition(body), []);
    assertEquals(
      await c.call("FERRICSTORE.METRICS", "x"),
      "-ERR wrong number of arguments for 'ferricstore.metrics' command\r\n",
    );
    c.close();
  } finally {
    await t.stop();
  }
});

Deno.test("http: http-port 0 picks a free port and close() frees it", async () => {
  const t = await start();
  let closed: HttpHandle | null = null;
  try {
    assert(t.http.port > 0);
    const second = await startHttp(t.server, { port: 0 });
    assert(second.port !== t.http.port);
    assertEquals((await get(`http://127.0.0.1:${second.port}/health/live`)).status, 200);
    await second.close();
    closed = second;
    await assertRefused(second.port);
  } finally {
    await t.stop();
  }
  assert(closed !== null);
});

async function assertRefused(port: number): Promise<void> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
  } catch {
    return;
  }
  throw new Error(`port ${port} still accepts connections`);
}
