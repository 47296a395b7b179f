/**
 * The command registry: built-in families and plugins register {@link CommandSpec}s here the same
 * way, and dispatch looks commands up by their name's bytes.
 *
 * @module
 */
import { Command, type CommandSpec } from "./spec.ts";
import { latin1 } from "./args.ts";

/** A spec that cannot be registered; the message names the command and the reason. */
export class CommandSpecError extends Error {}

/** All registered commands. */
export class Registry {
  private readonly byName = new Map<string, Command>();
  // Names as clients send them ("GET", "get", "Get") to commands, so lookups skip lower-casing.
  private readonly bySpelling = new Map<string, Command>();

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
    return cmd;
  }

  /** Removes a command (plugin unload). */
  unregister(name: string): void {
    this.byName.delete(name);
    this.bySpelling.clear();
  }

  /** The command named by `name`'s bytes, in any letter case. */
  lookup(name: Uint8Array): Command | undefined {
    const spelled = latin1(name);
    const hit = this.bySpelling.get(spelled);
    if (hit !== undefined) return hit;
    const cmd = this.byName.get(spelled.toLowerCase());
    if (cmd !== undefined && this.bySpelling.size < 4096) this.bySpelling.set(spelled, cmd);
    return cmd;
  }

  /** The command with this lower-case name. */
  get(name: string): Command | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** Every registered command. */
  all(): IterableIterator<Command> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }
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
