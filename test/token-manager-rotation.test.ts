import { describe, expect, test, vi } from "vitest";
import { createOAuthClient } from "../src/index";
import { OAuthError, OAuthResponseError, OAuthTransportError } from "../src/index";
import { createMemoryTokenStore } from "../src/stores/memory";
import type { TokenRecord, TokenStore } from "../src/stores/token-store";
import {
  createTokenManager,
  ReauthorizationRequiredError,
  type TokenFailedEvent,
  type TokenManagerBaseOptions,
} from "../src/index";
import type { TokenServer } from "./helpers/token-server";
import { clientOf, HOUR, sharedStore, T0, useTokenServerPerTest } from "./helpers/token-server-per-test";

let server: TokenServer;
let t: number;
const now = () => t;
useTokenServerPerTest((started) => {
  server = started;
  t = T0;
});
const client = () => clientOf(server);

/** A refresh_token manager seeded, as an application would, from a real authorization code exchange. */
async function seeded(options: Partial<TokenManagerBaseOptions> = {}, key = "user-1") {
  const c = client();
  const tokens = createTokenManager({ client: c, grant: { type: "refresh_token" }, now, ...options });
  await tokens.setTokens(key, await c.exchangeAuthorizationCode({ code: server.issueCode() }));
  return tokens;
}

function refreshesSent(): string[] {
  return server.requests.filter((r) => r.grant_type === "refresh_token").map((r) => r.refresh_token!);
}

/** A memory store whose next `n` writes fail, as a store that is briefly unavailable; `inner` is what it holds. */
function storeWithFailingWrites() {
  const inner = createMemoryTokenStore();
  let failing = 0;
  const store: TokenStore = {
    get: (key) => inner.get(key),
    delete: (key) => inner.delete(key),
    async set(key, record) {
      if (failing > 0) {
        failing -= 1;
        throw new Error("store unavailable");
      }
      await inner.set(key, record);
    },
  };
  return { inner, store, failNextWrites: (n: number) => void (failing = n) };
}

