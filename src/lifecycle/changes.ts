import type { TokenRecord } from "../stores/token-store";
import type { Slot } from "./cache";
import type { Lifecycle } from "./context";
import { newestForRead } from "./load";
import { serveForMs } from "./records";
import { dropUnsaved } from "./saves";
import { callOptions } from "./settings";
import { readStore } from "./store-access";

/**
 * The changes a caller asks for: store a token set, invalidate, revoke or forget one. Each runs in the key's
 * queue, under the store's lock when it has one, after bumping the key's epoch so that no older running
 * operation writes over the change in memory.
 */

/** Runs `op` after every earlier operation on the key, under the store's lock when it has one. */
export function exclusive<T>(life: Lifecycle, key: string, slot: Slot, op: () => Promise<T>): Promise<T> {
  const { store } = life.settings;
  return life.cache.enqueue(key, slot, () => (store.withLock === undefined ? op() : store.withLock(key, op)));
}

/** Stores `record` as the key's token set, replacing what was there. */
export async function storeTokens(life: Lifecycle, key: string, record: TokenRecord): Promise<void> {
  const slot = life.cache.slot(key);
  const epoch = life.cache.change(slot);
  await exclusive(life, key, slot, async () => {
    dropUnsaved(slot);
    await life.settings.store.set(key, record);
    life.cache.remember({ key, slot, epoch }, record, serveForMs(life.settings, record));
  });
}

/** Marks the key's access token expired, unless it is no longer `rejected` (another caller replaced it). */
export async function invalidateTokens(life: Lifecycle, key: string, rejected: string | undefined): Promise<void> {
  const matches = (record: TokenRecord) => rejected === undefined || record.access_token === rejected;
  const slot = life.cache.slot(key);
  // A token already replaced is left alone: the 401 was for its predecessor.
  if (slot.entry === undefined || matches(slot.entry.record)) life.cache.change(slot);
  await exclusive(life, key, slot, async () => {
    const t = life.settings.now();
    const expire = (record: TokenRecord): TokenRecord =>
      record.expires_at_ms !== undefined && record.expires_at_ms <= t ? record : { ...record, expires_at_ms: t };
    const pending = slot.unpersisted;
    if (pending !== undefined && matches(pending.record))
      slot.unpersisted = { ...pending, record: expire(pending.record) };
    const record = await readStore(life.settings, key);
    if (record !== undefined && matches(record)) {
      const expired = expire(record);
      if (expired !== record) await life.settings.store.set(key, expired);
    }
    if (slot.entry !== undefined && matches(slot.entry.record)) slot.entry = undefined;
  });
}

/** Forgets the key's token set, in memory and in the store; with `revoke`, asks the server to revoke it first. */
export async function forgetTokens(life: Lifecycle, key: string, revoke: boolean): Promise<void> {
  const slot = life.cache.slot(key);
  life.cache.change(slot);
  await exclusive(life, key, slot, async () => {
    if (revoke) {
      const record = await newestForRead(life, key, slot);
      if (record === undefined) return;
      const { client, revokeRequest } = life.settings;
      await client.revokeToken(revokeRequest(record), callOptions(life.settings));
    }
    dropUnsaved(slot);
    slot.entry = undefined;
    await life.settings.store.delete(key);
  });
}
