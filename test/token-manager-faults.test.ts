import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, test, vi } from "vitest";
import { createMemoryTokenStore } from "../src/stores/memory";
import type { TokenRecord, TokenStore } from "../src/stores/token-store";
import {
  createOAuthClient,
  createTokenManager,
  ReauthorizationRequiredError,
  TokenRefreshInFlightError,
  type TokenFailedEvent,
} from "../src/index";
import type { TokenServer } from "./helpers/token-server";
import { clientOf, HOUR, sharedStore, sleep, T0, useTokenServerPerTest } from "./helpers/token-server-per-test";

/**
 * The token manager and the memory store where tokens are shared and things go wrong: a refresh another process
 * started and never finished, tokens that live no time at all, a key asked to refresh in a loop, and a store
 * that keeps every short-lived record forever. (Redis faults across processes: fault-injection/shared-tokens.)
 */

let server: TokenServer;
useTokenServerPerTest((started) => {
  server = started;
});
const client = () => clientOf(server);

describe("createTokenManager when another process is spending the refresh token (its mark is in the store)", () => {
  const marked = (since: number): TokenRecord => ({
    access_token: "at-old",
    token_type: "Bearer",
    refresh_token: "rt-being-spent",
    expires_at_ms: since,
    obtained_at_ms: since - HOUR,
    refresh_in_flight: { holder: "another-process", since_ms: since },
  });

  test("the refresh token is not sent again: a retryable TokenRefreshInFlightError after refreshInFlightWaitMs, tokens kept", async () => {
    const store = sharedStore();
    await store.set("user", marked(Date.now()));
    const failures: TokenFailedEvent[] = [];
    const tokens = createTokenManager({
      client: client(),
      grant: { type: "refresh_token" },
      store,
      refreshInFlightWaitMs: 300,
      onFailed: (e) => failures.push(e),
    });
    const started = Date.now();
    const error = await tokens.getAccessToken("user").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRefreshInFlightError);
    expect(error).toMatchObject({ code: "TOKEN_REFRESH_IN_FLIGHT", key: "user" });
    expect(error).not.toBeInstanceOf(ReauthorizationRequiredError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(failures).toMatchObject([{ code: "TOKEN_REFRESH_IN_FLIGHT", reauthorizationRequired: false }]);
    expect(server.requests).toHaveLength(0);
    expect((await store.get("user"))?.refresh_token).toBe("rt-being-spent");
  });

  test("the outcome the other process stores while this one waits is used, with no request", async () => {
    const store = sharedStore();
    await store.set("user", marked(Date.now()));
    const tokens = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store });
    const waiting = tokens.getAccessToken("user");
    await sleep(250);
    const outcome: TokenRecord = {
      access_token: "at-from-the-other-process",
      token_type: "Bearer",
      refresh_token: "rt-next",
      expires_at_ms: Date.now() + HOUR,
      obtained_at_ms: Date.now(),
    };
    expect(await store.setUnlessNewer!("user", outcome, { replacing: "rt-being-spent" })).toBe(true);
    expect(await waiting).toBe("at-from-the-other-process");
    expect(server.requests).toHaveLength(0);
  });

  test("a mark this process has seen stand for 5 minutes, by its own monotonic clock: ReauthorizationRequiredError (refresh_outcome_unknown), the record kept", async () => {
    const store = sharedStore();
    let t = T0;
    await store.set("user", marked(T0));
    // The monotonic clock (performance.now) is faked, moving with real time, so the test can jump it 5 minutes.
    vi.useFakeTimers({ toFake: ["performance"], shouldAdvanceTime: true });
    try {
      const tokens = createTokenManager({
        client: client(),
        grant: { type: "refresh_token" },
        store,
        now: () => t,
        refreshInFlightWaitMs: 200,
      });
      await expect(tokens.getAccessToken("user")).rejects.toBeInstanceOf(TokenRefreshInFlightError);
      // The wall clock alone moving 5 minutes (a step, or another machine's) proves nothing about the mark.
      t = T0 + 5 * 60_000;
      await expect(tokens.getAccessToken("user")).rejects.toBeInstanceOf(TokenRefreshInFlightError);
      vi.advanceTimersByTime(5 * 60_000);
      const error = await tokens.getAccessToken("user").catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ReauthorizationRequiredError", reason: "refresh_outcome_unknown" });
    } finally {
      vi.useRealTimers();
    }
    expect(server.requests).toHaveLength(0);
    // Kept: a late outcome from the process that was cut off still lands, and is used.
    expect((await store.get("user"))?.refresh_token).toBe("rt-being-spent");
  });

  test("its own mark (a store write that failed to lift it) does not stop this manager", async () => {
    const store = sharedStore();
    const c = client();
    const tokens = createTokenManager({ client: c, grant: { type: "refresh_token" }, store, now: () => T0 });
    await tokens.setTokens("user", {
      ...(await c.exchangeAuthorizationCode({ code: server.issueCode() })),
      expires_in: 0,
    });
    server.failNext("server_error"); // the refresh fails after the mark is written, and the mark is lifted
    await expect(tokens.getAccessToken("user")).rejects.toMatchObject({ status: 500 });
    expect((await store.get("user"))?.refresh_in_flight).toBeUndefined();
    expect(await tokens.getAccessToken("user")).toBe(server.issued[1]!.access_token);
    expect((await store.get("user"))?.refresh_token).toBe(server.issued[1]!.refresh_token);
  });
});

