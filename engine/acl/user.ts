/**
 * ACL users and selectors as Redis 7 has them, and the SETUSER rule language:
 * `on off nopass resetpass >pw <pw #hash !hash reset allkeys resetkeys ~p %R~p %W~p %RW~p
 * allchannels resetchannels &p allcommands nocommands +cmd -cmd +cmd|sub +cmd|first-arg +@cat -@cat
 * (...) clearselectors sanitize-payload skip-sanitize-payload`.
 *
 * Passwords are kept only as SHA-256 hex digests, as Redis keeps them.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import { globMatch } from "../glob.ts";
import type { AclCategory, Command } from "../../commands/spec.ts";
import { ACL_CATEGORIES } from "../../commands/spec.ts";
import { latin1 } from "../bytes.ts";
import { everyCommand as everyCommandOf } from "../../commands/registry.ts";

/** A SETUSER rule that cannot be applied; `message` is Redis's reason text. */
export class AclRuleError extends Error {}

const ERR = {
  syntax: "Syntax error",
  unknown: "Unknown command or category name in ACL",
  firstArgOfSubcommand: "Allowing first-arg of a subcommand is not supported",
  keysAfterAll:
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  channelsAfterAll:
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  noSuchPassword: "The password you are trying to remove from the user does not exist",
  badHash:
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
};

/** SHA-256 hex digest of a password, as ACL stores it. */
export function hashPassword(password: Uint8Array | string): string {
  return createHash("sha256").update(password).digest("hex");
}

interface KeyPattern {
  pattern: string;
  read: boolean;
  write: boolean;
}

/** Resolves command names for rules (`get`, `client|kill`, `client`). */
export interface CommandLookup {
  get(name: string): Command | undefined;
  all(): Iterable<Command>;
}

/** What a selector or user refused: the command, a key, or a channel (with its name). */
export type Denial =
  | { reason: "command" }
  | { reason: "key"; object: string }
  | { reason: "channel"; object: string };

/** Key access a command needs for a key, from its key-spec flags (Redis's ACLSelectorCheckKey). */
export function keyAccess(flags: readonly string[]): { read: boolean; write: boolean } {
  return {
    read: flags.includes("ACCESS"),
    write: flags.includes("INSERT") || flags.includes("DELETE") || flags.includes("UPDATE"),
  };
}

/** One selector: commands, key patterns, channel patterns. */
export class Selector {
  /** Set by +@all: commands added later (plugins) are allowed too. */
  allowAll = false;
  /** Full names (`get`, `client`, `client|kill`) the selector allows, as Redis's command bitmap. */
  allowed: Set<string> = new Set();
  /**
   * `+select|0`: first arguments with which a command that is not allowed may run anyway, by
   * full name (Redis 7.0's allowed_firstargs, compared case-insensitively, kept as typed).
   */
  firstArgs: Map<string, string[]> = new Map();
  keys: KeyPattern[] = [];
  allKeys = false;
  channels: string[] = [];
  allChannels = false;

  clone(): Selector {
    const s = new Selector();
    s.allowAll = this.allowAll;
    s.allowed = new Set(this.allowed);
    s.firstArgs = new Map([...this.firstArgs].map(([n, args]) => [n, [...args]]));
    s.keys = this.keys.map((k) => ({ ...k }));
    s.allKeys = this.allKeys;
    s.channels = [...this.channels];
    s.allChannels = this.allChannels;
    return s;
  }

  /**
   * Whether the selector lets `cmd` run (ignoring keys and channels); `argv`, the command line,
   * for `+cmd|first-arg` rules (they look at the argument after the (sub)command's name).
   */
  canRun(cmd: Command, argv?: readonly Uint8Array[]): boolean {
    if (this.allowed.has(cmd.fullName)) return true;
    const args = this.firstArgs.size > 0 ? this.firstArgs.get(cmd.fullName) : undefined;
    const at = cmd.parent ? 2 : 1;
    if (args !== undefined && argv !== undefined && argv.length > at) {
      const first = latin1(argv[at]).toLowerCase();
      if (args.some((a) => a.toLowerCase() === first)) return true;
    }
    // Commands registered after the rules were set (plugins) follow +@all.
    return this.allowAll && cmd.plugin !== undefined && !this.known.has(cmd.fullName);
  }

  /** Names that existed when the rules were last applied. */
  private known = new Set<string>();

  /** Whether a key may be accessed with the given intent. */
  canAccessKey(key: string, read: boolean, write: boolean): boolean {
    if (this.allKeys) return true;
    for (const p of this.keys) {
      if ((read && !p.read) || (write && !p.write)) continue;
      if (globMatch(p.pattern, key)) return true;
    }
    return false;
  }

