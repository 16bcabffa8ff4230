import { createHash } from "node:crypto";
import { describe, expect, test, vi } from "vitest";
import type { CommandRunner } from "../../src/stores/redis/commands";
import { TokenStoreUnavailableError } from "../../src/stores/redis/errors";
import { unavailable } from "../../src/stores/redis/failures";
import { MAX_VALUE_LENGTH } from "../../src/stores/redis/records";
import {
  COMPARE_AND_DELETE,
  IF_OWNER_WRITE,
  RENEW,
  runScript,
  SET_UNLESS_NEWER,
  TOMBSTONE,
} from "../../src/stores/redis/scripts";

const SCRIPTS = [COMPARE_AND_DELETE, RENEW, TOMBSTONE, IF_OWNER_WRITE, SET_UNLESS_NEWER];

class ErrorReply extends Error {}

/** A runner whose `send` answers from `reply`, recording each command and its deadline. */
function runner(reply: (args: string[]) => unknown) {
  const sent: { args: string[]; deadline: number | undefined }[] = [];
  let now = 1_000;
  const commands: CommandRunner = {
    commandTimeoutMs: 500,
    deadline: () => (now += 10) + 500,
    send: vi.fn(async (operation, key, args, options) => {
      sent.push({ args, deadline: options?.deadline });
      const answer = reply(args);
      if (answer instanceof Error) throw unavailable(operation, key, answer);
      return answer;
    }),
  };
  return { commands, sent };
}

const CALL = { operation: "set", key: "k", keys: ["p:lock:k", "p:token:k"], args: ["owner", "raw"] } as const;

describe("the scripts", () => {
  test("each script's SHA-1 is the one Redis names it by", async () => {
    for (const script of SCRIPTS)
      expect(await script.sha(), script.name).toBe(createHash("sha1").update(script.source).digest("hex"));
  });

  test("the scripts that decode a stored value refuse to decode one over MAX_VALUE_LENGTH bytes", () => {
    for (const script of [TOMBSTONE, IF_OWNER_WRITE, SET_UNLESS_NEWER]) {
      expect(script.source).toContain(`#raw > ${MAX_VALUE_LENGTH}`);
      // A key of another type must not fail the script: it is read with pcall.
      expect(script.source).toContain('redis.pcall("GET", key)');
    }
  });

  test("a marker's TTL is bounded by the last of the marker arguments", () => {
    expect(TOMBSTONE.source).toContain("math.min(ttl, tonumber(maxTtl))");
    expect(TOMBSTONE.source).toContain("tombstone(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])");
    expect(IF_OWNER_WRITE.source).toContain("tombstone(KEYS[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])");
  });
});

describe("runScript", () => {
  test("sends EVALSHA with the keys and arguments", async () => {
    const { commands, sent } = runner(() => 1);
    expect(await runScript(commands, IF_OWNER_WRITE, CALL)).toBe(1);
    expect(sent.map((s) => s.args)).toEqual([
      ["EVALSHA", await IF_OWNER_WRITE.sha(), "2", "p:lock:k", "p:token:k", "owner", "raw"],
    ]);
  });

  test("on NOSCRIPT sends EVAL with the source, by the same deadline; NOSCRIPT is not a failure", async () => {
    const { commands, sent } = runner((args) =>
      args[0] === "EVALSHA" ? new ErrorReply("NOSCRIPT No matching script. Please use EVAL.") : "OK",
    );
    expect(await runScript(commands, RENEW, { ...CALL, keys: ["p:lock:k"] })).toBe("OK");
    expect(sent.map((s) => s.args[0])).toEqual(["EVALSHA", "EVAL"]);
    expect(sent[1]!.args).toEqual(["EVAL", RENEW.source, "1", "p:lock:k", "owner", "raw"]);
    expect(sent[0]!.deadline).toBeDefined();
    expect(sent[1]!.deadline).toBe(sent[0]!.deadline);
  });

  test("any other failure is thrown as it is, and EVAL is not sent", async () => {
    const { commands, sent } = runner(() => new ErrorReply("READONLY You can't write against a read only replica."));
    const error = await runScript(commands, TOMBSTONE, CALL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ reason: "refused", operation: "set", key: "k" });
    expect(sent).toHaveLength(1);
  });

  test("a failure of the EVAL sent after NOSCRIPT is thrown", async () => {
    const { commands } = runner((args) =>
      args[0] === "EVALSHA" ? new ErrorReply("NOSCRIPT No matching script.") : new Error("Socket closed unexpectedly"),
    );
    await expect(runScript(commands, RENEW, CALL)).rejects.toMatchObject({ reason: "connection" });
  });

  test("without Web Crypto only EVAL is sent", async () => {
    const { commands, sent } = runner(() => 1);
    const script = { name: "x", source: "return 1", sha: async () => undefined };
    await runScript(commands, script, CALL);
    expect(sent.map((s) => s.args[0])).toEqual(["EVAL"]);
  });
});
