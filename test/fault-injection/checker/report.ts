/**
 * What the checker prints: a line per run, the violations of a failing run with the shortest excerpt of history
 * that explains each and how to replay it, and the table of figures over all runs.
 */
import type { RunResult } from "./check";
import { signed } from "./facts";
import { INVARIANTS, type Invariant } from "./invariants";

/** The longest excerpt printed for one violation; the middle of a longer one is elided. */
const EXCERPT_LINES = 18;

export function replayCommand(seed: number, replicas: number): string {
  return `npm run check:faults -- --seed ${seed}${replicas === 3 ? "" : ` --replicas ${replicas}`}`;
}

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
  lines.push(`  replay: ${replayCommand(r.seed, r.history.settings.replicas)}`);
  return lines.join("\n");
}

/** The figures over all runs, as a Markdown table (for the README). */
export function summaryTable(results: RunResult[], elapsedMs: number): string {
  const sum = (f: (r: RunResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const faults: Record<string, number> = {};
  const allowed: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const failing: Record<Invariant, number[]> = { replay: [], reauth: [], lost: [], bound: [], recover: [], error: [] };
  for (const r of results) {
    const fig = r.verdict.figures;
    for (const [k, n] of Object.entries(fig.faults)) faults[k] = (faults[k] ?? 0) + n;
    for (const [k, n] of Object.entries(fig.reauthorizations.allowed)) allowed[k] = (allowed[k] ?? 0) + n;
    for (const [k, n] of Object.entries(fig.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n;
    for (const v of r.verdict.violations) if (!failing[v.invariant].includes(r.seed)) failing[v.invariant].push(r.seed);
  }
  const slowest = results.reduce(
    (best, r) =>
      r.verdict.figures.slowestCallMs > best.ms ? { ms: r.verdict.figures.slowestCallMs, seed: r.seed } : best,
    { ms: 0, seed: NaN },
  );
  const list = (record: Record<string, number>) =>
    Object.entries(record)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "none";
  const seeds = (s: number[]) =>
    s.length === 0 ? "" : ` (seeds ${s.slice(0, 12).join(", ")}${s.length > 12 ? ", ..." : ""})`;
  const rows: [string, string][] = [
    [
      "runs",
      `${results.length} (${results.filter((r) => r.schedule.grant === "refresh_token").length} refresh_token, ${results.filter((r) => r.schedule.grant === "client_credentials").length} client_credentials), ${results.filter((r) => r.verdict.violations.length > 0).length} with violations, ${(elapsedMs / 60_000).toFixed(1)} min`,
    ],
    ["operations (calls)", `${sum((r) => r.history.calls.length)}: ${list(outcomes)}`],
    ["faults", `${sum((r) => Object.values(r.verdict.figures.faults).reduce((a, b) => a + b, 0))}: ${list(faults)}`],
    ["token requests", String(sum((r) => r.verdict.figures.tokenRequests))],
    [
      "refresh tokens replayed",
      `${sum((r) => r.verdict.figures.replays.violations)} not allowed${seeds(failing.replay)}; ${sum((r) => r.verdict.figures.replays.allowed)} allowed (FLUSHALL write-back of an older copy)`,
    ],
    [
      "re-authorizations",
      `${sum((r) => r.verdict.figures.reauthorizations.violations)} a correct protocol avoids${seeds(failing.reauth)}; ${sum((r) => Object.values(r.verdict.figures.reauthorizations.allowed).reduce((a, b) => a + b, 0))} allowed: ${list(allowed)}`,
    ],
    [
      "tokens lost",
      `${sum((r) => r.verdict.figures.lost.violations)} not allowed${seeds(failing.lost)}; ${sum((r) => r.verdict.figures.lost.documented)} documented (holder killed mid-refresh)`,
    ],
    [
      "calls past their bound or hung",
      `${results.reduce((a, r) => a + r.verdict.violations.filter((v) => v.invariant === "bound").reduce((b, v) => b + v.count, 0), 0)}${seeds(failing.bound)}`,
    ],
    ["runs that did not recover", `${failing.recover.length}${seeds(failing.recover)}`],
    [
      "errors that do not match the key",
      `${results.reduce((a, r) => a + r.verdict.violations.filter((v) => v.invariant === "error").reduce((b, v) => b + v.count, 0), 0)}${seeds(failing.error)}`,
    ],
    ["slowest call", Number.isNaN(slowest.seed) ? "none" : `${slowest.ms} ms (seed ${slowest.seed})`],
  ];
  return ["| figure | value |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}
