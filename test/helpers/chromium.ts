import { chromium, type Browser } from "playwright-core";
import { existsSync } from "node:fs";

/**
 * Chromium: `CHROMIUM_PATH`, or where Debian's (`chromium`) or Ubuntu's (`chromium-browser`) package puts it;
 * `npm test` installs it when missing (scripts/provision.sh). The tests never download a browser.
 */
export const CHROMIUM_PATH =
  process.env.CHROMIUM_PATH ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path)) ??
  "/usr/bin/chromium";

/**
 * Launches headless Chromium with the flags this machine's closed network needs (no background
 * connections, no QUIC), or fails with a clear message when it is not installed.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium), as npm test does (scripts/provision.sh)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
