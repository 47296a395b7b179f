/**
 * redis-py (Debian's python3-redis) against FerricStore and against redis-server: the same
 * script (tests/clients/redis_py_check.py) must pass on both. The package is installed with
 * apt-get when missing; without it the test is skipped and says why.
 */
import { assertMatch } from "./_assert.ts";
import { startFerric, startRedis } from "./_harness.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./clients/redis_py_check.py", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { ok: out.code === 0, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

/** Installs python3-redis when redis-py is missing; the reason it cannot be had, or null. */
async function ensureRedisPy(): Promise<string | null> {
  const importable = async () => (await run(PYTHON, ["-c", "import redis"])).ok;
  if (await importable()) return null;
  const install = ["install", "-y", "--no-install-recommends", "python3-redis"];
  if (!(await run("apt-get", install)).ok) {
    await run("apt-get", ["update"]);
    await run("apt-get", install);
  }
  return await importable()
    ? null
    : "redis-py is missing and apt-get could not install python3-redis";
}

const unavailable = await ensureRedisPy();
if (unavailable) console.warn(`redis_py_test: skipped: ${unavailable}`);

Deno.test({
  name:
    "redis-py: strings, collections, pipelines, WATCH, pub/sub, ACL, INFO parsing (as on redis-server)",
  ignore: unavailable !== null,
  async fn() {
    const ferric = await startFerric();
    const redis = await startRedis();
    try {
      for (const [name, port] of [["redis-server", redis.port], ["FerricStore", ferric.port]]) {
        const { ok, text } = await run(PYTHON, [SCRIPT, String(port)]);
        assertMatch(text, /^ok \d+/m, `${name}: ${ok ? "" : "failed: "}${text}`);
      }
    } finally {
      await ferric.close();
      await redis.stop("SIGKILL");
    }
  },
});
