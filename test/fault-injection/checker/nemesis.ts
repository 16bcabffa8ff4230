/**
 * The faults of a run, as Jepsen calls the part that injects them, the nemesis: stalled links, kill -9 and restart,
 * clock skews and steps, FLUSHALL, corrupt values, a deleted lock, a frozen redis-server, a slow token server; and
 * the armed ones, which wait for a given replica's next token request and hit it in flight, before the server
 * answers. Each is recorded as a fault with its time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ReceivedRequest } from "../../helpers/token-server";
import { signed } from "./facts";
import { parseProcessTag, type Fault, type Process } from "./history";
import type { Recording } from "./recording";
import type { Step } from "./schedule";
import type { System } from "./system";
import type { Workload } from "./workload";

/** A fault that waits for replica `firesOn`'s next token request. */
type Armed = (
  | Extract<Step, { kind: "stall-holder" | "kill-holder" }>
  | (Extract<Step, { kind: "clock-step" }> & { during: number })
) & { fault: Fault; firesOn: number };
/** An armed fault's step, before it is armed. */
type ToArm = Armed extends infer A ? (A extends unknown ? Omit<A, "fault" | "firesOn"> : never) : never;

export interface Nemesis {
  /** Applies a fault step (`revoke` and `clear` go to the workload); resolves once it is over. */
  apply(step: Exclude<Step, { kind: "get" }>): Promise<void>;
  /** The token server's hook: fires the faults armed for the sender of `request`, before it is answered. */
  onRequest(request: ReceivedRequest): Promise<void>;
  /** Heals everything for the final phase: links resumed, Redis continued, armed faults dropped, replicas restarted. */
  heal(): Promise<void>;
}

