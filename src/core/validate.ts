import {
  type AnswerCheck,
  placeholder as placeholderMessage,
  type RequestCheck,
  type ValueCheck,
} from "../../generated/spec";

/**
 * Checks of arguments and answers. Argument checks throw a {@link TypeError} with a stable `code` before
 * anything is sent; the checks of a request or an answer against the spec are the functions the generator
 * compiled from it, so a field the spec adds is accepted and a field it drops is refused, with no change here.
 */

/**
 * The `code` of every argument error: the value given is not one the option or field takes.
 *
 * @see https://nodejs.org/api/errors.html#err_invalid_arg_value
 */
export const ERR_INVALID_ARG_VALUE = "ERR_INVALID_ARG_VALUE";

type JsonObject = Record<string, unknown>;

/**
 * A bad argument: a `TypeError` with a stable `code`, thrown before any request.
 *
 * @param message - names the option or field and what it must be.
 */
export function argumentError(message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code: ERR_INVALID_ARG_VALUE });
}

/** A non-null object that is not an array. */
export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws unless `value` is a plain object. */
export function checkObject(value: unknown, name: string): asserts value is JsonObject {
  if (!isPlainObject(value)) throw argumentError(`${name} must be an object`);
}

/** Throws unless `value` is a non-empty string. */
export function checkNonEmptyString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string" || value === "") throw argumentError(`${name} must be a non-empty string`);
}

/** Throws unless `value` is `undefined` or a positive number (`Infinity` when `allowInfinity`). */
export function checkPositive(value: unknown, name: string, allowInfinity = false): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw argumentError(`${name} must be a positive number${allowInfinity ? " or Infinity" : ""}`);
  }
}

/**
 * One field of an answer read as its schema says (an `x-numeric-string` integer from its digits), or
 * `undefined` when it does not match; a field the spec does not declare is read as it is.
 *
 * @param field - the field's compiled check, or `undefined`.
 * @param value - the field's value as it arrived.
 */
export function readAnswerField(field: ValueCheck | undefined, value: unknown): { value: unknown } | undefined {
  if (field === undefined) return { value };
  if (field.read === undefined) return field.is(value) ? { value } : undefined;
  const read = field.read(value);
  return read === undefined ? undefined : { value: read };
}

/** The message for a secret that is the redaction placeholder: a value printed redacted, saved and sent back. */
export const placeholder: (name: string) => string = placeholderMessage;

/** A request checked against its schema: the body to send, and the alternative it matched. */
export interface CheckedRequest<T = JsonObject> {
  /** The fields to send: the caller's, without `undefined` ones; of the spec's type, as the check proved. */
  body: T;
  /** The schema (one alternative of a union) the request matched, with its facts (`idempotent`, `answer`...). */
  schema: RequestCheck;
}

/**
 * Checks a request body against the spec's schema before anything is sent: every field must be one the
 * schema declares, of its type, enum, pattern and length; required fields must be there; fields that client
 * authentication fills in must not be. `undefined` fields are dropped, so none travels as "undefined"; what is
 * checked is the copy that is sent, so a getter cannot change a field after its check.
 *
 * @param schema - the request body's compiled check, from the generated code.
 * @param value - the caller's fields.
 * @param what - the request, for messages: `"the token request"`.
 * @returns the body to send and the schema alternative it matched.
 * @throws {TypeError} naming the first field that is wrong.
 */
export function checkRequest<T = JsonObject>(schema: RequestCheck, value: unknown, what: string): CheckedRequest<T> {
  checkObject(value, what);
  const body: JsonObject = {};
  for (const key of Object.keys(value)) {
    const field = value[key];
    if (field === undefined) continue;
    // An own "__proto__" (from JSON.parse) stays a field, to be refused as one, not the copy's prototype.
    if (key === "__proto__") Object.defineProperty(body, key, { value: field, enumerable: true, writable: true });
    else body[key] = field;
  }
  const matched = schema.check(body, what);
  if (typeof matched === "string") throw argumentError(matched);
  return { body: body as T, schema: matched };
}

/**
 * Checks one value against a schema, for arguments that are not request bodies (a PKCE verifier).
 *
 * @throws {TypeError} `<name> must be …`.
 */
export function checkValue(schema: ValueCheck, value: unknown, name: string): void {
  if (!schema.is(value)) throw argumentError(`${name} must be ${schema.expected}`);
}

/**
 * Checks an answer body against the spec's schema: required fields present, every declared field of its
 * type; undeclared fields pass through, except where the schema is closed (`additionalProperties: false`),
 * which keeps only its own. An integer sent as a string of digits is read as that integer.
 *
 * @param schema - the answer's compiled check, from the generated code.
 * @param body - the parsed JSON object.
 * @param fail - throws the caller's error for a message such as `response body "expires_in" must be …`.
 * @param where - what the body is, for messages.
 * @returns the body, read as the schema says.
 */
export function checkAnswer(
  schema: AnswerCheck,
  body: JsonObject,
  fail: (message: string) => never,
  where = "response body",
): JsonObject {
  return schema.check(body, fail, where);
}
