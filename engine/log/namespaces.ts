/**
 * Durability per namespace. A key's namespace is its prefix before the first `:` (keys without
 * one belong to the default namespace, ""). Each namespace may override the server-wide
 * `durability` and `commit-window-ms`; overrides are saved to `<data-dir>/namespaces.json`
 * (written to a temporary file, fsynced and renamed) so they survive restarts.
 *
 * @module
 */
import { writeFileAtomic } from "./files.ts";

/** Durability of a namespace. */
export type Durability = "sync" | "async";

/** One namespace's overrides. */
export interface NamespaceSettings {
  durability: Durability;
  windowMs: number;
  changedAt: number;
  changedBy: string;
}

/** What a write in some namespace must do. */
export interface Resolved {
  sync: boolean;
  windowMs: number;
}

/** Namespace overrides over server-wide defaults. */
export class Namespaces {
  private readonly overrides = new Map<string, NamespaceSettings>();
  private cache = new Map<string, Resolved>();
  private fallback: Resolved;

  constructor(
    private readonly file: string | null,
    private defaults: { durability: Durability; windowMs: number },
  ) {
    this.fallback = { sync: defaults.durability === "sync", windowMs: defaults.windowMs };
  }

  /** Loads saved overrides. */
  async load(): Promise<void> {
    if (!this.file) return;
    let text: string;
    try {
      text = await Deno.readTextFile(this.file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    const saved = JSON.parse(text) as Record<string, NamespaceSettings>;
    for (const [prefix, s] of Object.entries(saved)) this.overrides.set(prefix, s);
    this.cache.clear();
  }

  /** Changes the server-wide defaults (CONFIG SET durability / commit-window-ms). */
  setDefaults(defaults: { durability: Durability; windowMs: number }): void {
    this.defaults = defaults;
    this.fallback = { sync: defaults.durability === "sync", windowMs: defaults.windowMs };
    this.cache.clear();
  }

  /** The namespace of a key. */
  static of(key: string): string {
    const i = key.indexOf(":");
    return i < 0 ? "" : key.slice(0, i);
  }

  /** What a write to `key` must do. */
  resolve(key: string): Resolved {
    if (this.overrides.size === 0) return this.fallback;
    const prefix = Namespaces.of(key);
    let r = this.cache.get(prefix);
    if (r === undefined) {
      const o = this.overrides.get(prefix);
      r = o ? { sync: o.durability === "sync", windowMs: o.windowMs } : this.fallback;
      if (this.cache.size > 10000) this.cache.clear();
      this.cache.set(prefix, r);
    }
    return r;
  }

  /** The effective settings of a prefix (overrides or defaults). */
  get(prefix: string): NamespaceSettings {
    return this.overrides.get(prefix) ?? {
      durability: this.defaults.durability,
      windowMs: this.defaults.windowMs,
      changedAt: 0,
      changedBy: "",
    };
  }

  /** Every prefix with overrides. */
  prefixes(): string[] {
    return [...this.overrides.keys()].sort();
  }

  /** Whether a prefix has overrides. */
  has(prefix: string): boolean {
    return this.overrides.has(prefix);
  }

  /** Sets overrides of a prefix and saves them. */
  async set(
    prefix: string,
    changes: Partial<Pick<NamespaceSettings, "durability" | "windowMs">>,
    by: string,
  ): Promise<void> {
    const cur = this.get(prefix);
    this.overrides.set(prefix, { ...cur, ...changes, changedAt: Date.now(), changedBy: by });
    this.cache.clear();
    await this.save();
  }

  /** Removes the overrides of one prefix, or of all when `prefix` is null; saves. */
  async reset(prefix: string | null): Promise<void> {
    if (prefix === null) this.overrides.clear();
    else this.overrides.delete(prefix);
    this.cache.clear();
    await this.save();
  }

  /** The save under way (saves run one at a time: they share the temporary file). */
  private saving: Promise<void> = Promise.resolve();

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    // Each save writes the settings as they are when it runs, so the last one leaves the latest.
    const write = () =>
      writeFileAtomic(file, JSON.stringify(Object.fromEntries(this.overrides), null, 2));
    const run = this.saving.then(write, write);
    this.saving = run.catch(() => {});
    return run;
  }
}
