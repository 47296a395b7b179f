/**
 * CLIENT: connection management. ID SETNAME GETNAME INFO LIST KILL SETINFO NO-EVICT NO-TOUCH
 * REPLY PAUSE UNPAUSE HELP, with Redis 7's replies and error texts (SETINFO, NO-TOUCH and KILL
 * MAXAGE as Redis 7.2/7.4 added them).
 *
 * @module
 */
import { parseInt64 } from "../protocol/numbers.ts";
import {
  NO_REPLY,
  OK,
  type Reply,
  RespError,
  RespMap,
  RespSet,
  Verbatim,
} from "../protocol/reply.ts";
import type { Client } from "../server/client.ts";
import { unblockClient } from "../server/blocking.ts";
import type { Server } from "../server/server.ts";
import { isWord, latin1 } from "./args.ts";
import { validClientName } from "./connection.ts";
import { err, Errors, subcommandSyntaxError } from "./errors.ts";
import type { CommandSpec } from "./spec.ts";

/** Client classes as CLIENT LIST TYPE and CLIENT KILL TYPE name them. */
export type ClientType = "normal" | "master" | "replica" | "pubsub";

/** The class of a client (FerricStore has no replication links: normal or pubsub). */
export function clientType(c: Client): ClientType {
  return c.inPubSubMode ? "pubsub" : "normal";
}

/** Redis's getClientTypeByName; null for an unknown name. */
function typeByName(b: Uint8Array): ClientType | null {
  const name = latin1(b).toLowerCase();
  if (name === "normal" || name === "master" || name === "pubsub") return name;
  if (name === "replica" || name === "slave") return "replica";
  return null;
}

const unknownType = (b: Uint8Array) => err(`ERR Unknown client type '${latin1(b)}'`);

/** CLIENT LIST `flags=`, in Redis's order (N when none applies). */
function flagsOf(c: Client): string {
  // In Redis's order (getClientInfoString).
  let f = c.monitor ? "O" : "";
  if (c.inPubSubMode) f += "P";
  if (c.tx !== null || c.inExec) f += "x";
  if (c.blocked) f += "b";
  if (c.tracking !== null) {
    f += "t";
    if (c.tracking.brokenRedirect) f += "R";
    if (c.tracking.bcast) f += "B";
  }
  if (c.watchDirty) f += "d";
  if (c.closing) f += "c";
  if (c.transport.unix) f += "U";
  if (c.noEvict) f += "e";
  if (c.noTouch) f += "T";
  return f === "" ? "N" : f;
}

/**
 * One CLIENT LIST line (without the newline), Redis 7.2's format. `argv` is the running command
 * of the client asking (its `argv-mem`); other clients are between commands.
 */
export function clientInfoLine(c: Client, argv: Uint8Array[] | null, now = Date.now()): string {
  const [qbuf, qbufFree] = c.transport.queryBuffer();
  let argvMem = 0;
  for (const a of argv ?? []) argvMem += a.length;
  let multiMem = 0;
  for (const q of c.tx?.queue ?? []) for (const a of q.argv) multiMem += a.length;
  const omem = c.transport.outputPending();
  const [rbs, rbp] = c.transport.replyBuffer?.() ?? [0, 0];
  const sec = (ms: number) => Math.floor(ms / 1000);
  return `id=${c.id} addr=${c.transport.addr} laddr=${c.transport.laddr} fd=-1` +
    ` name=${c.name} age=${sec(now) - sec(c.createdAt)} idle=${sec(now) - sec(c.lastInteraction)}` +
    ` flags=${flagsOf(c)} db=${c.db} sub=${c.channels.size} psub=${c.patterns.size}` +
    ` ssub=${c.shardChannels.size} multi=${
      c.tx ? c.tx.queue.length : c.inExec ? c.execQueued : -1
    }` +
    ` watch=${c.watched.size}` +
    ` qbuf=${qbuf} qbuf-free=${qbufFree} argv-mem=${argvMem} multi-mem=${multiMem}` +
    ` rbs=${rbs} rbp=${rbp} obl=0 oll=0 omem=${omem}` +
    ` tot-mem=${qbuf + qbufFree + argvMem + multiMem + rbs + omem} events=r${omem > 0 ? "w" : ""}` +
    ` cmd=${c.lastCommand} user=${c.user} redir=${c.tracking ? c.tracking.redirect : -1}` +
    ` resp=${c.resp} lib-name=${c.libName} lib-ver=${c.libVer}`;
}

