/**
 * Benchmark of the Redis token store (not a test: it prints figures and asserts nothing).
 *
 *   npx tsx scripts/bench-redis.ts
 *
 * 1. N worker processes x M concurrent getAccessToken() calls over several 2 s token lifetimes, with the store's
 *    lock and without it: token requests per expiry window, and the slowest call (callers at a refresh boundary).
 * 2. kill -9 of a lock holder while its token request is held: time until another process refreshes, against
 *    lockTtlMs.
 * 3. Redis killed and Redis hung (SIGSTOP): time until the store's typed error, with node-redis' offline queue and
 *    with `disableOfflineQueue`.
 *
 * It starts its own redis-server (Debian's /usr/bin/redis-server) and token server on 127.0.0.1, and stops them
 * and every worker at the end, also when a step fails.
 */
import { createClient } from "redis";
import { createRedisTokenStore } from "../src/stores/redis";
import { startRedisServer, type RunningRedis } from "../test/helpers/redis-server";
import { startRedisWorker, type RedisWorker, type WorkerConfig } from "../test/helpers/redis-worker";
import { startTokenServer, type TokenServer } from "../test/helpers/token-server";

const N = 4;
const M = 50;
const LIFETIME_MS = 2_000;
const WINDOW_S = 0.8;
const RUN_MS = 7_000;

const workers: RedisWorker[] = [];
let run = 0;

async function spawnWorkers(
  count: number,
  redis: RunningRedis,
  server: TokenServer,
  config: Partial<WorkerConfig>,
): Promise<RedisWorker[]> {
  const prefix = `bench-${process.pid}-${++run}:`;
  const started = Array.from({ length: count }, () =>
    startRedisWorker({
      redisUrl: redis.url,
      tokenUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      prefix,
      refreshWindowSeconds: WINDOW_S,
      ...config,
    }),
  );
  workers.push(...started);
  await Promise.all(started.map((w) => w.ready));
  return started;
}

async function stopWorkers(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.kill()));
}

async function windows(redis: RunningRedis, server: TokenServer, noLock: boolean): Promise<void> {
  const issuedAt: number[] = [];
  const before = server.tokenRequests();
  server.lifetime = () => (issuedAt.push(Date.now()), { expires_in: LIFETIME_MS / 1000 });
  const pool = await spawnWorkers(N, redis, server, { noLock, pollIntervalMs: 20 });
  const startAt = Date.now() + 300;
  for (const w of pool) w.send({ type: "run", startAt, untilAt: startAt + RUN_MS, concurrency: M, pauseMs: 40 });
  const done = await Promise.all(pool.map((w) => w.next("done", 60_000)));
  await stopWorkers();
  const requests = server.tokenRequests() - before;
  const refreshAt = pool
    .flatMap((w) => w.events)
    .flatMap((e) =>
      e.event.type === "refreshed" ? [e.event.expiresAtMs! - Math.min(WINDOW_S * 1000, LIFETIME_MS / 2)] : [],
    )
    .sort((a, b) => a - b);
  // Windows as the first token of each defines them: from one due time to the next.
  const bounds: number[] = [];
  for (const at of refreshAt)
    if (bounds.length === 0 || at >= bounds[bounds.length - 1]! + (LIFETIME_MS - WINDOW_S * 1000) / 2) bounds.push(at);
  const perWindow = bounds.map((end, k) => issuedAt.filter((at) => at >= (bounds[k - 1] ?? 0) && at < end).length);
  const calls = done.reduce((sum, d) => sum + d.calls, 0);
  const errors = done.flatMap((d) => d.errors).length;
  console.log(
    `  ${noLock ? "without the lock" : "with the lock   "}: ${calls} calls, ${errors} errors, ${requests} token requests; ` +
      `requests per window ${JSON.stringify(perWindow)}; slowest call ${Math.max(...done.map((d) => d.slowestCallMs))} ms`,
  );
}

async function killHolder(redis: RunningRedis, server: TokenServer, lockTtlMs: number): Promise<void> {
  const issuedAt: number[] = [];
  server.lifetime = () => (issuedAt.push(Date.now()), { expires_in: 3600 });
  const [holder, ...others] = await spawnWorkers(3, redis, server, {
    lockTtlMs,
    lockWaitMs: lockTtlMs * 4,
    pollIntervalMs: 50,
  });
  const before = server.requests.length;
  server.hold();
  holder!.send({ type: "get", id: 1 });
  await server.waitForRequests(before + 1);
  others.forEach((w, i) => w.send({ type: "get", id: 2 + i }));
  await new Promise((r) => setTimeout(r, lockTtlMs / 2));
  const killedAt = Date.now();
  await holder!.kill();
  server.release();
  const answers = await Promise.all(others.map((w, i) => w.answer(2 + i, lockTtlMs * 6)));
  await stopWorkers();
  const served = answers.flatMap((a) => (a.type === "token" ? [a.receivedAt] : []));
  console.log(
    `  lockTtlMs ${lockTtlMs}: the survivors' token request arrived ${issuedAt[1]! - killedAt} ms after the kill; ` +
      `${served.length} callers served ${Math.max(...served) - killedAt} ms after it, ${answers.length - served.length} failed`,
  );
}

async function downLatency(): Promise<void> {
  for (const hang of [false, true]) {
    for (const disableOfflineQueue of [false, true]) {
      const redis = await startRedisServer();
      const client = createClient({ url: redis.url, disableOfflineQueue, socket: { reconnectStrategy: () => 100 } });
      client.on("error", () => {});
      try {
        await client.connect();
        const store = createRedisTokenStore({ client });
        if (hang) process.kill(redis.pid, "SIGSTOP");
        else await redis.stop();
        await new Promise((r) => setTimeout(r, 200));
        const times: number[] = [];
        let reason = "";
        for (let i = 0; i < 3; i++) {
          const start = performance.now();
          await store.get("k").catch((e: { reason?: string }) => (reason = e.reason ?? String(e)));
          times.push(Math.round(performance.now() - start));
        }
        console.log(
          `  Redis ${hang ? "hung (SIGSTOP)" : "killed"}, ${disableOfflineQueue ? "disableOfflineQueue" : "offline queue      "}: typed error (${reason}) after ${times.join(", ")} ms (commandTimeoutMs 2000)`,
        );
      } finally {
        client.destroy();
        await redis.stop();
      }
    }
  }
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const server = await startTokenServer();
  try {
    console.log(
      `1. ${N} processes x ${M} concurrent getAccessToken(), ${RUN_MS} ms, token lifetime ${LIFETIME_MS} ms, refresh window ${WINDOW_S * 1000} ms`,
    );
    await windows(redis, server, true);
    await windows(redis, server, false);
    console.log("2. kill -9 of the lock holder while its token request is held; two other processes waiting");
    for (const lockTtlMs of [2_000, 3_000, 5_000]) await killHolder(redis, server, lockTtlMs);
    console.log("3. Redis down: store.get() x 3");
    await downLatency();
  } finally {
    await stopWorkers();
    await server.close();
    await redis.stop();
  }
}

await main();
