import { argumentError } from "../core/validate";

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
  /** Extra parameters, such as OpenID Connect's `nonce` and `prompt`, or a provider's own. */
  extraParams?: Record<string, string | undefined>;
}

/**
 * Builds the URL that sends the user to the authorization endpoint (RFC 6749 §4.1.1) with
 * `response_type=code` and, when a challenge is given, PKCE's `code_challenge` and
 * `code_challenge_method=S256`.
 *
 * @param params - the endpoint, client, redirect URI, scope, state and PKCE challenge.
 * @returns the absolute URL.
 * @throws {TypeError} when the endpoint is not an absolute http(s) URL or a field is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function buildAuthorizationUrl(params: AuthorizationUrlParams): string {
  if (typeof params !== "object" || params === null) throw argumentError("params must be an object");
  let url: URL;
  try {
    url = new URL(params.authorizationEndpoint);
  } catch {
    throw argumentError("authorizationEndpoint must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw argumentError("authorizationEndpoint must be an http or https URL");
  if (typeof params.clientId !== "string" || params.clientId === "")
    throw argumentError("clientId must be a non-empty string");
  const scope = Array.isArray(params.scope) ? params.scope.join(" ") : params.scope;
  if (scope !== undefined && (typeof scope !== "string" || scope === ""))
    throw argumentError("scope must be a non-empty string or list");
  if (params.redirectUri !== undefined && !URL.canParse(params.redirectUri))
    throw argumentError("redirectUri must be an absolute URI");
  if (params.codeChallenge !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(params.codeChallenge)) {
    throw argumentError("codeChallenge must be a base64url S256 challenge (43 characters)");
  }
  const query = url.searchParams;
  query.set("response_type", "code");
  query.set("client_id", params.clientId);
  if (params.redirectUri !== undefined) query.set("redirect_uri", params.redirectUri);
  if (scope !== undefined) query.set("scope", scope as string);
  if (params.state !== undefined) query.set("state", params.state);
  if (params.codeChallenge !== undefined) {
    query.set("code_challenge", params.codeChallenge);
    query.set("code_challenge_method", "S256");
  }
  for (const [key, value] of Object.entries(params.extraParams ?? {})) if (value !== undefined) query.set(key, value);
  return url.toString();
}
