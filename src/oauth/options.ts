import {
  CLIENT_AUTHENTICATION_METHODS,
  isClientAuthenticationMethod,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
} from "../core/auth";
import type { CallOptions, Endpoint, EndpointName } from "../core/request";
import { isLoopback, type RetryOptions } from "../core/transport";
import { argumentError, checkNonEmptyString, checkObject, checkPositive, isPlainObject } from "../core/validate";
import { operations } from "../../generated/spec";
import type { ProviderAdapter } from "./provider";

/** The client's options, and the checks of them and of each call's options: all before any request. */

/**
 * How the body of a token or revocation request is encoded: `form` (RFC 6749) or `json`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-B
 */
export type RequestFormat = "form" | "json";

/**
 * Options of `createOAuthClient`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export interface OAuthClientOptions<F extends RequestFormat = RequestFormat, M extends object = object> {
  /** The server's base URL, such as `https://auth.example.org`; the spec's paths are appended to it. */
  baseUrl: string;
  /** The client identifier. */
  clientId?: string;
  /** The client secret. Kept inside the client: never logged, never printed. */
  clientSecret?: string;
  /**
   * How the client authenticates: `client_secret_basic` (default with a secret), `client_secret_post`, `none`
   * (default without), or a strategy object. It is the one used, whatever the request format.
   */
  clientAuthentication?: ClientAuthenticationMethod | ClientAuthentication;
  /** Body encoding of requests whose spec offers both: `form` (default, RFC 6749) or `json`. JSON bodies, nothing else. */
  requestFormat?: F;
  /**
   * Per-endpoint path appended to `baseUrl` (`/OAuth/Token`) or absolute URL, by the spec's endpoint names
   * (`token`, `revoke`, `introspect`, …). A path may hold the spec's path parameters (`{client_id}`).
   * `{ unavailable: "why" }` marks an endpoint the server does not offer: its calls fail at once.
   */
  endpoints?: Partial<Record<EndpointName, Endpoint>>;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every request. Values of `Authorization` and `X-App-Token` are redacted from errors. */
  headers?: Record<string, string>;
  /** The scopes the server knows: requested scopes are checked before sending, and commas get their own error. */
  allowedScopes?: readonly string[];
  /** Time limit of each request, in ms, through the last byte of the answer; `Infinity` for none. Default 10 000. */
  timeoutMs?: number;
  /** How failed requests are retried; `false` sends each request once. Default: see {@link RetryOptions}. */
  retry?: RetryOptions | false;
  /** Allows plain `http:` to hosts other than loopback ones. Default `false`. */
  allowInsecureHttp?: boolean;
  /** The largest answer body read, in bytes, counted while it streams in. Default 1 MiB. */
  maxResponseBytes?: number;
  /** The token types accepted in token answers, compared case-insensitively. Default `["bearer"]`. */
  allowedTokenTypes?: readonly string[];
  /** A provider adapter (from a provider's preset): its error shapes, authentication and methods. */
  provider?: ProviderAdapter<M>;
}

const RETRY_KEYS: readonly string[] = ["maxAttempts", "maxElapsedMs", "baseDelayMs", "maxDelayMs"];
/** The names the `endpoints` option takes: the spec's `x-endpoint` of each operation. */
const ENDPOINT_NAMES: readonly string[] = Object.values(operations).flatMap((op) =>
  "endpoint" in op ? [op.endpoint] : [],
);

/**
 * Refuses a plain `http:` URL to a host that is not loopback, unless allowed.
 *
 * @throws {TypeError} naming the option.
 */
export function checkTransport(url: URL, name: string, allowInsecureHttp: boolean): void {
  if (url.protocol === "http:" && !allowInsecureHttp && !isLoopback(url.hostname)) {
    throw argumentError(
      `${name} must be an https URL: plain http is allowed only for loopback hosts, or with options.allowInsecureHttp`,
    );
  }
}

/**
 * Refuses a URL with a user name or password: every call would send them, and every error quote them. The
 * message quotes neither.
 */
function checkNoCredentials(url: URL, name: string): void {
  if (url.username !== "" || url.password !== "") {
    throw argumentError(
      `${name} must not hold a user name or password: pass the client's credentials as clientId and clientSecret`,
    );
  }
}

function checkRetry(retry: unknown, name: string): void {
  if (retry === undefined || retry === false) return;
  if (!isPlainObject(retry)) throw argumentError(`${name} must be an object or false`);
  for (const key of Object.keys(retry))
    if (!RETRY_KEYS.includes(key))
      throw argumentError(`${name}.${key} is not a retry option (${RETRY_KEYS.join(", ")})`);
  const { maxAttempts, maxElapsedMs, baseDelayMs, maxDelayMs } = retry;
  if (
    maxAttempts !== undefined &&
    (typeof maxAttempts !== "number" || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100)
  ) {
    throw argumentError(`${name}.maxAttempts must be an integer from 1 to 100`);
  }
  for (const [key, value] of [
    ["maxElapsedMs", maxElapsedMs],
    ["baseDelayMs", baseDelayMs],
    ["maxDelayMs", maxDelayMs],
  ] as const) {
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
      throw argumentError(`${name}.${key} must be a non-negative finite number`);
    }
  }
}

