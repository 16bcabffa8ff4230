import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator } from "playwright-core";
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

/** Every CSS transition and animation off, smooth scrolling too: the page jumps to each state it goes to. */
const STILL_CSS =
  "*,*::before,*::after{transition:none!important;animation:none!important;scroll-behavior:auto!important}";

/**
 * A context whose pages do not move on their own: `prefers-reduced-motion: reduce`, and a style sheet, adopted by
 * every document before its scripts run, that turns off CSS transitions, animations and smooth scrolling. Motion a
 * page drives from script (a menu that refuses clicks while a timer of its own runs) remains: wait for it with
 * {@link waitForSettled} and {@link waitForStill}, never for a time.
 */
export async function newStillContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ reducedMotion: "reduce", ...options });
  await context.addInitScript((css: string) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }, STILL_CSS);
  return context;
}

/**
 * Runs in the page, once an animation frame, until `element` can be clicked by a user: connected, rendered
 * (`checkVisibility`, a box of some size), enabled, scrolled into view, hit at its centre (`elementFromPoint` is it
 * or inside it, so nothing covers it and it accepts pointer events), and its box the same as at the frame before.
 * Resolves `""` then, or why not when the element leaves the document or `ms` pass. (Its body holds no named
 * function: a transpiler that keeps names would add calls to a helper the page does not have.)
 */
async function settleInPage(element: Element, ms: number): Promise<string> {
  const deadline = performance.now() + ms;
  let previous = "";
  for (;;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    let why = "";
    const box = element.getBoundingClientRect();
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    if (!element.isConnected) return "detached from the document";
    if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) || box.width * box.height === 0)
      why = "not visible";
    else if (element.matches(":disabled") || element.closest("[aria-disabled=true]") !== null) why = "disabled";
    else if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) {
      element.scrollIntoView({ block: "center", inline: "center" });
      why = "out of view";
    } else {
      const hit = document.elementFromPoint(x, y);
      const where = `${box.left},${box.top},${box.width},${box.height}`;
      if (hit === null || (hit !== element && !element.contains(hit)))
        why = `covered by <${hit?.tagName.toLowerCase()} class="${hit?.getAttribute("class")}">, or refusing pointer events`;
      else if (where !== previous) why = "moving";
      previous = where;
    }
    if (why === "") return "";
    if (performance.now() > deadline) return why;
  }
}

/**
 * Waits until what `locator` finds can be clicked by a user and holds still: see {@link settleInPage}. An element
 * that leaves the document (a menu re-rendered) is looked up again. Throws with the last reason after `timeout` ms.
 */
export async function waitForSettled(locator: Locator, { timeout = 10_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeout;
  let why = "";
  while (Date.now() < deadline) {
    const left = Math.max(1, deadline - Date.now());
    why = await locator.evaluate(settleInPage, left, { timeout: left });
    if (why === "") return;
  }
  throw new Error(`${locator} did not settle within ${timeout} ms: ${why}`);
}

/** {@link waitForSettled}, then a click. */
export async function clickWhenSettled(locator: Locator, { timeout = 10_000 } = {}): Promise<void> {
  await waitForSettled(locator, { timeout });
  await locator.click({ timeout });
}

/**
 * Runs in the page until the subtree of `root` has been at rest for `frames` animation frames in a row: no
 * animation or transition running in it, no rendered element in it refusing pointer events (a menu does while it
 * opens or closes), and its elements' classes, inline styles and boxes the same from frame to frame. Resolves `""`
 * then, or why not when `ms` pass. (No named function in its body, as in {@link settleInPage}.)
 */
async function stillInPage(root: Element, { ms, frames }: { ms: number; frames: number }): Promise<string> {
  const deadline = performance.now() + ms;
  let previous = "";
  let still = 0;
  for (;;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const elements = [root, ...root.querySelectorAll("*")];
    const shape = elements
      .map((element) => {
        const box = element.getBoundingClientRect();
        const where = `${box.left},${box.top},${box.width},${box.height}`;
        return `${element.getAttribute("class")}|${element.getAttribute("style")}|${where}`;
      })
      .join("\n");
    let why = "";
    if (root.getAnimations({ subtree: true }).some((animation) => animation.playState === "running")) why = "animating";
    // Only what is rendered counts: a closed group may keep the style it closed with, out of sight.
    else if (
      elements.some((element) => getComputedStyle(element).pointerEvents === "none" && element.checkVisibility())
    )
      why = "refusing pointer events";
    else if (shape !== previous) why = "changing";
    previous = shape;
    still = why === "" ? still + 1 : 0;
    if (still >= frames) return "";
    if (performance.now() > deadline) return why;
  }
}

/**
 * Waits until the part of the page `locator` finds is at rest: see {@link stillInPage}. Throws with the last reason
 * after `timeout` ms.
 */
export async function waitForStill(locator: Locator, { timeout = 10_000, frames = 3 } = {}): Promise<void> {
  const started = Date.now();
  const why = await locator.evaluate(stillInPage, { ms: timeout, frames }, { timeout });
  if (why !== "") throw new Error(`${locator} was not still within ${Date.now() - started} ms: ${why}`);
}
