import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildHttpReference } from "../scripts/docs";
import { clickWhenSettled, launchChromium, newStillContext, waitForStill } from "./helpers/chromium";
import { spec } from "./helpers/spec";

const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
  Object.values(item).map((op) => ({ ...(op as { operationId: string; summary: string; tags: string[] }), path })),
);

describe("HTML reference (npm run docs)", () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  let output: string;
  const refused: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "oauth-docs-"));
    output = join(dir, "reference.html");
    buildHttpReference(output);
    browser = await launchChromium();
    // Nothing moves on its own: the menu jumps open and shut, and the tests wait for it to be still, never for a time.
    const context = await newStillContext(browser);
    // No network: every request that is not the file itself (or data the page holds) is refused and recorded.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      refused.push(url);
      return route.abort("internetdisconnected");
    });
    await context.setOffline(true);
    // The page's timers run on a clock the last test moves ahead, instead of waiting for them.
    await context.clock.install();
    page = await context.newPage();
    await page.goto(`file://${output}`, { waitUntil: "load" });
    await page.waitForSelector("h1", { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("is one self-contained file that renders the API's title offline", async () => {
    expect(statSync(output).size).toBeGreaterThan(100_000);
    expect(await page.locator("h1").first().innerText()).toContain("OAuth 2.0 token service");
  });

  test.each(operations)("renders operation $operationId from the sidebar", async ({ summary, tags, path }) => {
    const menu = page.locator('[data-component-name="Menu/Menu"]').first();
    const entry = menu.locator("li").filter({ has: page.getByText(summary, { exact: true }) });
    // Opening an operation closes the other groups; whether this one is open is read once the menu is at rest.
    await waitForStill(menu);
    if (!(await entry.isVisible())) await clickWhenSettled(menu.getByText(tags[0]!, { exact: true }));
    await clickWhenSettled(entry);
    const main = page.locator("main").first();
    await expect.poll(() => main.innerText(), { timeout: 15_000 }).toContain(summary);
    expect(await main.innerText()).toContain(path);
    await waitForStill(menu);
  });

  test("sends no request that leaves the page: no script, stylesheet, font, image or telemetry", async () => {
    // What the page would send after a delay (telemetry is batched and sent later) it sends now: its timers run ten
    // minutes ahead.
    await page.clock.runFor(600_000);
    // Then one request of the test's own: once it is refused, the requests the page made before it have been seen.
    const fence = "https://fence.invalid/";
    await page.evaluate((url) => void fetch(url).catch(() => undefined), fence);
    await expect.poll(() => refused.includes(fence)).toBe(true);
    expect(refused.filter((url) => url !== fence)).toEqual([]);
  });
});
