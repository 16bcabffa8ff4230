import type { components } from "../generated/schema";
import { OAuthError, OAuthResponseError, type ErrorResponseBody } from "./errors";

/** A token answer (RFC 6749 §5.1), as the spec declares it. */
export type TokenResponse = components["schemas"]["TokenResponse"];
/** Square's renew answer. */
export type RenewTokenResponse = components["schemas"]["RenewTokenResponse"];
/** An introspection answer (RFC 7662 §2.2): active with details, or exactly `{ active: false }`. */
export type IntrospectionResponse = components["schemas"]["IntrospectionResponse"];
/** Square's token status (RetrieveTokenStatus). */
export type SquareTokenStatus = components["schemas"]["SquareTokenStatus"];

/**
 * What openapi-fetch handed back: the `Response`, and the body it read (text on success with
 * `parseAs: "text"`, parsed JSON or text on failure, `undefined` when there was none).
 */
export interface RawAnswer {
  response: Response;
  body: unknown;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(answer: RawAnswer, message: string): never {
  throw new OAuthResponseError(message, answer.response.status, { response: answer.response });
}

/** Reads an error body in any declared shape; `undefined` when it is none of them. */
function oauthErrorFrom(answer: RawAnswer, body: unknown): OAuthError | undefined {
  const { response } = answer;
  const challenge = response.headers.get("www-authenticate") ?? undefined;
  const base = { status: response.status, www_authenticate: challenge };
  if (!isObject(body)) return undefined;
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
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    fail(answer, `response content-type must be application/json, got ${JSON.stringify(contentType.slice(0, 60) || "none")}`);
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
  if (body === undefined || body === "") {
    return new OAuthError(
      { error: `http_${response.status}`, status: response.status, www_authenticate: response.headers.get("www-authenticate") ?? undefined },
      { response },
    );
  }
  const contentType = response.headers.get("content-type") ?? "none";
  return new OAuthResponseError(
    `HTTP ${response.status} answer is not an OAuth error (content-type ${JSON.stringify(contentType.slice(0, 60))})`,
    response.status,
    { response },
  );
}

/** Status, error body, content type, JSON, top-level object: the steps every JSON answer shares. */
function jsonObjectFrom(answer: RawAnswer): JsonObject {
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

function optionalTimestamp(answer: RawAnswer, body: JsonObject, field: string): void {
  const value = body[field];
  if (value === undefined) return;
  const valid =
    (typeof value === "number" && Number.isFinite(value) && value >= 0) ||
    (typeof value === "string" && !Number.isNaN(Date.parse(value)));
  if (!valid) fail(answer, `response body "${field}" must be an ISO 8601 string or Unix seconds`);
}

/**
 * Validates a token answer and returns it typed.
 *
 * Order: status, `WWW-Authenticate` challenge and error body, content type, JSON parse, top-level object, an
 * error body sent with status 200, then each field. `expires_in` sent as a numeric string is returned as a
 * number.
 *
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function processTokenResponse(answer: RawAnswer): TokenResponse {
  const body = jsonObjectFrom(answer);
  requireString(answer, body, "access_token");
  requireString(answer, body, "token_type");
  if (body.expires_in !== undefined) {
    const seconds = typeof body.expires_in === "string" && /^\d+$/.test(body.expires_in) ? Number(body.expires_in) : body.expires_in;
    if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0) {
      fail(answer, `response body "expires_in" must be a non-negative integer`);
    }
    body.expires_in = seconds;
  }
  optionalTimestamp(answer, body, "expires_at");
  optionalTimestamp(answer, body, "refresh_token_expires_at");
  if (body.refresh_token !== undefined) requireString(answer, body, "refresh_token");
  optionalString(answer, body, "scope");
  return body as TokenResponse;
}

/**
 * Validates Square's renew answer.
 *
 * @throws {OAuthError} when Square refused the renewal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 */
export function processRenewResponse(answer: RawAnswer): RenewTokenResponse {
  const body = jsonObjectFrom(answer);
  requireString(answer, body, "access_token");
  requireString(answer, body, "token_type");
  optionalTimestamp(answer, body, "expires_at");
  return body as RenewTokenResponse;
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
  return body as IntrospectionResponse;
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
  return body as SquareTokenStatus;
}

/**
 * Maps Square's token status to an RFC 7662 introspection answer: `scopes` joined into `scope`, `expires_at`
 * into `exp` (Unix seconds), `client_id` and `merchant_id` kept. A 401 (expired, revoked, unknown token)
 * becomes exactly `{ active: false }`.
 *
 * @throws {OAuthError} for any other refusal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 */
export function statusAsIntrospection(answer: RawAnswer): IntrospectionResponse {
  if (answer.response.status === 401) return { active: false };
  const status = processTokenStatusResponse(answer);
  const result: Extract<IntrospectionResponse, { active: true }> = { active: true };
  if (status.scopes) result.scope = status.scopes.join(" ");
  if (status.expires_at !== undefined) result.exp = Math.floor(Date.parse(status.expires_at) / 1000);
  if (status.client_id !== undefined) result.client_id = status.client_id;
  if (status.merchant_id !== undefined) result.merchant_id = status.merchant_id;
  return result;
}
