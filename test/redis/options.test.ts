import { describe, expect, test } from "vitest";
import { ioredisClient, nodeRedisCluster } from "../../src/stores/redis/clients";
import { DEFAULT_PREFIX } from "../../src/stores/redis/keys";
import { checkOptions, resolveOptions } from "../../src/stores/redis/options";
import { MAX_TTL_MS } from "../../src/stores/redis/records";

const client = { sendCommand: async () => null };

function refusal(run: () => unknown): { message: string; code?: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as { message: string; code?: string };
  }
  throw new Error("not refused");
}

describe("resolveOptions", () => {
  test("fills in the defaults", () => {
    expect(resolveOptions({ client })).toEqual({
      client,
      prefix: DEFAULT_PREFIX,
      lockTtlMs: 10_000,
      lockWaitMs: 40_000,
      pollIntervalMs: 50,
      commandTimeoutMs: 2_000,
      waitForReplicas: 0,
      memoryFallback: false,
      onError: undefined,
    });
  });

  test("keeps what is given; lockTtlMs is whole ms", () => {
    const onError = () => {};
    const settings = resolveOptions({
      client,
      prefix: "p:",
      lockTtlMs: 1_000.2,
      lockWaitMs: 0,
      pollIntervalMs: 5,
      commandTimeoutMs: 100,
      waitForReplicas: 1,
      onUnavailable: "memory",
      onError,
    });
    expect(settings).toMatchObject({
      prefix: "p:",
      lockTtlMs: 1_001,
      lockWaitMs: 0,
      pollIntervalMs: 5,
      commandTimeoutMs: 100,
      waitForReplicas: 1,
      memoryFallback: true,
      onError,
    });
  });
});

describe("checkOptions", () => {
  test.each([
    [undefined, /options must be an object/],
    [null, /options must be an object/],
    [{}, /sendCommand/],
    [{ client: { sendCommand: "no" } }, /sendCommand/],
    [{ client, prefix: 1 }, /options.prefix must be a string/],
    [{ client, lockTtlMs: 0 }, /lockTtlMs must be a positive finite number/],
    [{ client, lockTtlMs: Number.NaN }, /lockTtlMs/],
    [{ client, lockTtlMs: MAX_TTL_MS + 1 }, /lockTtlMs must be at most/],
    [{ client, lockWaitMs: -1 }, /lockWaitMs must be a non-negative finite number/],
    [{ client, pollIntervalMs: 0 }, /pollIntervalMs/],
    [{ client, commandTimeoutMs: Infinity }, /commandTimeoutMs/],
    [{ client, commandTimeoutMs: "100" }, /commandTimeoutMs/],
    [{ client, waitForReplicas: 1.5 }, /waitForReplicas must be a non-negative integer/],
    [{ client, waitForReplicas: -1 }, /waitForReplicas/],
    [{ client, onUnavailable: "retry" }, /onUnavailable must be "throw" or "memory"/],
    [{ client, onError: "log" }, /onError must be a function/],
  ])("%o is refused (%s)", (options, message) => {
    const error = refusal(() => checkOptions(options as never));
    expect(error.message).toMatch(message);
    expect(error.code).toBe("ERR_INVALID_ARG_VALUE");
  });

  test("a cluster client without its adapter is refused, naming the adapter", () => {
    const cluster = { sendCommand: async () => null, masters: [], replicas: [] };
    expect(refusal(() => checkOptions({ client: cluster })).message).toMatch(/nodeRedisCluster\(cluster\)/);
    const ioredis = { sendCommand: async () => null, call: async () => null, isCluster: false };
    expect(refusal(() => checkOptions({ client: ioredis })).message).toMatch(/ioredisClient\(redis\)/);
  });

  test("on a cluster the prefix must hold a hash tag, the default included", () => {
    const cluster = nodeRedisCluster({ sendCommand: async () => null });
    expect(refusal(() => checkOptions({ client: cluster })).message).toMatch(/hash tag/);
    expect(() => checkOptions({ client: cluster, prefix: "{svc}:" })).not.toThrow();
  });

  test("waitForReplicas needs a client that sends WAIT to a key's node", () => {
    const ioCluster = ioredisClient({ call: async () => null, isCluster: true });
    expect(refusal(() => checkOptions({ client: ioCluster, prefix: "{s}:", waitForReplicas: 1 })).message).toMatch(
      /ioredis' Cluster cannot/,
    );
    expect(() => checkOptions({ client: ioCluster, prefix: "{s}:", waitForReplicas: 0 })).not.toThrow();
    const ioRedis = ioredisClient({ call: async () => null });
    expect(() => checkOptions({ client: ioRedis, waitForReplicas: 1 })).not.toThrow();
  });
});
