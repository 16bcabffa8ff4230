import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  discover,
  metadataPreset,
  type AuthorizationServerMetadata,
  type OAuthClient,
} from "../../src/index";
import { signIn, useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;
let basic: OAuthClient;
let post: OAuthClient;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
  basic = createOAuthClient(metadataPreset(metadata, server.basicClient));
  post = createOAuthClient(
    metadataPreset(metadata, { ...server.postClient, clientAuthentication: "client_secret_post" }),
  );
});

describe("introspectToken", () => {
  test("an active access token: RFC 7662's fields", async () => {
    const tokens = await signIn(server, server.basicClient, basic);
    const info = await basic.introspectToken({ token: tokens.access_token, token_type_hint: "access_token" });
    expect(info).toMatchObject({
      active: true,
      client_id: server.basicClient.clientId,
      sub: "alice",
      scope: "openid offline_access read",
      token_type: "Bearer",
      iss: server.issuer,
    });
    if (!info.active) throw new Error("unreachable");
    expect(info.exp! - info.iat!).toBe(3600);
  });

  test("an active refresh token", async () => {
    const tokens = await signIn(server, server.basicClient, basic);
    await expect(
      basic.introspectToken({ token: tokens.refresh_token!, token_type_hint: "refresh_token" }),
    ).resolves.toMatchObject({
      active: true,
      client_id: server.basicClient.clientId,
      sub: "alice",
    });
  });

  test("an unknown token is exactly { active: false }", async () => {
    await expect(basic.introspectToken({ token: "no-such-token-0123456789abcdef" })).resolves.toStrictEqual({
      active: false,
    });
    await expect(post.introspectToken({ token: "no-such-token-0123456789abcdef" })).resolves.toStrictEqual({
      active: false,
    });
  });

  test("with client_secret_post, credentials travel in the body", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(
      metadataPreset(metadata, { ...server.postClient, clientAuthentication: "client_secret_post", fetch }),
    );
    const token = await client.clientCredentials({ scope: "read" });
    await expect(client.introspectToken({ token: token.access_token })).resolves.toMatchObject({
      active: true,
      client_id: server.postClient.clientId,
    });
    const body = Object.fromEntries(new URLSearchParams(exchanges[1]!.requestBody));
    expect(body).toStrictEqual({
      token: token.access_token,
      client_id: server.postClient.clientId,
      client_secret: server.postClient.clientSecret,
    });
    expect(exchanges[1]!.requestHeaders.get("authorization")).toBeNull();
  });
});

describe("revokeToken", () => {
  test("a revoked access token is inactive afterwards", async () => {
    const token = await basic.clientCredentials({ scope: "read" });
    await expect(basic.introspectToken({ token: token.access_token })).resolves.toMatchObject({ active: true });
    await expect(
      basic.revokeToken({ token: token.access_token, token_type_hint: "access_token" }),
    ).resolves.toBeUndefined();
    await expect(basic.introspectToken({ token: token.access_token })).resolves.toStrictEqual({ active: false });
  });

  test("a revoked refresh token can no longer refresh", async () => {
    const tokens = await signIn(server, server.postClient, post);
    await expect(
      post.revokeToken({ token: tokens.refresh_token!, token_type_hint: "refresh_token" }),
    ).resolves.toBeUndefined();
    await expect(post.introspectToken({ token: tokens.refresh_token! })).resolves.toStrictEqual({ active: false });
    await expect(post.refreshToken({ refresh_token: tokens.refresh_token! })).rejects.toMatchObject({
      error: "invalid_grant",
      requiresReauthorization: true,
    });
  });

  test("a public client revokes its own refresh token with its client_id alone", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(metadataPreset(metadata, { clientId: server.publicClient.clientId, fetch }));
    const tokens = await signIn(server, server.publicClient, client);
    await expect(
      client.revokeToken({ token: tokens.refresh_token!, token_type_hint: "refresh_token" }),
    ).resolves.toBeUndefined();
    await expect(basic.introspectToken({ token: tokens.refresh_token! })).resolves.toStrictEqual({ active: false });
    const revocation = exchanges.find((e) => e.url === metadata.revocation_endpoint)!;
    expect(Object.fromEntries(new URLSearchParams(revocation.requestBody))).toStrictEqual({
      token: tokens.refresh_token,
      token_type_hint: "refresh_token",
      client_id: server.publicClient.clientId,
    });
  });

  test("an unknown token is revoked without complaint (RFC 7009 §2.2)", async () => {
    await expect(basic.revokeToken({ token: "no-such-token-0123456789abcdef" })).resolves.toBeUndefined();
  });
});
