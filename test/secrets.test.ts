import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  clientSecretJwt,
  createDpopKey,
  createDpopProof,
  createOAuthClient,
  createTokenManager,
  privateKeyJwt,
  processIntrospectionResponse,
  processTokenResponse,
  squareAdapter,
  type OAuthClient,
  type OAuthClientOptions,
  type RequestFormat,
  type SquareMethods,
  validateAuthorizationResponse,
} from "../src/index";
import { freePort } from "./helpers/prism";
import { createSecretCollector } from "./helpers/secrets";
import { startTokenServer, type Failure, type TokenServer } from "./helpers/token-server";

/**
 * Every error, result, client, manager and hook payload the scenarios below make is collected, printed with
 * util.inspect (plain and with hidden properties), JSON.stringify and String(), with messages and stacks down
 * the cause chain, and searched for the client secrets and every access and refresh token involved.
 *
 * Not collected, by design: `TokenManager.getToken()` records and `getAccessToken()` strings, which exist to
 * hand the tokens over (a store must persist them whole).
 */

const collector = createSecretCollector();
/** Secrets with characters that form encoding changes, as real ones have. */
const CLIENT_SECRET = "CLIENT+SECRET/secrets=test&7f3a";
const SQUARE_SECRET = "sq0csp-SQUARE-SECRET-secrets-9d2c";
const ACCESS_TOKEN = "ACCESS-TOKEN-secrets-5b6e71";
const REFRESH_TOKEN = "REFRESH-TOKEN-secrets-a8c4d2";
const CODE = "AUTH-CODE-secrets-77aa01";
const ISSUED_TOKEN = "ISSUED-TOKEN-secrets-31c9f0";
collector.secret(CLIENT_SECRET, SQUARE_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, CODE, ISSUED_TOKEN);

let tokenServer: TokenServer;
let echo: Server;
let echoUrl: string;

/**
 * A server that quotes back everything it was sent, as careless servers and debug proxies do: the body and
 * the Authorization header, in the error description, the error URI, extra fields, a challenge and a redirect.
 */
function echoAnswer(
  request: IncomingMessage,
  body: string,
): { status: number; headers: Record<string, string>; body: string } {
  const seen = `${body} ${request.headers.authorization ?? ""} ${request.headers.dpop ?? ""}`;
  const path = request.url ?? "";
  const json = { "Content-Type": "application/json" };
  if (path.startsWith("/error-200"))
    return {
      status: 200,
      headers: json,
      body: JSON.stringify({ error: "invalid_request", error_description: `got ${seen}` }),
    };
  if (path.startsWith("/square")) {
    return {
      status: 401,
      headers: json,
      body: JSON.stringify({
        errors: [{ category: "AUTHENTICATION_ERROR", code: "UNAUTHORIZED", detail: `bad ${seen}` }],
      }),
    };
  }
  if (path.startsWith("/voucherify"))
    return {
      status: 400,
      headers: json,
      body: JSON.stringify({ code: 400, key: "invalid_grant", message: seen, details: seen }),
    };
  if (path.startsWith("/challenge"))
    return { status: 401, headers: { "WWW-Authenticate": `Basic realm="${seen.replace(/["\r\n]/g, "")}"` }, body: "" };
  if (path.startsWith("/html"))
    return { status: 502, headers: { "Content-Type": "text/html" }, body: `<pre>${seen}</pre>` };
  if (path.startsWith("/redirect"))
    return {
      status: 302,
      headers: { Location: `https://login.example.org/?echo=${encodeURIComponent(seen)}` },
      body: "",
    };
  if (path.startsWith("/quote-200")) {
    // A success for every operation, that quotes the request in a field no secret is expected in.
    const result = {
      access_token: ISSUED_TOKEN,
      token_type: "Bearer",
      active: true,
      expires_at: "2030-01-01T00:00:00Z",
      note: `got ${seen}`,
    };
    return { status: 200, headers: json, body: JSON.stringify(result) };
  }
  if (path.startsWith("/token-type")) {
    return {
      status: 200,
      headers: json,
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN }),
    };
  }
  return {
    status: 400,
    headers: json,
    body: JSON.stringify({
      error: "invalid_grant",
      error_description: `refused ${seen}`,
      error_uri: `https://errors.example.org/?q=${seen}`,
      echo: seen,
      access_token: ACCESS_TOKEN,
    }),
  };
}

