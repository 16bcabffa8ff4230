import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const PRISM = fileURLToPath(new URL("../node_modules/@stoplight/prism-cli/dist/index.js", import.meta.url));

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
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
 * a process-exit hook does the same if the runner dies first.
 */
export async function startPrism(specPath: string, timeoutMs = 60_000): Promise<RunningPrism> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [PRISM, "mock", specPath, "-h", "127.0.0.1", "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  // Prism runs in its own process group, so a terminal's Ctrl-C does not reach it: forward the end of this
  // process to the group, on normal exit and on the usual signals.
  const onSignal = (signal: NodeJS.Signals) => {
    killGroup();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once("exit", killGroup);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Prism exited with code ${child.exitCode}:\n${output}`);
    try {
      // Any HTTP answer means Prism is serving; the body does not matter.
      await fetch(`${url}/oauth2/introspect`, { method: "POST", signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        killGroup();
        throw new Error(`Prism did not answer on ${url} within ${timeoutMs} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    async stop() {
      killGroup();
      await exited;
      process.removeListener("exit", killGroup);
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    },
  };
}
