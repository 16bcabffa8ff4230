import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOAuthClient,
  OAuthError,
  OAuthResponseError,
  processTokenResponse,
  squareAdapter,
  type OAuthClient,
  type OAuthClientOptions,
  type RequestFormat,
  type SquareMethods,
} from "../../src/index";
import { createSecretCollector } from "../helpers/secrets";
import { startTokenServer } from "../helpers/token-server";

const CLIENT_SECRET = "CLIENT-SECRET-strict-8b21";
const ACCESS_TOKEN = "ACCESS-TOKEN-strict-c0ffee";
const REFRESH_TOKEN = "REFRESH-TOKEN-strict-d00d1e";

interface Crafted {
  status: number;
  headers?: Record<string, string>;
  /** A body, or chunks written one by one (no Content-Length: chunked). */
  body?: string | string[];
}
const JSON_HEADERS = { "Content-Type": "application/json" };
const token = (fields: Record<string, unknown>) =>
  JSON.stringify({ access_token: ACCESS_TOKEN, token_type: "Bearer", ...fields });

const answers: Record<string, Crafted> = {
  "/bearer-lower": { status: 200, headers: JSON_HEADERS, body: token({ token_type: "bearer" }) },
  "/bearer-upper": { status: 200, headers: JSON_HEADERS, body: token({ token_type: "BEARER" }) },
  "/mac": { status: 200, headers: JSON_HEADERS, body: token({ token_type: "mac" }) },
  "/n-a": { status: 200, headers: JSON_HEADERS, body: token({ token_type: "N_A" }) },
  "/missing-access-token": { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ token_type: "Bearer" }) },
  "/empty-access-token": { status: 200, headers: JSON_HEADERS, body: token({ access_token: "" }) },
  "/negative-expires-in": { status: 200, headers: JSON_HEADERS, body: token({ expires_in: -1 }) },
  "/fractional-expires-in": { status: 200, headers: JSON_HEADERS, body: token({ expires_in: 1.5 }) },
  "/word-expires-in": { status: 200, headers: JSON_HEADERS, body: token({ expires_in: "an hour" }) },
  "/huge-expires-in": { status: 200, headers: JSON_HEADERS, body: token({ expires_in: 2 ** 60 }) },
  "/expires-at-1900": { status: 200, headers: JSON_HEADERS, body: token({ expires_at: "1900-01-01T00:00:00Z" }) },
  "/expires-at-month-13": { status: 200, headers: JSON_HEADERS, body: token({ expires_at: "2026-13-01T00:00:00Z" }) },
  "/expires-at-negative": { status: 200, headers: JSON_HEADERS, body: token({ expires_at: -1 }) },
  "/html-200": {
    status: 200,
    headers: { "Content-Type": "text/html; charset=utf-8" },
    body: "<!doctype html><title>Sign in</title>",
  },
  "/not-json": { status: 200, headers: JSON_HEADERS, body: '{"access_token": "' },
  "/error-200": {
    status: 200,
    headers: JSON_HEADERS,
    body: JSON.stringify({ error: "invalid_client", error_description: "Unknown client." }),
  },
  "/basic-401": {
    status: 401,
    headers: { ...JSON_HEADERS, "WWW-Authenticate": 'Basic realm="token"' },
    body: JSON.stringify({ error: "invalid_client" }),
  },
  "/bearer-401": {
    status: 401,
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="The token is revoked"' },
  },
  "/basic-401-html": {
    status: 401,
    headers: { "Content-Type": "text/html", "WWW-Authenticate": "Basic" },
    body: "<h1>Unauthorized</h1>",
  },
  "/big-chunked": {
    status: 200,
    headers: JSON_HEADERS,
    body: [token({ scope: "" }).slice(0, -1), `,"pad":"${"x".repeat(4096)}"}`],
  },
  "/big-declared": { status: 200, headers: JSON_HEADERS, body: token({ pad: "x".repeat(4096) }) },
  "/big-error": {
    status: 500,
    headers: { "Content-Type": "text/html" },
    body: ["<html>", "x".repeat(8192), "</html>"],
  },
  "/just-under": { status: 200, headers: JSON_HEADERS, body: token({ pad: "x".repeat(1000) }) },
  "/revoke-empty": { status: 200 },
  "/revoke-text": { status: 200, headers: { "Content-Type": "text/plain" }, body: "OK" },
  "/revoke-204": { status: 204 },
  "/echo-error": {
    status: 400,
    headers: JSON_HEADERS,
    body: JSON.stringify({
      error: "invalid_grant",
      error_description: `refresh token ${REFRESH_TOKEN} is expired`,
      refresh_token: REFRESH_TOKEN,
    }),
  },
};

