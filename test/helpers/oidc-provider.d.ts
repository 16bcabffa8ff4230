// oidc-provider ships no type declarations; this declares the part the interop tests use.
declare module "oidc-provider" {
  type Handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void;

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    token_endpoint_auth_method?:
      | "client_secret_basic"
      | "client_secret_post"
      | "none"
      | "private_key_jwt"
      | "client_secret_jwt";
    /** The client's public keys, for `private_key_jwt`. */
    jwks?: { keys: object[] };
    /** Tokens of this client must be DPoP-bound (RFC 9449 §5.2). */
    dpop_bound_access_tokens?: boolean;
    grant_types?: string[];
    redirect_uris?: string[];
    response_types?: string[];
    scope?: string;
  }

  export interface Configuration {
    clients?: ClientMetadata[];
    jwks?: { keys: object[] };
    cookies?: { keys?: string[] };
    scopes?: string[];
    features?: Record<string, { enabled: boolean; [option: string]: unknown }>;
    rotateRefreshToken?: boolean | ((ctx: unknown) => boolean | Promise<boolean>);
    ttl?: Record<string, number | ((ctx: unknown, token: unknown, client: { clientId: string }) => number)>;
    routes?: Partial<
      Record<"authorization" | "token" | "introspection" | "revocation" | "userinfo" | "jwks" | "end_session", string>
    >;
    /** The client authentication methods the server takes. */
    clientAuthMethods?: string[];
    /** The algorithms the server takes, by use (`clientAuthSigningAlgValues`, `dPoPSigningAlgValues`). */
    enabledJWA?: Record<string, string[]>;
    findAccount?: (
      ctx: unknown,
      sub: string,
    ) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> }>;
  }

  interface StoredToken {
    readonly clientId: string;
    readonly isExpired: boolean;
    readonly expiration: number;
    save(): Promise<string>;
  }
  interface TokenModel {
    find(value: string): Promise<StoredToken | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    callback(): Handler;
    readonly AccessToken: TokenModel;
    readonly ClientCredentials: TokenModel & {
      new (fields: { client: unknown; scope?: string }): StoredToken;
    };
    /** Adds a grant to the token endpoint: its handler, its parameters, and those that may be repeated. */
    // biome-ignore lint/suspicious/noExplicitAny: the handler's context is oidc-provider's Koa context.
    registerGrantType(name: string, handler: (ctx: any) => Promise<void>, params?: string[], dupes?: string[]): void;
  }

  type OAuthErrorClass = new (description?: string) => Error;
  export const errors: Record<"InvalidRequest" | "InvalidGrant" | "InvalidTarget", OAuthErrorClass>;
}
