import type { components } from "../generated/schema";
import { OAuthError, OAuthResponseError, REDACTED, redactDeep, redactError, type ErrorResponseBody } from "./errors";

/**
 * A token answer (RFC 6749 §5.1), as the spec declares it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @see https://developer.squareup.com/reference/square/o-auth-api/obtain-token
 */
export type TokenResponse = components["schemas"]["TokenResponse"];
/**
 * Square's renew answer.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 */
export type RenewTokenResponse = components["schemas"]["RenewTokenResponse"];
/**
 * An introspection answer (RFC 7662 §2.2): active with details, or exactly `{ active: false }`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export type IntrospectionResponse = components["schemas"]["IntrospectionResponse"];
/**
 * Square's token status (RetrieveTokenStatus).
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export type SquareTokenStatus = components["schemas"]["SquareTokenStatus"];

/**
 * An answer as the client read it: the `Response`, and its body (text on success, parsed JSON or text on
 * failure, `undefined` when there was none).
 *
 * @see {@link processTokenResponse}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5
 */
export interface RawAnswer {
  response: Response;
  body: unknown;
}

/**
 * Options of {@link processTokenResponse} and {@link processRenewResponse}.
 *
 * @see {@link processTokenResponse}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-7.1
 */
export interface ProcessTokenOptions {
  /**
   * The token types accepted, compared case-insensitively. Default `["bearer"]`: a token of another type
   * (`mac`, `DPoP`) cannot be sent the way a bearer token is, so it is refused rather than misused.
   */
  allowedTokenTypes?: readonly string[];
}

type JsonObject = Record<string, unknown>;

const DEFAULT_TOKEN_TYPES: readonly string[] = ["bearer"];
const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const HTML_CONTENT_TYPE = /^\s*text\/html\b/i;
/** Unix seconds written as a string, as expiry.ts reads them: digits, not a year for `Date.parse`. */
const UNIX_SECONDS = /^\d+(\.\d+)?$/;
const INTEGER_STRING = /^\d+$/;
/** Fields of an answer that hold a secret: masked when a result is printed, dropped from error bodies. */
const SECRET_FIELDS = ["access_token", "refresh_token", "id_token", "client_secret"] as const;
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short, quoted excerpt of server text for a message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

function fail(answer: RawAnswer, message: string): never {
  throw new OAuthResponseError(message, answer.response.status, { response: answer.response });
}

/** Secrets of a request that the server quoted back in its result, kept off the result itself. */
const quotedSecrets = new WeakMap<object, readonly string[]>();

/**
 * A copy of a result with its secret fields replaced by {@link REDACTED}, and their values, and any secret of
 * the request quoted in it, wherever else they appear.
 */
function masked(this: JsonObject): JsonObject {
  const copy: JsonObject = { ...this };
  const secrets: string[] = [...(quotedSecrets.get(this) ?? [])];
  for (const field of SECRET_FIELDS) {
    const value = copy[field];
    if (typeof value !== "string") continue;
    secrets.push(value);
    copy[field] = REDACTED;
  }
  return redactDeep(copy, secrets) as JsonObject;
}

// One shared set of descriptors: hiding a result's secrets costs one defineProperties call. They are own
// properties, not a prototype's, so a result stays a plain object for the libraries that check (isPlainObject).
const MASK: PropertyDescriptorMap = {
  toJSON: { value: masked, enumerable: false, writable: true, configurable: true },
  [INSPECT]: { value: masked, enumerable: false, writable: true, configurable: true },
};

/**
 * Makes a result safe to print: `JSON.stringify` and `util.inspect` (so `console.log` and loggers) show
 * its secret fields as `[REDACTED]`, while the fields stay readable as properties and a spread copy
 * (`{ ...result }`) is a plain object with every value, for storing.
 */
function hideSecrets<T extends JsonObject>(result: T): T {
  return Object.defineProperties(result, MASK);
}

/**
 * Makes a result print `quoted`, secrets of the request that the server quoted back in it, as `[REDACTED]`
 * too, whatever field holds them.
 *
 * @internal
 */
export function hideQuoted<T>(result: T, quoted: readonly string[]): T {
  if (typeof result !== "object" || result === null || quoted.length === 0) return result;
  quotedSecrets.set(result, quoted);
  return hideSecrets(result as JsonObject) as T;
}

/** {@link hideSecrets} for results that only sometimes carry a token (Voucherify repeats it in introspection). */
function hideSecretsIfAny<T extends JsonObject>(result: T): T {
  for (const field of SECRET_FIELDS) if (result[field] !== undefined) return hideSecrets(result);
  return result;
}

