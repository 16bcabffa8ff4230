import type { OAuthClient } from "./oauth/client";
import type { DpopKey } from "./core/request";
import type { RevokeTokenParams } from "./oauth/revocation";
import type { GrantParams, RequestFormat, TokenResponse } from "./oauth/token";
import { OAuthClientError, OAuthError, OAuthResponseError } from "./core/errors";
import { computeExpiresAtMs, computeRefreshAtMs } from "./oauth/expiry";
import { createMemoryTokenStore } from "./stores/memory";
import {
  holdsNewer,
  isTokenRecord,
  TokenStoreCorruptError,
  type TokenRecord,
  type TokenStore,
} from "./stores/token-store";
import { obtainTokenAnswer, secretFields } from "../generated/spec";
import { REDACTED } from "./core/redact";
import { sleep, unref } from "./core/clock";
import {
  argumentError,
  checkAnswer,
  checkNonEmptyString,
  checkObject,
  checkPositive,
  isPlainObject,
  placeholder,
} from "./core/validate";

/**
 * How a manager gets a new access token: `client_credentials` asks for one; `refresh_token` spends the stored
 * refresh token of the key, which {@link TokenManager.setTokens} seeds after the authorization code exchange.
 * The other fields (`scope`, or another field of the grant) are sent with every request of the grant.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export type TokenManagerGrant<F extends RequestFormat = "form"> =
  | ({ type: "client_credentials" } & GrantParams<"client_credentials">)
  | ({ type: "refresh_token" } & Omit<GrantParams<"refresh_token", F>, "refresh_token">);

/**
 * Builds the revocation request for a stored token set; see {@link TokenManager.revoke}.
 *
 * @see {@link TokenManagerBaseOptions.revokeRequest}
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export type RevokeRequestBuilder<F extends RequestFormat = "form"> = (tokens: TokenRecord) => RevokeTokenParams<F>;

/**
 * Sent to `onRefreshed` after a new token set is stored. Holds no token.
 *
 * @see {@link TokenManagerBaseOptions.onRefreshed}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export interface TokenRefreshedEvent {
  type: "refreshed";
  /** The key of the token set. */
  key: string;
  grant: TokenManagerGrant["type"];
  /** Time the token request took, by the manager's clock. */
  durationMs: number;
  /** When the new access token expires (epoch ms); `undefined` when the server gave no lifetime. */
  expiresAtMs: number | undefined;
  /** `true` when the answer carried a new refresh token, which replaced the old one. */
  refreshTokenRotated: boolean;
  /** The granted scopes, when known. */
  scope?: string;
}

/**
 * Sent to `onFailed` when a token could not be obtained or saved. Holds no token and no server text.
 *
 * @see {@link TokenManagerBaseOptions.onFailed}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export interface TokenFailedEvent {
  type: "failed";
  /** The key of the token set. */
  key: string;
  grant: TokenManagerGrant["type"];
  /** Time the failed step took, by the manager's clock; 0 when no request was sent. */
  durationMs: number;
  /** The error's stable `code` (`OAUTH_ERROR`, `OAUTH_TRANSPORT`, ...) or its name (`TimeoutError`). */
  code: string;
  /** The OAuth error code (`invalid_grant`, `server_error`), when the server sent one. */
  error?: string;
  /** The HTTP status, when an answer arrived. */
  status?: number;
  /** `true` when the user must authorize again; the stored tokens were cleared. */
  reauthorizationRequired: boolean;
  /**
   * `true` when an access token was returned instead of the error: the current one, which had not expired yet,
   * or the new one the store failed to save (it is saved in the background).
   */
  servedCurrentToken: boolean;
}

/**
 * Options of {@link createTokenManager}. With a JSON client `revokeRequest` is required, because the
 * RFC 7009 default is the spec's form body.
 *
 * @see {@link createTokenManager}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export type TokenManagerOptions<F extends RequestFormat = "form"> = TokenManagerBaseOptions<F> &
  ([F] extends ["json"] ? { revokeRequest: RevokeRequestBuilder<F> } : unknown);

/**
 * The options every manager takes; see {@link TokenManagerOptions}.
 *
 * @see {@link createTokenManager}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface TokenManagerBaseOptions<F extends RequestFormat = "form"> {
  /** The client that sends token and revocation requests. */
  client: OAuthClient<F>;
  /** How new access tokens are obtained. */
  grant: TokenManagerGrant<F>;
  /** Where token sets are kept. Default: a new in-memory store, private to this manager. */
  store?: TokenStore;
  /**
   * How long before expiry a token is replaced, in seconds; at most half the token's lifetime is used.
   * Default 60.
   */
  refreshWindowSeconds?: number;
  /** Time limit of each token or revocation request, in ms; `Infinity` for none. Default 30 000. */
  requestTimeoutMs?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Called after each new token set is stored. A hook that throws is ignored. */
  onRefreshed?: (event: TokenRefreshedEvent) => void;
  /** Called when a token could not be obtained or saved. A hook that throws is ignored. */
  onFailed?: (event: TokenFailedEvent) => void;
  /**
   * The revocation request for a token set. Default (RFC 7009): the refresh token with `token_type_hint`
   * `refresh_token` when there is one, else the access token. A JSON client (the spec's JSON revocation body)
   * needs `(t) => ({ access_token: t.access_token })`, and so does a server that names the token `access_token`.
   */
  revokeRequest?: RevokeRequestBuilder<F>;
  /**
   * Whether a refused refresh means the refresh token is dead, so the key's tokens are cleared and
   * {@link ReauthorizationRequiredError} is thrown. Asked only for answers the default does not already count:
   * `invalid_grant`, and a 400 with no OAuth error body (servers answer a revoked, rotated-out or unknown
   * refresh token that way). A 401 or 403 never counts: it is about the client's authentication, not the
   * user's grant. Default: nothing more.
   */
  isRefusedGrant?: (error: OAuthError) => boolean;
  /**
   * How long a refresh waits, in ms, when another process is spending the stored refresh token (its refresh
   * started and has not ended: it may have lost its lock, or be cut off from the store). Past it,
   * {@link TokenRefreshInFlightError} is thrown, or the current token served while it has not expired; that
   * refresh token is never sent again by anyone else. Default 10 000.
   */
  refreshInFlightWaitMs?: number;
  /**
   * At most how many token requests one key sends per second; a request past it waits for its turn (at most a
   * second). With tokens that live less than a second (`expires_in: 0`, an `expires_at` already past), each new
   * token is also served for a second. Default 5.
   */
  maxTokenRequestsPerSecond?: number;
  /**
   * A DPoP key (from `createDpopKey`) that every token request of the manager proves, so its tokens are bound
   * to it (RFC 9449). A DPoP-bound token set keeps its key's thumbprint (`dpop_jkt`), and its refresh token is
   * sent with that key only: a manager with another key, or none, throws a `TypeError` instead, and the tokens
   * stay. Processes that share a store need the same key, made from the same private JWK. Default: no DPoP.
   */
  dpop?: DpopKey;
}

