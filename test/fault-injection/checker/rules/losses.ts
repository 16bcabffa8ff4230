/**
 * (c) Lost token sets: every set the server issued is served, stored or superseded, and the refresh token stored at
 * the end is live at the server. The allowance is README's holder death, quoted below.
 */
import { callEntry, observationEntry, requestEntry } from "../entries";
import { sameProcess, short } from "../facts";
import { processTag } from "../history";
import type { Checking } from "../verdict";

export function checkLosses(ctx: Checking): void {
  checkIssuedSets(ctx);
  checkStoredRefreshToken(ctx);
}

/**
 * Each set the server issued to a replica is served to a caller, stored, or superseded (its refresh token spent, or
 * revoked). Allowed: the replica that asked for it was killed after it sent the request (README: "a holder killed
 * between sending the refresh token and saving the answer takes the only copy of the new token set with it").
 */
function checkIssuedSets(ctx: Checking): void {
  const { h, f, figures, violate, around } = ctx;
  for (const set of h.issued) {
    const q = f.requestOf(set);
    if (q?.from === undefined) continue; // the checker's own logins
    if (f.served.has(set.accessToken) || f.storedAccess.has(set.accessToken)) continue;
    const token = set.refreshToken;
    if (
      token !== undefined &&
      (h.requests.some((r) => r.refreshToken === token) || h.revoked.some((r) => r.token === token))
    )
      continue;
    const killedAt = f.killedAt(q.from);
    if (killedAt !== undefined && killedAt >= q.at) {
      figures.lost.documented += 1;
      continue;
    }
    figures.lost.violations += 1;
    violate(`lost ${set.index}`, {
      invariant: "lost",
      at: set.at,
      summary: `${short(set.accessToken)}/${short(token)}, issued to ${f.who(q.from, q.at)}, was never served, stored or spent, and ${processTag(q.from)} was not killed`,
      diagnosis: "The replica obtained a token set and neither handed it to a caller nor saved it.",
      evidence: [
        requestEntry(q, f),
        ...h.calls
          .filter((c) => sameProcess(c, q.from) && c.start <= q.at + 50 && (c.end ?? Infinity) >= q.at)
          .map((c) => callEntry(c, f)),
        ...around(q.at - 500, q.at + 2_000),
      ],
    });
  }
}

/**
 * The refresh token stored at the end is live at the server. Allowed: it was spent by a holder that was then killed
 * (the same README case), or its family was revoked by a replay (a) classifies, or it was revoked on purpose.
 */
function checkStoredRefreshToken(ctx: Checking): void {
  const { h, f, rt, figures, violate, revokingReplay } = ctx;
  const final = h.finalState;
  if (rt && final.kind === "record" && final.refreshToken !== undefined && !h.liveAtEnd.includes(final.refreshToken)) {
    const token = final.refreshToken;
    const spent = f.spend(token);
    const child = spent?.issued === undefined ? undefined : h.issued[spent.issued];
    const holderKilled = spent?.from !== undefined && (f.killedAt(spent.from) ?? -Infinity) >= spent.at;
    const family = f.byRefresh.get(token)?.family;
    const revoking = revokingReplay(family, h.end);
    const allowed = holderKilled || revoking !== undefined || h.revoked.some((r) => r.token === token);
    if (!allowed) {
      figures.lost.violations += 1;
      violate("lost final", {
        invariant: "lost",
        at: h.end,
        summary: `the key ends holding ${short(token)}, which is dead at the server`,
        diagnosis:
          child === undefined
            ? "The stored refresh token is no longer live, and no request spent it."
            : `${f.who(spent!.from, spent!.at)} spent it for ${short(child.accessToken)}/${short(child.refreshToken)}, which was never stored, and was not killed.`,
        evidence: [
          ...(spent === undefined ? [] : [requestEntry(spent, f)]),
          ...h.observations.slice(-4).map((o) => observationEntry(o, f)),
        ],
      });
    }
  }
}
