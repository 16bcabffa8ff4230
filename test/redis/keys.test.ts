import { describe, expect, test } from "vitest";
import { checkClusterPrefix, DEFAULT_PREFIX, hashTag, redisKeys, slotOf } from "../../src/stores/redis/keys";

describe("redisKeys", () => {
  test("a key's record is <prefix>token:<key>, its lock <prefix>lock:<key>", () => {
    const keys = redisKeys("{svc}:read:");
    expect(keys.token("user-1")).toBe("{svc}:read:token:user-1");
    expect(keys.lock("user-1")).toBe("{svc}:read:lock:user-1");
    expect(redisKeys(DEFAULT_PREFIX).token("default")).toBe("oauth-token-client:token:default");
  });
});

describe("hashTag", () => {
  test.each([
    ["{svc}:token:k", "svc"],
    ["a{b}c{d}", "b"],
    ["{}:token:k", undefined],
    ["no-tag", undefined],
    ["}{late", undefined],
    ["{open-only", undefined],
    ["x{}{y}", undefined],
  ])("%s -> %s, as Redis Cluster reads it (the first { and the next })", (key, tag) => {
    expect(hashTag(key)).toBe(tag);
  });
});

describe("slotOf", () => {
  test("matches Redis' CLUSTER KEYSLOT (CRC16/XMODEM mod 16384)", () => {
    // The examples of Redis' CLUSTER KEYSLOT documentation.
    expect(slotOf("somekey")).toBe(11058);
    expect(slotOf("foo{hash_tag}")).toBe(2515);
    expect(slotOf("bar{hash_tag}")).toBe(2515);
  });

  test("a key's lock and record share a slot when the prefix holds a hash tag", () => {
    const keys = redisKeys("{my-service}:");
    expect(slotOf(keys.lock("k"))).toBe(slotOf(keys.token("k")));
    expect(slotOf(keys.token("k"))).toBe(slotOf(keys.token("another")));
  });

  test("multi-byte keys are hashed as UTF-8", () => {
    expect(slotOf("{é}a")).toBe(slotOf("{é}b"));
    expect(slotOf("é")).not.toBe(slotOf("e"));
  });
});

describe("checkClusterPrefix", () => {
  test("accepts a prefix with a hash tag", () => {
    expect(() => checkClusterPrefix("{my-service}:")).not.toThrow();
    expect(() => checkClusterPrefix("oauth:{client-id}:read:")).not.toThrow();
  });

  test.each([DEFAULT_PREFIX, "{}:", "svc:{", ""])("refuses %j with a TypeError that shows an example", (prefix) => {
    expect(() => checkClusterPrefix(prefix)).toThrow(TypeError);
    expect(() => checkClusterPrefix(prefix)).toThrow(/hash tag.*"\{my-service\}:"/);
    try {
      checkClusterPrefix(prefix);
    } catch (error) {
      expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    }
  });
});
