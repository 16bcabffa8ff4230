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
 * The longest each text a server puts in an error is kept, in UTF-16 code units, the marker included: a server
 * that sends 100 000 characters gets the first ones and {@link CUT_MARKER}. Other strings of an error body
 * (`body`, a provider's detail) are kept to `text`, and its keys to `key`.
 */
export const SERVER_TEXT_LIMITS = {
  error: 128,
  error_description: 1_024,
  error_uri: 2_048,
  www_authenticate: 2_048,
  text: 1_024,
  key: 128,
} as const;
/** What ends a text cut to its limit. */
export const CUT_MARKER = "\u2026";
/** The longest message of any of the library's errors. */
const MAX_MESSAGE = 4_096;
/** The items of an array, and the keys of an object, kept in a printed error body; and how deep it goes. */
const BODY_BOUNDS = { items: 16, keys: 32, depth: 4 } as const;
/** Tab and line breaks (CR, LF, VT, FF, NEL, U+2028, U+2029): each run becomes one space. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
/** The other C0 and C1 controls, DEL, and the bidi embeddings, overrides and isolates: removed. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Server text made safe for one log line: tab and line breaks become a space, other control characters (C0, C1,
 * DEL) and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) are removed, and the rest
 * is cut to `max` characters, ending with {@link CUT_MARKER} when cut (never between the halves of a surrogate
 * pair). Applying it again changes nothing.
 *
 * @param text - what the server sent.
 * @param max - the longest result, the marker included.
 * @returns the text, printable and at most `max` characters long.
 */
export function serverText(text: string, max: number): string {
  const clean = text.replace(BREAKS, " ").replace(UNPRINTABLE, "");
  if (clean.length <= max) return clean;
  let end = Math.max(0, max - CUT_MARKER.length);
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return clean.slice(0, end) + CUT_MARKER;
}

/**
 * The fields of an OAuth error answer made safe to print, each by {@link serverText} to its
 * {@link SERVER_TEXT_LIMITS}: for the error classes of answers (an OAuth error, an authorization error).
 *
 * @param fields - `error`, `error_description`, `error_uri` as the server sent them.
 * @returns a copy, with the same fields present.
 */
export function serverErrorFields<T extends { error: string; error_description?: string; error_uri?: string }>(
  fields: T,
): T {
  const out = { ...fields, error: serverText(fields.error, SERVER_TEXT_LIMITS.error) };
  if (typeof fields.error_description === "string")
    out.error_description = serverText(fields.error_description, SERVER_TEXT_LIMITS.error_description);
  if (typeof fields.error_uri === "string") out.error_uri = serverText(fields.error_uri, SERVER_TEXT_LIMITS.error_uri);
  return out;
}

/**
 * An error body made safe to print: its RFC 6749 §5.2 fields as {@link serverErrorFields} makes them, every other
 * string and key by {@link serverText}, and no more than a few items, keys and levels.
 */
function printableBody(value: unknown, depth: number, key?: string): unknown {
  if (typeof value === "string") {
    const limit = depth === 1 && key !== undefined && key in SERVER_TEXT_LIMITS ? key : "text";
    return serverText(value, SERVER_TEXT_LIMITS[limit as keyof typeof SERVER_TEXT_LIMITS]);
  }
  if (typeof value !== "object" || value === null) return value;
  if (depth > BODY_BOUNDS.depth) return undefined;
  if (Array.isArray(value)) return value.slice(0, BODY_BOUNDS.items).map((item) => printableBody(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value).slice(0, BODY_BOUNDS.keys)) {
    const item = printableBody((value as Record<string, unknown>)[name], depth + 1, name);
    // Defined, not assigned: a key "__proto__" stays a key.
    if (item !== undefined)
      Object.defineProperty(out, serverText(name, SERVER_TEXT_LIMITS.key), {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/**
 * The raw answers of errors, kept off the error objects themselves: read through a getter on the class, so
 * neither JSON.stringify nor util.inspect (even with `showHidden`) walks into headers a server may have filled
 * with what it was sent.
 */
const responses = new WeakMap<object, Response>();

/**
 * The base of the library's errors: it owns `code`, `name` and `cause`, and keeps the answer, when there was
 * one, out of printed and serialized forms. Its message is one printable line of at most 4 096 characters,
 * whatever server text it quotes (see {@link serverText}).
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
    // A message may quote a server's text: one printable line of bounded length, whatever it holds.
    super(serverText(message, MAX_MESSAGE), options.cause === undefined ? undefined : { cause: options.cause });
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
 * `http_<status>` when the answer carried none. The server's texts are kept printable and bounded in the
 * message and in every field (see {@link serverText} and {@link SERVER_TEXT_LIMITS}), so logging the error, its
 * fields, `JSON.stringify` or `util.inspect` of it writes one line of bounded length.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_ERROR" as const;
  /** The error code (at most 128 characters). */
  readonly error: string;
  /** Human-readable text from the server, for developers (at most 1 024 characters). */
  declare readonly error_description?: string;
  /**
   * A page about the error, from the server (at most 2 048 characters). An answer's `error_uri` that is not an
   * `https:` URL, or `http:` on a loopback host, is left out.
   */
  declare readonly error_uri?: string;
  /** The HTTP status of the answer (200 when a server sent an error body with a success status). */
  readonly status: number;
  /** The `WWW-Authenticate` challenge of a 401 answer, when there was one. */
  declare readonly www_authenticate?: string;
  /**
   * The error body as it arrived, in one of the shapes the spec declares, made safe to print: its texts as
   * {@link serverText} makes them, at most 16 items an array, 32 keys an object, 4 levels deep.
   */
  declare readonly body?: ErrorResponseBody;

  /**
   * @param fields - the answer's error fields. Server text is made safe to print (see {@link serverText}) in the
   *   message and in every field, `body` included: no control characters, each text cut to its
   *   {@link SERVER_TEXT_LIMITS}.
   * @param options - the cause and the answer.
   */
  constructor(fields: OAuthErrorFields, options: ErrorOptions = {}) {
    const clean = serverErrorFields(fields);
    if (fields.www_authenticate !== undefined)
      clean.www_authenticate = serverText(fields.www_authenticate, SERVER_TEXT_LIMITS.www_authenticate);
    if (fields.body !== undefined) clean.body = printableBody(fields.body, 0) as ErrorResponseBody;
    const detail = clean.error_description ? `: ${clean.error_description}` : "";
    const scheme =
      clean.status === 401 && clean.www_authenticate
        ? CHALLENGE_SCHEME.exec(clean.www_authenticate)?.[1]?.slice(0, SERVER_TEXT_LIMITS.error)
        : undefined;
    // Only the scheme of a challenge is quoted: its parameters are server text of any length.
    const challenge = scheme ? `; WWW-Authenticate: the server asks for ${scheme} authentication` : "";
    super("OAuthError", `OAuth error ${clean.error} (HTTP ${clean.status}${challenge})${detail}`, options);
    this.error = clean.error;
    this.status = clean.status;
    // Optional fields are set only when present, so printed errors carry no empty keys.
    const self = this as { -readonly [K in keyof OAuthError]: OAuthError[K] };
    if (clean.error_description !== undefined) self.error_description = clean.error_description;
    if (clean.error_uri !== undefined) self.error_uri = clean.error_uri;
    if (clean.www_authenticate !== undefined) self.www_authenticate = clean.www_authenticate;
    if (clean.body !== undefined) self.body = clean.body;
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
