import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema";
import {
  processIntrospectionResponse,
  processTokenStatusResponse,
  statusAsIntrospection,
  type SquareTokenStatus,
  processRenewResponse,
  processRevocationResponse,
  processTokenResponse,
  hideQuoted,
  redirectError,
  type IntrospectionResponse,
  type ProcessTokenOptions,
  type RawAnswer,
  type RenewTokenResponse,
  type TokenResponse,
} from "./response";
import { OAuthError, OAuthResponseError, OAuthTransportError, redactError } from "./errors";
import { checkCodeVerifier } from "./pkce";
import {
  backoffMs,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  errorCode,
  isLoopback,
  neverSent,
  readBody,
  resolveRetry,
  RETRY_STATUSES,
  retryAfterMs,
  sleep,
  type RetryOptions,
} from "./transport";

export type { RetryOptions } from "./transport";

type Schemas = components["schemas"];
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** Fields the client fills in from its options; callers never pass them. */
type ClientFields = "client_id" | "client_secret";

/**
 * How the body of a token or revocation request is encoded.
 *
 * @see {@link OAuthClientOptions.requestFormat}
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-B
 * @see https://developer.squareup.com/reference/square/o-auth-api/obtain-token
 */
export type RequestFormat = "form" | "json";

/**
 * How the client authenticates to the token, revocation and introspection endpoints.
 * - `client_secret_basic`: HTTP Basic with the form-urlencoded ID and secret (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the body.
 * - `none`: a public client; `client_id` alone in the body.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export type ClientAuthenticationMethod = "client_secret_basic" | "client_secret_post" | "none";

/**
 * The operations of the spec, by short name, for endpoint overrides.
 *
 * @see {@link OAuthClientOptions.endpoints}
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export type OperationName = "token" | "renew" | "revoke" | "introspect" | "tokenStatus";

/**
 * How {@link OAuthClient.introspectToken} asks about a token: `rfc7662` (default) posts to the introspection
 * endpoint; `square_token_status` calls Square's RetrieveTokenStatus with the token as bearer and maps the
 * answer to RFC 7662's shape.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export type IntrospectionMethod = "rfc7662" | "square_token_status";

/**
 * Options of {@link createOAuthClient}.
 *
 * @see {@link createOAuthClient}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export interface OAuthClientOptions<F extends RequestFormat = RequestFormat> {
  /** The server's base URL, such as `https://auth.example.org`; the spec's paths are appended to it. */
  baseUrl: string;
  /** The client identifier. Required unless the server identifies the client by headers (Voucherify). */
  clientId?: string;
  /** The client secret. Kept inside the client: never logged, never printed. */
  clientSecret?: string;
  /** Default: `client_secret_basic` when a secret is given, else `none`. */
  clientAuthentication?: ClientAuthenticationMethod;
  /**
   * Body encoding of token and revocation requests. `form` (default) is RFC 6749; `json` is Square's. Renewal
   * is always JSON and introspection always a form, as the spec declares them.
   */
  requestFormat?: F;
  /**
   * Per-operation endpoint: a path appended to `baseUrl` (`/OAuth/Token`) or an absolute URL
   * (`https://api.voucherify.io/v1/oauth/token`). The renew path may hold `{client_id}`.
   */
  endpoints?: Partial<Record<OperationName, string>>;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every request, such as Voucherify's `X-App-Id` and `X-App-Token`. */
  headers?: Record<string, string>;
  /** How `introspectToken` asks about a token. Default `rfc7662`. */
  introspection?: IntrospectionMethod;
  /**
   * The scopes the server knows. When set, every requested scope is checked against it before sending, and a
   * comma-separated scope gets an error saying to separate scopes with spaces (Voucherify).
   */
  allowedScopes?: readonly string[];
  /**
   * Time limit of each request, from sending to the last byte of the answer, in ms; `Infinity` for none.
   * When it runs out the call rejects with an {@link OAuthTransportError} whose `timedOut` is `true`.
   * Default 10 000: ample for a token endpoint, and short enough that a call with its retries (within
   * `retry.maxElapsedMs`, 20 000) ends inside a token manager's `requestTimeoutMs` (30 000), so the
   * manager's callers get this typed error rather than the manager's abort.
   */
  timeoutMs?: number;
  /** How failed requests are retried; `false` sends each request once. Default: see {@link RetryOptions}. */
  retry?: RetryOptions | false;
  /**
   * Allows plain `http:` URLs for hosts other than loopback ones (`localhost`, `127.0.0.0/8`, `[::1]`, which
   * are always allowed). Without it such a URL is refused: credentials and tokens must not travel in clear.
   * Default `false`.
   */
  allowInsecureHttp?: boolean;
  /**
   * The largest answer body read, in bytes, counted while it streams in; a larger one is an
   * {@link OAuthResponseError}. Default 1 048 576 (1 MiB).
   */
  maxResponseBytes?: number;
  /**
   * The token types accepted in token and renew answers, compared case-insensitively. Default `["bearer"]`
   * (Square sends `bearer`, Voucherify `Bearer`).
   */
  allowedTokenTypes?: readonly string[];
}

