import { describe, expect, test } from "vitest";
import { createRequestBudget } from "../../src/lifecycle/budget";
import { createKeyCache } from "../../src/lifecycle/cache";
import type { Lifecycle } from "../../src/lifecycle/context";
import { createMarkSightings } from "../../src/lifecycle/sightings";
import { createSweeper } from "../../src/lifecycle/sweep";

function lifecycle(now: () => number): Lifecycle {
  return {
    settings: { now } as Lifecycle["settings"],
    cache: createKeyCache(now),
    budget: createRequestBudget(5),
    marks: createMarkSightings(),
    report: { failed() {}, refreshed() {} },
  };
}

function fill(life: Lifecycle, count: number, expiresAt: number): void {
  for (let i = 0; i < count; i++) {
    const key = `k${i}`;
    const slot = life.cache.slot(key);
    const record = { access_token: `at-${i}`, token_type: "Bearer", obtained_at_ms: 0, expires_at_ms: expiresAt };
    life.cache.remember({ key, slot, epoch: slot.epoch }, record, 10);
  }
}

describe("createSweeper", () => {
  test("an idle manager frees expired keys from its background timer, with no call", async () => {
    let wall = 0;
    const life = lifecycle(() => wall);
    const sweeper = createSweeper(life, 50);
    fill(life, 1_000, 100);
    sweeper.due();
    expect(life.cache.size).toBe(1_000);
    wall = 200; // every token expired; nobody calls
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(life.cache.size).toBe(0);
  });

  test("on a call it sweeps once due by the wall clock or by the monotonic clock, not before", () => {
    let wall = 0;
    const life = lifecycle(() => wall);
    const sweeper = createSweeper(life, 60_000);
    sweeper.due(); // the first call sweeps: nothing there yet
    fill(life, 10, 100);
    wall = 200;
    sweeper.due();
    expect(life.cache.size).toBe(10); // not due yet by either clock
    wall = 60_000;
    sweeper.due();
    expect(life.cache.size).toBe(0);
  });

  test("keys without a lifetime, or not yet expired, stay", () => {
    let wall = 0;
    const life = lifecycle(() => wall);
    const sweeper = createSweeper(life, 1);
    fill(life, 5, 10_000);
    const slot = life.cache.slot("forever");
    life.cache.remember(
      { key: "forever", slot, epoch: 0 },
      { access_token: "a", token_type: "Bearer", obtained_at_ms: 0 },
      Infinity,
    );
    wall = 5_000;
    sweeper.due();
    expect(life.cache.size).toBe(6);
  });
});
