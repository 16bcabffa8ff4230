/**
 * `npm run generate`: makes `generated/` from `spec/`, the single source of truth.
 * - `generated/schema.d.ts`: the types, by openapi-typescript (configured in redocly.yaml).
 * - `generated/spec.ts`: the runtime description the client reads: each operation's method, path, endpoint
 *   name and content types, each request's and answer's fields (required, type, enum, const, pattern,
 *   length, format), and the spec's marks (`x-secret`, `x-client-authentication`, `x-idempotent`).
 * `npm run generate:check` (`--check`) writes nothing and fails when either file is stale.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundle, createConfig } from "@redocly/openapi-core";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SPEC = `${ROOT}spec/openapi.yaml`;
const OUTPUT = `${ROOT}generated/spec.ts`;
const check = process.argv.includes("--check");

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId: string;
  parameters?: Json[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}

const openapiTs = `${ROOT}node_modules/openapi-typescript/bin/cli.js`;
execFileSync(process.execPath, [openapiTs, ...(check ? ["--check"] : [])], { cwd: ROOT, stdio: "inherit" });

const result = await bundle({ ref: SPEC, config: await createConfig({}) });
if (result.problems.length > 0)
  throw new Error(`spec/openapi.yaml does not bundle: ${result.problems.map((p) => p.message).join("; ")}`);
const doc = result.bundle.parsed as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes?: Record<string, Json> };
};

/** Named component schemas, emitted once as constants and referred to by name. */
const named = new Map<string, string>();

function deref(schema: Json): Json {
  let node = schema;
  for (let i = 0; typeof node.$ref === "string" && i < 32; i++) {
    const name = (node.$ref as string).replace("#/components/schemas/", "");
    const target = doc.components.schemas[name];
    if (!target) throw new Error(`unresolved $ref ${String(node.$ref)}`);
    node = target;
  }
  return node;
}

const KEEP = [
  "type",
  "const",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "format",
] as const;
const MARKS = {
  "x-secret": "secret",
  "x-client-authentication": "clientAuthentication",
  "x-idempotent": "idempotent",
  "x-numeric-string": "numericString",
  "x-scopes": "scopes",
} as const;

/** A schema as the runtime reads it: allOf merged, unions as `anyOf`, objects with their properties. */
function normalize(input: Json): Json {
  const schema = deref(input);
  const out: Json = {};
  // Marks and keywords written beside a $ref apply too (`$ref` plus `description` or `x-secret`).
  for (const source of [schema, input]) {
    for (const key of KEEP) if (source[key] !== undefined) out[key] = source[key];
    for (const [mark, name] of Object.entries(MARKS)) if (source[mark] === true) out[name] = true;
  }
  const union = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  const parts = (schema.allOf as Json[] | undefined) ?? [];
  const props = schema.properties as Record<string, Json> | undefined;
  if (union) {
    const alternatives = union.map((alt) => normalize(alt));
    // Keywords beside the union (TokenRequestJson's extra fields) apply to each alternative.
    const extra = props || parts.length > 0 ? normalize({ ...schema, oneOf: undefined, anyOf: undefined }) : undefined;
    return { ...out, anyOf: extra ? alternatives.flatMap((alt) => merge(alt, extra)) : alternatives };
  }
  if (parts.length > 0 || props || schema.type === "object") {
    const own: Json = { ...out, type: "object", properties: {} };
    for (const [name, prop] of Object.entries(props ?? {})) (own.properties as Json)[name] = normalize(prop);
    if (schema.required) own.required = schema.required;
    if (schema.additionalProperties === false) own.closed = true;
    // A union among the parts (TokenRequestJson's allOf of TokenRequest) distributes: one object per alternative.
    let objects: Json[] = [{ type: "object", properties: {} }];
    for (const part of parts) objects = objects.flatMap((object) => merge(object, normalize(part)));
    objects = objects.flatMap((object) => merge(object, own));
    return objects.length === 1 ? objects[0]! : { anyOf: objects };
  }
  if (out.type === "array") out.items = normalize((schema.items as Json) ?? {});
  return out;
}

/** Merges two normalized schemas (allOf); a union on either side distributes. */
function merge(a: Json, b: Json): Json[] {
  if (Array.isArray(b.anyOf)) return (b.anyOf as Json[]).flatMap((alt) => merge(a, alt));
  if (Array.isArray(a.anyOf)) return (a.anyOf as Json[]).flatMap((alt) => merge(alt, b));
  const required = [...new Set([...((a.required as string[]) ?? []), ...((b.required as string[]) ?? [])])];
  const merged: Json = { ...a, ...b, properties: { ...(a.properties as Json), ...(b.properties as Json) } };
  if (required.length > 0) merged.required = required;
  return [merged];
}

/** The component name of a schema given by $ref, so it is emitted once. */
function emit(schema: Json): string {
  const ref = typeof schema.$ref === "string" ? schema.$ref.replace("#/components/schemas/", "") : undefined;
  const text = JSON.stringify(normalize(schema));
  if (ref === undefined) return text;
  named.set(ref, text);
  return ref;
}

