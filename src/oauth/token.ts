import type { components } from "../../generated/schema";
import {
  obtainTokenAnswer,
  obtainTokenRequest,
  operations,
  type AnswerCheck,
  type RequestCheck,
  type SeparateGrantType,
} from "../../generated/spec";
import { fail, jsonAnswer, type ProcessOptions, quote } from "../core/answers";
import { hideSecrets, redactError } from "../core/redact";
import type { CallOptions } from "../core/request";
import type { RawAnswer } from "../core/answers";
import { OAuthResponseError } from "../core/errors";
import { argumentError } from "../core/validate";
import {
  checkedBody,
  contextOf,
  paramsObject,
  settle,
  type ClientContext,
  type JsonAnswer,
  type MediaType,
  type RequestBody,
  type ClientFields,
  type DistributiveOmit,
} from "./context";
import { checkCallOptions, type RequestFormat } from "./options";

type Schemas = components["schemas"];
type TokenBody = RequestBody<"obtainToken", MediaType>;
export type { RequestFormat } from "./options";

/**
 * A token request as `obtainToken` takes it: a grant of the spec, without the client's credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export type TokenRequest<F extends RequestFormat = "form"> = Exclude<Grant<F>, { grant_type: SeparateGrantType }>;
/** Every grant of the spec, those with helpers of their own (`x-separate-import`) too. */
type Grant<F extends RequestFormat> = DistributiveOmit<
  F extends "json" ? Schemas["TokenRequestJson"] : Schemas["TokenRequest"],
  ClientFields
>;
/**
 * The fields of one grant, without `grant_type`, as its helper method takes them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4
 */
export type GrantParams<G extends string, F extends RequestFormat = "form"> = DistributiveOmit<
  Extract<Grant<F>, { grant_type: G }>,
  "grant_type"
>;

/**
 * A token answer (RFC 6749 §5.1), as the spec declares it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
// An interface, not an alias, so the API reference lists the fields with the spec's descriptions.
export interface TokenResponse extends JsonAnswer<"obtainToken"> {}

/**
 * Options of {@link processTokenResponse}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-7.1
 */
export interface ProcessTokenOptions extends ProcessOptions {
  /**
   * The token types accepted, compared case-insensitively. Default `["bearer"]`: a token of another type
   * (`mac`, `DPoP`) cannot be sent the way a bearer token is, so it is refused rather than misused. A token
   * request made with a DPoP key (`{ dpop }`) accepts `DPoP` too.
   */
  allowedTokenTypes?: readonly string[];
  /**
   * The answer's schema: the grant's own (the spec's `x-answer`, such as a token exchange's) instead of the
   * token operation's. A `token_type` it fixes with `const` (RFC 8693's `N_A`) is accepted too.
   */
  schema?: AnswerCheck;
}

/** The token types a token answer may have when the caller allowed none: bearer (RFC 6750). */
export const DEFAULT_TOKEN_TYPES: readonly string[] = ["bearer"];

/** Checks requested scopes against the server's list; commas get their own message, as some servers refuse them. */
export function checkScopes(
  body: Record<string, unknown>,
  schema: RequestCheck,
  allowed: ReadonlySet<string> | undefined,
): void {
  if (allowed === undefined) return;
  const requested: string[] = [];
  // The fields the spec marks x-scopes: a space-delimited string, or a list.
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const value = body[name];
    if (!field.scopes) continue;
    if (typeof value === "string") requested.push(...value.split(" ").filter(Boolean));
    else if (Array.isArray(value)) requested.push(...(value as string[]));
  }
  for (const scope of requested) {
    if (allowed.has(scope)) continue;
    if (scope.includes(",")) throw argumentError(`scope "${scope}" is comma-separated: separate scopes with spaces`);
    throw argumentError(`scope "${scope}" is not one of the server's scopes (${[...allowed].join(", ")})`);
  }
}

