/**
 * Runs one schedule against a fresh system and records its history: the steps at their times (calls and faults
 * overlapping freely), the user's logins when a call says the user must authorize again, then a final phase with
 * every fault healed, in which each replica is asked for a token until the key has recovered or a deadline passes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { collect } from "./collect";
import { isWriteBackMark, type Call, type History, type StoreState } from "./history";
import { createNemesis } from "./nemesis";
import { watchKey, type Observer } from "./observer";
import { Recording } from "./recording";
import type { Schedule } from "./schedule";
import type { CheckerSettings } from "./settings";
import { startSystem, TOKEN_KEY, type System } from "./system";
import { createWorkload, type Workload } from "./workload";

/** Between the end of the schedule and the final reads: background saves retry after 1 s. */
const SETTLE_MS = 1_200;
/** Between two rounds of final reads. */
const ROUND_GAP_MS = 300;

/** Runs `schedule`; the bundled worker at `entry` is each replica's process. Leaves no process behind. */
export async function execute(schedule: Schedule, settings: CheckerSettings, entry: string): Promise<History> {
  const system = await startSystem(schedule, settings, entry);
  let observer: Observer | undefined;
  try {
    const rec = new Recording(system);
    const workload = createWorkload(system, schedule, settings, rec);
    const nemesis = createNemesis(system, rec, workload);
    // Replicas up with their clocks, the key watched, the user's first authorization (refresh_token).
    await Promise.all(system.replicas.map((r) => rec.start(r.index)));
    observer = await watchKey(system.redis.url, TOKEN_KEY);
    system.server.onRequest = nemesis.onRequest;
    if (schedule.grant === "refresh_token") await workload.login();
    const t0 = Date.now();
    for (const r of system.replicas) rec.clocks.push({ replica: r.index, at: t0, offsetMs: r.offsetMs });

    for (const step of schedule.steps) {
      const wait = t0 + step.at - Date.now();
      if (wait > 0) await sleep(wait);
      const applied = step.kind === "get" ? workload.call(step.replica, "get", "run") : nemesis.apply(step);
      void rec.track(applied.catch(() => {}));
    }
    const finalAt = Math.max(Date.now(), t0 + settings.durationMs);
    await sleep(finalAt - Date.now());

    rec.finalPhase = true;
    await nemesis.heal();
    await rec.settle();
    await sleep(SETTLE_MS);
    await finalReads(system, schedule, rec, workload, observer);
    const finalState = await observer.stop();
    return collect({ schedule, settings, system, rec, observer, t0, finalAt, finalState });
  } finally {
    system.server.onRequest = undefined;
    await observer?.stop().catch(() => {});
    await system.stop();
  }
}

/**
 * Rounds of one call per replica, until every replica gets a token and either the key holds a usable token set or
 * no replica needed the key (no token request in the round: each served its cached token), or the deadline passes
 * (a token's lifetime and 3 s, by which a replica whose clock is right has needed the key), or the key shows the
 * documented stuck state of a holder killed mid-refresh, which more rounds do not change.
 */
async function finalReads(system: System, schedule: Schedule, rec: Recording, workload: Workload, observer: Observer) {
  const deadline = Date.now() + schedule.lifetimeSeconds * 1_000 + 3_000;
  for (;;) {
    const requestsBefore = system.server.requests.length;
    const answers = await Promise.all(system.replicas.map((r) => workload.call(r.index, "get", "final")));
    await workload.loggingIn();
    await rec.settle();
    const state = await observer.read();
    const neededKey = system.server.requests.length > requestsBefore;
    if (answers.every(gotToken) && (usable(state, schedule, system) || !neededKey)) return;
    if (Date.now() > deadline) return;
    const waiting = answers.every(
      (a) =>
        a?.outcome.type === "error" && ["TOKEN_REFRESH_IN_FLIGHT", "TOKEN_STORE_LOCK_TIMEOUT"].includes(a.outcome.code),
    );
    const killed = rec.faults.some((f) => f.kind === "kill" || f.kind === "kill-holder");
    if (waiting && killed && state.kind === "record" && state.mark !== undefined) return;
    await sleep(ROUND_GAP_MS);
  }
}

function gotToken(call: Call | undefined): boolean {
  return call?.outcome.type === "token";
}

/**
 * A token set the replicas can use: a record with no refresh mark (a write-back mark is fine), whose refresh
 * token (if the grant has one) is live.
 */
function usable(state: StoreState, schedule: Schedule, system: System): boolean {
  if (state.kind !== "record" || (state.mark !== undefined && !isWriteBackMark(state.mark))) return false;
  if (schedule.grant === "client_credentials") return true;
  return state.refreshToken !== undefined && system.server.isLive(state.refreshToken);
}
