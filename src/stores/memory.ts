import type { TokenRecord, TokenStore } from "./token-store";

/**
 * Creates a {@link TokenStore} that keeps records in memory, for one process. It is the token manager's
 * default. Records are copied in and out, so a caller that changes a record it got changes nothing stored.
 *
 * @returns a new, empty store.
 * @see {@link TokenManagerBaseOptions.store}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.4
 */
export function createMemoryTokenStore(): TokenStore {
  const records = new Map<string, TokenRecord>();
  return {
    async get(key) {
      const record = records.get(key);
      return record === undefined ? undefined : { ...record };
    },
    async set(key, record) {
      records.set(key, { ...record });
    },
    async delete(key) {
      records.delete(key);
    },
  };
}