/**
 * Sends a token request: checks the grant against the spec, adds the client's authentication (and a DPoP
 * proof with `call.dpop`), and validates the answer. Only a grant the spec marks `x-idempotent`
 * (client_credentials) is retried after a failure that may have reached the server: a code is single-use, a
 * refresh token may rotate.
 *
 * @param context - the client's request core and settings.
 * @param request - a grant of the spec, with `grant_type`.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @param grant - the schema of a grant the spec marks `x-separate-import`, which its helper brings; without it,
 *   the request is one of the grants of the client's description.
 * @returns the validated token answer.
 * @throws {TypeError} before any request, when the grant or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function tokenRequest(
  context: ClientContext,
  request: unknown,
  call?: CallOptions,
  grant?: RequestCheck,
): Promise<TokenResponse> {
  const { body, schema, headers } = checkedBody<TokenBody>(
    context,
    grant ? { [context.mediaType]: grant } : obtainTokenRequest,
    request,
    call,
    "the token request",
  );
  checkScopes(body, schema, context.allowedScopes);
  const { core, tokenTypes } = context;
  const exchange = core.exchange("obtainToken", call, { idempotent: schema.idempotent === true });
  const result = await core.direct.POST(operations.obtainToken.path, { ...exchange.init, body, headers });
  // A DPoP-bound token is accepted only from a request that proved the key.
  const allowedTokenTypes = call?.dpop?.tokenTypes(tokenTypes) ?? tokenTypes;
  const options = { allowedTokenTypes, errorReaders: context.errorReaders, schema: schema.answer };
  return settle(context, (answer) => processTokenResponse(answer, options), exchange.answer(result), body);
}

/**
 * Sends a grant the spec marks `x-separate-import` with the schema its helper brings (`exchangeToken`,
 * `jwtBearerGrant`, the device flow's polls): `grant_type` is the schema's own.
 *
 * @param client - a client made by `createOAuthClient`.
 * @param grant - the grant's compiled request check, from the generated code.
 * @param params - the grant's fields, without `grant_type`.
 * @param call - the call's options.
 * @throws {TypeError} before any request, when `client`, the call options or a field is wrong.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.5
 */
export async function separateGrantRequest(
  client: object,
  grant: RequestCheck,
  params: unknown,
  call: CallOptions | undefined,
): Promise<TokenResponse> {
  const context = contextOf(client);
  checkCallOptions(call);
  const request = { ...paramsObject(params), grant_type: grant.properties?.grant_type?.const };
  return tokenRequest(context, request, call, grant);
}

/**
 * Validates a token answer and returns it typed.
 *
 * Order: status (a redirect is refused), `WWW-Authenticate` challenge and error body, content type, JSON
 * parse, top-level object, an error body sent with status 200, then each field the spec declares, and the
 * token type. `expires_in` sent as a numeric string is returned as a number. The result prints its tokens as
 * `[REDACTED]` (`JSON.stringify`, `util.inspect`); read them as properties, or spread the result into a plain
 * object to store it whole.
 *
 * @param answer - the response and its body.
 * @param options - the token types to accept (default bearer only) and the error shapes to read.
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function processTokenResponse(answer: RawAnswer, options?: ProcessTokenOptions): TokenResponse {
  const schema: AnswerCheck = options?.schema ?? obtainTokenAnswer;
  const body = jsonAnswer(answer, schema, options);
  const fixed = schema.properties?.token_type?.anyOf?.flatMap((type) => (type.const === undefined ? [] : [type.const]));
  checkTokenType(answer, body, [
    ...(options?.allowedTokenTypes ?? DEFAULT_TOKEN_TYPES),
    ...((fixed as string[]) ?? []),
  ]);
  return hideSecrets(body as TokenResponse);
}

/**
 * Refuses a token type the caller did not allow; the message quotes the type, never the tokens.
 *
 * @throws {OAuthResponseError} naming the allowed types.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-7.1
 */
export function checkTokenType(
  answer: RawAnswer,
  body: Record<string, unknown>,
  allowedTokenTypes: readonly string[] | undefined,
): void {
  const allowed = allowedTokenTypes ?? DEFAULT_TOKEN_TYPES;
  if (typeof body.token_type !== "string") return fail(answer, `response body "token_type" must be a non-empty string`);
  const type = body.token_type.toLowerCase();
  if (allowed.some((t) => t.toLowerCase() === type)) return;
  const message = `response body "token_type" must be ${allowed.join(" or ")} (compared case-insensitively), got ${quote(body.token_type)}`;
  throw redactError(new OAuthResponseError(message, answer.response.status, { response: answer.response }), [
    body.access_token as string | undefined,
    body.refresh_token as string | undefined,
  ]);
}
