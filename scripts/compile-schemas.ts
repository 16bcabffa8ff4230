/**
 * The schema compiler of `npm run generate`: turns the normalized schemas of the spec (the description that
 * scripts/generate.ts makes) into plain JavaScript, as ajv's standalone mode and typia do. Nothing reads a schema
 * keyword at run time:
 * - each field's schema becomes a test function, `(v) => boolean`: `typeof`, lengths and bounds, a RegExp
 *   literal hoisted to module level, `URL.canParse`, `Date.parse`, a `const` or `enum` as comparisons (checked
 *   against the type here, once); a union as the `||` of its alternatives' tests, an array as a loop over its items;
 * - an `x-numeric-string` integer also gets a reader, which an answer's check uses: the number its digits spell;
 * - every message is written here: what a field must be ("a non-empty string") is a string of the generated code;
 * - a union of objects becomes a `switch` on its discriminator (`grant_type`, `active`), found here, or, where it
 *   has none, a trial of each alternative;
 * - an object becomes its table of field checks, which one shared function of scripts/checks-runtime.ts runs over
 *   a request (its fields in the body's order, then the required ones) or an answer (the required ones, then each
 *   declared field). A table, not straight-line code per field: unrolled, the checks made the client's bundle about
 *   600 bytes min+gz larger (14 179 B against 13 586 B with the interpreter; issue 22, measured), to save well under
 *   a microsecond per request.
 *
 * Every check is an object that carries the facts the client still reads beside it: a field's `const`, `enum`,
 * `default`, `maximum` and marks, an alternative's `properties`, `idempotent` and `answer`. Each distinct test,
 * field check and table is emitted once, and an app's bundler keeps only those its imports reach.
 */

type Json = Record<string, unknown>;

/** A schema as scripts/generate.ts normalizes it (SchemaNode of generated/spec.ts, `answer` as a reference). */
export interface Node {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  format?: string;
  default?: unknown;
  dependentRequired?: Record<string, string[]>;
  items?: Node;
  properties?: Record<string, Node>;
  required?: string[];
  closed?: boolean;
  anyOf?: Node[];
  secret?: boolean;
  clientAuthentication?: boolean;
  idempotent?: boolean;
  numericString?: boolean;
  scopes?: boolean;
  /** `x-answer`, as a reference to the answer's component. */
  answer?: { $answer: string };
}

const js = (value: unknown): string => JSON.stringify(value);

function quoted(values: readonly unknown[]): string {
  const texts = values.map((v) => js(v));
  return texts.length <= 2 ? texts.join(" or ") : `one of ${texts.join(", ")}`;
}

/** "a non-empty string" as a plural: "non-empty strings". */
function plural(text: string): string {
  return text.replace(/^an? (.*?)(string|integer|number|boolean|object|URL)/, "$1$2s");
}

