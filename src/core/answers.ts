import { type AnswerCheck, OAuthError as OAuthErrorSchema } from "../../generated/spec";
import { OAuthError, OAuthResponseError, type ErrorResponseBody, type OAuthErrorFields } from "./errors";
import { redactError, withoutSecrets } from "./redact";
import { isLoopback } from "./transport";
import { checkAnswer, isPlainObject } from "./validate";

/**
 * Reading answers, in a fixed order: status (a redirect is refused), challenge and error body, content type,
 * JSON parse, top-level object, an error body sent with status 200, then each field as the spec declares it.
 */

type JsonObject = Record<string, unknown>;

/**
 * An answer as the client read it: the `Response`, and its body (text on success, parsed JSON or text on
 * failure, `undefined` when there was none).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5
 */
export interface RawAnswer {
  response: Response;
  body: unknown;
  /**
   * The secrets the request carried as it was sent: its secret fields, those its client authentication added
   * (an assertion) too, and its secret headers (a DPoP proof).
   */
  secrets?: readonly string[] | undefined;
}

/**
 * Reads one shape of error body into an {@link OAuthError}'s fields; `undefined` when the body is not of
 * that shape. The core reads RFC 6749 §5.2 bodies; a provider adapter adds its own shape.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export type ErrorReader = (
  body: JsonObject,
  status: number,
) => Pick<OAuthErrorFields, "error" | "error_description" | "error_uri"> | undefined;

/**
 * Options of the process steps.
 *
 * @see {@link ErrorReader}
 */
export interface ProcessOptions {
  /** Error shapes to read besides RFC 6749 §5.2 (a provider adapter's). */
  errorReaders?: readonly ErrorReader[];
}

const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const HTML_CONTENT_TYPE = /^\s*text\/html\b/i;
const OAUTH_ERROR_FIELDS = Object.keys(OAuthErrorSchema.properties ?? {});

/** A short, quoted excerpt of server text for a message. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/**
 * Whether a URL an answer hands to a user's browser (a verification URI, an error page) may be handed on: an
 * absolute `https:` URL, or `http:` on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`). A `javascript:` or
 * `data:` URL, any other scheme, or plain `http:` to another host is not.
 *
 * @param value - the URL as the answer gave it.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3
 */
export function isBrowserUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol, hostname } = new URL(value);
  return protocol === "https:" || (protocol === "http:" && isLoopback(hostname));
}

/** Throws an {@link OAuthResponseError} for an answer that breaks the contract. */
export function fail(answer: RawAnswer, message: string): never {
  throw new OAuthResponseError(message, answer.response.status, { response: answer.response });
}

/** The RFC 6749 §5.2 error body, as the spec's `OAuthError` schema declares it. */
const readOAuthError: ErrorReader = (body) => {
  if (typeof body.error !== "string" || body.error === "") return undefined;
  const fields: Pick<OAuthErrorFields, "error" | "error_description" | "error_uri"> = { error: body.error };
  for (const name of OAUTH_ERROR_FIELDS) {
    if (name !== "error" && typeof body[name] === "string") (fields as JsonObject)[name] = body[name];
  }
  return fields;
};

function withoutField(body: JsonObject, name: string): JsonObject {
  const { [name]: _, ...rest } = body;
  return rest;
}

function errorOf(answer: RawAnswer, body: JsonObject, readers: readonly ErrorReader[]): OAuthError | undefined {
  const { response } = answer;
  for (const reader of [readOAuthError, ...readers]) {
    const fields = reader(body, response.status);
    if (fields === undefined) continue;
    const challenge = response.headers.get("www-authenticate") ?? undefined;
    const { error_uri, ...rest } = fields;
    // A page for a person to open: one that is not https (or http on loopback) is left out, here and in the body.
    const safe = error_uri === undefined || isBrowserUrl(error_uri);
    return new OAuthError(
      {
        ...(safe ? fields : rest),
        status: response.status,
        www_authenticate: challenge,
        body: (safe || body.error_uri !== error_uri ? body : withoutField(body, "error_uri")) as ErrorResponseBody,
      },
      { response },
    );
  }
  return undefined;
}

