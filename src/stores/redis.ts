import { OAuthClientError } from "../core/errors";
import { sleep, unref } from "../core/clock";
import {
  DELETED_MARKER_MS,
  DELETED_MARKER_NO_LIFETIME_MS,
  isTokenRecord,
  TokenStoreCorruptError,
  type TokenRecord,
  type TokenStore,
} from "./token-store";
import { argumentError, checkObject, isPlainObject } from "../core/validate";
import { checkClusterPrefix, isReply, routesKeyless, unadaptedClient, type RedisCommandClient } from "./redis-clients";

export {
  ioredisClient,
  nodeRedisCluster,
  type IoredisLike,
  type NodeRedisCluster,
  type RedisCommandClient,
  type RedisNodeClient,
} from "./redis-clients";

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

/**
 * A {@link TokenStore} backed by Redis, with a lock shared by every process using the same Redis and prefix.
 *
 * @see {@link createRedisTokenStore}
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export interface RedisTokenStore extends TokenStore {
  /**
   * Runs `task` while holding the key's lock in Redis (`SET NX PX`, renewed while `task` runs, released by a
   * compare-and-delete so that only its owner removes it). Waits for a lock another process holds, up to
   * `lockWaitMs`. While `task` runs, `set` and `delete` of `key` through this store write only if the lock is
   * still held, and otherwise reject with {@link TokenStoreLockLostError}, so that a holder that lost its lock
   * cannot overwrite what the next holder stored.
   *
   * @throws {TokenStoreLockTimeoutError} when the lock was still held by another process after `lockWaitMs`.
   * @throws {TokenStoreUnavailableError} when Redis could not serve and `onUnavailable` is `"throw"`.
   */
  withLock<T>(key: string, task: () => Promise<T>): Promise<T>;
  /**
   * Writes `record` unless Redis holds a newer token set or a deletion marker; see {@link TokenStore.setUnlessNewer}.
   * One script, so the check and the write are atomic; no lock is needed.
   *
   * @throws {TokenStoreUnavailableError} when Redis could not serve and `onUnavailable` is `"throw"`.
   */
  setUnlessNewer(key: string, record: TokenRecord, options?: { replacing?: string }): Promise<boolean>;
}

/**
 * Why a {@link TokenStoreUnavailableError} was raised.
 *
 * @see {@link RedisTokenStoreOptions.commandTimeoutMs}
 * @see https://redis.io/docs/latest/develop/clients/nodejs/produsage/
 */
export type TokenStoreUnavailableReason =
  /** No answer within `commandTimeoutMs`: Redis is unreachable or hung. */
  | "timeout"
  /** The client is closed or offline, or the connection broke. */
  | "connection"
  /** Redis answered with an error (`READONLY`, `LOADING`, `NOPERM`, `WRONGTYPE`, ...). */
  | "refused"
  /** The write reached the primary, but fewer than `waitForReplicas` replicas acknowledged it in time. */
  | "unreplicated";

/**
 * Redis could not serve a token store operation: it did not answer within the time limit, the connection is
 * down, or it answered with an error. Always raised within `commandTimeoutMs` of the command, never after an
 * open-ended wait. The message and `cause` give the operation, the key and the client's own error text; the
 * client's error object itself is not kept, since some clients attach the command and its arguments to it.
 *
 * @see {@link RedisTokenStoreOptions.onUnavailable}
 * @see https://redis.io/docs/latest/develop/clients/nodejs/produsage/
 */
export class TokenStoreUnavailableError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "TOKEN_STORE_UNAVAILABLE" as const;
  /** What the store was doing. */
  readonly operation: "get" | "set" | "delete" | "lock" | "unlock" | "renew";
  /** The key of the token set. */
  readonly key: string;
  readonly reason: TokenStoreUnavailableReason;

  constructor(
    fields: {
      operation: TokenStoreUnavailableError["operation"];
      key: string;
      reason: TokenStoreUnavailableReason;
      detail: string;
    },
    options: { cause?: unknown } = {},
  ) {
    super(
      "TokenStoreUnavailableError",
      `Token store unavailable: ${fields.operation} of token set "${fields.key}" failed (${fields.reason}): ${fields.detail}`,
      options,
    );
    this.operation = fields.operation;
    this.key = fields.key;
    this.reason = fields.reason;
  }
}

