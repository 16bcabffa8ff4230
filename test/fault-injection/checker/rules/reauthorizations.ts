/**
 * (b) Re-authorizations: none a correct protocol avoids. Each ReauthorizationRequiredError is classified by its
 * reason and by what the history shows removed or spoiled the token set; the allowances are the cases README.md
 * ("Failure modes") documents, quoted where they are applied.
 */
import { callEntry, describeState, faultEntry, observationEntry, requestEntry } from "../entries";
import { sameProcess, short, signed, type RecordState } from "../facts";
import { processTag, type Call } from "../history";
import { ABANDONED_REFRESH_MS } from "../settings";
import { SEEN_LATE_MS, type Checking, type Classified } from "../verdict";

type Classify = (c: Call) => Classified;

export function checkReauthorizations(ctx: Checking): void {
  const { h, f, figures, violate } = ctx;
  const classified = new Map<Call, Classified>();
  const classify: Classify = (c) => {
    let verdict = classified.get(c);
    if (verdict === undefined) {
      verdict = classifyReauthorization(ctx, c, classify);
      classified.set(c, verdict);
    }
    return verdict;
  };
  for (const c of h.calls) {
    if (c.outcome.type !== "error" || c.outcome.code !== "OAUTH_REAUTHORIZATION_REQUIRED") continue;
    const verdict = classify(c);
    if (verdict.allowed) {
      figures.reauthorizations.allowed[verdict.cause] = (figures.reauthorizations.allowed[verdict.cause] ?? 0) + 1;
      continue;
    }
    figures.reauthorizations.violations += 1;
    violate(`reauth ${verdict.cause}`, {
      invariant: "reauth",
      at: c.end ?? c.start,
      summary: `${f.who(c, c.start)} got ReauthorizationRequiredError: ${verdict.cause}`,
      diagnosis: verdict.diagnosis ?? "",
      evidence: verdict.evidence ?? [callEntry(c, f)],
    });
  }
}

function classifyReauthorization(ctx: Checking, c: Call, classify: Classify): Classified {
  const reason = c.outcome.type === "error" ? c.outcome.reason : undefined;
  if (reason === "invalid_grant" || reason === "refused_grant") return refusedGrant(ctx, c, reason);
  return (
    misreadCorruption(ctx, c, reason) ??
    (reason === "refresh_outcome_unknown" ? outcomeUnknown(ctx, c) : noRefreshToken(ctx, c, classify))
  );
}

/** The key unreadable for the whole call: whatever the reason given, the manager misread a corrupt value. */
function misreadCorruption(ctx: Checking, c: Call, reason: string | undefined): Classified | undefined {
  const { f } = ctx;
  const corrupt = f.unreadableThroughout(c);
  if (corrupt === undefined) return undefined;
  return {
    allowed: false,
    cause: `re-authorization (${reason}) for a corrupt record`,
    diagnosis: `The key held ${describeState(corrupt.state)}: the manager should throw TokenStoreCorruptError (README: "refresh_token: TokenStoreCorruptError naming the key"), not ask the user to authorize again.`,
    evidence: [observationEntry(corrupt, f), callEntry(c, f)],
  };
}

/**
 * refresh_outcome_unknown: allowed only once the mark is really 5 minutes old, its holder having died with the new
 * token set (README: "after 5 minutes, ReauthorizationRequiredError (refresh_outcome_unknown)"). A run lasts seconds.
 */
