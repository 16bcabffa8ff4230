/**
 * oauth-token-client: a typed OAuth 2.0 token client generated from an OpenAPI spec, on openapi-fetch.
 * Layers: `core/` (one request path, validation read from the generated description), `oauth/` (the
 * standard operations as request and process steps), the token lifecycle (manager, stores), and `providers/`
 * (Square, Voucherify, 2BA, discovery), each plugging into the core through {@link ProviderAdapter}.
 */
export { createOAuthClient, type ClientWith, type OAuthClient } from "./oauth/client";
export type { OAuthClientOptions } from "./oauth/options";
export type { ClientContext, JsonAnswer, MediaType, RequestBody } from "./oauth/context";
export type { ClientCredentials, ProviderAdapter } from "./oauth/provider";
export {
  checkTokenType,
  processTokenResponse,
  tokenRequest,
  type GrantParams,
  type ProcessTokenOptions,
  type RequestFormat,
  type TokenRequest,
  type TokenResponse,
} from "./oauth/token";
export { processRevocationResponse, revocationRequest, type RevokeTokenParams } from "./oauth/revocation";
export {
  authorizationCodeGrant,
  clientCredentialsGrant,
  introspectToken,
  refreshTokenGrant,
  revokeToken,
} from "./oauth/standalone";
export {
  DeviceAccessDeniedError,
  DeviceCodeExpiredError,
  pollDeviceAuthorization,
  processDeviceAuthorizationResponse,
  requestDeviceAuthorization,
  type DeviceAuthorizationParams,
  type DeviceAuthorizationResponse,
  type DeviceCodeState,
  type PollDeviceAuthorizationOptions,
} from "./oauth/device";
export { exchangeToken, type TokenExchangeParams, type TokenExchangeResponse } from "./oauth/token-exchange";
export { jwtBearerGrant, type JwtBearerParams } from "./oauth/jwt-bearer";
export {
  clientSecretJwt,
  privateKeyJwt,
  type ClientAssertionKey,
  type ClientAssertionOptions,
} from "./oauth/client-assertion";
export {
  createDpopKey,
  createDpopProof,
  generateDpopKey,
  type DpopAlgorithm,
  type DpopProofOptions,
} from "./oauth/dpop";
export {
  introspectionRequest,
  processIntrospectionResponse,
  type ActiveTokenIntrospection,
  type InactiveTokenIntrospection,
  type IntrospectionResponse,
  type IntrospectTokenParams,
} from "./oauth/introspection";
export type {
  CallOptions,
  DpopKey,
  Endpoint,
  EndpointName,
  Exchange,
  ExchangeInit,
  OperationId,
  RequestCore,
} from "./core/request";
export type { RetryOptions } from "./core/transport";
export {
  CLIENT_AUTHENTICATION_METHODS,
  clientAuthentication,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
  type AuthenticatedRequest,
} from "./core/auth";
export type { ErrorReader, ProcessOptions, RawAnswer } from "./core/answers";
export {
  OAuthClientError,
  OAuthError,
  OAuthResponseError,
  OAuthTransportError,
  type ErrorResponseBody,
  type OAuthErrorFields,
} from "./core/errors";
export { ERR_INVALID_ARG_VALUE } from "./core/validate";
/**
 * The spec's types, generated from `spec/openapi.yaml` by openapi-typescript: `paths`, each operation's
 * parameters, request bodies and answers by path, and `components`, its schemas.
 *
 * @see https://spec.openapis.org/oas/v3.1.0#paths-object
 * @see https://spec.openapis.org/oas/v3.1.0#components-object
 */
export type { components, paths } from "../generated/schema";
export { createPkcePair, pkceChallenge, randomUrlSafeString, type PkcePair } from "./oauth/pkce";
export { buildAuthorizationUrl, type AuthorizationUrlParams } from "./oauth/authorization-url";
export {
  AuthorizationResponseError,
  InvalidAuthorizationResponseError,
  validateAuthorizationResponse,
  type AuthorizationResponse,
  type AuthorizationResponseChecks,
} from "./oauth/authorization-response";
export {
  processPushedAuthorizationResponse,
  pushAuthorizationRequest,
  type PushedAuthorization,
  type PushedAuthorizationParams,
  type PushedAuthorizationResponse,
} from "./oauth/pushed-authorization";
export { createTokenManager } from "./lifecycle/token-manager";
export {
  ReauthorizationRequiredError,
  TokenRefreshInFlightError,
  type ReauthorizationReason,
} from "./lifecycle/errors";
export type {
  InvalidateOptions,
  RevokeRequestBuilder,
  TokenFailedEvent,
  TokenManager,
  TokenManagerBaseOptions,
  TokenManagerGrant,
  TokenManagerOptions,
  TokenRefreshedEvent,
} from "./lifecycle/types";
export { createMemoryTokenStore, type MemoryTokenStoreOptions } from "./stores/memory";
export { TokenStoreCorruptError, type RefreshInFlight, type TokenRecord, type TokenStore } from "./stores/token-store";
export {
  discover,
  metadataPreset,
  type AuthorizationServerMetadata,
  type DiscoverOptions,
  type MetadataPresetOptions,
} from "./providers/discovery";
export {
  processRenewResponse,
  processTokenStatusResponse,
  squareAdapter,
  squarePreset,
  statusAsIntrospection,
  SQUARE_BASE_URLS,
  type RenewTokenParams,
  type RenewTokenResponse,
  type RetrieveTokenStatusParams,
  type SquareMethods,
  type SquarePresetOptions,
  type SquareTokenStatus,
} from "./providers/square";
export {
  voucherifyAdapter,
  voucherifyPreset,
  VOUCHERIFY_SCOPES,
  type VoucherifyCluster,
  type VoucherifyPresetOptions,
  type VoucherifyScope,
} from "./providers/voucherify";
export { twoBAPreset, type TwoBAPresetOptions } from "./providers/twoba";