/**
 * Per-call options.
 *
 * @see {@link OAuthClient}
 * @see https://developer.mozilla.org/en-US/docs/Web/API/AbortSignal
 */
export interface CallOptions {
  /** Aborts the request and its retries; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Extra headers for this call only. */
  headers?: Record<string, string>;
  /** Time limit of each attempt of this call, in ms; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Retries of this call; overrides the client's `retry` as a whole. */
  retry?: RetryOptions | false;
}

/**
 * A token request as {@link OAuthClient.obtainToken} takes it: a grant, without the client's credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://developer.squareup.com/reference/square/o-auth-api/obtain-token
 */
export type TokenRequest<F extends RequestFormat = "form"> = DistributiveOmit<
  F extends "json" ? Schemas["TokenRequestJson"] : Schemas["TokenRequest"],
  ClientFields
>;
type SquareOptions<F extends RequestFormat> = F extends "json" ? { scopes?: string[]; short_lived?: boolean } : unknown;
/**
 * Parameters of {@link OAuthClient.exchangeAuthorizationCode}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 */
export type AuthorizationCodeParams<F extends RequestFormat = "form"> = Omit<Schemas["AuthorizationCodeGrant"], ClientFields | "grant_type"> & SquareOptions<F>;
/**
 * Parameters of {@link OAuthClient.refreshToken}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export type RefreshTokenParams<F extends RequestFormat = "form"> = Omit<Schemas["RefreshTokenGrant"], ClientFields | "grant_type"> & SquareOptions<F>;
/**
 * Parameters of {@link OAuthClient.clientCredentials}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2
 */
export type ClientCredentialsParams = Omit<Schemas["ClientCredentialsGrant"], ClientFields | "grant_type">;
/**
 * Parameters of {@link OAuthClient.renewToken}.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 * @see https://developer.squareup.com/docs/oauth-api/migrate-to-refresh-tokens
 */
export type RenewTokenParams = Schemas["RenewTokenRequest"];
/**
 * Parameters of {@link OAuthClient.revokeToken}: RFC 7009 or Voucherify fields in a form, Square's in JSON.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @see https://developer.squareup.com/reference/square/o-auth-api/revoke-token
 * @see https://docs.voucherify.io/reference/revoke-oauth-token
 */
export type RevokeTokenParams<F extends RequestFormat = "form"> = DistributiveOmit<
  F extends "json" ? Schemas["SquareRevokeTokenRequest"] : Schemas["RevokeTokenForm"],
  ClientFields
>;
/**
 * Parameters of {@link OAuthClient.retrieveTokenStatus}.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export interface RetrieveTokenStatusParams {
  /** The access token to ask about; sent as `Authorization: Bearer`. */
  access_token: string;
}
/**
 * Parameters of {@link OAuthClient.introspectToken}: RFC 7662 `token`, or Voucherify's `access_token`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
 * @see https://docs.voucherify.io/reference/introspect-oauth-token
 */
export type IntrospectTokenParams = DistributiveOmit<Schemas["IntrospectTokenForm"], ClientFields>;