describe("createTokenManager refresh-token rotation", () => {
  test("each refresh stores the new refresh token; a rotated-out one is never sent again", async () => {
    const tokens = await seeded();
    const seed = server.issued[0]!;
    expect(await tokens.getAccessToken("user-1")).toBe(seed.access_token);

    for (let i = 1; i <= 5; i++) {
      t = T0 + i * HOUR;
      expect(await tokens.getAccessToken("user-1")).toBe(server.issued[i]!.access_token);
      expect((await tokens.getToken("user-1"))?.refresh_token).toBe(server.issued[i]!.refresh_token);
    }
    const sent = refreshesSent();
    expect(sent).toEqual(server.issued.slice(0, 5).map((s) => s.refresh_token));
    expect(new Set(sent).size).toBe(5);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("the new refresh token is in the store before any caller receives the new access token", async () => {
    const inner = createMemoryTokenStore();
    let releaseWrite!: () => void;
    let writeStarted!: (record: TokenRecord) => void;
    let gate: Promise<void> | undefined;
    const started = new Promise<TokenRecord>((resolve) => (writeStarted = resolve));
    const store: TokenStore = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      async set(key, record) {
        if (gate) {
          writeStarted(record);
          await gate;
        }
        await inner.set(key, record);
      },
    };
    const tokens = await seeded({ store });
    t = T0 + HOUR;
    gate = new Promise((resolve) => (releaseWrite = resolve));
    let received: string | undefined;
    const pending = tokens.getAccessToken("user-1").then((token) => (received = token));

    const written = await started;
    expect(written.refresh_token).toBe(server.issued[1]!.refresh_token);
    // The answer has arrived and the write is pending: neither the first caller nor a later one has the new
    // access token yet.
    let receivedLater: string | undefined;
    const later = tokens.getAccessToken("user-1").then((token) => (receivedLater = token));
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toBeUndefined();
    expect(receivedLater).toBeUndefined();

    releaseWrite();
    await Promise.all([pending, later]);
    expect(received).toBe(server.issued[1]!.access_token);
    expect(receivedLater).toBe(server.issued[1]!.access_token);
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[1]!.refresh_token);
  });

  test.each([
    ["the memory store", undefined],
    ["a shared store", sharedStore],
  ])("an answer without a refresh token keeps the old one (RFC 6749 §6), on %s", async (_, store) => {
    server.rotateRefreshTokens = false;
    const tokens = await seeded(store === undefined ? {} : { store: store() });
    const original = server.issued[0]!.refresh_token!;
    for (let i = 1; i <= 3; i++) {
      t = T0 + i * HOUR;
      await tokens.getAccessToken("user-1");
      expect((await tokens.getToken("user-1"))?.refresh_token).toBe(original);
    }
    expect(refreshesSent()).toEqual([original, original, original]);
  });

  test("a token set the store failed to save is handed over, saved in the background, and its refresh token not lost", async () => {
    const { inner, store, failNextWrites } = storeWithFailingWrites();
    const failures: TokenFailedEvent[] = [];
    const tokens = await seeded({ store, onFailed: (e) => failures.push(e) });
    t = T0 + HOUR;
    failNextWrites(1);
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
    expect(failures).toMatchObject([{ code: "Error", servedCurrentToken: true, reauthorizationRequired: false }]);
    // The store still holds the rotated-out token; the manager kept the new one and saves it within a second.
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[0]!.refresh_token);
    await vi.waitFor(
      async () => expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[1]!.refresh_token),
      { timeout: 3_000, interval: 50 },
    );
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
    expect(server.tokenRequests()).toBe(2);
    t = T0 + 2 * HOUR;
    await tokens.getAccessToken("user-1");
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  /**
   * Manager A's save reaches the store but A sees it fail (a Redis command that timed out after it ran), so A
   * keeps the token set as unsaved; manager B then refreshes with it and stores the next rotation. A must not
   * write its older set back over B's.
   */
  async function staleUnsaved() {
    const inner = createMemoryTokenStore();
    let lostAnswers = 0;
    const storeA: TokenStore = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      async set(key, record) {
        await inner.set(key, record);
        if (lostAnswers > 0) {
          lostAnswers -= 1;
          throw new Error("store answer lost");
        }
      },
    };
    const a = await seeded({ store: storeA });
    const b = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store: inner, now });
    t = T0 + HOUR;
    lostAnswers = 1;
    // Handed over though A believes the save failed.
    expect(await a.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[1]!.refresh_token);
    t = T0 + 2 * HOUR;
    expect(await b.getAccessToken("user-1")).toBe(server.issued[2]!.access_token);
    return { a, inner };
  }

  test("an unsaved token set is not written back over a newer one another manager stored since", async () => {
    const { a, inner } = await staleUnsaved();
    // Writing it back would send its rotated-out refresh token, meet invalid_grant and delete the live set.
    expect(await a.getAccessToken("user-1")).toBe(server.issued[2]!.access_token);
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[2]!.refresh_token);
    expect(server.replayedRefreshTokens).toEqual([]);
    expect(server.tokenRequests()).toBe(3);
    t = T0 + 3 * HOUR;
    expect(await a.getAccessToken("user-1")).toBe(server.issued[3]!.access_token);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("getToken and revoke see the newer stored set, not an older unsaved one", async () => {
    const { a, inner } = await staleUnsaved();
    expect((await a.getToken("user-1"))?.refresh_token).toBe(server.issued[2]!.refresh_token);
    await a.revoke("user-1");
    expect(server.revoked).toEqual([server.issued[2]!.refresh_token]);
    expect(await inner.get("user-1")).toBeUndefined();
  });

  test("an unsaved token set newer than the stored one is written back first", async () => {
    const { inner, store, failNextWrites } = storeWithFailingWrites();
    const tokens = await seeded({ store });
    t = T0 + HOUR;
    failNextWrites(1);
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
    expect((await tokens.getToken("user-1"))?.refresh_token).toBe(server.issued[1]!.refresh_token);
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[0]!.refresh_token);
    // The next call that needs the store saves it first, before the background save comes round.
    t = T0 + 2 * HOUR;
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[2]!.access_token);
    expect(refreshesSent()).toEqual([server.issued[0]!.refresh_token, server.issued[1]!.refresh_token]);
    expect((await inner.get("user-1"))?.refresh_token).toBe(server.issued[2]!.refresh_token);
  });

  test("a second manager on the same store picks up a rotation instead of replaying the old token", async () => {
    const store = createMemoryTokenStore();
    const a = await seeded({ store });
    const b = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store, now });
    await b.getAccessToken("user-1");
    t = T0 + HOUR;
    const fromA = await a.getAccessToken("user-1");
    expect(await b.getAccessToken("user-1")).toBe(fromA);
    expect(server.tokenRequests()).toBe(2);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("a store's withLock wraps every refresh", async () => {
    const inner = createMemoryTokenStore();
    const locked: string[] = [];
    let holders = 0;
    const store: TokenStore = {
      ...inner,
      async withLock(key, task) {
        holders += 1;
        expect(holders).toBe(1);
        locked.push(key);
        try {
          return await task();
        } finally {
          holders -= 1;
        }
      },
    };
    const tokens = await seeded({ store });
    t = T0 + HOUR;
    await Promise.all([tokens.getAccessToken("user-1"), tokens.getAccessToken("user-1")]);
    expect(locked).toEqual(["user-1", "user-1"]); // setTokens, then one shared refresh
  });

  test("setTokens during a refresh wins: the refresh does not overwrite the new seed", async () => {
    const tokens = await seeded();
    t = T0 + HOUR;
    server.hold();
    const refreshing = tokens.getAccessToken("user-1");
    await server.waitForRequests(2);
    // A new authorization arrives while the refresh is in flight (seeded from a literal: the server is held).
    const seeding = tokens.setTokens("user-1", {
      access_token: "reseeded-at",
      refresh_token: "reseeded-rt",
      token_type: "Bearer",
      expires_in: 3600,
    });
    server.release();
    expect(await refreshing).toBe(server.issued[1]!.access_token);
    await seeding;
    expect(await tokens.getAccessToken("user-1")).toBe("reseeded-at");
    expect((await tokens.getToken("user-1"))?.refresh_token).toBe("reseeded-rt");
  });
});

