import type { components } from "../../generated/schema";
import { getAuthorizationServerMetadataAnswer, operations } from "../../generated/spec";
import { jsonAnswer } from "../core/answers";
import {
  CLIENT_AUTHENTICATION_METHODS,
  isClientAuthenticationMethod,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
} from "../core/auth";
import { OAuthResponseError } from "../core/errors";
import { createRequestCore, type Endpoint } from "../core/request";
import { isLoopback } from "../core/transport";
import { argumentError, checkPositive } from "../core/validate";
import type { OAuthClientOptions } from "../oauth/options";
import { maskSecrets } from "./preset";

/**
 * Authorization server metadata (RFC 8414 §2, OpenID Connect Discovery 1.0 §3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 */
export interface AuthorizationServerMetadata extends Readonly<components["schemas"]["AuthorizationServerMetadata"]> {}

/**
 * Options of {@link discover}.
 *
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

/**
 * Reads an authorization server's metadata: RFC 8414 first (`/.well-known/oauth-authorization-server`, with
 * the issuer's path after it), then OpenID Connect Discovery (`{issuer}/.well-known/openid-configuration`),
 * through the client's request core (time limit, body limit; no retries). The document is checked
 * against the spec, and its `issuer` must equal the issuer asked for (RFC 8414 §3.3).
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
    throw argumentError("issuer must be an absolute URL");
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw argumentError("issuer must be an http or https URL without query or fragment");
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
    throw argumentError(
      "issuer must use https: (plain http is allowed for loopback addresses, or with allowInsecureHttp)",
    );
  }
  checkPositive(options.timeoutMs, "timeoutMs", true);
  if (
    options.maxResponseBytes !== undefined &&
    !(Number.isInteger(options.maxResponseBytes) && options.maxResponseBytes > 0)
  ) {
    throw argumentError("maxResponseBytes must be a positive integer");
  }
  const issuerPath = url.pathname.replace(/\/+$/, "");
  // RFC 8414 inserts the well-known segment before the issuer's path; OpenID Connect appends it after.
  const documents = [
    { id: "getAuthorizationServerMetadata", path: `${operations.getAuthorizationServerMetadata.path}${issuerPath}` },
    { id: "getOpenIdConfiguration", path: `${issuerPath}${operations.getOpenIdConfiguration.path}` },
  ] as const;
  const core = createRequestCore({
    baseUrl: url.origin,
    endpoints: { authorizationServerMetadata: documents[0].path, openidConfiguration: documents[1].path },
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    // One look-up per document, as before: a failure status ends it.
    retry: false,
    followRedirects: true,
  });
  const call = { signal: options.signal };
  const tried: string[] = [];
  for (const { id, path } of documents) {
    const exchange = core.exchange(id, call);
    const result =
      id === "getAuthorizationServerMetadata"
        ? await core.direct.GET(operations.getAuthorizationServerMetadata.path, exchange.init)
        : await core.direct.GET(operations.getOpenIdConfiguration.path, exchange.init);
    const answer = exchange.answer(result);
    tried.push(`${path} (HTTP ${answer.response.status})`);
    if (answer.response.status === 404) continue;
    if (!answer.response.ok)
      throw new OAuthResponseError(
        `metadata request ${path} answered HTTP ${answer.response.status}`,
        answer.response.status,
        { response: answer.response },
      );
    // Both documents have the spec's one metadata schema.
    const metadata = jsonAnswer(answer, getAuthorizationServerMetadataAnswer) as AuthorizationServerMetadata;
    if (metadata.issuer !== issuer && metadata.issuer !== issuer.replace(/\/+$/, "")) {
      throw new OAuthResponseError(`metadata "issuer" must equal ${JSON.stringify(issuer)}`, answer.response.status, {
        response: answer.response,
      });
    }
    return metadata;
  }
  throw new OAuthResponseError(`no authorization server metadata for ${issuer}: tried ${tried.join(", ")}`, 404);
}

/**
 * Options of {@link metadataPreset}: the client's own credentials and transport.
 *
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
  /**
   * A JWT client authentication (`privateKeyJwt(clientId, key)` or `clientSecretJwt(clientId, secret)`): used when
   * the server lists its method, first of all; else the choice is made as without it.
   */
  clientAssertion?: ClientAuthentication;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers for every request. */
  headers?: Record<string, string>;
}