/**
 * Another process held the refresh lock of a key for longer than `lockWaitMs`: it is still refreshing (a slow
 * token endpoint), or it died and its lock has not expired yet. A later call tries again.
 *
 * @see {@link RedisTokenStoreOptions.lockWaitMs}
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export class TokenStoreLockTimeoutError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "TOKEN_STORE_LOCK_TIMEOUT" as const;
  /** The key of the token set. */
  readonly key: string;
  /** How long the lock was waited for, in ms. */
  readonly waitedMs: number;

  constructor(key: string, waitedMs: number) {
    super(
      "TokenStoreLockTimeoutError",
      `Token set "${key}" is locked by another process: its lock was still held after ${waitedMs} ms`,
    );
    this.key = key;
    this.waitedMs = waitedMs;
  }
}

/**
 * The refresh lock of a key was lost while its holder worked: it expired (the holder was frozen, or cut off from
 * Redis, for longer than `lockTtlMs`) or was removed, and another process may hold it now. A `set` or `delete` of
 * the key inside {@link RedisTokenStore.withLock} is then refused, so it cannot overwrite what the new holder
 * stored. The token manager treats it as a store failure: it serves the current token while that has not
 * expired, and keeps a new token set it could not save until a later call saves it (unless Redis holds a newer
 * one by then).
 *
 * @see {@link RedisTokenStoreOptions.lockTtlMs}
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export class TokenStoreLockLostError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "TOKEN_STORE_LOCK_LOST" as const;
  /** What found the lock lost: its renewal (reported to `onError` only), or a write, which was not done. */
  readonly operation: "renew" | "set" | "delete";
  /** The key of the token set. */
  readonly key: string;

  constructor(key: string, operation: TokenStoreLockLostError["operation"]) {
    super(
      "TokenStoreLockLostError",
      `Token set "${key}" lost its lock while its holder worked (it expired or was removed)${operation === "renew" ? "" : `: the ${operation} was not done`}`,
    );
    this.key = key;
    this.operation = operation;
  }
}

const DEFAULT_PREFIX = "oauth-token-client:";
const DEFAULT_LOCK_TTL_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 40_000;
const DEFAULT_POLL_INTERVAL_MS = 50;
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;
/** How long a record without a refresh token outlives its access token in Redis (clock skew between hosts). */
const RECORD_GRACE_MS = 60_000;
/** With the memory fallback, how long after a failure Redis is left alone, so an outage costs no time per call. */
const REDIS_RETRY_AFTER_MS = 1_000;
/** With the memory fallback, how often at most the records Redis has dropped by now are forgotten. */
const SEEN_SWEEP_INTERVAL_MS = 60_000;

/** Deletes KEYS[1] when it holds ARGV[1]: a lock released by its owner only; a deletion replayed only on the record deleted. */
const COMPARE_AND_DELETE =
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0';
/** Extends the lock KEYS[1] to ARGV[2] ms when ARGV[1] still owns it. */
const RENEW =
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0';
/** The value a deliberate deletion leaves at a record's key; see {@link TokenStore.delete}. */
const DELETED_MARKER = '{"deleted_at_ms":0}';
/**
 * Lua: replaces the record at `key` with the deletion marker `marker`, kept for as long as the deleted access
 * token would have lived (by Redis' clock) plus `grace` ms, `noLifetime` ms when it had no lifetime, `grace` ms
 * when nothing was stored. A marker already there is kept.
 */
