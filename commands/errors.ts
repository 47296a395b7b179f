/**
 * Every error text FerricStore sends on the wire, worded as Redis words it. Handlers throw or
 * return these; nothing else builds error strings.
 *
 * @module
 */
import { RespError } from "../protocol/reply.ts";

export { RespError };

const fixed = (text: string) => new RespError(text);

/**
 * Largest number of picks SRANDMEMBER, HRANDFIELD and ZRANDMEMBER answer a negative count with:
 * Redis streams any number, FerricStore builds the reply in memory first.
 */
export const MAX_RANDOM_PICKS = 1 << 24;

/** Errors with fixed text. */
export const Errors = {
  syntax: fixed("ERR syntax error"),
  tooManyPicks: fixed(
    `ERR value is out of range, a negative count must be at least -${MAX_RANDOM_PICKS}`,
  ),
  wrongType: fixed("WRONGTYPE Operation against a key holding the wrong kind of value"),
  notInteger: fixed("ERR value is not an integer or out of range"),
  notFloat: fixed("ERR value is not a valid float"),
  overflow: fixed("ERR increment or decrement would overflow"),
  nanOrInf: fixed("ERR increment would produce NaN or Infinity"),
  noSuchKey: fixed("ERR no such key"),
  dbIndexOutOfRange: fixed("ERR DB index is out of range"),
  invalidDbIndex: fixed("ERR invalid DB index"),
  sameObject: fixed("ERR source and destination objects are the same"),
  invalidExpire: (cmd: string) => new RespError(`ERR invalid expire time in '${cmd}' command`),
  stringTooLong: fixed("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
  offsetOutOfRange: fixed("ERR offset is out of range"),
  invalidCursor: fixed("ERR invalid cursor"),
  noAuth: fixed("NOAUTH Authentication required."),
  wrongPass: fixed("WRONGPASS invalid username-password pair or user is disabled."),
  authNotConfigured: fixed(
    "ERR AUTH <password> called without any password configured for the default user. " +
      "Are you sure your configuration is correct?",
  ),
  maxClients: fixed("ERR max number of clients reached"),
  oom: fixed("OOM command not allowed when used memory > 'maxmemory'."),
  loading: fixed("LOADING Redis is loading the dataset in memory"),
  timeoutNegative: fixed("ERR timeout is negative"),
  timeoutNotFloat: fixed("ERR timeout is not a float or out of range"),
  noProto: fixed("NOPROTO unsupported protocol version"),
  clientNoSuchClient: fixed("ERR No such client"),
  clientNameSpaces: fixed(
    "ERR Client names cannot contain spaces, newlines or special characters.",
  ),
} as const;

/** `ERR unknown command 'x', with args beginning with: 'a' 'b' ` (Redis's exact wording). */
export function unknownCommand(name: string, args: string[]): RespError {
  // Redis formats these with C's %s: each string ends at its first NUL byte.
  const cut = (s: string) => {
    const nul = s.indexOf("\0");
    return nul < 0 ? s : s.slice(0, nul);
  };
  let list = "";
  for (let i = 0; i < args.length && list.length < 128; i++) {
    list += `'${cut(args[i]).slice(0, 128 - list.length)}' `;
  }
  return new RespError(
    `ERR unknown command '${cut(name).slice(0, 128)}', with args beginning with: ${list}`,
  );
}

/** `ERR unknown subcommand 'x'. Try CLIENT HELP.` */
export function unknownSubcommand(sub: string, container: string): RespError {
  return new RespError(
    `ERR unknown subcommand '${sub.slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`,
  );
}

/**
 * Redis's addReplySubcommandSyntaxError for a command line `argv` (container and subcommand as
 * the client spelled them): `ERR unknown subcommand or wrong number of arguments for 'x'. Try
 * CMD HELP.`
 */
export function subcommandSyntaxError(argv: Uint8Array[]): RespError {
  const text = (b: Uint8Array) => String.fromCharCode(...b.subarray(0, 128));
  return new RespError(
    `ERR unknown subcommand or wrong number of arguments for '${text(argv[1])}'. Try ${
      text(argv[0]).toUpperCase()
    } HELP.`,
  );
}

/** `ERR wrong number of arguments for 'get' command` (full name: `client|kill`). */
export function wrongArity(fullName: string): RespError {
  return new RespError(`ERR wrong number of arguments for '${fullName}' command`);
}

/** Errors thrown by the engine's status mapping and option parsers. */
export function err(text: string): RespError {
  return new RespError(text.startsWith("ERR ") || /^[A-Z]+ /.test(text) ? text : `ERR ${text}`);
}
