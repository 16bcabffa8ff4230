import { describe, expect, test } from "vitest";
import { createPkcePair, pkceChallenge, randomUrlSafeString } from "../src/oauth/pkce";

describe("pkceChallenge", () => {
  test("matches the RFC 7636 Appendix B example", async () => {
    expect(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  test.each(["short", "x".repeat(129), `${"a".repeat(42)} `, `${"a".repeat(42)}+`])(
    "rejects the malformed verifier %j",
    async (verifier) => {
      await expect(pkceChallenge(verifier)).rejects.toThrow(TypeError);
    },
  );
});

describe("createPkcePair", () => {
  test("makes a 43-character verifier whose S256 challenge it returns", async () => {
    const pair = await createPkcePair();
    expect(pair.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.code_challenge_method).toBe("S256");
    expect(pair.code_challenge).toBe(await pkceChallenge(pair.code_verifier));
  });

  test("never repeats a verifier", async () => {
    const verifiers = new Set<string>();
    for (let i = 0; i < 200; i++) verifiers.add((await createPkcePair()).code_verifier);
    expect(verifiers.size).toBe(200);
  });
});

describe("randomUrlSafeString", () => {
  test("encodes the requested number of bytes without padding", () => {
    expect(randomUrlSafeString(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(randomUrlSafeString(96)).toMatch(/^[A-Za-z0-9_-]{128}$/);
  });

  test.each([0, 15, 97, 1.5])("rejects byteLength %d", (n) => {
    expect(() => randomUrlSafeString(n)).toThrow(TypeError);
  });
});