/**
 * The typed client made by {@link createOAuthClient}; one method per spec operation plus grant helpers.
 *
 * @see {@link createOAuthClient}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export interface OAuthClient<F extends RequestFormat = "form"> {
  /**
   * Obtains a token with any grant of the spec.
   *
   * @throws {TypeError} before any request, when the grant or a field is malformed.
   * @throws {OAuthError} when the server refuses (`invalid_grant`: the user must authorize again).
   * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
   * @throws {OAuthTransportError} when no complete answer arrives in time; `notSent` says whether it may
   *   have reached the server.
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
   */
  obtainToken(request: TokenRequest<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Exchanges an authorization code (with its PKCE `code_verifier`) for tokens.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
   * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
   */
  exchangeAuthorizationCode(params: AuthorizationCodeParams<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Refreshes an access token. When the answer carries a new `refresh_token`, the old one is spent: store the
   * new one. When it carries none, keep the old one.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  refreshToken(params: RefreshTokenParams<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Obtains a token for the client itself.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
   */
  clientCredentials(params?: ClientCredentialsParams, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Renews a Square access token, sending `Authorization: Client <secret>`.
   *
   * @deprecated Square deprecated RenewToken; refresh with {@link OAuthClient.refreshToken} instead.
   * @see https://developer.squareup.com/docs/oauth-api/migrate-to-refresh-tokens
   */
  renewToken(params: RenewTokenParams, options?: CallOptions): Promise<RenewTokenResponse>;
  /**
   * Revokes a token. Resolves once the server confirms; on a 503 it rejects and the token must be assumed
   * still valid. With `requestFormat: "json"` (Square) it sends `Authorization: Client <secret>`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  revokeToken(params: RevokeTokenParams<F>, options?: CallOptions): Promise<void>;
  /**
   * Asks the server whether a token is active and what it grants.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
   */
  introspectToken(params: IntrospectTokenParams, options?: CallOptions): Promise<IntrospectionResponse>;
  /**
   * Square's RetrieveTokenStatus: the scopes, expiry, client and seller of an access token.
   *
   * @throws {OAuthError} `UNAUTHORIZED`, `ACCESS_TOKEN_EXPIRED` or `ACCESS_TOKEN_REVOKED` (status 401).
   * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
   */
  retrieveTokenStatus(params: RetrieveTokenStatusParams, options?: CallOptions): Promise<SquareTokenStatus>;
}

const DEFAULT_PATHS = {
  token: "/oauth2/token",
  renew: "/oauth2/clients/{client_id}/access-token/renew",
  revoke: "/oauth2/revoke",
  introspect: "/oauth2/introspect",
  tokenStatus: "/oauth2/token/status",
} as const satisfies Record<OperationName, keyof paths>;

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";
const AUTH_METHODS: readonly string[] = ["client_secret_basic", "client_secret_post", "none"];
const SECRET_HEADERS: readonly string[] = ["x-app-token", "authorization"];
const INTROSPECTION_METHODS: readonly string[] = ["rfc7662", "square_token_status"];
const GRANT_FIELDS: Record<string, { required: readonly string[]; optional: readonly string[] }> = {
  authorization_code: { required: ["code"], optional: ["redirect_uri", "code_verifier"] },
  refresh_token: { required: ["refresh_token"], optional: ["scope"] },
  client_credentials: { required: [], optional: ["scope"] },
  migration_token: { required: ["migration_token"], optional: [] },
};
/**
 * Whether the global fetch is Node's own (undici). It copies a request's body before sending, to be able to
 * send it again after a redirect, in every redirect mode but "error": refusing redirects with "error" saves
 * that copy, about a tenth of a token request (`npm run bench`). Other fetches get "manual", which hands the
 * 3xx back, so its status and target reach the error message.
 */
const NODE_FETCH = typeof (globalThis as { process?: { versions?: { undici?: unknown } } }).process?.versions?.undici === "string";

/** Node's fetch refused a redirect (redirect: "error"): its cause says so, with no status or location. */
function isRefusedRedirect(error: unknown): boolean {
  return error instanceof TypeError && error.cause instanceof Error && error.cause.message === "unexpected redirect";
}

/** setTimeout's largest delay; a longer time limit is no time limit. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * What openapi-fetch builds for each call in place of a `Request`: the URL and init, handed to `fetch(url,
 * init)` as they are. A real `Request` here would be built twice, once by openapi-fetch and again inside
 * `fetch`; this is most of openapi-fetch's cost over a plain `fetch` call.
 */
class PendingRequest {
  readonly method: string | undefined;
  constructor(
    readonly url: string,
    readonly init: RequestInit,
  ) {
    this.method = init.method;
  }
}
/** Statuses whose answers carry no body, so a copy of such an answer must be made without one. */
const NULL_BODY_STATUSES: readonly number[] = [101, 103, 204, 205, 304];
/** Request fields that hold a secret, redacted from any server text that quotes them. */
const SECRET_PARAMS = ["refresh_token", "access_token", "token", "code", "code_verifier", "migration_token", "client_secret"] as const;
const RETRY_KEYS: readonly string[] = ["maxAttempts", "maxElapsedMs", "baseDelayMs", "maxDelayMs"];

function argumentError(message: string): TypeError {
  return new TypeError(message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkNonEmptyString(value: unknown, name: string): void {
  if (typeof value !== "string" || value === "") throw argumentError(`${name} must be a non-empty string`);
}

/** application/x-www-form-urlencoded encoding of one value, as RFC 6749 §2.3.1 asks for Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** The secrets given, and how each reads form-encoded where that differs: a server may quote what it received as it received it. */
function withEncoded(secrets: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const secret of secrets) {
    if (secret === undefined || secret === "") continue;
    out.push(secret);
    if (formEncode(secret) !== secret) out.push(formEncode(secret));
  }
  return out;
}

/** Drops `undefined`, so no field travels as the string "undefined". */
function compact(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(body)) if (body[key] !== undefined) out[key] = body[key];
  return out;
}

function serializeJson(body: Record<string, unknown>): string {
  return JSON.stringify(body);
}

function serializeForm(body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(body)) params.append(key, String(body[key]));
  return params.toString();
}

function resolveEndpoint(baseUrl: string, override: string | undefined, fallback: string): { baseUrl: string; path: string } {
  if (override === undefined) return { baseUrl, path: fallback };
  if (override.startsWith("/")) return { baseUrl, path: override };
  const url = new URL(override);
  // URL percent-encodes "{" and "}"; restore them so the renew path's {client_id} is still filled in.
  const path = `${url.pathname}${url.search}`.replace(/%7B(\w+)%7D/gi, "{$1}");
  return { baseUrl: url.origin, path };
}

function checkTransport(url: URL, name: string, allowInsecureHttp: boolean): void {
  if (url.protocol === "http:" && !allowInsecureHttp && !isLoopback(url.hostname)) {
    throw argumentError(`${name} must be an https URL: plain http is allowed only for loopback hosts, or with options.allowInsecureHttp`);
  }
}

function checkPositive(value: unknown, name: string, allowInfinity: boolean): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw argumentError(`${name} must be a positive number${allowInfinity ? " or Infinity" : ""}`);
  }
}

