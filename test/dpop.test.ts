/**
 * DPoP without a server (or against loopback servers of the test's own): the token type is accepted only with
 * a key, `use_dpop_nonce` is answered once and no other refusal is, a nonce is learned from every answer and
 * filed by the origin the request was sent to, a malformed nonce is ignored and the nonces a key keeps are
 * bounded, bad keys and options are TypeErrors, proofs are as RFC 9449 §4.2 says, and no proof or private key
 * shows in an error or a printed key. The server's side is test/interop/dpop.test.ts.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  createDpopKey,
  createDpopProof,
  createOAuthClient,
  createMemoryTokenStore,
  createTokenManager,
  ERR_INVALID_ARG_VALUE,
  generateDpopKey,
  OAuthError,
  OAuthResponseError,
  type DpopKey,
} from "../src/index";

const decode = (jwt: string, part: 0 | 1) =>
  JSON.parse(Buffer.from(jwt.split(".")[part]!, "base64url").toString()) as Record<string, unknown>;

interface Seen {
  proof: string | null;
  body: string;
}

/** A fetch that records each request's proof and answers with `answer(seen, count)`. */
function fakeServer(answer: (seen: Seen, count: number) => Response) {
  const requests: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (_input, init) => {
    const seen = { proof: new Headers(init?.headers).get("dpop"), body: String(init?.body) };
    requests.push(seen);
    return answer(seen, requests.length);
  };
  const client = createOAuthClient({
    baseUrl: "https://auth.example.org",
    clientId: "c1",
    clientSecret: "client-secret-0123456789",
    fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
  });
  return { client, requests };
}

const dpopToken = () => Response.json({ access_token: "at-0123456789", token_type: "DPoP", expires_in: 60 });
const nonceError = (nonce: string) =>
  Response.json({ error: "use_dpop_nonce" }, { status: 400, headers: { "DPoP-Nonce": nonce } });

describe("token requests", () => {
  test("token_type DPoP is accepted only from a request made with a DPoP key", async () => {
    const { client } = fakeServer(dpopToken);
    await expect(client.clientCredentials()).rejects.toThrow(OAuthResponseError);
    await expect(client.clientCredentials()).rejects.toThrow(/"token_type" must be bearer/);
    const dpop = await createDpopKey();
    expect(await client.clientCredentials({}, { dpop })).toMatchObject({ token_type: "DPoP" });
    // Bearer stays accepted: a server that does not do DPoP answers with a bearer token (RFC 9449 §5).
    const bearer = fakeServer(() => Response.json({ access_token: "at-0123456789", token_type: "Bearer" }));
    expect(await bearer.client.clientCredentials({}, { dpop })).toMatchObject({ token_type: "Bearer" });
  });

  test("each request carries a proof of the key for the token endpoint; a given nonce is used from then on", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((_seen, count) => (count === 1 ? nonceError("n-1") : dpopToken()));
    await client.clientCredentials({}, { dpop });
    await client.clientCredentials({}, { dpop });
    expect(requests).toHaveLength(3);
    const [first, second, third] = requests.map((r) => r.proof!);
    expect(decode(first!, 0)).toEqual({ alg: "ES256", typ: "dpop+jwt", jwk: dpop.jwk });
    expect(decode(first!, 1)).toEqual({
      jti: expect.stringMatching(/^[\w-]{22}$/),
      htm: "POST",
      htu: "https://auth.example.org/oauth2/token",
      iat: expect.any(Number),
    });
    expect(decode(second!, 1)).toMatchObject({ nonce: "n-1" });
    expect(decode(third!, 1)).toMatchObject({ nonce: "n-1" });
    expect(new Set(requests.map((r) => decode(r.proof!, 1).jti)).size).toBe(3);
  });

  test("use_dpop_nonce is answered once: a server that keeps asking gets its error", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((_seen, count) => nonceError(`n-${count}`));
    const error = await client.clientCredentials({}, { dpop }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "use_dpop_nonce", status: 400 });
    expect(requests).toHaveLength(2);
  });

  test("another refusal with a nonce is not sent again: a refresh token is never spent twice", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer(() =>
      Response.json({ error: "invalid_grant" }, { status: 400, headers: { "DPoP-Nonce": "n-2" } }),
    );
    await expect(client.refreshToken({ refresh_token: "rt-0123456789" }, { dpop })).rejects.toMatchObject({
      error: "invalid_grant",
    });
    expect(requests).toHaveLength(1);
    // The nonce was learned all the same.
    const proof = await createDpopProof(dpop, { htm: "GET", htu: "https://auth.example.org/me" });
    expect(decode(proof, 1).nonce).toBe("n-2");
  });

  test("a retried request (503) is sent with a new proof", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((_seen, count) =>
      count === 1 ? Response.json({ error: "temporarily_unavailable" }, { status: 503 }) : dpopToken(),
    );
    await client.clientCredentials({}, { dpop });
    expect(requests).toHaveLength(2);
    expect(decode(requests[0]!.proof!, 1).jti).not.toBe(decode(requests[1]!.proof!, 1).jti);
  });

  test("the token manager proves its key on every token request", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer(dpopToken);
    const manager = createTokenManager({ client, grant: { type: "client_credentials" }, dpop });
    expect(await manager.getAccessToken()).toBe("at-0123456789");
    expect(requests[0]!.proof).toEqual(expect.any(String));
    expect(() => createTokenManager({ client, grant: { type: "client_credentials" }, dpop: {} as DpopKey })).toThrow(
      /options.dpop must be a DPoP key/,
    );
  });
});

