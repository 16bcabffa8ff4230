import { OAuthClientError } from "../../core/errors";

/*
 * The Redis store's own errors, as users catch them: Redis could not serve, the lock stayed taken, or the lock was
 * lost. Which raw failure becomes which of them is decided in failures.ts.
 */

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
