/**
 * What a run accumulates while it goes: the calls, faults, logins, clock changes and incarnations that become its
 * history, and the work still in flight (a call, a restart, a login), which the final phase waits for.
 */
import type { Call, ClockChange, Fault, History, Login } from "./history";
import type { System } from "./system";

export class Recording {
  readonly calls: Call[] = [];
  readonly faults: Fault[] = [];
  readonly logins: Login[] = [];
  readonly clocks: ClockChange[] = [];
  readonly incarnations: History["incarnations"] = [];
  /** Scheduled calls skipped because their replica was down. */
  skipped = 0;
  /** Set once the schedule is over: no more faults, no more restarts but the final phase's. */
  finalPhase = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly system: System) {}

  /** Keeps `promise` among the work in flight until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /** Resolves once nothing is in flight (each piece of work is bounded). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.race([...this.pending]).catch(() => {});
  }

  /** Starts the replica's next incarnation, recorded before it is ready, so that a kill during its start finds it. */
  async start(replica: number): Promise<void> {
    const incarnation = {
      replica,
      incarnation: this.system.replicas[replica]!.incarnation + 1,
      readyAt: Number.NaN,
    };
    this.incarnations.push(incarnation);
    await this.system.start(replica);
    incarnation.readyAt = Date.now();
  }

  /** Notes that the replica's current incarnation was killed at `at`. */
  killed(replica: number, incarnation: number, at: number): void {
    const found = this.incarnations.find((i) => i.replica === replica && i.incarnation === incarnation);
    if (found !== undefined) found.killedAt = at;
  }
}
