import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { RawClient, startFerric } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

Deno.test("INFO: FerricStore's sections report real engine state", async () => {
  const server = await startFerric({ "shard-count": 2 });
  const c = await RawClient.connect(server.port);
  try {
    await c.call("FERRICSTORE.CONFIG", "SET", "cache", "durability", "async", "window_ms", "20");
    for (let i = 0; i < 50; i++) await c.call("SET", `user:${i}`, "x".repeat(10));
    await c.call("SET", "cache:a", "1");
    await c.call("GET", "user:1");
    const info = await c.call("INFO", "everything");
    for (
      const title of [
        "Latencystats",
        "Namespace_config",
        "Raft",
        "Bitcask",
        "FerricStore",
        "Keydir_analysis",
      ]
    ) {
      assertMatch(info, new RegExp(`# ${title}\\r\\n`), title);
    }
    assert(info.indexOf("# Errorstats") < info.indexOf("# Latencystats"));
    assertMatch(
      info,
      /latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}/,
    );
    assertMatch(info, /ns_cache:durability=async,window_ms=20,changed_at=\d+/);
    assertMatch(info, /shard_0:role=leader,term=1,commit_index=\d+,applied_index=\d+/);
    assertMatch(info, /shard_1:files=\d+,bytes=[1-9]\d*,dead_bytes=\d+/);
    assertMatch(info, /hot_reads:[1-9]/);
    assertMatch(info, /prefix_user:keys=50,bytes=\d+/);
    const raft = await c.call("INFO", "raft");
    const committed = [...raft.matchAll(/commit_index=(\d+),applied_index=(\d+)/g)];
    assert(committed.every(([, ci, ai]) => Number(ci) <= Number(ai)));
    assert(
      !(await c.call("INFO")).includes("# Raft"),
      "FerricStore sections are not in INFO default",
    );
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("INFO: persistence and I/O fields Redis tools read describe the logs and sockets", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  const field = (info: string, name: string) => info.match(new RegExp(`\\r\\n${name}:(\\S+)`))?.[1];
  try {
    for (let i = 0; i < 5; i++) await c.call("SET", `k${i}`, "v");
    let info = await c.call("INFO", "persistence");
    assertEquals(field(info, "aof_enabled"), "1");
    assertEquals(field(info, "aof_last_write_status"), "ok");
    assertEquals(field(info, "rdb_bgsave_in_progress"), "0");
    assert(Number(field(info, "rdb_changes_since_last_save")) >= 5, info);
    await c.call("SAVE");
    info = await c.call("INFO", "persistence");
    assertEquals(field(info, "rdb_changes_since_last_save"), "0");
    assertEquals(field(info, "rdb_last_save_time"), (await c.call("LASTSAVE")).slice(1, -2));
    const stats = await c.call("INFO", "stats");
    // One socket read and one write per request here (each was sent after the previous reply).
    assert(Number(field(stats, "total_reads_processed")) >= 8, stats);
    assert(Number(field(stats, "total_writes_processed")) >= 8, stats);
    // Memory and CPU fields monitoring dashboards chart.
    const memory = await c.call("INFO", "memory");
    const ratio = Number(field(memory, "mem_fragmentation_ratio"));
    assert(ratio > 0 && ratio < 100, memory);
    assert(Number.isInteger(Number(field(memory, "mem_fragmentation_bytes"))), memory);
    // Latency percentiles as configured (latency-tracking-info-percentiles).
    await c.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 100");
    await c.call("PING");
    assertMatch(
      await c.call("INFO", "latencystats"),
      /\r\nlatency_percentiles_usec_ping:p50=\d+\.\d{3},p100=\d+\.\d{3}\r\n/,
    );
    const cpu = await c.call("INFO", "cpu");
    for (const name of ["used_cpu_user_main_thread", "used_cpu_sys_main_thread"]) {
      assertMatch(field(cpu, name) ?? "", /^\d+\.\d{6}$/, `${name} in ${cpu}`);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("INFO raft: commit and applied indexes count the records recovered at start", async () => {
  const dir = await tempDir("ferric-raft-");
  let server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  let c = await RawClient.connect(server.port);
  for (let i = 0; i < 20; i++) await c.call("SET", `k${i}`, "v");
  c.close();
  await server.close();
  server = await startFerric({ "data-dir": dir, "shard-count": 1 });
  c = await RawClient.connect(server.port);
  try {
    assertMatch(
      await c.call("INFO", "raft"),
      /shard_0:role=leader,term=1,commit_index=20,applied_index=20/,
    );
    await c.call("SET", "one", "more");
    assertMatch(await c.call("INFO", "raft"), /commit_index=21,applied_index=21/);
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("INFO latencystats: commands answered asynchronously without waiting are tracked; blocking ones are not", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    await c.call("COMMAND", "DOCS", "get"); // loads the docs on first use: answered asynchronously
    await c.call("BLPOP", "nothing", "0.05"); // waited: left out, as Redis leaves it out
    const info = await c.call("INFO", "latencystats");
    assertMatch(info, /latency_percentiles_usec_command\|docs:p50=/);
    assert(!info.includes("latency_percentiles_usec_blpop"), info);
  } finally {
    c.close();
    await server.close();
  }
});
