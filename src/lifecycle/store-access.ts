import { holdsNewer, isTokenRecord, TokenStoreCorruptError, type TokenRecord } from "../stores/token-store";
import type { Unpersisted } from "./cache";
import type { Settings } from "./settings";

/** Reading and writing the store: what it hands back is checked, and a save never undoes a newer one. */

/**
 * Reads the key's record. Anything that is not exactly a record as a manager writes it (`isTokenRecord`) is
 * {@link TokenStoreCorruptError}, naming the key and never the value.
 */
export async function readStore(settings: Settings, key: string): Promise<TokenRecord | undefined> {
  const record: unknown = await settings.store.get(key);
  if (record === undefined || record === null) return undefined;
  if (!isTokenRecord(record)) throw new TokenStoreCorruptError(key);
  return record;
}

/** What a load found in the store: the record, or that the value there was unreadable. */
export type Found = { record: TokenRecord | undefined; corrupt?: TokenStoreCorruptError };

/**
 * Reads the key's record for a load. An unreadable one is, for a client_credentials grant, no record: a new
 * token replaces it, written over it (`corrupt` says so); a refresh_token grant needs the refresh token in it, so
 * there the error stands.
 */
export async function readForLoad(settings: Settings, key: string): Promise<Found> {
  try {
    return { record: await readStore(settings, key) };
  } catch (error) {
    if (!(error instanceof TokenStoreCorruptError) || settings.grantType !== "client_credentials") throw error;
    return { record: undefined, corrupt: error };
  }
}

/**
 * How a new token set is saved: `compare`, unless the store holds a newer one (the rule of `setUnlessNewer`);
 * `over-marker`, the same, but over a deletion marker too, for a set obtained under the lock after a read that
 * found no record (the marker stops write-backs of what was deleted, not a token obtained after the deletion);
 * `overwrite`, whatever the store holds, for a value found unreadable under the lock, which no compare-and-set
 * can read either. The last two write under the lock, which the Redis store's writes check.
 */
export type SaveMode = "compare" | "over-marker" | "overwrite";

/** Saves a token set as `mode` says; resolves whether it wrote. */
export async function persist(
  settings: Settings,
  key: string,
  pending: Unpersisted,
  mode: SaveMode = "compare",
): Promise<boolean> {
  const store = settings.store;
  if (mode !== "overwrite" && store.setUnlessNewer !== undefined) {
    const options = pending.replacing === undefined ? {} : { replacing: pending.replacing };
    if (await store.setUnlessNewer(key, pending.record, options)) return true;
    // Refused: a newer set stands (kept), or a deletion marker does, which reads as no record.
    if (mode === "compare" || (await readStore(settings, key)) !== undefined) return false;
  } else if (mode !== "overwrite") {
    // The same rule, read then written: as good as a store without the method allows.
    const stored = await readStore(settings, key).catch(() => undefined);
    if (stored !== undefined && holdsNewer(stored, pending.record, pending.replacing)) return false;
  }
  await store.set(key, pending.record);
  return true;
}
