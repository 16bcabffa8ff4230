import { describe, expect, test } from "vitest";
import {
  buildAuthorizationUrl,
  createOAuthClient,
  createPkcePair,
  discover,
  metadataPreset,
  OAuthError,
  type AuthorizationServerMetadata,
} from "../../src/index";
import { authorize, signIn, useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
});

/** Signs in and returns a fresh authorization code for the public client, with the verifier it is bound to. */
async function codeFor(scope = "openid offline_access read") {
  const { publicClient } = server;
  const pkce = await createPkcePair();
  const url = buildAuthorizationUrl({
    authorizationEndpoint: metadata.authorization_endpoint!,
    clientId: publicClient.clientId,
    redirectUri: publicClient.redirectUri,
    scope,
    state: "af0ifjsldkj",
    codeChallenge: pkce.code_challenge,
    extraParams: { prompt: "consent" },
  });
  const result = await authorize(url, publicClient.redirectUri);
  expect(result).toMatchObject({ state: "af0ifjsldkj", error: null });
  expect(result.code).toEqual(expect.any(String));
  return { code: result.code!, ...pkce };
}

describe("authorization_code with PKCE", () => {
  test("a public client exchanges the code with its verifier, and no secret", async () => {
    const { code, code_verifier } = await codeFor();
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(metadataPreset(metadata, { clientId: server.publicClient.clientId, fetch }));
    const token = await client.exchangeAuthorizationCode({
      code,
      code_verifier,
      redirect_uri: server.publicClient.redirectUri,
    });
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "openid offline_access read" });
    expect(token.refresh_token).toEqual(expect.any(String));
    expect(token.id_token).toEqual(expect.any(String));
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.requestHeaders.get("authorization")).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(exchanges[0]!.requestBody))).toStrictEqual({
      grant_type: "authorization_code",
      code,
      code_verifier,
      redirect_uri: server.publicClient.redirectUri,
      client_id: server.publicClient.clientId,
    });
  });

  test("a wrong verifier is invalid_grant", async () => {
    const { code } = await codeFor();
    const other = await createPkcePair();
    const client = createOAuthClient(metadataPreset(metadata, { clientId: server.publicClient.clientId }));
    const error = await client
      .exchangeAuthorizationCode({
        code,
        code_verifier: other.code_verifier,
        redirect_uri: server.publicClient.redirectUri,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "invalid_grant", status: 400, requiresReauthorization: true });
  });

  test("a code is spent by its first exchange", async () => {
    const { code, code_verifier } = await codeFor();
    const client = createOAuthClient(metadataPreset(metadata, { clientId: server.publicClient.clientId }));
    const params = { code, code_verifier, redirect_uri: server.publicClient.redirectUri };
    await client.exchangeAuthorizationCode(params);
    await expect(client.exchangeAuthorizationCode(params)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  test("a confidential client uses PKCE too, authenticating with its secret", async () => {
    const client = createOAuthClient(metadataPreset(metadata, server.basicClient));
    const token = await signIn(server, server.basicClient, client, {
      authorizationEndpoint: metadata.authorization_endpoint!,
    });
    await expect(client.introspectToken({ token: token.access_token })).resolves.toMatchObject({
      active: true,
      client_id: server.basicClient.clientId,
      sub: "alice",
    });
  });
});
