/**
 * The spec as test data: loads `spec/openapi.yaml` bundled and dereferenced (with the same Redocly core that
 * openapi-typescript generates the types with), and enumerates what the contract tests walk through: every
 * documented answer of each operation (status, media type, named example) and every named request example,
 * each mapped to the client call that should produce it.
 */
import { bundle, createConfig } from "@redocly/openapi-core";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, test } from "vitest";
import {
  clientSecretJwt,
  createDpopKey,
  createOAuthClient,
  exchangeToken,
  jwtBearerGrant,
  OAuthError,
  pollDeviceAuthorization,
  privateKeyJwt,
  requestDeviceAuthorization,
  squareAdapter,
  voucherifyAdapter,
  type ClientAuthenticationMethod,
  type OAuthClient,
  type OAuthClientOptions,
  type CallOptions,
  type RequestFormat,
  type SquareMethods,
} from "../../src/index";
import { recordingFetch, type Exchange } from "./recorder";

export const SPEC_PATH = fileURLToPath(new URL("../../spec/openapi.yaml", import.meta.url));

interface ExampleObject {
  summary?: string;
  value: unknown;
}
interface MediaTypeObject {
  examples?: Record<string, ExampleObject>;
}
interface HeaderObject {
  schema?: { examples?: unknown[] };
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaTypeObject>;
}
interface ParameterObject {
  name: string;
  in: string;
  example?: unknown;
}
interface OperationObject {
  operationId: string;
  summary?: string;
  tags?: string[];
  parameters?: ParameterObject[];
  requestBody?: { content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
}
interface Document {
  paths: Record<string, Record<string, OperationObject>>;
}

async function loadSpec(): Promise<Document> {
  const result = await bundle({ ref: SPEC_PATH, config: await createConfig({}), dereference: true });
  if (result.problems.length > 0)
    throw new Error(`spec/openapi.yaml does not bundle: ${result.problems.map((p) => p.message).join("; ")}`);
  return result.bundle.parsed as Document;
}

/** The bundled, dereferenced spec. */
export const spec: Document = await loadSpec();

/** The spec's operationIds of token operations, each the name of the client method that calls it. */
export type ClientOperationId =
  | "deviceAuthorization"
  | "obtainToken"
  | "renewToken"
  | "revokeToken"
  | "introspectToken"
  | "retrieveTokenStatus";
/** The spec's discovery operationIds, both read by `discover()`. */
export type DiscoveryOperationId = "getAuthorizationServerMetadata" | "getOpenIdConfiguration";
/** The spec's operations sent by helpers imported apart, whose contract tests are their own. */
export type HelperOperationId = "pushAuthorizationRequest";
/** Every operationId of the spec. */
export type OperationId = ClientOperationId | DiscoveryOperationId | HelperOperationId;

const MEDIA_FORMATS: Record<string, RequestFormat> = {
  "application/x-www-form-urlencoded": "form",
  "application/json": "json",
};

/** The operation with this operationId, with its path and method. */
export function operation(operationId: OperationId): { path: string; method: string; operation: OperationObject } {
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op.operationId === operationId) return { path, method, operation: op };
    }
  }
  throw new Error(`spec has no operation ${operationId}`);
}

/** Every operationId of the spec. */
export function operationIds(): string[] {
  return Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
}

/** One named request example of the spec. */
export interface RequestExample {
  operationId: OperationId;
  format: RequestFormat;
  mediaType: string;
  name: string;
  value: Record<string, unknown>;
}

/** The request formats an operation accepts, in the spec's order. */
export function requestFormats(operationId: OperationId): RequestFormat[] {
  const content = operation(operationId).operation.requestBody?.content ?? {};
  return Object.keys(content).map((mediaType) => {
    const format = MEDIA_FORMATS[mediaType];
    if (!format) throw new Error(`${operationId} takes ${mediaType}, which the client does not send`);
    return format;
  });
}

