/**
 * (f) Errors: each error a caller sees matches what the key held. A corrupt record is TokenStoreCorruptError for a
 * refresh_token grant and a new token for client_credentials (README: "client_credentials: a new token replaces
 * it; refresh_token: TokenStoreCorruptError naming the key"); TokenRefreshInFlightError needs a refresh mark.
 */
import { callEntry, describeState, observationEntry } from "../entries";
import { SEEN_LATE_MS, type Checking } from "../verdict";

const EXPECTED_ERRORS = new Set([
  "OAUTH_REAUTHORIZATION_REQUIRED",
  "TOKEN_REFRESH_IN_FLIGHT",
  "TOKEN_STORE_CORRUPT",
  "TOKEN_STORE_UNAVAILABLE",
  "TOKEN_STORE_LOCK_TIMEOUT",
  "TOKEN_STORE_LOCK_LOST",
]);

export function checkErrors(ctx: Checking): void {
  const { h, f, rt, violate, around } = ctx;
  for (const c of h.calls) {
    if (c.outcome.type !== "error") continue;
    const { code } = c.outcome;
    const end = c.end ?? c.start;
    const states = f.statesDuring(c.start - SEEN_LATE_MS, end);
    if (code === "TOKEN_STORE_CORRUPT") {
      if (!rt)
        violate(`cc corrupt`, {
          invariant: "error",
          at: c.start,
          summary: `${f.who(c, c.start)} got TokenStoreCorruptError with a client_credentials grant`,
          diagnosis: 'README: "client_credentials: a new token replaces it" (an unreadable record).',
          evidence: [...states.map((o) => observationEntry(o, f)), callEntry(c, f)],
        });
      else if (!f.corruptDuring(c))
        violate(`corrupt without corruption`, {
          invariant: "error",
          at: c.start,
          summary: `${f.who(c, c.start)} got TokenStoreCorruptError while the key held a readable record`,
          diagnosis: "No corrupt value was seen in the key during the call.",
          evidence: [...states.map((o) => observationEntry(o, f)), callEntry(c, f)],
        });
    } else if (code === "TOKEN_REFRESH_IN_FLIGHT") {
      const marked = f
        .statesDuring(c.start - 200, end)
        .some((o) => o.state.kind === "record" && o.state.mark !== undefined);
      if (marked && rt) continue;
      const unreadable = f.unreadableThroughout(c);
      const onlyCorrupt = unreadable !== undefined;
      // The observer is blind while Redis is frozen: a mark there and gone then is not seen.
      if (!onlyCorrupt && rt && ctx.faultsIn(c.start - 1_000, end, ["sigstop"]).length > 0) continue;
      violate(onlyCorrupt ? "in flight for corrupt" : "in flight without mark", {
        invariant: "error",
        at: c.start,
        summary: onlyCorrupt
          ? `${f.who(c, c.start)} got TokenRefreshInFlightError for a corrupt record (${describeState(unreadable.state)})`
          : `${f.who(c, c.start)} got TokenRefreshInFlightError with no refresh mark in the key`,
        diagnosis: onlyCorrupt
          ? "A record with a malformed refresh_in_flight is corrupt: TokenStoreCorruptError is expected (the user can then authorize again); a retryable TokenRefreshInFlightError leaves the key stuck."
          : "No refresh mark was seen in the key during the call, so no refresh was in flight.",
        evidence: [...states.map((o) => observationEntry(o, f)), ...around(c.start - 1_000, end), callEntry(c, f)],
      });
    } else if (!EXPECTED_ERRORS.has(code) && !code.startsWith("OAUTH_")) {
      violate(`unexpected ${code}`, {
        invariant: "error",
        at: c.start,
        summary: `${f.who(c, c.start)} ${c.op} failed with ${code}: ${c.outcome.message.slice(0, 160)}`,
        diagnosis: "Not one of the errors the README documents for these faults.",
        evidence: [...around(c.start - 1_000, end), callEntry(c, f)],
      });
    }
  }
}
