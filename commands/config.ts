/**
 * CONFIG: GET SET RESETSTAT REWRITE HELP over the typed parameter registry (server/config.ts),
 * with Redis 7's replies and error texts. CONFIG SET is atomic: every name and value is checked
 * before any is applied.
 *
 * @module
 */
import { OK, RespError, RespMap } from "../protocol/reply.ts";
import { ConfigError, type ParamDef } from "../server/config.ts";
import { writeFileAtomic } from "../engine/log/files.ts";
import type { Server } from "../server/server.ts";
import { latin1 } from "./args.ts";
import { err, Errors } from "./errors.ts";
import { resetInfoStats } from "./info.ts";
import type { CommandSpec } from "./spec.ts";

/**
 * What a parameter change does beyond storing the value, for parameters the server reads once
 * instead of on every use (Redis's apply functions). Parameters the server keeps current with
 * `config.watch` or reads when needed need no entry.
 */
const APPLY: Record<string, (server: Server) => void> = {
  // Without a password the default user needs no AUTH, including on connections already open.
  requirepass(server) {
    if (!server.defaultUserNoPass) return;
    for (const c of server.clients.values()) c.authenticated = true;
  },
  // A lower maxmemory takes effect at once: values go cold until the data fits (as far as it can).
  maxmemory(server) {
    const max = server.config.int("maxmemory");
    if (max > 0 && server.memory.used() > max) {
      server.memory.evict(max);
      if (server.memory.used() > max) {
        server.log.warning(
          "config",
          "the new maxmemory value set via CONFIG SET is smaller than the current memory usage",
        );
      }
    }
  },
};

/** A parameter to set, checked. */
interface Change {
  /** The name as given (an alias stays an alias). */
  name: string;
  def: ParamDef;
  value: string;
}

/** CONFIG SET's checks, in Redis's order; returns the changes or the error to reply. */
function checkChanges(server: Server, argv: Uint8Array[]): Change[] | RespError {
  const config = server.config;
  const changes: Change[] = [];
  let unknown: string | null = null;
  let refused: RespError | null = null;
  for (let i = 2; i < argv.length; i += 2) {
    const name = latin1(argv[i]);
    const def = config.def(name);
    if (def === undefined) {
      unknown ??= name;
      continue;
    }
    if (unknown !== null || refused !== null) continue;
    if (!def.mutable) {
      refused = setFailed(name, "can't set immutable config");
    } else if (changes.some((c) => c.name.toLowerCase() === name.toLowerCase())) {
      refused = setFailed(name, "duplicate parameter");
    }
    changes.push({ name, def, value: latin1(argv[i + 1]) });
  }
  if (unknown !== null) {
    return err(`ERR Unknown option or number of arguments for CONFIG SET - '${unknown}'`);
  }
  if (refused !== null) return refused;
  for (const c of changes) {
    try {
      config.parse(c.def, c.value);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return setFailed(c.name.toLowerCase(), e.message);
    }
    // Checked with the TLS settings in force (tls-ca-cert-file cannot change at run time).
    if (
      c.def.name === "tls-auth-clients" && c.value.toLowerCase() !== "no" &&
      config.int("tls-port") > 0 && config.str("tls-ca-cert-file") === ""
    ) {
      return setFailed(
        c.name.toLowerCase(),
        "tls-ca-cert-file is required to check client certificates",
      );
    }
  }
  return changes;
}

function setFailed(name: string, why: string): RespError {
  return err(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
}

/** Zeroes every counter INFO reports (CONFIG RESETSTAT). */
export function resetStats(server: Server): void {
  server.stats.reset();
  for (const c of server.registry.everyCommand()) {
    const st = c.stats;
    st.calls =
      st.usec =
      st.rejected =
      st.failed =
        0;
    st.histogram.reset();
  }
  const ks = server.keyspace.stats;
  ks.hits =
    ks.misses =
    ks.expired =
    ks.evicted =
      0;
  ks.expiredStalePercent = ks.expireCycleMs = 0;
  server.memory.resetPeak();
  resetInfoStats(server);
}

/** Writes the config file with the current values, through a temporary file and a rename. */
async function rewriteFile(server: Server, path: string): Promise<void> {
  let original = "";
  let mode: number | undefined;
  try {
    original = await Deno.readTextFile(path);
    mode = (await Deno.stat(path)).mode ?? undefined;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const text = server.config.rewrite(original);
  await writeFileAtomic(path, text, mode);
}

/** An OS error as strerror words it ("Permission denied"), without Deno's decorations. */
function osMessage(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).replace(/ \(os error \d+\).*$/s, "");
}

const ADMIN = ["admin", "noscript", "loading", "stale"] as const;

/** The CONFIG container and its subcommands. */
export const configCommands: CommandSpec[] = [
  {
    name: "config",
    arity: -2,
    flags: [],
    categories: [],
    group: "server",
    summary: "A container for server configuration commands",
    since: "2.0.0",
    complexity: "Depends on subcommand.",
    help: [
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value>.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "REWRITE",
      "    Rewrite the configuration file.",
    ],
    subcommands: [
      {
        name: "get",
        arity: -3,
        flags: [...ADMIN],
        categories: [],
        group: "server",
        summary: "Get the values of configuration parameters",
        since: "2.0.0",
        complexity: "O(N) when N is the number of configuration parameters provided",
        /** CONFIG GET parameter [parameter ...] */
        handler(ctx, argv) {
          const pairs = ctx.server.config.matching(argv.slice(2).map(latin1));
          return new RespMap(pairs.flat());
        },
      },
      {
        name: "set",
        arity: -4,
        flags: [...ADMIN],
        categories: [],
        group: "server",
        summary: "Set configuration parameters to the given values",
        since: "2.0.0",
        complexity: "O(N) when N is the number of configuration parameters provided",
        /** CONFIG SET parameter value [parameter value ...] */
        handler(ctx, argv) {
          if (argv.length % 2 !== 0) return Errors.syntax;
          const server = ctx.server;
          const changes = checkChanges(server, argv);
          if (changes instanceof RespError) return changes;
          for (const c of changes) server.config.set(c.def.name, c.value, "runtime");
          for (const c of changes) APPLY[c.def.name]?.(server);
          return OK;
        },
      },
      {
        name: "resetstat",
        arity: 2,
        flags: [...ADMIN],
        categories: [],
        group: "server",
        summary: "Reset the stats returned by INFO",
        since: "2.0.0",
        complexity: "O(1)",
        /** CONFIG RESETSTAT */
        handler(ctx) {
          resetStats(ctx.server);
          return OK;
        },
      },
      {
        name: "rewrite",
        arity: 2,
        flags: [...ADMIN],
        categories: [],
        group: "server",
        summary: "Rewrite the configuration file with the in memory configuration",
        since: "2.8.0",
        complexity: "O(1)",
        /** CONFIG REWRITE */
        async handler(ctx) {
          const path = ctx.server.config.file;
          if (path === null) return err("ERR The server is running without a config file");
          try {
            await rewriteFile(ctx.server, path);
          } catch (e) {
            ctx.server.log.warning("config", `CONFIG REWRITE failed: ${(e as Error).message}`);
            return err(`ERR Rewriting config file: ${osMessage(e)}`);
          }
          ctx.server.log.notice("config", "CONFIG REWRITE executed with success.");
          return OK;
        },
      },
    ],
  },
];