/** What a schema asks for, as a message ends: "must be a non-empty string". */
export function expected(node: Node): string {
  if (node.anyOf) return node.anyOf.map(expected).join(" or ");
  if (node.const !== undefined) return js(node.const);
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

/** Whether reading an answer can change a value of this schema: an `x-numeric-string` integer, at any depth. */
function coerces(node: Node): boolean {
  if (node.anyOf) return node.anyOf.some(coerces);
  if (node.type === "array") return node.items !== undefined && coerces(node.items);
  return node.numericString === true && (node.type === "integer" || node.type === "number");
}

/** The property whose `const` tells the alternatives of a union apart (`grant_type`), found at generation time. */
export function discriminator(options: readonly Node[]): string | undefined {
  if (options.length < 2) return undefined;
  const first = options[0]!.properties ?? {};
  // One that tells them apart: `client_assertion_type`, fixed alike in every one, does not.
  return Object.keys(first).find(
    (name) =>
      first[name]!.const !== options[1]!.properties?.[name]?.const &&
      options.every((o) => o.properties?.[name]?.const !== undefined),
  );
}

/** Whether a field is checked in a request the client sends or in an answer it reads. */
export type Role = "request" | "answer";

/** The facts that the client reads of a field besides its check: the values it fixes, its bounds, its marks. */
function facts(node: Node, role: Role): Json {
  const out: Json = {};
  for (const key of ["const", "enum", "default", "maximum"] as const) if (node[key] !== undefined) out[key] = node[key];
  // The marks a request's check and scope check read; an answer's has no use for them.
  if (role === "request") for (const key of ["scopes", "secret"] as const) if (node[key]) out[key] = true;
  const alternatives = node.anyOf?.map((alt) => facts(alt, role));
  if (alternatives?.some((alt) => Object.keys(alt).length > 0)) out.anyOf = alternatives;
  return out;
}

/** Whether a value the schema fixes (`const`, `enum`) is of the schema's type, as the generated test would say. */
function matches(node: Node, value: unknown): boolean {
  const within = (n: number) => (node.minimum ?? -Infinity) <= n && n <= (node.maximum ?? Infinity);
  switch (node.type) {
    case "string":
      return (
        typeof value === "string" &&
        value.length >= (node.minLength ?? 0) &&
        value.length <= (node.maxLength ?? Infinity) &&
        (node.pattern === undefined || new RegExp(node.pattern, "u").test(value)) &&
        (node.format !== "uri" || URL.canParse(value)) &&
        (node.format !== "date-time" || Number.isFinite(Date.parse(value)))
      );
    case "integer":
      return Number.isSafeInteger(value) && within(value as number);
    case "number":
      return typeof value === "number" && Number.isFinite(value) && within(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
    case "object":
      return false;
    default:
      return true;
  }
}

function primitive(value: unknown, where: string): string {
  if (value !== null && typeof value === "object")
    throw new Error(`${where}: only strings, numbers, booleans and null can be compared, got ${js(value)}`);
  return js(value);
}

/** Emits the module-level parts (RegExps, tests, readers, value checks), each once. */
export class Compiler {
  private readonly lines: string[] = [];
  private readonly names = new Map<string, string>();
  private count = 0;

  /** The generated code so far. */
  code(): string {
    return this.lines.join("\n");
  }

  /** Appends a line of code. */
  push(line: string): void {
    this.lines.push(line);
  }

  /**
   * A module-level constant, made once for each distinct `key`: `build` gets its name (a check returns the
   * alternative it is) and returns its source; what the source uses is emitted before it.
   */
  define(
    prefix: string,
    key: string,
    type: string | undefined,
    build: (name: string) => string,
    comment?: string,
  ): string {
    const id = `${prefix}:${key}`;
    let name = this.names.get(id);
    if (name === undefined) {
      name = `${prefix}${this.count++}`;
      this.names.set(id, name);
      const source = build(name);
      if (comment) this.lines.push(`/** ${comment.replace(/\*\//g, "*\\/")} */`);
      this.lines.push(`const ${name}${type ? `: ${type}` : ""} = ${source};`);
    }
    return name;
  }

  /** A module-level constant holding `source`, made once for each distinct source. */
  hoist(prefix: string, source: string, comment?: string, type?: string): string {
    return this.define(prefix, source, type, () => source, comment);
  }

  private regex(pattern: string): string {
    // A literal, not `new RegExp`: bundlers drop a literal nobody uses. Made here, an invalid pattern fails now.
    return this.hoist("P", String(new RegExp(pattern, "u")));
  }

  /** The conditions `value` (a variable) must meet, without reading it as an answer would. */
  private conditions(node: Node, value: string, where: string): string[] {
    const fixed = node.const !== undefined ? [node.const] : node.enum;
    if (fixed === undefined) return this.typeConditions(node, value, where);
    // The values a schema fixes are checked against its type here, once: at run time, only a comparison is left.
    const allowed = fixed.filter((v) => primitive(v, where) !== undefined && matches(node, v));
    if (allowed.length === 0) return ["false"];
    const comparisons = allowed.map((v) => `${value} === ${primitive(v, where)}`);
    return [comparisons.length === 1 ? comparisons[0]! : `(${comparisons.join(" || ")})`];
  }

  private typeConditions(node: Node, v: string, where: string): string[] {
    switch (node.type) {
      case "string": {
        const out = [`typeof ${v} === "string"`];
        if (node.minLength !== undefined) out.push(`${v}.length >= ${node.minLength}`);
        if (node.maxLength !== undefined) out.push(`${v}.length <= ${node.maxLength}`);
        if (node.pattern !== undefined) out.push(`${this.regex(node.pattern)}.test(${v})`);
        if (node.format === "uri") out.push(`URL.canParse(${v})`);
        if (node.format === "date-time") out.push(`Number.isFinite(Date.parse(${v}))`);
        return out;
      }
      case "integer":
      case "number": {
        const out = [
          node.type === "integer" ? `Number.isSafeInteger(${v})` : `typeof ${v} === "number" && Number.isFinite(${v})`,
        ];
        if (node.minimum !== undefined) out.push(`${v} >= ${node.minimum}`);
        if (node.maximum !== undefined) out.push(`${v} <= ${node.maximum}`);
        return out;
      }
      case "boolean":
        return [`typeof ${v} === "boolean"`];
      case "array": {
        const out = [`Array.isArray(${v})`];
        if (node.minItems !== undefined) out.push(`${v}.length >= ${node.minItems}`);
        if (node.items) out.push(`every(${v}, ${this.test(node.items, `${where} items`)})`);
        return out;
      }
      case "object":
        return [`typeof ${v} === "object" && ${v} !== null && !Array.isArray(${v})`];
      default:
        // No type: anything (as a schema without `type` says).
        return [];
    }
  }

  /** The strict test of a schema, a module-level function `(value) => boolean`. */
  test(node: Node, where: string): string {
    const body = node.anyOf
      ? node.anyOf.map((alt) => `${this.test(alt, where)}(v)`).join(" || ")
      : this.conditions(node, "v", where).join(" && ") || "true";
    return this.hoist("t", `(v: any): boolean => ${body}`, expected(node));
  }

  /**
   * The answer's reading of a schema that can change a value (`x-numeric-string`): a module-level function that
   * returns the value read, or `undefined` when it does not match. `undefined` for a schema that changes nothing.
   */
  reader(node: Node, where: string): string | undefined {
    if (!coerces(node)) return undefined;
    let body: string;
    if (node.anyOf) {
      const steps = node.anyOf.map((alt) => {
        const read = this.reader(alt, where);
        return read
          ? `  r = ${read}(v);\n  if (r !== undefined) return r;`
          : `  if (${this.test(alt, where)}(v)) return v;`;
      });
      body = `{\n  let r: unknown;\n${steps.join("\n")}\n  return undefined;\n}`;
    } else if (node.type === "array") {
      const item = this.reader(node.items!, `${where} items`)!;
      const own = this.conditions({ ...node, items: undefined }, "v", where).join(" && ");
      body = `{\n  if (!(${own})) return undefined;\n  const out: unknown[] = [];\n  for (let i = 0; i < v.length; i++) {\n    const r = ${item}(v[i]);\n    if (r === undefined) return undefined;\n    out.push(r);\n  }\n  return out;\n}`;
    } else {
      // `const` and `enum` compare the value as sent; the bounds, the number it reads as.
      const sent = this.conditions({ const: node.const, enum: node.enum }, "v", where);
      const read = this.typeConditions(node, "n", where);
      const digits = this.hoist("P", String(/^\d+$/));
      body = `{\n  const n = typeof v === "string" && ${digits}.test(v) ? Number(v) : v;\n  return ${[...sent, ...read].join(" && ")} ? n : undefined;\n}`;
    }
    return this.hoist("r", `(v: any): unknown => ${body}`, `${expected(node)}, as an answer reads it`);
  }

  /** A field's value check, `{ is, read?, expected, ...facts }`, one for each distinct schema. */
  value(node: Node, where: string, role: Role = "request"): string {
    const parts = [`is: ${this.test(node, where)}`];
    const read = role === "answer" ? this.reader(node, where) : undefined;
    if (read) parts.push(`read: ${read}`);
    parts.push(`expected: ${js(expected(node))}`);
    for (const [key, fact] of Object.entries(facts(node, role))) parts.push(`${key}: ${js(fact)}`);
    return this.hoist("V", `{ ${parts.join(", ")} }`, undefined, "ValueCheck");
  }

  /**
   * The `properties` of a compiled object: each field's value check. In a request, a field that client
   * authentication fills in is refused whatever its value: all such fields share one entry.
   */
  fields(node: Node, where: string, role: Role): string {
    const client = '{ is: () => false, expected: "set by the client", clientAuthentication: true }';
    const entries = Object.entries(node.properties ?? {}).map(([name, field]) => {
      const check =
        role === "request" && field.clientAuthentication
          ? this.hoist("V", client, undefined, "ValueCheck")
          : this.value(field, `${where}.${name}`, role);
      return `${js(name)}: ${check}`;
    });
    return this.hoist("F", `{ ${entries.join(", ")} }`, undefined, "Fields");
  }
}

/** The object alternatives of a schema: a union's members (a union within one flattened), or the schema. */
function alternativesOf(node: Node): Node[] {
  return node.anyOf ? node.anyOf.flatMap(alternativesOf) : [node];
}

/** Whether a schema is an object, or a union of objects: a request body or an answer. */
export function isObjectSchema(node: Node): boolean {
  return node.type === "object" || (node.anyOf !== undefined && node.anyOf.every(isObjectSchema));
}

/** `code` indented by `depth` levels of two spaces, line by line. */
function indent(code: string, depth: number): string {
  return code
    .split("\n")
    .map((line) => (line === "" ? line : "  ".repeat(depth) + line))
    .join("\n");
}

/**
 * The expression of one request alternative's check: its fields in the body's order, then the required ones and
 * those required with another, in the spec's order; the alternative itself when nothing is wrong.
 */
function requestExpression(c: Compiler, node: Node, self: string, where: string): string {
  const properties = node.properties ?? {};
  const required = (node.required ?? []).filter((key) => !properties[key]?.clientAuthentication);
  const steps = [`requestObject(b, w, ${c.fields(node, where, "request")}, ${js(required)})`];
  for (const [key, needed] of Object.entries(node.dependentRequired ?? {}))
    for (const name of needed)
      steps.push(
        `(b[${js(key)}] !== undefined && b[${js(name)}] === undefined ? ${js(`${name} is required with ${key}`)} : undefined)`,
      );
  return [...steps, self].join(" ??\n  ");
}

/**
 * Emits the request check of a schema (an object, or a union of objects) and returns its name. A union's
 * alternative is chosen by its discriminator (`grant_type`), or else by trying each.
 */
export function compileRequest(c: Compiler, node: Node, where: string, answerOf: (name: string) => string): string {
  const options = alternativesOf(node);
  const names = options.map((option) =>
    c.define("R", js(option), "RequestCheck", (self) => {
      const parts = [`properties: ${c.fields(option, where, "request")}`];
      if (option.idempotent) parts.push("idempotent: true");
      if (option.answer) parts.push(`answer: ${answerOf(option.answer.$answer)}`);
      parts.push(`check: (b, w) =>\n  ${requestExpression(c, option, self, where)}`);
      return `{\n${indent(parts.join(",\n"), 1)},\n}`;
    }),
  );
  if (options.length === 1) return names[0]!;
  return c.define("R", js(node), "RequestCheck", () => {
    const by = discriminator(options);
    let check: string;
    if (by === undefined) {
      const required = js(options.map((option) => option.required ?? []));
      check = `(b, w) => pick(b, w, [${names.join(", ")}], ${required})`;
    } else {
      const values = options.map((option) => option.properties![by]!.const);
      const cases = values.map(
        (value, i) =>
          `  case ${primitive(value, where)}:\n    return ${names[i]}.check(b, w + ${js(` with ${by} ${String(value)}`)});`,
      );
      const refused = `${by} must be ${quoted(values)}`;
      check = `(b, w) => {\n  switch (b[${js(by)}]) {\n${indent(cases.join("\n"), 1)}\n  }\n  return ${js(refused)};\n}`;
    }
    return `{\n  anyOf: [${names.join(", ")}],\n  check: ${indent(check, 1).trimStart()},\n}`;
  });
}

/** The expression of one answer alternative's check: its required fields, then each declared one, in order. */
function answerExpression(c: Compiler, node: Node, where: string): string {
  const fields = c.fields(node, where, "answer");
  return `answerObject(b, fail, w, ${fields}, ${js(node.required ?? [])}${node.closed ? ", {}" : ""})`;
}

/**
 * Emits the answer check of a schema (an object, or a union of objects) and returns its name. A union's
 * alternative is chosen by its discriminator (`active`), or else by the fields the answer has.
 */
export function compileAnswer(c: Compiler, node: Node, where: string): string {
  const options = alternativesOf(node);
  const names = options.map((option) =>
    c.define("A", js(option), "AnswerCheck", () => {
      const fields = c.fields(option, where, "answer");
      return `{\n  properties: ${fields},\n  check: (b, fail, w) => ${answerExpression(c, option, where)},\n}`;
    }),
  );
  if (options.length === 1) return names[0]!;
  return c.define("A", js(node), "AnswerCheck", () => {
    const by = discriminator(options);
    let check: string;
    if (by === undefined) {
      const required = js(options.map((option) => option.required ?? []));
      check = `(b, fail, w) => fittest(b, [${names.join(", ")}], ${required}).check(b, fail, w)`;
    } else {
      const values = options.map((option) => option.properties![by]!.const);
      const cases = values.map(
        (value, i) => `  case ${primitive(value, where)}:\n    return ${names[i]}.check(b, fail, w);`,
      );
      const refused = ` "${by}" must be ${quoted(values)}`;
      check = `(b, fail, w) => {\n  switch (b[${js(by)}]) {\n${indent(cases.join("\n"), 1)}\n  }\n  return fail(w + ${js(refused)});\n}`;
    }
    return `{\n  anyOf: [${names.join(", ")}],\n  check: ${indent(check, 1).trimStart()},\n}`;
  });
}
