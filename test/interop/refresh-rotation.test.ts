import { describe, expect, test } from "vitest";
import { createOAuthClient, discover, metadataPreset, OAuthError, type OAuthClient } from "../../src/index";
import { signIn, useOidcServer, type OidcServer } from "../helpers/oidc-server";

let server: OidcServer;
let client: OAuthClient;
/** A confidential client, to ask the server what it thinks of each token. */
let introspector: OAuthClient;

useOidcServer(async (started) => {
  server = started;
  const metadata = await discover(server.issuer);
  client = createOAuthClient(metadataPreset(metadata, { clientId: server.publicClient.clientId }));
  introspector = createOAuthClient(metadataPreset(metadata, server.basicClient));
});

describe("refresh_token with rotation", () => {
  test("every refresh returns a new refresh token, and the rotated-out one is rejected", async () => {
    const first = await signIn(server, server.publicClient, client);
    const rt0 = first.refresh_token!;
    const second = await client.refreshToken({ refresh_token: rt0 });
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(rt0);
    const third = await client.refreshToken({ refresh_token: second.refresh_token! });
    expect(third.refresh_token).not.toBe(second.refresh_token);

    const replay = await client.refreshToken({ refresh_token: rt0 }).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(OAuthError);
    expect(replay).toMatchObject({ error: "invalid_grant", status: 400, requiresReauthorization: true });
    // The error says why without quoting the token.
    expect(JSON.stringify(replay)).not.toContain(rt0);
  });

  test("a refresh can narrow the scope", async () => {
    const tokens = await signIn(server, server.publicClient, client, { scope: "openid offline_access read write" });
    const narrowed = await client.refreshToken({
      refresh_token: tokens.refresh_token!,
      scope: "openid offline_access read",
    });
    expect(narrowed.scope).toBe("openid offline_access read");
    await expect(introspector.introspectToken({ token: narrowed.access_token })).resolves.toMatchObject({
      active: true,
      scope: "openid offline_access read",
    });
  });

  test("replaying a rotated-out token revokes the whole grant, as the reference says real servers do", async () => {
    const first = await signIn(server, server.publicClient, client);
    const second = await client.refreshToken({ refresh_token: first.refresh_token! });
    await expect(introspector.introspectToken({ token: second.access_token })).resolves.toMatchObject({ active: true });
    await expect(client.refreshToken({ refresh_token: first.refresh_token! })).rejects.toMatchObject({
      error: "invalid_grant",
    });
    // The current tokens of the grant went with it: the user must authorize again.
    await expect(introspector.introspectToken({ token: second.access_token })).resolves.toStrictEqual({
      active: false,
    });
    await expect(client.refreshToken({ refresh_token: second.refresh_token! })).rejects.toMatchObject({
      error: "invalid_grant",
      requiresReauthorization: true,
    });
  });
});
