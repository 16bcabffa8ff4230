import { describe, expect, test, vi } from "vitest";
import { createOAuthClient } from "../src/index";
import { computeExpiresAtMs, computeRefreshAtMs } from "../src/oauth/expiry";
import { createMemoryTokenStore } from "../src/stores/memory";
import { TokenStoreCorruptError, type TokenStore } from "../src/stores/token-store";
import { createTokenManager, type TokenFailedEvent, type TokenManagerOptions } from "../src/index";
import { cachedKeyCount } from "../src/lifecycle/token-manager";
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

function manager(options: Partial<TokenManagerOptions> = {}) {
  return createTokenManager({ client: client(), grant: { type: "client_credentials" }, now, ...options });
}

/**
 * A memory store that fails on demand: every read (`get`), reads under its lock only (`lockedGet`), the next
 * `set` writes, every write of the keys in `setKeys`, or taking the lock (`lock`, with the Redis store's lock-timeout code). `withLock` only when asked.
 */
function faultyStore(options: { withLock?: boolean } = {}) {
  const inner = createMemoryTokenStore();
  const faults = { get: false, lockedGet: false, set: 0, lock: false, setKeys: [] as string[] };
  let locked = false;
  const store: TokenStore = {
    async get(key) {
      if (faults.get || (locked && faults.lockedGet)) throw new Error("store read failed");
      return inner.get(key);
    },
    async set(key, record) {
      if (faults.setKeys.includes(key)) throw new Error("store write failed");
      if (faults.set > 0) {
        faults.set -= 1;
        throw new Error("store write failed");
      }
      await inner.set(key, record);
    },
    delete: (key) => inner.delete(key),
  };
  if (options.withLock) {
    store.withLock = async (_key, task) => {
      if (faults.lock) throw Object.assign(new Error("lock held elsewhere"), { code: "TOKEN_STORE_LOCK_TIMEOUT" });
      locked = true;
      try {
        return await task();
      } finally {
        locked = false;
      }
    };
  }
  return { store, inner, faults };
}

describe("computeExpiresAtMs", () => {
  test("expires_in counts from the time the request was sent", () => {
    expect(computeExpiresAtMs({ expires_in: 3600 }, T0)).toBe(T0 + HOUR);
    expect(computeExpiresAtMs({ expires_in: "900" }, T0)).toBe(T0 + 900_000);
    expect(computeExpiresAtMs({ expires_in: 0 }, T0)).toBe(T0);
  });

  test("expires_at as an ISO string, Unix seconds, or a string of Unix seconds", () => {
    expect(computeExpiresAtMs({ expires_at: "2030-01-31T00:00:00Z" }, T0)).toBe(T0 + 30 * 24 * HOUR);
    expect(computeExpiresAtMs({ expires_at: T0 / 1000 + 900 }, T0)).toBe(T0 + 900_000);
    expect(computeExpiresAtMs({ expires_at: String(T0 / 1000 + 900) }, T0)).toBe(T0 + 900_000);
  });

  test("the earlier of expires_in and expires_at wins", () => {
    expect(computeExpiresAtMs({ expires_in: 900, expires_at: T0 / 1000 + 600 }, T0)).toBe(T0 + 600_000);
    expect(computeExpiresAtMs({ expires_in: 600, expires_at: "2030-01-01T00:15:00Z" }, T0)).toBe(T0 + 600_000);
  });

  test("no lifetime gives undefined; a malformed one throws", () => {
    expect(computeExpiresAtMs({}, T0)).toBeUndefined();
    expect(() => computeExpiresAtMs({ expires_in: -1 }, T0)).toThrow(TypeError);
    expect(() => computeExpiresAtMs({ expires_in: "soon" }, T0)).toThrow(/expires_in/);
    expect(() => computeExpiresAtMs({ expires_at: "not a date" }, T0)).toThrow(/expires_at/);
  });
});

describe("computeRefreshAtMs", () => {
  test("the window before expiry, at most half the lifetime, never for an unknown lifetime", () => {
    expect(computeRefreshAtMs(T0 + HOUR, T0, 60_000)).toBe(T0 + HOUR - 60_000);
    expect(computeRefreshAtMs(T0 + 30_000, T0, 60_000)).toBe(T0 + 15_000);
    expect(computeRefreshAtMs(T0 + HOUR, undefined, 60_000)).toBe(T0 + HOUR - 60_000);
    expect(computeRefreshAtMs(undefined, T0, 60_000)).toBe(Infinity);
  });
});

