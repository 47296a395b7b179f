/**
 * The ACL command: CAT DELUSER DRYRUN GENPASS GETUSER LIST LOAD LOG SAVE SETUSER USERS WHOAMI.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { Double, OK, type Reply, RespError, RespMap, RespSet } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import type { CommandLookup, Selector, User } from "../engine/acl/user.ts";
import { intArg, isWord, latin1 } from "./args.ts";
import { Errors, subcommandSyntaxError } from "./errors.ts";
import { ACL_CATEGORIES, type AclCategory, type CommandSpec } from "./spec.ts";

const NO_ACL_FILE =
  "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

function selectorMap(s: Selector, lookup: CommandLookup): RespMap {
  return new RespMap([
    "commands",
    s.describeCommands(lookup),
    "keys",
    s.describeKeys(),
    "channels",
    s.describeChannels(),
  ]);
}

/** What Redis's ACLStringHasSpaces refuses in user names and patterns (C isspace, and NUL). */
const HAS_SPACE = /[ \t\n\v\f\r\0]/;

function userMap(u: User, lookup: CommandLookup): RespMap {
  const flags: Reply[] = [u.enabled ? "on" : "off"];
  if (u.nopass) flags.push("nopass");
  if (u.sanitize) flags.push(u.sanitize);
  return new RespMap([
    "flags",
    new RespSet(flags),
    "passwords",
    [...u.passwords],
    "commands",
    u.root.describeCommands(lookup),
    "keys",
    u.root.describeKeys(),
    "channels",
    u.root.describeChannels(),
    "selectors",
    u.selectors.map((s) => selectorMap(s, lookup)),
  ]);
}

async function saveFile(server: Server): Promise<void> {
  const path = server.config.str("aclfile");
  const tmp = `${path}.tmp-${Deno.pid}`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    await f.write(new TextEncoder().encode(server.acl.serialize()));
    await f.syncData();
  } finally {
    f.close();
  }
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

const sub = (
  name: string,
  arity: number,
  flags: CommandSpec["flags"],
  summary: string,
  since: string,
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name,
  arity,
  flags,
  categories: [],
  group: "server",
  summary,
  since,
  complexity: ACL_COMPLEXITY[name],
  handler,
});

/** Each subcommand's complexity, as Redis's COMMAND DOCS gives it. */
const ACL_COMPLEXITY: Record<string, string> = {
  cat: "O(1) since the categories and commands are a fixed set.",
  deluser: "O(1) amortized time considering the typical user.",
  dryrun: "O(1).",
  genpass: "O(1)",
  getuser: "O(N). Where N is the number of password, command and pattern rules that the user has.",
  list: "O(N). Where N is the number of configured users.",
  load: "O(N). Where N is the number of configured users.",
  log: "O(N) with N being the number of entries shown.",
  save: "O(N). Where N is the number of configured users.",
  setuser: "O(N). Where N is the number of rules provided.",
  users: "O(N). Where N is the number of configured users.",
  whoami: "O(1)",
};

const ADMIN: CommandSpec["flags"] = ["admin", "noscript", "loading", "stale"];
const PLAIN: CommandSpec["flags"] = ["noscript", "loading", "stale"];

