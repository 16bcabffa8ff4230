import { OAuthClientError } from "../core/errors";
import { isPlainObject } from "../core/validate";

/**
 * A refresh of a record's refresh token that a token manager started and has not finished: written to the store
 * (under the key's lock) just before the refresh token is sent, and replaced by the new token set, or removed,
 * once the answer is in. Another process that finds it does not send that refresh token again.
 *
 * @see {@link TokenRecord.refresh_in_flight}
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export interface RefreshInFlight {
  /** Which manager sends it: a random ID per manager. */
  holder: string;
  /** When it was marked, by that manager's clock (epoch ms). */
  since_ms: number;
}

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
  /**
   * The thumbprint (RFC 7638) of the DPoP key the tokens are bound to (`token_type` `DPoP`, RFC 9449): a token
   * manager with another key, or none, does not send the refresh token, which the server would refuse.
   */
  dpop_jkt?: string;
  /** Present while a token manager is spending `refresh_token`: see {@link RefreshInFlight}. */
  refresh_in_flight?: RefreshInFlight;
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
  /**
   * Deletes the record under `key`; resolves when there was none. A store with {@link TokenStore.setUnlessNewer}
   * leaves a marker in its place for as long as the deleted access token would have lived (at least a minute), so
   * that no process writes back a copy of what was deliberately removed.
   */
  delete(key: string): Promise<void>;
  /**
   * Optional: writes `record` under `key` unless the key holds a newer token set (obtained later, by
   * `obtained_at_ms`) or the marker of a deliberate deletion, and resolves with whether it wrote. A stored record
   * that holds `options.replacing`, the refresh token spent to obtain `record`, is replaced whatever its time.
   * It needs no lock: it is how a token manager saves a token set it obtained after its lock was lost, and how
   * it writes back a record the store lost (an eviction, a flush, a failover to an empty replica).
   */
  setUnlessNewer?(key: string, record: TokenRecord, options?: { replacing?: string }): Promise<boolean>;
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

/** The longest token, scope or thumbprint a record may hold, in characters; anything longer is not one we wrote. */
export const MAX_RECORD_TEXT = 65_536;
/** The longest holder ID of a refresh mark, in characters. */
const MAX_HOLDER = 128;
/** Epoch ms we accept in a record: 0 through the year 275760, where `Date` ends. */
export const MAX_EPOCH_MS = 8.64e15;

const isText = (value: unknown, max = MAX_RECORD_TEXT): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= max;
/** Whether `value` is a time a store may hold: a finite epoch-ms number from 0 through {@link MAX_EPOCH_MS}. */
export const isEpochMs = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_EPOCH_MS;

/**
 * Whether `value` is exactly a {@link RefreshInFlight} as a manager writes it: an object with a non-empty string
 * `holder` and an epoch-ms `since_ms`, and nothing else.
 *
 * @see {@link TokenRecord.refresh_in_flight}
 */
export function isRefreshInFlight(value: unknown): value is RefreshInFlight {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 2 && isText(value.holder, MAX_HOLDER) && isEpochMs(value.since_ms) && keys.includes("since_ms")
  );
}

/** Each field a record may hold, with its check; a record holds no other. */
const RECORD_FIELDS: Record<keyof TokenRecord, (value: unknown) => boolean> = {
  access_token: isText,
  token_type: (value) => isText(value, 64),
  refresh_token: isText,
  expires_at_ms: isEpochMs,
  obtained_at_ms: isEpochMs,
  scope: (value) => typeof value === "string" && value.length <= MAX_RECORD_TEXT,
  dpop_jkt: (value) => isText(value, 256),
  refresh_in_flight: isRefreshInFlight,
};

/**
 * Whether `value` is exactly a {@link TokenRecord} as a manager writes it: a plain object with a non-empty
 * `access_token` and `token_type`, an epoch-ms `obtained_at_ms`, optional fields of their own type, sizes within
 * bounds, and no other field. How the token manager and the stores check what a store hands back: anything else
 * is {@link TokenStoreCorruptError}. It reads no token into a message.
 *
 * @see {@link TokenStore.get}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function isTokenRecord(value: unknown): value is TokenRecord {
  if (!isPlainObject(value)) return false;
  for (const [field, item] of Object.entries(value)) {
    const check = RECORD_FIELDS[field as keyof TokenRecord];
    if (!Object.hasOwn(RECORD_FIELDS, field) || check === undefined || !check(item)) return false;
  }
  return "access_token" in value && "token_type" in value && "obtained_at_ms" in value;
}

/** How long a deletion marker outlives the access token it replaced, at least; and its lifetime when nothing was stored. */
export const DELETED_MARKER_MS = 60_000;
/** How long a deletion marker lasts when the deleted token had no lifetime: it may be valid for that long. */
export const DELETED_MARKER_NO_LIFETIME_MS = 86_400_000;

/**
 * The rule of {@link TokenStore.setUnlessNewer}: whether `stored` is a newer token set than `record` (obtained
 * later), and not the one holding `replacing`, the refresh token spent to obtain `record`. The Redis store's script
 * applies the same rule in Lua.
 *
 * @see {@link TokenStore.setUnlessNewer}
 */
export function holdsNewer(stored: TokenRecord, record: TokenRecord, replacing: string | undefined): boolean {
  const replaces = replacing !== undefined && stored.refresh_token === replacing;
  return !replaces && stored.obtained_at_ms > record.obtained_at_ms;
}

/**
 * What a store holds under a key is not a token record it can read: a value of another format, a record cut
 * short, or a Redis key of another type. The message and `key` name the key, never the value, which may hold a
 * token. A client_credentials manager reports it (`onFailed`) and replaces the record with a new token; a
 * refresh_token manager throws it, since the refresh token it needs is unreadable.
 *
 * @see {@link TokenStore.get}
 */
export class TokenStoreCorruptError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "TOKEN_STORE_CORRUPT" as const;
  /** The key of the token set. */
  readonly key: string;

  /**
   * @param key - the key of the token set.
   * @param where - where it sits, such as the Redis key; default the key.
   */
  constructor(key: string, where = `key "${key}"`) {
    super("TokenStoreCorruptError", `Token set "${key}" is unreadable: ${where} does not hold a token record`);
    this.key = key;
  }
}
