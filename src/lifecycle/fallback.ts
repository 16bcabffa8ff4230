import type { KeyRun } from "./cache";
import type { Lifecycle } from "./context";
import { isUnexpired } from "./records";
import type { TokenRecord } from "../stores/token-store";

/** After a failed refresh while the current token still works, how long it is served before the next try. */
export const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * After a failure: reports it, then hands back the current token while it has not expired (it was only inside
 * the refresh window), served for `retryAfterMs` before the next try; otherwise throws the error.
 */
export function serveCurrentOrThrow(
  life: Lifecycle,
  run: KeyRun,
  record: TokenRecord | undefined,
  error: unknown,
  durationMs: number,
  retryAfterMs = RETRY_AFTER_FAILURE_MS,
): string {
  const usable = record !== undefined && record.expires_at_ms !== undefined && isUnexpired(life.settings, record);
  life.report.failed(run.key, error, durationMs, usable);
  if (!usable) throw error;
  life.cache.remember(run, record, Math.min(record.expires_at_ms! - life.settings.now(), retryAfterMs));
  return record.access_token;
}