const PREFERENCE: readonly ClientAuthenticationMethod[] = ["client_secret_basic", "client_secret_post"];
type MetadataFields = Record<string, unknown>;

/**
 * The client's authentication method: the one it is registered with when given, even where the metadata does
 * not list it (servers that serve public PKCE clients often list only the secret-based methods); `none`
 * without a secret; else the first of `client_secret_basic`, `client_secret_post` that every endpoint lists.
 */
function authenticationFor(
  options: MetadataPresetOptions,
  lists: readonly string[][],
  tokenList: readonly string[],
): ClientAuthenticationMethod | ClientAuthentication {
  const explicit = options.clientAuthentication;
  if (explicit !== undefined) {
    if (!isClientAuthenticationMethod(explicit)) {
      throw argumentError(`clientAuthentication must be one of ${CLIENT_AUTHENTICATION_METHODS.join(", ")}`);
    }
    return explicit;
  }
  const assertion = options.clientAssertion;
  if (assertion !== undefined && !(typeof assertion === "object" && typeof assertion?.apply === "function"))
    throw argumentError("clientAssertion must be a strategy made by privateKeyJwt or clientSecretJwt");
  const candidates = [
    ...(assertion ? [assertion.method] : []),
    ...(options.clientSecret === undefined ? [] : PREFERENCE),
  ];
  if (candidates.length === 0) return "none";
  const method =
    candidates.find((m) => lists.every((list) => list.includes(m))) ?? candidates.find((m) => tokenList.includes(m));
  if (method === undefined) {
    throw argumentError(
      `the token endpoint lists ${tokenList.join(", ")}, none of ${candidates.join(", ")}: pass clientAuthentication`,
    );
  }
  return method === assertion?.method ? assertion : (method as ClientAuthenticationMethod);
}

/**
 * Client options from discovered metadata: the endpoint of every operation the spec locates in metadata
 * (`x-metadata-endpoint`: token, revocation, introspection), and a client authentication method the server
 * supports at all of them (RFC 8414's default `client_secret_basic` where a list is absent), a JWT client
 * authentication given as `clientAssertion` (`private_key_jwt`, `client_secret_jwt`) first. An explicit
 * `clientAuthentication`, the one the client is registered with, is used as it is, listed or not; a public
 * client (no secret) uses `none`. An operation the metadata does not locate is marked unavailable: its calls
 * fail at once with a `TypeError` naming the missing field, instead of trying a path the server never named.
 *
 * @param metadata - from {@link discover}.
 * @param options - the client's credentials, and optionally its authentication method.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when the server has no token endpoint, or, with a secret and no explicit method, its
 *   token endpoint lists neither secret-based method.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function metadataPreset(
  metadata: AuthorizationServerMetadata,
  options: MetadataPresetOptions,
): OAuthClientOptions<"form"> {
  const fields = metadata as MetadataFields;
  if (!metadata.token_endpoint) throw argumentError("the server's metadata has no token_endpoint");
  const endpoints: Record<string, Endpoint> = {};
  const lists: string[][] = [];
  for (const op of Object.values(operations)) {
    if (!("metadataEndpoint" in op)) continue;
    const field = `${op.metadataEndpoint}_endpoint`;
    const url = fields[field];
    if (typeof url !== "string") {
      // Not advertised: a call fails at once saying so, instead of trying a path the server never named.
      endpoints[op.endpoint] = { unavailable: `the server's metadata has no ${field}` };
      continue;
    }
    endpoints[op.endpoint] = url;
    const methods = fields[`${field}_auth_methods_supported`] ?? metadata.token_endpoint_auth_methods_supported;
    lists.push((methods as string[] | undefined) ?? ["client_secret_basic"]);
  }
  const method = authenticationFor(
    options,
    lists,
    metadata.token_endpoint_auth_methods_supported ?? ["client_secret_basic"],
  );
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
