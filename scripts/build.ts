/**
 * `npm run build`: ESM and CommonJS bundles (esbuild) and one bundled declaration file per entry point
 * (dts-bundle-generator), written as both `.d.ts` and `.d.cts`. A bundled declaration has no relative
 * imports, so the same text is right for `import` and for `require`.
 *
 * The entry points share their modules: what both import (the error classes, the token store's record checks,
 * the clock) is one chunk, `shared-<hash>.js` and `.cjs`, that each entry imports, so `instanceof` holds
 * whichever entry point a user imports an error class from. What only one entry imports stays in its file: an
 * app that imports `oauth-token-client` alone loads no Redis code.
 */
import { rmSync, writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { generateDtsBundle } from "dts-bundle-generator";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = `${ROOT}dist/`;
export const ENTRIES = { index: "src/index.ts", redis: "src/stores/redis.ts" } as const;

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });

/**
 * In the CommonJS build, esbuild gives a default import of a CommonJS module Node's meaning (the whole
 * `module.exports`), but openapi-fetch's CommonJS build exports `createClient` as `exports.default`. This
 * routes `openapi-fetch` through a one-line module that hands on exactly that.
 */
const openapiFetchDefault: Plugin = {
  name: "openapi-fetch-default",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^openapi-fetch$/ }, (args) =>
      args.namespace === "openapi-fetch-default"
        ? { path: args.path, external: true }
        : { path: args.path, namespace: "openapi-fetch-default" },
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: "openapi-fetch-default" }, () => ({
      contents: 'module.exports = require("openapi-fetch").default;',
      loader: "js",
    }));
  },
};

/**
 * The CommonJS pass reads the ESM files: a relative import is one of them, required as its `.cjs` twin and
 * never bundled again, so the CommonJS entries share the chunk as the ESM ones do.
 */
const siblingsAsCommonJs: Plugin = {
  name: "siblings-as-commonjs",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\/[^/]+\.js$/ }, (args) => ({
      path: args.path.replace(/\.js$/, ".cjs"),
      external: true,
    }));
  },
};

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
} as const;

// esbuild splits code for ESM only: one build of both entries, whose shared modules go to one chunk.
const esm = await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `${ROOT}${file}`])),
  outdir: DIST,
  format: "esm",
  splitting: true,
  chunkNames: "shared-[hash]",
  external: ["openapi-fetch"],
  metafile: true,
});
// CommonJS: each ESM file on its own, so the chunk stays one module; esbuild follows their source maps to src/.
await build({
  ...common,
  entryPoints: Object.keys(esm.metafile.outputs)
    .filter((file) => file.endsWith(".js"))
    .map((file) => `${ROOT}${file}`),
  outdir: DIST,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  plugins: [siblingsAsCommonJs, openapiFetchDefault],
});

const declarations = generateDtsBundle(
  Object.values(ENTRIES).map((filePath) => ({
    filePath: `${ROOT}${filePath}`,
    output: { noBanner: true, exportReferencedTypes: false },
  })),
  { preferredConfigPath: `${ROOT}tsconfig.src.json` },
);
Object.keys(ENTRIES).forEach((name, i) => {
  writeFileSync(`${DIST}${name}.d.ts`, declarations[i]!);
  writeFileSync(`${DIST}${name}.d.cts`, declarations[i]!);
});
console.log(`built ${Object.keys(ENTRIES).join(", ")} into dist/ (esm, cjs, d.ts, d.cts)`);
