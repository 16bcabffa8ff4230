import { OAuthClientError } from "../core/errors";

/** The errors only the token manager throws; the store's and the client's own are theirs. */

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
    "another process has been spending the stored refresh token for over 5 minutes (by this process' own clock) and never stored the outcome",
};

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
   * `refresh_outcome_unknown` when another process's mark on the stored refresh token has stood for more than 5
   * minutes, as this process measured it from its own first sighting of the mark (never by comparing two machines'
   * clocks), and no outcome was stored (it died with the new token set in its memory, or is still cut off from
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
  /** How long this process has seen the other process's mark stand, in ms, by its own monotonic clock. */
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