function outcomeUnknown(ctx: Checking, c: Call): Classified {
  const { h, f, faultsIn } = ctx;
  const end = c.end ?? c.start;
  const marked = f
    .statesDuring(c.start - SEEN_LATE_MS, end)
    .find((o) => o.state.kind === "record" && o.state.mark !== undefined);
  if (marked === undefined)
    return {
      allowed: false,
      cause: "refresh_outcome_unknown with no refresh mark in the key",
      diagnosis: "No refresh mark was seen in the key during the call.",
      evidence: [...f.statesDuring(c.start - 500, end).map((o) => observationEntry(o, f)), callEntry(c, f)],
    };
  const record = marked.state as RecordState;
  const { process: holder, seenAt = marked.at } = f.markHolder(record);
  const age = end - seenAt;
  if (age >= ABANDONED_REFRESH_MS) return { allowed: true, cause: "holder died; its mark is over 5 minutes old" };
  const apparent = f.clockOf(c.replica, end) - record.mark!.sinceMs;
  const killedAt = holder === undefined ? undefined : f.killedAt(holder);
  const stalled =
    holder !== undefined &&
    faultsIn(seenAt, end, ["stall", "stall-holder"]).some((x) => x.target?.replica === holder.replica);
  const holderNote =
    holder === undefined
      ? "its holder never sent the refresh token"
      : killedAt !== undefined
        ? `its holder ${processTag(holder)} was killed at +${killedAt - h.t0} ms`
        : stalled
          ? `its holder ${processTag(holder)} was cut off from Redis (stalled link)`
          : `its holder was ${processTag(holder)}`;
  const holderClock = holder === undefined ? "?" : signed(f.offset(holder.replica, seenAt));
  return {
    allowed: false,
    cause: `refresh_outcome_unknown within seconds (reader clock ${signed(f.offset(c.replica, end))}, holder clock ${holderClock})`,
    diagnosis:
      `${f.who(c, end)} raised ReauthorizationRequiredError(refresh_outcome_unknown) for a refresh mark first seen ${age} ms earlier (${holderNote}). ` +
      `By its own clock the mark was ${signed(apparent)} old: it compares its own now() with since_ms, written by another process' clock` +
      `${holder === undefined ? "" : ` (${f.who(holder, seenAt)})`}. The 5-minute bound must be measured on one clock (how long this process has seen the same mark), not across machines.`,
    evidence: [
      ...f.statesDuring(seenAt - 300, end).map((o) => observationEntry(o, f)),
      ...faultsIn(seenAt - 1_000, end)
        .filter((x) => x.target === undefined || x.target.replica === c.replica || x.target.replica === holder?.replica)
        .map((x) => faultEntry(x, f)),
      ...h.requests.filter((q) => q.at >= seenAt - 300 && q.at <= end).map((q) => requestEntry(q, f)),
      callEntry(c, f),
    ],
  };
}

/** no_refresh_token: the record was gone. Allowed when the history shows what removed it, on purpose or as README says. */
function noRefreshToken(ctx: Checking, c: Call, classify: Classify): Classified {
  const { h, f, around, sinceLogin } = ctx;
  const end = c.end ?? c.start;
  const since = sinceLogin(c.start);
  // Deleted on purpose, by a clear or revoke since the user's last login (README: "Explicit clear, revoke and delete
  // leave a marker ... so no replica resurrects a deliberately removed token set").
  const deliberate = h.calls.find(
    (x) => (x.op === "clear" || x.op === "revoke") && x.start <= end && (x.end ?? Infinity) >= since,
  );
  if (deliberate !== undefined) return { allowed: true, cause: "key deleted on purpose (clear/revoke)" };
  // Cleared after a refused refresh token (README: "A dead refresh token throws ReauthorizationRequiredError and
  // clears the key's tokens"): as allowed as that refusal.
  const refusal = h.calls.find(
    (x) =>
      x !== c &&
      x.outcome.type === "error" &&
      (x.outcome.reason === "invalid_grant" || x.outcome.reason === "refused_grant") &&
      (x.end ?? x.start) >= since &&
      (x.end ?? x.start) <= end,
  );
  if (refusal !== undefined) {
    const first = classify(refusal);
    return first.allowed
      ? { allowed: true, cause: `key cleared after a refused refresh token (${first.cause})` }
      : first;
  }
  const flush = h.faults.find((x) => x.kind === "flushall" && x.at <= end && (x.end ?? x.at) >= since);
  if (flush !== undefined) return afterFlush(ctx, c, flush);
  return {
    allowed: false,
    cause: "no_refresh_token though nothing removed the record",
    diagnosis: "Since the user's last login, no clear, revoke, refused refresh or FLUSHALL removed the record.",
    evidence: [
      ...f.statesDuring(Math.max(since, c.start - 2_000), end).map((o) => observationEntry(o, f)),
      ...around(Math.max(since, c.start - 2_000), end),
      callEntry(c, f),
    ],
  };
}

