/**
 * `oauth-token-client/redis`: a token store in Redis, shared by every process that uses the same Redis and prefix,
 * with a refresh lock across them. The store is made of the modules under `redis/`; this entry point only names
 * what users import.
 */
export {
  ioredisClient,
  nodeRedisCluster,
  type IoredisLike,
  type NodeRedisCluster,
  type RedisCommandClient,
  type RedisNodeClient,
} from "./redis/clients";
export {
  TokenStoreLockLostError,
  TokenStoreLockTimeoutError,
  TokenStoreUnavailableError,
  type TokenStoreUnavailableReason,
} from "./redis/errors";
export type { RedisTokenStoreOptions } from "./redis/options";
export { createRedisTokenStore, type RedisTokenStore } from "./redis/store";
