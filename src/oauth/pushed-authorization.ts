import type { components } from "../../generated/schema";
import { operations, pushAuthorizationRequestAnswer, pushAuthorizationRequestRequest } from "../../generated/spec";
import { jsonAnswer, type ProcessOptions, type RawAnswer } from "../core/answers";
import type { CallOptions } from "../core/request";
import { argumentError } from "../core/validate";
import { authorizationEndpointUrl } from "./authorization-url";
import {
  checkedBody,
  contextOf,
  paramsObject,
  settle,
  type ClientFields,
  type MediaType,
  type RequestBody,
} from "./context";
import { checkCallOptions } from "./options";
import { checkScopes } from "./token";

/**
 * Pushed authorization requests (RFC 9126), imported apart from the client: an app that does not use them
 * bundles none of it.
 */

type Body = RequestBody<"pushAuthorizationRequest", MediaType>;

/**
 * Parameters of {@link pushAuthorizationRequest}: the spec's authorization request, without `response_type`
 * (always `code`) and the client's credentials, which come from the client.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-2.1
 */
export type PushedAuthorizationParams = Omit<
  RequestBody<"pushAuthorizationRequest", "application/x-www-form-urlencoded">,
  ClientFields | "response_type"
>;

/**
 * A pushed authorization answer (RFC 9126 §2.2), as the spec declares it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-2.2
 */
export interface PushedAuthorizationResponse extends Readonly<components["schemas"]["PushedAuthorizationResponse"]> {}

/**
 * What {@link pushAuthorizationRequest} gives back: the server's answer, and the URL to send the user to.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-4
 */
export interface PushedAuthorization extends PushedAuthorizationResponse {
  /** The authorization endpoint with `client_id` and `request_uri` alone: send the user there before `expires_in` ends. */
  readonly url: string;
}

const REQUEST = pushAuthorizationRequestRequest["application/x-www-form-urlencoded"];
/**
 * The parameter a pushed request never carries (RFC 9126 §2.1): it is what the answer gives back. The spec's
 * request leaves it out, so the request's check refuses it; {@link refuseRequestUri} refuses it in `extraParams`.
 */
const REQUEST_URI = "request_uri" satisfies keyof PushedAuthorizationResponse;

/**
 * `request_uri` given as an extension parameter: refused before anything is sent, as it is among the request's
 * own fields.
 *
 * @throws {TypeError} when `extraParams` holds `request_uri`.
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-2.1
 */
function refuseRequestUri(call: CallOptions | undefined): void {
  const extra: unknown = call?.extraParams;
  if (typeof extra === "object" && extra !== null && Object.hasOwn(extra, REQUEST_URI))
    throw argumentError(
      `options.extraParams.${REQUEST_URI} must not be sent: a pushed authorization request never carries it (RFC 9126 §2.1)`,
    );
}

/**
 * Pushes an authorization request (RFC 9126 §2): checks its parameters against the spec, sends them with the
 * client's authentication and `client_id` to the client's `pushedAuthorizationRequest` endpoint (which
 * `metadataPreset` takes from `pushed_authorization_request_endpoint`), validates the answer, and returns the
 * authorization URL that carries `client_id` and the answer's `request_uri`. Extension parameters (`prompt`,
 * `login_hint`…) go in the call's `extraParams`; `request_uri` is refused there as in `params` (RFC 9126 §2.1).
 * Check the user's return with `validateAuthorizationResponse`.
 *
 * @param client - a client made by `createOAuthClient`, with a `clientId`.
 * @param authorizationEndpoint - the server's authorization endpoint, such as the metadata's
 *   `authorization_endpoint`.
 * @param params - the authorization request: `redirect_uri`, `scope`, `state`, `code_challenge` with
 *   `code_challenge_method`, `nonce`, `resource`.
 * @param call - the call's signal, headers, time limit, retries and extension parameters.
 * @returns the answer, and `url`.
 * @throws {TypeError} before any request, when an argument or a field is not one the spec describes, or
 *   `request_uri` is given, in `params` or in `extraParams`.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-4
 */
export async function pushAuthorizationRequest(
  client: object,
  authorizationEndpoint: string,
  params: PushedAuthorizationParams,
  call?: CallOptions,
): Promise<PushedAuthorization> {
  const context = contextOf(client);
  const url = authorizationEndpointUrl(authorizationEndpoint);
  const clientId = context.clientId;
  if (clientId === undefined) throw argumentError("pushAuthorizationRequest needs a client with options.clientId");
  checkCallOptions(call);
  refuseRequestUri(call);
  const { body, schema, headers } = checkedBody<Body>(
    context,
    pushAuthorizationRequestRequest,
    { ...paramsObject(params), response_type: REQUEST.properties!.response_type!.const },
    call,
    "the pushed authorization request",
  );
  checkScopes(body, schema, context.allowedScopes);
  // client_id is a parameter of every authorization request (RFC 9126 §2.1), whatever the authentication.
  const sent: Body = { ...body, client_id: clientId };
  const exchange = context.core.exchange("pushAuthorizationRequest", call);
  const result = await context.core.direct.POST(operations.pushAuthorizationRequest.path, {
    ...exchange.init,
    body: sent,
    headers,
  });
  const process = (answer: RawAnswer) =>
    processPushedAuthorizationResponse(answer, { errorReaders: context.errorReaders });
  const pushed = settle(context, process, exchange.answer(result), sent);
  url.searchParams.set("client_id", clientId);
  url.searchParams.set("request_uri", pushed.request_uri);
  return { ...pushed, url: url.toString() };
}

/**
 * Validates a pushed authorization answer against the spec and returns it typed.
 *
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-2.2
 */
export function processPushedAuthorizationResponse(
  answer: RawAnswer,
  options?: ProcessOptions,
): PushedAuthorizationResponse {
  return jsonAnswer(answer, pushAuthorizationRequestAnswer, options) as unknown as PushedAuthorizationResponse;
}
