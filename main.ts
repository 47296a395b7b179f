/**
 * FerricStore's entry point: `deno run -A main.ts [config-file] [--name value ...]`.
 *
 * Reads the configuration (file < environment < command line), opens the engine, and listens.
 *
 * @module
 */
import { Config, ConfigError } from "./server/config.ts";
import { Server, VERSION } from "./server/server.ts";
import { shutdownOnSignal } from "./server/shutdown.ts";
import { loadPlugins } from "./plugins/loader.ts";
import { missingV8Flags, V8_FLAGS_ARG } from "./server/v8_flags.ts";

async function main(args: string[]): Promise<number> {
  const config = new Config();
  try {
    const { file, pairs } = Config.parseArgs(args);
    if (file) config.loadFile(file, await Deno.readTextFile(file));
    config.loadEnv(Deno.env.toObject());
    for (const [name, value] of pairs) config.set(name, value, "cli");
  } catch (e) {
    if (e instanceof ConfigError || e instanceof Deno.errors.NotFound) {
      console.error(`ferricstore: configuration error: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
  const server = new Server(config);
  server.log.notice(
    "server",
    `FerricStore ${VERSION} starting (pid ${Deno.pid}, ${server.shardCount} shards, ` +
      `${config.int("databases")} databases, data dir ${config.str("data-dir")})`,
  );
  if (missingV8Flags().length) {
    server.log.warning(
      "server",
      `started without ${V8_FLAGS_ARG}: with many keys, garbage collection can stop the server ` +
        "for tens to hundreds of milliseconds (`deno task start` passes it; see docs/operations.md)",
    );
  }
  for (const p of config.inactiveInUse()) {
    server.log.warning("config", `'${p.name}' is set but not active yet: ${p.inactive}`);
  }
  try {
    // Plugins first: recovery needs the value types they add.
    await loadPlugins(server, config.list("loadplugin"));
    await server.listen();
    await server.open();
  } catch (e) {
    console.error(`ferricstore: ${(e as Error).message}`);
    await server.close();
    return 1;
  }
  server.log.notice(
    "server",
    `ready: resp port ${server.port}, tls port ${server.tlsPort || "off"}, http port ${
      server.http?.port ?? "off"
    }, data dir ${config.str("data-dir")}, ${server.shardCount} shards, plugins: ${
      [...new Set([...server.registry.all()].map((c) => c.plugin).filter(Boolean))].join(", ") ||
      "none"
    }`,
  );
  // SIGTERM and SIGINT run the graceful shutdown: not ready, stop accepting, finish in-flight
  // commands, flush every shard, close; a second signal closes at once.
  const onTerm = () => shutdownOnSignal(server, "SIGTERM");
  const onInt = () => shutdownOnSignal(server, "SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  await server.closed;
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
