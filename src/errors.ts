import type { components } from "../generated/schema";

/**
 * An error answer in any of the shapes the spec declares (RFC 6749 §5.2, Square, Voucherify).
 *
 * @see {@link OAuthError.body}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export type ErrorResponseBody = components["schemas"]["ErrorResponse"];

/** Options shared by the library's error classes. */
interface ErrorOptions {
  cause?: unknown;
  response?: Response;
}

function causeOf(options: { cause?: unknown }): { cause?: unknown } | undefined {
  return options.cause === undefined ? undefined : { cause: options.cause };
}

/** What a redacted secret is replaced with, in error text and in printed results. */
export const REDACTED = "[REDACTED]";
/**
 * Secrets shorter than this are not searched for in server text: a value that short cannot be told apart from
 * ordinary words, and real client secrets and tokens are far longer.
 */
const MIN_SECRET_LENGTH = 8;
/** The scheme of a `WWW-Authenticate` challenge (RFC 9110 §11.6.1): its first token. */
const CHALLENGE_SCHEME = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)/;

/**
 * The raw answers of errors, kept off the error objects themselves: read through a getter on the class, so
 * neither JSON.stringify nor util.inspect (even with `showHidden`) walks into headers a server may have filled
 * with what it was sent.
 */
const responses = new WeakMap<object, Response>();

function hideResponse(target: object, response: Response | undefined): void {
  if (response !== undefined) responses.set(target, response);
}

/**
 * The server answered with an OAuth error: an RFC 6749 §5.2 body, Square's `errors[]`, Voucherify's error
 * object, or an error status with no body at all.
 *
 * `error` is the server's code (`invalid_grant`, Square's `UNAUTHORIZED`, Voucherify's `invalid_scope`), or
 * `http_<status>` when the answer carried none.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthError extends Error {
  /** Stable code for this class. */
  readonly code = "OAUTH_ERROR" as const;
  /** The error code. */
  readonly error: string;
  /** Human-readable text from the server, for developers. */
  declare readonly error_description?: string;
  /** A page about the error, from the server. */
  declare readonly error_uri?: string;
  /** The HTTP status of the answer (200 when a server sent an error body with a success status). */
  readonly status: number;
  /** The `WWW-Authenticate` challenge of a 401 answer, when there was one. */
  declare readonly www_authenticate?: string;
  /** The provider's error body as the spec declares it (Square's `errors[]`, Voucherify's object). */
  declare readonly body?: ErrorResponseBody;

  constructor(
    fields: {
      error: string;
      error_description?: string;
      error_uri?: string;
      status: number;
      www_authenticate?: string;
      body?: ErrorResponseBody;
    },
    options: ErrorOptions = {},
  ) {
    const detail = fields.error_description ? `: ${fields.error_description}` : "";
    const scheme = fields.status === 401 && fields.www_authenticate ? CHALLENGE_SCHEME.exec(fields.www_authenticate)?.[1] : undefined;
    // Only the scheme of a challenge is quoted: its parameters are server text of any length.
    const challenge = scheme ? `; WWW-Authenticate: the server asks for ${scheme} authentication` : "";
    super(`OAuth error ${fields.error} (HTTP ${fields.status}${challenge})${detail}`, causeOf(options));
    this.name = "OAuthError";
    this.error = fields.error;
    this.status = fields.status;
    // Optional fields are set only when present, so printed errors carry no empty keys.
    const self = this as { -readonly [K in keyof OAuthError]: OAuthError[K] };
    if (fields.error_description !== undefined) self.error_description = fields.error_description;
    if (fields.error_uri !== undefined) self.error_uri = fields.error_uri;
    if (fields.www_authenticate !== undefined) self.www_authenticate = fields.www_authenticate;
    if (fields.body !== undefined) self.body = fields.body;
    hideResponse(this, options.response);
  }

  /** `true` when the grant (code or refresh token) is no longer usable and the user must authorize again. */
  get requiresReauthorization(): boolean {
    return this.error === "invalid_grant";
  }

  /** The raw `Response` (its body already read); not a property of the error, so it never shows in logs. */
  get response(): Response | undefined {
    return responses.get(this);
  }
}

