import { afterEach, describe, expect, test, vi } from "vitest";
import { ioredisClient, nodeRedisCluster, routesKeyless, unadaptedClient } from "../../src/stores/redis/clients";
import { slotOf } from "../../src/stores/redis/keys";

afterEach(() => {
  vi.useRealTimers();
});

class ErrorReply extends Error {}

describe("nodeRedisCluster", () => {
  test("routes each command by its first key (a script by its first key) to the master", async () => {
    const calls: unknown[][] = [];
    const client = nodeRedisCluster({
      sendCommand: async (firstKey, isReadonly, args) => {
        calls.push([firstKey, isReadonly, args[0]]);
        return "OK";
      },
    });
    expect(client.cluster).toBe(true);
    await client.sendCommand(["GET", "{s}:token:k"]);
    await client.sendCommand(["EVALSHA", "sha", "2", "{s}:lock:k", "{s}:token:k", "owner"]);
    await client.sendCommand(["EVAL", "return 1", "0"]);
    expect(calls).toEqual([
      ["{s}:token:k", false, "GET"],
      ["{s}:lock:k", false, "EVALSHA"],
      [undefined, false, "EVAL"],
    ]);
  });

  test("sends WAIT to the master of the key it follows", async () => {
    const master = { id: "m" };
    const slots: ({ master: object } | undefined)[] = [];
    slots[slotOf("{s}:token:k")] = { master };
    const nodeCalls: string[][] = [];
    const client = nodeRedisCluster({
      sendCommand: async () => {
        throw new Error("not through the cluster");
      },
      slots,
      nodeClient: (node) => {
        expect(node).toBe(master);
        return { sendCommand: async (args) => nodeCalls.push(args) };
      },
    });
    await client.sendCommand(["WAIT", "1", "100"], { key: "{s}:token:k" });
    expect(nodeCalls).toEqual([["WAIT", "1", "100"]]);
  });

  test("sends again what a reorganising cluster could not serve, until the store's signal aborts", async () => {
    vi.useFakeTimers();
    let tries = 0;
    const client = nodeRedisCluster({
      sendCommand: async () => {
        tries++;
        throw new ErrorReply("CLUSTERDOWN The cluster is down");
      },
    });
    const controller = new AbortController();
    let error: unknown;
    const pending = client.sendCommand(["GET", "k"], { abortSignal: controller.signal }).catch((e) => (error = e));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(tries).toBeGreaterThan(2);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    await pending;
    expect(String(error)).toContain("CLUSTERDOWN");
    const settled = tries;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(tries).toBe(settled);
  });

  test("a final answer, or no signal, is not sent again", async () => {
    let tries = 0;
    const client = nodeRedisCluster({
      sendCommand: async () => {
        tries++;
        throw new ErrorReply("WRONGTYPE Operation against a key");
      },
    });
    await expect(client.sendCommand(["GET", "k"], { abortSignal: new AbortController().signal })).rejects.toThrow();
    await expect(
      nodeRedisCluster({ sendCommand: async () => Promise.reject(new Error("gone")) }).sendCommand(["GET", "k"]),
    ).rejects.toThrow("gone");
    expect(tries).toBe(1);
  });

  test("refuses what is not a cluster client", () => {
    expect(() => nodeRedisCluster({} as never)).toThrow(TypeError);
    expect(() => nodeRedisCluster(null as never)).toThrow(/createCluster/);
  });
});

describe("ioredisClient", () => {
  test("sends through call; a Redis is not a cluster and routes WAIT itself", async () => {
    const calls: string[][] = [];
    const client = ioredisClient({ call: async (...args: string[]) => calls.push(args) });
    await client.sendCommand(["SET", "k", "v", "PX", "5"]);
    expect(calls).toEqual([["SET", "k", "v", "PX", "5"]]);
    expect(client.cluster).toBeUndefined();
    expect(routesKeyless(client)).toBe(true);
  });

  test("a Cluster is marked as one, and as unable to send WAIT to a key's node", () => {
    const client = ioredisClient({ call: async () => "OK", isCluster: true });
    expect(client.cluster).toBe(true);
    expect(routesKeyless(client)).toBe(false);
  });

  test("refuses what is not an ioredis client", () => {
    expect(() => ioredisClient({} as never)).toThrow(/ioredis/);
  });
});

describe("unadaptedClient", () => {
  test("names the adapter a cluster or ioredis client needs; nothing for a client that fits", () => {
    expect(unadaptedClient({ masters: [], replicas: [] })).toMatch(/nodeRedisCluster/);
    expect(unadaptedClient({ isCluster: false, call: () => {} })).toMatch(/ioredisClient/);
    expect(unadaptedClient({ sendCommand: () => {} })).toBeUndefined();
  });
});