/** The answer was a redirect, which the client does not follow: token requests carry credentials. */
function isRedirect(response: Response): boolean {
  return response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400);
}

/**
 * The error for a redirect answer. `detail` is the status and target when the fetch handed the 3xx back; Node's
 * own fetch refuses the redirect itself and reports neither (status 0).
 */
export function redirectError(detail: string, status: number, response?: Response, where = ""): OAuthResponseError {
  return new OAuthResponseError(
    `${where}the server answered with a redirect${detail}; token requests do not follow redirects: configure the endpoint's final URL`,
    status,
    { response },
  );
}

function failOnRedirect(answer: RawAnswer): void {
  const { response } = answer;
  if (!isRedirect(response)) return;
  const location = response.headers.get("location");
  const target = location !== null && URL.canParse(location, response.url || undefined) ? ` to ${new URL(location, response.url || undefined).origin}` : "";
  throw redirectError(` (HTTP ${response.status}${target})`, response.status, response);
}

/**
 * An error body without the secret fields a misbehaving server may have put in it, and the values removed,
 * to be redacted from the rest of the error's text too.
 */
function withoutSecrets(body: JsonObject): { body: JsonObject; removed: string[] } {
  let copy: JsonObject | undefined;
  const removed: string[] = [];
  for (const field of SECRET_FIELDS) {
    if (body[field] === undefined) continue;
    copy ??= { ...body };
    if (typeof body[field] === "string") removed.push(body[field]);
    delete copy[field];
  }
  return { body: copy ?? body, removed };
}

/** Reads an error body in any declared shape; `undefined` when it is none of them. */
function oauthErrorFrom(answer: RawAnswer, raw: unknown): OAuthError | undefined {
  if (!isObject(raw)) return undefined;
  const error = oauthErrorOf(answer, raw);
  if (error === undefined) return undefined;
  // Most error bodies carry no secret field. One that does is copied without them and its error made again
  // from the copy; removing secret fields leaves the error's own fields as they were.
  const { body, removed } = withoutSecrets(raw);
  return removed.length === 0 ? error : redactError(oauthErrorOf(answer, body)!, removed);
}

function oauthErrorOf(answer: RawAnswer, body: JsonObject): OAuthError | undefined {
  const { response } = answer;
  if (body.error === undefined && body.errors === undefined && body.message === undefined) return undefined;
  const challenge = response.headers.get("www-authenticate") ?? undefined;
  const base = { status: response.status, www_authenticate: challenge };
  if (typeof body.error === "string" && body.error !== "") {
    return new OAuthError(
      {
        ...base,
        error: body.error,
        error_description: typeof body.error_description === "string" ? body.error_description : undefined,
        error_uri: typeof body.error_uri === "string" ? body.error_uri : undefined,
        body: body as ErrorResponseBody,
      },
      { response },
    );
  }
  if (Array.isArray(body.errors) && body.errors.length > 0 && isObject(body.errors[0])) {
    const first = body.errors[0];
    return new OAuthError(
      {
        ...base,
        error: typeof first.code === "string" ? first.code : `http_${response.status}`,
        error_description: typeof first.detail === "string" ? first.detail : undefined,
        body: body as ErrorResponseBody,
      },
      { response },
    );
  }
  if (typeof body.message === "string" && typeof body.code === "number") {
    return new OAuthError(
      {
        ...base,
        error: typeof body.key === "string" && body.key !== "" ? body.key : `http_${response.status}`,
        error_description: body.message,
        body: body as ErrorResponseBody,
      },
      { response },
    );
  }
  return undefined;
}

function parseJsonBody(answer: RawAnswer): unknown {
  const { response, body } = answer;
  const contentType = response.headers.get("content-type") ?? "";
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    const what = HTML_CONTENT_TYPE.test(contentType) ? " (an HTML page, perhaps from a proxy or a login form)" : "";
    fail(answer, `response content-type must be application/json, got ${contentType ? quote(contentType) : "none"}${what}`);
  }
  if (typeof body !== "string" || body === "") fail(answer, "response body must be a JSON object, got an empty body");
  try {
    return JSON.parse(body);
  } catch {
    // No cause: V8's SyntaxError quotes the start of the body, which may be a token.
    return fail(answer, "response body is not valid JSON");
  }
}

/**
 * Turns a non-2xx answer into the right error: an {@link OAuthError} when the body is an error in a declared
 * shape or empty, an {@link OAuthResponseError} when it is something else (an HTML page from a proxy).
 */
