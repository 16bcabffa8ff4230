/**
 * `npm run bench:breakdown`: where each KB and each microsecond of this client goes (issue 22), for the targets
 * it does not reach yet. `npm run bench` prints the same at its end.
 *
 *   npm run bench:breakdown             both
 *   npm run bench:size-breakdown        the bundles only (no build needed)
 *   npm run bench:time-breakdown        one client_credentials request only (packs the package first)
 *
 * It prints tables and asserts nothing.
 */
import { pathToFileURL } from "node:url";
import { targetBundles } from "./bench/bundles";
import { packPackage, type Packed } from "./bench/packed";
import { startServer } from "./bench/server";
import { printSizeBreakdown } from "./bench/size-breakdown";
import { printTimeBreakdown } from "./bench/time-breakdown";

/** The size tables of the three bundles issue 22 sets a size for. */
export async function sizeBreakdown(): Promise<void> {
  const { clientCredentials, client, manager } = targetBundles();
  await printSizeBreakdown([clientCredentials, client, manager]);
}

/** The time tables of one client_credentials request, on the packed package (packed here unless given). */
export async function timeBreakdown(packed: Packed = packPackage()): Promise<void> {
  const server = await startServer();
  try {
    printTimeBreakdown(packed, server.url);
  } finally {
    server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const only = process.argv[2];
  if (only !== "time") await sizeBreakdown();
  if (only !== "size") await timeBreakdown();
}
