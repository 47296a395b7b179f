/**
 * Writes commands/docs_data.json: the COMMAND DOCS fields the command specs do not carry
 * (`doc_flags`, `deprecated_since`, `replaced_by`, `history`, `arguments`) of every Redis command
 * FerricStore also has, read from a real redis-server (7.0, the differential tests' oracle) in
 * RESP3. Run it with `deno task command-docs` after adding a command Redis has; a test in
 * tests/command_test.ts fails while the table is out of date.
 *
 * The file drops nothing: maps become objects and sets (`flags`, `doc_flags`, `history`) arrays;
 * commands/command_docs.ts writes them back in Redis's key order and types.
 *
 * @module
 */
import { Config } from "../server/config.ts";
import { Server } from "../server/server.ts";

/** A decoded RESP3 value; maps keep their order as `kv` pairs. */
type Value =
  | string
  | number
  | null
  | Value[]
  | { kv: [string, Value][] }
  | { set: Value[] }
  | { status: string };

const dec = new TextDecoder();

/** Decodes one RESP3 reply from `buf` at `pos`; returns it and the position after it. */
function decode(buf: Uint8Array, pos: number): [Value, number] {
  const cr = buf.indexOf(13, pos);
  if (cr < 0) throw new RangeError("incomplete");
  const line = dec.decode(buf.subarray(pos + 1, cr));
  let next = cr + 2;
  const many = (n: number): Value[] => {
    const out: Value[] = [];
    for (let i = 0; i < n; i++) {
      const [v, p] = decode(buf, next);
      out.push(v);
      next = p;
    }
    return out;
  };
  switch (String.fromCharCode(buf[pos])) {
    case "+":
      return [{ status: line }, next];
    case "-":
      throw new Error(`redis-server answered an error: ${line}`);
    case ":":
      return [Number(line), next];
    case "_":
      return [null, next];
    case "$": {
      const end = next + Number(line);
      if (end + 2 > buf.length) throw new RangeError("incomplete");
      return [dec.decode(buf.subarray(next, end)), end + 2];
    }
    case "*":
      return [many(Number(line)), next];
    case "~":
      return [{ set: many(Number(line)) }, next];
    case "%": {
      const flat = many(2 * Number(line));
      const kv: [string, Value][] = [];
      for (let i = 0; i < flat.length; i += 2) kv.push([flat[i] as string, flat[i + 1]]);
      return [{ kv }, next];
    }
    default:
      throw new Error(`unexpected RESP3 type ${String.fromCharCode(buf[pos])}`);
  }
}

