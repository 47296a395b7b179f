import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";
import { Redis } from "ioredis";

Deno.test("COMMAND INFO / GETKEYS / GETKEYSANDFLAGS match redis-server for the core commands", async () => {
  const d = await Differential.start();
  try {
    await d.both("HELLO", "3");
    const script = [
      "COMMAND INFO get",
      "COMMAND INFO set getex incr append strlen lcs",
      "COMMAND INFO echo ping",
      "COMMAND INFO nosuchcommand",
      "COMMAND GETKEYS set k v",
      "COMMAND GETKEYS get",
      "COMMAND GETKEYS nosuch a",
      "COMMAND GETKEYS ping",
      "COMMAND GETKEYSANDFLAGS set a b",
      "COMMAND GETKEYSANDFLAGS lcs a b",
      "COMMAND NOSUCH",
      "COMMAND LIST FILTERBY PATTERN xyz*",
      "COMMAND LIST FILTERBY BOGUS x",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("COMMAND covers every registered command and subcommand with complete spec data", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    assertEquals(await c.call("COMMAND", "COUNT"), `:${server.registry.size}\r\n`);
    const all = await c.call("COMMAND");
    assertMatch(all, new RegExp(`^\\*${server.registry.size}\\r\\n`));
    for (const command of server.registry.all()) {
      for (const x of [command, ...command.subcommands?.values() ?? []]) {
        const s = x.spec;
        assert(s.summary && s.since && s.group, `${x.fullName} lacks docs fields`);
        assert(x.categories.size > 0, `${x.fullName} has no ACL category`);
        const info = await c.call("COMMAND", "INFO", x.fullName);
        assert(
          info.includes(`$${x.fullName.length}\r\n${x.fullName}\r\n`),
          `${x.fullName} missing from COMMAND INFO`,
        );
      }
      const docs = await c.call("COMMAND", "DOCS", command.name);
      assertMatch(docs, /summary/);
    }
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("COMMAND INFO tips match redis-server for every command both have", async () => {
  const d = await Differential.start();
  const ferric = new Redis(d.server.port, { lazyConnect: true });
  const redis = new Redis(d.redisServer.port, { lazyConnect: true });
  try {
    await ferric.connect();
    await redis.connect();
    // Full name -> tips, subcommands included (COMMAND's tenth field).
    const tipsOf = async (client: Redis) => {
      const out = new Map<string, string>();
      const walk = (e: unknown[]) => {
        out.set(String(e[0]), JSON.stringify(e[7]));
        for (const sub of (e[9] ?? []) as unknown[][]) walk(sub);
      };
      for (const e of await client.call("COMMAND") as unknown[][]) walk(e);
      return out;
    };
    const [mine, theirs] = [await tipsOf(ferric), await tipsOf(redis)];
    const diffs = [...mine].filter(([name, tips]) => theirs.has(name) && theirs.get(name) !== tips)
      .map(([name, tips]) => `${name}: ferric ${tips}, redis ${theirs.get(name)}`);
    assertEquals(diffs, []);
    assert(mine.size > 200 && [...mine.keys()].filter((n) => theirs.has(n)).length > 200);
  } finally {
    ferric.disconnect();
    redis.disconnect();
    await d.close();
  }
});