/** CLIENT INFO and CLIENT LIST reply: a bulk string, verbatim text in RESP3. */
function listReply(lines: string[]): Verbatim {
  return new Verbatim("txt", lines.map((l) => l + "\n").join(""));
}

/** The filters of CLIENT KILL; every one given must match. */
interface KillFilter {
  addr: string | null;
  laddr: string | null;
  user: string | null;
  type: ClientType | null;
  id: number | bigint | null;
  maxAge: number | bigint | null;
  skipMe: boolean;
}

/** A filter that matches every client but the caller. */
function noFilter(): KillFilter {
  return {
    addr: null,
    laddr: null,
    user: null,
    type: null,
    id: null,
    maxAge: null,
    skipMe: true,
  };
}

/** Parses `<option> <value> ...` of the new CLIENT KILL form; throws the first error. */
function parseKillFilter(server: Server, argv: Uint8Array[]): KillFilter {
  const f = noFilter();
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i];
    if (i + 1 >= argv.length) throw Errors.syntax;
    const v = argv[i + 1];
    if (isWord(opt, "id")) {
      const id = parseInt64(v);
      if (id === null || id < 1) throw err("ERR client-id should be greater than 0");
      f.id = id;
    } else if (isWord(opt, "maxage")) {
      const age = parseInt64(v);
      if (age === null) throw err("ERR maxage is not an integer or out of range");
      if (age <= 0) throw err("ERR maxage should be greater than 0");
      f.maxAge = age;
    } else if (isWord(opt, "type")) {
      f.type = typeByName(v);
      if (f.type === null) throw unknownType(v);
    } else if (isWord(opt, "addr")) {
      f.addr = latin1(v);
    } else if (isWord(opt, "laddr")) {
      f.laddr = latin1(v);
    } else if (isWord(opt, "user")) {
      f.user = latin1(v);
      if (!server.acl.users.has(f.user)) throw err(`ERR No such user '${f.user}'`);
    } else if (isWord(opt, "skipme")) {
      if (isWord(v, "yes")) f.skipMe = true;
      else if (isWord(v, "no")) f.skipMe = false;
      else throw Errors.syntax;
    } else {
      throw Errors.syntax;
    }
  }
  return f;
}

/** Closes every client the filter matches; the caller itself closes after this reply. */
function killClients(server: Server, me: Client, f: KillFilter): number {
  const nowSec = Math.floor(Date.now() / 1000);
  let killed = 0;
  for (const c of [...server.clients.values()]) {
    if (f.addr !== null && c.transport.addr !== f.addr) continue;
    if (f.laddr !== null && c.transport.laddr !== f.laddr) continue;
    if (f.type !== null && clientType(c) !== f.type) continue;
    if (f.id !== null && BigInt(c.id) !== BigInt(f.id)) continue;
    if (f.user !== null && c.user !== f.user) continue;
    if (f.maxAge !== null && BigInt(nowSec - Math.floor(c.createdAt / 1000)) < BigInt(f.maxAge)) {
      continue;
    }
    if (c === me && f.skipMe) continue;
    killed++;
    if (c === me) me.closing = true; // after this reply is written
    else c.transport.close();
  }
  return killed;
}

/** ON|OFF of NO-EVICT and NO-TOUCH. */
function onOff(b: Uint8Array): boolean {
  if (isWord(b, "on")) return true;
  if (isWord(b, "off")) return false;
  throw Errors.syntax;
}

/** Client attributes (SETINFO) take printable ASCII without spaces, as client names do. */
function setInfoAttr(c: Client, attr: Uint8Array, value: Uint8Array): Reply {
  const which = isWord(attr, "lib-name") ? "libName" : isWord(attr, "lib-ver") ? "libVer" : null;
  if (which === null) return err(`ERR Unrecognized option '${latin1(attr)}'`);
  if (!validClientName(value)) {
    return err(`ERR ${latin1(attr)} cannot contain spaces, newlines or special characters.`);
  }
  c[which] = latin1(value);
  return OK;
}