describe("createTokenManager refresh failures", () => {
  test("invalid_grant: ReauthorizationRequiredError, and the stored tokens are cleared", async () => {
    const failures: TokenFailedEvent[] = [];
    const tokens = await seeded({ onFailed: (e) => failures.push(e) });
    t = T0 + HOUR;
    server.failNext("invalid_grant");
    const error = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect(error).toMatchObject({ code: "OAUTH_REAUTHORIZATION_REQUIRED", key: "user-1", reason: "invalid_grant" });
    const cause = (error as ReauthorizationRequiredError).cause;
    expect(cause).toBeInstanceOf(OAuthError);
    expect((cause as OAuthError).requiresReauthorization).toBe(true);
    expect(await tokens.getToken("user-1")).toBeUndefined();
    expect(failures).toMatchObject([
      { code: "OAUTH_REAUTHORIZATION_REQUIRED", error: "invalid_grant", status: 400, reauthorizationRequired: true },
    ]);

    // Nothing is retried: the next call fails without a request.
    const requests = server.requests.length;
    await expect(tokens.getAccessToken("user-1")).rejects.toMatchObject({ reason: "no_refresh_token" });
    expect(server.requests.length).toBe(requests);
  });

  test("a refresh token the server already rotated out is refused and cleared", async () => {
    const c = client();
    const first = await c.exchangeAuthorizationCode({ code: server.issueCode() });
    await c.refreshToken({ refresh_token: first.refresh_token! }); // rotated out behind the manager's back
    const tokens = createTokenManager({ client: c, grant: { type: "refresh_token" }, now });
    await tokens.setTokens("user-1", { ...first, expires_in: 0 });
    await expect(tokens.getAccessToken("user-1")).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(server.replayedRefreshTokens).toEqual([first.refresh_token]);
    await expect(tokens.getAccessToken("user-1")).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(server.replayedRefreshTokens).toEqual([first.refresh_token]);
  });

  test("without a seed, a refresh_token manager asks for authorization and sends nothing", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "refresh_token" }, now });
    await expect(tokens.getAccessToken("nobody")).rejects.toMatchObject({
      name: "ReauthorizationRequiredError",
      reason: "no_refresh_token",
    });
    expect(server.requests).toHaveLength(0);
  });

  test.each([
    ["server_error", OAuthError, { status: 500 }],
    ["unavailable", OAuthError, { status: 503 }],
    ["bad_gateway_html", OAuthResponseError, { status: 502 }],
    ["drop", OAuthTransportError, {}],
  ] as const)(
    "%s on an expired token: the error is thrown, the tokens are untouched, a later call succeeds",
    async (failure, type, fields) => {
      const tokens = await seeded();
      const before = await tokens.getToken("user-1");
      t = T0 + HOUR + 1;
      server.failNext(failure);
      const error = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject(fields);
      expect(await tokens.getToken("user-1")).toEqual(before);

      expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
      expect(refreshesSent()).toEqual([before!.refresh_token, before!.refresh_token]);
    },
  );

  test("a transient failure inside the refresh window serves the current token and retries a second later", async () => {
    const failures: TokenFailedEvent[] = [];
    const tokens = await seeded({ onFailed: (e) => failures.push(e) });
    const current = server.issued[0]!.access_token;
    t = T0 + HOUR - 30_000; // inside the 60 s window, not expired
    server.failNext("server_error", 2);
    expect(await tokens.getAccessToken("user-1")).toBe(current);
    expect(failures).toMatchObject([
      { code: "OAUTH_ERROR", error: "server_error", status: 500, servedCurrentToken: true },
    ]);
    expect(await tokens.getAccessToken("user-1")).toBe(current);
    expect(server.tokenRequests()).toBe(2); // the exchange and one refresh: no retry yet

    t += 1_000;
    expect(await tokens.getAccessToken("user-1")).toBe(current);
    expect(server.tokenRequests()).toBe(3);
    t += 1_000;
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
  });

  test("a request that outlives requestTimeoutMs fails with a TimeoutError and keeps the tokens", async () => {
    const tokens = await seeded({ requestTimeoutMs: 50 });
    const before = await tokens.getToken("user-1");
    t = T0 + HOUR;
    server.delayMs = 1_000;
    await expect(tokens.getAccessToken("user-1")).rejects.toMatchObject({ name: "TimeoutError" });
    expect(await tokens.getToken("user-1")).toEqual(before);
  });

  test("invalid_grant on one key leaves the other keys alone", async () => {
    const tokens = await seeded({}, "user-1");
    await tokens.setTokens("user-2", await client().exchangeAuthorizationCode({ code: server.issueCode() }));
    t = T0 + HOUR;
    server.failNext("invalid_grant");
    await expect(tokens.getAccessToken("user-1")).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(await tokens.getAccessToken("user-2")).toBe(server.issued[2]!.access_token);
    expect(await tokens.getToken("user-2")).toBeDefined();
  });

  test("invalidate() after a 401 refreshes with the stored refresh token", async () => {
    server.lifetime = () => ({});
    const tokens = await seeded();
    const first = await tokens.getAccessToken("user-1");
    await tokens.invalidate("user-1", { accessToken: first });
    expect(await tokens.getAccessToken("user-1")).toBe(server.issued[1]!.access_token);
    expect(refreshesSent()).toEqual([server.issued[0]!.refresh_token]);
  });
});

