import type { components } from "../../generated/schema";
import { operations, renewTokenAnswer, renewTokenRequest, retrieveTokenStatusAnswer } from "../../generated/spec";
import { jsonAnswer, type ErrorReader } from "../core/answers";
import type { ClientAuthentication } from "../core/auth";
import { hideSecrets } from "../core/redact";
import type { CallOptions } from "../core/request";
import type { RawAnswer } from "../core/answers";
import { argumentError, checkNonEmptyString, checkObject } from "../core/validate";
import type { OAuthClientOptions } from "../oauth/options";
import { callHeaders, checkedBody, paramsObject, settle, type ClientContext } from "../oauth/context";
import { timestampMs } from "../oauth/expiry";
import type { IntrospectionResponse, IntrospectTokenParams } from "../oauth/introspection";
import { checkCallOptions } from "../oauth/options";
import type { ProviderAdapter } from "../oauth/provider";
import { checkTokenType } from "../oauth/token";
import { maskSecrets, transportOptions, type TransportOptions } from "./preset";

type Schemas = components["schemas"];
type RenewTokenSchema = Schemas["RenewTokenResponse"];
type TokenStatusSchema = Schemas["SquareTokenStatus"];

/**
 * Square's renew answer.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 */
export interface RenewTokenResponse extends RenewTokenSchema {}
/**
 * Square's token status (RetrieveTokenStatus).
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export interface SquareTokenStatus extends TokenStatusSchema {}
/**
 * Parameters of {@link SquareMethods.renewToken}.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 */
export type RenewTokenParams = Schemas["RenewTokenRequest"];
/**
 * Parameters of {@link SquareMethods.retrieveTokenStatus}.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export interface RetrieveTokenStatusParams {
  /** The access token to ask about; sent as `Authorization: Bearer`. */
  access_token: string;
}

/**
 * The methods a Square client has beyond the standard ones.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api
 */
export interface SquareMethods {
  /**
   * Renews a Square access token, sending `Authorization: Client <secret>`.
   *
   * @deprecated Square deprecated RenewToken; refresh with `refreshToken` instead.
   * @see https://developer.squareup.com/docs/oauth-api/migrate-to-refresh-tokens
   */
  renewToken(params: RenewTokenParams, options?: CallOptions): Promise<RenewTokenResponse>;
  /**
   * Square's RetrieveTokenStatus: the scopes, expiry, client and seller of an access token.
   *
   * @throws {OAuthError} `UNAUTHORIZED`, `ACCESS_TOKEN_EXPIRED` or `ACCESS_TOKEN_REVOKED` (status 401).
   * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
   */
  retrieveTokenStatus(params: RetrieveTokenStatusParams, options?: CallOptions): Promise<SquareTokenStatus>;
  /**
   * Asks Square about an access token through RetrieveTokenStatus, mapped to RFC 7662's shape: `scopes`
   * joined into `scope`, `expires_at` into `exp`; an expired, revoked or unknown token is exactly
   * `{ active: false }`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
   */
  introspectToken(params: IntrospectTokenParams, options?: CallOptions): Promise<IntrospectionResponse>;
}

/**
 * Square's OAuth hosts.
 *
 * @see https://developer.squareup.com/docs/devtools/sandbox/overview
 */
export const SQUARE_BASE_URLS = {
  production: "https://connect.squareup.com",
  sandbox: "https://connect.squareupsandbox.com",
} as const;

/**
 * Options of {@link squarePreset}.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api/obtain-token
 */
export interface SquarePresetOptions extends TransportOptions {
  /** The application ID (`sq0idp-…`), sent as `client_id` in every body and in the renew path. */
  clientId: string;
  /**
   * The application secret (`sq0csp-…`). With it, token requests carry it in the body (code flow) and revoke
   * and renew send `Authorization: Client <secret>`. Omit it for the PKCE flow.
   */
  clientSecret?: string;
  /** `production` (default) or `sandbox`; ignored when `baseUrl` is given. */
  environment?: keyof typeof SQUARE_BASE_URLS;
  /** The `Square-Version` header, such as `2025-08-20`; omitted by default (the application's version applies). */
  squareVersion?: string;
}

