import { sleep } from "../../core/clock";
import { argumentError } from "../../core/validate";
import { retryableOnCluster } from "./failures";
import { slotOf } from "./keys";

/*
 * The clients the store sends its commands through: what it needs of one ({@link RedisCommandClient}, which a
 * node-redis client is as it is), and the adapters of node-redis' cluster client and of ioredis, which route each
 * command to its key's master and send again what a reorganising cluster could not serve.
 */

/**
 * What the Redis store needs of a Redis client: one method that sends a command and resolves with the reply.
 * The store sends `GET`, `SET` (with `NX`/`PX`), `WAIT` and its Lua scripts (`EVALSHA`, and `EVAL` when Redis
 * answers `NOSCRIPT`), each naming one key, except the script of a write under the lock, which names the key's lock
 * first and its record second. A Redis Cluster refuses that one (CROSSSLOT) unless `prefix` holds a hash tag; the
 * store then checks the lock with a command of its own.
 *
 * A node-redis v5/v6 client (`createClient()` from `redis`) fits as it is. Others through their adapters:
 * node-redis' cluster client (`createCluster()`) as {@link nodeRedisCluster}`(cluster)`, and ioredis (`Redis` or
 * `Cluster`) as {@link ioredisClient}`(redis)`.
 *
 * @see {@link RedisTokenStoreOptions.client}
 * @see https://redis.io/docs/latest/commands/set/
 * @see https://redis.io/docs/latest/develop/clients/nodejs/produsage/
 */
export interface RedisCommandClient {
  /**
   * Sends a command such as `["SET", key, value, "NX", "PX", "10000"]` and resolves with Redis' reply: a string
   * (or bytes), `null`, or a number. `options.abortSignal` is aborted when the store stops waiting, so a client
   * that honours it (node-redis) drops a command still queued offline rather than sending it late.
   * `options.key` comes with a command that names no key (`WAIT`, with `waitForReplicas`): the key whose node
   * must run it, the node of the write before it; a cluster client routes by it.
   */
  sendCommand(args: string[], options?: { abortSignal?: AbortSignal; key?: string }): Promise<unknown>;
  /**
   * `true` for a Redis Cluster ({@link nodeRedisCluster} and {@link ioredisClient} set it): the store then
   * refuses a `prefix` without a hash tag, which would put a key's lock and record in different slots.
   */
  readonly cluster?: boolean;
}

/**
 * What {@link nodeRedisCluster} needs of node-redis' cluster client (`createCluster()` from `redis`, v5 or v6):
 * its `sendCommand`, which routes a command by the key given first.
 *
 * @see {@link nodeRedisCluster}
 * @see https://github.com/redis/node-redis/blob/master/docs/clustering.md
 */
export interface NodeRedisCluster {
  /** Sends `args` to the master (or, when `isReadonly`, a replica) of `firstKey`'s slot. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
  /** `false` once the cluster client was closed: a command then fails at once, without retries. */
  readonly isOpen?: boolean;
  /** Each slot's master, as the client knows them: `WAIT` (the store's `waitForReplicas`) goes to the key's. */
  readonly slots?: readonly ({ master: object } | undefined)[];
  /** The client of one node (or a promise of it), which sends a command to that node alone. */
  nodeClient?(node: object): RedisNodeClient | PromiseLike<RedisNodeClient>;
}

/**
 * The client of one node of a cluster, as {@link NodeRedisCluster.nodeClient} gives it.
 *
 * @see {@link NodeRedisCluster}
 */
export interface RedisNodeClient {
  /** Sends `args` to this node. */
  sendCommand(args: string[], options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/**
 * What {@link ioredisClient} needs of an ioredis client, `new Redis()` or `new Cluster()`: its `call`, which sends
 * any command (a `Cluster` routes it by its key), and `isCluster`.
 *
 * @see {@link ioredisClient}
 * @see https://github.com/redis/ioredis#cluster
 */
export interface IoredisLike {
  /** Sends any command; a `Cluster` routes it by its key. */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** `true` for a `Cluster`. */
  readonly isCluster?: boolean;
}

/** How long to wait before sending again a command a cluster could not serve, growing by this much a try. */
const RETRY_STEP_MS = 100;
const RETRY_MAX_MS = 500;

/** The key a command is routed by: the first of a script's keys, the first argument of the store's other commands. */
function firstKey(args: string[]): string | undefined {
  const name = args[0]?.toUpperCase();
  if (name === "EVAL" || name === "EVALSHA") return Number(args[2]) > 0 ? args[3] : undefined;
  return args[1];
}

/**
 * Sends through `send`, and on a cluster sends again what failed while the cluster reorganises, until
 * `signal` aborts (the store aborts it at `commandTimeoutMs`); without a signal, once. Every command the store
 * sends may be sent twice: reads, scripts that check before they write, and `SET NX` of a lock, whose second try
 * finds the lock the first one took and waits for it to expire (within `lockTtlMs`), never takes it twice.
 */
async function withRetries(
  send: () => Promise<unknown>,
  signal: AbortSignal | undefined,
  open: () => boolean,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (signal === undefined || signal.aborted || !open() || !retryableOnCluster(error)) throw error;
      // Cut short when the store gives up; the check below then ends the retries.
      await sleep(Math.min(RETRY_STEP_MS * attempt, RETRY_MAX_MS), signal).catch(() => {});
      if (signal.aborted) throw error;
    }
  }
}

