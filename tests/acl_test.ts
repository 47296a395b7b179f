import * as net from "node:net";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { cmd, Differential, RawClient, startFerric } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

const SETUP = [
  "ACL SETUSER bob on >pw ~key:* %R~ro:* %W~wo:* &chan* +@string +@pubsub -set +get (+hget ~h*)",
  "ACL SETUSER carol on nopass ~* &* +@all -@dangerous",
  "ACL SETUSER dan reset",
  "ACL SETUSER erin on >a >b",
];

Deno.test("acl: users, rules and errors match redis-server", async () => {
  const d = await Differential.start();
  try {
    const script = [
      ...SETUP,
      "ACL LIST",
      "ACL USERS",
      "ACL GETUSER bob",
      "ACL GETUSER carol",
      "ACL GETUSER dan",
      "ACL GETUSER nobody",
      "ACL SETUSER bob +foo",
      "ACL SETUSER bob +@nosuch",
      "ACL SETUSER bob ~x allkeys ~y",
      "ACL SETUSER bob #abc",
      "ACL SETUSER bob <nopw",
      "ACL SETUSER bob %X~k",
      "ACL SETUSER bob bogus",
      // Selectors left open; rules checked after allkeys; doubled permissions.
      "ACL SETUSER u3 (+set ~b*",
      "ACL SETUSER u3 on (+get ~a*) (+set",
      "ACL SETUSER carol %X~k",
      "ACL SETUSER carol %~k",
      "ACL SETUSER bob %RR~k",
      "ACL SETUSER bob %RW~k2",
      // An empty rule is no rule; only ~* and allkeys mean every key, %RW~* is a pattern.
      'ACL SETUSER bob ""',
      "ACL SETUSER y reset %RW~*",
      "ACL SETUSER y %R~w*",
      "ACL GETUSER y",
      "ACL DELUSER y",
      "CONFIG SET acllog-max-len -1",
      "CONFIG SET acllog-max-len 2",
      "CONFIG GET acllog-max-len",
      "CONFIG SET acllog-max-len 128",
      "ACL LOG -1",
      "ACL LOG x",
      "ACL LOG 1 2",
      'ACL SETUSER "a b"',
      'ACL SETUSER bob "~a b"',
      'ACL SETUSER bob "&c d"',
      "ACL SETUSER erin <a",
      "ACL GETUSER erin",
      "ACL SETUSER erin resetpass nopass",
      "ACL GETUSER erin",
      "ACL DELUSER default",
      "ACL DELUSER nobody erin",
      "ACL WHOAMI",
      "ACL CAT nosuchcat",
      "ACL CAT a b",
      "ACL genpass 1 2",
      "ACL DRYRUN bob set key:1 v",
      "ACL DRYRUN bob get other",
      "ACL DRYRUN bob get key:1",
      "ACL DRYRUN bob hget hx f",
      "ACL DRYRUN bob get ro:1",
      "ACL DRYRUN bob append ro:1 x",
      "ACL DRYRUN bob get wo:1",
      "ACL DRYRUN bob publish chan1 x",
      "ACL DRYRUN bob publish other x",
      "ACL DRYRUN nobody get x",
      "ACL DRYRUN bob nosuchcmd",
      "ACL DRYRUN default client nosub",
      "ACL DRYRUN default config nosub",
      "ACL DRYRUN default client",
      // Every selector denies: the gravest reason, then the latest argument, is reported.
      'ACL SETUSER s1 on nopass ~a +mget +mset +get +publish +subscribe &c1 "(~b +mget +mset &c2 +subscribe +get)"',
      "ACL DRYRUN s1 mget b a",
      "ACL DRYRUN s1 mget a b",
      "ACL DRYRUN s1 mget b x",
      "ACL DRYRUN s1 mset b 1 a 1",
      "ACL DRYRUN s1 subscribe c2 c1",
      "ACL DRYRUN s1 subscribe c1 c2",
      "ACL SETUSER u9 on nopass -@all",
      "ACL DRYRUN u9 hello",
      "ACL DRYRUN u9 auth a b",
      "ACL DRYRUN u9 get k",
      "ACL LOG RESET",
      "AUTH bob wrong",
      "AUTH nobody x",
      "AUTH bob pw",
      "ACL WHOAMI",
      "GET key:1",
      "SET key:1 v",
      "GET other",
      "APPEND ro:1 x",
      "GET wo:1",
      "PUBLISH chan1 x",
      "PUBLISH other x",
      "SUBSCRIBE other",
      "HGET hx f",
      "HGET other f",
      "AUTH default x",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("acl: every registered command is refused to a user without its categories", async () => {
  const server = await startFerric();
  const c = await RawClient.connect(server.port);
  try {
    await c.call("ACL", "SETUSER", "nobody", "on", ">x", "~*", "&*", "-@all");
    await c.call("AUTH", "nobody", "x");
    let checked = 0;
    for (const command of server.registry.all()) {
      if (command.flags.has("no_auth")) continue; // AUTH, HELLO, QUIT, RESET run without permissions
      const targets = command.subcommands ? [...command.subcommands.values()] : [command];
      for (const t of targets) {
        const argv = t.parent ? [t.parent.name, t.name] : [t.name];
        while (t.arity > 0 ? argv.length < t.arity : argv.length < -t.arity) argv.push("x");
        const r = await c.call(...argv);
        // EXEC refused says so as EXECABORT, as in Redis.
        const refusal = t.name === "exec"
          ? /^-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec'/
          : /^-NOPERM this user has no permissions to run the '/;
        assertMatch(r, refusal, `${t.fullName}: ${r}`);
        checked++;
      }
    }
    assert(checked > 50, `only ${checked} commands checked`);
    assertMatch(await c.call("ACL", "WHOAMI"), /NOPERM/);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("acl: denials inside MULTI abort the transaction; ACL LOG records them", async () => {
  const server = await startFerric();
  const admin = await RawClient.connect(server.port);
  const c = await RawClient.connect(server.port);
  try {
    await admin.call("ACL", "SETUSER", "bob", "on", ">pw", "~key:*", "+@all");
    await c.call("AUTH", "bob", "pw");
    assertEquals(await c.call("MULTI"), "+OK\r\n");
    assertEquals(await c.call("SET", "key:1", "v"), "+QUEUED\r\n");
    assertMatch(await c.call("SET", "other", "v"), /^-NOPERM/);
    assertEquals(
      await c.call("EXEC"),
      "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    const log = await admin.call("ACL", "LOG", "1");
    assertMatch(log, /reason\r\n\$3\r\nkey/);
    assertMatch(log, /context\r\n\$5\r\nmulti/);
    assertMatch(log, /object\r\n\$5\r\nother/);
  } finally {
    admin.close();
    c.close();
    await server.close();
  }
});

Deno.test("acl: requirepass, NOAUTH, and deleting a user disconnects its clients", async () => {
  const server = await startFerric({ requirepass: "secret" });
  const a = await RawClient.connect(server.port);
  const b = await RawClient.connect(server.port);
  try {
    assertEquals(await a.call("GET", "k"), "-NOAUTH Authentication required.\r\n");
    assertEquals(
      await a.call("AUTH", "nope"),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    assertEquals(await a.call("AUTH", "secret"), "+OK\r\n");
    assertEquals(await a.call("ACL", "SETUSER", "temp", "on", ">t", "+@all", "~*"), "+OK\r\n");
    assertEquals(await b.call("AUTH", "temp", "t"), "+OK\r\n");
    assertEquals(await a.call("ACL", "DELUSER", "temp"), ":1\r\n");
    assert(await b.closedByServer(), "the deleted user's client is still connected");
    assertMatch(await a.call("HELLO", "3", "AUTH", "default", "secret"), /^%7/);
  } finally {
    a.close();
    b.close();
    await server.close();
  }
});

Deno.test("acl: ACL SAVE writes the file (mode 0600) and ACL LOAD reads it back", async () => {
  const dir = await tempDir("ferric-acl-");
  const aclfile = `${dir}/users.acl`;
  await Deno.writeTextFile(
    aclfile,
    "user default on nopass ~* &* +@all\nuser ann on #" + "a".repeat(64) + " ~ann:* -@all +get\n",
  );
  const server = await startFerric({ aclfile });
  const c = await RawClient.connect(server.port);
  try {
    assertMatch(
      await c.call("ACL", "LIST"),
      /user ann on #a{64} ~ann:\* resetchannels -@all \+get/,
    );
    await c.call("ACL", "SETUSER", "zed", "on", ">z", "+ping");
    assertEquals(await c.call("ACL", "SAVE"), "+OK\r\n");
    assertEquals((await Deno.stat(aclfile)).mode! & 0o777, 0o600);
    assertMatch(
      await Deno.readTextFile(aclfile),
      /user zed on #[0-9a-f]{64} resetchannels -@all \+ping/,
    );
    await c.call("ACL", "DELUSER", "zed");
    assertEquals(await c.call("ACL", "LOAD"), "+OK\r\n");
    assertMatch(await c.call("ACL", "USERS"), /zed/);
    await Deno.writeTextFile(aclfile, "user broken on +nosuchcommand\n");
    assertMatch(
      await c.call("ACL", "LOAD"),
      /^-ERR .*users\.acl:1: Unknown command or category name in ACL/,
    );
  } finally {
    c.close();
    await server.close();
  }
  // A configured ACL file that is missing stops the start, as in Redis.
  let message = "";
  try {
    await startFerric({ aclfile: `${dir}/missing.acl` });
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /aclfile .*missing\.acl cannot be read/);
});

Deno.test("protected mode: non-loopback clients are refused while the default user has no password", async () => {
  const server = await startFerric({ "protected-mode": "yes", bind: "127.0.0.1" });
  const connectFrom = (localAddress: string) =>
    new Promise<string>((resolve) => {
      const s = net.connect({ port: server.port, host: "127.0.0.1", localAddress });
      let data = "";
      s.on("connect", () => s.write("*1\r\n$4\r\nPING\r\n"));
      s.on("data", (d) => data += d.toString());
      s.on("close", () => resolve(data));
      s.on("error", () => resolve(data));
      setTimeout(() => s.destroy(), 1000);
    });
  try {
    assertMatch(await connectFrom("127.0.0.2"), /^-DENIED Redis is running in protected mode/);
    assertEquals(await connectFrom("127.0.0.1"), "+PONG\r\n");
    server.config.set("requirepass", "pw", "runtime");
    assertEquals(await connectFrom("127.0.0.2"), "-NOAUTH Authentication required.\r\n");
  } finally {
    await server.close();
  }
});

Deno.test("acl: EXEC checks queued commands against the rules as they are at EXEC, as redis-server", async () => {
  const d = await Differential.start();
  const users = [
    [await RawClient.connect(d.server.port), await RawClient.connect(d.redisServer.port)],
    [await RawClient.connect(d.server.port), await RawClient.connect(d.redisServer.port)],
  ];
  const all = async (i: number, ...args: string[]) => {
    const [f, r] = [await users[i][0].call(...args), await users[i][1].call(...args)];
    assertEquals(f, r, args.join(" "));
    return f;
  };
  try {
    await d.both("SET", "k1", "secret");
    await d.both(
      "ACL",
      "SETUSER",
      "mv",
      "on",
      "nopass",
      "-@all",
      "+multi",
      "+exec",
      "+get",
      "+set",
      "~k*",
    );
    await d.both("ACL", "SETUSER", "mk", "on", "nopass", "+@all", "~k*");
    await all(0, "AUTH", "mv", "x");
    await all(1, "AUTH", "mk", "x");
    for (const i of [0, 1]) await all(i, "MULTI");
    await all(0, "GET", "k1");
    await all(0, "SET", "k3", "v");
    await all(1, "GET", "k2");
    // The rules change while both transactions wait.
    await d.both("ACL", "SETUSER", "mv", "-get", "-set");
    await d.both("ACL", "SETUSER", "mk", "resetkeys", "~k1");
    assertMatch(await all(0, "EXEC"), /NOPERM ACLs rules changed .* no permission to execute/);
    assertMatch(await all(1, "EXEC"), /NOPERM ACLs rules changed .* no permission to touch/);
    assertEquals(await d.both("EXISTS", "k3"), [":0\r\n", ":0\r\n"]);
  } finally {
    for (const pair of users) for (const c of pair) c.close();
    await d.close();
  }
});

Deno.test("acl: GETUSER in RESP3 and RESET match redis-server", async () => {
  const d = await Differential.start({}, { resp3: true });
  try {
    const script = [
      "ACL SETUSER bob on nopass ~k*",
      "ACL GETUSER bob",
      "CLIENT SETNAME nm",
      "RESET",
      "CLIENT GETNAME",
    ].map(cmd);
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("acl: a merged ACL LOG entry shows the latest event's age and the denied command", async () => {
  const server = await startFerric();
  const admin = await RawClient.connect(server.port);
  const c = await RawClient.connect(server.port);
  try {
    await admin.call("ACL", "SETUSER", "u", "on", "nopass", "-@all", "+auth", "+ping");
    await c.call("AUTH", "u", "x");
    await c.call("PING");
    assertMatch(await c.call("GET", "k"), /^-NOPERM/);
    await new Promise((r) => setTimeout(r, 1200));
    await c.call("PING");
    assertMatch(await c.call("GET", "k"), /^-NOPERM/);
    const log = await admin.call("ACL", "LOG", "1");
    assertMatch(log, /\$5\r\ncount\r\n:2\r\n/);
    const age = Number(/age-seconds\r\n(?:,|\$\d+\r\n)([\d.]+)/.exec(log)![1]);
    assert(age < 1, `age-seconds ${age} counts from the latest event`);
    assertMatch(log, / cmd=get /);
    // A failed HELLO … AUTH is logged as HELLO's, apart from AUTH's, under the name as the
    // client spelled it (Redis logs argv[0]).
    await c.call("HELLO", "3", "AUTH", "nobody", "wrong");
    await c.call("auth", "nobody", "wrong");
    const auth = await admin.call("ACL", "LOG", "2");
    assertMatch(auth, /\$6\r\nobject\r\n\$4\r\nauth\r\n[\s\S]*\$6\r\nobject\r\n\$5\r\nHELLO\r\n/);
    // A failed AUTH run by EXEC is logged in the "multi" context, as Redis logs it.
    await admin.call("MULTI");
    await admin.call("AUTH", "nobody", "again");
    await admin.call("EXEC");
    assertMatch(await admin.call("ACL", "LOG", "1"), /context\r\n\$5\r\nmulti\r\n/);
  } finally {
    admin.close();
    c.close();
    await server.close();
  }
});

Deno.test("acl: +command|first-arg rules (SELECT 0 only) match redis-server", async () => {
  const d = await Differential.start();
  try {
    const rules = [
      "+get|a|b",
      "+GET|Foo",
      "+@all +select|0",
      "-@all +select|0 allcommands",
      "-@all +config|get +config|set|x",
      "-@all +select|0 +@all -@all",
      "-select|0",
      "+select|",
      "+config|foo",
      "-@all +select|0 +@connection",
      "-@all +select|0 +@keyspace",
      "-@all +select|A +select|a +select|1",
      "-@all +select|0 +select",
      "-@all +select|0 -select",
    ];
    const script: string[][] = [];
    for (const r of rules) {
      script.push(cmd(`ACL SETUSER t reset ${r}`), cmd("ACL GETUSER t"));
    }
    script.push(
      cmd("ACL SETUSER t reset on nopass -@all +select|0 +select|1"),
      // (One command with rules: Redis lists commands in its hash table's order, random per run.)
      cmd("ACL LIST"),
      cmd("ACL SETUSER t +client|id"),
      cmd("ACL DRYRUN t select 1"),
      cmd("ACL DRYRUN t select 2"),
      cmd("ACL DRYRUN t SELECT 0"),
      cmd("ACL DRYRUN t client id"),
      cmd("ACL DRYRUN t client info"),
      cmd("AUTH t x"),
      cmd("SELECT 1"),
      cmd("SELECT 2"),
      cmd("PING"),
    );
    assertEquals(await d.compare(script), []);
  } finally {
    await d.close();
  }
});

Deno.test("acl: a RESP2 subscriber gets NOPERM, not the subscribed-mode error, for a command it may not run (differential)", async () => {
  const d = await Differential.start();
  try {
    assertEquals(
      await d.compare([
        cmd("ACL SETUSER u1 on nopass +subscribe +get +ping ~a* &*"),
        cmd("AUTH u1 x"),
        cmd("SUBSCRIBE x"),
        cmd("GET b"),
        cmd("SET a 1"),
        cmd("GET a"),
        cmd("PING"),
      ]),
      [],
    );
  } finally {
    await d.close();
  }
});