beforeAll(async () => {
  tokenServer = await startTokenServer({ clientId: "secrets-client", clientSecret: CLIENT_SECRET });
  collector.secret(tokenServer.clientSecret);
  echo = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const answer = echoAnswer(request, body);
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const issued of tokenServer.issued) collector.secret(issued.access_token, issued.refresh_token);
  await tokenServer.close();
  echo.closeAllConnections();
  await new Promise((resolve) => echo.close(resolve));
});

/** A client of either format; a JSON one is Square's, with its adapter. */
type AnyClient = OAuthClient<RequestFormat> & Partial<SquareMethods>;

function clientOf(baseUrl: string, options: Partial<OAuthClientOptions> = {}): AnyClient {
  const square = options.requestFormat === "json" ? { provider: squareAdapter } : {};
  return collector.add(
    createOAuthClient({
      baseUrl,
      clientId: "secrets-client",
      clientSecret: CLIENT_SECRET,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...square,
      ...options,
    }),
  ) as AnyClient;
}

/** Every operation of a client, with the test's tokens as arguments. */
function everyCall(client: AnyClient, json: boolean): Promise<unknown>[] {
  const calls: Promise<unknown>[] = [
    client.refreshToken({ refresh_token: REFRESH_TOKEN }),
    client.exchangeAuthorizationCode({ code: CODE }),
    client.clientCredentials(),
    client.introspectToken({ token: ACCESS_TOKEN }),
  ];
  if (json) {
    calls.push(
      client.retrieveTokenStatus!({ access_token: ACCESS_TOKEN }),
      client.renewToken!({ access_token: ACCESS_TOKEN }),
      client.revokeToken({ access_token: ACCESS_TOKEN }),
    );
  } else calls.push(client.revokeToken({ token: REFRESH_TOKEN, token_type_hint: "refresh_token" }));
  return calls;
}

