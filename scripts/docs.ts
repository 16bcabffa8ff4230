/**
 * `npm run docs`: the two references, both made from what the project holds.
 * - `docs/reference.html`: the HTTP reference of the spec, by Redocly, one self-contained page from which no
 *   request leaves (telemetry is off in redocly.yaml; the logo Redoc would fetch is dropped).
 * - `docs/api/`: the TypeScript API reference of the package, by TypeDoc, from the sources' TSDoc, with a
 *   landing page (scripts/docs/landing.md) that links to the HTTP reference.
 * The release workflow (.github/workflows/pages.yml) publishes `docs/` to GitHub Pages.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Redoc's "API docs by Redocly" logo, fetched from its CDN: the one request the page would make. */
const REDOC_LOGO = /https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg/g;

/**
 * Builds the HTTP reference into `output`: Redocly's `build-docs --inlineBundle`, then the logo's CDN address
 * replaced by an empty data URL, which Redoc's own error handler hides, so the page asks nothing of the network.
 */
export function buildHttpReference(output: string): void {
  mkdirSync(dirname(output), { recursive: true });
  const cli = join(ROOT, "node_modules/@redocly/cli/bin/cli.js");
  execFileSync(process.execPath, [cli, "build-docs", "oauth@v1", "--inlineBundle", "--output", output], {
    cwd: ROOT,
    stdio: "pipe",
  });
  writeFileSync(output, readFileSync(output, "utf8").replace(REDOC_LOGO, "data:,"));
}

/** The site's front page: what the package is, and the two references. */
const INDEX = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>oauth-token-client</title>
<h1>oauth-token-client</h1>
<p>A typed TypeScript client for OAuth 2.0 token services, made from one OpenAPI document.</p>
<ul>
  <li><a href="reference.html">The HTTP reference</a>: the spec's operations, requests and answers.</li>
  <li><a href="api/index.html">The TypeScript API reference</a>: the package's functions, types and errors.</li>
</ul>
</html>
`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  buildHttpReference(join(ROOT, "docs/reference.html"));
  writeFileSync(join(ROOT, "docs/index.html"), INDEX);
  console.log("wrote docs/index.html, docs/reference.html");
  execFileSync(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc")], { cwd: ROOT, stdio: "inherit" });
}
