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
 *
 * For the randomized fault checker (test/fault-injection/checker/) a worker also takes a clock offset
 * (`clockOffsetMs`, changed by `clock`: the manager's `now`, or the whole process' wall clock), `revoke` and `clear`
 * (answered `ok` or `error`), and several `get`s at once ({@link RedisWorker.settled} waits for one by its id).
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
  /**
   * The manager's clock runs this many ms ahead of the wall clock (behind when negative), through its `now` option;
   * the `clock` message changes it. Without it the manager uses `Date.now` and `clock` is ignored.
   */
  clockOffsetMs?: number;
  /**
   * What `clockOffsetMs` moves: `"manager"` (default) its `now` option alone; `"process"` the whole process' wall
   * clock (`Date.now`, which the store and the manager's waits read too), as on a machine whose clock is off or
   * steps. Timers and `performance.now()` are not moved, as they are not by a step of a machine's clock.
   */
  clockScope?: "manager" | "process";
  /** The manager's `requestTimeoutMs`. */
  requestTimeoutMs?: number;
  /** The manager's `maxTokenRequestsPerSecond`. */
  maxTokenRequestsPerSecond?: number;
  /** Headers the OAuth client sends with every request (such as `X-Replica`, so a token server tells replicas apart). */
  clientHeaders?: Record<string, string>;
}

/** Messages the parent sends. */
export type ToWorker =
  /** Rounds of `concurrency` concurrent calls from `startAt` until `untilAt` (epoch ms), `pauseMs` apart. */
  | { type: "run"; startAt: number; untilAt: number; concurrency: number; pauseMs: number }
  | { type: "get"; id: number }
  /** The manager's clock is now `offsetMs` ahead of the wall clock (behind when negative); see `clockOffsetMs`. */
  | { type: "clock"; offsetMs: number }
  /** `manager.revoke()` / `manager.clear()` of the default key; answered `ok` or `error` with the same id. */
  | { type: "revoke"; id: number }
  | { type: "clear"; id: number }
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
  | { type: "error"; id: number; code: string; message: string; reason?: string }
  | { type: "ok"; id: number }
  | { type: "event"; at: number; event: TokenRefreshedEvent | TokenFailedEvent };

/** The wall clock before any `clockScope: "process"` offset: the times the worker reports are the parent's. */
const realNow = Date.now;

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
  let clockOffsetMs = config.clockOffsetMs ?? 0;
  const processClock = config.clockOffsetMs !== undefined && config.clockScope === "process";
  if (processClock) Date.now = () => realNow() + clockOffsetMs;
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
      ...(config.clientHeaders === undefined ? {} : { headers: config.clientHeaders }),
    }),
    grant: { type: config.grant ?? "client_credentials" },
    store: config.noLock ? { get: store.get, set: store.set, delete: store.delete } : store,
    refreshWindowSeconds: config.refreshWindowSeconds,
    ...(config.refreshInFlightWaitMs === undefined ? {} : { refreshInFlightWaitMs: config.refreshInFlightWaitMs }),
    ...(config.clockOffsetMs === undefined
      ? {}
      : { now: processClock ? () => Date.now() : () => Date.now() + clockOffsetMs }),
    ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
    ...(config.maxTokenRequestsPerSecond === undefined
      ? {}
      : { maxTokenRequestsPerSecond: config.maxTokenRequestsPerSecond }),
    onRefreshed: (event) => send({ type: "event", at: realNow(), event }),
    onFailed: (event) => send({ type: "event", at: realNow(), event }),
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

  function failed(id: number, error: Error & { code?: string; reason?: unknown }): FromWorker {
    return {
      type: "error",
      id,
      code: error.code ?? error.name,
      message: error.message,
      ...(typeof error.reason === "string" ? { reason: error.reason } : {}),
    };
  }

  process.on("message", (message: ToWorker) => {
    if (message.type === "run") void run(message);
    else if (message.type === "get") {
      tokens.getAccessToken().then(
        (token) => send({ type: "token", id: message.id, receivedAt: realNow(), token }),
        (error: Error & { code?: string }) => send(failed(message.id, error)),
      );
    } else if (message.type === "clock") {
      clockOffsetMs = message.offsetMs;
    } else if (message.type === "revoke" || message.type === "clear") {
      (message.type === "revoke" ? tokens.revoke() : tokens.clear()).then(
        () => send({ type: "ok", id: message.id }),
        (error: Error & { code?: string }) => send(failed(message.id, error)),
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
  /**
   * Resolves with the answer to the `get`, `revoke` or `clear` numbered `id`, whatever else is outstanding; rejects
   * when the worker exits first or `timeoutMs` passes.
   */
  settled(id: number, timeoutMs?: number): Promise<Extract<FromWorker, { type: "token" | "error" | "ok" }>>;
  /** Resolves once the worker process has exited. */
  exited: Promise<void>;
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
export function startRedisWorker(config: WorkerConfig, options: { entry?: string } = {}): RedisWorker {
  // `entry`: this file bundled into one JavaScript file (esbuild), which starts in a fraction of tsx's time.
  const args = options.entry === undefined ? ["--import", "tsx", WORKER_PATH] : [options.entry];
  const child = spawn(process.execPath, args, {
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
  type Settled = Extract<FromWorker, { type: "token" | "error" | "ok" }>;
  const settling = new Map<number, { resolve: (m: Settled) => void; reject: (e: Error) => void }>();
  child.on("message", (message: FromWorker) => {
    if (message.type === "event") events.push(message);
    if (message.type === "token" || message.type === "error" || message.type === "ok") {
      const waiter = settling.get(message.id);
      if (waiter !== undefined) {
        settling.delete(message.id);
        waiter.resolve(message);
        return;
      }
    }
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
    exited,
    settled(id, timeoutMs = 45_000) {
      const index = inbox.findIndex((m) => "id" in m && m.id === id);
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0] as Settled);
      return new Promise<Settled>((resolve, reject) => {
        const timer = setTimeout(() => {
          settling.delete(id);
          reject(new Error(`worker ${child.pid}: no answer to ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => clearTimeout(timer);
        settling.set(id, {
          resolve: (m) => (done(), resolve(m)),
          reject: (e) => (done(), reject(e)),
        });
        void exited.then(() => {
          const waiter = settling.get(id);
          if (waiter === undefined) return;
          settling.delete(id);
          waiter.reject(
            new Error(`worker ${child.pid}: exited (${child.exitCode ?? child.signalCode}) before answering ${id}`),
          );
        });
      });
    },
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
