import { Redis } from "ioredis";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { freePort, RawClient, startFerric } from "./_harness.ts";
import { certificateVersion, checkCertificate } from "../protocol/tls.ts";
import { X509Certificate } from "node:crypto";
import { tempDir } from "./_temp_dir.ts";

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** The recipe of docs/security.md: a CA, and v3 server and client certificates it signs. */
async function makeCertificates(): Promise<string> {
  const dir = await tempDir("ferric-tls-");
  const ossl = (...args: string[]) => run("openssl", args, dir);
  await ossl(
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "3650",
    "-subj",
    "/CN=FerricStore Test CA",
  );
  /** A new key and certificate signing request for `/CN=${name}`. */
  const request = (name: string) =>
    ossl(
      "req",
      "-new",
      "-nodes",
      "-newkey",
      "rsa:2048",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
  /** Signs `csr` with the CA into `out`: v3 with an extension file, v1 without. */
  const sign = (csr: string, out: string, extfile?: string) =>
    ossl(
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      out,
      "-days",
      "825",
      ...(extfile === undefined ? [] : ["-extfile", extfile]),
    );
  for (
    const [name, usage, san] of [[
      "server",
      "serverAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    ], ["client", "clientAuth", ""]]
  ) {
    await request(name);
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\n${san}`,
    );
    await sign(`${name}.csr`, `${name}.crt`, `${name}.ext`);
  }
  // A v1 certificate: what `openssl x509 -req` makes without an extension file.
  await sign("server.csr", "v1.crt");
  await request("other");
  return dir;
}

const certs = await makeCertificates();
const file = (name: string) => `${certs}/${name}`;

function tlsOptions(extra: Record<string, string | number> = {}) {
  return {
    "tls-port": freePort(),
    "tls-cert-file": file("server.crt"),
    "tls-key-file": file("server.key"),
    "tls-ca-cert-file": file("ca.crt"),
    ...extra,
  };
}

Deno.test("tls: certificate checks name the reason", async () => {
  assertEquals(
    certificateVersion(
      new Uint8Array(new X509Certificate(await Deno.readTextFile(file("server.crt"))).raw),
    ),
    3,
  );
  assertEquals(
    certificateVersion(
      new Uint8Array(new X509Certificate(await Deno.readTextFile(file("v1.crt"))).raw),
    ),
    1,
  );
  assertMatch(checkCertificate("c", await Deno.readTextFile(file("v1.crt")))!, /X\.509 v1/);
  assertMatch(
    checkCertificate(
      "c",
      await Deno.readTextFile(file("server.crt")),
      await Deno.readTextFile(file("other.key")),
    )!,
    /does not match the private key/,
  );
  let message = "";
  try {
    await startFerric(tlsOptions({ "tls-cert-file": file("v1.crt") }));
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /v1\.crt is an X\.509 v1 certificate/);
});

Deno.test("tls: redis-cli with a client certificate; without one it is refused", async () => {
  const server = await startFerric(tlsOptions());
  try {
    const cli = (extra: string[]) =>
      new Deno.Command("redis-cli", {
        args: ["-p", String(server.tlsPort), "--tls", "--cacert", file("ca.crt"), ...extra, "PING"],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await cli(["--cert", file("client.crt"), "--key", file("client.key")]);
    assertEquals(new TextDecoder().decode(ok.stdout).trim(), "PONG");
    const refused = await cli([]);
    assert(
      !new TextDecoder().decode(refused.stdout).includes("PONG"),
      "a client without a certificate got in",
    );
  } finally {
    await server.close();
  }
});

Deno.test("tls: ioredis over mutual TLS gets pipelining, pub/sub and large values", async () => {
  const server = await startFerric(tlsOptions());
  const tls = {
    ca: await Deno.readTextFile(file("ca.crt")),
    cert: await Deno.readTextFile(file("client.crt")),
    key: await Deno.readTextFile(file("client.key")),
    servername: "localhost",
  };
  const a = new Redis({
    port: server.tlsPort,
    host: "127.0.0.1",
    tls,
    lazyConnect: true,
    enableReadyCheck: false,
  });
  const b = new Redis({
    port: server.tlsPort,
    host: "127.0.0.1",
    tls,
    lazyConnect: true,
    enableReadyCheck: false,
  });
  try {
    await a.connect();
    await b.connect();
    const big = "z".repeat(3 * 1024 * 1024);
    assertEquals(await a.set("big", big), "OK");
    assertEquals(await a.get("big"), big);
    const p = a.pipeline();
    for (let i = 0; i < 200; i++) p.incr("n");
    const results = await p.exec();
    assertEquals(results!.at(-1), [null, 200]);
    const got = new Promise<string>((resolve) =>
      b.on("message", (_c: string, m: string) => resolve(m))
    );
    await b.subscribe("tls-news");
    assertEquals(await a.publish("tls-news", "secure"), 1);
    assertEquals(await got, "secure");
  } finally {
    a.disconnect();
    b.disconnect();
    await server.close();
  }
});

Deno.test("tls: tls-auth-clients optional accepts clients without a certificate", async () => {
  const server = await startFerric(tlsOptions({ "tls-auth-clients": "optional" }));
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(server.tlsPort), "--tls", "--cacert", file("ca.crt"), "PING"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await server.close();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "PONG");
});

Deno.test("tls: require-tls refuses plaintext connections with an error", async () => {
  const server = await startFerric(tlsOptions({ "require-tls": "yes" }));
  const c = await RawClient.connect(server.port);
  try {
    await c.write("*1\r\n$4\r\nPING\r\n");
    assertMatch((await c.read())!, /^-ERR plaintext connections are not accepted/);
    assert(await c.closedByServer());
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("tls: CONFIG SET tls-auth-clients applies to new connections; yes without a CA is refused", async () => {
  const server = await startFerric(tlsOptions({ "tls-auth-clients": "optional" }));
  const c = await RawClient.connect(server.port);
  const ping = async () =>
    new TextDecoder().decode(
      (await new Deno.Command("redis-cli", {
        args: ["-p", String(server.tlsPort), "--tls", "--cacert", file("ca.crt"), "PING"],
        stdout: "piped",
        stderr: "piped",
      }).output()).stdout,
    ).trim();
  try {
    assertEquals(await ping(), "PONG");
    assertEquals(await c.call("CONFIG", "SET", "tls-auth-clients", "yes"), "+OK\r\n");
    assert(!(await ping()).includes("PONG"), "a client without a certificate got in");
    assertEquals(await c.call("CONFIG", "SET", "tls-auth-clients", "no"), "+OK\r\n");
    assertEquals(await ping(), "PONG");
  } finally {
    c.close();
    await server.close();
  }
  // Without a CA, client certificates cannot be checked: refused at start, as Redis refuses.
  let message = "";
  try {
    await startFerric(tlsOptions({ "tls-ca-cert-file": "" }));
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /tls-ca-cert-file is required/);
  const open = await startFerric(tlsOptions({ "tls-ca-cert-file": "", "tls-auth-clients": "no" }));
  const d = await RawClient.connect(open.port);
  try {
    assertMatch(
      await d.call("CONFIG", "SET", "tls-auth-clients", "yes"),
      /^-ERR CONFIG SET failed .* tls-ca-cert-file is required/,
    );
  } finally {
    d.close();
    await open.close();
  }
});
