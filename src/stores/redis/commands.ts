import { monotonicMs, startTimer } from "../../core/clock";
import type { RedisCommandClient } from "./clients";
import { TokenStoreUnavailableError } from "./errors";
import { type Operation, unavailable } from "./failures";

/*
 * Sending one command, bounded in time: every command the store sends goes through {@link CommandRunner.send},
 * which rejects with {@link TokenStoreUnavailableError} at its deadline (`commandTimeoutMs` after it was sent, by
 * the monotonic clock) or when the client fails, and aborts the client's signal then.
 */

/** How a command is sent. */
export interface SendOptions {
  /**
   * The monotonic time ({@link monotonicMs}) by which it must be answered; default `commandTimeoutMs` from now.
   * Commands that make one step (a script sent again as `EVAL`) share one.
   */
  deadline?: number;
  /** For a command that names no key (`WAIT`): the key whose node must run it. */
  routeKey?: string;
}

/** Sends the store's commands through its client. */
export interface CommandRunner {
  /** The time limit of each command, in ms. */
  readonly commandTimeoutMs: number;
  /** The deadline of a command sent now: `commandTimeoutMs` from now, by the monotonic clock. */
  deadline(): number;
  /**
   * Sends `args` and resolves with the reply; rejects with {@link TokenStoreUnavailableError} when the client
   * fails or no answer comes by the deadline.
   *
   * @param operation - what the store is doing, for the error.
   * @param key - the store key, for the error.
   */
  send(operation: Operation, key: string, args: string[], options?: SendOptions): Promise<unknown>;
}

/**
 * A {@link CommandRunner} over `client`, each command bounded by `commandTimeoutMs`.
 *
 * @param client - the store's client.
 * @param commandTimeoutMs - the time limit of each command, in ms.
 */
export function commandRunner(client: RedisCommandClient, commandTimeoutMs: number): CommandRunner {
  const deadline = () => monotonicMs() + commandTimeoutMs;

  async function send(operation: Operation, key: string, args: string[], options: SendOptions = {}) {
    const controller = new AbortController();
    let timer: { cancel(): void } | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      const fail = () =>
        reject(
          new TokenStoreUnavailableError({
            operation,
            key,
            reason: "timeout",
            detail: `no answer within ${commandTimeoutMs} ms`,
          }),
        );
      timer = startTimer(fail, (options.deadline ?? deadline()) - monotonicMs());
    });
    try {
      const sendOptions = {
        abortSignal: controller.signal,
        ...(options.routeKey === undefined ? {} : { key: options.routeKey }),
      };
      return await Promise.race([client.sendCommand(args, sendOptions), timedOut]);
    } catch (error) {
      controller.abort();
      throw error instanceof TokenStoreUnavailableError ? error : unavailable(operation, key, error);
    } finally {
      timer?.cancel();
    }
  }

  return { commandTimeoutMs, deadline, send };
}

/** A reply as a number (`1` for a script that did what it checked for); `NaN` for anything else. */
export function replyNumber(reply: unknown): number {
  return typeof reply === "number" || typeof reply === "string" || typeof reply === "bigint" ? Number(reply) : NaN;
}

/** Whether a reply is Redis' `OK`, as text or bytes. */
export function isOk(reply: unknown): boolean {
  if (reply instanceof Uint8Array) return reply.length === 2 && reply[0] === 0x4f && reply[1] === 0x4b;
  return reply === "OK";
}