  /** Whether a channel (or, for pattern subscriptions, a pattern, compared literally) is allowed. */
  canAccessChannel(channel: string, isPattern: boolean): boolean {
    if (this.allChannels) return true;
    for (const p of this.channels) {
      if (isPattern ? p === channel : globMatch(p, channel)) return true;
    }
    return false;
  }

  /** Sets the permission of a command, and of all its subcommands for a container. */
  private setCommand(cmd: Command, allow: boolean): void {
    const names = [cmd.fullName, ...[...cmd.subcommands?.values() ?? []].map((s) => s.fullName)];
    for (const n of names) {
      allow ? this.allowed.add(n) : this.allowed.delete(n);
      this.firstArgs.delete(n);
    }
  }

  /** Applies one rule; throws AclRuleError with Redis's reason. */
  apply(rule: string, lookup: CommandLookup): void {
    const op = rule.toLowerCase();
    for (const c of everyCommand(lookup)) this.known.add(c.fullName);
    if (op === "allkeys" || op === "~*") {
      this.allKeys = true;
      this.keys = [];
    } else if (op === "resetkeys") {
      this.allKeys = false;
      this.keys = [];
    } else if (op === "allchannels" || op === "&*") {
      this.allChannels = true;
      this.channels = [];
    } else if (op === "resetchannels") {
      this.allChannels = false;
      this.channels = [];
    } else if (op === "allcommands" || op === "+@all") {
      this.allowAll = true;
      for (const c of everyCommand(lookup)) this.allowed.add(c.fullName);
      this.firstArgs.clear();
    } else if (op === "nocommands" || op === "-@all") {
      this.allowAll = false;
      this.allowed.clear();
      this.firstArgs.clear();
    } else if (rule.startsWith("~") || rule.startsWith("%")) {
      // As Redis: a pattern after allkeys is refused before the rule's own form is checked.
      if (this.allKeys) throw new AclRuleError(ERR.keysAfterAll);
      let read = true, write = true, pattern: string;
      if (rule.startsWith("%")) {
        const tilde = rule.indexOf("~");
        const perms = rule.slice(1, tilde < 0 ? rule.length : tilde).toUpperCase();
        if (
          tilde < 0 || perms.length === 0 || /[^RW]/.test(perms) ||
          new Set(perms).size !== perms.length
        ) {
          throw new AclRuleError(ERR.syntax);
        }
        read = perms.includes("R");
        write = perms.includes("W");
        pattern = rule.slice(tilde + 1);
      } else pattern = rule.slice(1);
      if (/[ \t\n\v\f\r\0]/.test(pattern)) throw new AclRuleError(ERR.syntax);
      const existing = this.keys.find((k) => k.pattern === pattern);
      // Only `~*` and `allkeys` mean every key (Redis 7.0): `%RW~*` is a pattern like others.
      if (existing) {
        existing.read ||= read;
        existing.write ||= write;
      } else this.keys.push({ pattern, read, write });
    } else if (rule.startsWith("&")) {
      if (this.allChannels) throw new AclRuleError(ERR.channelsAfterAll);
      const pattern = rule.slice(1);
      if (/[ \t\n\v\f\r\0]/.test(pattern)) throw new AclRuleError(ERR.syntax);
      if (!this.channels.includes(pattern)) this.channels.push(pattern);
    } else if (rule.startsWith("+") || rule.startsWith("-")) {
      const allow = rule[0] === "+";
      const name = op.slice(1);
      if (name.startsWith("@")) {
        const cat = name.slice(1) as AclCategory;
        if (!ACL_CATEGORIES.includes(cat)) throw new AclRuleError(ERR.unknown);
        for (const c of everyCommand(lookup)) {
          if (c.categories.has(cat)) {
            allow ? this.allowed.add(c.fullName) : this.allowed.delete(c.fullName);
            this.firstArgs.delete(c.fullName);
          }
        }
        return;
      }
      // As Redis: the part after the last `|` is a subcommand of a container, or else the first
      // argument of a command (`+select|0`); only `+` takes one.
      const bar = name.lastIndexOf("|");
      if (bar < 0 || !allow) {
        const cmd = lookupRuleCommand(name, lookup);
        if (!cmd) throw new AclRuleError(ERR.unknown);
        this.setCommand(cmd, allow);
        return;
      }
      const cmd = lookupRuleCommand(name.slice(0, bar), lookup);
      if (!cmd) throw new AclRuleError(ERR.unknown);
      if (cmd.parent) throw new AclRuleError(ERR.firstArgOfSubcommand);
      const arg = rule.slice(1 + bar + 1);
      if (arg.length === 0) throw new AclRuleError(ERR.syntax);
      if (cmd.subcommands) {
        const sub = cmd.subcommands.get(arg.toLowerCase());
        if (!sub) throw new AclRuleError(ERR.unknown);
        this.setCommand(sub, true);
      } else if (!this.allowed.has(cmd.fullName)) {
        const args = this.firstArgs.get(cmd.fullName) ?? [];
        if (!args.some((a) => a.toLowerCase() === arg.toLowerCase())) args.push(arg);
        this.firstArgs.set(cmd.fullName, args);
      }
    } else throw new AclRuleError(ERR.syntax);
  }