/**
 * Options of {@link TokenManager.invalidate}.
 *
 * @see {@link TokenManager.invalidate}
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export interface InvalidateOptions {
  /**
   * The access token the resource server rejected. The token set is invalidated only while it still holds
   * this token, so a 401 that arrives after another caller already replaced the token costs no request.
   */
  accessToken?: string;
}

/**
 * Keeps access tokens fresh, one token set per key; made by {@link createTokenManager}.
 *
 * @see {@link createTokenManager}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export interface TokenManager {
  /**
   * Returns a valid access token for `key`: from memory while it is fresh, with no I/O; otherwise from the
   * store, or from a token request shared by every concurrent caller of the key.
   *
   * When a refresh fails but the current access token has not expired yet (it was only inside the refresh
   * window), that token is returned, `onFailed` is called, and a later call tries again.
   *
   * @param key - the token set, such as a user or merchant ID. Default `"default"`.
   * @returns the access token, a secret: send it, never log it.
   * @throws {ReauthorizationRequiredError} when the grant is gone (`invalid_grant`, or no refresh token).
   * @throws {OAuthError} {@link OAuthResponseError} {@link OAuthTransportError} when the token request failed
   *   and no unexpired token is left; the stored tokens are untouched.
   * @throws {TokenRefreshInFlightError} when another process is spending the stored refresh token and has not
   *   stored the outcome within `refreshInFlightWaitMs` (retryable; the current token is served while it has not
   *   expired).
   * @throws {TokenStoreCorruptError} when a refresh_token grant's record cannot be read (a client_credentials
   *   grant replaces it with a new token instead).
   * @throws the store's error (`TokenStoreUnavailableError`, `TokenStoreLockTimeoutError`, `TokenStoreLockLostError`)
   *   when the store or its lock failed; while the current token has not expired, that token is served instead. A
   *   new token set that could not be saved is handed over all the same, kept in memory, and saved in the
   *   background or by a later call, unless the store holds a newer one by then.
   * @throws {TypeError} when `key` is not a non-empty string.
   */
  getAccessToken(key?: string): Promise<string>;
  /**
   * Reads the stored token set of `key` without sending any request.
   *
   * @returns a copy of the record, or `undefined` when there is none. It holds secrets.
   */
  getToken(key?: string): Promise<TokenRecord | undefined>;
  /**
   * Stores a token answer under `key`, replacing what was there: seeds a `refresh_token` manager after the
   * authorization code exchange. Its lifetime counts from now.
   *
   * @throws {TypeError} when `tokens` is not a token answer.
   */
  setTokens(key: string, tokens: TokenResponse): Promise<void>;
  /**
   * Marks the access token of `key` as expired, in memory and in the store, so the next
   * {@link TokenManager.getAccessToken} obtains a new one; call it after a 401 from the resource server.
   * The refresh token is kept.
   */
  invalidate(key?: string, options?: InvalidateOptions): Promise<void>;
  /**
   * Revokes the token set of `key` through the client (RFC 7009), then deletes it from the store. When the
   * revocation fails (a 503 means the token must be assumed still valid), the tokens are kept and the error
   * is thrown; {@link TokenManager.clear} forgets them without asking the server.
   *
   * @throws {OAuthError} {@link OAuthResponseError} {@link OAuthTransportError} as the client does.
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  revoke(key?: string): Promise<void>;
  /** Deletes the token set of `key` from memory and the store, without contacting the server. */
  clear(key?: string): Promise<void>;
}

/**
 * Why a key's grant can no longer produce tokens.
 *
 * @see {@link ReauthorizationRequiredError.reason}
 */
export type ReauthorizationReason = "invalid_grant" | "refused_grant" | "no_refresh_token" | "refresh_outcome_unknown";

const REASONS: Record<ReauthorizationReason, string> = {
  invalid_grant: "the server refused the grant (invalid_grant)",
  refused_grant: "the server refused the refresh token",
  no_refresh_token: "no refresh token is stored",
  refresh_outcome_unknown:
    "another process started spending the stored refresh token over 5 minutes ago and never stored the outcome",
};

/**
 * Whether a refused refresh means the refresh token is dead: `invalid_grant`, a 400 with no OAuth error body,
 * or what `isRefusedGrant` counts; never a 401 or 403, which are about the client's own authentication.
 */
function refusesGrant(error: OAuthError, isRefusedGrant: ((error: OAuthError) => boolean) | undefined): boolean {
  if (error.status === 401 || error.status === 403) return false;
  if (error.requiresReauthorization) return true;
  if (error.status === 400 && error.body === undefined && error.error === "http_400") return true;
  return isRefusedGrant?.(error) === true;
}

