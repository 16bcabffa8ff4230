import type { components } from "../../generated/schema";
import { JwtBearerGrantRequest } from "../../generated/spec";
import type { CallOptions } from "../core/request";
import type { OAuthClient } from "./client";
import { separateGrantRequest, type GrantParams, type RequestFormat, type TokenResponse } from "./token";

/**
 * Parameters of {@link jwtBearerGrant}: the spec's JWT bearer grant, without `grant_type` and the client's
 * credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 */
export type JwtBearerParams<F extends RequestFormat = "form"> = GrantParams<
  components["schemas"]["JwtBearerGrant"]["grant_type"],
  F
>;

/**
 * Obtains a token with a JWT as the authorization grant (RFC 7523 §2.1). The assertion must be one JWT in
 * compact serialization, as the spec's pattern says; it never appears in an error or a printed result. A
 * separate import: an app that does not use it does not bundle the grant.
 *
 * @param client - a client made by `createOAuthClient`.
 * @param params - the `assertion`, and the `scope` wanted.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @returns the checked token answer.
 * @throws {TypeError} before any request, when the assertion is not a JWT or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused (`invalid_grant`: a bad signature, issuer, audience or time).
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 */
export async function jwtBearerGrant<F extends RequestFormat = "form">(
  client: OAuthClient<F>,
  params: JwtBearerParams<F>,
  call?: CallOptions,
): Promise<TokenResponse> {
  return separateGrantRequest(client, JwtBearerGrantRequest, params, call);
}
