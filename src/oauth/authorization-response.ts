import type { components } from "../../generated/schema";
import { AuthorizationErrorResponseAnswer, AuthorizationResponseAnswer as ResponseSchema } from "../../generated/spec";
import { isBrowserUrl, quote } from "../core/answers";
import { OAuthClientError, serverErrorFields } from "../core/errors";
import { hideSecrets, redactDeep } from "../core/redact";
import { argumentError, checkAnswer, checkObject } from "../core/validate";

/**
 * Checking the authorization response, the parameters the user comes back with on the redirect URI, imported
 * apart from the client: {@link validateAuthorizationResponse}.
 */

/**
 * A checked authorization response (RFC 6749 §4.1.2): the spec's `AuthorizationResponse`, and any other
 * parameter the server sent, as it came. `code` and `state` print as `[REDACTED]`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 */
export interface AuthorizationResponse extends Readonly<components["schemas"]["AuthorizationResponse"]> {
  /** A parameter the spec does not name (`session_state`, a provider's own). */
  readonly [parameter: string]: string | undefined;
}

/**
 * What {@link validateAuthorizationResponse} checks the response against.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export interface AuthorizationResponseChecks {
  /**
   * The `state` the authorization request carried, compared exactly (in constant time); `null` when it carried
   * none, and then an answer with a `state` is refused.
   */
  expectedState: string | null;
  /** The issuer identifier of the server the user was sent to, compared with the answer's `iss` (RFC 9207). */
  issuer?: string;
  /**
   * The server's metadata (from `discover`): its `issuer`, and whether it always sends `iss`
   * (`authorization_response_iss_parameter_supported`).
   */
  metadata?: Pick<
    components["schemas"]["AuthorizationServerMetadata"],
    "issuer" | "authorization_response_iss_parameter_supported"
  >;
  /**
   * `iss` must be in the answer. Default: what the metadata says, else `false`. Without an issuer, from
   * `issuer` or `metadata`, `iss` is not compared.
   */
  issRequired?: boolean;
  /** Where a redirect URL carries the parameters: `query` (default) or `fragment`. */
  responseMode?: "query" | "fragment";
}

/**
 * The server answered the authorization request with an error (RFC 6749 §4.1.2.1): the user refused
 * (`access_denied`), or the request was wrong. The answer's `iss` and `state` were checked first.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export class AuthorizationResponseError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_AUTHORIZATION_ERROR" as const;
  /** The error code, such as `access_denied`, `invalid_scope` or OpenID Connect's `login_required`. */
  readonly error: string;
  /** Human-readable text from the server, for developers. */
  declare readonly error_description?: string;
  /** A page about the error, from the server. */
  declare readonly error_uri?: string;

  constructor(raw: { error: string; error_description?: string; error_uri?: string }) {
    // Server text, bounded and printable in every form: the fields, JSON, inspect, the message.
    const fields = serverErrorFields(raw);
    const detail = fields.error_description ? `: ${fields.error_description}` : "";
    super("AuthorizationResponseError", `the authorization server answered ${fields.error}${detail}`);
    this.error = fields.error;
    const self = this as { -readonly [K in keyof AuthorizationResponseError]: AuthorizationResponseError[K] };
    if (fields.error_description !== undefined) self.error_description = fields.error_description;
    if (fields.error_uri !== undefined && isBrowserUrl(fields.error_uri)) self.error_uri = fields.error_uri;
  }
}

/**
 * The authorization response cannot be trusted or used: its `state` is not the one sent (CSRF), its `iss` is
 * another server's or missing (a mix-up attack, RFC 9207), a parameter appears twice, or it breaks the spec's
 * schema (no `code`). The message never quotes the code or the state.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 */
export class InvalidAuthorizationResponseError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_INVALID_AUTHORIZATION_RESPONSE" as const;
  /** What is wrong. */
  readonly reason: "state_mismatch" | "iss_mismatch" | "iss_missing" | "duplicate_parameter" | "malformed";

  constructor(reason: InvalidAuthorizationResponseError["reason"], message: string) {
    super("InvalidAuthorizationResponseError", message);
    this.reason = reason;
  }
}

/** Compares in a time that depends on the lengths only, so a state cannot be guessed one character at a time. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The parameters of a redirect URL (its query or fragment) or of a form post; the input is never quoted. */
function parametersOf(redirect: unknown, mode: unknown): URLSearchParams {
  if (redirect instanceof URLSearchParams) return redirect;
  if (mode !== undefined && mode !== "query" && mode !== "fragment")
    throw argumentError('checks.responseMode must be "query" or "fragment"');
  const url =
    redirect instanceof URL ? redirect : typeof redirect === "string" && URL.canParse(redirect) && new URL(redirect);
  if (!url) throw argumentError("redirect must be an absolute URL, a URL or URLSearchParams");
  const [part, other] = mode === "fragment" ? [url.hash, url.search] : [url.search, url.hash];
  if (part.length <= 1) {
    const hint =
      other.length > 1 ? `; its ${mode === "fragment" ? "query" : "fragment"} has some: set responseMode` : "";
    throw new InvalidAuthorizationResponseError(
      "malformed",
      `the redirect URL has no parameters in its ${mode ?? "query"}${hint}`,
    );
  }
  return new URLSearchParams(part.slice(1));
}

