/**
 * The replica process, bundled: test/helpers/redis-worker.ts (with the library's sources and node-redis) made into
 * one JavaScript file by esbuild, which Node starts in about 0.2 s instead of tsx's 0.8 s. A run restarts replicas
 * after kill -9, and 200 runs start hundreds of them. Built once per process, from the working tree as it is.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const WORKER_SOURCE = fileURLToPath(new URL("../../helpers/redis-worker.ts", import.meta.url));

let bundled: Promise<string> | undefined;
let dir: string | undefined;

/** The path of the bundled worker, built on first use; removed when the process exits. */
export function workerEntry(): Promise<string> {
  bundled ??= (async () => {
    dir = mkdtempSync(join(tmpdir(), "oauth-fault-checker-"));
    const outfile = join(dir, "redis-worker.mjs");
    await build({
      entryPoints: [WORKER_SOURCE],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "error",
      // Some of node-redis' dependencies are CommonJS and require Node built-ins.
      banner: {
        js: "import { createRequire as __checkerRequire } from 'node:module'; const require = __checkerRequire(import.meta.url);",
      },
    });
    process.once("exit", removeWorkerBundle);
    return outfile;
  })();
  return bundled;
}

/** Removes the bundle's directory (also done at exit). */
export function removeWorkerBundle(): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  bundled = undefined;
}
