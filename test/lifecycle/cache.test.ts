import { describe, expect, test } from "vitest";
import { createKeyCache } from "../../src/lifecycle/cache";
import type { TokenRecord } from "../../src/stores/token-store";

const record = (access_token: string, extra: Partial<TokenRecord> = {}): TokenRecord => ({
  access_token,
  token_type: "Bearer",
  obtained_at_ms: 0,
  ...extra,
});

describe("createKeyCache", () => {
  test("serves a remembered token until its time by the wall clock AND the monotonic clock", async () => {
    let wall = 1_000;
    let mono = 0;
    const cache = createKeyCache(
      () => wall,
      () => mono,
    );
    const slot = cache.slot("k");
    cache.remember({ key: "k", slot, epoch: slot.epoch }, record("at"), 60_000);
    expect(await cache.fresh(slot)).toBe("at");
    wall += 60_000;
    expect(cache.fresh(slot)).toBeUndefined();
    wall -= 3_600_000; // stepped back an hour: by the wall clock alone it would be served for another hour
    expect(await cache.fresh(slot)).toBe("at");
    mono += 60_000;
    expect(cache.fresh(slot)).toBeUndefined();
    expect(cache.outlived(slot, record("at"))).toBe(true);
    expect(cache.outlived(slot, record("another"))).toBe(false);
  });

  test("a change bumps the epoch: an operation started before it does not cache its result", () => {
    const cache = createKeyCache(() => 0);
    const slot = cache.slot("k");
    const run = { key: "k", slot, epoch: slot.epoch };
    cache.change(slot);
    cache.remember(run, record("stale"), 60_000);
    expect(slot.entry).toBeUndefined();
  });

  test("runs one operation per key at a time, in order, and drops an idle key", async () => {
    const cache = createKeyCache(() => 0);
    const slot = cache.slot("k");
    const order: string[] = [];
    let release!: () => void;
    const first = cache.enqueue("k", slot, () =>
      new Promise<void>((resolve) => (release = resolve)).then(() => order.push("first")),
    );
    const second = cache.enqueue("k", slot, async () => order.push("second"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    release();
    await Promise.all([first, second]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(["first", "second"]);
    expect(cache.size).toBe(0);
    expect(cache.peek("k")).toBeUndefined();
  });

  test("sweep drops idle keys whose token expired, and keeps unsaved ones and tokens without a lifetime", () => {
    let wall = 0;
    const cache = createKeyCache(() => wall);
    for (const [key, extra] of [
      ["expired", { expires_at_ms: 10 }],
      ["forever", {}],
      ["unsaved", { expires_at_ms: 10 }],
    ] as const) {
      const slot = cache.slot(key);
      cache.remember({ key, slot, epoch: 0 }, record(key, extra), 5);
    }
    cache.slot("unsaved").unpersisted = { record: record("unsaved"), replacing: undefined };
    wall = 100;
    cache.sweep(wall);
    expect(["expired", "forever", "unsaved"].map((key) => cache.peek(key) !== undefined)).toEqual([false, true, true]);
  });
});