describe("createTokenManager getAccessToken (client_credentials, fake clock)", () => {
  test("serves from the cache until the refresh window, then obtains a new token", async () => {
    const tokens = manager({ grant: { type: "client_credentials", scope: "read write" } });
    const first = await tokens.getAccessToken();
    expect(first).toBe(server.issued[0]!.access_token);
    expect(server.requests[0]).toMatchObject({ grant_type: "client_credentials", scope: "read write" });

    t = T0 + HOUR - 60_001;
    expect(await tokens.getAccessToken()).toBe(first);
    expect(server.tokenRequests()).toBe(1);

    t = T0 + HOUR - 60_000;
    const second = await tokens.getAccessToken();
    expect(second).toBe(server.issued[1]!.access_token);
    expect(second).not.toBe(first);
    expect(server.tokenRequests()).toBe(2);
    expect(await tokens.getToken()).toMatchObject({
      access_token: second,
      token_type: "Bearer",
      scope: "read write",
      expires_at_ms: t + HOUR,
    });
  });

  test("refreshWindowSeconds sets how early the token is replaced", async () => {
    const tokens = manager({ refreshWindowSeconds: 600 });
    await tokens.getAccessToken();
    t = T0 + HOUR - 600_001;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(1);
    t = T0 + HOUR - 600_000;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(2);
  });

  test("expires_in counts from when the request was sent, not when the answer came", async () => {
    // The server's answer takes 10 s on the fake clock.
    server.lifetime = () => {
      t += 10_000;
      return { expires_in: 3600 };
    };
    const tokens = manager();
    await tokens.getAccessToken();
    expect((await tokens.getToken())?.expires_at_ms).toBe(T0 + HOUR);
  });

  test("expires_at as an ISO 8601 string (Square)", async () => {
    server.lifetime = () => ({ expires_at: new Date(t + 30 * 24 * HOUR).toISOString() });
    const tokens = manager();
    await tokens.getAccessToken();
    t = T0 + 30 * 24 * HOUR - 60_001;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(1);
    t += 1;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(2);
  });

  test("expires_at as Unix seconds, with expires_in, the earlier wins (Voucherify)", async () => {
    server.lifetime = () => ({ expires_in: 900, expires_at: Math.floor(t / 1000) + 300 });
    const tokens = manager();
    await tokens.getAccessToken();
    expect((await tokens.getToken())?.expires_at_ms).toBe(T0 + 300_000);
    t = T0 + 240_000;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(2);
  });

  test("a token shorter-lived than twice the window is used for half its life", async () => {
    server.lifetime = () => ({ expires_in: 30 });
    const tokens = manager({ refreshWindowSeconds: 60 });
    await tokens.getAccessToken();
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(1);
    t = T0 + 15_000;
    await tokens.getAccessToken();
    expect(server.tokenRequests()).toBe(2);
  });

  test("without a lifetime the token is kept until invalidate()", async () => {
    server.lifetime = () => ({});
    const tokens = manager();
    const first = await tokens.getAccessToken();
    t = T0 + 10 * 365 * 24 * HOUR;
    expect(await tokens.getAccessToken()).toBe(first);
    expect(server.tokenRequests()).toBe(1);
    expect((await tokens.getToken())?.expires_at_ms).toBeUndefined();

    await tokens.invalidate();
    const second = await tokens.getAccessToken();
    expect(second).not.toBe(first);
    expect(server.tokenRequests()).toBe(2);
  });

  test("invalidate() takes effect at once, even before it resolves", async () => {
    server.lifetime = () => ({});
    const tokens = manager();
    const first = await tokens.getAccessToken();
    const invalidated = tokens.invalidate();
    const second = await tokens.getAccessToken();
    await invalidated;
    expect(second).not.toBe(first);
    expect(server.tokenRequests()).toBe(2);
  });

  test("invalidate({ accessToken }) of a token already replaced sends no request", async () => {
    server.lifetime = () => ({});
    const tokens = manager();
    const first = await tokens.getAccessToken();
    await tokens.invalidate("default", { accessToken: first });
    const second = await tokens.getAccessToken();
    // A late 401 for the first token must not throw away the second.
    await tokens.invalidate("default", { accessToken: first });
    expect(await tokens.getAccessToken()).toBe(second);
    expect(server.tokenRequests()).toBe(2);
  });

  test("a token invalidated while it is being loaded is not cached by that load", async () => {
    const inner = createMemoryTokenStore();
    await inner.set("default", { access_token: "loaded-then-rejected", token_type: "Bearer", obtained_at_ms: T0 });
    const gates: (() => void)[] = [];
    const store = {
      ...inner,
      get: async (key: string) => (await new Promise<void>((r) => gates.push(r)), inner.get(key)),
    };
    const readPending = async () => {
      while (gates.length === 0) await new Promise((r) => setTimeout(r, 1));
    };
    const tokens = manager({ store });
    const loading = tokens.getAccessToken(); // waits in store.get
    const invalidating = tokens.invalidate("default", { accessToken: "loaded-then-rejected" });
    await readPending();
    gates.shift()!(); // the load reads the token, which the caller from before invalidate() receives
    expect(await loading).toBe("loaded-then-rejected");
    await readPending(); // invalidate's own read has begun: a caller now must not get the rejected token
    const after = tokens.getAccessToken();
    gates.shift()!();
    await invalidating;
    // The later caller goes to the store (and then the server) instead of a cache holding the rejected token.
    expect(await Promise.race([after, readPending().then(() => "store read")])).toBe("store read");
    gates.shift()!();
    expect(await after).toBe(server.issued[0]!.access_token);
    expect(server.tokenRequests()).toBe(1);
  });

  test("an invalidated token is not served again from the store by another manager", async () => {
    server.lifetime = () => ({});
    const store = createMemoryTokenStore();
    const a = manager({ store });
    const b = manager({ store });
    const first = await a.getAccessToken();
    await a.invalidate();
    const fromB = await b.getAccessToken();
    expect(fromB).not.toBe(first);
    expect(server.tokenRequests()).toBe(2);
  });

  test("a key's cached token is served without touching the store", async () => {
    const inner = createMemoryTokenStore();
    let reads = 0;
    const store = { ...inner, get: (key: string) => (reads++, inner.get(key)) };
    const tokens = manager({ store });
    await tokens.getAccessToken();
    const readsAfterFirst = reads;
    for (let i = 0; i < 1000; i++) await tokens.getAccessToken();
    expect(reads).toBe(readsAfterFirst);
    expect(server.tokenRequests()).toBe(1);
  });

  test("keys hold independent token sets", async () => {
    const tokens = manager();
    const a = await tokens.getAccessToken("merchant-a");
    const b = await tokens.getAccessToken("merchant-b");
    expect(a).not.toBe(b);
    await tokens.clear("merchant-a");
    expect(await tokens.getToken("merchant-a")).toBeUndefined();
    expect(await tokens.getAccessToken("merchant-b")).toBe(b);
    expect(server.tokenRequests()).toBe(2);
  });

  test("clear() forgets a token set without contacting the server", async () => {
    const tokens = manager();
    const first = await tokens.getAccessToken();
    await tokens.clear();
    expect(server.requests).toHaveLength(1);
    expect(await tokens.getAccessToken()).not.toBe(first);
  });

  test("a store another process filled is read once and then cached", async () => {
    const store = createMemoryTokenStore();
    await store.set("default", {
      access_token: "from-elsewhere",
      token_type: "Bearer",
      expires_at_ms: T0 + HOUR,
      obtained_at_ms: T0,
    });
    const tokens = manager({ store });
    expect(await tokens.getAccessToken()).toBe("from-elsewhere");
    expect(server.requests).toHaveLength(0);
  });
});

