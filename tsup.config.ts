import { defineConfig } from "tsup";

// ESM and CommonJS builds with bundled declarations (.d.ts / .d.cts) for every entry point.
export default defineConfig({
  entry: { index: "src/index.ts", redis: "src/stores/redis.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "neutral",
  external: ["openapi-fetch", "redis"],
  treeshake: true,
  splitting: false,
});