const TOMBSTONE_FUNCTION = `local function tombstone(key, marker, grace, noLifetime)
  local ttl = tonumber(grace)
  local current = redis.call("GET", key)
  if current then
    local ok, stored = pcall(cjson.decode, current)
    if ok and type(stored) == "table" then
      if stored.deleted_at_ms then return end
      local expires = tonumber(stored.expires_at_ms)
      if expires then
        local t = redis.call("TIME")
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        ttl = math.max(ttl, math.ceil(expires - now) + ttl)
      else
        ttl = tonumber(noLifetime)
      end
    end
  end
  redis.call("SET", key, marker, "PX", ttl)
end
`;
/** Replaces the record KEYS[1] with a deletion marker (ARGV: marker, grace, lifetime without expiry). */
const TOMBSTONE = `${TOMBSTONE_FUNCTION}tombstone(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1`;
/**
 * While ARGV[1] owns the lock KEYS[1], writes record ARGV[2] to KEYS[2] (TTL ARGV[3] ms or none), or replaces
 * KEYS[2] with a deletion marker (ARGV[4..6]) when ARGV[2] is empty; returns 0 without writing when the lock is lost.
 */
const IF_OWNER_WRITE = `${TOMBSTONE_FUNCTION}if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "" then tombstone(KEYS[2], ARGV[4], ARGV[5], ARGV[6])
elseif ARGV[3] == "" then redis.call("SET", KEYS[2], ARGV[2])
else redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3]) end
return 1`;
/**
 * Writes record ARGV[1] (obtained at ARGV[2], TTL ARGV[3] ms or none) unless KEYS[1] holds a deletion marker or a
 * record obtained later, except one holding refresh token ARGV[4] (the one spent for ARGV[1]); returns 1 if written.
 */
const SET_UNLESS_NEWER = `local current = redis.call("GET", KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == "table" then
    if stored.deleted_at_ms then return 0 end
    local replaces = ARGV[4] ~= "" and stored.refresh_token == ARGV[4]
    local at = tonumber(stored.obtained_at_ms)
    if not replaces and at and at > tonumber(ARGV[2]) then return 0 end
  end
end
if ARGV[3] == "" then redis.call("SET", KEYS[1], ARGV[1]) else redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3]) end
return 1`;
const TOMBSTONE_ARGS = [DELETED_MARKER, String(DELETED_MARKER_MS), String(DELETED_MARKER_NO_LIFETIME_MS)];

type Operation = TokenStoreUnavailableError["operation"];
/** A change made while Redis could not be reached, written back once it can. */
type PendingChange = { kind: "set"; raw: string } | { kind: "delete"; raw: string | undefined };

function checkOptions(options: RedisTokenStoreOptions): void {
  checkObject(options, "options");
  if (!isPlainObject(options.client) || typeof options.client.sendCommand !== "function") {
    throw argumentError("options.client must have a sendCommand method (a node-redis client, or an adapter)");
  }
  const unadapted = unadaptedClient(options.client);
  if (unadapted !== undefined) throw argumentError(unadapted);
  if (options.prefix !== undefined && typeof options.prefix !== "string")
    throw argumentError("options.prefix must be a string");
  if (options.client.cluster === true) checkClusterPrefix(options.prefix ?? DEFAULT_PREFIX);
  for (const name of ["lockTtlMs", "lockWaitMs", "pollIntervalMs", "commandTimeoutMs"] as const) {
    const value = options[name];
    const ok = typeof value === "number" && Number.isFinite(value) && (name === "lockWaitMs" ? value >= 0 : value > 0);
    if (value !== undefined && !ok)
      throw argumentError(
        `options.${name} must be a ${name === "lockWaitMs" ? "non-negative" : "positive"} finite number`,
      );
  }
  const replicas = options.waitForReplicas;
  if (replicas !== undefined && !(Number.isInteger(replicas) && replicas >= 0))
    throw argumentError("options.waitForReplicas must be a non-negative integer");
  if (replicas !== undefined && replicas > 0 && !routesKeyless(options.client))
    throw argumentError(
      "options.waitForReplicas needs a client that sends WAIT to a key's node: ioredis' Cluster cannot; use node-redis' createCluster() with nodeRedisCluster()",
    );
  if (options.onUnavailable !== undefined && options.onUnavailable !== "throw" && options.onUnavailable !== "memory") {
    throw argumentError('options.onUnavailable must be "throw" or "memory"');
  }
  if (options.onError !== undefined && typeof options.onError !== "function")
    throw argumentError("options.onError must be a function");
}