describe("createTokenManager when the store fails (fake clock)", () => {
  test("a store that cannot be read (no withLock: the only read): the current token is served until it expires", async () => {
    const { store, faults } = faultyStore();
    const failures: TokenFailedEvent[] = [];
    const tokens = manager({ store, onFailed: (e) => failures.push(e) });
    const current = await tokens.getAccessToken();
    t = T0 + HOUR - 30_000; // inside the refresh window, not expired
    faults.get = true;
    expect(await tokens.getAccessToken()).toBe(current);
    t = T0 + HOUR;
    await expect(tokens.getAccessToken()).rejects.toThrow("store read failed");
    expect(failures.map((f) => [f.code, f.servedCurrentToken])).toEqual([
      ["Error", true],
      ["Error", false],
    ]);
    expect(server.tokenRequests()).toBe(1);
  });

  test.each(["lockedGet", "lock"] as const)(
    "with withLock, %s failing: the unexpired token the store just returned is served, though nothing was cached",
    async (fault) => {
      const { store, inner, faults } = faultyStore({ withLock: true });
      // Stored by another process; inside its refresh window, so the manager goes on to the lock.
      await inner.set("default", {
        access_token: "stored-at",
        token_type: "Bearer",
        expires_at_ms: T0 + 30_000,
        obtained_at_ms: T0 - HOUR + 30_000,
      });
      const failures: TokenFailedEvent[] = [];
      const tokens = manager({ store, onFailed: (e) => failures.push(e) });
      faults[fault] = true;
      expect(await tokens.getAccessToken()).toBe("stored-at");
      expect(failures).toMatchObject([
        { code: fault === "lock" ? "TOKEN_STORE_LOCK_TIMEOUT" : "Error", servedCurrentToken: true },
      ]);
      expect(server.tokenRequests()).toBe(0);
      t = T0 + 30_000; // expired: the failure reaches the caller
      await expect(tokens.getAccessToken()).rejects.toThrow(
        fault === "lock" ? "lock held elsewhere" : "store read failed",
      );
    },
  );

  test("a new token that cannot be saved is handed over at once, reported, and saved in the background", async () => {
    const { store, inner, faults } = faultyStore();
    const failures: TokenFailedEvent[] = [];
    const tokens = manager({ store, onFailed: (e) => failures.push(e) });
    const current = await tokens.getAccessToken();
    t = T0 + HOUR - 30_000;
    faults.set = 2; // the save, and the first background retry
    expect(await tokens.getAccessToken()).toBe(server.issued[1]!.access_token);
    expect(failures).toMatchObject([{ code: "Error", servedCurrentToken: true, reauthorizationRequired: false }]);
    expect((await inner.get("default"))?.access_token).toBe(current);
    expect(await tokens.getAccessToken()).toBe(server.issued[1]!.access_token);
    // Retried 1 s, then 2 s later; each failure is reported.
    await vi.waitFor(
      async () => expect((await inner.get("default"))?.access_token).toBe(server.issued[1]!.access_token),
      { timeout: 6_000, interval: 50 },
    );
    expect(failures).toHaveLength(2);
    expect(server.tokenRequests()).toBe(2);
  });
});

