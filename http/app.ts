/**
 * The HTTP side of a server (Deno.serve on `http-port`, on every `bind` address):
 *
 * ```
 * GET /health/live        200 {"status":"alive"} while the process serves HTTP
 * GET /health/ready       200 when the data is loaded and the server is not stopping, else 503
 * GET /metrics            Prometheus text (per-server prom-client registry)
 * GET /dashboard[/page]   HTML pages: overview slowlog merge storage raft config clients prefixes
 * ```
 *
 * /metrics and /dashboard ask for HTTP Basic credentials of an ACL user allowed administrative
 * commands once the server has a password or users (http/auth.ts); the probes never do.
 * Other paths answer 404, other methods 405.
 *
 * @module
 */
import type { Server } from "../server/server.ts";
import { isShuttingDown } from "../server/shutdown.ts";
import { authorize, CHALLENGE } from "./auth.ts";
import { findPage, renderPage } from "./dashboard/pages.ts";
import type { DashboardContext } from "./dashboard/pages.ts";
import { shardKeys } from "./inventory.ts";
import { serverMetrics } from "./metrics.ts";
import { Sampler } from "./sampler.ts";

/** A running HTTP server. */
export interface HttpHandle {
  /** The port it listens on (the one picked when `http-port` is 0). */
  port: number;
  /** Stops listening (after answering requests in flight) and stops sampling. */
  close(): Promise<void>;
}

/** Options of {@link startHttp}; by default they come from the server's configuration. */
export interface HttpOptions {
  /** Port (default `http-port`; 0 picks a free one). */
  port?: number;
  /** Addresses, space separated as `bind` is (default `bind`). */
  bind?: string;
}

/** The body of /health/ready. */
export interface Readiness {
  status: "ok" | "starting" | "stopping" | "failed";
  shard_count: number;
  shards: { index: number; status: "ok" | "starting" | "failed"; keys: number }[];
  uptime_seconds: number;
}

/** The readiness of a server and the HTTP status that goes with it. */
export function readiness(server: Server): { code: 200 | 503; body: Readiness } {
  const engine = server.engine;
  const stopping = isShuttingDown(server);
  const starting = !stopping && (server.loading || engine === null);
  const shards = server.keyspace.shards.map((_, index) => {
    // A shard log whose write failed refuses every later write (engine/log/shard_log.ts).
    const failed = engine !== null && engine.shards[index]?.["failed"] != null;
    const status: Readiness["shards"][number]["status"] = starting
      ? "starting"
      : failed
      ? "failed"
      : "ok";
    return { index, status, keys: shardKeys(server, index) };
  });
  const status: Readiness["status"] = stopping
    ? "stopping"
    : starting
    ? "starting"
    : shards.some((s) => s.status === "failed")
    ? "failed"
    : "ok";
  return {
    code: status === "ok" ? 200 : 503,
    body: {
      status,
      shard_count: shards.length,
      shards,
      uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
    },
  };
}

const NO_STORE = { "cache-control": "no-store" };

function json(code: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status: code,
    headers: { "content-type": "application/json", ...NO_STORE },
  });
}

function text(code: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status: code,
    headers: { "content-type": "text/plain; charset=utf-8", ...NO_STORE, ...headers },
  });
}

/** Headers of dashboard pages: nothing but the page itself and its inline styles may load. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  ...NO_STORE,
};

type Route =
  | { kind: "live" }
  | { kind: "ready" }
  | { kind: "metrics" }
  | { kind: "root" }
  | { kind: "page"; slug: string };

function route(path: string): Route | null {
  switch (path) {
    case "/health/live":
      return { kind: "live" };
    case "/health/ready":
      return { kind: "ready" };
    case "/metrics":
      return { kind: "metrics" };
    case "/":
      return { kind: "root" };
    case "/dashboard":
    case "/dashboard/":
      return { kind: "page", slug: "" };
  }
  const m = /^\/dashboard\/([a-z]+)\/?$/.exec(path);
  if (m !== null && m[1] !== "" && findPage(m[1]) !== null) return { kind: "page", slug: m[1] };
  return null;
}

/**
 * The request handler of a server's HTTP side (what {@link startHttp} serves; tests may call
 * it directly).
 */
