import { afterEach, describe, expect, test, vi } from "vitest";
import type { CommandRunner } from "../../src/stores/redis/commands";
import {
  TokenStoreLockLostError,
  TokenStoreLockTimeoutError,
  TokenStoreUnavailableError,
} from "../../src/stores/redis/errors";
import { redisKeys } from "../../src/stores/redis/keys";
import { createLock, type LockTimings, pollDelayMs, renewIntervalMs } from "../../src/stores/redis/lock";
import { COMPARE_AND_DELETE, RENEW } from "../../src/stores/redis/scripts";

afterEach(() => {
  vi.useRealTimers();
});

const TIMINGS: LockTimings = { lockTtlMs: 3_000, lockWaitMs: 1_000, pollIntervalMs: 100 };

/**
 * A lock on a fake Redis: `SET NX` answers `setNx()`, the renewal `renew()`; every command is recorded by name
 * (`SET`, or the script's name).
 */
async function fixture(answers: { setNx?: () => unknown; renew?: () => unknown; release?: () => unknown } = {}) {
  const names = new Map([
    [await RENEW.sha(), "renew"],
    [await COMPARE_AND_DELETE.sha(), "release"],
  ]);
  const sent: string[] = [];
  const reported: (TokenStoreUnavailableError | TokenStoreLockLostError)[] = [];
  const commands: CommandRunner = {
    commandTimeoutMs: 500,
    deadline: () => performance.now() + 500,
    send: async (_operation, _key, args) => {
      const name = args[0] === "EVALSHA" ? names.get(args[1])! : args[0]!;
      sent.push(name);
      const answer = name === "SET" ? answers.setNx : name === "renew" ? answers.renew : answers.release;
      return answer === undefined ? (name === "SET" ? "OK" : 1) : answer();
    },
  };
  const lock = createLock({ commands, keys: redisKeys("p:"), timings: TIMINGS, report: (e) => reported.push(e) });
  return { lock, sent, reported };
}

const unavailableError = () =>
  new TokenStoreUnavailableError({ operation: "lock", key: "k", reason: "connection", detail: "down" });

describe("pollDelayMs", () => {
  test("pollIntervalMs jittered by ±50%, never past the end of the wait", () => {
    expect(pollDelayMs(TIMINGS, 0, 0)).toBe(50);
    expect(pollDelayMs(TIMINGS, 0, 0.5)).toBe(100);
    expect(pollDelayMs(TIMINGS, 0, 0.999)).toBeCloseTo(149.9);
    expect(pollDelayMs(TIMINGS, 980, 0.5)).toBe(20);
    expect(pollDelayMs(TIMINGS, 1_200, 0.5)).toBe(0);
  });
});

describe("renewIntervalMs", () => {
  test("a third of lockTtlMs, at least 1 ms", () => {
    expect(renewIntervalMs(10_000)).toBe(3_333);
    expect(renewIntervalMs(3)).toBe(1);
    expect(renewIntervalMs(1)).toBe(1);
  });
});

