/**
 * (a) Replays: no refresh token is sent twice (the server's reuse count, each replay revoking the whole family).
 * None is allowed: a record lost in the refresh window is written back with a write-back mark, which holds the
 * refresh back until a refresh in flight would have saved its outcome (README, "Failure modes").
 */
import { callEntry, describeState, observationEntry, requestEntry } from "../entries";
import { type Facts, sameProcess, short } from "../facts";
import type { History, TokenRequest } from "../history";
import type { Checking } from "../verdict";

export function checkReplays(ctx: Checking): void {
  const { h, f, figures, replays, violate, around } = ctx;
  for (const q of h.requests.filter((r) => r.reused)) {
    const token = q.refreshToken!;
    const spent = f.spend(token);
    const marked = f.firstSeen((s) => s.kind === "record" && s.refreshToken === token && s.mark !== undefined)?.at;
    const inFlightSince = Math.min(marked ?? Infinity, spent?.at ?? Infinity);
    const evidence = [
      ...(spent === undefined ? [] : [requestEntry(spent, f)]),
      ...f
        .statesDuring(inFlightSince === Infinity ? q.at - 2_000 : inFlightSince - 300, q.at)
        .map((o) => observationEntry(o, f)),
      ...around(inFlightSince === Infinity ? q.at - 2_000 : inFlightSince - 1_000, q.at),
      ...h.calls
        .filter((c) => sameProcess(c, q.from) && c.start <= q.at && (c.end ?? Infinity) >= q.at)
        .map((c) => callEntry(c, f)),
      requestEntry(q, f),
    ];
    figures.replays.violations += 1;
    const heldThen = f.stateAt(q.at);
    const diagnosis = diagnoseReplay(q, heldThen?.state, f);
    replays.set(q.index, { allowed: false, cause: `replay of ${short(token)}`, request: q });
    violate(`replay ${q.index}`, {
      invariant: "replay",
      at: q.at,
      summary: `${f.who(q.from, q.at)} sent ${short(token)}, which ${spent === undefined ? "had been rotated out" : `${f.who(spent.from, spent.at)} had spent ${q.at - spent.at} ms before`}; the server revoked family ${q.family}`,
      diagnosis,
      evidence,
    });
  }
}

function diagnoseReplay(q: TokenRequest, held: History["finalState"] | undefined, f: Facts): string {
  const token = q.refreshToken;
  if (held?.kind === "record" && held.refreshToken === token && held.mark === undefined)
    return `When ${f.who(q.from, q.at)} sent it, the key held the spent refresh token without a refresh mark: the mark was removed (a write-back or an overwrite of the marked record, a deleted lock letting a second holder in) or the spender's save never came.`;
  if (held?.kind === "record" && held.refreshToken === token && held.mark !== undefined)
    return `The key held the spent refresh token with another process' mark, and ${f.who(q.from, q.at)} sent it anyway.`;
  return `The sender did not read the spent refresh token from the key as the history shows it (${held === undefined ? "nothing seen" : describeState(held, f)}): it came from its own memory.`;
}