/** Reads an error body in any known shape; `undefined` when it is none of them. */
function oauthErrorFrom(answer: RawAnswer, raw: unknown, options: ProcessOptions | undefined): OAuthError | undefined {
  if (!isPlainObject(raw)) return undefined;
  const readers = options?.errorReaders ?? [];
  const error = errorOf(answer, raw, readers);
  if (error === undefined) return undefined;
  // Most error bodies carry no secret field. One that does is copied without them and its error made again
  // from the copy; removing secret fields leaves the error's own fields as they were.
  const { body, removed } = withoutSecrets(raw);
  return removed.length === 0 ? error : redactError(errorOf(answer, body, readers)!, removed);
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

/** The answer was a redirect, which the client does not follow: token requests carry credentials. */
function failOnRedirect(answer: RawAnswer): void {
  const { response } = answer;
  if (response.type !== "opaqueredirect" && (response.status < 300 || response.status >= 400)) return;
  const location = response.headers.get("location");
  const target =
    location !== null && URL.canParse(location, response.url || undefined)
      ? ` to ${new URL(location, response.url || undefined).origin}`
      : "";
  throw redirectError(` (HTTP ${response.status}${target})`, response.status, response);
}

/**
 * Turns a non-2xx answer into the right error: an {@link OAuthError} when the body is an error in a known
 * shape or empty, an {@link OAuthResponseError} when it is something else (an HTML page from a proxy).
 */
function errorFromFailure(answer: RawAnswer, options: ProcessOptions | undefined): Error {
  const { response, body } = answer;
  const oauth = oauthErrorFrom(answer, body, options);
  if (oauth) return oauth;
  const challenge = response.headers.get("www-authenticate") ?? undefined;
  // A 401 with a challenge is an authentication failure whatever page came with it.
  if (body === undefined || body === "" || (response.status === 401 && challenge !== undefined)) {
    return new OAuthError(
      { error: `http_${response.status}`, status: response.status, www_authenticate: challenge },
      { response },
    );
  }
  const contentType = response.headers.get("content-type");
  return new OAuthResponseError(
    `HTTP ${response.status} answer is not an OAuth error (content-type ${contentType ? quote(contentType) : "none"})`,
    response.status,
    {
      response,
    },
  );
}

/**
 * Status and error body: throws for a redirect or a failure status, with the error the body describes.
 *
 * @param answer - the response and its body.
 * @param options - the error shapes to read.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} for a redirect, or a failure that is not an OAuth error.
 */
export function checkStatus(answer: RawAnswer, options?: ProcessOptions): void {
  failOnRedirect(answer);
  if (!answer.response.ok) throw errorFromFailure(answer, options);
}

/**
 * An error body sent with a success status (seen in the wild); `undefined` for any other body.
 *
 * @param answer - the answer, for the error's status and response.
 * @param parsed - its parsed body.
 */
export function errorInSuccess(answer: RawAnswer, parsed: unknown, options?: ProcessOptions): OAuthError | undefined {
  return oauthErrorFrom(answer, parsed, options);
}

function parseJsonBody(answer: RawAnswer): unknown {
  const { response, body } = answer;
  const contentType = response.headers.get("content-type") ?? "";
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    const what = HTML_CONTENT_TYPE.test(contentType) ? " (an HTML page, perhaps from a proxy or a login form)" : "";
    fail(
      answer,
      `response content-type must be application/json, got ${contentType ? quote(contentType) : "none"}${what}`,
    );
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
 * Reads a JSON answer in the fixed order and checks it against the spec's schema of the operation's answer.
 *
 * @param answer - the response and its body.
 * @param schema - the answer's compiled check, from the generated code.
 * @param options - the error shapes to read.
 * @returns the body, read as the schema says.
 * @throws {OAuthError} when the server refused, with any status.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 */
export function jsonAnswer(answer: RawAnswer, schema: AnswerCheck, options?: ProcessOptions): JsonObject {
  checkStatus(answer, options);
  const parsed = parseJsonBody(answer);
  if (!isPlainObject(parsed)) fail(answer, "response body must be a JSON object");
  const oauth = oauthErrorFrom(answer, parsed, options);
  if (oauth) throw oauth;
  return checkAnswer(schema, parsed, (message) => fail(answer, message));
}
