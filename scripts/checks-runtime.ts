/**
 * The run-time part of the generated checks, as ajv's standalone code has its runtime: the types, the placeholder
 * every `x-secret` field refuses, and the functions the compiled checks call. scripts/generate.ts copies what
 * follows the marker line below into generated/spec.ts, where a bundler keeps only what an app's checks reach; here
 * it is ordinary TypeScript, type-checked with the scripts. Nothing in it names a field or reads a schema keyword.
 */
// generated/spec.ts from here
type JsonObject = Record<string, unknown>;
/** The declared fields of an object schema, each compiled. */
type Fields = { readonly [name: string]: ValueCheck };

/** What the client reads of a value's schema besides its check: the values it fixes, its bounds, its marks. */
export interface ValueFacts {
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  /** The value a reader assumes when the field is absent. */
  readonly default?: unknown;
  readonly maximum?: number;
  /** `x-scopes`: requested scopes, space-delimited in a string or one per item of an array. */
  readonly scopes?: boolean;
  /** `x-secret`: a credential or token, never sent as the redaction placeholder. */
  readonly secret?: boolean;
  /** `x-client-authentication`: filled in by the client's authentication, never passed by a caller. */
  readonly clientAuthentication?: boolean;
  /** The facts of each alternative of a union, where one has any. */
  readonly anyOf?: readonly ValueFacts[];
}

/** A field's schema compiled, or a schema's that is not an object (a PKCE verifier). */
export interface ValueCheck extends ValueFacts {
  /** Whether a value matches, as a request field or an argument must. */
  readonly is: (value: unknown) => boolean;
  /**
   * How an answer reads a value, where that can change it (an `x-numeric-string` integer from its digits): the
   * value read, or `undefined` when it does not match. Absent where reading is `is`.
   */
  readonly read?: (value: unknown) => unknown;
  /** What a value must be, as a message ends: "a non-empty string". */
  readonly expected: string;
}

/** A request body's schema compiled: an object, or a union of objects (`anyOf`). */
export interface RequestCheck {
  /**
   * Checks a request body whose `undefined` fields are gone: the alternative it is for (the object itself, for
   * one that is no union), or the first thing wrong with it, as a message that names the field.
   */
  readonly check: (body: JsonObject, what: string) => RequestCheck | string;
  readonly anyOf?: readonly RequestCheck[];
  /** Each declared field's check and facts. */
  readonly properties?: Fields;
  /** `x-idempotent`: safe to send again after a failure. */
  readonly idempotent?: boolean;
  /** `x-answer`: the check of the answer to this alternative (a grant), instead of the operation's. */
  readonly answer?: AnswerCheck;
}

/** An answer's schema compiled: an object, or a union of objects (`anyOf`). */
export interface AnswerCheck {
  /**
   * Checks a parsed answer and returns it as read: an `x-numeric-string` integer as its number, a closed schema's
   * fields only. Calls `fail` with a message that starts with `where` and names the field.
   */
  readonly check: (body: JsonObject, fail: (message: string) => never, where: string) => JsonObject;
  readonly anyOf?: readonly AnswerCheck[];
  /** Each declared field's check and facts. */
  readonly properties?: Fields;
}

/** What results and errors print in place of an `x-secret` value, and what a request may never send as one. */
export const REDACTED = "[REDACTED]";

/** The message for a secret that is the redaction placeholder: a value printed redacted, saved and sent back. */
export function placeholder(name: string): string {
  return `${name} is the placeholder ${REDACTED}, not a value: it was saved from a redacted print, and the real one is lost`;
}

/** Whether every item of a list passes a test; by index, so a hole is checked and no overridden iterator runs. */
function every(items: unknown[], test: (item: unknown) => boolean): boolean {
  for (let i = 0; i < items.length; i++) if (!test(items[i])) return false;
  return true;
}

/** What a field must be, as a message ends; "a value" for one the schema requires but does not describe. */
function expectedOf(fields: Fields, k: string): string {
  return Object.hasOwn(fields, k) ? fields[k]!.expected : "a value";
}

/**
 * The first thing wrong with a request body for one object schema, as a message, or `undefined`: first each
 * field in the body's order (one the schema does not declare, one that client authentication fills in, a secret
 * that is the redaction placeholder, a value that does not match), then each required field in the spec's order.
 */
function requestObject(b: JsonObject, w: string, fields: Fields, required: readonly string[]): string | undefined {
  for (const k of Object.keys(b)) {
    const v = b[k];
    if (v === undefined) continue;
    const field = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (field === undefined) return `${k} is not a field of ${w}`;
    if (field.clientAuthentication) return `${k} comes from the client options; do not pass it in the request`;
    if (field.secret && v === REDACTED) return placeholder(k);
    if (!field.is(v)) return `${k} must be ${field.expected}`;
  }
  for (const k of required) if (b[k] === undefined) return `${k} is required: it must be ${expectedOf(fields, k)}`;
  return undefined;
}

/**
 * Reads an answer for one object schema: each required field must be there; each declared field, in the spec's
 * order, must match, and is read into `out` (the body itself, or a new object for a closed schema), an
 * `x-numeric-string` integer from its digits. `fail` throws for the first that does not.
 */
function answerObject(
  b: JsonObject,
  fail: (message: string) => never,
  w: string,
  fields: Fields,
  required: readonly string[],
  out = b,
): JsonObject {
  for (const k of required) if (b[k] === undefined) fail(`${w} "${k}" must be ${expectedOf(fields, k)}`);
  for (const k of Object.keys(fields)) {
    const v = b[k];
    if (v === undefined) continue;
    const field = fields[k]!;
    const read = field.read === undefined ? (field.is(v) ? v : undefined) : field.read(v);
    if (read === undefined) fail(`${w} "${k}" must be ${field.expected}`);
    if (read !== v || out !== b) out[k] = read;
  }
  return out;
}

/** How well a body fits an alternative: the fields it has that the alternative declares, less required ones missing. */
function fit(b: JsonObject, option: RequestCheck | AnswerCheck, required: readonly string[]): number {
  let n = 0;
  for (const k of Object.keys(b)) if (option.properties !== undefined && Object.hasOwn(option.properties, k)) n++;
  for (const k of required) if (b[k] === undefined) n--;
  return n;
}

/** The first alternative a request fully matches, or else the one it fits best, checked with its name. */
function pick(
  b: JsonObject,
  w: string,
  options: readonly RequestCheck[],
  required: readonly string[][],
): RequestCheck | string {
  let best = 0;
  for (let i = 0; i < options.length; i++) {
    const matched = options[i]!.check(b, "");
    if (typeof matched !== "string") return matched;
    if (fit(b, options[i]!, required[i]!) > fit(b, options[best]!, required[best]!)) best = i;
  }
  return options[best]!.check(b, w);
}

/** The alternative an answer fits best: the first of those that know most of its fields, less those it lacks. */
function fittest(b: JsonObject, options: readonly AnswerCheck[], required: readonly string[][]): AnswerCheck {
  let best = 0;
  for (let i = 1; i < options.length; i++)
    if (fit(b, options[i]!, required[i]!) > fit(b, options[best]!, required[best]!)) best = i;
  return options[best]!;
}
