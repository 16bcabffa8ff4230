import { formEncode } from "./redact";
import { argumentError } from "./validate";

/**
 * How a client proves who it is to the token, revocation and introspection endpoints: strategies in the
 * manner of oauth4webapi's `ClientSecretBasic(secret)`, each a small object that writes its credentials into
 * a request. A provider adapter may pick another strategy for one of its operations.
 */

/**
 * What a strategy writes into: the request's headers, and its body fields when it has a body; and where the
 * request goes, the audience of a client assertion.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export interface AuthenticatedRequest {
  headers: Headers;
  fields: Record<string, unknown> | undefined;
  /** The URL the request is sent to: the token endpoint's for a token request. */
  url: string;
}

/**
 * A client authentication strategy.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export interface ClientAuthentication {
  /** The method's name, as RFC 8414 metadata lists it (`client_secret_basic`). */
  readonly method: string;
  /** The values it sends that are secrets, for redaction. */
  readonly secrets: readonly string[];
  /**
   * Writes the credentials into one attempt of a request, before it is sent; a strategy that signs (a JWT
   * assertion) returns a promise. A `TypeError` it throws fails the call before anything is sent.
   */
  apply(request: AuthenticatedRequest): void | Promise<void>;
}

/**
 * The client authentication methods built in, by their RFC 8414 names.
 *
 * @see https://www.iana.org/assignments/oauth-parameters/oauth-parameters.xhtml#token-endpoint-auth-method
 */
export const CLIENT_AUTHENTICATION_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;

/**
 * How the client authenticates to the token, revocation and introspection endpoints.
 * - `client_secret_basic`: HTTP Basic with the form-urlencoded ID and secret (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the body.
 * - `none`: a public client; `client_id` alone in the body.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export type ClientAuthenticationMethod = (typeof CLIENT_AUTHENTICATION_METHODS)[number];

/** Whether a value names a built-in method. */
export function isClientAuthenticationMethod(value: unknown): value is ClientAuthenticationMethod {
  return (CLIENT_AUTHENTICATION_METHODS as readonly unknown[]).includes(value);
}

/**
 * The built-in strategy for a method.
 *
 * @param method - `client_secret_basic`, `client_secret_post` or `none`.
 * @param clientId - the client identifier; required unless `none`.
 * @param clientSecret - the client secret; required unless `none`.
 * @throws {TypeError} when the method needs a credential that is missing.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function clientAuthentication(
  method: ClientAuthenticationMethod,
  clientId: string | undefined,
  clientSecret: string | undefined,
): ClientAuthentication {
  if (method === "none") {
    return {
      method,
      secrets: [],
      apply: ({ fields }) => void (fields && clientId !== undefined && (fields.client_id = clientId)),
    };
  }
  if (clientId === undefined || clientSecret === undefined)
    throw argumentError(`options.clientId and options.clientSecret are required for ${method}`);
  if (method === "client_secret_post") {
    return {
      method,
      secrets: [clientSecret],
      apply: ({ fields }) =>
        void (fields && Object.assign(fields, { client_id: clientId, client_secret: clientSecret })),
    };
  }
  const credentials = btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`);
  const header = `Basic ${credentials}`;
  return { method, secrets: [clientSecret, credentials], apply: ({ headers }) => headers.set("Authorization", header) };
}
