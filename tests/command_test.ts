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
      "COMMAND INFO sort sort_ro publish client|help",
      "COMMAND GETKEYSANDFLAGS sort a STORE d",
      "COMMAND GETKEYSANDFLAGS sort a BY w_* GET h->f LIMIT 0 store STORE e",
      "COMMAND GETKEYSANDFLAGS sort a STORE store b",
      "COMMAND GETKEYSANDFLAGS sort_ro a BY w_* GET x",
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

Deno.test("COMMAND INFO matches redis-server for every command both have", async () => {
  const d = await Differential.start();
  const ferric = new Redis(d.server.port, { lazyConnect: true });
  const redis = new Redis(d.redisServer.port, { lazyConnect: true });
  try {
    await ferric.connect();
    await redis.connect();
    // Full name -> entry, subcommands included (COMMAND's tenth field); flags and ACL categories
    // compared as sets.
    const entries = async (client: Redis) => {
      const out = new Map<string, unknown[]>();
      const walk = (e: unknown[]) => {
        out.set(String(e[0]), e);
        for (const sub of (e[9] ?? []) as unknown[][]) walk(sub);
      };
      for (const e of await client.call("COMMAND") as unknown[][]) walk(e);
      return out;
    };
    const [mine, theirs] = [await entries(ferric), await entries(redis)];
    const fields = ["", "arity", "flags", "first key", "last key", "step", "acl", "tips", "keys"];
    // ZRANK and ZREVRANK take Redis 7.2's WITHSCORE (docs/commands.md).
    const newer = new Set(["zrank arity", "zrevrank arity"]);
    const diffs: string[] = [];
    for (const [name, f] of mine) {
      const r = theirs.get(name);
      if (r === undefined) continue;
      for (let i = 1; i <= 8; i++) {
        const show = (e: unknown[]) =>
          JSON.stringify(i === 2 || i === 6 ? [...e[i] as string[]].sort() : e[i]);
        if (show(f) !== show(r) && !newer.has(`${name} ${fields[i]}`)) {
          diffs.push(`${name} ${fields[i]}: ferric ${show(f)}, redis ${show(r)}`);
        }
      }
    }
    assertEquals(diffs, []);
    assert([...mine.keys()].filter((n) => theirs.has(n)).length > 200);
  } finally {
    ferric.disconnect();
    redis.disconnect();
    await d.close();
  }
});
