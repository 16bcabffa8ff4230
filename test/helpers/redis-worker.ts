/**
 * A worker process for the Redis store's cluster tests and benchmark: one service replica with its own OAuth
 * client, Redis connection, Redis store and token manager; and {@link startRedisWorker}, which starts one.
 *
 * The worker runs as `node --import tsx test/helpers/redis-worker.ts` with an IPC channel and its configuration
 * in the REDIS_WORKER_CONFIG environment variable (JSON, {@link WorkerConfig}). Messages from the parent
 * ({@link ToWorker}): `run` fires rounds of concurrent getAccessToken() calls and answers `done` with each token
 * received and when; `get` makes one call; `exit` closes and exits. The worker sends `ready` once connected, and
 * `event` for each manager hook call (codes and times, no token). It exits when the parent goes away, so no
 * worker outlives its test.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient, createCluster } from "redis";
import { createOAuthClient } from "../../src/index";
import { createRedisTokenStore, nodeRedisCluster } from "../../src/stores/redis";
import { createTokenManager, type TokenFailedEvent, type TokenRefreshedEvent } from "../../src/index";

/** How a worker is set up. */
export interface WorkerConfig {
  redisUrl: string;
  /**
   * Connects to a Redis Cluster instead, with node-redis' `createCluster` on these nodes (`redis://` URLs) and the
   * store's `nodeRedisCluster` adapter; `redisUrl` is then unused.
   */
  clusterRootNodes?: string[];
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  prefix: string;
  refreshWindowSeconds: number;
  lockTtlMs?: number;
  lockWaitMs?: number;
  pollIntervalMs?: number;
  commandTimeoutMs?: number;
  /** Drops the store's lock, to show what happens without it (benchmark baseline). */
  noLock?: boolean;
  /**
   * The manager's grant. Default `"client_credentials"`. With `"refresh_token"`, the test seeds the first token
   * set (with its refresh token) in Redis before the workers call.
   */
  grant?: "client_credentials" | "refresh_token";
  /** The manager's `refreshInFlightWaitMs`. */
  refreshInFlightWaitMs?: number;
  /** The store's `waitForReplicas`. */
  waitForReplicas?: number;
}

/** Messages the parent sends. */
export type ToWorker =
  /** Rounds of `concurrency` concurrent calls from `startAt` until `untilAt` (epoch ms), `pauseMs` apart. */
  | { type: "run"; startAt: number; untilAt: number; concurrency: number; pauseMs: number }
  | { type: "get"; id: number }
  | { type: "exit" };

/** One access token as a worker received it: how many calls got it, and the first and last moment one did. */
export interface ReceivedToken {
  token: string;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** Messages a worker sends. */
export type FromWorker =
  | { type: "ready"; pid: number }
  | { type: "done"; calls: number; rounds: number; slowestCallMs: number; tokens: ReceivedToken[]; errors: string[] }
  | { type: "token"; id: number; receivedAt: number; token: string }
  | { type: "error"; id: number; code: string; message: string }
  | { type: "event"; at: number; event: TokenRefreshedEvent | TokenFailedEvent };

function send(message: FromWorker): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.REDIS_WORKER_CONFIG ?? "") as WorkerConfig;
  // The worker must never outlive its parent, even when the parent is killed.
  process.on("disconnect", () => process.exit(0));

  const redis =
    config.clusterRootNodes === undefined
      ? createClient({ url: config.redisUrl })
      : createCluster({
          rootNodes: config.clusterRootNodes.map((url) => ({ url })),
          // Looks for a new master half a second after a node's connection broke, not five (README "Redis Cluster").
          topologyRefreshOnReconnectionAttemptStrategy: 500,
        });
  redis.on("error", () => {
    // Reconnection is node-redis' job; the store reports failures as typed errors.
  });
  await redis.connect();
  const store = createRedisTokenStore({
    client: "masters" in redis ? nodeRedisCluster(redis) : redis,
    prefix: config.prefix,
    ...(config.lockTtlMs === undefined ? {} : { lockTtlMs: config.lockTtlMs }),
    ...(config.lockWaitMs === undefined ? {} : { lockWaitMs: config.lockWaitMs }),
    ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
    ...(config.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: config.commandTimeoutMs }),
    ...(config.waitForReplicas === undefined ? {} : { waitForReplicas: config.waitForReplicas }),
  });
  const tokens = createTokenManager({
    client: createOAuthClient({
      baseUrl: config.tokenUrl,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
    }),
    grant: { type: config.grant ?? "client_credentials" },
    store: config.noLock ? { get: store.get, set: store.set, delete: store.delete } : store,
    refreshWindowSeconds: config.refreshWindowSeconds,
    ...(config.refreshInFlightWaitMs === undefined ? {} : { refreshInFlightWaitMs: config.refreshInFlightWaitMs }),
    onRefreshed: (event) => send({ type: "event", at: Date.now(), event }),
    onFailed: (event) => send({ type: "event", at: Date.now(), event }),
  });

  async function run(message: Extract<ToWorker, { type: "run" }>): Promise<void> {
    const received = new Map<string, ReceivedToken>();
    const errors: string[] = [];
    let calls = 0;
    let rounds = 0;
    let slowestCallMs = 0;
    await new Promise((r) => setTimeout(r, Math.max(0, message.startAt - Date.now())));
    while (Date.now() < message.untilAt) {
      rounds += 1;
      await Promise.all(
        Array.from({ length: message.concurrency }, async () => {
          calls += 1;
          const calledAt = performance.now();
          try {
            const token = await tokens.getAccessToken();
            // The moment the caller is handed the token, by the wall clock the token server also uses.
            const at = Date.now();
            slowestCallMs = Math.max(slowestCallMs, performance.now() - calledAt);
            const seen = received.get(token);
            if (seen === undefined) received.set(token, { token, count: 1, firstAt: at, lastAt: at });
            else {
              seen.count += 1;
              seen.lastAt = Math.max(seen.lastAt, at);
            }
          } catch (error) {
            errors.push((error as { code?: string }).code ?? String(error));
          }
        }),
      );
      await new Promise((r) => setTimeout(r, message.pauseMs * (0.5 + Math.random())));
    }
    send({
      type: "done",
      calls,
      rounds,
      slowestCallMs: Math.round(slowestCallMs),
      tokens: [...received.values()],
      errors,
    });
  }

  process.on("message", (message: ToWorker) => {
    if (message.type === "run") void run(message);
    else if (message.type === "get") {
      tokens.getAccessToken().then(
        (token) => send({ type: "token", id: message.id, receivedAt: Date.now(), token }),
        (error: Error & { code?: string }) =>
          send({ type: "error", id: message.id, code: error.code ?? error.name, message: error.message }),
      );
    } else if (message.type === "exit") {
      void redis.close().finally(() => process.exit(0));
    }
  });
  send({ type: "ready", pid: process.pid });
}

