import { TokenStoreCorruptError } from "../token-store";
import { TokenStoreUnavailableError } from "./errors";

/*
 * Which failure is which: a client's error becomes {@link TokenStoreUnavailableError} (`"refused"` for an
 * answer of Redis, `"connection"` for anything else), a Redis answer is read by its code (`WRONGTYPE`,
 * `NOSCRIPT`, `CROSSSLOT`, `CLUSTERDOWN`, `TRYAGAIN`), and a value the store cannot read is
 * {@link TokenStoreCorruptError}. No error made here holds a value or a command argument.
 */

/** What the store was doing; see {@link TokenStoreUnavailableError.operation}. */
export type Operation = TokenStoreUnavailableError["operation"];

/** The longest part of a client's error message kept, in characters: its first line, cut there. */
export const MAX_DETAIL = 300;

/**
 * The client's message behind each refusal, first line, cut at {@link MAX_DETAIL}: what {@link refusedWith}
 * reads, so that a store key that looks like a Redis error code is never taken for one.
 */
const refusals = new WeakMap<TokenStoreUnavailableError, string>();

/**
 * An error reply of Redis itself, as node-redis (`ErrorReply`) and ioredis (`ReplyError`) raise it, by the name of
 * a class in its prototype chain.
 */
export function isReply(error: unknown): boolean {
  // A client may reject with anything, null included, which has no prototype to read.
  if ((typeof error !== "object" && typeof error !== "function") || error === null) return false;
  for (let proto = Object.getPrototypeOf(error); proto !== null && proto !== undefined; ) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === "ErrorReply" || name === "ReplyError") return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

/** Whether `message` reads like an error reply of Redis, which begins with an upper-case code: `READONLY You can't…`. */
export function readsLikeReply(message: string): boolean {
  return /^[A-Z]{2,}[A-Z_]* /.test(message);
}

/** The first line of an error's message, cut at {@link MAX_DETAIL}. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n", 1)[0]!.slice(0, MAX_DETAIL);
}

/** The name an error is shown with: its own, or its class's when it kept the plain `"Error"`. */
function nameOf(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  return error.name !== "Error" ? error.name : error.constructor.name;
}

/**
 * A copy of a client's error with its name, its first line and its stack frames only: ioredis puts the command's
 * arguments (a record, a token) on its errors, and a message may quote them on later lines.
 */
function sanitizedCause(error: unknown, name: string, message: string): Error {
  const cause = new Error(message);
  cause.name = name;
  if (error instanceof Error && error.stack !== undefined) {
    // V8 starts a stack with "<name>: <message>", every line of the untrimmed message; other engines with the frames.
    const lines = error.stack.split("\n");
    const messageLines = error.message.split("\n");
    const frames = lines[0]!.endsWith(messageLines[0]!) ? lines.slice(messageLines.length) : lines;
    cause.stack = [`${name}: ${message}`, ...frames].join("\n");
  }
  return cause;
}

/**
 * A client's failure of `operation` on `key` as a {@link TokenStoreUnavailableError}: `"refused"` when Redis
 * answered with an error, `"connection"` otherwise. The client's error is not kept, only a sanitized copy.
 *
 * @param operation - what the store was doing.
 * @param key - the store key (not the Redis key).
 * @param error - what the client threw.
 */
export function unavailable(operation: Operation, key: string, error: unknown): TokenStoreUnavailableError {
  const name = nameOf(error);
  const message = firstLine(error);
  const refused = isReply(error) || readsLikeReply(message);
  const cause = sanitizedCause(error, name, message);
  const reason = refused ? "refused" : "connection";
  const failure = new TokenStoreUnavailableError({ operation, key, reason, detail: `${name}: ${message}` }, { cause });
  if (refused) refusals.set(failure, message);
  return failure;
}

/**
 * Whether `error` is Redis refusing with the error code `code` (`WRONGTYPE`, `NOSCRIPT`, `CROSSSLOT`): read from the
 * client's message, never from the store key in the error's own message.
 */
export function refusedWith(error: unknown, code: string): boolean {
  if (!(error instanceof TokenStoreUnavailableError) || error.reason !== "refused") return false;
  const message = refusals.get(error);
  return message !== undefined && new RegExp(`(^|[^A-Z_])${code}([^A-Z_]|$)`).test(message);
}

/**
 * Whether a cluster may serve a command if it is sent again: the node went away (a crash, a failover under way, the
 * client's view of the slots being replaced), the cluster is down until a replica takes over (`CLUSTERDOWN`), or a
 * slot migration is half done for a script on two keys (`TRYAGAIN`). Any other answer of Redis is final.
 *
 * @param error - what a cluster client threw.
 */
export function retryableOnCluster(error: unknown): boolean {
  if (!isReply(error)) return true;
  const message = error instanceof Error ? error.message : "";
  return message.startsWith("CLUSTERDOWN") || message.startsWith("TRYAGAIN");
}

/**
 * What the record's Redis key holds is not a value the store can read: not JSON, not a record or deletion marker,
 * too large, or a key of another type. Names the Redis key, never the value, which may hold a token.
 *
 * @param key - the store key.
 * @param redisKey - the Redis key it sits at.
 */
export function corrupt(key: string, redisKey: string): TokenStoreCorruptError {
  return new TokenStoreCorruptError(key, `Redis key "${redisKey}"`);
}
