/**
 * The schema interpreter the client ran before issue 22 (src/core/validate.ts of that time), kept as a test oracle:
 * it walks the generated description (`SchemaNode`), the generated checks run compiled code, and
 * test/hardening/generated-checks.test.ts holds the two to the same answers and messages.
 */
import type { SchemaNode } from "../../generated/spec";

type JsonObject = Record<string, unknown>;
const REDACTED = "[REDACTED]";
const isPlainObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const placeholder = (name: string) =>
  `${name} is the placeholder ${REDACTED}, not a value: it was saved from a redacted print, and the real one is lost`;

const patterns = new Map<string, RegExp>();
const INTEGER_STRING = /^\d+$/;

function regex(pattern: string): RegExp {
  let compiled = patterns.get(pattern);
  if (compiled === undefined) patterns.set(pattern, (compiled = new RegExp(pattern, "u")));
  return compiled;
}

function quoted(values: readonly unknown[]): string {
  const texts = values.map((v) => JSON.stringify(v));
  return texts.length <= 2 ? texts.join(" or ") : `one of ${texts.join(", ")}`;
}

/** What a schema asks for, as a message ends: "must be a non-empty string". */
function expected(node: SchemaNode): string {
  if (node.anyOf) return node.anyOf.map(expected).join(" or ");
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return quoted(node.enum);
  switch (node.type) {
    case "string":
      if (node.pattern !== undefined) return `a string matching ${node.pattern}`;
      if (node.format === "uri") return "an absolute URL";
      if (node.format === "date-time") return "a date-time string";
      return node.minLength === 1 ? "a non-empty string" : "a string";
    case "integer": {
      const kind = node.minimum === 0 ? "a non-negative integer" : "an integer";
      return node.maximum === undefined ? kind : `${kind} at most ${node.maximum}`;
    }
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "array":
      return node.items ? `an array of ${plural(expected(node.items))}` : "an array";
    case "object":
      return "an object";
    default:
      return "a value";
  }
}

/** "a non-empty string" as a plural: "non-empty strings". */
function plural(text: string): string {
  return text.replace(/^an? (.*?)(string|integer|number|boolean|object|URL)/, "$1$2s");
}

/**
 * The value as the schema reads it, or `undefined` when it does not match. `lenient` (answers) reads an
 * integer the spec marks `x-numeric-string` from a string of digits, as servers are seen to send `expires_in`.
 */
function read(node: SchemaNode, value: unknown, lenient: boolean): { value: unknown } | undefined {
  if (node.anyOf) {
    for (const alternative of node.anyOf) {
      const match = read(alternative, value, lenient);
      if (match) return match;
    }
    return undefined;
  }
  if (node.const !== undefined && value !== node.const) return undefined;
  if (node.enum && !node.enum.includes(value)) return undefined;
  switch (node.type) {
    case "string": {
      if (typeof value !== "string") return undefined;
      if (node.minLength !== undefined && value.length < node.minLength) return undefined;
      if (node.maxLength !== undefined && value.length > node.maxLength) return undefined;
      if (node.pattern !== undefined && !regex(node.pattern).test(value)) return undefined;
      if (node.format === "uri" && !URL.canParse(value)) return undefined;
      if (node.format === "date-time" && !Number.isFinite(Date.parse(value))) return undefined;
      return { value };
    }
    case "integer":
    case "number": {
      const number =
        lenient && node.numericString && typeof value === "string" && INTEGER_STRING.test(value)
          ? Number(value)
          : value;
      if (typeof number !== "number" || !Number.isFinite(number)) return undefined;
      if (node.type === "integer" && !Number.isSafeInteger(number)) return undefined;
      if (node.minimum !== undefined && number < node.minimum) return undefined;
      if (node.maximum !== undefined && number > node.maximum) return undefined;
      return { value: number };
    }
    case "boolean":
      return typeof value === "boolean" ? { value } : undefined;
    case "array": {
      if (!Array.isArray(value) || (node.minItems !== undefined && value.length < node.minItems)) return undefined;
      if (!node.items) return { value };
      const items: unknown[] = [];
      for (const item of value) {
        const match = read(node.items, item, lenient);
        if (!match) return undefined;
        items.push(match.value);
      }
      return { value: items };
    }
    case "object":
      return isPlainObject(value) ? { value } : undefined;
    default:
      return { value };
  }
}

/**
 * One field of an answer read as its schema says (an `x-numeric-string` integer from its digits), or
 * `undefined` when it does not match; a field the spec does not declare is read as it is.
 *
 * @param node - the field's schema, or `undefined`.
 * @param value - the field's value as it arrived.
 */
function readAnswerField(node: SchemaNode | undefined, value: unknown): { value: unknown } | undefined {
  return node === undefined ? { value } : read(node, value, true);
}

/** The alternatives of a schema: its `anyOf`, or itself. */
function alternatives(node: SchemaNode): readonly SchemaNode[] {
  return node.anyOf ?? [node];
}

/** A property that every alternative fixes with `const` (`grant_type`): it selects the alternative. */
function discriminator(options: readonly SchemaNode[]): string | undefined {
  if (options.length < 2) return undefined;
  if (discriminators.has(options)) return discriminators.get(options);
  const first = options[0]!.properties ?? {};
  // One that tells them apart: `client_assertion_type`, fixed alike in every one, does not.
  const found = Object.keys(first).find(
    (name) =>
      first[name]!.const !== options[1]!.properties?.[name]?.const &&
      options.every((o) => o.properties?.[name]?.const !== undefined),
  );
  discriminators.set(options, found);
  return found;
}
/** Each union's discriminator, found once. */
const discriminators = new WeakMap<readonly SchemaNode[], string | undefined>();

