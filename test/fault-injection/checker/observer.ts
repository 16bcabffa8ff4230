/**
 * Watches the token key: polls it straight from Redis (not through a replica's proxy) and records every change of
 * what it holds, classified by the checker's own reading of the record format, independent of the store's code.
 */
import { createClient } from "redis";
import type { Observation, StoreState } from "./history";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isText = (v: unknown) => typeof v === "string" && v.length > 0;
const isEpoch = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

const OPTIONAL: Record<string, (v: unknown) => boolean> = {
  refresh_token: isText,
  expires_at_ms: isEpoch,
  scope: (v) => typeof v === "string",
  dpop_jkt: isText,
  refresh_in_flight: (v) => isObject(v) && Object.keys(v).length === 2 && isText(v.holder) && isEpoch(v.since_ms),
};

/**
 * What a raw value of the token key is. A record is exactly what a manager writes (README: a record of another
 * format is corrupt): the required fields with their types, optional ones with theirs, a refresh mark exactly
 * `{holder, since_ms}`, nothing else. `{"deleted_at_ms": …}` is the store's deletion marker.
 */
export function classify(raw: string | null): StoreState {
  if (raw === null) return { kind: "none" };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: "corrupt", what: "not JSON" };
  }
  if (!isObject(value))
    return { kind: "corrupt", what: Array.isArray(value) ? "a JSON array" : `JSON ${typeof value}` };
  if (value.deleted_at_ms !== undefined && value.access_token === undefined) return { kind: "deleted" };
  if (!isText(value.access_token) || !isText(value.token_type) || !isEpoch(value.obtained_at_ms))
    return { kind: "corrupt", what: "a record without access_token, token_type or obtained_at_ms" };
  for (const [field, item] of Object.entries(value)) {
    if (field === "access_token" || field === "token_type" || field === "obtained_at_ms") continue;
    const check = OPTIONAL[field];
    if (check === undefined) return { kind: "corrupt", what: `a record with a field "${field}"` };
    if (!check(item)) return { kind: "corrupt", what: `a record with a malformed ${field} (${JSON.stringify(item)})` };
  }
  const mark = value.refresh_in_flight as { holder: string; since_ms: number } | undefined;
  return {
    kind: "record",
    accessToken: value.access_token as string,
    ...(value.refresh_token === undefined ? {} : { refreshToken: value.refresh_token as string }),
    obtainedAtMs: value.obtained_at_ms as number,
    ...(value.expires_at_ms === undefined ? {} : { expiresAtMs: value.expires_at_ms as number }),
    ...(mark === undefined ? {} : { mark: { holder: mark.holder, sinceMs: mark.since_ms } }),
  };
}

function same(a: StoreState, b: StoreState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A running {@link watchKey}. */
export interface Observer {
  observations: Observation[];
  /** Reads the key once more, records it, and stops polling. */
  stop(): Promise<StoreState>;
  /** Reads the key now (and records a change). */
  read(): Promise<StoreState>;
}

/** Polls `key` on the Redis at `url` every `intervalMs` and records each change. */
export async function watchKey(url: string, key: string, intervalMs = 15): Promise<Observer> {
  const client = createClient({ url, socket: { reconnectStrategy: () => 100 } });
  client.on("error", () => {});
  await client.connect();
  const observations: Observation[] = [];
  let stopped = false;

  async function read(): Promise<StoreState> {
    let state: StoreState;
    try {
      state = classify(await client.get(key));
    } catch (error) {
      if (!String(error).includes("WRONGTYPE")) throw error;
      state = { kind: "wrong-type" };
    }
    const last = observations.at(-1);
    if (last === undefined || !same(last.state, state)) observations.push({ at: Date.now(), state });
    return state;
  }

  const loop = (async () => {
    while (!stopped) {
      // Redis frozen (SIGSTOP) holds the read until it continues: the observer sees nothing meanwhile, as nobody does.
      await read().catch(() => {});
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();

  return {
    observations,
    read,
    async stop() {
      stopped = true;
      await loop;
      const state = await read();
      client.destroy();
      return state;
    },
  };
}