/** Header names and values fetch would refuse (a newline in a value, say) are bad arguments, not transport failures. */
function checkHeaders(headers: unknown, name: string): void {
  if (headers === undefined) return;
  if (!isPlainObject(headers) || Object.values(headers).some((value) => typeof value !== "string")) {
    throw argumentError(`${name} must be an object of strings`);
  }
  try {
    new Headers(headers as Record<string, string>);
  } catch {
    throw argumentError(`${name} holds a header name or value that HTTP does not allow`);
  }
}

function checkStringList(value: unknown, name: string, what: string, noSpaces = false): void {
  if (value === undefined) return;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.some((x) => typeof x !== "string" || x === "" || (noSpaces && /\s/.test(x)))
  ) {
    throw argumentError(`${name} must be a non-empty array of ${what}`);
  }
}

/**
 * Checks the client's options.
 *
 * @throws {TypeError} naming the first option that is wrong; no secret is quoted.
 */
export function checkOptions(options: OAuthClientOptions): void {
  checkObject(options, "options");
  checkNonEmptyString(options.baseUrl, "options.baseUrl");
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw argumentError("options.baseUrl must be an absolute URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:")
    throw argumentError("options.baseUrl must be an http or https URL");
  checkNoCredentials(base, "options.baseUrl");
  // The spec's paths are appended to the base URL: a query or fragment would end up before them.
  if (base.search !== "" || base.hash !== "" || /[?#]/.test(options.baseUrl)) {
    throw argumentError("options.baseUrl must have no query or fragment: the spec's paths are appended to it");
  }
  if (options.allowInsecureHttp !== undefined && typeof options.allowInsecureHttp !== "boolean")
    throw argumentError("options.allowInsecureHttp must be a boolean");
  const insecure = options.allowInsecureHttp === true;
  checkTransport(base, "options.baseUrl", insecure);
  checkPositive(options.timeoutMs, "options.timeoutMs", true);
  checkRetry(options.retry, "options.retry");
  checkPositive(options.maxResponseBytes, "options.maxResponseBytes");
  checkStringList(options.allowedTokenTypes, "options.allowedTokenTypes", "token type names");
  checkStringList(options.allowedScopes, "options.allowedScopes", "scope names without spaces", true);
  if (options.clientId !== undefined) checkNonEmptyString(options.clientId, "options.clientId");
  if (options.clientSecret !== undefined) checkNonEmptyString(options.clientSecret, "options.clientSecret");
  const auth = options.clientAuthentication;
  if (
    auth !== undefined &&
    !isClientAuthenticationMethod(auth) &&
    !(isPlainObject(auth) && typeof auth.apply === "function")
  ) {
    throw argumentError(
      `options.clientAuthentication must be one of ${CLIENT_AUTHENTICATION_METHODS.join(", ")}, or a client authentication strategy`,
    );
  }
  if (options.requestFormat !== undefined && options.requestFormat !== "form" && options.requestFormat !== "json") {
    throw argumentError('options.requestFormat must be "form" or "json"');
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function")
    throw argumentError("options.fetch must be a function");
  if (
    options.provider !== undefined &&
    !(isPlainObject(options.provider) && typeof options.provider.name === "string")
  ) {
    throw argumentError("options.provider must be a provider adapter: an object with a name");
  }
  checkHeaders(options.headers, "options.headers");
  if (options.endpoints !== undefined) {
    checkObject(options.endpoints, "options.endpoints");
    for (const [name, value] of Object.entries(options.endpoints)) {
      if (!ENDPOINT_NAMES.includes(name))
        throw argumentError(`options.endpoints.${name} is not an endpoint (${ENDPOINT_NAMES.join(", ")})`);
      if (value === undefined) continue;
      if (isPlainObject(value)) {
        checkNonEmptyString(value.unavailable, `options.endpoints.${name}.unavailable`);
        continue;
      }
      checkNonEmptyString(value, `options.endpoints.${name}`);
      const url = !value.startsWith("/") && URL.canParse(value) ? new URL(value) : undefined;
      if (!value.startsWith("/") && url?.protocol !== "http:" && url?.protocol !== "https:") {
        throw argumentError(
          `options.endpoints.${name} must be a path starting with "/" or an absolute http or https URL`,
        );
      }
      if (url) {
        checkNoCredentials(url, `options.endpoints.${name}`);
        checkTransport(url, `options.endpoints.${name}`, insecure);
      }
    }
  }
}

/**
 * Checks one call's options.
 *
 * @throws {TypeError} naming the first option that is wrong.
 */
export function checkCallOptions(options: CallOptions | undefined): void {
  if (options === undefined) return;
  checkObject(options, "call options");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw argumentError("options.signal must be an AbortSignal");
  checkHeaders(options.headers, "options.headers");
  checkPositive(options.timeoutMs, "options.timeoutMs", true);
  checkRetry(options.retry, "options.retry");
}
