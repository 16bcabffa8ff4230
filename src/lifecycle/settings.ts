import { MAX_TIMER_MS } from "../core/clock";
import type { OAuthError } from "../core/errors";
import type { DpopKey } from "../core/request";
import { argumentError, checkNonEmptyString, checkPositive, isPlainObject } from "../core/validate";
import type { OAuthClient } from "../oauth/client";
import type { RevokeTokenParams } from "../oauth/revocation";
import type { GrantParams, RequestFormat } from "../oauth/token";
import { createMemoryTokenStore } from "../stores/memory";
import type { TokenRecord, TokenStore } from "../stores/token-store";
import type { TokenFailedEvent, TokenManagerGrant, TokenManagerOptions, TokenRefreshedEvent } from "./types";

/** A manager's options, checked, with their defaults filled in: what every lifecycle module reads. */
export interface Settings {
  readonly client: OAuthClient<RequestFormat>;
  readonly store: TokenStore;
  /** The wall clock, for what other machines read too: a token's expiry. */
  readonly now: () => number;
  readonly grantType: TokenManagerGrant["type"];
  readonly grantParams: GrantParams<"client_credentials"> | Omit<GrantParams<"refresh_token">, "refresh_token">;
  /** The scope the grant asks for, which a token answer without `scope` was granted (RFC 6749 §5.1). */
  readonly requestedScope: string | undefined;
  readonly windowMs: number;
  readonly timeoutMs: number;
  readonly inFlightWaitMs: number;
  readonly maxPerSecond: number;
  readonly dpop: DpopKey | undefined;
  readonly revokeRequest: (tokens: TokenRecord) => RevokeTokenParams<RequestFormat>;
  readonly isRefusedGrant: ((error: OAuthError) => boolean) | undefined;
  readonly onRefreshed: ((event: TokenRefreshedEvent) => void) | undefined;
  readonly onFailed: ((event: TokenFailedEvent) => void) | undefined;
  /** Refreshes are marked in the store only when other processes share it (it locks). */
  readonly marksRefreshes: boolean;
}

/** The key used when a call names none. */
export const DEFAULT_KEY = "default";
const DEFAULT_REFRESH_WINDOW_SECONDS = 60;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_REFRESH_IN_FLIGHT_WAIT_MS = 10_000;
const DEFAULT_MAX_TOKEN_REQUESTS_PER_SECOND = 5;

/** Throws the `TypeError` of a key that is not a non-empty string. */
export function checkKey(key: unknown): asserts key is string {
  checkNonEmptyString(key, "key");
}

function checkStore(store: unknown): void {
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
  if (options.store !== undefined) checkStore(options.store);
}

/** RFC 7009's default: the refresh token, hinted, when there is one; else the access token. */
function defaultRevokeRequest(tokens: TokenRecord): RevokeTokenParams<"form"> {
  return tokens.refresh_token !== undefined
    ? { token: tokens.refresh_token, token_type_hint: "refresh_token" }
    : { token: tokens.access_token, token_type_hint: "access_token" };
}

/**
 * Checks a manager's options and fills in the defaults.
 *
 * @throws {TypeError} when an option is malformed.
 */
export function resolveSettings(input: TokenManagerOptions<RequestFormat>): Settings {
  checkOptions(input);
  const now = input.now ?? Date.now;
  const store = input.store ?? createMemoryTokenStore({ now });
  const { type: grantType, ...grantParams } = input.grant as TokenManagerGrant<RequestFormat>;
  return {
    client: input.client,
    store,
    now,
    grantType,
    grantParams,
    requestedScope: typeof grantParams.scope === "string" ? grantParams.scope : undefined,
    windowMs: (input.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS) * 1000,
    timeoutMs: input.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    inFlightWaitMs: input.refreshInFlightWaitMs ?? DEFAULT_REFRESH_IN_FLIGHT_WAIT_MS,
    maxPerSecond: input.maxTokenRequestsPerSecond ?? DEFAULT_MAX_TOKEN_REQUESTS_PER_SECOND,
    dpop: input.dpop,
    revokeRequest: (input.revokeRequest ?? defaultRevokeRequest) as Settings["revokeRequest"],
    isRefusedGrant: input.isRefusedGrant,
    onRefreshed: input.onRefreshed,
    onFailed: input.onFailed,
    marksRefreshes: grantType === "refresh_token" && store.withLock !== undefined,
  };
}

/**
 * The options of one token or revocation call: the manager's time limit, when it has one. A limit longer than a
 * timer can hold is none (a timer would fire at once).
 */
export function callOptions(settings: Settings): { signal?: AbortSignal } {
  return settings.timeoutMs < MAX_TIMER_MS ? { signal: AbortSignal.timeout(settings.timeoutMs) } : {};
}
