import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema";
import {
  processIntrospectionResponse,
  processTokenStatusResponse,
  statusAsIntrospection,
  type SquareTokenStatus,
  processRenewResponse,
  processRevocationResponse,
  processTokenResponse,
  type IntrospectionResponse,
  type RawAnswer,
  type RenewTokenResponse,
  type TokenResponse,
} from "./response";
import { OAuthTransportError } from "./errors";

type Schemas = components["schemas"];
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** Fields the client fills in from its options; callers never pass them. */
type ClientFields = "client_id" | "client_secret";

/** How the body of a token or revocation request is encoded. */
export type RequestFormat = "form" | "json";

/**
 * How the client authenticates to the token, revocation and introspection endpoints.
 * - `client_secret_basic`: HTTP Basic with the form-urlencoded ID and secret (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the body.
 * - `none`: a public client; `client_id` alone in the body.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export type ClientAuthenticationMethod = "client_secret_basic" | "client_secret_post" | "none";

/** The operations of the spec, by short name, for endpoint overrides. */
export type OperationName = "token" | "renew" | "revoke" | "introspect" | "tokenStatus";

/**
 * How {@link OAuthClient.introspectToken} asks about a token: `rfc7662` (default) posts to the introspection
 * endpoint; `square_token_status` calls Square's RetrieveTokenStatus with the token as bearer and maps the
 * answer to RFC 7662's shape.
 */
export type IntrospectionMethod = "rfc7662" | "square_token_status";

/** Options of {@link createOAuthClient}. */
export interface OAuthClientOptions<F extends RequestFormat = RequestFormat> {
  /** The server's base URL, such as `https://auth.example.org`; the spec's paths are appended to it. */
  baseUrl: string;
  /** The client identifier. Required unless the server identifies the client by headers (Voucherify). */
  clientId?: string;
  /** The client secret. Kept inside the client: never logged, never printed. */
  clientSecret?: string;
  /** Default: `client_secret_basic` when a secret is given, else `none`. */
  clientAuthentication?: ClientAuthenticationMethod;
  /**
   * Body encoding of token and revocation requests. `form` (default) is RFC 6749; `json` is Square's. Renewal
   * is always JSON and introspection always a form, as the spec declares them.
   */
  requestFormat?: F;
  /**
   * Per-operation endpoint: a path appended to `baseUrl` (`/OAuth/Token`) or an absolute URL
   * (`https://api.voucherify.io/v1/oauth/token`). The renew path may hold `{client_id}`.
   */
  endpoints?: Partial<Record<OperationName, string>>;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every request, such as Voucherify's `X-App-Id` and `X-App-Token`. */
  headers?: Record<string, string>;
  /** How `introspectToken` asks about a token. Default `rfc7662`. */
  introspection?: IntrospectionMethod;
  /**
   * The scopes the server knows. When set, every requested scope is checked against it before sending, and a
   * comma-separated scope gets an error saying to separate scopes with spaces (Voucherify).
   */
  allowedScopes?: readonly string[];
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the request; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Extra headers for this call only. */
  headers?: Record<string, string>;
}

/** A token request as {@link OAuthClient.obtainToken} takes it: a grant, without the client's credentials. */
export type TokenRequest<F extends RequestFormat = "form"> = DistributiveOmit<
  F extends "json" ? Schemas["TokenRequestJson"] : Schemas["TokenRequest"],
  ClientFields