/** The ACL family's commands. */
export const aclCommands: CommandSpec[] = [
  {
    name: "acl",
    arity: -2,
    flags: [],
    categories: [],
    group: "server",
    summary: "A container for Access List Control commands.",
    since: "6.0.0",
    complexity: "Depends on subcommand.",
    help: [
      "CAT [<category>]",
      "    List all commands that belong to <category>, or all command categories",
      "    when no category is specified.",
      "DELUSER <username> [<username> ...]",
      "    Delete a list of users.",
      "DRYRUN <username> <command> [<arg> ...]",
      "    Returns whether the user can execute the given command without executing the command.",
      "GETUSER <username>",
      "    Get the user's details.",
      "GENPASS [<bits>]",
      "    Generate a secure 256-bit user password. The optional `bits` argument can",
      "    be used to specify a different size.",
      "LIST",
      "    Show users details in config file format.",
      "LOAD",
      "    Reload users from the ACL file.",
      "LOG [<count> | RESET]",
      "    Show the ACL log entries.",
      "SAVE",
      "    Save the current config to the ACL file.",
      "SETUSER <username> <attribute> [<attribute> ...]",
      "    Create or modify a user with the specified attributes.",
      "USERS",
      "    List all the registered usernames.",
      "WHOAMI",
      "    Return the current connection username.",
    ],
    subcommands: [
      sub(
        "cat",
        -2,
        PLAIN,
        "Lists the ACL categories, or the commands inside a category.",
        "6.0.0",
        /** ACL CAT [category] */
        (ctx, argv) => {
          if (argv.length > 3) return subcommandSyntaxError(argv);
          if (argv.length === 2) return [...ACL_CATEGORIES];
          const cat = latin1(argv[2]).toLowerCase() as AclCategory;
          if (!ACL_CATEGORIES.includes(cat)) {
            return new RespError(
              `ERR Unknown category '${latin1(argv[2])}'`,
            );
          }
          const out: string[] = [];
          for (const c of ctx.server.registry.all()) {
            if (c.categories.has(cat)) out.push(c.fullName);
            for (const s of c.subcommands?.values() ?? []) {
              if (s.categories.has(cat)) {
                out.push(s.fullName);
              }
            }
          }
          return out;
        },
      ),
      sub(
        "deluser",
        -3,
        ADMIN,
        "Deletes ACL users, and terminates their connections.",
        "6.0.0",
        /** ACL DELUSER username [username ...] */
        (ctx, argv) => {
          const names = argv.slice(2).map(latin1);
          if (names.includes("default")) {
            return new RespError(
              "ERR The 'default' user cannot be removed",
            );
          }
          return ctx.server.acl.deleteUsers(names);
        },
      ),
      sub(
        "dryrun",
        -4,
        ADMIN,
        "Simulates the execution of a command by a user, without executing the command.",
        "7.0.0",
        /** ACL DRYRUN username command [arg [arg ...]] */
        (ctx, argv) => {
          const user = ctx.server.acl.users.get(latin1(argv[2]));
          if (!user) return new RespError(`ERR User '${latin1(argv[2])}' not found`);
          const cmdArgv = argv.slice(3);
          let cmd = ctx.server.registry.lookup(cmdArgv[0]);
          if (!cmd) return new RespError(`ERR Command '${latin1(cmdArgv[0])}' not found`);
          if (cmd.subcommands && cmdArgv.length > 1) {
            // A container with an unknown subcommand is no command at all, as Redis's lookup.
            const sub = cmd.subcommands.get(latin1(cmdArgv[1]).toLowerCase());
            if (!sub) return new RespError(`ERR Command '${latin1(cmdArgv[0])}' not found`);
            cmd = sub;
          }
          const a = cmd.arity;
          if (a > 0 ? cmdArgv.length !== a : cmdArgv.length < -a) {
            return new RespError(`ERR wrong number of arguments for '${cmd.fullName}' command`);
          }
          return ctx.server.acl.dryRun(user, cmd, cmdArgv) ?? OK;
        },
      ),
      sub(
        "genpass",
        -2,
        PLAIN,
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        "6.0.0",
        /** ACL GENPASS [bits] */
        (_ctx, argv) => {
          if (argv.length > 3) return subcommandSyntaxError(argv);
          const bits = argv.length === 3 ? intArg(argv[2]) : 256;
          if (bits <= 0 || bits > 4096) {
            return new RespError(
              "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            );
          }
          const chars = Math.ceil(bits / 4);
          return randomBytes(Math.ceil(chars / 2)).toString("hex").slice(0, chars);
        },
      ),
      sub(
        "getuser",
        3,
        ADMIN,
        "Lists the ACL rules of a user.",
        "6.0.0",
        /** ACL GETUSER username */
        (ctx, argv) => {
          const u = ctx.server.acl.users.get(latin1(argv[2]));
          return u ? userMap(u, ctx.server.registry) : null;
        },
      ),
      sub(
        "list",
        2,
        ADMIN,
        "Dumps the effective rules in ACL file format.",
        "6.0.0",
        /** ACL LIST */
        (ctx) => ctx.server.acl.list(),
      ),
      sub(
        "load",
        2,
        ADMIN,
        "Reloads the rules from the configured ACL file.",
        "6.0.0",
        /** ACL LOAD */
        async (ctx) => {
          const path = ctx.server.config.str("aclfile");
          if (!path) return new RespError(NO_ACL_FILE);
          let text: string;
          try {
            text = await Deno.readTextFile(path);
          } catch (e) {
            return new RespError(
              `ERR Error loading ACLs, opening file '${path}': ${(e as Error).message}`,
            );
          }
          ctx.server.acl.replaceUsers(ctx.server.acl.parse(text, path));
          return OK;
        },
      ),
      sub(
        "log",
        -2,
        ADMIN,
        "Lists recent security events generated due to ACL rejections.",
        "6.0.0",
        /** ACL LOG [count | RESET] */
        (ctx, argv) => {
          if (argv.length > 3) return subcommandSyntaxError(argv);
          const acl = ctx.server.acl;
          if (argv.length === 3 && isWord(argv[2], "reset")) {
            acl.log = [];
            return OK;
          }
          // A negative count is no entries, as in Redis 7.0.
          const n = argv.length === 3 ? Math.max(0, intArg(argv[2], Errors.notInteger)) : 10;
          const now = Date.now();
          return acl.log.slice(0, n).map((e) =>
            new RespMap([
              "count",
              e.count,
              "reason",
              e.reason,
              "context",
              e.context,
              "object",
              e.object,
              "username",
              e.username,
              "age-seconds",
              // From the last event merged into the entry, as Redis 7.0 counts it.
              new Double((now - e.updated) / 1000),
              "client-info",
              e.clientInfo,
            ])
          );
        },
      ),
      sub(
        "save",
        2,
        ADMIN,
        "Saves the effective ACL rules in the configured ACL file.",
        "6.0.0",
        /** ACL SAVE */
        async (ctx) => {
          if (!ctx.server.config.str("aclfile")) return new RespError(NO_ACL_FILE);
          try {
            await saveFile(ctx.server);
          } catch (e) {
            return new RespError(
              `ERR There was an error trying to save the ACLs. Please check the server logs for more information (${
                (e as Error).message
              })`,
            );
          }
          return OK;
        },
      ),
      sub(
        "setuser",
        -3,
        ADMIN,
        "Creates and modifies an ACL user and its rules.",
        "6.0.0",
        /** ACL SETUSER username [rule [rule ...]] */
        (ctx, argv) => {
          const name = latin1(argv[2]);
          if (HAS_SPACE.test(name)) {
            return new RespError("ERR Usernames can't contain spaces or null characters");
          }
          ctx.server.acl.setUser(name, argv.slice(3).map(latin1));
          return OK;
        },
      ),
      sub(
        "users",
        2,
        ADMIN,
        "Lists all ACL users.",
        "6.0.0", /** ACL USERS */
        (ctx) => [...ctx.server.acl.users.keys()].sort(),
      ),
      sub(
        "whoami",
        2,
        PLAIN,
        "Returns the authenticated username of the current connection.",
        "6.0.0",
        /** ACL WHOAMI */
        (ctx) => ctx.client.user,
      ),
    ],
  },
];
