import type { TokenRecord, TokenStore } from "../token-store";
import { commandRunner } from "./commands";
import type { TokenStoreLockLostError, TokenStoreUnavailableError } from "./errors";
import { createFallback, type PendingChange } from "./fallback";
import { corrupt, refusedWith } from "./failures";
import { redisKeys } from "./keys";
import { createLock } from "./lock";
import { type RedisTokenStoreOptions, resolveOptions } from "./options";
import { decodeRecord, recordTtlMs, valueText } from "./records";
import { createWrites } from "./writes";

/*
 * The store itself: it wires the options, the commands, the lock, the writes and the fallback together, and each
 * of its methods is a read or a write of one key through them.
 */

/**
 * A {@link TokenStore} backed by Redis, with a lock shared by every process using the same Redis and prefix.
 *
 * @see {@link createRedisTokenStore}
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export interface RedisTokenStore extends TokenStore {
  /**
   * Runs `task` while holding the key's lock in Redis (`SET NX PX`, renewed while `task` runs, released by a
   * compare-and-delete so that only its owner removes it). Waits for a lock another process holds, up to
   * `lockWaitMs`. While `task` runs, `set` and `delete` of `key` through this store write only if the lock is
   * still held, and otherwise reject with {@link TokenStoreLockLostError}, so that a holder that lost its lock
   * cannot overwrite what the next holder stored.
   *
   * @throws {TokenStoreLockTimeoutError} when the lock was still held by another process after `lockWaitMs`.
   * @throws {TokenStoreUnavailableError} when Redis could not serve and `onUnavailable` is `"throw"`.
   */
  withLock<T>(key: string, task: () => Promise<T>): Promise<T>;
  /**
   * Writes `record` unless Redis holds a newer token set or a deletion marker; see {@link TokenStore.setUnlessNewer}.
   * One script, so the check and the write are atomic; no lock is needed.
   *
   * @throws {TokenStoreUnavailableError} when Redis could not serve and `onUnavailable` is `"throw"`.
   */
  setUnlessNewer(key: string, record: TokenRecord, options?: { replacing?: string }): Promise<boolean>;
}

/**
 * Creates a {@link TokenStore} in Redis, shared by every process that uses the same Redis and `prefix`: token
 * sets are JSON strings (a record without a refresh token expires a minute after its access token; one with a
 * refresh token is kept until deleted), and `withLock` is a lock in Redis, so that across all those processes
 * one refreshes a key while the others wait and then use the token it stored.
 *
 * The lock is `SET <prefix>lock:<key> <random owner> NX PX lockTtlMs`, renewed by its holder while it works and
 * released by a compare-and-delete script; a holder that dies loses it within `lockTtlMs`, and its holder's
 * writes are checked against it in the same script as the write. On a Redis Cluster, where a key's lock and
 * record sit in different slots unless `prefix` holds a hash tag (`"{my-service}:"`), the check is a renewal just
 * before the write instead. Every command is bounded by `commandTimeoutMs`, so a Redis that is down or hung
 * never makes a caller wait longer.
 *
 * @param options - the client, and optionally the key prefix, lock timings, time limit and fallback.
 * @returns the store, to pass as the token manager's `store`.
 * @throws {TypeError} when an option is malformed.
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions): RedisTokenStore {
  const settings = resolveOptions(options);
  const keys = redisKeys(settings.prefix);
  const commands = commandRunner(settings.client, settings.commandTimeoutMs);
  const report = (error: TokenStoreUnavailableError | TokenStoreLockLostError) => {
    try {
      settings.onError?.(error);
    } catch {
      // Hooks are for logging and metrics; a broken one must not break token delivery.
    }
  };
  const lock = createLock({ commands, keys, timings: settings, report });
  const writes = createWrites({ commands, keys, lock, replicas: settings.waitForReplicas, report });
  const source = (key: string) => ({ key, redisKey: keys.token(key) });

  async function writeBack(key: string, change: PendingChange): Promise<boolean> {
    if (change.kind === "delete") {
      if (change.raw !== undefined) await writes.deleteIfHolds(key, change.raw);
      return false;
    }
    const written = await writes.setUnlessNewer(key, change.raw, change.record, undefined);
    if (written) fallback.saw(key, change);
    return written;
  }
  const fallback = createFallback({ enabled: settings.memoryFallback, report, writeBack });

  /** Reads the key's value; a Redis key of another type (WRONGTYPE) is a record the store cannot read. */
  async function read(key: string): Promise<string | undefined> {
    try {
      return valueText(await commands.send("get", key, ["GET", keys.token(key)]), source(key));
    } catch (error) {
      if (refusedWith(error, "WRONGTYPE")) throw corrupt(key, keys.token(key));
      throw error;
    }
  }

  return {
    async get(key) {
      return fallback.attempt(
        async () => {
          const raw = await read(key);
          const record = raw === undefined ? undefined : decodeRecord(raw, source(key));
          fallback.saw(key, record === undefined ? undefined : { raw: raw!, record });
          return record;
        },
        () => fallback.local(key),
      );
    },

    async set(key, record) {
      const raw = JSON.stringify(record);
      await fallback.attempt(
        async () => {
          await writes.write("set", key, raw, recordTtlMs(record));
          fallback.saw(key, { raw, record });
        },
        () => fallback.keep(key, { kind: "set", raw, record }),
      );
    },

    async delete(key) {
      await fallback.attempt(
        async () => {
          await writes.write("delete", key, undefined, undefined);
          fallback.saw(key);
        },
        () => fallback.keep(key, { kind: "delete" }),
      );
    },

    async setUnlessNewer(key, record, options = {}) {
      const raw = JSON.stringify(record);
      return fallback.attempt(
        async () => {
          const written = await writes.setUnlessNewer(key, raw, record, options.replacing);
          if (written) fallback.saw(key, { raw, record });
          return written;
        },
        () => {
          fallback.keep(key, { kind: "set", raw, record });
          return true;
        },
      );
    },

    async withLock(key, task) {
      const owner = crypto.randomUUID();
      const locked = await fallback.attempt(
        () => lock.acquire(key, owner).then(() => true),
        () => false,
      );
      // Without Redis (memory fallback) the manager's own per-key queue is the only lock left.
      return locked ? lock.hold(key, owner, task) : task();
    },
  };
}
