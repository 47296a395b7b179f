/**
 * The plugin API over real sockets: plugins loaded from files, their commands treated as
 * built-ins (COMMAND, ACL, MULTI, WATCH, notifications), load errors, MODULE, throwing handlers,
 * ctx.call, read-only views, and a plugin value type that survives SIGKILL.
 */
import { Redis } from "ioredis";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { encodeCommand, RawClient, spawnFerric, withFerric } from "./_harness.ts";
import {
  loadPlugin,
  loadPlugins,
  moduleCommands,
  PluginLoadError,
  pluginsOf,
  splitWords,
  unloadPlugin,
} from "../plugins/loader.ts";
import { definePlugin } from "../plugins/api.ts";
import { registerNativePlugins as registerNative } from "../plugins/native/mod.ts";
import type { Server } from "../server/server.ts";
import { tempDir } from "./_temp_dir.ts";

const API = new URL("../plugins/mod.ts", import.meta.url).href;
const HELLO = new URL("../plugins/examples/hello.ts", import.meta.url).pathname;
const COUNTMAP = new URL("../plugins/examples/countmap.ts", import.meta.url).pathname;

/** Until the server wires MODULE and the native plugins itself, tests add them. */
function wire(server: Server): void {
  registerNative(server);
  if (!server.registry.get("module")) {
    for (const s of moduleCommands) server.registry.register(s);
    server.acl.defaultUser.apply("+@all", server.registry);
  }
}

