import { describe, expect, test } from "vitest";
import {
  createDpopKey,
  createTokenManager,
  TokenRefreshInFlightError,
  TokenStoreCorruptError,
  type TokenFailedEvent,
} from "../src/index";
import { createMemoryTokenStore } from "../src/stores/memory";
import type { TokenRecord } from "../src/stores/token-store";
import type { TokenServer } from "./helpers/token-server";
import { clientOf, HOUR, sharedStore, sleep, useTokenServerPerTest } from "./helpers/token-server-per-test";

/**
 * The token manager when clocks and stored values cannot be trusted: a wall clock stepped back or minutes ahead
 * of another replica's, a refresh mark or record of the wrong shape, a DPoP-bound token set handed to the wrong
 * manager. Each case failed before the lifecycle judged time by its own monotonic clock and checked every value.
 */

let server: TokenServer;
useTokenServerPerTest((started) => {
  server = started;
});
const client = () => clientOf(server);

/** Settles `promise` within `ms`, or says it did not. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "still waiting"> {
  return Promise.race([promise, sleep(ms).then(() => "still waiting" as const)]);
}

describe("createTokenManager and a wall clock that steps", () => {
  test("after the request budget is used, a clock stepped back 10 minutes makes the next request wait at most a second", async () => {
    server.lifetime = () => ({ expires_in: 3600 });
    let t = Date.now();
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      now: () => t,
      maxTokenRequestsPerSecond: 2,
    });
    await tokens.getAccessToken();
    await tokens.invalidate();
    await tokens.getAccessToken();
    t -= 10 * 60_000; // NTP, or the `now` option, steps back
    await tokens.invalidate();
    const started = performance.now();
    expect(await within(tokens.getAccessToken(), 3_000)).not.toBe("still waiting");
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(server.tokenRequests()).toBe(3);
  });

  test("a clock stepped back does not stretch how long a cached token is served", async () => {
    server.lifetime = () => ({ expires_in: 2 });
    let t = Date.now();
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      now: () => t,
      refreshWindowSeconds: 0,
    });
    const first = await tokens.getAccessToken();
    t -= HOUR; // stepped back: by the wall clock alone, the token would now be served for another hour
    await sleep(2_100);
    t += 2_100;
    expect(await tokens.getAccessToken()).not.toBe(first);
    expect(server.tokenRequests()).toBe(2);
  });
});

describe("createTokenManager and another replica's refresh mark", () => {
  const marked = (mark: unknown): Record<string, unknown> => ({
    access_token: "at-old",
    token_type: "Bearer",
    refresh_token: "rt-being-spent",
    expires_at_ms: Date.now() - 1,
    obtained_at_ms: Date.now() - HOUR,
    refresh_in_flight: mark,
  });

  test("a replica whose clock is 10 minutes ahead waits for a fresh mark's outcome and uses it, instead of logging the user out", async () => {
    const store = sharedStore();
    // The other replica marked its refresh just now, by its own clock.
    await store.set("user", marked({ holder: "replica-b", since_ms: Date.now() }) as unknown as TokenRecord);
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "refresh_token" },
      store,
      now: () => Date.now() + 10 * 60_000,
      refreshInFlightWaitMs: 5_000,
    });
    const waiting = tokens.getAccessToken("user");
    await sleep(1_500);
    // Replica B stores its outcome 1.5 s into a healthy refresh.
    const outcome: TokenRecord = {
      access_token: "at-from-replica-b",
      token_type: "Bearer",
      refresh_token: "rt-next",
      expires_at_ms: Date.now() + 20 * 60_000,
      obtained_at_ms: Date.now(),
    };
    await store.setUnlessNewer!("user", outcome, { replacing: "rt-being-spent" });
    expect(await waiting).toBe("at-from-replica-b");
    expect(server.requests).toHaveLength(0);
  });

  test("a replica whose clock is 10 minutes behind does not send the marked refresh token either", async () => {
    const store = sharedStore();
    const behind = () => Date.now() - 10 * 60_000;
    // Expired by this replica's own clock too: it must refresh, and finds the other replica's fresh mark.
    const record = { ...marked({ holder: "replica-b", since_ms: Date.now() }), expires_at_ms: behind() - 1 };
    await store.set("user", record as unknown as TokenRecord);
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "refresh_token" },
      store,
      now: behind,
      refreshInFlightWaitMs: 300,
    });
    await expect(tokens.getAccessToken("user")).rejects.toBeInstanceOf(TokenRefreshInFlightError);
    expect(server.requests).toHaveLength(0);
  });

  test.each([
    ["a string", "yes"],
    ["an empty object", {}],
    ["wrong field types", { holder: 42, since_ms: "soon" }],
    ["an array", ["replica-b", 0]],
    ["an extra field", { holder: "replica-b", since_ms: 0, extra: true }],
    ["null", null],
  ])(
    "a mark of the wrong shape (%s) is TokenStoreCorruptError at once, reported once, never TokenRefreshInFlightError",
    async (_, mark) => {
      const store = sharedStore();
      store.raw.set("user", marked(mark));
      const failures: TokenFailedEvent[] = [];
      const tokens = createTokenManager({
        client: client(),
        grant: { type: "refresh_token" },
        store,
        refreshInFlightWaitMs: 10_000,
        onFailed: (event) => failures.push(event),
      });
      const started = performance.now();
      const error = await within(
        tokens.getAccessToken("user").catch((e: unknown) => e),
        5_000,
      );
      expect(error).toBeInstanceOf(TokenStoreCorruptError);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(failures.map((event) => event.code)).toEqual(["TOKEN_STORE_CORRUPT"]);
      expect(server.requests).toHaveLength(0);
    },
  );
});

describe("createTokenManager and corrupt records", () => {
  test.each([
    ["not an object", "garbage"],
    ["an access token of the wrong type", { access_token: 42, token_type: "Bearer", obtained_at_ms: 0 }],
    ["a lifetime that is text", { access_token: "a", token_type: "Bearer", obtained_at_ms: 0, expires_at_ms: "soon" }],
    ["a field no manager writes", { access_token: "a", token_type: "Bearer", obtained_at_ms: 0, admin: true }],
    ["a 100 000-character token type", { access_token: "a", token_type: "B".repeat(100_000), obtained_at_ms: 0 }],
  ])("a client_credentials manager heals a record that is %s with a new token, reported once", async (_, value) => {
    const store = sharedStore();
    store.raw.set("default", value);
    const failures: TokenFailedEvent[] = [];
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      store,
      onFailed: (event) => failures.push(event),
    });
    const token = await tokens.getAccessToken();
    expect(token).toBe(server.issued[0]!.access_token);
    expect(failures.map((event) => event.code)).toEqual(["TOKEN_STORE_CORRUPT"]);
    expect((await store.get("default"))?.access_token).toBe(token);
  });
});

describe("createTokenManager.setTokens of a DPoP-bound token set", () => {
  const jwt = (claims: object) =>
    `${btoa(JSON.stringify({ alg: "none" }))}.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.sig`;

  test("a manager with no DPoP key refuses it before anything is stored", async () => {
    const store = createMemoryTokenStore();
    const tokens = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store });
    const set = tokens.setTokens("user", { access_token: "at", token_type: "DPoP", refresh_token: "rt" });
    await expect(set).rejects.toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" });
    await expect(set).rejects.toThrow(/options\.dpop/);
    expect(await store.get("user")).toBeUndefined();
  });

  test("a manager holding another key than the token's cnf.jkt refuses it; the matching key takes it", async () => {
    const mine = await createDpopKey();
    const theirs = await createDpopKey();
    const store = createMemoryTokenStore();
    const tokens = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store, dpop: mine });
    const bound = (key: { jkt: string }) => ({
      access_token: jwt({ sub: "u", cnf: { jkt: key.jkt } }),
      token_type: "DPoP",
      refresh_token: "rt",
    });
    await expect(tokens.setTokens("user", bound(theirs))).rejects.toThrow(/bound to DPoP key/);
    expect(await store.get("user")).toBeUndefined();
    await tokens.setTokens("user", bound(mine));
    expect((await store.get("user"))?.dpop_jkt).toBe(mine.jkt);
  });

  test("a Bearer token set is taken by any manager", async () => {
    const tokens = createTokenManager({ client: client(), grant: { type: "refresh_token" } });
    await tokens.setTokens("user", { access_token: "at", token_type: "Bearer", refresh_token: "rt" });
    expect((await tokens.getToken("user"))?.access_token).toBe("at");
  });
});

describe("createTokenManager after clear() or revoke()", () => {
  test.each([
    ["its default store", () => undefined],
    ["a store shared under a lock", () => sharedStore()],
  ])("a client_credentials manager on %s stores its next token: later calls send nothing", async (_, store) => {
    const shared = store();
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      ...(shared === undefined ? {} : { store: shared }),
    });
    await tokens.getAccessToken();
    await tokens.clear();
    // The deletion marker stops write-backs of the cleared token, not a token obtained after the clear.
    const next = await tokens.getAccessToken();
    for (let i = 0; i < 5; i++) expect(await tokens.getAccessToken()).toBe(next);
    expect(server.tokenRequests()).toBe(2);
    expect((await tokens.getToken())?.access_token).toBe(next);
  });
});
