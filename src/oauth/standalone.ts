import type { components } from "../../generated/schema";
import {
  AuthorizationCodeGrantRequest,
  ClientCredentialsGrantRequest,
  operations,
  RefreshTokenGrantRequest,
  type RequestCheck,
} from "../../generated/spec";
import type { CallOptions } from "../core/request";
import { callContext } from "./call-context";
import { checkedBody, paramsObject, settle, type MediaType, type RequestBody } from "./context";
import { introspectionRequest, type IntrospectionResponse, type IntrospectTokenParams } from "./introspection";
import { checkCallOptions, type OAuthClientOptions } from "./options";
import { revocationRequest, type RevokeTokenParams } from "./revocation";
import { checkScopes, processTokenResponse, type GrantParams, type TokenResponse } from "./token";

/**
 * The client's operations as functions imported by name, beside `createOAuthClient`, in the manner of
 * oauth4webapi: each takes the client's options first, and an app bundles only the operations it imports, with
 * their own schemas. Each keeps the client's promises for its call: the same checks before any request, the
 * same request, answer checks, redaction, time limits and retries.
 *
 * The options are those of `createOAuthClient`, with form bodies (RFC 6749's; JSON bodies are the client's), and a
 * provider adapter's error shapes and authentication (its methods are the client's).
 */

type Schemas = components["schemas"];
type TokenBody = RequestBody<"obtainToken", MediaType>;

/**
 * Sends one grant of the spec, with its own schema: the grant's fields checked as the client checks them (with
 * the same messages), then the client's `tokenRequest` step.
 */
async function grantRequest(
  options: OAuthClientOptions<"form">,
  grant: RequestCheck,
  params: unknown,
  call: CallOptions | undefined,
): Promise<TokenResponse> {
  const context = callContext(options);
  checkCallOptions(call);
  const grantType = grant.properties?.grant_type?.const;
  const request = { ...(params === undefined ? undefined : paramsObject(params)), grant_type: grantType };
  const { body, schema, headers } = checkedBody<TokenBody>(
    context,
    { [context.mediaType]: grant },
    request,
    call,
    `the token request with grant_type ${String(grantType)}`,
  );
  checkScopes(body, schema, context.allowedScopes);
  const { core, tokenTypes } = context;
  const exchange = core.exchange("obtainToken", call, { idempotent: schema.idempotent === true });
  const result = await core.direct.POST(operations.obtainToken.path, { ...exchange.init, body, headers });
  // A DPoP-bound token is accepted only from a request that proved the key.
  const allowedTokenTypes = call?.dpop?.tokenTypes(tokenTypes) ?? tokenTypes;
  const process = { allowedTokenTypes, errorReaders: context.errorReaders, schema: schema.answer };
  return settle(context, (answer) => processTokenResponse(answer, process), exchange.answer(result), body);
}

/**
 * Obtains a token for the client itself: `client.clientCredentials()` of a client made with these options,
 * imported alone. Retried after a failure that may have reached the server, as the spec marks it `x-idempotent`.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies. Keep one object for many calls: what
 *   is built from it at the first call is kept with it, until one of its properties is replaced.
 * @param params - the `scope` wanted, and RFC 8707's `resource` or an `audience`.
 * @param call - the call's signal, headers, time limit, retries, extra parameters and DPoP key.
 * @returns the checked token answer; it prints its tokens as `[REDACTED]`.
 * @throws {TypeError} before any request, when an option or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused (`invalid_client`, `invalid_scope`).
 * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function clientCredentialsGrant(
  options: OAuthClientOptions<"form">,
  params?: GrantParams<Schemas["ClientCredentialsGrant"]["grant_type"]>,
  call?: CallOptions,
): Promise<TokenResponse> {
  return grantRequest(options, ClientCredentialsGrantRequest, params, call);
}

/**
 * Refreshes an access token: `client.refreshToken()` of a client made with these options, imported alone. When
 * the answer carries a new `refresh_token`, the old one is spent: store the new one. Sent once: a refresh token
 * may rotate, so only a request that provably never left is sent again.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies. Keep one object for many calls: what
 *   is built from it at the first call is kept with it, until one of its properties is replaced.
 * @param params - the `refresh_token`, and the `scope` wanted, narrowing the one granted.
 * @param call - the call's signal, headers, time limit, retries, extra parameters and DPoP key.
 * @returns the checked token answer; it prints its tokens as `[REDACTED]`.
 * @throws {TypeError} before any request, when an option or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused (`invalid_grant`: the user must authorize again).
 * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshTokenGrant(
  options: OAuthClientOptions<"form">,
  params: GrantParams<Schemas["RefreshTokenGrant"]["grant_type"]>,
  call?: CallOptions,
): Promise<TokenResponse> {
  return grantRequest(options, RefreshTokenGrantRequest, params, call);
}

/**
 * Exchanges an authorization code, with its PKCE `code_verifier`, for tokens:
 * `client.exchangeAuthorizationCode()` of a client made with these options, imported alone. Sent once: a code
 * is single-use.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies. Keep one object for many calls: what
 *   is built from it at the first call is kept with it, until one of its properties is replaced.
 * @param params - the `code`, the `redirect_uri` of the authorization request, and its `code_verifier`.
 * @param call - the call's signal, headers, time limit, retries, extra parameters and DPoP key.
 * @returns the checked token answer; it prints its tokens as `[REDACTED]`.
 * @throws {TypeError} before any request, when an option or a field is not one the spec describes (a verifier
 *   that is not 43 to 128 unreserved characters).
 * @throws {OAuthError} when the server refused (`invalid_grant`: a used, expired or mismatched code).
 * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 */
export async function authorizationCodeGrant(
  options: OAuthClientOptions<"form">,
  params: GrantParams<Schemas["AuthorizationCodeGrant"]["grant_type"]>,
  call?: CallOptions,
): Promise<TokenResponse> {
  return grantRequest(options, AuthorizationCodeGrantRequest, params, call);
}

/**
 * Revokes a token: `client.revokeToken()` of a client made with these options, imported alone. Resolves once
 * the server confirms; on a 503 it rejects and the token must be assumed still valid.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies. Keep one object for many calls: what
 *   is built from it at the first call is kept with it, until one of its properties is replaced.
 * @param params - the `token`, and its `token_type_hint`.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @throws {TypeError} before any request, when an option or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused, or answered 503.
 * @throws {OAuthResponseError} when a failure answer is not an OAuth error, is a redirect or is too large.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function revokeToken(
  options: OAuthClientOptions<"form">,
  params: RevokeTokenParams<"form">,
  call?: CallOptions,
): Promise<void> {
  const context = callContext(options);
  checkCallOptions(call);
  return revocationRequest(context, params, call);
}

/**
 * Asks the server whether a token is active and what it grants: `client.introspectToken()` of a client made
 * with these options, imported alone.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies. Keep one object for many calls: what
 *   is built from it at the first call is kept with it, until one of its properties is replaced.
 * @param params - the `token`, and its `token_type_hint`.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @returns the checked answer: active with details, or exactly `{ active: false }`.
 * @throws {TypeError} before any request, when an option or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} when the answer breaks the contract, is a redirect or is too large.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export async function introspectToken(
  options: OAuthClientOptions<"form">,
  params: IntrospectTokenParams,
  call?: CallOptions,
): Promise<IntrospectionResponse> {
  const context = callContext(options);
  checkCallOptions(call);
  return introspectionRequest(context, params, call);
}
