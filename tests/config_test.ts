import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  bulkStrings,
  cmd,
  Differential,
  freePort,
  RawClient,
  waitForPort,
  withFerric,
} from "./_harness.ts";
import { Config } from "../server/config.ts";
import { tempDir } from "./_temp_dir.ts";

/** Bulk strings of a flat RESP2 array reply (CONFIG GET), as [name, value] pairs. */
function pairs(raw: string): [string, string][] {
  const items = bulkStrings(raw);
  const out: [string, string][] = [];
  for (let i = 0; i < items.length; i += 2) out.push([items[i], items[i + 1]]);
  return out.sort(([a], [b]) => a < b ? -1 : 1);
}

Deno.test("CONFIG GET/SET: replies and errors match redis-server byte for byte", async () => {
  const d = await Differential.start();
  try {
    const shared = [
      "maxmemory",
      "maxmemory-policy",
      "maxmemory-samples",
      "lfu-log-factor",
      "lfu-decay-time",
      "maxclients",
      "requirepass",
      "timeout",
      "tcp-keepalive",
      "hz",
      "databases",
      "proto-max-bulk-len",
      "client-query-buffer-limit",
      "client-output-buffer-limit",
      "slowlog-log-slower-than",
      "slowlog-max-len",
      "notify-keyspace-events",
      "protected-mode",
      "bind",
      "tls-port",
      "aclfile",
      "latency-tracking-info-percentiles",
      "active-expire-effort",
    ];
    const script = [
      ...shared.map((p) => `CONFIG GET ${p}`),
      "CONFIG GET MAXMEMORY",
      "CONFIG GET Maxmemory maxmemory",
      "CONFIG GET nosuchparameter",
      "CONFIG GET no-such-*",
      "CONFIG GET",
      "CONFIG",
      "CONFIG NOSUCH",
      "CONFIG RESETSTAT x",
      "CONFIG REWRITE",
      "CONFIG REWRITE x",
      "CONFIG SET",
      "CONFIG SET maxmemory",
      "CONFIG SET a b c",
      "CONFIG SET nosuch 1",
      "CONFIG SET foo 1 timeout 2",
      "CONFIG SET timeout x foo 2",
      "CONFIG SET timeout 1 timeout 2",
      "CONFIG SET TIMEOUT 1 timeout 2",
      "CONFIG SET databases 1",
      "CONFIG SET Databases 1",
      "CONFIG SET hz 5 databases 1",
      "CONFIG SET HZ abc",
      "CONFIG SET timeout x hz y",
      "CONFIG SET timeout 05",
      "CONFIG SET timeout +5",
      "CONFIG SET timeout -1",
      "CONFIG SET maxclients 0",
      "CONFIG SET maxclients abc",
      "CONFIG SET maxmemory abc",
      "CONFIG SET maxmemory -1",
      // Memory values as memtoull reads them; integers as string2ll.
      'CONFIG SET hash-max-listpack-value " 5"',
      "CONFIG SET hash-max-listpack-value 9223372036854775807",
      "CONFIG GET hash-max-listpack-value",
      "CONFIG SET hash-max-listpack-value 9223372036854775808",
      "CONFIG SET zset-max-listpack-value 18446744073709551616",
      'CONFIG SET zset-max-listpack-value ""',
      "CONFIG GET zset-max-listpack-value",
      "CONFIG SET hash-max-listpack-value 64",
      "CONFIG SET zset-max-listpack-value 64",
      "CONFIG SET hash-max-listpack-entries 9223372036854775808",
      "CONFIG SET set-max-intset-entries 18446744073709551616",
      "CONFIG SET list-max-listpack-size 18446744073709551616",
      "CONFIG SET list-compress-depth 9223372036854775808",
      // Bounds beyond 2^53 are the int64 limits, compared exactly.
      "CONFIG SET slowlog-log-slower-than 9007199254740993",
      "CONFIG GET slowlog-log-slower-than",
      "CONFIG SET slowlog-log-slower-than 9223372036854775807",
      "CONFIG SET slowlog-max-len 9223372036854775807",
      "CONFIG SET slowlog-log-slower-than 10000",
      "CONFIG SET slowlog-max-len 128",
      "CONFIG SET maxmemory 5kb",
      "CONFIG GET maxmemory",
      "CONFIG SET maxmemory 5KB",
      "CONFIG SET maxmemory 5 kb",
      'CONFIG SET maxmemory ""',
      "CONFIG GET maxmemory",
      "CONFIG SET maxmemory-policy foo",
      "CONFIG SET protected-mode maybe",
      "CONFIG SET proto-max-bulk-len 1",
      "CONFIG SET client-query-buffer-limit 10",
      "CONFIG SET slowlog-log-slower-than -2",
      "CONFIG SET tcp-keepalive -1",
      "CONFIG SET lfu-log-factor -1",
      'CONFIG SET client-output-buffer-limit "foo 1 2 3"',
      'CONFIG SET client-output-buffer-limit "normal 1 2"',
      'CONFIG SET client-output-buffer-limit "normal x 2 3"',
      'CONFIG SET client-output-buffer-limit "master 0 0 0"',
      'CONFIG SET client-output-buffer-limit "normal 0 0 1mb"',
      'CONFIG SET client-output-buffer-limit "normal 0 0 -1"',
      // A setting changes the classes it names and keeps the others, shown in bytes.
      'CONFIG SET client-output-buffer-limit "pubsub 1mb 1mb 0"',
      "CONFIG GET client-output-buffer-limit",
      'CONFIG SET client-output-buffer-limit "replica 1k 2kb 3 normal 1 2 3"',
      "CONFIG GET client-output-buffer-limit",
      'CONFIG SET client-output-buffer-limit "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"',
      "CONFIG SET notify-keyspace-events foo",
      // Nothing was applied by the failures above.
      "CONFIG GET timeout",
      "CONFIG GET hz",
      // Successful sets, in several forms.
      "CONFIG SET maxmemory 1gb",
      "CONFIG GET maxmemory",
      "CONFIG SET maxmemory 100mb timeout 7 maxmemory-policy ALLKEYS-LRU",
      "CONFIG GET maxmemory",
      "CONFIG GET timeout",
      "CONFIG GET maxmemory-policy",
      "CONFIG SET notify-keyspace-events KEA",
      "CONFIG GET notify-keyspace-events",
      // Redis 7.0 prints `n` among the classes, and not at all beside `A`.
      "CONFIG SET notify-keyspace-events An",
      "CONFIG GET notify-keyspace-events",
      "CONFIG SET notify-keyspace-events KEAnm",
      "CONFIG GET notify-keyspace-events",
      "CONFIG SET notify-keyspace-events mnEK$g",
      "CONFIG GET notify-keyspace-events",
      "CONFIG SET notify-keyspace-events Kn",
      "CONFIG GET notify-keyspace-events",
      // maxmemory is unsigned in Redis: up to 2^64 - 1, and strtoull saturates beyond.
      "CONFIG SET maxmemory 9223372036854775808",
      "CONFIG GET maxmemory",
      "CONFIG SET maxmemory 9999999999999999999999",
      "CONFIG GET maxmemory",
      "CONFIG SET maxmemory 0",
      "CONFIG SET tls-auth-clients abc",
      // An empty client-output-buffer-limit sets nothing.
      'CONFIG SET client-output-buffer-limit ""',
      "CONFIG GET client-output-buffer-limit",
      'CONFIG SET latency-tracking-info-percentiles "50.0 99.90 1e1"',
      "CONFIG GET latency-tracking-info-percentiles",
      'CONFIG SET latency-tracking-info-percentiles " 50  99 "',
      "CONFIG SET latency-tracking-info-percentiles -1",
      "CONFIG SET latency-tracking-info-percentiles 50,99",
      'CONFIG SET latency-tracking-info-percentiles ""',
      "CONFIG GET latency-tracking-info-percentiles",
      'CONFIG SET latency-tracking-info-percentiles "0.0000001 99.99999999"',
      "CONFIG GET latency-tracking-info-percentiles",
      "CONFIG SET latency-tracking-info-percentiles inf",
      'CONFIG SET latency-tracking-info-percentiles "50 99 99.9"',
      "CONFIG SET tracking-table-max-keys 9223372036854775807",
      "CONFIG GET tracking-table-max-keys",
      "CONFIG SET tracking-table-max-keys 1000000",
      "CONFIG SET active-expire-effort 0",
      "CONFIG SET active-expire-effort 11",
      "CONFIG SET active-expire-effort x",
      "CONFIG SET active-expire-effort 10",
      "CONFIG GET active-expire-effort",
      "CONFIG SET active-expire-effort 1",
      'CONFIG SET maxmemory 0 timeout 0 maxmemory-policy noeviction notify-keyspace-events ""',
      "CONFIG SET requirepass secret",
      "CONFIG GET requirepass",
      'CONFIG SET requirepass ""',
      "CONFIG GET requirepass",
      // hz is brought into 1..500; list fills below -5 are kept; value limits are memory values.
      "CONFIG SET hz 0",
      "CONFIG GET hz",
      "CONFIG SET hz 1000",
      "CONFIG GET hz",
      "CONFIG SET hz -1",
      "CONFIG SET hz 10",
      "CONFIG SET list-max-listpack-size -6",
      "CONFIG GET list-max-listpack-size",
      "CONFIG SET list-max-listpack-size -2",
      "CONFIG SET hash-max-listpack-value 1kb",
      "CONFIG GET hash-max-listpack-value",
      "CONFIG SET hash-max-listpack-value -1",
      "CONFIG SET hash-max-listpack-value 64",
      "CONFIG SET zset-max-listpack-value 1k",
      "CONFIG GET zset-max-listpack-value",
      "CONFIG SET zset-max-listpack-value 64",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
    // Patterns: the order of several matches is Redis's hash order, so compare as sets.
    for (
      const p of [
        ["lfu-*"],
        ["*keepalive"],
        ["slowlog-*"],
        ["client-*-limit"],
        ["MAXMEMORY-POL*"],
        ["maxclient[s]"],
        ["proto-max-bulk-le?"],
        ["lfu-*", "timeout", "lfu-log-factor"],
      ]
    ) {
      const [f, r] = await d.both("CONFIG", "GET", ...p);
      assertEquals(pairs(f), pairs(r), p.join(" "));
      assert(pairs(f).length > 0);
    }
    // RESP3: a map.
    await d.both("HELLO", "3");
    assertEquals(await d.compare([cmd("CONFIG GET maxmemory"), cmd("CONFIG GET nosuch")]), []);
  } finally {
    await d.close();
  }
});

Deno.test("CONFIG GET save and appendonly answer as a Redis with an AOF and no RDB snapshots", async () => {
  const d = await Differential.start({}, { redisArgs: ["--save", "", "--appendonly", "yes"] });
  try {
    assertEquals(
      await d.compare(["CONFIG GET save", "CONFIG GET appendonly", 'CONFIG SET save ""'].map(cmd)),
      [],
    );
    // Values that would ask for what FerricStore does not do are refused, with the reason.
    assertMatch(
      await d.ferric.call("CONFIG", "SET", "appendonly", "no"),
      /^-ERR CONFIG SET failed \(possibly related to argument 'appendonly'\) - FerricStore always writes/,
    );
    assertMatch(
      await d.ferric.call("CONFIG", "SET", "save", "900 1"),
      /^-ERR CONFIG SET failed \(possibly related to argument 'save'\) - FerricStore writes no RDB/,
    );
    assertEquals(await d.ferric.call("CONFIG", "GET", "save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  } finally {
    await d.close();
  }
});

Deno.test("CONFIG HELP and RESETSTAT match redis-server", async () => {
  const d = await Differential.start();
  try {
    const [fh, rh] = await d.both("CONFIG", "HELP");
    // Redis 7.0 says "Prints this help." on the last line, later versions "Print this help.".
    assertEquals(fh.split("\r\n").slice(0, -2), rh.split("\r\n").slice(0, -2));
    await d.both("SET", "k", "v");
    await d.both("GET", "k");
    await d.both("GET", "missing");
    await d.both("NOSUCHCOMMAND");
    const [f0, r0] = await d.both("INFO", "commandstats");
    assertMatch(f0, /cmdstat_get:calls=2,/);
    assertMatch(r0, /cmdstat_get:calls=2,/);
    assertEquals(await d.compare([cmd("CONFIG RESETSTAT"), cmd("INFO errorstats")]), []);
    const names = (raw: string) =>
      [...raw.matchAll(/^(cmdstat_[^:]+):calls=(\d+)/gm)].map((m) => m.slice(1));
    const [f, r] = await d.both("INFO", "commandstats");
    assertEquals(names(f).sort(), names(r).sort());
    const stat = (raw: string, field: string) =>
      new RegExp(`^${field}:(.*)\r$`, "m").exec(raw)?.[1];
    const [fs, rs] = await d.both("INFO", "stats");
    for (
      const field of ["keyspace_hits", "keyspace_misses", "total_error_replies", "expired_keys"]
    ) {
      assertEquals(stat(fs, field), "0", field);
      assertEquals(stat(fs, field), stat(rs, field), field);
    }
  } finally {
    await d.close();
  }
});

Deno.test("CONFIG SET maxclients 1 refuses a second client", async () => {
  await withFerric(async (server) => {
    const a = await RawClient.connect(server.port);
    try {
      assertEquals(await a.call("CONFIG", "SET", "maxclients", "1"), "+OK\r\n");
      const b = await RawClient.connect(server.port);
      assertEquals(await b.read(2000), "-ERR max number of clients reached\r\n");
      assert(await b.closedByServer());
      b.close();
      assertEquals(await a.call("CONFIG", "SET", "maxclients", "10"), "+OK\r\n");
      const c = await RawClient.connect(server.port);
      assertEquals(await c.call("PING"), "+PONG\r\n");
      c.close();
      assertMatch(await a.call("INFO", "stats"), /\r\nrejected_connections:1\r\n/);
    } finally {
      a.close();
    }
  });
});

Deno.test("CONFIG SET timeout closes idle clients and only them", async () => {
  await withFerric(async (server) => {
    const busy = await RawClient.connect(server.port);
    const idle = await RawClient.connect(server.port);
    try {
      assertEquals(await idle.call("PING"), "+PONG\r\n");
      assertEquals(await busy.call("CONFIG", "SET", "timeout", "1"), "+OK\r\n");
      const started = Date.now();
      let closed = false;
      const watcher = idle.read(5000).then((r) => closed = r === null);
      while (!closed && Date.now() - started < 4000) {
        assertEquals(await busy.call("PING"), "+PONG\r\n");
        await new Promise((r) => setTimeout(r, 200));
      }
      await watcher;
      assert(closed, "the idle client was not closed");
      assert(Date.now() - started >= 900, "closed before the timeout");
      assertEquals(await busy.call("PING"), "+PONG\r\n");
    } finally {
      busy.close();
      idle.close();
    }
  });
});

Deno.test("CONFIG SET requirepass, maxmemory and loglevel take effect at once", async () => {
  await withFerric(async (server) => {
    const a = await RawClient.connect(server.port);
    try {
      // requirepass: new connections must authenticate; this one stays authenticated.
      assertEquals(await a.call("CONFIG", "SET", "requirepass", "s3cret"), "+OK\r\n");
      const b = await RawClient.connect(server.port);
      assertMatch(await b.call("GET", "k"), /^-NOAUTH /);
      assertEquals(await a.call("GET", "k"), "$-1\r\n");
      // Clearing it lets the unauthenticated connection in, as Redis does.
      assertEquals(await a.call("CONFIG", "SET", "requirepass", ""), "+OK\r\n");
      assertEquals(await b.call("GET", "k"), "$-1\r\n");
      b.close();
      // maxmemory: below the data's size, writes that add data are refused.
      assertEquals(await a.call("SET", "k", "v"), "+OK\r\n");
      assertEquals(await a.call("CONFIG", "SET", "maxmemory", "1"), "+OK\r\n");
      assertEquals(
        await a.call("SET", "k2", "v"),
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
      );
      assertEquals(await a.call("GET", "k"), "$1\r\nv\r\n");
      assertEquals(await a.call("CONFIG", "SET", "maxmemory", "0"), "+OK\r\n");
      assertEquals(await a.call("SET", "k2", "v"), "+OK\r\n");
      // loglevel reaches the logger.
      assertEquals(await a.call("CONFIG", "SET", "loglevel", "debug"), "+OK\r\n");
      assertEquals(server.log.level, "debug");
      assertEquals(await a.call("CONFIG", "SET", "loglevel", "warning"), "+OK\r\n");
      assertEquals(server.log.level, "warning");
      // A failed multi-parameter set applies nothing.
      assertMatch(await a.call("CONFIG", "SET", "timeout", "5", "maxclients", "x"), /^-ERR /);
      assertEquals(server.config.int("timeout"), 0);
    } finally {
      a.close();
    }
  });
});

/** Starts `main.ts <file>` in a child process; the file's settings apply, then the port. */
async function startFromFile(file: string, port: number) {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, file, "--port", String(port)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) output += new TextDecoder().decode(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await drained;
  };
  try {
    await waitForPort(port);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return { stop };
}

Deno.test("CONFIG REWRITE writes a file the server starts from, keeping comments", async () => {
  const dir = await tempDir("ferric-rewrite-");
  const file = `${dir}/ferric.conf`;
  await Deno.writeTextFile(
    file,
    [
      "# FerricStore test configuration",
      "data-dir " + `${dir}/data`,
      "",
      "# memory",
      "maxmemory 1mb",
      "loglevel warning",
      "",
    ].join("\n"),
  );
  try {
    let port = freePort();
    let child = await startFromFile(file, port);
    try {
      const c = await RawClient.connect(port);
      assertEquals(await c.call("CONFIG", "SET", "maxmemory", "10mb"), "+OK\r\n");
      assertEquals(await c.call("CONFIG", "SET", "timeout", "77"), "+OK\r\n");
      assertEquals(await c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), "+OK\r\n");
      assertEquals(await c.call("CONFIG", "REWRITE"), "+OK\r\n");
      const info = await c.call("INFO", "server");
      assertMatch(info, new RegExp(`\r\nconfig_file:${file}\r\n`));
      c.close();
    } finally {
      await child.stop();
    }
    const text = await Deno.readTextFile(file);
    const lines = text.split("\n");
    assertEquals(lines[0], "# FerricStore test configuration");
    assert(lines.includes("# memory"));
    assert(lines.includes("maxmemory 10485760"));
    assert(!lines.includes("maxmemory 1mb"));
    assert(lines.includes("timeout 77"));
    assert(lines.includes("maxmemory-policy allkeys-lfu"));
    assert(lines.indexOf("maxmemory 10485760") < lines.indexOf("# Generated by CONFIG REWRITE"));
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "data",
      "ferric.conf",
    ]);
    // A new server started from the rewritten file has the values.
    port = freePort();
    child = await startFromFile(file, port);
    try {
      const c = await RawClient.connect(port);
      assertEquals(
        await c.call("CONFIG", "GET", "maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n",
      );
      assertEquals(await c.call("CONFIG", "GET", "timeout"), "*2\r\n$7\r\ntimeout\r\n$2\r\n77\r\n");
      c.close();
    } finally {
      await child.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("INFO: every section, Redis's field names, parseable numbers", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      await c.call("SET", "k", "v");
      await c.call("SET", "t", "v", "EX", "100");
      await c.call("GET", "k");
      await c.call("GET", "nosuch");
      await c.call("NOSUCHCOMMAND");
      const raw = await c.call("INFO", "everything");
      assertMatch(raw, /^\$\d+\r\n# Server\r\n/);
      const text = raw.slice(raw.indexOf("\r\n") + 2, -2);
      const sections = new Map<string, Map<string, string>>();
      let current = new Map<string, string>();
      for (const line of text.split("\r\n")) {
        if (line.startsWith("# ")) sections.set(line.slice(2), current = new Map());
        else if (line !== "") {
          const i = line.indexOf(":");
          current.set(line.slice(0, i), line.slice(i + 1));
        }
      }
      const expected: Record<string, string[]> = {
        Server: [
          "redis_version",
          "redis_mode",
          "os",
          "arch_bits",
          "monotonic_clock",
          "process_id",
          "run_id",
          "tcp_port",
          "uptime_in_seconds",
          "uptime_in_days",
          "hz",
          "executable",
          "config_file",
        ],
        Clients: ["connected_clients", "blocked_clients", "maxclients"],
        Memory: [
          "used_memory",
          "used_memory_human",
          "used_memory_rss",
          "used_memory_rss_human",
          "maxmemory",
          "maxmemory_human",
          "maxmemory_policy",
        ],
        Persistence: ["loading"],
        Stats: [
          "total_connections_received",
          "total_commands_processed",
          "instantaneous_ops_per_sec",
          "total_net_input_bytes",
          "total_net_output_bytes",
          "rejected_connections",
          "expired_keys",
          "evicted_keys",
          "keyspace_hits",
          "keyspace_misses",
          "total_error_replies",
        ],
        Replication: ["role", "connected_slaves"],
        CPU: ["used_cpu_sys", "used_cpu_user"],
        Modules: [],
        Commandstats: ["cmdstat_set", "cmdstat_get"],
        Errorstats: ["errorstat_ERR"],
        Latencystats: ["latency_percentiles_usec_set"],
        Cluster: ["cluster_enabled"],
        Keyspace: ["db0"],
        Namespace_config: ["default_durability", "default_window_ms"],
        Raft: ["cluster_nodes", "shard_0"],
        Bitcask: ["shard_0"],
        FerricStore: ["hot_reads", "cold_reads", "cold_read_ratio"],
        Keydir_analysis: [],
      };
      assertEquals([...sections.keys()], Object.keys(expected));
      for (const [name, fields] of Object.entries(expected)) {
        for (const f of fields) assert(sections.get(name)!.has(f), `${name} lacks ${f}`);
      }
      const num = (section: string, field: string) => {
        const v = sections.get(section)!.get(field)!;
        assertMatch(v, /^-?\d+(\.\d+)?$/, `${field}:${v}`);
        return Number(v);
      };
      for (const [section, fields] of Object.entries(expected)) {
        for (const f of fields) {
          if (
            /human|policy|version|mode|^os$|run_id|executable|config_file|role|^cmdstat|^errorstat|^db\d|^latency_|^shard_|durability|_clock$/
              .test(f)
          ) continue;
          num(section, f);
        }
      }
      assertEquals(sections.get("Server")!.get("tcp_port"), String(server.port));
      assertEquals(sections.get("Server")!.get("process_id"), String(Deno.pid));
      assertEquals(sections.get("Server")!.get("redis_mode"), "standalone");
      // The test run may use FFI (-A): commands are timed by clock_gettime, as Redis's are.
      assertEquals(sections.get("Server")!.get("monotonic_clock"), "POSIX clock_gettime");
      assertEquals(sections.get("Replication")!.get("role"), "master");
      assertEquals(num("Clients", "connected_clients"), 1);
      assertEquals(num("Stats", "keyspace_hits"), 1);
      assertEquals(num("Stats", "keyspace_misses"), 1);
      assertEquals(num("Stats", "total_error_replies"), 1);
      assertEquals(num("Stats", "total_commands_processed"), 4);
      assertEquals(num("Memory", "used_memory"), server.memory.used());
      assert(num("Memory", "used_memory_rss") > 0);
      assertEquals(sections.get("Memory")!.get("maxmemory_human"), "0B");
      assertEquals(sections.get("Errorstats")!.get("errorstat_ERR"), "count=1");
      assertEquals(
        sections.get("Keyspace")!.get("db0")!.replace(/avg_ttl=\d+/, ""),
        "keys=2,expires=1,",
      );
      assertMatch(
        sections.get("Commandstats")!.get("cmdstat_set")!,
        /^calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0$/,
      );
      assertEquals(sections.get("Persistence")!.get("loading"), "0");
      // Section selection.
      const titles = async (...args: string[]) =>
        [...(await c.call("INFO", ...args)).matchAll(/# (\w+)\r\n/g)].map((m) => m[1]);
      const defaults = await titles();
      // INFO without arguments: Redis's default sections (not commandstats, latencystats, nor
      // FerricStore's own).
      const notDefault = [
        "Commandstats",
        "Latencystats",
        "Namespace_config",
        "Raft",
        "Bitcask",
        "FerricStore",
        "Keydir_analysis",
      ];
      assertEquals(defaults, Object.keys(expected).filter((s) => !notDefault.includes(s)));
      assertEquals(await titles("default"), defaults);
      // FerricStore's own sections are like a module's: in "everything", not in "all".
      const ours = ["Namespace_config", "Raft", "Bitcask", "FerricStore", "Keydir_analysis"];
      assertEquals(await titles("everything"), Object.keys(expected));
      assertEquals(await titles("all"), Object.keys(expected).filter((s) => !ours.includes(s)));
      assertEquals(await titles("CLIENTS", "server"), ["Server", "Clients"]);
      assertEquals(
        await titles("commandstats", "default"),
        Object.keys(expected).filter((s) => s === "Commandstats" || !notDefault.includes(s)),
      );
      assertEquals(await c.call("INFO", "nosuchsection"), "$0\r\n\r\n");
      await c.call("HELLO", "3");
      assertMatch(await c.call("INFO", "server"), /^=\d+\r\ntxt:# Server\r\n/);
    } finally {
      c.close();
    }
  });
});

Deno.test("INFO: keyspace and empty selections match redis-server", async () => {
  const d = await Differential.start();
  try {
    const script = [
      "INFO keyspace",
      "SET a 1",
      "SET b 2",
      "SELECT 2",
      "SET c 3",
      "INFO keyspace",
      "INFO nosuch",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
    await d.both("HELLO", "3");
    assertEquals(await d.compare([cmd("INFO keyspace"), cmd("INFO nosuch")]), []);
  } finally {
    await d.close();
  }
});

Deno.test("INFO: instantaneous_ops_per_sec follows the command rate", async () => {
  await withFerric(async (server) => {
    const c = await RawClient.connect(server.port);
    try {
      const rate = async () =>
        Number(/instantaneous_ops_per_sec:(\d+)/.exec(await c.call("INFO", "stats"))![1]);
      assertEquals(await rate(), 0);
      const end = Date.now() + 800;
      while (Date.now() < end) {
        for (let i = 0; i < 20; i++) await c.call("PING");
        await new Promise((r) => setTimeout(r, 5));
      }
      assert((await rate()) > 50, "no rate while busy");
      await new Promise((r) => setTimeout(r, 1800));
      assert((await rate()) <= 2, "the rate did not fall while idle");
    } finally {
      c.close();
    }
  });
});

Deno.test("appendfsync: Redis's fsync policy reads and sets durability and the commit window", async () => {
  const d = await Differential.start({}, {
    redisArgs: ["--appendonly", "yes", "--appendfsync", "always"],
  });
  try {
    assertEquals(
      await d.compare([
        "CONFIG GET appendfsync",
        "CONFIG SET appendfsync sometimes",
        "CONFIG SET appendfsync",
        "CONFIG SET appendfsync EVERYSEC",
        "CONFIG GET appendfsync",
        "CONFIG SET appendfsync no",
        "CONFIG GET appendfsync",
        "CONFIG SET appendfsync always",
        "CONFIG GET appendfsync",
      ].map(cmd)),
      [],
    );
    const get = async (name: string) =>
      (await d.ferric.call("CONFIG", "GET", name)).split("\r\n")[4];
    assertEquals(await d.ferric.call("CONFIG", "SET", "appendfsync", "everysec"), "+OK\r\n");
    assertEquals([await get("durability"), await get("commit-window-ms")], ["async", "1000"]);
    assertEquals(await d.ferric.call("CONFIG", "SET", "appendfsync", "no"), "+OK\r\n");
    assertEquals([await get("durability"), await get("commit-window-ms")], ["async", "10000"]);
    assertEquals(await d.ferric.call("CONFIG", "SET", "appendfsync", "always"), "+OK\r\n");
    assertEquals([await get("durability"), await get("commit-window-ms")], ["sync", "0"]);
    // Read back from the two settings, whichever way they were set.
    assertEquals(
      await d.ferric.call("CONFIG", "SET", "durability", "async", "commit-window-ms", "5"),
      "+OK\r\n",
    );
    assertEquals(await get("appendfsync"), "everysec");
    // The namespaces without settings of their own follow (FERRICSTORE.CONFIG GET of the default).
    assertMatch(await d.ferric.call("FERRICSTORE.CONFIG", "GET", "_default"), /\$5\r\nasync\r\n/);
  } finally {
    await d.close();
  }
});

Deno.test("appendfsync in a config file: later settings win, and CONFIG REWRITE writes what it stands for", () => {
  const config = new Config();
  config.loadFile("a.conf", "appendfsync everysec\ncommit-window-ms 20\n");
  assertEquals(
    [config.str("durability"), config.int("commit-window-ms"), config.format("appendfsync")],
    ["async", 20, "everysec"],
  );
  config.loadFile("b.conf", "commit-window-ms 20\nappendfsync always\n");
  assertEquals([config.str("durability"), config.int("commit-window-ms")], ["sync", 0]);
  config.set("durability", "async", "runtime");
  config.set("commit-window-ms", "3000", "runtime");
  const lines = config.rewrite("# mine\nappendfsync everysec\nport 7000\n").split("\n");
  assertEquals(lines.slice(0, 4), [
    "# mine",
    "durability async",
    "commit-window-ms 3000",
    "port 6379",
  ]);
  assert(!lines.some((l) => l.startsWith("appendfsync")));
});

Deno.test("loadplugin: each source adds to the list; an entry given twice is kept once", () => {
  const config = new Config();
  config.loadFile("a.conf", "loadplugin ./a.ts x\nloadplugin ./b.ts\n");
  config.loadEnv({ FERRICSTORE_LOADPLUGIN: "./c.ts" });
  config.set("loadplugin", "./d.ts", "cli");
  config.set("loadplugin", "./a.ts x", "cli");
  assertEquals(config.list("loadplugin"), ["./a.ts x", "./b.ts", "./c.ts", "./d.ts"]);
});

Deno.test("environment: an unknown FERRICSTORE_* variable is refused like an unknown flag", () => {
  const config = new Config();
  let message = "";
  try {
    config.loadEnv({ FERRICSTORE_MAXMEMORY: "1mb", FERRICSTORE_MAXMEMROY: "1mb", HOME: "/root" });
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message, "environment variable FERRICSTORE_MAXMEMROY: unknown parameter");
});
