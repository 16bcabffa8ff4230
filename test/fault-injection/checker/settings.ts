/**
 * The timings of one checker run: short token lifetimes, lock TTLs and waits, so that a run of a few seconds sees
 * many refreshes and every fault outlasts (or not) the lock; clock skews are minutes, since they only move the
 * managers' `now`.
 */
export interface CheckerSettings {
  /** Replicas (worker processes), each with its own TCP proxy to Redis. */
  replicas: number;
  /** How long the schedule runs, in ms; the final phase (faults healed, final reads) comes after. */
  durationMs: number;
  /** The store's `lockTtlMs`. Stalls are drawn shorter and longer than it. */
  lockTtlMs: number;
  /** The store's `lockWaitMs`. */
  lockWaitMs: number;
  /** The store's `pollIntervalMs`. */
  pollIntervalMs: number;
  /** The store's `commandTimeoutMs`. */
  commandTimeoutMs: number;
  /** The manager's `refreshInFlightWaitMs`. */
  refreshInFlightWaitMs: number;
  /** The manager's `requestTimeoutMs`. */
  requestTimeoutMs: number;
  /** The manager's `refreshWindowSeconds`. */
  refreshWindowSeconds: number;
  /** Gap between two calls of one replica, in ms: drawn uniformly in [min, max]. */
  callGapMs: readonly [number, number];
  /** How many faults a schedule holds: drawn uniformly in [min, max]. */
  faults: readonly [number, number];
  /**
   * What a replica's clock skew moves: `"process"` its whole wall clock (`Date.now`, read by the manager through
   * its `now` option, by the store and by the waits), as on a machine whose clock is off or steps; `"manager"` the
   * manager's `now` option alone, which leaves the store's clock (record TTLs) right and so tests less.
   */
  clock: "process" | "manager";
}

export const DEFAULT_SETTINGS: CheckerSettings = {
  replicas: 3,
  durationMs: 4_000,
  lockTtlMs: 600,
  lockWaitMs: 2_500,
  pollIntervalMs: 25,
  commandTimeoutMs: 300,
  refreshInFlightWaitMs: 1_500,
  requestTimeoutMs: 2_500,
  refreshWindowSeconds: 1,
  callGapMs: [40, 300],
  faults: [3, 7],
  clock: "process",
};

/** The age past which a manager gives up on another process' refresh mark (the manager's 5-minute bound). */
export const ABANDONED_REFRESH_MS = 300_000;

/**
 * The longest a call may take, in ms: the lock wait, one wait for another replica's refresh, the token request, a
 * handful of Redis commands each bounded by its time limit, a second of rate limit, and slack for a loaded 2-core
 * machine. Anything slower is a violation; no answer within it plus a margin is a hang.
 */
export function callBoundMs(s: CheckerSettings): number {
  return s.lockWaitMs + s.refreshInFlightWaitMs + s.requestTimeoutMs + 8 * s.commandTimeoutMs + 1_000 + 1_500;
}
