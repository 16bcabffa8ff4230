/**
 * The clients' side of a run: calls into the replicas (getAccessToken, revoke, clear), each recorded with its start,
 * end and outcome, and the user, who authorizes again (a new family stored with setTokens) when a call says so.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FromWorker } from "../../helpers/redis-worker";
import type { Call, Outcome } from "./history";
import type { Recording } from "./recording";
import type { Schedule } from "./schedule";
import { callBoundMs, type CheckerSettings } from "./settings";
import type { System } from "./system";

/** How long past the call bound a call may stay unanswered before it counts as hung. */
const HANG_MARGIN_MS = 3_000;

export interface Workload {
  /** One call in the replica, recorded; `undefined` when the replica is down (counted as skipped). */
  call(replica: number, op: Call["op"], phase: Call["phase"]): Promise<Call | undefined>;
  /** The user authorizes: one login at a time, three tries while Redis cannot take it. */
  login(): Promise<void>;
  /** The login under way, if any. */
  loggingIn(): Promise<void> | undefined;
}

function outcomeOf(answer: Extract<FromWorker, { type: "token" | "error" | "ok" }>): Outcome {
  if (answer.type === "token") return { type: "token", token: answer.token };
  if (answer.type === "ok") return { type: "ok" };
  return {
    type: "error",
    code: answer.code,
    message: answer.message,
    ...(answer.reason === undefined ? {} : { reason: answer.reason }),
  };
}

export function createWorkload(
  system: System,
  schedule: Schedule,
  settings: CheckerSettings,
  rec: Recording,
): Workload {
  const bound = callBoundMs(settings);
  let nextId = 0;
  let loggingIn: Promise<void> | undefined;

  function login(): Promise<void> {
    loggingIn ??= (async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const start = Date.now();
        try {
          const done = await system.login();
          rec.logins.push({ start, end: Date.now(), ...done });
          return;
        } catch (error) {
          rec.logins.push({ start, end: Date.now(), ok: false, error: String(error).slice(0, 200) });
          await sleep(300);
        }
      }
    })().finally(() => (loggingIn = undefined));
    return loggingIn;
  }

  /**
   * The user authorizes again when a call says the grant is gone, or that the record is unreadable (what an
   * application does with ReauthorizationRequiredError and TokenStoreCorruptError); once per such news. A retryable
   * error (TokenRefreshInFlightError) makes nobody act.
   */
  function reactTo(call: Call): void {
    if (schedule.grant !== "refresh_token" || call.outcome.type !== "error") return;
    if (call.outcome.code !== "OAUTH_REAUTHORIZATION_REQUIRED" && call.outcome.code !== "TOKEN_STORE_CORRUPT") return;
    const last = rec.logins.filter((l) => l.ok).at(-1);
    if (loggingIn !== undefined || (last !== undefined && last.end > call.start)) return;
    void rec.track(login());
  }

  async function call(replica: number, op: Call["op"], phase: Call["phase"]): Promise<Call | undefined> {
    const r = system.replicas[replica]!;
    const worker = r.worker;
    if (worker === undefined || !r.ready) {
      rec.skipped += 1;
      return undefined;
    }
    const id = ++nextId;
    const start = Date.now();
    const incarnation = r.incarnation;
    worker.send(op === "get" ? { type: "get", id } : { type: op, id });
    let outcome: Outcome;
    let end: number | undefined;
    try {
      outcome = outcomeOf(await worker.settled(id, bound + HANG_MARGIN_MS));
      end = Date.now();
    } catch (error) {
      outcome = String(error).includes("exited") ? { type: "killed" } : { type: "hung" };
    }
    const done: Call = { id, replica, incarnation, op, phase, start, ...(end === undefined ? {} : { end }), outcome };
    rec.calls.push(done);
    reactTo(done);
    return done;
  }

  return { call, login, loggingIn: () => loggingIn };
}
