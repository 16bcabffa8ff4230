import { argumentError, checkObject, checkPositive } from "../core/validate";
import { startTimer, type Timer } from "../core/clock";
import {
  DELETED_MARKER_MS,
  DELETED_MARKER_NO_LIFETIME_MS,
  holdsNewer,
  type TokenRecord,
  type TokenStore,
} from "./token-store";

/**
 * Options of {@link createMemoryTokenStore}.
 *
 * @see {@link createMemoryTokenStore}
 */
export interface MemoryTokenStoreOptions {
  /**
   * How often expired records without a refresh token (and expired deletion markers) are dropped, in ms. The
   * sweep runs on a timer that never keeps the process alive, and only while the store holds something that
   * can expire, and on the first call once this long has passed by the store's clock (`now`), so that a clock
   * that moves on faster than the timer (a test's, a wall clock stepped forward) drops them at its next call.
   * Default 60 000.
   */
  sweepIntervalMs?: number;
  /** The clock that expiries are read with, in epoch ms. Default `Date.now`; a token manager's default store uses its `now`. */
  now?: () => number;
}

/** A record, or the marker a deletion leaves (`record` undefined), and when it is dropped (epoch ms). */
interface Slot {
  record: TokenRecord | undefined;
  dropAt: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/** When a store drops a record on its own: never while it holds a refresh token or has no lifetime. */
function recordDropAtMs(record: TokenRecord): number {
  if (record.refresh_token !== undefined || record.expires_at_ms === undefined) return Infinity;
  return record.expires_at_ms;
}

/**
 * How long the marker of a deliberate deletion lasts, in ms: as long as any copy of the deleted access token may
 * still be valid, plus a minute for clocks that disagree; a minute when nothing was stored.
 */
function deletedMarkerMs(deleted: TokenRecord | undefined, now: number): number {
  if (deleted === undefined) return DELETED_MARKER_MS;
  if (deleted.expires_at_ms === undefined) return DELETED_MARKER_NO_LIFETIME_MS;
  return Math.max(DELETED_MARKER_MS, Math.ceil(deleted.expires_at_ms - now) + DELETED_MARKER_MS);
}

function checkOptions(options: MemoryTokenStoreOptions): void {
  checkObject(options, "options");
  checkPositive(options.sweepIntervalMs, "options.sweepIntervalMs");
  if (options.now !== undefined && typeof options.now !== "function")
    throw argumentError("options.now must be a function");
}

/**
 * Creates a {@link TokenStore} that keeps records in memory, for one process. It is the token manager's
 * default. Records are copied in and out, so a caller that changes a record it got changes nothing stored.
 * A record without a refresh token is dropped once its access token expires (when read, and by a periodic
 * sweep), so memory stays flat however many short-lived keys pass through.
 *
 * @param options - optionally, how often the sweep runs.
 * @returns a new, empty store.
 * @throws {TypeError} when an option is malformed.
 * @see {@link TokenManagerBaseOptions.store}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.4
 */
export function createMemoryTokenStore(options: MemoryTokenStoreOptions = {}): TokenStore {
  checkOptions(options);
  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  /** How many slots can expire: the sweep timer runs only while there are some. */
  let expiring = 0;
  let timer: Timer | undefined;
  /** When the next sweep is due by the store's clock; a call from then on sweeps without waiting for the timer. */
  let sweepAt = Infinity;

  function drop(key: string, slot: Slot): void {
    slots.delete(key);
    if (slot.dropAt !== Infinity) expiring -= 1;
  }

  function sweep(): void {
    timer?.cancel();
    timer = undefined;
    sweepAt = Infinity;
    const t = now();
    for (const [key, slot] of slots) if (slot.dropAt <= t) drop(key, slot);
    schedule();
  }

  function schedule(): void {
    if (timer !== undefined || expiring === 0) return;
    sweepAt = now() + sweepIntervalMs;
    timer = startTimer(sweep, sweepIntervalMs, { background: true });
  }

  /**
   * Sweeps when the store's clock says a sweep is due. The timer alone runs by real time, while expiries are read
   * with `now`: a manager's clock moved on (a test's, or a wall clock stepped forward) would otherwise leave every
   * expired record in memory until the timer comes round.
   */
  function sweepIfDue(t: number): void {
    if (t >= sweepAt) sweep();
  }

  function put(key: string, slot: Slot): void {
    const old = slots.get(key);
    if (old !== undefined) drop(key, old);
    slots.set(key, slot);
    if (slot.dropAt !== Infinity) {
      expiring += 1;
      schedule();
    }
  }

  /** The live slot of `key`, dropping an expired one (and every other, when a sweep is due). */
  function live(key: string, t = now()): Slot | undefined {
    sweepIfDue(t);
    const slot = slots.get(key);
    if (slot === undefined || slot.dropAt > t) return slot;
    drop(key, slot);
    return undefined;
  }

  return {
    async get(key) {
      const record = live(key)?.record;
      return record === undefined ? undefined : { ...record };
    },
    async set(key, record) {
      sweepIfDue(now());
      put(key, { record: { ...record }, dropAt: recordDropAtMs(record) });
    },
    async delete(key) {
      const t = now();
      const deleted = live(key, t);
      // A marker already there stays as it is: it covers the record it replaced.
      if (deleted !== undefined && deleted.record === undefined) return;
      put(key, { record: undefined, dropAt: t + deletedMarkerMs(deleted?.record, t) });
    },
    async setUnlessNewer(key, record, { replacing } = {}) {
      const current = live(key);
      if (current !== undefined) {
        const stored = current.record;
        if (stored === undefined || holdsNewer(stored, record, replacing)) return false;
      }
      put(key, { record: { ...record }, dropAt: recordDropAtMs(record) });
      return true;
    },
  };
}
