import { describe, expect, inject, test } from "vitest";
import { createOAuthClient } from "../src/index";
import { createTokenManager } from "../src/index";
import { recordingFetch } from "./helpers/recorder";

/** A fetch that asks Prism for a named example of the token endpoint's answer, and only of that one. */
function preferTokenExample(fetch: typeof globalThis.fetch, example: string): typeof globalThis.fetch {
  return (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).pathname === "/oauth2/token") request.headers.set("Prefer", `example=${example}`);
    return fetch(request);
  };
}

/** The manager's requests against Prism, started from the spec: every one must satisfy the spec. */
describe("createTokenManager against Prism", () => {
  test("client_credentials, refresh and revoke requests break no rule of the spec", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: inject("prismUrl"),
      clientId: "s6BhdRkqt3",
      clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw",
      fetch,
    });
    let t = Date.parse("2030-01-01T00:00:00Z");
    const credentials = createTokenManager({
      client,
      grant: { type: "client_credentials", scope: "read" },
      now: () => t,
    });
    const refreshing = createTokenManager({ client, grant: { type: "refresh_token", scope: "read" }, now: () => t });

    expect(await credentials.getAccessToken()).toBe("2YotnFZFEjr1zCsicMWpAA");
    await refreshing.setTokens("user", {
      access_token: "old",
      token_type: "Bearer",
      refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA",
      expires_in: 0,
    });
    expect(await refreshing.getAccessToken("user")).toBe("2YotnFZFEjr1zCsicMWpAA");
    expect((await refreshing.getToken("user"))?.expires_at_ms).toBe(t + 3_600_000);
    await refreshing.revoke("user");
    await credentials.revoke();

    expect(exchanges.map((e) => [e.url.replace(inject("prismUrl"), ""), e.status, e.violations])).toEqual([
      ["/oauth2/token", 200, null],
      ["/oauth2/token", 200, null],
      ["/oauth2/revoke", 200, null],
      ["/oauth2/revoke", 200, null],
    ]);
    expect(exchanges[1]!.requestBody).toContain("grant_type=refresh_token");
    expect(exchanges[2]!.requestBody).toContain("token_type_hint=refresh_token");
    // Prism's first example carries a refresh token, so the client_credentials set is revoked by it too.
    expect(exchanges[3]!.requestBody).toContain("token_type_hint=refresh_token");
  });

  test("Square (JSON, expires_at ISO) and Voucherify (expires_at Unix seconds with expires_in) lifetimes", async () => {
    const { fetch, exchanges } = recordingFetch();
    const t = Date.parse("2026-12-01T00:00:00Z");
    const square = createOAuthClient({
      baseUrl: inject("prismUrl"),
      clientId: "sq0idp-wGVapF8sNt9PLrdj5znuKA",
      clientSecret: "sq0csp-XrIpW6nLH5YjaN5sG3DVP0hxbwT7o9MJdmUdXjBvIJk",
      requestFormat: "json",
      clientAuthentication: "client_secret_post",
      fetch: preferTokenExample(fetch, "square"),
    });
    const merchants = createTokenManager({
      client: square,
      grant: { type: "refresh_token", scopes: ["MERCHANT_PROFILE_READ"] },
      now: () => t,
      revokeRequest: (r) => ({ access_token: r.access_token }),
    });
    await merchants.setTokens("ML7Q4AA3KN2YW", {
      access_token: "old",
      token_type: "bearer",
      refresh_token: "EQAAEJ-refresh-token",
      expires_at: "2026-11-30T00:00:00Z",
    });
    expect(await merchants.getAccessToken("ML7Q4AA3KN2YW")).toBe("EAAAEO-access-token");
    expect((await merchants.getToken("ML7Q4AA3KN2YW"))?.expires_at_ms).toBe(Date.parse("2026-12-21T10:00:00Z"));
    await merchants.revoke("ML7Q4AA3KN2YW");

    const voucherify = createOAuthClient({
      baseUrl: inject("prismUrl"),
      headers: { "X-App-Id": "app", "X-App-Token": "app-token" },
      fetch: preferTokenExample(fetch, "voucherify"),
    });
    // expires_at 1738945086 is 2025-02-07T16:18:06Z; 900 s from a clock 100 s before it ends later.
    const v = createTokenManager({
      client: voucherify,
      grant: { type: "client_credentials", scope: "api" },
      now: () => 1738945086_000 - 100_000,
    });
    await v.getAccessToken();
    expect((await v.getToken())?.expires_at_ms).toBe(1738945086_000);

    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([
      [200, null],
      [200, null],
      [200, null],
    ]);
    expect(JSON.parse(exchanges[1]!.requestBody)).toMatchObject({ access_token: "EAAAEO-access-token" });
  });
});
