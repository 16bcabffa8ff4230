import { describe, expect, test } from "vitest";
import { createOAuthClient, discover, OAuthError, twoBAPreset } from "../../src/index";
import { signIn, useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

// 2BA publishes no OpenAPI document; its peer here is a real authorization server laid out the 2BA way
// (seed 003): the token service at {AuthorizeServer}/OAuth/Token, client_id and client_secret in a form body,
// a new refresh token with every refresh, and 400 when a refresh token is no longer valid.
let server: OidcServer;

useOidcServer(
  (started) => {
    server = started;
  },
  { routes: { token: "/OAuth/Token" } },
);

function client() {
  const { fetch, exchanges } = recordingFetch();
  const { clientId, clientSecret } = server.postClient;
  const twoBA = createOAuthClient(twoBAPreset({ baseUrl: server.issuer, clientId, clientSecret, fetch }));
  return { twoBA, exchanges };
}

describe("twoBAPreset", () => {
  test("is configuration: client_secret_post in a form, at /OAuth/Token", () => {
    expect(
      twoBAPreset({ baseUrl: "https://authorize.example", clientId: "partner", clientSecret: "secret" }),
    ).toStrictEqual({
      baseUrl: "https://authorize.example",
      clientId: "partner",
      clientSecret: "secret",
      clientAuthentication: "client_secret_post",
      requestFormat: "form",
      endpoints: { token: "/OAuth/Token" },
    });
    expect(() => twoBAPreset({ baseUrl: "https://authorize.example", clientId: "partner" } as never)).toThrow(
      "clientSecret must be a non-empty string",
    );
    expect(() => twoBAPreset({ clientId: "partner", clientSecret: "secret" } as never)).toThrow(/baseUrl/);
  });

  test("the server under test serves its token endpoint at /OAuth/Token", async () => {
    await expect(discover(server.issuer)).resolves.toMatchObject({ token_endpoint: `${server.issuer}/OAuth/Token` });
  });

  test("refresh: grant_type, refresh_token, client_id and client_secret in a form body; the new refresh token replaces the old", async () => {
    const { twoBA, exchanges } = client();
    const first = await signIn(server, server.postClient, twoBA);
    const second = await twoBA.refreshToken({ refresh_token: first.refresh_token! });
    expect(second).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);

    const refresh = exchanges[1]!;
    expect(refresh.url).toBe(`${server.issuer}/OAuth/Token`);
    expect(refresh.status).toBe(200);
    expect(refresh.requestHeaders.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(refresh.requestHeaders.get("authorization")).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(refresh.requestBody))).toStrictEqual({
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
      client_id: server.postClient.clientId,
      client_secret: server.postClient.clientSecret,
    });
  });

  test("a refresh token that is no longer valid answers 400 invalid_grant: the user must sign in again", async () => {
    const { twoBA, exchanges } = client();
    const first = await signIn(server, server.postClient, twoBA);
    await twoBA.refreshToken({ refresh_token: first.refresh_token! });
    const error = await twoBA.refreshToken({ refresh_token: first.refresh_token! }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 400, error: "invalid_grant", requiresReauthorization: true });
    expect(exchanges.at(-1)!.url).toBe(`${server.issuer}/OAuth/Token`);
  });
});
