import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { OAuthError } from "../src/index";
import {
  createTokenManager,
  ReauthorizationRequiredError,
  type TokenFailedEvent,
  type TokenRefreshedEvent,
} from "../src/index";
import type { TokenServer } from "./helpers/token-server";
import { clientOf, HOUR, T0, useTokenServerPerTest } from "./helpers/token-server-per-test";

let server: TokenServer;
let t: number;
const now = () => t;
useTokenServerPerTest((started) => {
  server = started;
  t = T0;
});
const client = () => clientOf(server);

function callers(n: number, call: () => Promise<string>): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, call));
}

describe("createTokenManager single flight", () => {
  test("1,000 concurrent getAccessToken() on an empty cache send exactly one token request", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    const results = await callers(1000, () => tokens.getAccessToken());
    expect(server.tokenRequests()).toBe(1);
    expect(new Set(results)).toEqual(new Set([server.issued[0]!.access_token]));
  });

  test("callers arriving while the refresh is in flight join it, across an expiry boundary", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    await tokens.getAccessToken();
    t = T0 + HOUR;
    server.hold();
    const early = callers(500, () => tokens.getAccessToken());
    await server.waitForRequests(2);
    const late = callers(500, () => tokens.getAccessToken());
    server.release();
    const results = [...(await early), ...(await late)];
    expect(server.tokenRequests()).toBe(2);
    expect(new Set(results)).toEqual(new Set([server.issued[1]!.access_token]));
  });

  test("five expiries with 300 callers each cost exactly five requests", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    for (let i = 1; i <= 5; i++) {
      const results = await callers(300, () => tokens.getAccessToken());
      expect(new Set(results)).toEqual(new Set([server.issued[i - 1]!.access_token]));
      t += HOUR;
    }
    expect(server.tokenRequests()).toBe(5);
  });

  test("1,000 concurrent callers of a rotating refresh_token grant: one refresh, no replay", async () => {
    const c = client();
    const tokens = createTokenManager({ client: c, grant: { type: "refresh_token" }, now });
    await tokens.setTokens("user", await c.exchangeAuthorizationCode({ code: server.issueCode() }));
    for (let i = 1; i <= 3; i++) {
      t = T0 + i * HOUR;
      const results = await callers(1000, () => tokens.getAccessToken("user"));
      expect(new Set(results)).toEqual(new Set([server.issued[i]!.access_token]));
    }
    expect(server.tokenRequests()).toBe(4);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("50 keys with 20 callers each: one request per key, each its own token", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    const keys = Array.from({ length: 50 }, (_, i) => `merchant-${i}`);
    const results = await Promise.all(keys.map((key) => callers(20, () => tokens.getAccessToken(key))));
    expect(server.tokenRequests()).toBe(50);
    for (const perKey of results) expect(new Set(perKey).size).toBe(1);
    expect(new Set(results.map((perKey) => perKey[0])).size).toBe(50);
  });

  test("1,000 callers share one failure, and the next call tries once more", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    server.failNext("server_error");
    const settled = await Promise.allSettled(Array.from({ length: 1000 }, () => tokens.getAccessToken()));
    expect(server.tokenRequests()).toBe(1);
    const reasons = new Set(settled.map((s) => (s.status === "rejected" ? s.reason : "fulfilled")));
    expect(reasons.size).toBe(1);
    expect([...reasons][0]).toBeInstanceOf(OAuthError);
    await callers(1000, () => tokens.getAccessToken());
    expect(server.tokenRequests()).toBe(2);
  });

  test("300 callers on invalid_grant all learn the user must authorize again, from one request", async () => {
    const c = client();
    const tokens = createTokenManager({ client: c, grant: { type: "refresh_token" }, now });
    await tokens.setTokens("user", await c.exchangeAuthorizationCode({ code: server.issueCode() }));
    t = T0 + HOUR;
    server.failNext("invalid_grant");
    const settled = await Promise.allSettled(Array.from({ length: 300 }, () => tokens.getAccessToken("user")));
    expect(settled.every((s) => s.status === "rejected" && s.reason instanceof ReauthorizationRequiredError)).toBe(
      true,
    );
    expect(server.tokenRequests()).toBe(2);
  });
});

describe("createTokenManager hooks", () => {
  test("refreshed and failed events carry codes and times, never a token or secret", async () => {
    const events: (TokenRefreshedEvent | TokenFailedEvent)[] = [];
    const c = client();
    const options = {
      now,
      onRefreshed: (e: TokenRefreshedEvent) => events.push(e),
      onFailed: (e: TokenFailedEvent) => events.push(e),
    };
    const refreshing = createTokenManager({ client: c, grant: { type: "refresh_token" }, ...options });
    const credentials = createTokenManager({
      client: c,
      grant: { type: "client_credentials", scope: "read" },
      ...options,
    });
    const thrown: unknown[] = [];
    const attempt = (p: Promise<unknown>) => p.catch((e: unknown) => thrown.push(e));

    await credentials.getAccessToken();
    await refreshing.setTokens("user", await c.exchangeAuthorizationCode({ code: server.issueCode() }));
    t = T0 + HOUR;
    await refreshing.getAccessToken("user");
    t = T0 + 2 * HOUR;
    for (const failure of ["server_error", "drop", "bad_gateway_html", "invalid_grant"] as const) {
      server.failNext(failure);
      await attempt(refreshing.getAccessToken("user"));
    }

    expect(events.map((e) => e.type)).toEqual(["refreshed", "refreshed", "failed", "failed", "failed", "failed"]);
    expect(events[0]).toEqual({
      type: "refreshed",
      key: "default",
      grant: "client_credentials",
      // Measured by the monotonic clock, which the fake wall clock does not move.
      durationMs: expect.any(Number),
      expiresAtMs: T0 + HOUR,
      refreshTokenRotated: false,
      scope: "read",
    });
    expect(events[1]).toMatchObject({
      type: "refreshed",
      key: "user",
      grant: "refresh_token",
      expiresAtMs: T0 + 2 * HOUR,
      refreshTokenRotated: true,
    });
    expect(events.slice(2).map((e) => (e as TokenFailedEvent).code)).toEqual([
      "OAUTH_ERROR",
      "OAUTH_TRANSPORT",
      "OAUTH_INVALID_RESPONSE",
      "OAUTH_REAUTHORIZATION_REQUIRED",
    ]);
    expect(events[5]).toMatchObject({
      error: "invalid_grant",
      status: 400,
      reauthorizationRequired: true,
      servedCurrentToken: false,
    });

    const secrets = [
      server.clientSecret,
      ...server.issued.flatMap((s) => [s.access_token, s.refresh_token ?? []].flat()),
    ];
    expect(secrets).toHaveLength(6); // client secret, cc access token, two access + refresh token pairs
    const printed = [
      JSON.stringify(events),
      inspect(events, { depth: 10 }),
      JSON.stringify(thrown),
      ...thrown.map((e) => inspect(e, { depth: 10 })),
    ].join("\n");
    for (const secret of secrets) expect(printed).not.toContain(secret);
  });

  test("a hook that throws does not break token delivery", async () => {
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      now,
      onRefreshed: () => {
        throw new Error("metrics down");
      },
    });
    expect(await tokens.getAccessToken()).toBe(server.issued[0]!.access_token);
  });
});
