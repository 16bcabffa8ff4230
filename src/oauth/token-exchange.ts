import type { components } from "../../generated/schema";
import { TokenExchangeGrantRequest } from "../../generated/spec";
import type { CallOptions } from "../core/request";
import type { OAuthClient } from "./client";
import { separateGrantRequest, type GrantParams, type RequestFormat } from "./token";

type Schemas = components["schemas"];
type TokenExchangeAnswer = Schemas["TokenExchangeResponse"];

/**
 * A token exchange answer (RFC 8693 §2.2.1), as the spec declares it: `issued_token_type` is always there, and
 * `token_type` is `N_A` when the issued token is not an access token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.2.1
 */
export interface TokenExchangeResponse extends TokenExchangeAnswer {}

/**
 * Parameters of {@link exchangeToken}: the spec's token exchange grant, without `grant_type` and the client's
 * credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1
 */
export type TokenExchangeParams<F extends RequestFormat = "form"> = GrantParams<
  Schemas["TokenExchangeGrant"]["grant_type"],
  F
>;

/**
 * Exchanges a token for another one (RFC 8693): impersonation with `subject_token`, delegation with an
 * `actor_token` too. The grant is the spec's: its fields, its token type URIs and the answer's required
 * `issued_token_type` are checked as the spec states them, and `token_type` `N_A` is accepted. The subject and
 * actor tokens never appear in an error or a printed result. A separate import: an app that does not use it
 * does not bundle the grant.
 *
 * @param client - a client made by `createOAuthClient`.
 * @param params - the subject (and actor) token and their types, and the `audience`, `resource`,
 *   `requested_token_type` and `scope` wanted.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @returns the checked answer.
 * @throws {TypeError} before any request, when a field is missing or not one the spec describes.
 * @throws {OAuthError} when the server refused (`invalid_request`, `invalid_target`).
 * @throws {OAuthResponseError} when the answer breaks the contract (no `issued_token_type`).
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2
 */
export async function exchangeToken<F extends RequestFormat = "form">(
  client: OAuthClient<F>,
  params: TokenExchangeParams<F>,
  call?: CallOptions,
): Promise<TokenExchangeResponse> {
  return (await separateGrantRequest(client, TokenExchangeGrantRequest, params, call)) as TokenExchangeResponse;
}
