import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  AuthorizationResponseError,
  createOAuthClient,
  createPkcePair,
  discover,
  InvalidAuthorizationResponseError,
  metadataPreset,
  OAuthError,
  pushAuthorizationRequest,
  validateAuthorizationResponse,
  type AuthorizationServerMetadata,
  type ClientAuthenticationMethod,
} from "../../src/index";
import { authorize, useOidcServer, type OidcServer, type RegisteredClient } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;
/** A second server, for the mix-up: the user is sent there, and the client expected the first one. */
let other: OidcServer;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
});
useOidcServer((started) => {
  other = started;
});

const random = () => randomBytes(16).toString("base64url");

/** Pushes an authorization request for `registered` with PKCE, a state and a nonce, and signs the user in. */
async function pushAndSignIn(
  registered: RegisteredClient,
  target = server,
  clientAuthentication?: ClientAuthenticationMethod,
) {
  const targetMetadata = target === server ? metadata : await discover(target.issuer);
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient(metadataPreset(targetMetadata, { ...registered, clientAuthentication, fetch }));
  const pkce = await createPkcePair();
  const state = random();
  const nonce = random();
  const pushed = await pushAuthorizationRequest(
    client,
    targetMetadata.authorization_endpoint!,
    {
      redirect_uri: registered.redirectUri,
      scope: "openid offline_access read",
      state,
      nonce,
      code_challenge: pkce.code_challenge,
      code_challenge_method: "S256",
    },
    { extraParams: { prompt: "consent" } },
  );
  const result = await authorize(pushed.url, registered.redirectUri);
  return { client, exchanges, pushed, pkce, state, nonce, callback: result.callback };
}

