import { monotonicMs, sleep } from "../core/clock";

/**
 * The request budget: at most `maxPerSecond` token requests per key per second, by the monotonic clock, so a
 * wall clock stepped back (NTP, a test's `now`) can neither stretch a wait nor lift the limit. A request over the
 * budget waits its turn, never more than a second.
 */
export interface RequestBudget {
  /** Waits, at most a second, until the key may send another token request, and counts it. */
  take(key: string): Promise<void>;
  /** Forgets keys that sent nothing within the last second. */
  sweep(): void;
  /** How many keys hold recent sends (for tests of memory use). */
  readonly size: number;
}

const WINDOW_MS = 1_000;

/** Creates a request budget; `clock` is monotonic (injectable for tests). */
export function createRequestBudget(maxPerSecond: number, clock: () => number = monotonicMs): RequestBudget {
  const sends = new Map<string, number[]>();
  const recent = (key: string, t: number): number[] => (sends.get(key) ?? []).filter((at) => t - at < WINDOW_MS);
  return {
    async take(key) {
      let t = clock();
      // Checked again after each wait: a timer may fire a little early by this clock. Bounded all the same.
      for (let turns = 0; turns < 3 && recent(key, t).length >= maxPerSecond; turns++) {
        // The oldest send leaves the window then; clamped, since nothing here may wait more than the window.
        await sleep(Math.min(WINDOW_MS, recent(key, t)[0]! + WINDOW_MS - t) + 1);
        t = clock();
      }
      const kept = recent(key, t);
      kept.push(t);
      sends.set(key, kept);
    },
    sweep() {
      const t = clock();
      for (const [key, list] of sends) if (list.every((at) => t - at >= WINDOW_MS)) sends.delete(key);
    },
    get size() {
      return sends.size;
    },
  };
}
