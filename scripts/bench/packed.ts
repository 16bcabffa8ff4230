/**
 * The package as users install it, for the bench: `npm pack` (whose `prepack` builds dist/), unpacked into
 * .tmp/bench-packed/node_modules/oauth-token-client. Its dependencies (openapi-fetch) resolve from the
 * project's node_modules, one folder up the tree, as the peers' do.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Packed {
  /** A folder to run from so that `import("oauth-token-client")` loads the packed copy. */
  dir: string;
  /** The packed copy's ESM entry point, as a file URL. */
  index: string;
}

export function packPackage(): Packed {
  const dir = join(ROOT, ".tmp/bench-packed");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pack = spawnSync("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
  const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  const target = join(dir, "node_modules/oauth-token-client");
  mkdirSync(target, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", join(dir, tarball), "-C", target, "--strip-components=1"], {
    encoding: "utf8",
  });
  if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed:\n${untar.stderr}`);
  return { dir, index: pathToFileURL(join(target, "dist/index.js")).href };
}
