import { inspect } from "node:util";
import { expect, test } from "vitest";
import { createOAuthClient, OAuthError, squareAdapter } from "../src/index";

test('a client secret holding " and \\ is redacted from an error body that quotes it', async () => {
  const secret = 'se"cret\\value-1234';
  const echo: typeof fetch = async (_input, init) =>
    new Response(
      JSON.stringify({
        error: "invalid_client",
        error_description: `got ${new URLSearchParams(String(init?.body)).get("client_secret")}`,
      }),
      {
        status: 401,
        headers: { "Content-Type": "application/json" },
      },
    );
  const client = createOAuthClient({
    baseUrl: "https://auth.example.org",
    clientId: "c",
    clientSecret: secret,
    clientAuthentication: "client_secret_post",
    fetch: echo,
  });
  const error = await client.clientCredentials().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OAuthError);
  expect((error as OAuthError).error_description).toBe("got [REDACTED]");
  expect((error as OAuthError).body).toEqual({ error: "invalid_client", error_description: "got [REDACTED]" });
  for (const text of [(error as Error).message, JSON.stringify(error), inspect(error, { depth: 10 })])
    expect(text).not.toContain(secret);
});

test.each([
  ["a form body (URLSearchParams writes ~ as %7E)", "client_secret_post", (body: string) => body],
  [
    "HTTP Basic (form-encoded, then base64)",
    "client_secret_basic",
    (_body: string, authorization: string) => authorization,
  ],
  [
    "a JSON-escaped body",
    "client_secret_post",
    (body: string) => JSON.stringify(Object.fromEntries(new URLSearchParams(body))),
  ],
] as const)("a secret is redacted in the form it travelled in: %s", async (_form, clientAuthentication, quote) => {
  const secret = 'se~cret "value"/with+signs~1234';
  const refresh = "rt~with space&amp~5678";
  let sent = "";
  const echo: typeof fetch = async (_input, init) => {
    const body = String(init?.body);
    const authorization = new Headers(init?.headers).get("authorization") ?? "";
    sent = `${body} ${authorization}`;
    return new Response(
      JSON.stringify({ error: "invalid_grant", error_description: `server saw ${quote(body, authorization)}` }),
      {
        status: 400,
        headers: { "Content-Type": "application/json" },
      },
    );
  };
  const client = createOAuthClient({
    baseUrl: "https://auth.example.org",
    clientId: "c~1",
    clientSecret: secret,
    clientAuthentication,
    fetch: echo,
  });
  const error = await client.refreshToken({ refresh_token: refresh }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OAuthError);
  // The test means something: what travelled holds the secrets in another form than the raw one.
  const wire = [encodeURIComponent(refresh).replace(/%20/g, "+").replace(/~/g, "%7E"), refresh.replace(/~/g, "%7E")];
  expect(sent.includes(refresh)).toBe(false);
  expect(wire.some((form) => sent.includes(form)) || clientAuthentication === "client_secret_basic").toBe(true);
  for (const text of [(error as Error).message, JSON.stringify(error), inspect(error, { depth: 10 })]) {
    expect(text).toContain("[REDACTED]");
    for (const value of [secret, refresh]) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(new URLSearchParams({ v: value }).toString().slice(2));
      expect(text).not.toContain(JSON.stringify(value).slice(1, -1));
    }
  }
});

test("a JSON request's secret that a 200 answer quotes back prints as [REDACTED] in the result (Square's token status)", async () => {
  const token = "EAAA-status-secret-4e1";
  // A server that answers 200 with an error-shaped body quoting the token it was sent.
  const fetch = async () =>
    new Response(
      JSON.stringify({
        error: "",
        error_description: `token ${token} is no good`,
        error_uri: `https://e.example/${token}`,
      }),
      { status: 200, headers: { "Content-Type": "application/json" } },
    );
  const square = createOAuthClient({
    baseUrl: "https://auth.example.org",
    clientId: "sq0idp-x",
    clientSecret: "sq0csp-y",
    requestFormat: "json",
    provider: squareAdapter,
    fetch: fetch as typeof globalThis.fetch,
  });
  const result = await square.retrieveTokenStatus({ access_token: token });
  expect(inspect(result, { depth: 5 })).not.toContain(token);
  expect(inspect(result, { depth: 5 })).toContain("[REDACTED]");
  // Plain data all the same: what the server sent survives JSON.
  expect(JSON.parse(JSON.stringify(result)).error_description).toContain(token);
});