function errorFromFailure(answer: RawAnswer): Error {
  const { response, body } = answer;
  const oauth = oauthErrorFrom(answer, body);
  if (oauth) return oauth;
  const challenge = response.headers.get("www-authenticate") ?? undefined;
  // A 401 with a challenge is an authentication failure whatever page came with it.
  if (body === undefined || body === "" || (response.status === 401 && challenge !== undefined)) {
    return new OAuthError({ error: `http_${response.status}`, status: response.status, www_authenticate: challenge }, { response });
  }
  const contentType = response.headers.get("content-type");
  return new OAuthResponseError(
    `HTTP ${response.status} answer is not an OAuth error (content-type ${contentType ? quote(contentType) : "none"})`,
    response.status,
    { response },
  );
}

/** Status, redirect, challenge and error body, content type, JSON, top-level object: what every JSON answer shares. */
function jsonObjectFrom(answer: RawAnswer): JsonObject {
  failOnRedirect(answer);
  if (!answer.response.ok) throw errorFromFailure(answer);
  const parsed = parseJsonBody(answer);
  if (!isObject(parsed)) fail(answer, "response body must be a JSON object");
  const oauth = oauthErrorFrom(answer, parsed);
  if (oauth) throw oauth;
  return parsed;
}

function requireString(answer: RawAnswer, body: JsonObject, field: string): void {
  if (typeof body[field] !== "string" || body[field] === "") {
    fail(answer, `response body "${field}" must be a non-empty string`);
  }
}

function optionalString(answer: RawAnswer, body: JsonObject, field: string): void {
  if (body[field] !== undefined && typeof body[field] !== "string") {
    fail(answer, `response body "${field}" must be a string when present`);
  }
}

/**
 * A timestamp of an answer in epoch milliseconds: Unix seconds (a number, or a string of digits, which is not
 * a year for `Date.parse`) or an ISO 8601 string; `NaN` for anything else. The one reading of `expires_at`
 * shared by answer validation, the token status mapping and the token manager.
 *
 * @param value - the field's value as it arrived.
 * @returns epoch milliseconds, or `NaN`.
 * @see https://www.rfc-editor.org/rfc/rfc3339#section-5.6
 */
export function timestampMs(value: unknown): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value !== "string") return NaN;
  return UNIX_SECONDS.test(value) ? Number(value) * 1000 : Date.parse(value);
}

function optionalTimestamp(answer: RawAnswer, body: JsonObject, field: string): void {
  const value = body[field];
  if (value === undefined) return;
  const ms = timestampMs(value);
  if (!Number.isFinite(ms) || ms < 0) fail(answer, `response body "${field}" must be an ISO 8601 string or Unix seconds, not before 1970`);
}

function checkTokenType(answer: RawAnswer, body: JsonObject, options: ProcessTokenOptions | undefined): void {
  requireString(answer, body, "token_type");
  const allowed = options?.allowedTokenTypes ?? DEFAULT_TOKEN_TYPES;
  const type = (body.token_type as string).toLowerCase();
  if (allowed.some((t) => t.toLowerCase() === type)) return;
  const message = `response body "token_type" must be ${allowed.join(" or ")} (compared case-insensitively), got ${quote(body.token_type as string)}`;
  throw redactError(new OAuthResponseError(message, answer.response.status, { response: answer.response }), [
    body.access_token as string | undefined,
    body.refresh_token as string | undefined,
  ]);
}

/**
 * Validates a token answer and returns it typed.
 *
 * Order: status (a redirect is refused), `WWW-Authenticate` challenge and error body, content type, JSON
 * parse, top-level object, an error body sent with status 200, then each field. `expires_in` sent as a
 * numeric string is returned as a number. The result prints its tokens as `[REDACTED]` (`JSON.stringify`,
 * `util.inspect`); read them as properties, or spread the result into a plain object to store it whole.
 *
 * @param answer - the response and its body.
 * @param options - the token types to accept; default bearer only.
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function processTokenResponse(answer: RawAnswer, options?: ProcessTokenOptions): TokenResponse {
  const body = jsonObjectFrom(answer);
  requireString(answer, body, "access_token");
  checkTokenType(answer, body, options);
  if (body.expires_in !== undefined) {
    const seconds = typeof body.expires_in === "string" && INTEGER_STRING.test(body.expires_in) ? Number(body.expires_in) : body.expires_in;
    if (typeof seconds !== "number" || !Number.isSafeInteger(seconds) || seconds < 0) {
      fail(answer, `response body "expires_in" must be a non-negative integer number of seconds`);
    }
    body.expires_in = seconds;
  }
  optionalTimestamp(answer, body, "expires_at");
  optionalTimestamp(answer, body, "refresh_token_expires_at");
  if (body.refresh_token !== undefined) requireString(answer, body, "refresh_token");
  optionalString(answer, body, "scope");
  return hideSecrets(body) as TokenResponse;
}

/**
 * Validates Square's renew answer. Like {@link processTokenResponse}, the result prints its token as
 * `[REDACTED]`.
 *
 * @throws {OAuthError} when Square refused the renewal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 * @see https://developer.squareup.com/docs/oauth-api/migrate-to-refresh-tokens
 */
