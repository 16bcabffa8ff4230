/**
 * A run's history, assembled at its end from what the checker recorded, what the token server saw, and what the
 * observer saw of the token key.
 */
import { parseProcessTag, type History, type StoreState } from "./history";
import type { Observer } from "./observer";
import type { Recording } from "./recording";
import type { Schedule } from "./schedule";
import type { CheckerSettings } from "./settings";
import type { System } from "./system";

export function collect(options: {
  schedule: Schedule;
  settings: CheckerSettings;
  system: System;
  rec: Recording;
  observer: Observer;
  t0: number;
  finalAt: number;
  finalState: StoreState;
}): History {
  const { schedule, settings, system, rec, observer, t0, finalAt, finalState } = options;
  const { server } = system;
  const tokenRequests = server.requests.filter((r) => r.path === "/oauth2/token");
  const requestOf = new Map<number, number>();
  for (const [index, r] of tokenRequests.entries()) if (r.issued !== undefined) requestOf.set(r.issued, index);
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    schedule,
    settings,
    t0,
    finalAt,
    end: Date.now(),
    calls: [...rec.calls].sort((a, b) => a.start - b.start),
    faults: [...rec.faults].sort((a, b) => a.at - b.at),
    logins: rec.logins,
    requests: tokenRequests.map((r, index) => ({
      index,
      at: r.at ?? 0,
      grant: r.grant_type ?? "",
      reused: r.reused === true,
      ...optional("answeredAt", r.answeredAt),
      ...optional("from", parseProcessTag(r.replica)),
      ...optional("refreshToken", r.refresh_token),
      ...optional("family", r.family),
      ...optional("status", r.status),
      ...optional("issued", r.issued),
    })),
    issued: server.issued.map((s, index) => ({
      index,
      at: s.at ?? 0,
      accessToken: s.access_token,
      ...optional("refreshToken", s.refresh_token),
      ...optional("family", s.family),
      ...optional("from", s.from),
      ...optional("request", requestOf.get(index)),
    })),
    revoked: server.requests
      .filter((r) => r.path === "/oauth2/revoke" && r.token !== undefined)
      .map((r) => ({ at: r.at ?? 0, token: r.token! })),
    revokedFamilies: [...server.revokedFamilies],
    observations: observer.observations,
    clocks: rec.clocks,
    incarnations: rec.incarnations,
    liveAtEnd: server.issued.flatMap((s) =>
      s.refresh_token !== undefined && server.isLive(s.refresh_token) ? [s.refresh_token] : [],
    ),
    finalState,
    skipped: rec.skipped,
  };
}
