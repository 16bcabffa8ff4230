/**
 * privateKeyJwt and clientSecretJwt without a server: bad keys are TypeErrors before any request, every attempt
 * gets a fresh assertion, and no assertion, secret or private key shows in an error, a printed client or its
 * options. The server's side is test/interop/client-assertions.test.ts.
 */
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  clientSecretJwt,
  createOAuthClient,
  ERR_INVALID_ARG_VALUE,
  metadataPreset,
  OAuthError,
  privateKeyJwt,
  type ClientAuthentication,
} from "../src/index";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privateJwk = { ...rsa.privateKey.export({ format: "jwk" }), kid: "k1" };
const TOKEN = { access_token: "at-1234567890", token_type: "Bearer", expires_in: 60 };

/** A fetch that records what it was sent and answers with `answer(body)`. */
function fakeServer(answer: (body: URLSearchParams, count: number) => Response = () => Response.json(TOKEN)) {
  const bodies: URLSearchParams[] = [];
  const fetch: typeof globalThis.fetch = async (_input, init) => {
    const body = new URLSearchParams(String(init?.body));
    bodies.push(body);
    return answer(body, bodies.length);
  };
  return { fetch, bodies };
}

function clientWith(clientAuthentication: ClientAuthentication, fetch: typeof globalThis.fetch) {
  return createOAuthClient({
    baseUrl: "https://auth.example.org",
    clientId: "c1",
    clientAuthentication,
    fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
  });
}

describe("a bad key is a TypeError before any request", () => {
  const webKey = (algorithm: RsaHashedKeyGenParams | EcKeyGenParams | HmacKeyGenParams, usages: KeyUsage[]) =>
    webcrypto.subtle.generateKey(algorithm as never, false, usages) as Promise<CryptoKeyPair | CryptoKey>;
  const cases: [string, () => Promise<unknown>][] = [
    ["a public JWK", async () => rsa.publicKey.export({ format: "jwk" })],
    [
      "an RSA key of 1024 bits",
      async () => generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "jwk" }),
    ],
    [
      "an EC key on P-384 (ES384)",
      async () => generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ format: "jwk" }),
    ],
    ["a JWK for RS512", async () => ({ ...privateJwk, alg: "RS512" })],
    ["a symmetric JWK", async () => ({ kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQ" })],
    ["a string", async () => "-----BEGIN PRIVATE KEY-----"],
    [
      "a public CryptoKey",
      async () =>
        ((await webKey({ name: "ECDSA", namedCurve: "P-256" }, ["sign", "verify"])) as CryptoKeyPair).publicKey,
    ],
    ["an HMAC CryptoKey", async () => webKey({ name: "HMAC", hash: "SHA-256" }, ["sign"])],
    [
      "a CryptoKey for SHA-384",
      async () =>
        (
          (await webKey(
            {
              name: "RSASSA-PKCS1-v1_5",
              hash: "SHA-384",
              modulusLength: 2048,
              publicExponent: new Uint8Array([1, 0, 1]),
            },
            ["sign", "verify"],
          )) as CryptoKeyPair
        ).privateKey,
    ],
  ];
  test.for(cases)("%s", async ([, make]) => {
    const key = await make();
    let error: unknown;
    try {
      privateKeyJwt("c1", key as JsonWebKey);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: ERR_INVALID_ARG_VALUE, message: expect.stringMatching(/^key must be/) });
    // The message quotes no key material.
    if (typeof key === "object" && key !== null && "n" in key)
      expect((error as Error).message).not.toContain(String(key.n));
  });

  test("a JWK whose key material Web Crypto refuses fails the call before it is sent", async () => {
    const { fetch, bodies } = fakeServer();
    const client = clientWith(privateKeyJwt("c1", { ...privateJwk, d: "AAAA", p: "AAAA" }), fetch);
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: ERR_INVALID_ARG_VALUE });
    expect(bodies).toHaveLength(0);
  });

  test("options and the secret are checked too", () => {
    expect(() => clientSecretJwt("c1", "")).toThrow(/clientSecret must be a non-empty string/);
    expect(() => privateKeyJwt("", privateJwk)).toThrow(/clientId/);
    expect(() => privateKeyJwt("c1", privateJwk, { lifetimeSeconds: 0 })).toThrow(/lifetimeSeconds/);
    expect(() => privateKeyJwt("c1", privateJwk, { audience: "" })).toThrow(/audience/);
  });
});

