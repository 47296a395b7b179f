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
      // Key counts that are not whole, are 0, or run past the arguments: no keys at all.
      "COMMAND GETKEYS zunionstore d 5 a b",
      "COMMAND GETKEYS zunionstore d 2 a b",
      "COMMAND GETKEYS zinterstore d 0 a",
      "COMMAND GETKEYS zunion 0 a",
      "COMMAND GETKEYS zunion abc a",
      "COMMAND GETKEYS zdiff 0 a",
      "COMMAND GETKEYS zunion 1.5 a",
      "COMMAND GETKEYS zunion +1 a",
      "COMMAND GETKEYS zunion 1x a",
      "COMMAND GETKEYS lmpop 5 a left",
      "COMMAND GETKEYS lmpop 1 a left",
      "COMMAND GETKEYS sintercard 5 a",
      "COMMAND GETKEYS sintercard 2 a b",
      "COMMAND GETKEYS blmpop 0 2 a b left",
      "COMMAND GETKEYS zintercard 3 a b",
      "COMMAND GETKEYS mset a",
      "COMMAND GETKEYS echo x",
      "COMMAND NOSUCH",
      "COMMAND LIST FILTERBY PATTERN xyz*",
      "COMMAND LIST FILTERBY BOGUS x",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("COMMAND LIST lists subcommands after their containers, with every filter, as redis-server", async () => {
  const d = await Differential.start();
  try {
    // Redis lists its hash table's order: compare the names as sets.
    const names = async (...args: string[]) =>
      (await d.both("COMMAND", "LIST", ...args)).map((raw) =>
        raw.split("\r\n").filter((l, i) => i > 0 && l && !l.startsWith("$")).sort()
      );
    for (
      const pattern of ["acl*", "config*", "object*", "slowlog*", "pubsub*", "memory*", "latency*"]
    ) {
      const [f, r] = await names("FILTERBY", "PATTERN", pattern);
      assertEquals(f, r, pattern);
    }
    const [f, r] = await names("FILTERBY", "ACLCAT", "pubsub");
    assertEquals(f, r, "ACLCAT pubsub");
    const [all] = await names();
    for (const name of ["acl|cat", "client|kill", "config|get", "get", "role", "wait"]) {
      assert(all.includes(name), `COMMAND LIST lacks ${name}`);
    }
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
    // in Redis's order too (clients print them as they come).
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
        const show = (e: unknown[]) => JSON.stringify(e[i]);
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

/** A reply decoded without loss: its RESP type byte and its text or elements. */
type Tree = [string, string | Tree[]];

/** Decodes the raw reply at `pos` (as {@link RawClient} returns it); returns it and its end. */
function decode(raw: string, pos = 0): [Tree, number] {
  const eol = raw.indexOf("\r\n", pos);
  const type = raw[pos];
  const line = raw.slice(pos + 1, eol);
  if (type === "$") {
    const start = eol + 2;
    return [[type, raw.slice(start, start + Number(line))], start + Number(line) + 2];
  }
  if (!"*%~".includes(type)) return [[type, line], eol + 2];
  const items: Tree[] = [];
  let next = eol + 2;
  for (let i = 0; i < Number(line) * (type === "%" ? 2 : 1); i++) {
    const [item, end] = decode(raw, next);
    items.push(item);
    next = end;
  }
  return [[type, items], next];
}

/**
 * One command's COMMAND DOCS reply with the values of `fields` blanked (the subcommands are
 * compared each on its own); everything else, key order and RESP types included, stays. The
 * summaries are Redis 7.2's (its documentation rewrote them), where 7.0 has older texts.
 */
function without(raw: string, fields = ["summary", "subcommands"]): string {
  const [reply] = decode(raw);
  const entry = (reply[1] as Tree[])[1]; // the map's (or flat array's) second element
  const items = entry[1] as Tree[];
  for (let i = 0; i < items.length; i += 2) {
    if (fields.includes(items[i][1] as string)) items[i + 1] = ["$", "(blanked)"];
  }
  return JSON.stringify(reply);
}

Deno.test("COMMAND DOCS matches redis-server for every command both have, in RESP2 and RESP3", async () => {
  for (const resp3 of [false, true]) {
    const d = await Differential.start({}, { resp3 });
    try {
      const names = [...d.server.registry.all()].filter((c) => !c.plugin).flatMap((c) => [
        c.fullName,
        ...[...c.subcommands?.values() ?? []].map((s) => s.fullName),
      ]);
      const diffs: string[] = [];
      const summaryDiffs: string[] = [];
      let compared = 0;
      for (const name of names) {
        const [f, r] = await d.both("COMMAND", "DOCS", name);
        if (r === (resp3 ? "%0\r\n" : "*0\r\n")) continue; // Redis 7.0 lacks it
        compared++;
        if (!f.includes("subcommands") && !r.includes("subcommands") && f === r) continue;
        const [mine, theirs] = [without(f), without(r)];
        if (mine !== theirs) diffs.push(`${name}\n  ferric: ${mine}\n  redis:  ${theirs}`);
        else if (!f.includes("subcommands")) summaryDiffs.push(name);
      }
      assertEquals(diffs, [], "run `deno task command-docs` after adding a command Redis has");
      assert(compared > 250, `only ${compared} commands compared`);
      // Byte for byte, summary included, where the spec's summary is Redis 7.0's.
      assert(compared - summaryDiffs.length > 150, `${summaryDiffs.length} differ in summary`);
      // Several names at once, unknown ones left out (these specs have Redis 7.0's texts).
      const several = cmd("COMMAND DOCS nosuch zadd sort monitor expire blmpop lolwut");
      const [f, r] = await d.both(...several);
      assertEquals(f, r);
    } finally {
      await d.close();
    }
  }
});

/** A decoded reply as plain JSON values (maps as objects, sets and arrays as arrays). */
function plain([type, v]: Tree): unknown {
  if (type === ":") return Number(v);
  if (typeof v === "string") return v;
  if (type !== "%") return v.map(plain);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < v.length; i += 2) out[v[i][1] as string] = plain(v[i + 1]);
  return out;
}

Deno.test("COMMAND DOCS documents the arguments of the commands Redis 7.0 lacks, HEXPIRE as Redis 7.4", async () => {
  const { FERRIC_DOCS } = await import("../commands/command_docs.ts");
  const d = await Differential.start({}, { resp3: true });
  try {
    const lacking = new Set<string>();
    for (const top of d.server.registry.all()) {
      if (top.plugin) continue;
      for (const c of [top, ...top.subcommands?.values() ?? []]) {
        const [f, r] = await d.both("COMMAND", "DOCS", c.fullName);
        if (r !== "%0\r\n") continue;
        lacking.add(c.fullName);
        // A command that needs arguments documents them.
        if (Math.abs(c.arity) > (c.parent ? 2 : 1)) {
          assertMatch(f, /\$9\r\narguments\r\n/, `${c.fullName} has no arguments in COMMAND DOCS`);
        }
        // Key arguments point at the command's key specs.
        const indexes = [...f.matchAll(/key_spec_index\r\n:(\d+)/g)].map((m) => Number(m[1]));
        for (const i of indexes) assert(i < (c.spec.keys?.length ?? 0), `${c.fullName} key ${i}`);
      }
    }
    for (const name of Object.keys(FERRIC_DOCS)) {
      assert(
        lacking.has(name),
        `${name} is documented by hand but Redis 7.0 has it (or it is gone)`,
      );
    }
    const raw = await d.ferric.call("COMMAND", "DOCS", "hexpire");
    assertMatch(raw, /\$5\r\nflags\r\n~1\r\n\+optional\r\n/);
    const doc = plain(decode(raw)[0]) as Record<string, Record<string, unknown>>;
    const tokens = (...names: string[]) =>
      names.map((n) => ({ name: n, type: "pure-token", token: n.toUpperCase() }));
    assertEquals(doc.hexpire.arguments, [
      { name: "key", type: "key", key_spec_index: 0 },
      { name: "seconds", type: "integer" },
      {
        name: "condition",
        type: "oneof",
        flags: ["optional"],
        arguments: tokens("nx", "xx", "gt", "lt"),
      },
      {
        name: "fields",
        type: "block",
        token: "FIELDS",
        arguments: [
          { name: "numfields", type: "integer" },
          { name: "field", type: "string", flags: ["multiple"] },
        ],
      },
    ]);
    // Plugin commands keep their spec's arguments.
    const cas = plain(decode(await d.ferric.call("COMMAND", "DOCS", "cas"))[0]) as Record<
      string,
      Record<string, unknown>
    >;
    assertEquals(cas.cas.module, "ferricstore.cas");
    assertEquals((cas.cas.arguments as unknown[]).length, 4);
  } finally {
    await d.close();
  }
});