/** Square's `errors[]`: the first entry's `code` and `detail`. */
const readSquareError: ErrorReader = (body, status) => {
  const first = Array.isArray(body.errors) ? body.errors[0] : undefined;
  if (typeof first !== "object" || first === null) return undefined;
  const { code, detail } = first as Record<string, unknown>;
  return {
    error: typeof code === "string" ? code : `http_${status}`,
    ...(typeof detail === "string" && { error_description: detail }),
  };
};

/** Square's revocation answer `{"success": false}`: a refusal sent with status 200. */
const readRevocationFailure: ErrorReader = (body) =>
  body.success === false ? { error: "revocation_failed" } : undefined;

/**
 * Square's `Authorization: Client <application secret>`, with the application ID in the body when `clientId`
 * is given (revoke's body has a `client_id`; renew's has not).
 */
function squareClientSecret(clientId: string | undefined, clientSecret: string | undefined): ClientAuthentication {
  return {
    method: "square_client_secret",
    secrets: clientSecret === undefined ? [] : [clientSecret],
    apply({ headers, fields }) {
      if (clientSecret === undefined)
        throw argumentError(
          "options.clientSecret is required: Square authenticates this call with Authorization: Client <secret>",
        );
      headers.set("Authorization", `Client ${clientSecret}`);
      if (fields && clientId !== undefined) fields.client_id = clientId;
    },
  };
}

/**
 * Square's token status as an RFC 7662 answer. A 401 (expired, revoked, unknown token) is exactly
 * `{ active: false }`.
 *
 * @throws {OAuthError} for any other refusal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export function statusAsIntrospection(answer: RawAnswer): IntrospectionResponse {
  if (answer.response.status === 401) return { active: false };
  const status = processTokenStatusResponse(answer);
  const result: Extract<IntrospectionResponse, { active: true }> = { active: true };
  if (status.scopes) result.scope = status.scopes.join(" ");
  if (status.expires_at !== undefined) result.exp = Math.floor(timestampMs(status.expires_at) / 1000);
  if (status.client_id !== undefined) result.client_id = status.client_id;
  if (status.merchant_id !== undefined) result.merchant_id = status.merchant_id;
  return result;
}

/**
 * Validates Square's RetrieveTokenStatus answer against the spec.
 *
 * @throws {OAuthError} when Square refused the token (`UNAUTHORIZED`, `ACCESS_TOKEN_EXPIRED`, ...).
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/retrieve-token-status
 */
export function processTokenStatusResponse(answer: RawAnswer): SquareTokenStatus {
  return hideSecrets(
    jsonAnswer(answer, retrieveTokenStatusAnswer, { errorReaders: [readSquareError] }) as SquareTokenStatus,
  );
}

/**
 * Validates Square's renew answer against the spec; the result prints its token as `[REDACTED]`.
 *
 * @throws {OAuthError} when Square refused the renewal.
 * @throws {OAuthResponseError} when the answer breaks the contract.
 * @see https://developer.squareup.com/reference/square/o-auth-api/renew-token
 */
export function processRenewResponse(answer: RawAnswer, allowedTokenTypes?: readonly string[]): RenewTokenResponse {
  const body = jsonAnswer(answer, renewTokenAnswer, { errorReaders: [readSquareError] });
  checkTokenType(answer, body, allowedTokenTypes);
  return hideSecrets(body as RenewTokenResponse);
}

/**
 * Square's adapter: its error shape, `Authorization: Client <secret>` on revoke and renew, and the methods
 * {@link SquareMethods}. {@link squarePreset} sets it; pass it as `provider` to configure a client by hand.
 *
 * @see https://developer.squareup.com/reference/square/o-auth-api
 */
