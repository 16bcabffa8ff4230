import { describe, expect, inject, test } from "vitest";
import { createOAuthClient, type CallOptions, type OAuthClient, type RequestFormat } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import {
  answerFor,
  describeContract,
  callFor,
  SEPARATE_GRANT_HELPERS,
  expectAnswer,
  expectSent,
  parseBody,
  requestExamples,
  requestFormats,
  responseCases,
} from "../helpers/spec";

const prismUrl = inject("prismUrl");
const examples = requestExamples("obtainToken");
const answers = responseCases("obtainToken");

describe("obtainToken", () => {
  test("the spec documents form and JSON requests, and answers with examples", () => {
    expect(requestFormats("obtainToken")).toEqual(["form", "json"]);
    expect(examples.length).toBeGreaterThan(0);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 400, 401]));
    // Prism's default answer, which the request-example tests expect.
    expect(answers[0]).toMatchObject({ status: 200, example: "standard" });
  });

  describeContract("obtainToken");
});

type GrantHelper = (
  client: OAuthClient<RequestFormat>,
  params: Record<string, unknown>,
  options?: CallOptions,
) => Promise<unknown>;
const GRANT_HELPERS: Record<string, [string, GrantHelper]> = {
  authorization_code: [
    "exchangeAuthorizationCode",
    (client, params, options) => client.exchangeAuthorizationCode(params as never, options),
  ],
  refresh_token: ["refreshToken", (client, params, options) => client.refreshToken(params as never, options)],
  client_credentials: [
    "clientCredentials",
    (client, params, options) => client.clientCredentials(params as never, options),
  ],
  "urn:ietf:params:oauth:grant-type:device_code": [
    "pollDeviceAuthorization",
    SEPARATE_GRANT_HELPERS["urn:ietf:params:oauth:grant-type:device_code"]!,
  ],
  "urn:ietf:params:oauth:grant-type:token-exchange": [
    "exchangeToken",
    SEPARATE_GRANT_HELPERS["urn:ietf:params:oauth:grant-type:token-exchange"]!,
  ],
  "urn:ietf:params:oauth:grant-type:jwt-bearer": [
    "jwtBearerGrant",
    SEPARATE_GRANT_HELPERS["urn:ietf:params:oauth:grant-type:jwt-bearer"]!,
  ],
};
const helperExamples = examples
  .filter((e) => typeof e.value.grant_type === "string" && e.value.grant_type in GRANT_HELPERS)
  .map((example) => ({ ...example, helper: GRANT_HELPERS[example.value.grant_type as string]![0] }));

describe("grant helpers", () => {
  test("cover every grant of the request examples except the legacy migration_token", () => {
    const grants = new Set(examples.map((e) => e.value.grant_type));
    expect([...grants].filter((g) => !(String(g) in GRANT_HELPERS))).toEqual(["migration_token"]);
  });

  for (const example of helperExamples) {
    test(`${example.helper} sends the ${example.format} request example ${example.name}`, async () => {
      const call = callFor(example);
      const { grant_type, ...params } = call.params;
      const { fetch, exchanges } = recordingFetch();
      const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...call.options });
      const answer = answerFor(example, answers);
      const headers = answer.requestHeaders;
      await expectAnswer(GRANT_HELPERS[grant_type as string]![1](client, params, { headers }), answer);
      expect(exchanges).toHaveLength(1);
      expectSent(exchanges[0]!, example, call);
    });
  }

  test("fields given as undefined do not travel, in either format", async () => {
    const { fetch, exchanges } = recordingFetch();
    const formClient = createOAuthClient({ baseUrl: prismUrl, fetch, clientId: "s6BhdRkqt3", clientSecret: "secret" });
    const jsonClient = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId: "s6BhdRkqt3",
      clientSecret: "secret",
      requestFormat: "json",
    });
    await expectAnswer(
      formClient.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scope: undefined }),
      answers[0]!,
    );
    await expectAnswer(
      jsonClient.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scope: undefined, scopes: undefined }),
      answers[0]!,
    );
    expect(exchanges.map((e) => e.violations)).toEqual([null, null]);
    expect(exchanges[0]!.requestBody).not.toContain("undefined");
    expect(parseBody(exchanges[0]!.requestBody, "form")).toStrictEqual({
      grant_type: "refresh_token",
      refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA",
    });
    expect(JSON.parse(exchanges[1]!.requestBody)).toStrictEqual({
      grant_type: "refresh_token",
      refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA",
    });
  });

  test("clientCredentials without params sends only the grant type", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, clientId: "s6BhdRkqt3", clientSecret: "secret" });
    await expectAnswer(client.clientCredentials(), answers[0]!);
    expect(exchanges[0]!.violations).toBeNull();
    expect(exchanges[0]!.requestBody).toBe("grant_type=client_credentials");
  });
});
