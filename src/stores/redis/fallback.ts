import { monotonicMs } from "../../core/clock";
import type { TokenRecord } from "../token-store";
import { TokenStoreUnavailableError } from "./errors";
import { dropAtMs } from "./records";

/*
 * `onUnavailable`: what the store does when Redis cannot serve. With `"throw"` the failure is reported and thrown.
 * With `"memory"` this process carries on from the records it last saw in Redis and keeps its changes, which it
 * writes back once Redis answers again; for a second after a failure it leaves Redis alone, so an outage costs no
 * time per call. That second is measured on the monotonic clock; when Redis drops a record on its own is an
 * absolute time (from the record's `expires_at_ms`), compared with the wall clock.
 */

/** With the memory fallback, how long after a failure Redis is left alone, in ms. */
export const REDIS_RETRY_AFTER_MS = 1_000;
/** With the memory fallback, how often at most the records Redis has dropped by now are forgotten, in ms. */
export const SEEN_SWEEP_INTERVAL_MS = 60_000;

/** What Redis holds, or will: a record and its stored text. */
export interface StoredRecord {
  raw: string;
  record: TokenRecord;
}

/**
 * A change made while Redis could not serve, written back once it can: a record written, or the key deleted (only
 * if Redis still holds `raw`, the record this process last saw there).
 */
export type PendingChange = ({ kind: "set" } & StoredRecord) | { kind: "delete"; raw: string | undefined };

/** What the fallback needs of the store. */
export interface FallbackContext {
  /** `true` for `onUnavailable: "memory"`. */
  enabled: boolean;
  /** Reports every failure of Redis, thrown or served from memory. */
  report(error: TokenStoreUnavailableError): void;
  /** Writes back a change made during an outage without overwriting a newer one; resolves with whether it wrote. */
  writeBack(key: string, change: PendingChange): Promise<boolean>;
}

/** What the store does when Redis cannot serve. */
export interface Fallback {
  /**
   * Runs `remote` against Redis (after writing back the outage's changes); when Redis cannot serve, reports it and
   * throws or, with the memory fallback, runs `inMemory`. A failure of another kind is thrown as it is.
   */
  attempt<T>(remote: () => Promise<T>, inMemory: () => T): Promise<T>;
  /** Notes what Redis holds for the key; nothing when it holds no record. */
  saw(key: string, stored?: StoredRecord): void;
  /** What this process believes the key holds; `undefined` for nothing. */
  local(key: string): TokenRecord | undefined;
  /** Keeps a change made while Redis could not serve: a record written, or the key deleted. */
  keep(key: string, change: ({ kind: "set" } & StoredRecord) | { kind: "delete" }): void;
}

/** The fallback of a store; with `enabled` false it only reports and throws. */
export function createFallback(context: FallbackContext): Fallback {
  const { enabled, report } = context;
  /**
   * The raw record of each key as Redis last held it, by this process' knowledge, and when Redis drops it on its
   * own (wall-clock epoch ms); forgotten then, as Redis forgets it.
   */
  const seen = new Map<string, StoredRecord & { dropAt: number }>();
  const pending = new Map<string, PendingChange>();
  let failedAt: number | undefined;
  let replaying: Promise<void> | undefined;
  let sweepAt = -Infinity;

  async function replay(): Promise<void> {
    for (const [key, change] of pending) {
      const written = await context.writeBack(key, change);
      if (pending.get(key) === change) pending.delete(key);
      // Redis holds something newer, or nothing: the next read learns which.
      if (!written) seen.delete(key);
    }
  }

  function sweep(): void {
    const now = monotonicMs();
    if (now < sweepAt) return;
    sweepAt = now + SEEN_SWEEP_INTERVAL_MS;
    const wall = Date.now();
    for (const [key, { dropAt }] of seen) if (dropAt <= wall) seen.delete(key);
  }

  async function attempt<T>(remote: () => Promise<T>, inMemory: () => T): Promise<T> {
    if (enabled) {
      sweep();
      if (failedAt !== undefined && monotonicMs() - failedAt < REDIS_RETRY_AFTER_MS) return inMemory();
    }
    try {
      if (enabled && pending.size > 0) {
        replaying ??= replay().finally(() => (replaying = undefined));
        await replaying;
      }
      const result = await remote();
      failedAt = undefined;
      return result;
    } catch (error) {
      if (!(error instanceof TokenStoreUnavailableError)) throw error;
      report(error);
      if (!enabled) throw error;
      failedAt = monotonicMs();
      return inMemory();
    }
  }

  function saw(key: string, stored?: StoredRecord): void {
    if (!enabled) return;
    if (stored === undefined) seen.delete(key);
    else seen.set(key, { raw: stored.raw, record: stored.record, dropAt: dropAtMs(stored.record) ?? Infinity });
  }

  function local(key: string): TokenRecord | undefined {
    const change = pending.get(key);
    if (change !== undefined) return change.kind === "set" ? change.record : undefined;
    const known = seen.get(key);
    // A record Redis would have dropped by now is not served, swept or not.
    return known !== undefined && known.dropAt > Date.now() ? known.record : undefined;
  }

  function keep(key: string, change: ({ kind: "set" } & StoredRecord) | { kind: "delete" }): void {
    if (change.kind === "set") pending.set(key, change);
    // Deleted later only if Redis still holds the record this process knew: a newer one is someone else's.
    else pending.set(key, { kind: "delete", raw: seen.get(key)?.raw });
  }

  return { attempt, saw, local, keep };
}
