/**
 * The randomized fault checker's long run: `npm run check:faults` runs 200 seeds of random schedules (calls,
 * stalled links, clock skews and steps, kill -9, FLUSHALL, corrupt values, a deleted lock, a frozen Redis,
 * concurrent revoke and clear) against replicas sharing rotating refresh tokens through a real redis-server, checks
 * the invariants over each history, and prints a line per run, each failing run's violations with the history that
 * explains them, and a table of figures. See test/fault-injection/checker/.
 *
 *   npm run check:faults                       200 seeds (1..200)
 *   npm run check:faults -- --seeds 20         20 seeds
 *   npm run check:faults -- --seed 1234        replay one seed (same schedule; the timing of processes varies)
 *   npm run check:faults -- --replicas 5       five replicas instead of three
 *   npm run check:faults -- --first 1000       seeds from 1000 on
 *   npm run check:faults -- --seed 12 --history   also print the whole history of the run
 *
 * Exits 1 when any run has a violation.
 */
import { parseArgs } from "node:util";
import { removeWorkerBundle } from "../test/fault-injection/checker/bundle";
import { checkSeed, type RunResult } from "../test/fault-injection/checker/check";
import {
  callEntry,
  faultEntry,
  loginEntry,
  observationEntry,
  requestEntry,
  timeline,
} from "../test/fault-injection/checker/entries";
import { Facts } from "../test/fault-injection/checker/facts";
import { runLine, summaryTable, violationReport } from "../test/fault-injection/checker/report";
import { DEFAULT_SETTINGS } from "../test/fault-injection/checker/settings";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "200" },
    seed: { type: "string" },
    first: { type: "string", default: "1" },
    replicas: { type: "string", default: String(DEFAULT_SETTINGS.replicas) },
    history: { type: "boolean", default: false },
  },
});

function whole(name: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}`);
    process.exit(2);
  }
  return n;
}

const replicas = whole("replicas", values.replicas, 2);
const seeds =
  values.seed !== undefined
    ? [whole("seed", values.seed, 0)]
    : Array.from({ length: whole("seeds", values.seeds, 1) }, (_, i) => whole("first", values.first, 0) + i);

function printHistory(r: RunResult): void {
  const f = new Facts(r.history);
  const h = r.history;
  const entries = timeline([
    ...h.calls.map((c) => callEntry(c, f)),
    ...h.faults.map((x) => faultEntry(x, f)),
    ...h.logins.map(loginEntry),
    ...h.requests.map((q) => requestEntry(q, f)),
    ...h.observations.map((o) => observationEntry(o, f)),
    { at: h.finalAt, text: "---- schedule over: faults healed, final reads ----" },
  ]);
  for (const e of entries) console.info(`  +${String(e.at - h.t0).padStart(6)} ms  ${e.text}`);
}

const results: RunResult[] = [];
const started = Date.now();

function summarize(): void {
  console.info("");
  console.info(summaryTable(results, Date.now() - started));
  const failed = results.filter((r) => r.verdict.violations.length > 0).map((r) => r.seed);
  if (failed.length > 0) {
    console.info(`\n${failed.length} failing seed(s): ${failed.join(" ")}`);
    process.exitCode = 1;
  }
}

// Interrupted (Ctrl-C, a CI time limit): the figures of the runs done so far, then out. The run under way is
// abandoned; its redis-server is killed by its own exit hook and its replicas exit with this process.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    console.info(`\n${signal}: stopped after ${results.length} run(s)`);
    summarize();
    removeWorkerBundle();
    process.exit(130);
  });
console.info(
  `fault checker: ${seeds.length} seed(s), ${replicas} replicas, schedules of ${DEFAULT_SETTINGS.durationMs} ms`,
);
try {
  for (const seed of seeds) {
    const result = await checkSeed(seed, { replicas });
    results.push(result);
    console.info(runLine(result));
    if (values.history) printHistory(result);
    const report = violationReport(result);
    if (report !== "") console.info(report);
  }
} finally {
  removeWorkerBundle();
}
summarize();
