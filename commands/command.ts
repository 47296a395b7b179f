/**
 * COMMAND: COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, generated from the command specs
 * of every registered command (plugins included), in Redis 7's reply shapes.
 *
 * @module
 */
import { globMatch } from "../engine/glob.ts";
import { type Reply, RespError, RespMap, RespSet, SimpleString } from "../protocol/reply.ts";
import type { Server } from "../server/server.ts";
import { isWord, latin1 } from "./args.ts";
import { Errors } from "./errors.ts";
import {
  ACL_CATEGORIES,
  type AclCategory,
  type Command,
  type CommandSpec,
  findKeys,
  type KeySpec,
} from "./spec.ts";

const status = (s: string) => new SimpleString(s);

/** Key-spec flag names as COMMAND prints them (access types in lower case). */
function keySpecFlag(f: string): string {
  return ["RO", "RW", "OW", "RM"].includes(f) ? f : f.toLowerCase();
}

/** A begin_search or find_keys part only the command's getkeys function knows. */
const UNKNOWN_SPEC = new RespMap(["type", "unknown", "spec", new RespMap([])]);

function keySpecReply(k: KeySpec): Reply {
  const begin = "unknown" in k.begin
    ? UNKNOWN_SPEC
    : "index" in k.begin
    ? new RespMap(["type", "index", "spec", new RespMap(["index", k.begin.index])])
    : new RespMap([
      "type",
      "keyword",
      "spec",
      new RespMap(["keyword", k.begin.keyword, "startfrom", k.begin.startFrom]),
    ]);
  const find = "unknown" in k.find ? UNKNOWN_SPEC : "lastKey" in k.find
    ? new RespMap([
      "type",
      "range",
      "spec",
      new RespMap(["lastkey", k.find.lastKey, "keystep", k.find.keyStep, "limit", k.find.limit]),
    ])
    : new RespMap([
      "type",
      "keynum",
      "spec",
      new RespMap([
        "keynumidx",
        k.find.keyNumIdx,
        "firstkey",
        k.find.firstKey,
        "keystep",
        k.find.keyStep,
      ]),
    ]);
  const entries: Reply[] = k.notes ? ["notes", k.notes] : [];
  entries.push(
    "flags",
    new RespSet(k.flags.map((f) => status(keySpecFlag(f)))),
    "begin_search",
    begin,
    "find_keys",
    find,
  );
  return new RespMap(entries);
}

/** One command's COMMAND INFO entry. */
export function commandInfo(cmd: Command): Reply {
  const [first, last, step] = cmd.legacyKeyRange();
  // Redis 7.0 leaves may_replicate out of COMMAND INFO on purpose.
  const flags = [...cmd.flags].filter((f) => f !== "may_replicate").map(status);
  if (cmd.movableKeys) flags.push(status("movablekeys"));
  const cats = ACL_CATEGORIES.filter((c) => cmd.categories.has(c)).map((c) => status(`@${c}`));
  return [
    cmd.fullName,
    cmd.arity,
    new RespSet(flags),
    first,
    last,
    step,
    new RespSet(cats),
    new RespSet([...cmd.tips]),
    new RespSet((cmd.spec.keys ?? []).map(keySpecReply)),
    // Redis 7.0 sends the subcommands as an array, or an empty set when there are none.
    cmd.subcommands?.size ? [...cmd.subcommands.values()].map(commandInfo) : new RespSet([]),
  ];
}

/** commands/command_docs.ts, imported on the first COMMAND DOCS (it holds a ~60 KB table). */
type DocsModule = typeof import("./command_docs.ts");
let docsModule: DocsModule | undefined;

/** One command's COMMAND DOCS entry, keys in Redis's order. */
function commandDocs(cmd: Command, docs: DocsModule): Reply {
  const s = cmd.spec;
  const doc: Reply[] = ["summary", s.summary, "since", s.since, "group", s.group];
  // Redis leaves complexity out of commands that have none (MONITOR, LOLWUT).
  if (s.complexity) doc.push("complexity", s.complexity);
  if (cmd.plugin) {
    doc.push("module", cmd.plugin);
    if (s.arguments?.length) doc.push("arguments", s.arguments as Reply[]);
  } else doc.push(...docs.docFields(cmd.fullName));
  if (cmd.subcommands?.size) {
    const subs: Reply[] = [];
    for (const sub of cmd.subcommands.values()) subs.push(sub.fullName, commandDocs(sub, docs));
    doc.push("subcommands", new RespMap(subs));
  }
  return new RespMap(doc);
}

/** COMMAND DOCS [command-name [command-name ...]]: unknown names are left out, as Redis does. */
function docsReply(server: Server, argv: Uint8Array[], docs: DocsModule): Reply {
  const cmds = argv.length === 2
    ? [...server.registry.all()]
    : argv.slice(2).flatMap((a) => byName(server, latin1(a)) ?? []);
  return new RespMap(cmds.flatMap((c) => [c.fullName, commandDocs(c, docs)]));
}

/** Finds a command (or `container subcommand`) by name; undefined when there is none. */
function byName(server: Server, name: string): Command | undefined {
  const [top, sub] = name.toLowerCase().split("|");
  const cmd = server.registry.get(top);
  return sub === undefined ? cmd : cmd?.subcommands?.get(sub);
}

