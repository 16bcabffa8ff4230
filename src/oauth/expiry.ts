import { obtainTokenAnswer } from "../../generated/spec";
import { argumentError, readAnswerField } from "../core/validate";

/** The lifetime fields of a token answer, as a server may send them. */
export interface LifetimeFields {
  /** Seconds (RFC 6749 §5.1); a numeric string is accepted too. */
  expires_in?: unknown;
  /** An ISO 8601 string or Unix seconds. */
  expires_at?: unknown;
}

const DIGITS = /^\d+(\.\d+)?$/;
/** The token answer's fields, as the spec declares them: expiry reads `expires_in` and `expires_at` as answers are checked. */
const FIELDS = obtainTokenAnswer.properties ?? {};

/**
 * A timestamp of an answer in epoch milliseconds: Unix seconds (a number, or a string of digits, which is not
 * a year for `Date.parse`) or an ISO 8601 string; `NaN` for anything else. The one reading of `expires_at`,
 * shared by the token manager and the token status mapping.
 *
 * @param value - the field's value as it arrived.
 * @returns epoch milliseconds, or `NaN`.
 * @see https://www.rfc-editor.org/rfc/rfc3339#section-5.6
 */
export function timestampMs(value: unknown): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value !== "string") return NaN;
  return DIGITS.test(value) ? Number(value) * 1000 : Date.parse(value);
}

// One reading with answer validation: a value the answer check accepts is read the same way here.
function fromExpiresIn(value: unknown, sentAtMs: number): number {
  const seconds = readAnswerField(FIELDS.expires_in, value)?.value;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw argumentError(`"expires_in" must be a non-negative integer number of seconds`);
  }
  return sentAtMs + seconds * 1000;
}

function fromExpiresAt(value: unknown): number {
  // One in the past is a token already expired.
  const read = readAnswerField(FIELDS.expires_at, value);
  const parsed = read === undefined ? NaN : timestampMs(read.value);
  if (!Number.isFinite(parsed)) throw argumentError(`"expires_at" must be an ISO 8601 string or Unix seconds`);
  return parsed;
}

/**
 * Computes when an access token expires, in epoch milliseconds.
 *
 * `expires_in` counts from `sentAtMs`, the moment the request was sent: earlier than the answer, so the
 * token is never believed to live longer than it does. When both fields are present, the earlier wins.
 *
 * @param answer - the token answer's `expires_in` and `expires_at`.
 * @param sentAtMs - when the token request was sent, in epoch milliseconds.
 * @returns the expiry, or `undefined` when the answer gives no lifetime.
 * @throws {TypeError} when a field is present but malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function computeExpiresAtMs(answer: LifetimeFields, sentAtMs: number): number | undefined {
  const fromIn = answer.expires_in === undefined ? undefined : fromExpiresIn(answer.expires_in, sentAtMs);
  const fromAt = answer.expires_at === undefined ? undefined : fromExpiresAt(answer.expires_at);
  if (fromIn === undefined) return fromAt;
  if (fromAt === undefined) return fromIn;
  return Math.min(fromIn, fromAt);
}

/**
 * Computes when a token should be replaced: `windowMs` before it expires, but never earlier than halfway
 * through its lifetime, so a token that lives less than twice the window is still used for half its life
 * instead of being refreshed on every call.
 *
 * @param expiresAtMs - when the token expires, or `undefined` for an unknown lifetime.
 * @param obtainedAtMs - when the request that produced it was sent, or `undefined` when unknown.
 * @param windowMs - how long before expiry to refresh.
 * @returns the refresh time in epoch milliseconds; `Infinity` when the lifetime is unknown.
 */
export function computeRefreshAtMs(
  expiresAtMs: number | undefined,
  obtainedAtMs: number | undefined,
  windowMs: number,
): number {
  if (expiresAtMs === undefined) return Infinity;
  const lifetime = obtainedAtMs === undefined ? Infinity : Math.max(0, expiresAtMs - obtainedAtMs);
  return expiresAtMs - Math.min(windowMs, lifetime / 2);
}
