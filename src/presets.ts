import type { OAuthClientOptions } from "./client";
import { REDACTED } from "./errors";

/**
 * The scopes Voucherify documents for `POST /v1/oauth/token`. `api` allows the whole server-side API and
 * `client_api` the whole client-side API; the others narrow the token to one area.
 *
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export const VOUCHERIFY_SCOPES = [
  "api",
  "assets",
  "async-actions",
  "campaigns",
  "categories",
  "client_api",
  "client_consents",
  "client_customers",
  "client_events",
  "client_promotions",
  "client_publish",
  "client_qualifications",
  "client_redeem",
  "client_redemptions",
  "client_validate",
  "client_validations",
  "client_vouchers",
  "consents",
  "customers",
  "events",
  "exports",
  "locations",
  "loyalties",
  "metadata-schemas",
  "orders",
  "product-collections",
  "products",
  "promotions",
  "publications",
  "qualifications",
  "redemptions",
  "referrals",
  "rewards",
  "segments",
  "skus",
  "task-results",
  "templates",
  "trash-bin",
  "validation-rules-assignments",
  "validation-rules",
  "validations",
  "vouchers",
] as const;

/**
 * One of {@link VOUCHERIFY_SCOPES}.
 *
 * @see {@link VOUCHERIFY_SCOPES}
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export type VoucherifyScope = (typeof VOUCHERIFY_SCOPES)[number];

/**
 * Square's OAuth hosts.
 *
 * @see https://developer.squareup.com/docs/devtools/sandbox/overview
 */
export const SQUARE_BASE_URLS = {
  production: "https://connect.squareup.com",
  sandbox: "https://connect.squareupsandbox.com",
} as const;

/**
 * Voucherify's API clusters: Europe (`api`), the United States (`us1.api`) and Asia (`as1.api`).
 *
 * @see {@link VoucherifyPresetOptions.cluster}
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export type VoucherifyCluster = "api" | "us1.api" | "as1.api";

const VOUCHERIFY_CLUSTERS: readonly string[] = ["api", "us1.api", "as1.api"];

/** What every preset takes besides the provider's own settings. */
interface TransportOptions {
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** More headers for every request. */
  headers?: Record<string, string>;
  /** The server's base URL instead of the provider's, such as a proxy or a mock. */
  baseUrl?: string;
}

/**
 * Options of {@link squarePreset}.
 *
 * @see {@link squarePreset}
 * @see https://developer.squareup.com/reference/square/o-auth-api/obtain-token
 */
export interface SquarePresetOptions extends TransportOptions {
  /** The application ID (`sq0idp-…`), sent as `client_id` in every body and in the renew path. */
  clientId: string;
  /**
   * The application secret (`sq0csp-…`). With it, token requests carry it in the body (code flow) and revoke
   * and renew send `Authorization: Client <secret>`. Omit it for the PKCE flow.
   */
  clientSecret?: string;
  /** `production` (default) or `sandbox`; ignored when `baseUrl` is given. */
  environment?: keyof typeof SQUARE_BASE_URLS;
  /** The `Square-Version` header, such as `2025-08-20`; omitted by default (the application's version applies). */
  squareVersion?: string;
}

/**
 * Options of {@link voucherifyPreset}.
 *
 * @see {@link voucherifyPreset}
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export interface VoucherifyPresetOptions extends TransportOptions {
  /** The application ID, sent as `X-App-Id`. */
  appId: string;
  /** The secret key, sent as `X-App-Token`. */
  appToken: string;
  /** The API cluster of the project; default `api`. Ignored when `baseUrl` is given. */
  cluster?: VoucherifyCluster;
}

/**
 * Options of {@link twoBAPreset}.
 *
 * @see {@link twoBAPreset}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export interface TwoBAPresetOptions extends Omit<TransportOptions, "baseUrl"> {
  /** 2BA's authorization server (`AuthorizeServer` in 2BA's examples); `/OAuth/Token` is appended to it. */
  baseUrl: string;
  /** The client ID 2BA gave the software partner. */
  clientId: string;
  /** The client secret 2BA gave the software partner. */
  clientSecret: string;
}

function checkObject(options: unknown, name: string): asserts options is Record<string, unknown> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new TypeError(`${name} options must be an object`);
}

function checkString(value: unknown, name: string): void {
  if (typeof value !== "string" || value === "") throw new TypeError(`${name} must be a non-empty string`);
}

/** Headers whose values are credentials: Voucherify's secret key, and any Authorization a caller adds. */
const SECRET_HEADERS = new Set(["x-app-token", "authorization"]);
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

function printable(this: OAuthClientOptions): object {
  const headers = this.headers && Object.fromEntries(Object.entries(this.headers).map(([k, v]) => [k, SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : v]));
  return { ...this, ...(this.clientSecret !== undefined && { clientSecret: REDACTED }), ...(headers && { headers }) };
}

/**
 * Options that print without their secrets: `JSON.stringify` and `util.inspect` show the client secret and
 * secret headers as `[REDACTED]`. The fields stay ordinary, enumerable properties, so the options spread and
 * pass to `createOAuthClient` unchanged.
 *
 * @param options - client options holding credentials.
 * @returns the same object, made safe to print.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.1
 */
