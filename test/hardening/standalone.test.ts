/**
 * The functions imported by name (`clientCredentialsGrant`, `refreshTokenGrant`, `authorizationCodeGrant`,
 * `revokeToken`, `introspectToken`) against the client's methods: for the same options, parameters and answers,
 * the same request on the wire, the same argument errors before any request, the same answer errors and results,
 * the same redaction, retries and time limits.
 */
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  authorizationCodeGrant,
  clientCredentialsGrant,
  createOAuthClient,
  introspectToken,
  OAuthError,
  OAuthResponseError,
  OAuthTransportError,
  refreshTokenGrant,
  revokeToken,
  voucherifyPreset,
  type CallOptions,
  type OAuthClientOptions,
} from "../../src/index";
import { printedForms } from "../helpers/secrets";

const BASE = "https://auth.example.org";
const CLIENT_ID = "s6BhdRkqt3";
const CLIENT_SECRET = "CLIENT-SECRET-standalone-5e1f";
const ACCESS_TOKEN = "ACCESS-TOKEN-standalone-a11ce";
const REFRESH_TOKEN = "REFRESH-TOKEN-standalone-b0b0b";
const CODE = "CODE-standalone-SplxlOBeZQQYbYS6WxSbIA";
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const SECRETS = [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, CODE, VERIFIER];

type Options = OAuthClientOptions<"form">;
type Call = (options: Options, params: unknown, call?: CallOptions) => Promise<unknown>;

/** A scripted answer: status, headers and a body (an object is sent as JSON). */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const JSON_HEADERS = { "Content-Type": "application/json" };
const TOKEN: Answer = {
  status: 200,
  headers: JSON_HEADERS,
  body: { access_token: ACCESS_TOKEN, token_type: "Bearer", expires_in: 3600, refresh_token: REFRESH_TOKEN },
};

/** Each function imported by name, with the client method it stands for and parameters that pass its checks. */
interface Operation {
  name: string;
  standalone: Call;
  method: Call;
  params: Record<string, unknown>;
  success: Answer;
  /** Sent again after a 503: the spec marks the request `x-idempotent`. */
  idempotent: boolean;
}

const OPERATIONS: Operation[] = [
  {
    name: "clientCredentialsGrant",
    standalone: (options, params, call) => clientCredentialsGrant(options, params as never, call),
    method: async (options, params, call) => createOAuthClient(options).clientCredentials(params as never, call),
    params: { scope: "api read", resource: "https://api.example.org/" },
    success: TOKEN,
    idempotent: true,
  },
  {
    name: "refreshTokenGrant",
    standalone: (options, params, call) => refreshTokenGrant(options, params as never, call),
    method: async (options, params, call) => createOAuthClient(options).refreshToken(params as never, call),
    params: { refresh_token: REFRESH_TOKEN, scope: "api" },
    success: TOKEN,
    idempotent: false,
  },
  {
    name: "authorizationCodeGrant",
    standalone: (options, params, call) => authorizationCodeGrant(options, params as never, call),
    method: async (options, params, call) =>
      createOAuthClient(options).exchangeAuthorizationCode(params as never, call),
    params: { code: CODE, redirect_uri: "https://app.example.org/callback", code_verifier: VERIFIER },
    success: TOKEN,
    idempotent: false,
  },
  {
    name: "revokeToken",
    standalone: (options, params, call) => revokeToken(options, params as never, call),
    method: async (options, params, call) => createOAuthClient(options).revokeToken(params as never, call),
    params: { token: REFRESH_TOKEN, token_type_hint: "refresh_token" },
    success: { status: 200 },
    idempotent: true,
  },
  {
    name: "introspectToken",
    standalone: (options, params, call) => introspectToken(options, params as never, call),
    method: async (options, params, call) => createOAuthClient(options).introspectToken(params as never, call),
    params: { token: ACCESS_TOKEN, token_type_hint: "access_token" },
    success: {
      status: 200,
      headers: JSON_HEADERS,
      body: { active: true, scope: "api", client_id: CLIENT_ID, token_type: "Bearer", exp: 2_000_000_000 },
    },
    idempotent: true,
  },
];