/** Every named request example of an operation, in the spec's order. */
export function requestExamples(operationId: OperationId): RequestExample[] {
  const content = operation(operationId).operation.requestBody?.content ?? {};
  return Object.entries(content).flatMap(([mediaType, media]) =>
    Object.entries(media.examples ?? {}).map(([name, example]) => ({
      operationId,
      format: MEDIA_FORMATS[mediaType]!,
      mediaType,
      name,
      value: example.value as Record<string, unknown>,
    })),
  );
}

/** One documented answer: a status, and when it has a body, one media type and one named example of it. */
export interface ResponseCase {
  operationId: OperationId;
  status: number;
  mediaType?: string;
  example?: string;
  value?: unknown;
  /** The example value of each header the spec declares for this answer, by lower-case name. */
  headers: Record<string, unknown>;
  /** Headers that make Prism send exactly this answer. */
  requestHeaders: Record<string, string>;
  /** A short title for the test name. */
  title: string;
}

/** Every documented answer of an operation: each status, each media type of it, each named example. */
export function responseCases(operationId: OperationId): ResponseCase[] {
  const cases: ResponseCase[] = [];
  for (const [statusText, response] of Object.entries(operation(operationId).operation.responses)) {
    const status = Number(statusText);
    const headers: Record<string, unknown> = {};
    for (const [name, header] of Object.entries(response.headers ?? {}))
      headers[name.toLowerCase()] = header.schema?.examples?.[0];
    const content = Object.entries(response.content ?? {});
    if (content.length === 0) {
      cases.push({
        operationId,
        status,
        headers,
        requestHeaders: { Prefer: `code=${status}` },
        title: `${status} without a body`,
      });
      continue;
    }
    for (const [mediaType, media] of content) {
      const examples = Object.entries(media.examples ?? {});
      if (examples.length === 0) throw new Error(`${operationId} ${status} ${mediaType} has no named example`);
      for (const [name, example] of examples) {
        const requestHeaders: Record<string, string> = { Prefer: `code=${status}, example=${name}` };
        if (mediaType !== "application/json") requestHeaders.Accept = mediaType;
        cases.push({
          operationId,
          status,
          mediaType,
          example: name,
          value: example.value,
          headers,
          requestHeaders,
          title: `${status} ${mediaType} ${name}`,
        });
      }
    }
  }
  return cases;
}

/**
 * The `error` an {@link OAuthError} must carry for an error example: the RFC 6749 `error`, Square's first
 * `errors[].code`, Voucherify's `key`, or `http_<status>` when the answer has no body.
 */
export function expectedErrorCode(value: unknown, status: number): string {
  if (value === undefined) return `http_${status}`;
  const body = value as { error?: string; errors?: { code: string }[]; key?: string };
  const code = body.error ?? body.errors?.[0]?.code ?? body.key;
  if (code === undefined) throw new Error(`error example has no code: ${JSON.stringify(value)}`);
  return code;
}

/** The `error_description` an {@link OAuthError} must carry for an error example, when the example has one. */
export function expectedErrorDescription(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const body = value as { error_description?: string; errors?: { detail?: string }[]; message?: string };
  return body.error_description ?? body.errors?.[0]?.detail ?? body.message;
}

/** The client ID and secret a client uses when a request example carries none but the call needs them. */
export const TEST_CLIENT_ID = "s6BhdRkqt3";
export const TEST_CLIENT_SECRET = "test-secret-7Fjfp0ZBr1KtDRbnfVdmIw";

/** A client call equivalent to a request example: the client options and the params to call with. */
export interface ExampleCall {
  options: Omit<OAuthClientOptions, "baseUrl" | "fetch">;
  params: Record<string, unknown>;
  /** A built-in method, or the JWT method of an example with a `client_assertion`. */
  authentication: ClientAuthenticationMethod | "private_key_jwt" | "client_secret_jwt";
  /** The secret the client holds, for header assertions. */
  clientSecret?: string;
  clientId: string;
}

