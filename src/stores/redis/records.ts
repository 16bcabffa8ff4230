import { isPlainObject } from "../../core/validate";
import {
  DELETED_MARKER_MS,
  DELETED_MARKER_NO_LIFETIME_MS,
  isEpochMs,
  isTokenRecord,
  type TokenRecord,
} from "../token-store";
import { corrupt } from "./failures";

/*
 * What the store writes at a record's Redis key and how it reads it back: a record as JSON, or the marker of a
 * deliberate deletion; what a value may be before it is parsed (text, at most {@link MAX_VALUE_LENGTH}), what it
 * must be after (exactly a record, or exactly a marker); and how long Redis keeps each (a TTL within
 * [1, {@link MAX_TTL_MS}]).
 */

/**
 * The longest value the store parses, in characters (1 MiB): a record holds at most a few fields of 64 KiB, so
 * anything longer is not one a manager wrote, and is refused as corrupt without being parsed. The scripts refuse to
 * decode a value of more than this many bytes.
 */
export const MAX_VALUE_LENGTH = 1_048_576;

/**
 * The longest TTL the store gives a key, in ms (10 years): what it computes from a stored or wall-clock time is
 * bounded by it, so a far-future `expires_at_ms` yields a valid `PX` (Redis refuses one that overflows its clock;
 * Lua prints a number of 15 or more digits in exponent form, which `PX` refuses too).
 */
export const MAX_TTL_MS = 315_360_000_000;

/** How long a record without a refresh token outlives its access token in Redis (clock skew between hosts). */
export const RECORD_GRACE_MS = 60_000;

/** The value a deliberate deletion leaves at a record's key; see {@link TokenStore.delete}. */
export const DELETED_MARKER = '{"deleted_at_ms":0}';

/** Where a value was read: the store key and its Redis key, which a {@link TokenStoreCorruptError} names. */
export interface ValueSource {
  key: string;
  redisKey: string;
}

const decoder = new TextDecoder();

/**
 * Whether `value` is exactly a deletion marker: an object whose one field, `deleted_at_ms`, is an epoch-ms number.
 * The store writes `{"deleted_at_ms":0}`.
 */
export function isDeletionMarker(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const at = value.deleted_at_ms;
  return Object.keys(value).length === 1 && isEpochMs(at);
}

/**
 * The text of a `GET` reply; `undefined` for no value (`null`). A reply that is not text or bytes, or longer than
 * {@link MAX_VALUE_LENGTH}, is {@link TokenStoreCorruptError}, checked before any of it is decoded.
 *
 * @param reply - what the client resolved with.
 * @param source - where it was read, for the error.
 */
export function valueText(reply: unknown, source: ValueSource): string | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (typeof reply === "string" && reply.length <= MAX_VALUE_LENGTH) return reply;
  if (reply instanceof Uint8Array && reply.byteLength <= MAX_VALUE_LENGTH) return decoder.decode(reply);
  throw corrupt(source.key, source.redisKey);
}

/**
 * The record stored as `raw`; `undefined` for a deletion marker. Anything else (not JSON, too long, a record with
 * a field of the wrong type or size or a field no manager writes, a marker of the wrong shape) is
 * {@link TokenStoreCorruptError}, which names the key and never quotes the value.
 *
 * @param raw - the stored text.
 * @param source - where it was read, for the error.
 */
export function decodeRecord(raw: string, source: ValueSource): TokenRecord | undefined {
  if (raw.length > MAX_VALUE_LENGTH) throw corrupt(source.key, source.redisKey);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw corrupt(source.key, source.redisKey);
  }
  if (isTokenRecord(value)) return value;
  if (isDeletionMarker(value)) return undefined;
  throw corrupt(source.key, source.redisKey);
}

/** A TTL within what Redis takes and the store documents: a whole number of ms in [1, {@link MAX_TTL_MS}]. */
export function boundTtl(ms: number): number {
  if (!(ms > 1)) return 1;
  return Math.min(Math.ceil(ms), MAX_TTL_MS);
}

/**
 * When Redis drops a record on its own (epoch ms, by the wall clock, which other hosts share); `undefined` for
 * never: a record holding a refresh token (which outlives its access token) or whose token has no lifetime.
 */
export function dropAtMs(record: TokenRecord): number | undefined {
  if (record.refresh_token !== undefined || record.expires_at_ms === undefined) return undefined;
  return record.expires_at_ms + RECORD_GRACE_MS;
}

/**
 * A record's TTL in Redis, in ms, from its absolute expiry and the wall clock `nowMs`; `undefined` for none.
 *
 * @param record - the record to write.
 * @param nowMs - the wall clock (epoch ms): `expires_at_ms` is an absolute time every host reads alike.
 */
export function recordTtlMs(record: TokenRecord, nowMs: number = Date.now()): number | undefined {
  const dropAt = dropAtMs(record);
  return dropAt === undefined ? undefined : boundTtl(dropAt - nowMs);
}

/**
 * The arguments of a deletion: the marker, how long it outlives the access token it replaces (at least), how long
 * it lasts when that token had no lifetime, and the longest it may last. The scripts compute its TTL from these and
 * Redis' clock.
 */
export const MARKER_ARGS: readonly string[] = [
  DELETED_MARKER,
  String(DELETED_MARKER_MS),
  String(DELETED_MARKER_NO_LIFETIME_MS),
  String(MAX_TTL_MS),
];
