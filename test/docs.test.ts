import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildHttpReference } from "../scripts/docs";
import { launchChromium } from "./helpers/chromium";
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
    const context = await browser.newContext();
    // No network: every request that is not the file itself (or data the page holds) is refused and recorded.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      refused.push(url);
      return route.abort("internetdisconnected");
    });
    await context.setOffline(true);
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
    const entry = page.locator("li").filter({ hasText: summary }).last();
    if (!(await entry.isVisible())) await page.getByText(tags[0]!, { exact: true }).first().click({ timeout: 10_000 });
    await entry.click({ timeout: 10_000 });
    const main = page.locator("main").first();
    await expect.poll(() => main.innerText(), { timeout: 15_000 }).toContain(summary);
    expect(await main.innerText()).toContain(path);
  });

  test("sends no request that leaves the page: no script, stylesheet, font, image or telemetry", async () => {
    // Give late requests (telemetry is sent after a delay) the time to be made, and refused.
    await page.waitForTimeout(2_000);
    expect(refused).toEqual([]);
  });
});
