import { describe, expect, inject, test } from "vitest";
import { createOAuthClient, squareAdapter } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { describeContract, operation, requestExamples, requestFormats, responseCases } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const examples = requestExamples("renewToken");
const answers = responseCases("renewToken");

describe("renewToken", () => {
  test("the spec documents a JSON request, and answers with examples", () => {
    expect(requestFormats("renewToken")).toEqual(["json"]);
    expect(examples.length).toBeGreaterThan(0);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 400, 401]));
    expect(answers[0]).toMatchObject({ status: 200 });
  });

  describeContract("renewToken");

  test("puts the client ID in the path and writes the Client prefix before the secret itself", async () => {
    const secret = "sq0csp-XrIp/W6+nLH5=Yja N5";
    const clientId = "sq0idp-wGVapF8sNt9PLrdj5znuKA";
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId,
      clientSecret: secret,
      requestFormat: "json",
      provider: squareAdapter,
    });
    // A form client with Square's adapter renews the same way: renewal is JSON whatever the request format.
    const formClient = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      clientId,
      clientSecret: secret,
      provider: squareAdapter,
    });
    const token = await client.renewToken({ access_token: "EAAAEO-access-token" });
    await formClient.renewToken({ access_token: "EAAAEO-access-token" });
    expect(token.access_token).toBe((answers[0]!.value as { access_token: string }).access_token);
    expect(exchanges).toHaveLength(2);
    for (const exchange of exchanges) {
      expect(exchange.violations).toBeNull();
      expect(exchange.url).toBe(`${prismUrl}${operation("renewToken").path.replace("{client_id}", clientId)}`);
      expect(exchange.requestHeaders.get("authorization")).toBe(`Client ${secret}`);
      expect(exchange.requestHeaders.get("content-type")).toBe("application/json");
      expect(JSON.parse(exchange.requestBody)).toStrictEqual({ access_token: "EAAAEO-access-token" });
    }
  });
});
