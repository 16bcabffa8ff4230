import { inspect } from "node:util";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { createOAuthClient } from "../src/index";
import {
  createRedisTokenStore,
  ioredisClient,
  TokenStoreLockLostError,
  TokenStoreLockTimeoutError,
  TokenStoreUnavailableError,
  type RedisCommandClient,
  type RedisTokenStoreOptions,
} from "../src/stores/redis";
import { TokenStoreCorruptError, type TokenRecord } from "../src/stores/token-store";
import { MAX_TTL_MS, MAX_VALUE_LENGTH } from "../src/stores/redis/records";
import { createTokenManager, type TokenFailedEvent, type TokenManagerBaseOptions } from "../src/index";
import { startRedisServer, type RunningRedis } from "./helpers/redis-server";
import { rejection, timed } from "./helpers/track";
import { sleep } from "./helpers/token-server-per-test";
import { startTokenServer, type TokenServer } from "./helpers/token-server";

const T0 = Date.parse("2030-01-01T00:00:00Z");
const HOUR = 3_600_000;

let redis: RunningRedis;
let server: TokenServer;
let t: number;
const now = () => t;
/** Every client and extra server a test made, closed after it whatever happened. */
const cleanup: (() => unknown)[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(async () => {
  server = await startTokenServer();
  t = T0;
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  await server.close();
});

/** A connected node-redis client, with the `error` listener node-redis requires, destroyed after the test. */
async function connect(url = redis.url, options: { disableOfflineQueue?: boolean } = {}) {
  const client = createClient({ url, ...options, socket: { reconnectStrategy: () => 100 } });
  client.on("error", () => {});
  await client.connect();
  cleanup.push(() => client.destroy());
  return client;
}

/** A Redis server of the test's own, for tests that stop it (or need a one-node Redis Cluster). */
async function ownRedis(port?: number, options: { cluster?: boolean } = {}): Promise<RunningRedis> {
  const own = await startRedisServer(port === undefined ? options : { ...options, port });
  cleanup.push(() => own.stop());
  return own;
}

function uniquePrefix(): string {
  return `test-${process.pid}-${++prefixCounter}:`;
}

function oauthClient() {
  return createOAuthClient({ baseUrl: server.url, clientId: server.clientId, clientSecret: server.clientSecret });
}

function store(client: RedisCommandClient, options: Partial<RedisTokenStoreOptions> = {}) {
  // A generous time limit unless a test sets one: on a loaded machine a slow answer must not pass for an outage.
  return createRedisTokenStore({
    client,
    prefix: options.prefix ?? uniquePrefix(),
    commandTimeoutMs: 10_000,
    ...options,
  });
}

function manager(s: ReturnType<typeof store>, options: Partial<TokenManagerBaseOptions> = {}) {
  return createTokenManager({
    client: oauthClient(),
    grant: { type: "client_credentials" },
    store: s,
    now,
    ...options,
  });
}

describe("createRedisTokenStore records", () => {
  test("a record is JSON under <prefix>token:<key>; without a refresh token it expires a minute after the access token", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    const expires = Date.now() + 120_000;
    const record: TokenRecord = {
      access_token: "at-1",
      token_type: "Bearer",
      expires_at_ms: expires,
      obtained_at_ms: Date.now(),
      scope: "read",
    };
    await s.set("merchant-1", record);
    expect(JSON.parse((await client.get(`${prefix}token:merchant-1`))!)).toEqual(record);
    const ttl = await client.pTTL(`${prefix}token:merchant-1`);
    expect(ttl).toBeGreaterThan(120_000 + 60_000 - 5_000);
    expect(ttl).toBeLessThanOrEqual(120_000 + 60_000);
    expect(await s.get("merchant-1")).toEqual(record);
    await s.delete("merchant-1");
    expect(await s.get("merchant-1")).toBeUndefined();
    // A deliberate deletion leaves a marker for as long as the deleted access token would have lived, plus a minute.
    expect(JSON.parse((await client.get(`${prefix}token:merchant-1`))!)).toEqual({ deleted_at_ms: 0 });
    const markerTtl = await client.pTTL(`${prefix}token:merchant-1`);
    expect(markerTtl).toBeGreaterThan(120_000 + 60_000 - 5_000);
    expect(markerTtl).toBeLessThanOrEqual(120_000 + 60_000);
    await s.delete("merchant-1"); // deleting nothing is fine
    await s.delete("never-stored");
    expect(await client.pTTL(`${prefix}token:never-stored`)).toBeLessThanOrEqual(60_000);
  });

  test("a record holding a refresh token, or with no expiry, has no TTL: the refresh token outlives the access token", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    await s.set("user", {
      access_token: "at",
      token_type: "Bearer",
      refresh_token: "rt",
      expires_at_ms: Date.now() + 1000,
      obtained_at_ms: Date.now(),
    });
    await s.set("forever", { access_token: "at", token_type: "Bearer", obtained_at_ms: Date.now() });
    expect(await client.pTTL(`${prefix}token:user`)).toBe(-1);
    expect(await client.pTTL(`${prefix}token:forever`)).toBe(-1);
    // Replacing a short-lived record with a refresh-token one clears the old TTL.
    await s.set("swap", {
      access_token: "at",
      token_type: "Bearer",
      expires_at_ms: Date.now() + 1000,
      obtained_at_ms: Date.now(),
    });
    await s.set("swap", {
      access_token: "at2",
      token_type: "Bearer",
      refresh_token: "rt2",
      obtained_at_ms: Date.now(),
    });
    expect(await client.pTTL(`${prefix}token:swap`)).toBe(-1);
  });

  test("a malformed value, or a key of another type, is a TokenStoreCorruptError naming the Redis key, never quoting the value", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    await client.set(`${prefix}token:bad`, '{"secret-looking-value":"at-leak"}');
    await client.hSet(`${prefix}token:hash`, "access_token", "at-leak");
    for (const key of ["bad", "hash"]) {
      const error = await s.get(key).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenStoreCorruptError);
      expect(error).not.toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: "TOKEN_STORE_CORRUPT", key });
      expect(String(error)).toContain(`${prefix}token:${key}`);
      expect(inspect(error)).not.toContain("at-leak");
    }
  });

  test("a client error's stack is its frames under the trimmed first line, never the rest of its message", async () => {
    const long = `ERR ${"x".repeat(400)}`;
    const client: RedisCommandClient = {
      sendCommand: async () => {
        throw new Error(`${long}\n    at a second line that looks like a frame, quoting rt-secret-value`);
      },
    };
    const error = (await createRedisTokenStore({ client })
      .get("k")
      .catch((e: unknown) => e)) as TokenStoreUnavailableError;
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    const cause = error.cause as Error;
    expect(cause.message).toBe(long.slice(0, 300));
    expect(cause.stack!.split("\n")[0]).toBe(`Error: ${long.slice(0, 300)}`);
    expect(cause.stack).toMatch(/\n\s+at /); // where the client raised it
    const printed = [String(error), inspect(error, { depth: 10 }), cause.stack].join("\n");
    expect(printed).not.toContain("secret-value");
    expect(printed).not.toContain("x".repeat(301));
  });

  test("options are checked up front", async () => {
    expect(() => createRedisTokenStore({ client: {} as never })).toThrow(/sendCommand/);
    const client = { sendCommand: async () => null };
    expect(() => createRedisTokenStore({ client, lockTtlMs: 0 })).toThrow(/lockTtlMs/);
    expect(() => createRedisTokenStore({ client, commandTimeoutMs: Infinity })).toThrow(/commandTimeoutMs/);
    expect(() => createRedisTokenStore({ client, onUnavailable: "retry" as never })).toThrow(/onUnavailable/);
  });
});

