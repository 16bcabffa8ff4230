import { describe, expect, inject, test } from "vitest";
import {
  createOAuthClient,
  OAuthError,
  OAuthResponseError,
  squareAdapter,
  statusAsIntrospection,
  type IntrospectionResponse,
} from "../../src/index";
import { recordingFetch, type Exchange } from "../helpers/recorder";
import { expectAnswer, invoke, operation, responseCases, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const answers = responseCases("retrieveTokenStatus");
const ACCESS_TOKEN = "EAAAEO-square-access-token-1";

/** What `introspectToken` must answer for each documented 200 example; a new example needs its line here. */
const INTROSPECTION_OF: Record<string, IntrospectionResponse> = {
  square_status: {
    active: true,
    scope: "MERCHANT_PROFILE_READ PAYMENTS_READ",
    exp: 1_797_847_200, // 2026-12-21T10:00:00Z
    client_id: "sq0idp-wGVapF8sNt9PLrdj5znuKA",
    merchant_id: "ML7Q4AA3KN2YW",
  },
  // A personal access token never expires: no exp.
  square_personal_token: {
    active: true,
    scope: "MERCHANT_PROFILE_READ",
    client_id: "sq0idp-wGVapF8sNt9PLrdj5znuKA",
    merchant_id: "ML7Q4AA3KN2YW",
  },
};

/** The request Square documents: POST, the token as bearer, no body. */
function expectStatusRequest(exchange: Exchange, token: string): void {
  expect(exchange.violations).toBeNull();
  expect(exchange.method).toBe("POST");
  expect(exchange.url).toBe(`${prismUrl}${operation("retrieveTokenStatus").path}`);
  expect(exchange.requestHeaders.get("authorization")).toBe(`Bearer ${token}`);
  expect(exchange.requestHeaders.get("content-type")).toBeNull();
  expect(exchange.requestBody).toBe("");
}

function squareClient(fetch: typeof globalThis.fetch) {
  return createOAuthClient({
    baseUrl: prismUrl,
    fetch,
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    clientAuthentication: "client_secret_post",
    requestFormat: "json",
    provider: squareAdapter,
  });
}

describe("retrieveTokenStatus", () => {
  test("the spec documents a bodiless bearer request, and answers with examples", () => {
    const { operation: op } = operation("retrieveTokenStatus");
    expect(op.requestBody).toBeUndefined();
    expect(answers.map((a) => [a.status, a.example])).toEqual([
      [200, "square_status"],
      [200, "square_personal_token"],
      [401, "square_unauthorized"],
      [401, "square_access_token_expired"],
      [401, "square_access_token_revoked"],
    ]);
  });

  describe("every documented answer", () => {
    for (const answer of answers) {
      test(answer.title, async () => {
        const { fetch, exchanges } = recordingFetch();
        await expectAnswer(
          invoke(
            squareClient(fetch),
            "retrieveTokenStatus",
            { access_token: ACCESS_TOKEN },
            { headers: answer.requestHeaders },
          ),
          answer,
        );
        expect(exchanges).toHaveLength(1);
        expect(exchanges[0]!.status).toBe(answer.status);
        expectStatusRequest(exchanges[0]!, ACCESS_TOKEN);
      });
    }
  });

  test("a 401 is an OAuthError carrying Square's code and errors list", async () => {
    const { fetch } = recordingFetch();
    const error = await squareClient(fetch)
      .retrieveTokenStatus(
        { access_token: ACCESS_TOKEN },
        { headers: { Prefer: "code=401, example=square_access_token_revoked" } },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({
      status: 401,
      error: "ACCESS_TOKEN_REVOKED",
      body: { errors: [{ category: "AUTHENTICATION_ERROR" }] },
    });
    expect(String((error as Error).message)).not.toContain(ACCESS_TOKEN);
  });

  test("a form client asks the same way: the operation has no body to encode", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      provider: squareAdapter,
    });
    await expectAnswer(client.retrieveTokenStatus({ access_token: ACCESS_TOKEN }), answers[0]!);
    expectStatusRequest(exchanges[0]!, ACCESS_TOKEN);
  });

  test("bad arguments are refused before any request", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = squareClient(fetch);
    await expect(client.retrieveTokenStatus({ access_token: "" })).rejects.toThrow(TypeError);
    await expect(client.retrieveTokenStatus({ access_token: ACCESS_TOKEN, token: "x" } as never)).rejects.toThrow(
      /token is not a field/,
    );
    await expect(client.retrieveTokenStatus(undefined as never)).rejects.toThrow(TypeError);
    expect(exchanges).toHaveLength(0);
  });
});