/** A request as it travelled. */
interface Sent {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

/**
 * A fetch that records each request and plays `script`, one answer per request (the last repeats); an answer of
 * `"hang"` never comes, though the request's signal still ends the wait.
 */
function scriptedFetch(script: (Answer | "hang")[]): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    sent.push({
      method: request.method,
      url: request.url,
      headers: [...request.headers].sort(([a], [b]) => a.localeCompare(b)),
      body: await request.text(),
    });
    const answer = script[Math.min(sent.length - 1, script.length - 1)]!;
    if (answer === "hang")
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    const body =
      answer.body === undefined ? null : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return new Response(body, { status: answer.status, headers: answer.headers });
  };
  return { fetch, sent };
}

/** What a caller can see of an outcome: a result and how it prints, or an error's class, fields and message. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    const result = await promise;
    return { result, printed: inspect(result, { depth: 10 }) };
  } catch (error) {
    if (!(error instanceof Error)) return { thrown: error };
    const { name, message } = error;
    const fields = { ...error } as Record<string, unknown>;
    return { name, message, fields, status: (error as { response?: Response }).response?.status };
  }
}

/** Calls the function and the client method with the same options and answers; both outcomes and requests. */
async function both(
  operation: Operation,
  options: Omit<Options, "fetch">,
  script: (Answer | "hang")[],
  params: unknown = operation.params,
  call?: CallOptions,
) {
  const viaFunction = scriptedFetch(script);
  const viaMethod = scriptedFetch(script);
  return {
    standalone: await outcome(operation.standalone({ ...options, fetch: viaFunction.fetch }, params, call)),
    method: await outcome(operation.method({ ...options, fetch: viaMethod.fetch }, params, call)),
    sentByFunction: viaFunction.sent,
    sentByMethod: viaMethod.sent,
  };
}

