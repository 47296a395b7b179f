/**
 * The TLS listener (`tls-port`). `Deno.listenTls` cannot ask clients for certificates, so this
 * uses `node:tls`, which does mutual TLS (`tls-ca-cert-file`, `tls-auth-clients`). Each secure
 * socket is adapted to the same byte-stream interface as a TCP connection, so TLS clients get
 * every feature plaintext clients get.
 *
 * Certificates are checked at start, so a certificate that cannot work fails with a reason
 * (expired, not yet valid, X.509 v1, key does not match) instead of failing every handshake.
 *
 * @module
 */
import * as tls from "node:tls";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { ByteStream } from "./connection.ts";

/** TLS settings, from the tls-* parameters. */
export interface TlsOptions {
  port: number;
  hostnames: string[];
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Read for each connection: CONFIG SET tls-auth-clients applies to the next handshake. */
  authClients: () => "yes" | "no" | "optional";
}

/** A TLS certificate or key that cannot be used; the message says why. */
export class TlsConfigError extends Error {}

/** The X.509 version of a DER certificate (1 when the optional version field is absent). */
export function certificateVersion(der: Uint8Array): number {
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] EXPLICIT Version OPTIONAL, ... } }
  let p = 0;
  const skipHeader = () => {
    p++; // tag
    const len = der[p++];
    if (len & 0x80) p += len & 0x7f;
  };
  skipHeader(); // Certificate
  skipHeader(); // tbsCertificate
  if (der[p] !== 0xa0) return 1;
  skipHeader(); // [0]
  // INTEGER version: 0 = v1, 1 = v2, 2 = v3
  return der[p + 2] + 1;
}

/** Checks a certificate (and its key) and returns why it cannot be used, or null. */
export function checkCertificate(label: string, pem: string, keyPem?: string): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    return `${label} is not a PEM certificate: ${(e as Error).message}`;
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now) return `${label} expired on ${cert.validTo}`;
  if (Date.parse(cert.validFrom) > now) return `${label} is not valid before ${cert.validFrom}`;
  if (certificateVersion(new Uint8Array(cert.raw)) < 3) {
    return `${label} is an X.509 v1 certificate; Deno's TLS accepts only v3 certificates ` +
      "(sign it with an extension file: see docs/security.md)";
  }
  if (keyPem !== undefined) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) {
        return `${label} does not match the private key in tls-key-file`;
      }
    } catch (e) {
      return `tls-key-file is not a usable private key: ${(e as Error).message}`;
    }
  }
  return null;
}

/** Adapts a node TLS socket to the connection's byte stream. */
class TlsStream implements ByteStream {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private waiting: ((v: void) => void) | null = null;

  constructor(private readonly socket: tls.TLSSocket) {
    socket.on("data", (d: Uint8Array) => {
      this.chunks.push(d);
      if (this.chunks.length > 8) socket.pause(); // backpressure while the server is busy
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null;
      this.socket.resume();
      await new Promise<void>((r) => this.waiting = r);
    }
    const c = this.chunks[0];
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(n);
    if (this.chunks.length === 0) this.socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.ended) return Promise.reject(new Deno.errors.BrokenPipe("TLS connection closed"));
    const copy = p.slice(); // the caller reuses its buffer
    return new Promise((resolve, reject) => {
      const ok = this.socket.write(
        copy,
        (err) => err ? reject(new Deno.errors.BrokenPipe(err.message)) : undefined,
      );
      if (ok) resolve(p.length);
      else this.socket.once("drain", () => resolve(p.length));
    });
  }

  close(): void {
    this.ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000);
  }
}

/**
 * Starts TLS listeners; `serve` is called with each secure connection. Returns a function that
 * closes them.
 */
export async function listenTls(
  opts: TlsOptions,
  serve: (stream: ByteStream, remote: Deno.NetAddr, local: Deno.NetAddr) => void,
  log: (message: string) => void,
): Promise<{ port: number; close: () => void }> {
  const read = async (name: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      throw new TlsConfigError(`${name} ${path} cannot be read: ${(e as Error).message}`);
    }
  };
  if (!opts.certFile || !opts.keyFile) {
    throw new TlsConfigError("tls-port is set, so tls-cert-file and tls-key-file are required");
  }
  const cert = await read("tls-cert-file", opts.certFile);
  const key = await read("tls-key-file", opts.keyFile);
  const problem = checkCertificate(`tls-cert-file ${opts.certFile}`, cert, key);
  if (problem) throw new TlsConfigError(problem);
  let ca: string | undefined;
  if (opts.caFile) {
    ca = await read("tls-ca-cert-file", opts.caFile);
    const caProblem = checkCertificate(`tls-ca-cert-file ${opts.caFile}`, ca);
    if (caProblem) throw new TlsConfigError(caProblem);
  } else if (opts.authClients() !== "no") {
    // As Redis, which will not start so: without a CA nothing could check a client certificate.
    throw new TlsConfigError(
      "tls-auth-clients is yes or optional, so tls-ca-cert-file is required to check client " +
        "certificates (or set tls-auth-clients no)",
    );
  }
  // Certificates are asked for whenever a CA is there and judged after the handshake, by the
  // setting in force then (CONFIG SET tls-auth-clients takes effect for new connections).
  const servers: tls.Server[] = [];
  let port = opts.port;
  for (const hostname of opts.hostnames) {
    const server = tls.createServer({
      cert,
      key,
      ca,
      requestCert: ca !== undefined,
      rejectUnauthorized: false,
    });
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      const mode = opts.authClients();
      const presented = Boolean(socket.getPeerCertificate()?.raw);
      // `optional`: no certificate is fine, but one that does not chain to the CA is not.
      if (mode !== "no" && !socket.authorized && (presented || mode === "yes")) {
        const why = presented
          ? socket.authorizationError
          : "no client certificate (tls-auth-clients yes)";
        log(`TLS client ${socket.remoteAddress}:${socket.remotePort} refused: ${why}`);
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      serve(
        new TlsStream(socket),
        { transport: "tcp", hostname: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 },
        { transport: "tcp", hostname: socket.localAddress ?? "?", port: socket.localPort ?? 0 },
      );
    });
    server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const hint = /certificate/i.test(err.message)
        ? " (client certificates must be X.509 v3 and signed by tls-ca-cert-file)"
        : "";
      // A socket that failed its handshake may no longer know its address; the TCP one does.
      const raw =
        (socket as unknown as { _parent?: { remoteAddress?: string; remotePort?: number } })
          ._parent;
      const address = socket.remoteAddress ?? raw?.remoteAddress ?? "?";
      const remotePort = socket.remotePort ?? raw?.remotePort ?? "?";
      log(`TLS handshake with ${address}:${remotePort} failed: ${err.message}${hint}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, hostname === "*" ? "0.0.0.0" : hostname, () => {
        const addr = server.address();
        if (addr && typeof addr === "object") port = addr.port;
        resolve();
      });
    });
    servers.push(server);
  }
  return {
    port,
    close: () => {
      for (const s of servers) s.close();
    },
  };
}
