import { REDACTED } from "../core/redact";
import { argumentError, checkAnswer, checkObject, isPlainObject, placeholder } from "../core/validate";
import { computeExpiresAtMs, computeRefreshAtMs } from "../oauth/expiry";
import type { TokenResponse } from "../oauth/token";
import type { TokenRecord } from "../stores/token-store";
import { obtainTokenAnswer, secretFields } from "../../generated/spec";
import type { Settings } from "./settings";
import { isWriteBack } from "./sightings";

/** Token records: made from answers, checked when handed in, and judged fresh or not. */

/** How long a new token is served at least, whatever its lifetime says (0, or already past by our clock). */
export const MIN_SERVE_MS = 1_000;
const DPOP = /^dpop$/i;
/** A JWK thumbprint as RFC 7638 makes it: base64url, bounded (a SHA-512 one has 86 characters). */
const THUMBPRINT = /^[A-Za-z0-9_-]{1,128}$/;

/** When a record's token is replaced: a window before expiry (wall clock, epoch ms). */
export function refreshAtOf(settings: Settings, record: TokenRecord): number {
  return computeRefreshAtMs(record.expires_at_ms, record.obtained_at_ms, settings.windowMs);
}

/** How long from now a record's token is served from memory; negative when it is due already. */
export function serveForMs(settings: Settings, record: TokenRecord): number {
  return refreshAtOf(settings, record) - settings.now();
}

/**
 * Whether a record's token is fresh and no refresh of it is in flight (a write-back mark is not a refresh: it
 * only holds back the next one).
 */
export function isFresh(settings: Settings, record: TokenRecord | undefined): record is TokenRecord {
  return (
    record !== undefined &&
    (record.refresh_in_flight === undefined || isWriteBack(record.refresh_in_flight)) &&
    serveForMs(settings, record) > 0
  );
}

/** Whether a record's access token has not expired yet by the wall clock (no lifetime: it has not). */
export function isUnexpired(settings: Settings, record: TokenRecord | undefined): record is TokenRecord {
  return record !== undefined && (record.expires_at_ms === undefined || settings.now() < record.expires_at_ms);
}

/** The record without a refresh mark, as it is written back or saved again. */
export function unmarked(record: TokenRecord): TokenRecord {
  if (record.refresh_in_flight === undefined) return record;
  const { refresh_in_flight: _, ...rest } = record;
  return rest;
}

/**
 * The record of a token answer, sent at `sentAt`. `previous` lends its refresh token and scope when the answer
 * has none (RFC 6749 §6 and §5.1); a DPoP-bound set keeps the thumbprint of the manager's key.
 */
export function recordFrom(
  settings: Settings,
  answer: TokenResponse,
  sentAt: number,
  previous: TokenRecord | undefined,
  scope: string | undefined,
): TokenRecord {
  const record: TokenRecord = {
    access_token: answer.access_token,
    token_type: answer.token_type,
    obtained_at_ms: sentAt,
  };
  const expiresAt = computeExpiresAtMs(answer, sentAt);
  if (expiresAt !== undefined) record.expires_at_ms = expiresAt;
  const refreshToken = answer.refresh_token ?? previous?.refresh_token;
  if (refreshToken !== undefined) record.refresh_token = refreshToken;
  const granted = answer.scope ?? scope ?? previous?.scope;
  if (granted !== undefined) record.scope = granted;
  if (settings.dpop !== undefined && DPOP.test(answer.token_type)) record.dpop_jkt = settings.dpop.jkt;
  return record;
}

/** The `cnf.jkt` claim (RFC 9449 §6.1) of an access token that is a JWT, when it has one; never throws. */
export function boundThumbprint(accessToken: string): string | undefined {
  const parts = accessToken.split(".");
  if (parts.length !== 3 || parts[1]!.length > 65_536) return undefined;
  try {
    const json = atob(parts[1]!.replace(/-/g, "+").replace(/_/g, "/"));
    const claims: unknown = JSON.parse(json);
    const cnf = isPlainObject(claims) ? claims.cnf : undefined;
    const jkt = isPlainObject(cnf) ? cnf.jkt : undefined;
    return typeof jkt === "string" && THUMBPRINT.test(jkt) ? jkt : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A token set handed to `setTokens`, checked as the spec's token answer is. A DPoP-bound set (`token_type`
 * `DPoP`) is taken only by a manager with a DPoP key, and, when the access token names the key it is bound to
 * (`cnf.jkt`), with that key: any other manager would send its refresh token without the proof the server needs,
 * and the server would refuse it (`invalid_grant`, tokens cleared).
 *
 * @throws {TypeError} when `tokens` is not a token answer, or is bound to a key the manager does not hold.
 */
export function checkTokens(settings: Settings, tokens: unknown): TokenResponse {
  checkObject(tokens, "tokens");
  for (const field of secretFields) if (tokens[field] === REDACTED) throw argumentError(placeholder(`tokens.${field}`));
  const fail = (message: string): never => {
    throw argumentError(message);
  };
  const answer = checkAnswer(obtainTokenAnswer, tokens, fail, "tokens") as TokenResponse;
  if (!DPOP.test(answer.token_type)) return answer;
  const held = settings.dpop?.jkt;
  if (held === undefined)
    fail('tokens: a DPoP-bound token set ("token_type": "DPoP") needs a manager with the DPoP key (options.dpop)');
  const bound = boundThumbprint(answer.access_token);
  if (bound !== undefined && bound !== held)
    fail(`tokens: the access token is bound to DPoP key ${bound} (cnf.jkt), not to this manager's (${held})`);
  return answer;
}