  /**
   * The command permissions as rules, the way Redis 7.0 describes them: start from +@all or
   * -@all, add (or remove) the categories that fit best, then the single commands that still
   * differ.
   */
  describeCommands(lookup?: CommandLookup): string {
    const all = lookup ? [...everyCommand(lookup)] : [];
    const additive = !this.allowAll;
    const rules = [additive ? "-@all" : "+@all"];
    const fake = new Set<string>(additive ? [] : all.map((c) => c.fullName));
    // The commands not yet explained by the rules so far.
    const pending = new Set(
      all.map((c) => c.fullName).filter((n) => this.allowed.has(n) === additive),
    );
    const applied = new Set<string>();
    for (;;) {
      let best: AclCategory | null = null;
      let minDiff = Infinity, maxSame = 0;
      for (const cat of ACL_CATEGORIES) {
        if (applied.has(cat)) continue;
        let same = 0, diff = 0;
        for (const c of all) {
          if (!c.categories.has(cat)) continue;
          if (pending.has(c.fullName)) same++;
          else if (this.allowed.has(c.fullName) !== additive) diff++;
        }
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = cat;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best === null) break;
      applied.add(best);
      rules.push(`${additive ? "+" : "-"}@${best}`);
      for (const c of all) {
        if (!c.categories.has(best)) continue;
        pending.delete(c.fullName);
        additive ? fake.add(c.fullName) : fake.delete(c.fullName);
      }
    }
    for (const c of all) {
      const want = this.allowed.has(c.fullName);
      if (want !== fake.has(c.fullName)) {
        rules.push(`${want ? "+" : "-"}${c.fullName}`);
        for (
          const n of [
            c.fullName,
            ...[...c.subcommands?.values() ?? []].map((s) => s.fullName),
          ]
        ) {
          want ? fake.add(n) : fake.delete(n);
        }
      }
      if (!want) {
        for (const arg of this.firstArgs.get(c.fullName) ?? []) {
          rules.push(`+${c.fullName}|${arg}`);
        }
      }
    }
    return rules.join(" ");
  }

  describeKeys(): string {
    if (this.allKeys) return "~*";
    return this.keys.map((k) => `${k.read && k.write ? "" : k.read ? "%R" : "%W"}~${k.pattern}`)
      .join(" ");
  }

  describeChannels(): string {
    if (this.allChannels) return "&*";
    return this.channels.map((c) => `&${c}`).join(" ");
  }

  /** The selector in ACL LIST form: keys, channels, commands. */
  describe(lookup?: CommandLookup): string {
    const parts: string[] = [];
    const keys = this.describeKeys();
    if (keys) parts.push(keys);
    parts.push(
      this.allChannels ? "&*" : ["resetchannels", ...this.channels.map((c) => `&${c}`)].join(" "),
    );
    parts.push(this.describeCommands(lookup));
    return parts.join(" ");
  }
}

/** The command a rule names: `get`, `client|kill`, or undefined. */
function lookupRuleCommand(name: string, lookup: CommandLookup): Command | undefined {
  const [top, sub, more] = name.split("|");
  const cmd = lookup.get(top);
  if (more !== undefined || cmd === undefined) return undefined;
  return sub === undefined ? cmd : cmd.subcommands?.get(sub);
}

/** Every command and subcommand, containers before their subcommands. */
function everyCommand(lookup: CommandLookup): Iterable<Command> {
  return everyCommandOf(lookup.all());
}

/** One ACL user. */
export class User {
  enabled = false;
  nopass = false;
  passwords: string[] = [];
  sanitize: "" | "sanitize-payload" | "skip-sanitize-payload" = "";
  root = new Selector();
  selectors: Selector[] = [];

  constructor(readonly name: string) {
    // acl-pubsub-default is resetchannels: new users start with no channels.
  }

  clone(name = this.name): User {
    const u = new User(name);
    u.enabled = this.enabled;
    u.nopass = this.nopass;
    u.passwords = [...this.passwords];
    u.sanitize = this.sanitize;
    u.root = this.root.clone();
    u.selectors = this.selectors.map((s) => s.clone());
    return u;
  }

