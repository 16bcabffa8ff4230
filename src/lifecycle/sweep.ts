import { monotonicMs, startTimer, type Timer } from "../core/clock";
import type { Lifecycle } from "./context";

/**
 * The sweep: drops the in-memory state of idle keys whose token has expired, the request budget's old sends and
 * stale mark sightings, so that every key ever used does not stay in memory. It runs on a call once it is due by
 * either clock (a wall clock stepped back does not put it off, nor does a test's clock moved ahead), and from a
 * background timer while anything is held, so an idle manager frees memory too. The timer never keeps a process
 * alive.
 */

/** How often, at most, the sweep runs. */
export const SWEEP_INTERVAL_MS = 60_000;

/** Runs the sweep when it is due. */
export interface Sweeper {
  /** Sweeps now if a sweep is due, and keeps the background timer while anything is held. */
  due(): void;
}

/** Creates the sweep of one manager. */
export function createSweeper(life: Lifecycle, intervalMs = SWEEP_INTERVAL_MS): Sweeper {
  let next = { wall: -Infinity, mono: -Infinity };
  let timer: Timer | undefined;

  function sweep(): void {
    const wall = life.settings.now();
    next = { wall: wall + intervalMs, mono: monotonicMs() + intervalMs };
    life.cache.sweep(wall);
    life.budget.sweep();
    life.marks.sweep();
  }

  function keepTimer(): void {
    if (timer !== undefined || life.cache.size + life.budget.size === 0) return;
    timer = startTimer(
      () => {
        timer = undefined;
        sweep();
        keepTimer();
      },
      intervalMs,
      { background: true },
    );
  }

  return {
    due() {
      if (life.settings.now() >= next.wall || monotonicMs() >= next.mono) sweep();
      keepTimer();
    },
  };
}