function keysOf(server: Server, argv: Uint8Array[], withFlags: boolean): Reply {
  let cmd = server.registry.lookup(argv[0]);
  if (!cmd) return new RespError("ERR Invalid command specified");
  if (cmd.subcommands && argv.length > 1) {
    cmd = cmd.subcommands.get(latin1(argv[1]).toLowerCase()) ?? cmd;
  }
  const keySpecs = cmd.spec.keys?.filter((k) => !k.flags.includes("NOT_KEY")) ?? [];
  if (keySpecs.length === 0 && !cmd.spec.getKeys) {
    return new RespError("ERR The command has no key arguments");
  }
  const a = cmd.arity;
  if (a > 0 ? argv.length !== a : argv.length < -a) {
    return new RespError("ERR Invalid number of arguments specified for command");
  }
  const found = findKeys(cmd, argv).filter((k) => !k.flags.includes("NOT_KEY"));
  if (found.length === 0) {
    return cmd.flags.has("no_mandatory_keys")
      ? []
      : new RespError("ERR Invalid arguments specified for command");
  }
  return found.map((k) =>
    withFlags
      ? [argv[k.index], new RespSet(k.flags.map((f) => status(keySpecFlag(f))))]
      : argv[k.index]
  );
}

const LOOKUP = "O(N) where N is the number of commands to look up";
const ARGUMENTS = "O(N) where N is the number of arguments to the command";

const sub = (
  name: string,
  arity: number,
  [summary, since, complexity]: [string, string, string],
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name,
  arity,
  flags: ["loading", "stale"],
  categories: ["connection"],
  group: "server",
  summary,
  since,
  complexity,
  handler,
});

/** The COMMAND command. */
export const commandCommands: CommandSpec[] = [
  {
    name: "command",
    arity: -1,
    flags: ["loading", "stale"],
    categories: ["connection"],
    group: "server",
    summary: "Returns detailed information about all commands.",
    since: "2.8.13",
    complexity: "O(N) where N is the total number of Redis commands",
    helpCategories: ["connection"],
    help: [
      "(no subcommand)",
      "    Return details about all Redis commands.",
      "COUNT",
      "    Return the total number of commands in this Redis server.",
      "LIST",
      "    Return a list of all commands in this Redis server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple Redis commands.",
      "    If no command names are given, documentation details for all",
      "    commands are returned.",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple Redis commands.",
      "    If no command names are given, documentation details for all",
      "    commands are returned.",
      "GETKEYS <full-command>",
      "    Return the keys from a full Redis command.",
      "GETKEYSANDFLAGS <full-command>",
      "    Return the keys and the access flags from a full Redis command.",
    ],
    /** COMMAND */
    handler: (ctx) => [...ctx.server.registry.all()].map(commandInfo),
    subcommands: [
      sub(
        "count",
        2,
        ["Returns a count of commands.", "2.8.13", "O(1)"], /** COMMAND COUNT */
        (ctx) => ctx.server.registry.size,
      ),
      sub(
        "list",
        -2,
        [
          "Returns a list of command names.",
          "7.0.0",
          "O(N) where N is the total number of Redis commands",
        ],
        /** COMMAND LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>] */
        (ctx, argv) => {
          // Subcommands follow their container, as in Redis (`acl`, `acl|cat` …).
          const all = [...ctx.server.registry.everyCommand()];
          const names = (keep: (c: Command) => boolean) => all.filter(keep).map((c) => c.fullName);
          if (argv.length === 2) return names(() => true);
          if (argv.length !== 5 || !isWord(argv[2], "filterby")) return Errors.syntax;
          const value = latin1(argv[4]);
          if (isWord(argv[3], "module")) return names((c) => (c.parent ?? c).plugin === value);
          if (isWord(argv[3], "aclcat")) {
            const cat = value.toLowerCase() as AclCategory;
            return names((c) => c.categories.has(cat));
          }
          if (isWord(argv[3], "pattern")) return names((c) => globMatch(value, c.fullName, true));
          return Errors.syntax;
        },
      ),
      sub(
        "info",
        -2,
        ["Returns information about one, multiple or all commands.", "2.8.13", LOOKUP],
        /** COMMAND INFO [command-name [command-name ...]] */
        (ctx, argv) => {
          if (argv.length === 2) return [...ctx.server.registry.all()].map(commandInfo);
          return argv.slice(2).map((a) => {
            const c = byName(ctx.server, latin1(a));
            return c ? commandInfo(c) : null;
          });
        },
      ),
      sub(
        "docs",
        -2,
        ["Returns documentary information about one, multiple or all commands.", "7.0.0", LOOKUP],
        /** COMMAND DOCS [command-name [command-name ...]] */
        (ctx, argv) =>
          docsModule
            ? docsReply(ctx.server, argv, docsModule)
            : import("./command_docs.ts").then((m) => docsReply(ctx.server, argv, docsModule = m)),
      ),
      sub(
        "getkeys",
        -4,
        ["Extracts the key names from an arbitrary command.", "2.8.13", ARGUMENTS],
        /** COMMAND GETKEYS command [arg [arg ...]] */
        (ctx, argv) => keysOf(ctx.server, argv.slice(2), false),
      ),
      sub(
        "getkeysandflags",
        -4,
        ["Extracts the key names and access flags for an arbitrary command.", "7.0.0", ARGUMENTS],
        /** COMMAND GETKEYSANDFLAGS command [arg [arg ...]] */
        (ctx, argv) => keysOf(ctx.server, argv.slice(2), true),
      ),
    ],
  },
];
