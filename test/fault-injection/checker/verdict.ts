/**
 * What checking a history produces (violations, each with the excerpt of history that explains it, and the run's
 * figures), and the context every rule of invariants.ts reads and writes.
 */
import { faultEntry, type Entry } from "./entries";
import { Facts } from "./facts";
import type { History, TokenRequest } from "./history";
import { callBoundMs } from "./settings";

export type Invariant = "replay" | "reauth" | "lost" | "bound" | "recover" | "error";

export const INVARIANTS: Record<Invariant, string> = {
  replay: "(a) a refresh token sent twice",
  reauth: "(b) a re-authorization a correct protocol avoids",
  lost: "(c) a token set lost",
  bound: "(d) a call past its bound, or hung",
  recover: "(e) no recovery once the faults healed",
  error: "(f) an error that does not match what the key held",
};

export interface Violation {
  invariant: Invariant;
  at: number;
  summary: string;
  diagnosis: string;
  evidence: Entry[];
  /** How many events of the run it stands for (the same cause, reported once). */
  count: number;
}

export interface RunFigures {
  calls: number;
  faults: Record<string, number>;
  tokenRequests: number;
  replays: { allowed: number; violations: number };
  reauthorizations: { allowed: Record<string, number>; violations: number };
  lost: { documented: number; violations: number };
  slowestCallMs: number;
  outcomes: Record<string, number>;
}

export interface Verdict {
  violations: Violation[];
  figures: RunFigures;
}

/** How a re-authorization, or a replay, is classified. */
export interface Classified {
  allowed: boolean;
  /** For an allowed one, the documented case; for a violation, what went wrong, the same for the same cause. */
  cause: string;
  diagnosis?: string;
  evidence?: Entry[];
}

/** The observer polls every 15 ms: a change is seen up to this late. */
export const SEEN_LATE_MS = 50;

/** One history being checked: its facts, the violations and figures so far, and helpers the rules share. */
export class Checking {
  readonly f: Facts;
  /** The call bound of these settings. */
  readonly bound: number;
  /** A refresh_token grant (else client_credentials). */
  readonly rt: boolean;
  readonly violations: Violation[] = [];
  readonly figures: RunFigures;
  /** Each replay's classification, by request index: the re-authorizations it caused inherit it. */
  readonly replays = new Map<number, Classified & { request: TokenRequest }>();
  private readonly grouped = new Map<string, Violation>();

  constructor(readonly h: History) {
    this.f = new Facts(h);
    this.bound = callBoundMs(h.settings);
    this.rt = h.schedule.grant === "refresh_token";
    this.figures = {
      calls: h.calls.length,
      faults: {},
      tokenRequests: h.requests.filter((q) => q.from !== undefined).length,
      replays: { allowed: 0, violations: 0 },
      reauthorizations: { allowed: {}, violations: 0 },
      lost: { documented: 0, violations: 0 },
      slowestCallMs: 0,
      outcomes: {},
    };
    const { faults, outcomes } = this.figures;
    for (const fault of h.faults) if (!fault.unfired) faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
    // Concurrent revoke and clear calls are faults of the schedule too.
    for (const call of h.calls) if (call.op !== "get") faults[call.op] = (faults[call.op] ?? 0) + 1;
    for (const call of h.calls) {
      const key = call.outcome.type === "error" ? call.outcome.code : call.outcome.type;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (call.end !== undefined)
        this.figures.slowestCallMs = Math.max(this.figures.slowestCallMs, call.end - call.start);
    }
  }

  /** Records a violation; those of one cause (`key`) are reported once, with a count. */
  readonly violate = (key: string, v: Omit<Violation, "count">): void => {
    const found = this.grouped.get(key);
    if (found !== undefined) {
      found.count += 1;
      return;
    }
    const violation = { ...v, count: 1 };
    this.grouped.set(key, violation);
    this.violations.push(violation);
  };

  /** The faults (applied, not merely armed) overlapping [from, to], of `kinds` when given. */
  readonly faultsIn = (from: number, to: number, kinds?: string[]) =>
    this.h.faults.filter(
      (x) => !x.unfired && x.at <= to && (x.end ?? x.at) >= from && (kinds === undefined || kinds.includes(x.kind)),
    );

  /** The faults overlapping [from, to], as history lines. */
  readonly around = (from: number, to: number): Entry[] => this.faultsIn(from, to).map((x) => faultEntry(x, this.f));

  /** The start of the user's authorization in effect at `t`: the last login done before it. */
  readonly sinceLogin = (t: number): number =>
    this.h.logins.filter((l) => l.ok && l.end <= t).at(-1)?.start ?? Number.NEGATIVE_INFINITY;

  /** The replay that revoked `family`, at or before `t`. */
  readonly revokingReplay = (family: number | undefined, t: number) =>
    [...this.replays.values()].find((r) => r.request.family === family && r.request.at <= t);
}
