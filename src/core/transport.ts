import { OAuthResponseError, OAuthTransportError } from "./errors";

/**
 * How the client's requests travel: bounded body reads, retry timing, and telling a request that never left
 * from one that may have arrived. Pure helpers; `request.ts` sends.
 */

/**
 * How failed requests are sent again: with exponential back-off and full jitter (a random wait between 0 and
 * `min(maxDelayMs, baseDelayMs * 2^(retry - 1))`), or after the server's `Retry-After` when it sends one.
 *
 * Only answers 429 and 503 and connection failures are retried, and only for operations that are safe to
 * repeat: those the spec marks `x-idempotent` (client_credentials, introspection, revocation). Any other request, a
 * refresh_token grant above all, is sent again only when it provably never reached the server (connection
 * refused, host name not found; {@link OAuthTransportError.notSent}), so a rotated refresh token is never spent
 * twice. A time-out is not retried. A caller's `AbortSignal` stops the retries too.
 *
 * @see {@link OAuthClientOptions.retry}
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export interface RetryOptions {
  /** Attempts in all, the first included; 1 sends once. Default 3. */
  maxAttempts?: number;
  /**
   * Time budget of the retries, in ms from the start of the call: no retry starts after it, a retry's time
   * limit is cut to what remains, and a `Retry-After` that reaches past it ends the retries. Default 20 000.
   */
  maxElapsedMs?: number;
  /** The first retry waits up to this long, in ms; each later one up to twice as long. Default 250. */
  baseDelayMs?: number;
  /** The longest back-off wait, in ms (a `Retry-After` may ask for longer). Default 5 000. */
  maxDelayMs?: number;
}

/** Time limit of a request when none is given, in ms: send through the last byte of the answer. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The largest answer body read when no limit is given: 1 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** The retry settings used when none are given. */
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = {
  maxAttempts: 3,
  maxElapsedMs: 20_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};
/** Answers worth another try of an idempotent request: rate limited, temporarily unavailable. */
export const RETRY_STATUSES: readonly number[] = [429, 503];
const RETRY_AFTER_SECONDS = /^\s*\d+\s*$/;
/** The three date forms of RFC 9110 §5.6.7: each has a month name and a four- or two-digit year with a time. */
const HTTP_DATE = /^\s*[A-Za-z]{3,9},? .*\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\d{2}:\d{2}:\d{2}/;
const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;
const decoder = new TextDecoder();
const DIGITS = /^\d+$/;

/** Loopback hosts, where plain http never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || IPV4_LOOPBACK.test(hostname);
}

/**
 * The retry settings of a call: the defaults under the options given, or `undefined` for no retries.
 */
export function resolveRetry(retry: RetryOptions | false | undefined): Readonly<Required<RetryOptions>> | undefined {
  if (retry === false) return undefined;
  if (retry === undefined) return DEFAULT_RETRY;
  const settings = { ...DEFAULT_RETRY };
  for (const key of Object.keys(retry) as (keyof RetryOptions)[])
    if (retry[key] !== undefined) settings[key] = retry[key];
  return settings;
}

function noop(): void {}

function tooLarge(response: Response, limit: number): OAuthResponseError {
  return new OAuthResponseError(`response body is larger than ${limit} bytes (maxResponseBytes)`, response.status, {
    response,
  });
}

/**
 * Reads a body as text, counting bytes as they arrive, so an answer over `limit` is refused before it is held
 * whole. An abort of `signal` cancels the body, whether or not the fetch that made it honours signals.
 */
export async function readBody(
  response: Response,
  limit: number,
  signal: AbortSignal | undefined,
  trustLength = false,
): Promise<string> {
  const stream = response.body;
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    stream?.cancel().catch(noop);
    throw tooLarge(response, limit);
  }
  if (stream === null) return "";
  if (signal?.aborted) {
    stream.cancel().catch(noop);
    throw signal.reason;
  }
  // With the runtime's own fetch, a declared length within the limit bounds the body already (fetch refuses a
  // body longer than its Content-Length), so the whole-body read is safe and saves a reader per answer. A
  // custom fetch may declare anything, so its bodies are counted. An abort still ends the read: fetch rejects
  // it on its own signal, and the caller's wait on the abort does not depend on it.
  if (trustLength && declared !== null && DIGITS.test(declared) && !response.headers.has("content-encoding"))
    return response.text();
  const reader = stream.getReader();
  const cancel = () => void reader.cancel().catch(noop);
  signal?.addEventListener("abort", cancel);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (!(size <= limit)) {
        cancel();
        throw tooLarge(response, limit);
      }
      chunks.push(value);
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
  if (signal?.aborted) throw signal.reason;
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decoder.decode(whole);
}

/**
 * Whether a fetch failure proves that the request never reached the server: an error of the `connect` or
 * `getaddrinfo` call (connection refused or unreachable, host name unknown), undici's connect time-out, or an
 * {@link OAuthTransportError} a custom fetch threw with `notSent`. A reset or a closed socket proves nothing:
 * the request may have been read, and a refresh token spent.
 */
export function neverSent(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 8) return false;
  if (error instanceof OAuthTransportError) return error.notSent;
  const { syscall, code, errors, cause } = error as {
    syscall?: unknown;
    code?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (syscall === "connect" || syscall === "getaddrinfo" || code === "UND_ERR_CONNECT_TIMEOUT") return true;
  // Happy eyeballs: an AggregateError of one failed connect per address.
  if (Array.isArray(errors) && errors.length > 0) return errors.every((e) => neverSent(e, depth + 1));
  return neverSent(cause, depth + 1);
}

/** The system or undici code of a fetch failure (`ECONNREFUSED`, `UND_ERR_SOCKET`), for the message. */
export function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 8) return undefined;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (typeof code === "string" && ERROR_CODE.test(code)) return code;
  return errorCode(cause, depth + 1);
}

/**
 * The wait a `Retry-After` header asks for, in ms: a non-negative integer of seconds, or an HTTP date (RFC 9110
 * §10.2.3), which names its month and ends with its zone; `undefined` when absent or anything else (`1.5`, `-5`),
 * which `Date.parse` would otherwise read as a date in the past.
 */
export function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  if (value === null) return undefined;
  if (RETRY_AFTER_SECONDS.test(value)) return Number(value) * 1000;
  const date = HTTP_DATE.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Exponential back-off with full jitter: a random wait up to `baseDelayMs * 2^(retry - 1)`, capped. */
export function backoffMs(retry: Readonly<Required<RetryOptions>>, retryNumber: number): number {
  return Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (retryNumber - 1));
}
