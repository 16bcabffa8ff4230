import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { discover, OAuthResponseError, OAuthTransportError } from "../src/index";
import { freePort } from "./helpers/prism";

interface Route {
  status: number;
  body?: string;
  contentType?: string;
}

/** A metadata server on 127.0.0.1 that answers each path as the test says, 404 otherwise, and logs requests. */
let server: Server;
let base: string;
const routes = new Map<string, Route>();
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(`${req.method} ${req.url}`);
    const route = routes.get(req.url ?? "") ?? { status: 404 };
    res.writeHead(
      route.status,
      route.body === undefined ? {} : { "content-type": route.contentType ?? "application/json" },
    );
    res.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

beforeEach(() => {
  routes.clear();
  requested.length = 0;
});

function serve(path: string, body: unknown, status = 200): void {
  routes.set(path, { status, body: typeof body === "string" ? body : JSON.stringify(body) });
}

function metadataFor(issuer: string) {
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/revoke`,
    token_endpoint_auth_methods_supported: ["client_secret_post"],
  };
}

describe("discover", () => {
  test("reads RFC 8414 metadata at the root for an issuer without a path", async () => {
    serve("/.well-known/oauth-authorization-server", metadataFor(base));
    await expect(discover(base)).resolves.toStrictEqual(metadataFor(base));
    expect(requested).toEqual(["GET /.well-known/oauth-authorization-server"]);
  });

  test("inserts the well-known segment before the issuer's path (RFC 8414 §3.1)", async () => {
    const issuer = `${base}/tenant/a`;
    serve("/.well-known/oauth-authorization-server/tenant/a", metadataFor(issuer));
    // A document at the OpenID Connect location must not be the one read first.
    serve("/tenant/a/.well-known/openid-configuration", metadataFor(`${base}/other`));
    await expect(discover(issuer)).resolves.toStrictEqual(metadataFor(issuer));
    expect(requested).toEqual(["GET /.well-known/oauth-authorization-server/tenant/a"]);
  });

  test("falls back to OpenID Connect discovery, appended after the issuer's path, on a 404", async () => {
    const issuer = `${base}/tenant/a`;
    serve("/tenant/a/.well-known/openid-configuration", metadataFor(issuer));
    await expect(discover(issuer)).resolves.toStrictEqual(metadataFor(issuer));
    expect(requested).toEqual([
      "GET /.well-known/oauth-authorization-server/tenant/a",
      "GET /tenant/a/.well-known/openid-configuration",
    ]);
  });

  test("a trailing slash on the issuer asked for is not a mismatch", async () => {
    serve("/.well-known/openid-configuration", metadataFor(base));
    await expect(discover(`${base}/`)).resolves.toMatchObject({ issuer: base });
    expect(requested).toEqual(["GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration"]);
  });

  test("refuses a document whose issuer is another server's (RFC 8414 §3.3), without trying further", async () => {
    serve("/.well-known/oauth-authorization-server", metadataFor("https://attacker.example"));
    serve("/.well-known/openid-configuration", metadataFor(base));
    const error = await discover(base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect((error as Error).message).toBe(`metadata "issuer" must equal ${JSON.stringify(base)}`);
    expect(requested).toHaveLength(1);
  });

  test("refuses an issuer that differs only by its path", async () => {
    const issuer = `${base}/tenant/a`;
    serve("/.well-known/oauth-authorization-server/tenant/a", metadataFor(`${base}/tenant/b`));
    await expect(discover(issuer)).rejects.toThrow(/"issuer" must equal/);
  });

  test("when neither document exists, says what was tried", async () => {
    const error = await discover(`${base}/t`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toBe(
      `no authorization server metadata for ${base}/t: tried /.well-known/oauth-authorization-server/t (HTTP 404), /t/.well-known/openid-configuration (HTTP 404)`,
    );
  });

  test("another failure status stops the look-up: it is not a missing document", async () => {
    routes.set("/.well-known/oauth-authorization-server", { status: 503, body: "busy", contentType: "text/plain" });
    serve("/.well-known/openid-configuration", metadataFor(base));
    await expect(discover(base)).rejects.toMatchObject({ name: "OAuthResponseError", status: 503 });
    expect(requested).toHaveLength(1);
  });

  test.for([
    ["not JSON", "<html>sign in</html>", /is not valid JSON/],
    ["an array", [metadataFor("x")], /must be a JSON object/],
    [
      "an endpoint that is not a URL",
      { issuer: "ISSUER", token_endpoint: "/token" },
      /"token_endpoint" must be an absolute URL/,
    ],
    [
      "a _supported field that is not a list",
      { issuer: "ISSUER", grant_types_supported: "client_credentials" },
      /"grant_types_supported" must be an array of strings/,
    ],
  ] as const)("refuses a document that is %s", async ([, document, message]) => {
    const body =
      typeof document === "string" ? document : JSON.stringify(document).replace(/"ISSUER"/g, JSON.stringify(base));
    serve("/.well-known/oauth-authorization-server", body);
    const error = await discover(base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect((error as Error).message).toMatch(message);
  });

  test("keeps fields it does not know, such as OpenID Connect's boolean *_supported flags", async () => {
    const document = {
      ...metadataFor(base),
      claims_parameter_supported: false,
      request_uri_parameter_supported: false,
      jwks_uri: `${base}/jwks`,
    };
    serve("/.well-known/oauth-authorization-server", document);
    await expect(discover(base)).resolves.toStrictEqual(document);
  });

  test("an issuer that is not an absolute http(s) URL without query or fragment is a TypeError, before any request", async () => {
    for (const issuer of ["auth.example.org", "ftp://auth.example.org", `${base}?tenant=a`, `${base}#x`]) {
      await expect(discover(issuer)).rejects.toThrow(TypeError);
    }
    expect(requested).toEqual([]);
  });

  test("no answer is an OAuthTransportError", async () => {
    // A port nothing listens on: found free, then left closed.
    const port = await freePort();
    await expect(discover(`http://127.0.0.1:${port}`)).rejects.toBeInstanceOf(OAuthTransportError);
  });

  test("uses the fetch it is given", async () => {
    serve("/.well-known/oauth-authorization-server", metadataFor(base));
    const seen: string[] = [];
    const fetch: typeof globalThis.fetch = (input, init) => {
      seen.push(new Request(input, init).url);
      return globalThis.fetch(input, init);
    };
    await discover(base, { fetch });
    expect(seen).toEqual([`${base}/.well-known/oauth-authorization-server`]);
  });
});

