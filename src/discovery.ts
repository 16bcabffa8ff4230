import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema";
import type { ClientAuthenticationMethod, OAuthClientOptions } from "./client";
import { OAuthResponseError, OAuthTransportError } from "./errors";
import { maskSecrets } from "./presets";
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, isLoopback, readBody } from "./transport";

/**
 * Authorization server metadata (RFC 8414 §2, OpenID Connect Discovery 1.0 §3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 */
export type AuthorizationServerMetadata = components["schemas"]["AuthorizationServerMetadata"];

/**
 * Options of {@link discover}.
 *
 * @see {@link discover}
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export interface DiscoverOptions {
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Aborts the look-up; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time limit of each metadata request, in ms; default 10 000, as the client's; `Infinity` for none. */
  timeoutMs?: number;
  /** The largest metadata document read, in bytes; default 1 MiB, as the client's. */
  maxResponseBytes?: number;
  /** Allow a plain `http:` issuer that is not a loopback address; default `false`, as the client's. */
  allowInsecureHttp?: boolean;
}

const WELL_KNOWN = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] as const;

/**
 * Reads an authorization server's metadata: RFC 8414 first (`/.well-known/oauth-authorization-server`, with
 * the issuer's path after it), then OpenID Connect Discovery (`{issuer}/.well-known/openid-configuration`).
 * The document's `issuer` must equal the issuer asked for (RFC 8414 §3.3), so a document served for another
 * server is refused.
 *
 * @param issuer - the issuer identifier, such as `https://auth.example.org` or `https://auth.example.org/tenant`.
 * @returns the metadata; feed it to {@link metadataPreset} to configure a client.
 * @throws {TypeError} when the issuer is not an absolute http(s) URL without query or fragment.
 * @throws {OAuthResponseError} when no document is found, or it breaks the contract.
 * @throws {OAuthTransportError} when the server does not answer.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */
export async function discover(issuer: string, options: DiscoverOptions = {}): Promise<AuthorizationServerMetadata> {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError("issuer must be an absolute URL");
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw new TypeError("issuer must be an http or https URL without query or fragment");
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
    throw new TypeError("issuer must use https: (plain http is allowed for loopback addresses, or with allowInsecureHttp)");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!(timeoutMs > 0) || !(Number.isInteger(maxBytes) && maxBytes > 0)) {
    throw new TypeError("timeoutMs and maxResponseBytes must be positive numbers");
  }
  const issuerPath = url.pathname.replace(/\/+$/, "");
  const api = createClient<paths>({ baseUrl: url.origin, fetch: options.fetch });
  const tried: string[] = [];
  for (const wellKnown of WELL_KNOWN) {
    // RFC 8414 inserts the well-known segment before the issuer's path; OIDC appends it after.
    const path = wellKnown === WELL_KNOWN[0] ? `${wellKnown}${issuerPath}` : `${issuerPath}${wellKnown}`;
    const timeout = Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : undefined;
    const signal = options.signal && timeout ? AbortSignal.any([options.signal, timeout]) : (options.signal ?? timeout);
    let response: Response;
    let data: unknown;
    try {
      const exchange = (async () => {
        const answer = await api.GET(path as (typeof WELL_KNOWN)[number], { parseAs: "stream", signal });
        return { response: answer.response, data: answer.response.ok ? await readBody(answer.response, maxBytes, signal) : undefined };
      })();
      // Settles on the abort too, whether or not the fetch honours signals: nothing hangs.
      ({ response, data } = await (signal
        ? new Promise<{ response: Response; data: unknown }>((resolve, reject) => {
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
            exchange.then(resolve, reject);
          })
        : exchange));
    } catch (cause) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (cause instanceof OAuthResponseError) throw cause;
      if (timeout?.aborted) throw new OAuthTransportError(`metadata request to ${url.host} timed out after ${timeoutMs} ms`, { timedOut: true });
      throw new OAuthTransportError(`metadata request to ${url.host} failed: no answer`, { cause });
    }
    tried.push(`${path} (HTTP ${response.status})`);
    if (response.status === 404) continue;
    if (!response.ok) throw new OAuthResponseError(`metadata request ${path} answered HTTP ${response.status}`, response.status, { response });
    let metadata: unknown;
    try {
      metadata = JSON.parse(data as string);
    } catch {
      throw new OAuthResponseError(`metadata ${path} is not valid JSON`, response.status, { response });
    }
    return checkMetadata(metadata, issuer, response);
  }
  throw new OAuthResponseError(`no authorization server metadata for ${issuer}: tried ${tried.join(", ")}`, 404);
}