describe("createTokenManager memory per key (fake clock)", () => {
  test("the state of idle keys whose token expired is dropped, at most once a minute; a token set not saved yet is kept", async () => {
    const { store, faults } = faultyStore();
    const tokens = manager({ store });
    await Promise.all(Array.from({ length: 200 }, (_, i) => tokens.getAccessToken(`merchant-${i}`)));
    faults.setKeys.push("unsaved"); // its background saves keep failing too
    expect(await tokens.getAccessToken("unsaved")).toBe(server.issued[200]!.access_token);
    expect(cachedKeyCount(tokens)).toBe(201);

    t = T0 + HOUR - 1; // a minute has passed, but no token has expired: nothing goes
    await tokens.getAccessToken("late");
    expect(cachedKeyCount(tokens)).toBe(202);
    t = T0 + 2 * HOUR; // every token has expired; the slow path of any key sweeps
    await new Promise((r) => setImmediate(r)); // a call's queue entry ends just after its caller resumes
    await tokens.getAccessToken("now");
    expect(cachedKeyCount(tokens)).toBe(2); // "now", and "unsaved", whose token set exists nowhere else
    expect((await tokens.getToken("unsaved"))?.access_token).toBe(server.issued[200]!.access_token);

    // A dropped key is read from the store again when it is next used.
    t = T0 + 2 * HOUR + 1;
    await tokens.getAccessToken("merchant-0");
    expect(cachedKeyCount(tokens)).toBe(3);
  });
});

