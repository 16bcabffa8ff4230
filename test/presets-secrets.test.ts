import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  metadataPreset,
  squarePreset,
  twoBAPreset,
  voucherifyPreset,
  type OAuthClientOptions,
} from "../src/index";

const SECRET = "preset-secret-5e6f7a8b9c";
const APP_TOKEN = "voucherify-app-token-0d1e2f3a";

const presets: [string, OAuthClientOptions<"form" | "json">][] = [
  ["squarePreset", squarePreset({ clientId: "sq0idp-app", clientSecret: SECRET })],
  ["voucherifyPreset", voucherifyPreset({ appId: "app-id", appToken: APP_TOKEN })],
  ["twoBAPreset", twoBAPreset({ baseUrl: "https://auth.example.org", clientId: "partner", clientSecret: SECRET })],
  [
    "metadataPreset",
    metadataPreset(
      { issuer: "https://auth.example.org", token_endpoint: "https://auth.example.org/token" },
      { clientId: "c", clientSecret: SECRET },
    ),
  ],
];

describe("preset options print without their secrets", () => {
  test.each(presets)("%s: JSON.stringify and util.inspect show [REDACTED]", (_name, options) => {
    for (const text of [
      JSON.stringify(options),
      inspect(options, { depth: 5 }),
      inspect(options, { depth: 5, showHidden: true }),
    ]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(APP_TOKEN);
      expect(text).toContain("[REDACTED]");
    }
  });

  test.each(presets)("%s: the secret is still there for the client, and a spread copy keeps it", (_name, options) => {
    const copy = { ...options };
    expect(copy.clientSecret ?? copy.headers?.["X-App-Token"]).toMatch(/^(preset-secret|voucherify-app-token)/);
    expect(() => createOAuthClient(copy)).not.toThrow();
  });
});

describe("a secret header value is redacted from errors like the client secret", () => {
  test("an error body quoting Voucherify's X-App-Token does not carry it", async () => {
    const echo: typeof fetch = async (_input, init) =>
      new Response(
        JSON.stringify({
          code: 401,
          key: "unauthorized",
          message: `bad token ${new Headers(init?.headers).get("x-app-token")}`,
        }),
        {
          status: 401,
          headers: { "Content-Type": "application/json" },
        },
      );
    const client = createOAuthClient({ ...voucherifyPreset({ appId: "app-id", appToken: APP_TOKEN }), fetch: echo });
    const error = await client.clientCredentials({ scope: "api" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    for (const text of [(error as Error).message, JSON.stringify(error), inspect(error, { depth: 8 })])
      expect(text).not.toContain(APP_TOKEN);
  });
});
