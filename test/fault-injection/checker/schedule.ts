/**
 * A run's schedule, made from its seed alone: the grant, token lifetime, each replica's clock skew, and a list of
 * timed steps (calls and faults). The same seed gives the same schedule; only the timing of what the processes
 * do with it varies between replays.
 */
import { Random } from "./prng";
import type { CheckerSettings } from "./settings";

/** Values written over the token key, each a way a record can be unreadable. */
export const CORRUPTIONS = [
  "not-json",
  "json-array",
  "wrong-shape",
  "mark-yes",
  "mark-empty-object",
  "mark-wrong-types",
  "mark-array",
  "wrong-redis-type",
] as const;
export type Corruption = (typeof CORRUPTIONS)[number];

/** One timed step; `at` is ms from the start of the run. */
export type Step =
  | { at: number; kind: "get"; replica: number }
  /** `manager.revoke()` / `manager.clear()` in a replica, concurrent with everything else. */
  | { at: number; kind: "revoke" | "clear"; replica: number }
  /** The replica's link to Redis stops forwarding for `ms`. */
  | { at: number; kind: "stall"; replica: number; ms: number }
  /** Armed at `at`: when the replica's next token request reaches the server, its link stalls for `ms`. */
  | { at: number; kind: "stall-holder"; replica: number; ms: number }
  /** kill -9 of the replica, restarted `restartAfterMs` later. */
  | { at: number; kind: "kill"; replica: number; restartAfterMs: number }
  /**
   * Armed at `at`: when the replica's next token request reaches the server, the replica is killed (-9), before
   * its answer (`afterAnswerMs` undefined) or that long after it, and restarted `restartAfterMs` later.
   */
  | { at: number; kind: "kill-holder"; replica: number; afterAnswerMs: number | undefined; restartAfterMs: number }
  /**
   * The replica's clock jumps by `deltaMs` (forward or back): at `at`, or, with `during`, armed at `at` and applied
   * when replica `during`'s next token request reaches the server (a clock step while another replica refreshes).
   */
  | { at: number; kind: "clock-step"; replica: number; deltaMs: number; during?: number }
  | { at: number; kind: "flushall" }
  | { at: number; kind: "corrupt"; corruption: Corruption }
  /** DEL of the key's lock. */
  | { at: number; kind: "delete-lock" }
  /** redis-server stopped (SIGSTOP) for `ms`, then continued. */
  | { at: number; kind: "sigstop"; ms: number }
  /** The token server answers `ms` later from now on. */
  | { at: number; kind: "latency"; ms: number }
  /** The user authorizes again (refresh_token grant): a new family is stored with setTokens. */
  | { at: number; kind: "login" };

export type StepKind = Step["kind"];
export type FaultKind = Exclude<StepKind, "get">;

/** What one seed runs. */
export interface Schedule {
  seed: number;
  grant: "refresh_token" | "client_credentials";
  /** `expires_in` of every token the server issues, in seconds. */
  lifetimeSeconds: number;
  /** Each replica's clock offset at the start, in ms (positive: ahead). */
  skewsMs: number[];
  /** The token server's answer delay at the start, in ms. */
  latencyMs: number;
  /** Sorted by `at`. */
  steps: Step[];
}

const MINUTE = 60_000;
const SKEWS_MS = [30_000, 2 * MINUTE, 6 * MINUTE, 10 * MINUTE];
const CLOCK_STEPS_MS = [90_000, 3 * MINUTE, 7 * MINUTE];
const LATENCIES_MS = [0, 20, 60, 150, 300];

/** How often each fault is drawn, relative to the others. */
const FAULT_WEIGHTS: Record<FaultKind, number> = {
  stall: 3,
  "stall-holder": 3,
  kill: 1,
  "kill-holder": 2,
  "clock-step": 2,
  flushall: 1.5,
  corrupt: 2.5,
  "delete-lock": 1,
  sigstop: 1.5,
  revoke: 1,
  clear: 1,
  latency: 1,
  login: 0.5,
};