const decoder = new TextDecoder();

function text(reply: unknown): string | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (typeof reply === "string") return reply;
  if (reply instanceof Uint8Array) return decoder.decode(reply);
  return String(reply);
}

/** An error reply from Redis: one of the clients' reply errors, or a message that reads like one. */
function isErrorReply(error: unknown, message: string): boolean {
  if (isReply(error)) return true;
  // Redis error replies begin with an upper-case code: "READONLY You can't write against a read only replica."
  return /^[A-Z]{2,}[A-Z_]* /.test(message);
}

function unavailable(operation: Operation, key: string, error: unknown): TokenStoreUnavailableError {
  const original = error instanceof Error ? error : undefined;
  const name =
    original === undefined ? typeof error : original.name !== "Error" ? original.name : original.constructor.name;
  const message = (original?.message ?? String(error)).split("\n", 1)[0]!.slice(0, 300);
  // A copy with the client's name, text and stack only: ioredis puts the command's arguments on its errors.
  const cause = new Error(message);
  cause.name = name;
  if (original?.stack !== undefined) {
    // The client's frames under the trimmed text. V8 starts a stack with "<name>: <message>", every line of the
    // untrimmed message; other engines start it with the frames.
    const lines = original.stack.split("\n");
    const messageLines = original.message.split("\n");
    const frames = lines[0]!.endsWith(messageLines[0]!) ? lines.slice(messageLines.length) : lines;
    cause.stack = [`${name}: ${message}`, ...frames].join("\n");
  }
  const reason = isErrorReply(error, message) ? "refused" : "connection";
  return new TokenStoreUnavailableError({ operation, key, reason, detail: `${name}: ${message}` }, { cause });
}

/** When Redis drops a record on its own (epoch ms); `undefined` for never. */
function dropAtMs(record: TokenRecord): number | undefined {
  // A refresh token outlives its access token: a record holding one stays until it is deleted.
  if (record.refresh_token !== undefined || record.expires_at_ms === undefined) return undefined;
  return record.expires_at_ms + RECORD_GRACE_MS;
}

/** A record's TTL in Redis, in ms; `undefined` for none. */
function ttlFor(record: TokenRecord): number | undefined {
  const dropAt = dropAtMs(record);
  return dropAt === undefined ? undefined : Math.max(1, Math.ceil(dropAt - Date.now()));
}

