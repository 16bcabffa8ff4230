import { argumentError, checkObject, isPlainObject } from "../../core/validate";
import { type RedisCommandClient, routesKeyless, unadaptedClient } from "./clients";
import type { TokenStoreLockLostError, TokenStoreUnavailableError } from "./errors";
import { checkClusterPrefix, DEFAULT_PREFIX } from "./keys";
import { MAX_TTL_MS } from "./records";

/*
 * The store's options: what users pass ({@link RedisTokenStoreOptions}), how they are checked before anything is
 * sent, and the settings they make once defaults are filled in.
 */

/**
 * Options of {@link createRedisTokenStore}.
 *
 * @see {@link createRedisTokenStore}
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export interface RedisTokenStoreOptions {
  /**
   * A connected client. With node-redis, `createClient({ url, disableOfflineQueue: true })` makes commands fail
   * at once while the connection is down, instead of after `commandTimeoutMs`; attach an `error` listener.
   */
  client: RedisCommandClient;
  /**
   * Prefix of every Redis key: records are `<prefix>token:<key>`, locks `<prefix>lock:<key>`. Every process with
   * the same prefix shares the token sets, so give each client and grant its own, such as
   * `"oauth-token-client:<client_id>:<scope>:"`: two clients under one prefix would be handed each other's tokens.
   * Default `"oauth-token-client:"`. On a Redis Cluster it must hold a hash tag, such as `"{my-service}:"`, so that
   * a key's lock and record share a slot (and every key of the prefix one master).
   */
  prefix?: string;
  /**
   * Expiry of the refresh lock, in ms. The holder renews it every third of this while it works, so it bounds
   * how long a holder that died (or froze) blocks the others, not how long a refresh may take. A holder frozen or
   * cut off from Redis for longer loses the lock: see {@link TokenStoreLockLostError}. Default 10 000.
   */
  lockTtlMs?: number;
  /**
   * How long a process waits for a lock another one holds before it rejects with
   * {@link TokenStoreLockTimeoutError}, in ms. Keep it above `lockTtlMs`, so a dead holder's lock expires first,
   * and above the manager's `requestTimeoutMs` (default 30 000), so a holder's refresh ends first. Default 40 000.
   */
  lockWaitMs?: number;
  /** How often a waiting process tries the lock again, in ms (each try is jittered by ±50%). Default 50. */
  pollIntervalMs?: number;
  /** Time limit of each Redis command, in ms; past it the operation rejects. Default 2 000. */
  commandTimeoutMs?: number;
  /**
   * How many replicas must acknowledge each write (Redis `WAIT`, within `commandTimeoutMs`) before the store counts
   * it done; a write fewer acknowledged fails with {@link TokenStoreUnavailableError} (reason `"unreplicated"`),
   * though the primary holds it. Redis replicates asynchronously, so a write only the primary acknowledged is lost
   * if it fails over first; with rotating refresh tokens that write may be the refresh mark or the new token set,
   * and losing it can make another process send a spent refresh token. Set 1 on a Redis Cluster with replicas (or a
   * primary with replicas and automatic failover); while no replica answers, refreshes then fail instead of risking
   * the grant. Needs a client that routes a command without a key to a given key's node: node-redis' client and
   * {@link nodeRedisCluster} do, ioredis' `Cluster` does not (refused). Default 0: no wait.
   */
  waitForReplicas?: number;
  /**
   * What happens when Redis cannot serve (down, hung, refusing): `"throw"` (the default) rejects with
   * {@link TokenStoreUnavailableError}; `"memory"` carries on in this process alone, from the records it last
   * saw, without a cross-process lock, and writes its changes back once Redis answers again: a record only
   * where Redis holds none newer, a deletion only where Redis still holds the deleted record. It suits
   * client_credentials grants; with rotating refresh tokens shared by several processes, an outage can still
   * cost a grant (two processes may spend the same refresh token), so prefer `"throw"` there.
   */
  onUnavailable?: "throw" | "memory";
  /**
   * Called with every Redis failure: thrown, served from memory, or ignored (a lock release or renewal, after
   * which the lock expires on its own); and with every lock found lost ({@link TokenStoreLockLostError}), at its
   * renewal or at a write it refused. For logs and metrics; it holds no token. A hook that throws is ignored.
   */
  onError?: (error: TokenStoreUnavailableError | TokenStoreLockLostError) => void;
}

