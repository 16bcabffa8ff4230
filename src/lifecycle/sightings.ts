import { monotonicMs } from "../core/clock";
import type { RefreshInFlight } from "../stores/token-store";

/**
 * When this process first saw each key's refresh mark, by its own monotonic clock: how a mark written by another
 * machine, whose clock may be minutes off, is judged (see `marks.ts`).
 */

/** A mark that has stood this long, by this process's own sighting, with no outcome, is given up on. */
export const ABANDONED_REFRESH_MS = 300_000;
/**
 * The holder of a write-back mark starts with this: a record written back after the store lost it (`load.ts`)
 * carries one, because a refresh of its refresh token may have been in flight elsewhere when the store lost that
 * refresh's mark. Nobody sends the refresh token until the mark has settled (see {@link settleMs}); the refresh
 * in flight, if there was one, saves its outcome over the written-back record meanwhile.
 */
export const WRITE_BACK_HOLDER = "written-back:";

/** Whether `mark` is a write-back mark (it blocks a refresh until it settles, not the use of the access token). */
export function isWriteBack(mark: RefreshInFlight | undefined): boolean {
  return mark !== undefined && mark.holder.startsWith(WRITE_BACK_HOLDER);
}

/**
 * How long this process waits, from its first sighting of a write-back mark, before it may send the refresh
 * token: a refresh in flight elsewhere when the store lost its mark ends within its request time-out (these
 * managers share their settings) and saves within a second more. Never longer than an abandoned mark's wait.
 */
export function settleMs(requestTimeoutMs: number): number {
  return Math.min(requestTimeoutMs + 1_000, ABANDONED_REFRESH_MS);
}

/** Sightings kept at most; the oldest go first (each is a few dozen bytes). */
const MAX_SIGHTINGS = 10_000;

interface Sighting {
  readonly holder: string;
  readonly since: number;
  readonly firstSeen: number;
  lastSeen: number;
}

/** When this process first saw each key's mark; and this manager's own holder ID. */
export interface MarkSightings {
  /** This manager's holder ID: random, made at first use. */
  holder(): string;
  /** How long, in ms by the monotonic clock, this process has seen `mark` stand on `key` (0 at first sight). */
  standing(key: string, mark: RefreshInFlight): number;
  /** The key's mark is gone: forget its sighting. */
  forget(key: string): void;
  /** Forgets sightings not looked at for a while. */
  sweep(): void;
}

/** Creates the mark sightings of one manager; `clock` is monotonic (injectable for tests). */
export function createMarkSightings(clock: () => number = monotonicMs): MarkSightings {
  const seen = new Map<string, Sighting>();
  let holderId: string | undefined;
  return {
    holder() {
      holderId ??= randomId();
      return holderId;
    },
    standing(key, mark) {
      const t = clock();
      const known = seen.get(key);
      if (known !== undefined && known.holder === mark.holder && known.since === mark.since_ms) {
        known.lastSeen = t;
        return t - known.firstSeen;
      }
      seen.delete(key);
      if (seen.size >= MAX_SIGHTINGS) seen.delete(seen.keys().next().value!);
      seen.set(key, { holder: mark.holder, since: mark.since_ms, firstSeen: t, lastSeen: t });
      return 0;
    },
    forget: (key) => void seen.delete(key),
    sweep() {
      const t = clock();
      for (const [key, sighting] of seen) if (t - sighting.lastSeen > ABANDONED_REFRESH_MS) seen.delete(key);
    },
  };
}

/** A random ID for the refresh marks of one manager (Web Crypto, as in browsers and edge runtimes). */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
