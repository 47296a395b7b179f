/**
 * Access control: the users, the check every command passes in dispatch (command, keys by their
 * key specs with read/write intent, pub/sub channels), authentication, ACL LOG, and the ACL
 * file. `requirepass` is the default user's password.
 *
 * @module
 */
import { findKeys } from "../commands/spec.ts";
import type { Command } from "../commands/spec.ts";
import { latin1 } from "../commands/args.ts";
import type { CommandGate } from "../commands/dispatch.ts";
import { RespError } from "../protocol/reply.ts";
import {
  type CommandLookup,
  type Denial,
  keyAccess,
  splitRules,
  User,
} from "../engine/acl/user.ts";
import type { Client } from "./client.ts";

/** One ACL LOG entry. */
export interface AclLogEntry {
  count: number;
  reason: "command" | "key" | "channel" | "auth";
  context: "toplevel" | "multi";
  object: string;
  username: string;
  updated: number;
  clientInfo: string;
  entryId: number;
}

/** Users, checks and the ACL log. */
export class Acl implements CommandGate {
  readonly users: Map<string, User> = new Map();
  log: AclLogEntry[] = [];
  private nextEntryId = 0;

  constructor(
    private readonly commands: CommandLookup,
    private readonly describeClient: (c: Client) => string,
    private readonly clients: () => Iterable<Client>,
    /** acllog-max-len: entries ACL LOG keeps. */
    private readonly logMax: () => number = () => 128,
  ) {
    this.users.set("default", defaultUser(commands));
  }

  /** The default user (requirepass is its password). */
  get defaultUser(): User {
    return this.users.get("default")!;
  }

  /** True when new connections are authenticated as `default` without AUTH. */
  defaultNoPass(): boolean {
    const d = this.defaultUser;
    return d.enabled && d.nopass;
  }

  /** Applies `requirepass`: the default user's only password, or nopass when empty. */
  setRequirePass(password: string): void {
    const d = this.defaultUser;
    d.apply("resetpass", this.commands);
    d.apply(password === "" ? "nopass" : `>${password}`, this.commands);
  }

  /** AUTH / HELLO AUTH: authenticates the client or returns WRONGPASS (and logs it). */
  authenticate(
    client: Client,
    username: string,
    password: Uint8Array,
    via = "auth",
  ): RespError | null {
    const u = this.users.get(username);
    if (u && u.enabled && u.checkPassword(password)) {
      client.user = username;
      client.authenticated = true;
      return null;
    }
    // Redis logs the command that tried (its name as the client spelled it) as the object.
    this.addLog(client, "auth", via, username);
    return new RespError("WRONGPASS invalid username-password pair or user is disabled.");
  }

  /** The dispatch gate: NOPERM when the client's user may not run this command line. */
  check(client: Client, cmd: Command, argv: Uint8Array[]): RespError | undefined {
    const denial = this.refusal(client, cmd, argv);
    return denial === null ? undefined : new RespError(nopermText(denial, cmd));
  }

  /**
   * EXEC's second look at a queued command (the rules may have changed since it was queued):
   * Redis's NOPERM for a transaction, or undefined when the command may run.
   */
  recheck(client: Client, cmd: Command, argv: Uint8Array[]): RespError | undefined {
    const denial = this.refusal(client, cmd, argv, "multi");
    if (denial === null) return undefined;
    const why = denial.reason === "command"
      ? "no permission to execute the command or subcommand"
      : denial.reason === "key"
      ? "no permission to touch the specified keys"
      : "no permission to access one of the channels used as arguments";
    return new RespError(
      "NOPERM ACLs rules changed between the moment the transaction was accumulated and the " +
        `EXEC call. This command is no longer allowed for the following reason: ${why}`,
    );
  }

  /**
   * Why the client's user may not run a command line (logged in ACL LOG), or null. AUTH, HELLO,
   * QUIT and RESET run whatever the user may do, as in Redis; a user that no longer exists may
   * run nothing.
   */
  private refusal(
    client: Client,
    cmd: Command,
    argv: Uint8Array[],
    context?: AclLogEntry["context"],
  ): Denial | null {
    if (cmd.flags.has("no_auth")) return null;
    const user = this.users.get(client.user);
    if (!user) return { reason: "command" };
    const denial = this.deny(user, cmd, argv);
    if (denial === null) return null;
    const object = denial.reason === "command" ? cmd.fullName : denial.object;
    this.addLog(client, denial.reason, object, user.name, context);
    return denial;
  }

