// oidc-provider ships no type declarations; this declares the part the interop tests use.
declare module "oidc-provider" {
  type Handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void;

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    token_endpoint_auth_method?: "client_secret_basic" | "client_secret_post" | "none";
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
    ttl?: Record<string, number>;
    routes?: Partial<
      Record<"authorization" | "token" | "introspection" | "revocation" | "userinfo" | "jwks" | "end_session", string>
    >;
    findAccount?: (
      ctx: unknown,
      sub: string,
    ) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> }>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    callback(): Handler;
  }
}