const OPTION_SETS: [string, Omit<Options, "fetch">][] = [
  ["client_secret_basic", { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
  [
    "client_secret_post",
    { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuthentication: "client_secret_post" },
  ],
  ["a public client", { baseUrl: `${BASE}/`, clientId: CLIENT_ID }],
  [
    "endpoints, headers and a time limit",
    {
      baseUrl: `${BASE}/tenant-a`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      endpoints: { token: "/OAuth/Token", revoke: "https://revoke.example.org/r", introspect: "/introspection" },
      headers: { "X-Tenant": "a" },
      timeoutMs: 5_000,
    },
  ],
  ["Voucherify's preset", voucherifyPreset({ appId: "app-id-1", appToken: "APP-TOKEN-standalone-77", baseUrl: BASE })],
];

describe.for(OPERATIONS)("$name", (operation) => {
  describe("sends what the client method sends", () => {
    test.for(OPTION_SETS)("with %s", async ([, options]) => {
      const params = options.provider ? voucherifyParams(operation) : operation.params;
      const call = { headers: { "X-Request-Id": "req-1" }, extraParams: { tenant: "a" } };
      const run = await both(operation, options, [operation.success], params, call);
      expect(run.sentByFunction).toHaveLength(1);
      expect(run.sentByFunction).toStrictEqual(run.sentByMethod);
      expect(run.standalone).toStrictEqual(run.method);
      expect(run.standalone).not.toHaveProperty("name");
    });
  });

  describe("refuses what the client method refuses, before any request", () => {
    const options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, allowedScopes: ["api", "read"] };
    const cases: [string, Record<string, unknown>, unknown, CallOptions?][] = [
      ["options with a bad baseUrl", { baseUrl: "ftp://auth.example.org" }, operation.params],
      ["options over plain http", { baseUrl: "http://auth.example.org" }, operation.params],
      ["options with an unknown endpoint", { ...options, endpoints: { tokn: "/t" } }, operation.params],
      ["options that ask for JSON", { ...options, requestFormat: "json" }, operation.params, undefined],
      ["client_secret_post without a secret", { baseUrl: BASE, clientAuthentication: "client_secret_post" }, {}],
      ["params that are not an object", options, "token"],
      ["a field the spec does not declare", options, { ...operation.params, colour: "blue" }],
      ["a field of client authentication", options, { ...operation.params, client_secret: CLIENT_SECRET }],
      ["a field of the wrong type", options, { ...operation.params, scope: 42 }],
      ["a scope the server does not know", options, { ...operation.params, scope: "admin" }],
      ["a redacted placeholder", options, { ...operation.params, token: "[REDACTED]", refresh_token: "[REDACTED]" }],
      ["call options with a bad signal", options, operation.params, { signal: "stop" as never }],
      ["call options with a bad time limit", options, operation.params, { timeoutMs: -1 }],
      ["call options with bad retries", options, operation.params, { retry: { maxAttempts: 0 } }],
      [
        "extra parameters naming a field",
        options,
        operation.params,
        { extraParams: { [Object.keys(operation.params)[0]!]: "x" } },
      ],
    ];
    test.for(cases)("%s", async ([, options, params, call]) => {
      const run = await both(operation, options as unknown as Options, [operation.success], params, call);
      // JSON bodies are the client's alone: the function refuses them, the method sends them.
      if ((options as { requestFormat?: string }).requestFormat === "json") {
        expect(run.standalone).toMatchObject({ name: "TypeError", fields: { code: "ERR_INVALID_ARG_VALUE" } });
        expect((run.standalone as { message: string }).message).toMatch(
          /requestFormat "json" is for createOAuthClient/,
        );
      } else {
        expect(run.method).toMatchObject({ name: "TypeError", fields: { code: "ERR_INVALID_ARG_VALUE" } });
        expect(run.standalone).toStrictEqual(run.method);
      }
      expect(run.sentByFunction).toEqual([]);
      for (const form of printedForms(run.standalone)) for (const secret of SECRETS) expect(form).not.toContain(secret);
    });

    if (operation.name === "authorizationCodeGrant") {
      test("a PKCE verifier too short", async () => {
        const params = { ...operation.params, code_verifier: "short" };
        const run = await both(operation, options, [operation.success], params);
        expect(run.method).toMatchObject({
          name: "TypeError",
          message: expect.stringMatching(/^code_verifier must be/),
        });
        expect(run.standalone).toStrictEqual(run.method);
        expect(run.sentByFunction).toEqual([]);
      });
    }
  });

  describe("answers as the client method answers", () => {
    // The secrets this request carries: the server may quote them back, and none may show.
    const sent = [
      CLIENT_SECRET,
      ...Object.values(operation.params).filter((value) => SECRETS.includes(value as string)),
    ];
    const quoting = `The request with ${sent.join(" and ")} is invalid`;
    const answers: [string, Answer][] = [
      ["a success", operation.success],
      [
        "an OAuth error quoting the request's secrets",
        { status: 400, headers: JSON_HEADERS, body: { error: "invalid_grant", error_description: quoting } },
      ],
      [
        "a 401 with a challenge",
        {
          status: 401,
          headers: { ...JSON_HEADERS, "WWW-Authenticate": 'Basic realm="token"' },
          body: { error: "invalid_client" },
        },
      ],
      ["a 401 without a body", { status: 401 }],
      ["an error body with status 200", { status: 200, headers: JSON_HEADERS, body: { error: "invalid_request" } }],
      ["an HTML page", { status: 200, headers: { "Content-Type": "text/html" }, body: "<h1>Sign in</h1>" }],
      ["a proxy's 502", { status: 502, headers: { "Content-Type": "text/html" }, body: "<h1>Bad gateway</h1>" }],
      ["a redirect", { status: 302, headers: { Location: "https://elsewhere.example.org/login" } }],
      ["a body that is not JSON", { status: 200, headers: JSON_HEADERS, body: '{"access_token": "' }],
      ["an answer missing its required field", { status: 200, headers: JSON_HEADERS, body: { token_type: "Bearer" } }],
      [
        "a token of a type not allowed",
        { status: 200, headers: JSON_HEADERS, body: { access_token: ACCESS_TOKEN, token_type: "mac" } },
      ],
      ["a body over the limit", { status: 200, headers: JSON_HEADERS, body: { pad: "x".repeat(2_000) } }],
    ];
    test.for(answers)("%s", async ([, answer]) => {
      const options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, maxResponseBytes: 1_000 };
      const run = await both(operation, options, [answer], operation.params, { retry: false });
      expect(run.standalone).toStrictEqual(run.method);
      expect(run.sentByFunction).toStrictEqual(run.sentByMethod);
      for (const form of printedForms((run.standalone as { fields?: unknown }).fields ?? {}))
        for (const secret of sent) expect(form).not.toContain(secret);
      for (const secret of sent) expect((run.standalone as { message?: string }).message ?? "").not.toContain(secret);
    });

    test("its result prints its secrets as [REDACTED], and its errors none", async () => {
      const options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
      const { fetch } = scriptedFetch([operation.success]);
      const result = await operation.standalone({ ...options, fetch }, operation.params);
      for (const form of printedForms(result)) for (const secret of SECRETS) expect(form).not.toContain(secret);
      const refused = scriptedFetch([
        {
          status: 400,
          headers: JSON_HEADERS,
          body: { error: "invalid_grant", error_description: `bad ${CLIENT_SECRET}` },
        },
      ]);
      const error = await operation.standalone({ ...options, fetch: refused.fetch }, operation.params).catch((e) => e);
      expect(error).toBeInstanceOf(OAuthError);
      for (const form of printedForms(error)) for (const secret of SECRETS) expect(form).not.toContain(secret);
    });
  });

  describe("retries and time limits as the client method does", () => {
    const options = {
      baseUrl: BASE,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      retry: { baseDelayMs: 0, maxDelayMs: 0 },
    };
    const unavailable: Answer = { status: 503, headers: JSON_HEADERS, body: { error: "temporarily_unavailable" } };

    test(`${operation.idempotent ? "sends again" : "does not send again"} after a 503`, async () => {
      const run = await both(operation, options, [unavailable, unavailable, operation.success]);
      expect(run.sentByFunction).toHaveLength(operation.idempotent ? 3 : 1);
      expect(run.sentByFunction).toStrictEqual(run.sentByMethod);
      expect(run.standalone).toStrictEqual(run.method);
    });

    test("gives up at the time limit with an OAuthTransportError", async () => {
      const run = await both(operation, { ...options, timeoutMs: 30, retry: false }, ["hang"]);
      expect(run.method).toMatchObject({ name: "OAuthTransportError", fields: { timedOut: true } });
      expect(run.standalone).toStrictEqual(run.method);
    });

    test("stops when the caller aborts, with the signal's reason", async () => {
      const reason = new Error("the caller gave up");
      const { fetch } = scriptedFetch(["hang"]);
      const controller = new AbortController();
      const pending = operation.standalone({ ...options, fetch }, operation.params, { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 10);
      await expect(pending).rejects.toBe(reason);
    });
  });
});

/** The parameters of an operation as Voucherify takes them: its scopes, and `access_token` to revoke or introspect. */
function voucherifyParams(operation: Operation): Record<string, unknown> {
  if (operation.name === "clientCredentialsGrant") return { scope: "vouchers" };
  if (operation.name === "refreshTokenGrant") return { refresh_token: REFRESH_TOKEN };
  if (operation.name === "revokeToken" || operation.name === "introspectToken") return { access_token: ACCESS_TOKEN };
  return operation.params;
}

describe("the options object", () => {
  test("is read again when one of its properties is replaced", async () => {
    const { fetch, sent } = scriptedFetch([TOKEN]);
    const options: Options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch };
    await clientCredentialsGrant(options);
    options.clientSecret = "CLIENT-SECRET-rotated-0002";
    await clientCredentialsGrant(options);
    const basic = (secret: string) => `Basic ${btoa(`${CLIENT_ID}:${secret}`)}`;
    expect(sent.map((request) => new Headers(request.headers).get("authorization"))).toEqual([
      basic(CLIENT_SECRET),
      basic("CLIENT-SECRET-rotated-0002"),
    ]);
    options.baseUrl = "not a url";
    await expect(clientCredentialsGrant(options)).rejects.toMatchObject({
      name: "TypeError",
      message: "options.baseUrl must be an absolute URL",
    });
    expect(sent).toHaveLength(2);
  });

  test("serves every function, each with its own operation's endpoint", async () => {
    const { fetch, sent } = scriptedFetch([TOKEN]);
    const options: Options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch };
    await clientCredentialsGrant(options);
    await refreshTokenGrant(options, { refresh_token: REFRESH_TOKEN });
    await revokeToken(options, { token: REFRESH_TOKEN });
    expect(sent.map((request) => new URL(request.url).pathname)).toEqual([
      "/oauth2/token",
      "/oauth2/token",
      "/oauth2/revoke",
    ]);
  });

  test("errors are the library's classes", async () => {
    const { fetch } = scriptedFetch([{ status: 200, headers: JSON_HEADERS, body: { token_type: "Bearer" } }]);
    const options: Options = { baseUrl: BASE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch };
    await expect(clientCredentialsGrant(options)).rejects.toBeInstanceOf(OAuthResponseError);
    const hung = scriptedFetch(["hang"]);
    await expect(
      clientCredentialsGrant({ ...options, fetch: hung.fetch, timeoutMs: 20, retry: false }),
    ).rejects.toBeInstanceOf(OAuthTransportError);
  });
});
