/**
 * `npm run bench`: every benchmark, one after another, then issue 22's targets against this run's figures, as a
 * Markdown table to paste into the README. Benchmarks print numbers; they are not tests and assert nothing: a
 * missed target is reported as **NOT met**, and the bench still exits 0.
 *
 * For a target it misses, it shows where the bytes or the microseconds go (scripts/bench-breakdown.ts) before
 * the closing table. BENCH_BREAKDOWN=always|never overrides that.
 *
 * Set BENCH_ONLY=peers|manager|redis|breakdown to run one part (the closing table needs peers).
 */
import { sizeBreakdown, timeBreakdown } from "./bench-breakdown";
import { type PeerFigures, runPeers } from "./bench-peers";
import { closingTable, verdicts } from "./bench/targets";

const only = process.env.BENCH_ONLY;
const breakdowns = process.env.BENCH_BREAKDOWN ?? "missed";
const started = new Date();
/** Minutes each part took, for the closing line: the bench is meant to stay near 5 minutes on this machine. */
const took: string[] = [];
async function part<T>(name: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await run();
  took.push(`${name} ${((performance.now() - start) / 60_000).toFixed(1)}`);
  return result;
}

let peers: PeerFigures | undefined;
if (!only || only === "peers") peers = await part("peers", runPeers);
if (!only || only === "manager") await part("manager", () => import("./bench-token-manager"));
if (!only || only === "redis") await part("redis", () => import("./bench-redis"));
if (only === "breakdown") {
  await sizeBreakdown();
  await timeBreakdown();
}

if (peers) {
  const { packed } = peers;
  const rows = verdicts(peers);
  const show = (kind: string) =>
    breakdowns === "always" || (breakdowns === "missed" && rows.some((row) => row.kind === kind && !row.met));
  if (show("size")) await part("KB breakdown", sizeBreakdown);
  if (show("request")) await part("µs breakdown", () => timeBreakdown(packed));
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  const when = `${started.toISOString().slice(0, 10)}, Node ${process.versions.node}; ${minutes} min: ${took.join(", ")}`;
  console.log(`\n${closingTable(rows, when)}`);
}
