import type { components } from "../../generated/schema";
import { operations, revokeTokenRequest } from "../../generated/spec";
import { checkStatus, errorInSuccess, type ProcessOptions } from "../core/answers";
import type { CallOptions } from "../core/request";
import type { RawAnswer } from "../core/answers";
import {
  checkedBody,
  settle,
  type ClientContext,
  type ClientFields,
  type MediaType,
  type RequestBody,
  type DistributiveOmit,
} from "./context";
import type { RequestFormat } from "./token";

type Schemas = components["schemas"];
type RevokeBody = RequestBody<"revokeToken", MediaType>;

/**
 * Parameters of `revokeToken`: the spec's form body (RFC 7009's `token` and `token_type_hint`, or
 * `access_token`), or its JSON body, without the client's credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export type RevokeTokenParams<F extends RequestFormat = "form"> = DistributiveOmit<
  F extends "json" ? Schemas["RevokeTokenJson"] : Schemas["RevokeTokenForm"],
  ClientFields
>;

/**
 * Sends a revocation request (RFC 7009) checked against the spec, with the client's authentication.
 *
 * @param context - the client's request core and settings.
 * @param params - the token to revoke, as the spec's body for the client's content type declares it.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @throws {TypeError} before any request, when a field is not one the spec describes.
 * @throws {OAuthError} when the server refused, or answered 503: the token must then be assumed still valid.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function revocationRequest(context: ClientContext, params: unknown, call?: CallOptions): Promise<void> {
  const { body, headers } = checkedBody<RevokeBody>(context, revokeTokenRequest, params, call, "the revoke request");
  const { core } = context;
  const exchange = core.exchange("revokeToken", call);
  const result = await core.direct.POST(operations.revokeToken.path, { ...exchange.init, body, headers });
  settle(
    context,
    (answer) => processRevocationResponse(answer, { errorReaders: context.errorReaders }),
    exchange.answer(result),
    body,
  );
}

/**
 * Validates a revocation answer. Any 2xx is success whatever its body (RFC 7009 §2.2: the client ignores
 * it), except an error body sent with status 200, in any shape the options read.
 *
 * @param answer - the response and its body.
 * @param options - the error shapes to read.
 * @throws {OAuthError} when the server refused, or answered 503: the token must then be assumed still valid.
 * @throws {OAuthResponseError} when a failure answer is not an OAuth error (an HTML page).
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 */
export function processRevocationResponse(answer: RawAnswer, options?: ProcessOptions): void {
  checkStatus(answer, options);
  const { body } = answer;
  if (typeof body !== "string" || body === "") return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return; // RFC 7009: the body of a successful revocation carries nothing the client needs.
  }
  const error = errorInSuccess(answer, parsed, options);
  if (error) throw error;
}