/**
 * The grant of a key can no longer produce tokens: the server answered `invalid_grant` (the refresh token
 * expired, was revoked or rotated out), refused the refresh token otherwise (a 400 with no error body), or no
 * refresh token is stored. The user must authorize again; after a refusal the stored tokens were cleared, so
 * nothing keeps sending the dead refresh token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class ReauthorizationRequiredError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_REAUTHORIZATION_REQUIRED" as const;
  /** The key of the token set. */
  readonly key: string;
  /**
   * `invalid_grant` when the server said so; `refused_grant` when it refused otherwise (a 400 with no error
   * body, or an answer `isRefusedGrant` counts); `no_refresh_token` when there was none to send;
   * `refresh_outcome_unknown` when another process started spending the stored refresh token more than 5 minutes
   * ago and never stored what came of it (it died with the new token set in its memory, or is still cut off from
   * the store): the refresh token is not sent again, since the server may have rotated it. The record is kept,
   * so a new token set that process stores later is still used.
   */
  readonly reason: ReauthorizationReason;

  constructor(key: string, reason: ReauthorizationReason, options: { cause?: unknown } = {}) {
    const why = REASONS[reason];
    super(
      "ReauthorizationRequiredError",
      `Token set "${key}" cannot be refreshed: ${why}; the user must authorize again`,
      options,
    );
    this.key = key;
    this.reason = reason;
  }
}

/**
 * Another process is spending the key's refresh token: it marked the refresh in the store and has not stored
 * the outcome within `refreshInFlightWaitMs` (it lost its lock, or is cut off from the store, with the answer
 * in hand or on its way). Sending the same refresh token again could make the server revoke the whole grant
 * (RFC 9700 §4.14.2), so it is not sent. Retryable: the tokens are kept, and a later call uses the new token
 * set as soon as that process stores it. The user does not need to authorize again.
 *
 * @see {@link TokenManagerBaseOptions.refreshInFlightWaitMs}
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export class TokenRefreshInFlightError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "TOKEN_REFRESH_IN_FLIGHT" as const;
  /** The key of the token set. */
  readonly key: string;
  /** How long ago the other process started its refresh, in ms, by this manager's clock. */
  readonly inFlightForMs: number;

  constructor(key: string, inFlightForMs: number) {
    super(
      "TokenRefreshInFlightError",
      `Token set "${key}" is being refreshed by another process (for ${Math.round(inFlightForMs)} ms) that has not stored the outcome yet; try again shortly`,
    );
    this.key = key;
    this.inFlightForMs = inFlightForMs;
  }
}

const DEFAULT_KEY = "default";
const DEFAULT_REFRESH_WINDOW_SECONDS = 60;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** After a failed refresh while the current token still works, how long it is served before the next try. */
const RETRY_AFTER_FAILURE_MS = 1_000;
/** How often, at most, the slow path drops the state of idle keys whose token has expired, by the manager's clock. */
const SWEEP_INTERVAL_MS = 60_000;
const DEFAULT_REFRESH_IN_FLIGHT_WAIT_MS = 10_000;
const DEFAULT_MAX_TOKEN_REQUESTS_PER_SECOND = 5;
/** How long a new token is served at least, whatever its lifetime says (0, or already past by our clock). */
const MIN_SERVE_MS = 1_000;
/** A refresh marked in the store this long ago whose outcome never came is given up on (see the reason). */
const ABANDONED_REFRESH_MS = 300_000;
/** How often a refresh waiting for another process' outcome reads the store, in ms (jittered). */
const IN_FLIGHT_POLL_MS = 100;
/** Background saves of a token set the store refused: first retry, and the longest gap between two. */
const SAVE_RETRY_FIRST_MS = 1_000;
const SAVE_RETRY_MAX_MS = 10_000;

/** The in-memory state of one key: the hot path reads `entry` and nothing else. */
interface Slot {
  /** The last record seen, with its refresh time and a resolved promise of its token. */
  entry: CacheEntry | undefined;
  /** The running getAccessToken request of this key, shared by its concurrent callers. */
  flight: Promise<string> | undefined;
  /** The end of this key's operation queue: one operation at a time per key. */
  tail: Promise<void> | undefined;
  /** A token set obtained but not yet saved because the store failed; saved before anything else. */
  unpersisted: Unpersisted | undefined;
  /** The timer of the next background save of `unpersisted`. */
  saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** When this key's recent token requests were sent (the last second's), for the rate limit. */
  sends: number[];
  /** Bumped by every change a caller asks for, so an older running operation does not overwrite `entry`. */
  epoch: number;
}

/** A token set to save, and the refresh token spent to obtain it. */
interface Unpersisted {
  readonly record: TokenRecord;
  readonly replacing: string | undefined;
}

interface CacheEntry {
  readonly record: TokenRecord;
  readonly refreshAt: number;
  readonly token: Promise<string>;
}

function checkKey(key: unknown): asserts key is string {
  checkNonEmptyString(key, "key");
}

