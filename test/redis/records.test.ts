import { describe, expect, test } from "vitest";
import { DELETED_MARKER_MS, DELETED_MARKER_NO_LIFETIME_MS, TokenStoreCorruptError } from "../../src/stores/token-store";
import {
  boundTtl,
  DELETED_MARKER,
  decodeRecord,
  dropAtMs,
  isDeletionMarker,
  MARKER_ARGS,
  MAX_TTL_MS,
  MAX_VALUE_LENGTH,
  RECORD_GRACE_MS,
  recordTtlMs,
  valueText,
} from "../../src/stores/redis/records";

const SOURCE = { key: "user-1", redisKey: "svc:token:user-1" };
const NOW = Date.parse("2030-01-01T00:00:00Z");
const RECORD = { access_token: "at-secret", token_type: "Bearer", obtained_at_ms: NOW };

function corruption(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("no error");
}

function expectCorrupt(run: () => unknown): void {
  const error = corruption(run);
  expect(error).toBeInstanceOf(TokenStoreCorruptError);
  expect(error).toMatchObject({ code: "TOKEN_STORE_CORRUPT", key: "user-1" });
  expect(String(error)).toContain('Redis key "svc:token:user-1"');
  expect(String(error)).not.toContain("secret");
}

describe("valueText", () => {
  test("text or bytes up to MAX_VALUE_LENGTH; nothing for a missing key", () => {
    expect(valueText(null, SOURCE)).toBeUndefined();
    expect(valueText(undefined, SOURCE)).toBeUndefined();
    expect(valueText('{"a":1}', SOURCE)).toBe('{"a":1}');
    expect(valueText(new TextEncoder().encode('{"é":1}'), SOURCE)).toBe('{"é":1}');
    expect(valueText("x".repeat(MAX_VALUE_LENGTH), SOURCE)).toHaveLength(MAX_VALUE_LENGTH);
  });

  test("a longer value, or a reply that is not a value, is corrupt, refused before it is decoded", () => {
    expectCorrupt(() => valueText("x".repeat(MAX_VALUE_LENGTH + 1), SOURCE));
    expectCorrupt(() => valueText(new Uint8Array(MAX_VALUE_LENGTH + 1), SOURCE));
    for (const reply of [42, ["a"], { a: 1 }, true]) expectCorrupt(() => valueText(reply, SOURCE));
  });
});

