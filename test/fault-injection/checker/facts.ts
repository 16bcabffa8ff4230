/**
 * Indexes over one history, and the questions the invariants ask of it: which token set a token belongs to, who
 * spent a refresh token and when, what the key held at a time, who held a refresh mark, what copy a replica held.
 */
import {
  offsetAt,
  processTag,
  type Call,
  type History,
  type IssuedSet,
  type Observation,
  type Process,
  type StoreState,
  type TokenRequest,
} from "./history";

/** `at#12` / `rt#12`: a token by the server's counter, enough to tell tokens apart in a report, never the secret part. */
export function short(token: string | undefined): string {
  if (token === undefined) return "none";
  const match = /^(at|rt)-(\d+)-/.exec(token);
  return match === null ? "(unknown token)" : `${match[1]}#${match[2]}`;
}

export function sameProcess(a: Process | undefined, b: Process | undefined): boolean {
  return a !== undefined && b !== undefined && a.replica === b.replica && a.incarnation === b.incarnation;
}

export type RecordState = Extract<StoreState, { kind: "record" }>;

export class Facts {
  readonly byAccess = new Map<string, IssuedSet>();
  readonly byRefresh = new Map<string, IssuedSet>();
  readonly served = new Set<string>();
  readonly storedAccess = new Set<string>();
  readonly lifetimeMs: number;

  constructor(readonly h: History) {
    for (const set of h.issued) {
      this.byAccess.set(set.accessToken, set);
      if (set.refreshToken !== undefined) this.byRefresh.set(set.refreshToken, set);
    }
    for (const call of h.calls) if (call.outcome.type === "token") this.served.add(call.outcome.token);
    for (const o of h.observations) if (o.state.kind === "record") this.storedAccess.add(o.state.accessToken);
    if (h.finalState.kind === "record") this.storedAccess.add(h.finalState.accessToken);
    this.lifetimeMs = h.schedule.lifetimeSeconds * 1000;
  }

  /** The request that spent `rt` and got a new token set for it. */
  spend(rt: string): TokenRequest | undefined {
    return this.h.requests.find((q) => q.refreshToken === rt && q.issued !== undefined);
  }

  /** The request that obtained `set`. */
  requestOf(set: IssuedSet): TokenRequest | undefined {
    return set.request === undefined ? undefined : this.h.requests[set.request];
  }

  /** What the key held at `t` (the last change seen at or before it). */
  stateAt(t: number): Observation | undefined {
    let found: Observation | undefined;
    for (const o of this.h.observations) {
      if (o.at > t) break;
      found = o;
    }
    return found;
  }

  /** Every state the key was seen in during [from, to] (the one in effect at `from`, and each change until `to`). */
  statesDuring(from: number, to: number): Observation[] {
    const first = this.stateAt(from);
    return [...(first === undefined ? [] : [first]), ...this.h.observations.filter((o) => o.at > from && o.at <= to)];
  }

  /** The first change seen in [from, to] for which `test` holds. */
  firstSeen(test: (state: StoreState) => boolean, from = 0, to = Infinity): Observation | undefined {
    return this.h.observations.find((o) => o.at >= from && o.at <= to && test(o.state));
  }

  /** When the key was first seen holding this mark. */
  markSeenAt(mark: NonNullable<RecordState["mark"]>): number | undefined {
    return this.firstSeen(
      (s) => s.kind === "record" && s.mark?.holder === mark.holder && s.mark.sinceMs === mark.sinceMs,
    )?.at;
  }

  /**
   * The process that wrote `record`'s mark: the sender of the first request spending the record's refresh token
   * once the mark was there. `undefined` when none came (its holder died, or stalled, before sending).
   */
  markHolder(record: RecordState): { process: Process | undefined; seenAt: number | undefined } {
    if (record.mark === undefined) return { process: undefined, seenAt: undefined };
    const seenAt = this.markSeenAt(record.mark);
    const request = this.h.requests.find(
      (q) =>
        q.refreshToken === record.refreshToken && q.from !== undefined && (seenAt === undefined || q.at >= seenAt - 50),
    );
    return { process: request?.from, seenAt };
  }

  incarnation(p: Process) {
    return this.h.incarnations.find((i) => i.replica === p.replica && i.incarnation === p.incarnation);
  }

  /** When `p` was killed; `undefined` when it was not. */
  killedAt(p: Process): number | undefined {
    return this.incarnation(p)?.killedAt;
  }

  /** The first kill of a process that happened at or after `t`. */
  killAfter(t: number): { process: Process; at: number } | undefined {
    const killed = this.h.incarnations
      .filter((i) => i.killedAt !== undefined && i.killedAt >= t)
      .sort((a, b) => a.killedAt! - b.killedAt!)[0];
    return killed === undefined ? undefined : { process: killed, at: killed.killedAt! };
  }

