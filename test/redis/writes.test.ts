import { describe, expect, test } from "vitest";
import type { TokenRecord } from "../../src/stores/token-store";
import type { CommandRunner } from "../../src/stores/redis/commands";
import { TokenStoreLockLostError, TokenStoreUnavailableError } from "../../src/stores/redis/errors";
import { unavailable } from "../../src/stores/redis/failures";
import { redisKeys } from "../../src/stores/redis/keys";
import type { RedisLock } from "../../src/stores/redis/lock";
import { MARKER_ARGS } from "../../src/stores/redis/records";
import { COMPARE_AND_DELETE, IF_OWNER_WRITE, SET_UNLESS_NEWER, TOMBSTONE } from "../../src/stores/redis/scripts";
import { createWrites, replicaWaitMs } from "../../src/stores/redis/writes";

class ErrorReply extends Error {}

const SCRIPT_NAMES = new Map<string | undefined, string>();
for (const script of [COMPARE_AND_DELETE, IF_OWNER_WRITE, SET_UNLESS_NEWER, TOMBSTONE])
  SCRIPT_NAMES.set(await script.sha(), script.name);

/** Writes on a fake Redis whose answers are given by command (`SET`, `WAIT`, or a script's name). */
function fixture(options: {
  owner?: string;
  renewed?: boolean;
  replicas?: number;
  answer?: (name: string) => unknown;
}) {
  const sent: { name: string; args: string[]; routeKey?: string }[] = [];
  const reported: TokenStoreLockLostError[] = [];
  const renewals: string[] = [];
  const commands: CommandRunner = {
    commandTimeoutMs: 2_000,
    deadline: () => 0,
    send: async (operation, key, args, sendOptions) => {
      const name = args[0] === "EVALSHA" ? SCRIPT_NAMES.get(args[1])! : args[0]!;
      sent.push({ name, args, ...(sendOptions?.routeKey === undefined ? {} : { routeKey: sendOptions.routeKey }) });
      const answer = options.answer?.(name) ?? (name === "SET" ? "OK" : name === "WAIT" ? options.replicas : 1);
      if (answer instanceof Error) throw unavailable(operation, key, answer);
      return answer;
    },
  };
  const lock: RedisLock = {
    acquire: async () => {},
    hold: (_key, _owner, task) => task(),
    ownerOf: () => options.owner,
    renew: async (operation) => {
      renewals.push(operation);
      return options.renewed ?? true;
    },
  };
  const writes = createWrites({
    commands,
    keys: redisKeys("p:"),
    lock,
    replicas: options.replicas ?? 0,
    report: (e) => reported.push(e),
  });
  return { writes, sent, reported, renewals };
}

const RECORD: TokenRecord = { access_token: "at", token_type: "Bearer", obtained_at_ms: 1_000 };

describe("write, without a lock held in this store", () => {
  test("a record is SET, with PX when it has a TTL", async () => {
    const { writes, sent } = fixture({});
    await writes.write("set", "k", "raw", 1_500);
    await writes.write("set", "k", "raw", undefined);
    expect(sent.map((s) => s.args)).toEqual([
      ["SET", "p:token:k", "raw", "PX", "1500"],
      ["SET", "p:token:k", "raw"],
    ]);
  });

  test("a deletion leaves a marker, by script", async () => {
    const { writes, sent } = fixture({});
    await writes.write("delete", "k", undefined, undefined);
    expect(sent[0]!.name).toBe("tombstone");
    expect(sent[0]!.args.slice(2)).toEqual(["1", "p:token:k", ...MARKER_ARGS]);
  });
});