/** A worker process, seen from its parent. */
export interface RedisWorker {
  pid: number;
  /** Resolves once the worker is connected and listening. */
  ready: Promise<void>;
  send(message: ToWorker): void;
  /** Resolves with the next message of `type`, including one that already arrived and was not taken. */
  next<T extends FromWorker["type"]>(type: T, timeoutMs?: number): Promise<Extract<FromWorker, { type: T }>>;
  /** Resolves with the answer to `get` number `id`: its token, or the error the call rejected with. */
  answer(id: number, timeoutMs?: number): Promise<Extract<FromWorker, { type: "token" | "error" }>>;
  /** Hook events received so far. */
  events: Extract<FromWorker, { type: "event" }>[];
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

const WORKER_PATH = fileURLToPath(import.meta.url);

/**
 * Starts a worker as `node --import tsx` (the process killed by pid is the worker itself, not a wrapper such as
 * `npx`). The caller kills it; it also exits by itself when the caller's process goes away.
 */
export function startRedisWorker(config: WorkerConfig): RedisWorker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER_PATH], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, REDIS_WORKER_CONFIG: JSON.stringify(config) },
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const inbox: FromWorker[] = [];
  const waiting: { types: string[]; resolve: (m: FromWorker) => void; timer: ReturnType<typeof setTimeout> }[] = [];
  const events: Extract<FromWorker, { type: "event" }>[] = [];
  child.on("message", (message: FromWorker) => {
    if (message.type === "event") events.push(message);
    const waiter = waiting.find((w) => w.types.includes(message.type));
    if (waiter) {
      waiting.splice(waiting.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    } else inbox.push(message);
  });

  function next<T extends FromWorker["type"]>(
    types: T[],
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { type: T }>> {
    const index = inbox.findIndex((m) => (types as string[]).includes(m.type));
    if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0] as Extract<FromWorker, { type: T }>);
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(
          new Error(
            `worker ${child.pid}: ${why} before ${types.join("/")}; unclaimed messages ${JSON.stringify(inbox.filter((m) => m.type !== "event"))}; output:\n${output}`,
          ),
        );
      const waiter = {
        types,
        resolve: resolve as (m: FromWorker) => void,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          fail(`${timeoutMs} ms passed`);
        }, timeoutMs),
      };
      waiting.push(waiter);
      void exited.then(() => {
        if (!waiting.includes(waiter)) return;
        waiting.splice(waiting.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        fail(`it exited (${child.exitCode ?? child.signalCode})`);
      });
    });
  }

  return {
    pid: child.pid!,
    ready: next(["ready"], 60_000).then(() => undefined),
    send: (message) => void child.send(message),
    events,
    next: (type, timeoutMs = 30_000) => next([type], timeoutMs),
    async answer(id, timeoutMs = 45_000) {
      // One "get" at a time per worker, so the next answer of either kind is this one.
      const answer = await next(["token", "error"], timeoutMs);
      if (answer.id !== id) throw new Error(`worker ${child.pid}: answer ${answer.id} arrived while waiting for ${id}`);
      return answer;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

// Imported by a test or the benchmark, this file only exports; started by startRedisWorker, it is the worker.
if (process.env.REDIS_WORKER_CONFIG !== undefined && process.send !== undefined) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
