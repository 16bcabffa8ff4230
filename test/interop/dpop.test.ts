/**
 * DPoP (RFC 9449) against oidc-provider, with nonces required: the client's token requests carry proofs, learn
 * the server's nonce from its `use_dpop_nonce` refusal and send again once; the tokens are DPoP-bound (the
 * introspection's `cnf.jkt` is the key's thumbprint); a resource request (userinfo) works with a proof of
 * `createDpopProof`; the token manager refreshes a bound refresh token with its key; and the server refuses a
 * proof for another URL, a forged proof, a replayed one, and a bound refresh token proved with another key.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  buildAuthorizationUrl,
  createDpopKey,
  createDpopProof,
  createOAuthClient,
  createPkcePair,
  createTokenManager,
  discover,
  generateDpopKey,
  metadataPreset,
  OAuthError,
  ReauthorizationRequiredError,
  type AuthorizationServerMetadata,
  type DpopKey,
  type TokenResponse,
} from "../../src/index";
import { authorize, useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch, type Exchange } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(
  async (started) => {
    server = started;
    metadata = await discover(server.issuer);
  },
  {
    configure(configuration) {
      const dPoP = configuration.features!.dPoP;
      configuration.features!.dPoP = {
        ...dPoP,
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => true,
      };
      configuration.enabledJWA = { dPoPSigningAlgValues: ["ES256", "EdDSA", "RS256", "PS256"] };
    },
  },
);

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>;
/** A proof's header and claims. */
function proofOf(exchange: Exchange) {
  const proof = exchange.requestHeaders.get("dpop");
  expect(proof).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  const [header, claims] = proof!.split(".") as [string, string];
  return { proof: proof!, header: decode(header), claims: decode(claims) };
}
/** The RFC 7638 thumbprint of a key's public JWK (whose members are already the required ones, sorted). */
const thumbprint = (key: DpopKey) => createHash("sha256").update(JSON.stringify(key.jwk)).digest("base64url");

function confidentialClient() {
  const { fetch, exchanges } = recordingFetch();
  const { clientId, clientSecret } = server.basicClient;
  return { client: createOAuthClient(metadataPreset(metadata, { clientId, clientSecret, fetch })), exchanges };
}

describe("token requests with a DPoP key", () => {
  test.for(["ES256", "EdDSA", "RS256", "PS256"] as const)(
    "%s: the proof is sent, the nonce learned and used, and the token is bound to the key",
    async (alg) => {
      const dpop = await generateDpopKey(alg);
      const { client, exchanges } = confidentialClient();
      const token = await client.clientCredentials({ scope: "read" }, { dpop });
      expect(token.token_type).toBe("DPoP");
      // The server required a nonce: refused once with use_dpop_nonce, then sent again with it.
      expect(exchanges.map((e) => e.status)).toEqual([400, 200]);
      const [first, second] = exchanges.map(proofOf);
      expect(first!.header).toEqual({ alg, typ: "dpop+jwt", jwk: dpop.jwk });
      expect(first!.claims).toMatchObject({ htm: "POST", htu: metadata.token_endpoint });
      expect(first!.claims).not.toHaveProperty("nonce");
      expect(second!.claims.nonce).toEqual(expect.any(String));
      expect(second!.claims.jti).not.toBe(first!.claims.jti);
      // The nonce is kept: the next request is sent once.
      await client.clientCredentials({ scope: "read" }, { dpop });
      expect(exchanges.map((e) => e.status)).toEqual([400, 200, 200]);
      const info = await client.introspectToken({ token: token.access_token });
      expect(info).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: thumbprint(dpop) } });
    },
  );

  test("a private JWK as the key", async () => {
    const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
    const dpop = await createDpopKey(await crypto.subtle.exportKey("jwk", privateKey));
    const { client } = confidentialClient();
    expect(await client.clientCredentials({ scope: "read" }, { dpop })).toMatchObject({ token_type: "DPoP" });
  });

  test("without a DPoP key the token is a bearer token, and no proof is sent", async () => {
    const { client, exchanges } = confidentialClient();
    expect(await client.clientCredentials({ scope: "read" })).toMatchObject({ token_type: "Bearer" });
    expect(exchanges[0]!.requestHeaders.get("dpop")).toBeNull();
  });
});

