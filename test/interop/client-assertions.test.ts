/**
 * JWT client authentication (RFC 7523 §2.2) against oidc-provider: clients registered for `private_key_jwt`
 * (with their public keys) and `client_secret_jwt`; the server takes the client's assertions at the token and
 * introspection endpoints, and refuses an assertion signed by another key, one for another audience, and one
 * sent twice.
 */
import { generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  clientSecretJwt,
  createOAuthClient,
  discover,
  metadataPreset,
  OAuthError,
  privateKeyJwt,
  type AuthorizationServerMetadata,
  type ClientAssertionKey,
  type ClientAuthentication,
} from "../../src/index";
import { useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch, type Exchange } from "../helpers/recorder";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const KEY_CLIENT = "key-jwt-client";
const SECRET_CLIENT = "secret-jwt-client";
const SECRET = randomBytes(32).toString("base64url");

/** One key pair per algorithm, as node:crypto makes them; the public halves are registered. */
const PAIRS = {
  RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  PS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
  EdDSA: generateKeyPairSync("ed25519"),
} as const;
type Alg = keyof typeof PAIRS;
const ALGS = Object.keys(PAIRS) as Alg[];
const privateJwk = (alg: Alg) => ({ ...PAIRS[alg].privateKey.export({ format: "jwk" }), kid: alg, alg });
/** The same private key as a Web Crypto key, not extractable. */
const cryptoKey = (alg: Alg) =>
  webcrypto.subtle.importKey(
    "jwk",
    PAIRS[alg].privateKey.export({ format: "jwk" }),
    (
      {
        RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        PS256: { name: "RSA-PSS", hash: "SHA-256" },
        ES256: { name: "ECDSA", namedCurve: "P-256" },
        EdDSA: { name: "Ed25519" },
      } as const
    )[alg],
    false,
    ["sign"],
  ) as Promise<CryptoKey>;

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(
  async (started) => {
    server = started;
    metadata = await discover(server.issuer);
  },
  {
    configure(configuration) {
      configuration.clientAuthMethods = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
      ];
      configuration.clients!.push(
        {
          client_id: KEY_CLIENT,
          token_endpoint_auth_method: "private_key_jwt",
          jwks: {
            keys: ALGS.map((alg) => ({ ...PAIRS[alg].publicKey.export({ format: "jwk" }), kid: alg, alg, use: "sig" })),
          },
          grant_types: ["client_credentials"],
          redirect_uris: [],
          response_types: [],
          scope: "read",
        },
        {
          client_id: SECRET_CLIENT,
          client_secret: SECRET,
          token_endpoint_auth_method: "client_secret_jwt",
          grant_types: ["client_credentials"],
          redirect_uris: [],
          response_types: [],
          scope: "read",
        },
      );
    },
  },
);

function clientWith(clientAuthentication: ClientAuthentication, clientId = KEY_CLIENT) {
  const { fetch, exchanges } = recordingFetch();
  const options = metadataPreset(metadata, { clientId, fetch });
  const client = createOAuthClient({ ...options, clientAuthentication });
  return { client, exchanges };
}

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>;

/** The assertion an exchange carried, its header and claims, after checking the fields around it. */
function assertionOf(exchange: Exchange, clientId: string) {
  const body = Object.fromEntries(new URLSearchParams(exchange.requestBody));
  expect(exchange.requestHeaders.get("authorization")).toBeNull();
  expect(body).toMatchObject({ client_id: clientId, client_assertion_type: ASSERTION_TYPE });
  expect(body).not.toHaveProperty("client_secret");
  const [header, payload] = body.client_assertion!.split(".") as [string, string];
  return { assertion: body.client_assertion!, header: decode(header), claims: decode(payload) };
}