describe("createTokenManager with tokens that live no time", () => {
  test.each([
    ["expires_in: 0", () => ({ expires_in: 0 })],
    ["an expires_at already past", () => ({ expires_at: Math.floor(Date.now() / 1000) - 30 })],
  ])("%s: 200 sequential calls send a request a second at most, not one per call", async (_, lifetime) => {
    server.lifetime = lifetime;
    const tokens = createTokenManager({ client: client(), grant: { type: "client_credentials" } });
    const started = Date.now();
    for (let i = 0; i < 200; i++) await tokens.getAccessToken();
    const seconds = (Date.now() - started) / 1000;
    expect(server.tokenRequests()).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    console.info(`[zero lifetime] ${_}: 200 calls in ${seconds.toFixed(2)} s sent ${server.tokenRequests()} requests`);
  });

  test("invalidate() in a loop: a key sends at most maxTokenRequestsPerSecond requests a second", async () => {
    // When each request leaves, as the client's fetch sees it: what the budget counts (the server may receive one
    // a little later than the next on a loaded machine).
    const sentAt: number[] = [];
    const tokens = createTokenManager({
      client: createOAuthClient({
        baseUrl: server.url,
        clientId: server.clientId,
        clientSecret: server.clientSecret,
        fetch: (input, init) => (sentAt.push(performance.now()), fetch(input, init)),
      }),
      grant: { type: "client_credentials" },
      maxTokenRequestsPerSecond: 3,
    });
    const started = Date.now();
    for (let i = 0; i < 7; i++) {
      await tokens.getAccessToken();
      await tokens.invalidate();
    }
    expect(server.tokenRequests()).toBe(7);
    // Any 4 consecutive requests span at least a second.
    for (let i = 3; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 3]!).toBeGreaterThanOrEqual(990);
    console.info(`[rate limit] 7 forced refreshes at 3/s took ${Date.now() - started} ms`);
  });
});

describe("createMemoryTokenStore memory", () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;

  async function heapAfter(write: (store: TokenStore, round: number) => Promise<void>): Promise<number[]> {
    const store = createMemoryTokenStore({ sweepIntervalMs: 20 });
    const heap: number[] = [];
    for (let round = 0; round < 10; round++) {
      await write(store, round);
      await sleep(40); // the sweep comes round
      gc();
      heap.push(process.memoryUsage().heapUsed);
    }
    return heap;
  }

  const record = (i: number, withRefreshToken: boolean): TokenRecord => ({
    access_token: `at-${i}-${"x".repeat(200)}`,
    token_type: "Bearer",
    ...(withRefreshToken ? { refresh_token: `rt-${i}-${"y".repeat(200)}` } : {}),
    expires_at_ms: Date.now() + 5,
    obtained_at_ms: Date.now(),
  });

  test("100 000 short-lived keys without a refresh token: the heap stays flat (and grows with refresh tokens, kept)", {
    timeout: 60_000,
  }, async () => {
    const write = (withRefreshToken: boolean) => async (store: TokenStore, round: number) => {
      for (let i = 0; i < 10_000; i++)
        await store.set(`key-${round}-${i}`, record(round * 10_000 + i, withRefreshToken));
    };
    const flat = await heapAfter(write(false));
    const kept = await heapAfter(write(true));
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const flatGrowth = flat.at(-1)! - flat[0]!;
    const keptGrowth = kept.at(-1)! - kept[0]!;
    console.info(
      `[memory store] heap after each 10 000 keys, expired records dropped: ${flat.map(mb).join(", ")} MB; ` +
        `records with refresh tokens (kept, as they must be): ${kept.map(mb).join(", ")} MB; rss ${mb(process.memoryUsage().rss)} MB`,
    );
    expect(flatGrowth).toBeLessThan(3 * 1024 * 1024);
    // The measurement can tell: the same keys with refresh tokens are kept, and the heap grows with them.
    expect(keptGrowth).toBeGreaterThan(20 * 1024 * 1024);
  });

  test("an expired record without a refresh token is gone when read; the sweep timer does not keep the process alive", async () => {
    const store = createMemoryTokenStore();
    await store.set("k", {
      access_token: "at",
      token_type: "Bearer",
      expires_at_ms: Date.now() - 1,
      obtained_at_ms: 0,
    });
    await store.set("rt", {
      access_token: "at",
      token_type: "Bearer",
      refresh_token: "rt",
      expires_at_ms: Date.now() - 1,
      obtained_at_ms: 0,
    });
    expect(await store.get("k")).toBeUndefined();
    expect((await store.get("rt"))?.refresh_token).toBe("rt");
    // A child process that fills a store with expiring records still exits at once.
    const { execFileSync } = await import("node:child_process");
    const started = Date.now();
    execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        'import("./src/stores/memory.ts").then(async ({ createMemoryTokenStore }) => { const s = createMemoryTokenStore(); await s.set("k", { access_token: "a", token_type: "Bearer", expires_at_ms: Date.now() + 3600000, obtained_at_ms: Date.now() }); })',
      ],
      { timeout: 20_000 },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