let server: Server;
let baseUrl: string;
const secrets = createSecretCollector();
secrets.secret(CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN);

beforeAll(async () => {
  server = createServer((request, response) => {
    const answer = answers[request.url ?? ""] ?? { status: 404 };
    request.resume();
    request.on("end", () => {
      response.writeHead(answer.status, answer.headers);
      for (const chunk of Array.isArray(answer.body) ? answer.body : answer.body === undefined ? [] : [answer.body])
        response.write(chunk);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // Every error and result these tests made prints no secret.
  expect(secrets.check().objects).toBeGreaterThan(20);
});

function clientFor(
  path: string,
  options: Partial<OAuthClientOptions> = {},
  requestFormat: RequestFormat = "form",
): OAuthClient<RequestFormat> & SquareMethods {
  return createOAuthClient({
    provider: squareAdapter,
    baseUrl,
    clientId: "id",
    clientSecret: CLIENT_SECRET,
    requestFormat,
    endpoints: { token: path, renew: path, revoke: path, introspect: path, tokenStatus: path },
    ...options,
  }) as OAuthClient<RequestFormat> & SquareMethods;
}

async function rejection(outcome: Promise<unknown>): Promise<Error> {
  const error = await secrets.settle(outcome);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const refresh = (path: string, options?: Partial<OAuthClientOptions>) =>
  clientFor(path, options).refreshToken({ refresh_token: REFRESH_TOKEN });

describe("token_type", () => {
  test.each(["/bearer-lower", "/bearer-upper"])("%s is accepted: bearer compares case-insensitively", async (path) => {
    const tokens = await secrets.settle(refresh(path));
    expect(tokens).toMatchObject({ access_token: ACCESS_TOKEN });
  });

  test("another type is an OAuthResponseError naming the field, the value and what is allowed", async () => {
    const error = await rejection(refresh("/mac"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toBe('response body "token_type" must be bearer (compared case-insensitively), got "mac"');
  });

  test("allowedTokenTypes admits other types, case-insensitively, in token and renew answers", async () => {
    const options = { allowedTokenTypes: ["Bearer", "n_a"] };
    await expect(secrets.settle(refresh("/n-a", options))).resolves.toMatchObject({ token_type: "N_A" });
    await expect(
      secrets.settle(clientFor("/n-a", options, "json").renewToken({ access_token: ACCESS_TOKEN })),
    ).resolves.toMatchObject({ token_type: "N_A" });
    expect((await rejection(refresh("/mac", options))).message).toContain("must be Bearer or n_a");
    expect(
      (await rejection(clientFor("/mac", {}, "json").renewToken({ access_token: ACCESS_TOKEN }))).message,
    ).toContain('"token_type"');
  });

  test.each([[[]], [[""]], ["bearer"], [[42]]])("allowedTokenTypes %j is a TypeError", (allowedTokenTypes) => {
    expect(() => createOAuthClient({ baseUrl, allowedTokenTypes: allowedTokenTypes as never })).toThrow(TypeError);
  });
});

describe("fields", () => {
  test.each([
    ["/missing-access-token", '"access_token" must be a non-empty string'],
    ["/empty-access-token", '"access_token" must be a non-empty string'],
    ["/negative-expires-in", '"expires_in" must be a non-negative integer'],
    ["/fractional-expires-in", '"expires_in" must be a non-negative integer'],
    ["/word-expires-in", '"expires_in" must be a non-negative integer'],
    ["/huge-expires-in", '"expires_in" must be a non-negative integer'],
    ["/expires-at-month-13", '"expires_at" must be a date-time string or a non-negative integer'],
    ["/expires-at-negative", '"expires_at" must be a date-time string or a non-negative integer'],
  ])("%s is an OAuthResponseError: %s", async (path, message) => {
    const error = await rejection(refresh(path));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain(message);
  });

  test("a date-time before 1970 is a date-time, as the spec's Timestamp says: the token is already expired", async () => {
    await expect(secrets.settle(refresh("/expires-at-1900"))).resolves.toMatchObject({
      expires_at: "1900-01-01T00:00:00Z",
    });
  });
});

describe("bodies", () => {
  test("an HTML page with status 200 is an OAuthResponseError saying it is HTML", async () => {
    const error = await rejection(refresh("/html-200"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toContain("text/html");
    expect(error.message).toContain("an HTML page");
  });

  test("truncated JSON is an OAuthResponseError", async () => {
    const error = await rejection(refresh("/not-json"));
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error.message).toBe("response body is not valid JSON");
  });

  test.each(["/big-chunked", "/big-declared", "/big-error"])(
    "%s, over maxResponseBytes, is an OAuthResponseError naming the limit",
    async (path) => {
      const error = await rejection(refresh(path, { maxResponseBytes: 2048 }));
      expect(error).toBeInstanceOf(OAuthResponseError);
      expect(error.message).toBe("response body is larger than 2048 bytes (maxResponseBytes)");
    },
  );

  test.each(["10", "abc"])(
    "a custom fetch declaring Content-Length %j cannot slip a larger body past maxResponseBytes",
    async (length) => {
      const big = token({ padding: "x".repeat(5_000) });
      const lying: typeof fetch = async () =>
        new Response(big, { status: 200, headers: { "Content-Type": "application/json", "Content-Length": length } });
      const client = createOAuthClient({
        baseUrl: "https://auth.example.org",
        clientId: "c",
        clientSecret: CLIENT_SECRET,
        fetch: lying,
        maxResponseBytes: 1_000,
      });
      const error = await rejection(client.clientCredentials());
      expect(error).toBeInstanceOf(OAuthResponseError);
      expect(error.message).toBe("response body is larger than 1000 bytes (maxResponseBytes)");
    },
  );

  test("a body within maxResponseBytes is read", async () => {
    await expect(secrets.settle(refresh("/just-under", { maxResponseBytes: 2048 }))).resolves.toMatchObject({
      access_token: ACCESS_TOKEN,
    });
  });

  test("the default limit is 1 MiB: a 2 MiB page streamed without a length is refused", async () => {
    const tokenServer = await startTokenServer({ clientSecret: CLIENT_SECRET });
    try {
      tokenServer.failNext("huge_body");
      const client = createOAuthClient({
        baseUrl: tokenServer.url,
        clientId: tokenServer.clientId,
        clientSecret: CLIENT_SECRET,
      });
      const error = await rejection(client.clientCredentials());
      expect(error).toMatchObject({ message: "response body is larger than 1048576 bytes (maxResponseBytes)" });
    } finally {
      await tokenServer.close();
    }
  });

  test.each([0, -5, 1.5e400, "1MB"])("maxResponseBytes %s is a TypeError", (maxResponseBytes) => {
    expect(() => createOAuthClient({ baseUrl, maxResponseBytes: maxResponseBytes as never })).toThrow(TypeError);
  });
});

describe("errors", () => {
  test("an OAuth error body sent with status 200 is an OAuthError with status 200", async () => {
    const error = await rejection(refresh("/error-200"));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 200, error: "invalid_client" });
  });

  test("a 401 with a Basic challenge is an OAuthError whose message names the scheme", async () => {
    const error = await rejection(refresh("/basic-401"));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.message).toBe(
      "OAuth error invalid_client (HTTP 401; WWW-Authenticate: the server asks for Basic authentication)",
    );
  });

  test("a 401 with a Bearer challenge names the scheme, not the challenge's parameters", async () => {
    const error = await rejection(clientFor("/bearer-401").retrieveTokenStatus({ access_token: ACCESS_TOKEN }));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.message).toContain("the server asks for Bearer authentication");
    expect(error.message).not.toContain("revoked");
    expect(error).toMatchObject({ www_authenticate: expect.stringContaining("invalid_token") });
  });

  test("a 401 with a challenge and an HTML page is an OAuthError, not an OAuthResponseError", async () => {
    const error = await rejection(refresh("/basic-401-html"));
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 401, error: "http_401" });
    expect(error.message).toContain("Basic");
  });

  test("an error that quotes the refresh token, or carries it, shows it nowhere", async () => {
    const error = (await rejection(refresh("/echo-error"))) as OAuthError;
    expect(error.error_description).toBe("refresh token [REDACTED] is expired");
    expect(error.body).toEqual({ error: "invalid_grant", error_description: "refresh token [REDACTED] is expired" });
    expect(error.message).not.toContain(REFRESH_TOKEN);
    expect(error.stack).not.toContain(REFRESH_TOKEN);
  });
});

describe("revocation answers", () => {
  test.each(["/revoke-empty", "/revoke-text", "/revoke-204"])("%s is success: the token is gone", async (path) => {
    await expect(clientFor(path).revokeToken({ token: ACCESS_TOKEN })).resolves.toBeUndefined();
  });
});

describe("results are plain data that print no token", () => {
  test("JSON.stringify keeps every value, so a saved token set comes back whole; util.inspect masks the tokens", async () => {
    const tokens = await processTokenResponse({
      response: new Response(null, { status: 200, headers: JSON_HEADERS }),
      body: token({ refresh_token: REFRESH_TOKEN, expires_in: 60, scope: "read" }),
    });
    secrets.add(tokens);
    expect(tokens.access_token).toBe(ACCESS_TOKEN);
    expect(tokens.refresh_token).toBe(REFRESH_TOKEN);
    const saved = JSON.parse(JSON.stringify(tokens));
    expect(saved).toEqual({
      access_token: ACCESS_TOKEN,
      token_type: "Bearer",
      refresh_token: REFRESH_TOKEN,
      expires_in: 60,
      scope: "read",
    });
    // Nested, as res.json({ token }) and Response.json would send it.
    expect(JSON.parse(JSON.stringify({ user: { token: tokens } })).user.token).toEqual(saved);
    expect(structuredClone(tokens)).toEqual(saved);
    expect({ ...tokens }).toEqual(saved);
    expect(inspect(tokens)).toContain("access_token: '[REDACTED]'");
    expect(inspect(tokens)).not.toContain(REFRESH_TOKEN);
    expect(inspect({ nested: tokens })).not.toContain(ACCESS_TOKEN);
    expect(Object.keys(tokens)).toEqual(["access_token", "token_type", "refresh_token", "expires_in", "scope"]);
  });

  test("a result stays a plain object (isPlainObject checks pass), and a server's own toJSON field is data", async () => {
    const tokens = await processTokenResponse({
      response: new Response(null, { status: 200, headers: JSON_HEADERS }),
      body: token({ toJSON: "not a function", refresh_token: REFRESH_TOKEN }),
    });
    secrets.add(tokens);
    expect(Object.getPrototypeOf(tokens)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(tokens))).toMatchObject({
      toJSON: "not a function",
      refresh_token: REFRESH_TOKEN,
    });
    expect(inspect(tokens)).not.toContain(REFRESH_TOKEN);
  });
});