export function processRenewResponse(answer: RawAnswer, options?: ProcessTokenOptions): RenewTokenResponse {
  const body = jsonObjectFrom(answer);
  requireString(answer, body, "access_token");
  checkTokenType(answer, body, options);
  optionalTimestamp(answer, body, "expires_at");
  return hideSecrets(body) as RenewTokenResponse;
}

/**
 * Validates a revocation answer. Any 2xx is success whatever its body (RFC 7009 §2.2: the client ignores
 * it), except an error body sent with status 200 and Square's `{"success": false}`.
 *
 * @throws {OAuthError} when the server refused, or answered 503: the token must then be assumed still valid.
 * @throws {OAuthResponseError} when a failure answer is not an OAuth error (an HTML page).
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 */
export function processRevocationResponse(answer: RawAnswer): void {
  const { response, body } = answer;
  failOnRedirect(answer);
  if (!response.ok) throw errorFromFailure(answer);
  if (typeof body !== "string" || body === "") return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return; // RFC 7009: the body of a successful revocation carries nothing the client needs.
  }
  const oauth = oauthErrorFrom(answer, parsed);
  if (oauth) throw oauth;
  if (isObject(parsed) && parsed.success === false) {
    throw new OAuthError({ error: "revocation_failed", status: response.status }, { response });
  }
}

/**
 * Validates an introspection answer. An inactive token is returned as exactly `{ active: false }`, whatever
 * else the server sent.
 *
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function processIntrospectionResponse(answer: RawAnswer): IntrospectionResponse {
  const body = jsonObjectFrom(answer);
  if (typeof body.active !== "boolean") fail(answer, `response body "active" must be a boolean`);
  if (!body.active) return { active: false };
  for (const field of ["scope", "client_id", "username", "token_type", "sub", "iss", "jti"]) {
    optionalString(answer, body, field);
  }
  for (const field of ["exp", "iat", "nbf", "expires_in"]) {
    if (body[field] !== undefined && (typeof body[field] !== "number" || !Number.isFinite(body[field]))) {
      fail(answer, `response body "${field}" must be a number when present`);
    }
  }
  return hideSecretsIfAny(body) as IntrospectionResponse;
}

/**
 * Validates Square's RetrieveTokenStatus answer.
 *
 * @throws {OAuthError} when Square refused the token (`UNAUTHORIZED`, `ACCESS_TOKEN_EXPIRED`, ...).
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export function processTokenStatusResponse(answer: RawAnswer): SquareTokenStatus {
  const body = jsonObjectFrom(answer);
  if (body.scopes !== undefined && (!Array.isArray(body.scopes) || body.scopes.some((s) => typeof s !== "string"))) {
    fail(answer, `response body "scopes" must be an array of strings`);
  }
  optionalTimestamp(answer, body, "expires_at");
  optionalString(answer, body, "client_id");
  optionalString(answer, body, "merchant_id");
  return hideSecretsIfAny(body) as SquareTokenStatus;
}

/**
 * Maps Square's token status to an RFC 7662 introspection answer: `scopes` joined into `scope`, `expires_at`
 * into `exp` (Unix seconds), `client_id` and `merchant_id` kept. A 401 (expired, revoked, unknown token)
 * becomes exactly `{ active: false }`.
 *
 * @throws {OAuthError} for any other refusal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function statusAsIntrospection(answer: RawAnswer): IntrospectionResponse {
  if (answer.response.status === 401) return { active: false };
  const status = processTokenStatusResponse(answer);
  const result: Extract<IntrospectionResponse, { active: true }> = { active: true };
  if (status.scopes) result.scope = status.scopes.join(" ");
  if (status.expires_at !== undefined) result.exp = Math.floor(timestampMs(status.expires_at) / 1000);
  if (status.client_id !== undefined) result.client_id = status.client_id;
  if (status.merchant_id !== undefined) result.merchant_id = status.merchant_id;
  return result;
}
