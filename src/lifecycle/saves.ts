import { startTimer } from "../core/clock";
import type { KeyRun, Slot, Unpersisted } from "./cache";
import type { Lifecycle } from "./context";
import { persist } from "./store-access";

/**
 * The save queue: a new token set the store refused is handed to the caller all the same (the token is valid
 * whatever the store says) and kept in memory, since it may hold the only copy of a rotated refresh token; it is
 * saved in the background, 1 s after the failure and then with doubling gaps up to 10 s, or by the next call that
 * needs the store, unless the store holds a newer set by then.
 */

const SAVE_RETRY_FIRST_MS = 1_000;
const SAVE_RETRY_MAX_MS = 10_000;

/** Keeps `pending` as the key's unsaved token set and schedules its background save. */
export function keepUnsaved(life: Lifecycle, run: KeyRun, pending: Unpersisted): void {
  run.slot.unpersisted = pending;
  scheduleSave(life, run.key, run.slot, 0);
}

/** Forgets the key's unsaved token set and stops its background save. */
export function dropUnsaved(slot: Slot): void {
  slot.unpersisted = undefined;
  slot.saveTimer?.cancel();
  slot.saveTimer = undefined;
}

async function saveNow(life: Lifecycle, key: string, slot: Slot, pending: Unpersisted, attempt: number) {
  if (slot.unpersisted !== pending) return;
  try {
    await persist(life.settings, key, pending);
    // Written, or the store holds a newer token set: either way nothing is left to save.
    if (slot.unpersisted === pending) slot.unpersisted = undefined;
  } catch (error) {
    life.report.failed(key, error, 0, true);
    scheduleSave(life, key, slot, attempt + 1);
  }
}

function scheduleSave(life: Lifecycle, key: string, slot: Slot, attempt: number): void {
  if (slot.saveTimer !== undefined) return;
  const delay = Math.min(SAVE_RETRY_MAX_MS, SAVE_RETRY_FIRST_MS * 2 ** attempt);
  slot.saveTimer = startTimer(
    () => {
      slot.saveTimer = undefined;
      const pending = slot.unpersisted;
      if (pending !== undefined) void life.cache.enqueue(key, slot, () => saveNow(life, key, slot, pending, attempt));
    },
    delay,
    { background: true },
  );
}
