import { monotonicMs, sleep } from "../core/clock";
import { TokenStoreCorruptError, type RefreshInFlight, type TokenRecord } from "../stores/token-store";
import type { KeyRun } from "./cache";
import type { Lifecycle } from "./context";
import { ReauthorizationRequiredError, TokenRefreshInFlightError } from "./errors";
import { serveCurrentOrThrow } from "./fallback";
import { ABANDONED_REFRESH_MS, isWriteBack, settleMs, WRITE_BACK_HOLDER } from "./sightings";
import { isFresh, serveForMs, unmarked } from "./records";
import type { Settings } from "./settings";
import { readStore } from "./store-access";

/**
 * Refresh marks. Before a manager on a shared (locking) store sends refresh token X, it writes a mark into the
 * record under its lock; another manager that finds the mark does not send X, but waits (bounded) for the
 * outcome. A mark is judged by how long THIS process has seen it stand, from its first sighting on its own
 * monotonic clock, never by comparing the mark's time, written by another machine's clock, with this one's.
 */

/** How often a manager waiting for another's outcome reads the store, in ms (jittered). */
const POLL_MS = 100;

/** Writes this manager's mark on `record` (under the key's lock), just before its refresh token is sent. */
export async function placeMark(life: Lifecycle, key: string, record: TokenRecord): Promise<void> {
  const mark: RefreshInFlight = { holder: life.marks.holder(), since_ms: life.settings.now() };
  await life.settings.store.set(key, { ...unmarked(record), refresh_in_flight: mark });
}

/**
 * A copy of a record as it is written back after the store lost the key's record: with a write-back mark when it
 * holds a refresh token and the store is shared, since the store may have lost a refresh mark with the record.
 */
export function writeBackOf(life: Lifecycle, copy: TokenRecord): TokenRecord {
  const record = unmarked(copy);
  if (!life.settings.marksRefreshes || record.refresh_token === undefined) return record;
  const mark = { holder: WRITE_BACK_HOLDER + life.marks.holder(), since_ms: life.settings.now() };
  return { ...record, refresh_in_flight: mark };
}

/**
 * Lifts this manager's mark after an attempt that ended without a new token, so the refresh token may be sent
 * again. A plain write under the lock: while this manager holds it, the mark can only be its own. Best effort.
 */
export async function liftMark(settings: Settings, key: string, record: TokenRecord): Promise<void> {
  await settings.store.set(key, unmarked(record)).catch(() => {});
}

/**
 * Whether `mark` no longer holds back a refresh: a write-back mark (`sightings.ts`) that this process has seen
 * stand for its settling time. A refresh mark never settles; it is waited out or given up on.
 */
export function settled(life: Lifecycle, key: string, mark: RefreshInFlight): boolean {
  return isWriteBack(mark) && life.marks.standing(key, mark) >= settleMs(life.settings.timeoutMs);
}

/**
 * A record written back with a write-back mark that has not settled, whose access token has not expired: its
 * token, served from memory until the mark settles or the token expires. Not a failure; the refresh waits.
 * `undefined` when the record is not such a record.
 */
export function serveWhileSettling(life: Lifecycle, run: KeyRun, record: TokenRecord): string | undefined {
  const { settings } = life;
  const mark = record.refresh_in_flight;
  if (mark === undefined || !isWriteBack(mark) || record.expires_at_ms === undefined) return undefined;
  const left = Math.min(
    settleMs(settings.timeoutMs) - life.marks.standing(run.key, mark),
    record.expires_at_ms - settings.now(),
  );
  if (left <= 0) return undefined;
  life.cache.remember(run, record, left);
  return record.access_token;
}

/** What came of another manager's refresh: a token to serve, or a record to refresh (its attempt failed). */
export type Outcome = { token: string } | { refresh: TokenRecord };

/**
 * Another manager marked the stored refresh token as being spent: waits, at most `refreshInFlightWaitMs`, for
 * the outcome it stores, and uses it; never sends that refresh token. Past the wait, the current token is served
 * while it has not expired, else {@link TokenRefreshInFlightError} is thrown (retryable), or, once this process
 * has seen the same mark stand for 5 minutes, {@link ReauthorizationRequiredError} (`refresh_outcome_unknown`).
 * A write-back mark that settles meanwhile hands back its record, to refresh.
 * A store value that is not a record is {@link TokenStoreCorruptError} at once.
 */
export async function awaitOutcome(life: Lifecycle, run: KeyRun, record: TokenRecord): Promise<Outcome> {
  const { settings, marks } = life;
  const started = monotonicMs();
  const deadline = started + settings.inFlightWaitMs;
  let mark = record.refresh_in_flight!;
  let standing = marks.standing(run.key, mark);
  // Counted as well as timed: a wait is bounded even by a clock that stopped.
  for (let polls = settings.inFlightWaitMs / (POLL_MS / 2); standing < ABANDONED_REFRESH_MS && polls > 0; polls--) {
    if (monotonicMs() >= deadline) break;
    await sleep(Math.min(deadline - monotonicMs(), POLL_MS * (0.5 + Math.random())));
    let current: TokenRecord | undefined;
    try {
      current = await readStore(settings, run.key);
    } catch (error) {
      if (error instanceof TokenStoreCorruptError)
        return { token: serveCurrentOrThrow(life, run, record, error, monotonicMs() - started) };
      continue; // The store is what the other manager waits for too; keep waiting within the bound.
    }
    // Deleted on purpose, or lost: the other manager writes its outcome back once it can.
    if (current === undefined) continue;
    if (current.refresh_token === record.refresh_token && current.refresh_in_flight !== undefined) {
      mark = current.refresh_in_flight;
      if (settled(life, run.key, mark)) return { refresh: current };
      standing = marks.standing(run.key, mark);
      continue;
    }
    marks.forget(run.key);
    if (!isFresh(settings, current)) return { refresh: current };
    life.cache.remember(run, current, serveForMs(settings, current));
    return { token: current.access_token };
  }
  standing = marks.standing(run.key, mark);
  const error =
    standing >= ABANDONED_REFRESH_MS
      ? new ReauthorizationRequiredError(run.key, "refresh_outcome_unknown")
      : new TokenRefreshInFlightError(run.key, standing);
  return { token: serveCurrentOrThrow(life, run, record, error, monotonicMs() - started) };
}