/**
 * Maps a request example to the call that should send it. `client_id` and `client_secret` move to the client
 * options; the authentication method is `client_secret_post` when the example carries a secret in the body,
 * `none` when it carries `client_id` only, `client_secret_basic` otherwise. Renewal and Square's JSON
 * revocation authenticate with `Authorization: Client <secret>`, so their clients always hold a secret.
 */
export function callFor(example: RequestExample): ExampleCall {
  const {
    client_assertion,
    client_assertion_type: _,
    ...rest
  } = example.value as {
    client_assertion?: string;
    client_assertion_type?: string;
  };
  if (client_assertion !== undefined) return assertionCallFor(example, client_assertion, rest);
  const { client_id, client_secret, ...params } = example.value as { client_id?: string; client_secret?: string };
  const authentication: ClientAuthenticationMethod =
    client_secret !== undefined ? "client_secret_post" : client_id !== undefined ? "none" : "client_secret_basic";
  const clientHeader =
    example.operationId === "renewToken" || (example.operationId === "revokeToken" && example.format === "json");
  const pathClientId = operation(example.operationId).operation.parameters?.find(
    (p) => p.name === "client_id",
  )?.example;
  const clientId = client_id ?? (typeof pathClientId === "string" ? pathClientId : TEST_CLIENT_ID);
  const clientSecret =
    client_secret ?? (authentication === "client_secret_basic" || clientHeader ? TEST_CLIENT_SECRET : undefined);
  return {
    options: {
      clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      clientAuthentication: authentication,
      requestFormat: example.format,
      // Square's operations and Square's JSON revocation are the Square adapter's.
      ...(clientHeader || example.operationId === "retrieveTokenStatus" ? { provider: squareAdapter } : {}),
    },
    params,
    authentication,
    clientId,
    ...(clientSecret === undefined ? {} : { clientSecret }),
  };
}

/** The test client's RS256 key, for the request examples that authenticate with `private_key_jwt`. */
const TEST_PRIVATE_JWK = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

/**
 * The call of a request example that authenticates with a JWT (`client_assertion`): `client_secret_jwt` when its
 * header says HS256, else `private_key_jwt`, each with the test client's key. The assertion is signed anew, so
 * {@link expectSent} compares its header, not its value.
 */
function assertionCallFor(example: RequestExample, assertion: string, fields: Record<string, unknown>): ExampleCall {
  const { client_id, ...params } = fields as { client_id: string };
  const { alg, kid } = jwtPart(assertion, 0) as { alg: string; kid?: string };
  const clientAuthentication =
    alg === "HS256"
      ? clientSecretJwt(client_id, TEST_CLIENT_SECRET)
      : privateKeyJwt(client_id, { ...TEST_PRIVATE_JWK, alg, ...(kid !== undefined && { kid }) });
  return {
    options: { clientId: client_id, clientAuthentication, requestFormat: example.format },
    params,
    authentication: clientAuthentication.method as ExampleCall["authentication"],
    clientId: client_id,
  };
}

/** A part of a compact JWT, decoded: 0 the header, 1 the claims. */
const jwtPart = (jwt: string, part: 0 | 1) =>
  JSON.parse(Buffer.from(jwt.split(".")[part]!, "base64url").toString()) as Record<string, unknown>;

/** The options of a call answered by `answer`: its `Prefer` header, and a DPoP key for a DPoP-bound token. */
export async function optionsFor(answer: ResponseCase): Promise<CallOptions> {
  const dpop = (answer.value as { token_type?: unknown } | undefined)?.token_type === "DPoP";
  return { headers: answer.requestHeaders, ...(dpop && { dpop: await createDpopKey() }) };
}

/**
 * The helper of each grant the spec marks `x-separate-import`, by grant type. A device-code poll is sent with
 * the smallest interval, 1 second.
 */
export const SEPARATE_GRANT_HELPERS: Record<
  string,
  (client: OAuthClient<RequestFormat>, params: Record<string, unknown>, options?: CallOptions) => Promise<unknown>
