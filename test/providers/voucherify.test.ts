import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createOAuthClient,
  OAuthError,
  voucherifyAdapter,
  voucherifyPreset,
  VOUCHERIFY_SCOPES,
  type VoucherifyPresetOptions,
} from "../../src/index";
import { startPrism, type RunningPrism } from "../helpers/prism";
import { expectAccepted, loadProviderSpec, PROVIDER_SPECS, violations } from "../helpers/providers";
import { recordingFetch, type Exchange } from "../helpers/recorder";

const spec = loadProviderSpec(PROVIDER_SPECS.voucherify);
const APP_ID = "c70a6f00-cf91-4756-9df5-47628850002b";
const APP_TOKEN = "3266b9f8-e246-4f79-bdf0-833929b1380c";
const ACCESS_TOKEN = "1ABCde2FGHijKl3m4NO5pqR6STUv7wxYzAbc8dE90FgH1IJkLm";

let prism: RunningPrism;
const called = new Set<string>();

beforeAll(async () => {
  prism = await startPrism(PROVIDER_SPECS.voucherify);
});

afterAll(async () => {
  await prism?.stop();
});

function client(options: Partial<VoucherifyPresetOptions> = {}) {
  const { fetch, exchanges } = recordingFetch();
  const voucherify = createOAuthClient(
    voucherifyPreset({ appId: APP_ID, appToken: APP_TOKEN, baseUrl: prism.url, fetch, ...options }),
  );
  return { voucherify, exchanges };
}

/** Asserts Prism accepted the request with `status`, that it carried the app headers and nothing else of auth. */
function accepted(exchange: Exchange, status: number): Record<string, string> {
  expectAccepted(exchange, status);
  const operationId = spec.operationOf(exchange);
  expect(operationId).toBeDefined();
  called.add(operationId!);
  expect(exchange.requestHeaders.get("x-app-id")).toBe(APP_ID);
  expect(exchange.requestHeaders.get("x-app-token")).toBe(APP_TOKEN);
  expect(exchange.requestHeaders.get("authorization")).toBeNull();
  expect(exchange.requestHeaders.get("content-type")).toBe("application/x-www-form-urlencoded");
  return Object.fromEntries(new URLSearchParams(exchange.requestBody));
}

/** The named examples of an operation's answer, from Voucherify's spec. */
function examples(operationId: string, status: number): Record<string, { value: Record<string, unknown> }> {
  const op = spec.operations.find((o) => o.operationId === operationId)!;
  return spec.document.paths[op.path][op.method.toLowerCase()].responses[status].content["application/json"].examples;
}

