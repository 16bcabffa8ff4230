/**
 * The system under test, started for one run: a real redis-server of its own, a token server of its own (rotating
 * refresh tokens, revoking the whole family on reuse, RFC 9700 §4.14.2), and N replicas (worker processes, each a
 * token manager on the Redis store) each behind a TCP proxy of its own, so that one replica's link can stall. Plus
 * the checker's own direct connections: one for faults (FLUSHALL, corrupt values, lock deletion) and one with a
 * token manager of its own for the user's logins (setTokens).
 */
import { createClient } from "redis";
import { createOAuthClient, createTokenManager } from "../../../src/index";
import { createRedisTokenStore } from "../../../src/stores/redis";
import { startRedisServer, type RunningRedis } from "../../helpers/redis-server";
import { startRedisWorker, type RedisWorker, type WorkerConfig } from "../../helpers/redis-worker";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy";
import { startTokenServer, type TokenServer } from "../../helpers/token-server";
import { processTag, type Login, type Process } from "./history";
import type { Corruption, Schedule } from "./schedule";
import type { CheckerSettings } from "./settings";

export const PREFIX = "checker:";
export const TOKEN_KEY = `${PREFIX}token:default`;
export const LOCK_KEY = `${PREFIX}lock:default`;

/** One replica: its proxy, and its current process while it runs. */
export interface Replica {
  index: number;
  proxy: TcpProxy;
  /** The current incarnation's number; 0 before the first start. */
  incarnation: number;
  worker: RedisWorker | undefined;
  /** Whether the current process is up and answered `ready`. */
  ready: boolean;
  offsetMs: number;
  /** Until when its link is stalled (epoch ms); the latest stall wins. */
  stalledUntil: number;
}

export interface System {
  redis: RunningRedis;
  server: TokenServer;
  replicas: Replica[];
  /** Starts the replica's next incarnation and resolves once it is ready. */
  start(replica: number): Promise<Process>;
  /** kill -9 of the replica's current process; resolves with it once it exited, `undefined` if none ran. */
  kill(replica: number): Promise<Process | undefined>;
  /** The user authorizes: an authorization code exchanged, its token set stored with setTokens. */
  login(): Promise<Omit<Login, "start" | "end">>;
  /** Writes a value no manager writes over the token key; resolves with what it wrote, in words. */
  corrupt(corruption: Corruption): Promise<string>;
  flushAll(): Promise<void>;
  deleteLock(): Promise<void>;
  /** Stops everything it started; safe to call twice. */
  stop(): Promise<void>;
}

/** A record as a manager writes it, for corruptions that spoil one field of an otherwise readable record. */
function recordToSpoil(raw: string | null, lifetimeSeconds: number): Record<string, unknown> {
  try {
    const value = JSON.parse(raw ?? "") as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "access_token" in value)
      return value as Record<string, unknown>;
  } catch {
    // Not a record: a made-up one stands in.
  }
  const now = Date.now();
  return {
    access_token: "at-made-up-by-the-checker",
    token_type: "Bearer",
    refresh_token: "rt-made-up-by-the-checker",
    obtained_at_ms: now,
    expires_at_ms: now + lifetimeSeconds * 1000,
  };
}

const MALFORMED_MARKS: Partial<Record<Corruption, unknown>> = {
  "mark-yes": "yes",
  "mark-empty-object": {},
  "mark-wrong-types": { holder: 42, since_ms: "soon" },
  "mark-array": [],
};

