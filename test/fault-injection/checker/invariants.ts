/**
 * The invariants checked over a run's history, and the documented cases each allows. Every allowance is a case
 * README.md ("Failure modes") documents, quoted in the rule that applies it; anything else is a violation,
 * reported with the shortest excerpt of history that explains it.
 *
 * (a) replay:  no refresh token is sent twice (the server's reuse count).                    rules/replays.ts
 * (b) reauth:  no ReauthorizationRequiredError a correct protocol would avoid.                rules/reauthorizations.ts
 * (c) lost:    every token set the server issued is served, stored or superseded, and the
 *              stored refresh token is live at the end.                                      rules/losses.ts
 * (d) bound:   every call settles within its bound; none hangs.                              rules/liveness.ts
 * (e) recover: once the faults heal, every replica gets a token again from a usable set.     rules/liveness.ts
 * (f) error:   each error a caller sees matches what the key held (a corrupt record is
 *              TokenStoreCorruptError, a refresh in flight needs a refresh mark).            rules/errors.ts
 */
import { timeline } from "./entries";
import type { History } from "./history";
import { checkErrors } from "./rules/errors";
import { checkLiveness } from "./rules/liveness";
import { checkLosses } from "./rules/losses";
import { checkReauthorizations } from "./rules/reauthorizations";
import { checkReplays } from "./rules/replays";
import { Checking, type Verdict } from "./verdict";

export { INVARIANTS, type Invariant, type RunFigures, type Verdict, type Violation } from "./verdict";

/** Checks every invariant over `h`. Replays come first: the re-authorizations they caused inherit their verdict. */
export function check(h: History): Verdict {
  const ctx = new Checking(h);
  checkReplays(ctx);
  checkReauthorizations(ctx);
  checkLosses(ctx);
  checkLiveness(ctx);
  checkErrors(ctx);
  for (const v of ctx.violations) v.evidence = timeline(v.evidence);
  return { violations: ctx.violations.sort((a, b) => a.at - b.at), figures: ctx.figures };
}
