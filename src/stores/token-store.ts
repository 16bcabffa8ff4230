import { isPlainObject } from "../core/validate";
/**
 * One token set as a {@link TokenStore} keeps it: flat, JSON-serializable, wire fields in snake_case.
 *
 * Times are absolute epoch milliseconds, so a record means the same thing in every process that reads it.
 *
 * @see {@link TokenStore}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface TokenRecord {
  /** The access token. A secret. */
  access_token: string;
  /** The token type as the server sent it (`Bearer`, `bearer`). */
  token_type: string;
  /** The refresh token, when the grant issued one. A secret. Replaced on rotation, kept otherwise. */
  refresh_token?: string;
  /** When the access token expires; absent when the server gave no lifetime (kept until invalidated). */
  expires_at_ms?: number;
  /** When the request that produced the access token was sent; the lifetime is counted from it. */
  obtained_at_ms: number;
  /** The granted scopes, space-delimited, when known. */
  scope?: string;
}

/**
 * Where a token manager keeps token sets, one per key (a user, a merchant, `"default"`).
 *
 * The store is the durable truth that processes share; each manager also keeps the last record per key in
 * memory, so a cached `getAccessToken()` never calls the store. Every method is async so that a network
 * store (Redis) implements the same interface.
 *
 * @see {@link TokenManagerBaseOptions.store}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.4
 */
export interface TokenStore {
  /** Reads the record under `key`; resolves `undefined` when there is none. */
  get(key: string): Promise<TokenRecord | undefined>;
  /** Writes the record under `key`, replacing any other. */
  set(key: string, record: TokenRecord): Promise<void>;
  /** Deletes the record under `key`; resolves when there was none. */
  delete(key: string): Promise<void>;
  /**
   * Optional: runs `task` while holding an exclusive lock on `key` shared by every process that uses this
   * store, and resolves or rejects as `task` does. The manager already runs one operation per key at a time
   * within a process; a store shared by several processes implements this so that only one of them refreshes
   * a key at a time (the others then read the refreshed record instead of spending the same refresh token).
   *
   * Before a refresh the manager reads the store without the lock, and reads it again once it holds the lock,
   * so a process that waited while another refreshed uses the stored token and sends no request. A lock must
   * not outlive a dead holder forever (give it an expiry), and waiting for it must be bounded: reject with a
   * typed error (the Redis store's `TokenStoreLockTimeoutError`, `TokenStoreUnavailableError`) rather than hang.
   */
  withLock?<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/**
 * Whether `value` has the shape of a {@link TokenRecord} (an object with a string `access_token` and
 * `token_type`): how the token manager and the Redis store check what a store hands back. It reads no token.
 *
 * @see {@link TokenStore.get}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function isTokenRecord(value: unknown): value is TokenRecord {
  if (!isPlainObject(value)) return false;
  const record = value;
  return typeof record.access_token === "string" && typeof record.token_type === "string";
}
