import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { startPrism } from "./helpers/prism";
import { rejection, timed } from "./helpers/track";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe("Prism, started by the tests in its own process group, when it fails to start", () => {
  const hooks = () => (["exit", "SIGINT", "SIGTERM"] as const).map((event) => process.listenerCount(event));
  /** A spec path that Prism opens and then waits on for ever: a FIFO nobody writes. */
  function stallingSpec(): { path: string; remove: () => void } {
    const dir = mkdtempSync(join(tmpdir(), "oauth-prism-"));
    const path = join(dir, "openapi.yaml");
    execFileSync("mkfifo", [path]);
    return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
  }
  /** The Prism started on `spec`, found by its unique spec path; `undefined` when none runs. */
  function prismOn(spec: string): number | undefined {
    try {
      return Number(execFileSync("pgrep", ["-f", spec], { encoding: "utf8" }).trim().split("\n")[0]);
    } catch {
      return undefined; // pgrep exits 1 when nothing matches
    }
  }

  test("Prism that exits at once (no spec): startPrism rejects with its exit code and leaves no hook behind", async () => {
    const before = hooks();
    await expect(startPrism(join(tmpdir(), `no-such-spec-${process.pid}.yaml`), 30_000)).rejects.toThrow(/code 1/);
    expect(hooks()).toEqual(before);
  }, 40_000);

  test("Prism killed by a signal while starting: startPrism rejects at once, not at its deadline, and leaves no hook", async () => {
    const spec = stallingSpec();
    cleanup.push(spec.remove);
    const before = hooks();
    const starting = timed(startPrism(spec.path, 30_000));
    let pid: number | undefined;
    while ((pid = prismOn(spec.path)) === undefined) await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, "SIGKILL");
    const { ms, result } = await starting;
    expect(String(rejection(result))).toMatch(/SIGKILL/);
    expect(ms).toBeLessThan(10_000);
    expect(hooks()).toEqual(before);
  }, 40_000);

  test("Prism that never answers: startPrism rejects at its deadline, kills it and leaves no hook", async () => {
    const spec = stallingSpec();
    cleanup.push(spec.remove);
    const before = hooks();
    await expect(startPrism(spec.path, 1_500)).rejects.toThrow(/within 1500 ms/);
    expect(prismOn(spec.path)).toBeUndefined();
    expect(hooks()).toEqual(before);
  }, 40_000);
});