describe("createTokenManager arguments", () => {
  test("malformed options throw TypeError", () => {
    const c = client();
    expect(() => createTokenManager(undefined as never)).toThrow(TypeError);
    expect(() => createTokenManager({ client: {} as never, grant: { type: "client_credentials" } })).toThrow(
      /options.client/,
    );
    expect(() => createTokenManager({ client: c, grant: { type: "password" } as never })).toThrow(/grant.type/);
    expect(() =>
      createTokenManager({ client: c, grant: { type: "client_credentials" }, refreshWindowSeconds: -1 }),
    ).toThrow(/refreshWindowSeconds/);
    expect(() => createTokenManager({ client: c, grant: { type: "client_credentials" }, requestTimeoutMs: 0 })).toThrow(
      /requestTimeoutMs/,
    );
    expect(() =>
      createTokenManager({ client: c, grant: { type: "client_credentials" }, store: { get() {} } as never }),
    ).toThrow(/store/);
    expect(() =>
      createTokenManager({ client: c, grant: { type: "client_credentials" }, onFailed: "log" as never }),
    ).toThrow(/onFailed/);
  });

  test("a bad key or token answer rejects with TypeError and sends nothing", async () => {
    const tokens = manager();
    await expect(tokens.getAccessToken("")).rejects.toThrow(TypeError);
    await expect(tokens.getAccessToken(42 as never)).rejects.toThrow(/key/);
    await expect(tokens.setTokens("k", { token_type: "Bearer" } as never)).rejects.toThrow(/access_token/);
    await expect(tokens.setTokens("k", { access_token: "a", token_type: "Bearer", expires_in: -5 })).rejects.toThrow(
      /expires_in/,
    );
    await expect(tokens.invalidate("k", { accessToken: "" })).rejects.toThrow(/accessToken/);
    expect(server.requests).toHaveLength(0);
  });

  test("a token set saved from a redacted print is refused, naming the field, before anything is sent", async () => {
    const tokens = manager();
    for (const field of ["access_token", "refresh_token"]) {
      const saved = {
        access_token: "AT-1234567890",
        token_type: "Bearer",
        refresh_token: "RT-1234567890",
        [field]: "[REDACTED]",
      };
      const error = await tokens.setTokens("k", saved).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toContain(`tokens.${field} is the placeholder [REDACTED]`);
    }
    const client = createOAuthClient({ baseUrl: server.url, clientId: "id", clientSecret: "secret-0123456789" });
    await expect(client.refreshToken({ refresh_token: "[REDACTED]" })).rejects.toThrow(
      /refresh_token is the placeholder \[REDACTED\]/,
    );
    await expect(client.revokeToken({ token: "[REDACTED]" })).rejects.toThrow(/token is the placeholder/);
    await expect(client.exchangeAuthorizationCode({ code: "[REDACTED]" })).rejects.toThrow(/code is the placeholder/);
    expect(server.requests).toHaveLength(0);
  });

  test("a malformed record from the store is never served: client_credentials replaces it, refresh_token throws TokenStoreCorruptError", async () => {
    const store = createMemoryTokenStore();
    await store.set("default", { token_type: "Bearer" } as never);
    const failures: TokenFailedEvent[] = [];
    expect(await manager({ store, onFailed: (e) => failures.push(e) }).getAccessToken()).toBe(
      server.issued[0]!.access_token,
    );
    expect(failures).toMatchObject([{ key: "default", code: "TOKEN_STORE_CORRUPT", servedCurrentToken: false }]);
    expect((await store.get("default"))?.access_token).toBe(server.issued[0]!.access_token);

    await store.set("user-1", { access_token: 42, token_type: "Bearer" } as never);
    const users = createTokenManager({ client: client(), grant: { type: "refresh_token" }, store, now });
    const error = await users.getAccessToken("user-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreCorruptError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: "TOKEN_STORE_CORRUPT", key: "user-1" });
    expect(String(error)).toContain('"user-1"');
    expect(server.tokenRequests()).toBe(1);
  });

  test("types: a JSON (Square) client needs revokeRequest; grant fields follow the client", () => {
    const square = createOAuthClient({ baseUrl: server.url, clientId: "id", clientSecret: "s", requestFormat: "json" });
    // @ts-expect-error Square's revocation shape differs from RFC 7009: revokeRequest is required.
    createTokenManager({ client: square, grant: { type: "refresh_token" } });
    createTokenManager({
      client: square,
      grant: { type: "refresh_token", scopes: ["MERCHANT_PROFILE_READ"] },
      revokeRequest: (r) => ({ access_token: r.access_token }),
    });
    // @ts-expect-error scopes (an array) is Square's; a form client takes scope.
    createTokenManager({ client: client(), grant: { type: "refresh_token", scopes: ["a"] } });
    createTokenManager({
      client: client(),
      grant: { type: "client_credentials" },
      // @ts-expect-error a form client's revocation takes token or access_token.
      revokeRequest: (r) => ({ merchant_id: r.access_token }),
    });
    expect(server.requests).toHaveLength(0);
  });
});
