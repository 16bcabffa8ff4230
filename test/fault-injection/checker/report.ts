/**
 * What the checker prints: a line per run, the violations of a failing run with the shortest excerpt of history
 * that explains each and how to replay it, and the table of figures over all runs.
 */
import type { RunResult } from "./check";
import { signed } from "./facts";
import { INVARIANTS, type Invariant } from "./invariants";

/** The longest excerpt printed for one violation; the middle of a longer one is elided. */
const EXCERPT_LINES = 18;

/** The command that replays `seed`: the same schedule (the processes' timing varies from run to run). */
export function replayCommand(seed: number, replicas: number): string {
  return `npm run check:faults -- --seed ${seed}${replicas === 3 ? "" : ` --replicas ${replicas}`}`;
}

/** One line per run: seed, grant, operations, faults, token requests, violations, time, clock skews. */
export function runLine(r: RunResult): string {
  const faults = Object.values(r.verdict.figures.faults).reduce((a, b) => a + b, 0);
  const ops = r.history.calls.length;
  const skews = r.schedule.skewsMs.map((s) => (s === 0 ? "0" : signed(s))).join("/");
  return [
    `seed ${String(r.seed).padStart(5)}`,
    r.schedule.grant.padEnd(18),
    `ops ${String(ops).padStart(3)}`,
    `faults ${String(faults).padStart(2)}`,
    `token requests ${String(r.verdict.figures.tokenRequests).padStart(3)}`,
    `violations ${r.verdict.violations.length}`,
    `(${(r.ms / 1000).toFixed(1)} s; clocks ${skews})`,
  ].join("  ");
}

/** The violations of a run, each with its excerpt; empty for a clean run. */
export function violationReport(r: RunResult): string {
  if (r.verdict.violations.length === 0) return "";
  const t0 = r.history.t0;
  const lines = [`seed ${r.seed} FAILED: ${r.verdict.violations.length} violation(s)`];
  lines.push(
    `  schedule: ${r.schedule.grant}, tokens live ${r.schedule.lifetimeSeconds} s, clocks ${r.schedule.skewsMs.map((s) => signed(s)).join(" / ")}, ` +
      `${r.schedule.steps
        .filter((s) => s.kind !== "get")
        .map((s) => `${s.kind}@${s.at}`)
        .join(", ")}`,
  );
  for (const v of r.verdict.violations) {
    lines.push(`  ${INVARIANTS[v.invariant]}: ${v.summary}${v.count > 1 ? ` (x${v.count})` : ""}`);
    if (v.diagnosis) lines.push(`    why: ${v.diagnosis}`);
    const evidence =
      v.evidence.length <= EXCERPT_LINES
        ? v.evidence
        : [
            ...v.evidence.slice(0, 4),
            { at: NaN, text: `... ${v.evidence.length - EXCERPT_LINES + 1} more lines ...` },
            ...v.evidence.slice(-(EXCERPT_LINES - 5)),
          ];
    for (const e of evidence)
      lines.push(`    ${Number.isNaN(e.at) ? "".padStart(9) : `+${String(e.at - t0).padStart(6)} ms`}  ${e.text}`);
  }
  lines.push(`  replay: ${replayCommand(r.seed, r.history.settings.replicas)} (add --history for the whole history)`);
  return lines.join("\n");
}

/** The figures summed over runs, and the seeds that broke each invariant. */
function totals(results: RunResult[]) {
  const t = {
    runs: results.length,
    refreshToken: 0,
    failingRuns: 0,
    calls: 0,
    outcomes: {} as Record<string, number>,
    faults: {} as Record<string, number>,
    tokenRequests: 0,
    replays: { allowed: 0, violations: 0 },
    reauthorizations: { allowed: {} as Record<string, number>, violations: 0 },
    lost: { documented: 0, violations: 0 },
    violations: { replay: 0, reauth: 0, lost: 0, bound: 0, recover: 0, error: 0 } as Record<Invariant, number>,
    seeds: { replay: [], reauth: [], lost: [], bound: [], recover: [], error: [] } as Record<Invariant, number[]>,
    slowest: { ms: 0, seed: Number.NaN },
  };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  };
  for (const r of results) {
    const fig = r.verdict.figures;
    if (r.schedule.grant === "refresh_token") t.refreshToken += 1;
    if (r.verdict.violations.length > 0) t.failingRuns += 1;
    t.calls += fig.calls;
    add(t.outcomes, fig.outcomes);
    add(t.faults, fig.faults);
    t.tokenRequests += fig.tokenRequests;
    t.replays.allowed += fig.replays.allowed;
    t.replays.violations += fig.replays.violations;
    add(t.reauthorizations.allowed, fig.reauthorizations.allowed);
    t.reauthorizations.violations += fig.reauthorizations.violations;
    t.lost.documented += fig.lost.documented;
    t.lost.violations += fig.lost.violations;
    for (const v of r.verdict.violations) {
      t.violations[v.invariant] += v.count;
      if (!t.seeds[v.invariant].includes(r.seed)) t.seeds[v.invariant].push(r.seed);
    }
    if (fig.slowestCallMs > t.slowest.ms) t.slowest = { ms: fig.slowestCallMs, seed: r.seed };
  }
  return t;
}

/** The figures over all runs, as a Markdown table (for the README). */
export function summaryTable(results: RunResult[], elapsedMs: number): string {
  const t = totals(results);
  const count = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
  const list = (record: Record<string, number>) =>
    Object.entries(record)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "none";
  const seeds = (invariant: Invariant) => {
    const s = t.seeds[invariant];
    return s.length === 0 ? "" : ` (seeds ${s.slice(0, 12).join(", ")}${s.length > 12 ? ", ..." : ""})`;
  };
  const minutes = (elapsedMs / 60_000).toFixed(1);
  const rows: [string, string][] = [
    [
      "runs",
      `${t.runs} (${t.refreshToken} refresh_token, ${t.runs - t.refreshToken} client_credentials), ${t.failingRuns} with violations, ${minutes} min`,
    ],
    ["operations (calls)", `${t.calls}: ${list(t.outcomes)}`],
    ["faults", `${count(t.faults)}: ${list(t.faults)}`],
    ["token requests", String(t.tokenRequests)],
    ["refresh tokens replayed", `${t.replays.violations}${seeds("replay")}`],
    [
      "re-authorizations",
      `${t.reauthorizations.violations} a correct protocol avoids${seeds("reauth")}; ${count(t.reauthorizations.allowed)} allowed: ${list(t.reauthorizations.allowed)}`,
    ],
    [
      "tokens lost",
      `${t.lost.violations} not allowed${seeds("lost")}; ${t.lost.documented} documented (holder killed mid-refresh)`,
    ],
    ["calls past their bound or hung", `${t.violations.bound}${seeds("bound")}`],
    ["runs that did not recover", `${t.seeds.recover.length}${seeds("recover")}`],
    ["errors that do not match the key", `${t.violations.error}${seeds("error")}`],
    ["slowest call", Number.isNaN(t.slowest.seed) ? "none" : `${t.slowest.ms} ms (seed ${t.slowest.seed})`],
  ];
  return ["| figure | value |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}
