import { monotonicMs, type Timer } from "../core/clock";
import type { TokenRecord } from "../stores/token-store";

/**
 * The per-key cache in front of the store: the last record seen per key, the request its concurrent callers
 * share, and a queue that runs one operation per key at a time. An idle key with nothing cached costs no memory.
 */

/** A token set to save, and the refresh token spent to obtain it. */
export interface Unpersisted {
  readonly record: TokenRecord;
  readonly replacing: string | undefined;
}

/** A cached record and until when its token is served without asking the store. */
export interface CacheEntry {
  readonly record: TokenRecord;
  /** Until when, by the manager's wall clock (which tests move, and which may step). */
  readonly refreshAt: number;
  /** Until when, by the monotonic clock: a wall clock stepped back does not stretch how long a token is served. */
  readonly refreshAtMono: number;
  /** An already-resolved promise of the token, which the hot path hands out. */
  readonly token: Promise<string>;
}

/** A refresh token this manager spent, and the token set that refresh brought: it is never sent again. */
export interface Spent {
  readonly refreshToken: string;
  readonly successor: TokenRecord;
}

/** The in-memory state of one key. */
export interface Slot {
  entry: CacheEntry | undefined;
  /** The running getAccessToken request of this key, shared by its concurrent callers. */
  flight: Promise<string> | undefined;
  /** The end of this key's operation queue. */
  tail: Promise<void> | undefined;
  /** A token set obtained but not yet saved because the store failed; saved before anything else. */
  unpersisted: Unpersisted | undefined;
  /** The timer of the next background save of `unpersisted`. */
  saveTimer: Timer | undefined;
  /** The last refresh token this manager spent for the key, and the token set it brought. */
  spent: Spent | undefined;
  /** Bumped by every change a caller asks for, so an older running operation does not overwrite `entry`. */
  epoch: number;
}

/** One operation's view of a key: its slot, and the epoch the operation started in. */
export interface KeyRun {
  readonly key: string;
  readonly slot: Slot;
  readonly epoch: number;
}

/** The per-key cache; see the module's comment. */
export interface KeyCache {
  /** How many keys hold state. */
  readonly size: number;
  /** The key's state, when it has any; creates none. */
  peek(key: string): Slot | undefined;
  /** The key's state, created when it has none. */
  slot(key: string): Slot;
  /** The cached token of the slot while it is fresh by both clocks: the hot path. */
  fresh(slot: Slot): Promise<string> | undefined;
  /**
   * Whether the slot's cached copy of `record` (the same access token) has been served as long as it was due,
   * by the monotonic clock: a store read of the same record after a wall-clock step back does not make it fresh
   * again.
   */
  outlived(slot: Slot, record: TokenRecord): boolean;
  /** Caches `record`, served for `serveForMs` from now, unless a caller changed the key since `epoch`. */
  remember(run: KeyRun, record: TokenRecord, serveForMs: number): void;
  /** A change a caller asked for: cached state and the running request no longer answer for the key. */
  change(slot: Slot): number;
  /** Runs `op` after every earlier operation on the key. */
  enqueue<T>(key: string, slot: Slot, op: () => Promise<T>): Promise<T>;
  /**
   * Drops the state of idle keys whose token has expired by `wallNow`. A key with an unpersisted record is kept:
   * that record may be the only copy of a rotated refresh token.
   */
  sweep(wallNow: number): void;
}

function noop(): void {}

/** Creates the per-key cache; `now` is the manager's wall clock, `mono` a monotonic one (injectable for tests). */
export function createKeyCache(now: () => number, mono: () => number = monotonicMs): KeyCache {
  const slots = new Map<string, Slot>();

  function release(key: string, slot: Slot, tail: Promise<void>): void {
    if (slot.tail !== tail) return;
    slot.tail = undefined;
    const idle = slot.entry === undefined && slot.flight === undefined && slot.unpersisted === undefined;
    if (idle && slots.get(key) === slot) slots.delete(key);
  }

  return {
    get size() {
      return slots.size;
    },
    peek: (key) => slots.get(key),
    slot(key) {
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = {
          entry: undefined,
          flight: undefined,
          tail: undefined,
          unpersisted: undefined,
          saveTimer: undefined,
          spent: undefined,
          epoch: 0,
        };
        slots.set(key, slot);
      }
      return slot;
    },
    fresh(slot) {
      const entry = slot.entry;
      return entry !== undefined && now() < entry.refreshAt && mono() < entry.refreshAtMono ? entry.token : undefined;
    },
    outlived(slot, record) {
      const entry = slot.entry;
      return entry !== undefined && entry.record.access_token === record.access_token && mono() >= entry.refreshAtMono;
    },
    remember({ slot, epoch }, record, serveForMs) {
      if (slot.epoch !== epoch) return;
      const refreshAt = now() + serveForMs;
      const refreshAtMono = mono() + serveForMs;
      slot.entry = { record, refreshAt, refreshAtMono, token: Promise.resolve(record.access_token) };
    },
    change(slot) {
      slot.entry = undefined;
      slot.flight = undefined;
      slot.spent = undefined;
      return ++slot.epoch;
    },
    enqueue(key, slot, op) {
      const result = (slot.tail ?? Promise.resolve()).then(op);
      const tail = result.then(noop, noop);
      slot.tail = tail;
      void tail.then(() => release(key, slot, tail));
      return result;
    },
    sweep(wallNow) {
      for (const [key, slot] of slots) {
        const idle = slot.flight === undefined && slot.tail === undefined && slot.unpersisted === undefined;
        // A token without a lifetime is valid until invalidated: it stays.
        const expiresAt = slot.entry === undefined ? -Infinity : (slot.entry.record.expires_at_ms ?? Infinity);
        if (idle && wallNow >= expiresAt) slots.delete(key);
      }
    },
  };
}
