import type { components, operations, paths } from "../../generated/schema";
import type { RequestCheck } from "../../generated/spec";
import type { ErrorReader } from "../core/answers";
import { hideSecrets, redactError, secretsOfFields } from "../core/redact";
import type { CallOptions, RequestCore } from "../core/request";
import type { RawAnswer } from "../core/answers";
import { argumentError, checkObject, checkRequest } from "../core/validate";

/**
 * The request fields of client authentication in the body (`client_id`, `client_secret`, `client_assertion`...):
 * they come from the client, so the parameter types of the operations leave them out.
 */
export type ClientFields = keyof components["schemas"]["ClientAuthenticationInBody"];

/** `Omit` applied to each member of a union (the grants, the request formats) rather than to the union as a whole. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What every request step of a client shares: its request core and the settings its steps read. Provider
 * adapters build their methods on it too.
 *
 * @see {@link ProviderAdapter.extend}
 */
export interface ClientContext {
  /** The request core: openapi-fetch typed by the spec, with the client's transport policy. */
  readonly core: RequestCore;
  /** The client identifier, when there is one (a provider's path may hold it). */
  readonly clientId: string | undefined;
  /** The content type of request bodies, where the operation's spec offers it. */
  readonly mediaType: MediaType;
  /** The server's scope names, when requested scopes are checked before sending. */
  readonly allowedScopes: ReadonlySet<string> | undefined;
  /** The token types accepted in token answers; `undefined` for bearer only. */
  readonly tokenTypes: readonly string[] | undefined;
  /** Error body shapes read besides RFC 6749 §5.2. */
  readonly errorReaders: readonly ErrorReader[];
  /** The client's own secrets (its secret, its credential headers), as sent and form-encoded. */
  readonly secrets: readonly string[];
}

/**
 * The request body of an operation for a content type, as the spec declares it. The operation is named by its
 * operationId, which a path moved in the spec leaves as it is; a path names the operation POSTed to it.
 *
 * @see https://spec.openapis.org/oas/v3.1.0#request-body-object
 */
export type RequestBody<K extends keyof operations | keyof paths, M extends MediaType> = (
  K extends keyof operations
    ? operations[K]
    : K extends keyof paths
      ? paths[K]["post"]
      : never
) extends { requestBody?: { content: infer C } }
  ? C[M & keyof C]
  : never;
/**
 * The JSON answer of an operation's 200, as the spec declares it; the operation is named as in
 * {@link RequestBody}.
 *
 * @see https://spec.openapis.org/oas/v3.1.0#response-object
 */
export type JsonAnswer<K extends keyof operations | keyof paths> = (
  K extends keyof operations
    ? operations[K]
    : K extends keyof paths
      ? paths[K]["post"]
      : never
) extends { responses: { 200: { content: { "application/json": infer A } } } }
  ? A
  : never;

/**
 * The request body content types the client sends.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-B
 */
export type MediaType = "application/x-www-form-urlencoded" | "application/json";

type JsonObject = Record<string, unknown>;

/**
 * The body schema of an operation for the client's content type, or the operation's own when it has only
 * one (introspection is always a form).
 */
function bodySchema<T>(
  bodies: Partial<Record<MediaType, T>>,
  mediaType: MediaType,
): { schema: T; mediaType: MediaType } {
  const chosen = bodies[mediaType] !== undefined ? mediaType : (Object.keys(bodies)[0] as MediaType);
  return { schema: bodies[chosen]!, mediaType: chosen };
}

/** Headers of one call: the call's own, then the content type of the body. */
export function callHeaders(call: CallOptions | undefined, mediaType?: MediaType): Record<string, string> {
  return mediaType === undefined ? { ...call?.headers } : { ...call?.headers, "Content-Type": mediaType };
}

/**
 * Adds a call's `extraParams` to a checked body: parameters a server needs that the spec does not list.
 * They never replace a field of the request, one the spec declares, or one client authentication fills in.
 *
 * @throws {TypeError} when a parameter is not a string or names such a field.
 */
function withExtraParams(body: JsonObject, call: CallOptions | undefined, schema: RequestCheck): JsonObject {
  const extra = call?.extraParams;
  if (extra === undefined) return body;
  checkObject(extra, "options.extraParams");
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value !== "string") throw argumentError(`options.extraParams.${name} must be a string`);
    if (name in body || schema.properties?.[name] !== undefined)
      throw argumentError(`options.extraParams.${name} is a field of the request: pass it in the request itself`);
  }
  return { ...body, ...extra };
}

/**
 * A request's body checked against the spec's schema for the client's content type (or the operation's only
 * one), with the call's extra parameters, and the headers to send it with.
 *
 * @param context - the client.
 * @param bodies - the operation's compiled body checks by content type, from the generated code.
 * @param params - the caller's fields.
 * @param call - the call's headers and extra parameters.
 * @param what - the request, for messages: `"the token request"`.
 * @throws {TypeError} naming the first field that is wrong.
 */
export function checkedBody<T>(
  context: ClientContext,
  bodies: Partial<Record<MediaType, RequestCheck>>,
  params: unknown,
  call: CallOptions | undefined,
  what: string,
): { body: T; schema: RequestCheck; headers: Record<string, string> } {
  const { schema: node, mediaType } = bodySchema(bodies, context.mediaType);
  const { body, schema } = checkRequest(node, params, what);
  return { body: withExtraParams(body, call, schema) as T, schema, headers: callHeaders(call, mediaType) };
}

/**
 * Validates an answer with a process step; an error is stripped of any secret of the request the server
 * quoted back, and a result that quotes one prints it as `[REDACTED]`.
 */
export function settle<T>(
  context: ClientContext,
  process: (answer: RawAnswer) => T,
  answer: RawAnswer,
  sent: JsonObject | undefined,
): T {
  // The body's fields as given (a JSON body among them), and what the request carried as sent (encoded forms,
  // fields added on the way, a DPoP proof).
  const secrets = [...context.secrets, ...secretsOfFields(sent), ...(answer.secrets ?? [])];
  let result: T;
  try {
    result = process(answer);
  } catch (error) {
    throw redactError(error, secrets);
  }
  const { body } = answer;
  const quoted = typeof body === "string" && body !== "" ? secrets.filter((secret) => body.includes(secret)) : [];
  return quoted.length === 0 ? result : hideSecrets(result, quoted);
}

/** The call's parameters, which must be an object. */
export function paramsObject(params: unknown): JsonObject {
  checkObject(params, "params");
  return params;
}

/** Each client's context, for the features imported apart (the device flow) that build on a client. */
const contexts = new WeakMap<object, ClientContext>();

/** Records the context of a client made by `createOAuthClient`. */
export function registerContext(client: object, context: ClientContext): void {
  contexts.set(client, context);
}

/**
 * The context of a client made by `createOAuthClient`.
 *
 * @throws {TypeError} when `client` is not one.
 */
export function contextOf(client: unknown): ClientContext {
  const context = typeof client === "object" && client !== null ? contexts.get(client) : undefined;
  if (context === undefined) throw argumentError("client must be a client made by createOAuthClient");
  return context;
}