> = {
  "urn:ietf:params:oauth:grant-type:token-exchange": (client, params, options) =>
    exchangeToken(client, params as never, options),
  "urn:ietf:params:oauth:grant-type:jwt-bearer": (client, params, options) =>
    jwtBearerGrant(client, params as never, options),
  "urn:ietf:params:oauth:grant-type:device_code": (client, params, options) =>
    pollDeviceAuthorization(client, { device_code: String(params.device_code), interval: 0 }, options),
};

/**
 * The answer a request example gets in the contract tests: the success example of the same name when there is
 * one (a token exchange answers with `issued_token_type`), else Prism's default, the first.
 */
export function answerFor(example: RequestExample, answers: ResponseCase[]): ResponseCase {
  return answers.find((a) => a.status < 300 && a.example === example.name) ?? answers[0]!;
}

/** Calls the client method named by an operationId; discovery operations are `discover()`'s, not the client's. */
export function invoke(
  client: OAuthClient<RequestFormat> & Partial<SquareMethods>,
  operationId: OperationId,
  params: Record<string, unknown>,
  options?: CallOptions,
): Promise<unknown> {
  switch (operationId) {
    case "obtainToken": {
      // The grants the spec marks x-separate-import are sent by their own helpers.
      const { grant_type, ...fields } = params;
      const helper = SEPARATE_GRANT_HELPERS[String(grant_type)];
      return helper ? helper(client, fields, options) : client.obtainToken(params as never, options);
    }
    case "deviceAuthorization":
      return requestDeviceAuthorization(client, params as never, options);
    case "renewToken":
      return client.renewToken!(params as never, options);
    case "revokeToken":
      return client.revokeToken(params as never, options);
    case "introspectToken":
      return client.introspectToken(params as never, options);
    case "retrieveTokenStatus":
      return client.retrieveTokenStatus!(params as never, options);
    case "getAuthorizationServerMetadata":
    case "getOpenIdConfiguration":
      throw new Error(`${operationId} is read by discover(), not by a client method`);
    case "pushAuthorizationRequest":
      throw new Error(`${operationId} is sent by pushAuthorizationRequest(), whose contract test is its own`);
  }
}

/** Parses a request body as it travelled: form fields as strings, JSON as parsed. */
export function parseBody(body: string, format: RequestFormat): unknown {
  return format === "json" ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
}

/** A request example as a form body would carry it: every value a string. */
export function asSent(value: Record<string, unknown>, format: RequestFormat): Record<string, unknown> {
  if (format === "json") return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, String(v)]));
}

/**
 * A provider's error answers are read by its adapter only: a client meets Square's or Voucherify's named
 * examples with an adapter of that provider's error shapes (and nothing else of it), and every other answer
 * with the options of its request example.
 */
export function providerFor(
  example: string | undefined = "",
  base?: OAuthClientOptions["provider"],
): Pick<OAuthClientOptions, "provider"> {
  const adapter = example.startsWith("square_")
    ? squareAdapter
    : example.startsWith("voucherify_")
      ? voucherifyAdapter
      : undefined;
  if (!adapter) return base ? { provider: base } : {};
  const errorReaders = [...(base?.errorReaders ?? []), ...(adapter.errorReaders ?? [])];
  return { provider: { ...base, name: base?.name ?? `${adapter.name} errors`, errorReaders } };
}

/**
 * Asserts that a call answered with a documented answer settled as that answer's example says: a 2xx resolves
 * to the example value (revocation to `undefined`); an error rejects with an {@link OAuthError} carrying the
 * status, the example's code, description and body, and the `WWW-Authenticate` challenge the spec declares.
 */