  /** Why `user` may not run a command line, or null (ACL DRYRUN asks this too). */
  deny(user: User, cmd: Command, argv: Uint8Array[]): Denial | null {
    // Commands that need no authentication (AUTH, HELLO, QUIT …) every user may run, as Redis.
    if (cmd.flags.has("no_auth")) return null;
    // A user allowed every key and channel needs no key extraction: the common case.
    const root = user.root;
    if (root.allKeys && root.allChannels && root.canRun(cmd, argv)) return null;
    const keys = [];
    for (const k of findKeys(cmd, argv)) {
      if (k.flags.includes("NOT_KEY")) continue;
      keys.push({ key: latin1(argv[k.index]), ...keyAccess(k.flags) });
    }
    return user.check(cmd, keys, channelsOf(cmd, argv), argv);
  }

  /** ACL DRYRUN's answer: null when allowed, else the sentence Redis replies with. */
  dryRun(user: User, cmd: Command, argv: Uint8Array[]): string | null {
    const d = this.deny(user, cmd, argv);
    if (d === null) return null;
    if (d.reason === "command") {
      return `This user has no permissions to run the '${cmd.fullName}' command`;
    }
    if (d.reason === "key") return `This user has no permissions to access the '${d.object}' key`;
    return `This user has no permissions to access the '${d.object}' channel`;
  }

  /** Adds (or merges into) an ACL LOG entry. */
  addLog(
    client: Client,
    reason: AclLogEntry["reason"],
    object: string,
    username: string,
    context: AclLogEntry["context"] = client.tx !== null || client.inExec ? "multi" : "toplevel",
  ): void {
    const now = Date.now();
    // Redis looks for an entry to merge into among the 10 newest only.
    const same = this.log.slice(0, 10).find((e) =>
      e.reason === reason && e.context === context && e.object === object &&
      e.username === username &&
      now - e.updated < 60000
    );
    if (same) {
      same.count++;
      same.updated = now;
      same.clientInfo = this.describeClient(client);
      this.log = [same, ...this.log.filter((e) => e !== same)];
      return;
    }
    this.log.unshift({
      count: 1,
      reason,
      context,
      object,
      username,
      updated: now,
      clientInfo: this.describeClient(client),
      entryId: this.nextEntryId++,
    });
    const max = this.logMax();
    if (this.log.length > max) this.log.length = max;
  }

  /** Applies SETUSER rules to a copy and swaps it in only when every rule is valid. */
  setUser(name: string, rules: string[]): void {
    const current = this.users.get(name);
    const next = current ? current.clone() : new User(name);
    let merged: string[];
    try {
      merged = mergeSelectorArgs(rules);
    } catch (e) {
      if (e instanceof UnmatchedSelector) throw new RespError(`ERR ${e.message}`);
      throw e;
    }
    for (const r of merged) {
      try {
        next.apply(r, this.commands);
      } catch (e) {
        throw new RespError(`ERR Error in ACL SETUSER modifier '${r}': ${(e as Error).message}`);
      }
    }
    this.users.set(name, next);
    this.disconnectPubSubNoLongerAllowed(name);
  }

  /** Deletes users; their clients are disconnected. Returns how many existed. */
  deleteUsers(names: string[]): number {
    let n = 0;
    for (const name of names) {
      if (this.users.delete(name)) {
        n++;
        this.disconnectUser(name);
      }
    }
    return n;
  }

  /** Closes every connection authenticated as `name`. */
  disconnectUser(name: string): void {
    for (const c of this.clients()) if (c.user === name) c.transport.close();
  }

  private disconnectPubSubNoLongerAllowed(name: string): void {
    const u = this.users.get(name)!;
    for (const c of this.clients()) {
      if (c.user !== name || !c.inPubSubMode) continue;
      const sels = [u.root, ...u.selectors];
      const ok = (ch: string, pattern: boolean) =>
        sels.some((s) => s.canAccessChannel(ch, pattern));
      if (
        [...c.channels, ...c.shardChannels].some((ch) => !ok(ch, false)) ||
        [...c.patterns].some((p) => !ok(p, true))
      ) c.transport.close();
    }
  }

