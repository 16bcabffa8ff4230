/** The browser bundle size of a module, as users' bundlers make it: esbuild, minified, gzip level 9. */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What a user imports, by name: the client alone, and with the token manager. */
export const OWN_BUNDLES = {
  client: `export { createOAuthClient } from "./src/index.ts";`,
  "client + token manager": `export { createOAuthClient, createTokenManager } from "./src/index.ts";`,
} as const;

/** Bytes of `contents` (a module's source, resolved from the project root) bundled, minified and gzipped. */
export async function gzippedBundleBytes(contents: string): Promise<number> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "ts" },
    bundle: true,
    minify: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length;
}
