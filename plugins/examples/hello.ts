/**
 * A tiny example plugin: HELLO.* commands showing the plugin API's parts.
 *
 * ```
 * deno run -A main.ts --loadplugin plugins/examples/hello.ts "Bonjour"
 * redis-cli HELLO.WORLD            → "Bonjour, world!"  (the greeting is the plugin's argument)
 * redis-cli HELLO.GREET Ada        → "Bonjour, Ada!"
 * redis-cli HELLO.SHOUT k          → the string at k in upper case (a read-only command)
 * redis-cli HELLO.APPEND k v       → appends through APPEND (ctx.call: ACL applies), returns
 *                                    the new value
 * redis-cli HELLO.CALLS            → how many HELLO.* commands this server has run
 * ```
 *
 * @module
 */
import {
  defineCommand,
  definePlugin,
  Errors,
  keys,
  latin1,
  RespError,
  type Server,
} from "../mod.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The greeting of each server the plugin is loaded on (its first load argument). */
const greetings = new WeakMap<Server, string>();
/** Calls per server. */
const calls = new WeakMap<Server, number>();

function count(server: Server): void {
  calls.set(server, (calls.get(server) ?? 0) + 1);
}

export default definePlugin({
  name: "hello",
  version: "1.0.0",
  onLoad({ server, args, log }) {
    if (args.length > 1) throw new Error("expected at most one argument: the greeting");
    greetings.set(server, args[0] ?? "Hello");
    log.notice(`greeting is '${greetings.get(server)}'`);
  },
  onUnload({ server }) {
    greetings.delete(server);
    calls.delete(server);
  },
  commands: [
    defineCommand({
      name: "hello.world",
      arity: 1,
      flags: ["readonly", "fast"],
      summary: "Greets the world.",
      /** HELLO.WORLD */
      handler(ctx) {
        count(ctx.server);
        return encoder.encode(`${greetings.get(ctx.server)}, world!`);
      },
    }),
    defineCommand({
      name: "hello.greet",
      arity: 2,
      flags: ["readonly", "fast"],
      summary: "Greets someone by name.",
      /** HELLO.GREET name */
      handler(ctx, argv) {
        count(ctx.server);
        return encoder.encode(`${greetings.get(ctx.server)}, ${decoder.decode(argv[1])}!`);
      },
    }),
    defineCommand({
      name: "hello.shout",
      arity: 2,
      flags: ["readonly", "fast"],
      categories: ["string"],
      keys: [keys.one(1, "RO", "ACCESS")],
      summary: "Returns the string at key in upper case.",
      complexity: "O(N) where N is the length of the string",
      /** HELLO.SHOUT key */
      handler(ctx, argv) {
        count(ctx.server);
        // A read-only command's ctx.db has reads only (ctx.db.set does not exist here).
        const e = ctx.db.get(latin1(argv[1]));
        if (e === undefined) return null;
        if (!(e.value instanceof Uint8Array)) throw Errors.wrongType;
        return encoder.encode(decoder.decode(e.value).toUpperCase());
      },
    }),
    defineCommand({
      name: "hello.append",
      arity: 3,
      flags: ["write", "denyoom"],
      categories: ["string"],
      keys: [keys.one(1, "RW", "INSERT")],
      summary: "Appends to the string at key through APPEND and returns the new value.",
      complexity: "O(N) where N is the length of the new value",
      /** HELLO.APPEND key value */
      handler(ctx, argv) {
        count(ctx.server);
        // Commands run through ctx.call pass the ACL check as the calling client.
        const appended = ctx.call("APPEND", argv[1], argv[2]);
        if (appended instanceof RespError) return appended;
        return ctx.call("GET", argv[1]);
      },
    }),
    defineCommand({
      name: "hello.calls",
      arity: 1,
      flags: ["readonly", "fast"],
      summary: "Returns how many HELLO.* commands ran on this server.",
      /** HELLO.CALLS */
      handler: (ctx) => calls.get(ctx.server) ?? 0,
    }),
  ],
});
