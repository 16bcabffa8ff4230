import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./prism";

/** Debian's `redis-server` package installs the server here; `.ci/run` installs it on CI. */
export const REDIS_SERVER_PATH = "/usr/bin/redis-server";

/** A running {@link startRedisServer}. */
export interface RunningRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The server's process ID (for SIGSTOP/SIGCONT in tests). */
  pid: number;
  /** Kills the server (SIGKILL) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Resolves once something answers Redis' PING on the port, or rejects at the deadline. */
async function waitForPong(port: number, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      let reply = "";
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.on("error", () => done(false));
      socket.on("data", (chunk) => {
        reply += chunk.toString("utf8");
        if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
      });
      socket.on("connect", () => socket.write("PING\r\n"));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts Debian's `redis-server` on 127.0.0.1 and a free port (or `options.port`, to restart one), with no
 * persistence, in a fresh temporary directory, and waits until it answers PING. It runs in its own process group;
 * `stop()` kills it and removes the directory, and a process-exit or signal hook does the same if the test
 * runner ends first, so no server outlives the tests.
 *
 * @throws {Error} when /usr/bin/redis-server is missing (install Debian's `redis-server` package), or the server
 *   does not start.
 */
export async function startRedisServer(options: { port?: number; timeoutMs?: number } = {}): Promise<RunningRedis> {
  if (!existsSync(REDIS_SERVER_PATH)) {
    throw new Error(`${REDIS_SERVER_PATH} is missing: the Redis store tests need a real Redis. Install Debian's package (apt-get install -y redis-server); .ci/run installs it on CI.`);
  }
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "oauth-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--logfile", ""];
  const child = spawn(REDIS_SERVER_PATH, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const kill = () => {
    try {
      // SIGKILL works on a server a test stopped with SIGSTOP, too.
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once("exit", kill);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      kill();
      await exited;
      process.removeListener("exit", kill);
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    await waitForPong(port, child, () => output, options.timeoutMs ?? 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}