  /** The ACL file text (ACL SAVE). */
  serialize(): string {
    return this.list().join("\n") + "\n";
  }

  /** ACL LIST lines, by user name as Redis orders them. */
  list(): string[] {
    return [...this.users.keys()].sort().map((n) => this.users.get(n)!.describe(this.commands));
  }

  /**
   * Parses ACL file text into users without applying them; throws RespError naming the line.
   */
  parse(text: string, path: string): Map<string, User> {
    const users = new Map<string, User>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "" || line.startsWith("#")) continue;
      const words = splitRules(line);
      if (words[0] !== "user" || words.length < 2) {
        throw new RespError(`ERR ${path}:${i + 1}: line should start with user keyword`);
      }
      const name = words[1];
      if (users.has(name)) {
        throw new RespError(`ERR ${path}:${i + 1}: Duplicate user '${name}' found`);
      }
      const u = new User(name);
      let merged: string[];
      try {
        merged = mergeSelectorArgs(words.slice(2));
      } catch (e) {
        if (e instanceof UnmatchedSelector) {
          throw new RespError(`ERR ${path}:${i + 1}: ${e.message} `);
        }
        throw e;
      }
      for (const r of merged) {
        try {
          u.apply(r, this.commands);
        } catch (e) {
          throw new RespError(`ERR ${path}:${i + 1}: ${(e as Error).message}. `);
        }
      }
      users.set(name, u);
    }
    if (!users.has("default")) users.set("default", defaultUser(this.commands));
    return users;
  }

  /** Replaces every user (ACL LOAD); clients of changed or removed users are disconnected. */
  replaceUsers(users: Map<string, User>): void {
    const before = new Map([...this.users].map(([n, u]) => [n, u.describe(this.commands)]));
    this.users.clear();
    for (const [n, u] of users) this.users.set(n, u);
    for (const [name, desc] of before) {
      if (this.users.get(name)?.describe(this.commands) !== desc) this.disconnectUser(name);
    }
  }
}

function defaultUser(commands: CommandLookup): User {
  const u = new User("default");
  for (const r of ["on", "nopass", "~*", "&*", "+@all"]) u.apply(r, commands);
  return u;
}

/** A selector opened with `(` and never closed; `start` is the argument that opened it. */
export class UnmatchedSelector extends Error {
  constructor(readonly start: string) {
    super(`Unmatched parenthesis in acl selector starting at '${start}'.`);
  }
}

/** SETUSER arguments with selectors split over several arguments joined back: `(+get`, `~k)`. */
export function mergeSelectorArgs(args: string[]): string[] {
  const out: string[] = [];
  let open: string[] | null = null;
  for (const a of args) {
    if (open) {
      open.push(a);
      if (a.endsWith(")")) {
        out.push(open.join(" "));
        open = null;
      }
    } else if (a.startsWith("(") && !a.endsWith(")")) open = [a];
    else out.push(a);
  }
  if (open) throw new UnmatchedSelector(open[0]);
  return out;
}

/** The pub/sub channels a command line names, for channel permissions. */
function channelsOf(cmd: Command, argv: Uint8Array[]): { name: string; pattern: boolean }[] {
  switch (cmd.fullName) {
    case "publish":
    case "spublish":
      return [{ name: latin1(argv[1]), pattern: false }];
    case "subscribe":
    case "ssubscribe":
      return argv.slice(1).map((a) => ({ name: latin1(a), pattern: false }));
    case "psubscribe":
      return argv.slice(1).map((a) => ({ name: latin1(a), pattern: true }));
    default:
      return [];
  }
}

function nopermText(d: Denial, cmd: Command): string {
  if (d.reason === "command") {
    return `NOPERM this user has no permissions to run the '${cmd.fullName}' command`;
  }
  if (d.reason === "key") {
    return "NOPERM this user has no permissions to access one of the keys used as arguments";
  }
  return "NOPERM this user has no permissions to access one of the channels used as arguments";
}
