/**
 * The Deno floor: how fast can any Deno server answer redis-benchmark's PING on this machine?
 *
 * `deno run -A bench/floor.ts [--requests N] [--rounds N]` runs `redis-benchmark -t ping_mbulk`
 * (50 clients, unpipelined and `-P 16`) against three servers, alternating, and prints the median
 * requests per second of each:
 *
 * - **deno-floor**: the least a Deno server can do per request: read with `Deno.Conn.read`,
 *   count the requests in what was read (one `*` each: PING_MBULK is `*1\r\n$4\r\nPING\r\n`), and
 *   write that many `+PONG\r\n` with one `Deno.Conn.write`, reading the next request while the
 *   write is in flight (as FerricStore does). No parsing, no dispatch, no bookkeeping.
 * - **ferric**: FerricStore (`main.ts`, async durability, HTTP off).
 * - **redis**: redis-server without persistence.
 *
 * The floor bounds what FerricStore's protocol, dispatch and engine can win: what separates the
 * floor from redis-server is the runtime's cost of a socket read and a write (promises, ops),
 * which no code above it can remove. A second table gives each server's CPU time per request,
 * user and system (from /proc/PID/stat, all threads): system time is the kernel's socket work,
 * the same for all three; user time is where a runtime and a server differ.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { freePort } from "../tests/_harness.ts";
import { median } from "./run.ts";
import { procCpuTime } from "../server/stats.ts";
import { V8_FLAGS_ARG } from "../server/v8_flags.ts";

const PONG = new TextEncoder().encode("+PONG\r\n");

/** The floor server: answers every request of a read with +PONG, one write per read. */
async function serveFloor(port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  for await (const conn of listener) {
    conn.setNoDelay(true);
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      let sending: Promise<unknown> = Promise.resolve();
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          let count = 0;
          for (let i = 0; i < n; i++) if (buf[i] === 42) count++;
          const out = new Uint8Array(PONG.length * count);
          for (let k = 0; k < count; k++) out.set(PONG, k * PONG.length);
          await sending;
          sending = conn.write(out);
        }
      } catch { /* client gone */ }
      conn.close();
    })();
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(new TextEncoder().encode("*1\r\n$4\r\nPING\r\n"));
      const buf = new Uint8Array(16);
      return (await c.read(buf)) !== null;
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

async function start(cmd: string, args: string[], port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
  for (let i = 0; i < 200; i++) {
    if (await answers(port)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`${cmd} did not answer on port ${port}`);
}

async function benchmark(port: number, requests: number, pipeline: number): Promise<number> {
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      ...["-p", String(port), "-c", "50", "-n", String(requests), "-P", String(pipeline)],
      ...["-t", "ping_mbulk", "--csv"],
    ],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const row = new TextDecoder().decode(out.stdout).split("\n").find((l) =>
    l.startsWith('"PING_MBULK"')
  );
  if (!row) throw new Error(`redis-benchmark printed no result for port ${port}`);
  return Number(row.split(",")[1].replaceAll('"', ""));
}

/** User and system CPU time a process has used, in microseconds. */
function cpuTime(pid: number): [number, number] {
  const t = procCpuTime(`/proc/${pid}/stat`);
  if (t === null) throw new Error(`cannot read the CPU time of process ${pid}`);
  return [t.user, t.system];
}

async function main(args: string[]): Promise<void> {
  if (args[0] === "--serve") return serveFloor(Number(args[1]));
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const requests = opt("--requests", 100_000);
  const rounds = opt("--rounds", 3);
  const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
  const dataDir = await Deno.makeTempDir({ prefix: "ferric-floor-" });
  const ports = { floor: freePort(), ferric: freePort(), redis: freePort() };
  const children: Deno.ChildProcess[] = [];
  try {
    children.push(
      await start(Deno.execPath(), [
        ...["run", "-A", new URL(import.meta.url).pathname, "--serve", String(ports.floor)],
      ], ports.floor),
    );
    children.push(
      await start(Deno.execPath(), [
        ...[
          "run",
          "-A",
          V8_FLAGS_ARG,
          `${root}/main.ts`,
          "--port",
          String(ports.ferric),
          "--data-dir",
          dataDir,
        ],
        ...["--http-port", "-1", "--loglevel", "warning", "--durability", "async"],
      ], ports.ferric),
    );
    children.push(
      await start("redis-server", [
        ...["--port", String(ports.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly"],
        ...["no", "--dir", dataDir],
      ], ports.redis),
    );
    const portOf = [ports.floor, ports.ferric, ports.redis];
    // CPU per request of each server, user and system, by pipeline depth.
    const cpu: string[] = [];
    console.log(
      "| pipeline | deno-floor | ferric | redis | ferric/floor | floor/redis | ferric/redis |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const pipeline of [1, 16]) {
      const n = pipeline === 1 ? requests : requests * 4;
      for (const i of [0, 1, 2]) await benchmark(portOf[i], Math.min(n, 20_000), pipeline); // warm-up
      const runs: number[][] = [[], [], []];
      const user = [0, 0, 0], sys = [0, 0, 0];
      for (let r = 0; r < rounds; r++) {
        for (const i of [0, 1, 2]) {
          const [u0, s0] = cpuTime(children[i].pid);
          runs[i].push(await benchmark(portOf[i], n, pipeline));
          const [u1, s1] = cpuTime(children[i].pid);
          user[i] += u1 - u0;
          sys[i] += s1 - s0;
        }
      }
      const us = (x: number) => (x / (n * rounds)).toFixed(1);
      cpu.push(
        `| ${pipeline} | ${[0, 1, 2].map((i) => `${us(user[i])} / ${us(sys[i])}`).join(" | ")} |`,
      );
      const [floor, ferric, redis] = runs.map((xs) => median(xs) ?? NaN);
      const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
      console.log(
        `| ${pipeline} | ${fmt(floor)} | ${fmt(ferric)} | ${fmt(redis)} | ${
          (ferric / floor).toFixed(2)
        } | ${(floor / redis).toFixed(2)} | ${(ferric / redis).toFixed(2)} |`,
      );
    }
    console.log("\nCPU per request, µs user / system (all of each server's threads):\n");
    console.log("| pipeline | deno-floor | ferric | redis |");
    console.log("| ---: | ---: | ---: | ---: |");
    for (const row of cpu) console.log(row);
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
        await c.status;
      } catch { /* already gone */ }
    }
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main(Deno.args);
