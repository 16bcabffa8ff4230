import { REDACTED as PLACEHOLDER, secretFields, secretHeaders } from "../../generated/spec";
import { CUT_MARKER, OAuthError, OAuthResponseError, OAuthTransportError } from "./errors";

/**
 * Keeping secrets out of errors and printed results. Which fields are secrets is the spec's word
 * (`x-secret`, read from the generated description); which headers carry credentials is listed here, once.
 */

/**
 * What a redacted secret is replaced with, in error text and in printed results; the generated request checks
 * refuse it as the value of a secret field.
 */
export const REDACTED: string = PLACEHOLDER;
/** Header names whose values are credentials, as the spec's security schemes say (`x-secret` on an API key). */
export const SECRET_HEADERS: readonly string[] = secretHeaders;
/**
 * Secrets shorter than this are not searched for in server text: a value that short cannot be told apart from
 * ordinary words, and real client secrets and tokens are far longer.
 */
const MIN_SECRET_LENGTH = 8;
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

type JsonObject = Record<string, unknown>;

/** application/x-www-form-urlencoded encoding of one value, as RFC 6749 §2.3.1 asks for Basic credentials. */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Characters that every encoder the client sends with leaves as they are. */
const UNCHANGED = /^[A-Za-z0-9._-]*$/;

/**
 * How a value reads in each form the client sends it in, by the same encoders that send it: a form body
 * (URLSearchParams, which writes `~` as `%7E` and a space as `+`), HTTP Basic's form encoding (RFC 6749 §2.3.1),
 * and a JSON string (quotes and backslashes escaped). A server may quote what it received as it received it.
 */
export function wireForms(value: string): string[] {
  if (UNCHANGED.test(value)) return [value];
  const forms = new Set([
    value,
    new URLSearchParams({ v: value }).toString().slice(2),
    formEncode(value),
    JSON.stringify(value).slice(1, -1),
  ]);
  return [...forms];
}

/** The secrets given, each in every form the client sends it in ({@link wireForms}). */
export function withEncoded(secrets: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const secret of secrets) if (secret !== undefined && secret !== "") out.push(...wireForms(secret));
  return out;
}

/** The values of a request's secret fields (the spec's `x-secret`), each also form-encoded. */
export function secretsOfFields(fields: JsonObject | undefined): string[] {
  if (fields === undefined) return [];
  const values: string[] = [];
  for (const field of secretFields) if (typeof fields[field] === "string") values.push(fields[field]);
  return withEncoded(values);
}

/** The values of the credential headers among `headers` (an object of them, or a request's `Headers`). */
export function secretsOfHeaders(headers: HeadersInit | undefined): string[] {
  const all = new Headers(headers);
  return SECRET_HEADERS.flatMap((name) => all.get(name) ?? []);
}

/** The shortest start of a secret hidden at the end of a cut text: shorter ones read as ordinary text. */
const MIN_CUT_SECRET = 4;

function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  if (!out.includes(CUT_MARKER)) return out;
  const parts = out.split(CUT_MARKER);
  for (let i = 0; i < parts.length - 1; i++) parts[i] = redactCutEnd(parts[i]!, secrets);
  return parts.join(CUT_MARKER);
}

/**
 * Server text in an error is cut to a length (`serverText`) before the request's secrets are known: the cut may
 * leave the first characters of a secret before its marker. Those are hidden too.
 */
function redactCutEnd(kept: string, secrets: readonly string[]): string {
  for (const secret of secrets) {
    for (let n = Math.min(secret.length - 1, kept.length); n >= MIN_CUT_SECRET; n--) {
      if (kept.endsWith(secret.slice(0, n))) return `${kept.slice(0, -n)}${REDACTED}`;
    }
  }
  return kept;
}

function usable(secrets: readonly (string | undefined)[]): string[] {
  return secrets.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH);
}

/**
 * A copy of a JSON value with every occurrence of the secrets in its strings replaced by {@link REDACTED};
 * values under 8 characters are not searched for.
 */
export function redactDeep(value: unknown, secrets: readonly (string | undefined)[]): unknown {
  const hidden = usable(secrets);
  return hidden.length === 0 ? value : redactValue(value, hidden, 0);
}