export const squareAdapter: ProviderAdapter<SquareMethods> = {
  name: "Square",
  errorReaders: [readSquareError, readRevocationFailure],
  authentication(id, { clientId, clientSecret }) {
    if (id === "revokeToken") return squareClientSecret(clientId, clientSecret);
    if (id === "renewToken") return squareClientSecret(undefined, clientSecret);
    return undefined;
  },
  extend: (context) => squareMethods(context),
};

function squareMethods(context: ClientContext): SquareMethods {
  const { core } = context;
  async function tokenStatus(token: string, call: CallOptions | undefined): Promise<RawAnswer> {
    const headers = { ...callHeaders(call), Authorization: `Bearer ${token}` };
    const exchange = core.exchange("retrieveTokenStatus", call);
    return exchange.answer(await core.direct.POST(operations.retrieveTokenStatus.path, { ...exchange.init, headers }));
  }
  return {
    async renewToken(params, call) {
      checkCallOptions(call);
      const { body, headers } = checkedBody<RenewTokenParams>(
        context,
        renewTokenRequest,
        params,
        call,
        "the renew request",
      );
      if (context.clientId === undefined)
        throw argumentError("options.clientId is required: it is part of the renew path");
      const path = { client_id: context.clientId };
      const exchange = core.exchange("renewToken", call, { pathParams: path });
      const result = await core.direct.POST(operations.renewToken.path, {
        ...exchange.init,
        params: { path },
        body,
        headers,
      });
      return settle(
        context,
        (answer) => processRenewResponse(answer, context.tokenTypes),
        exchange.answer(result),
        body,
      );
    },
    async retrieveTokenStatus(input, call) {
      checkCallOptions(call);
      const params = paramsObject(input);
      checkNonEmptyString(params.access_token, "access_token");
      for (const key of Object.keys(params))
        if (key !== "access_token") throw argumentError(`${key} is not a field of the token status request`);
      return settle(context, processTokenStatusResponse, await tokenStatus(params.access_token, call), params);
    },
    async introspectToken(input, call) {
      checkCallOptions(call);
      const params = paramsObject(input);
      const token = params.token ?? params.access_token;
      checkNonEmptyString(token, params.token !== undefined ? "token" : "access_token");
      return settle(context, statusAsIntrospection, await tokenStatus(token, call), params);
    },
  };
}

/**
 * Client options for Square's OAuth API: JSON bodies with the credentials in them (the code flow) or the
 * application ID alone (PKCE), `Authorization: Client <secret>` for revoke and renew (written by the client),
 * and `introspectToken` answered by RetrieveTokenStatus. The client gains {@link SquareMethods}.
 *
 * @param options - the application ID and secret, and the environment.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when an option is malformed.
 * @see https://developer.squareup.com/reference/square/o-auth-api
 */
export function squarePreset(options: SquarePresetOptions): OAuthClientOptions<"json", SquareMethods> {
  checkObject(options, "squarePreset options");
  checkNonEmptyString(options.clientId, "clientId");
  if (options.clientSecret !== undefined) checkNonEmptyString(options.clientSecret, "clientSecret");
  const environment = options.environment ?? "production";
  if (!Object.hasOwn(SQUARE_BASE_URLS, environment))
    throw argumentError('environment must be "production" or "sandbox"');
  if (options.squareVersion !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.squareVersion)) {
    throw argumentError("squareVersion must be a date such as 2025-08-20");
  }
  return maskSecrets({
    baseUrl: options.baseUrl ?? SQUARE_BASE_URLS[environment],
    clientId: options.clientId,
    ...(options.clientSecret !== undefined && { clientSecret: options.clientSecret }),
    // The code flow puts the secret in the body; the PKCE flow sends client_id and code_verifier only.
    clientAuthentication: options.clientSecret !== undefined ? "client_secret_post" : "none",
    requestFormat: "json",
    provider: squareAdapter,
    ...transportOptions(
      options,
      options.squareVersion !== undefined ? { "Square-Version": options.squareVersion } : {},
    ),
  });
}