const operations: string[] = [];
const bodies: string[] = [];
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (typeof op !== "object" || op === null || typeof op.operationId !== "string") continue;
    const id = op.operationId;
    const content = op.requestBody?.content ?? {};
    const pathParams = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name as string);
    const entry: Json = { method: method.toUpperCase(), path, mediaTypes: Object.keys(content) };
    if (typeof op["x-endpoint"] === "string") entry.endpoint = op["x-endpoint"];
    if (typeof op["x-metadata-endpoint"] === "string") entry.metadataEndpoint = op["x-metadata-endpoint"];
    if (op["x-idempotent"] === true) entry.idempotent = true;
    // The client's own authentication applies where the operation accepts HTTP Basic client credentials.
    const schemes = ((op.security as Json[] | undefined) ?? []).flatMap((requirement) => Object.keys(requirement));
    if (schemes.some((name) => doc.components.securitySchemes?.[name]?.scheme === "basic"))
      entry.clientAuthentication = true;
    if (op.deprecated === true) entry.deprecated = true;
    if (pathParams.length > 0) entry.pathParams = pathParams;
    operations.push(`  ${id}: ${JSON.stringify(entry)},`);
    const requests = Object.entries(content).map(([type, media]) => `${JSON.stringify(type)}: ${emit(media.schema)}`);
    if (requests.length > 0)
      bodies.push(
        `/** The request bodies of \`${id}\`, by content type. */\nexport const ${id}Request = { ${requests.join(", ")} } as const;`,
      );
    const success = Object.entries(op.responses).find(([status]) => /^2\d\d$/.test(status))?.[1];
    const answer = success?.content?.["application/json"]?.schema;
    if (answer) bodies.push(`/** The JSON answer of \`${id}\`. */\nexport const ${id}Answer = ${emit(answer)};`);
  }
}

// Every schema the spec marks secret, wherever it is: redaction reads this list.
const secrets = new Set<string>();
function collectSecrets(node: unknown, name?: string): void {
  if (typeof node !== "object" || node === null) return;
  const schema = node as Json;
  if (
    name !== undefined &&
    (schema["x-secret"] === true || (typeof schema.$ref === "string" && deref(schema)["x-secret"] === true))
  )
    secrets.add(name);
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && typeof value === "object" && value !== null) {
      for (const [prop, sub] of Object.entries(value as Json)) collectSecrets(sub, prop);
    } else collectSecrets(value);
  }
}
collectSecrets(doc.components.schemas);
collectSecrets(doc.paths);
// Every component schema is a named constant, so the client can read one by name (CodeVerifier, OAuthError).
for (const name of Object.keys(doc.components.schemas).sort()) emit({ $ref: `#/components/schemas/${name}` });

const schemes = Object.values(doc.components.securitySchemes ?? {});
const secretHeaders = [
  ...new Set([
    ...(schemes.some((scheme) => scheme.type === "http") ? ["authorization"] : []),
    ...schemes
      .filter((scheme) => scheme.type === "apiKey" && scheme.in === "header" && scheme["x-secret"] === true)
      .map((scheme) => String(scheme.name).toLowerCase()),
  ]),
].sort();
const source = `/**
 * Generated by scripts/generate.ts from spec/openapi.yaml: do not edit. Change spec/ and run \`npm run generate\`.
 *
 * The runtime description of the spec: what the client checks and sends, read from here, never typed again.
 */

/** A schema as the client reads it: \`allOf\` merged, \`oneOf\`/\`anyOf\` as \`anyOf\`. */
export interface SchemaNode {
  readonly type?: string;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly format?: string;
  readonly items?: SchemaNode;
  readonly properties?: { readonly [name: string]: SchemaNode };
  readonly required?: readonly string[];
  /** \`additionalProperties: false\`: an answer keeps only its declared fields. */
  readonly closed?: boolean;
  readonly anyOf?: readonly SchemaNode[];
  /** \`x-secret\`: a credential or token, redacted from errors and printed results. */
  readonly secret?: boolean;
  /** \`x-client-authentication\`: filled in by the client's authentication, never passed by a caller. */
  readonly clientAuthentication?: boolean;
  /** \`x-idempotent\`: safe to send again after a failure. */
  readonly idempotent?: boolean;
  /** \`x-numeric-string\`: an integer that servers also send as a string of digits; read as the number. */
  readonly numericString?: boolean;
  /** \`x-scopes\`: requested scopes, space-delimited in a string or one per item of an array. */
  readonly scopes?: boolean;
}

/** One operation of the spec. */
export interface OperationNode {
  readonly method: string;
  readonly path: string;
  readonly mediaTypes: readonly string[];
  /** \`x-endpoint\`: the operation's name in the client's \`endpoints\` option. */
  readonly endpoint?: string;
  /** \`x-metadata-endpoint\`: the RFC 8414 metadata field \`<name>_endpoint\` that locates it. */
  readonly metadataEndpoint?: string;
  readonly idempotent?: boolean;
  /** The client authenticates itself here: the operation accepts HTTP Basic client credentials. */
  readonly clientAuthentication?: boolean;
  readonly deprecated?: boolean;
  readonly pathParams?: readonly string[];
}

${[...named].map(([name, text]) => `export const ${name}: SchemaNode = ${text};`).join("\n")}

/** Every operation of the spec, by operationId. */
export const operations = {
${operations.join("\n")}
} as const satisfies Record<string, OperationNode>;

${bodies.join("\n")}

/** Every field the spec marks \`x-secret\`. */
export const secretFields: readonly string[] = ${JSON.stringify([...secrets].sort())};

/**
 * Headers that carry credentials, lower-cased: Authorization (every HTTP scheme uses it) and the headers of the
 * API-key schemes the spec marks \`x-secret\`.
 */
export const secretHeaders: readonly string[] = ${JSON.stringify(secretHeaders)};
`;

if (check) {
  let current = "";
  try {
    current = readFileSync(OUTPUT, "utf8");
  } catch {}
  if (current !== source) {
    console.error("generated/spec.ts is stale against spec/: run npm run generate");
    process.exit(1);
  }
  console.log("generated/spec.ts is up to date");
} else {
  writeFileSync(OUTPUT, source);
  console.log("wrote generated/spec.ts");
}
