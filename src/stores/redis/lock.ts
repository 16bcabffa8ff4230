import { monotonicMs, sleep, startTimer, type Timer } from "../../core/clock";
import { type CommandRunner, isOk, replyNumber } from "./commands";
import { TokenStoreLockLostError, TokenStoreLockTimeoutError, TokenStoreUnavailableError } from "./errors";
import type { Operation } from "./failures";
import type { RedisKeys } from "./keys";
import { COMPARE_AND_DELETE, RENEW, runScript } from "./scripts";

/*
 * The refresh lock of a key: `SET <lock key> <owner> NX PX lockTtlMs`, taken with bounded polling, renewed every
 * third of `lockTtlMs` while its holder works, and released by a compare-and-delete so that only its owner removes
 * it. Waits are measured on the monotonic clock, so a wall-clock step neither stretches nor cuts them.
 */

/** The lock's timings, in ms. */
export interface LockTimings {
  /** The lock's expiry; renewed every third of it. */
  lockTtlMs: number;
  /** How long a process waits for a lock another one holds. */
  lockWaitMs: number;
  /** How often a waiting process tries again (jittered by ±50%). */
  pollIntervalMs: number;
}

/** What the lock needs of the store. */
export interface LockContext {
  commands: CommandRunner;
  keys: RedisKeys;
  timings: LockTimings;
  /** Reports a failure that is not thrown (a renewal, a release), or a lock found lost. */
  report(error: TokenStoreUnavailableError | TokenStoreLockLostError): void;
}

/** The locks of one store. */
export interface RedisLock {
  /**
   * Takes the key's lock for `owner`, waiting up to `lockWaitMs` while another process holds it.
   *
   * @throws {TokenStoreLockTimeoutError} when it was still held after `lockWaitMs`.
   * @throws {TokenStoreUnavailableError} when Redis could not serve.
   */
  acquire(key: string, owner: string): Promise<void>;
  /** Runs `task` while `owner` holds the key's lock (taken by {@link RedisLock.acquire}): renews it, then releases it. */
  hold<T>(key: string, owner: string, task: () => Promise<T>): Promise<T>;
  /** The owner whose writes of `key` must check the lock: the oldest held in this store; `undefined` for none. */
  ownerOf(key: string): string | undefined;
  /**
   * Extends `owner`'s lock of `key` to `lockTtlMs`; resolves with whether `owner` still held it.
   *
   * @throws {TokenStoreUnavailableError} when Redis could not serve.
   */
  renew(operation: Operation, key: string, owner: string): Promise<boolean>;
}

/**
 * How long a waiter sleeps before its next try: `pollIntervalMs` jittered by ±50% (`random` in [0, 1)), so the
 * waiting processes' tries spread and none is starved, and never past the end of the wait.
 *
 * @param waitedMs - how long it has waited.
 */
export function pollDelayMs(timings: LockTimings, waitedMs: number, random: number): number {
  return Math.max(0, Math.min(timings.lockWaitMs - waitedMs, timings.pollIntervalMs * (0.5 + random)));
}

/** How often a holder renews its lock: every third of `lockTtlMs`, at least every ms. */
export function renewIntervalMs(lockTtlMs: number): number {
  return Math.max(1, Math.floor(lockTtlMs / 3));
}

/** The locks of a store, on its commands and keys. */
export function createLock(context: LockContext): RedisLock {
  const { commands, keys, timings, report } = context;
  const ttl = String(timings.lockTtlMs);
  /**
   * The owners of the locks held in this store, by key, oldest first (two only after the older one was lost): a
   * set or delete of the key is written only while the oldest still owns its lock.
   */
  const holders = new Map<string, string[]>();

  const release = (key: string, owner: string) =>
    runScript(commands, COMPARE_AND_DELETE, { operation: "unlock", key, keys: [keys.lock(key)], args: [owner] });

  async function renew(operation: Operation, key: string, owner: string): Promise<boolean> {
    const reply = await runScript(commands, RENEW, { operation, key, keys: [keys.lock(key)], args: [owner, ttl] });
    return replyNumber(reply) === 1;
  }

  async function acquire(key: string, owner: string): Promise<void> {
    const started = monotonicMs();
    try {
      for (;;) {
        const args = ["SET", keys.lock(key), owner, "NX", "PX", ttl];
        if (isOk(await commands.send("lock", key, args))) return;
        const waited = monotonicMs() - started;
        if (waited >= timings.lockWaitMs) throw new TokenStoreLockTimeoutError(key, Math.round(waited));
        await sleep(pollDelayMs(timings, waited, Math.random()));
      }
    } catch (error) {
      // A SET whose answer was lost may have taken the lock: free it, or it blocks the others until it expires.
      if (error instanceof TokenStoreUnavailableError) release(key, owner).catch(() => {});
      throw error;
    }
  }

  /** Keeps the lock from expiring while its holder works; reports it and stops when the lock turns out to be lost. */
  function keepAlive(key: string, owner: string): () => void {
    let stopped = false;
    let timer: Timer | undefined;
    const tick = async () => {
      try {
        if (!(await renew("renew", key, owner))) {
          // The holder's writes are refused from now on; this is the earliest word of it.
          if (!stopped) report(new TokenStoreLockLostError(key, "renew"));
          return;
        }
      } catch (error) {
        if (error instanceof TokenStoreUnavailableError) report(error);
      }
      if (!stopped) timer = startTimer(tick, renewIntervalMs(timings.lockTtlMs), { background: true });
    };
    timer = startTimer(tick, renewIntervalMs(timings.lockTtlMs), { background: true });
    return () => {
      stopped = true;
      timer?.cancel();
    };
  }

  async function hold<T>(key: string, owner: string, task: () => Promise<T>): Promise<T> {
    const stop = keepAlive(key, owner);
    const owners = holders.get(key) ?? [];
    holders.set(key, owners);
    owners.push(owner);
    try {
      return await task();
    } finally {
      stop();
      owners.splice(owners.indexOf(owner), 1);
      if (owners.length === 0 && holders.get(key) === owners) holders.delete(key);
      try {
        await release(key, owner);
      } catch (error) {
        // The task's result stands; the lock expires on its own within lockTtlMs.
        if (error instanceof TokenStoreUnavailableError) report(error);
      }
    }
  }

  return { acquire, hold, ownerOf: (key) => holders.get(key)?.[0], renew };
}