describe("pushed authorization requests (RFC 9126) and iss (RFC 9207) against oidc-provider", () => {
  test("the metadata advertises both, and metadataPreset takes the pushed authorization request endpoint", () => {
    expect(metadata).toMatchObject({
      pushed_authorization_request_endpoint: `${server.issuer}/request`,
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadataPreset(metadata, server.publicClient).endpoints).toMatchObject({
      pushedAuthorizationRequest: `${server.issuer}/request`,
    });
  });

  test("a public client's whole flow: push, sign in, check iss and state, exchange the code; the nonce is in the ID token", async () => {
    const { client, exchanges, pushed, pkce, state, nonce, callback } = await pushAndSignIn(server.publicClient);
    expect(pushed.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(pushed.expires_in).toBeGreaterThan(0);
    const url = new URL(pushed.url);
    expect([...url.searchParams.keys()]).toEqual(["client_id", "request_uri"]);
    expect(exchanges.map((e) => [new URL(e.url).pathname, e.status])).toEqual([["/request", 201]]);
    expect(new URLSearchParams(exchanges[0]!.requestBody).get("client_id")).toBe(server.publicClient.clientId);

    expect(callback.searchParams.get("iss")).toBe(server.issuer);
    const { code } = validateAuthorizationResponse(callback, { expectedState: state, metadata });
    const token = await client.exchangeAuthorizationCode({
      code,
      code_verifier: pkce.code_verifier,
      redirect_uri: server.publicClient.redirectUri,
    });
    expect(token).toMatchObject({ token_type: "Bearer", scope: "openid offline_access read" });
    const claims = JSON.parse(Buffer.from(token.id_token!.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ iss: server.issuer, aud: server.publicClient.clientId, nonce });
  });

  test.each([
    ["client_secret_basic", () => server.basicClient],
    ["client_secret_post", () => server.postClient],
  ] as const)(
    "a confidential client authenticates with %s, client_id in the body too, and exchanges the code",
    async (method, registered) => {
      const { client, exchanges, pkce, state, callback } = await pushAndSignIn(registered(), server, method);
      const sent = exchanges[0]!;
      expect(sent.status).toBe(201);
      expect(new URLSearchParams(sent.requestBody).get("client_id")).toBe(registered().clientId);
      expect(sent.requestHeaders.get("authorization") !== null).toBe(method === "client_secret_basic");
      const { code } = validateAuthorizationResponse(callback, { expectedState: state, metadata });
      await expect(
        client.exchangeAuthorizationCode({
          code,
          code_verifier: pkce.code_verifier,
          redirect_uri: registered().redirectUri,
        }),
      ).resolves.toMatchObject({ token_type: "Bearer" });
    },
  );

  test("a bad state is refused, and the code it came with is never shown", async () => {
    const { callback } = await pushAndSignIn(server.publicClient);
    const code = callback.searchParams.get("code")!;
    const error = (() => {
      try {
        return validateAuthorizationResponse(callback, { expectedState: random(), metadata });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidAuthorizationResponseError);
    expect(error).toMatchObject({ reason: "state_mismatch" });
    expect(JSON.stringify(error) + String(error)).not.toContain(code);
  });

  test("a mix-up is refused: the answer's iss is the other server's", async () => {
    // The client sent the user to the server it trusts; the answer comes back from another one.
    const { state, callback } = await pushAndSignIn(other.publicClient, other);
    expect(callback.searchParams.get("iss")).toBe(other.issuer);
    expect(() => validateAuthorizationResponse(callback, { expectedState: state, metadata })).toThrow(
      expect.objectContaining({ reason: "iss_mismatch" }),
    );
    // Without iss, a server that advertises it is refused too.
    callback.searchParams.delete("iss");
    expect(() => validateAuthorizationResponse(callback, { expectedState: state, metadata })).toThrow(
      expect.objectContaining({ reason: "iss_missing" }),
    );
  });

  test("the server's error answer, with its iss and state checked, is an AuthorizationResponseError", async () => {
    // prompt=none with no session: the server answers login_required on the redirect URI.
    const client = createOAuthClient(metadataPreset(metadata, server.publicClient));
    const state = random();
    const pkce = await createPkcePair();
    const pushed = await pushAuthorizationRequest(
      client,
      metadata.authorization_endpoint!,
      {
        redirect_uri: server.publicClient.redirectUri,
        scope: "openid",
        state,
        code_challenge: pkce.code_challenge,
        code_challenge_method: "S256",
      },
      { extraParams: { prompt: "none" } },
    );
    const { callback } = await authorize(pushed.url, server.publicClient.redirectUri);
    const error = (() => {
      try {
        return validateAuthorizationResponse(callback, { expectedState: state, metadata });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AuthorizationResponseError);
    expect(error).toMatchObject({ code: "OAUTH_AUTHORIZATION_ERROR", error: "login_required" });
  });

  test("the server refuses what it must: a request_uri used twice, an unregistered redirect URI, an unknown resource", async () => {
    const client = createOAuthClient(metadataPreset(metadata, server.publicClient));
    const pkce = await createPkcePair();
    const params = {
      redirect_uri: server.publicClient.redirectUri,
      scope: "openid",
      state: random(),
      code_challenge: pkce.code_challenge,
      code_challenge_method: "S256",
    } as const;
    const pushed = await pushAuthorizationRequest(client, metadata.authorization_endpoint!, params);
    await authorize(pushed.url, server.publicClient.redirectUri);
    const again = await authorize(pushed.url, server.publicClient.redirectUri);
    expect(again).toMatchObject({ error: "invalid_request_uri", code: null });
    // The answer cannot carry the request's state, so it cannot be told from a forged one.
    expect(() => validateAuthorizationResponse(again.callback, { expectedState: params.state, metadata })).toThrow(
      expect.objectContaining({ reason: "state_mismatch" }),
    );

    const redirect = await pushAuthorizationRequest(client, metadata.authorization_endpoint!, {
      ...params,
      redirect_uri: "https://attacker.example.net/callback",
    }).catch((e: unknown) => e);
    expect(redirect).toBeInstanceOf(OAuthError);
    expect(redirect).toMatchObject({
      status: 400,
      error: "invalid_request",
      error_description: "redirect_uri did not match any of the client's registered redirect_uris",
    });

    // RFC 8707: the server reads the resource parameter; it serves no resource server, so it refuses any.
    const resource = await pushAuthorizationRequest(client, metadata.authorization_endpoint!, {
      ...params,
      resource: ["https://api.example.org/", "https://files.example.org/"],
    }).catch((e: unknown) => e);
    expect(resource).toMatchObject({ status: 400, error: "invalid_target" });
  });
});
