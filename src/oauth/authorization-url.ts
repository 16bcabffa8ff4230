import { AuthorizationRequestRequest } from "../../generated/spec";
import { argumentError, checkNonEmptyString, checkObject, checkValue } from "../core/validate";

/**
 * Parameters of {@link buildAuthorizationUrl}.
 *
 * @see {@link buildAuthorizationUrl}
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 */
export interface AuthorizationUrlParams {
  /** The server's authorization endpoint, such as `https://auth.example.org/authorize`. */
  authorizationEndpoint: string;
  /** The client identifier. */
  clientId: string;
  /** Where the server sends the user back with the code; must match a registered redirect URI. */
  redirectUri?: string;
  /** Scopes to request: a space-delimited string, or a list joined with spaces. */
  scope?: string | readonly string[];
  /** An unguessable value tied to the user's session, checked on the redirect (CSRF protection). */
  state?: string;
  /** The PKCE S256 challenge from {@link createPkcePair}. */
  codeChallenge?: string;
  /** OpenID Connect's `nonce`: a value bound to the session, returned in the ID token. */
  nonce?: string;
  /** Resource indicators (RFC 8707): the absolute URI of a resource server, or a list of them. */
  resource?: string | readonly string[];
  /**
   * Extension parameters the spec does not name, such as `prompt`, `login_hint` or a provider's own; a list is
   * sent as a repeated parameter. A parameter of the authorization request above is refused here: pass it by
   * its own name.
   */
  extraParams?: Record<string, string | readonly string[] | undefined>;
}

const FIELDS = AuthorizationRequestRequest.properties!;
/** The parameters given by name, by their wire names, as `buildAuthorizationUrl` takes them. */
const NAMED = {
  redirect_uri: "redirectUri",
  scope: "scope",
  state: "state",
  code_challenge: "codeChallenge",
  nonce: "nonce",
  resource: "resource",
} as const satisfies Record<string, keyof AuthorizationUrlParams>;

/**
 * The authorization endpoint as a URL.
 *
 * @throws {TypeError} unless it is an absolute http(s) URL.
 */
export function authorizationEndpointUrl(value: unknown): URL {
  if (typeof value !== "string" || !URL.canParse(value))
    throw argumentError("authorizationEndpoint must be an absolute URL");
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw argumentError("authorizationEndpoint must be an http or https URL");
  return url;
}

/**
 * Builds the URL that sends the user to the authorization endpoint (RFC 6749 §4.1.1) with
 * `response_type=code` and, when a challenge is given, PKCE's `code_challenge` and
 * `code_challenge_method=S256`. Each parameter is checked as the spec's `AuthorizationRequest` declares it.
 * When the server takes pushed authorization requests, `pushAuthorizationRequest` sends the same parameters
 * unseen by the browser instead.
 *
 * @param params - the endpoint, client, redirect URI, scope, state, PKCE challenge, nonce, resources, and
 *   extension parameters.
 * @returns the absolute URL.
 * @throws {TypeError} when the endpoint is not an absolute http(s) URL or a parameter is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
export function buildAuthorizationUrl(params: AuthorizationUrlParams): string {
  checkObject(params, "params");
  const url = authorizationEndpointUrl(params.authorizationEndpoint);
  checkNonEmptyString(params.clientId, "clientId");
  const scope = Array.isArray(params.scope) ? params.scope.join(" ") : params.scope;
  const fields: Record<string, unknown> = {
    response_type: FIELDS.response_type!.const,
    client_id: params.clientId,
  };
  for (const [wire, name] of Object.entries(NAMED)) {
    const value = wire === "scope" ? scope : params[name];
    if (value === undefined) continue;
    checkValue(FIELDS[wire]!, value, name);
    fields[wire] = value;
    // The one method the spec offers goes with the challenge.
    if (wire === "code_challenge") fields.code_challenge_method = FIELDS.code_challenge_method!.enum![0];
  }
  const extra = params.extraParams ?? {};
  checkObject(extra, "extraParams");
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) continue;
    if (name in fields || FIELDS[name] !== undefined)
      throw argumentError(`extraParams.${name} is a parameter of the authorization request: pass it by its own name`);
    if (typeof value !== "string" && !(Array.isArray(value) && value.every((item) => typeof item === "string")))
      throw argumentError(`extraParams.${name} must be a string or a list of strings`);
    fields[name] = value;
  }
  const query = url.searchParams;
  for (const [name, value] of Object.entries(fields)) {
    query.delete(name);
    for (const item of [value].flat()) query.append(name, String(item));
  }
  return url.toString();
}
