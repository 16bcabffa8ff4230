import { monotonicMs } from "../core/clock";
import { OAuthError } from "../core/errors";
import { argumentError } from "../core/validate";
import type { GrantParams, RequestFormat, TokenResponse } from "../oauth/token";
import type { TokenRecord } from "../stores/token-store";
import type { KeyRun, Unpersisted } from "./cache";
import type { Lifecycle } from "./context";
import { ReauthorizationRequiredError } from "./errors";
import { serveCurrentOrThrow } from "./fallback";
import { awaitOutcome, liftMark, placeMark, serveWhileSettling, settled } from "./marks";
import { isFresh, MIN_SERVE_MS, recordFrom, serveForMs } from "./records";
import { reinstate } from "./reinstate";
import { keepUnsaved } from "./saves";
import { callOptions, type Settings } from "./settings";
import { persist, readStore, type SaveMode } from "./store-access";

/**
 * The refresh protocol: decide whether the grant may be sent, mark a refresh token before it leaves, send the
 * grant within the request budget, and save the answer (compare-and-set against the refresh token spent) before
 * any caller sees it; a refusal clears the dead token set unless another manager replaced it meanwhile.
 */

/**
 * Whether a refused refresh means the refresh token is dead: `invalid_grant`, a 400 with no OAuth error body,
 * or what `isRefusedGrant` counts; never a 401 or 403, which are about the client's own authentication.
 */
export function refusesGrant(error: OAuthError, isRefusedGrant: Settings["isRefusedGrant"]): boolean {
  if (error.status === 401 || error.status === 403) return false;
  if (error.requiresReauthorization) return true;
  if (error.status === 400 && error.body === undefined && error.error === "http_400") return true;
  return isRefusedGrant?.(error) === true;
}

/** Why a refresh_token grant cannot be sent with this record, if it cannot; and for how long that holds. */
function blocker(life: Lifecycle, key: string, record: TokenRecord | undefined) {
  // Retrying cannot help: only a new authorization (setTokens) brings a refresh token.
  if (record?.refresh_token === undefined)
    return { error: new ReauthorizationRequiredError(key, "no_refresh_token"), retryAfterMs: Infinity };
  const boundTo = record.dpop_jkt;
  const held = life.settings.dpop?.jkt;
  if (boundTo === undefined || boundTo === held) return undefined;
  // The server would refuse it (and the user's tokens would be cleared): a configuration error, not theirs.
  const error = argumentError(
    `options.dpop: the tokens of "${key}" are bound to DPoP key ${boundTo}, not to this manager's (${held ?? "none"}); every process that shares the store needs the same key`,
  );
  return { error, retryAfterMs: undefined };
}

/**
 * Obtains a new token set for the key (under its lock, when the store has one) and returns its access token.
 * `mode` says how the new set is saved (see {@link SaveMode}).
 */
export async function obtain(
  life: Lifecycle,
  run: KeyRun,
  record: TokenRecord | undefined,
  mode: SaveMode = "compare",
): Promise<string> {
  const { settings } = life;
  if (settings.grantType === "refresh_token") {
    const stop = blocker(life, run.key, record);
    if (stop !== undefined) return serveCurrentOrThrow(life, run, record, stop.error, 0, stop.retryAfterMs);
    // Never sent twice by this manager: an older copy written back gives way to the set this token brought.
    if (run.slot.spent !== undefined && run.slot.spent.refreshToken === record!.refresh_token)
      return obtain(life, run, await reinstate(life, run), mode);
    const mark = record!.refresh_in_flight;
    if (
      settings.marksRefreshes &&
      mark !== undefined &&
      mark.holder !== life.marks.holder() &&
      !settled(life, run.key, mark)
    ) {
      const settling = serveWhileSettling(life, run, record!);
      if (settling !== undefined) return settling;
      const outcome = await awaitOutcome(life, run, record!);
      return "token" in outcome ? outcome.token : obtain(life, run, outcome.refresh);
    }
  }
  await life.budget.take(run.key);
  if (settings.marksRefreshes) {
    try {
      // Recorded before the refresh token leaves, under the lock: whoever holds the lock next will not send it.
      await placeMark(life, run.key, record!);
    } catch (error) {
      // Not sent. A mark that reached the store anyway (a time-out, or one replicas did not acknowledge) is lifted.
      await liftMark(settings, run.key, record!);
      return serveCurrentOrThrow(life, run, record, error, 0);
    }
  }
  return send(life, run, record, mode);
}

