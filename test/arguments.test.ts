import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOAuthClient,
  OAuthError,
  OAuthResponseError,
  OAuthTransportError,
  type OAuthClient,
  squareAdapter,
  type OAuthClientOptions,
  type RequestFormat,
  type SquareMethods,
} from "../src/index";
import { freePort } from "./helpers/prism";

const BASE = "https://auth.example.org";
const CLIENT_SECRET = "CLIENT-SECRET-9f8e7d6c";
const ACCESS_TOKEN = "ACCESS-TOKEN-1a2b3c";
const REFRESH_TOKEN = "REFRESH-TOKEN-4d5e6f";
const SECRETS = [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN];
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/** A fetch that must never be reached: it records the attempt and fails the request. */
function forbiddenFetch(): { fetch: typeof fetch; calls: unknown[] } {
  const calls: unknown[] = [];
  const fetch: typeof globalThis.fetch = async (...args) => {
    calls.push(args);
    throw new Error("fetch must not be called");
  };
  return { fetch, calls };
}

function expectNoSecret(value: unknown): void {
  const texts = [value instanceof Error ? value.message : "", JSON.stringify(value), inspect(value, { depth: 10 })];
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe("createOAuthClient rejects bad options with TypeError", () => {
  const cases: [string, unknown][] = [
    ["options that are not an object", "https://auth.example.org"],
    ["undefined options", undefined],
    ["null options", null],
    ["missing baseUrl", { clientId: "id", clientSecret: CLIENT_SECRET }],
    ["empty baseUrl", { baseUrl: "" }],
    ["relative baseUrl", { baseUrl: "/oauth" }],
    ["baseUrl without a scheme", { baseUrl: "auth.example.org" }],
    ["non-http baseUrl", { baseUrl: "ftp://auth.example.org" }],
    ["a baseUrl with a user name and password", { baseUrl: `https://user:${CLIENT_SECRET}@auth.example.org` }],
    ["a baseUrl with a user name", { baseUrl: `https://${CLIENT_SECRET}@auth.example.org` }],
    ["a baseUrl with a query", { baseUrl: "https://auth.example.org/oauth?tenant=a" }],
    ["a baseUrl with an empty query", { baseUrl: "https://auth.example.org/oauth?" }],
    ["a baseUrl with a fragment", { baseUrl: "https://auth.example.org/oauth#top" }],
    [
      "an endpoint URL with a password",
      { baseUrl: BASE, endpoints: { token: `https://id:${CLIENT_SECRET}@auth.example.org/token` } },
    ],
    ["empty clientId", { baseUrl: BASE, clientId: "", clientSecret: CLIENT_SECRET }],
    ["empty clientSecret", { baseUrl: BASE, clientId: "id", clientSecret: "" }],
    [
      "unknown authentication method",
      { baseUrl: BASE, clientId: "id", clientSecret: CLIENT_SECRET, clientAuthentication: "private_key_jwt" },
    ],
    [
      "client_secret_basic without a secret",
      { baseUrl: BASE, clientId: "id", clientAuthentication: "client_secret_basic" },
    ],
    [
      "client_secret_post without a secret",
      { baseUrl: BASE, clientId: "id", clientAuthentication: "client_secret_post" },
    ],
    ["a secret without a client ID", { baseUrl: BASE, clientSecret: CLIENT_SECRET }],
    ["unknown request format", { baseUrl: BASE, requestFormat: "xml" }],
    ["endpoints that are not an object", { baseUrl: BASE, endpoints: "/oauth2/token" }],
    ["an endpoint for an unknown operation", { baseUrl: BASE, endpoints: { tokens: "/oauth/token" } }],
    ["an endpoint that is neither a path nor a URL", { baseUrl: BASE, endpoints: { token: "oauth/token" } }],
    ["an empty endpoint", { baseUrl: BASE, endpoints: { revoke: "" } }],
    ["an endpoint that is not a string", { baseUrl: BASE, endpoints: { introspect: 42 } }],
    ["an endpoint host without a scheme", { baseUrl: BASE, endpoints: { token: "localhost:8080/oauth/token" } }],
    ["a non-http endpoint URL", { baseUrl: BASE, endpoints: { renew: "ftp://auth.example.org/renew" } }],
    ["fetch that is not a function", { baseUrl: BASE, fetch: "fetch" }],
    ["headers that are not an object", { baseUrl: BASE, headers: "X-App-Id: id" }],
    ["a header value that is not a string", { baseUrl: BASE, headers: { "X-App-Id": 42 } }],
    ["a header value with a newline", { baseUrl: BASE, headers: { "X-App-Id": "id\r\nX-Injected: 1" } }],
    ["a header name HTTP does not allow", { baseUrl: BASE, headers: { "X App Id": "id" } }],
    ["a provider that is not an adapter", { baseUrl: BASE, provider: "square" }],
    ["a client authentication object without apply", { baseUrl: BASE, clientAuthentication: { method: "x" } }],
  ];
  for (const [name, options] of cases) {
    test(name, () => {
      const { fetch, calls } = forbiddenFetch();
      const withFetch =
        typeof options === "object" && options !== null && !("fetch" in options) ? { ...options, fetch } : options;
      let thrown: unknown;
      try {
        createOAuthClient(withFetch as OAuthClientOptions);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expectNoSecret(thrown);
      expect(calls).toHaveLength(0);
    });
  }

  test("good options make a client whose printed form carries no secret", () => {
    const client = createOAuthClient({
      baseUrl: BASE,
      clientId: "id",
      clientSecret: CLIENT_SECRET,
      endpoints: { token: `${BASE}/v1/oauth/token` },
    });
    expect(typeof client.obtainToken).toBe("function");
    expectNoSecret(client);
  });
});

/** A client of either format; the JSON one is Square's, with its adapter's methods. */
type AnyClient = OAuthClient<RequestFormat> & SquareMethods;
type Call = (client: AnyClient) => Promise<unknown>;

/** Calls that must reject with TypeError before any request, by request format of the client. */
const badCalls: Record<RequestFormat, [string, Call][]> = {
  form: [
    ["obtainToken with params that are not an object", (c) => c.obtainToken("grant_type=client_credentials" as never)],
    ["obtainToken with null", (c) => c.obtainToken(null as never)],
    ["obtainToken with an array", (c) => c.obtainToken([] as never)],
    ["obtainToken without grant_type", (c) => c.obtainToken({ code: "abc" } as never)],
    [
      "obtainToken with an unsupported grant_type",
      (c) => c.obtainToken({ grant_type: "password", username: "u", password: "p" } as never),
    ],
    ["obtainToken with an empty grant_type", (c) => c.obtainToken({ grant_type: "" } as never)],
    ["authorization_code without code", (c) => c.obtainToken({ grant_type: "authorization_code" } as never)],
    ["authorization_code with an empty code", (c) => c.obtainToken({ grant_type: "authorization_code", code: "" })],
    [
      "authorization_code with a code that is not a string",
      (c) => c.obtainToken({ grant_type: "authorization_code", code: 42 } as never),
    ],
    ["refresh_token without refresh_token", (c) => c.obtainToken({ grant_type: "refresh_token" } as never)],
    [
      "refresh_token with an empty refresh_token",
      (c) => c.obtainToken({ grant_type: "refresh_token", refresh_token: "" }),
    ],
    [
      "refresh_token with an empty scope",
      (c) => c.obtainToken({ grant_type: "refresh_token", refresh_token: REFRESH_TOKEN, scope: "" }),
    ],
    ["migration_token without migration_token", (c) => c.obtainToken({ grant_type: "migration_token" } as never)],
    ["client_credentials with an empty scope", (c) => c.clientCredentials({ scope: "" })],
    [
      "a code_verifier of 42 characters",
      (c) => c.exchangeAuthorizationCode({ code: "abc", code_verifier: VERIFIER.slice(0, 42) }),
    ],
    [
      "a code_verifier of 129 characters",
      (c) => c.exchangeAuthorizationCode({ code: "abc", code_verifier: "a".repeat(129) }),
    ],
    [
      "a code_verifier with characters outside [A-Za-z0-9-._~]",
      (c) => c.exchangeAuthorizationCode({ code: "abc", code_verifier: `${VERIFIER.slice(0, 42)}+=` }),
    ],
    ["an empty code_verifier", (c) => c.exchangeAuthorizationCode({ code: "abc", code_verifier: "" })],
    ["a relative redirect_uri", (c) => c.exchangeAuthorizationCode({ code: "abc", redirect_uri: "/callback" })],
    [
      "a redirect_uri without a scheme",
      (c) => c.exchangeAuthorizationCode({ code: "abc", redirect_uri: "app.example.org/callback" }),
    ],
    [
      "client_secret in the request",
      (c) => c.refreshToken({ refresh_token: REFRESH_TOKEN, client_secret: CLIENT_SECRET } as never),
    ],
    ["client_id in the request", (c) => c.clientCredentials({ client_id: "other" } as never)],
    [
      "Square's scopes with a form client",
      (c) => c.refreshToken({ refresh_token: REFRESH_TOKEN, scopes: ["PAYMENTS_READ"] } as never),
    ],
    [
      "Square's short_lived with a form client",
      (c) => c.exchangeAuthorizationCode({ code: "abc", short_lived: true } as never),
    ],
    ["a field of another grant", (c) => c.clientCredentials({ code: "abc" } as never)],
    ["an unknown field", (c) => c.obtainToken({ grant_type: "client_credentials", tenant: "api" } as never)],
    ["a resource that is not an absolute URI", (c) => c.clientCredentials({ resource: "api.example.org" })],
    ["an empty audience", (c) => c.clientCredentials({ audience: "" })],
    [
      "extraParams that override grant_type",
      (c) => c.clientCredentials(undefined, { extraParams: { grant_type: "password" } }),
    ],
    [
      "extraParams that override a spec field",
      (c) => c.clientCredentials(undefined, { extraParams: { scope: "admin" } }),
    ],
    ["extraParams that set client_id", (c) => c.clientCredentials(undefined, { extraParams: { client_id: "other" } })],
    [
      "extraParams that are not strings",
      (c) => c.clientCredentials(undefined, { extraParams: { tenant: 42 } as never }),
    ],
    ["exchangeAuthorizationCode without code", (c) => c.exchangeAuthorizationCode({} as never)],
    ["refreshToken without refresh_token", (c) => c.refreshToken({} as never)],
    ["clientCredentials with params that are not an object", (c) => c.clientCredentials("scope=read" as never)],
    ["revokeToken without token", (c) => c.revokeToken({} as never)],
    ["revokeToken with only a token_type_hint", (c) => c.revokeToken({ token_type_hint: "access_token" } as never)],
    ["revokeToken with an empty token", (c) => c.revokeToken({ token: "" })],
    [
      "revokeToken with both token and access_token",
      (c) => c.revokeToken({ token: ACCESS_TOKEN, access_token: ACCESS_TOKEN } as never),
    ],
    [
      "revokeToken with an unknown token_type_hint",
      (c) => c.revokeToken({ token: ACCESS_TOKEN, token_type_hint: "id_token" } as never),
    ],
    [
      "revokeToken with a token_type_hint for access_token",
      (c) => c.revokeToken({ access_token: ACCESS_TOKEN, token_type_hint: "access_token" } as never),
    ],
    [
      "revokeToken with client_secret",
      (c) => c.revokeToken({ token: ACCESS_TOKEN, client_secret: CLIENT_SECRET } as never),
    ],
    ["revokeToken with an unknown field", (c) => c.revokeToken({ token: ACCESS_TOKEN, reason: "logout" } as never)],
    [
      "revokeToken with Square's merchant_id on a form client",
      (c) => c.revokeToken({ merchant_id: "ML7Q4AA3KN2YW" } as never),
    ],
    ["revokeToken with params that are not an object", (c) => c.revokeToken(ACCESS_TOKEN as never)],
    ["introspectToken without token", (c) => c.introspectToken({} as never)],
    ["introspectToken with an empty access_token", (c) => c.introspectToken({ access_token: "" })],
    [
      "introspectToken with both token and access_token",
      (c) => c.introspectToken({ token: ACCESS_TOKEN, access_token: ACCESS_TOKEN } as never),
    ],
    [
      "introspectToken with an unknown token_type_hint",
      (c) => c.introspectToken({ token: ACCESS_TOKEN, token_type_hint: "id_token" } as never),
    ],
    [
      "introspectToken with an unknown field",
      (c) => c.introspectToken({ token: ACCESS_TOKEN, scope: "read" } as never),
    ],
    ["introspectToken with client_id", (c) => c.introspectToken({ token: ACCESS_TOKEN, client_id: "other" } as never)],
    ["introspectToken with params that are not an object", (c) => c.introspectToken(null as never)],
    [
      "a signal that is not an AbortSignal",
      (c) => c.clientCredentials(undefined, { signal: { aborted: false } as never }),
    ],
    ["call options that are not an object", (c) => c.introspectToken({ token: ACCESS_TOKEN }, "fast" as never)],
    ["a call header value with a newline", (c) => c.clientCredentials(undefined, { headers: { "X-Trace": "a\nb" } })],
    [
      "call headers that are not an object",
      (c) => c.revokeToken({ token: ACCESS_TOKEN }, { headers: "Prefer: code=200" as never }),
    ],
  ],
  json: [
    [
      "scopes that are not an array",
      (c) => c.refreshToken({ refresh_token: REFRESH_TOKEN, scopes: "PAYMENTS_READ" } as never),
    ],
    [
      "scopes with an empty entry",
      (c) => c.refreshToken({ refresh_token: REFRESH_TOKEN, scopes: ["PAYMENTS_READ", ""] } as never),
    ],
    [
      "short_lived that is not a boolean",
      (c) => c.exchangeAuthorizationCode({ code: "abc", short_lived: "yes" } as never),
    ],
    [
      "RFC 6749's scope on an authorization_code grant",
      (c) => c.exchangeAuthorizationCode({ code: "abc", scope: "read" } as never),
    ],
    ["a scope that is not a string", (c) => c.refreshToken({ refresh_token: REFRESH_TOKEN, scope: 42 } as never)],
    [
      "an unknown field in a JSON token request",
      (c) => c.obtainToken({ grant_type: "client_credentials", tenant: "api" } as never),
    ],
    ["renewToken without access_token", (c) => c.renewToken({} as never)],
    ["renewToken with an empty access_token", (c) => c.renewToken({ access_token: "" })],
    ["renewToken with params that are not an object", (c) => c.renewToken(ACCESS_TOKEN as never)],
    [
      "renewToken with an unknown field",
      (c) => c.renewToken({ access_token: ACCESS_TOKEN, client_secret: CLIENT_SECRET } as never),
    ],
    [
      "Square revocation without access_token or merchant_id",
      (c) => c.revokeToken({ revoke_only_access_token: true } as never),
    ],
    ["Square revocation with an empty access_token", (c) => c.revokeToken({ access_token: "" })],
    ["Square revocation with an empty merchant_id", (c) => c.revokeToken({ merchant_id: "" })],
    ["Square revocation with RFC 7009's token", (c) => c.revokeToken({ token: ACCESS_TOKEN } as never)],
    [
      "Square revocation with a non-boolean revoke_only_access_token",
      (c) => c.revokeToken({ access_token: ACCESS_TOKEN, revoke_only_access_token: "true" } as never),
    ],
    [
      "Square revocation with client_id",
      (c) => c.revokeToken({ access_token: ACCESS_TOKEN, client_id: "other" } as never),
    ],
  ],
};

for (const format of ["form", "json"] as const) {
  describe(`calls of a ${format} client reject with TypeError before any request`, () => {
    for (const [name, call] of badCalls[format]) {
      test(name, async () => {
        const { fetch, calls } = forbiddenFetch();
        const square = format === "json" ? { provider: squareAdapter } : {};
        const client = createOAuthClient({
          baseUrl: BASE,
          clientId: "id",
          clientSecret: CLIENT_SECRET,
          requestFormat: format,
          fetch,
          ...square,
        }) as AnyClient;
        const error = await call(client).then(
          () => expect.unreachable("the call resolved"),
          (reason: unknown) => reason,
        );
        expect(error).toBeInstanceOf(TypeError);
        expectNoSecret(error);
        expect(calls).toHaveLength(0);
      });
    }
  });
}

describe("calls that need a credential the client lacks reject with TypeError before any request", () => {
  const square = { provider: squareAdapter, requestFormat: "json" } as const;
  const cases: [string, Omit<OAuthClientOptions, "baseUrl" | "fetch">, Call][] = [
    [
      "renewToken without a client secret",
      { clientId: "id", ...square },
      (c) => c.renewToken({ access_token: ACCESS_TOKEN }),
    ],
    [
      "renewToken without a client ID",
      { clientSecret: CLIENT_SECRET, clientAuthentication: "none", ...square },
      (c) => c.renewToken({ access_token: ACCESS_TOKEN }),
    ],
    [
      "Square revocation without a client secret",
      { clientId: "id", ...square },
      (c) => c.revokeToken({ access_token: ACCESS_TOKEN }),
    ],
  ];
  for (const [name, options, call] of cases) {
    test(name, async () => {
      const { fetch, calls } = forbiddenFetch();
      const client = createOAuthClient({ baseUrl: BASE, fetch, ...options }) as AnyClient;
      await expect(call(client)).rejects.toThrow(TypeError);
      expect(calls).toHaveLength(0);
    });
  }
});

describe("answers that break the contract", () => {
  interface Answer {
    status: number;
    headers?: Record<string, string>;
    body?: string;
  }
  const JSON_HEADERS = { "Content-Type": "application/json" };
  const answers: Record<string, Answer> = {
    "/html-200": {
      status: 200,
      headers: { "Content-Type": "text/html" },
      body: `<html><body>Welcome ${ACCESS_TOKEN}</body></html>`,
    },
    "/html-502": {
      status: 502,
      headers: { "Content-Type": "text/html" },
      body: "<html><body>Bad gateway</body></html>",
    },
    "/no-access-token": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ token_type: "Bearer", refresh_token: REFRESH_TOKEN }),
    },
    "/empty-access-token": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ access_token: "", token_type: "Bearer" }),
    },
    "/no-token-type": { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ access_token: ACCESS_TOKEN }) },
    "/bad-expires-in": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: "Bearer", expires_in: "soon" }),
    },
    "/string-expires-in": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: "bearer", expires_in: "3600" }),
    },
    "/bad-expires-at": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: "Bearer", expires_at: "tomorrow" }),
    },
    "/empty-refresh-token": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: "Bearer", refresh_token: "" }),
    },
    "/array": { status: 200, headers: JSON_HEADERS, body: JSON.stringify([ACCESS_TOKEN]) },
    // A bare token labelled JSON: short enough for V8's SyntaxError to quote it whole.
    "/not-json": { status: 200, headers: JSON_HEADERS, body: ACCESS_TOKEN },
    "/empty-json": { status: 200, headers: JSON_HEADERS, body: "" },
    "/oauth-error-200": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ error: "invalid_grant", error_description: "Expired." }),
    },
    "/square-error-200": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ errors: [{ category: "AUTHENTICATION_ERROR", code: "ACCESS_TOKEN_REVOKED" }] }),
    },
    "/challenge-401": { status: 401, headers: { "WWW-Authenticate": 'Basic realm="oauth"' } },
    "/square-failure": { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ success: false }) },
    "/revoke-html-200": { status: 200, headers: { "Content-Type": "text/html" }, body: "<p>ok</p>" },
    "/unavailable-503": { status: 503, headers: { "Retry-After": "30" } },
    "/inactive-extra": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ active: false, username: "jdoe", access_token: ACCESS_TOKEN }),
    },
    "/active-missing": { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ scope: "read", client_id: "id" }) },
    "/active-string": { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ active: "true" }) },
    "/active-bad-exp": {
      status: 200,
      headers: JSON_HEADERS,
      body: JSON.stringify({ active: true, exp: "1798800000" }),
    },
  };
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const answer = answers[request.url ?? ""] ?? { status: 500, body: "no such answer" };
      request.resume();
      request.on("end", () => {
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A client whose every operation goes to the crafted answer at `path`. */
  function clientFor(path: string, requestFormat: RequestFormat = "form"): AnyClient {
    return createOAuthClient({
      baseUrl,
      clientId: "id",
      clientSecret: CLIENT_SECRET,
      requestFormat,
      endpoints: { token: path, renew: path, revoke: path, introspect: path },
      ...(requestFormat === "json" ? { provider: squareAdapter } : {}),
    }) as AnyClient;
  }
  const refresh = (path: string) => clientFor(path).refreshToken({ refresh_token: REFRESH_TOKEN });

  async function rejection(outcome: Promise<unknown>): Promise<Error> {
    const error = await outcome.then(
      (result) => expect.unreachable(`resolved with ${JSON.stringify(result)}`),
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(error);
    return error as Error;
  }

  test("an HTML page with status 200 is an OAuthResponseError naming the content type", async () => {
    const error = await rejection(refresh("/html-200"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ status: 200, code: "OAUTH_INVALID_RESPONSE" });
    expect(error.message).toContain("content-type");
    expect(error.message).toContain("text/html");
  });

  test("an HTML page with an error status is an OAuthResponseError, not an OAuthError", async () => {
    const error = await rejection(refresh("/html-502"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).not.toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 502 });
  });

  for (const [path, field] of [
    ["/no-access-token", "access_token"],
    ["/empty-access-token", "access_token"],
    ["/no-token-type", "token_type"],
    ["/bad-expires-in", "expires_in"],
    ["/bad-expires-at", "expires_at"],
    ["/empty-refresh-token", "refresh_token"],
  ] as const) {
    test(`a token answer with a bad "${field}" (${path.slice(1)}) is an OAuthResponseError naming it`, async () => {
      const error = await rejection(refresh(path));
      expect(error).toBeInstanceOf(OAuthResponseError);
      expect(error.message).toContain(`"${field}"`);
    });
  }

  test("a numeric string expires_in is returned as a number", async () => {
    await expect(refresh("/string-expires-in")).resolves.toStrictEqual({
      access_token: ACCESS_TOKEN,
      token_type: "bearer",
      expires_in: 3600,
    });
  });

  test("a JSON array is an OAuthResponseError", async () => {
    const error = await rejection(refresh("/array"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain("JSON object");
  });

  test("a body that is not JSON is an OAuthResponseError, and its cause quotes no token", async () => {
    const error = await rejection(refresh("/not-json"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain("not valid JSON");
  });

  test("an empty body labelled JSON is an OAuthResponseError", async () => {
    const error = await rejection(refresh("/empty-json"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain("empty");
  });

  test("an OAuth error body with status 200 is an OAuthError with status 200", async () => {
    const error = await rejection(refresh("/oauth-error-200"));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({
      status: 200,
      error: "invalid_grant",
      error_description: "Expired.",
      requiresReauthorization: true,
    });
  });

  test("a Square error body with status 200 is an OAuthError with Square's code", async () => {
    const error = await rejection(clientFor("/square-error-200", "json").renewToken({ access_token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 200, error: "ACCESS_TOKEN_REVOKED" });
  });

  test("a bodiless 401 is an OAuthError carrying the challenge", async () => {
    const error = await rejection(clientFor("/challenge-401").introspectToken({ token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 401, error: "http_401", www_authenticate: 'Basic realm="oauth"' });
  });

  test('Square\'s {"success": false} is an OAuthError', async () => {
    const error = await rejection(clientFor("/square-failure", "json").revokeToken({ access_token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 200, error: "revocation_failed" });
  });

  test("a revocation's 200 body is ignored, whatever it is (RFC 7009 §2.2)", async () => {
    await expect(clientFor("/revoke-html-200").revokeToken({ token: ACCESS_TOKEN })).resolves.toBeUndefined();
  });

  test("a bodiless 503 on revocation is an OAuthError: the token must be assumed still valid", async () => {
    const error = await rejection(clientFor("/unavailable-503").revokeToken({ token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 503, error: "http_503" });
  });

  test("an inactive introspection resolves to exactly { active: false }", async () => {
    await expect(clientFor("/inactive-extra").introspectToken({ token: ACCESS_TOKEN })).resolves.toStrictEqual({
      active: false,
    });
  });

  for (const path of ["/active-missing", "/active-string"]) {
    test(`an introspection without a boolean "active" (${path.slice(1)}) is an OAuthResponseError`, async () => {
      const error = await rejection(clientFor(path).introspectToken({ token: ACCESS_TOKEN }));
      expect(error).toBeInstanceOf(OAuthResponseError);
      expect(error.message).toContain('"active"');
    });
  }

  test('an introspection with a non-numeric "exp" is an OAuthResponseError', async () => {
    const error = await rejection(clientFor("/active-bad-exp").introspectToken({ token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain('"exp"');
  });

  test("a renewal without access_token is an OAuthResponseError", async () => {
    const error = await rejection(clientFor("/no-access-token", "json").renewToken({ access_token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain('"access_token"');
  });

  test("errors keep the Response out of their printed and serialized forms", async () => {
    const error = (await rejection(refresh("/oauth-error-200"))) as OAuthError;
    expect(error.response).toBeInstanceOf(Response);
    expect(Object.keys(error)).not.toContain("response");
    expect(JSON.parse(JSON.stringify(error))).not.toHaveProperty("response");
  });
});

describe("transport failures", () => {
  test("a refused connection is an OAuthTransportError that quotes no secret", async () => {
    const port = await freePort();
    const client = createOAuthClient({
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: "id",
      clientSecret: CLIENT_SECRET,
      provider: squareAdapter,
    });
    // One call at a time: a refused connection is retried with random back-off, so calls made together would
    // settle in any order, and one awaited late would count as an unhandled rejection.
    for (const call of [
      () => client.refreshToken({ refresh_token: REFRESH_TOKEN }),
      () => client.revokeToken({ token: ACCESS_TOKEN }),
      () => client.introspectToken({ token: ACCESS_TOKEN }),
      () => client.renewToken({ access_token: ACCESS_TOKEN }),
    ]) {
      const error = await call().then(
        () => expect.unreachable("resolved"),
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(OAuthTransportError);
      expect(error).toMatchObject({ code: "OAUTH_TRANSPORT", message: expect.stringContaining(`127.0.0.1:${port}`) });
      expectNoSecret(error);
    }
  });
});
