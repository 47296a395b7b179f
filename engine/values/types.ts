/**
 * Value types held by keys. A string value is a `Uint8Array`; every other type is an object
 * implementing {@link DataValue}, added by its family (lists, hashes, sets, sorted sets, plugins).
 *
 * @module
 */

/** Settings a value consults to name its encoding (`OBJECT ENCODING`). */
export type EncodingLimits = Readonly<Record<string, number>>;

/** A non-string value. */
export interface DataValue {
  /** The name `TYPE` answers (`list`, `hash`, `set`, `zset`, or a plugin's type name). */
  readonly type: string;
  /** The name `OBJECT ENCODING` answers, by Redis's size thresholds. */
  encoding(limits: EncodingLimits): string;
  /** A deep copy (COPY). */
  clone(): DataValue;
  /** Approximate bytes held, for maxmemory accounting and MEMORY USAGE. */
  memoryUsage(): number;
  /** True when the collection has no elements left (Redis deletes empty collections). */
  isEmpty(): boolean;
  /** The whole value as one snapshot record payload (compaction writes one per collection). */
  encode(): Uint8Array;
  /**
   * Optional: {@link encode} in steps, yielding every few thousand elements and returning the
   * same bytes, so compaction can snapshot a big collection without stopping the server. It
   * resumes it only while the value is unchanged (the key's log sequence number has not moved);
   * with `copy`, the first step takes a copy of what the later ones read (element references
   * and anything that changes in place), so the value may change in between.
   */
  encodeSteps?(copy?: boolean): Generator<void, Uint8Array>;
  /**
   * Applies one element-level effect, as logged by {@link Database.effect}; recovery replays the
   * log through this, so `apply(op, args)` must do exactly what the command did.
   */
  apply(op: string, args: Uint8Array[]): void;
}

/** Decodes a snapshot made by {@link DataValue.encode}; creates an empty value for `null`. */
export type ValueDecoder = (snapshot: Uint8Array | null) => DataValue;

const decoders = new Map<string, ValueDecoder>();

/**
 * Registers a value type so recovery can rebuild it from the log. Every family (and plugins that
 * add types) registers its types once, by the name `TYPE` answers.
 */
export function registerValueType(type: string, decode: ValueDecoder): void {
  decoders.set(type, decode);
}

/** The decoder of a registered type. */
export function valueDecoder(type: string): ValueDecoder | undefined {
  return decoders.get(type);
}

/** Any value a key can hold. */
export type Value = Uint8Array | DataValue;

/** The `TYPE` name of a value. */
export function typeName(value: Value): string {
  return value instanceof Uint8Array ? "string" : value.type;
}

/** Approximate bytes a value holds. */
export function valueSize(value: Value): number {
  return value instanceof Uint8Array ? value.length : value.memoryUsage();
}
