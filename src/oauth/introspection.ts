import { introspectTokenAnswer, introspectTokenRequest, operations } from "../../generated/spec";
import { jsonAnswer, type ProcessOptions } from "../core/answers";
import { hideSecrets } from "../core/redact";
import type { CallOptions } from "../core/request";
import type { RawAnswer } from "../core/answers";
import {
  checkedBody,
  settle,
  type ClientContext,
  type ClientFields,
  type JsonAnswer,
  type MediaType,
  type RequestBody,
  type DistributiveOmit,
} from "./context";

type IntrospectBody = RequestBody<"introspectToken", MediaType>;

/**
 * Parameters of `introspectToken`: the spec's form body (RFC 7662's `token` and `token_type_hint`, or `access_token`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
 */
export type IntrospectTokenParams = DistributiveOmit<
  RequestBody<"introspectToken", "application/x-www-form-urlencoded">,
  ClientFields
>;

/**
 * An introspection answer (RFC 7662 §2.2): active with details, or exactly `{ active: false }`; `active` tells
 * which.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export type IntrospectionResponse = ActiveTokenIntrospection | InactiveTokenIntrospection;
/**
 * The answer for an active token (RFC 7662 §2.2), as the spec declares it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export interface ActiveTokenIntrospection extends Extract<JsonAnswer<"introspectToken">, { active: true }> {}
/**
 * The answer for a token that is expired, revoked, unknown or not the caller's to see: exactly
 * `{ active: false }`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export interface InactiveTokenIntrospection extends Extract<JsonAnswer<"introspectToken">, { active: false }> {}

/**
 * Sends an introspection request (RFC 7662) checked against the spec, with the client's authentication.
 *
 * @param context - the client's request core and settings.
 * @param params - the token to ask about.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @returns the validated answer.
 * @throws {TypeError} before any request, when a field is not one the spec describes.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export async function introspectionRequest(
  context: ClientContext,
  params: unknown,
  call?: CallOptions,
): Promise<IntrospectionResponse> {
  const { body, headers } = checkedBody<IntrospectBody>(
    context,
    introspectTokenRequest,
    params,
    call,
    "the introspect request",
  );
  const { core } = context;
  const exchange = core.exchange("introspectToken", call);
  const result = await core.direct.POST(operations.introspectToken.path, { ...exchange.init, body, headers });
  return settle(
    context,
    (answer) => processIntrospectionResponse(answer, { errorReaders: context.errorReaders }),
    exchange.answer(result),
    body,
  );
}

/**
 * Validates an introspection answer against the spec. An inactive token is returned as exactly
 * `{ active: false }`, whatever else the server sent (the spec closes that shape).
 *
 * @param answer - the response and its body.
 * @param options - the error shapes to read.
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function processIntrospectionResponse(answer: RawAnswer, options?: ProcessOptions): IntrospectionResponse {
  return hideSecrets(jsonAnswer(answer, introspectTokenAnswer, options) as IntrospectionResponse);
}
