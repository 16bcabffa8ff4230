/**
 * (d) Bounds: every call settles within its bound, and none hangs. (e) Recovery: once the faults heal, every
 * replica gets a token again, from a usable token set in the key. The one allowance is README's stuck state after
 * a holder died mid-refresh, quoted below.
 */
import { callEntry, describeState, loginEntry, observationEntry } from "../entries";
import { sameProcess } from "../facts";
import { isWriteBackMark, processTag, type Call, type History } from "../history";
import { SEEN_LATE_MS, type Checking } from "../verdict";

/** What callers may get while a dead holder's mark stays in the key (the documented 5 minutes). */
const STUCK_ERRORS = new Set(["TOKEN_REFRESH_IN_FLIGHT", "TOKEN_STORE_LOCK_TIMEOUT"]);

export function checkLiveness(ctx: Checking): void {
  checkBounds(ctx);
  checkRecovery(ctx);
}

/** (d) Each call answered within the bound of these settings. */
function checkBounds(ctx: Checking): void {
  const { h, f, bound, violate, around } = ctx;
  for (const c of h.calls) {
    if (c.outcome.type === "hung")
      violate(`hung ${c.replica}`, {
        invariant: "bound",
        at: c.start,
        summary: `${f.who(c, c.start)} ${c.op} never answered (waited ${bound + 3_000} ms)`,
        diagnosis: `No answer within the call bound (${bound} ms: lock wait + refreshInFlightWaitMs + request time-out + Redis commands + rate limit + slack).`,
        evidence: [...around(c.start - 1_000, c.start + bound), callEntry(c, f)],
      });
    else if (c.end !== undefined && c.end - c.start > bound)
      violate(`slow ${c.replica}`, {
        invariant: "bound",
        at: c.start,
        summary: `${f.who(c, c.start)} ${c.op} took ${c.end - c.start} ms, over its bound of ${bound} ms`,
        diagnosis: "A wait measured on a clock that stepped, or waits that add up past the documented ones.",
        evidence: [...around(c.start - 1_000, c.end), callEntry(c, f)],
      });
  }
}

/**
 * (e) The last final read of each replica got a token, and the key holds a usable token set if any replica needed
 * it in the final phase (a token request; a replica whose clock runs behind may serve its cached token throughout,
 * and never read the key). Allowed: the
 * documented stuck state after a holder died mid-refresh (README: "TokenRefreshInFlightError (retryable); after 5
 * minutes, ReauthorizationRequiredError"): a mark whose holder was killed, and callers that get
 * TokenRefreshInFlightError, their unexpired token, or TokenStoreLockTimeoutError (each replica waits for the
 * outcome holding the lock, so a third one can wait past lockWaitMs: retryable too).
 */
function checkRecovery(ctx: Checking): void {
  const { h, f, rt, violate, around } = ctx;
  const final = h.finalState;
  const lastReads = h.incarnations
    .map((i) => h.calls.filter((c) => c.phase === "final" && sameProcess(c, i)).at(-1))
    .filter((c): c is Call => c !== undefined);
  const usable =
    final.kind === "record" &&
    (final.mark === undefined || isWriteBackMark(final.mark)) &&
    (!rt || (final.refreshToken !== undefined && h.liveAtEnd.includes(final.refreshToken)));
  const firstFinal = Math.min(...h.calls.filter((c) => c.phase === "final").map((c) => c.start));
  const neededKey = h.requests.some((q) => q.from !== undefined && q.at >= firstFinal);
  if ((usable || !neededKey) && lastReads.every((c) => c.outcome.type === "token")) return;
  if (rt && final.kind === "record" && final.mark !== undefined) {
    const { process: holder, seenAt } = f.markHolder(final);
    const killed = holder !== undefined ? f.killedAt(holder) : f.killAfter(seenAt ?? 0)?.at;
    const waiting = lastReads.every(
      (c) => c.outcome.type === "token" || (c.outcome.type === "error" && STUCK_ERRORS.has(c.outcome.code)),
    );
    if (killed !== undefined && waiting) return;
  }
  const lastWrite = h.observations.at(-1);
  const outcomes = lastReads.map(
    (c) => `${processTag(c)}: ${c.outcome.type === "error" ? c.outcome.code : c.outcome.type}`,
  );
  violate("recover", {
    invariant: "recover",
    at: h.finalAt,
    summary: `after every fault healed, the key holds ${describeState(final, f)} and the last reads got ${outcomes.join(", ")}`,
    diagnosis: recoveryDiagnosis(final, lastReads, rt),
    evidence: [
      ...(lastWrite === undefined ? [] : around(lastWrite.at - 1_500, lastWrite.at + SEEN_LATE_MS)),
      ...(lastWrite === undefined ? [] : [observationEntry(lastWrite, f)]),
      ...h.logins.filter((l) => l.start >= h.finalAt).map(loginEntry),
      ...h.calls.filter((c) => c.phase === "final").map((c) => callEntry(c, f)),
    ],
  });
}

function recoveryDiagnosis(final: History["finalState"], lastReads: Call[], rt: boolean): string {
  const codes = new Set(lastReads.map((c) => (c.outcome.type === "error" ? c.outcome.code : c.outcome.type)));
  if (!rt && (final.kind === "corrupt" || final.kind === "wrong-type"))
    return 'client_credentials: "a new token replaces it" (README), yet the corrupt value stayed: the new token is never written over it.';
  if (!rt && final.kind === "deleted")
    return "client_credentials: after clear/revoke every new token is refused by the deletion marker, so each call costs a token request while the marker lasts (a minute at least).";
  if (!rt && final.kind === "none")
    return "client_credentials: nothing was stored again (a record Redis dropped at once, or no replica wrote one).";
  if (rt && final.kind === "corrupt" && codes.has("TOKEN_REFRESH_IN_FLIGHT"))
    return "The key holds a record with a malformed refresh mark and callers get the retryable TokenRefreshInFlightError instead of TokenStoreCorruptError, so nobody repairs it: stuck for good.";
  if (rt && final.kind === "record" && final.mark !== undefined)
    return "A refresh mark stays in the key with no dead holder to explain it.";
  return "The key did not come back to a usable token set, or a replica still failed, after every fault healed.";
}