describe("scenarios", () => {
  test("successes against the token server: results print no token", async () => {
    for (const clientAuthentication of ["client_secret_basic", "client_secret_post"] as const) {
      const client = clientOf(tokenServer.url, { clientAuthentication });
      const first = (await collector.settle(client.exchangeAuthorizationCode({ code: tokenServer.issueCode() }))) as {
        refresh_token: string;
      };
      await collector.settle(client.refreshToken({ refresh_token: first.refresh_token }));
      await collector.settle(client.clientCredentials({ scope: "read" }));
      await collector.settle(client.revokeToken({ token: first.refresh_token }));
    }
    expect(tokenServer.issued.length).toBe(6);
  });

  test("every failure the token server can make, on token and revocation requests", async () => {
    // A short limit for the stalls; nothing here depends on a healthy answer arriving in time.
    const client = clientOf(tokenServer.url, { timeoutMs: 500 });
    const failures: Failure[] = [
      "invalid_grant",
      "server_error",
      "unavailable",
      "bad_gateway_html",
      "drop",
      "reset",
      "stall",
      "stall_body",
      "huge_body",
      "too_many_requests",
      "drop_after_processing",
    ];
    for (const failure of failures) {
      const code = tokenServer.issueCode();
      collector.secret(code);
      tokenServer.failNext(failure);
      await collector.settle(client.exchangeAuthorizationCode({ code }));
      tokenServer.failNext(failure, 3);
      await collector.settle(client.revokeToken({ token: REFRESH_TOKEN }));
      tokenServer.clearFailures();
    }
  });

  test("wrong client credentials: a 401 with a challenge", async () => {
    const client = collector.add(
      createOAuthClient({ baseUrl: tokenServer.url, clientId: "secrets-client", clientSecret: SQUARE_SECRET }),
    );
    await collector.settle(client.refreshToken({ refresh_token: REFRESH_TOKEN }));
  });

  test("a server that quotes back what it was sent, in every error shape and in a success", async () => {
    for (const path of [
      "/rfc",
      "/error-200",
      "/square",
      "/voucherify",
      "/challenge",
      "/html",
      "/redirect",
      "/token-type",
      "/quote-200",
    ]) {
      for (const json of [false, true]) {
        for (const clientAuthentication of json
          ? [undefined]
          : (["client_secret_basic", "client_secret_post"] as const)) {
          const client = clientOf(echoUrl, {
            clientSecret: json ? SQUARE_SECRET : CLIENT_SECRET,
            requestFormat: json ? "json" : "form",
            ...(clientAuthentication ? { clientAuthentication } : {}),
            endpoints: { token: path, renew: path, revoke: path, introspect: path, tokenStatus: path },
          });
          await Promise.all(everyCall(client, json).map((outcome) => collector.settle(outcome)));
        }
      }
    }
  });

  test("transport failures, time-outs and aborts", async () => {
    const down = clientOf(`http://127.0.0.1:${await freePort()}`);
    await Promise.all(everyCall(down, false).map((outcome) => collector.settle(outcome)));
    const controller = new AbortController();
    controller.abort(new Error("caller gave up"));
    await collector.settle(
      clientOf(tokenServer.url).refreshToken({ refresh_token: REFRESH_TOKEN }, { signal: controller.signal }),
    );
  });

  test("arguments refused before sending", async () => {
    const client = clientOf(tokenServer.url);
    await collector.settle(
      client.refreshToken({ refresh_token: REFRESH_TOKEN, client_secret: CLIENT_SECRET } as never),
    );
    await collector.settle(
      clientOf(tokenServer.url, { requestFormat: "json" }).renewToken!({
        access_token: ACCESS_TOKEN,
        extra: REFRESH_TOKEN,
      } as never),
    );
    await collector.settle(client.revokeToken({ token: ACCESS_TOKEN, access_token: REFRESH_TOKEN } as never));
    expect(() =>
      collector.add(
        createOAuthClient({ baseUrl: "http://auth.example.org", clientId: "id", clientSecret: CLIENT_SECRET }),
      ),
    ).toThrow();
  });

  test("answers validated directly, with tokens in them", () => {
    const json = { "Content-Type": "application/json" };
    const cases: [(a: never) => unknown, number, unknown][] = [
      [
        processTokenResponse,
        200,
        { access_token: ACCESS_TOKEN, token_type: "Bearer", refresh_token: REFRESH_TOKEN, id_token: ACCESS_TOKEN },
      ],
      [
        processTokenResponse,
        200,
        { access_token: ACCESS_TOKEN, token_type: "bearer", expires_in: -1, refresh_token: REFRESH_TOKEN },
      ],
      [
        processTokenResponse,
        400,
        { error: "invalid_grant", refresh_token: REFRESH_TOKEN, error_description: `no ${REFRESH_TOKEN}` },
      ],
      [processIntrospectionResponse, 200, { active: true, access_token: ACCESS_TOKEN, scope: "read" }],
    ];
    for (const [step, status, body] of cases) {
      const answer = {
        response: new Response(null, { status, headers: json }),
        body: status === 200 ? JSON.stringify(body) : body,
      };
      try {
        collector.add(step(answer as never));
      } catch (error) {
        collector.add(error);
      }
    }
  });

  test("the token manager: errors, hook payloads, and the manager itself", async () => {
    const client = clientOf(tokenServer.url, { timeoutMs: 500 });
    let t = Date.parse("2030-01-01T00:00:00Z");
    const tokens = collector.add(
      createTokenManager({
        client,
        grant: { type: "refresh_token" },
        now: () => t,
        onFailed: (e) => collector.add(e),
        onRefreshed: (e) => collector.add(e),
      }),
    );
    await tokens.setTokens(
      "user",
      (await clientOf(tokenServer.url).exchangeAuthorizationCode({ code: tokenServer.issueCode() })) as never,
    );
    // Each call fails (the token expired and the server fails); what it rejects with is collected.
    const rejection = (outcome: Promise<string>) =>
      outcome.then(
        () => expect.unreachable("a token came back"),
        (error: unknown) => collector.add(error),
      );
    for (const failure of ["server_error", "reset", "stall", "bad_gateway_html", "invalid_grant"] as Failure[]) {
      t += 2 * 3_600_000;
      tokenServer.failNext(failure);
      await rejection(tokens.getAccessToken("user"));
    }
    await rejection(tokens.getAccessToken("user")); // reauthorization required
    await rejection(tokens.getAccessToken("nobody"));
    const credentials = collector.add(
      createTokenManager({ client, grant: { type: "client_credentials" }, onRefreshed: (e) => collector.add(e) }),
    );
    // The string it resolves to is the token itself, handed over on purpose: only a failure is collected.
    await credentials.getAccessToken().catch((error: unknown) => collector.add(error));
    tokenServer.failNext("unavailable", 3);
    await collector.settle(credentials.revoke());
    tokenServer.clearFailures();
  });
});

