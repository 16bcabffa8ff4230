/**
 * One line of history per call, fault, login, token request or change of the key, for the excerpts that explain
 * a violation. Tokens appear as `at#12` / `rt#12` (the server's counter), never whole.
 */
import { Facts, short, signed } from "./facts";
import type { Call, Fault, Login, Observation, StoreState, TokenRequest } from "./history";

/** A line of history at `at` (epoch ms); the report prints it relative to the run's start. */
export interface Entry {
  at: number;
  text: string;
}

/** What the key held, in words; a mark's time relative to the run's start when `f` is given. */
export function describeState(state: StoreState, f?: Facts): string {
  switch (state.kind) {
    case "none":
      return "nothing";
    case "deleted":
      return "a deletion marker";
    case "wrong-type":
      return "a key of another Redis type";
    case "corrupt":
      return `a corrupt value (${state.what})`;
    case "record": {
      const mark =
        state.mark === undefined
          ? ""
          : `, marked refresh_in_flight since ${f === undefined ? state.mark.sinceMs : clockTime(state.mark.sinceMs, f)}`;
      return `${short(state.accessToken)}/${short(state.refreshToken)}${mark}`;
    }
  }
}

/** An epoch-ms time read from some replica's clock, relative to the run's start by the wall clock. */
export function clockTime(epochMs: number, f: Facts): string {
  return `t${signed(epochMs - f.h.t0).replace(/^\+/, "+")}`;
}

/** A call's outcome, in words: `at#12`, `TOKEN_REFRESH_IN_FLIGHT`, `OAUTH_REAUTHORIZATION_REQUIRED (reason)`. */
export function outcomeText(call: Call): string {
  const o = call.outcome;
  switch (o.type) {
    case "token":
      return short(o.token);
    case "ok":
      return "done";
    case "killed":
      return "no answer: the replica was killed";
    case "hung":
      return "NO ANSWER (hung)";
    case "error":
      return o.reason === undefined ? o.code : `${o.code} (${o.reason})`;
  }
}

/** A call: who, what, its outcome and how long it took, at its start. */
export function callEntry(call: Call, f: Facts): Entry {
  const took = call.end === undefined ? "" : ` after ${call.end - call.start} ms`;
  const phase = call.phase === "final" ? " [final read]" : "";
  return { at: call.start, text: `${f.who(call, call.start)} ${call.op}${phase} -> ${outcomeText(call)}${took}` };
}

/** A token request as the server saw it: sender, refresh token, family, status, the set issued; replays flagged. */
export function requestEntry(q: TokenRequest, f: Facts): Entry {
  const sent = q.refreshToken === undefined ? q.grant : `${q.grant} ${short(q.refreshToken)}`;
  const family = q.family === undefined ? "" : ` (family ${q.family})`;
  const issued =
    q.issued === undefined
      ? ""
      : ` -> ${short(f.h.issued[q.issued]!.accessToken)}/${short(f.h.issued[q.issued]!.refreshToken)}`;
  const status = q.status === undefined ? "unanswered" : String(q.status);
  const replay = q.reused ? "  ** REPLAY of a rotated-out refresh token: the server revokes the family **" : "";
  return { at: q.at, text: `token server <- ${f.who(q.from, q.at)}: ${sent}${family}, ${status}${issued}${replay}` };
}

/** A change of what the key held. */
export function observationEntry(o: Observation, f: Facts): Entry {
  return { at: o.at, text: `key holds ${describeState(o.state, f)}` };
}

/** A fault as applied (or armed and never fired). */
export function faultEntry(fault: Fault, f: Facts): Entry {
  const target = fault.target === undefined ? "" : ` ${f.who(fault.target, fault.at)}`;
  const until = fault.end === undefined ? "" : ` (until +${fault.end - f.h.t0} ms)`;
  const unfired = fault.unfired ? " (never fired)" : "";
  return { at: fault.at, text: `FAULT ${fault.kind}${target}: ${fault.detail}${until}${unfired}` };
}

/** The user's login (setTokens of a new family), or its failure. */
export function loginEntry(login: Login): Entry {
  const what = login.ok
    ? `user logs in: ${short(login.accessToken)}/${short(login.refreshToken)} (family ${login.family}) stored with setTokens`
    : `user login failed: ${login.error}`;
  return { at: login.start, text: what };
}

/** Entries sorted by time, each once. */
export function timeline(entries: Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries
    .filter((e) => {
      const key = `${e.at}|${e.text}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.at - b.at);
}
