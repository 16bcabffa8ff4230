import type { TokenRecord } from "../stores/token-store";
import type { KeyRun, Slot, Unpersisted } from "./cache";
import type { Lifecycle } from "./context";
import { serveCurrentOrThrow } from "./fallback";
import { writeBackOf } from "./marks";
import { isFresh, isUnexpired, serveForMs } from "./records";
import { obtain } from "./refresh";
import { type Found, persist, readForLoad, readStore } from "./store-access";

/**
 * The slow path of `getAccessToken`: read the store (first without the lock, since another process may have
 * refreshed already, then under it), save what is unsaved, write back what the store lost, and refresh only
 * when no fresh token is found.
 */

/** Whether the stored record makes the unsaved one obsolete: at least as new, and not the one it replaces. */
function supersedes(stored: TokenRecord | undefined, pending: Unpersisted): stored is TokenRecord {
  if (stored === undefined) return false;
  const replaced = pending.replacing !== undefined && stored.refresh_token === pending.replacing;
  return !replaced && stored.obtained_at_ms >= pending.record.obtained_at_ms;
}

/**
 * The store lost the key's record (an eviction, a flush, a failover to an empty replica) while this manager holds
 * a copy whose access token has not expired: the copy is written back, unless the key was deliberately deleted
 * meanwhile or holds a newer record by now, and is then the key's record.
 *
 * The store may have lost another manager's refresh mark with it, its refresh token already sent: a copy with a
 * refresh token is written back with a write-back mark, so that nobody sends that refresh token until a refresh
 * in flight would have saved its outcome over it (`sightings.ts`). Its access token is served meanwhile.
 */
async function restore(life: Lifecycle, run: KeyRun): Promise<TokenRecord | undefined> {
  const { settings } = life;
  const copy = run.slot.entry?.record;
  if (copy === undefined || settings.store.setUnlessNewer === undefined || !isUnexpired(settings, copy))
    return undefined;
  const record = writeBackOf(life, copy);
  if (!(await settings.store.setUnlessNewer(run.key, record))) return (await readForLoad(settings, run.key)).record;
  // Its settling starts now, by this process's clock.
  if (record.refresh_in_flight !== undefined) life.marks.standing(run.key, record.refresh_in_flight);
  return record;
}

/** For a load, under the lock: the key's newest record, an unsaved one saved first, a lost one written back. */
async function newestForLoad(life: Lifecycle, run: KeyRun): Promise<Found> {
  const found = await readForLoad(life.settings, run.key);
  const pending = run.slot.unpersisted;
  if (pending === undefined)
    return found.record === undefined && found.corrupt === undefined ? { record: await restore(life, run) } : found;
  if (supersedes(found.record, pending)) {
    run.slot.unpersisted = undefined;
    return found;
  }
  const written = await persist(life.settings, run.key, pending, found.corrupt === undefined ? "compare" : "overwrite");
  if (run.slot.unpersisted === pending) run.slot.unpersisted = undefined;
  return written ? { record: pending.record } : readForLoad(life.settings, run.key);
}

/**
 * For a read that sends nothing (`getToken`, `revoke`): the stored record, or the unsaved one when it is newer,
 * or when the store cannot be read.
 */
export async function newestForRead(life: Lifecycle, key: string, slot: Slot): Promise<TokenRecord | undefined> {
  const pending = slot.unpersisted;
  let stored: TokenRecord | undefined;
  try {
    stored = await readStore(life.settings, key);
  } catch (error) {
    if (pending === undefined) throw error;
    return pending.record;
  }
  if (pending === undefined) return stored;
  if (!supersedes(stored, pending)) return pending.record;
  slot.unpersisted = undefined;
  return stored;
}

/**
 * Reads the key's record and returns its token when it is fresh, else what was found, for a refresh. When the
 * store fails, `known`, the freshest record at hand, is served while it has not expired.
 */
async function lookup(
  life: Lifecycle,
  run: KeyRun,
  known: TokenRecord | undefined,
  locked: boolean,
): Promise<{ token: string } | Found> {
  let found: Found;
  try {
    found = locked ? await newestForLoad(life, run) : await readForLoad(life.settings, run.key);
  } catch (error) {
    return { token: serveCurrentOrThrow(life, run, known, error, 0) };
  }
  if (!isFresh(life.settings, found.record) || life.cache.outlived(run.slot, found.record)) return found;
  life.cache.remember(run, found.record, serveForMs(life.settings, found.record));
  return { token: found.record.access_token };
}

/** Loads saved, stored or new tokens; under the store's lock when it has one. */
async function loadLocked(life: Lifecycle, run: KeyRun, known: TokenRecord | undefined): Promise<string> {
  const found = await lookup(life, run, known, true);
  if ("token" in found) return found.token;
  // Reported once, here; a client_credentials grant replaces the unreadable value with a new token.
  if (found.corrupt !== undefined) life.report.failed(run.key, found.corrupt, 0, false);
  // Under the lock: a value found unreadable is overwritten; when no record was there, a new token is saved over
  // a deletion marker too (it stops write-backs of what was deleted, not a token obtained after the deletion,
  // which would otherwise go uncached and cost a request per call until the marker expired).
  const mode = found.corrupt !== undefined ? "overwrite" : found.record === undefined ? "over-marker" : "compare";
  return obtain(life, run, found.record, mode);
}

/** The slow path of `getAccessToken`, run in the key's queue. */
export async function load(life: Lifecycle, run: KeyRun): Promise<string> {
  const { store } = life.settings;
  let known = run.slot.entry?.record;
  if (store.withLock === undefined) return loadLocked(life, run, known);
  if (run.slot.unpersisted === undefined) {
    const found = await lookup(life, run, known, false);
    if ("token" in found) return found.token;
    // What the store just said is fresher than the cache: it is what a failed lock falls back on.
    known = found.record;
  }
  let locked = false;
  try {
    return await store.withLock(run.key, () => {
      locked = true;
      return loadLocked(life, run, known);
    });
  } catch (error) {
    // Errors of the locked load were reported there; a lock that could not be taken (the store is down, another
    // process holds it too long) still leaves the current token usable until it expires.
    if (locked) throw error;
    return serveCurrentOrThrow(life, run, known, error, 0);
  }
}
