/**
 * `npm run build`: ESM and CommonJS bundles (esbuild) and one bundled declaration file per entry point
 * (dts-bundle-generator), written as both `.d.ts` and `.d.cts`. A bundled declaration has no relative
 * imports, so the same text is right for `import` and for `require`.
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

for (const format of ["esm", "cjs"] as const) {
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `${ROOT}${file}`])),
    outdir: DIST,
    outExtension: { ".js": format === "esm" ? ".js" : ".cjs" },
    bundle: true,
    format,
    platform: "neutral",
    target: "es2022",
    sourcemap: true,
    external: format === "esm" ? ["openapi-fetch"] : [],
    plugins: format === "cjs" ? [openapiFetchDefault] : [],
    logLevel: "warning",
  });
}

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
