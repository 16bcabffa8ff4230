import { operations } from "../../generated/spec";
import { clientAuthentication, type ClientAuthentication } from "../core/auth";
import { secretsOfHeaders, withEncoded } from "../core/redact";
import { createRequestCore, type OperationId } from "../core/request";
import { argumentError } from "../core/validate";
import type { ClientContext } from "./context";
import { checkOptions, type OAuthClientOptions } from "./options";

/**
 * The context of the functions imported by name (`clientCredentialsGrant`, `revokeToken`...): what
 * `createOAuthClient` builds from its options, built from the options each call is given, and kept for that
 * options object while its properties stay the same.
 */

/** The content type of the bodies these functions send: a form, as RFC 6749 asks. */
const FORM = "application/x-www-form-urlencoded";

/** A context, and the properties of the options it was built from. */
interface Built {
  keys: string[];
  values: unknown[];
  context: ClientContext;
}

/**
 * The context built for each options object. A request core made per call would run cold every time (new
 * closures, new openapi-fetch clients): a call would take about twice as long as a client's.
 */
const built = new WeakMap<object, Built>();

/** Whether the options still have the properties a context was built from: the same keys, each the same value. */
function unchanged(options: object, previous: Built): boolean {
  const keys = Object.keys(options);
  return (
    keys.length === previous.keys.length &&
    keys.every((key, i) => key === previous.keys[i] && (options as Record<string, unknown>)[key] === previous.values[i])
  );
}

/**
 * Checks the client's options and makes the context of a call: the same checks, client authentication by
 * operation, secrets to redact and transport policy as a client made by `createOAuthClient` with these options.
 * The context is kept for the options object, and made again when one of its properties is replaced.
 *
 * @param options - the options `createOAuthClient` takes, with form bodies.
 * @throws {TypeError} when an option is malformed, or asks for JSON bodies: those are the client's.
 */
export function callContext(options: OAuthClientOptions<"form">): ClientContext {
  const previous = built.get(options);
  if (previous !== undefined && unchanged(options, previous)) return previous.context;
  const context = buildContext(options);
  const keys = Object.keys(options);
  built.set(options, { keys, values: keys.map((key) => options[key as keyof typeof options]), context });
  return context;
}

function buildContext(options: OAuthClientOptions<"form">): ClientContext {
  checkOptions(options);
  // JSON bodies would need every grant's JSON schema (the spec declares them together): they are the client's.
  if ((options.requestFormat as string | undefined) === "json")
    throw argumentError('options.requestFormat "json" is for createOAuthClient: these functions send forms');
  const { clientId, clientSecret, provider } = options;
  const configured = options.clientAuthentication ?? (clientSecret ? "client_secret_basic" : "none");
  const auth = typeof configured === "string" ? clientAuthentication(configured, clientId, clientSecret) : configured;
  // Each operation's client authentication, as the client chooses it.
  const authentications = new Map<OperationId, ClientAuthentication>();
  for (const id of Object.keys(operations) as OperationId[]) {
    const chosen =
      provider?.authentication?.(id, { clientId, clientSecret }) ??
      ("clientAuthentication" in operations[id] ? auth : undefined);
    if (chosen) authentications.set(id, chosen);
  }
  const secrets = withEncoded([
    clientSecret,
    ...[...authentications.values()].flatMap((a) => a.secrets),
    ...secretsOfHeaders(options.headers),
  ]);
  return {
    core: createRequestCore({
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      endpoints: options.endpoints,
      fetch: options.fetch,
      headers: options.headers,
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      maxResponseBytes: options.maxResponseBytes,
      secrets,
      authentication: (id) => authentications.get(id),
    }),
    clientId,
    mediaType: FORM,
    allowedScopes: options.allowedScopes ? new Set(options.allowedScopes) : undefined,
    tokenTypes: options.allowedTokenTypes,
    errorReaders: provider?.errorReaders ?? [],
    secrets,
  };
}