describe("the token manager keeps the key's thumbprint with a DPoP-bound token set", () => {
  test("a refresh is proved with the key the tokens are bound to; with another key, or none, the refresh token is not sent", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer(() =>
      Response.json({
        access_token: "at-0123456789",
        token_type: "DPoP",
        refresh_token: "rt-0123456789",
        expires_in: 60,
      }),
    );
    const store = createMemoryTokenStore();
    const manager = createTokenManager({ client, grant: { type: "refresh_token" }, store, dpop });
    await manager.setTokens("alice", {
      access_token: "at-first",
      token_type: "DPoP",
      refresh_token: "rt-first",
      expires_in: 0,
    });
    expect((await store.get("alice"))?.dpop_jkt).toBe(dpop.jkt);
    expect(await manager.getAccessToken("alice")).toBe("at-0123456789");
    expect((await store.get("alice"))?.dpop_jkt).toBe(dpop.jkt);
    expect(requests).toHaveLength(1);

    await manager.invalidate("alice");
    for (const other of [
      createTokenManager({ client, grant: { type: "refresh_token" }, store, dpop: await createDpopKey() }),
      createTokenManager({ client, grant: { type: "refresh_token" }, store }),
    ]) {
      const error = await other.getAccessToken("alice").catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TypeError", code: ERR_INVALID_ARG_VALUE });
      expect(String(error)).toContain(`bound to DPoP key ${dpop.jkt}`);
    }
    // Nothing was sent, and the tokens are still there for the manager with the right key.
    expect(requests).toHaveLength(1);
    expect((await store.get("alice"))?.refresh_token).toBe("rt-0123456789");
    expect(await manager.getAccessToken("alice")).toBe("at-0123456789");
    expect(requests).toHaveLength(2);
  });
});

describe("keys and proofs", () => {
  test.for(["ES256", "EdDSA", "RS256", "PS256"] as const)("generateDpopKey(%s)", async (alg) => {
    const dpop = await generateDpopKey(alg);
    const proof = await createDpopProof(dpop, { htm: "GET", htu: "https://rs.example.org/items" });
    expect(decode(proof, 0)).toMatchObject({ alg, typ: "dpop+jwt", jwk: dpop.jwk });
  });

  test("createDpopProof: htu without query or fragment, ath the access token's SHA-256, the nonce given", async () => {
    const dpop = await createDpopKey();
    const proof = await createDpopProof(dpop, {
      htm: "PUT",
      htu: "https://rs.example.org/items/1?x=1#frag",
      accessToken: "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
      nonce: "rs-nonce",
    });
    expect(decode(proof, 1)).toMatchObject({
      htm: "PUT",
      htu: "https://rs.example.org/items/1",
      // RFC 9449 §7.1's example: this access token's hash.
      ath: "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
      nonce: "rs-nonce",
    });
  });

  test("a key pair, a private JWK, and the bad ones", async () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = pair.privateKey.export({ format: "jwk" });
    const fromJwk = await createDpopKey(jwk);
    expect(fromJwk.jwk).toEqual({ crv: "P-256", kty: "EC", x: jwk.x, y: jwk.y });
    const bad: unknown[] = [
      pair.publicKey.export({ format: "jwk" }),
      { kty: "oct", k: "c2VjcmV0" },
      generateKeyPairSync("ec", { namedCurve: "P-521" }).privateKey.export({ format: "jwk" }),
      {
        privateKey: (await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"])) as CryptoKey,
      },
      "key",
    ];
    for (const key of bad)
      await expect(createDpopKey(key as JsonWebKey)).rejects.toMatchObject({ code: ERR_INVALID_ARG_VALUE });
    await expect(generateDpopKey("HS256" as never)).rejects.toMatchObject({ code: ERR_INVALID_ARG_VALUE });
    const options = { htm: "GET", htu: "https://rs.example.org/" };
    await expect(createDpopProof({ ...fromJwk }, options)).rejects.toThrow(/made by createDpopKey/);
    await expect(createDpopProof(fromJwk, { ...options, htu: "/relative" })).rejects.toThrow(/options.htu/);
    await expect(createDpopProof(fromJwk, { ...options, htm: "" })).rejects.toThrow(/options.htm/);
    await expect(createDpopProof(fromJwk, { ...options, accessToken: "" })).rejects.toThrow(/options.accessToken/);
  });

  test("a key prints and serializes as its algorithm and public JWK, never its private key", async () => {
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const dpop = await createDpopKey(jwk);
    expect(JSON.parse(JSON.stringify(dpop))).toEqual({
      alg: "ES256",
      jwk: { crv: "P-256", kty: "EC", x: jwk.x, y: jwk.y },
      jkt: dpop.jkt,
    });
    // RFC 7638: the SHA-256 of the required members, sorted (test/interop/dpop.test.ts checks it against cnf.jkt).
    expect(dpop.jkt).toBe(createHash("sha256").update(JSON.stringify(dpop.jwk)).digest("base64url"));
    expect(inspect(dpop, { depth: 10, showHidden: true })).not.toContain(jwk.d);
    expect(structuredClone(dpop.jwk)).toEqual(dpop.jwk);
  });

  test("a proof quoted back in a success prints redacted", async () => {
    const dpop = await createDpopKey();
    let proof = "";
    const { client } = fakeServer((seen) => {
      proof = seen.proof!;
      return Response.json({ access_token: "at-0123456789", token_type: "DPoP", note: `proof ${proof}` });
    });
    const token = await client.clientCredentials({}, { dpop });
    expect(JSON.stringify(token)).toContain(proof); // the data stays whole
    expect(inspect(token)).toContain("proof [REDACTED]");
  });

  test("a proof quoted back in an error is redacted", async () => {
    const dpop = await createDpopKey();
    let proof = "";
    const { client } = fakeServer((seen) => {
      proof = seen.proof!;
      return Response.json({ error: "invalid_dpop_proof", error_description: `bad proof ${proof}` }, { status: 400 });
    });
    const error = await client.clientCredentials({}, { dpop }).catch((e: unknown) => e);
    expect(error).toMatchObject({ error: "invalid_dpop_proof", error_description: "bad proof [REDACTED]" });
    for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })])
      expect(text).not.toContain(proof);
  });
});