describe("createTokenManager revoke", () => {
  test("revokes the refresh token (RFC 7009) and clears the store", async () => {
    const tokens = await seeded();
    const { refresh_token } = server.issued[0]!;
    await tokens.revoke("user-1");
    expect(server.requests.at(-1)).toMatchObject({
      path: "/oauth2/revoke",
      token: refresh_token,
      token_type_hint: "refresh_token",
    });
    expect(server.isLive(refresh_token!)).toBe(false);
    expect(await tokens.getToken("user-1")).toBeUndefined();
    await expect(tokens.getAccessToken("user-1")).rejects.toBeInstanceOf(ReauthorizationRequiredError);
  });

  test("a 503 keeps the tokens (they must be assumed valid); a later revoke succeeds", async () => {
    const tokens = await seeded();
    const before = await tokens.getToken("user-1");
    // Three: the client retries a revocation's 503 (retry.maxAttempts is 3 by default); all three fail here.
    server.failNext("unavailable", 3);
    await expect(tokens.revoke("user-1")).rejects.toMatchObject({ status: 503 });
    expect(await tokens.getToken("user-1")).toEqual(before);
    expect(server.revoked).toEqual([]);
    await tokens.revoke("user-1");
    expect(server.revoked).toEqual([before!.refresh_token]);
    expect(await tokens.getToken("user-1")).toBeUndefined();
  });

  test("a client_credentials token is revoked as an access token; nothing stored sends nothing", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" }, now });
    await tokens.revoke();
    expect(server.requests).toHaveLength(0);
    const token = await tokens.getAccessToken();
    await tokens.revoke();
    expect(server.requests.at(-1)).toMatchObject({ token, token_type_hint: "access_token" });
    expect(await tokens.getAccessToken()).not.toBe(token);
  });

  test("a JSON (Square) client revokes with the revokeRequest shape", async () => {
    const square = createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      requestFormat: "json",
      clientAuthentication: "client_secret_post",
    });
    const tokens = createTokenManager({
      client: square,
      grant: { type: "refresh_token" },
      now,
      revokeRequest: (record) => ({ access_token: record.access_token }),
    });
    await tokens.setTokens("merchant", await square.exchangeAuthorizationCode({ code: server.issueCode() }));
    t = T0 + HOUR;
    const access = await tokens.getAccessToken("merchant");
    expect(refreshesSent()).toEqual([server.issued[0]!.refresh_token]);
    await tokens.revoke("merchant");
    expect(server.requests.at(-1)).toMatchObject({ path: "/oauth2/revoke", access_token: access, status: 200 });
    expect(await tokens.getToken("merchant")).toBeUndefined();
  });
});