  /** Applies one SETUSER rule; throws AclRuleError. */
  apply(rule: string, lookup: CommandLookup): void {
    if (rule.length === 0) return; // as Redis: an empty rule changes nothing
    const op = rule.toLowerCase();
    if (op === "on") this.enabled = true;
    else if (op === "off") this.enabled = false;
    else if (op === "nopass") {
      this.nopass = true;
      this.passwords = [];
    } else if (op === "resetpass") {
      this.nopass = false;
      this.passwords = [];
    } else if (op === "sanitize-payload" || op === "skip-sanitize-payload") {
      this.sanitize = op;
    } else if (op === "reset") {
      for (
        const r of ["resetpass", "resetkeys", "resetchannels", "off", "-@all", "clearselectors"]
      ) {
        this.apply(r, lookup);
      }
      this.sanitize = "sanitize-payload";
    } else if (op === "clearselectors") {
      this.selectors = [];
    } else if (rule.startsWith(">")) {
      const h = hashPassword(rule.slice(1));
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.nopass = false;
    } else if (rule.startsWith("<")) {
      const h = hashPassword(rule.slice(1));
      if (!this.passwords.includes(h)) throw new AclRuleError(ERR.noSuchPassword);
      this.passwords = this.passwords.filter((p) => p !== h);
    } else if (rule.startsWith("#")) {
      const h = rule.slice(1);
      if (!/^[0-9a-f]{64}$/.test(h)) throw new AclRuleError(ERR.badHash);
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.nopass = false;
    } else if (rule.startsWith("!")) {
      const h = rule.slice(1);
      if (!/^[0-9a-f]{64}$/.test(h)) throw new AclRuleError(ERR.badHash);
      if (!this.passwords.includes(h)) throw new AclRuleError(ERR.noSuchPassword);
      this.passwords = this.passwords.filter((p) => p !== h);
    } else if (rule.startsWith("(") && rule.endsWith(")")) {
      const s = new Selector();
      for (const r of splitRules(rule.slice(1, -1))) s.apply(r, lookup);
      this.selectors.push(s);
    } else this.root.apply(rule, lookup);
  }

  /** Whether a password is one of this user's (constant-time comparison of digests). */
  checkPassword(password: Uint8Array): boolean {
    if (this.nopass) return true;
    const h = Buffer.from(hashPassword(password), "hex");
    let ok = false;
    for (const p of this.passwords) {
      if (timingSafeEqual(Buffer.from(p, "hex"), h)) ok = true;
    }
    return ok;
  }

  /** The ACL LIST line of this user. */
  describe(lookup?: CommandLookup): string {
    const flags = [this.enabled ? "on" : "off"];
    if (this.nopass) flags.push("nopass");
    if (this.sanitize) flags.push(this.sanitize);
    const parts = [
      `user ${this.name}`,
      ...flags,
      ...this.passwords.map((p) => `#${p}`),
      this.root.describe(lookup),
    ];
    for (const s of this.selectors) parts.push(`(${s.describe(lookup)})`);
    return parts.join(" ");
  }

  /**
   * Whether the user may run a command line: some selector must allow the command and all its
   * keys and channels. Returns null, or the denial to report (the furthest any selector got).
   */
  check(
    cmd: Command,
    keys: { key: string; read: boolean; write: boolean }[],
    channels: { name: string; pattern: boolean }[],
    argv?: readonly Uint8Array[],
  ): Denial | null {
    // When every selector denies, Redis reports the gravest reason (command < key < channel)
    // and, between equals, the denial of the latest argument (keys and channels are listed in
    // argument order).
    let worst: Denial | null = null;
    let worstRank = -1, worstAt = -1;
    for (const s of [this.root, ...this.selectors]) {
      let denial: Denial | null = null;
      let rank = 0, at = -1;
      if (!s.canRun(cmd, argv)) denial = { reason: "command" };
      else {
        at = keys.findIndex((k) => !s.canAccessKey(k.key, k.read, k.write));
        if (at >= 0) denial = { reason: "key", object: keys[at].key }, rank = 1;
        else {
          at = channels.findIndex((c) => !s.canAccessChannel(c.name, c.pattern));
          if (at >= 0) denial = { reason: "channel", object: channels[at].name }, rank = 2;
        }
      }
      if (denial === null) return null;
      if (rank > worstRank || (rank === worstRank && at > worstAt)) {
        worst = denial;
        worstRank = rank;
        worstAt = at;
      }
    }
    return worst;
  }
}

/** Splits a selector's inner rules (`+get ~k*`) on spaces. */
export function splitRules(text: string): string[] {
  return text.split(/\s+/).filter((r) => r.length > 0);
}
