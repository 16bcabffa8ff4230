import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { spawnGroup, waitUntilReady } from "./process-group";

const PRISM = fileURLToPath(new URL("../node_modules/@stoplight/prism-cli/dist/index.js", import.meta.url));

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface RunningPrism {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts Prism's own binary (never through npx, whose wrapper would outlive a kill) on a free loopback port,
 * in its own process group, and waits until it answers. `stop()` kills the whole group and waits for exit;
 * a process-exit hook does the same if the runner dies first. When Prism ends early (an exit code or a
 * signal) or does not answer within `timeoutMs`, it is stopped, its hooks removed, and the promise rejects.
 */
export async function startPrism(specPath: string, timeoutMs = 60_000): Promise<RunningPrism> {
  const port = await freePort();
  const group = spawnGroup(process.execPath, [PRISM, "mock", specPath, "-h", "127.0.0.1", "-p", String(port)]);
  const url = `http://127.0.0.1:${port}`;
  // Any HTTP answer means Prism is serving; the body does not matter.
  const answers = () =>
    fetch(`${url}/oauth2/introspect`, { method: "POST", signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
  try {
    await waitUntilReady(group, `Prism on ${url}`, answers, timeoutMs, 200);
  } catch (error) {
    await group.stop();
    throw error;
  }
  return { url, stop: group.stop };
}