/** Sends commands one by one to redis-server on `port`; returns the decoded replies. */
async function ask(port: number, commands: string[][]): Promise<Value[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const out: Value[] = [];
  try {
    for (const args of commands) {
      const req = `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
      await conn.write(new TextEncoder().encode(req));
      let buf = new Uint8Array(0);
      for (;;) {
        const chunk = new Uint8Array(256 * 1024);
        const n = await conn.read(chunk);
        if (n === null) throw new Error("redis-server closed the connection");
        const joined = new Uint8Array(buf.length + n);
        joined.set(buf);
        joined.set(chunk.subarray(0, n), buf.length);
        buf = joined;
        try {
          out.push(decode(buf, 0)[0]);
          break;
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
        }
      }
    }
  } finally {
    conn.close();
  }
  return out;
}

/** Runs `fn` against a redis-server on a free port with a temporary directory of its own. */
async function withRedis<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const dir = await Deno.makeTempDir({ prefix: "ferric-gen-docs-" });
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  const child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
  try {
    for (let i = 0;; i++) {
      try {
        await ask(port, [["PING"]]);
        break;
      } catch (e) {
        if (i > 200) throw new Error(`redis-server did not answer on port ${port}: ${e}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return await fn(port);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/** The fields an entry may have, in the order Redis 7.0 writes them. */
const DOC_KEYS = ["summary", "since", "group", "complexity", "module"] as const;
const KEPT_KEYS = ["doc_flags", "deprecated_since", "replaced_by", "history", "arguments"];
const ARG_KEYS = [
  "name",
  "type",
  "key_spec_index",
  "token",
  "summary",
  "since",
  "deprecated_since",
  "flags",
  "arguments",
];

/** Throws unless `keys` are all in `order` and in that order. */
function checkOrder(keys: string[], order: readonly string[], where: string): void {
  let last = -1;
  for (const k of keys) {
    const i = order.indexOf(k);
    if (i <= last) throw new Error(`${where}: unexpected key ${k} in ${keys.join(", ")}`);
    last = i;
  }
}

/** A set of status words as a plain array. */
function words(v: Value, where: string): string[] {
  if (!v || typeof v !== "object" || !("set" in v)) throw new Error(`${where}: not a set`);
  return v.set.map((w) => {
    if (!w || typeof w !== "object" || !("status" in w)) throw new Error(`${where}: not a word`);
    return w.status;
  });
}

function plain(v: Value, where: string): unknown {
  if (v === null || typeof v !== "object" || !("kv" in v)) throw new Error(`${where}: not a map`);
  checkOrder(v.kv.map(([k]) => k), ARG_KEYS, where);
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.kv) {
    if (k === "flags") out[k] = words(x, `${where} flags`);
    else if (k === "arguments") out[k] = (x as Value[]).map((a, i) => plain(a, `${where}/${i}`));
    else if (typeof x === "string" || typeof x === "number") out[k] = x;
    else throw new Error(`${where}: unexpected ${k}`);
  }
  return out;
}

/** The kept fields of one command's docs map, or null when it has none. */
function entry(doc: Value, name: string): Record<string, unknown> | null {
  if (doc === null || typeof doc !== "object" || !("kv" in doc)) {
    throw new Error(`${name}: no map`);
  }
  const keys = doc.kv.map(([k]) => k);
  checkOrder(keys, [...DOC_KEYS, ...KEPT_KEYS, "subcommands"], name);
  const out: Record<string, unknown> = {};
  for (const [k, v] of doc.kv) {
    if (k === "doc_flags") out[k] = words(v, `${name} doc_flags`);
    else if (k === "deprecated_since" || k === "replaced_by") out[k] = v as string;
    else if (k === "history") {
      // A set of [version, change] arrays.
      out[k] = (v as { set: Value[] }).set.map((h) => {
        const pair = h as Value[];
        if (pair.length !== 2 || pair.some((s) => typeof s !== "string")) {
          throw new Error(`${name}: odd history entry`);
        }
        return pair;
      });
    } else if (k === "arguments") out[k] = (v as Value[]).map((a, i) => plain(a, `${name}/${i}`));
  }
  return Object.keys(out).length ? out : null;
}

/** Redis's docs of the given full names: full name -> kept fields (names without any left out). */
export async function redisDocs(names: Set<string>): Promise<Record<string, unknown>> {
  const [, all] = await withRedis((port) => ask(port, [["HELLO", "3"], ["COMMAND", "DOCS"]]));
  const found: [string, Record<string, unknown>][] = [];
  const walk = (m: Value) => {
    for (const [name, doc] of (m as { kv: [string, Value][] }).kv) {
      if (names.has(name)) {
        const e = entry(doc, name);
        if (e) found.push([name, e]);
      }
      const subs = (doc as { kv: [string, Value][] }).kv.find(([k]) => k === "subcommands");
      if (subs) walk(subs[1]);
    }
  };
  walk(all);
  found.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return Object.fromEntries(found);
}

if (import.meta.main) {
  const server = new Server(new Config());
  const names = new Set<string>();
  for (const c of server.registry.all()) {
    if (c.plugin) continue;
    for (const x of [c, ...c.subcommands?.values() ?? []]) names.add(x.fullName);
  }
  await server.close();
  const docs = await redisDocs(names);
  const file = new URL("./docs_data.json", import.meta.url).pathname;
  // One command per line, then deno fmt's layout, so the file passes `deno fmt --check`.
  const lines = Object.entries(docs).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  await Deno.writeTextFile(file, `{\n${lines.join(",\n")}\n}\n`);
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", file] }).output();
  if (!fmt.success) throw new Error(`deno fmt ${file} failed: ${dec.decode(fmt.stderr)}`);
  console.log(`wrote ${file}: ${lines.length} commands, ${(await Deno.stat(file)).size} bytes`);
}