const LIST_FIELDS = [
  "token_endpoint_auth_methods_supported",
  "revocation_endpoint_auth_methods_supported",
  "introspection_endpoint_auth_methods_supported",
  "grant_types_supported",
  "response_types_supported",
  "scopes_supported",
  "code_challenge_methods_supported",
] as const satisfies readonly (keyof AuthorizationServerMetadata)[];

function checkMetadata(metadata: unknown, issuer: string, response: Response): AuthorizationServerMetadata {
  const fail = (message: string): never => {
    throw new OAuthResponseError(`metadata ${message}`, response.status, { response });
  };
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return fail("must be a JSON object");
  const fields = metadata as Record<string, unknown>;
  if (fields.issuer !== issuer && fields.issuer !== issuer.replace(/\/+$/, "")) fail(`"issuer" must equal ${JSON.stringify(issuer)}`);
  for (const name of ["authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint"]) {
    const value = fields[name];
    if (value !== undefined && (typeof value !== "string" || !URL.canParse(value))) fail(`"${name}" must be an absolute URL`);
  }
  // The lists the spec declares; other fields pass through untouched (OpenID Connect adds booleans such as
  // claims_parameter_supported).
  for (const name of LIST_FIELDS) {
    const value = fields[name];
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== "string"))) fail(`"${name}" must be an array of strings`);
  }
  return fields as AuthorizationServerMetadata;
}

/**
 * Options of {@link metadataPreset}: the client's own credentials and transport.
 *
 * @see {@link metadataPreset}
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export interface MetadataPresetOptions {
  /** The client identifier registered with the server. */
  clientId: string;
  /** The client secret; omit it for a public client. */
  clientSecret?: string;
  /**
   * The authentication method the client is registered with (its `token_endpoint_auth_method`). Default: the
   * first of `client_secret_basic`, `client_secret_post` that every endpoint supports; `none` without a secret.
   */
  clientAuthentication?: ClientAuthenticationMethod;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers for every request. */
  headers?: Record<string, string>;
}

const PREFERENCE: readonly ClientAuthenticationMethod[] = ["client_secret_basic", "client_secret_post"];

/**
 * Client options from discovered metadata: the token, revocation and introspection endpoints, and a client
 * authentication method the server supports at all of them (RFC 8414's default `client_secret_basic` where a
 * list is absent), unless `clientAuthentication` names the one the client is registered with. A public client
 * (no secret) uses `none`.
 *
 * @param metadata - from {@link discover}.
 * @param options - the client's credentials, and optionally its authentication method.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when the server has no token endpoint, or its token endpoint does not support the method.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function metadataPreset(metadata: AuthorizationServerMetadata, options: MetadataPresetOptions): OAuthClientOptions<"form"> {
  if (!metadata.token_endpoint) throw new TypeError("the server's metadata has no token_endpoint");
  const supported = (list: string[] | undefined) => list ?? ["client_secret_basic"];
  const lists = [
    supported(metadata.token_endpoint_auth_methods_supported),
    ...(metadata.revocation_endpoint ? [supported(metadata.revocation_endpoint_auth_methods_supported ?? metadata.token_endpoint_auth_methods_supported)] : []),
    ...(metadata.introspection_endpoint ? [supported(metadata.introspection_endpoint_auth_methods_supported ?? metadata.token_endpoint_auth_methods_supported)] : []),
  ];
  let method: ClientAuthenticationMethod | undefined = options.clientAuthentication;
  if (method !== undefined && !["client_secret_basic", "client_secret_post", "none"].includes(method)) {
    throw new TypeError("clientAuthentication must be one of client_secret_basic, client_secret_post, none");
  }
  if (method === undefined && options.clientSecret === undefined) method = "none";
  if (method === undefined) method = PREFERENCE.find((m) => lists.every((list) => list.includes(m))) ?? PREFERENCE.find((m) => lists[0]!.includes(m));
  if (!method || !lists[0]!.includes(method)) {
    throw new TypeError(`the token endpoint supports ${lists[0]!.join(", ")}; ${method ?? "none of client_secret_basic, client_secret_post"} is not one of them`);
  }
  const endpoints: NonNullable<OAuthClientOptions["endpoints"]> = { token: metadata.token_endpoint };
  if (metadata.revocation_endpoint) endpoints.revoke = metadata.revocation_endpoint;
  if (metadata.introspection_endpoint) endpoints.introspect = metadata.introspection_endpoint;
  return maskSecrets({
    baseUrl: metadata.issuer,
    clientId: options.clientId,
    ...(options.clientSecret !== undefined && { clientSecret: options.clientSecret }),
    clientAuthentication: method,
    requestFormat: "form",
    endpoints,
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.headers && { headers: options.headers }),
  });
}
