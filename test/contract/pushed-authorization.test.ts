import { describe, expect, inject, test } from "vitest";
import {
  createOAuthClient,
  metadataPreset,
  pushAuthorizationRequest,
  type ClientAuthenticationMethod,
  type PushedAuthorizationParams,
} from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import {
  expectAnswer,
  requestExamples,
  requestFormats,
  responseCases,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
} from "../helpers/spec";

const prismUrl = inject("prismUrl");
const answers = responseCases("pushAuthorizationRequest");
const examples = requestExamples("pushAuthorizationRequest");
const AUTHORIZE = "https://auth.example.org/authorize?tenant=acme";
const PARAMS = {
  redirect_uri: "https://app.example.org/callback",
  scope: "openid read",
  state: "af0ifjsldkj",
  code_challenge: "K2-ltc83acc4h0c9w6ESC_rEMTJ3bww-uCHaoeK1t8U",
  code_challenge_method: "S256",
} as const satisfies PushedAuthorizationParams;

/** A client of Prism with a recording fetch; HTTP Basic unless told otherwise. */
function clientOf(method: ClientAuthenticationMethod = "client_secret_basic", clientSecret = TEST_CLIENT_SECRET) {
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient({
    baseUrl: prismUrl,
    fetch,
    clientId: TEST_CLIENT_ID,
    ...(method === "none" ? {} : { clientSecret }),
    clientAuthentication: method,
    retry: false,
  });
  return { client, exchanges };
}

/** A form body as its parameters, repeated ones in order, sorted by name. */
const fieldsOf = (body: string) => [...new URLSearchParams(body)].sort(([a], [b]) => a.localeCompare(b));

describe("pushAuthorizationRequest (pushAuthorizationRequest)", () => {
  test("the spec documents a form request, a 201 and the error answers, each with examples", () => {
    expect(requestFormats("pushAuthorizationRequest")).toEqual(["form"]);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([201, 400, 401, 413]));
    expect(answers[0]).toMatchObject({ status: 201, example: "request_uri" });
    expect(examples.map((e) => e.name)).toEqual(["public_client", "client_secret_post"]);
  });

  describe("every documented answer", () => {
    for (const answer of answers) {
      test(answer.title, async () => {
        const { client, exchanges } = clientOf();
        const outcome = pushAuthorizationRequest(client, AUTHORIZE, PARAMS, { headers: answer.requestHeaders });
        if (answer.status === 201) {
          const value = answer.value as { request_uri: string; expires_in: number };
          const pushed = await outcome;
          expect({ ...pushed }).toStrictEqual({
            ...value,
            url: `https://auth.example.org/authorize?tenant=acme&client_id=${TEST_CLIENT_ID}&request_uri=${encodeURIComponent(value.request_uri)}`,
          });
        } else await expectAnswer(outcome, answer);
        expect(exchanges.map((e) => [e.status, e.violations])).toEqual([[answer.status, null]]);
      });
    }
  });

  for (const example of examples) {
    test(`sends the form request example ${example.name}`, async () => {
      const { client_id, client_secret, response_type, ...params } = example.value as Record<string, string>;
      expect([client_id, response_type]).toEqual([TEST_CLIENT_ID, "code"]);
      const { client, exchanges } = clientOf(
        client_secret === undefined ? "none" : "client_secret_post",
        client_secret ?? undefined,
      );
      await pushAuthorizationRequest(client, AUTHORIZE, params as PushedAuthorizationParams);
      expect(exchanges).toHaveLength(1);
      const [exchange] = exchanges;
      expect(exchange!.violations).toBeNull();
      expect(new URL(exchange!.url).pathname).toBe("/oauth2/par");
      expect(exchange!.requestHeaders.get("content-type")).toBe("application/x-www-form-urlencoded");
      expect(exchange!.requestHeaders.get("authorization")).toBeNull();
      const sent = Object.entries(example.value).flatMap(([name, value]) =>
        [value].flat().map((item) => [name, String(item)]),
      );
      expect(fieldsOf(exchange!.requestBody)).toEqual(sent.sort(([a], [b]) => a!.localeCompare(b!)));
    });
  }

  test("with HTTP Basic, client_id is in the body too (RFC 9126 §2.1), and extension parameters go in extraParams", async () => {
    const { client, exchanges } = clientOf();
    await pushAuthorizationRequest(client, AUTHORIZE, PARAMS, { extraParams: { prompt: "consent" } });
    const [exchange] = exchanges;
    expect(exchange!.violations).toBeNull();
    expect(exchange!.requestHeaders.get("authorization")).toBe(
      `Basic ${btoa(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`)}`,
    );
    expect(Object.fromEntries(new URLSearchParams(exchange!.requestBody))).toStrictEqual({
      ...PARAMS,
      response_type: "code",
      client_id: TEST_CLIENT_ID,
      prompt: "consent",
    });
  });

  test("metadataPreset points it at pushed_authorization_request_endpoint, or marks it missing", async () => {
    const base = { issuer: prismUrl, token_endpoint: `${prismUrl}/oauth2/token` };
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(
      metadataPreset(
        { ...base, pushed_authorization_request_endpoint: `${prismUrl}/oauth2/par` },
        { clientId: TEST_CLIENT_ID, fetch },
      ),
    );
    await expect(pushAuthorizationRequest(client, AUTHORIZE, PARAMS)).resolves.toMatchObject({ expires_in: 60 });
    expect(exchanges.map((e) => [new URL(e.url).pathname, e.violations])).toEqual([["/oauth2/par", null]]);
    const without = createOAuthClient(metadataPreset(base, { clientId: TEST_CLIENT_ID }));
    await expect(pushAuthorizationRequest(without, AUTHORIZE, PARAMS)).rejects.toThrow(
      "the server's metadata has no pushed_authorization_request_endpoint",
    );
  });

  test.each([
    [
      "a challenge without its method",
      { ...PARAMS, code_challenge_method: undefined },
      "code_challenge_method is required with code_challenge",
    ],
    ["a plain challenge method", { ...PARAMS, code_challenge_method: "plain" }, "code_challenge_method must be"],
    ["client_id in the request", { ...PARAMS, client_id: "other" }, "client_id comes from the client options"],
    [
      "a field the spec does not describe",
      { ...PARAMS, prompt: "consent" },
      "prompt is not a field of the pushed authorization request",
    ],
    ["a relative redirect_uri", { ...PARAMS, redirect_uri: "/callback" }, "redirect_uri must be an absolute URL"],
  ])("%s is a TypeError before any request", async (_, params, message) => {
    const { client, exchanges } = clientOf();
    const error = await pushAuthorizationRequest(client, AUTHORIZE, params as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(message);
    expect(exchanges).toHaveLength(0);
  });

  test("a relative authorization endpoint, or a client without an ID, is a TypeError before any request", async () => {
    const { client, exchanges } = clientOf();
    await expect(pushAuthorizationRequest(client, "/authorize", PARAMS)).rejects.toThrow("authorizationEndpoint");
    const anonymous = createOAuthClient({ baseUrl: prismUrl });
    await expect(pushAuthorizationRequest(anonymous, AUTHORIZE, PARAMS)).rejects.toThrow("options.clientId");
    await expect(pushAuthorizationRequest({}, AUTHORIZE, PARAMS)).rejects.toThrow("createOAuthClient");
    expect(exchanges).toHaveLength(0);
  });
});