/** One fault at `at`, its parameters drawn from `random`; a few come with a companion (see below). */
function faults(kind: FaultKind, at: number, random: Random, s: CheckerSettings): Step[] {
  const step = fault(kind, at, random, s);
  // Partition and clock faults combined, as Jepsen's nemeses combine them: half the refreshes cut off (or killed)
  // mid-flight also see another replica's clock step by minutes while the refresh is in flight.
  if ((step.kind === "stall-holder" || step.kind === "kill-holder") && s.replicas > 1 && random.chance(0.5)) {
    const other = (step.replica + random.int(1, s.replicas - 1)) % s.replicas;
    const deltaMs = random.pick(CLOCK_STEPS_MS.slice(1)) * (random.chance(0.5) ? 1 : -1);
    return [step, { at, kind: "clock-step", replica: other, deltaMs, during: step.replica }];
  }
  return [step];
}

function fault(kind: FaultKind, at: number, random: Random, s: CheckerSettings): Step {
  const replica = random.int(0, s.replicas - 1);
  // Shorter and longer than the lock TTL: the longer ones let another replica take the lock and find the mark.
  const stallMs = () => Math.round(s.lockTtlMs * random.pick([0.5, 2, 3]));
  const restartAfterMs = random.int(200, 1_200);
  switch (kind) {
    case "stall":
      return { at, kind, replica, ms: stallMs() };
    case "stall-holder":
      return { at, kind, replica, ms: stallMs() };
    case "kill":
      return { at, kind, replica, restartAfterMs };
    case "kill-holder":
      return { at, kind, replica, afterAnswerMs: random.chance(0.5) ? undefined : random.int(0, 30), restartAfterMs };
    case "clock-step":
      return { at, kind, replica, deltaMs: random.pick(CLOCK_STEPS_MS) * (random.chance(0.5) ? 1 : -1) };
    case "corrupt":
      return { at, kind, corruption: random.pick(CORRUPTIONS) };
    case "sigstop":
      return { at, kind, ms: random.int(150, 1_500) };
    case "latency":
      return { at, kind, ms: random.pick(LATENCIES_MS) };
    case "revoke":
    case "clear":
      return { at, kind, replica };
    case "flushall":
    case "delete-lock":
    case "login":
      return { at, kind };
  }
}

/**
 * The schedule of `seed`: a refresh_token grant three times in four (client_credentials otherwise), tokens that
 * live 1 or 2 s (refreshed half a second before expiry), half the replicas skewed by 30 s to 10 min either way, calls
 * from every replica every 40-300 ms, and a few faults at random times.
 */
export function makeSchedule(seed: number, s: CheckerSettings): Schedule {
  const random = new Random(seed);
  const grant = random.chance(0.75) ? "refresh_token" : "client_credentials";
  const lifetimeSeconds = random.pick([1, 2]);
  const skewsMs = Array.from({ length: s.replicas }, () =>
    random.chance(0.5) ? 0 : random.pick(SKEWS_MS) * (random.chance(0.5) ? 1 : -1),
  );
  const latencyMs = random.pick(LATENCIES_MS);
  const steps: Step[] = [];
  for (let replica = 0; replica < s.replicas; replica++) {
    for (let at = random.int(0, s.callGapMs[1]); at < s.durationMs; at += random.int(...s.callGapMs))
      steps.push({ at, kind: "get", replica });
  }
  const count = random.int(...s.faults);
  for (let i = 0; i < count; i++) {
    const kind = random.weighted(FAULT_WEIGHTS);
    if (kind === "login" && grant !== "refresh_token") continue;
    steps.push(...faults(kind, random.int(200, s.durationMs - 300), random, s));
  }
  steps.sort((a, b) => a.at - b.at);
  return { seed, grant, lifetimeSeconds, skewsMs, latencyMs, steps };
}