/**
 * A FLUSHALL removed the record. Allowed when this replica held no unexpired copy to write back (README: "A replica
 * holding an unexpired copy writes it back"); holding one and not writing it back is a violation.
 */
function afterFlush(ctx: Checking, c: Call, flush: Checking["h"]["faults"][number]): Classified {
  const { h, f } = ctx;
  const end = c.end ?? c.start;
  const copy = f.copyHeld(c, c.start);
  const expiresAt = copy === undefined ? undefined : f.expiresAtOf(copy);
  const clock = f.clockOf(c.replica, end);
  if (copy === undefined || expiresAt === undefined || clock >= expiresAt - SEEN_LATE_MS)
    return { allowed: true, cause: "FLUSHALL removed the only copy (this replica held no unexpired one)" };
  return {
    allowed: false,
    cause: "FLUSHALL: an unexpired copy was not written back",
    diagnosis: `After the FLUSHALL, ${f.who(c, end)} held ${short(copy.accessToken)}/${short(copy.refreshToken)}, unexpired by its clock for ${expiresAt - clock} ms more, and did not write it back before asking the user to authorize again.`,
    evidence: [
      faultEntry(flush, f),
      ...f.statesDuring(flush.at - 200, end).map((o) => observationEntry(o, f)),
      ...h.calls
        .filter((x) => sameProcess(x, c) && x.start >= flush.at - 500 && x.start <= end)
        .map((x) => callEntry(x, f)),
    ],
  };
}

/**
 * invalid_grant / refused_grant: the server refused the refresh token this replica sent. Allowed when that token
 * was revoked on purpose, or replayed (or of a family revoked by a replay) in a way (a) allows.
 */
function refusedGrant(ctx: Checking, c: Call, reason: string): Classified {
  const { h, f, bound, replays, revokingReplay } = ctx;
  const end = c.end ?? c.start;
  const refused = h.requests
    .filter((q) => sameProcess(q.from, c) && q.status === 400 && q.at <= end && q.at >= c.start - bound)
    .at(-1);
  if (refused === undefined)
    return {
      allowed: false,
      cause: `${reason} without a refused request`,
      diagnosis: "The server refused no refresh request of this replica during the call.",
      evidence: [callEntry(c, f)],
    };
  const token = refused.refreshToken ?? "";
  if (refused.reused) {
    const replay = replays.get(refused.index);
    return replay?.allowed
      ? { allowed: true, cause: `refused after an allowed replay (${replay.cause})` }
      : {
          allowed: false,
          cause: `replay of ${short(token)}`,
          diagnosis: "The consequence of the replay reported under (a).",
          evidence: [requestEntry(refused, f), callEntry(c, f)],
        };
  }
  if (h.revoked.some((r) => r.token === token && r.at <= refused.at))
    return { allowed: true, cause: "refresh token revoked on purpose (revoke)" };
  const revoking = revokingReplay(refused.family, refused.at);
  if (revoking !== undefined)
    return revoking.allowed
      ? { allowed: true, cause: `family revoked after an allowed replay (${revoking.cause})` }
      : {
          allowed: false,
          cause: revoking.cause,
          diagnosis: "The family was revoked by the replay reported under (a).",
          evidence: [requestEntry(revoking.request, f), requestEntry(refused, f), callEntry(c, f)],
        };
  if (f.byRefresh.get(token) === undefined)
    return {
      allowed: false,
      cause: "a refresh token the server never issued was sent",
      diagnosis:
        "The refresh token sent was never issued by the server: it came from a record no manager wrote (a corrupt value read as a record?).",
      evidence: [
        ...f.statesDuring(c.start - 500, end).map((o) => observationEntry(o, f)),
        requestEntry(refused, f),
        callEntry(c, f),
      ],
    };
  return {
    allowed: false,
    cause: `${reason}: refused for no reason the history shows`,
    diagnosis: "The refresh token was neither replayed, revoked, nor of a revoked family.",
    evidence: [requestEntry(refused, f), callEntry(c, f)],
  };
}
