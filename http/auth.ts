/**
 * Who may read /metrics and /dashboard. While the server is open to anyone (its only user is
 * `default`, enabled, without a password) so are they; as soon as `requirepass` is set or other
 * ACL users exist, a request needs HTTP Basic credentials of an enabled ACL user whose
 * permissions allow administrative commands (CONFIG GET). The probes never ask for credentials.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Server } from "../server/server.ts";

/** The outcome of a check: allowed, or the status to answer with. */
export type AuthResult = { ok: true; user: string | null } | {
  ok: false;
  status: 401 | 403;
  reason: string;
};

/** The WWW-Authenticate challenge of a 401. */
export const CHALLENGE = 'Basic realm="FerricStore", charset="UTF-8"';

/** True when HTTP requests need credentials (the server has any password or other users). */
export function authRequired(server: Server): boolean {
  const users = server.acl.users;
  const d = users.get("default");
  return !(users.size === 1 && d !== undefined && d.enabled && d.nopass);
}

/** The user and password of an `Authorization: Basic …` header, or null when there is none. */
export function basicCredentials(
  header: string | null,
): { user: string; password: Uint8Array } | null {
  if (header === null) return null;
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (m === null) return null;
  const raw = Buffer.from(m[1], "base64");
  const colon = raw.indexOf(0x3a);
  if (colon < 0) return null;
  return {
    // User names are binary strings (latin1), as ACL SETUSER received their bytes.
    user: raw.subarray(0, colon).toString("latin1"),
    password: new Uint8Array(raw.subarray(colon + 1)),
  };
}

/** Checks a request's credentials against the server's ACL users. */
export function authorize(server: Server, header: string | null): AuthResult {
  if (!authRequired(server)) return { ok: true, user: null };
  const creds = basicCredentials(header);
  if (creds === null) return { ok: false, status: 401, reason: "credentials required" };
  const user = server.acl.users.get(creds.user);
  if (user === undefined || !user.enabled || !user.checkPassword(creds.password)) {
    return { ok: false, status: 401, reason: "invalid username-password pair or user is disabled" };
  }
  const probe = server.registry.get("config")?.subcommands?.get("get");
  if (probe === undefined || !user.root.canRun(probe)) {
    return {
      ok: false,
      status: 403,
      reason: `user '${creds.user}' may not run administrative commands (CONFIG GET)`,
    };
  }
  return { ok: true, user: creds.user };
}
