/**
 * CPU per request of two checkouts of FerricStore, side by side in one process, without sockets:
 * what a change to the server's own code costs or saves, below the noise of `deno task bench`.
 *
 * ```sh
 * git worktree add /tmp/base HEAD~1
 * deno run -A --v8-flags=--no-incremental-marking-task bench/cpu_ab.ts --a /tmp/base/mod.ts
 * deno run -A bench/cpu_ab.ts --a /tmp/base/mod.ts --test incr --pipeline 1 --rounds 20
 * deno run -A bench/cpu_ab.ts --a mod.ts --b mod.ts   # A against itself: the noise
 * ```
 *
 * Both servers start in this process (`async` durability, data in temp dirs, HTTP off) and are
 * served 50 in-memory clients each, through the same `serveStream` path TCP connections take:
 * every read hands a client one batch of `--pipeline` requests (redis-benchmark's commands, keys
 * from a fixed pseudo-random sequence over `--keyspace` keys; a batch larger than the server's
 * read takes several), every write is taken at once, and reads complete one event-loop turn
 * apart, so group commits and turn-end flushes run as they do under load. Rounds alternate A-B and B-A; each measures the process's CPU time (user + system)
 * per request over `--requests` requests. It prints each side's median and the median of the
 * per-round ratios B/A.
 *
 * What it leaves out is the kernel and Deno's socket ops (see bench/floor.ts for those), and
 * the cache misses a benchmark client and the network stack cause: a real server spends more
 * per request, in the same places. On the 2-core machine rounds of one checkout still vary by
 * ±20%: read the median of 16 rounds or more, and run A against A to see the noise.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import process from "node:process";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { median } from "./run.ts";
import type { Server } from "../server/server.ts";

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    a: { type: "string" },
    b: { type: "string", default: new URL("../mod.ts", import.meta.url).pathname },
    test: { type: "string", default: "set" },
    pipeline: { type: "string", default: "16" },
    requests: { type: "string", default: "200000" },
    rounds: { type: "string", default: "16" },
    keyspace: { type: "string", default: "100000" },
    help: { type: "boolean", default: false },
  },
});
if (opts.help || !opts.a) {
  console.log(
    "usage: deno run -A bench/cpu_ab.ts --a OTHER/mod.ts [--b mod.ts] [--test set|get|incr|ping|" +
      "mset|hset|lpush|sadd|zadd] [--pipeline 16] [--requests 200000] [--rounds 16] [--keyspace 100000]",
  );
  Deno.exit(opts.help ? 0 : 2);
}
const pipeline = Number(opts.pipeline), requests = Number(opts.requests);
const rounds = Number(opts.rounds), keyspace = Number(opts.keyspace);

// A fixed sequence (an LCG), so both sides and every run see the same keys.
let seed = 12345;
/** A number below the keyspace size as redis-benchmark writes `__rand_int__`: 12 digits. */
function randInt(): string {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return String(Math.floor((seed / 0x80000000) * keyspace)).padStart(12, "0");
}
const key = () => `key:${randInt()}`;
const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const multibulk = (...args: string[]) => `*${args.length}\r\n${args.map(bulk).join("")}`;

/** One request of redis-benchmark's test of that name. */
function request(test: string): string {
  switch (test) {
    case "ping":
      return multibulk("PING");
    case "set":
      return multibulk("SET", key(), "xxx");
    case "get":
      return multibulk("GET", key());
    case "incr":
      return multibulk("INCR", key());
    case "mset":
      return multibulk("MSET", ...Array.from({ length: 10 }, () => [key(), "xxx"]).flat());
    case "hset":
      return multibulk("HSET", "myhash", key(), "xxx");
    case "lpush":
      return multibulk("LPUSH", "mylist", "xxx");
    case "sadd":
      return multibulk("SADD", "myset", key());
    case "zadd":
      return multibulk("ZADD", "myzset", randInt(), `element:${randInt()}`);
  }
  throw new Error(`unknown test ${test}`);
}

const BATCHES = 2048;
const encoder = new TextEncoder();
const batches = Array.from(
  { length: BATCHES },
  () => encoder.encode(Array.from({ length: pipeline }, () => request(opts.test!)).join("")),
);
let next = 0;

async function open(mod: string): Promise<{ server: Server; dir: string }> {
  const { startServer } = await import(resolve(mod));
  const dir = await Deno.makeTempDir({ prefix: "ferric-cpu-ab-" });
  const server = await startServer({
    port: 0,
    "http-port": -1,
    "data-dir": dir,
    loglevel: "warning",
    durability: "async",
    "commit-window-ms": 1000,
  });
  return { server, dir };
}

/** Serves `total` requests to 50 in-memory clients; the CPU time per request, in µs. */
async function round(server: Server, total: number): Promise<number> {
  let batchesLeft = Math.ceil(total / pipeline);
  let open = 50;
  const { promise, resolve } = Promise.withResolvers<void>();
  for (let c = 0; c < 50; c++) {
    // The rest of this client's batch when it did not fit in one read.
    let rest: Uint8Array | null = null;
    server.serveStream({
      read: (p) =>
        new Promise((done) =>
          setImmediate(() => {
            if (rest === null) {
              if (batchesLeft-- <= 0) {
                done(null);
                if (--open === 0) resolve();
                return;
              }
              rest = batches[next++ % BATCHES];
            }
            const n = Math.min(rest.length, p.length);
            p.set(rest.subarray(0, n));
            rest = n < rest.length ? rest.subarray(n) : null;
            done(n);
          })
        ),
      write: (p) => Promise.resolve(p.length),
      close() {},
    });
  }
  const before = process.cpuUsage();
  await promise;
  const used = process.cpuUsage(before);
  return (used.user + used.system) / total;
}

const a = await open(opts.a), b = await open(opts.b!);
try {
  await round(a.server, requests); // warm-up: V8 compiles the hot paths
  await round(b.server, requests);
  const ra: number[] = [], rb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      ra.push(await round(a.server, requests));
      rb.push(await round(b.server, requests));
    } else {
      rb.push(await round(b.server, requests));
      ra.push(await round(a.server, requests));
    }
  }
  const ratios = ra.map((x, i) => rb[i] / x);
  console.log(
    `${opts.test} -P ${pipeline}, ${requests} requests x ${rounds} rounds, CPU µs per request:\n` +
      `  A ${median(ra)!.toFixed(3)}  (${opts.a})\n  B ${median(rb)!.toFixed(3)}  (${opts.b})\n` +
      `  B/A median of rounds ${median(ratios)!.toFixed(3)}  ` +
      `(${ratios.map((r) => r.toFixed(2)).join(" ")})`,
  );
} finally {
  await a.server.close();
  await b.server.close();
  await Deno.remove(a.dir, { recursive: true });
  await Deno.remove(b.dir, { recursive: true });
}
