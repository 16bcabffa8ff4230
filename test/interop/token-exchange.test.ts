import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  discover,
  exchangeToken,
  jwtBearerGrant,
  metadataPreset,
  OAuthError,
  type AuthorizationServerMetadata,
} from "../../src/index";
import {
  ACCESS_TOKEN_TYPE,
  EXCHANGE_AUDIENCE,
  JWT_BEARER,
  JWT_TOKEN_TYPE,
  TOKEN_EXCHANGE,
} from "../helpers/oidc-extensions";
import { useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
});

function client() {
  const { fetch, exchanges } = recordingFetch();
  return { client: createOAuthClient(metadataPreset(metadata, { ...server.basicClient, fetch })), exchanges };
}

const bodyOf = (requestBody: string) => Object.fromEntries(new URLSearchParams(requestBody));

describe("token exchange (RFC 8693) against oidc-provider's registered grant", () => {
  test("the server lists the grant it registered", () => {
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining([TOKEN_EXCHANGE, JWT_BEARER]));
  });

  test("delegation: subject and actor tokens for an audience give an access token the server introspects", async () => {
    const { client: c, exchanges } = client();
    const subject = await c.clientCredentials({ scope: "read" });
    const actor = await c.clientCredentials();
    const exchanged = await exchangeToken(c, {
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: actor.access_token,
      actor_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: EXCHANGE_AUDIENCE,
      scope: "read",
    });
    expect(exchanged).toMatchObject({ token_type: "Bearer", issued_token_type: ACCESS_TOKEN_TYPE, scope: "read" });
    await expect(c.introspectToken({ token: exchanged.access_token })).resolves.toMatchObject({ active: true });
    expect(bodyOf(exchanges[2]!.requestBody)).toEqual({
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: actor.access_token,
      actor_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: EXCHANGE_AUDIENCE,
      scope: "read",
    });
    // Printed, the answer hides the new token; neither token sent shows in it.
    expect(inspect(exchanged)).not.toContain(exchanged.access_token);
  });

  test("a token that is not an access token comes with token_type N_A, which the client accepts", async () => {
    const { client: c } = client();
    const subject = await c.clientCredentials();
    const exchanged = await exchangeToken(c, {
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: JWT_TOKEN_TYPE,
      audience: [EXCHANGE_AUDIENCE],
    });
    expect(exchanged).toMatchObject({ token_type: "N_A", issued_token_type: JWT_TOKEN_TYPE });
    expect(exchanged.access_token.split(".")).toHaveLength(3);
    // The same answer to a grant whose answer is not a token exchange's would be refused: N_A is no bearer token.
  });

  test("the server refuses a dead subject token, an actor token without its type's pair, an unknown audience", async () => {
    const { client: c } = client();
    const subject = await c.clientCredentials();
    const dead = "dead-subject-token-1234567890";
    const invalid = await exchangeToken(c, { subject_token: dead, subject_token_type: ACCESS_TOKEN_TYPE }).catch(
      (e: unknown) => e,
    );
    expect(invalid).toBeInstanceOf(OAuthError);
    expect(invalid).toMatchObject({ error: "invalid_request", status: 400 });
    expect(inspect(invalid, { depth: 10 })).not.toContain(dead);
    await expect(
      exchangeToken(c, {
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: "urn:example:elsewhere",
      }),
    ).rejects.toMatchObject({ error: "invalid_target" });
  });

  test("bad arguments are TypeErrors before any request: a misspelt token type, a lone actor_token, no subject", async () => {
    const { client: c, exchanges } = client();
    for (const params of [
      { subject_token: "st-123456789", subject_token_type: "urn:ietf:params:oauth:token-type:acess_token" },
      { subject_token: "st-123456789", subject_token_type: ACCESS_TOKEN_TYPE, actor_token: "at-123456789" },
      { subject_token_type: ACCESS_TOKEN_TYPE },
      { subject_token: "st-123456789", subject_token_type: ACCESS_TOKEN_TYPE, resource: "not a uri" },
    ]) {
      const error = await exchangeToken(c, params as never).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" });
      expect((error as Error).message).not.toContain("st-123456789");
    }
    // obtainToken sends the grants of the client's description only: this one comes with its helper.
    await expect(
      c.obtainToken({ grant_type: TOKEN_EXCHANGE, subject_token: "x", subject_token_type: ACCESS_TOKEN_TYPE } as never),
    ).rejects.toMatchObject({ name: "TypeError" });
    expect(exchanges).toHaveLength(0);
  });
});

describe("the JWT bearer grant (RFC 7523 §2.1) against oidc-provider's registered grant", () => {
  const claims = () => ({
    iss: server.assertionIssuer.issuer,
    sub: "alice",
    aud: `${server.issuer}/token`,
    exp: Math.floor(Date.now() / 1000) + 60,
    jti: crypto.randomUUID(),
  });

  test("a signed assertion gets a token; the same assertion again is refused as replayed", async () => {
    const { client: c, exchanges } = client();
    const assertion = server.assertionIssuer.sign(claims());
    const token = await jwtBearerGrant(c, { assertion, scope: "read" });
    expect(token).toMatchObject({ token_type: "Bearer", scope: "read" });
    expect(bodyOf(exchanges[0]!.requestBody)).toEqual({ grant_type: JWT_BEARER, assertion, scope: "read" });
    const replay = await jwtBearerGrant(c, { assertion }).catch((e: unknown) => e);
    expect(replay).toMatchObject({ error: "invalid_grant" });
    expect(inspect(replay, { depth: 10 })).not.toContain(assertion);
  });

  test("the server refuses an assertion from an untrusted key, for another audience, or expired", async () => {
    const { client: c } = client();
    for (const assertion of [
      server.assertionIssuer.sign(claims(), { untrusted: true }),
      server.assertionIssuer.sign({ ...claims(), aud: "https://elsewhere.example.org" }),
      server.assertionIssuer.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 60 }),
    ]) {
      await expect(jwtBearerGrant(c, { assertion })).rejects.toMatchObject({ error: "invalid_grant", status: 400 });
    }
  });

  test("an assertion that is not a JWT is a TypeError before any request", async () => {
    const { client: c, exchanges } = client();
    for (const assertion of ["not-a-jwt", "a.b", "", "a.b.c.d"]) {
      await expect(jwtBearerGrant(c, { assertion })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    }
    expect(exchanges).toHaveLength(0);
  });
});
