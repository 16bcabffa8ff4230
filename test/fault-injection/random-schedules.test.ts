import { afterAll, describe, expect, test } from "vitest";
import { removeWorkerBundle } from "./checker/bundle";
import { checkSeed } from "./checker/check";
import { runLine, violationReport } from "./checker/report";
import { makeSchedule, type FaultKind } from "./checker/schedule";
import { DEFAULT_SETTINGS } from "./checker/settings";

/**
 * The randomized fault checker's short run (the long one is `npm run check:faults`): a few fixed seeds, each a
 * random schedule of calls and faults against three replicas (worker processes, each a token manager on the Redis
 * store behind a TCP proxy of its own) sharing rotating refresh tokens through a real redis-server, with a token
 * server that revokes the whole family on reuse. After each run the invariants of checker/invariants.ts are
 * checked over the recorded history: no refresh token sent twice, no re-authorization a correct protocol avoids,
 * no token set lost, every call within its bound, recovery once the faults heal, errors that match what the key
 * held. A failing seed prints the history that explains it and how to replay it.
 *
 * The seeds were picked so that, together, their schedules hold every kind of fault and both grants (checked
 * below, from the schedules alone); the settings are the long run's, so `npm run check:faults -- --seed S` replays
 * exactly the schedule of seed S.
 */
const SEEDS = [13, 413, 3081, 99];

afterAll(() => removeWorkerBundle());

describe("random fault schedules against replicas sharing rotating refresh tokens", () => {
  test("the short run's seeds cover every fault and both grants", () => {
    const schedules = SEEDS.map((seed) => makeSchedule(seed, DEFAULT_SETTINGS));
    const kinds = new Set(schedules.flatMap((s) => s.steps.map((step) => step.kind)));
    const faults: FaultKind[] = [
      "stall",
      "stall-holder",
      "kill",
      "kill-holder",
      "clock-step",
      "flushall",
      "corrupt",
      "delete-lock",
      "sigstop",
      "revoke",
      "clear",
      "latency",
      "login",
    ];
    expect(faults.filter((kind) => !kinds.has(kind))).toEqual([]);
    expect(new Set(schedules.map((s) => s.grant))).toEqual(new Set(["refresh_token", "client_credentials"]));
    expect(schedules.some((s) => s.skewsMs.some((skew) => skew >= 300_000))).toBe(true);
  });

  for (const seed of SEEDS) {
    test(`seed ${seed}: the history holds no violation`, { timeout: 60_000 }, async () => {
      const result = await checkSeed(seed);
      console.info(runLine(result));
      const report = violationReport(result);
      if (report !== "") console.info(report);
      expect(result.verdict.violations.length, report).toBe(0);
    });
  }
});