describe("nonces (RFC 9449 §8)", () => {
  const nonceOf = (proof: string | null) => decode(proof!, 1).nonce;

  test("a nonce is learned from every answer, the nonce retry's too: against a server that rotates it, a call is one request", async () => {
    const dpop = await createDpopKey();
    // Each answer hands a new nonce, and only the last one handed is accepted.
    let handed = 0;
    const { client, requests } = fakeServer((seen) => {
      const accepted = nonceOf(seen.proof) === `n-${handed}`;
      const headers = { "DPoP-Nonce": `n-${++handed}` };
      return accepted
        ? Response.json({ access_token: "at-0123456789", token_type: "DPoP" }, { headers })
        : Response.json({ error: "use_dpop_nonce" }, { status: 400, headers });
    });
    for (let call = 0; call < 5; call++) await client.clientCredentials({}, { dpop });
    // The first call learns the nonce from its refusal; every later call is sent once, with the last nonce.
    expect(requests).toHaveLength(6);
    expect(requests.map((r) => nonceOf(r.proof))).toEqual([undefined, "n-1", "n-2", "n-3", "n-4", "n-5"]);
  });

  test("a nonce given with a 503 is sent in the retry", async () => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((seen, count) => {
      if (count === 1)
        return Response.json(
          { error: "temporarily_unavailable" },
          { status: 503, headers: { "DPoP-Nonce": "n-503", "Retry-After": "0" } },
        );
      return nonceOf(seen.proof) === "n-503" ? dpopToken() : nonceError("n-503");
    });
    await client.clientCredentials({}, { dpop });
    expect(nonceOf(requests[1]!.proof)).toBe("n-503");
    expect(requests).toHaveLength(2);
  });

  /**
   * A loopback token server that accepts only its own nonce, handed with every answer. Its first answer waits
   * for `hold`, so a test can order answers across servers.
   */
  async function nonceServer(nonce: string, hold: Promise<unknown> = Promise.resolve()) {
    const received: unknown[] = [];
    let answered = () => {};
    const secondAnswered = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const server = createServer((request, response) => {
      request.resume();
      request.on("end", async () => {
        const sent = nonceOf(String(request.headers.dpop));
        received.push(sent);
        if (received.length === 1) await hold;
        const ok = sent === nonce;
        response.writeHead(ok ? 200 : 400, { "Content-Type": "application/json", "DPoP-Nonce": nonce });
        response.end(
          JSON.stringify(ok ? { access_token: "at-0123456789", token_type: "DPoP" } : { error: "use_dpop_nonce" }),
        );
        if (received.length === 2) answered();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, received, secondAnswered, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  test("a nonce is filed by the origin its request was sent to: two servers, two calls in flight, answers rebuilt by a custom fetch", async () => {
    const b = await nonceServer("nonce-B");
    // A's first answer (its refusal) comes only once B's call has had both its answers.
    const a = await nonceServer("nonce-A", b.secondAnswered);
    try {
      // A fetch that hands back a rebuilt Response, whose `url` is empty.
      const rebuilding: typeof globalThis.fetch = async (input, init) => {
        const response = await fetch(input, init);
        return new Response(await response.text(), { status: response.status, headers: response.headers });
      };
      const dpop = await createDpopKey();
      const clientOf = (baseUrl: string) =>
        createOAuthClient({ baseUrl, clientId: "c1", clientSecret: "client-secret-0123456789", fetch: rebuilding });
      const results = await Promise.allSettled([
        clientOf(a.url).clientCredentials({}, { dpop }),
        clientOf(b.url).clientCredentials({}, { dpop }),
      ]);
      // Each server got its own nonce back, and never the other's.
      expect(a.received).toEqual([undefined, "nonce-A"]);
      expect(b.received).toEqual([undefined, "nonce-B"]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      const later = async (url: string) => nonceOf(await createDpopProof(dpop, { htm: "GET", htu: `${url}/me` }));
      expect(await later(a.url)).toBe("nonce-A");
      expect(await later(b.url)).toBe("nonce-B");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test.for([
    ["too long (1025 characters)", "n".repeat(1025)],
    ["a space", "a b"],
    ["a double quote", 'a"b'],
    ["a backslash", "a\\b"],
    ["a tab", "a\tb"],
    ["two headers joined", "n-1, n-2"],
    ["a byte past ASCII", "n\u00e9"],
    ["nothing", ""],
  ])("a DPoP-Nonce with %s is ignored: not kept, not sent, no retry", async ([, hostile]) => {
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((_seen, count) =>
      count === 1
        ? Response.json({ access_token: "at-0123456789", token_type: "DPoP" }, { headers: { "DPoP-Nonce": "good" } })
        : nonceError(hostile!),
    );
    await client.clientCredentials({}, { dpop });
    await expect(client.clientCredentials({}, { dpop })).rejects.toMatchObject({ error: "use_dpop_nonce" });
    // Not sent again with it: the refusal is the caller's.
    expect(requests).toHaveLength(2);
    // The well-formed nonce learned before is the one kept.
    expect(nonceOf(await createDpopProof(dpop, { htm: "GET", htu: "https://auth.example.org/me" }))).toBe("good");
  });

  test("the longest well-formed nonce, 1024 characters of every NQCHAR, is kept and sent", async () => {
    const nqchars = [...Array(0x7f - 0x21).keys()]
      .map((i) => String.fromCharCode(0x21 + i))
      .filter((c) => c !== '"' && c !== "\\")
      .join("");
    const longest = nqchars.repeat(12).slice(0, 1024);
    const dpop = await createDpopKey();
    const { client, requests } = fakeServer((seen) =>
      nonceOf(seen.proof) === longest ? dpopToken() : nonceError(longest),
    );
    await client.clientCredentials({}, { dpop });
    expect(requests.map((r) => nonceOf(r.proof))).toEqual([undefined, longest]);
  });

  test("a key keeps the nonces of its last 100 origins: the one learned longest ago is dropped", async () => {
    const dpop = await createDpopKey();
    const origin = (i: number) => `https://as-${i}.example.org`;
    const learnFrom = (i: number) =>
      createOAuthClient({
        baseUrl: origin(i),
        clientId: "c1",
        clientSecret: "client-secret-0123456789",
        fetch: async () =>
          Response.json({ access_token: "at-0123456789", token_type: "DPoP" }, { headers: { "DPoP-Nonce": `n-${i}` } }),
      }).clientCredentials({}, { dpop });
    const kept = async (i: number) => nonceOf(await createDpopProof(dpop, { htm: "GET", htu: `${origin(i)}/me` }));
    for (let i = 0; i < 100; i++) await learnFrom(i);
    expect(await kept(0)).toBe("n-0");
    // Learned again, origin 0 is the newest; the 101st origin makes the oldest, origin 1, give way.
    await learnFrom(0);
    await learnFrom(100);
    expect(await kept(1)).toBeUndefined();
    expect(await kept(0)).toBe("n-0");
    expect(await kept(100)).toBe("n-100");
    for (let i = 101; i < 300; i++) await learnFrom(i);
    const all = await Promise.all([...Array(300).keys()].map(kept));
    expect(all.filter((nonce) => nonce !== undefined)).toHaveLength(100);
    expect(all.slice(200)).toEqual([...Array(100).keys()].map((i) => `n-${200 + i}`));
  });
});