function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (typeof value !== "object" || value === null) return value;
  // Deeper than any answer this library reads: hide the whole subtree rather than pass it on unsearched.
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1));
  const out: JsonObject = {};
  for (const key of Object.keys(value)) out[key] = redactValue((value as JsonObject)[key], secrets, depth + 1);
  return out;
}

/**
 * Replaces every occurrence of the given secrets in a library error's text: message, stack, and an
 * {@link OAuthError}'s fields and body. Servers sometimes quote what they were sent ("refresh token xyz
 * expired"); the client calls this with the secrets of the request before handing an error over.
 *
 * @param error - any value; only the library's error classes are changed.
 * @param secrets - the values to hide; `undefined` and values under 8 characters are skipped.
 * @returns `error`, changed in place.
 */
export function redactError<E>(error: E, secrets: readonly (string | undefined)[]): E {
  if (!(error instanceof OAuthError || error instanceof OAuthResponseError || error instanceof OAuthTransportError))
    return error;
  const hidden = usable(secrets);
  if (hidden.length === 0) return error;
  const target = error as unknown as JsonObject;
  for (const field of ["message", "stack", "error", "error_description", "error_uri", "www_authenticate"]) {
    const value = target[field];
    const redacted = typeof value === "string" ? redactText(value, hidden) : value;
    if (redacted !== value) {
      Object.defineProperty(target, field, {
        value: redacted,
        enumerable: Object.keys(target).includes(field),
        writable: true,
        configurable: true,
      });
    }
  }
  if (error instanceof OAuthError && error.body !== undefined) {
    // Redacted unconditionally: a search of the body's JSON text would miss a secret holding `"` or `\`.
    Object.defineProperty(target, "body", {
      value: redactValue(error.body, hidden, 0),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return error;
}

/**
 * A body without the secret fields a misbehaving server may have put in it, and the values removed, to be
 * redacted from the rest of an error's text too.
 */
export function withoutSecrets(body: JsonObject): { body: JsonObject; removed: string[] } {
  let copy: JsonObject | undefined;
  const removed: string[] = [];
  for (const field of secretFields) {
    if (body[field] === undefined) continue;
    copy ??= { ...body };
    if (typeof body[field] === "string") removed.push(body[field]);
    delete copy[field];
  }
  return { body: copy ?? body, removed };
}

/** Secrets of a request that the server quoted back in its result, kept off the result itself. */
const quotedSecrets = new WeakMap<object, readonly string[]>();

/**
 * A copy of a result with its secret fields replaced by {@link REDACTED}, and their values, and any secret of
 * the request quoted in it, wherever else they appear.
 */
function masked(this: JsonObject): JsonObject {
  const copy: JsonObject = { ...this };
  const secrets: string[] = [...(quotedSecrets.get(this) ?? [])];
  for (const field of secretFields) {
    const value = copy[field];
    if (typeof value !== "string") continue;
    secrets.push(value);
    copy[field] = REDACTED;
  }
  return redactDeep(copy, secrets) as JsonObject;
}

// One shared descriptor: hiding a result's secrets from printing costs one defineProperties call. It is an own,
// non-enumerable symbol property, not a prototype's: a result stays a plain object for the libraries that check
// (isPlainObject), and its data is untouched: JSON.stringify, a spread copy and structuredClone keep every value.
const MASK: PropertyDescriptorMap = {
  [INSPECT]: { value: masked, enumerable: false, writable: true, configurable: true },
};

/**
 * Makes a result safe to print, and leaves it plain data: `util.inspect` (so `console.log` and the loggers that
 * use it) shows its secret fields, and any secret of the request the server quoted in it, as `[REDACTED]`; the
 * fields read normally, and `JSON.stringify`, a spread copy and `structuredClone` keep every value, so a token
 * saved as JSON comes back whole. A copy is plain data of your own and prints as it is. A result with no
 * secret field and no quoted secret is returned as it is.
 *
 * @param result - a validated answer.
 * @param quoted - secrets of the request that the server quoted back in it.
 */
export function hideSecrets<T>(result: T, quoted: readonly string[] = []): T {
  if (typeof result !== "object" || result === null) return result;
  if (quoted.length > 0) quotedSecrets.set(result, quoted);
  else if (!secretFields.some((field) => (result as JsonObject)[field] !== undefined)) return result;
  return Object.defineProperties(result, MASK);
}