export function createNemesis(system: System, rec: Recording, workload: Workload): Nemesis {
  const { replicas, server } = system;
  const armed: Armed[] = [];
  let redisStoppedUntil = 0;

  function stepClock(replica: number, deltaMs: number, why: string): void {
    const r = replicas[replica]!;
    const at = Date.now();
    r.offsetMs += deltaMs;
    r.worker?.send({ type: "clock", offsetMs: r.offsetMs });
    rec.clocks.push({ replica, at, offsetMs: r.offsetMs });
    rec.faults.push({
      kind: "clock-step",
      at,
      target: { replica, incarnation: r.incarnation },
      detail: `clock ${signed(deltaMs)}, now ${signed(r.offsetMs)}${why}`,
    });
  }

  function stall(replica: number, ms: number, kind: "stall" | "stall-holder"): void {
    const r = replicas[replica]!;
    const at = Date.now();
    r.proxy.stall();
    r.stalledUntil = Math.max(r.stalledUntil, at + ms);
    rec.faults.push({ kind, at, end: at + ms, target: { replica, incarnation: r.incarnation }, detail: `${ms} ms` });
    setTimeout(() => {
      if (Date.now() >= r.stalledUntil) r.proxy.resume();
    }, ms).unref();
  }

  async function kill(replica: number, restartAfterMs: number, kind: "kill" | "kill-holder", detail: string) {
    const at = Date.now();
    const killed = await system.kill(replica);
    if (killed === undefined) return;
    const fault: Fault = { kind, at, target: killed, detail };
    rec.faults.push(fault);
    rec.killed(killed.replica, killed.incarnation, at);
    await sleep(restartAfterMs);
    // In the final phase every replica is restarted there.
    if (!rec.finalPhase && replicas[replica]!.worker === undefined) {
      await rec.start(replica);
      fault.end = Date.now();
    }
  }

  function arm(firesOn: number, detail: string, step: ToArm): void {
    const fault: Fault = { kind: step.kind, at: Date.now(), detail, unfired: true };
    rec.faults.push(fault);
    armed.push({ ...step, fault, firesOn });
  }

  async function fire(fault: Armed, sender: Process, request: ReceivedRequest): Promise<void> {
    // The armed record gives way to the fault as applied.
    rec.faults.splice(rec.faults.indexOf(fault.fault), 1);
    if (fault.kind === "clock-step") {
      stepClock(fault.replica, fault.deltaMs, ` (while r${sender.replica} refreshes)`);
      return;
    }
    if (fault.kind === "stall-holder") {
      stall(sender.replica, fault.ms, "stall-holder");
      return;
    }
    const { afterAnswerMs, restartAfterMs } = fault;
    const killing = rec.track(
      (async () => {
        if (afterAnswerMs !== undefined) {
          while (request.answeredAt === undefined && request.status === undefined) await sleep(2);
          await sleep(afterAnswerMs);
        }
        const when = afterAnswerMs === undefined ? "before its answer" : `${afterAnswerMs} ms after its answer`;
        await kill(sender.replica, restartAfterMs, "kill-holder", `killed ${when}`);
      })(),
    );
    // Killed before its answer: the server answers a dead process, as after a crash mid-request.
    if (afterAnswerMs === undefined) await Promise.race([killing, sleep(500)]);
  }

  /** What the store-side faults do, recorded with when they were sent and acknowledged. */
  async function onRedis(step: Extract<Step, { kind: "flushall" | "delete-lock" | "corrupt" }>): Promise<void> {
    const fault: Fault = { kind: step.kind, at: Date.now(), detail: "" };
    rec.faults.push(fault);
    try {
      if (step.kind === "flushall") await system.flushAll();
      else if (step.kind === "delete-lock") await system.deleteLock();
      else fault.detail = await system.corrupt(step.corruption);
    } catch (error) {
      fault.detail = `failed: ${String(error).slice(0, 100)}`;
    }
    fault.end = Date.now();
  }

  async function sigstop(ms: number): Promise<void> {
    const at = Date.now();
    process.kill(system.redis.pid, "SIGSTOP");
    redisStoppedUntil = Math.max(redisStoppedUntil, at + ms);
    rec.faults.push({ kind: "sigstop", at, end: at + ms, detail: `${ms} ms` });
    await sleep(ms);
    if (Date.now() >= redisStoppedUntil) process.kill(system.redis.pid, "SIGCONT");
  }

  return {
    async apply(step) {
      switch (step.kind) {
        case "revoke":
        case "clear":
          await workload.call(step.replica, step.kind, "run");
          return;
        case "stall":
          stall(step.replica, step.ms, "stall");
          return;
        case "stall-holder":
          arm(step.replica, `armed: stall r${step.replica}'s link ${step.ms} ms at its next token request`, step);
          return;
        case "kill-holder":
          arm(step.replica, `armed: kill -9 r${step.replica} at its next token request`, step);
          return;
        case "kill":
          await kill(step.replica, step.restartAfterMs, "kill", `restart after ${step.restartAfterMs} ms`);
          return;
        case "clock-step":
          if (step.during === undefined) stepClock(step.replica, step.deltaMs, "");
          else
            arm(
              step.during,
              `armed: r${step.replica}'s clock ${signed(step.deltaMs)} at r${step.during}'s next token request`,
              { ...step, during: step.during },
            );
          return;
        case "flushall":
        case "delete-lock":
        case "corrupt":
          await onRedis(step);
          return;
        case "sigstop":
          await sigstop(step.ms);
          return;
        case "latency":
          server.delayMs = step.ms;
          rec.faults.push({ kind: "latency", at: Date.now(), detail: `token server answers after ${step.ms} ms` });
          return;
        case "login":
          rec.faults.push({ kind: "login", at: Date.now(), detail: "the user authorizes again" });
          await workload.login();
          return;
      }
    },

    async onRequest(request) {
      if (rec.finalPhase || request.path !== "/oauth2/token" || request.grant_type === "authorization_code") return;
      const sender = parseProcessTag(request.replica);
      if (sender === undefined) return;
      const firing = armed.filter((a) => a.firesOn === sender.replica);
      for (const fault of firing) armed.splice(armed.indexOf(fault), 1);
      // Clock steps first: they take no time, and the stall or kill then meets them in place.
      firing.sort((a, b) => (a.kind === "clock-step" ? 0 : 1) - (b.kind === "clock-step" ? 0 : 1));
      for (const fault of firing) {
        fault.fault.unfired = false;
        await fire(fault, sender, request);
      }
    },

    async heal() {
      const now = Date.now();
      for (const fault of armed.splice(0)) fault.fault.end = now;
      for (const r of replicas) {
        r.stalledUntil = 0;
        r.proxy.resume();
      }
      redisStoppedUntil = 0;
      process.kill(system.redis.pid, "SIGCONT");
      server.delayMs = Math.min(server.delayMs, 20);
      await Promise.all(replicas.filter((r) => r.worker === undefined).map((r) => rec.start(r.index)));
    },
  };
}