describe("the authorization response", () => {
  test("checked answers and every refusal of one: no code, no state", () => {
    const state = "STATE-secrets-4e1d90";
    collector.secret(state);
    const issuer = "https://auth.example.org";
    const callbacks = [
      `?code=${CODE}&state=${state}&iss=${issuer}`,
      `?code=${CODE}&state=${state}x`,
      `?code=${CODE}&state=${state}&state=${state}`,
      `?code=${CODE}&code=${CODE}&state=${state}`,
      `?code=${CODE}&state=${state}&iss=https://other.example.org`,
      `?code=${CODE}&state=${state}`,
      `?state=${state}&error=access_denied&error_description=no+to+${state}`,
      `?state=${state}&error=access_denied&error_uri=${CODE}`,
      `?code=&state=${state}`,
    ];
    for (const query of callbacks) {
      try {
        collector.add(
          validateAuthorizationResponse(`https://app.example.org/callback${query}`, {
            expectedState: state,
            metadata: { issuer, authorization_response_iss_parameter_supported: query.includes("iss=") },
          }),
        );
      } catch (error) {
        collector.add(error);
      }
    }
  });
});

describe("JWT client authentication and DPoP", () => {
  test("assertions, proofs and private keys, quoted back by a server in every shape, and the keys themselves", async () => {
    const assertionJwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const dpopJwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    collector.secret(assertionJwk.d, dpopJwk.d);
    const dpop = collector.add(await createDpopKey(dpopJwk));
    // Every assertion and proof that travels is a secret the search looks for.
    const recording: typeof fetch = (input, init) => {
      collector.secret(
        new Headers(init?.headers).get("dpop") ?? undefined,
        new URLSearchParams(String(init?.body)).get("client_assertion") ?? undefined,
      );
      return fetch(input, init);
    };
    for (const clientAuthentication of [
      collector.add(privateKeyJwt("secrets-client", assertionJwk)),
      collector.add(clientSecretJwt("secrets-client", CLIENT_SECRET)),
    ]) {
      for (const path of ["/rfc", "/error-200", "/challenge", "/html", "/redirect", "/token-type", "/quote-200"]) {
        const client = clientOf(echoUrl, {
          clientAuthentication,
          fetch: recording,
          endpoints: { token: path, revoke: path, introspect: path },
        });
        await Promise.all(
          [
            client.clientCredentials({}, { dpop }),
            client.refreshToken({ refresh_token: REFRESH_TOKEN }, { dpop }),
            client.introspectToken({ token: ACCESS_TOKEN }),
            client.revokeToken({ token: REFRESH_TOKEN }),
          ].map((outcome) => collector.settle(outcome)),
        );
      }
    }
    // A proof for a resource request is handed to the caller to send; its key prints without its private part.
    const proof = await createDpopProof(dpop, { htm: "GET", htu: `${echoUrl}/resource`, accessToken: ACCESS_TOKEN });
    expect(proof.split(".")).toHaveLength(3);
  });
});

describe("the search", () => {
  test("no printed form of any collected object shows any secret", () => {
    for (const issued of tokenServer.issued) collector.secret(issued.access_token, issued.refresh_token);
    const { objects, secrets, characters } = collector.check();
    console.info(
      `[secrets] ${objects} objects printed (${characters} characters), searched for ${secrets} secrets: none found`,
    );
    expect(objects).toBeGreaterThan(150);
    expect(secrets).toBeGreaterThan(20);
  });
});
