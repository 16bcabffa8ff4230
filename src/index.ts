export { createOAuthClient } from "./client";
export type {
  AuthorizationCodeParams,
  CallOptions,
  ClientAuthenticationMethod,
  ClientCredentialsParams,
  IntrospectionMethod,
  IntrospectTokenParams,
  OAuthClient,
  OAuthClientOptions,
  OperationName,
  RefreshTokenParams,
  RenewTokenParams,
  RequestFormat,
  RetrieveTokenStatusParams,
  RetryOptions,
  RevokeTokenParams,
  TokenRequest,
} from "./client";
export { OAuthError, OAuthResponseError, OAuthTransportError, type ErrorResponseBody } from "./errors";
export {
  processIntrospectionResponse,
  processRenewResponse,
  processRevocationResponse,
  processTokenResponse,
  processTokenStatusResponse,
  statusAsIntrospection,
  type IntrospectionResponse,
  type ProcessTokenOptions,
  type SquareTokenStatus,
  type RawAnswer,
  type RenewTokenResponse,
  type TokenResponse,
} from "./response";
/**
 * The spec's types, generated from `spec/openapi.yaml` by openapi-typescript: `paths`, each operation's
 * parameters, request bodies and answers by path, and `components`, its schemas.
 *
 * @see https://spec.openapis.org/oas/v3.1.0#paths-object
 * @see https://spec.openapis.org/oas/v3.1.0#components-object
 */
export type { components, paths } from "../generated/schema";
export { createPkcePair, pkceChallenge, randomUrlSafeString, type PkcePair } from "./pkce";
export { buildAuthorizationUrl, type AuthorizationUrlParams } from "./authorization-url";
export {
  createTokenManager,
  ReauthorizationRequiredError,
  type InvalidateOptions,
  type RevokeRequestBuilder,
  type TokenFailedEvent,
  type TokenManager,
  type TokenManagerBaseOptions,
  type TokenManagerGrant,
  type TokenManagerOptions,
  type TokenRefreshedEvent,
} from "./token-manager";
export { createMemoryTokenStore } from "./stores/memory";
export type { TokenRecord, TokenStore } from "./stores/token-store";
export { discover, metadataPreset, type AuthorizationServerMetadata, type DiscoverOptions, type MetadataPresetOptions } from "./discovery";
export {
  squarePreset,
  twoBAPreset,
  voucherifyPreset,
  SQUARE_BASE_URLS,
  VOUCHERIFY_SCOPES,
  type SquarePresetOptions,
  type TwoBAPresetOptions,
  type VoucherifyCluster,
  type VoucherifyPresetOptions,
  type VoucherifyScope,
} from "./presets";
