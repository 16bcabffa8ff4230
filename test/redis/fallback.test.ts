import { afterEach, describe, expect, test, vi } from "vitest";
import type { TokenRecord } from "../../src/stores/token-store";
import { TokenStoreUnavailableError } from "../../src/stores/redis/errors";
import { createFallback, type PendingChange, REDIS_RETRY_AFTER_MS } from "../../src/stores/redis/fallback";

afterEach(() => {
  vi.useRealTimers();
});

const down = () => new TokenStoreUnavailableError({ operation: "get", key: "k", reason: "connection", detail: "down" });
const failing = async (): Promise<string> => {
  throw down();
};

function fixture(
  enabled: boolean,
  writeBack: (key: string, change: PendingChange) => Promise<boolean> = async () => true,
) {
  const reported: TokenStoreUnavailableError[] = [];
  const written: [string, PendingChange][] = [];
  const fallback = createFallback({
    enabled,
    report: (error) => reported.push(error),
    writeBack: async (key, change) => {
      written.push([key, change]);
      return writeBack(key, change);
    },
  });
  return { fallback, reported, written };
}

const record = (expiresAt?: number, refresh?: string): TokenRecord => ({
  access_token: "at",
  token_type: "Bearer",
  obtained_at_ms: 1,
  ...(expiresAt === undefined ? {} : { expires_at_ms: expiresAt }),
  ...(refresh === undefined ? {} : { refresh_token: refresh }),
});

describe('onUnavailable "throw"', () => {
  test("a Redis failure is reported and thrown; memory is never used", async () => {
    const { fallback, reported } = fixture(false);
    const inMemory = vi.fn(() => "memory");
    await expect(fallback.attempt(failing, inMemory)).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    expect(reported).toHaveLength(1);
    expect(inMemory).not.toHaveBeenCalled();
    fallback.saw("k", { raw: "{}", record: record() });
    expect(fallback.local("k")).toBeUndefined();
  });

  test("another failure (a corrupt value, a lost lock) is thrown as it is, not reported", async () => {
    const { fallback, reported } = fixture(true);
    const other = new Error("corrupt");
    await expect(
      fallback.attempt(
        () => Promise.reject(other),
        () => "memory",
      ),
    ).rejects.toBe(other);
    expect(reported).toEqual([]);
  });
});

describe('onUnavailable "memory"', () => {
  test("serves from memory after a failure, and leaves Redis alone for REDIS_RETRY_AFTER_MS by the monotonic clock", async () => {
    vi.useFakeTimers();
    const { fallback, reported } = fixture(true);
    expect(await fallback.attempt(failing, () => "memory")).toBe("memory");
    const remote = vi.fn(async () => "redis");
    // A wall-clock step back of an hour must not keep Redis alone for an hour.
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(REDIS_RETRY_AFTER_MS - 1);
    expect(await fallback.attempt(remote, () => "memory")).toBe("memory");
    expect(remote).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(await fallback.attempt(remote, () => "memory")).toBe("redis");
    expect(reported).toHaveLength(1);
  });

  test("a record seen in Redis is served from memory until Redis would have dropped it (wall clock)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const now = Date.now();
    const { fallback } = fixture(true);
    const short = record(now + 1_000);
    const user = record(now + 1_000, "rt");
    const forever = record();
    fallback.saw("short", { raw: "short-raw", record: short });
    fallback.saw("user", { raw: "user-raw", record: user });
    fallback.saw("forever", { raw: "forever-raw", record: forever });
    expect(fallback.local("short")).toBe(short);
    vi.setSystemTime(now + 1_000 + 60_000);
    expect(fallback.local("short")).toBeUndefined();
    expect(fallback.local("user")).toBe(user);
    expect(fallback.local("forever")).toBe(forever);
    fallback.saw("user");
    expect(fallback.local("user")).toBeUndefined();
  });

  test("changes kept during an outage are written back before the next command, and win over what was seen", async () => {
    const { fallback, written } = fixture(true);
    fallback.saw("a", { raw: "a-seen", record: record() });
    fallback.saw("b", { raw: "b-seen", record: record() });
    const newer = record(undefined, "rt-new");
    fallback.keep("a", { kind: "set", raw: "a-new", record: newer });
    fallback.keep("b", { kind: "delete" });
    fallback.keep("c", { kind: "delete" });
    expect(fallback.local("a")).toBe(newer);
    expect(fallback.local("b")).toBeUndefined();
    const order: string[] = [];
    await fallback.attempt(
      async () => order.push(`remote after ${written.length}`),
      () => 0,
    );
    expect(order).toEqual(["remote after 3"]);
    expect(written).toEqual([
      ["a", { kind: "set", raw: "a-new", record: newer }],
      // Deleted later only if Redis still holds what this process saw.
      ["b", { kind: "delete", raw: "b-seen" }],
      ["c", { kind: "delete", raw: undefined }],
    ]);
    // Written back once only.
    await fallback.attempt(
      async () => 0,
      () => 0,
    );
    expect(written).toHaveLength(3);
  });

  test("a change not written back (Redis holds a newer record) is forgotten with what was seen", async () => {
    const { fallback } = fixture(true, async () => false);
    fallback.saw("a", { raw: "a-seen", record: record() });
    fallback.keep("a", { kind: "set", raw: "a-new", record: record() });
    await fallback.attempt(
      async () => 0,
      () => 0,
    );
    expect(fallback.local("a")).toBeUndefined();
  });
});