/** The issuer to compare `iss` with, from `issuer` or `metadata`, which must agree. */
function expectedIssuer(checks: AuthorizationResponseChecks): string | undefined {
  const { issuer, metadata } = checks;
  if (issuer !== undefined && (typeof issuer !== "string" || issuer === ""))
    throw argumentError("checks.issuer must be a non-empty string");
  if (metadata !== undefined) checkObject(metadata, "checks.metadata");
  if (issuer !== undefined && metadata !== undefined && metadata.issuer !== issuer)
    throw argumentError("checks.issuer and checks.metadata.issuer differ");
  return issuer ?? metadata?.issuer;
}

/**
 * Checks the authorization response the user came back with, and returns its `code` (RFC 6749 §4.1.2), in the
 * order that keeps an attacker's answer from being acted on: no parameter twice (RFC 6749 §3.1); `iss`, when the
 * server sends it or is known to (RFC 9207), equal to the expected issuer; `state` exactly the one sent; then an
 * `error` answer becomes an {@link AuthorizationResponseError}; else the answer must be the spec's
 * `AuthorizationResponse`. The code and the state never appear in an error, and print as `[REDACTED]`.
 *
 * @param redirect - the URL the user came back to (a string or a `URL`), or the parameters of a form post.
 * @param checks - the state sent, the issuer (or the server's metadata), and where the parameters are.
 * @returns the parameters, with `code`; pass `code` to `exchangeAuthorizationCode`.
 * @throws {TypeError} when an argument is malformed.
 * @throws {InvalidAuthorizationResponseError} when the answer has a parameter twice, another server's `iss` or
 *   none where one is required, another `state`, or no `code`.
 * @throws {AuthorizationResponseError} when the server answered with an error.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export function validateAuthorizationResponse(
  redirect: string | URL | URLSearchParams,
  checks: AuthorizationResponseChecks,
): AuthorizationResponse {
  checkObject(checks, "checks");
  const { expectedState } = checks;
  if (expectedState !== null && (typeof expectedState !== "string" || expectedState === ""))
    throw argumentError("checks.expectedState must be a non-empty string, or null when the request sent none");
  const issuer = expectedIssuer(checks);
  const issRequired = checks.issRequired ?? checks.metadata?.authorization_response_iss_parameter_supported === true;
  if (typeof issRequired !== "boolean") throw argumentError("checks.issRequired must be a boolean");
  if (issRequired && issuer === undefined)
    throw argumentError("checks.issuer or checks.metadata is required to check iss");
  const params = parametersOf(redirect, checks.responseMode);

  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name))
      throw new InvalidAuthorizationResponseError(
        "duplicate_parameter",
        `the authorization response has more than one ${quote(name)} parameter`,
      );
    seen.add(name);
  }
  const fields: Record<string, string> = Object.fromEntries(params);

  const { iss, state } = fields;
  if (iss === undefined && issRequired)
    throw new InvalidAuthorizationResponseError(
      "iss_missing",
      'the authorization response has no "iss", which this server always sends (RFC 9207): it may be a mix-up',
    );
  if (iss !== undefined && issuer !== undefined && iss !== issuer)
    throw new InvalidAuthorizationResponseError(
      "iss_mismatch",
      `the authorization response's "iss" is ${quote(iss)}, not ${quote(issuer)}: a mix-up (RFC 9207)`,
    );
  if (expectedState === null ? state !== undefined : state === undefined || !sameText(state, expectedState))
    throw new InvalidAuthorizationResponseError(
      "state_mismatch",
      `the authorization response's "state" ${state === undefined ? "is missing" : expectedState === null ? "is unexpected: the request sent none" : "is not the one sent"}: it may be forged (CSRF)`,
    );

  const malformed = (message: string): never => {
    throw new InvalidAuthorizationResponseError("malformed", message);
  };
  if (fields.error !== undefined) {
    const answer = checkAnswer(AuthorizationErrorResponseAnswer, fields, malformed, "authorization response");
    // A server may quote the request's state in its text.
    throw new AuthorizationResponseError(redactDeep(answer, [state]) as { error: string });
  }
  return hideSecrets(checkAnswer(ResponseSchema, fields, malformed, "authorization response") as AuthorizationResponse);
}