describe("createRedisTokenStore shared by token managers", () => {
  test("two managers on separate connections share one token; 2 x 200 concurrent callers per expiry cost one request", async () => {
    const prefix = uniquePrefix();
    const a = manager(store(await connect(), { prefix }));
    const b = manager(store(await connect(), { prefix }));
    for (let i = 0; i < 3; i++) {
      const results = await Promise.all([
        ...Array.from({ length: 200 }, () => a.getAccessToken()),
        ...Array.from({ length: 200 }, () => b.getAccessToken()),
      ]);
      expect(new Set(results)).toEqual(new Set([server.issued[i]!.access_token]));
      expect(server.tokenRequests()).toBe(i + 1);
      t += HOUR;
    }
  });

  test("a rotating refresh_token grant shared by two managers: one refresh per expiry, no refresh token replayed", async () => {
    const prefix = uniquePrefix();
    const c = oauthClient();
    const a = createTokenManager({
      client: c,
      grant: { type: "refresh_token" },
      store: store(await connect(), { prefix }),
      now,
    });
    const b = createTokenManager({
      client: c,
      grant: { type: "refresh_token" },
      store: store(await connect(), { prefix }),
      now,
    });
    await a.setTokens("user-1", await c.exchangeAuthorizationCode({ code: server.issueCode() }));
    for (let i = 1; i <= 3; i++) {
      t = T0 + i * HOUR;
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, n) => (n % 2 ? a : b).getAccessToken("user-1")),
      );
      expect(new Set(results)).toEqual(new Set([server.issued[i]!.access_token]));
    }
    expect(server.tokenRequests()).toBe(4);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("a manager that arrives after another refreshed reads the stored token without taking the lock", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const a = manager(store(client, { prefix }));
    await a.getAccessToken();
    let locks = 0;
    const counting = store(client, { prefix });
    const b = manager({ ...counting, withLock: (key, task) => (locks++, counting.withLock(key, task)) });
    expect(await b.getAccessToken()).toBe(server.issued[0]!.access_token);
    expect(locks).toBe(0);
    expect(server.tokenRequests()).toBe(1);
  });
});

