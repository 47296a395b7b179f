/**
 * The command registry: built-in families and plugins register {@link CommandSpec}s here the same
 * way, and dispatch looks commands up by their name's bytes.
 *
 * @module
 */
import { Command, type CommandSpec } from "./spec.ts";
import { isWord, latin1Bytes } from "./args.ts";

/** A spec that cannot be registered; the message names the command and the reason. */
export class CommandSpecError extends Error {}

/** All registered commands. */
/** `commands` and their subcommands, each container followed by its subcommands. */
export function* everyCommand(commands: Iterable<Command>): Generator<Command> {
  for (const c of commands) {
    yield c;
    if (c.subcommands) yield* c.subcommands.values();
  }
}

export class Registry {
  private readonly byName = new Map<string, Command>();
  // Commands by a case-folded hash of their name, so a lookup reads the name's bytes once and
  // makes no string: decoding and lower-casing cost more than the rest of a small command.
  private readonly byHash = new Map<number, Command[]>();

  /** Registers a command; throws {@link CommandSpecError} on a clash or an invalid spec. */
  register(spec: CommandSpec, plugin?: string): Command {
    validate(spec, plugin);
    if (this.byName.has(spec.name)) {
      const owner = this.byName.get(spec.name)!.plugin;
      throw new CommandSpecError(
        `${plugin ? `plugin '${plugin}': ` : ""}command '${spec.name}' is already registered` +
          (owner ? ` by plugin '${owner}'` : " as a built-in command"),
      );
    }
    const cmd = new Command(spec);
    cmd.plugin = plugin;
    for (const sub of cmd.subcommands?.values() ?? []) sub.plugin = plugin;
    this.byName.set(spec.name, cmd);
    const h = foldedHash(latin1Bytes(spec.name));
    const same = this.byHash.get(h);
    if (same) same.push(cmd);
    else this.byHash.set(h, [cmd]);
    return cmd;
  }

  /** Removes a command (plugin unload). */
  unregister(name: string): void {
    const cmd = this.byName.get(name);
    if (cmd === undefined) return;
    this.byName.delete(name);
    const h = foldedHash(latin1Bytes(name));
    const rest = this.byHash.get(h)!.filter((c) => c !== cmd);
    if (rest.length > 0) this.byHash.set(h, rest);
    else this.byHash.delete(h);
  }

  /** The command named by `name`'s bytes, in any letter case. */
  lookup(name: Uint8Array): Command | undefined {
    const same = this.byHash.get(foldedHash(name));
    if (same === undefined) return undefined;
    for (let i = 0; i < same.length; i++) if (isWord(name, same[i].name)) return same[i];
    return undefined;
  }

  /** The command with this lower-case name. */
  get(name: string): Command | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** Every registered command. */
  all(): IterableIterator<Command> {
    return this.byName.values();
  }

  /** Every command and subcommand, each container followed by its subcommands. */
  everyCommand(): Generator<Command> {
    return everyCommand(this.byName.values());
  }

  get size(): number {
    return this.byName.size;
  }
}

/** FNV-1a of the bytes with ASCII letters lower-cased. */
function foldedHash(name: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    h = Math.imul(h ^ (c >= 65 && c <= 90 ? c + 32 : c), 0x01000193);
  }
  return h;
}

function validate(spec: CommandSpec, plugin: string | undefined, parent?: string): void {
  const where = `${plugin ? `plugin '${plugin}': ` : ""}command '${
    parent ? `${parent}|` : ""
  }${spec.name}'`;
  if (!/^[a-z0-9_.:\-]+$/.test(spec.name)) {
    throw new CommandSpecError(`${where}: name must be lower-case letters, digits or _ . : -`);
  }
  if (!Number.isInteger(spec.arity) || spec.arity === 0) {
    throw new CommandSpecError(`${where}: arity must be a non-zero integer`);
  }
  if (!spec.handler && !spec.subcommands?.length) {
    throw new CommandSpecError(`${where}: needs a handler or subcommands`);
  }
  if (spec.flags.includes("write") && spec.flags.includes("readonly")) {
    throw new CommandSpecError(`${where}: cannot be both write and readonly`);
  }
  for (const sub of spec.subcommands ?? []) validate(sub, plugin, spec.name);
}