export async function startSystem(schedule: Schedule, settings: CheckerSettings, entry: string): Promise<System> {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => {});
    })());
  try {
    const redis = await startRedisServer();
    cleanup.push(() => redis.stop());
    // SIGKILL ends a stopped server too, but a SIGCONT first lets its clients see it close.
    cleanup.push(() => process.kill(redis.pid, "SIGCONT"));
    const server = await startTokenServer();
    cleanup.push(() => server.close());
    server.revokeFamilyOnReuse = true;
    server.lifetime = () => ({ expires_in: schedule.lifetimeSeconds });
    server.delayMs = schedule.latencyMs;

    const direct = async () => {
      const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } });
      client.on("error", () => {});
      await client.connect();
      cleanup.push(() => client.destroy());
      return client;
    };
    const faults = await direct();
    const oauth = createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
    });
    const user = createTokenManager({
      client: oauth,
      grant: { type: "refresh_token" },
      store: createRedisTokenStore({
        client: await direct(),
        prefix: PREFIX,
        lockTtlMs: settings.lockTtlMs,
        lockWaitMs: settings.lockWaitMs,
        pollIntervalMs: settings.pollIntervalMs,
        commandTimeoutMs: 1_000,
      }),
    });

    const replicas: Replica[] = [];
    for (let index = 0; index < settings.replicas; index++) {
      const proxy = await startTcpProxy(redis.port);
      cleanup.push(() => proxy.close());
      replicas.push({
        index,
        proxy,
        incarnation: 0,
        worker: undefined,
        ready: false,
        offsetMs: schedule.skewsMs[index] ?? 0,
        stalledUntil: 0,
      });
    }
    cleanup.push(() => Promise.all(replicas.map((replica) => replica.worker?.kill())));

    const system: System = {
      redis,
      server,
      replicas,
      async start(index) {
        const replica = replicas[index]!;
        replica.incarnation += 1;
        const process_ = { replica: index, incarnation: replica.incarnation };
        const config: WorkerConfig = {
          redisUrl: `redis://127.0.0.1:${replica.proxy.port}`,
          tokenUrl: server.url,
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          prefix: PREFIX,
          grant: schedule.grant,
          refreshWindowSeconds: settings.refreshWindowSeconds,
          lockTtlMs: settings.lockTtlMs,
          lockWaitMs: settings.lockWaitMs,
          pollIntervalMs: settings.pollIntervalMs,
          commandTimeoutMs: settings.commandTimeoutMs,
          refreshInFlightWaitMs: settings.refreshInFlightWaitMs,
          requestTimeoutMs: settings.requestTimeoutMs,
          clockOffsetMs: replica.offsetMs,
          clockScope: settings.clock,
          clientHeaders: { "X-Replica": processTag(process_) },
        };
        replica.ready = false;
        const worker = startRedisWorker(config, { entry });
        replica.worker = worker;
        await worker.ready;
        if (replica.worker === worker) replica.ready = true;
        return process_;
      },
      async kill(index) {
        const replica = replicas[index]!;
        const worker = replica.worker;
        if (worker === undefined) return undefined;
        const killed = { replica: index, incarnation: replica.incarnation };
        replica.ready = false;
        replica.worker = undefined;
        await worker.kill();
        return killed;
      },
      async login() {
        const answer = await oauth.exchangeAuthorizationCode({ code: server.issueCode() });
        await user.setTokens("default", answer);
        const family = answer.refresh_token === undefined ? undefined : server.familyOf(answer.refresh_token);
        return {
          ok: true,
          accessToken: answer.access_token,
          ...(answer.refresh_token === undefined ? {} : { refreshToken: answer.refresh_token }),
          ...(family === undefined ? {} : { family }),
        };
      },
      async corrupt(corruption) {
        switch (corruption) {
          case "not-json":
            await faults.set(TOKEN_KEY, "garbage, not a token record");
            return "a value that is not JSON";
          case "json-array":
            await faults.set(TOKEN_KEY, "[1,2,3]");
            return "a JSON array";
          case "wrong-shape":
            await faults.set(TOKEN_KEY, '{"refresh_token":42}');
            return 'a record of another shape ({"refresh_token":42})';
          case "wrong-redis-type":
            await faults.del(TOKEN_KEY);
            await faults.hSet(TOKEN_KEY, "access_token", "not a string key");
            return "a Redis hash at the key";
          default: {
            const record = recordToSpoil(await faults.get(TOKEN_KEY).catch(() => null), schedule.lifetimeSeconds);
            const mark = MALFORMED_MARKS[corruption];
            await faults.set(TOKEN_KEY, JSON.stringify({ ...record, refresh_in_flight: mark }));
            return `the stored record with refresh_in_flight ${JSON.stringify(mark)}`;
          }
        }
      },
      async flushAll() {
        await faults.flushAll();
      },
      async deleteLock() {
        await faults.del(LOCK_KEY);
      },
      stop,
    };
    return system;
  } catch (error) {
    await stop();
    throw error;
  }
}