function checkRetry(retry: unknown, name: string): void {
  if (retry === undefined || retry === false) return;
  if (!isPlainObject(retry)) throw argumentError(`${name} must be an object or false`);
  for (const key of Object.keys(retry)) if (!RETRY_KEYS.includes(key)) throw argumentError(`${name}.${key} is not a retry option (${RETRY_KEYS.join(", ")})`);
  const { maxAttempts, maxElapsedMs, baseDelayMs, maxDelayMs } = retry;
  if (maxAttempts !== undefined && (typeof maxAttempts !== "number" || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100)) {
    throw argumentError(`${name}.maxAttempts must be an integer from 1 to 100`);
  }
  for (const [key, value] of [["maxElapsedMs", maxElapsedMs], ["baseDelayMs", baseDelayMs], ["maxDelayMs", maxDelayMs]] as const) {
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
      throw argumentError(`${name}.${key} must be a non-negative finite number`);
    }
  }
}

function checkOptions(options: OAuthClientOptions): void {
  if (!isPlainObject(options)) throw argumentError("options must be an object");
  checkNonEmptyString(options.baseUrl, "options.baseUrl");
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw argumentError("options.baseUrl must be an absolute URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw argumentError("options.baseUrl must be an http or https URL");
  if (options.allowInsecureHttp !== undefined && typeof options.allowInsecureHttp !== "boolean") throw argumentError("options.allowInsecureHttp must be a boolean");
  const insecure = options.allowInsecureHttp === true;
  checkTransport(base, "options.baseUrl", insecure);
  checkPositive(options.timeoutMs, "options.timeoutMs", true);
  checkRetry(options.retry, "options.retry");
  checkPositive(options.maxResponseBytes, "options.maxResponseBytes", false);
  if (options.allowedTokenTypes !== undefined) {
    const types = options.allowedTokenTypes;
    if (!Array.isArray(types) || types.length === 0 || types.some((t) => typeof t !== "string" || t === "")) {
      throw argumentError("options.allowedTokenTypes must be a non-empty array of token type names");
    }
  }
  if (options.clientId !== undefined) checkNonEmptyString(options.clientId, "options.clientId");
  if (options.clientSecret !== undefined) checkNonEmptyString(options.clientSecret, "options.clientSecret");
  if (options.clientAuthentication !== undefined && !AUTH_METHODS.includes(options.clientAuthentication)) {
    throw argumentError(`options.clientAuthentication must be one of ${AUTH_METHODS.join(", ")}`);
  }
  if (options.requestFormat !== undefined && options.requestFormat !== "form" && options.requestFormat !== "json") {
    throw argumentError('options.requestFormat must be "form" or "json"');
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") throw argumentError("options.fetch must be a function");
  checkHeaders(options.headers);
  if (options.introspection !== undefined && !INTROSPECTION_METHODS.includes(options.introspection)) {
    throw argumentError(`options.introspection must be one of ${INTROSPECTION_METHODS.join(", ")}`);
  }
  if (options.allowedScopes !== undefined) {
    const scopes = options.allowedScopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((x) => typeof x !== "string" || x === "" || /\s/.test(x))) {
      throw argumentError("options.allowedScopes must be a non-empty array of scope names without spaces");
    }
  }
  if (options.endpoints !== undefined) {
    if (!isPlainObject(options.endpoints)) throw argumentError("options.endpoints must be an object");
    for (const [name, value] of Object.entries(options.endpoints)) {
      if (!(name in DEFAULT_PATHS)) throw argumentError(`options.endpoints.${name} is not an operation (${Object.keys(DEFAULT_PATHS).join(", ")})`);
      if (value === undefined) continue;
      checkNonEmptyString(value, `options.endpoints.${name}`);
      const url = !value.startsWith("/") && URL.canParse(value) ? new URL(value) : undefined;
      if (!value.startsWith("/") && url?.protocol !== "http:" && url?.protocol !== "https:") {
        throw argumentError(`options.endpoints.${name} must be a path starting with "/" or an absolute http or https URL`);
      }
      if (url) checkTransport(url, `options.endpoints.${name}`, insecure);
    }
  }
}

/** Header names and values fetch would refuse (a newline in a value, say) are bad arguments, not transport failures. */
function checkHeaders(headers: unknown): void {
  if (headers === undefined) return;
  if (!isPlainObject(headers) || Object.values(headers).some((value) => typeof value !== "string")) {
    throw argumentError("options.headers must be an object of strings");
  }
  try {
    new Headers(headers as Record<string, string>);
  } catch {
    throw argumentError("options.headers holds a header name or value that HTTP does not allow");
  }
}

function checkCallOptions(options: CallOptions | undefined): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw argumentError("call options must be an object");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw argumentError("options.signal must be an AbortSignal");
  checkHeaders(options.headers);
  checkPositive(options.timeoutMs, "options.timeoutMs", true);
  checkRetry(options.retry, "options.retry");
}