/**
 * Creates a {@link TokenStore} in Redis, shared by every process that uses the same Redis and `prefix`: token
 * sets are JSON strings (a record without a refresh token expires a minute after its access token; one with a
 * refresh token is kept until deleted), and `withLock` is a lock in Redis, so that across all those processes
 * one refreshes a key while the others wait and then use the token it stored.
 *
 * The lock is `SET <prefix>lock:<key> <random owner> NX PX lockTtlMs`, renewed by its holder while it works and
 * released by a compare-and-delete script; a holder that dies loses it within `lockTtlMs`, and its holder's
 * writes are checked against it in the same script as the write. On a Redis Cluster, where a key's lock and
 * record sit in different slots unless `prefix` holds a hash tag (`"{my-service}:"`), the check is a renewal just
 * before the write instead. Every command is bounded by `commandTimeoutMs`, so a Redis that is down or hung
 * never makes a caller wait longer.
 *
 * @param options - the client, and optionally the key prefix, lock timings, time limit and fallback.
 * @returns the store, to pass as the token manager's `store`.
 * @throws {TypeError} when an option is malformed.
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions): RedisTokenStore {
  checkOptions(options);
  const { client, onError } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const lockTtlMs = Math.ceil(options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS);
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const fallback = options.onUnavailable === "memory";
  const replicas = options.waitForReplicas ?? 0;
  /**
   * Memory fallback: the raw record of each key as Redis last held it, by this process' knowledge, and when Redis
   * drops it on its own; forgotten then, as Redis forgets it.
   */
  const seen = new Map<string, { raw: string; dropAt: number }>();
  /** Memory fallback: changes made while Redis could not serve. */
  const pending = new Map<string, PendingChange>();
  let failedAt: number | undefined;
  let replaying: Promise<void> | undefined;
  let sweepAt = -Infinity;
  /**
   * The owners of the locks held in this store, by key, oldest first (two only after the older one was lost): a
   * set or delete of the key is written only while the oldest still owns its lock.
   */
  const holders = new Map<string, string[]>();
  /** Learned from a CROSSSLOT answer: a Redis Cluster, where a key's lock and record are in different slots. */
  let crossSlot = false;

  const tokenKey = (key: string) => `${prefix}token:${key}`;
  const lockKey = (key: string) => `${prefix}lock:${key}`;

  function report(error: TokenStoreUnavailableError | TokenStoreLockLostError): void {
    try {
      onError?.(error);
    } catch {
      // Hooks are for logging and metrics; a broken one must not break token delivery.
    }
  }

  /** Sends one command, bounded by commandTimeoutMs; every failure becomes a TokenStoreUnavailableError. */
  async function run(operation: Operation, key: string, args: string[], routeKey?: string): Promise<unknown> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TokenStoreUnavailableError({
            operation,
            key,
            reason: "timeout",
            detail: `no answer within ${commandTimeoutMs} ms`,
          }),
        );
      }, commandTimeoutMs);
    });
    try {
      const sendOptions = { abortSignal: controller.signal, ...(routeKey === undefined ? {} : { key: routeKey }) };
      return await Promise.race([client.sendCommand(args, sendOptions), timedOut]);
    } catch (error) {
      controller.abort();
      throw error instanceof TokenStoreUnavailableError ? error : unavailable(operation, key, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The record in `raw`; `undefined` for a deletion marker. */
  function decode(key: string, raw: string): TokenRecord | undefined {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (isPlainObject(value) && value.deleted_at_ms !== undefined && value.access_token === undefined) return undefined;
    // The value is not quoted: it may hold a token.
    if (!isTokenRecord(value)) throw new TokenStoreCorruptError(key, `Redis key "${tokenKey(key)}"`);
    return value;
  }

  /** Memory fallback: notes what Redis holds for the key. */
  function see(key: string, raw: string, record: TokenRecord): void {
    seen.set(key, { raw, dropAt: dropAtMs(record) ?? Infinity });
  }

  /** Memory fallback: what this process believes the key holds. */
  function local(key: string): TokenRecord | undefined {
    const change = pending.get(key);
    const raw = change === undefined ? seen.get(key)?.raw : change.kind === "set" ? change.raw : undefined;
    return raw === undefined ? undefined : decode(key, raw);
  }

  /** Memory fallback: writes back the changes made during an outage, without overwriting newer ones. */
  async function replay(): Promise<void> {
    for (const [key, change] of pending) {
      let written = false;
      if (change.kind === "set") {
        const record = decode(key, change.raw)!;
        written = await setUnlessNewer(key, change.raw, record, undefined);
        if (written) see(key, change.raw, record);
      } else if (change.raw !== undefined) {
        await run("delete", key, ["EVAL", COMPARE_AND_DELETE, "1", tokenKey(key), change.raw]);
      }
      if (pending.get(key) === change) pending.delete(key);
      // Redis holds something newer, or nothing: the next read learns which.
      if (!written) seen.delete(key);
    }
  }

  /** Runs `remote` against Redis; when Redis cannot serve, throws or, with the memory fallback, runs `inMemory`. */
  async function attempt<T>(remote: () => Promise<T>, inMemory: () => T): Promise<T> {
    const t = Date.now();
    if (fallback && t >= sweepAt) {
      sweepAt = t + SEEN_SWEEP_INTERVAL_MS;
      for (const [key, { dropAt }] of seen) if (dropAt <= t) seen.delete(key);
    }
    if (fallback && failedAt !== undefined && t - failedAt < REDIS_RETRY_AFTER_MS) return inMemory();
    try {
      if (fallback && pending.size > 0) {
        replaying ??= replay().finally(() => (replaying = undefined));
        await replaying;
      }
      const result = await remote();
      failedAt = undefined;
      return result;
    } catch (error) {
      if (!(error instanceof TokenStoreUnavailableError)) throw error;
      report(error);
      if (!fallback) throw error;
      failedAt = Date.now();
      return inMemory();
    }
  }

  /** Takes the key's lock, waiting up to lockWaitMs while another process holds it. */
  async function acquire(key: string, owner: string): Promise<void> {
    const started = Date.now();
    try {
      for (;;) {
        if (text(await run("lock", key, ["SET", lockKey(key), owner, "NX", "PX", String(lockTtlMs)])) === "OK") return;
        const waited = Date.now() - started;
        if (waited >= lockWaitMs) throw new TokenStoreLockTimeoutError(key, waited);
        // Jitter spreads the waiting processes' tries, so none of them is starved.
        await sleep(Math.min(lockWaitMs - waited, pollIntervalMs * (0.5 + Math.random())));
      }
    } catch (error) {
      // A SET whose answer was lost may have taken the lock: free it, or it blocks the others until it expires.
      if (error instanceof TokenStoreUnavailableError)
        run("unlock", key, ["EVAL", COMPARE_AND_DELETE, "1", lockKey(key), owner]).catch(() => {});
      throw error;
    }
  }

  /** Keeps the lock from expiring while its holder works; reports it and stops when the lock turns out to be lost. */
  function keepAlive(key: string, owner: string): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      timer = setTimeout(tick, Math.max(1, Math.floor(lockTtlMs / 3)));
      unref(timer);
    };
    const tick = async () => {
      try {
        if (Number(await run("renew", key, ["EVAL", RENEW, "1", lockKey(key), owner, String(lockTtlMs)])) !== 1) {
          // The holder's writes are refused from now on (write); this is the earliest word of it.
          if (!stopped) report(new TokenStoreLockLostError(key, "renew"));
          return;
        }
      } catch (error) {
        if (error instanceof TokenStoreUnavailableError) report(error);
      }
      if (!stopped) schedule();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /**
   * Writes record `raw` (TTL `px`) under the key, or deletes it when `raw` is `undefined`: unconditionally, or,
   * while a lock of the key is held in this store, only if it still is. That check and the write are one script;
   * a Redis Cluster refuses a script on two slots (CROSSSLOT), and there the write follows a renewal of the lock
   * that found it still held.
   */
  async function write(
    operation: "set" | "delete",
    key: string,
    raw: string | undefined,
    px: number | undefined,
  ): Promise<void> {
    const owner = holders.get(key)?.[0];
    const plain =
      raw === undefined
        ? ["EVAL", TOMBSTONE, "1", tokenKey(key), ...TOMBSTONE_ARGS]
        : px === undefined
          ? ["SET", tokenKey(key), raw]
          : ["SET", tokenKey(key), raw, "PX", String(px)];
    if (owner === undefined) {
      await run(operation, key, plain);
      return;
    }
    const lost = () => {
      const error = new TokenStoreLockLostError(key, operation);
      report(error);
      return error;
    };
    if (!crossSlot) {
      try {
        const args = [
          lockKey(key),
          tokenKey(key),
          owner,
          raw ?? "",
          px === undefined ? "" : String(px),
          ...TOMBSTONE_ARGS,
        ];
        if (Number(await run(operation, key, ["EVAL", IF_OWNER_WRITE, "2", ...args])) === 1) return;
        throw lost();
      } catch (error) {
        if (
          !(
            error instanceof TokenStoreUnavailableError &&
            error.reason === "refused" &&
            error.message.includes("CROSSSLOT")
          )
        )
          throw error;
        crossSlot = true;
      }
    }
    if (Number(await run(operation, key, ["EVAL", RENEW, "1", lockKey(key), owner, String(lockTtlMs)])) !== 1)
      throw lost();
    await run(operation, key, plain);
  }

  /** With `waitForReplicas`, waits until that many replicas hold the key's last write; fails when fewer do in time. */
  async function replicate(operation: Operation, key: string): Promise<void> {
    if (replicas === 0) return;
    const waitMs = Math.max(1, Math.floor((commandTimeoutMs * 3) / 4));
    const acknowledged = Number(await run(operation, key, ["WAIT", String(replicas), String(waitMs)], tokenKey(key)));
    if (acknowledged >= replicas) return;
    throw new TokenStoreUnavailableError({
      operation,
      key,
      reason: "unreplicated",
      detail: `${acknowledged} of ${replicas} replicas acknowledged the write within ${waitMs} ms; a failover could lose it`,
    });
  }

  /** Writes `raw` unless Redis holds a deletion marker or a newer record, other than one holding `replacing`. */
  async function setUnlessNewer(
    key: string,
    raw: string,
    record: TokenRecord,
    replacing: string | undefined,
  ): Promise<boolean> {
    const px = ttlFor(record);
    const args = [tokenKey(key), raw, String(record.obtained_at_ms ?? 0), px === undefined ? "" : String(px)];
    const written = Number(await run("set", key, ["EVAL", SET_UNLESS_NEWER, "1", ...args, replacing ?? ""])) === 1;
    if (written) await replicate("set", key);
    return written;
  }

  /** Reads the key's value; a Redis key of another type (WRONGTYPE) is a record the store cannot read. */
  async function read(key: string): Promise<string | undefined> {
    try {
      return text(await run("get", key, ["GET", tokenKey(key)]));
    } catch (error) {
      if (error instanceof TokenStoreUnavailableError && error.message.includes("WRONGTYPE"))
        throw new TokenStoreCorruptError(key, `Redis key "${tokenKey(key)}"`);
      throw error;
    }
  }

  return {
    async get(key) {
      return attempt(
        async () => {
          const raw = await read(key);
          if (raw === undefined) {
            if (fallback) seen.delete(key);
            return undefined;
          }
          const record = decode(key, raw);
          if (fallback) {
            if (record === undefined) seen.delete(key);
            else see(key, raw, record);
          }
          return record;
        },
        () => local(key),
      );
    },

    async set(key, record) {
      const raw = JSON.stringify(record);
      await attempt(
        async () => {
          await write("set", key, raw, ttlFor(record));
          await replicate("set", key);
          if (fallback) see(key, raw, record);
        },
        () => void pending.set(key, { kind: "set", raw }),
      );
    },

    async delete(key) {
      await attempt(
        async () => {
          await write("delete", key, undefined, undefined);
          await replicate("delete", key);
          if (fallback) seen.delete(key);
        },
        // Deleted later only if Redis still holds the record this process knew: a newer one is someone else's.
        () => void pending.set(key, { kind: "delete", raw: seen.get(key)?.raw }),
      );
    },

    async setUnlessNewer(key, record, options = {}) {
      const raw = JSON.stringify(record);
      return attempt(
        async () => {
          const written = await setUnlessNewer(key, raw, record, options.replacing);
          if (fallback && written) see(key, raw, record);
          return written;
        },
        () => {
          pending.set(key, { kind: "set", raw });
          return true;
        },
      );
    },

    async withLock(key, task) {
      const owner = crypto.randomUUID();
      const locked = await attempt(
        () => acquire(key, owner).then(() => true),
        () => false,
      );
      // Without Redis (memory fallback) the manager's own per-key queue is the only lock left.
      if (!locked) return task();
      const stop = keepAlive(key, owner);
      const owners = holders.get(key) ?? [];
      holders.set(key, owners);
      owners.push(owner);
      try {
        return await task();
      } finally {
        stop();
        owners.splice(owners.indexOf(owner), 1);
        if (owners.length === 0 && holders.get(key) === owners) holders.delete(key);
        try {
          await run("unlock", key, ["EVAL", COMPARE_AND_DELETE, "1", lockKey(key), owner]);
        } catch (error) {
          // The task's result stands; the lock expires on its own within lockTtlMs.
          if (error instanceof TokenStoreUnavailableError) report(error);
        }
      }
    },
  };
}
