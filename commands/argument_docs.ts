/**
 * Command arguments as COMMAND DOCS describes them (Redis's argument schema), for the built-in
 * commands' docs and for plugins' alike.
 *
 * @module
 */
import { type Reply, RespMap, RespSet, SimpleString } from "../protocol/reply.ts";

/** One argument in COMMAND DOCS (keys in the order Redis writes them). */
export interface ArgumentDoc {
  name: string;
  /** `key`, `string`, `integer`, `double`, `pattern`, `unix-time`, `pure-token`, `oneof`, `block` */
  type: string;
  key_spec_index?: number;
  token?: string;
  summary?: string;
  since?: string;
  deprecated_since?: string;
  /** `optional`, `multiple`, `multiple_token` */
  flags?: string[];
  /** The choices of a `oneof`, the parts of a `block`. */
  arguments?: ArgumentDoc[];
}

/** An argument's COMMAND DOCS map, keys in Redis's order (flags a set of status words). */
export function argumentReply(a: ArgumentDoc): Reply {
  const out: Reply[] = ["name", a.name, "type", a.type];
  if (a.key_spec_index !== undefined) out.push("key_spec_index", a.key_spec_index);
  if (a.token !== undefined) out.push("token", a.token);
  if (a.summary !== undefined) out.push("summary", a.summary);
  if (a.since !== undefined) out.push("since", a.since);
  if (a.deprecated_since !== undefined) out.push("deprecated_since", a.deprecated_since);
  if (a.flags?.length) out.push("flags", new RespSet(a.flags.map((f) => new SimpleString(f))));
  if (a.arguments?.length) out.push("arguments", a.arguments.map(argumentReply));
  return new RespMap(out);
}