export function httpHandler(
  server: Server,
  sampler: Sampler,
): (req: Request) => Promise<Response> {
  const metrics = serverMetrics(server);
  const ctx: DashboardContext = { server, sampler, inventory: metrics.inventory };
  const answer = async (req: Request): Promise<Response> => {
    const r = route(new URL(req.url).pathname);
    if (r === null) return text(404, "Not Found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "Method Not Allowed\n", { allow: "GET, HEAD" });
    }
    switch (r.kind) {
      case "live":
        return json(200, { status: "alive" });
      case "ready": {
        const { code, body } = readiness(server);
        return json(code, body);
      }
      case "root":
        return new Response(null, {
          status: 302,
          headers: { location: "/dashboard", ...NO_STORE },
        });
    }
    const auth = authorize(server, req.headers.get("authorization"));
    if (!auth.ok) {
      return text(
        auth.status,
        `${auth.status === 401 ? "Unauthorized" : "Forbidden"}: ${auth.reason}\n`,
        auth.status === 401 ? { "www-authenticate": CHALLENGE } : {},
      );
    }
    if (r.kind === "metrics") {
      return text(200, await metrics.text(), { "content-type": metrics.contentType });
    }
    const page = findPage(r.slug)!;
    return new Response(await renderPage(page, ctx), { status: 200, headers: PAGE_HEADERS });
  };
  return async (req) => {
    let res: Response;
    try {
      res = await answer(req);
    } catch (e) {
      server.log.warning("http", `${req.method} ${req.url} failed: ${(e as Error)?.stack ?? e}`);
      res = text(500, "Internal Server Error\n");
    }
    if (req.method === "HEAD") {
      // The headers GET would send, Content-Length included (the body is made and dropped).
      const length = (await res.arrayBuffer()).byteLength;
      const headers = new Headers(res.headers);
      headers.set("content-length", String(length));
      return new Response(null, { status: res.status, headers });
    }
    return res;
  };
}

/**
 * Starts the HTTP side of a server on `http-port` (0 picks a free port) at every `bind`
 * address, and starts sampling the counters the dashboard charts. Start it right after
 * `server.listen()` so the readiness probe answers "starting" while the data loads.
 *
 * @example
 * ```ts
 * import { startServer } from "../server/server.ts";
 * import { startHttp } from "./app.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, "data-dir": dataDir });
 * const http = await startHttp(server, { port: 0 });
 * const res = await fetch(`http://127.0.0.1:${http.port}/health/live`);
 * console.assert((await res.json()).status === "alive");
 * await http.close();
 * await server.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function startHttp(server: Server, options: HttpOptions = {}): Promise<HttpHandle> {
  const config = server.config;
  let port = options.port ?? config.int("http-port");
  const binds = (options.bind ?? config.str("bind")).trim().split(/\s+/);
  const sampler = new Sampler(server);
  const handler = httpHandler(server, sampler);
  const servers: Deno.HttpServer[] = [];
  const stopAll = () => Promise.allSettled(servers.map((s) => s.shutdown()));
  for (const raw of binds) {
    const optional = raw.startsWith("-");
    const host = optional ? raw.slice(1) : raw;
    const hostname = host === "*" ? "0.0.0.0" : host;
    try {
      const s = Deno.serve({ hostname, port, onListen: () => {} }, handler);
      port = (s.addr as Deno.NetAddr).port;
      servers.push(s);
    } catch (e) {
      if (optional) continue;
      await stopAll();
      throw new Error(`cannot listen for HTTP on ${hostname}:${port}: ${(e as Error).message}`);
    }
  }
  sampler.start();
  server.log.notice("http", `HTTP (probes, metrics, dashboard) on ${binds.join(" ")} port ${port}`);
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        sampler.stop();
        await stopAll();
      })();
      return closing;
    },
  };
}
