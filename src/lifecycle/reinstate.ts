import type { TokenRecord } from "../stores/token-store";
import type { KeyRun } from "./cache";
import type { Lifecycle } from "./context";
import { writeBackOf } from "./marks";
import { keepUnsaved } from "./saves";
import { persist, readStore } from "./store-access";

/**
 * The store hands back a refresh token this manager has spent itself: an older copy, written back by another
 * process after the store lost the newer record (a flush after this manager's refresh was saved). Sending it would
 * replay it, and a server that detects reuse revokes the whole grant. The token set that refresh brought is
 * written back over it instead (compare-and-set against the spent token, as a write-back), and is what the caller
 * goes on with; when the store holds something newer by then, that is. It never throws.
 */
export async function reinstate(life: Lifecycle, run: KeyRun): Promise<TokenRecord | undefined> {
  const { refreshToken, successor } = run.slot.spent!;
  const pending = { record: writeBackOf(life, successor), replacing: refreshToken };
  let written: boolean;
  try {
    written = await persist(life.settings, run.key, pending);
  } catch {
    // Kept, and saved in the background; meanwhile the successor is what this manager knows to be current.
    keepUnsaved(life, run, pending);
    return pending.record;
  }
  if (written) {
    if (pending.record.refresh_in_flight !== undefined) life.marks.standing(run.key, pending.record.refresh_in_flight);
    return pending.record;
  }
  // Refused: the store holds something newer, or a deletion marker (no record: the key was cleared on purpose),
  // or the spent token again (a write raced this one); when it cannot be read, the successor is still what this
  // manager knows to be current.
  let current: TokenRecord | undefined;
  try {
    current = await readStore(life.settings, run.key);
  } catch {
    return pending.record;
  }
  return current?.refresh_token === refreshToken ? pending.record : current;
}
