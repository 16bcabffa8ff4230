import { describe, expect, test } from "vitest";
import { createRequestBudget } from "../../src/lifecycle/budget";

describe("createRequestBudget", () => {
  test("lets maxPerSecond requests of a key through at once, then waits for the oldest to leave the window", async () => {
    let t = 1_000;
    const budget = createRequestBudget(2, () => t);
    await budget.take("k");
    await budget.take("k");
    t += 400;
    const started = performance.now();
    const third = budget.take("k");
    // Waiting: the fake clock must move for the window to pass.
    await new Promise((resolve) => setTimeout(resolve, 50));
    t += 700;
    await third;
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test("keys have budgets of their own", async () => {
    const budget = createRequestBudget(1, () => 0);
    await budget.take("a");
    const started = performance.now();
    await budget.take("b");
    expect(performance.now() - started).toBeLessThan(50);
  });

  test("a wait is bounded even when the clock never moves: at most three turns of the window", async () => {
    const budget = createRequestBudget(1, () => 0);
    await budget.take("k");
    const started = performance.now();
    await budget.take("k");
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(3_500);
  });

  test("sweep forgets keys with no send in the last second", async () => {
    let t = 0;
    const budget = createRequestBudget(5, () => t);
    await budget.take("a");
    await budget.take("b");
    t = 500;
    await budget.take("b");
    t = 1_200;
    budget.sweep();
    expect(budget.size).toBe(1);
    t = 1_600;
    budget.sweep();
    expect(budget.size).toBe(0);
  });
});
