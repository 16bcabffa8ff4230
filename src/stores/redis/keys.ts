import { argumentError } from "../../core/validate";

/*
 * Where the store keeps things in Redis: a key's record at `<prefix>token:<key>`, its lock at `<prefix>lock:<key>`;
 * and the Redis Cluster rules those names must follow (hash tags, slots).
 */

/** The prefix of every Redis key when the options name none. */
export const DEFAULT_PREFIX = "oauth-token-client:";

/** The Redis keys of a token set, by its store key. */
export interface RedisKeys {
  /** `<prefix>token:<key>`: the record (JSON), or a deletion marker. */
  token(key: string): string;
  /** `<prefix>lock:<key>`: the refresh lock, holding its owner's random ID. */
  lock(key: string): string;
}

/** The Redis keys under `prefix`. */
export function redisKeys(prefix: string): RedisKeys {
  return { token: (key) => `${prefix}token:${key}`, lock: (key) => `${prefix}lock:${key}` };
}

/**
 * The hash tag of a Redis key: what its first `{` and the next `}` enclose, when that is not empty; `undefined`
 * otherwise, and then Redis Cluster hashes the whole key.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** CRC16/XMODEM, which Redis Cluster hashes keys with. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The slot of `key` in a Redis Cluster: of its hash tag when it has one, else of the whole key.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model
 */
export function slotOf(key: string): number {
  return crc16(hashTag(key) ?? key) % 16_384;
}

/**
 * Checks a prefix for a Redis Cluster: it must hold a hash tag (`{…}`, not empty), so that a key's lock and
 * record share a slot, and the store checks its lock in the same script as its write.
 *
 * @throws {TypeError} when it holds none.
 */
export function checkClusterPrefix(prefix: string): void {
  if (hashTag(prefix) !== undefined) return;
  throw argumentError(
    `options.prefix must hold a hash tag on a Redis Cluster, so that a key's lock and record share a slot: such as "{my-service}:" (got ${JSON.stringify(prefix)})`,
  );
}
