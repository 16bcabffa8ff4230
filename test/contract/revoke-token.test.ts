import { describe, expect, inject, test } from "vitest";
import { createOAuthClient, squareAdapter } from "../../src/index";
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

  test("a JSON client with client_secret_basic revokes with HTTP Basic: JSON bodies mean nothing else", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId: "s6BhdRkqt3",
      clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw",
      clientAuthentication: "client_secret_basic",
      requestFormat: "json",
    });
    await expect(client.revokeToken({ access_token: "EAAAEO-access-token" })).resolves.toBeUndefined();
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.violations).toBeNull();
    expect(exchanges[0]!.requestHeaders.get("authorization")).toBe(
      `Basic ${btoa("s6BhdRkqt3:7Fjfp0ZBr1KtDRbnfVdmIw")}`,
    );
    expect(exchanges[0]!.requestHeaders.get("content-type")).toBe("application/json");
    expect(JSON.parse(exchanges[0]!.requestBody)).toStrictEqual({ access_token: "EAAAEO-access-token" });
  });

  test("Square's adapter revokes with Authorization: Client <secret> whatever the authentication method", async () => {
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
        provider: squareAdapter,
      });
      await expect(
        client.revokeToken({ access_token: "EAAAEO-access-token", revoke_only_access_token: true }),
      ).resolves.toBeUndefined();
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