/**
 * The server's answer breaks the contract: not JSON, not an object, a missing or malformed field. The
 * message names the path of what is wrong; it never quotes token values.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export class OAuthResponseError extends Error {
  /** Stable code for this class. */
  readonly code = "OAUTH_INVALID_RESPONSE" as const;
  /** The HTTP status of the answer. */
  readonly status: number;

  constructor(message: string, status: number, options: ErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "OAuthResponseError";
    this.status = status;
    hideResponse(this, options.response);
  }

  /** The raw `Response`, when an answer arrived; not a property of the error, so it never shows in logs. */
  get response(): Response | undefined {
    return responses.get(this);
  }
}

/**
 * The request got no complete answer: the connection failed or was reset, or the client's time limit
 * (`timeoutMs`) ran out. A caller's own `AbortSignal` rejects with the signal's reason instead, as `fetch` does.
 *
 * A custom `fetch` may throw one with `notSent: true` to say that a request never left: the client then
 * retries it whatever the grant.
 *
 * @see {@link RetryOptions}
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-9.2.2
 */
export class OAuthTransportError extends Error {
  /** Stable code for this class. */
  readonly code = "OAUTH_TRANSPORT" as const;
  /**
   * `true` when the request provably never reached the server: the connection was refused or never
   * established, or the host name did not resolve. Such a request can be sent again safely, even a
   * refresh_token grant. `false` when it may have arrived (a reset after sending, a time-out).
   */
  readonly notSent: boolean;
  /** `true` when the client's time limit (`timeoutMs`) ran out before the whole answer arrived. */
  readonly timedOut: boolean;

  constructor(message: string, options: { cause?: unknown; notSent?: boolean; timedOut?: boolean } = {}) {
    super(message, causeOf(options));
    this.name = "OAuthTransportError";
    this.notSent = options.notSent === true;
    this.timedOut = options.timedOut === true;
  }
}

function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

function usable(secrets: readonly (string | undefined)[]): string[] {
  return secrets.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH);
}

/**
 * A copy of a JSON value with every occurrence of the secrets in its strings replaced by {@link REDACTED};
 * values under 8 characters are not searched for.
 *
 * @internal
 */
export function redactDeep(value: unknown, secrets: readonly (string | undefined)[]): unknown {
  const hidden = usable(secrets);
  return hidden.length === 0 ? value : redactValue(value, hidden, 0);
}

function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (typeof value !== "object" || value === null) return value;
  // Deeper than any answer this library reads: hide the whole subtree rather than pass it on unsearched.
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = redactValue((value as Record<string, unknown>)[key], secrets, depth + 1);
  return out;
}

/**
 * Replaces every occurrence of the given secrets in a library error's text: message, stack, and an
 * {@link OAuthError}'s fields and body. Servers sometimes quote what they were sent ("refresh token xyz
 * expired"); the client calls this with the secrets of the request before handing an error over.
 *
 * @param error - any value; only the library's error classes are changed.
 * @param secrets - the values to hide; `undefined` and values under 8 characters are skipped.
 * @returns `error`, changed in place.
 * @internal
 */
export function redactError<E>(error: E, secrets: readonly (string | undefined)[]): E {
  if (!(error instanceof OAuthError || error instanceof OAuthResponseError || error instanceof OAuthTransportError)) return error;
  const hidden = usable(secrets);
  if (hidden.length === 0) return error;
  const target = error as unknown as Record<string, unknown>;
  for (const field of ["message", "stack", "error", "error_description", "error_uri", "www_authenticate"]) {
    const value = target[field];
    if (typeof value === "string" && hidden.some((s) => value.includes(s))) {
      Object.defineProperty(target, field, { value: redactText(value, hidden), enumerable: Object.keys(target).includes(field), writable: true, configurable: true });
    }
  }
  if (error instanceof OAuthError && error.body !== undefined) {
    // Redacted unconditionally: a search of the body's JSON text would miss a secret holding `"` or `\`.
    Object.defineProperty(target, "body", { value: redactValue(error.body, hidden, 0), enumerable: true, writable: true, configurable: true });
  }
  return error;
}