function checkOptions(options: TokenManagerOptions<RequestFormat>): void {
  if (!isPlainObject(options)) throw argumentError("options must be an object");
  const { client, grant } = options;
  if (
    !isPlainObject(client) ||
    typeof client.clientCredentials !== "function" ||
    typeof client.refreshToken !== "function"
  ) {
    throw argumentError("options.client must be a client made by createOAuthClient");
  }
  if (!isPlainObject(grant) || (grant.type !== "client_credentials" && grant.type !== "refresh_token")) {
    throw argumentError('options.grant.type must be "client_credentials" or "refresh_token"');
  }
  const window = options.refreshWindowSeconds;
  if (window !== undefined && (typeof window !== "number" || !Number.isFinite(window) || window < 0)) {
    throw argumentError("options.refreshWindowSeconds must be a non-negative number");
  }
  checkPositive(options.requestTimeoutMs, "options.requestTimeoutMs", true);
  checkPositive(options.refreshInFlightWaitMs, "options.refreshInFlightWaitMs");
  checkPositive(options.maxTokenRequestsPerSecond, "options.maxTokenRequestsPerSecond");
  if (options.dpop !== undefined && !(isPlainObject(options.dpop) && typeof options.dpop.apply === "function"))
    throw argumentError("options.dpop must be a DPoP key made by createDpopKey");
  for (const name of ["now", "onRefreshed", "onFailed", "revokeRequest", "isRefusedGrant"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function")
      throw argumentError(`options.${name} must be a function`);
  }
  const store = options.store;
  if (store !== undefined) {
    if (
      !isPlainObject(store) ||
      typeof store.get !== "function" ||
      typeof store.set !== "function" ||
      typeof store.delete !== "function"
    ) {
      throw argumentError("options.store must have get, set and delete methods");
    }
    if (store.withLock !== undefined && typeof store.withLock !== "function")
      throw argumentError("options.store.withLock must be a function");
  }
}

/** A token set handed to `setTokens`, checked as the spec's token answer is. */
function checkTokens(tokens: unknown): TokenResponse {
  checkObject(tokens, "tokens");
  for (const field of secretFields) if (tokens[field] === REDACTED) throw argumentError(placeholder(`tokens.${field}`));
  return checkAnswer(
    obtainTokenAnswer,
    tokens,
    (message) => {
      throw argumentError(message);
    },
    "tokens",
  ) as TokenResponse;
}

/** The failure, described with codes only: server text may quote what was sent. */
function describe(error: unknown): Pick<TokenFailedEvent, "code" | "error" | "status"> {
  if (error instanceof OAuthError) return { code: error.code, error: error.error, status: error.status };
  if (error instanceof OAuthResponseError) return { code: error.code, status: error.status };
  if (error instanceof ReauthorizationRequiredError) {
    const cause = error.cause instanceof OAuthError ? { error: error.cause.error, status: error.cause.status } : {};
    return { code: error.code, ...cause };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === "string" ? code : error.name };
  }
  return { code: "UNKNOWN" };
}

function defaultRevokeRequest(tokens: TokenRecord): RevokeTokenParams<"form"> {
  return tokens.refresh_token !== undefined
    ? { token: tokens.refresh_token, token_type_hint: "refresh_token" }
    : { token: tokens.access_token, token_type_hint: "access_token" };
}

function noop(): void {}

/** A random ID for the refresh marks of one manager (Web Crypto, as in browsers and edge runtimes). */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The record without a refresh mark, as it is written back or saved again. */
function unmarked(record: TokenRecord): TokenRecord {
  if (record.refresh_in_flight === undefined) return record;
  const { refresh_in_flight: _, ...rest } = record;
  return rest;
}

/** The per-key state of each manager, for {@link cachedKeyCount}. */
const managerSlots = new WeakMap<TokenManager, Map<string, unknown>>();

/**
 * How many keys a manager holds state for in memory. For tests of its memory use only: not exported by the
 * package.
 *
 * @internal
 * @see {@link createTokenManager}
 */
export function cachedKeyCount(manager: TokenManager): number {
  return managerSlots.get(manager)?.size ?? 0;
}