const DEFAULT_LOCK_TTL_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 40_000;
const DEFAULT_POLL_INTERVAL_MS = 50;
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** The options with their defaults filled in. */
export interface RedisStoreSettings {
  client: RedisCommandClient;
  prefix: string;
  /** Whole ms, within [1, {@link MAX_TTL_MS}]. */
  lockTtlMs: number;
  lockWaitMs: number;
  pollIntervalMs: number;
  commandTimeoutMs: number;
  waitForReplicas: number;
  /** `true` for `onUnavailable: "memory"`. */
  memoryFallback: boolean;
  onError: RedisTokenStoreOptions["onError"];
}

/** Checks each timing option: a finite number, positive (`lockWaitMs` may be 0), `lockTtlMs` a valid `PX`. */
function checkTimings(options: RedisTokenStoreOptions): void {
  for (const name of ["lockTtlMs", "lockWaitMs", "pollIntervalMs", "commandTimeoutMs"] as const) {
    const value = options[name];
    const ok = typeof value === "number" && Number.isFinite(value) && (name === "lockWaitMs" ? value >= 0 : value > 0);
    if (value !== undefined && !ok)
      throw argumentError(
        `options.${name} must be a ${name === "lockWaitMs" ? "non-negative" : "positive"} finite number`,
      );
  }
  if (options.lockTtlMs !== undefined && options.lockTtlMs > MAX_TTL_MS)
    throw argumentError(`options.lockTtlMs must be at most ${MAX_TTL_MS} (10 years)`);
}

/** Checks `waitForReplicas`: a count, and a client that can send `WAIT` to a key's node. */
function checkReplicas(options: RedisTokenStoreOptions): void {
  const replicas = options.waitForReplicas;
  if (replicas !== undefined && !(Number.isInteger(replicas) && replicas >= 0))
    throw argumentError("options.waitForReplicas must be a non-negative integer");
  if (replicas !== undefined && replicas > 0 && !routesKeyless(options.client))
    throw argumentError(
      "options.waitForReplicas needs a client that sends WAIT to a key's node: ioredis' Cluster cannot; use node-redis' createCluster() with nodeRedisCluster()",
    );
}

/**
 * Checks `options` before anything is sent.
 *
 * @throws {TypeError} (`code` `ERR_INVALID_ARG_VALUE`) naming the first option that is malformed.
 */
export function checkOptions(options: RedisTokenStoreOptions): void {
  checkObject(options, "options");
  if (!isPlainObject(options.client) || typeof options.client.sendCommand !== "function") {
    throw argumentError("options.client must have a sendCommand method (a node-redis client, or an adapter)");
  }
  const unadapted = unadaptedClient(options.client);
  if (unadapted !== undefined) throw argumentError(unadapted);
  if (options.prefix !== undefined && typeof options.prefix !== "string")
    throw argumentError("options.prefix must be a string");
  if (options.client.cluster === true) checkClusterPrefix(options.prefix ?? DEFAULT_PREFIX);
  checkTimings(options);
  checkReplicas(options);
  if (options.onUnavailable !== undefined && options.onUnavailable !== "throw" && options.onUnavailable !== "memory") {
    throw argumentError('options.onUnavailable must be "throw" or "memory"');
  }
  if (options.onError !== undefined && typeof options.onError !== "function")
    throw argumentError("options.onError must be a function");
}

/**
 * Checks `options` and fills in the defaults.
 *
 * @throws {TypeError} as {@link checkOptions} does.
 */
export function resolveOptions(options: RedisTokenStoreOptions): RedisStoreSettings {
  checkOptions(options);
  return {
    client: options.client,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    lockTtlMs: Math.ceil(options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS),
    lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    waitForReplicas: options.waitForReplicas ?? 0,
    memoryFallback: options.onUnavailable === "memory",
    onError: options.onError,
  };
}
