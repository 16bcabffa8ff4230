import type { CommandRunner } from "./commands";
import { type Operation, refusedWith } from "./failures";
import { MAX_EPOCH_MS } from "../token-store";
import { MAX_VALUE_LENGTH } from "./records";

/*
 * The store's Lua scripts, each a check and a write that must be one step, and how they are run: `EVALSHA` of the
 * script's SHA-1, and `EVAL` of its source when Redis does not hold it (`NOSCRIPT`: a restart, a failover, a
 * `SCRIPT FLUSH`), both within one command's deadline.
 *
 * A value the scripts read is decoded only when it is text of at most {@link MAX_VALUE_LENGTH} bytes; a key of
 * another type, a value that is not a JSON object, or one too large counts as no record (a deletion replaces it, a
 * write-back overwrites it). A deletion marker is exactly `{"deleted_at_ms": <epoch ms>}`, as the store reads it.
 */

/** A Lua script of the store. */
export interface RedisScript {
  /** Its name, for tests and messages. */
  readonly name: string;
  /** Its Lua source. */
  readonly source: string;
  /** Its SHA-1 in hex, as `EVALSHA` names it; `undefined` where Web Crypto is missing (then only `EVAL` is sent). */
  sha(): Promise<string | undefined>;
}

/** Lua shared by the scripts that read a record: `stored(key)` and `isMarker(value)`. */
const READ_FUNCTIONS = `local function stored(key)
  local raw = redis.pcall("GET", key)
  if type(raw) ~= "string" or #raw > ${MAX_VALUE_LENGTH} then return nil end
  local ok, value = pcall(cjson.decode, raw)
  if ok and type(value) == "table" then return value end
  return nil
end
local function isMarker(value)
  local at = value.deleted_at_ms
  if type(at) ~= "number" or not (at >= 0 and at <= ${MAX_EPOCH_MS}) then return false end
  return next(value, (next(value))) == nil
end
`;

/**
 * Lua: replaces the record at `key` with the deletion marker `marker`, kept for as long as the deleted access
 * token would have lived (by Redis' clock) plus `grace` ms, `noLifetime` ms when it had no lifetime, `grace` ms
 * when nothing readable was stored, and never more than `maxTtl` ms. A marker already there is kept.
 */
const TOMBSTONE_FUNCTION = `${READ_FUNCTIONS}local function tombstone(key, marker, grace, noLifetime, maxTtl)
  local ttl = tonumber(grace)
  local value = stored(key)
  if value then
    if isMarker(value) then return end
    local expires = value.expires_at_ms
    if type(expires) == "number" then
      local t = redis.call("TIME")
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      ttl = math.max(ttl, math.ceil(expires - now) + ttl)
    else
      ttl = tonumber(noLifetime)
    end
  end
  -- Bounded below 1e14, so Lua writes it in digits (it writes larger numbers in exponent form, which PX refuses).
  redis.call("SET", key, marker, "PX", tostring(math.min(ttl, tonumber(maxTtl))))
end
`;

/** Memoizes the SHA-1 of `source` in hex, by Web Crypto. */
function sha1(source: string): () => Promise<string | undefined> {
  let digest: Promise<string | undefined> | undefined;
  return () => {
    digest ??= (async () => {
      const subtle = globalThis.crypto?.subtle;
      if (subtle === undefined) return undefined;
      const bytes = new Uint8Array(await subtle.digest("SHA-1", new TextEncoder().encode(source)));
      return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    })().catch(() => undefined);
    return digest;
  };
}

function script(name: string, source: string): RedisScript {
  return { name, source, sha: sha1(source) };
}

/** Deletes KEYS[1] when it holds ARGV[1]: a lock released by its owner only; a deletion replayed only on the record deleted. */
export const COMPARE_AND_DELETE = script(
  "compare-and-delete",
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0',
);

/** Extends the lock KEYS[1] to ARGV[2] ms when ARGV[1] still owns it; returns 1 if it did. */
export const RENEW = script(
  "renew",
  'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0',
);

/** Replaces the record KEYS[1] with a deletion marker (ARGV: the records module's `MARKER_ARGS`). */
export const TOMBSTONE = script(
  "tombstone",
  `${TOMBSTONE_FUNCTION}tombstone(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1`,
);

/**
 * While ARGV[1] owns the lock KEYS[1], writes record ARGV[2] to KEYS[2] (TTL ARGV[3] ms or none), or replaces
 * KEYS[2] with a deletion marker (ARGV[4..7]: `MARKER_ARGS`) when ARGV[2] is empty; returns 0 without writing when
 * the lock is lost.
 */
export const IF_OWNER_WRITE = script(
  "if-owner-write",
  `${TOMBSTONE_FUNCTION}if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "" then tombstone(KEYS[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
elseif ARGV[3] == "" then redis.call("SET", KEYS[2], ARGV[2])
else redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3]) end
return 1`,
);

/**
 * Writes record ARGV[1] (obtained at ARGV[2], TTL ARGV[3] ms or none) unless KEYS[1] holds a deletion marker or a
 * record obtained later, except one holding refresh token ARGV[4] (the one spent for ARGV[1]); returns 1 if written.
 * The same rule as {@link holdsNewer}.
 */
export const SET_UNLESS_NEWER = script(
  "set-unless-newer",
  `${READ_FUNCTIONS}local value = stored(KEYS[1])
if value then
  if isMarker(value) then return 0 end
  local replaces = ARGV[4] ~= "" and value.refresh_token == ARGV[4]
  local at = value.obtained_at_ms
  if not replaces and type(at) == "number" and at > tonumber(ARGV[2]) then return 0 end
end
if ARGV[3] == "" then redis.call("SET", KEYS[1], ARGV[1]) else redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3]) end
return 1`,
);

/** One run of a script. */
export interface ScriptCall {
  /** What the store is doing, for errors. */
  operation: Operation;
  /** The store key, for errors. */
  key: string;
  /** The script's `KEYS`. */
  keys: readonly string[];
  /** The script's `ARGV`. */
  args: readonly string[];
}

/**
 * Runs `script`: `EVALSHA`, then `EVAL` with its source when Redis answers `NOSCRIPT`, both by one deadline. A
 * `NOSCRIPT` answer is not a failure: it is neither thrown nor reported.
 *
 * @returns the script's reply.
 * @throws {TokenStoreUnavailableError} as {@link CommandRunner.send} does.
 */
export async function runScript(commands: CommandRunner, script: RedisScript, call: ScriptCall): Promise<unknown> {
  const sha = await script.sha();
  const deadline = commands.deadline();
  const tail = [String(call.keys.length), ...call.keys, ...call.args];
  if (sha !== undefined) {
    try {
      return await commands.send(call.operation, call.key, ["EVALSHA", sha, ...tail], { deadline });
    } catch (error) {
      if (!refusedWith(error, "NOSCRIPT")) throw error;
    }
  }
  return commands.send(call.operation, call.key, ["EVAL", script.source, ...tail], { deadline });
}
