import { clampDelay } from "../../core/clock";
import type { TokenRecord } from "../token-store";
import { type CommandRunner, replyNumber } from "./commands";
import { TokenStoreLockLostError, TokenStoreUnavailableError } from "./errors";
import { type Operation, refusedWith } from "./failures";
import type { RedisKeys } from "./keys";
import type { RedisLock } from "./lock";
import { MARKER_ARGS, recordTtlMs } from "./records";
import { IF_OWNER_WRITE, runScript, SET_UNLESS_NEWER, TOMBSTONE, COMPARE_AND_DELETE } from "./scripts";

/*
 * The store's writes: a record or a deletion marker, checked against the key's lock while one is held in this
 * store (in the write's own script, or on a Redis Cluster without a shared slot by a renewal just before it); a
 * compare-and-set that never replaces a newer record; and, with `waitForReplicas`, the `WAIT` that counts a write
 * done only once replicas hold it.
 */

/** What the writes need of the store. */
export interface WriteContext {
  commands: CommandRunner;
  keys: RedisKeys;
  lock: RedisLock;
  /** How many replicas must acknowledge each write; 0 for none. */
  replicas: number;
  /** Reports a lock found lost at a write, which is refused. */
  report(error: TokenStoreLockLostError): void;
}

/** The writes of one store, each of one key. */
export interface RedisWrites {
  /**
   * Writes record `raw` (TTL `ttlMs`, or none), or a deletion marker when `raw` is `undefined`; then waits for the
   * replicas.
   *
   * @throws {TokenStoreLockLostError} when a lock of the key held in this store was lost; nothing is written.
   * @throws {TokenStoreUnavailableError} when Redis could not serve, or too few replicas acknowledged.
   */
  write(operation: "set" | "delete", key: string, raw: string | undefined, ttlMs: number | undefined): Promise<void>;
  /**
   * Writes `raw` unless Redis holds a deletion marker or a newer record, other than one holding `replacing`; then
   * waits for the replicas. Resolves with whether it wrote.
   */
  setUnlessNewer(key: string, raw: string, record: TokenRecord, replacing: string | undefined): Promise<boolean>;
  /** Deletes the record outright if it still holds `raw`: a deletion made while Redis was down, written back. */
  deleteIfHolds(key: string, raw: string): Promise<void>;
}

/**
 * How long `WAIT` may take, in ms: three quarters of the command's time limit, so Redis answers (with the count it
 * has) before the store gives up on the command.
 */
export function replicaWaitMs(commandTimeoutMs: number): number {
  return Math.max(1, Math.floor(clampDelay((commandTimeoutMs * 3) / 4)));
}

/** The writes of a store, on its commands, keys and lock. */
export function createWrites(context: WriteContext): RedisWrites {
  const { commands, keys, lock, replicas } = context;
  /** Learned from a CROSSSLOT answer: a Redis Cluster, where a key's lock and record are in different slots. */
  let crossSlot = false;

  const lost = (key: string, operation: "set" | "delete") => {
    const error = new TokenStoreLockLostError(key, operation);
    context.report(error);
    return error;
  };

  /** Writes without a lock to check. */
  async function writePlain(operation: Operation, key: string, raw: string | undefined, px: string | undefined) {
    if (raw === undefined) {
      await runScript(commands, TOMBSTONE, { operation, key, keys: [keys.token(key)], args: MARKER_ARGS });
      return;
    }
    const args = ["SET", keys.token(key), raw, ...(px === undefined ? [] : ["PX", px])];
    await commands.send(operation, key, args);
  }

  /** Writes if `owner` still holds the key's lock, in one script; `false` when a cluster refuses it (CROSSSLOT). */
  async function writeIfOwner(
    operation: "set" | "delete",
    key: string,
    owner: string,
    raw: string | undefined,
    px: string | undefined,
  ): Promise<boolean> {
    try {
      const call = {
        operation,
        key,
        keys: [keys.lock(key), keys.token(key)],
        args: [owner, raw ?? "", px ?? "", ...MARKER_ARGS],
      };
      if (replyNumber(await runScript(commands, IF_OWNER_WRITE, call)) === 1) return true;
      throw lost(key, operation);
    } catch (error) {
      if (!refusedWith(error, "CROSSSLOT")) throw error;
      crossSlot = true;
      return false;
    }
  }

  async function replicate(operation: Operation, key: string): Promise<void> {
    if (replicas === 0) return;
    const waitMs = replicaWaitMs(commands.commandTimeoutMs);
    const reply = await commands.send(operation, key, ["WAIT", String(replicas), String(waitMs)], {
      routeKey: keys.token(key),
    });
    const acknowledged = replyNumber(reply);
    if (acknowledged >= replicas) return;
    throw new TokenStoreUnavailableError({
      operation,
      key,
      reason: "unreplicated",
      detail: `${acknowledged} of ${replicas} replicas acknowledged the write within ${waitMs} ms; a failover could lose it`,
    });
  }

  async function write(operation: "set" | "delete", key: string, raw: string | undefined, ttlMs: number | undefined) {
    const owner = lock.ownerOf(key);
    const px = ttlMs === undefined ? undefined : String(ttlMs);
    if (owner === undefined) await writePlain(operation, key, raw, px);
    else if (crossSlot || !(await writeIfOwner(operation, key, owner, raw, px))) {
      // On a cluster the lock is checked by a renewal just before the write.
      if (!(await lock.renew(operation, key, owner))) throw lost(key, operation);
      await writePlain(operation, key, raw, px);
    }
    await replicate(operation, key);
  }

  async function setUnlessNewer(key: string, raw: string, record: TokenRecord, replacing: string | undefined) {
    const ttl = recordTtlMs(record);
    const args = [raw, String(record.obtained_at_ms ?? 0), ttl === undefined ? "" : String(ttl), replacing ?? ""];
    const reply = await runScript(commands, SET_UNLESS_NEWER, { operation: "set", key, keys: [keys.token(key)], args });
    const written = replyNumber(reply) === 1;
    if (written) await replicate("set", key);
    return written;
  }

  async function deleteIfHolds(key: string, raw: string) {
    await runScript(commands, COMPARE_AND_DELETE, { operation: "delete", key, keys: [keys.token(key)], args: [raw] });
  }

  return { write, setUnlessNewer, deleteIfHolds };
}