describe("refresh tokens that are dead without saying invalid_grant", () => {
  test("a 400 with no error body clears the key: ReauthorizationRequiredError, and the dead token is never sent again", async () => {
    const tokens = await seeded();
    t += 2 * HOUR;
    server.failNext("bodiless_400");
    const first = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ReauthorizationRequiredError);
    expect(first).toMatchObject({ reason: "refused_grant", key: "user-1" });
    expect((first as Error).cause).toMatchObject({ status: 400, error: "http_400" });
    const second = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
    expect(second).toMatchObject({ reason: "no_refresh_token" });
    expect(refreshesSent()).toHaveLength(1);
    expect(await tokens.getToken("user-1")).toBeUndefined();
  });

  test.each(["bodiless_401", "bodiless_403"] as const)(
    "a %s is about the client's authentication: the user's tokens stay, and a later call tries again",
    async (failure) => {
      const tokens = await seeded();
      const stored = await tokens.getToken("user-1");
      t += 2 * HOUR;
      server.failNext(failure);
      const error = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).not.toBeInstanceOf(ReauthorizationRequiredError);
      expect(await tokens.getToken("user-1")).toMatchObject({ refresh_token: stored!.refresh_token });
      await expect(tokens.getAccessToken("user-1")).resolves.toEqual(expect.any(String));
      expect(refreshesSent()).toEqual([stored!.refresh_token, stored!.refresh_token]);
    },
  );

  test("isRefusedGrant decides for other answers; a 401 never counts, whatever it says", async () => {
    const counted: string[] = [];
    const tokens = await seeded({
      isRefusedGrant: (error) => {
        counted.push(`${error.status} ${error.error}`);
        return true;
      },
    });
    t += 2 * HOUR;
    server.failNext("bodiless_401");
    await expect(tokens.getAccessToken("user-1")).rejects.not.toBeInstanceOf(ReauthorizationRequiredError);
    server.failNext("invalid_request_revoked");
    await expect(tokens.getAccessToken("user-1")).rejects.toMatchObject({ reason: "refused_grant" });
    expect(counted).toEqual(["400 invalid_request"]);
    expect(await tokens.getToken("user-1")).toBeUndefined();
  });

  test("without isRefusedGrant, another 400 error code leaves the tokens for a later try", async () => {
    const tokens = await seeded();
    t += 2 * HOUR;
    server.failNext("invalid_request_revoked");
    const error = await tokens.getAccessToken("user-1").catch((e: unknown) => e);
    expect(error).toMatchObject({ error: "invalid_request", status: 400 });
    expect(await tokens.getToken("user-1")).toBeDefined();
    expect(() =>
      createTokenManager({ client: client(), grant: { type: "refresh_token" }, isRefusedGrant: "yes" as never }),
    ).toThrow(/isRefusedGrant/);
  });
});