  offset(replica: number, t: number): number {
    return offsetAt(this.h, replica, t);
  }

  /** The replica's clock at wall-clock time `t`. */
  clockOf(replica: number, t: number): number {
    return t + this.offset(replica, t);
  }

  /** `r1.2 (clock +6 min)`. */
  who(p: Process | undefined, t: number): string {
    if (p === undefined) return "the checker";
    const offset = this.offset(p.replica, t);
    return offset === 0 ? processTag(p) : `${processTag(p)} (clock ${signed(offset)})`;
  }

  /** When `set`'s access token expires, in the epoch ms its record says (by the clock of whoever obtained it). */
  expiresAtOf(set: IssuedSet): number {
    const seen = this.h.observations.find((o) => o.state.kind === "record" && o.state.accessToken === set.accessToken);
    if (seen?.state.kind === "record" && seen.state.expiresAtMs !== undefined) return seen.state.expiresAtMs;
    const request = this.requestOf(set);
    const sentBy = request?.from;
    const sentAt = request?.at ?? set.at;
    return sentAt + (sentBy === undefined ? 0 : this.offset(sentBy.replica, sentAt)) + this.lifetimeMs;
  }

  /**
   * The latest token set (by issue order) process `p` was handed, or obtained, before `t`, as its memory holds it:
   * its own clear or revoke drops what it held.
   */
  copyHeld(p: Process, t: number): IssuedSet | undefined {
    const events: { at: number; set: IssuedSet | undefined }[] = [];
    for (const call of this.h.calls) {
      if (!sameProcess(call, p) || call.end === undefined || call.end > t) continue;
      if (call.outcome.type === "token") events.push({ at: call.end, set: this.byAccess.get(call.outcome.token) });
      if ((call.op === "clear" || call.op === "revoke") && call.outcome.type === "ok")
        events.push({ at: call.end, set: undefined });
    }
    for (const q of this.h.requests)
      if (sameProcess(q.from, p) && q.answeredAt !== undefined && q.answeredAt <= t && q.issued !== undefined)
        events.push({ at: q.answeredAt, set: this.h.issued[q.issued] });
    let latest: IssuedSet | undefined;
    for (const e of events.sort((a, b) => a.at - b.at)) {
      if (e.set === undefined) latest = undefined;
      else if (latest === undefined || e.set.index > latest.index) latest = e.set;
    }
    return latest;
  }

  /**
   * The unreadable value the key held for the whole of `call`, when the history shows that for sure: seen before
   * the call started and still seen after it ended, with nothing that changes the key in between (a FLUSHALL, a
   * login, a clear or revoke) and no frozen Redis, during which the observer sees nothing.
   */
  unreadableThroughout(call: Call): Observation | undefined {
    const end = call.end ?? call.start;
    const unreadable = (o: Observation) => o.state.kind === "corrupt" || o.state.kind === "wrong-type";
    const seen = this.statesDuring(call.start, end + 50);
    if (seen.length === 0 || !seen.every(unreadable)) return undefined;
    const overlaps = (from: number, to: number) => from <= end + 50 && to >= call.start - 50;
    const changed =
      this.h.faults.some(
        (x) => (x.kind === "flushall" || x.kind === "sigstop") && !x.unfired && overlaps(x.at, x.end ?? x.at),
      ) ||
      this.h.logins.some((l) => overlaps(l.start, l.end)) ||
      this.h.calls.some((x) => x.op !== "get" && overlaps(x.start, x.end ?? Infinity));
    return changed ? undefined : seen[0];
  }

  /**
   * Whether the key may have held a corrupt value while `call` ran: seen so, or written by a corrupt fault that no
   * change seen since had replaced by the time the call started (a login can replace it before the next poll).
   */
  corruptDuring(call: Call): boolean {
    const end = call.end ?? call.start;
    const unreadable = (state: StoreState) => state.kind === "corrupt" || state.kind === "wrong-type";
    if (this.statesDuring(call.start - 50, end + 50).some((o) => unreadable(o.state))) return true;
    return this.h.faults.some(
      (x) =>
        x.kind === "corrupt" &&
        x.at <= end &&
        !this.h.observations.some((o) => o.at > (x.end ?? x.at) + 50 && o.at < call.start && !unreadable(o.state)),
    );
  }
}

export function signed(ms: number): string {
  const sign = ms < 0 ? "-" : "+";
  const abs = Math.abs(ms);
  if (abs >= 60_000) return `${sign}${+(abs / 60_000).toFixed(1)} min`;
  if (abs >= 1_000) return `${sign}${+(abs / 1_000).toFixed(1)} s`;
  return `${sign}${abs} ms`;
}