describe("introspectToken through retrieveTokenStatus (Square's adapter)", () => {
  test("every 200 example has its expected introspection", () => {
    expect(Object.keys(INTROSPECTION_OF).sort()).toEqual(
      answers
        .filter((a) => a.status === 200)
        .map((a) => a.example)
        .sort(),
    );
  });

  for (const answer of answers) {
    const title =
      answer.status === 200
        ? `${answer.example} maps to an active introspection`
        : `${answer.example} (401) maps to exactly { active: false }`;
    test(title, async () => {
      const { fetch, exchanges } = recordingFetch();
      const result = await squareClient(fetch).introspectToken(
        { token: ACCESS_TOKEN },
        { headers: answer.requestHeaders },
      );
      expect(result).toStrictEqual(answer.status === 200 ? INTROSPECTION_OF[answer.example!] : { active: false });
      expect(exchanges).toHaveLength(1);
      expect(exchanges[0]!.status).toBe(answer.status);
      // Nothing goes to the RFC 7662 endpoint, and no client credential travels: only the token as bearer.
      expectStatusRequest(exchanges[0]!, ACCESS_TOKEN);
    });
  }

  test("Voucherify's field name access_token works too", async () => {
    const { fetch, exchanges } = recordingFetch();
    await expect(squareClient(fetch).introspectToken({ access_token: ACCESS_TOKEN })).resolves.toStrictEqual(
      INTROSPECTION_OF.square_status,
    );
    expectStatusRequest(exchanges[0]!, ACCESS_TOKEN);
  });

  test("the default rfc7662 method still posts to the introspection endpoint", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
    });
    await client.introspectToken({ token: ACCESS_TOKEN });
    expect(exchanges.map((e) => new URL(e.url).pathname)).toEqual([operation("introspectToken").path]);
    expect(exchanges[0]!.violations).toBeNull();
  });
});

describe("statusAsIntrospection", () => {
  const json = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    return {
      response: new Response(text, { status, headers: { "content-type": "application/json" } }),
      body: status < 300 ? text : body,
    };
  };

  test("any refusal other than 401 is an error, not an inactive token", () => {
    const body = { errors: [{ category: "RATE_LIMIT_ERROR", code: "RATE_LIMITED" }] };
    expect(() => statusAsIntrospection(json(429, body))).toThrow(
      expect.objectContaining({ status: 429, error: "RATE_LIMITED" }),
    );
    expect(() => statusAsIntrospection(json(429, body))).toThrow(OAuthError);
  });

  test("an answer that breaks the contract is an OAuthResponseError", () => {
    expect(() => statusAsIntrospection(json(200, { scopes: "PAYMENTS_READ" }))).toThrow(OAuthResponseError);
    expect(() => statusAsIntrospection(json(200, { expires_at: "next tuesday" }))).toThrow(/"expires_at"/);
  });

  test.each([1798800000, "1798800000"])("expires_at as Unix seconds (%j) maps to that exp, never NaN", (expiresAt) => {
    expect(statusAsIntrospection(json(200, { expires_at: expiresAt }))).toStrictEqual({
      active: true,
      exp: 1798800000,
    });
  });

  test("an empty status is an active token with nothing more known", () => {
    expect(statusAsIntrospection(json(200, {}))).toStrictEqual({ active: true });
  });
});
