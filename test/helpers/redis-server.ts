import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { spawnGroup, waitUntilReady } from "../../scripts/process-group";
import { freePort } from "./prism";

/** Debian's `redis-server` package installs the server here; `npm test` installs it when missing (scripts/provision.sh). */
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

/**
 * The arguments every test redis-server runs with: on 127.0.0.1 and `port`, no persistence, files in `dir`, in
 * the foreground, logging to its output.
 */
export function serverArgs(port: number, dir: string): string[] {
  const persistence = ["--save", "", "--appendonly", "no"];
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    ...persistence,
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--logfile",
    "",
  ];
}

/** Whether something answers Redis' PING on the port. */
export function pong(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
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
}

/** Makes a server started with `--cluster-enabled yes` a one-node Redis Cluster that serves every slot. */
async function serveAllSlots(url: string, deadline: number): Promise<void> {
  const admin = createClient({ url });
  admin.on("error", () => {});
  await admin.connect();
  try {
    await admin.sendCommand(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    while (!String(await admin.sendCommand(["CLUSTER", "INFO"])).includes("cluster_state:ok")) {
      if (Date.now() > deadline) throw new Error(`the one-node Redis Cluster on ${url} did not reach cluster_state:ok`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    admin.destroy();
  }
}

/**
 * Starts Debian's `redis-server` on 127.0.0.1 and a free port (or `options.port`, to restart one), with no
 * persistence, in a fresh temporary directory, and waits until it answers PING. It runs in its own process group;
 * `stop()` kills it and removes the directory, and a process-exit or signal hook does the same if the test
 * runner ends first, so no server outlives the tests. With `cluster`, it is a one-node Redis Cluster serving every
 * slot: commands on any key work, and a command or script on keys of different slots is refused (CROSSSLOT).
 *
 * @throws {Error} when /usr/bin/redis-server is missing (install Debian's `redis-server` package), or the server
 *   does not start.
 */
export async function startRedisServer(
  options: { port?: number; timeoutMs?: number; cluster?: boolean } = {},
): Promise<RunningRedis> {
  if (!existsSync(REDIS_SERVER_PATH)) {
    throw new Error(
      `${REDIS_SERVER_PATH} is missing: the Redis store tests need a real Redis. Install Debian's package (apt-get install -y redis-server), as npm test does (scripts/provision.sh).`,
    );
  }
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "oauth-redis-"));
  const args = serverArgs(port, dir);
  if (options.cluster) args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"));
  // SIGKILL (stop) works on a server a test stopped with SIGSTOP, too.
  const group = spawnGroup(REDIS_SERVER_PATH, args);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= group.stop().then(() => rmSync(dir, { recursive: true, force: true })));
  const url = `redis://127.0.0.1:${port}`;
  const timeoutMs = options.timeoutMs ?? 20_000;
  try {
    await waitUntilReady(group, `redis-server on 127.0.0.1:${port}`, () => pong(port), timeoutMs, 50);
    if (options.cluster) await serveAllSlots(url, Date.now() + timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, pid: group.child.pid!, stop };
}