/** Checks requested scopes against the server's list; commas get their own message, as Voucherify refuses them. */
function checkScopes(scopes: readonly string[], allowed: ReadonlySet<string>): void {
  for (const scope of scopes) {
    if (allowed.has(scope)) continue;
    if (scope.includes(",")) throw argumentError(`scope "${scope}" is comma-separated: separate scopes with spaces`);
    throw argumentError(`scope "${scope}" is not one of the server's scopes (${[...allowed].join(", ")})`);
  }
}

/** The fields each grant takes, per request format, built once. */
const GRANT_ALLOWED: Record<RequestFormat, Record<string, ReadonlySet<string>>> = { form: {}, json: {} };
for (const [grantType, fields] of Object.entries(GRANT_FIELDS)) {
  const own = ["grant_type", ...fields.required, ...fields.optional];
  GRANT_ALLOWED.form[grantType] = new Set(own);
  GRANT_ALLOWED.json[grantType] = new Set([...own, "scopes", "short_lived"]);
}
const SQUARE_REVOKE_FIELDS: ReadonlySet<string> = new Set(["access_token", "merchant_id", "revoke_only_access_token"]);
const TOKEN_FIELDS: ReadonlySet<string> = new Set(["token", "token_type_hint", "access_token"]);
const ACCESS_TOKEN_FIELD: ReadonlySet<string> = new Set(["access_token"]);

/** The call's parameters, which must be an object. */
function paramsObject(params: unknown): Record<string, unknown> {
  if (!isPlainObject(params)) throw argumentError("params must be an object");
  return params;
}

/** The client's credentials come from its options: a call that carries them is a mistake. */
function noClientFields(params: Record<string, unknown>): void {
  for (const key of ["client_id", "client_secret"]) {
    if (params[key] !== undefined) throw argumentError(`${key} comes from the client options; do not pass it in the request`);
  }
}

/** Throws a TypeError naming the first field that `allowed` does not hold; `undefined` fields are ignored. */
function onlyFields(params: Record<string, unknown>, allowed: ReadonlySet<string>, what: string, hint = (_key: string) => ""): void {
  for (const key of Object.keys(params)) {
    if (params[key] !== undefined && !allowed.has(key)) throw argumentError(`${key} is not a field of ${what}${hint(key)}`);
  }
}

const squareOnlyHint = (key: string) => (key === "scopes" || key === "short_lived" ? ' (Square options need requestFormat "json")' : "");

/** Checks a grant's fields before anything is sent; returns the body to send, without client credentials. */
function checkTokenRequest(request: unknown, format: RequestFormat, allowedScopes: ReadonlySet<string> | undefined): Record<string, unknown> {
  if (!isPlainObject(request)) throw argumentError("token request must be an object");
  const grantType = request.grant_type;
  const fields = typeof grantType === "string" ? GRANT_FIELDS[grantType] : undefined;
  if (!fields) throw argumentError(`grant_type must be one of ${Object.keys(GRANT_FIELDS).join(", ")}`);
  noClientFields(request);
  for (const name of fields.required) checkNonEmptyString(request[name], name);
  for (const name of fields.optional) if (request[name] !== undefined) checkNonEmptyString(request[name], name);
  if (request.code_verifier !== undefined) checkCodeVerifier(request.code_verifier);
  if (request.redirect_uri !== undefined && !URL.canParse(request.redirect_uri as string)) {
    throw argumentError("redirect_uri must be an absolute URI");
  }
  if (format === "json") {
    if (request.scopes !== undefined) {
      const scopes = request.scopes;
      if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== "string" || s === "")) {
        throw argumentError("scopes must be an array of non-empty strings");
      }
    }
    if (request.short_lived !== undefined && typeof request.short_lived !== "boolean") throw argumentError("short_lived must be a boolean");
  }
  if (allowedScopes) {
    if (typeof request.scope === "string") checkScopes(request.scope.split(" ").filter(Boolean), allowedScopes);
    if (Array.isArray(request.scopes)) checkScopes(request.scopes as string[], allowedScopes);
  }
  onlyFields(request, GRANT_ALLOWED[format][grantType as string]!, `the ${grantType as string} grant`, squareOnlyHint);
  return compact(request);
}

