import type { Client } from "openapi-fetch";
import type { paths } from "../../generated/schema";
import { operations } from "../../generated/spec";
import { clientAuthentication, type ClientAuthentication } from "../core/auth";
import { secretsOfHeaders, withEncoded } from "../core/redact";
import { createRequestCore, type CallOptions, type OperationId } from "../core/request";
import type { ClientContext } from "./context";
import { paramsObject, registerContext } from "./context";
import { introspectionRequest, type IntrospectionResponse, type IntrospectTokenParams } from "./introspection";
import { checkCallOptions, checkOptions, type OAuthClientOptions } from "./options";
import { revocationRequest, type RevokeTokenParams } from "./revocation";
import { tokenRequest, type GrantParams, type RequestFormat, type TokenRequest, type TokenResponse } from "./token";

/**
 * The typed client made by {@link createOAuthClient}: the spec's standard operations, grant helpers, and
 * `api` for anything else the spec describes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export interface OAuthClient<F extends RequestFormat = "form"> {
  /**
   * openapi-fetch typed by the spec's `paths`, with the client's base URL, endpoints, authentication, time
   * limit, retries and body limit: an operation added to the spec is callable here after `npm run generate`.
   *
   * @see https://openapi-ts.dev/openapi-fetch/
   */
  readonly api: Client<paths>;
  /**
   * Obtains a token with any grant of the spec.
   *
   * @throws {TypeError} before any request, when the grant or a field is not one the spec describes.
   * @throws {OAuthError} when the server refuses (`invalid_grant`: the user must authorize again).
   * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
   * @throws {OAuthTransportError} when no complete answer arrives in time.
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
   */
  obtainToken(request: TokenRequest<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Exchanges an authorization code (with its PKCE `code_verifier`) for tokens.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
   */
  exchangeAuthorizationCode(
    params: GrantParams<"authorization_code", F>,
    options?: CallOptions,
  ): Promise<TokenResponse>;
  /**
   * Refreshes an access token. When the answer carries a new `refresh_token`, the old one is spent: store the
   * new one. When it carries none, keep the old one.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  refreshToken(params: GrantParams<"refresh_token", F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Obtains a token for the client itself.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
   */
  clientCredentials(params?: GrantParams<"client_credentials", F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Revokes a token. Resolves once the server confirms; on a 503 it rejects and the token must be assumed
   * still valid.
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
}

/**
 * The client {@link createOAuthClient} makes: the standard one, plus a provider's methods when it has some.
 *
 * @see {@link ProviderAdapter}
 */
export type ClientWith<F extends RequestFormat, M extends object> = object extends M
  ? OAuthClient<F>
  : OAuthClient<F> & M;

const MEDIA_TYPES = { form: "application/x-www-form-urlencoded", json: "application/json" } as const;

/**
 * Creates a typed client for the spec's token operations, on openapi-fetch: a facade over the request steps
 * (`tokenRequest`, `revocationRequest`, `introspectionRequest`) and a provider adapter's methods.
 *
 * Arguments are checked against the spec before any request: a bad one throws `TypeError` and nothing is
 * sent. The client secret stays in a closure and never shows in logs; errors never quote it, nor any secret
 * of the request, even when the server does. Every request has a time limit and honours the call's
 * `AbortSignal`; safe operations are retried; redirects are not followed; answers are size-limited; plain
 * http is refused except for loopback hosts.
 *
 * @param options - base URL, credentials and authentication, request format, endpoints, transport policy,
 *   and a provider adapter.
 * @returns the client; a provider's methods are added to it.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749
 */
export function createOAuthClient<F extends RequestFormat = "form", M extends object = object>(
  options: OAuthClientOptions<F, M>,
): ClientWith<F, M> {
  checkOptions(options);
  const { clientId, clientSecret, provider } = options;
  const configured = options.clientAuthentication ?? (clientSecret ? "client_secret_basic" : "none");
  const auth = typeof configured === "string" ? clientAuthentication(configured, clientId, clientSecret) : configured;
  // Each operation's client authentication, chosen once: the provider's where it has its own, else the
  // configured one where the spec has the client authenticate.
  const authentications = new Map<OperationId, ClientAuthentication>();
  for (const id of Object.keys(operations) as OperationId[]) {
    const chosen =
      provider?.authentication?.(id, { clientId, clientSecret }) ??
      ("clientAuthentication" in operations[id] ? auth : undefined);
    if (chosen) authentications.set(id, chosen);
  }
  const secrets = withEncoded([
    clientSecret,
    ...[...authentications.values()].flatMap((a) => a.secrets),
    ...secretsOfHeaders(options.headers),
  ]);
  const core = createRequestCore({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    endpoints: options.endpoints,
    fetch: options.fetch,
    headers: options.headers,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    maxResponseBytes: options.maxResponseBytes,
    secrets,
    authentication: (id) => authentications.get(id),
  });
  const context: ClientContext = {
    core,
    clientId,
    mediaType: MEDIA_TYPES[options.requestFormat ?? "form"],
    allowedScopes: options.allowedScopes ? new Set(options.allowedScopes) : undefined,
    tokenTypes: options.allowedTokenTypes,
    errorReaders: provider?.errorReaders ?? [],
    secrets,
  };
  // async, so that a bad argument rejects like every other call instead of throwing synchronously.
  const token = async (request: unknown, call: CallOptions | undefined) => {
    checkCallOptions(call);
    return tokenRequest(context, request, call);
  };
  const grant = (grantType: string) => async (params: unknown, call: CallOptions | undefined) =>
    token({ ...(params === undefined ? undefined : paramsObject(params)), grant_type: grantType }, call);
  const client: OAuthClient<RequestFormat> = {
    api: core.api,
    obtainToken: token,
    exchangeAuthorizationCode: grant("authorization_code"),
    refreshToken: grant("refresh_token"),
    clientCredentials: grant("client_credentials"),
    async revokeToken(params, call) {
      checkCallOptions(call);
      return revocationRequest(context, params, call);
    },
    async introspectToken(params, call) {
      checkCallOptions(call);
      return introspectionRequest(context, params, call);
    },
  };
  registerContext(client, context);
  return Object.assign(client, provider?.extend?.(context)) as ClientWith<F, M>;
}
