import { afterEach, describe, expect, test, vi } from "vitest";
import type { RedisCommandClient } from "../../src/stores/redis/clients";
import { commandRunner, isOk, replyNumber } from "../../src/stores/redis/commands";
import { TokenStoreUnavailableError } from "../../src/stores/redis/errors";

afterEach(() => {
  vi.useRealTimers();
});

/** A client that records each command and its options, and answers with `answer`. */
function recording(answer: (args: string[]) => Promise<unknown>) {
  const sent: { args: string[]; options: { abortSignal?: AbortSignal; key?: string } | undefined }[] = [];
  const client: RedisCommandClient = {
    sendCommand: (args, options) => {
      sent.push({ args, options });
      return answer(args);
    },
  };
  return { client, sent };
}

const never = () => new Promise<never>(() => {});

describe("commandRunner", () => {
  test("sends the command with an abort signal and resolves with the reply", async () => {
    const { client, sent } = recording(async () => "OK");
    const commands = commandRunner(client, 1_000);
    expect(await commands.send("get", "k", ["GET", "p:token:k"])).toBe("OK");
    expect(sent[0]!.args).toEqual(["GET", "p:token:k"]);
    expect(sent[0]!.options?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(sent[0]!.options?.abortSignal?.aborted).toBe(false);
    expect(sent[0]!.options).not.toHaveProperty("key");
    expect(commands.commandTimeoutMs).toBe(1_000);
  });

  test("a command without a key carries the key whose node must run it", async () => {
    const { client, sent } = recording(async () => 1);
    await commandRunner(client, 1_000).send("set", "k", ["WAIT", "1", "750"], { routeKey: "p:token:k" });
    expect(sent[0]!.options?.key).toBe("p:token:k");
  });

  test("a client failure is TokenStoreUnavailableError, and the command's signal is aborted", async () => {
    const { client, sent } = recording(async () => {
      throw new Error("Socket closed unexpectedly");
    });
    const error = await commandRunner(client, 1_000)
      .send("set", "user-1", ["SET", "k", "at-secret"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ operation: "set", key: "user-1", reason: "connection" });
    expect(String(error)).not.toContain("at-secret");
    expect(sent[0]!.options?.abortSignal?.aborted).toBe(true);
  });

  test("no answer within commandTimeoutMs is a timeout, and the signal is aborted", async () => {
    vi.useFakeTimers();
    const { client, sent } = recording(never);
    let error: unknown;
    const pending = commandRunner(client, 500)
      .send("lock", "k", ["SET", "p:lock:k", "o", "NX", "PX", "1000"])
      .catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(499);
    expect(error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ operation: "lock", key: "k", reason: "timeout" });
    expect(String(error)).toContain("no answer within 500 ms");
    expect(sent[0]!.options?.abortSignal?.aborted).toBe(true);
  });

  test("a wall-clock step does not cut a command's time limit short, nor stretch it", async () => {
    vi.useFakeTimers();
    const { client } = recording(never);
    const commands = commandRunner(client, 500);
    let first: unknown;
    const ahead = commands.send("get", "k", ["GET", "k"]).catch((e: unknown) => (first = e));
    vi.setSystemTime(Date.now() + 3_600_000);
    await vi.advanceTimersByTimeAsync(400);
    expect(first).toBeUndefined();
    let second: unknown;
    const back = commands.send("get", "k", ["GET", "k"]).catch((e: unknown) => (second = e));
    vi.setSystemTime(Date.now() - 7_200_000);
    await vi.advanceTimersByTimeAsync(100);
    await ahead;
    expect(first).toMatchObject({ reason: "timeout" });
    await vi.advanceTimersByTimeAsync(400);
    await back;
    expect(second).toMatchObject({ reason: "timeout" });
  });

  test("commands given one deadline share it", async () => {
    vi.useFakeTimers();
    const { client } = recording(never);
    const commands = commandRunner(client, 500);
    const deadline = commands.deadline();
    await vi.advanceTimersByTimeAsync(300);
    let error: unknown;
    const pending = commands
      .send("set", "k", ["EVAL", "return 1", "0"], { deadline })
      .catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(199);
    expect(error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(error).toMatchObject({ reason: "timeout" });
  });

  test("a deadline already past fails at once, without waiting", async () => {
    vi.useFakeTimers();
    const { client } = recording(never);
    const commands = commandRunner(client, 500);
    let error: unknown;
    const pending = commands
      .send("get", "k", ["GET", "k"], { deadline: commands.deadline() - 1_000 })
      .catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(0);
    await pending;
    expect(error).toMatchObject({ reason: "timeout" });
  });
});

describe("replies", () => {
  test("replyNumber", () => {
    expect(replyNumber(1)).toBe(1);
    expect(replyNumber("1")).toBe(1);
    expect(replyNumber(1n)).toBe(1);
    expect(replyNumber(null)).toBeNaN();
    expect(replyNumber([1])).toBeNaN();
    expect(replyNumber({ valueOf: () => 1 })).toBeNaN();
  });

  test("isOk", () => {
    expect(isOk("OK")).toBe(true);
    expect(isOk(new TextEncoder().encode("OK"))).toBe(true);
    expect(isOk(null)).toBe(false);
    expect(isOk("ok")).toBe(false);
    expect(isOk(new TextEncoder().encode("OKAY"))).toBe(false);
    expect(isOk(1)).toBe(false);
  });
});