describe.for(ALGS)("private_key_jwt with %s", (alg) => {
  for (const [form, key] of [
    ["a private JWK", async () => privateJwk(alg)],
    ["a Web Crypto CryptoKey", () => cryptoKey(alg)],
  ] as const) {
    test(`the server takes the client's assertions, signed with ${form}, at the token and introspection endpoints`, async () => {
      const { client, exchanges } = clientWith(privateKeyJwt(KEY_CLIENT, (await key()) as ClientAssertionKey));
      const token = await client.clientCredentials({ scope: "read" });
      expect(token).toMatchObject({ token_type: "Bearer", scope: "read" });
      expect(await client.introspectToken({ token: token.access_token })).toMatchObject({
        active: true,
        client_id: KEY_CLIENT,
      });
      expect(exchanges.map((e) => [e.url, e.status])).toEqual([
        [metadata.token_endpoint, 200],
        [metadata.introspection_endpoint, 200],
      ]);
      const [first, second] = exchanges.map((e) => assertionOf(e, KEY_CLIENT));
      expect(first!.header).toEqual({ alg, typ: "JWT", ...(form === "a private JWK" && { kid: alg }) });
      expect(first!.claims).toMatchObject({ iss: KEY_CLIENT, sub: KEY_CLIENT, aud: metadata.token_endpoint });
      expect(second!.claims.aud).toBe(metadata.introspection_endpoint);
      const { iat, exp, jti } = first!.claims as { iat: number; exp: number; jti: string };
      expect(exp - iat).toBe(60);
      expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(5);
      expect(jti).toMatch(/^[\w-]{22}$/);
      expect(second!.claims.jti).not.toBe(jti);
    });
  }
});

describe("client_secret_jwt", () => {
  test("the server takes assertions signed with HMAC SHA-256 of the client secret", async () => {
    const { client, exchanges } = clientWith(clientSecretJwt(SECRET_CLIENT, SECRET), SECRET_CLIENT);
    const token = await client.clientCredentials({ scope: "read" });
    expect(await client.introspectToken({ token: token.access_token })).toMatchObject({ active: true });
    const { header, claims } = assertionOf(exchanges[0]!, SECRET_CLIENT);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(claims).toMatchObject({ iss: SECRET_CLIENT, sub: SECRET_CLIENT, aud: metadata.token_endpoint });
    expect(exchanges[0]!.requestBody).not.toContain(SECRET);
  });

  test("an assertion keyed by another secret is invalid_client, and the error quotes no assertion", async () => {
    const { client, exchanges } = clientWith(
      clientSecretJwt(SECRET_CLIENT, "another-secret-of-32-characters!"),
      SECRET_CLIENT,
    );
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toMatchObject({ error: "invalid_client", status: 401 });
    const { assertion } = assertionOf(exchanges[0]!, SECRET_CLIENT);
    expect(JSON.stringify(error)).not.toContain(assertion.split(".")[2]);
  });
});

describe("metadataPreset", () => {
  test("picks private_key_jwt when the server lists it and the client gave a key", async () => {
    expect(metadata.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
    const options = metadataPreset(metadata, {
      clientId: KEY_CLIENT,
      clientAssertion: privateKeyJwt(KEY_CLIENT, privateJwk("ES256")),
    });
    expect(options.clientAuthentication).toMatchObject({ method: "private_key_jwt" });
    expect(JSON.stringify(options)).toContain('"clientAuthentication":"private_key_jwt"');
    const token = await createOAuthClient(options).clientCredentials({ scope: "read" });
    expect(token.access_token).toEqual(expect.any(String));
  });

  test("the assertion's audience may be the issuer, when the server asks for it", async () => {
    const { client, exchanges } = clientWith(
      privateKeyJwt(KEY_CLIENT, privateJwk("ES256"), { audience: server.issuer }),
    );
    await client.clientCredentials({ scope: "read" });
    expect(assertionOf(exchanges[0]!, KEY_CLIENT).claims.aud).toBe(server.issuer);
  });
});

describe("the server refuses", () => {
  test("an assertion signed by a key the client did not register", async () => {
    const other = {
      ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
      kid: "ES256",
    };
    const { client } = clientWith(privateKeyJwt(KEY_CLIENT, other));
    await expect(client.clientCredentials()).rejects.toMatchObject({ error: "invalid_client", status: 401 });
  });

  test("an assertion for another audience", async () => {
    const { client } = clientWith(
      privateKeyJwt(KEY_CLIENT, privateJwk("ES256"), { audience: "https://elsewhere.example.org/token" }),
    );
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "invalid_client", status: 401 });
  });

  test("an assertion sent a second time (the same jti)", async () => {
    const { client, exchanges } = clientWith(privateKeyJwt(KEY_CLIENT, privateJwk("RS256")));
    await client.clientCredentials({ scope: "read" });
    // The first request's exact body, sent again as it was: the server has seen its jti.
    const replay = await fetch(metadata.token_endpoint!, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: exchanges[0]!.requestBody,
    });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: "invalid_client" });
    // The client itself never sends an assertion twice: each request gets a new jti.
    await client.clientCredentials({ scope: "read" });
    expect(assertionOf(exchanges[1]!, KEY_CLIENT).claims.jti).not.toBe(
      assertionOf(exchanges[0]!, KEY_CLIENT).claims.jti,
    );
  });
});