describe("voucherifyPreset", () => {
  test("is configuration: app headers, /v1/oauth paths, the documented scopes", () => {
    expect(voucherifyPreset({ appId: APP_ID, appToken: APP_TOKEN })).toStrictEqual({
      baseUrl: "https://api.voucherify.io",
      clientAuthentication: "none",
      requestFormat: "form",
      endpoints: { token: "/v1/oauth/token", revoke: "/v1/oauth/token/revoke", introspect: "/v1/oauth/introspect" },
      allowedScopes: VOUCHERIFY_SCOPES,
      provider: voucherifyAdapter,
      headers: { "X-App-Id": APP_ID, "X-App-Token": APP_TOKEN },
    });
    expect(voucherifyPreset({ appId: APP_ID, appToken: APP_TOKEN, cluster: "us1.api" }).baseUrl).toBe(
      "https://us1.api.voucherify.io",
    );
  });

  test("refuses malformed options", () => {
    expect(() => voucherifyPreset({ appId: APP_ID } as never)).toThrow("appToken must be a non-empty string");
    expect(() => voucherifyPreset({ appId: "", appToken: APP_TOKEN })).toThrow(/appId/);
    expect(() => voucherifyPreset({ appId: APP_ID, appToken: APP_TOKEN, cluster: "download" as never })).toThrow(
      /cluster/,
    );
  });

  test("the scope list is the one Voucherify's spec documents, and the paths are its paths", () => {
    const description: string =
      spec.document.components.schemas.OAuthTokenGenerateRequestBody.properties.scope.description;
    const documented = [...description.split("Allowed values:")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect([...VOUCHERIFY_SCOPES]).toEqual(documented);
    const { endpoints } = voucherifyPreset({ appId: APP_ID, appToken: APP_TOKEN });
    expect(Object.values(endpoints!).sort()).toEqual(spec.operations.map((o) => o.path).sort());
  });
});

describe("Voucherify's spec", () => {
  describe("generate-oauth-token", () => {
    test("client_credentials with space-delimited scopes, in a form, authenticated by the app headers", async () => {
      const { voucherify, exchanges } = client();
      const token = await voucherify.clientCredentials({ scope: "qualifications validations redemptions" });
      expect(token).toStrictEqual(examples("generate-oauth-token", 200)["OAuth response"]!.value);
      // Unix seconds, as Voucherify sends them.
      expect(token.expires_at).toBe(1_738_945_086);
      expect(token.expires_in).toBe(900);
      expect(accepted(exchanges[0]!, 200)).toStrictEqual({
        grant_type: "client_credentials",
        scope: "qualifications validations redemptions",
      });
    });

    test.for(Object.keys(examples("generate-oauth-token", 400)))(
      "the documented 400 %s is an OAuthError with Voucherify's key",
      async (name) => {
        const { voucherify, exchanges } = client();
        const value = examples("generate-oauth-token", 400)[name]!.value;
        const error = await voucherify
          .clientCredentials({ scope: "api" }, { headers: { Prefer: `code=400, example=${name}` } })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OAuthError);
        expect(error).toMatchObject({ status: 400, error: value.key, error_description: value.message, body: value });
        accepted(exchanges[0]!, 400);
      },
    );

    test("comma-separated scopes are refused before sending, with the fix in the message", async () => {
      const { voucherify, exchanges } = client();
      await expect(voucherify.clientCredentials({ scope: "vouchers,campaigns" })).rejects.toThrow(
        'scope "vouchers,campaigns" is comma-separated: separate scopes with spaces',
      );
      await expect(voucherify.clientCredentials({ scope: "vouchers coupons" })).rejects.toThrow(
        /"coupons" is not one of the server's scopes/,
      );
      expect(exchanges).toHaveLength(0);
    });
  });

  describe("introspect-oauth-token", () => {
    test("an active token: access_token in a form; the answer as Voucherify sends it", async () => {
      const { voucherify, exchanges } = client();
      const active = examples("introspect-oauth-token", 200)["OAuth active token"]!.value;
      await expect(voucherify.introspectToken({ access_token: ACCESS_TOKEN })).resolves.toStrictEqual(active);
      expect(accepted(exchanges[0]!, 200)).toStrictEqual({ access_token: ACCESS_TOKEN });
    });

    test("an unknown token answers exactly { active: false }", async () => {
      const { voucherify, exchanges } = client();
      await expect(
        voucherify.introspectToken(
          { access_token: ACCESS_TOKEN },
          { headers: { Prefer: "example=OAuth inactive token" } },
        ),
      ).resolves.toStrictEqual({
        active: false,
      });
      accepted(exchanges[0]!, 200);
      // Voucherify's schema marks every field required, so Prism flags its own inactive example: a quirk of the
      // response schema (see test/fixtures/providers/README.md), not of the request.
      expect(violations(exchanges[0]!).every((v) => v.location[0] === "response")).toBe(true);
    });

    test("the documented 400 is an OAuthError", async () => {
      const { voucherify, exchanges } = client();
      const error = await voucherify
        .introspectToken({ access_token: ACCESS_TOKEN }, { headers: { Prefer: "code=400" } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "OAuthError",
        status: 400,
        error: "missing_parameters",
        error_description: "Missing parameters",
      });
      accepted(exchanges[0]!, 400);
    });
  });

  describe("revoke-oauth-token", () => {
    test("access_token in a form; 204 resolves", async () => {
      const { voucherify, exchanges } = client();
      await expect(voucherify.revokeToken({ access_token: ACCESS_TOKEN })).resolves.toBeUndefined();
      expect(accepted(exchanges[0]!, 204)).toStrictEqual({ access_token: ACCESS_TOKEN });
    });

    test("an unknown or inactive token answers an empty 404: an OAuthError http_404", async () => {
      const { voucherify, exchanges } = client();
      const error = await voucherify
        .revokeToken({ access_token: ACCESS_TOKEN }, { headers: { Prefer: "code=404" } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ status: 404, error: "http_404" });
      accepted(exchanges[0]!, 404);
    });

    test("RFC 7009's token field is not Voucherify's: its contract requires access_token", async () => {
      const { voucherify, exchanges } = client();
      const error = await voucherify.revokeToken({ token: ACCESS_TOKEN }).catch((e: unknown) => e);
      // Prism refuses the body with its own 422 problem answer.
      expect(exchanges[0]!.status).toBe(422);
      expect(error).toMatchObject({ status: 422 });
    });
  });

  test("every operation of the spec was called, and accepted", () => {
    expect([...called].sort()).toEqual(spec.operations.map((o) => o.operationId).sort());
  });
});