describe("assertions", () => {
  test("each attempt of a retried request carries a new assertion (client_credentials, retried on 503)", async () => {
    const { fetch, bodies } = fakeServer((_body, count) =>
      count === 1 ? Response.json({ error: "temporarily_unavailable" }, { status: 503 }) : Response.json(TOKEN),
    );
    await clientWith(privateKeyJwt("c1", privateJwk), fetch).clientCredentials();
    expect(bodies).toHaveLength(2);
    const [first, second] = bodies.map((b) => b.get("client_assertion")!);
    expect(first).not.toBe(second);
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
    expect(claims(first!).jti).not.toBe(claims(second!).jti);
    expect(claims(first!).aud).toBe("https://auth.example.org/oauth2/token");
  });

  test("a caller cannot pass client_assertion in a request: it comes from the client's authentication", async () => {
    const { fetch, bodies } = fakeServer();
    const client = clientWith(privateKeyJwt("c1", privateJwk), fetch);
    await expect(
      client.obtainToken({ grant_type: "client_credentials", client_assertion: "a.b.c" } as never),
    ).rejects.toThrow(/client_assertion comes from the client options/);
    expect(bodies).toHaveLength(0);
  });

  test("the audience of a revocation is the revocation endpoint's URL", async () => {
    const { fetch, bodies } = fakeServer(() => new Response(null, { status: 200 }));
    await clientWith(clientSecretJwt("c1", "s3cret-s3cret-s3cret"), fetch).revokeToken({ token: "t-1234567890" });
    const claims = JSON.parse(Buffer.from(bodies[0]!.get("client_assertion")!.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ iss: "c1", sub: "c1", aud: "https://auth.example.org/oauth2/revoke" });
  });
});

describe("no assertion, secret or key shows", () => {
  test("in an error from a server that quotes back what it was sent", async () => {
    const secret = "client-secret-for-hmac-0123456789";
    let sent = "";
    const { fetch } = fakeServer((body) => {
      sent = body.get("client_assertion")!;
      return Response.json({ error: "invalid_client", error_description: `bad assertion ${sent}` }, { status: 401 });
    });
    for (const strategy of [privateKeyJwt("c1", privateJwk), clientSecretJwt("c1", secret)]) {
      const error = await clientWith(strategy, fetch)
        .clientCredentials()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).error_description).toBe("bad assertion [REDACTED]");
      for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })]) {
        expect(text).not.toContain(sent);
        expect(text).not.toContain(secret);
        expect(text).not.toContain(privateJwk.d);
      }
    }
  });

  test("in a printed success that quotes the assertion back", async () => {
    let sent = "";
    const { fetch } = fakeServer((body) => {
      sent = body.get("client_assertion")!;
      return Response.json({ ...TOKEN, note: `you sent ${sent}` });
    });
    const token = await clientWith(privateKeyJwt("c1", privateJwk), fetch).clientCredentials();
    expect((token as { note?: string }).note).toBe(`you sent ${sent}`); // the data stays whole
    expect(inspect(token)).toContain("you sent [REDACTED]");
    expect(inspect(token)).not.toContain(sent);
  });

  test("in a printed client, strategy or preset", () => {
    const secret = "client-secret-for-hmac-0123456789";
    const strategies = [privateKeyJwt("c1", privateJwk), clientSecretJwt("c1", secret)];
    const metadata = { issuer: "https://auth.example.org", token_endpoint: "https://auth.example.org/token" };
    for (const strategy of strategies) {
      const client = clientWith(strategy, fetch);
      const preset = metadataPreset(
        { ...metadata, token_endpoint_auth_methods_supported: [strategy.method] },
        { clientId: "c1", clientAssertion: strategy },
      );
      for (const value of [client, strategy, preset])
        for (const text of [JSON.stringify(value) ?? "", inspect(value, { depth: 10, showHidden: true })]) {
          expect(text).not.toContain(privateJwk.d);
          expect(text).not.toContain(secret);
        }
    }
  });
});
