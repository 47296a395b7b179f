/**
 * PUBLISH fan-out: one publisher, 50 subscribers on one channel; messages delivered per second,
 * FerricStore and redis-server in the same run, alternating. redis-benchmark cannot count
 * deliveries, so this drives both servers with raw sockets.
 *
 * `deno run -A bench/pubsub.ts [--messages N] [--subscribers N] [--rounds N] [--size BYTES]`
 *
 * @module
 */
import { freePort, RawClient, spawnFerric, startRedis } from "../tests/_harness.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const MESSAGES = flag("messages", 20000);
const SUBSCRIBERS = flag("subscribers", 50);
const ROUNDS = flag("rounds", 3);
const SIZE = flag("size", 16);

/** Counts complete `message` pushes arriving on a subscriber socket (a cheap scanner). */
async function countMessages(conn: Deno.Conn, expected: number): Promise<void> {
  const marker = new TextEncoder().encode("$7\r\nmessage\r\n");
  const buf = new Uint8Array(256 * 1024);
  let seen = 0;
  let carry = new Uint8Array(0);
  while (seen < expected) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("subscriber closed");
    const chunk = new Uint8Array(carry.length + n);
    chunk.set(carry);
    chunk.set(buf.subarray(0, n), carry.length);
    let i = 0;
    for (;;) {
      const at = indexOf(chunk, marker, i);
      if (at < 0) break;
      seen++;
      i = at + marker.length;
    }
    carry = chunk.slice(Math.max(i, chunk.length - marker.length));
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer:
  for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function run(port: number): Promise<number> {
  const subs: Deno.Conn[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n"));
    const b = new Uint8Array(256);
    await c.read(b); // the subscribe confirmation
    subs.push(c);
  }
  const pub = await RawClient.connect(port);
  const payload = "x".repeat(SIZE);
  const cmd = `*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$${SIZE}\r\n${payload}\r\n`;
  const started = performance.now();
  const receiving = subs.map((c) => countMessages(c, MESSAGES));
  // Publish in pipelined batches of 100, reading the replies, so the publisher never races ahead
  // of the server without bound.
  for (let sent = 0; sent < MESSAGES; sent += 100) {
    const n = Math.min(100, MESSAGES - sent);
    await pub.write(cmd.repeat(n));
    for (let i = 0; i < n; i++) await pub.read();
  }
  await Promise.all(receiving);
  const seconds = (performance.now() - started) / 1000;
  pub.close();
  for (const c of subs) c.close();
  return (MESSAGES * SUBSCRIBERS) / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "ferric-bench-" });
  const ferric = await spawnFerric(["--data-dir", dir, "--loglevel", "warning"]);
  const redis = await startRedis();
  void freePort;
  try {
    const f: number[] = [];
    const r: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      f.push(await run(ferric.port));
      r.push(await run(redis.port));
    }
    const fm = median(f), rm = median(r);
    console.log(
      `PUBLISH fan-out: 1 publisher, ${SUBSCRIBERS} subscribers, ${MESSAGES} messages of ${SIZE} bytes`,
    );
    console.log(
      `| server | deliveries/s |\n| --- | --- |\n| FerricStore | ${
        Math.round(fm)
      } |\n| redis-server | ${Math.round(rm)} |`,
    );
    console.log(`ratio ${(fm / rm).toFixed(2)} (target >= 0.7)`);
  } finally {
    await ferric.stop();
    await redis.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
