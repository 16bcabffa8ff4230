import type { ErrorReader } from "../core/answers";
import { argumentError, checkNonEmptyString, checkObject } from "../core/validate";
import type { OAuthClientOptions } from "../oauth/options";
import type { ProviderAdapter } from "../oauth/provider";
import { maskSecrets, transportOptions, type TransportOptions } from "./preset";

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
 * Voucherify's API clusters: Europe (`api`), the United States (`us1.api`) and Asia (`as1.api`).
 *
 * @see {@link VoucherifyPresetOptions.cluster}
 * @see https://docs.voucherify.io/reference/generate-oauth-token
 */
export type VoucherifyCluster = "api" | "us1.api" | "as1.api";

const VOUCHERIFY_CLUSTERS: readonly string[] = ["api", "us1.api", "as1.api"];

/**
 * Options of {@link voucherifyPreset}.
 *
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

/** Voucherify's error object: `key` (or the status) as the code, `message` as the description. */
const readVoucherifyError: ErrorReader = (body, status) => {
  if (typeof body.message !== "string" || typeof body.code !== "number") return undefined;
  return {
    error: typeof body.key === "string" && body.key !== "" ? body.key : `http_${status}`,
    error_description: body.message,
  };
};

/**
 * Voucherify's adapter: its error shape. Its authentication is its `X-App-Id` and `X-App-Token` headers.
 *
 * @see https://docs.voucherify.io/reference/errors
 */
export const voucherifyAdapter: ProviderAdapter = { name: "Voucherify", errorReaders: [readVoucherifyError] };

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
  checkObject(options, "voucherifyPreset options");
  checkNonEmptyString(options.appId, "appId");
  checkNonEmptyString(options.appToken, "appToken");
  const cluster = options.cluster ?? "api";
  if (!VOUCHERIFY_CLUSTERS.includes(cluster))
    throw argumentError(`cluster must be one of ${VOUCHERIFY_CLUSTERS.join(", ")}`);
  return maskSecrets({
    baseUrl: options.baseUrl ?? `https://${cluster}.voucherify.io`,
    // Voucherify identifies the application by its headers; no client_id or secret travels in the body.
    clientAuthentication: "none",
    requestFormat: "form",
    endpoints: { token: "/v1/oauth/token", revoke: "/v1/oauth/token/revoke", introspect: "/v1/oauth/introspect" },
    allowedScopes: VOUCHERIFY_SCOPES,
    provider: voucherifyAdapter,
    ...transportOptions(options, { "X-App-Id": options.appId, "X-App-Token": options.appToken }),
  });
}
