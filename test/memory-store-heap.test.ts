/**
 * createMemoryTokenStore frees what it drops: over 100 000 short-lived keys, the heap once they expired and were
 * dropped is within 10 % of the heap before they were added. Each measurement runs in a child process of its own
 * with `--expose-gc` (test/helpers/memory-heap.ts), so that nothing of this process or of another measurement
 * counts.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import type { HeapFigures, HeapScenario } from "./helpers/memory-heap";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const KEYS = 100_000;
/** How far above the heap before the keys the heap after their drop may be. */
const BOUND = 0.1;

async function measure(scenario: HeapScenario, keys = KEYS): Promise<HeapFigures> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "test/helpers/memory-heap.ts", scenario, String(keys)],
    { cwd: ROOT, timeout: 170_000, maxBuffer: 1 << 20 },
  );
  const figures = JSON.parse(stdout.trim().split("\n").at(-1)!) as HeapFigures;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const growth = ((figures.after - figures.before) / figures.before) * 100;
  console.info(
    `[heap] ${scenario}, ${figures.keys} keys: before ${mb(figures.before)}, with the keys ${mb(figures.full)}, ` +
      `expired ${mb(figures.expired)}, dropped ${mb(figures.after)} (${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %)`,
  );
  return figures;
}

/** The measurement saw the keys (they weighed more than the bound), and their drop brought the heap back. */
function expectFreed(figures: HeapFigures): void {
  expect(figures.full - figures.before).toBeGreaterThan(figures.before * BOUND * 5);
  expect(figures.after).toBeLessThanOrEqual(figures.before * (1 + BOUND));
}

describe("createMemoryTokenStore heap", { timeout: 180_000 }, () => {
  test("records without a refresh token are freed by the first call once a sweep is due by the store's clock", async () => {
    expectFreed(await measure("store-sweep-due"));
  });

  test("records without a refresh token are freed by the sweep timer", async () => {
    expectFreed(await measure("store-sweep-timer"));
  });

  test("records without a refresh token are freed when read after their expiry", async () => {
    expectFreed(await measure("store-reads"));
  });

  test("deletion markers are freed once they expire", async () => {
    expectFreed(await measure("store-deletion-markers"));
  });

  test("records with a refresh token are kept (the measurement sees what a store holds)", async () => {
    const figures = await measure("store-refresh-tokens");
    expect(figures.after - figures.before).toBeGreaterThan((figures.full - figures.before) * 0.9);
  });

  test("a token manager on its default store frees both its state and the store's at its next call", async () => {
    expectFreed(await measure("manager-set-tokens"));
  });

  test("a client_credentials token manager over loopback HTTP (10 000 keys, 16 at a time)", async () => {
    expectFreed(await measure("manager-client-credentials", 10_000));
  });
});