describe("createRedisTokenStore records lost, and records deleted on purpose", () => {
  async function users(s: ReturnType<typeof store>) {
    const tokens = manager(s, { grant: { type: "refresh_token" } });
    return tokens;
  }

  test("a record lost from Redis (evicted, flushed, failed over) is written back from a manager's unexpired copy, its refresh held back until the write-back settles", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const s = store(client, { prefix });
    // The write-back settles after the request time-out and a second: 2 s here.
    const a = manager(s, { grant: { type: "refresh_token" }, requestTimeoutMs: 1_000 });
    await a.setTokens("user", await oauthClient().exchangeAuthorizationCode({ code: server.issueCode() }));
    expect(await a.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    await client.del(`${prefix}token:user`); // gone without a deletion marker
    t = T0 + HOUR - 30_000; // inside the refresh window, not expired: the copy is written back, its token served
    expect(await a.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    expect(server.tokenRequests()).toBe(1);
    const written = await s.get("user");
    expect(written?.refresh_token).toBe(server.issued[0]!.refresh_token);
    expect(written?.refresh_in_flight?.holder).toMatch(/^written-back:/);
    await sleep(2_100);
    expect(await a.getAccessToken("user")).toBe(server.issued[1]!.access_token);
    expect(server.replayedRefreshTokens).toEqual([]);
    expect(await s.get("user")).toEqual(expect.objectContaining({ refresh_token: server.issued[1]!.refresh_token }));
    expect((await s.get("user"))?.refresh_in_flight).toBeUndefined();
    // A second manager that never saw the key reads what the first wrote back and refreshed.
    expect(await manager(s, { grant: { type: "refresh_token" } }).getAccessToken("user")).toBe(
      server.issued[1]!.access_token,
    );
  });

  test("a record lost while another manager's refresh was in flight: the copy written back is not refreshed again, and that refresh's outcome replaces it", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const s = store(client, { prefix });
    const options = { grant: { type: "refresh_token" as const }, requestTimeoutMs: 2_000 };
    // Two processes: each its own connection and store.
    const [a, b] = [manager(s, options), manager(store(await connect(), { prefix }), options)];
    await a.setTokens("user", await oauthClient().exchangeAuthorizationCode({ code: server.issueCode() }));
    expect(await b.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    t = T0 + HOUR - 30_000;
    server.hold();
    const refreshing = a.getAccessToken("user");
    await server.waitForRequests(2); // a has marked the record and sent its refresh token
    // FLUSHALL: the record, a's mark and a's lock are gone.
    await client.del([`${prefix}token:user`, `${prefix}lock:user`]);
    // b writes its copy back and serves it; it does not send the refresh token a has spent.
    const served = await Promise.race([b.getAccessToken("user"), sleep(1_500).then(() => "b sent the refresh token")]);
    expect(served).toBe(server.issued[0]!.access_token);
    expect(server.tokenRequests()).toBe(2);
    server.release();
    expect(await refreshing).toBe(server.issued[1]!.access_token);
    // a's outcome replaced the copy written back (its refresh token is the one a spent).
    const stored = await s.get("user");
    expect(stored?.refresh_token).toBe(server.issued[1]!.refresh_token);
    expect(stored?.refresh_in_flight).toBeUndefined();
    await sleep(3_100); // b's write-back settles; b reads the store again
    expect(await b.getAccessToken("user")).toBe(server.issued[1]!.access_token);
    expect(server.tokenRequests()).toBe(2);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("an older copy written back after the store lost a refreshed record: the manager that spent its refresh token writes its newer set back instead of sending it again", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    let ta = T0; // a's clock, moved apart from b's below
    const a = manager(store(client, { prefix }), { grant: { type: "refresh_token" }, now: () => ta });
    const b = manager(store(await connect(), { prefix }), { grant: { type: "refresh_token" }, requestTimeoutMs: 500 });
    await a.setTokens("user", await oauthClient().exchangeAuthorizationCode({ code: server.issueCode() }));
    expect(await b.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    t = ta = T0 + HOUR - 30_000;
    expect(await a.getAccessToken("user")).toBe(server.issued[1]!.access_token); // rt#1 spent, rt#2 saved
    await client.del(`${prefix}token:user`); // FLUSHALL after the save
    // b, whose copy of the first set has not expired, writes it back (rt#1, spent) and serves it.
    expect(await b.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    expect((await client.get(`${prefix}token:user`)) ?? "").toContain(server.issued[0]!.refresh_token!);
    // a's cache runs out; it reads the spent rt#1, and writes rt#2's set back over it instead of sending rt#1.
    ta = T0 + 2 * HOUR - 45_000;
    expect(await a.getAccessToken("user")).toBe(server.issued[1]!.access_token);
    expect(server.tokenRequests()).toBe(2);
    expect((await client.get(`${prefix}token:user`)) ?? "").toContain(server.issued[1]!.refresh_token!);
    await sleep(1_600); // b's write-back has settled: b reads the store again and finds rt#2's set
    t = T0 + HOUR + 1;
    expect(await b.getAccessToken("user")).toBe(server.issued[1]!.access_token);
    expect(server.replayedRefreshTokens).toEqual([]);
  });

  test("a record cleared on purpose by one manager is not written back by another that holds a copy", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const s = store(client, { prefix });
    const [a, b] = [await users(s), await users(s)];
    await a.setTokens("user", await oauthClient().exchangeAuthorizationCode({ code: server.issueCode() }));
    expect(await b.getAccessToken("user")).toBe(server.issued[0]!.access_token);
    await a.clear("user");
    expect(await s.get("user")).toBeUndefined();
    expect(await client.get(`${prefix}token:user`)).toBe('{"deleted_at_ms":0}');
    t = T0 + HOUR - 30_000;
    await expect(b.getAccessToken("user")).rejects.toMatchObject({ reason: "no_refresh_token" });
    expect(await client.get(`${prefix}token:user`)).toBe('{"deleted_at_ms":0}');
    expect(server.tokenRequests()).toBe(1);
    // Authorizing again replaces the marker.
    await a.setTokens("user", await oauthClient().exchangeAuthorizationCode({ code: server.issueCode() }));
    expect(await b.getAccessToken("user")).toBe(server.issued[1]!.access_token);
  });

  test("setUnlessNewer: refused over a newer record or a deletion marker, accepted over the record holding the spent refresh token", async () => {
    const s = store(await connect());
    const at = (obtained: number, refresh?: string): TokenRecord => ({
      access_token: `at-${obtained}`,
      token_type: "Bearer",
      obtained_at_ms: obtained,
      ...(refresh === undefined ? {} : { refresh_token: refresh }),
    });
    expect(await s.setUnlessNewer("k", at(10, "rt-a"))).toBe(true);
    expect(await s.setUnlessNewer("k", at(5))).toBe(false);
    expect((await s.get("k"))?.access_token).toBe("at-10");
    // A clock behind the other process' does not matter when the write replaces the refresh token it spent.
    expect(await s.setUnlessNewer("k", at(7, "rt-b"), { replacing: "rt-a" })).toBe(true);
    expect((await s.get("k"))?.refresh_token).toBe("rt-b");
    expect(await s.setUnlessNewer("k", at(8), { replacing: "rt-a" })).toBe(true); // 8 > 7: not newer
    await s.delete("k");
    expect(await s.setUnlessNewer("k", at(99))).toBe(false);
    await s.set("k", at(1)); // a plain set (setTokens) replaces the marker
    expect((await s.get("k"))?.access_token).toBe("at-1");
  });
});

describe("createRedisTokenStore withLock", () => {
  test("one holder at a time across connections; the lock key is gone after", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const stores = [store(client, { prefix }), store(await connect(), { prefix, pollIntervalMs: 10 })];
    let holders = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stores[i % 2]!.withLock("k", async () => {
          holders += 1;
          most = Math.max(most, holders);
          await new Promise((r) => setTimeout(r, 10));
          order.push(i);
          holders -= 1;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order).toHaveLength(10);
    expect(await client.exists(`${prefix}lock:k`)).toBe(0);
  });

  test("the lock is SET NX PX with a random owner, and only its owner releases it", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const s = store(client, { prefix, lockTtlMs: 5_000 });
    let seenOwner: string | null = null;
    await s.withLock("k", async () => {
      seenOwner = await client.get(`${prefix}lock:k`);
      expect(await client.pTTL(`${prefix}lock:k`)).toBeGreaterThan(4_000);
      // The lock expired and another process took it: the first holder must not delete it.
      await client.set(`${prefix}lock:k`, "another-owner", { PX: 5_000 });
    });
    expect(seenOwner).toMatch(/^[0-9a-f-]{36}$/);
    expect(await client.get(`${prefix}lock:k`)).toBe("another-owner");
  });

  test("a holder working past lockTtlMs keeps its lock: it is renewed while the task runs", async () => {
    const prefix = uniquePrefix();
    const first = store(await connect(), { prefix, lockTtlMs: 300 });
    const second = store(await connect(), { prefix, lockTtlMs: 300, pollIntervalMs: 10 });
    const events: string[] = [];
    let releaseFirst!: () => void;
    const holding = first.withLock("k", async () => {
      events.push("first in");
      await new Promise<void>((r) => (releaseFirst = r));
      events.push("first out");
    });
    while (events.length === 0) await new Promise((r) => setTimeout(r, 5));
    const waiting = second.withLock("k", async () => void events.push("second in"));
    await new Promise((r) => setTimeout(r, 1_200)); // four lock lifetimes
    expect(events).toEqual(["first in"]);
    releaseFirst();
    await Promise.all([holding, waiting]);
    expect(events).toEqual(["first in", "first out", "second in"]);
  });

  test("a lock held past lockWaitMs rejects with TokenStoreLockTimeoutError; a manager serves its unexpired token meanwhile", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    await client.set(`${prefix}lock:default`, "a-stuck-process", { PX: 30_000 });
    const s = store(client, { prefix, lockWaitMs: 300 });
    const { ms, result } = await timed(s.withLock("default", async () => "ran"));
    const error = rejection(result);
    expect(error).toBeInstanceOf(TokenStoreLockTimeoutError);
    expect(error).toMatchObject({ code: "TOKEN_STORE_LOCK_TIMEOUT", key: "default" });
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(ms).toBeLessThan(3_000);

    const failures: TokenFailedEvent[] = [];
    const tokens = manager(s, { onFailed: (e) => failures.push(e) });
    await expect(tokens.getAccessToken()).rejects.toBeInstanceOf(TokenStoreLockTimeoutError);
    await client.del(`${prefix}lock:default`);
    const current = await tokens.getAccessToken();
    t = T0 + HOUR - 30_000; // inside the refresh window, not expired
    await client.set(`${prefix}lock:default`, "a-stuck-process", { PX: 30_000 });
    expect(await tokens.getAccessToken()).toBe(current);
    expect(failures.map((f) => [f.code, f.servedCurrentToken])).toEqual([
      ["TOKEN_STORE_LOCK_TIMEOUT", false],
      ["TOKEN_STORE_LOCK_TIMEOUT", true],
    ]);
    expect(server.tokenRequests()).toBe(1);
  });
});

describe("createRedisTokenStore lock lost while its holder works", () => {
  const record = (name: string, obtainedAt: number): TokenRecord => ({
    access_token: `at-${name}`,
    token_type: "Bearer",
    refresh_token: `rt-${name}`,
    obtained_at_ms: obtainedAt,
  });

  test.each(["deleted", "taken by another process"] as const)(
    "lock %s mid-task: set and delete of the key are refused with TokenStoreLockLostError, reported, and write nothing",
    async (how) => {
      const prefix = uniquePrefix();
      const client = await connect();
      const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
      const s = store(client, { prefix, onError: (e) => reported.push(e) });
      const lock = `${prefix}lock:k`;
      const stored = async () => JSON.parse((await client.get(`${prefix}token:k`))!) as TokenRecord;
      const result = await s.withLock("k", async () => {
        await s.set("k", record("mine", 1)); // the lock is held: written
        expect(await stored()).toEqual(record("mine", 1));
        if (how === "deleted") await client.del(lock);
        else await client.set(lock, "another-owner", { PX: 5_000 });
        // What the next holder stored meanwhile.
        await client.set(`${prefix}token:k`, JSON.stringify(record("theirs", 2)));
        const errors = await Promise.all(
          [s.set("k", record("mine-again", 3)), s.delete("k")].map((p) => p.catch((e: unknown) => e)),
        );
        for (const [i, error] of errors.entries()) {
          expect(error).toBeInstanceOf(TokenStoreLockLostError);
          expect(error).toMatchObject({
            code: "TOKEN_STORE_LOCK_LOST",
            key: "k",
            operation: i === 0 ? "set" : "delete",
          });
        }
        return "done";
      });
      expect(result).toBe("done");
      expect(await stored()).toEqual(record("theirs", 2));
      expect(reported.map((e) => [e.code, e.operation])).toEqual([
        ["TOKEN_STORE_LOCK_LOST", "set"],
        ["TOKEN_STORE_LOCK_LOST", "delete"],
      ]);
      expect(await client.get(lock)).toBe(how === "deleted" ? null : "another-owner");
      // Outside withLock, writes are plain, as before.
      await s.set("k", record("outside", 4));
      expect(await stored()).toEqual(record("outside", 4));
    },
  );

  test("a renewal that finds the lock lost reports it to onError", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
    const s = store(client, { prefix, lockTtlMs: 300, onError: (e) => reported.push(e) });
    await s.withLock("k", async () => {
      await client.set(`${prefix}lock:k`, "another-owner", { PX: 5_000 });
      const deadline = Date.now() + 5_000;
      while (reported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(TokenStoreLockLostError);
    expect(reported[0]).toMatchObject({ code: "TOKEN_STORE_LOCK_LOST", key: "k", operation: "renew" });
    expect(inspect(reported[0])).toContain("lost its lock");
  });

  test("a manager whose lock is lost during a refresh hands its token to its caller, leaves the next holder's newer token alone, then uses it", async () => {
    const prefix = uniquePrefix();
    const client = await connect();
    const failures: TokenFailedEvent[] = [];
    const tokens = manager(store(client, { prefix }), { onFailed: (e) => failures.push(e) });
    server.hold();
    const refreshing = tokens.getAccessToken();
    await server.waitForRequests(1);
    // The holder stalled past its lock's expiry; another process took the lock and stored a newer token.
    const theirs: TokenRecord = {
      access_token: "at-theirs",
      token_type: "Bearer",
      expires_at_ms: T0 + HOUR,
      obtained_at_ms: T0 + 1,
    };
    await client.set(`${prefix}lock:default`, "another-process", { PX: 10_000 });
    await client.set(`${prefix}token:default`, JSON.stringify(theirs));
    server.release();
    // Its token is valid: the caller gets it. The save, which needs no lock, finds a newer token set and is not done.
    expect(await refreshing).toBe(server.issued[0]!.access_token);
    expect(failures).toEqual([]);
    expect(JSON.parse((await client.get(`${prefix}token:default`))!)).toEqual(theirs);
    expect(await client.get(`${prefix}lock:default`)).toBe("another-process");

    await client.del(`${prefix}lock:default`); // the other process is done
    expect(await tokens.getAccessToken()).toBe("at-theirs"); // its own token was older: not cached
    expect(JSON.parse((await client.get(`${prefix}token:default`))!)).toEqual(theirs);
    expect(server.tokenRequests()).toBe(1);
  });

  test("on a Redis Cluster, which refuses a script on two slots (CROSSSLOT), writes under the lock still check it", async () => {
    const own = await ownRedis(undefined, { cluster: true });
    const client = await connect(own.url);
    const prefix = uniquePrefix();
    const [lockSlot, tokenSlot] = await Promise.all(
      ["lock", "token"].map((kind) => client.sendCommand(["CLUSTER", "KEYSLOT", `${prefix}${kind}:k`])),
    );
    expect(lockSlot).not.toBe(tokenSlot);
    const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
    const s = store(client, { prefix, onError: (e) => reported.push(e) });
    await s.withLock("k", async () => {
      await s.set("k", record("mine", 1));
      expect(JSON.parse((await client.get(`${prefix}token:k`))!)).toEqual(record("mine", 1));
      await client.set(`${prefix}lock:k`, "another-owner", { PX: 5_000 });
      await expect(s.delete("k")).rejects.toMatchObject({ code: "TOKEN_STORE_LOCK_LOST", operation: "delete" });
      await expect(s.set("k", record("mine-again", 2))).rejects.toMatchObject({
        code: "TOKEN_STORE_LOCK_LOST",
        operation: "set",
      });
    });
    expect(JSON.parse((await client.get(`${prefix}token:k`))!)).toEqual(record("mine", 1));
    // The CROSSSLOT answer is how the store learns it runs on a cluster, not a failure.
    expect(reported.map((e) => e.code)).toEqual(["TOKEN_STORE_LOCK_LOST", "TOKEN_STORE_LOCK_LOST"]);
  });
});

describe("createRedisTokenStore lock wait", () => {
  test("by default a waiter gives up on a held lock after 40 s, past the manager's 30 s request time limit", async () => {
    vi.useFakeTimers();
    try {
      // A Redis where the lock is always held by someone else: SET NX answers nil.
      const s = createRedisTokenStore({ client: { sendCommand: async () => null } });
      let error: unknown;
      const waiting = s.withLock("k", async () => "ran").catch((e: unknown) => (error = e));
      await vi.advanceTimersByTimeAsync(39_000);
      expect(error).toBeUndefined();
      await vi.advanceTimersByTimeAsync(2_000);
      await waiting;
      expect(error).toBeInstanceOf(TokenStoreLockTimeoutError);
      expect((error as TokenStoreLockTimeoutError).waitedMs).toBeGreaterThanOrEqual(40_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("createRedisTokenStore waitForReplicas", () => {
  test("a write no replica acknowledges fails as unreplicated; with a replica attached (REPLICAOF) it succeeds", async () => {
    const primary = await ownRedis();
    const client = await connect(primary.url);
    const prefix = uniquePrefix();
    const s = store(client, { prefix, waitForReplicas: 1, commandTimeoutMs: 1_000 });
    const record: TokenRecord = {
      access_token: "at-1",
      token_type: "Bearer",
      refresh_token: "rt-1",
      obtained_at_ms: 1,
    };
    const { ms, result } = await timed(s.set("user", record));
    expect(rejection(result)).toMatchObject({
      code: "TOKEN_STORE_UNAVAILABLE",
      reason: "unreplicated",
      operation: "set",
    });
    expect(ms).toBeLessThan(2_500);
    // The primary holds it all the same: the error says it may not survive a failover.
    expect((await s.get("user"))?.access_token).toBe("at-1");

    const replica = await ownRedis();
    const admin = await connect(replica.url);
    await admin.sendCommand(["REPLICAOF", "127.0.0.1", String(primary.port)]);
    await vi.waitFor(
      async () => expect(String(await client.sendCommand(["INFO", "replication"]))).toMatch(/slave0:.*state=online/),
      { timeout: 10_000, interval: 100 },
    );
    // A generous time limit from here: on a loaded machine a replica's acknowledgement must not pass for none.
    const replicated = store(client, { prefix, waitForReplicas: 1, commandTimeoutMs: 8_000 });
    await replicated.set("user", { ...record, access_token: "at-2" });
    // Counted done only once the replica holds it.
    expect(JSON.parse((await admin.get(`${prefix}token:user`))!)).toMatchObject({ access_token: "at-2" });
    expect(await replicated.setUnlessNewer("user", { ...record, access_token: "at-3", obtained_at_ms: 2 })).toBe(true);
    expect(JSON.parse((await admin.get(`${prefix}token:user`))!)).toMatchObject({ access_token: "at-3" });
    await replicated.delete("user");
    expect(await admin.get(`${prefix}token:user`)).toBe('{"deleted_at_ms":0}');
  });

  test("waitForReplicas is refused with ioredis' Cluster, which cannot send WAIT to a key's node; a bad count is refused", async () => {
    const { Cluster } = await import("ioredis");
    const cluster = new Cluster([{ host: "127.0.0.1", port: redis.port }], { lazyConnect: true });
    cleanup.push(() => cluster.disconnect());
    expect(() =>
      createRedisTokenStore({ client: ioredisClient(cluster), prefix: "{svc}:", waitForReplicas: 1 }),
    ).toThrow(/waitForReplicas.*createCluster/);
    const client = await connect();
    for (const bad of [-1, 1.5, "1"])
      expect(() => createRedisTokenStore({ client, waitForReplicas: bad as never })).toThrow(/waitForReplicas/);
  });
});

describe("createRedisTokenStore when Redis is down", () => {
  const BOUND_MS = 500;

  test("Redis killed: a typed error within commandTimeoutMs, from the store and from the manager", async () => {
    const own = await ownRedis();
    const queued = await connect(own.url); // node-redis default: commands wait in the offline queue
    const offline = await connect(own.url, { disableOfflineQueue: true });
    const failures: TokenFailedEvent[] = [];
    const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
    const sQueued = store(queued, { commandTimeoutMs: BOUND_MS, onError: (e) => reported.push(e) });
    const sOffline = store(offline, { commandTimeoutMs: BOUND_MS });
    await own.stop();
    await new Promise((r) => setTimeout(r, 200)); // let the clients see the closed connection

    const figures: Record<string, number> = {};
    const operations: [string, () => Promise<unknown>][] = [
      ["get, offline queue", () => sQueued.get("k")],
      ["withLock, offline queue", () => sQueued.withLock("k", async () => "ran")],
      ["get, disableOfflineQueue", () => sOffline.get("k")],
      [
        "getAccessToken, disableOfflineQueue",
        () => manager(sOffline, { onFailed: (e) => failures.push(e) }).getAccessToken(),
      ],
    ];
    for (const [name, operation] of operations) {
      const { ms, result } = await timed(operation());
      const error = rejection(result);
      expect(error, name).toBeInstanceOf(TokenStoreUnavailableError);
      expect(error).toMatchObject({ code: "TOKEN_STORE_UNAVAILABLE" });
      expect(ms, name).toBeLessThan(BOUND_MS + 1_500);
      figures[name] = ms;
    }
    expect(reported.map((e) => e.operation)).toEqual(["get", "lock"]);
    expect(failures).toMatchObject([{ code: "TOKEN_STORE_UNAVAILABLE", servedCurrentToken: false }]);
    expect(server.tokenRequests()).toBe(0);
    console.log(`[redis down] error latency, commandTimeoutMs=${BOUND_MS}:`, figures);
  });

  test("Redis hung (SIGSTOP): a typed timeout error within commandTimeoutMs, never a hang", async () => {
    const own = await ownRedis();
    const client = await connect(own.url);
    const s = store(client, { commandTimeoutMs: BOUND_MS });
    await s.set("k", { access_token: "at-before-hang", token_type: "Bearer", obtained_at_ms: Date.now() });
    process.kill(own.pid, "SIGSTOP");
    try {
      const { ms, result } = await timed(s.get("k"));
      expect(rejection(result)).toMatchObject({ code: "TOKEN_STORE_UNAVAILABLE", reason: "timeout", operation: "get" });
      expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 20);
      expect(ms).toBeLessThan(BOUND_MS + 1_500);
      const lock = await timed(s.withLock("k", async () => "ran"));
      expect(rejection(lock.result)).toMatchObject({ reason: "timeout", operation: "lock" });
      console.log(
        `[redis hung] get rejected after ${ms} ms, withLock after ${lock.ms} ms (commandTimeoutMs=${BOUND_MS})`,
      );
    } finally {
      process.kill(own.pid, "SIGCONT");
    }
    expect((await s.get("k"))?.access_token).toBe("at-before-hang");
  });

  test("errors name the operation and key but hold no token, even from a client that attaches the command's arguments", async () => {
    const own = await ownRedis();
    const real = await connect(own.url, { disableOfflineQueue: true });
    // As ioredis does: the failed command, arguments included, rides on the error.
    const client: RedisCommandClient = {
      sendCommand: (args, options) =>
        real.sendCommand(args, options).catch((error: Error) => {
          Object.assign(error, { command: { name: args[0], args: args.slice(1) } });
          throw error;
        }),
    };
    const s = store(client, { commandTimeoutMs: BOUND_MS });
    await own.stop();
    await new Promise((r) => setTimeout(r, 200));
    const record: TokenRecord = {
      access_token: "at-secret-value",
      token_type: "Bearer",
      refresh_token: "rt-secret-value",
      obtained_at_ms: Date.now(),
    };
    const error = await s.set("user-1", record).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "TOKEN_STORE_UNAVAILABLE",
      operation: "set",
      key: "user-1",
      reason: "connection",
    });
    const printed = [String(error), inspect(error, { depth: 10 }), JSON.stringify(error)].join("\n");
    expect(printed).toContain("ClientOfflineError");
    expect(printed).not.toContain("secret-value");
  });

  test("an unexpired token is served while Redis is down before a refresh; a typed error once it expires", async () => {
    const own = await ownRedis();
    const client = await connect(own.url, { disableOfflineQueue: true });
    const failures: TokenFailedEvent[] = [];
    const tokens = manager(store(client, { commandTimeoutMs: BOUND_MS }), { onFailed: (e) => failures.push(e) });
    const current = await tokens.getAccessToken();
    await own.stop();
    t = T0 + HOUR - 10_000;
    expect(await tokens.getAccessToken()).toBe(current);
    t = T0 + HOUR;
    await expect(tokens.getAccessToken()).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    expect(failures.map((f) => [f.code, f.servedCurrentToken])).toEqual([
      ["TOKEN_STORE_UNAVAILABLE", true],
      ["TOKEN_STORE_UNAVAILABLE", false],
    ]);
  });

  test('onUnavailable "memory": the manager carries on alone, and its token is written back when Redis returns', async () => {
    const own = await ownRedis();
    const client = await connect(own.url);
    const prefix = uniquePrefix();
    const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
    const s = store(client, {
      prefix,
      commandTimeoutMs: BOUND_MS,
      onUnavailable: "memory",
      onError: (e) => reported.push(e),
    });
    const tokens = manager(s, { now: Date.now, refreshWindowSeconds: 0 });
    const before = await tokens.getAccessToken("svc");
    await own.stop();
    await tokens.invalidate("svc"); // a 401 during the outage: the next call must get a new token
    const { ms, result } = await timed(tokens.getAccessToken("svc"));
    expect(result).toMatchObject({ status: "fulfilled", value: server.issued[1]!.access_token });
    expect(ms).toBeLessThan(BOUND_MS + 1_500);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.every((e) => e instanceof TokenStoreUnavailableError)).toBe(true);
    expect((await s.get("svc"))?.access_token).toBe(server.issued[1]!.access_token);
    expect(before).toBe(server.issued[0]!.access_token);

    // Redis comes back empty (no persistence). The next store call writes the outage's record back first.
    await ownRedis(own.port);
    const check = await connect(own.url);
    const deadline = Date.now() + 10_000;
    while (!client.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1_100)); // past the fallback's retry pause
    expect((await s.get("svc"))?.access_token).toBe(server.issued[1]!.access_token);
    expect(JSON.parse((await check.get(`${prefix}token:svc`))!)).toMatchObject({
      access_token: server.issued[1]!.access_token,
    });
    expect(server.tokenRequests()).toBe(2);
    console.log(`[redis down, memory fallback] getAccessToken answered in ${ms} ms (commandTimeoutMs=${BOUND_MS})`);
  });

  test("memory fallback forgets a record once Redis would have dropped it, so keys used once cost no memory", async () => {
    const own = await ownRedis();
    const client = await connect(own.url, { disableOfflineQueue: true });
    const s = store(client, { onUnavailable: "memory", commandTimeoutMs: BOUND_MS });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      const shortLived = (i: number): TokenRecord => ({
        access_token: `at-${i}`,
        token_type: "Bearer",
        expires_at_ms: start + 1_000,
        obtained_at_ms: start,
      });
      for (let i = 0; i < 50; i++) await s.set(`svc-${i}`, shortLived(i));
      // Redis keeps a record with a refresh token until it is deleted, and one whose token lives on.
      const user: TokenRecord = { ...shortLived(50), refresh_token: "rt-user" };
      const lasting: TokenRecord = { ...shortLived(51), expires_at_ms: start + HOUR };
      await s.set("user", user);
      await s.set("lasting", lasting);
      vi.setSystemTime(start + 1_000 + 60_000 + 60_000); // past the short records' expiry in Redis, and a sweep interval
      await s.get("anything"); // any call sweeps
      await own.stop();
      expect(await s.get("svc-0")).toBeUndefined();
      expect(await s.get("svc-49")).toBeUndefined();
      expect(await s.get("user")).toEqual(user);
      expect(await s.get("lasting")).toEqual(lasting);
    } finally {
      vi.useRealTimers();
    }
  });

  test("memory fallback write-back never overwrites a newer record another process stored", async () => {
    const own = await ownRedis();
    const prefix = uniquePrefix();
    const client = await connect(own.url, { disableOfflineQueue: true });
    const s = store(client, { prefix, onUnavailable: "memory" });
    const older: TokenRecord = {
      access_token: "at-older",
      token_type: "Bearer",
      refresh_token: "rt-older",
      obtained_at_ms: 1_000,
    };
    const newer: TokenRecord = {
      access_token: "at-newer",
      token_type: "Bearer",
      refresh_token: "rt-newer",
      obtained_at_ms: 2_000,
    };
    await own.stop();
    await s.set("user", older); // kept in memory
    await ownRedis(own.port);
    const other = await connect(own.url);
    await other.set(`${prefix}token:user`, JSON.stringify(newer));
    const deadline = Date.now() + 10_000;
    while (!client.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await s.get("user")).toEqual(newer);
    expect(JSON.parse((await other.get(`${prefix}token:user`))!)).toEqual(newer);
  });
});

describe("createRedisTokenStore with hostile values in Redis", () => {
  const record = (): TokenRecord => ({
    access_token: "at-secret-value",
    token_type: "Bearer",
    refresh_token: "rt-secret-value",
    obtained_at_ms: Date.now(),
  });
  /** Each value a store must refuse as corrupt, as Redis holds it. */
  const hostile: [string, () => string][] = [
    ["over 1 MiB", () => JSON.stringify({ ...record(), scope: "s".repeat(MAX_VALUE_LENGTH) })],
    ["nested 100 000 deep", () => `${"[".repeat(100_000)}"secret-value"${"]".repeat(100_000)}`],
    ["an object nested in a field", () => JSON.stringify({ ...record(), scope: { a: { b: { c: "secret-value" } } } })],
    ["not JSON", () => "secret-value garbage"],
    ["an array", () => JSON.stringify([record()])],
    ["null", () => "null"],
    ["a number", () => "42"],
    ['{"deleted_at_ms":"x"}', () => '{"deleted_at_ms":"x"}'],
    ["a marker with another field", () => '{"deleted_at_ms":0,"note":"secret-value"}'],
    ["a marker with a record's fields", () => JSON.stringify({ ...record(), deleted_at_ms: 0 })],
    ["a token of the wrong type", () => JSON.stringify({ ...record(), access_token: 42 })],
    ["a time that is a string", () => JSON.stringify({ ...record(), obtained_at_ms: "1" })],
    ["an expiry past the end of Date", () => JSON.stringify({ ...record(), expires_at_ms: 1e300 })],
    ["a field no manager writes", () => JSON.stringify({ ...record(), admin: true })],
    ["a refresh mark of the wrong shape", () => JSON.stringify({ ...record(), refresh_in_flight: { holder: 7 } })],
    ["a refresh mark that is a string", () => JSON.stringify({ ...record(), refresh_in_flight: "secret-value" })],
  ];

  async function expectCorrupt(s: ReturnType<typeof store>, prefix: string, key: string) {
    const error = await s.get(key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreCorruptError);
    expect(error).toMatchObject({ code: "TOKEN_STORE_CORRUPT", key });
    expect(String(error)).toContain(`Redis key "${prefix}token:${key}"`);
    const printed = [String(error), inspect(error, { depth: 10 }), JSON.stringify(error)].join("\n");
    expect(printed).not.toContain("secret-value");
    expect(printed.length).toBeLessThan(2_000);
  }

  test.each(hostile)("%s: get is TokenStoreCorruptError naming the key, never the value", async (_, value) => {
    const client = await connect();
    const prefix = uniquePrefix();
    const reported: unknown[] = [];
    const s = store(client, { prefix, onError: (e) => reported.push(e) });
    await client.set(`${prefix}token:k`, value());
    await expectCorrupt(s, prefix, "k");
    // Not an outage: nothing reported, and the memory fallback does not serve it either.
    expect(reported).toEqual([]);
    await expectCorrupt(store(client, { prefix, onUnavailable: "memory" }), prefix, "k");
  });

  test("keys of another type (a list, a hash, a set) are corrupt, and a delete or write-back replaces them", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    await client.rPush(`${prefix}token:list`, "secret-value");
    await client.hSet(`${prefix}token:hash`, "access_token", "secret-value");
    await client.sAdd(`${prefix}token:set`, "secret-value");
    for (const key of ["list", "hash", "set"]) await expectCorrupt(s, prefix, key);
    await s.delete("list");
    expect(await client.get(`${prefix}token:list`)).toBe('{"deleted_at_ms":0}');
    expect(await client.pTTL(`${prefix}token:list`)).toBeLessThanOrEqual(60_000);
    expect(await s.setUnlessNewer("hash", record())).toBe(true);
    expect((await s.get("hash"))?.access_token).toBe("at-secret-value");
    await s.set("set", record());
    expect((await s.get("set"))?.access_token).toBe("at-secret-value");
  });

  test.each(hostile)("%s: a deletion replaces it with a marker whose lifetime is bounded", async (_, value) => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    await client.set(`${prefix}token:k`, value());
    await s.delete("k");
    expect(await client.get(`${prefix}token:k`)).toBe('{"deleted_at_ms":0}');
    const ttl = await client.pTTL(`${prefix}token:k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(MAX_TTL_MS);
    expect(await s.get("k")).toBeUndefined();
  });

  test("a marker outlives a far-future access token by at most MAX_TTL_MS, and a past one by a minute", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const s = store(client, { prefix });
    const far = { access_token: "at", token_type: "Bearer", obtained_at_ms: 1, expires_at_ms: 8.64e15 };
    await client.set(`${prefix}token:far`, JSON.stringify(far));
    await client.set(`${prefix}token:past`, JSON.stringify({ ...far, expires_at_ms: 1 }));
    await client.set(`${prefix}token:nan`, '{"access_token":"x","token_type":"Bearer","expires_at_ms":NaN}');
    for (const key of ["far", "past", "nan"]) await s.delete(key);
    expect(await client.pTTL(`${prefix}token:far`)).toBeGreaterThan(MAX_TTL_MS - 60_000);
    expect(await client.pTTL(`${prefix}token:far`)).toBeLessThanOrEqual(MAX_TTL_MS);
    expect(await client.pTTL(`${prefix}token:past`)).toBeLessThanOrEqual(60_000);
    expect(await client.pTTL(`${prefix}token:nan`)).toBeGreaterThan(0);
    expect(await client.pTTL(`${prefix}token:nan`)).toBeLessThanOrEqual(MAX_TTL_MS);
    // A record whose access token lives past the bound is kept no longer than it either.
    const { refresh_token: _, ...withoutRefresh } = { ...record(), expires_at_ms: 8.64e15 };
    await s.set("long", withoutRefresh);
    expect(await client.pTTL(`${prefix}token:long`)).toBeGreaterThan(MAX_TTL_MS - 60_000);
    expect(await client.pTTL(`${prefix}token:long`)).toBeLessThanOrEqual(MAX_TTL_MS);
  });

  test.each(hostile.filter(([name]) => name !== "a marker with a record's fields"))(
    "%s: setUnlessNewer writes over it (it is no record and no marker); a real marker still wins",
    async (_, value) => {
      const client = await connect();
      const prefix = uniquePrefix();
      const s = store(client, { prefix });
      await client.set(`${prefix}token:k`, value());
      expect(await s.setUnlessNewer("k", record())).toBe(true);
      expect((await s.get("k"))?.access_token).toBe("at-secret-value");
      await s.delete("k");
      expect(await s.setUnlessNewer("k", record())).toBe(false);
    },
  );

  test("a client_credentials manager replaces a hostile value with a new token, and reports it", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const failures: TokenFailedEvent[] = [];
    await client.set(`${prefix}token:default`, '{"deleted_at_ms":"x"}');
    const tokens = manager(store(client, { prefix }), { onFailed: (e) => failures.push(e) });
    expect(await tokens.getAccessToken()).toBe(server.issued[0]!.access_token);
    expect(failures.map((f) => f.code)).toContain("TOKEN_STORE_CORRUPT");
    expect(JSON.parse((await client.get(`${prefix}token:default`))!)).toMatchObject({
      access_token: server.issued[0]!.access_token,
    });
  });
});

describe("a client_credentials manager on Redis after clear()", () => {
  test("stores its next token over the deletion marker: later calls, and another process, send nothing", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const tokens = manager(store(client, { prefix }));
    await tokens.getAccessToken();
    await tokens.clear();
    expect(await client.get(`${prefix}token:default`)).toBe('{"deleted_at_ms":0}');
    const next = await tokens.getAccessToken();
    for (let i = 0; i < 5; i++) expect(await tokens.getAccessToken()).toBe(next);
    const other = manager(store(client, { prefix }));
    expect(await other.getAccessToken()).toBe(next);
    expect(server.tokenRequests()).toBe(2);
  });
});

type Connected = Awaited<ReturnType<typeof connect>>;

describe("a client_credentials manager on a corrupt Redis value", () => {
  test.each([
    ["not JSON", async (c: Connected, k: string) => void (await c.set(k, "garbage"))],
    ["an array", async (c: Connected, k: string) => void (await c.set(k, "[1,2]"))],
    [
      "a malformed mark",
      async (c: Connected, k: string) =>
        void (await c.set(
          k,
          JSON.stringify({ access_token: "at", token_type: "Bearer", obtained_at_ms: 1, refresh_in_flight: "yes" }),
        )),
    ],
    ["a list key", async (c: Connected, k: string) => void (await c.rPush(k, ["a", "b"]))],
  ])("%s: heals with a new token, which the next process reads with no request", async (_, plant) => {
    const client = await connect();
    const prefix = uniquePrefix();
    await plant(client, `${prefix}token:default`);
    const failures: TokenFailedEvent[] = [];
    const first = manager(store(client, { prefix }), { onFailed: (e) => failures.push(e) });
    const token = await first.getAccessToken();
    expect(token).toBe(server.issued[0]!.access_token);
    expect(failures.map((f) => f.code)).toEqual(["TOKEN_STORE_CORRUPT"]);
    // Another process (a new manager) finds the healed record: no second request, no second report.
    const second = manager(store(client, { prefix }), { onFailed: (e) => failures.push(e) });
    expect(await second.getAccessToken()).toBe(token);
    expect(server.tokenRequests()).toBe(1);
    expect(failures).toHaveLength(1);
  });
});

describe("createRedisTokenStore scripts", () => {
  test("scripts are sent by SHA; after SCRIPT FLUSH (a restart, a failover) they are sent again, unreported", async () => {
    const client = await connect();
    const prefix = uniquePrefix();
    const reported: unknown[] = [];
    const s = store(client, { prefix, onError: (e) => reported.push(e) });
    const flushAndUse = async () => {
      await client.sendCommand(["SCRIPT", "FLUSH"]);
      await s.withLock("k", async () => {
        await s.set("k", { access_token: "at", token_type: "Bearer", obtained_at_ms: 1 });
      });
      expect(await s.setUnlessNewer("k", { access_token: "at2", token_type: "Bearer", obtained_at_ms: 2 })).toBe(true);
      await s.delete("k");
    };
    await flushAndUse();
    await flushAndUse();
    expect(await client.get(`${prefix}token:k`)).toBe('{"deleted_at_ms":0}');
    expect(await client.exists(`${prefix}lock:k`)).toBe(0);
    expect(reported).toEqual([]);
  });
});