function checkTokenField(params: Record<string, unknown>, format: RequestFormat, operation: "revoke" | "introspect"): Record<string, unknown> {
  noClientFields(params);
  if (format === "json") {
    // Square's revocation: access_token or merchant_id.
    if (params.access_token === undefined && params.merchant_id === undefined) throw argumentError("access_token or merchant_id is required");
    if (params.access_token !== undefined) checkNonEmptyString(params.access_token, "access_token");
    if (params.merchant_id !== undefined) checkNonEmptyString(params.merchant_id, "merchant_id");
    if (params.revoke_only_access_token !== undefined && typeof params.revoke_only_access_token !== "boolean") {
      throw argumentError("revoke_only_access_token must be a boolean");
    }
    onlyFields(params, SQUARE_REVOKE_FIELDS, `Square's ${operation} request`);
    return compact(params);
  }
  if (params.token !== undefined && params.access_token !== undefined) throw argumentError("give token or access_token, not both");
  if (params.token === undefined && params.access_token === undefined) throw argumentError("token is required");
  if (params.token !== undefined) checkNonEmptyString(params.token, "token");
  if (params.access_token !== undefined) checkNonEmptyString(params.access_token, "access_token");
  if (params.token_type_hint !== undefined && params.token_type_hint !== "access_token" && params.token_type_hint !== "refresh_token") {
    throw argumentError('token_type_hint must be "access_token" or "refresh_token"');
  }
  if (params.access_token !== undefined && params.token_type_hint !== undefined) throw argumentError("token_type_hint goes with token, not access_token");
  onlyFields(params, TOKEN_FIELDS, `the ${operation} request`);
  return compact(params);
}

/**
 * Creates a typed client for the spec's four token operations, on openapi-fetch.
 *
 * Arguments are checked before any request: a bad one throws `TypeError` and nothing is sent. The client
 * secret stays in a closure: it is not a property of the client and never shows in logs; errors never quote
 * it, nor any token of the request, even when the server does.
 *
 * Every request has a time limit (`timeoutMs`) and honours the call's `AbortSignal`; safe operations are
 * retried ({@link RetryOptions}); redirects are not followed; answers larger than `maxResponseBytes` are
 * refused; plain http is refused except for loopback hosts or with `allowInsecureHttp`.
 *
 * @param options - base URL, client credentials and authentication method, request format, endpoints,
 *   time limit, retries, transport policy.
 * @returns the client, with one method per operation plus grant helpers.
 * @throws {TypeError} when an option is malformed, or a URL is plain http to a host that is not loopback.
 * @see https://www.rfc-editor.org/rfc/rfc6749
 */
