import { argumentError, checkNonEmptyString, checkObject } from "../core/validate";
import type { RequestFormat } from "../oauth/token";
import { createRequestBudget } from "./budget";
import { createKeyCache, type KeyCache } from "./cache";
import { forgetTokens, invalidateTokens, storeTokens } from "./changes";
import type { Lifecycle } from "./context";
import { load, newestForRead } from "./load";
import { createMarkSightings } from "./sightings";
import { checkTokens, recordFrom } from "./records";
import { createReporter } from "./reporting";
import { checkKey, DEFAULT_KEY, resolveSettings } from "./settings";
import { createSweeper } from "./sweep";
import type { TokenManager, TokenManagerOptions } from "./types";

/** The per-key cache of each manager, for {@link cachedKeyCount}. */
const caches = new WeakMap<TokenManager, KeyCache>();

/**
 * How many keys a manager holds state for in memory. For tests of its memory use only: not exported by the
 * package.
 *
 * @internal
 * @see {@link createTokenManager}
 */
export function cachedKeyCount(manager: TokenManager): number {
  return caches.get(manager)?.size ?? 0;
}

/**
 * Creates a token manager: cached, single-flight access tokens per key, refreshed a window before expiry,
 * with refresh-token rotation saved before use.
 *
 * Each key's in-memory cache sits in front of the store, so a cached `getAccessToken()` does no I/O. The cost:
 * a change another process makes to the store (a revocation) is seen here only when the cached token reaches
 * its refresh time or is invalidated. Refreshes always re-read the store first, so a refresh token rotated by
 * another process is picked up rather than replayed. Within a process, operations on one key run one at a time;
 * across processes, give the store a `withLock` (the Redis store of `oauth-token-client/redis` has one): then one
 * process refreshes a key while the others wait for its lock and use the token it stored.
 *
 * @param options - the client, the grant, and optionally the store, refresh window, clock and hooks.
 * @returns the manager.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function createTokenManager<F extends RequestFormat = "form">(options: TokenManagerOptions<F>): TokenManager {
  const settings = resolveSettings(options as TokenManagerOptions<RequestFormat>);
  const cache = createKeyCache(settings.now);
  const life: Lifecycle = {
    settings,
    cache,
    budget: createRequestBudget(settings.maxPerSecond),
    marks: createMarkSightings(),
    report: createReporter(settings),
  };
  const sweeper = createSweeper(life);

  function acquire(key: string): Promise<string> {
    if (typeof key !== "string" || key === "") return Promise.reject(argumentError("key must be a non-empty string"));
    sweeper.due();
    const slot = cache.slot(key);
    if (slot.flight !== undefined) return slot.flight;
    // load() takes the store's lock itself, and only when the stored token is not fresh.
    const run = { key, slot, epoch: slot.epoch };
    const flight = cache.enqueue(key, slot, () => load(life, run));
    slot.flight = flight;
    const done = () => {
      if (slot.flight === flight) slot.flight = undefined;
    };
    flight.then(done, done);
    return flight;
  }

  const manager: TokenManager = {
    getAccessToken(key = DEFAULT_KEY) {
      // The hot path: one map lookup, two clock reads, an already-resolved promise.
      const slot = cache.peek(key);
      if (slot !== undefined) {
        const token = cache.fresh(slot);
        if (token !== undefined) return token;
        if (slot.flight !== undefined) return slot.flight;
      }
      return acquire(key);
    },
    async getToken(key = DEFAULT_KEY) {
      checkKey(key);
      sweeper.due();
      const slot = cache.slot(key);
      const record = await cache.enqueue(key, slot, () => newestForRead(life, key, slot));
      return record === undefined ? undefined : { ...record };
    },
    async setTokens(key, tokens) {
      checkKey(key);
      sweeper.due();
      const answer = checkTokens(settings, tokens);
      await storeTokens(life, key, recordFrom(settings, answer, settings.now(), undefined, undefined));
    },
    async invalidate(key = DEFAULT_KEY, invalidateOptions = {}) {
      checkKey(key);
      sweeper.due();
      checkObject(invalidateOptions, "options");
      const rejected = invalidateOptions.accessToken;
      if (rejected !== undefined) checkNonEmptyString(rejected, "options.accessToken");
      await invalidateTokens(life, key, rejected);
    },
    async revoke(key = DEFAULT_KEY) {
      checkKey(key);
      sweeper.due();
      await forgetTokens(life, key, true);
    },
    async clear(key = DEFAULT_KEY) {
      checkKey(key);
      sweeper.due();
      await forgetTokens(life, key, false);
    },
  };
  caches.set(manager, cache);
  return manager;
}
