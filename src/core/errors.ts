import type { components } from "../../generated/schema";

/**
 * An error answer in any of the shapes the spec declares (RFC 6749 §5.2 and the providers' own).
 *
 * @see {@link OAuthError.body}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export type ErrorResponseBody = components["schemas"]["ErrorResponse"];

/** Options shared by the library's error classes. */
export interface ErrorOptions {
  /** The underlying failure. */
  cause?: unknown;
  /** The answer, when one arrived; kept off the error's own properties. */
  response?: Response;
}

/** The scheme of a `WWW-Authenticate` challenge (RFC 9110 §11.6.1): its first token. */
const CHALLENGE_SCHEME = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)/;

/**
 * The raw answers of errors, kept off the error objects themselves: read through a getter on the class, so
 * neither JSON.stringify nor util.inspect (even with `showHidden`) walks into headers a server may have filled
 * with what it was sent.
 */
const responses = new WeakMap<object, Response>();

/**
 * The base of the library's errors: it owns `code`, `name` and `cause`, and keeps the answer, when there was
 * one, out of printed and serialized forms.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Error/cause
 */
export abstract class OAuthClientError extends Error {
  /** Stable code of the error class. */
  abstract readonly code: string;

  /**
   * @param name - the class's name, given as a literal: minifiers rename classes.
   * @param message - what went wrong, naming the field or host; never a secret.
   * @param options - the cause and the answer.
   */
  constructor(name: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    if (options.response !== undefined) responses.set(this, options.response);
  }

  /** The raw `Response` (its body already read), when an answer arrived; never shows in logs. */
  get response(): Response | undefined {
    return responses.get(this);
  }
}

/**
 * The fields of an {@link OAuthError}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export interface OAuthErrorFields {
  error: string;
  error_description?: string;
  error_uri?: string;
  status: number;
  www_authenticate?: string;
  body?: ErrorResponseBody;
}

/**
 * The server answered with an OAuth error: an RFC 6749 §5.2 body, a provider's error body (read by its
 * adapter), or an error status with no body at all.
 *
 * `error` is the server's code (`invalid_grant`, or a provider's own such as `UNAUTHORIZED`), or
 * `http_<status>` when the answer carried none.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthError extends OAuthClientError {
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
  /** The error body as it arrived, in one of the shapes the spec declares. */
  declare readonly body?: ErrorResponseBody;

  constructor(fields: OAuthErrorFields, options: ErrorOptions = {}) {
    const detail = fields.error_description ? `: ${fields.error_description}` : "";
    const scheme =
      fields.status === 401 && fields.www_authenticate
        ? CHALLENGE_SCHEME.exec(fields.www_authenticate)?.[1]
        : undefined;
    // Only the scheme of a challenge is quoted: its parameters are server text of any length.
    const challenge = scheme ? `; WWW-Authenticate: the server asks for ${scheme} authentication` : "";
    super("OAuthError", `OAuth error ${fields.error} (HTTP ${fields.status}${challenge})${detail}`, options);
    this.error = fields.error;
    this.status = fields.status;
    // Optional fields are set only when present, so printed errors carry no empty keys.
    const self = this as { -readonly [K in keyof OAuthError]: OAuthError[K] };
    if (fields.error_description !== undefined) self.error_description = fields.error_description;
    if (fields.error_uri !== undefined) self.error_uri = fields.error_uri;
    if (fields.www_authenticate !== undefined) self.www_authenticate = fields.www_authenticate;
    if (fields.body !== undefined) self.body = fields.body;
  }

  /** `true` when the grant (code or refresh token) is no longer usable and the user must authorize again. */
  get requiresReauthorization(): boolean {
    return this.error === "invalid_grant";
  }
}

/**
 * The server's answer breaks the contract: not JSON, not an object, a missing or malformed field. The
 * message names the path of what is wrong; it never quotes token values.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export class OAuthResponseError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_INVALID_RESPONSE" as const;
  /** The HTTP status of the answer. */
  readonly status: number;

  constructor(message: string, status: number, options: ErrorOptions = {}) {
    super("OAuthResponseError", message, options);
    this.status = status;
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
export class OAuthTransportError extends OAuthClientError {
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
    super("OAuthTransportError", message, options);
    this.notSent = options.notSent === true;
    this.timedOut = options.timedOut === true;
  }
}