describe("write, while a lock of the key is held in this store", () => {
  test("checks the lock in the write's own script", async () => {
    const { writes, sent } = fixture({ owner: "me" });
    await writes.write("set", "k", "raw", 5);
    await writes.write("delete", "k", undefined, undefined);
    expect(sent.map((s) => s.name)).toEqual(["if-owner-write", "if-owner-write"]);
    expect(sent[0]!.args.slice(2)).toEqual(["2", "p:lock:k", "p:token:k", "me", "raw", "5", ...MARKER_ARGS]);
    expect(sent[1]!.args.slice(2)).toEqual(["2", "p:lock:k", "p:token:k", "me", "", "", ...MARKER_ARGS]);
  });

  test("a lost lock refuses the write with TokenStoreLockLostError, reported", async () => {
    const { writes, reported } = fixture({
      owner: "me",
      answer: (name) => (name === "if-owner-write" ? 0 : undefined),
    });
    const error = await writes.write("delete", "k", undefined, undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreLockLostError);
    expect(error).toMatchObject({ key: "k", operation: "delete" });
    expect(reported).toEqual([error]);
  });

  test("on a cluster that refuses the two-key script (CROSSSLOT), a renewal checks the lock before a plain write, from then on", async () => {
    const crossSlot = new ErrorReply("CROSSSLOT Keys in request don't hash to the same slot");
    const { writes, sent, renewals, reported } = fixture({
      owner: "me",
      answer: (name) => (name === "if-owner-write" ? crossSlot : undefined),
    });
    await writes.write("set", "k", "raw", undefined);
    await writes.write("set", "k", "raw2", undefined);
    expect(sent.map((s) => s.name)).toEqual(["if-owner-write", "SET", "SET"]);
    expect(renewals).toEqual(["set", "set"]);
    expect(reported).toEqual([]);
  });

  test("on such a cluster, a renewal that finds the lock lost refuses the write", async () => {
    const crossSlot = new ErrorReply("CROSSSLOT Keys in request don't hash to the same slot");
    const { writes, sent } = fixture({
      owner: "me",
      renewed: false,
      answer: (name) => (name === "if-owner-write" ? crossSlot : undefined),
    });
    await expect(writes.write("set", "k", "raw", undefined)).rejects.toBeInstanceOf(TokenStoreLockLostError);
    expect(sent.map((s) => s.name)).toEqual(["if-owner-write"]);
  });

  test("another refusal is thrown as it is", async () => {
    const { writes } = fixture({ owner: "me", answer: () => new ErrorReply("READONLY replica") });
    await expect(writes.write("set", "k", "raw", undefined)).rejects.toMatchObject({ reason: "refused" });
  });
});

describe("waitForReplicas", () => {
  test("each write waits for the replicas, on the key's node, for three quarters of commandTimeoutMs", async () => {
    const { writes, sent } = fixture({ replicas: 1 });
    await writes.write("set", "k", "raw", undefined);
    expect(sent[1]).toEqual({ name: "WAIT", args: ["WAIT", "1", "1500"], routeKey: "p:token:k" });
  });

  test("fewer acknowledgements fail as unreplicated", async () => {
    const { writes } = fixture({ replicas: 2, answer: (name) => (name === "WAIT" ? 1 : undefined) });
    const error = await writes.write("delete", "k", undefined, undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ reason: "unreplicated", operation: "delete", key: "k" });
    expect(String(error)).toContain("1 of 2 replicas");
  });

  test("replicaWaitMs is within what a timer holds, and at least 1 ms", () => {
    expect(replicaWaitMs(2_000)).toBe(1_500);
    expect(replicaWaitMs(1)).toBe(1);
    expect(replicaWaitMs(1e300)).toBe(2_147_483_647);
  });
});

describe("setUnlessNewer", () => {
  test("sends the record, its time, its TTL and the refresh token it replaces; waits for replicas only if written", async () => {
    const { writes, sent } = fixture({ replicas: 1 });
    expect(await writes.setUnlessNewer("k", "raw", RECORD, "rt-spent")).toBe(true);
    expect(sent.map((s) => s.name)).toEqual(["set-unless-newer", "WAIT"]);
    expect(sent[0]!.args.slice(2)).toEqual(["1", "p:token:k", "raw", "1000", "", "rt-spent"]);
    const refused = fixture({ replicas: 1, answer: (name) => (name === "set-unless-newer" ? 0 : undefined) });
    expect(await refused.writes.setUnlessNewer("k", "raw", RECORD, undefined)).toBe(false);
    expect(refused.sent.map((s) => s.name)).toEqual(["set-unless-newer"]);
    expect(refused.sent[0]!.args.at(-1)).toBe("");
  });

  test("a record with a lifetime carries its TTL", async () => {
    const { writes, sent } = fixture({});
    await writes.setUnlessNewer("k", "raw", { ...RECORD, expires_at_ms: Date.now() + 60_000 }, undefined);
    const ttl = Number(sent[0]!.args[6]);
    expect(ttl).toBeGreaterThan(115_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});

describe("deleteIfHolds", () => {
  test("compare-and-delete of the record this process saw", async () => {
    const { writes, sent } = fixture({});
    await writes.deleteIfHolds("k", "raw-seen");
    expect(sent[0]!.name).toBe("compare-and-delete");
    expect(sent[0]!.args.slice(2)).toEqual(["1", "p:token:k", "raw-seen"]);
  });
});