describe("decodeRecord", () => {
  test("a record as a manager writes it", () => {
    const full = {
      ...RECORD,
      refresh_token: "rt",
      expires_at_ms: NOW + 1,
      scope: "a b",
      dpop_jkt: "jkt",
      refresh_in_flight: { holder: "h", since_ms: NOW },
    };
    expect(decodeRecord(JSON.stringify(RECORD), SOURCE)).toEqual(RECORD);
    expect(decodeRecord(JSON.stringify(full), SOURCE)).toEqual(full);
  });

  test("the deletion marker, and a marker of any epoch-ms time, read as no record", () => {
    expect(decodeRecord(DELETED_MARKER, SOURCE)).toBeUndefined();
    expect(decodeRecord('{"deleted_at_ms":1893456000000}', SOURCE)).toBeUndefined();
  });

  const hostile: [string, string][] = [
    ["not JSON", "garbage"],
    ["truncated JSON", JSON.stringify(RECORD).slice(0, -1)],
    ["null", "null"],
    ["a string", '"at-secret"'],
    ["a number", "42"],
    ["an array", JSON.stringify([RECORD])],
    ["an empty object", "{}"],
    ["a marker of the wrong type", '{"deleted_at_ms":"x"}'],
    ["a negative marker", '{"deleted_at_ms":-1}'],
    ["a marker with a record's fields", JSON.stringify({ ...RECORD, deleted_at_ms: 0 })],
    ["a marker with another field", '{"deleted_at_ms":0,"secret":"at-secret"}'],
    ["a marker of null", '{"deleted_at_ms":null}'],
    ["an access token of the wrong type", JSON.stringify({ ...RECORD, access_token: 42 })],
    ["an empty access token", JSON.stringify({ ...RECORD, access_token: "" })],
    ["no token type", JSON.stringify({ access_token: "at-secret", obtained_at_ms: NOW })],
    ["a time that is a string", JSON.stringify({ ...RECORD, obtained_at_ms: String(NOW) })],
    ["a negative expiry", JSON.stringify({ ...RECORD, expires_at_ms: -1 })],
    ["an expiry past the end of Date", JSON.stringify({ ...RECORD, expires_at_ms: 1e300 })],
    ["a field no manager writes", JSON.stringify({ ...RECORD, extra: "x" })],
    ["__proto__", `{"__proto__":{"access_token":"x"},${JSON.stringify(RECORD).slice(1)}`],
    ["a nested object", JSON.stringify({ ...RECORD, scope: { nested: { deeper: [1, 2, 3] } } })],
    ["a refresh mark of the wrong shape", JSON.stringify({ ...RECORD, refresh_in_flight: { holder: "h" } })],
    [
      "a refresh mark with a string time",
      JSON.stringify({ ...RECORD, refresh_in_flight: { holder: "h", since_ms: "1" } }),
    ],
    ["a refresh mark that is true", JSON.stringify({ ...RECORD, refresh_in_flight: true })],
    [
      "a refresh mark with an extra field",
      JSON.stringify({ ...RECORD, refresh_in_flight: { holder: "h", since_ms: 1, x: 1 } }),
    ],
    ["a token over 64 KiB", JSON.stringify({ ...RECORD, access_token: "a".repeat(65_537) })],
    ["deep nesting", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
    ["over MAX_VALUE_LENGTH", JSON.stringify({ ...RECORD, scope: "s".repeat(MAX_VALUE_LENGTH) })],
  ];
  test.each(hostile)("%s is corrupt, named by key and never quoted", (_, raw) => {
    expectCorrupt(() => decodeRecord(raw, SOURCE));
  });
});

describe("isDeletionMarker", () => {
  test("exactly one field, deleted_at_ms, an epoch-ms number", () => {
    expect(isDeletionMarker({ deleted_at_ms: 0 })).toBe(true);
    expect(isDeletionMarker({ deleted_at_ms: 8.64e15 })).toBe(true);
    for (const value of [
      { deleted_at_ms: 8.64e15 + 1 },
      { deleted_at_ms: Number.NaN },
      { deleted_at_ms: Infinity },
      { deleted_at_ms: "0" },
      { deleted_at_ms: 0, other: 1 },
      {},
      [0],
      null,
      "x",
    ])
      expect(isDeletionMarker(value), JSON.stringify(value)).toBe(false);
  });
});

describe("record lifetime in Redis", () => {
  test("a record without a refresh token lives until a minute after its access token", () => {
    const record = { ...RECORD, expires_at_ms: NOW + 120_000 };
    expect(dropAtMs(record)).toBe(NOW + 120_000 + RECORD_GRACE_MS);
    expect(recordTtlMs(record, NOW)).toBe(120_000 + RECORD_GRACE_MS);
  });

  test("a record with a refresh token, or with no expiry, has no TTL", () => {
    expect(recordTtlMs({ ...RECORD, refresh_token: "rt", expires_at_ms: NOW + 1 }, NOW)).toBeUndefined();
    expect(recordTtlMs(RECORD, NOW)).toBeUndefined();
    expect(dropAtMs(RECORD)).toBeUndefined();
  });

  test("a TTL computed from a stored or wall-clock time is a whole number of ms in [1, MAX_TTL_MS]", () => {
    expect(recordTtlMs({ ...RECORD, expires_at_ms: NOW - HOUR }, NOW)).toBe(1);
    expect(recordTtlMs({ ...RECORD, expires_at_ms: NOW - RECORD_GRACE_MS }, NOW)).toBe(1);
    expect(recordTtlMs({ ...RECORD, expires_at_ms: NOW + 0.25 }, NOW)).toBe(RECORD_GRACE_MS + 1);
    expect(recordTtlMs({ ...RECORD, expires_at_ms: 8.64e15 }, NOW)).toBe(MAX_TTL_MS);
    // A wall clock stepped far back, or far ahead, still yields a TTL Redis takes.
    expect(recordTtlMs({ ...RECORD, expires_at_ms: NOW + HOUR }, 0)).toBe(MAX_TTL_MS);
    expect(recordTtlMs({ ...RECORD, expires_at_ms: NOW + HOUR }, 8.64e15)).toBe(1);
  });

  test("boundTtl", () => {
    expect(boundTtl(Number.NaN)).toBe(1);
    expect(boundTtl(-5)).toBe(1);
    expect(boundTtl(0)).toBe(1);
    expect(boundTtl(1.2)).toBe(2);
    expect(boundTtl(Infinity)).toBe(MAX_TTL_MS);
    expect(Number.isInteger(boundTtl(12_345.678))).toBe(true);
  });
});

describe("deletion marker lifetime", () => {
  test("the scripts get the marker, its grace, its lifetime without expiry, and the bound", () => {
    expect(MARKER_ARGS).toEqual([
      DELETED_MARKER,
      String(DELETED_MARKER_MS),
      String(DELETED_MARKER_NO_LIFETIME_MS),
      String(MAX_TTL_MS),
    ]);
    expect(isDeletionMarker(JSON.parse(DELETED_MARKER))).toBe(true);
  });

  test("every bound is printed in digits by JavaScript and by Lua (%.14g), so PX takes it", () => {
    for (const ms of [MAX_TTL_MS, DELETED_MARKER_MS, DELETED_MARKER_NO_LIFETIME_MS]) {
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeLessThan(1e14);
      expect(String(ms)).toMatch(/^\d+$/);
    }
    expect(DELETED_MARKER_MS).toBeLessThan(DELETED_MARKER_NO_LIFETIME_MS);
    expect(DELETED_MARKER_NO_LIFETIME_MS).toBeLessThan(MAX_TTL_MS);
  });
});

const HOUR = 3_600_000;
