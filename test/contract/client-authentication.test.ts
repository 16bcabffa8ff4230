import { describe, expect, inject, test } from "vitest";
import {
  createOAuthClient,
  type ClientAuthenticationMethod,
  type OAuthClientOptions,
  type RequestFormat,
} from "../../src/index";
import { recordingFetch, type Exchange } from "../helpers/recorder";
import { callFor, invoke, parseBody, requestExamples, type OperationId } from "../helpers/spec";

const prismUrl = inject("prismUrl");

/** The operations that authenticate with the configured method, each with the spec's first request example. */
const targets = (
  [
    ["obtainToken", "form"],
    ["obtainToken", "json"],
    ["revokeToken", "form"],
    ["introspectToken", "form"],
  ] as const
).map(([operationId, format]) => {
  const example = requestExamples(operationId).find((e) => e.format === format)!;
  return { operationId: operationId as OperationId, format: format as RequestFormat, params: callFor(example).params };
});

async function send(
  target: (typeof targets)[number],
  options: Omit<OAuthClientOptions, "baseUrl" | "fetch" | "requestFormat">,
): Promise<{ exchange: Exchange; body: Record<string, unknown> }> {
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient({ baseUrl: prismUrl, fetch, requestFormat: target.format, ...options });
  await invoke(client, target.operationId, target.params);
  expect(exchanges).toHaveLength(1);
  const exchange = exchanges[0]!;
  expect(exchange.violations).toBeNull();
  expect(exchange.status).toBe(200);
  return { exchange, body: parseBody(exchange.requestBody, target.format) as Record<string, unknown> };
}

describe.for(targets.map((t) => [`${t.operationId} (${t.format})`, t] as const))(
  "client authentication of %s",
  ([, target]) => {
    test("client_secret_basic form-urlencodes ID and secret before Base64 (RFC 6749 §2.3.1)", async () => {
      const { exchange, body } = await send(target, {
        clientId: "my client:1",
        clientSecret: "a b:c%é+/",
        clientAuthentication: "client_secret_basic",
      });
      // "my client:1" -> my+client%3A1, "a b:c%é+/" -> a+b%3Ac%25%C3%A9%2B%2F
      expect(exchange.requestHeaders.get("authorization")).toBe(
        `Basic ${btoa("my+client%3A1:a+b%3Ac%25%C3%A9%2B%2F")}`,
      );
      expect(body).not.toHaveProperty("client_id");
      expect(body).not.toHaveProperty("client_secret");
    });

    test("client_secret_basic is the default when a secret is given", async () => {
      const { exchange, body } = await send(target, { clientId: "s6BhdRkqt3", clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw" });
      expect(exchange.requestHeaders.get("authorization")).toBe("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
      expect(body).not.toHaveProperty("client_secret");
    });

    test("client_secret_post puts ID and secret in the body, unencoded beyond the body's own encoding", async () => {
      const { exchange, body } = await send(target, {
        clientId: "my client:1",
        clientSecret: "a b:c%é+/",
        clientAuthentication: "client_secret_post",
      });
      expect(exchange.requestHeaders.get("authorization")).toBeNull();
      expect(body).toMatchObject({ client_id: "my client:1", client_secret: "a b:c%é+/" });
    });

    test("none sends the client ID alone", async () => {
      const { exchange, body } = await send(target, { clientId: "s6BhdRkqt3", clientAuthentication: "none" });
      expect(exchange.requestHeaders.get("authorization")).toBeNull();
      expect(body.client_id).toBe("s6BhdRkqt3");
      expect(body).not.toHaveProperty("client_secret");
    });

    test("none is the default without a secret, and sends no client ID when there is none", async () => {
      const { exchange, body } = await send(target, { headers: { "X-App-Id": "app", "X-App-Token": "app-token" } });
      expect(exchange.requestHeaders.get("authorization")).toBeNull();
      expect(exchange.requestHeaders.get("x-app-id")).toBe("app");
      expect(body).not.toHaveProperty("client_id");
      expect(body).not.toHaveProperty("client_secret");
    });

    test("none keeps a configured secret out of the request", async () => {
      const secret = "unused-secret-Zq81";
      const { exchange } = await send(target, {
        clientId: "s6BhdRkqt3",
        clientSecret: secret,
        clientAuthentication: "none" satisfies ClientAuthenticationMethod,
      });
      expect(exchange.requestBody).not.toContain(secret);
      expect(exchange.requestHeaders.get("authorization")).toBeNull();
    });
  },
);
