/**
 * What a run records: every call with its start, end and outcome, every fault with its time, every token request
 * the server saw, and every value the token key held (polled). Times are epoch ms by the wall clock of the
 * checker's process, which the token server shares; the replicas' clocks are the wall clock plus their offset.
 */
import type { Schedule, StepKind } from "./schedule";
import type { CheckerSettings } from "./settings";

/** Which process: replica `replica`, its `incarnation`-th start (1 for the first, more after kill -9 and restart). */
export interface Process {
  replica: number;
  incarnation: number;
}

/** How a call ended. */
export type Outcome =
  | { type: "token"; token: string }
  | { type: "error"; code: string; reason?: string; message: string }
  /** `revoke` or `clear` done. */
  | { type: "ok" }
  /** The replica was killed before it answered. */
  | { type: "killed" }
  /** No answer within the call bound plus a margin. */
  | { type: "hung" };

/** One call into a replica, from its start to its answer. */
export interface Call extends Process {
  id: number;
  op: "get" | "revoke" | "clear";
  /** `final`: a call of the final phase, after every fault healed. */
  phase: "run" | "final";
  start: number;
  /** When the answer arrived; `undefined` for `killed` and `hung`. */
  end?: number;
  outcome: Outcome;
}

/** A fault as it was applied; `end` when it lasts (a stall, SIGSTOP, a replica down); `unfired` for an armed one. */
export interface Fault {
  kind: Exclude<StepKind, "get" | "revoke" | "clear">;
  at: number;
  end?: number;
  /** The process it hit, when it hit one. */
  target?: Process;
  /** Human-readable parameters: `stall 1200 ms`, `clock +6 min`. */
  detail: string;
  /** An armed fault (`stall-holder`, `kill-holder`) that never found a token request to hit. */
  unfired?: boolean;
}

/** The user's authorization, stored with setTokens by the checker (after a re-authorization, or scheduled). */
export interface Login {
  start: number;
  end: number;
  ok: boolean;
  /** The family the server gave the new refresh token. */
  family?: number;
  accessToken?: string;
  refreshToken?: string;
  error?: string;
}

/** A token request the server received. */
export interface TokenRequest {
  index: number;
  at: number;
  answeredAt?: number;
  grant: string;
  /** The sender, from its `X-Replica` header; `undefined` for the checker's own logins. */
  from?: Process;
  refreshToken?: string;
  family?: number;
  /** The refresh token had been rotated out already: a replay. */
  reused: boolean;
  status?: number | "dropped" | "stalled";
  /** Index in {@link History.issued} of the token set the answer carried. */
  issued?: number;
}

/** A token set the server issued. */
export interface IssuedSet {
  index: number;
  at: number;
  accessToken: string;
  refreshToken?: string;
  family?: number;
  /** The refresh token spent to obtain it. */
  from?: string;
  /** The request it answered. */
  request?: number;
}

/** What the token key held, as the checker reads it (straight from Redis, not through a proxy). */
export type StoreState =
  | { kind: "none" }
  | { kind: "deleted" }
  | {
      kind: "record";
      accessToken: string;
      refreshToken?: string;
      obtainedAtMs: number;
      expiresAtMs?: number;
      mark?: { holder: string; sinceMs: number };
    }
  /** A value no manager writes; `what` says how it is wrong, never the value. */
  | { kind: "corrupt"; what: string }
  | { kind: "wrong-type" };

/**
 * Whether a record's mark is a write-back mark (README, "Failure modes": a record written back after the store
 * lost it holds its refresh back until the mark settles); its token is usable, unlike a refresh mark's.
 */
export function isWriteBackMark(mark: { holder: string } | undefined): boolean {
  return mark !== undefined && mark.holder.startsWith("written-back:");
}

/** A change of what the token key held, seen at `at` (polled every few ms: a change is seen a little late). */
export interface Observation {
  at: number;
  state: StoreState;
}

/** Each replica's clock offset, from `at` on. */
export interface ClockChange {
  replica: number;
  at: number;
  offsetMs: number;
}

/** Everything one run recorded; the invariants are checked over it alone. */
export interface History {
  schedule: Schedule;
  settings: CheckerSettings;
  /** When the run started (the schedule's 0). */
  t0: number;
  /** When the schedule ended and the final phase (faults healed) began. */
  finalAt: number;
  end: number;
  calls: Call[];
  faults: Fault[];
  logins: Login[];
  requests: TokenRequest[];
  issued: IssuedSet[];
  /** Tokens sent to the revocation endpoint. */
  revoked: { at: number; token: string }[];
  /** Families the server revoked whole after a replay. */
  revokedFamilies: number[];
  observations: Observation[];
  clocks: ClockChange[];
  /** Each incarnation's start (ready) and, for those killed, when. */
  incarnations: (Process & { readyAt: number; killedAt?: number })[];
  /** Refresh tokens still live at the server at the end. */
  liveAtEnd: string[];
  /** The token key at the end, read after the final phase. */
  finalState: StoreState;
  /** Scheduled steps skipped (the replica was down). */
  skipped: number;
}

/** `r2.1`: replica 2, first incarnation; how a replica names itself to the token server. */
export function processTag(p: Process): string {
  return `r${p.replica}.${p.incarnation}`;
}

/** The process a `X-Replica` tag names; `undefined` for none (the checker's own requests). */
export function parseProcessTag(tag: string | undefined): Process | undefined {
  const match = /^r(\d+)\.(\d+)$/.exec(tag ?? "");
  return match === null ? undefined : { replica: Number(match[1]), incarnation: Number(match[2]) };
}

/** The replica's clock offset at `at`. */
export function offsetAt(history: Pick<History, "clocks">, replica: number, at: number): number {
  let offset = 0;
  for (const change of history.clocks) if (change.replica === replica && change.at <= at) offset = change.offsetMs;
  return offset;
}
