export { createOAuthClient } from "./client";
export type {
  AuthorizationCodeParams,
  CallOptions,
  ClientAuthenticationMethod,
  ClientCredentialsParams,
  IntrospectTokenParams,
  OAuthClient,
  OAuthClientOptions,
  OperationName,
  RefreshTokenParams,
  RenewTokenParams,
  RequestFormat,
  RevokeTokenParams,
  TokenRequest,
} from "./client";
export { OAuthError, OAuthResponseError, OAuthTransportError, type ErrorResponseBody } from "./errors";
export {
  processIntrospectionResponse,
  processRenewResponse,
  processRevocationResponse,
  processTokenResponse,
  type IntrospectionResponse,
  type RawAnswer,
  type RenewTokenResponse,
  type TokenResponse,
} from "./response";
export type { components, paths } from "../generated/schema";
export { createPkcePair, pkceChallenge, randomUrlSafeString, type PkcePair } from "./pkce";
export { buildAuthorizationUrl, type AuthorizationUrlParams } from "./authorization-url";