describe("createLock acquire", () => {
  test("takes a free lock with SET NX PX lockTtlMs", async () => {
    const { lock, sent } = await fixture();
    await lock.acquire("k", "owner");
    expect(sent).toEqual(["SET"]);
  });

  test("polls a held lock until lockWaitMs, then rejects with TokenStoreLockTimeoutError", async () => {
    vi.useFakeTimers();
    const { lock, sent } = await fixture({ setNx: () => null });
    let error: unknown;
    const waiting = lock.acquire("k", "owner").catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(999);
    expect(error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    await waiting;
    expect(error).toBeInstanceOf(TokenStoreLockTimeoutError);
    expect((error as TokenStoreLockTimeoutError).waitedMs).toBeGreaterThanOrEqual(1_000);
    // Jittered around 100 ms: between 1000/150 and 1000/50 tries, plus the first.
    expect(sent.length).toBeGreaterThanOrEqual(7);
    expect(sent.length).toBeLessThanOrEqual(22);
  });

  test("a wall-clock step neither cuts the wait short nor stretches it", async () => {
    vi.useFakeTimers();
    const { lock } = await fixture({ setNx: () => null });
    let error: unknown;
    const waiting = lock.acquire("k", "owner").catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(200);
    vi.setSystemTime(Date.now() + 86_400_000);
    await vi.advanceTimersByTimeAsync(200);
    expect(error).toBeUndefined();
    vi.setSystemTime(Date.now() - 2 * 86_400_000);
    await vi.advanceTimersByTimeAsync(800);
    await waiting;
    expect(error).toBeInstanceOf(TokenStoreLockTimeoutError);
  });

  test("lockWaitMs 0: one try", async () => {
    const sent: string[][] = [];
    const lock = createLock({
      commands: {
        commandTimeoutMs: 500,
        deadline: () => 0,
        send: async (_operation, _key, args) => {
          sent.push(args);
          return null;
        },
      },
      keys: redisKeys("p:"),
      timings: { ...TIMINGS, lockWaitMs: 0 },
      report: () => {},
    });
    await expect(lock.acquire("k", "o")).rejects.toBeInstanceOf(TokenStoreLockTimeoutError);
    expect(sent).toEqual([["SET", "p:lock:k", "o", "NX", "PX", "3000"]]);
  });

  test("when Redis fails, the lock a lost answer may have taken is released, and the failure thrown", async () => {
    const { lock, sent } = await fixture({
      setNx: () => {
        throw unavailableError();
      },
    });
    await expect(lock.acquire("k", "owner")).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    await vi.waitFor(() => expect(sent).toEqual(["SET", "release"]));
  });
});

describe("createLock hold", () => {
  test("renews every third of lockTtlMs while the task runs, then releases; the owner is known meanwhile", async () => {
    vi.useFakeTimers();
    const { lock, sent, reported } = await fixture();
    let finish!: (value: string) => void;
    const held = lock.hold("k", "owner", () => new Promise<string>((resolve) => (finish = resolve)));
    expect(lock.ownerOf("k")).toBe("owner");
    await vi.advanceTimersByTimeAsync(3_100);
    expect(sent).toEqual(["renew", "renew", "renew"]);
    finish("done");
    expect(await held).toBe("done");
    expect(sent.at(-1)).toBe("release");
    expect(lock.ownerOf("k")).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.filter((name) => name === "renew")).toHaveLength(3);
    expect(reported).toEqual([]);
  });

  test("a renewal that finds the lock lost is reported, and renewals stop", async () => {
    vi.useFakeTimers();
    const { lock, sent, reported } = await fixture({ renew: () => 0 });
    let finish!: () => void;
    const held = lock.hold("k", "owner", () => new Promise<void>((resolve) => (finish = resolve)));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toEqual(["renew"]);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(TokenStoreLockLostError);
    expect(reported[0]).toMatchObject({ key: "k", operation: "renew" });
    finish();
    await held;
  });

  test("a renewal Redis fails is reported, and renewing goes on", async () => {
    vi.useFakeTimers();
    const { lock, sent, reported } = await fixture({
      renew: () => {
        throw unavailableError();
      },
    });
    let finish!: () => void;
    const held = lock.hold("k", "owner", () => new Promise<void>((resolve) => (finish = resolve)));
    await vi.advanceTimersByTimeAsync(2_100);
    expect(sent).toEqual(["renew", "renew"]);
    expect(reported.map((e) => e.code)).toEqual(["TOKEN_STORE_UNAVAILABLE", "TOKEN_STORE_UNAVAILABLE"]);
    finish();
    await held;
  });

  test("a release Redis fails is reported; the task's result stands", async () => {
    const { lock, reported } = await fixture({
      release: () => {
        throw unavailableError();
      },
    });
    expect(await lock.hold("k", "owner", async () => 42)).toBe(42);
    expect(reported.map((e) => e.code)).toEqual(["TOKEN_STORE_UNAVAILABLE"]);
  });

  test("a task that fails is released all the same", async () => {
    const { lock, sent } = await fixture();
    await expect(lock.hold("k", "owner", async () => Promise.reject(new Error("task")))).rejects.toThrow("task");
    expect(sent).toEqual(["release"]);
    expect(lock.ownerOf("k")).toBeUndefined();
  });

  test("two holders of one key in one store: the oldest's writes are checked until it lets go", async () => {
    const { lock } = await fixture();
    let finishOld!: () => void;
    const old = lock.hold("k", "old", () => new Promise<void>((resolve) => (finishOld = resolve)));
    await lock.hold("k", "new", async () => {
      expect(lock.ownerOf("k")).toBe("old");
    });
    expect(lock.ownerOf("k")).toBe("old");
    finishOld();
    await old;
    expect(lock.ownerOf("k")).toBeUndefined();
  });

  test("renew resolves with whether the owner still held the lock", async () => {
    expect(await (await fixture()).lock.renew("set", "k", "owner")).toBe(true);
    expect(await (await fixture({ renew: () => 0 })).lock.renew("set", "k", "owner")).toBe(false);
  });
});
