import { describe, expect, inject, test } from "vitest";
import { createOAuthClient, OAuthTransportError, squarePreset } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { operation } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const credentials = { clientId: "s6BhdRkqt3", clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw" };
const BASIC = `Basic ${btoa(`${credentials.clientId}:${credentials.clientSecret}`)}`;
const FORM = "application/x-www-form-urlencoded";

describe("client.api: openapi-fetch typed by the spec, carrying the client's configuration", () => {
  test("a call of a spec path carries the base URL, the client's authentication and Accept, and Prism finds it valid", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    const { data, error, response } = await client.api.POST("/oauth2/introspect", {
      body: { token: "2YotnFZFEjr1zCsicMWpAA" },
      headers: { "Content-Type": FORM },
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ active: true });
    expect(exchanges).toHaveLength(1);
    const [sent] = exchanges;
    expect(sent!.url).toBe(`${prismUrl}${operation("introspectToken").path}`);
    expect(sent!.requestHeaders.get("authorization")).toBe(BASIC);
    expect(sent!.requestHeaders.get("accept")).toBe("application/json");
    expect(Object.fromEntries(new URLSearchParams(sent!.requestBody))).toStrictEqual({
      token: "2YotnFZFEjr1zCsicMWpAA",
    });
    expect(sent!.violations).toBeNull();
  });

  test("client_secret_post puts the credentials in the body, and the caller's body object is left as it was", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      ...credentials,
      clientAuthentication: "client_secret_post",
    });
    const body = { grant_type: "client_credentials" as const, scope: "read" };
    const { data } = await client.api.POST("/oauth2/token", { body, headers: { "Content-Type": FORM } });
    expect(data).toMatchObject({ access_token: expect.any(String) });
    expect(body).toStrictEqual({ grant_type: "client_credentials", scope: "read" });
    expect(Object.fromEntries(new URLSearchParams(exchanges[0]!.requestBody))).toStrictEqual({
      ...body,
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    });
    expect(exchanges[0]!.requestHeaders.get("authorization")).toBeNull();
    expect(exchanges[0]!.violations).toBeNull();
  });

  test("endpoint overrides and a provider's authentication apply: Square's renew through api", async () => {
    const { fetch, exchanges } = recordingFetch();
    const square = createOAuthClient(squarePreset({ ...credentials, baseUrl: prismUrl, fetch }));
    const { data } = await square.api.POST("/oauth2/clients/{client_id}/access-token/renew", {
      params: { path: { client_id: credentials.clientId } },
      body: { access_token: "EAAAEO-access-token" },
    });
    expect(data).toMatchObject({ token_type: "bearer" });
    expect(exchanges[0]!.requestHeaders.get("authorization")).toBe(`Client ${credentials.clientSecret}`);
    expect(exchanges[0]!.url).toBe(`${prismUrl}/oauth2/clients/${credentials.clientId}/access-token/renew`);
    expect(exchanges[0]!.violations).toBeNull();

    const { fetch: other, exchanges: moved } = recordingFetch();
    const custom = createOAuthClient({
      baseUrl: "https://auth.invalid",
      fetch: other,
      ...credentials,
      endpoints: { introspect: `${prismUrl}/oauth2/introspect` },
    });
    await custom.api.POST("/oauth2/introspect", {
      body: { token: "2YotnFZFEjr1zCsicMWpAA" },
      headers: { "Content-Type": FORM },
    });
    expect(moved[0]!.url).toBe(`${prismUrl}/oauth2/introspect`);
  });

  test("the client's time limit applies: a server that never answers ends in a typed time-out", async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch: hanging,
      ...credentials,
      timeoutMs: 50,
      retry: false,
    });
    const error = await client.api
      .POST("/oauth2/introspect", { body: { token: "t" }, headers: { "Content-Type": FORM } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthTransportError);
    expect(error).toMatchObject({ timedOut: true });
  });

  test("an error answer comes back as openapi-fetch's error, parsed", async () => {
    const { fetch } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    const { data, error, response } = await client.api.POST("/oauth2/token", {
      body: { grant_type: "refresh_token", refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA" },
      headers: { "Content-Type": FORM, Prefer: "code=400, example=invalid_grant" },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(400);
    expect(error).toMatchObject({ error: "invalid_grant" });
  });

  test("redaction applies: an error answer that quotes the client secret or a token of the request comes back without them", async () => {
    const echo: typeof fetch = async (_input, init) => {
      const sent = new URLSearchParams(String(init?.body));
      const text = `refresh token ${sent.get("refresh_token")} is unknown to client ${sent.get("client_secret")}`;
      return new Response(JSON.stringify({ error: "invalid_grant", error_description: text }), {
        status: 400,
        headers: { "Content-Type": "application/json" },
      });
    };
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch: echo,
      ...credentials,
      clientAuthentication: "client_secret_post",
    });
    const { error } = await client.api.POST("/oauth2/token", {
      body: { grant_type: "refresh_token", refresh_token: "RT-secret-0123456789" },
      headers: { "Content-Type": FORM },
    });
    const text = JSON.stringify(error);
    expect(text).toContain("invalid_grant");
    expect(text).toContain("[REDACTED]");
    expect(text).not.toContain("RT-secret-0123456789");
    expect(text).not.toContain(credentials.clientSecret);
  });
});