const INT_ERR = "ERR timeout is not an integer or out of range";

/** CLIENT PAUSE's timeout in ms (Redis's getTimeoutFromObjectOrReply in milliseconds). */
function pauseTimeout(b: Uint8Array): number {
  const v = parseInt64(b);
  if (v === null) throw err(INT_ERR);
  if (v < 0) throw Errors.timeoutNegative;
  return typeof v === "bigint" ? Number.MAX_SAFE_INTEGER : v;
}

/** A CLIENT subcommand: connection group, `@connection`, no keys. */
function sub(
  spec: Omit<CommandSpec, "categories" | "group" | "complexity"> & { complexity?: string },
): CommandSpec {
  return { categories: ["connection"], group: "connection", complexity: "O(1)", ...spec };
}

const INSPECT = ["noscript", "loading", "stale"] as const;
const ADMIN = ["admin", "noscript", "loading", "stale"] as const;

/** The CLIENT container and its subcommands. */
export const clientCommands: CommandSpec[] = [
  {
    name: "client",
    arity: -2,
    flags: [],
    categories: [],
    group: "connection",
    summary: "A container for client connection commands",
    since: "2.4.0",
    complexity: "Depends on subcommand.",
    helpCategories: ["connection"],
    help: [
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are:",
      "    * ADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made from the specified address",
      "    * LADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made to specified local address",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Kill connections by type.",
      "    * USER <username>",
      "      Kill connections authenticated by <username>.",
      "    * SKIPME (YES|NO)",
      "      Skip killing current connection (default: yes).",
      "    * ID <client-id>",
      "      Kill connections by client id.",
      "    * MAXAGE <maxage>",
      "      Kill connections older than the specified age.",
      "LIST [options ...]",
      "    Return information about client connections. Options:",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Return clients of specified type.",
      "UNPAUSE",
      "    Stop the current client pause, resuming traffic.",
      "PAUSE <timeout> [WRITE|ALL]",
      "    Suspend all, or just write, clients for <timeout> milliseconds.",
      "REPLY (ON|OFF|SKIP)",
      "    Control the replies sent to the current connection.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "SETINFO <option> <value>",
      "    Set client meta attr. Options are:",
      "    * LIB-NAME: the client lib name.",
      "    * LIB-VER: the client lib version.",
      "NO-EVICT (ON|OFF)",
      "    Protect current client connection from eviction.",
      "NO-TOUCH (ON|OFF)",
      "    Will not touch LRU/LFU stats when this mode is on.",
      "UNBLOCK <clientid> [TIMEOUT|ERROR]",
      "    Unblock the specified blocked client.",
      "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
      "         [OPTIN] [OPTOUT] [NOLOOP]",
      "    Control server assisted client side caching.",
      "CACHING (YES|NO)",
      "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
      "GETREDIR",
      "    Return the client ID we are redirecting to when tracking is enabled.",
      "TRACKINGINFO",
      "    Report tracking status for the current connection.",
    ],
    subcommands: [
      sub({
        name: "id",
        arity: 2,
        flags: [...INSPECT],
        summary: "Returns the client ID for the current connection",
        since: "5.0.0",
        /** CLIENT ID */
        handler: (ctx) => ctx.client.id,
      }),
      sub({
        name: "setname",
        arity: 3,
        flags: [...INSPECT],
        summary: "Set the current connection name",
        since: "2.6.9",
        /** CLIENT SETNAME connection-name */
        handler(ctx, argv) {
          if (!validClientName(argv[2])) return Errors.clientNameSpaces;
          ctx.client.name = latin1(argv[2]);
          return OK;
        },
      }),
      sub({
        name: "getname",
        arity: 2,
        flags: [...INSPECT],
        summary: "Get the current connection name",
        since: "2.6.9",
        /** CLIENT GETNAME */
        handler: (ctx) => ctx.client.name === "" ? null : ctx.client.name,
      }),
      sub({
        name: "info",
        arity: 2,
        flags: [...INSPECT],
        summary: "Returns information about the current client connection.",
        since: "6.2.0",
        /** CLIENT INFO */
        handler: (ctx, argv) => listReply([clientInfoLine(ctx.client, argv)]),
      }),
      sub({
        name: "list",
        arity: -2,
        flags: [...ADMIN],
        differences:
          "`fd=-1` for every client (Deno does not expose socket descriptors); fields in Redis 7.2's layout (`watch=`, `lib-name=`, `lib-ver=`).",
        summary: "Get the list of client connections",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        /** CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]] */
        handler(ctx, argv) {
          const { server, client } = ctx;
          const line = (c: Client) => clientInfoLine(c, c === client ? argv : null);
          if (argv.length === 2) return listReply([...server.clients.values()].map(line));
          if (argv.length === 4 && isWord(argv[2], "type")) {
            const type = typeByName(argv[3]);
            if (type === null) return unknownType(argv[3]);
            const all = [...server.clients.values()];
            return listReply(all.filter((c) => clientType(c) === type).map(line));
          }
          if (argv.length > 3 && isWord(argv[2], "id")) {
            const lines: string[] = [];
            for (const b of argv.slice(3)) {
              const id = parseInt64(b);
              if (id === null) return err("ERR Invalid client ID");
              const c = typeof id === "number" ? server.clients.get(id) : undefined;
              if (c !== undefined) lines.push(line(c));
            }
            return listReply(lines);
          }
          return Errors.syntax;
        },
      }),
      sub({
        name: "kill",
        arity: -3,
        flags: [...ADMIN],
        summary: "Kill the connection of a client",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        /**
         * CLIENT KILL ip:port
         * CLIENT KILL [ID client-id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username]
         *   [ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO] [MAXAGE maxage] ...
         */
        handler(ctx, argv) {
          const { server, client } = ctx;
          if (argv.length === 3) {
            // The old form matches the address only, and may kill the caller itself.
            const f = { ...noFilter(), addr: latin1(argv[2]), skipMe: false };
            return killClients(server, client, f) === 0 ? Errors.clientNoSuchClient : OK;
          }
          return killClients(server, client, parseKillFilter(server, argv));
        },
      }),
      sub({
        name: "setinfo",
        arity: 4,
        flags: [...INSPECT],
        summary: "Sets information specific to the client or connection.",
        since: "7.2.0",
        /** CLIENT SETINFO LIB-NAME libname | LIB-VER libver */
        handler: (ctx, argv) => setInfoAttr(ctx.client, argv[2], argv[3]),
      }),
      sub({
        name: "no-evict",
        arity: 3,
        flags: [...ADMIN],
        summary: "Set client eviction mode for the current connection",
        since: "7.0.0",
        /** CLIENT NO-EVICT ON|OFF */
        handler(ctx, argv) {
          ctx.client.noEvict = onOff(argv[2]);
          return OK;
        },
      }),
      sub({
        name: "no-touch",
        arity: 3,
        flags: [...INSPECT],
        summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys",
        since: "7.2.0",
        /** CLIENT NO-TOUCH ON|OFF */
        handler(ctx, argv) {
          ctx.client.noTouch = onOff(argv[2]);
          return OK;
        },
      }),
      sub({
        name: "reply",
        arity: 3,
        flags: [...INSPECT],
        differences:
          "A protocol error while replies are off (or skipped) is not answered, as in Redis, and the connection is closed; Redis 7.0 leaves it open and reads nothing more from it.",
        summary: "Instruct the server whether to reply to commands",
        since: "3.2.0",
        /** CLIENT REPLY ON|OFF|SKIP */
        handler(ctx, argv) {
          const c = ctx.client;
          if (isWord(argv[2], "on")) {
            c.replyOff = false;
            c.replySkip = false;
            c.replySkipNext = false;
            return OK;
          }
          if (isWord(argv[2], "off")) {
            c.replyOff = true;
            return NO_REPLY;
          }
          if (isWord(argv[2], "skip")) {
            if (!c.replyOff) c.replySkipNext = true;
            return NO_REPLY;
          }
          return Errors.syntax;
        },
      }),
      sub({
        name: "pause",
        arity: -3,
        flags: [...ADMIN],
        summary: "Stop processing commands from clients for some time",
        since: "2.9.50",
        /** CLIENT PAUSE timeout [WRITE|ALL] */
        handler(ctx, argv) {
          if (argv.length > 4) return subcommandSyntaxError(argv);
          let all = true;
          if (argv.length === 4) {
            if (isWord(argv[3], "write")) all = false;
            else if (!isWord(argv[3], "all")) {
              return err("ERR CLIENT PAUSE mode must be WRITE or ALL");
            }
          }
          const ms = pauseTimeout(argv[2]);
          ctx.server.pause.pause(
            ms > 0 ? Math.min(Date.now() + ms, Number.MAX_SAFE_INTEGER) : 0,
            all,
          );
          return OK;
        },
      }),
      sub({
        name: "unblock",
        arity: -3,
        flags: [...ADMIN],
        summary: "Unblocks a client blocked by a blocking command from a different connection.",
        since: "5.0.0",
        complexity: "O(log N) where N is the number of client connections",
        /** CLIENT UNBLOCK client-id [TIMEOUT | ERROR] */
        handler(ctx, argv) {
          if (argv.length > 4) return subcommandSyntaxError(argv);
          // The reason is checked before the id, as Redis checks them.
          let mode: "timeout" | "error" = "timeout";
          if (argv.length === 4) {
            if (isWord(argv[3], "error")) mode = "error";
            else if (!isWord(argv[3], "timeout")) {
              return new RespError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            }
          }
          const id = parseInt64(argv[2]);
          if (id === null) return Errors.notInteger;
          return unblockClient(ctx.server, Number(id), mode) ? 1 : 0;
        },
      }),
      sub({
        name: "tracking",
        arity: -3,
        flags: [...INSPECT],
        summary: "Controls server-assisted client-side caching for the connection.",
        since: "6.0.0",
        complexity: "O(1). Some options may introduce additional complexity.",
        /** CLIENT TRACKING <ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP] */
        handler(ctx, argv) {
          const on = isWord(argv[2], "on");
          if (!on && !isWord(argv[2], "off")) return Errors.syntax;
          const o = {
            redirect: 0,
            bcast: false,
            optin: false,
            optout: false,
            noloop: false,
            prefixes: [] as string[],
          };
          for (let i = 3; i < argv.length; i++) {
            const more = argv.length - 1 - i;
            if (isWord(argv[i], "redirect") && more > 0) {
              i++;
              if (o.redirect !== 0) {
                return new RespError("ERR A client can only redirect to a single other client");
              }
              const id = parseInt64(argv[i]);
              if (id === null) return Errors.notInteger;
              if (typeof id !== "number" || !ctx.server.clients.has(id)) {
                return new RespError("ERR The client ID you want redirect to does not exist");
              }
              o.redirect = id;
            } else if (isWord(argv[i], "bcast")) o.bcast = true;
            else if (isWord(argv[i], "optin")) o.optin = true;
            else if (isWord(argv[i], "optout")) o.optout = true;
            else if (isWord(argv[i], "noloop")) o.noloop = true;
            else if (isWord(argv[i], "prefix") && more > 0) o.prefixes.push(latin1(argv[++i]));
            else return Errors.syntax;
          }
          if (!on) {
            ctx.server.tracking.disable(ctx.client);
            return OK;
          }
          // The checks in Redis's order (the first that fails answers).
          if (o.prefixes.length && !o.bcast) {
            return new RespError("ERR PREFIX option requires BCAST mode to be enabled");
          }
          const t = ctx.client.tracking;
          if (t && t.bcast !== o.bcast) {
            return new RespError(
              "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
          }
          if (o.bcast && (o.optin || o.optout)) {
            return new RespError("ERR OPTIN and OPTOUT are not compatible with BCAST");
          }
          if (o.optin && o.optout) {
            return new RespError("ERR You can't specify both OPTIN mode and OPTOUT mode");
          }
          if (t && ((o.optin && t.optout) || (o.optout && t.optin))) {
            return new RespError(
              "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
          }
          const overlap = (p: string, q: string) => p.startsWith(q) || q.startsWith(p);
          // Redis formats the prefixes with %s: a NUL ends them.
          const c = (p: string) => p.includes("\0") ? p.slice(0, p.indexOf("\0")) : p;
          // The client's prefixes in Redis's radix-tree order (byte order).
          const existing = t && t.bcast ? [...t.prefixes].sort() : [];
          for (let i = 0; i < o.prefixes.length; i++) {
            const p = o.prefixes[i];
            const old = existing.find((q) => overlap(p, q));
            if (old !== undefined) {
              return new RespError(
                `ERR Prefix '${c(p)}' overlaps with an existing prefix '${
                  c(old)
                }'. Prefixes for a single client must not overlap.`,
              );
            }
            for (let j = i + 1; j < o.prefixes.length; j++) {
              if (overlap(p, o.prefixes[j])) {
                return new RespError(
                  `ERR Prefix '${c(p)}' overlaps with another provided prefix '${
                    c(o.prefixes[j])
                  }'. Prefixes for a single client must not overlap.`,
                );
              }
            }
          }
          if (o.bcast) {
            // BCAST adds to the prefixes the client has; without PREFIX it adds "" (every key),
            // even beside others, as Redis does.
            const all = new Set(existing);
            if (o.prefixes.length === 0) all.add("");
            for (const p of o.prefixes) all.add(p);
            o.prefixes = [...all];
          }
          ctx.server.tracking.enable(ctx.client, o);
          return OK;
        },
      }),
      sub({
        name: "caching",
        arity: 3,
        flags: [...INSPECT],
        summary: "Instructs the server whether to track the keys in the next request.",
        since: "6.0.0",
        /** CLIENT CACHING <YES | NO> */
        handler(ctx, argv) {
          const t = ctx.client.tracking;
          if (!t) {
            return new RespError(
              "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            );
          }
          if (isWord(argv[2], "yes") && t.optin) t.caching = true;
          else if (isWord(argv[2], "no") && t.optout) t.caching = false;
          else if (isWord(argv[2], "yes") || isWord(argv[2], "no")) {
            return new RespError(
              isWord(argv[2], "yes")
                ? "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
                : "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
          } else return Errors.syntax;
          return OK;
        },
      }),
      sub({
        name: "getredir",
        arity: 2,
        flags: [...INSPECT],
        summary:
          "Returns the client ID to which the connection's tracking notifications are redirected.",
        since: "6.0.0",
        /** CLIENT GETREDIR */
        handler: (ctx) => ctx.client.tracking === null ? -1 : ctx.client.tracking.redirect,
      }),
      sub({
        name: "trackinginfo",
        arity: 2,
        flags: [...INSPECT],
        summary:
          "Returns information about server-assisted client-side caching for the connection.",
        since: "6.2.0",
        /** CLIENT TRACKINGINFO */
        handler(ctx) {
          const t = ctx.client.tracking;
          if (t === null) {
            return new RespMap(["flags", new RespSet(["off"]), "redirect", -1, "prefixes", []]);
          }
          const flags: string[] = ["on"];
          if (t.bcast) flags.push("bcast");
          if (t.optin) flags.push("optin");
          if (t.optout) flags.push("optout");
          if (t.caching === true) flags.push("caching-yes");
          if (t.caching === false) flags.push("caching-no");
          if (t.noloop) flags.push("noloop");
          if (t.brokenRedirect) flags.push("broken_redirect");
          // Sorted by bytes, as Redis lists them from its radix tree.
          return new RespMap(["flags", new RespSet(flags), "redirect", t.redirect, "prefixes", [
            ...[...t.prefixes].sort(),
          ]]);
        },
      }),
      sub({
        name: "unpause",
        arity: 2,
        flags: [...ADMIN],
        summary: "Resume processing of clients that were paused",
        since: "6.2.0",
        complexity: "O(N) Where N is the number of paused clients",
        /** CLIENT UNPAUSE */
        handler(ctx) {
          ctx.server.pause.unpause();
          return OK;
        },
      }),
    ],
  },
];