/** How well a value fits an alternative: fields it knows, less required fields missing. */
function fit(option: SchemaNode, value: JsonObject): number {
  const known = Object.keys(value).filter((key) => option.properties?.[key] !== undefined).length;
  const missing = (option.required ?? []).filter((key) => value[key] === undefined).length;
  return known - missing;
}

/** The alternative of a request's schema the value is for, chosen by its discriminator or by fit. */
function chooseAlternative(node: SchemaNode, value: JsonObject): SchemaNode {
  const options = alternatives(node);
  const by = discriminator(options);
  if (by !== undefined) {
    const chosen = options.find((o) => o.properties![by]!.const === value[by]);
    if (chosen === undefined)
      throw argumentError(`${by} must be ${quoted(options.map((o) => o.properties![by]!.const))}`);
    return chosen;
  }
  let best = options[0]!;
  for (const option of options) {
    if (requestProblem(option, value, "") === undefined) return option;
    if (fit(option, value) > fit(best, value)) best = option;
  }
  return best;
}

/** The first thing wrong with a request body for one object alternative, or `undefined`. */
function requestProblem(option: SchemaNode, body: JsonObject, what: string): string | undefined {
  const properties = option.properties ?? {};
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (value === undefined) continue;
    const field = properties[key];
    if (field === undefined) return `${key} is not a field of ${what}`;
    if (field.clientAuthentication) return `${key} comes from the client options; do not pass it in the request`;
    if (field.secret && value === REDACTED) return placeholder(key);
    if (!read(field, value, false)) return `${key} must be ${expected(field)}`;
  }
  for (const key of option.required ?? []) {
    if (body[key] === undefined && !properties[key]?.clientAuthentication)
      return `${key} is required: it must be ${expected(properties[key] ?? {})}`;
  }
  for (const [key, needed] of Object.entries(option.dependentRequired ?? {})) {
    const missing = body[key] === undefined ? undefined : needed.find((name) => body[name] === undefined);
    if (missing !== undefined) return `${missing} is required with ${key}`;
  }
  return undefined;
}

/** The body the old `checkRequest` sent and the alternative it matched, or the `TypeError` message it threw. */
export function referenceRequest(
  node: SchemaNode,
  value: JsonObject,
  what: string,
): { body: JsonObject; schema: SchemaNode } | string {
  const schema = chooseAlternativeOrMessage(node, value);
  if (typeof schema === "string") return schema;
  const by = discriminator(alternatives(node));
  const problem = requestProblem(schema, value, by === undefined ? what : `${what} with ${by} ${String(value[by])}`);
  if (problem !== undefined) return problem;
  const body: JsonObject = {};
  for (const key of Object.keys(value)) if (value[key] !== undefined) body[key] = value[key];
  return { body, schema };
}

function chooseAlternativeOrMessage(node: SchemaNode, value: JsonObject): SchemaNode | string {
  try {
    return chooseAlternative(node, value);
  } catch (error) {
    return (error as Error).message;
  }
}

/** What the old `checkAnswer` returned, or the message it failed with. */
export function referenceAnswer(node: SchemaNode, body: JsonObject, where = "response body"): JsonObject | string {
  try {
    return checkAnswer(
      node,
      body,
      (message) => {
        throw new Error(message);
      },
      where,
    );
  } catch (error) {
    return (error as Error).message;
  }
}

/** Whether the old `read` accepted a value (strictly, as an argument), and what the old `readAnswerField` read. */
export function referenceValue(
  node: SchemaNode,
  value: unknown,
): { strict: boolean; answer: { value: unknown } | undefined; expected: string } {
  return {
    strict: read(node, value, false) !== undefined,
    answer: readAnswerField(node, value),
    expected: expected(node),
  };
}

function argumentError(message: string): Error {
  return new TypeError(message);
}
function checkAnswer(
  node: SchemaNode,
  body: JsonObject,
  fail: (message: string) => never,
  where = "response body",
): JsonObject {
  const options = alternatives(node);
  const by = discriminator(options);
  let schema = options[0]!;
  if (by !== undefined) {
    const chosen = options.find((o) => o.properties![by]!.const === body[by]);
    if (chosen === undefined) fail(`${where} "${by}" must be ${quoted(options.map((o) => o.properties![by]!.const))}`);
    schema = chosen;
  } else if (options.length > 1) {
    schema = options.reduce((best, option) => (fit(option, body) > fit(best, body) ? option : best));
  }
  const properties = schema.properties ?? {};
  for (const key of schema.required ?? []) {
    if (body[key] === undefined) fail(`${where} "${key}" must be ${expected(properties[key] ?? {})}`);
  }
  const out: JsonObject = schema.closed ? {} : body;
  for (const key of Object.keys(properties)) {
    const value = body[key];
    if (value === undefined) continue;
    const match = read(properties[key]!, value, true);
    if (!match) fail(`${where} "${key}" must be ${expected(properties[key]!)}`);
    if (match.value !== value || schema.closed) out[key] = match.value;
  }
  return out;
}