>;
type SquareOptions<F extends RequestFormat> = F extends "json" ? { scopes?: string[]; short_lived?: boolean } : unknown;
/** Parameters of {@link OAuthClient.exchangeAuthorizationCode}. */
export type AuthorizationCodeParams<F extends RequestFormat = "form"> = Omit<Schemas["AuthorizationCodeGrant"], ClientFields | "grant_type"> & SquareOptions<F>;
/** Parameters of {@link OAuthClient.refreshToken}. */
export type RefreshTokenParams<F extends RequestFormat = "form"> = Omit<Schemas["RefreshTokenGrant"], ClientFields | "grant_type"> & SquareOptions<F>;
/** Parameters of {@link OAuthClient.clientCredentials}. */
export type ClientCredentialsParams = Omit<Schemas["ClientCredentialsGrant"], ClientFields | "grant_type">;
/** Parameters of {@link OAuthClient.renewToken}. */
export type RenewTokenParams = Schemas["RenewTokenRequest"];
/** Parameters of {@link OAuthClient.revokeToken}: RFC 7009 or Voucherify fields in a form, Square's in JSON. */
export type RevokeTokenParams<F extends RequestFormat = "form"> = DistributiveOmit<
  F extends "json" ? Schemas["SquareRevokeTokenRequest"] : Schemas["RevokeTokenForm"],
  ClientFields
>;
/** Parameters of {@link OAuthClient.retrieveTokenStatus}. */
export interface RetrieveTokenStatusParams {
  /** The access token to ask about; sent as `Authorization: Bearer`. */
  access_token: string;
}
/** Parameters of {@link OAuthClient.introspectToken}: RFC 7662 `token`, or Voucherify's `access_token`. */
export type IntrospectTokenParams = DistributiveOmit<Schemas["IntrospectTokenForm"], ClientFields>;

