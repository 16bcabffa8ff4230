/**
 * DPoP (RFC 9449) against Prism: a token request carries the `DPoP` header the spec declares; the spec's
 * `use_dpop_nonce` answer, with its `DPoP-Nonce` header, is answered once with a new proof holding that nonce;
 * the spec's DPoP-bound token answer is accepted with a key and refused without.
 */
import { describe, expect, inject, test } from "vitest";
import { createDpopKey, createOAuthClient, OAuthError, OAuthResponseError } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { responseCases } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const answers = responseCases("obtainToken");
const nonceAnswer = answers.find((a) => a.example === "use_dpop_nonce")!;
const dpopAnswer = answers.find((a) => a.example === "dpop")!;
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());

function client() {
  const { fetch, exchanges } = recordingFetch();
  return {
    client: createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId: "s6BhdRkqt3",
      clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw",
    }),
    exchanges,
  };
}

describe("obtainToken with a DPoP key", () => {
  test("the spec documents the DPoP header, the nonce answer and a DPoP-bound token", () => {
    expect(nonceAnswer).toMatchObject({ status: 400, headers: { "dpop-nonce": expect.any(String) } });
    expect(dpopAnswer.value).toMatchObject({ token_type: "DPoP" });
  });

  test("the spec's DPoP-bound answer is accepted with a key, and the proof is the spec's header", async () => {
    const dpop = await createDpopKey();
    const { client: c, exchanges } = client();
    const token = await c.clientCredentials({ scope: "read" }, { dpop, headers: dpopAnswer.requestHeaders });
    expect(token).toStrictEqual(dpopAnswer.value);
    expect(exchanges[0]!.violations).toBeNull();
    expect(decode(exchanges[0]!.requestHeaders.get("dpop")!)).toMatchObject({
      htm: "POST",
      htu: `${prismUrl}/oauth2/token`,
    });
    // Without the key the same answer is refused: a DPoP-bound token cannot be used as a bearer token.
    await expect(c.clientCredentials({ scope: "read" }, { headers: dpopAnswer.requestHeaders })).rejects.toThrow(
      OAuthResponseError,
    );
  });

  test("use_dpop_nonce: sent again once, with the nonce of the answer's DPoP-Nonce header", async () => {
    const dpop = await createDpopKey();
    const { client: c, exchanges } = client();
    // Prism answers use_dpop_nonce every time it is asked to: the client sends again once, then gives the error.
    const error = await c.clientCredentials({}, { dpop, headers: nonceAnswer.requestHeaders }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "use_dpop_nonce", status: 400 });
    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([
      [400, null],
      [400, null],
    ]);
    const [first, second] = exchanges.map((e) => decode(e.requestHeaders.get("dpop")!));
    expect(first).not.toHaveProperty("nonce");
    expect(second.nonce).toBe(nonceAnswer.headers["dpop-nonce"]);
  });
});
