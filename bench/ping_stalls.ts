/**
 * Latency probe: sends PING on its own connection every 2 ms for a while and counts the replies
 * slower than a threshold, to see whether a server stops answering while something else loads
 * it (a benchmark, a compaction, a FLUSHALL, garbage collection).
 *
 * `deno run -A bench/ping_stalls.ts PORT [SECONDS=30] [THRESHOLD_MS=20]`
 *
 * Prints one line: how many replies were slower than the threshold, their total and the
 * longest, then the first 30 of them in ms.
 *
 * @module
 */
const [port, secs = "30", threshold = "20"] = Deno.args;
if (!port) {
  console.error("usage: deno run -A bench/ping_stalls.ts PORT [SECONDS=30] [THRESHOLD_MS=20]");
  Deno.exit(2);
}
const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
const reply = new Uint8Array(64);
const ping = new TextEncoder().encode("PING\r\n");
const end = performance.now() + Number(secs) * 1000;
const slow: number[] = [];
while (performance.now() < end) {
  const t = performance.now();
  await conn.write(ping);
  if ((await conn.read(reply)) === null) throw new Error("the server closed the connection");
  const ms = performance.now() - t;
  if (ms > Number(threshold)) slow.push(Math.round(ms));
  await new Promise((r) => setTimeout(r, 2));
}
conn.close();
console.log(
  `replies > ${threshold} ms: ${slow.length}, ${slow.reduce((a, b) => a + b, 0)} ms in all, ` +
    `longest ${Math.max(0, ...slow)} ms: ${slow.slice(0, 30).join(" ")}`,
);