export function createOAuthClient<F extends RequestFormat = "form">(options: OAuthClientOptions<F>): OAuthClient<F> {
  checkOptions(options);
  const format: RequestFormat = options.requestFormat ?? "form";
  const clientId = options.clientId;
  const clientSecret = options.clientSecret;
  const auth: ClientAuthenticationMethod = options.clientAuthentication ?? (clientSecret ? "client_secret_basic" : "none");
  if (auth !== "none" && (clientId === undefined || clientSecret === undefined)) {
    throw argumentError(`options.clientId and options.clientSecret are required for ${auth}`);
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const endpoints = {} as Record<OperationName, { baseUrl: string; path: string }>;
  for (const name of Object.keys(DEFAULT_PATHS) as OperationName[]) {
    endpoints[name] = resolveEndpoint(baseUrl, options.endpoints?.[name], DEFAULT_PATHS[name]);
  }
  const fetchImpl = options.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryDefaults = resolveRetry(options.retry);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const tokenOptions: ProcessTokenOptions = options.allowedTokenTypes ? { allowedTokenTypes: [...options.allowedTokenTypes] } : {};
  const allowedScopes = options.allowedScopes ? new Set(options.allowedScopes) : undefined;
  const introspection = options.introspection ?? "rfc7662";
  // Header values that are credentials (Voucherify's X-App-Token, an Authorization a caller adds) are
  // redacted from errors like the client secret.
  const headerSecrets = Object.entries(options.headers ?? {})
    .filter(([name]) => SECRET_HEADERS.includes(name.toLowerCase()))
    .map(([, value]) => value);
  const credentials = auth === "client_secret_basic" ? btoa(`${formEncode(clientId!)}:${formEncode(clientSecret!)}`) : undefined;
  const basic = credentials === undefined ? undefined : `Basic ${credentials}`;
  const ownSecrets = withEncoded([clientSecret, credentials, ...headerSecrets]);
  const hosts = {} as Record<OperationName, string>;
  for (const name of Object.keys(endpoints) as OperationName[]) hosts[name] = new URL(endpoints[name].baseUrl).host;

  /**
   * The fetch openapi-fetch calls. openapi-fetch reads the body of a failure whole, with no limit: this reads
   * it first, within `maxResponseBytes`, and hands on a copy. A success passes untouched; `send` reads it.
   */
  async function boundedFetch(request: PendingRequest): Promise<Response> {
    const response = await (fetchImpl ?? globalThis.fetch)(request.url, request.init);
    if (response.ok || response.type === "opaqueredirect") return response;
    const text = await readBody(response, maxBytes, request.init.signal ?? undefined, fetchImpl === undefined);
    const { status, statusText, headers, url } = response;
    const copy = new Response(text === "" || NULL_BODY_STATUSES.includes(status) ? null : text, { status, statusText, headers });
    // A constructed Response has no URL; errors and redirect messages use it.
    if (url) Object.defineProperty(copy, "url", { value: url });
    return copy;
  }

  // Token requests carry credentials: a redirect is never followed; it is refused, or handed back as it is.
  const api = createClient<paths>({
    baseUrl,
    fetch: boundedFetch as unknown as typeof fetch,
    Request: PendingRequest as unknown as typeof Request,
    headers: options.headers,
    redirect: fetchImpl === undefined && NODE_FETCH ? "error" : "manual",
  });

  /** Adds the client's credentials the way the configured method asks. */
  function authenticate(body: Record<string, unknown>, headers: Record<string, string>): void {
    if (basic) headers.Authorization = basic;
    else if (auth === "client_secret_post") Object.assign(body, { client_id: clientId, client_secret: clientSecret });
    else if (clientId !== undefined) body.client_id = clientId;
  }

  function squareClientHeader(headers: Record<string, string>): void {
    if (clientSecret === undefined) throw argumentError("options.clientSecret is required: Square authenticates this call with Authorization: Client <secret>");
    headers.Authorization = `Client ${clientSecret}`;
  }

  /** Validates an answer; an error is stripped of any secret of the request the server quoted back. */
  function settle<T>(process: (answer: RawAnswer) => T, answer: RawAnswer, sent: Record<string, unknown> | undefined): T {
    let result: T;
    try {
      result = process(answer);
    } catch (error) {
      throw redactError(error, secretsOf(sent));
    }
    // A result that quotes a secret of the request (in a description, say) prints it as [REDACTED] too.
    const { body } = answer;
    return typeof body === "string" && body !== "" ? hideQuoted(result, secretsOf(sent).filter((secret) => body.includes(secret))) : result;
  }

  /** The secrets of a request: the client's, and those of the call's parameters; each also form-encoded. */
  function secretsOf(sent: Record<string, unknown> | undefined): string[] {
    let secrets = ownSecrets;
    if (sent) {
      for (const field of SECRET_PARAMS) {
        const value = sent[field];
        if (typeof value === "string") secrets = [...secrets, ...withEncoded([value])];
      }
    }
    return secrets;
  }

  /**
   * One attempt: sends the request and reads the whole answer within `limitMs`. A fetch that ignores its
   * signal cannot hang the call: the time-out or the caller's abort settles it anyway.
   */
  async function attempt(operation: OperationName, init: object, signal: AbortSignal | undefined, limitMs: number): Promise<RawAnswer> {
    if (signal?.aborted) throw signal.reason;
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forward);
    let timedOut = false;
    const expire = () => {
      timedOut = true;
      controller.abort();
    };
    const timer = limitMs < MAX_TIMER_MS ? setTimeout(expire, limitMs) : undefined;
    let answered = false;
    const exchange = async (): Promise<RawAnswer> => {
      // The path is the configured one; its type is the spec's path, whose body types it shares.
      const { response, error } = await api.POST(endpoints[operation].path as "/oauth2/token", { ...init, signal: controller.signal } as never);
      answered = true;
      return { response, body: response.ok ? await readBody(response, maxBytes, controller.signal, fetchImpl === undefined) : error };
    };
    try {
      // The runtime's fetch ends on an abort, and so do its body reads. A custom fetch may not: the call settles
      // on the exchange or on the abort, whichever comes first (a cheaper Promise.race).
      if (fetchImpl === undefined) return await exchange();
      return await new Promise<RawAnswer>((resolve, reject) => {
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason));
        exchange().then(resolve, reject);
      });
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      const host = hosts[operation];
      if (timedOut) throw new OAuthTransportError(`${operation} request to ${host} timed out after ${limitMs} ms`, { timedOut: true });
      if (cause instanceof OAuthResponseError || cause instanceof OAuthError) throw cause;
      if (isRefusedRedirect(cause)) throw redirectError("", 0, undefined, `${operation} request to ${host}: `);
      const code = errorCode(cause);
      const what = answered ? "the answer broke off" : "no answer";
      throw new OAuthTransportError(`${operation} request to ${host} failed: ${what}${code ? ` (${code})` : ""}`, { cause, notSent: !answered && neverSent(cause) });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
    }
  }

  /**
   * Sends a request, retrying as {@link RetryOptions} says. `idempotent` operations are retried on 429, 503
   * and connection failures; the others only when the request provably never left.
   */
  async function send(
    operation: OperationName,
    body: Record<string, unknown> | undefined,
    contentType: string | undefined,
    headers: Record<string, string>,
    call: CallOptions | undefined,
    idempotent: boolean,
  ): Promise<RawAnswer> {
    if (contentType !== undefined) headers["Content-Type"] = contentType;
    const init = {
      baseUrl: endpoints[operation].baseUrl,
      body,
      bodySerializer: contentType === FORM ? serializeForm : serializeJson,
      headers: { Accept: JSON_TYPE, ...call?.headers, ...headers },
      params: operation === "renew" ? { path: { client_id: clientId } } : undefined,
      parseAs: "stream",
    };
    const signal = call?.signal;
    const limitMs = call?.timeoutMs ?? timeoutMs;
    const retry = call?.retry === undefined ? retryDefaults : resolveRetry(call.retry);
    const started = Date.now();
    let attemptLimitMs = limitMs;
    for (let n = 1; ; n++) {
      let answer: RawAnswer | undefined;
      let failure: unknown;
      try {
        answer = await attempt(operation, init, signal, attemptLimitMs);
      } catch (error) {
        failure = error;
      }
      const retryable =
        answer !== undefined
          ? idempotent && RETRY_STATUSES.includes(answer.response.status)
          : failure instanceof OAuthTransportError && !failure.timedOut && (idempotent || failure.notSent);
      if (retry !== undefined && retryable && n < retry.maxAttempts) {
        const wait = (answer && retryAfterMs(answer.response)) ?? backoffMs(retry, n);
        const remaining = retry.maxElapsedMs - (Date.now() - started) - wait;
        if (remaining > 0) {
          await sleep(wait, signal);
          attemptLimitMs = Math.min(limitMs, remaining);
          continue;
        }
      }
      if (answer !== undefined) return answer;
      throw failure;
    }
  }

  async function token(request: unknown, call: CallOptions | undefined): Promise<TokenResponse> {
    checkCallOptions(call);
    const body = checkTokenRequest(request, format, allowedScopes);
    const headers: Record<string, string> = {};
    authenticate(body, headers);
    // Only client_credentials is safe to repeat: a code is single-use, a refresh token may rotate.
    const answer = await send("token", body, format === "json" ? JSON_TYPE : FORM, headers, call, body.grant_type === "client_credentials");
    return settle((a) => processTokenResponse(a, tokenOptions), answer, body);
  }

  function grant(grantType: string, params: unknown): Record<string, unknown> {
    return { ...(params === undefined ? undefined : paramsObject(params)), grant_type: grantType };
  }

  return {
    obtainToken: (request, call) => token(request, call),
    // async, so that a bad argument rejects like every other call instead of throwing synchronously.
    exchangeAuthorizationCode: async (params, call) => token(grant("authorization_code", params), call),
    refreshToken: async (params, call) => token(grant("refresh_token", params), call),
    clientCredentials: async (params, call) => token(grant("client_credentials", params), call),
    async renewToken(input, call) {
      checkCallOptions(call);
      const params = paramsObject(input);
      checkNonEmptyString(params.access_token, "access_token");
      onlyFields(params, ACCESS_TOKEN_FIELD, "the renew request");
      if (clientId === undefined) throw argumentError("options.clientId is required: it is part of the renew path");
      const headers: Record<string, string> = {};
      squareClientHeader(headers);
      const body = { access_token: params.access_token };
      return settle((a) => processRenewResponse(a, tokenOptions), await send("renew", body, JSON_TYPE, headers, call, false), body);
    },
    async revokeToken(params, call) {
      checkCallOptions(call);
      const body = checkTokenField(paramsObject(params), format, "revoke");
      const headers: Record<string, string> = {};
      if (format === "json") {
        squareClientHeader(headers);
        if (clientId !== undefined) body.client_id = clientId;
      } else {
        authenticate(body, headers);
      }
      settle(processRevocationResponse, await send("revoke", body, format === "json" ? JSON_TYPE : FORM, headers, call, true), body);
    },
    async introspectToken(params, call) {
      checkCallOptions(call);
      const body = checkTokenField(paramsObject(params), "form", "introspect");
      if (introspection === "square_token_status") {
        const token = (body.token ?? body.access_token) as string;
        return settle(statusAsIntrospection, await send("tokenStatus", undefined, undefined, { Authorization: `Bearer ${token}` }, call, true), body);
      }
      const headers: Record<string, string> = {};
      authenticate(body, headers);
      return settle(processIntrospectionResponse, await send("introspect", body, FORM, headers, call, true), body);
    },
    async retrieveTokenStatus(input, call) {
      checkCallOptions(call);
      const params = paramsObject(input);
      checkNonEmptyString(params.access_token, "access_token");
      onlyFields(params, ACCESS_TOKEN_FIELD, "the token status request");
      const headers = { Authorization: `Bearer ${params.access_token}` };
      return settle(processTokenStatusResponse, await send("tokenStatus", undefined, undefined, headers, call, true), params);
    },
  };
}
