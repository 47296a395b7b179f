/**
 * The COMMAND DOCS fields the command specs do not carry: `doc_flags`, `deprecated_since`,
 * `replaced_by`, `history` and `arguments`. For the commands Redis 7.0 has they are redis-server's
 * own (docs_data.json, written by gen_docs.ts); for FerricStore's other commands they are written
 * here by hand, in Redis's argument schema (the Redis 7.4/8.0 hash commands as Redis's
 * src/commands/*.json describe them). Plugin commands keep their spec's `arguments`.
 *
 * command.ts imports this module on the first COMMAND DOCS, so a server that is never asked does
 * not parse the table.
 *
 * @module
 */
import redisDocs from "./docs_data.json" with { type: "json" };
import { type Reply, RespSet, SimpleString } from "../protocol/reply.ts";
import { type ArgumentDoc as ArgDoc, argumentReply } from "./argument_docs.ts";

/** A command's COMMAND DOCS fields beyond summary, since, group and complexity. */
export interface CommandDoc {
  /** `deprecated`, `syscmd` */
  doc_flags?: string[];
  deprecated_since?: string;
  replaced_by?: string;
  /** [version, change] pairs. */
  history?: [string, string][];
  arguments?: ArgDoc[];
}

const key: ArgDoc = { name: "key", type: "key", key_spec_index: 0 };
const optional = (a: ArgDoc): ArgDoc => ({ ...a, flags: ["optional"] });
const token = (name: string): ArgDoc => ({ name, type: "pure-token", token: name.toUpperCase() });
const oneof = (name: string, choices: ArgDoc[]): ArgDoc => ({
  name,
  type: "oneof",
  arguments: choices,
});
/** `FIELDS numfields field [field ...]` (`data`: `field value [field value ...]`). */
const fields = (withValues = false): ArgDoc => ({
  name: "fields",
  type: "block",
  token: "FIELDS",
  arguments: [
    { name: "numfields", type: "integer" },
    withValues
      ? {
        name: "data",
        type: "block",
        flags: ["multiple"],
        arguments: [{ name: "field", type: "string" }, { name: "value", type: "string" }],
      }
      : { name: "field", type: "string", flags: ["multiple"] },
  ],
});
const expireCondition = optional(oneof("condition", ["nx", "xx", "gt", "lt"].map(token)));
const expiration = (last: ArgDoc): ArgDoc =>
  optional(oneof("expiration", [
    { name: "seconds", type: "integer", token: "EX" },
    { name: "milliseconds", type: "integer", token: "PX" },
    { name: "unix-time-seconds", type: "unix-time", token: "EXAT" },
    { name: "unix-time-milliseconds", type: "unix-time", token: "PXAT" },
    last,
  ]));
const hexpire = (time: ArgDoc): CommandDoc => ({
  arguments: [key, time, expireCondition, fields()],
});
const fieldsOnly: CommandDoc = { arguments: [key, fields()] };
const prefix = optional({ name: "prefix", type: "string" });

/** Hand-written docs of the commands Redis 7.0 lacks (commands without arguments need none). */
export const FERRIC_DOCS: Readonly<Record<string, CommandDoc>> = {
  // Redis 7.4's hash-field expiry commands and Redis 8.0's HGETDEL, HGETEX and HSETEX.
  hexpire: hexpire({ name: "seconds", type: "integer" }),
  hpexpire: hexpire({ name: "milliseconds", type: "integer" }),
  hexpireat: hexpire({ name: "unix-time-seconds", type: "unix-time" }),
  hpexpireat: hexpire({ name: "unix-time-milliseconds", type: "unix-time" }),
  httl: fieldsOnly,
  hpttl: fieldsOnly,
  hexpiretime: fieldsOnly,
  hpexpiretime: fieldsOnly,
  hpersist: fieldsOnly,
  hgetdel: fieldsOnly,
  hgetex: { arguments: [key, expiration(token("persist")), fields()] },
  hsetex: {
    arguments: [
      key,
      optional(oneof("condition", [token("fnx"), token("fxx")])),
      expiration(token("keepttl")),
      fields(true),
    ],
  },
  // Redis 7.2's CLIENT subcommands.
  "client|no-touch": { arguments: [oneof("enabled", [token("on"), token("off")])] },
  "client|setinfo": {
    arguments: [
      oneof("attr", [
        { name: "libname", type: "string", token: "LIB-NAME" },
        { name: "libver", type: "string", token: "LIB-VER" },
      ]),
    ],
  },
  // Redis 7.2's WAITAOF.
  waitaof: {
    arguments: [
      { name: "numlocal", type: "integer" },
      { name: "numreplicas", type: "integer" },
      { name: "timeout", type: "integer" },
    ],
  },
  // FerricStore's own commands.
  "cluster.keyslot": { arguments: [{ name: "key", type: "string" }] },
  "ferricstore.compact": { arguments: [optional({ name: "shard", type: "integer" })] },
  "ferricstore.key_info": { arguments: [key] },
  "ferricstore.hotness": {
    arguments: [
      optional({ name: "n", type: "integer", token: "TOP" }),
      optional({ name: "seconds", type: "integer", token: "WINDOW" }),
    ],
  },
  "ferricstore.config|get": { arguments: [prefix] },
  "ferricstore.config|set": {
    arguments: [
      { name: "prefix", type: "string" },
      {
        name: "data",
        type: "block",
        flags: ["multiple"],
        arguments: [{ name: "field", type: "string" }, { name: "value", type: "string" }],
      },
    ],
  },
  "ferricstore.config|reset": { arguments: [prefix] },
};

/** Redis 7.0's docs, by full name. */
export const REDIS_DOCS = redisDocs as unknown as Readonly<Record<string, CommandDoc>>;

const status = (s: string) => new SimpleString(s);

const cache = new Map<string, Reply[]>();

/**
 * The docs map entries (flat key, value …) after `complexity` (and `module`) for a built-in
 * command, in Redis's order: Redis's own for the commands Redis has, else the hand-written ones.
 */
export function docFields(fullName: string): Reply[] {
  let out = cache.get(fullName);
  if (out) return out;
  const d = REDIS_DOCS[fullName] ?? FERRIC_DOCS[fullName] ?? {};
  out = [];
  if (d.doc_flags) out.push("doc_flags", new RespSet(d.doc_flags.map(status)));
  if (d.deprecated_since) out.push("deprecated_since", d.deprecated_since);
  if (d.replaced_by) out.push("replaced_by", d.replaced_by);
  if (d.history) out.push("history", new RespSet(d.history));
  if (d.arguments) out.push("arguments", d.arguments.map(argumentReply));
  cache.set(fullName, out);
  return out;
}