/** Runs `fn` with a wired FerricStore and a temporary directory for plugin files. */
async function withServer(
  options: Record<string, string | number | boolean>,
  fn: (server: Server, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tempDir("ferric-plugins-");
  try {
    await withFerric(async (server) => {
      wire(server);
      await fn(server, dir);
    }, options);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Writes a plugin module importing the API as `api`. */
async function pluginFile(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}.ts`;
  await Deno.writeTextFile(path, `import * as api from "${API}";\n${body}\n`);
  return path;
}

async function client(server: Server): Promise<RawClient> {
  return await RawClient.connect(server.port);
}

Deno.test("splitWords: loadplugin lines split on spaces, quotes keep them", () => {
  assertEquals(splitWords(`./p.ts a "b c" 'd e' f\\"g`), ["./p.ts", "a", "b c", "d e", 'f\\"g']);
  assertEquals(splitWords("  "), []);
});

Deno.test("loadPlugin: a plugin file's commands run like built-ins (COMMAND, MODULE LIST, args)", async () => {
  await withServer({}, async (server) => {
    const loaded = await loadPlugin(server, HELLO, ["Howdy"]);
    assertEquals(loaded.plugin.name, "hello");
    assertEquals(loaded.args, ["Howdy"]);
    const c = await client(server);
    try {
      assertEquals(await c.call("hello.world"), "$13\r\nHowdy, world!\r\n");
      assertEquals(await c.call("HELLO.GREET", "Ada"), "$11\r\nHowdy, Ada!\r\n");
      assertEquals(
        await c.call("HELLO.GREET"),
        "-ERR wrong number of arguments for 'hello.greet' command\r\n",
      );
      // Described exactly as GET (arity 2, readonly fast, @read @string @fast, key RO ACCESS),
      // plus the module flag.
      const get = await c.call("COMMAND", "INFO", "get");
      assertEquals(
        await c.call("COMMAND", "INFO", "hello.shout"),
        get.replace("$3\r\nget\r\n", "$11\r\nhello.shout\r\n")
          .replace("*2\r\n+readonly\r\n+fast\r\n", "*3\r\n+readonly\r\n+fast\r\n+module\r\n"),
      );
      assert(get.includes("*2\r\n+readonly\r\n+fast\r\n"), get);
      assertEquals(await c.call("COMMAND", "GETKEYS", "hello.shout", "k1"), "*1\r\n$2\r\nk1\r\n");
      const docs = await c.call("COMMAND", "DOCS", "hello.world");
      assert(docs.includes("$6\r\nmodule\r\n$5\r\nhello\r\n"), docs);
      assert(docs.includes("$5\r\ngroup\r\n$6\r\nmodule\r\n"), docs);
      assertEquals(
        await c.call("COMMAND", "LIST", "FILTERBY", "MODULE", "hello"),
        "*5\r\n" + ["hello.world", "hello.greet", "hello.shout", "hello.append", "hello.calls"]
          .map((n) => `$${n.length}\r\n${n}\r\n`).join(""),
      );
      const list = await c.call("MODULE", "LIST");
      // The native plugins come first, then hello with its path and arguments (RESP2: flat maps).
      assertMatch(list, /^\*5\r\n/);
      assert(
        list.endsWith(
          `*8\r\n$4\r\nname\r\n$5\r\nhello\r\n$3\r\nver\r\n:10000\r\n$4\r\npath\r\n$${HELLO.length}\r\n${HELLO}\r\n$4\r\nargs\r\n*1\r\n$5\r\nHowdy\r\n`,
        ),
        list,
      );
      assert(
        list.includes(
          "$4\r\nname\r\n$15\r\nferricstore.cas\r\n$3\r\nver\r\n:100\r\n$4\r\npath\r\n$9\r\n<builtin>\r\n$4\r\nargs\r\n*0\r\n",
        ),
      );
      await c.call("HELLO", "3");
      assertMatch(await c.call("MODULE", "LIST"), /^\*5\r\n%4\r\n\$4\r\nname\r\n/);
    } finally {
      c.close();
    }
  });
});

Deno.test("loadPlugins: every loadplugin entry in order, with its arguments; the first failure throws", async () => {
  await withServer({}, async (server, dir) => {
    const bad = await pluginFile(dir, "bad", `export default 42;`);
    await loadPlugins(server, [`${HELLO} "Good day"`, COUNTMAP]);
    assertEquals(pluginsOf(server).slice(-2).map((p) => [p.plugin.name, p.args]), [
      ["hello", ["Good day"]],
      ["countmap", []],
    ]);
    await assertRejects(
      () => loadPlugins(server, [bad]),
      (e: Error) =>
        e instanceof PluginLoadError &&
        e.message ===
          `plugin ${bad}: the module's default export is not a plugin (export default definePlugin({ ... }))`,
    );
  });
});

Deno.test("loadPlugin: errors name the plugin and the command, and nothing stays registered", async () => {
  await withServer({}, async (server, dir) => {
    const cmd = (name: string, extra = "") =>
      `api.defineCommand({ name: "${name}", arity: 1, flags: [], summary: "s", handler: () => api.OK${extra} })`;
    const cases: [string, string, string][] = [
      [
        "clash",
        `export default api.definePlugin({ name: "clash", version: "1.0.0", commands: [${
          cmd("clash.a")
        }, ${cmd("get")}] });`,
        "plugin 'clash': command 'get' is already registered as a built-in command",
      ],
      [
        "dup",
        `export default api.definePlugin({ name: "dup", version: "1.0.0", commands: [${
          cmd("dup.a")
        }, ${cmd("dup.a")}] });`,
        "plugin 'dup': command 'dup.a' is already registered by plugin 'dup'",
      ],
      [
        "arity",
        `export default api.definePlugin({ name: "arity", version: "1.0.0", commands: [api.defineCommand({ name: "arity.a", arity: 0, flags: [], summary: "s", handler: () => 1 })] });`,
        "plugin 'arity': command 'arity.a': arity must be a non-zero integer",
      ],
      [
        "upper",
        `export default api.definePlugin({ name: "upper", version: "1.0.0", commands: [${
          cmd("Upper.A")
        }] });`,
        "plugin 'upper': command 'Upper.A': name must be lower-case letters, digits or _ . : -",
      ],
      [
        "nohandler",
        `export default api.definePlugin({ name: "nohandler", version: "1.0.0", commands: [api.defineCommand({ name: "nohandler.a", arity: 1, flags: [], summary: "s" })] });`,
        "plugin 'nohandler': command 'nohandler.a': needs a handler or subcommands",
      ],
      [
        "onload",
        `export default api.definePlugin({ name: "onload", version: "1.0.0", commands: [${
          cmd("onload.a")
        }], onLoad() { throw new Error("no config"); } });`,
        "plugin 'onload': onLoad failed: no config",
      ],
      [
        "type",
        `export default api.definePlugin({ name: "type", version: "1.0.0", commands: [${
          cmd("type.a")
        }], types: [{ name: "hash", decode: () => { throw new Error(); } }] });`,
        "plugin 'type': value type 'hash' is already registered as a built-in type",
      ],
    ];
    for (const [name, body, message] of cases) {
      const path = await pluginFile(dir, name, body);
      await assertRejects(
        () => loadPlugin(server, path),
        (e: Error) => {
          assertEquals(e.message, `plugin ${path}: ${message}`);
          return e instanceof PluginLoadError;
        },
      );
      assertEquals(server.registry.get(`${name}.a`), undefined, name);
      assert(!pluginsOf(server).some((p) => p.plugin.name === name), name);
    }
    assertEquals(server.registry.get("get")?.plugin, undefined);
    // A module that cannot be imported, and a plugin loaded twice.
    const broken = await pluginFile(dir, "broken", "export default {{;");
    await assertRejects(
      () => loadPlugin(server, broken),
      (e: Error) => e.message.startsWith(`plugin ${broken}: cannot import: `),
    );
    await assertRejects(
      () => loadPlugin(server, `${dir}/missing.ts`),
      (e: Error) => e.message.startsWith(`plugin ${dir}/missing.ts: cannot import: `),
    );
    await loadPlugin(server, HELLO);
    await assertRejects(
      () => loadPlugin(server, HELLO),
      (e: Error) =>
        e.message === `plugin ${HELLO}: plugin 'hello' is already loaded (from ${HELLO})`,
    );
    // definePlugin itself refuses a malformed definition when the module is imported.
    const v = await pluginFile(
      dir,
      "version",
      `export default api.definePlugin({ name: "v", version: "one", commands: [] });`,
    );
    await assertRejects(
      () => loadPlugin(server, v),
      (e: Error) =>
        e.message.includes("definePlugin: plugin 'v': version must be 'major.minor.patch'"),
    );
  });
});

Deno.test("MODULE: LOAD and UNLOAD refused unless enable-module-command; LOAD, LIST, UNLOAD, HELP", async () => {
  await withServer({}, async (server, dir) => {
    const c = await client(server);
    try {
      const refused =
        '-ERR MODULE command not allowed. If the enable-module-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n';
      assertEquals(await c.call("MODULE", "LOAD", HELLO), refused);
      assertEquals(await c.call("MODULE", "UNLOAD", "hello"), refused);
      assertEquals(
        await c.call("CONFIG", "GET", "enable-module-command"),
        "*2\r\n$21\r\nenable-module-command\r\n$2\r\nno\r\n",
      );
      server.config.set("enable-module-command", "local", "cli");
      assertEquals(await c.call("MODULE", "LOAD", HELLO, "Salut"), "+OK\r\n");
      assertEquals(await c.call("HELLO.WORLD"), "$13\r\nSalut, world!\r\n");
      assertEquals(
        await c.call("MODULE", "LOAD", `${dir}/nope.ts`),
        "-ERR Error loading the extension. Please check the server logs.\r\n",
      );
      assertEquals(
        await c.call("MODULE", "LOAD", HELLO),
        "-ERR Error loading the extension. Please check the server logs.\r\n",
      );
      assertEquals(await c.call("MODULE", "LOAD", COUNTMAP), "+OK\r\n");
      assertEquals(
        await c.call("MODULE", "UNLOAD", "countmap"),
        "-ERR Error unloading module: the module exports one or more module-side data types, can't unload\r\n",
      );
      assertEquals(
        await c.call("MODULE", "UNLOAD", "ferricstore.cas"),
        "-ERR Error unloading module: operation not possible.\r\n",
      );
      assertEquals(
        await c.call("MODULE", "UNLOAD", "nope"),
        "-ERR Error unloading module: no such module with that name\r\n",
      );
      assertEquals(await c.call("MODULE", "UNLOAD", "hello"), "+OK\r\n");
      assertMatch(await c.call("HELLO.WORLD"), /^-ERR unknown command 'HELLO.WORLD'/);
      assert(!(await c.call("MODULE", "LIST")).includes("hello"));
      // Loaded again after unloading (the module is cached; the plugin registers afresh).
      assertEquals(await c.call("MODULE", "LOAD", HELLO), "+OK\r\n");
      assertEquals(await c.call("HELLO.WORLD"), "$13\r\nHello, world!\r\n");
      assertEquals(
        await c.call("MODULE", "HELP"),
        "*9\r\n+MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+LIST\r\n+    Return a list of loaded modules.\r\n+LOAD <path> [<arg> ...]\r\n+    Load a module library from <path>, passing to it any optional arguments.\r\n+UNLOAD <name>\r\n+    Unload a module.\r\n+HELP\r\n+    Prints this help.\r\n",
      );
      assertEquals(
        await c.call("MODULE", "FOO"),
        "-ERR unknown subcommand 'FOO'. Try MODULE HELP.\r\n",
      );
    } finally {
      c.close();
    }
  });
});

Deno.test("a throwing handler answers -ERR, logs a line naming the plugin, and the server keeps serving", async () => {
  const dir = await tempDir("ferric-plugins-");
  const logfile = `${dir}/server.log`;
  await withServer({ logfile }, async (server) => {
    const path = await pluginFile(
      dir,
      "boom",
      `
      export default api.definePlugin({ name: "boom", version: "1.0.0", commands: [
        api.defineCommand({ name: "boom.sync", arity: 1, flags: [], summary: "s",
          handler() { throw new Error("kaboom"); } }),
        api.defineCommand({ name: "boom.async", arity: 1, flags: [], summary: "s",
          async handler() { await new Promise((r) => setTimeout(r, 5)); throw new TypeError("later"); } }),
        api.defineCommand({ name: "boom.resp", arity: 1, flags: [], summary: "s",
          handler() { throw api.Errors.wrongType; } }),
        api.defineCommand({ name: "boom.write", arity: 2, flags: ["write"], summary: "s",
          keys: [api.keys.one(1, "RW", "UPDATE")],
          handler(ctx, argv) { ctx.db.set(api.latin1(argv[1]), new Uint8Array([49]), 0); throw new Error("after write"); } }),
      ] });`,
    );
    await loadPlugin(server, path);
    const c = await client(server);
    try {
      assertEquals(await c.call("BOOM.SYNC"), "-ERR kaboom\r\n");
      assertEquals(await c.call("BOOM.ASYNC"), "-ERR later\r\n");
      assertEquals(
        await c.call("BOOM.RESP"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      // A write made before the throw stands (as a Redis module's would).
      assertEquals(await c.call("BOOM.WRITE", "k"), "-ERR after write\r\n");
      assertEquals(await c.call("GET", "k"), "$1\r\n1\r\n");
      assertEquals(await c.call("PING"), "+PONG\r\n");
      assertMatch(await c.call("INFO", "errorstats"), /errorstat_ERR:count=3/);
    } finally {
      c.close();
    }
    const log = await Deno.readTextFile(logfile);
    assertMatch(log, /warning \[plugin:boom\] command 'boom\.sync' failed: Error: kaboom/);
    assertMatch(log, /warning \[plugin:boom\] command 'boom\.async' failed: TypeError: later/);
    assert(!log.includes("boom.resp"), log);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ACL applies to plugin commands (categories, keys) and to ctx.call as the calling user", async () => {
  await withServer({}, async (server) => {
    await loadPlugin(server, HELLO);
    await loadPlugin(server, COUNTMAP);
    const admin = await client(server);
    const c = await client(server);
    try {
      assertEquals(
        await admin.call("ACL", "SETUSER", "reader", "on", ">pw", "+@all", "-@write", "~*"),
        "+OK\r\n",
      );
      assertEquals(
        await admin.call(
          "ACL",
          "SETUSER",
          "appender",
          "on",
          ">pw",
          "+hello.append",
          "+get",
          "~app:*",
        ),
        "+OK\r\n",
      );
      assertEquals(
        await admin.call("ACL", "SETUSER", "keyed", "on", ">pw", "+@all", "~mine:*"),
        "+OK\r\n",
      );
      assertEquals(await admin.call("SET", "app:1", "x"), "+OK\r\n");

      assertEquals(await c.call("AUTH", "reader", "pw"), "+OK\r\n");
      assertEquals(await c.call("HELLO.SHOUT", "app:1"), "$1\r\nX\r\n");
      assertEquals(await c.call("CMAP.GET", "m", "f"), "$-1\r\n");
      assertEquals(
        await c.call("CMAP.INCRBY", "m", "f", "1"),
        "-NOPERM this user has no permissions to run the 'cmap.incrby' command\r\n",
      );
      assertEquals(
        await c.call("HELLO.APPEND", "app:1", "y"),
        "-NOPERM this user has no permissions to run the 'hello.append' command\r\n",
      );

      // Allowed the plugin command but not APPEND: the nested call is refused as this user.
      assertEquals(await c.call("AUTH", "appender", "pw"), "+OK\r\n");
      assertEquals(
        await c.call("HELLO.APPEND", "app:1", "y"),
        "-NOPERM this user has no permissions to run the 'append' command\r\n",
      );
      assertEquals(
        await c.call("HELLO.APPEND", "other", "y"),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
      );
      assertEquals(await admin.call("ACL", "SETUSER", "appender", "+append"), "+OK\r\n");
      assertEquals(await c.call("HELLO.APPEND", "app:1", "y"), "$2\r\nxy\r\n");

      // Key patterns apply to plugin commands through their key specs.
      assertEquals(await c.call("AUTH", "keyed", "pw"), "+OK\r\n");
      assertEquals(await c.call("CMAP.INCRBY", "mine:m", "f", "2"), ":2\r\n");
      assertEquals(
        await c.call("CMAP.INCRBY", "yours:m", "f", "2"),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
      );
      const log = await admin.call("ACL", "LOG", "1");
      assert(log.includes("yours:m"), log);
      assertEquals(
        await admin.call("ACL", "DRYRUN", "reader", "CMAP.INCRBY", "m", "f", "1"),
        "$61\r\nThis user has no permissions to run the 'cmap.incrby' command\r\n",
      );
    } finally {
      c.close();
      admin.close();
    }
  });
});

Deno.test("read-only commands get a read-only view of the database", async () => {
  await withServer({}, async (server, dir) => {
    const path = await pluginFile(
      dir,
      "ro",
      `
      export default api.definePlugin({ name: "ro", version: "1.0.0", commands: [
        api.defineCommand({ name: "ro.sneak", arity: 2, flags: ["readonly"], summary: "s",
          keys: [api.keys.one(1, "RO")],
          handler(ctx, argv) {
            const db = ctx.db as unknown as { set?: unknown; delete?: unknown; effect?: unknown };
            if (db.set !== undefined || db.delete !== undefined || db.effect !== undefined) return "writable";
            const e = ctx.db.get(api.latin1(argv[1]));
            return [ctx.db.index, ctx.db.exists(api.latin1(argv[1])) ? 1 : 0, e ? e.value as Uint8Array : null, ctx.db.size()];
          } }),
      ] });`,
    );
    await loadPlugin(server, path);
    const c = await client(server);
    try {
      await c.call("SELECT", "2");
      await c.call("SET", "k", "v");
      assertEquals(await c.call("RO.SNEAK", "k"), "*4\r\n:2\r\n:1\r\n$1\r\nv\r\n:1\r\n");
      assertEquals(await c.call("RO.SNEAK", "nope"), "*4\r\n:2\r\n:0\r\n$-1\r\n:1\r\n");
    } finally {
      c.close();
    }
  });
});

Deno.test("plugin writes: WATCH aborts EXEC, keyspace notifications, MULTI queueing, tracking", async () => {
  await withServer({ "notify-keyspace-events": "KEA" }, async (server) => {
    await loadPlugin(server, COUNTMAP);
    const a = await client(server);
    const b = await client(server);
    const sub = await client(server);
    try {
      assertEquals(
        await sub.call("SUBSCRIBE", "__keyspace@0__:m"),
        "*3\r\n$9\r\nsubscribe\r\n$16\r\n__keyspace@0__:m\r\n:1\r\n",
      );
      assertEquals(await a.call("WATCH", "m"), "+OK\r\n");
      assertEquals(await b.call("CMAP.INCRBY", "m", "f", "5"), ":5\r\n");
      assertEquals(
        await sub.read(),
        "*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:m\r\n$11\r\ncmap.incrby\r\n",
      );
      assertEquals(await a.call("MULTI"), "+OK\r\n");
      assertEquals(await a.call("CMAP.INCRBY", "m", "f", "1"), "+QUEUED\r\n");
      assertEquals(await a.call("EXEC"), "*-1\r\n");
      // Inside MULTI the plugin command is queued and runs in EXEC like any command.
      assertEquals(await a.call("MULTI"), "+OK\r\n");
      assertEquals(await a.call("CMAP.INCRBY", "m", "f", "1"), "+QUEUED\r\n");
      assertEquals(
        await a.call("CMAP.INCRBY", "m", "g"),
        "-ERR wrong number of arguments for 'cmap.incrby' command\r\n",
      );
      assertEquals(
        await a.call("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
      );
      assertEquals(await a.call("MULTI"), "+OK\r\n");
      await a.call("CMAP.INCRBY", "m", "f", "1");
      await a.call("CMAP.DEL", "m", "f");
      assertEquals(await a.call("EXEC"), "*2\r\n:6\r\n:1\r\n");
      assertEquals(
        await sub.read(),
        "*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:m\r\n$11\r\ncmap.incrby\r\n",
      );
      assertEquals(
        await sub.read(),
        "*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:m\r\n$8\r\ncmap.del\r\n",
      );
      assertEquals(
        await sub.read(),
        "*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:m\r\n$3\r\ndel\r\n",
      );
      assertEquals(await a.call("EXISTS", "m"), ":0\r\n");
      // Client tracking: a plugin write invalidates what a tracking client read.
      assertEquals(await b.call("HELLO", "3") !== "", true);
      assertEquals(await b.call("CLIENT", "TRACKING", "ON"), "+OK\r\n");
      await a.call("CMAP.INCRBY", "t", "f", "1");
      assertEquals(await b.call("CMAP.GET", "t", "f"), ":1\r\n");
      await a.call("CMAP.INCRBY", "t", "f", "1");
      assertEquals(await b.read(), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nt\r\n");
      assertEquals(await a.call("TYPE", "t"), "+countmap\r\n");
      assertEquals(await a.call("OBJECT", "ENCODING", "t"), "$3\r\nraw\r\n");
      assertEquals(await a.call("SET", "s", "x"), "+OK\r\n");
      assertEquals(
        await a.call("CMAP.INCRBY", "s", "f", "1"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      assertEquals(
        await a.call("CMAP.INCRBY", "t", "f", "9223372036854775807"),
        "-ERR increment or decrement would overflow\r\n",
      );
    } finally {
      a.close();
      b.close();
      sub.close();
    }
  });
});

Deno.test("ctx.call: replies, errors, one atomic batch, blocking commands answer at once, callAsync", async () => {
  await withServer({}, async (server, dir) => {
    const path = await pluginFile(
      dir,
      "caller",
      `
      export default api.definePlugin({ name: "caller", version: "1.0.0", commands: [
        api.defineCommand({ name: "caller.run", arity: -2, flags: ["write"], summary: "s",
          handler: (ctx, argv) => ctx.call(...argv.slice(1)) }),
        api.defineCommand({ name: "caller.async", arity: -2, flags: ["write"], summary: "s",
          handler: (ctx, argv) => ctx.callAsync(...argv.slice(1)) }),
        api.defineCommand({ name: "caller.two", arity: 1, flags: ["write"], summary: "s",
          handler(ctx) {
            const a = ctx.call("INCR", "n");
            const b = ctx.call("INCR", "n");
            return [a, b, ctx.call("GET", "n"), ctx.call("NOPE")];
          } }),
      ] });`,
    );
    await loadPlugin(server, path);
    const c = await client(server);
    try {
      assertEquals(await c.call("CALLER.RUN", "SET", "k", "v"), "+OK\r\n");
      assertEquals(await c.call("CALLER.RUN", "GET", "k"), "$1\r\nv\r\n");
      assertEquals(
        await c.call("CALLER.RUN", "LPUSH", "k", "x"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
      );
      assertEquals(
        await c.call("CALLER.TWO"),
        "*4\r\n:1\r\n:2\r\n$1\r\n2\r\n-ERR unknown command 'NOPE', with args beginning with: \r\n",
      );
      // BLPOP inside a plugin command cannot block: it answers as inside MULTI.
      assertEquals(await c.call("CALLER.RUN", "BLPOP", "nolist", "0"), "*-1\r\n");
      assertEquals(
        await c.call("CALLER.RUN", "FERRICSTORE.COMPACT"),
        "-ERR ctx.call: 'ferricstore.compact' answers asynchronously: use ctx.callAsync\r\n",
      );
      assertEquals(await c.call("CALLER.ASYNC", "FERRICSTORE.COMPACT"), "+OK\r\n");
      assertEquals(
        await c.call("CALLER.RUN", "RATELIMIT.ADD", "rl", "1000", "1"),
        "*4\r\n$7\r\nallowed\r\n:1\r\n:0\r\n:1000\r\n",
      );
      // The nested command is counted as a call of its own.
      assertMatch(await c.call("INFO", "commandstats"), /cmdstat_incr:calls=2,/);
    } finally {
      c.close();
    }
  });
});

/** main.ts as a child, stopped with SIGKILL. */
async function spawnKillable(flags: string[]): Promise<{ port: number; kill(): Promise<void> }> {
  const child = await spawnFerric(["--loglevel", "warning", ...flags]);
  return {
    port: child.port,
    async kill() {
      await child.stop("SIGKILL");
    },
  };
}

async function getAll(c: RawClient): Promise<string[]> {
  const out: string[] = [];
  for (const k of ["m0", "m1", "m2", "m3"]) out.push(await c.call("CMAP.GETALL", k));
  return out;
}

Deno.test("a plugin value type survives SIGKILL: element effects, then a compaction snapshot", async () => {
  const dir = await tempDir("ferric-plugins-");
  const data = `${dir}/data`;
  const flags = ["--data-dir", data, "--shard-count", "2", "--loadplugin", COUNTMAP];
  try {
    let child = await spawnKillable(flags);
    let c = await RawClient.connect(child.port);
    for (let i = 0; i < 20; i++) await c.call("CMAP.INCRBY", `m${i % 4}`, `f${i % 3}`, String(i));
    assertEquals(await c.call("CMAP.DEL", "m0", "f0"), ":1\r\n");
    const before = await getAll(c);
    c.close();
    await child.kill();

    child = await spawnKillable(flags);
    c = await RawClient.connect(child.port);
    assertEquals(await getAll(c), before);
    assertEquals(await c.call("TYPE", "m1"), "+countmap\r\n");
    assertEquals(await c.call("FERRICSTORE.COMPACT"), "+OK\r\n");
    assertEquals(await c.call("CMAP.INCRBY", "m1", "new", "7"), ":7\r\n");
    const after = await getAll(c);
    c.close();
    await child.kill();

    child = await spawnKillable(flags);
    c = await RawClient.connect(child.port);
    assertEquals(await getAll(c), after);
    c.close();
    await child.kill();

    // Without the plugin, recovery cannot rebuild its values: the server refuses to start
    // rather than drop data.
    await assertRejects(
      () => spawnKillable(["--data-dir", data, "--shard-count", "2"]),
      /unknown value type 'countmap'/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "main.ts --loadplugin: plugin writes survive SIGKILL",
  async fn() {
    const dir = await tempDir("ferric-plugins-");
    try {
      const flags = ["--data-dir", dir, "--loadplugin", COUNTMAP, "--loadplugin", HELLO, "Hey"];
      let child = await spawnFerric(flags);
      let c = await RawClient.connect(child.port);
      assertEquals(await c.call("CMAP.INCRBY", "m", "f", "41"), ":41\r\n");
      assertEquals(await c.call("CMAP.INCRBY", "m", "f", "1"), ":42\r\n");
      assertEquals(await c.call("HELLO.WORLD"), "$11\r\nHey, world!\r\n");
      c.close();
      await child.stop("SIGKILL");
      child = await spawnFerric(flags);
      c = await RawClient.connect(child.port);
      assertEquals(await c.call("CMAP.GET", "m", "f"), ":42\r\n");
      c.close();
      await child.stop("SIGKILL");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ioredis: plugin commands through a real client, errors as ReplyError", async () => {
  await withServer({}, async (server) => {
    await loadPlugin(server, HELLO);
    const r = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    await r.connect();
    try {
      assertEquals(await r.call("HELLO.GREET", "Grace"), "Hello, Grace!");
      await r.set("k", "abc");
      assertEquals(await r.call("HELLO.SHOUT", "k"), "ABC");
      await assertRejects(
        () => r.call("HELLO.GREET"),
        /wrong number of arguments for 'hello.greet'/,
      );
      const results = await r.pipeline().call("HELLO.WORLD").call("HELLO.CALLS").exec();
      assertEquals(results, [[null, "Hello, world!"], [null, 3]]);
    } finally {
      r.disconnect();
    }
  });
});

Deno.test("registerPlugin: plugin objects in-process, onLoad/onUnload, unload removes commands", async () => {
  await withServer({}, async (server) => {
    const events: string[] = [];
    const { registerPlugin } = await import("../plugins/loader.ts");
    const { defineCommand } = await import("../plugins/api.ts");
    const plugin = definePlugin({
      name: "life",
      version: 3,
      commands: [
        defineCommand({
          name: "life.x",
          arity: 1,
          flags: ["fast"],
          summary: "s",
          handler: () => 1,
        }),
      ],
      onLoad: ({ args }) => void events.push(`load ${args.join(",")}`),
      onUnload: () => void events.push("unload"),
    });
    await registerPlugin(server, plugin, { args: ["a", "b"] });
    assertEquals(server.registry.get("life.x")?.plugin, "life");
    assertEquals(pluginsOf(server).at(-1)?.path, "<memory>");
    assertEquals(pluginsOf(server).at(-1)?.plugin.ver, 3);
    await unloadPlugin(server, "life");
    assertEquals(server.registry.get("life.x"), undefined);
    assertEquals(events, ["load a,b", "unload"]);
    // Native plugins are registered once however often one asks.
    const n = pluginsOf(server).length;
    registerNative(server);
    assertEquals(pluginsOf(server).length, n);
    const c = await client(server);
    try {
      await c.write(encodeCommand(["LIFE.X"]));
      assertMatch((await c.read())!, /^-ERR unknown command 'LIFE.X'/);
    } finally {
      c.close();
    }
  });
});

Deno.test("loadPlugin: a plugin importing the server's own mod.ts by absolute URL loads; one made with another copy is refused by name", async () => {
  const dir = await tempDir("ferric-plugin-copy-");
  const mod = new URL("../mod.ts", import.meta.url).href;
  const source = (from: string) =>
    `import { defineCommand, definePlugin } from "${from}";\n` +
    `export default definePlugin({ name: "copytest", version: "1.0.0", commands: [\n` +
    `  defineCommand({ name: "copytest.ping", arity: 1, flags: ["fast"], summary: "s",\n` +
    `    handler: () => "pong" }),\n]});\n`;
  await Deno.writeTextFile(`${dir}/same.ts`, source(mod));
  // The same files under another path (a symbolic link to the repository) are another copy.
  await Deno.symlink(new URL("..", import.meta.url).pathname, `${dir}/copy`);
  await Deno.writeTextFile(`${dir}/other.ts`, source(`${dir}/copy/mod.ts`));
  try {
    await withServer({}, async (server) => {
      await loadPlugin(server, `${dir}/same.ts`);
      const c = await client(server);
      try {
        await c.write(encodeCommand(["COPYTEST.PING"]));
        assertEquals(await c.read(), "$4\r\npong\r\n");
      } finally {
        c.close();
      }
      await unloadPlugin(server, "copytest");
      await assertRejects(
        () => loadPlugin(server, `${dir}/other.ts`),
        PluginLoadError,
        "made with another copy of FerricStore's mod.ts",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an async plugin command inside MULTI/EXEC: nothing is served in the middle, and a client gone meanwhile runs nothing", async () => {
  await withServer({}, async (server, dir) => {
    const path = await pluginFile(
      dir,
      "slow",
      `
      export default api.definePlugin({ name: "slow", version: "1.0.0", commands: [
        api.defineCommand({ name: "slow.wait", arity: 2, flags: [], summary: "waits ms",
          async handler(_ctx, argv) {
            await new Promise((r) => setTimeout(r, Number(api.latin1(argv[1]))));
            return api.OK;
          } }),
      ] });`,
    );
    await loadPlugin(server, path);
    const [a, b, w1, w2, gone] = await Promise.all([0, 1, 2, 3, 4].map(() => client(server)));
    try {
      // w2 times out while EXEC waits: its end must not serve w1 from the key EXEC pushed to.
      await w1.write(encodeCommand(["BLPOP", "l", "0"]));
      await w2.write(encodeCommand(["BLPOP", "other", "0.1"]));
      assertEquals(await a.call("MULTI"), "+OK\r\n");
      for (const line of [["RPUSH", "l", "x"], ["SLOW.WAIT", "400"], ["LPOP", "l"]]) {
        assertEquals(await a.call(...line), "+QUEUED\r\n");
      }
      await a.write(encodeCommand(["EXEC"]));
      // A client that sends a blocking pop while EXEC waits and then disconnects leaves no
      // waiter behind to take a later push.
      await new Promise((r) => setTimeout(r, 50));
      await gone.write(encodeCommand(["BLPOP", "l2", "0"]));
      await new Promise((r) => setTimeout(r, 20));
      gone.close();
      assertEquals(await a.read(), "*3\r\n:1\r\n+OK\r\n$1\r\nx\r\n");
      assertEquals(await w2.read(), "*-1\r\n");
      assertEquals(await b.call("RPUSH", "l2", "kept"), ":1\r\n");
      assertEquals(await b.call("LLEN", "l2"), ":1\r\n");
      assertMatch(await b.call("INFO", "clients"), /blocked_clients:1\r\n/);
      assertEquals(await b.call("RPUSH", "l", "y"), ":1\r\n");
      assertEquals(await w1.read(), "*2\r\n$1\r\nl\r\n$1\r\ny\r\n");
    } finally {
      for (const c of [a, b, w1, w2]) c.close();
    }
  });
});
