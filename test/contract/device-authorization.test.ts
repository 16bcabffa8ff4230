import { inspect } from "node:util";
import { describe, expect, inject, test } from "vitest";
import {
  createOAuthClient,
  DeviceAccessDeniedError,
  DeviceCodeExpiredError,
  exchangeToken,
  metadataPreset,
  OAuthError,
  OAuthResponseError,
  pollDeviceAuthorization,
  requestDeviceAuthorization,
} from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { describeContract, requestFormats, responseCases } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const answers = responseCases("deviceAuthorization");
const tokenAnswers = responseCases("obtainToken");
const DEVICE_CODE = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";

describe("deviceAuthorization", () => {
  test("the spec documents a form request, and answers with examples", () => {
    expect(requestFormats("deviceAuthorization")).toEqual(["form"]);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 400, 401]));
    expect(answers[0]).toMatchObject({ status: 200, example: "codes" });
  });

  describeContract("deviceAuthorization");

  test("metadataPreset points the operation at the metadata's device_authorization_endpoint, or marks it missing", async () => {
    const base = { issuer: prismUrl, token_endpoint: `${prismUrl}/oauth2/token` };
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(
      metadataPreset(
        { ...base, device_authorization_endpoint: `${prismUrl}/oauth2/device_authorization` },
        { clientId: "s6BhdRkqt3", fetch },
      ),
    );
    await expect(requestDeviceAuthorization(client, { scope: "read" })).resolves.toStrictEqual(answers[0]!.value);
    expect(exchanges.map((e) => [new URL(e.url).pathname, e.violations])).toEqual([
      ["/oauth2/device_authorization", null],
    ]);
    const without = createOAuthClient(metadataPreset(base, { clientId: "s6BhdRkqt3" }));
    await expect(requestDeviceAuthorization(without)).rejects.toThrow(
      "the server's metadata has no device_authorization_endpoint",
    );
  });
});

describe("pollDeviceAuthorization against the mock's documented answers", () => {
  const client = (fetch?: typeof globalThis.fetch) =>
    createOAuthClient({ baseUrl: prismUrl, clientId: "s6BhdRkqt3", fetch });
  const prefer = (example: string) => ({ headers: { Prefer: `code=400, example=${example}` } });

  test.concurrent("access_denied ends the polling with DeviceAccessDeniedError", async () => {
    const { fetch, exchanges } = recordingFetch();
    const error = await pollDeviceAuthorization(
      client(fetch),
      { device_code: DEVICE_CODE, interval: 1 },
      prefer("access_denied"),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceAccessDeniedError);
    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([[400, null]]);
  });

  test.concurrent("expired_token ends the polling with DeviceCodeExpiredError", async () => {
    const error = await pollDeviceAuthorization(
      client(),
      { device_code: DEVICE_CODE, interval: 1 },
      prefer("expired_token"),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCodeExpiredError);
    expect(error).toMatchObject({ code: "OAUTH_DEVICE_CODE_EXPIRED", reason: "expired_token" });
    expect(inspect(error, { depth: 10 })).not.toContain(DEVICE_CODE);
  });

  test.concurrent("authorization_pending polls at the interval until expires_in leaves no time", async () => {
    const { fetch, exchanges } = recordingFetch();
    const started = Date.now();
    const error = await pollDeviceAuthorization(
      client(fetch),
      { device_code: DEVICE_CODE, interval: 1, expires_in: 3 },
      prefer("authorization_pending"),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "expires_in" });
    expect(exchanges.length).toBeGreaterThanOrEqual(1);
    expect(exchanges.length).toBeLessThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  test.concurrent("slow_down adds 5 seconds: no second poll fits in a 4-second lifetime", async () => {
    const { fetch, exchanges } = recordingFetch();
    const error = await pollDeviceAuthorization(
      client(fetch),
      { device_code: DEVICE_CODE, interval: 1, expires_in: 4 },
      prefer("slow_down"),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "expires_in" });
    expect(exchanges).toHaveLength(1);
  });

  test.concurrent("each slow_down adds 5 seconds for good, and no poll comes sooner than the interval", async () => {
    const sentAt: number[] = [];
    const timed: typeof fetch = (input, init) => {
      sentAt.push(Date.now());
      return fetch(input, init);
    };
    // Polls at 1 s, then 6 s later, then 11 s later: the third would pass the 15-second lifetime.
    const error = await pollDeviceAuthorization(
      client(timed),
      { device_code: DEVICE_CODE, interval: 1, expires_in: 15 },
      prefer("slow_down"),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "expires_in" });
    expect(sentAt).toHaveLength(2);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(6_000);
  }, 20_000);

  test.concurrent("maxWaitMs bounds a poll whose codes gave no lifetime", async () => {
    const error = await pollDeviceAuthorization(
      client(),
      { device_code: DEVICE_CODE, interval: 1 },
      { ...prefer("authorization_pending"), maxWaitMs: 1_500 },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "max_wait" });
  });

  test.concurrent("another error, such as invalid_grant, is the server's OAuthError as it is", async () => {
    const error = await pollDeviceAuthorization(
      client(),
      { device_code: DEVICE_CODE, interval: 1 },
      prefer("invalid_grant"),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe("invalid_grant");
  });
});

describe("exchangeToken against the mock", () => {
  test("an answer without issued_token_type is refused, as the spec's token exchange answer requires it", async () => {
    const client = createOAuthClient({ baseUrl: prismUrl, clientId: "s6BhdRkqt3", clientSecret: "secret-123456789" });
    const standard = tokenAnswers.find((a) => a.example === "standard")!;
    const error = await exchangeToken(
      client,
      { subject_token: "st-123456789", subject_token_type: "urn:ietf:params:oauth:token-type:access_token" },
      { headers: standard.requestHeaders },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect((error as Error).message).toContain('"issued_token_type"');
  });
});
