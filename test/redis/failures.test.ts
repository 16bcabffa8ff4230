import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { TokenStoreCorruptError } from "../../src/stores/token-store";
import { TokenStoreUnavailableError } from "../../src/stores/redis/errors";
import {
  corrupt,
  isReply,
  MAX_DETAIL,
  readsLikeReply,
  refusedWith,
  retryableOnCluster,
  unavailable,
} from "../../src/stores/redis/failures";

/** As node-redis and ioredis name their reply errors. */
class ErrorReply extends Error {}
class ReplyError extends Error {}
class SubReply extends ErrorReply {}

describe("isReply", () => {
  test("node-redis' ErrorReply and ioredis' ReplyError, and their subclasses, are answers of Redis", () => {
    expect(isReply(new ErrorReply("READONLY x"))).toBe(true);
    expect(isReply(new ReplyError("ERR x"))).toBe(true);
    expect(isReply(new SubReply("MOVED 1 a:1"))).toBe(true);
  });

  test("anything else is not", () => {
    for (const value of [new Error("READONLY x"), "ERR x", null, undefined, 42, {}, Object.create(null)])
      expect(isReply(value)).toBe(false);
  });
});

describe("readsLikeReply", () => {
  test("an upper-case code and a space", () => {
    expect(readsLikeReply("READONLY You can't write against a read only replica.")).toBe(true);
    expect(readsLikeReply("WRONGTYPE Operation against a key holding the wrong kind of value")).toBe(true);
    expect(readsLikeReply("connect ECONNREFUSED 127.0.0.1:6379")).toBe(false);
    expect(readsLikeReply("E x")).toBe(false);
    expect(readsLikeReply("Socket closed unexpectedly")).toBe(false);
  });
});

describe("unavailable", () => {
  test("an answer of Redis is refused; anything else a connection failure", () => {
    expect(unavailable("get", "k", new ErrorReply("LOADING Redis is loading")).reason).toBe("refused");
    expect(unavailable("get", "k", new Error("NOPERM this user has no permissions")).reason).toBe("refused");
    expect(unavailable("set", "k", new Error("Socket closed unexpectedly")).reason).toBe("connection");
    expect(unavailable("lock", "k", "a thrown string").reason).toBe("connection");
  });

  test("names the operation, the key and the client's error; keeps a copy of its first line and frames only", () => {
    const original = Object.assign(new Error(`ERR boom\nsecond line quoting rt-secret`), {
      command: { args: ["SET", "k", "at-secret"] },
    });
    const error = unavailable("set", "user-1", original);
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ code: "TOKEN_STORE_UNAVAILABLE", operation: "set", key: "user-1" });
    expect(error.message).toContain('set of token set "user-1" failed (refused): Error: ERR boom');
    const cause = error.cause as Error;
    expect(cause).not.toBe(original);
    expect(cause.message).toBe("ERR boom");
    expect(cause.stack?.split("\n")[0]).toBe("Error: ERR boom");
    expect(cause.stack).toMatch(/\n\s+at /);
    const printed = [String(error), inspect(error, { depth: 10 }), JSON.stringify(error)].join("\n");
    expect(printed).not.toContain("secret");
  });

  test("the client's message is cut at its first line and MAX_DETAIL characters", () => {
    const error = unavailable("get", "k", new Error(`ERR ${"x".repeat(1_000)}\nmore`));
    expect((error.cause as Error).message).toHaveLength(MAX_DETAIL);
  });

  test("an error whose name is its class's shows the class", () => {
    class ClientOfflineError extends Error {}
    expect(unavailable("get", "k", new ClientOfflineError("offline")).message).toContain("ClientOfflineError: offline");
  });
});

describe("refusedWith", () => {
  test("reads Redis' error code from the client's message", () => {
    const wrongType = unavailable("get", "k", new ErrorReply("WRONGTYPE Operation against a key"));
    expect(refusedWith(wrongType, "WRONGTYPE")).toBe(true);
    expect(refusedWith(wrongType, "NOSCRIPT")).toBe(false);
    const script = unavailable("set", "k", new ReplyError("ERR Error running script: CROSSSLOT Keys in request"));
    expect(refusedWith(script, "CROSSSLOT")).toBe(true);
  });

  test("never from the store key, and never for a failure that is not a refusal", () => {
    const named = unavailable("get", "WRONGTYPE NOSCRIPT", new ErrorReply("READONLY replica"));
    expect(named.message).toContain("WRONGTYPE");
    expect(refusedWith(named, "WRONGTYPE")).toBe(false);
    expect(refusedWith(unavailable("get", "k", new Error("NOSCRIPTED socket")), "NOSCRIPT")).toBe(false);
    const timeout = new TokenStoreUnavailableError({ operation: "get", key: "k", reason: "timeout", detail: "x" });
    expect(refusedWith(timeout, "NOSCRIPT")).toBe(false);
    const madeElsewhere = new TokenStoreUnavailableError({
      operation: "get",
      key: "k",
      reason: "refused",
      detail: "NOSCRIPT",
    });
    expect(refusedWith(madeElsewhere, "NOSCRIPT")).toBe(false);
    expect(refusedWith(new ErrorReply("NOSCRIPT x"), "NOSCRIPT")).toBe(false);
  });
});

describe("retryableOnCluster", () => {
  test("a lost node, CLUSTERDOWN and TRYAGAIN may be served when sent again; other answers are final", () => {
    expect(retryableOnCluster(new Error("Socket closed unexpectedly"))).toBe(true);
    expect(retryableOnCluster(new ErrorReply("CLUSTERDOWN The cluster is down"))).toBe(true);
    expect(retryableOnCluster(new ReplyError("TRYAGAIN Multiple keys request during rehashing"))).toBe(true);
    expect(retryableOnCluster(new ErrorReply("WRONGTYPE Operation"))).toBe(false);
    expect(retryableOnCluster(new ErrorReply("NOSCRIPT No matching script"))).toBe(false);
  });
});

describe("corrupt", () => {
  test("a TokenStoreCorruptError naming the store key and the Redis key", () => {
    const error = corrupt("user-1", "svc:token:user-1");
    expect(error).toBeInstanceOf(TokenStoreCorruptError);
    expect(error).toMatchObject({ code: "TOKEN_STORE_CORRUPT", key: "user-1" });
    expect(error.message).toContain('Redis key "svc:token:user-1"');
  });
});

describe("unavailable, whatever a client rejects with", () => {
  test.each([null, undefined, 0, "", Symbol("s"), { message: "ERR not an Error" }])(
    "%s is a connection failure, never a TypeError of the store",
    (thrown) => {
      const error = unavailable("get", "k", thrown);
      expect(error).toBeInstanceOf(TokenStoreUnavailableError);
      expect(error.reason).toBe("connection");
    },
  );
});
