import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startRedisServer, type RunningRedis } from "./helpers/redis-server";
import { startRedisWorker, type ReceivedToken, type RedisWorker, type WorkerConfig } from "./helpers/redis-worker";
import { startTokenServer, type TokenServer } from "./helpers/token-server";

let redis: RunningRedis;
let server: TokenServer;
/** When each issued token was issued and expires, by the token server's (wall) clock; same index as `server.issued`. */
let issuedAt: number[];
let lifetimeMs: number;
const workers: RedisWorker[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(async () => {
  server = await startTokenServer();
  issuedAt = [];
  lifetimeMs = 3_600_000;
  server.lifetime = () => {
    issuedAt.push(Date.now());
    return { expires_in: lifetimeMs / 1000 };
  };
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill()));
  await server.close();
});

/** Starts a worker on this test's Redis and token server; afterEach kills it. */
async function startWorker(overrides: Partial<WorkerConfig> & { prefix: string }): Promise<RedisWorker> {
  const worker = startRedisWorker({
    redisUrl: redis.url,
    tokenUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    refreshWindowSeconds: 60,
    // Generous: on a loaded machine a slow Redis answer must not pass for an outage; outages are tested elsewhere.
    commandTimeoutMs: 10_000,
    ...overrides,
  });
  workers.push(worker);
  await worker.ready;
  return worker;
}

function uniquePrefix(): string {
  return `cluster-${process.pid}-${++prefixCounter}:`;
}

describe("createRedisTokenStore across processes", () => {
  test("4 processes x 50 concurrent getAccessToken() over >= 3 expiry windows: one token request per window, no expired token", {
    timeout: 60_000,
  }, async () => {
    const N = 4;
    const M = 50;
    const WINDOW_S = 0.8;
    lifetimeMs = 2_000;
    const prefix = uniquePrefix();
    const pool = await Promise.all(
      Array.from({ length: N }, () => startWorker({ prefix, refreshWindowSeconds: WINDOW_S, pollIntervalMs: 20 })),
    );
    const startAt = Date.now() + 300;
    const untilAt = startAt + 7_000;
    for (const w of pool) w.send({ type: "run", startAt, untilAt, concurrency: M, pauseMs: 40 });
    const done = await Promise.all(pool.map((w) => w.next("done", 40_000)));

    // Every call got a token.
    for (const d of done) expect(d.errors).toEqual([]);
    const calls = done.reduce((sum, d) => sum + d.calls, 0);

    // One refresh per token, across all processes, and every token issued was handed out.
    const refreshed = pool
      .flatMap((w) => w.events)
      .filter((e) => e.event.type === "refreshed")
      .map((e) => (e.event.type === "refreshed" ? e.event.expiresAtMs! : 0))
      .sort((a, b) => a - b);
    const requests = server.tokenRequests();
    expect(refreshed).toHaveLength(requests);
    expect(server.issued).toHaveLength(requests);
    const handedOut = new Set(done.flatMap((d) => d.tokens.map((r) => r.token)));
    expect(handedOut).toEqual(new Set(server.issued.map((s) => s.access_token)));
    expect(requests).toBeGreaterThanOrEqual(4); // the first token, then three or more expiry windows

    // Window k runs up to the refresh time of token k (from that of token k-1): exactly one request arrives in each.
    const refreshAt = refreshed.map((expiresAt) => expiresAt - Math.min(WINDOW_S * 1000, lifetimeMs / 2));
    const perWindow = refreshAt.map(
      (end, k) => issuedAt.filter((at) => at >= (refreshAt[k - 1] ?? 0) && at < end).length,
    );
    expect(perWindow).toEqual(Array.from({ length: requests }, () => 1));

    // No caller was handed a token at or after its expiry, by the server's clock.
    const expiryOf = new Map(server.issued.map((s, i) => [s.access_token, issuedAt[i]! + lifetimeMs]));
    const received: ReceivedToken[] = done.flatMap((d) => d.tokens);
    const margins = received.map((r) => expiryOf.get(r.token)! - r.lastAt);
    expect(Math.min(...margins)).toBeGreaterThan(0);
    for (const d of done) expect(new Set(d.tokens.map((r) => r.token)).size).toBeGreaterThanOrEqual(3);

    const gaps = issuedAt.slice(1).map((at, i) => at - issuedAt[i]!);
    console.log(
      `[cluster] ${N} processes x ${M} concurrent calls, ${calls} calls over ${untilAt - startAt} ms, token lifetime ${lifetimeMs} ms, ` +
        `refresh window ${WINDOW_S * 1000} ms: ${requests} token requests, requests per window ${JSON.stringify(perWindow)}, ` +
        `gaps between requests ${JSON.stringify(gaps)} ms, closest a caller came to expiry ${Math.min(...margins)} ms, slowest call ${Math.max(...done.map((d) => d.slowestCallMs))} ms`,
    );
  });

  test("a lock holder killed mid-refresh: another process refreshes once its lock expires, within lockTtlMs", {
    timeout: 60_000,
  }, async () => {
    const LOCK_TTL_MS = 3_000;
    const prefix = uniquePrefix();
    const [holder, a, b] = await Promise.all(
      Array.from({ length: 3 }, () =>
        startWorker({ prefix, lockTtlMs: LOCK_TTL_MS, lockWaitMs: 20_000, pollIntervalMs: 50 }),
      ),
    );
    const check = createClient({ url: redis.url });
    check.on("error", () => {});
    await check.connect();
    try {
      server.hold();
      holder!.send({ type: "get", id: 1 });
      await server.waitForRequests(1); // the holder has the lock and its token request is stuck
      const lockKey = `${prefix}lock:default`;
      expect(await check.exists(lockKey)).toBe(1);
      a!.send({ type: "get", id: 2 });
      b!.send({ type: "get", id: 3 });
      await new Promise((r) => setTimeout(r, 1_500)); // the others wait, past a renewal of the holder's lock
      expect(server.tokenRequests()).toBe(1);

      const ttlAtKill = await check.pTTL(lockKey);
      const killedAt = Date.now();
      await holder!.kill();
      server.release(); // the dead holder's request is answered into a closed socket
      const [fromA, fromB] = await Promise.all([a!.answer(2), b!.answer(3)]);
      if (fromA.type === "error" || fromB.type === "error")
        expect.fail(`a survivor's call failed: ${JSON.stringify([fromA, fromB])}`);
      const recoveredAt = issuedAt[1]!; // the survivors' token request reached the server
      const recoveryMs = recoveredAt - killedAt;

      expect(fromA.token).toBe(server.issued[1]!.access_token);
      expect(fromB.token).toBe(fromA.token);
      expect(server.tokenRequests()).toBe(2); // the dead holder's, then exactly one for the survivors
      // The survivors waited for the dead holder's lock to expire, and not much longer.
      expect(recoveryMs).toBeGreaterThanOrEqual(ttlAtKill - 50);
      expect(recoveryMs).toBeLessThanOrEqual(LOCK_TTL_MS + 2_000);
      expect(await check.exists(lockKey)).toBe(0);
      console.log(
        `[kill -9 holder] lockTtlMs ${LOCK_TTL_MS}; lock had ${ttlAtKill} ms left at the kill; a survivor's token request arrived ` +
          `${recoveryMs} ms after the kill; callers got the new token ${Math.max(fromA.receivedAt, fromB.receivedAt) - killedAt} ms after it`,
      );
    } finally {
      server.release();
      check.destroy();
    }
  });
});