export async function expectAnswer(outcome: Promise<unknown>, answer: ResponseCase): Promise<void> {
  if (answer.status >= 200 && answer.status < 300) {
    const result = await outcome;
    if (answer.operationId === "revokeToken") expect(result).toBeUndefined();
    else expect(result).toStrictEqual(answer.value);
    return;
  }
  const error: unknown = await outcome.then(
    (result) => expect.unreachable(`${answer.title} resolved with ${JSON.stringify(result)}`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(OAuthError);
  const oauth = error as OAuthError;
  expect(oauth.status).toBe(answer.status);
  expect(oauth.error).toBe(expectedErrorCode(answer.value, answer.status));
  expect(oauth.error_description).toBe(expectedErrorDescription(answer.value));
  expect(oauth.body).toStrictEqual(answer.value);
  // Prism sends a declared header with its schema example; the error must expose exactly what arrived.
  expect(oauth.response?.headers.get("www-authenticate") ?? undefined).toBe(answer.headers["www-authenticate"]);
  expect(oauth.www_authenticate).toBe(answer.headers["www-authenticate"]);
}

/**
 * Asserts that a request carried exactly a request example: the body field for field, the media type, and the
 * credentials where the authentication method puts them.
 */
export function expectSent(exchange: Exchange, example: RequestExample, call: ExampleCall): void {
  expect(exchange.violations).toBeNull();
  expect(exchange.method).toBe("POST");
  expect(exchange.requestHeaders.get("content-type")).toBe(example.mediaType);
  const sent = parseBody(exchange.requestBody, example.format) as Record<string, unknown>;
  const { client_assertion: expected, ...expectedFields } = example.value as { client_assertion?: string };
  if (expected !== undefined) {
    // Signed anew for each request: the header and the claims' names are the example's.
    const { client_assertion: actual, ...fields } = sent as { client_assertion: string };
    expect(fields).toStrictEqual(asSent(expectedFields, example.format));
    expect(jwtPart(actual, 0)).toMatchObject(jwtPart(expected, 0));
    expect(Object.keys(jwtPart(actual, 1)).sort()).toEqual(Object.keys(jwtPart(expected, 1)).sort());
  } else expect(sent).toStrictEqual(asSent(example.value, example.format));
  const clientHeader =
    example.operationId === "renewToken" || (example.operationId === "revokeToken" && example.format === "json");
  const authorization = exchange.requestHeaders.get("authorization");
  if (clientHeader) expect(authorization).toBe(`Client ${call.clientSecret}`);
  else if (call.authentication === "client_secret_basic") {
    expect(authorization).toBe(`Basic ${Buffer.from(`${call.clientId}:${call.clientSecret}`).toString("base64")}`);
  } else expect(authorization).toBeNull();
}

/** The operations whose calls take a request body of the spec's request examples. */
export type BodyOperationId = "obtainToken" | "deviceAuthorization" | "renewToken" | "revokeToken" | "introspectToken";

/**
 * Declares, in the calling `describe`, the contract tests every body-carrying operation shares: for each
 * request format, one test per documented answer (chosen with Prism's `Prefer` header) that checks the
 * client's result or error against the example and that Prism found no request violation; and one test per
 * named request example that checks the body the client sent equals it.
 */
export function describeContract(operationId: BodyOperationId): void {
  const prismUrl = inject("prismUrl");
  const examples = requestExamples(operationId);
  const answers = responseCases(operationId);
  describe.for(requestFormats(operationId))("every documented answer to a %s request", (format) => {
    const call = callFor(examples.find((e) => e.format === format)!);
    for (const answer of answers) {
      test(answer.title, async () => {
        const { fetch, exchanges } = recordingFetch();
        const client = createOAuthClient({
          baseUrl: prismUrl,
          fetch,
          ...call.options,
          ...providerFor(answer.example, call.options.provider),
        });
        await expectAnswer(invoke(client, operationId, call.params, await optionsFor(answer)), answer);
        expect(exchanges).toHaveLength(1);
        expect(exchanges[0]!.status).toBe(answer.status);
        expect(exchanges[0]!.violations).toBeNull();
      });
    }
  });
  for (const example of examples) {
    test(`sends the ${example.format} request example ${example.name}`, async () => {
      const call = callFor(example);
      const { fetch, exchanges } = recordingFetch();
      const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...call.options });
      const answer = answerFor(example, answers);
      await expectAnswer(invoke(client, operationId, call.params, { headers: answer.requestHeaders }), answer);
      expect(exchanges).toHaveLength(1);
      expectSent(exchanges[0]!, example, call);
    });
  }
}
