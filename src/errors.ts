import type { components } from "../generated/schema";

/** An error answer in any of the shapes the spec declares (RFC 6749 §5.2, Square, Voucherify). */
export type ErrorResponseBody = components["schemas"]["ErrorResponse"];

/** Options shared by the library's error classes. */
interface ErrorOptions {
  cause?: unknown;
  response?: Response;
}

function causeOf(options: { cause?: unknown }): { cause?: unknown } | undefined {
  return options.cause === undefined ? undefined : { cause: options.cause };
}

function hideResponse(target: object, response: Response | undefined): void {
  // Non-enumerable, so JSON.stringify and util.inspect never walk into headers or bodies.
  Object.defineProperty(target, "response", { value: response, enumerable: false, writable: false });
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
  /** The raw `Response`; non-enumerable, so it never shows in logs. */
  declare readonly response?: Response;

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
    super(`OAuth error ${fields.error} (HTTP ${fields.status})${detail}`, causeOf(options));
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
}

/**
 * The server's answer breaks the contract: not JSON, not an object, a missing or malformed field. The
 * message names the path of what is wrong; it never quotes token values.
 */
export class OAuthResponseError extends Error {
  /** Stable code for this class. */
  readonly code = "OAUTH_INVALID_RESPONSE" as const;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The raw `Response`; non-enumerable. */
  declare readonly response?: Response;

  constructor(message: string, status: number, options: ErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "OAuthResponseError";
    this.status = status;
    hideResponse(this, options.response);
  }
}

/**
 * The request never got an answer: the connection failed or was reset. A caller's own `AbortSignal`
 * rejects with the signal's reason instead, as `fetch` does.
 */
export class OAuthTransportError extends Error {
  /** Stable code for this class. */
  readonly code = "OAUTH_TRANSPORT" as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, causeOf(options));
    this.name = "OAuthTransportError";
  }
}
