/**
 * Connection commands: PING ECHO QUIT RESET HELLO AUTH.
 *
 * @module
 */
import { parseInt64 } from "../protocol/numbers.ts";
import { OK, PONG, RespMap, SimpleString } from "../protocol/reply.ts";
import { REDIS_VERSION } from "../server/server.ts";
import type { Server } from "../server/server.ts";
import type { Client } from "../server/client.ts";
import { isWord, latin1 } from "./args.ts";
import { err, Errors, RespError, wrongArity } from "./errors.ts";
import type { CommandSpec } from "./spec.ts";
import { moduleListReply } from "../plugins/loader.ts";

const RESET = new SimpleString("RESET");

/** Client names: printable ASCII without spaces (Redis's validateClientName). */
export function validClientName(name: Uint8Array): boolean {
  for (const c of name) if (c < 33 || c > 126) return false;
  return true;
}

/**
 * AUTH's check, shared with HELLO … AUTH (`via` names the command in ACL LOG). Returns an error
 * or null.
 */
export function authenticate(
  server: Server,
  client: Client,
  user: string,
  pass: Uint8Array,
  via: string,
): RespError | null {
  return server.acl.authenticate(client, user, pass, via);
}

/** The connection family's commands. */
export const connectionCommands: CommandSpec[] = [
  {
    name: "ping",
    arity: -1,
    flags: ["fast"],
    categories: ["connection"],
    group: "connection",
    summary: "Returns the server's liveliness response.",
    since: "1.0.0",
    complexity: "O(1)",
    /** PING [message] */
    handler(ctx, argv) {
      if (argv.length > 2) return wrongArity("ping");
      // A subscribed RESP2 connection answers in the shape of a message.
      if (ctx.client.resp === 2 && ctx.client.inPubSubMode) {
        return ["pong", argv.length === 2 ? argv[1] : ""];
      }
      return argv.length === 2 ? argv[1] : PONG;
    },
  },
  {
    name: "echo",
    arity: 2,
    flags: ["loading", "stale", "fast"],
    categories: ["connection"],
    group: "connection",
    summary: "Returns the given string.",
    since: "1.0.0",
    complexity: "O(1)",
    /** ECHO message */
    handler: (_ctx, argv) => argv[1],
  },
  {
    name: "quit",
    arity: -1,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    categories: ["connection"],
    group: "connection",
    summary: "Closes the connection.",
    since: "1.0.0",
    complexity: "O(1)",
    /** QUIT */
    handler(ctx) {
      ctx.client.closing = true;
      return OK;
    },
  },
  {
    name: "reset",
    arity: 1,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    categories: ["connection"],
    group: "connection",
    summary: "Resets the connection.",
    since: "6.2.0",
    complexity: "O(1)",
    /** RESET */
    handler(ctx) {
      const c = ctx.client;
      for (const hook of ctx.server.resetHooks) hook(c);
      c.db = 0;
      c.resp = 2;
      // As Redis: REPLY OFF and a SKIP still to come are cleared, but a SKIP that applies to
      // this very command silences its +RESET.
      c.replyOff = c.replySkipNext = false;
      c.noEvict = c.noTouch = false;
      c.user = "default";
      c.authenticated = ctx.server.defaultUserNoPass;
      c.name = "";
      return RESET;
    },
  },
  {
    name: "hello",
    arity: -1,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    categories: ["connection"],
    group: "connection",
    summary: "Handshakes with the Redis server.",
    since: "6.0.0",
    complexity: "O(1)",
    /** HELLO [protover [AUTH username password] [SETNAME clientname]] */
    handler(ctx, argv) {
      const c = ctx.client;
      let ver = 0;
      let i = 1;
      if (argv.length >= 2) {
        const v = parseInt64(argv[i++]);
        if (v === null) return err("ERR Protocol version is not an integer or out of range");
        if (v !== 2 && v !== 3) return Errors.noProto;
        ver = v;
      }
      let user: string | null = null;
      let pass: Uint8Array | null = null;
      let name: Uint8Array | null = null;
      for (; i < argv.length; i++) {
        const more = argv.length - 1 - i;
        if (isWord(argv[i], "auth") && more >= 2) {
          user = latin1(argv[i + 1]);
          pass = argv[i + 2];
          i += 2;
        } else if (isWord(argv[i], "setname") && more >= 1) {
          name = argv[i + 1];
          i++;
        } else {
          return err(`ERR Syntax error in HELLO option '${latin1(argv[i])}'`);
        }
      }
      if (user !== null && pass !== null) {
        const e = authenticate(ctx.server, c, user, pass, latin1(argv[0]));
        if (e) return e;
      }
      if (!c.authenticated) {
        return new RespError(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the " +
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and " +
            "select the RESP protocol version at the same time",
        );
      }
      // As Redis: authenticated first, so a bad name fails HELLO after AUTH took effect.
      if (name) {
        if (!validClientName(name)) return Errors.clientNameSpaces;
        c.name = latin1(name);
      }
      if (ver) c.resp = ver as 2 | 3;
      return RespMap.of({
        server: "redis",
        version: REDIS_VERSION,
        proto: c.resp,
        id: c.id,
        mode: "standalone",
        role: "master",
        // Plugins loaded from files, as Redis lists modules (the native ones are built in).
        modules: moduleListReply(ctx.server, false),
      });
    },
  },
  {
    name: "auth",
    arity: -2,
    flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    categories: ["connection"],
    group: "connection",
    summary: "Authenticates the connection.",
    since: "1.0.0",
    complexity: "O(N) where N is the number of passwords defined for the user",
    /** AUTH [username] password */
    handler(ctx, argv) {
      if (argv.length > 3) return Errors.syntax;
      if (argv.length === 2) {
        // Redis looks at the default user's nopass flag only (enabled or not).
        if (ctx.server.acl.defaultUser.nopass) return Errors.authNotConfigured;
        return authenticate(ctx.server, ctx.client, "default", argv[1], latin1(argv[0])) ?? OK;
      }
      return authenticate(ctx.server, ctx.client, latin1(argv[1]), argv[2], latin1(argv[0])) ?? OK;
    },
  },
];
