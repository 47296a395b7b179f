import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";

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