/**
 * Creates a token manager: cached, single-flight access tokens per key, refreshed a window before expiry,
 * with refresh-token rotation saved before use.
 *
 * Each key's in-memory cache sits in front of the store, so a cached `getAccessToken()` does no I/O. The cost:
 * a change another process makes to the store (a revocation) is seen here only when the cached token reaches
 * its refresh time or is invalidated. Refreshes always re-read the store first, so a refresh token rotated by
 * another process is picked up rather than replayed. Within a process, operations on one key run one at a time;
 * across processes, give the store a `withLock` (the Redis store of `oauth-token-client/redis` has one): then one
 * process refreshes a key while the others wait for its lock and use the token it stored.
 *
 * @param options - the client, the grant, and optionally the store, refresh window, clock and hooks.
 * @returns the manager.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function createTokenManager<F extends RequestFormat = "form">(options: TokenManagerOptions<F>): TokenManager {
  checkOptions(options as TokenManagerOptions<RequestFormat>);
  const client = options.client as OAuthClient<RequestFormat>;
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemoryTokenStore({ now });
  const windowMs = (options.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS) * 1000;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const { onRefreshed, onFailed, isRefusedGrant } = options;
  const revokeRequest = (options.revokeRequest ?? defaultRevokeRequest) as (
    tokens: TokenRecord,
  ) => RevokeTokenParams<RequestFormat>;
  const { type: grantType, ...grantParams } = options.grant as TokenManagerGrant<RequestFormat>;
  const requestedScope = typeof grantParams.scope === "string" ? grantParams.scope : undefined;
  const inFlightWaitMs = options.refreshInFlightWaitMs ?? DEFAULT_REFRESH_IN_FLIGHT_WAIT_MS;
  const maxPerSecond = options.maxTokenRequestsPerSecond ?? DEFAULT_MAX_TOKEN_REQUESTS_PER_SECOND;
  /** Refreshes are marked in the store only when other processes share it (it locks). */
  const marksRefreshes = grantType === "refresh_token" && store.withLock !== undefined;
  let holderId: string | undefined;
  const slots = new Map<string, Slot>();
  let sweepAt = -Infinity;

  function slotFor(key: string): Slot {
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = {
        entry: undefined,
        flight: undefined,
        tail: undefined,
        unpersisted: undefined,
        saveTimer: undefined,
        sends: [],
        epoch: 0,
      };
      slots.set(key, slot);
    }
    return slot;
  }

  /** When a record's token is replaced: a window before expiry. */
  function refreshAtOf(record: TokenRecord): number {
    return computeRefreshAtMs(record.expires_at_ms, record.obtained_at_ms, windowMs);
  }

  /**
   * Caches a token this manager just obtained: served until its refresh time, and in any case for a second, so a
   * token with no usable lifetime (`expires_in: 0`, or an `expires_at` our clock already passed) serves the calls
   * of that second instead of costing a request each.
   */
  function rememberNew(slot: Slot, epoch: number, record: TokenRecord): void {
    remember(slot, epoch, record, Math.max(refreshAtOf(record), now() + MIN_SERVE_MS));
  }

  /** Whether the key sent a token request within the last second (its rate limit still counts them). */
  function sentRecently(slot: Slot): boolean {
    const last = slot.sends[slot.sends.length - 1];
    return last !== undefined && now() - last < 1_000;
  }

  function callOptions(): { signal?: AbortSignal } {
    return Number.isFinite(timeoutMs) ? { signal: AbortSignal.timeout(timeoutMs) } : {};
  }

  function remember(slot: Slot, epoch: number, record: TokenRecord, refreshAt = refreshAtOf(record)): void {
    if (slot.epoch === epoch) slot.entry = { record, refreshAt, token: Promise.resolve(record.access_token) };
  }

  /** A change a caller asked for: cached state and the running flight no longer answer for this key. */
  function change(slot: Slot): number {
    slot.entry = undefined;
    slot.flight = undefined;
    return ++slot.epoch;
  }

  function emit<E>(hook: ((event: E) => void) | undefined, event: E): void {
    if (hook === undefined) return;
    try {
      hook(event);
    } catch {
      // Hooks are for logging and metrics; a broken one must not break token delivery.
    }
  }

  function reportFailure(key: string, error: unknown, durationMs: number, servedCurrentToken: boolean): void {
    emit(onFailed, {
      type: "failed",
      key,
      grant: grantType,
      durationMs,
      ...describe(error),
      reauthorizationRequired: error instanceof ReauthorizationRequiredError,
      servedCurrentToken,
    });
  }

  /** Runs `op` after every earlier operation on the key, under the store's lock when `locked`. */
  function enqueue<T>(key: string, slot: Slot, op: () => Promise<T>, locked: boolean): Promise<T> {
    const run = locked && store.withLock !== undefined ? () => store.withLock!(key, op) : op;
    const result = (slot.tail ?? Promise.resolve()).then(run);
    const tail = result.then(noop, noop);
    slot.tail = tail;
    void tail.then(() => {
      if (slot.tail !== tail) return;
      slot.tail = undefined;
      // An idle key with nothing cached costs no memory.
      if (
        slot.entry === undefined &&
        slot.flight === undefined &&
        slot.unpersisted === undefined &&
        !sentRecently(slot) &&
        slots.get(key) === slot
      )
        slots.delete(key);
    });
    return result;
  }

  /**
   * Drops the state of idle keys whose token has expired, so that every key ever used does not stay in memory.
   * A key with an unpersisted record is kept: that record may be the only copy of a rotated refresh token.
   */
  function sweep(t: number): void {
    sweepAt = t + SWEEP_INTERVAL_MS;
    for (const [key, slot] of slots) {
      const idle = slot.flight === undefined && slot.tail === undefined && slot.unpersisted === undefined;
      // A token without a lifetime is valid until invalidated: it stays.
      const expiresAt = slot.entry === undefined ? -Infinity : (slot.entry.record.expires_at_ms ?? Infinity);
      if (idle && t >= expiresAt) slots.delete(key);
    }
  }

  async function readStore(key: string): Promise<TokenRecord | undefined> {
    const record = await store.get(key);
    if (record === undefined || record === null) return undefined;
    if (!isTokenRecord(record)) throw new TokenStoreCorruptError(key);
    return record;
  }

  /**
   * Reads the key's record for a load. An unreadable one is, for a client_credentials grant, no record: a new
   * token replaces it (reported to `onFailed` when `report`); a refresh_token grant needs the refresh token in it,
   * so there the error stands.
   */
  async function readForLoad(key: string, report: boolean): Promise<TokenRecord | undefined> {
    try {
      return await readStore(key);
    } catch (error) {
      if (!(error instanceof TokenStoreCorruptError) || grantType !== "client_credentials") throw error;
      if (report) reportFailure(key, error, 0, false);
      return undefined;
    }
  }

  /** Saves a token set: unless the store holds a newer one, when the store can tell. Resolves whether it wrote. */
  async function persist(key: string, pending: Unpersisted): Promise<boolean> {
    if (store.setUnlessNewer === undefined) {
      // The same rule, read then written: as good as a store without the method allows.
      const stored = await readStore(key).catch(() => undefined);
      if (stored !== undefined && holdsNewer(stored, pending.record, pending.replacing)) return false;
      await store.set(key, pending.record);
      return true;
    }
    const options = pending.replacing === undefined ? {} : { replacing: pending.replacing };
    return store.setUnlessNewer(key, pending.record, options);
  }

  /** Saves the key's unpersisted token set in the background, retrying with backoff until the store takes it. */
  function scheduleSave(key: string, slot: Slot, attempt = 0): void {
    if (slot.saveTimer !== undefined) return;
    slot.saveTimer = setTimeout(
      () => {
        slot.saveTimer = undefined;
        const pending = slot.unpersisted;
        if (pending === undefined) return;
        void enqueue(
          key,
          slot,
          async () => {
            if (slot.unpersisted !== pending) return;
            try {
              await persist(key, pending);
              // Written, or the store holds a newer token set: either way nothing is left to save.
              if (slot.unpersisted === pending) slot.unpersisted = undefined;
            } catch (error) {
              reportFailure(key, error, 0, true);
              scheduleSave(key, slot, attempt + 1);
            }
          },
          false,
        );
      },
      Math.min(SAVE_RETRY_MAX_MS, SAVE_RETRY_FIRST_MS * 2 ** attempt),
    );
    unref(slot.saveTimer);
  }

  /**
   * The store lost the key's record (an eviction, a flush, a failover to an empty replica) while this manager
   * holds a copy whose access token has not expired: the copy is written back, unless the key was deliberately
   * deleted meanwhile or holds a newer record by now, and is then the key's record.
   */
  async function restore(key: string, slot: Slot): Promise<TokenRecord | undefined> {
    const copy = slot.entry?.record;
    if (copy === undefined || store.setUnlessNewer === undefined) return undefined;
    if (copy.expires_at_ms !== undefined && now() >= copy.expires_at_ms) return undefined;
    const record = unmarked(copy);
    if (await store.setUnlessNewer(key, record)) return record;
    return readForLoad(key, true);
  }

  /**
   * The key's newest record: the stored one, or the unpersisted one unless the store holds one at least as new,
   * which then replaces it (writing the older one back would undo a rotation another process stored since).
   * With `save`, the unpersisted one is written back, and a record the store lost is restored from memory;
   * without, it stands in for a store that cannot be read.
   */
  async function newest(key: string, slot: Slot, save: boolean): Promise<TokenRecord | undefined> {
    const pending = slot.unpersisted;
    let stored: TokenRecord | undefined;
    try {
      stored = save ? await readForLoad(key, true) : await readStore(key);
    } catch (error) {
      if (save || pending === undefined) throw error;
      return pending.record;
    }
    if (pending === undefined) return stored === undefined && save ? restore(key, slot) : stored;
    const replaces =
      stored !== undefined && pending.replacing !== undefined && stored.refresh_token === pending.replacing;
    if (stored !== undefined && !replaces && stored.obtained_at_ms >= pending.record.obtained_at_ms) {
      slot.unpersisted = undefined;
      return stored;
    }
    if (save) {
      const written = await persist(key, pending);
      if (slot.unpersisted === pending) slot.unpersisted = undefined;
      if (!written) return readForLoad(key, true);
    }
    return pending.record;
  }

  function recordFrom(
    answer: TokenResponse,
    sentAt: number,
    previous: TokenRecord | undefined,
    scope: string | undefined,
  ): TokenRecord {
    const record: TokenRecord = {
      access_token: answer.access_token,
      token_type: answer.token_type,
      obtained_at_ms: sentAt,
    };
    const expiresAt = computeExpiresAtMs(answer, sentAt);
    if (expiresAt !== undefined) record.expires_at_ms = expiresAt;
    // RFC 6749 §6: no new refresh token in the answer means the old one stays valid.
    const refreshToken = answer.refresh_token ?? previous?.refresh_token;
    if (refreshToken !== undefined) record.refresh_token = refreshToken;
    // RFC 6749 §5.1: scope is omitted when it is the one requested.
    const granted = answer.scope ?? scope ?? previous?.scope;
    if (granted !== undefined) record.scope = granted;
    // A DPoP-bound token set keeps the thumbprint of its key: its refresh token is sent with that key only.
    if (options.dpop !== undefined && /^dpop$/i.test(answer.token_type)) record.dpop_jkt = options.dpop.jkt;
    return record;
  }

  /**
   * After a failure: hands back the current token while it has not expired (it was only inside the refresh
   * window), trying again after `retryAfterMs`; otherwise rethrows.
   */
  function serveCurrentOrThrow(
    key: string,
    slot: Slot,
    epoch: number,
    record: TokenRecord | undefined,
    error: unknown,
    durationMs: number,
    retryAfterMs: number,
  ): string {
    const t = now();
    const expiresAt = record?.expires_at_ms;
    const usable = record !== undefined && expiresAt !== undefined && t < expiresAt;
    reportFailure(key, error, durationMs, usable);
    if (!usable) throw error;
    remember(slot, epoch, record, Math.min(expiresAt, t + retryAfterMs));
    return record.access_token;
  }

  /** Waits, at most a second, until the key may send another token request under its rate limit. */
  async function throttle(slot: Slot): Promise<void> {
    const t = now();
    slot.sends = slot.sends.filter((at) => t - at < 1_000);
    if (slot.sends.length >= maxPerSecond) await sleep(slot.sends[0]! + 1_000 - t);
    slot.sends.push(now());
  }

  /**
   * Another process marked the stored refresh token as being spent: waits (bounded) for the outcome it stores,
   * and uses it; never sends that refresh token.
   */
  async function awaitOutcome(key: string, slot: Slot, epoch: number, record: TokenRecord): Promise<string> {
    const started = now();
    const deadline = Date.now() + inFlightWaitMs;
    let mark = record.refresh_in_flight!;
    while (now() - mark.since_ms < ABANDONED_REFRESH_MS && Date.now() < deadline) {
      await sleep(Math.min(deadline - Date.now(), IN_FLIGHT_POLL_MS * (0.5 + Math.random())));
      let current: TokenRecord | undefined;
      try {
        current = await readStore(key);
      } catch {
        continue; // The store is what the other process waits for too; keep waiting within the bound.
      }
      // Deleted on purpose, or lost: the other process writes its outcome back once it can.
      if (current === undefined) continue;
      if (current.refresh_token === record.refresh_token && current.refresh_in_flight !== undefined) {
        mark = current.refresh_in_flight;
        continue;
      }
      if (isFresh(current)) {
        remember(slot, epoch, current);
        return current.access_token;
      }
      // Its refresh failed and it lifted its mark, or it stored a token that needs refreshing already.
      return obtain(key, slot, epoch, current);
    }
    const inFlightFor = now() - mark.since_ms;
    const error =
      inFlightFor >= ABANDONED_REFRESH_MS
        ? new ReauthorizationRequiredError(key, "refresh_outcome_unknown")
        : new TokenRefreshInFlightError(key, inFlightFor);
    return serveCurrentOrThrow(key, slot, epoch, record, error, now() - started, RETRY_AFTER_FAILURE_MS);
  }

  /** Sends the grant's token request and saves the answer before any caller sees it. */
  async function obtain(key: string, slot: Slot, epoch: number, record: TokenRecord | undefined): Promise<string> {
    if (grantType === "refresh_token" && record?.refresh_token === undefined) {
      // Retrying cannot help: only a new authorization (setTokens) brings a refresh token.
      return serveCurrentOrThrow(
        key,
        slot,
        epoch,
        record,
        new ReauthorizationRequiredError(key, "no_refresh_token"),
        0,
        Infinity,
      );
    }
    const boundTo = record?.dpop_jkt;
    if (grantType === "refresh_token" && boundTo !== undefined && boundTo !== options.dpop?.jkt) {
      // The server would refuse it (and the user's tokens would be cleared): a configuration error, not theirs.
      const error = argumentError(
        `options.dpop: the tokens of "${key}" are bound to DPoP key ${boundTo}, not to this manager's (${options.dpop?.jkt ?? "none"}); every process that shares the store needs the same key`,
      );
      return serveCurrentOrThrow(key, slot, epoch, record, error, 0, RETRY_AFTER_FAILURE_MS);
    }
    holderId ??= marksRefreshes ? randomId() : undefined;
    const mark = record?.refresh_in_flight;
    if (marksRefreshes && mark !== undefined && mark.holder !== holderId)
      return awaitOutcome(key, slot, epoch, record!);
    await throttle(slot);
    const spent = grantType === "refresh_token" ? record!.refresh_token : undefined;
    if (marksRefreshes) {
      // Recorded before the refresh token leaves, under the lock: whoever holds the lock next will not send it.
      try {
        await store.set(key, { ...record!, refresh_in_flight: { holder: holderId!, since_ms: now() } });
      } catch (error) {
        // Not sent. A mark that reached the store anyway (a time-out, or one replicas did not acknowledge) is
        // lifted, under the lock: while this manager holds it, the mark can only be its own.
        await store.set(key, unmarked(record!)).catch(noop);
        return serveCurrentOrThrow(key, slot, epoch, record, error, 0, RETRY_AFTER_FAILURE_MS);
      }
    }
    const sentAt = now();
    const grantCallOptions = { ...callOptions(), dpop: options.dpop };
    let answer: TokenResponse;
    try {
      answer =
        grantType === "client_credentials"
          ? await client.clientCredentials(grantParams as GrantParams<"client_credentials">, grantCallOptions)
          : await client.refreshToken(
              { ...grantParams, refresh_token: spent! } as GrantParams<"refresh_token", RequestFormat>,
              grantCallOptions,
            );
    } catch (error) {
      const durationMs = now() - sentAt;
      if (grantType === "refresh_token" && error instanceof OAuthError && refusesGrant(error, isRefusedGrant)) {
        return refused(key, slot, epoch, record!, error, durationMs);
      }
      // The attempt ended without a new token: lift the mark, under the lock, so the refresh token may be sent
      // again. A manager that lost its lock meanwhile leaves it: whoever holds the lock now waits, and this manager
      // sends it again itself on its next call (its own mark does not stop it).
      if (marksRefreshes) await store.set(key, unmarked(record!)).catch(noop);
      return serveCurrentOrThrow(key, slot, epoch, record, error, durationMs, RETRY_AFTER_FAILURE_MS);
    }
    const next = recordFrom(answer, sentAt, grantType === "refresh_token" ? record : undefined, requestedScope);
    const pending: Unpersisted = { record: next, replacing: spent };
    let written: boolean;
    try {
      written = await persist(key, pending);
    } catch (error) {
      // Handed over all the same: the token is valid whatever the store says. It may hold the only copy of a
      // rotated refresh token, so it is kept and saved in the background, or by the next call that needs the store.
      slot.unpersisted = pending;
      rememberNew(slot, epoch, next);
      reportFailure(key, error, now() - sentAt, true);
      scheduleSave(key, slot);
      return next.access_token;
    }
    // Not written: the store holds a newer token set, or the key was deleted meanwhile. This token is still
    // valid for this caller; the next call reads the store.
    if (!written) return next.access_token;
    rememberNew(slot, epoch, next);
    emit(onRefreshed, {
      type: "refreshed",
      key,
      grant: grantType,
      durationMs: now() - sentAt,
      expiresAtMs: next.expires_at_ms,
      refreshTokenRotated: answer.refresh_token !== undefined && answer.refresh_token !== record?.refresh_token,
      ...(next.scope === undefined ? {} : { scope: next.scope }),
    });
    return next.access_token;
  }

  /** `invalid_grant` on a refresh: clears the dead token set, unless another process already replaced it. */
  async function refused(
    key: string,
    slot: Slot,
    epoch: number,
    sent: TokenRecord,
    cause: OAuthError,
    durationMs: number,
  ): Promise<string> {
    const failure = new ReauthorizationRequiredError(
      key,
      cause.requiresReauthorization ? "invalid_grant" : "refused_grant",
      {
        cause,
      },
    );
    slot.entry = undefined;
    let current: TokenRecord | undefined;
    try {
      current = await readStore(key);
      if (current !== undefined && current.refresh_token === sent.refresh_token) {
        await store.delete(key);
        current = undefined;
      }
    } catch {
      // The user must authorize again whatever the store says; a later call meets invalid_grant again.
      current = undefined;
    }
    if (isFresh(current)) {
      // Another process refreshed in between, which is why this refresh token was refused: use its tokens.
      remember(slot, epoch, current);
      return current.access_token;
    }
    reportFailure(key, failure, durationMs, false);
    throw failure;
  }

  function isFresh(record: TokenRecord | undefined): record is TokenRecord {
    return record !== undefined && record.refresh_in_flight === undefined && now() < refreshAtOf(record);
  }

  /**
   * Reads the key's record (under the lock, its {@link newest}, an unpersisted one saved first) and returns its
   * token when it is fresh, else the record, for a refresh. When the store fails, `known`, the freshest record
   * at hand, is served while it has not expired.
   */
  async function lookup(
    key: string,
    slot: Slot,
    epoch: number,
    known: TokenRecord | undefined,
    locked: boolean,
  ): Promise<string | TokenRecord | undefined> {
    let record: TokenRecord | undefined;
    try {
      record = locked ? await newest(key, slot, true) : await readForLoad(key, false);
    } catch (error) {
      return serveCurrentOrThrow(key, slot, epoch, known, error, 0, RETRY_AFTER_FAILURE_MS);
    }
    if (!isFresh(record)) return record;
    remember(slot, epoch, record);
    return record.access_token;
  }

  /**
   * The slow path of getAccessToken, run in the key's queue. With a store that locks across processes, the
   * store is read first without the lock (another process may have refreshed already), then under it.
   */
  async function load(key: string, slot: Slot, epoch: number): Promise<string> {
    let known = slot.entry?.record;
    if (store.withLock === undefined) return loadLocked(key, slot, epoch, known);
    if (slot.unpersisted === undefined) {
      const found = await lookup(key, slot, epoch, known, false);
      if (typeof found === "string") return found;
      // What the store just said is fresher than the cache: it is what a failed lock falls back on.
      known = found;
    }
    let locked = false;
    try {
      return await store.withLock(key, () => {
        locked = true;
        return loadLocked(key, slot, epoch, known);
      });
    } catch (error) {
      // Errors of the locked load were reported there; a lock that could not be taken (the store is down,
      // another process holds it too long) still leaves the current token usable until it expires.
      if (locked) throw error;
      return serveCurrentOrThrow(key, slot, epoch, known, error, 0, RETRY_AFTER_FAILURE_MS);
    }
  }

  /** Loads saved, stored or new tokens; under the store's lock when it has one. */
  async function loadLocked(key: string, slot: Slot, epoch: number, known: TokenRecord | undefined): Promise<string> {
    const found = await lookup(key, slot, epoch, known, true);
    return typeof found === "string" ? found : obtain(key, slot, epoch, found);
  }

  function acquire(key: string): Promise<string> {
    if (typeof key !== "string" || key === "") return Promise.reject(argumentError("key must be a non-empty string"));
    const t = now();
    if (t >= sweepAt) sweep(t);
    const slot = slotFor(key);
    if (slot.flight !== undefined) return slot.flight;
    const epoch = slot.epoch;
    // load() takes the store's lock itself, and only when the stored token is not fresh.
    const flight = enqueue(key, slot, () => load(key, slot, epoch), false);
    slot.flight = flight;
    const done = () => {
      if (slot.flight === flight) slot.flight = undefined;
    };
    flight.then(done, done);
    return flight;
  }

  /** Forgets the key's token set, in memory and in the store. */
  async function forget(key: string, slot: Slot): Promise<void> {
    slot.unpersisted = undefined;
    slot.entry = undefined;
    await store.delete(key);
  }

  const manager: TokenManager = {
    getAccessToken(key = DEFAULT_KEY) {
      // The hot path: one map lookup, one clock read, an already-resolved promise.
      const slot = slots.get(key);
      if (slot !== undefined) {
        const entry = slot.entry;
        if (entry !== undefined && now() < entry.refreshAt) return entry.token;
        if (slot.flight !== undefined) return slot.flight;
      }
      return acquire(key);
    },

    async getToken(key = DEFAULT_KEY) {
      checkKey(key);
      const slot = slotFor(key);
      const record = await enqueue(key, slot, () => newest(key, slot, false), false);
      return record === undefined ? undefined : { ...record };
    },

    async setTokens(key, tokens) {
      checkKey(key);
      const answer = checkTokens(tokens);
      const record = recordFrom(answer, now(), undefined, undefined);
      const slot = slotFor(key);
      const epoch = change(slot);
      await enqueue(
        key,
        slot,
        async () => {
          slot.unpersisted = undefined;
          await store.set(key, record);
          remember(slot, epoch, record);
        },
        true,
      );
    },

    async invalidate(key = DEFAULT_KEY, invalidateOptions = {}) {
      checkKey(key);
      checkObject(invalidateOptions, "options");
      const rejected = invalidateOptions.accessToken;
      if (rejected !== undefined) checkNonEmptyString(rejected, "options.accessToken");
      const matches = (record: TokenRecord) => rejected === undefined || record.access_token === rejected;
      const slot = slotFor(key);
      // A token already replaced is left alone: the 401 was for its predecessor.
      if (slot.entry === undefined || matches(slot.entry.record)) change(slot);
      await enqueue(
        key,
        slot,
        async () => {
          const t = now();
          const expire = (record: TokenRecord): TokenRecord =>
            record.expires_at_ms !== undefined && record.expires_at_ms <= t ? record : { ...record, expires_at_ms: t };
          const pending = slot.unpersisted;
          if (pending !== undefined && matches(pending.record))
            slot.unpersisted = { ...pending, record: expire(pending.record) };
          const record = await readStore(key);
          if (record !== undefined && matches(record)) {
            const expired = expire(record);
            if (expired !== record) await store.set(key, expired);
          }
          if (slot.entry !== undefined && matches(slot.entry.record)) slot.entry = undefined;
        },
        true,
      );
    },

    async revoke(key = DEFAULT_KEY) {
      checkKey(key);
      const slot = slotFor(key);
      change(slot);
      await enqueue(
        key,
        slot,
        async () => {
          const record = await newest(key, slot, false);
          if (record === undefined) return;
          await client.revokeToken(revokeRequest(record), callOptions());
          await forget(key, slot);
        },
        true,
      );
    },

    async clear(key = DEFAULT_KEY) {
      checkKey(key);
      const slot = slotFor(key);
      change(slot);
      await enqueue(key, slot, () => forget(key, slot), true);
    },
  };
  managerSlots.set(manager, slots);
  return manager;
}