export function maskSecrets<T extends OAuthClientOptions>(options: T): T {
  const hidden = { value: printable, enumerable: false, writable: true, configurable: true };
  return Object.defineProperties(options, { toJSON: hidden, [INSPECT]: hidden });
}

function transport(options: TransportOptions, headers: Record<string, string>): Pick<OAuthClientOptions, "fetch" | "headers"> {
  const all = { ...options.headers, ...headers };
  return {
    ...(options.fetch && { fetch: options.fetch }),
    ...(Object.keys(all).length > 0 && { headers: all }),
  };
}

/**
 * Client options for Square's OAuth API: JSON bodies with the credentials in them, `Authorization: Client
 * <secret>` for revoke and renew (written by the client), and `introspectToken` answered by RetrieveTokenStatus
 * (`POST /oauth2/token/status` with the token as bearer), mapped to RFC 7662's shape. Square's extras travel as
 * call fields: `scopes` and `short_lived` on token requests, `merchant_id` and `revoke_only_access_token` on
 * revocation.
 *
 * @param options - the application ID and secret, and the environment.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when an option is malformed.
 * @see https://developer.squareup.com/reference/square/o-auth-api
 */
export function squarePreset(options: SquarePresetOptions): OAuthClientOptions<"json"> {
  return maskSecrets(squareOptions(options));
}

function squareOptions(options: SquarePresetOptions): OAuthClientOptions<"json"> {
  checkObject(options, "squarePreset");
  checkString(options.clientId, "clientId");
  if (options.clientSecret !== undefined) checkString(options.clientSecret, "clientSecret");
  const environment = options.environment ?? "production";
  if (!Object.hasOwn(SQUARE_BASE_URLS, environment)) throw new TypeError('environment must be "production" or "sandbox"');
  if (options.squareVersion !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.squareVersion)) {
    throw new TypeError("squareVersion must be a date such as 2025-08-20");
  }
  return {
    baseUrl: options.baseUrl ?? SQUARE_BASE_URLS[environment],
    clientId: options.clientId,
    ...(options.clientSecret !== undefined && { clientSecret: options.clientSecret }),
    // The code flow puts the secret in the body; the PKCE flow sends client_id and code_verifier only.
    clientAuthentication: options.clientSecret !== undefined ? "client_secret_post" : "none",
    requestFormat: "json",
    introspection: "square_token_status",
    ...transport(options, options.squareVersion !== undefined ? { "Square-Version": options.squareVersion } : {}),
  };
}

/**
 * Client options for Voucherify's OAuth API: the `X-App-Id` and `X-App-Token` headers instead of client
 * authentication, the `/v1/oauth/...` paths, and requested scopes checked against {@link VOUCHERIFY_SCOPES}
 * before sending (a comma-separated scope gets an error saying to use spaces). Revoke and introspect take the
 * token as `access_token`: `revokeToken({ access_token })`, `introspectToken({ access_token })`. Tokens last
 * 900 seconds and answer `expires_at` in Unix seconds; a project holds at most 1000, so cache them.
 *
 * @param options - the application ID and secret key, and the cluster.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when an option is malformed.
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export function voucherifyPreset(options: VoucherifyPresetOptions): OAuthClientOptions<"form"> {
  return maskSecrets(voucherifyOptions(options));
}

function voucherifyOptions(options: VoucherifyPresetOptions): OAuthClientOptions<"form"> {
  checkObject(options, "voucherifyPreset");
  checkString(options.appId, "appId");
  checkString(options.appToken, "appToken");
  const cluster = options.cluster ?? "api";
  if (!VOUCHERIFY_CLUSTERS.includes(cluster)) throw new TypeError(`cluster must be one of ${VOUCHERIFY_CLUSTERS.join(", ")}`);
  return {
    baseUrl: options.baseUrl ?? `https://${cluster}.voucherify.io`,
    // Voucherify identifies the application by its headers; no client_id or secret travels in the body.
    clientAuthentication: "none",
    requestFormat: "form",
    endpoints: { token: "/v1/oauth/token", revoke: "/v1/oauth/token/revoke", introspect: "/v1/oauth/introspect" },
    allowedScopes: VOUCHERIFY_SCOPES,
    ...transport(options, { "X-App-Id": options.appId, "X-App-Token": options.appToken }),
  };
}

/**
 * Client options for 2BA's token service: a form body with `client_id` and `client_secret` in it
 * (`client_secret_post`), at `{AuthorizeServer}/OAuth/Token`. 2BA rotates refresh tokens: store the new one
 * from every answer. An expired refresh token answers 400 `invalid_grant`, and the user must sign in again.
 *
 * @param options - the authorization server and the partner's client credentials.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function twoBAPreset(options: TwoBAPresetOptions): OAuthClientOptions<"form"> {
  return maskSecrets(twoBAOptions(options));
}

function twoBAOptions(options: TwoBAPresetOptions): OAuthClientOptions<"form"> {
  checkObject(options, "twoBAPreset");
  checkString(options.baseUrl, "baseUrl");
  checkString(options.clientId, "clientId");
  checkString(options.clientSecret, "clientSecret");
  return {
    baseUrl: options.baseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    clientAuthentication: "client_secret_post",
    requestFormat: "form",
    endpoints: { token: "/OAuth/Token" },
    ...transport(options, {}),
  };
}
