/**
 * Time, one way for the whole library: every wait goes through {@link sleep} or {@link startTimer}, which clamp a
 * delay to what a timer can hold, and every "how long has it been" is read from {@link monotonicMs}, which never
 * steps. Wall-clock time (`Date.now`, or a manager's `now` option) is used only for what other machines must read
 * too (a token's expiry), never to measure a wait or judge another machine's mark.
 */

/**
 * The longest delay a timer can hold, in ms (2^31 - 1, about 24.8 days): `setTimeout` fires at once for anything
 * longer, so every wait is clamped to it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A delay made safe for a timer: `NaN`, negative or missing is 0; above {@link MAX_TIMER_MS} (or `max`, when
 * lower) is that bound.
 */
export function clampDelay(ms: number, max = MAX_TIMER_MS): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, max, MAX_TIMER_MS);
}

let lastWallMs = 0;

/**
 * Milliseconds from an arbitrary origin that only move forward: `performance.now()`, which a wall-clock step
 * (NTP, a user setting the date) does not move. Where it is missing, `Date.now()` is held so it never goes back.
 */
export function monotonicMs(): number {
  const performance = globalThis.performance;
  if (typeof performance?.now === "function") return performance.now();
  lastWallMs = Math.max(lastWallMs, Date.now());
  return lastWallMs;
}

/** Lets a timer not keep the process alive on its own (Node); other runtimes have no `unref`. */
export function unref(timer: unknown): void {
  const handle = timer as { unref?: unknown } | null;
  if (typeof handle === "object" && handle !== null && typeof handle.unref === "function")
    (handle as { unref(): void }).unref();
}

/** A started timer: {@link Timer.cancel} stops it; cancelling a timer that fired is harmless. */
export interface Timer {
  cancel(): void;
}

/**
 * Runs `callback` once after `ms` (clamped by {@link clampDelay}). With `background`, the timer does not keep a
 * Node process alive on its own.
 */
export function startTimer(callback: () => void, ms: number, options: { background?: boolean } = {}): Timer {
  const handle = setTimeout(callback, clampDelay(ms));
  if (options.background === true) unref(handle);
  return { cancel: () => clearTimeout(handle) };
}

/** Waits `ms` (clamped by {@link clampDelay}), or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = startTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
