/**
 * The core bundles for the browser (esbuild, platform "browser": a Node built-in would fail the build), and
 * the bundle runs in headless Chromium: PKCE through Web Crypto and a token request to Prism through the
 * page's own fetch.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { launchChromium } from "../helpers/chromium";

const ENTRY = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

describe("browser bundle", () => {
  let code: string;
  let browser: Browser;

  beforeAll(async () => {
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "OAuthTokenClient",
      minify: true,
      write: false,
      target: "es2022",
      logLevel: "silent",
    });
    code = result.outputFiles[0]!.text;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  test("bundles without Node built-ins", () => {
    expect(code.length).toBeGreaterThan(1000);
    expect(code).not.toMatch(/["']node:/);
    expect(code).not.toMatch(/\brequire\(/);
  });

  test("runs in Chromium: PKCE with Web Crypto, and a token from Prism", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${inject("prismUrl")}/.well-known/openid-configuration`);
      await page.addScriptTag({ content: code });
      const result = await page.evaluate(
        async ({ baseUrl }) => {
          const lib = (globalThis as unknown as { OAuthTokenClient: typeof import("../../src/index") })
            .OAuthTokenClient;
          const pair = await lib.createPkcePair();
          const client = lib.createOAuthClient({ baseUrl, clientId: "browser", clientSecret: "browser-secret" });
          const token = await client.clientCredentials({ scope: "read" });
          return {
            verifier: pair.code_verifier.length,
            challenge: pair.code_challenge.length,
            tokenType: token.token_type,
            expires: token.expires_in,
          };
        },
        { baseUrl: inject("prismUrl") },
      );
      expect(result).toEqual({ verifier: 43, challenge: 43, tokenType: "Bearer", expires: 3600 });
    } finally {
      await page.close();
    }
  });
});
