/**
 * redis-cli against FerricStore started as its own process (`deno run main.ts`), with the same
 * invocations run against redis-server and their output compared: single commands, formatted
 * output (`--no-raw`), a command file on stdin, `--pipe` mass insertion, and RESP3 (`-3`).
 */
import { assert, assertEquals } from "./_assert.ts";
import { type ChildServer, RawClient, spawnFerric, startRedis } from "./_harness.ts";
import { tempDir } from "./_temp_dir.ts";

function redisCliPath(): string | null {
  for (const p of ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* try the next */ }
  }
  return null;
}

const CLI = redisCliPath();

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs redis-cli against `port` with `args`, feeding `stdin` when given. */
async function cli(port: number, args: string[], stdin?: string | Uint8Array): Promise<CliResult> {
  const child = new Deno.Command(CLI!, {
    args: ["-h", "127.0.0.1", "-p", String(port), ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Replaces the connection id (which differs between servers) in HELLO output, in any format. */
function normalizeIds(s: string): string {
  return s.replace(/(\bid"?\s*(?:\d+\)\s*)?(?:=>\s*)?(?:\(integer\)\s*)?)\d+/, "$1<id>");
}

Deno.test({
  name: "redis-cli: output matches redis-server for the same invocations",
  ignore: CLI === null,
  async fn(t) {
    const dataDir = await tempDir("ferric-cli-");
    let ferric: ChildServer | null = null;
    const redis = await startRedis();
    try {
      ferric = await spawnFerric(["--data-dir", dataDir, "--loglevel", "warning"]);
      const fport = ferric.port;
      const rport = redis.port;
      /** Runs the invocation on both servers and asserts identical output and exit codes. */
      const same = async (args: string[], stdin?: string | Uint8Array) => {
        const [f, r] = await Promise.all([cli(fport, args, stdin), cli(rport, args, stdin)]);
        const norm = args.includes("hello") ? normalizeIds : (x: string) => x;
        assertEquals(
          { code: f.code, out: norm(f.stdout), err: f.stderr },
          { code: r.code, out: norm(r.stdout), err: r.stderr },
          `redis-cli ${args.join(" ")}`,
        );
        return f;
      };

      await t.step("ping, set and get as single commands", async () => {
        assertEquals((await same(["ping"])).stdout, "PONG\n");
        assertEquals((await same(["set", "cli:k", "hello world"])).stdout, "OK\n");
        assertEquals((await same(["get", "cli:k"])).stdout, "hello world\n");
        await same(["get", "cli:missing"]);
        await same(["incr", "cli:n"]);
        await same(["incrbyfloat", "cli:f", "0.1"]);
        await same(["mget", "cli:k", "cli:missing", "cli:n"]);
        await same(["echo", "tab\there"]);
        await same(["-e", "incr", "cli:k"]);
        await same(["incr", "cli:k"]);
        await same(["nosuchcommand", "a"]);
        await same(["-x", "set", "cli:stdin"], "from stdin\n");
        await same(["get", "cli:stdin"]);
        await same(["-r", "3", "incr", "cli:rep"]);
      });

      await t.step("--no-raw formatted output", async () => {
        for (
          const args of [
            ["get", "cli:k"],
            ["get", "cli:missing"],
            ["incr", "cli:n2"],
            ["mget", "cli:k", "cli:missing", "cli:n2"],
            ["set", "cli:bin", 'a\x01b\r\nc"d\\'],
            ["get", "cli:bin"],
            ["getrange", "cli:k", "0", "-1"],
            ["mget"],
            ["incr", "cli:k"],
            ["lcs", "cli:k", "cli:bin", "IDX", "WITHMATCHLEN"],
            ["ping"],
            ["hello"],
          ]
        ) await same(["--no-raw", ...args]);
        const nil = await same(["--no-raw", "get", "cli:missing"]);
        assertEquals(nil.stdout, "(nil)\n");
        const err = await same(["--no-raw", "incr", "cli:k"]);
        assertEquals(err.stdout, "(error) ERR value is not an integer or out of range\n");
        const arr = await same(["--no-raw", "mget", "cli:n2", "cli:missing"]);
        assertEquals(arr.stdout, '1) "1"\n2) (nil)\n');
      });

      await t.step("a command file on stdin", async () => {
        const lines: string[] = [];
        for (let i = 0; i < 300; i++) {
          lines.push(`SET file:${i} "value ${i}"`);
          if (i % 10 === 0) lines.push(`GET file:${i}`, `INCR file:counter`, `GET missing:${i}`);
        }
        lines.push("MGET file:0 file:1 file:299", "INCR file:0", 'ECHO "quoted \\"x\\""');
        const file = lines.join("\n") + "\n";
        const out = await same([], file);
        assert(out.stdout.split("\n").length > 300);
        await same(["--no-raw"], file);
      });

      await t.step("--pipe mass insertion of 10k keys", async () => {
        const enc = new TextEncoder();
        const parts: string[] = [];
        for (let i = 0; i < 10000; i++) {
          const k = `mass:${i}`, v = `v${i}`;
          parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`);
        }
        const data = enc.encode(parts.join(""));
        const f = await cli(fport, ["--pipe"], data);
        assertEquals(f.code, 0, f.stderr);
        assert(f.stdout.includes("errors: 0, replies: 10000"), f.stdout);
        const c = await RawClient.connect(fport);
        try {
          assertEquals(await c.call("GET", "mass:0"), "$2\r\nv0\r\n");
          assertEquals(await c.call("GET", "mass:9999"), "$5\r\nv9999\r\n");
          const dbsize = await c.call("DBSIZE");
          if (dbsize.startsWith("-ERR unknown command")) {
            console.log("DBSIZE is not registered yet: key count not checked");
          } else {
            const r = await cli(rport, ["--pipe"], data);
            assertEquals(r.code, 0, r.stderr);
            // Same keys on both servers by now: the counts must agree.
            assertEquals((await same(["dbsize"])).code, 0);
            assert(Number(dbsize.slice(1)) >= 10000, dbsize);
          }
        } finally {
          c.close();
        }
        // Errors are counted too.
        const bad = enc.encode("*2\r\n$4\r\nINCR\r\n$6\r\nmass:0\r\n*1\r\n$4\r\nPING\r\n");
        const fb = await cli(fport, ["--pipe"], bad);
        assert(fb.stdout.includes("errors: 1, replies: 2"), fb.stdout);
      });

      await t.step("-3 RESP3 mode", async () => {
        for (
          const args of [
            ["get", "cli:k"],
            ["get", "cli:missing"],
            ["incr", "cli:n3"],
            ["mget", "cli:k", "cli:missing"],
            ["lcs", "cli:k", "cli:bin", "IDX"],
            ["hello"],
            ["incr", "cli:k"],
          ]
        ) {
          await same(["-3", ...args]);
          await same(["-3", "--no-raw", ...args]);
        }
        const nil = await same(["-3", "--no-raw", "get", "cli:missing"]);
        assertEquals(nil.stdout, "(nil)\n");
        const map = await same(["-3", "--no-raw", "hello"]);
        assert(map.stdout.startsWith('1# "server" => "redis"\n'), map.stdout);
      });
    } finally {
      await ferric?.stop("SIGTERM");
      await redis.stop("SIGKILL");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
