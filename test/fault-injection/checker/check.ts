/**
 * One seed, end to end: its schedule, the run, the invariants over the history.
 */
import { workerEntry } from "./bundle";
import { execute } from "./execute";
import type { History } from "./history";
import { check, type Verdict } from "./invariants";
import { makeSchedule, type Schedule } from "./schedule";
import { DEFAULT_SETTINGS, type CheckerSettings } from "./settings";

export interface RunResult {
  seed: number;
  schedule: Schedule;
  history: History;
  verdict: Verdict;
  /** How long the run took, start to teardown, in ms. */
  ms: number;
}

/** Runs `seed` and checks its history. Rejects only when the system could not be started. */
export async function checkSeed(seed: number, settings: Partial<CheckerSettings> = {}): Promise<RunResult> {
  const s = { ...DEFAULT_SETTINGS, ...settings };
  const started = Date.now();
  const schedule = makeSchedule(seed, s);
  const history = await execute(schedule, s, await workerEntry());
  return { seed, schedule, history, verdict: check(history), ms: Date.now() - started };
}
