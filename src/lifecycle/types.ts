import type { DpopKey } from "../core/request";
import type { OAuthError } from "../core/errors";
import type { OAuthClient } from "../oauth/client";
import type { RevokeTokenParams } from "../oauth/revocation";
import type { GrantParams, RequestFormat, TokenResponse } from "../oauth/token";
import type { TokenRecord, TokenStore } from "../stores/token-store";

/**
 * The token manager's public types: its options, its hook events and the {@link TokenManager} interface.
 */

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
  /** Time the token request took, in ms by the monotonic clock (a wall-clock step does not skew it). */
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
  /** Time the failed step took, in ms by the monotonic clock; 0 when no request was sent. */
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
  /**
   * The wall clock, in epoch milliseconds, for what other processes read too: when a token expires. Default
   * `Date.now`; tests pass a fake one. Waits, rate limits, how long a token is served from memory and how long
   * another process's refresh mark has stood are measured by the runtime's monotonic clock as well, so a clock
   * that steps back or runs ahead of another machine's stretches no wait and logs no one out.
   */
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