describe("the server refuses", () => {
  /** A client_credentials request of the basic client, by hand, with the given proof. */
  const send = (proof: string) =>
    fetch(metadata.token_endpoint!, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${server.basicClient.clientId}:${server.basicClient.clientSecret}`)}`,
        DPoP: proof,
      },
      body: "grant_type=client_credentials&scope=read",
    });
  /** A key that has learned the server's nonce. */
  async function learnedKey(): Promise<DpopKey> {
    const dpop = await createDpopKey();
    await confidentialClient().client.clientCredentials({ scope: "read" }, { dpop });
    return dpop;
  }

  test("a proof made for another URL", async () => {
    const dpop = await learnedKey();
    const response = await send(await createDpopProof(dpop, { htm: "POST", htu: `${server.issuer}/elsewhere` }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_dpop_proof" });
  });

  test("a proof whose signature is not the key's", async () => {
    const dpop = await learnedKey();
    const proof = await createDpopProof(dpop, { htm: "POST", htu: metadata.token_endpoint! });
    const other = await createDpopProof(await createDpopKey(), { htm: "POST", htu: metadata.token_endpoint! });
    const forged = `${proof.split(".").slice(0, 2).join(".")}.${other.split(".")[2]}`;
    const response = await send(forged);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_dpop_proof" });
  });

  test("a proof sent a second time (the same jti)", async () => {
    const proof = await createDpopProof(await learnedKey(), { htm: "POST", htu: metadata.token_endpoint! });
    const first = await send(proof);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ token_type: "DPoP" });
    const again = await send(proof);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
  });
});

/** The public client's authorization code flow, its code exchanged with a DPoP proof. */
async function signInWithDpop(
  dpop: DpopKey,
): Promise<{ token: TokenResponse; client: ReturnType<typeof createOAuthClient> }> {
  const { publicClient } = server;
  const client = createOAuthClient(metadataPreset(metadata, { clientId: publicClient.clientId }));
  const pkce = await createPkcePair();
  const state = randomBytes(16).toString("base64url");
  const url = buildAuthorizationUrl({
    authorizationEndpoint: metadata.authorization_endpoint!,
    clientId: publicClient.clientId,
    redirectUri: publicClient.redirectUri,
    scope: "openid offline_access read",
    state,
    codeChallenge: pkce.code_challenge,
    extraParams: { prompt: "consent" },
  });
  const result = await authorize(url, publicClient.redirectUri);
  expect(result.state).toBe(state);
  const token = await client.exchangeAuthorizationCode(
    { code: result.code!, redirect_uri: publicClient.redirectUri, code_verifier: pkce.code_verifier },
    { dpop },
  );
  return { token, client };
}

describe("resource requests and the token manager", () => {
  test("createDpopProof: userinfo takes the bound token with a proof of its hash, and refuses it without", async () => {
    const dpop = await createDpopKey();
    const { token } = await signInWithDpop(dpop);
    expect(token.token_type).toBe("DPoP");
    const userinfo = `${server.issuer}/me`;
    const proof = await createDpopProof(dpop, { htm: "GET", htu: userinfo, accessToken: token.access_token });
    const [, claims] = proof.split(".");
    expect(decode(claims!)).toMatchObject({
      htm: "GET",
      htu: userinfo,
      ath: createHash("sha256").update(token.access_token).digest("base64url"),
      nonce: expect.any(String),
    });
    const ok = await fetch(userinfo, { headers: { Authorization: `DPoP ${token.access_token}`, DPoP: proof } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ sub: "alice" });
    const withoutAth = await createDpopProof(dpop, { htm: "GET", htu: userinfo });
    const refused = await fetch(userinfo, {
      headers: { Authorization: `DPoP ${token.access_token}`, DPoP: withoutAth },
    });
    expect(refused.status).toBe(401);
    const bare = await fetch(userinfo, { headers: { Authorization: `DPoP ${token.access_token}` } });
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ error: "invalid_request" });
  });

  test("the manager refreshes a DPoP-bound refresh token with its key; another key is refused", async () => {
    const dpop = await createDpopKey();
    const { token, client } = await signInWithDpop(dpop);
    expect(token.refresh_token).toEqual(expect.any(String));
    const manager = createTokenManager({ client, grant: { type: "refresh_token" }, dpop });
    await manager.setTokens("alice", token);
    await manager.invalidate("alice");
    const fresh = await manager.getAccessToken("alice");
    expect(fresh).not.toBe(token.access_token);
    const record = await manager.getToken("alice");
    expect(record?.refresh_token).not.toBe(token.refresh_token);
    // The token set keeps its key's thumbprint, the server's cnf.jkt.
    expect(record?.dpop_jkt).toBe(thumbprint(dpop));

    // The same token set, with another key: the server refuses the refresh (failed jkt verification).
    const thief = createTokenManager({ client, grant: { type: "refresh_token" }, dpop: await createDpopKey() });
    await thief.setTokens("alice", {
      access_token: record!.access_token,
      token_type: record!.token_type,
      refresh_token: record!.refresh_token!,
    });
    await thief.invalidate("alice");
    const error = await thief.getAccessToken("alice").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect((error as ReauthorizationRequiredError).cause).toBeInstanceOf(OAuthError);
    expect((error as ReauthorizationRequiredError).cause).toMatchObject({ error: "invalid_grant" });
    // The rightful manager still refreshes.
    await manager.invalidate("alice");
    expect(await manager.getAccessToken("alice")).not.toBe(fresh);
  });
});
