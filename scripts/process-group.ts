import { spawn, type ChildProcess } from "node:child_process";

/**
 * A process started by {@link spawnGroup}.
 *
 * @see https://nodejs.org/api/child_process.html#optionsdetached
 */
export interface ProcessGroup {
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr so far. */
  output(): string;
  /** How it ended (`"code 1"`, `"SIGKILL"`, a spawn error), or `undefined` while it runs. */
  ended(): string | undefined;
  /** Kills the whole group (SIGKILL, which ends a stopped process too), waits for the exit, removes the hooks. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `command` in a process group of its own, its output collected. The group does not get a terminal's
 * Ctrl-C, so the end of this process (normal exit, SIGINT, SIGTERM) is forwarded to it until `stop()`.
 *
 * @see https://nodejs.org/api/child_process.html#optionsdetached
 */
export function spawnGroup(command: string, args: string[]): ProcessGroup {
  const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let spawnError: string | undefined;
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    // A command that cannot be started (ENOENT) emits "error", and maybe no "exit".
    child.once("error", (error) => {
      spawnError = String(error);
      resolve();
    });
  });
  const kill = () => {
    try {
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
  return {
    child,
    output: () => output,
    ended: () => (child.exitCode !== null ? `code ${child.exitCode}` : (child.signalCode ?? spawnError)),
    stop: () =>
      (stopped ??= (async () => {
        kill();
        await exited;
        process.removeListener("exit", kill);
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
      })()),
  };
}

/**
 * Polls `ready` every `intervalMs` until it resolves `true`. Rejects, with the process' output, as soon as the
 * process has ended (by an exit code or a signal), or once `timeoutMs` has passed. It never stops the process.
 *
 * @see https://nodejs.org/api/child_process.html#subprocesssignalcode
 */
export async function waitUntilReady(
  group: ProcessGroup,
  name: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ended = group.ended();
    if (ended !== undefined) throw new Error(`${name} ended (${ended}) before it was ready:\n${group.output()}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${group.output()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
