/** The browser bundle size of a module, as users' bundlers make it: esbuild, minified, gzip level 9. */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * What a user imports, by name: the client alone, with the token manager, with each provider, and each of its
 * operations imported alone.
 */
export const OWN_BUNDLES = {
  client: `export { createOAuthClient } from "./src/index.ts";`,
  "client + token manager": `export { createOAuthClient, createTokenManager } from "./src/index.ts";`,
  "client + Square": `export { createOAuthClient, squarePreset } from "./src/index.ts";`,
  "client + Voucherify": `export { createOAuthClient, voucherifyPreset } from "./src/index.ts";`,
  "client + discovery": `export { createOAuthClient, discover, metadataPreset } from "./src/index.ts";`,
  "client + device flow": `export { createOAuthClient, requestDeviceAuthorization, pollDeviceAuthorization } from "./src/index.ts";`,
  "client + token exchange": `export { createOAuthClient, exchangeToken } from "./src/index.ts";`,
  "client + JWT bearer": `export { createOAuthClient, jwtBearerGrant } from "./src/index.ts";`,
  "client + pushed authorization": `export { createOAuthClient, pushAuthorizationRequest } from "./src/index.ts";`,
  "client + authorization response check": `export { createOAuthClient, validateAuthorizationResponse } from "./src/index.ts";`,
  "authorization URL and response check": `export { buildAuthorizationUrl, validateAuthorizationResponse } from "./src/index.ts";`,
  "client + JWT client authentication": `export { createOAuthClient, privateKeyJwt, clientSecretJwt } from "./src/index.ts";`,
  "client + DPoP": `export { createOAuthClient, createDpopKey, createDpopProof, generateDpopKey } from "./src/index.ts";`,
  // The client's operations imported one by one, without the client: each with its own checks and schemas only.
  "client_credentials alone": `export { clientCredentialsGrant } from "./src/index.ts";`,
  "refresh_token alone": `export { refreshTokenGrant } from "./src/index.ts";`,
  "authorization_code alone": `export { authorizationCodeGrant } from "./src/index.ts";`,
  "revoke alone": `export { revokeToken } from "./src/index.ts";`,
  "introspect alone": `export { introspectToken } from "./src/index.ts";`,
} as const;

/**
 * A module's bundle: its gzipped size in bytes, the project files it holds (paths from the root), and its minified
 * text.
 */
export async function bundle(contents: string): Promise<{ bytes: number; inputs: string[]; text: string }> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "ts" },
    bundle: true,
    minify: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  const inputs = Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
  const { contents: minified, text } = result.outputFiles[0]!;
  return { bytes: gzipSync(minified, { level: 9 }).length, inputs, text };
}

/** Bytes of `contents` (a module's source, resolved from the project root) bundled, minified and gzipped. */
export async function gzippedBundleBytes(contents: string): Promise<number> {
  return (await bundle(contents)).bytes;
}