function request(settings: Settings, spent: string | undefined): Promise<TokenResponse> {
  const options = { ...callOptions(settings), dpop: settings.dpop };
  const { client, grantParams } = settings;
  return spent === undefined
    ? client.clientCredentials(grantParams as GrantParams<"client_credentials">, options)
    : client.refreshToken(
        { ...grantParams, refresh_token: spent } as GrantParams<"refresh_token", RequestFormat>,
        options,
      );
}

/** Sends the grant's token request and saves the answer before any caller sees it. */
async function send(life: Lifecycle, run: KeyRun, record: TokenRecord | undefined, mode: SaveMode) {
  const { settings } = life;
  const refreshing = settings.grantType === "refresh_token";
  const spent = refreshing ? record!.refresh_token : undefined;
  const started = monotonicMs();
  const sentAt = settings.now();
  let answer: TokenResponse;
  try {
    answer = await request(settings, spent);
  } catch (error) {
    const durationMs = monotonicMs() - started;
    if (refreshing && error instanceof OAuthError && refusesGrant(error, settings.isRefusedGrant))
      return refused(life, run, record!, error, durationMs);
    // A manager that lost its lock meanwhile lifts it all the same: its own mark does not stop it either.
    if (settings.marksRefreshes) await liftMark(settings, run.key, record!);
    return serveCurrentOrThrow(life, run, record, error, durationMs);
  }
  const next = recordFrom(settings, answer, sentAt, refreshing ? record : undefined, settings.requestedScope);
  const pending: Unpersisted = { record: next, replacing: spent };
  // Spent only when rotated: a server that keeps the refresh token takes it again.
  if (spent !== undefined && next.refresh_token !== spent && run.slot.epoch === run.epoch)
    run.slot.spent = { refreshToken: spent, successor: next };
  // A new token is served for a second at least: one with no usable lifetime serves the calls of that second.
  const serveFor = Math.max(serveForMs(settings, next), MIN_SERVE_MS);
  let written: boolean;
  try {
    written = await persist(settings, run.key, pending, mode);
  } catch (error) {
    // Handed over all the same, and kept: it may hold the only copy of a rotated refresh token.
    keepUnsaved(life, run, pending);
    life.cache.remember(run, next, serveFor);
    life.report.failed(run.key, error, monotonicMs() - started, true);
    return next.access_token;
  }
  // Not written: the store holds a newer token set, or the key was deleted meanwhile. This token is still
  // valid for this caller; the next call reads the store.
  if (!written) return next.access_token;
  life.cache.remember(run, next, serveFor);
  life.report.refreshed({
    key: run.key,
    durationMs: monotonicMs() - started,
    expiresAtMs: next.expires_at_ms,
    refreshTokenRotated: answer.refresh_token !== undefined && answer.refresh_token !== record?.refresh_token,
    ...(next.scope === undefined ? {} : { scope: next.scope }),
  });
  return next.access_token;
}

/** A refused refresh: clears the dead token set, unless another manager already replaced it. */
async function refused(life: Lifecycle, run: KeyRun, sent: TokenRecord, cause: OAuthError, durationMs: number) {
  const { settings } = life;
  const reason = cause.requiresReauthorization ? "invalid_grant" : "refused_grant";
  const failure = new ReauthorizationRequiredError(run.key, reason, { cause });
  run.slot.entry = undefined;
  let current: TokenRecord | undefined;
  try {
    current = await readStore(settings, run.key);
    if (current !== undefined && current.refresh_token === sent.refresh_token) {
      await settings.store.delete(run.key);
      current = undefined;
    }
  } catch {
    // The user must authorize again whatever the store says; a later call meets invalid_grant again.
    current = undefined;
  }
  if (isFresh(settings, current)) {
    // Another manager refreshed in between, which is why this refresh token was refused: use its tokens.
    life.cache.remember(run, current, serveForMs(settings, current));
    return current.access_token;
  }
  life.report.failed(run.key, failure, durationMs, false);
  throw failure;
}
