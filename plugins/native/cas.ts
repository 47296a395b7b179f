/**
 * CAS: compare-and-swap of a string value, durable whatever the key's namespace durability.
 *
 * ```
 * CAS key expected new [EX seconds]
 *   → 1   the value was `expected` and is now `new`
 *   → 0   the value differs (nothing changed)
 *   → nil the key does not exist
 * ```
 *
 * Without EX the key keeps its TTL; with EX it expires `seconds` from now.
 *
 * @module
 */
import { copyBytes, isWord, latin1 } from "../../commands/args.ts";
import { Errors } from "../../commands/errors.ts";
import { KEEP_TTL } from "../../engine/keyspace.ts";
import { defineCommand, definePlugin, keys } from "../api.ts";
import { equalBytes, stringValue, ttlArg } from "./_shared.ts";

/** The CAS command. */
export const casCommand = defineCommand({
  name: "cas",
  arity: -4,
  flags: ["write", "denyoom", "fast"],
  categories: ["string"],
  group: "string",
  summary: "Sets a string to a new value if it holds the expected one (compare-and-swap).",
  since: "0.1.0",
  complexity: "O(N) where N is the length of the expected value",
  keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
  arguments: [
    { name: "key", type: "key", key_spec_index: 0 },
    { name: "expected", type: "string" },
    { name: "new", type: "string" },
    { name: "seconds", type: "integer", token: "EX", flags: ["optional"] },
  ],
  /** CAS key expected new [EX seconds] */
  handler(ctx, argv) {
    const db = ctx.db;
    let at = KEEP_TTL;
    if (argv.length > 4) {
      if (argv.length !== 6 || !isWord(argv[4], "ex")) throw Errors.syntax;
      at = ttlArg(argv[5], 1000, db.keyspace.now, "cas");
    }
    const key = latin1(argv[1]);
    const e = db.find(key);
    if (e === undefined) return null;
    if (!equalBytes(stringValue(e), argv[2])) return 0;
    db.set(key, copyBytes(argv[3]), at);
    db.notify("$", "set", key);
    if (at !== KEEP_TTL) db.notify("g", "expire", key);
    return ctx.durable(1, [key]);
  },
});

/** The native plugin that adds CAS. */
export default definePlugin({
  name: "ferricstore.cas",
  version: "0.1.0",
  commands: [casCommand],
});