/** The typed client made by {@link createOAuthClient}; one method per spec operation plus grant helpers. */
export interface OAuthClient<F extends RequestFormat = "form"> {
  /**
   * Obtains a token with any grant of the spec.
   *
   * @throws {TypeError} before any request, when the grant or a field is malformed.
   * @throws {OAuthError} when the server refuses (`invalid_grant`: the user must authorize again).
   * @throws {OAuthResponseError} when the answer breaks the contract.
   * @throws {OAuthTransportError} when no answer arrives.
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
   */
  obtainToken(request: TokenRequest<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Exchanges an authorization code (with its PKCE `code_verifier`) for tokens.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
   * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
   */
  exchangeAuthorizationCode(params: AuthorizationCodeParams<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Refreshes an access token. When the answer carries a new `refresh_token`, the old one is spent: store the
   * new one. When it carries none, keep the old one.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
   */
  refreshToken(params: RefreshTokenParams<F>, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Obtains a token for the client itself.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
   */
  clientCredentials(params?: ClientCredentialsParams, options?: CallOptions): Promise<TokenResponse>;
  /**
   * Renews a Square access token, sending `Authorization: Client <secret>`.
   *
   * @deprecated Square deprecated RenewToken; refresh with {@link OAuthClient.refreshToken} instead.
   * @see https://developer.squareup.com/docs/oauth-api/migrate-to-refresh-tokens
   */
  renewToken(params: RenewTokenParams, options?: CallOptions): Promise<RenewTokenResponse>;
  /**
   * Revokes a token. Resolves once the server confirms; on a 503 it rejects and the token must be assumed
   * still valid. With `requestFormat: "json"` (Square) it sends `Authorization: Client <secret>`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  revokeToken(params: RevokeTokenParams<F>, options?: CallOptions): Promise<void>;
  /**
   * Asks the server whether a token is active and what it grants.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
   */
  introspectToken(params: IntrospectTokenParams, options?: CallOptions): Promise<IntrospectionResponse>;
  /**
   * Square's RetrieveTokenStatus: the scopes, expiry, client and seller of an access token.
   *
   * @throws {OAuthError} `UNAUTHORIZED`, `ACCESS_TOKEN_EXPIRED` or `ACCESS_TOKEN_REVOKED` (status 401).
   * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
   */
  retrieveTokenStatus(params: RetrieveTokenStatusParams, options?: CallOptions): Promise<SquareTokenStatus>;
}

const DEFAULT_PATHS = {
  token: "/oauth2/token",
  renew: "/oauth2/clients/{client_id}/access-token/renew",
  revoke: "/oauth2/revoke",
  introspect: "/oauth2/introspect",
  tokenStatus: "/oauth2/token/status",
} as const satisfies Record<OperationName, keyof paths>;

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";
const AUTH_METHODS: readonly string[] = ["client_secret_basic", "client_secret_post", "none"];
const INTROSPECTION_METHODS: readonly string[] = ["rfc7662", "square_token_status"];
const GRANT_FIELDS: Record<string, { required: readonly string[]; optional: readonly string[] }> = {
  authorization_code: { required: ["code"], optional: ["redirect_uri", "code_verifier"] },
  refresh_token: { required: ["refresh_token"], optional: ["scope"] },
  client_credentials: { required: [], optional: ["scope"] },
  migration_token: { required: ["migration_token"], optional: [] },
};
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

function argumentError(message: string): TypeError {
  return new TypeError(message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkNonEmptyString(value: unknown, name: string): void {
  if (typeof value !== "string" || value === "") throw argumentError(`${name} must be a non-empty string`);
}

/** application/x-www-form-urlencoded encoding of one value, as RFC 6749 §2.3.1 asks for Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Drops `undefined`, so no field travels as the string "undefined". */
function compact(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(body)) if (body[key] !== undefined) out[key] = body[key];
  return out;
}

function serializeForm(body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(body)) params.append(key, String(body[key]));
  return params.toString();
}

function resolveEndpoint(baseUrl: string, override: string | undefined, fallback: string): { baseUrl: string; path: string } {
  if (override === undefined) return { baseUrl, path: fallback };
  if (override.startsWith("/")) return { baseUrl, path: override };
  const url = new URL(override);
  // URL percent-encodes "{" and "}"; restore them so the renew path's {client_id} is still filled in.
  const path = `${url.pathname}${url.search}`.replace(/%7B(\w+)%7D/gi, "{$1}");
  return { baseUrl: url.origin, path };
}

function checkOptions(options: OAuthClientOptions): void {
  if (!isPlainObject(options)) throw argumentError("options must be an object");
  checkNonEmptyString(options.baseUrl, "options.baseUrl");
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw argumentError("options.baseUrl must be an absolute URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw argumentError("options.baseUrl must be an http or https URL");
  if (options.clientId !== undefined) checkNonEmptyString(options.clientId, "options.clientId");
  if (options.clientSecret !== undefined) checkNonEmptyString(options.clientSecret, "options.clientSecret");
  if (options.clientAuthentication !== undefined && !AUTH_METHODS.includes(options.clientAuthentication)) {
    throw argumentError(`options.clientAuthentication must be one of ${AUTH_METHODS.join(", ")}`);
  }
  if (options.requestFormat !== undefined && options.requestFormat !== "form" && options.requestFormat !== "json") {
    throw argumentError('options.requestFormat must be "form" or "json"');
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") throw argumentError("options.fetch must be a function");
  if (options.headers !== undefined && !isPlainObject(options.headers)) throw argumentError("options.headers must be an object of strings");
  if (options.introspection !== undefined && !INTROSPECTION_METHODS.includes(options.introspection)) {
    throw argumentError(`options.introspection must be one of ${INTROSPECTION_METHODS.join(", ")}`);
  }
  if (options.allowedScopes !== undefined) {
    const scopes = options.allowedScopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((x) => typeof x !== "string" || x === "" || /\s/.test(x))) {
      throw argumentError("options.allowedScopes must be a non-empty array of scope names without spaces");
    }
  }
  if (options.endpoints !== undefined) {
    if (!isPlainObject(options.endpoints)) throw argumentError("options.endpoints must be an object");
    for (const [name, value] of Object.entries(options.endpoints)) {
      if (!(name in DEFAULT_PATHS)) throw argumentError(`options.endpoints.${name} is not an operation (${Object.keys(DEFAULT_PATHS).join(", ")})`);
      if (value === undefined) continue;
      checkNonEmptyString(value, `options.endpoints.${name}`);
      const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
      if (!value.startsWith("/") && protocol !== "http:" && protocol !== "https:") {
        throw argumentError(`options.endpoints.${name} must be a path starting with "/" or an absolute http or https URL`);
      }
    }
  }
}

function checkCallOptions(options: CallOptions | undefined): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw argumentError("call options must be an object");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw argumentError("options.signal must be an AbortSignal");
  if (options.headers !== undefined && !isPlainObject(options.headers)) throw argumentError("options.headers must be an object of strings");
}

/** Checks requested scopes against the server's list; commas get their own message, as Voucherify refuses them. */
function checkScopes(scopes: readonly string[], allowed: ReadonlySet<string>): void {
  for (const scope of scopes) {
    if (allowed.has(scope)) continue;
    if (scope.includes(",")) throw argumentError(`scope "${scope}" is comma-separated: separate scopes with spaces`);
    throw argumentError(`scope "${scope}" is not one of the server's scopes (${[...allowed].join(", ")})`);
  }
}

/** Checks a grant's fields before anything is sent; returns the body to send, without client credentials. */
function checkTokenRequest(request: unknown, format: RequestFormat, allowedScopes: ReadonlySet<string> | undefined): Record<string, unknown> {
  if (!isPlainObject(request)) throw argumentError("token request must be an object");
  const grantType = request.grant_type;
  const fields = typeof grantType === "string" ? GRANT_FIELDS[grantType] : undefined;
  if (!fields) throw argumentError(`grant_type must be one of ${Object.keys(GRANT_FIELDS).join(", ")}`);
  for (const key of ["client_id", "client_secret"]) {
    if (request[key] !== undefined) throw argumentError(`${key} comes from the client options; do not pass it in the request`);
  }
  for (const name of fields.required) checkNonEmptyString(request[name], name);
  for (const name of fields.optional) if (request[name] !== undefined) checkNonEmptyString(request[name], name);
  if (request.code_verifier !== undefined && !CODE_VERIFIER.test(request.code_verifier as string)) {
    throw argumentError("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)");
  }
  if (request.redirect_uri !== undefined && !URL.canParse(request.redirect_uri as string)) {
    throw argumentError("redirect_uri must be an absolute URI");
  }
  const allowed = new Set<string>(["grant_type", ...fields.required, ...fields.optional]);
  if (format === "json") {
    allowed.add("scopes").add("short_lived");
    if (request.scopes !== undefined) {
      const scopes = request.scopes;
      if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== "string" || s === "")) {
        throw argumentError("scopes must be an array of non-empty strings");
      }
    }
    if (request.short_lived !== undefined && typeof request.short_lived !== "boolean") throw argumentError("short_lived must be a boolean");
  }
  if (allowedScopes) {
    if (typeof request.scope === "string") checkScopes(request.scope.split(" ").filter(Boolean), allowedScopes);
    if (Array.isArray(request.scopes)) checkScopes(request.scopes as string[], allowedScopes);
  }
  for (const key of Object.keys(request)) {
    if (request[key] !== undefined && !allowed.has(key)) {
      const hint = key === "scopes" || key === "short_lived" ? ' (Square options need requestFormat "json")' : "";
      throw argumentError(`${key} is not a field of the ${grantType as string} grant${hint}`);
    }
  }
  return compact(request);
}

function checkTokenField(params: Record<string, unknown>, format: RequestFormat, operation: "revoke" | "introspect"): Record<string, unknown> {
  for (const key of ["client_id", "client_secret"]) {
    if (params[key] !== undefined) throw argumentError(`${key} comes from the client options; do not pass it in the request`);
  }
  if (format === "json") {
    // Square's revocation: access_token or merchant_id.
    if (params.access_token === undefined && params.merchant_id === undefined) throw argumentError("access_token or merchant_id is required");
    if (params.access_token !== undefined) checkNonEmptyString(params.access_token, "access_token");
    if (params.merchant_id !== undefined) checkNonEmptyString(params.merchant_id, "merchant_id");
    if (params.revoke_only_access_token !== undefined && typeof params.revoke_only_access_token !== "boolean") {
      throw argumentError("revoke_only_access_token must be a boolean");
    }
    for (const key of Object.keys(params)) {
      if (params[key] !== undefined && !["access_token", "merchant_id", "revoke_only_access_token"].includes(key)) {
        throw argumentError(`${key} is not a field of Square's ${operation} request`);
      }
    }
    return compact(params);
  }
  if (params.token !== undefined && params.access_token !== undefined) throw argumentError("give token or access_token, not both");
  if (params.token === undefined && params.access_token === undefined) throw argumentError("token is required");
  if (params.token !== undefined) checkNonEmptyString(params.token, "token");
  if (params.access_token !== undefined) checkNonEmptyString(params.access_token, "access_token");
  if (params.token_type_hint !== undefined && params.token_type_hint !== "access_token" && params.token_type_hint !== "refresh_token") {
    throw argumentError('token_type_hint must be "access_token" or "refresh_token"');
  }
  if (params.access_token !== undefined && params.token_type_hint !== undefined) throw argumentError("token_type_hint goes with token, not access_token");
  for (const key of Object.keys(params)) {
    if (params[key] !== undefined && !["token", "token_type_hint", "access_token"].includes(key)) {
      throw argumentError(`${key} is not a field of the ${operation} request`);
    }
  }
  return compact(params);
}

/**
 * Creates a typed client for the spec's four token operations, on openapi-fetch.
 *
 * Arguments are checked before any request: a bad one throws `TypeError` and nothing is sent. The client
 * secret stays in a closure: it is not a property of the client and never shows in logs.
 *
 * @param options - base URL, client credentials and authentication method, request format, endpoints.
 * @returns the client, with one method per operation plus grant helpers.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749
 */
export function createOAuthClient<F extends RequestFormat = "form">(options: OAuthClientOptions<F>): OAuthClient<F> {
  checkOptions(options);
  const format: RequestFormat = options.requestFormat ?? "form";
  const clientId = options.clientId;
  const clientSecret = options.clientSecret;
  const auth: ClientAuthenticationMethod = options.clientAuthentication ?? (clientSecret ? "client_secret_basic" : "none");
  if (auth !== "none" && (clientId === undefined || clientSecret === undefined)) {
    throw argumentError(`options.clientId and options.clientSecret are required for ${auth}`);
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const endpoints = {} as Record<OperationName, { baseUrl: string; path: string }>;
  for (const name of Object.keys(DEFAULT_PATHS) as OperationName[]) {
    endpoints[name] = resolveEndpoint(baseUrl, options.endpoints?.[name], DEFAULT_PATHS[name]);
  }
  const api = createClient<paths>({ baseUrl, fetch: options.fetch, headers: options.headers });
  const allowedScopes = options.allowedScopes ? new Set(options.allowedScopes) : undefined;
  const introspection = options.introspection ?? "rfc7662";
  const basic = auth === "client_secret_basic" ? `Basic ${btoa(`${formEncode(clientId!)}:${formEncode(clientSecret!)}`)}` : undefined;

  /** Adds the client's credentials the way the configured method asks. */
  function authenticate(body: Record<string, unknown>, headers: Record<string, string>): void {
    if (basic) headers.Authorization = basic;
    else if (auth === "client_secret_post") Object.assign(body, { client_id: clientId, client_secret: clientSecret });
    else if (clientId !== undefined) body.client_id = clientId;
  }

  function squareClientHeader(headers: Record<string, string>): void {
    if (clientSecret === undefined) throw argumentError("options.clientSecret is required: Square authenticates this call with Authorization: Client <secret>");
    headers.Authorization = `Client ${clientSecret}`;
  }

  async function send(
    operation: OperationName,
    body: Record<string, unknown> | undefined,
    contentType: string | undefined,
    headers: Record<string, string>,
    call: CallOptions | undefined,
  ): Promise<RawAnswer> {
    const { baseUrl: opBase, path } = endpoints[operation];
    const bodySerializer = contentType === FORM ? serializeForm : (b: Record<string, unknown>) => JSON.stringify(b);
    if (contentType !== undefined) headers["Content-Type"] = contentType;
    try {
      // The path is the configured one; its type is the spec's path, whose body types it shares.
      const { response, data, error } = await api.POST(path as "/oauth2/token", {
        baseUrl: opBase,
        body: body as never,
        bodySerializer,
        headers: { Accept: "application/json", ...call?.headers, ...headers },
        params: operation === "renew" ? ({ path: { client_id: clientId } } as never) : undefined,
        parseAs: "text",
        signal: call?.signal,
      });
      return { response, body: response.ok ? data : error };
    } catch (cause) {
      if (call?.signal?.aborted) throw call.signal.reason;
      throw new OAuthTransportError(`${operation} request to ${new URL(opBase).host} failed: no answer`, { cause });
    }
  }

  async function token(request: unknown, call: CallOptions | undefined): Promise<TokenResponse> {
    checkCallOptions(call);
    const body = checkTokenRequest(request, format, allowedScopes);
    const headers: Record<string, string> = {};
    authenticate(body, headers);
    return processTokenResponse(await send("token", body, format === "json" ? JSON_TYPE : FORM, headers, call));
  }

  function grant(grantType: string, params: unknown): Record<string, unknown> {
    if (params !== undefined && !isPlainObject(params)) throw argumentError("params must be an object");
    return { ...(params as object | undefined), grant_type: grantType };
  }

  return {
    obtainToken: (request, call) => token(request, call),
    // async, so that a bad argument rejects like every other call instead of throwing synchronously.
    exchangeAuthorizationCode: async (params, call) => token(grant("authorization_code", params), call),
    refreshToken: async (params, call) => token(grant("refresh_token", params), call),
    clientCredentials: async (params, call) => token(grant("client_credentials", params), call),
    async renewToken(params, call) {
      checkCallOptions(call);
      if (!isPlainObject(params)) throw argumentError("params must be an object");
      checkNonEmptyString(params.access_token, "access_token");
      for (const [key, value] of Object.entries(params)) {
        if (value !== undefined && key !== "access_token") throw argumentError(`${key} is not a field of the renew request`);
      }
      if (clientId === undefined) throw argumentError("options.clientId is required: it is part of the renew path");
      const headers: Record<string, string> = {};
      squareClientHeader(headers);
      return processRenewResponse(await send("renew", { access_token: params.access_token }, JSON_TYPE, headers, call));
    },
    async revokeToken(params, call) {
      checkCallOptions(call);
      if (!isPlainObject(params)) throw argumentError("params must be an object");
      const body = checkTokenField(params, format, "revoke");
      const headers: Record<string, string> = {};
      if (format === "json") {
        squareClientHeader(headers);
        if (clientId !== undefined) body.client_id = clientId;
      } else {
        authenticate(body, headers);
      }
      processRevocationResponse(await send("revoke", body, format === "json" ? JSON_TYPE : FORM, headers, call));
    },
    async introspectToken(params, call) {
      checkCallOptions(call);
      if (!isPlainObject(params)) throw argumentError("params must be an object");
      const body = checkTokenField(params, "form", "introspect");
      if (introspection === "square_token_status") {
        const token = (body.token ?? body.access_token) as string;
        return statusAsIntrospection(await send("tokenStatus", undefined, undefined, { Authorization: `Bearer ${token}` }, call));
      }
      const headers: Record<string, string> = {};
      authenticate(body, headers);
      return processIntrospectionResponse(await send("introspect", body, FORM, headers, call));
    },
    async retrieveTokenStatus(params, call) {
      checkCallOptions(call);
      if (!isPlainObject(params)) throw argumentError("params must be an object");
      checkNonEmptyString(params.access_token, "access_token");
      for (const [key, value] of Object.entries(params)) {
        if (value !== undefined && key !== "access_token") throw argumentError(`${key} is not a field of the token status request`);
      }
      return processTokenStatusResponse(await send("tokenStatus", undefined, undefined, { Authorization: `Bearer ${params.access_token}` }, call));
    },
  };
}
