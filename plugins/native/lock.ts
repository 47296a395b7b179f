/**
 * Distributed locks on string keys: the key holds the owner's token and expires after the
 * lock's TTL. Every change is durable whatever the key's namespace durability.
 *
 * ```
 * LOCK key owner ttl_ms     → OK (acquired, or re-acquired by the same owner: TTL renewed)
 *                             -DISTLOCK lock is held by another owner
 * UNLOCK key owner          → 1 (released, or not held at all)
 *                             -DISTLOCK caller is not the lock owner
 * EXTEND key owner ttl_ms   → 1 (TTL set to ttl_ms from now)
 *                             -DISTLOCK caller is not the lock owner
 *                             -DISTLOCK lock does not exist or has expired
 * ```
 *
 * @module
 */
import { copyBytes, latin1 } from "../../commands/args.ts";
import { OK, RespError } from "../../protocol/reply.ts";
import { defineCommand, definePlugin, keys } from "../api.ts";
import { equalBytes, stringValue, ttlArg } from "./_shared.ts";

/** The lock error texts. */
export const LockErrors = {
  held: new RespError("DISTLOCK lock is held by another owner"),
  notOwner: new RespError("DISTLOCK caller is not the lock owner"),
  missing: new RespError("DISTLOCK lock does not exist or has expired"),
} as const;

const lockArgs = [
  { name: "key", type: "key", key_spec_index: 0 },
  { name: "owner", type: "string" },
  { name: "ttl_ms", type: "integer" },
];

/** LOCK, UNLOCK and EXTEND. */
export const lockCommands = [
  defineCommand({
    name: "lock",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    categories: ["string"],
    group: "string",
    summary: "Acquires a lock (a key holding its owner) for ttl_ms milliseconds.",
    since: "0.1.0",
    complexity: "O(1)",
    keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
    arguments: lockArgs,
    /** LOCK key owner ttl_ms */
    handler(ctx, argv) {
      const db = ctx.db;
      const at = ttlArg(argv[3], 1, db.keyspace.now, "lock");
      const key = latin1(argv[1]);
      const e = db.find(key);
      if (e === undefined) {
        db.set(key, copyBytes(argv[2]), at);
        db.notify("$", "set", key);
      } else if (equalBytes(stringValue(e), argv[2])) {
        db.setExpire(e, at);
      } else {
        return LockErrors.held;
      }
      db.notify("g", "expire", key);
      return ctx.durable(OK, [key]);
    },
  }),
  defineCommand({
    name: "unlock",
    arity: 3,
    flags: ["write", "fast"],
    categories: ["string"],
    group: "string",
    summary: "Releases a lock held by owner.",
    since: "0.1.0",
    complexity: "O(1)",
    keys: [keys.one(1, "RW", "ACCESS", "DELETE")],
    arguments: lockArgs.slice(0, 2),
    /** UNLOCK key owner */
    handler(ctx, argv) {
      const db = ctx.db;
      const key = latin1(argv[1]);
      const e = db.find(key);
      if (e === undefined) return 1;
      if (!equalBytes(stringValue(e), argv[2])) return LockErrors.notOwner;
      db.delete(key);
      db.notify("g", "del", key);
      return ctx.durable(1, [key]);
    },
  }),
  defineCommand({
    name: "extend",
    arity: 4,
    flags: ["write", "fast"],
    categories: ["string"],
    group: "string",
    summary: "Sets the TTL of a lock held by owner to ttl_ms milliseconds from now.",
    since: "0.1.0",
    complexity: "O(1)",
    keys: [keys.one(1, "RW", "ACCESS", "UPDATE")],
    arguments: lockArgs,
    /** EXTEND key owner ttl_ms */
    handler(ctx, argv) {
      const db = ctx.db;
      const at = ttlArg(argv[3], 1, db.keyspace.now, "extend");
      const key = latin1(argv[1]);
      const e = db.find(key);
      if (e === undefined) return LockErrors.missing;
      if (!equalBytes(stringValue(e), argv[2])) return LockErrors.notOwner;
      db.setExpire(e, at);
      db.notify("g", "expire", key);
      return ctx.durable(1, [key]);
    },
  }),
];

/** The native plugin that adds LOCK, UNLOCK and EXTEND. */
export default definePlugin({
  name: "ferricstore.lock",
  version: "0.1.0",
  commands: lockCommands,
});