describe("discover() keeps the client's transport rules", () => {
  test("a server that never answers fails with a typed time-out instead of hanging", async () => {
    const silent: typeof fetch = () => new Promise<Response>(() => {});
    const error = await discover("https://auth.example.org", { fetch: silent, timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OAuthTransportError);
    expect(error).toMatchObject({ timedOut: true, message: expect.stringContaining("timed out after 200 ms") });
  });

  test("a metadata document over maxResponseBytes is refused", async () => {
    const big: typeof fetch = async () =>
      new Response(JSON.stringify({ issuer: "https://auth.example.org", padding: "x".repeat(5_000) }), {
        headers: { "Content-Type": "application/json" },
      });
    const error = await discover("https://auth.example.org", { fetch: big, maxResponseBytes: 1_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect((error as Error).message).toContain("larger than 1000 bytes");
  });

  test("a plain http issuer that is not loopback is refused before any request, unless allowed", async () => {
    const calls: unknown[] = [];
    const recording: typeof fetch = async (...args) => {
      calls.push(args);
      return new Response(JSON.stringify({ issuer: "http://auth.example.org" }), {
        headers: { "Content-Type": "application/json" },
      });
    };
    await expect(discover("http://auth.example.org", { fetch: recording })).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
    await expect(
      discover("http://auth.example.org", { fetch: recording, allowInsecureHttp: true }),
    ).resolves.toMatchObject({ issuer: "http://auth.example.org" });
  });
});
