import { inspect } from "node:util";
import { expect, test } from "vitest";
import { createOAuthClient, OAuthError } from "../src/index";

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
