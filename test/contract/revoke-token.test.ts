import { describe, expect, inject, test } from "vitest";
import { createOAuthClient } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { describeContract, requestExamples, requestFormats, responseCases } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const examples = requestExamples("revokeToken");
const answers = responseCases("revokeToken");

describe("revokeToken", () => {
  test("the spec documents form and JSON requests, and answers with examples", () => {
    expect(requestFormats("revokeToken")).toEqual(["form", "json"]);
    expect(examples.length).toBeGreaterThan(0);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 204, 400, 401, 404, 503]));
    expect(answers.filter((a) => a.status === 200).map((a) => a.mediaType)).toEqual(["application/json", "text/plain"]);
    expect(answers[0]).toMatchObject({ status: 200 });
  });

  describeContract("revokeToken");

  test("Square's JSON revocation writes Authorization: Client <secret> whatever the authentication method", async () => {
    const secret = "sq0csp-XrIpW6nLH5YjaN5sG3DVP0hxbwT7o9MJdmUdXjBvIJk";
    const { fetch, exchanges } = recordingFetch();
    for (const clientAuthentication of ["client_secret_basic", "client_secret_post", "none"] as const) {
      const client = createOAuthClient({
        baseUrl: prismUrl,
        fetch,
        clientId: "sq0idp-wGVapF8sNt9PLrdj5znuKA",
        clientSecret: secret,
        clientAuthentication,
        requestFormat: "json",
      });
      await expect(client.revokeToken({ access_token: "EAAAEO-access-token", revoke_only_access_token: true })).resolves.toBeUndefined();
    }
    expect(exchanges).toHaveLength(3);
    for (const exchange of exchanges) {
      expect(exchange.violations).toBeNull();
      expect(exchange.requestHeaders.get("authorization")).toBe(`Client ${secret}`);
      // The secret travels only in the header, never in Square's body.
      expect(JSON.parse(exchange.requestBody)).toStrictEqual({
        client_id: "sq0idp-wGVapF8sNt9PLrdj5znuKA",
        access_token: "EAAAEO-access-token",
        revoke_only_access_token: true,
      });
    }
  });
});