/**
 * Makes node-redis' cluster client (`createCluster()` from `redis`) a client of
 * {@link createRedisTokenStore}: each command is routed by its first key (a script by the first of its keys), to
 * the slot's master (never a replica, which may not hold the last write yet), with the store's abort signal, so
 * a command still queued when the store gives up is dropped rather than sent late. A command the cluster could
 * not serve because it reorganises (a node gone, a failover under way, `CLUSTERDOWN`, `TRYAGAIN`) is sent again
 * every 100–500 ms until the store's `commandTimeoutMs`; `MOVED` and `ASK` redirections are followed by
 * node-redis itself.
 *
 * The store it is given to refuses a `prefix` without a hash tag: see {@link RedisTokenStoreOptions.prefix}.
 *
 * @param cluster - a connected node-redis cluster client.
 * @returns the client to pass as the store's `client`, marked as a cluster.
 * @throws {TypeError} when `cluster` has no `sendCommand` method.
 * @see https://github.com/redis/node-redis/blob/master/docs/clustering.md
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding
 */
export function nodeRedisCluster(cluster: NodeRedisCluster): RedisCommandClient {
  if (typeof cluster !== "object" || cluster === null || typeof cluster.sendCommand !== "function")
    throw argumentError("nodeRedisCluster() takes a node-redis cluster client (createCluster() from redis)");
  // WAIT counts the replicas that hold what this connection wrote: it must run on the connection of the write, the
  // key's master. node-redis would send it to every master (its command policy for WAIT) and answer the least count.
  const waitOnMaster = async (args: string[], key: string, options: { abortSignal?: AbortSignal } | undefined) => {
    const master = cluster.slots?.[slotOf(key)]?.master;
    if (master === undefined || cluster.nodeClient === undefined)
      throw new Error(`the cluster client knows no master for the slot of "${key}"`);
    const client = await cluster.nodeClient(master);
    return client.sendCommand(args, options?.abortSignal ? { abortSignal: options.abortSignal } : {});
  };

  return {
    cluster: true,
    sendCommand: (args, options) =>
      withRetries(
        () =>
          args[0] === "WAIT" && options?.key !== undefined
            ? waitOnMaster(args, options.key, options)
            : cluster.sendCommand(firstKey(args), false, args, options),
        options?.abortSignal,
        () => cluster.isOpen !== false,
      ),
  };
}

/** ioredis `Cluster` adapters: they route a command without a key (`WAIT`) to any node, not the key's. */
const keylessToAnyNode = new WeakSet<object>();

/**
 * Whether `client` sends a command without a key to the node of `options.key`, as `WAIT` needs.
 *
 * @internal
 */
export function routesKeyless(client: object): boolean {
  return !keylessToAnyNode.has(client);
}

/**
 * Makes an ioredis client, `new Redis()` or `new Cluster()`, a client of {@link createRedisTokenStore}. ioredis
 * routes each command by its key itself, follows `MOVED` and `ASK`, and retries through a failover as its
 * `retryDelayOnFailover`, `retryDelayOnClusterDown` and `maxRedirections` options say; a `Cluster` is also sent
 * again here what failed while it reorganises, every 100–500 ms until the store's `commandTimeoutMs`. ioredis
 * takes no abort signal: a command still queued when the store gives up is sent all the same (its answer is
 * ignored), so keep ioredis' own `commandTimeout` near the store's.
 *
 * A `Cluster` is marked as one: the store it is given to then refuses a `prefix` without a hash tag (see
 * {@link RedisTokenStoreOptions.prefix}).
 *
 * @param redis - an ioredis `Redis` or `Cluster`.
 * @returns the client to pass as the store's `client`.
 * @throws {TypeError} when `redis` has no `call` method.
 * @see https://github.com/redis/ioredis#cluster
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding
 */
export function ioredisClient(redis: IoredisLike): RedisCommandClient {
  if (typeof redis !== "object" || redis === null || typeof redis.call !== "function")
    throw argumentError("ioredisClient() takes an ioredis client (new Redis() or new Cluster() from ioredis)");
  const send = (args: string[]) => redis.call(args[0]!, ...args.slice(1));
  if (redis.isCluster !== true) return { sendCommand: send };
  const adapter: RedisCommandClient = {
    cluster: true,
    sendCommand: (args, options) =>
      withRetries(
        () => send(args),
        options?.abortSignal,
        () => (redis as { status?: unknown }).status !== "end",
      ),
  };
  keylessToAnyNode.add(adapter);
  return adapter;
}

/**
 * Why `client` cannot be the store's client as it is: a cluster client or an ioredis client not wrapped in its
 * adapter, whose `sendCommand` takes other arguments; `undefined` for a client that fits.
 *
 * @internal
 */
export function unadaptedClient(client: object): string | undefined {
  if ("masters" in client && "replicas" in client)
    return "options.client is a node-redis cluster client: pass nodeRedisCluster(cluster) instead";
  if ("isCluster" in client && typeof (client as { call?: unknown }).call === "function")
    return "options.client is an ioredis client: pass ioredisClient(redis) instead";
  return undefined;
}
