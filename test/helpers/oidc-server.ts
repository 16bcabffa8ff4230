/**
 * A real authorization server for interop tests: panva's `oidc-provider` (a certified OpenID Connect and OAuth
 * 2.0 server) in this process, on a free port of 127.0.0.1, with introspection, revocation, client_credentials
 * refresh token rotation, the device flow and pushed authorization requests enabled, `iss` in authorization
 * responses (RFC 9207), token exchange and JWT bearer grants registered
 * (./oidc-extensions.ts), three registered clients (client_secret_basic, client_secret_post, and a
 * public PKCE client), and its development login and consent pages, which {@link authorize} fills in over
 * HTTP to get an authorization code the way a browser would.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration } from "oidc-provider";
import { afterAll, beforeAll } from "vitest";
import { buildAuthorizationUrl, createPkcePair, type OAuthClient, type TokenResponse } from "../../src/index";
import {
  DEVICE_CODE,
  JWT_BEARER,
  registerExtensionGrants,
  TOKEN_EXCHANGE,
  type AssertionIssuer,
} from "./oidc-extensions";

/** A registered client's credentials. */
export interface RegisteredClient {
  clientId: string;
  /** Absent for the public client. */
  clientSecret?: string;
  /** The redirect URI registered for the client; nothing listens there, the code is read from the redirect. */
  redirectUri: string;
}

/** A running {@link startOidcServer}. */
export interface OidcServer {
  /** `http://127.0.0.1:<port>`: the issuer identifier, and the base of every endpoint. */
  issuer: string;
  /** Authenticates with HTTP Basic at every endpoint. */
  basicClient: Required<RegisteredClient>;
  /** Authenticates with `client_id` and `client_secret` in the body at every endpoint. */
  postClient: Required<RegisteredClient>;
  /** A public client (`none`): PKCE is required for it. */
  publicClient: RegisteredClient;
  /** The issuer whose JWT bearer assertions (RFC 7523) the server accepts. */
  assertionIssuer: AssertionIssuer;
  /** Closes the server and every open connection; resolves once it no longer listens. */
  stop(): Promise<void>;
}

/** Options of {@link startOidcServer}. */
export interface OidcServerOptions {
  /** Endpoint paths instead of oidc-provider's own, such as `{ token: "/OAuth/Token" }` for the 2BA layout. */
  routes?: Configuration["routes"];
  /**
   * Changes the configuration before the provider is made: more clients (keyed ones for JWT client
   * authentication), features (DPoP nonces). Gets the issuer, which a client's settings may name.
   */
  configure?: (configuration: Configuration, issuer: string) => void;
}

/** Scopes the server knows; `offline_access` asks for a refresh token (OpenID Connect Core §11). */
export const SERVER_SCOPES = ["openid", "offline_access", "read", "write"] as const;

/**
 * One server for a test file: started before its tests, stopped after them. `onStart` gets the server and
 * prepares what the tests share (its metadata, clients).
 */
export function useOidcServer(
  onStart: (server: OidcServer) => void | Promise<void>,
  options: OidcServerOptions = {},
): void {
  let server: OidcServer | undefined;
  beforeAll(async () => {
    server = await startOidcServer(options);
    await onStart(server);
  });
  afterAll(async () => {
    await server?.stop();
  });
}

/** Starts the server; stop it in `afterAll` (or let {@link useOidcServer} do both). */
export async function startOidcServer(options: OidcServerOptions = {}): Promise<OidcServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const secret = () => randomBytes(24).toString("base64url");
  const redirectUri = `${issuer}/callback`;
  const basicClient = { clientId: "basic-client", clientSecret: secret(), redirectUri };
  const postClient = { clientId: "post-client", clientSecret: secret(), redirectUri };
  const publicClient = { clientId: "public-client", redirectUri };
  // The device flow for every client; token exchange and JWT bearer, registered below, for the confidential ones.
  const grantTypes = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE,
    TOKEN_EXCHANGE,
    JWT_BEARER,
  ];
  // The confidential clients may not ask for "write"; the public client may ask for every scope.
  const confidentialScope = "openid offline_access read";
  const scope = SERVER_SCOPES.join(" ");
  // A signing key of our own, so the provider does not fall back to its development keys.
  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

  const configuration: Configuration = {
    clients: [
      {
        client_id: basicClient.clientId,
        client_secret: basicClient.clientSecret,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: grantTypes,
        redirect_uris: [redirectUri],
        scope: confidentialScope,
      },
      {
        client_id: postClient.clientId,
        client_secret: postClient.clientSecret,
        token_endpoint_auth_method: "client_secret_post",
        grant_types: grantTypes,
        redirect_uris: [redirectUri],
        scope: confidentialScope,
      },
      {
        client_id: publicClient.clientId,
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token", DEVICE_CODE],
        redirect_uris: [redirectUri],
        scope,
      },
    ],
    jwks: { keys: [{ ...jwk, kid: "interop", use: "sig", alg: "RS256" } as never] },
    cookies: { keys: [secret()] },
    scopes: [...SERVER_SCOPES],
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      // RFC 9126, optional for every client. RFC 9207 needs no setting in oidc-provider 9 (`features.issAuthResp`
      // is gone): it always sends `iss` in authorization responses and advertises it in its metadata.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      // Pages of our own, plain forms, instead of the defaults, which log a notice each time they render.
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx: { body: string }, form: string, _out: unknown, error?: Error) => {
          ctx.body = `<p>${error?.name === "AbortedError" ? "The Sign-in request was interrupted" : "Enter the code"}</p>${form}`;
        },
        userCodeConfirmSource: async (ctx: { body: string }, form: string) => {
          ctx.body = `<p>Confirm the code</p>${form}`;
        },
        successSource: async (ctx: { body: string }) => {
          ctx.body = "<p>Sign-in Success</p>";
        },
      },
    },
    // Every refresh returns a new refresh token and spends the old one; replaying it revokes the grant.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 3600,
      ClientCredentials: 3600,
      AuthorizationCode: 60,
      RefreshToken: 86_400,
      IdToken: 3600,
      Grant: 86_400,
      Session: 3600,
      Interaction: 600,
      // The post client's device codes live 3 seconds, for the device flow's expiry tests.
      DeviceCode: (_ctx: unknown, _token: unknown, client: { clientId: string }) =>
        client.clientId === postClient.clientId ? 3 : 600,
    },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    ...(options.routes && { routes: options.routes }),
  };
  options.configure?.(configuration, issuer);
  const provider = new Provider(issuer, configuration);
  const assertionIssuer = registerExtensionGrants(provider, issuer);
  server.on("request", provider.callback());
  return {
    issuer,
    basicClient,
    postClient,
    publicClient,
    assertionIssuer,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** The cookies of one browser session with one host: enough of RFC 6265 for the provider's own cookies. */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  /** Stores the `Set-Cookie` headers of an answer to a request for `url`. */
  store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = url.pathname.slice(0, url.pathname.lastIndexOf("/")) || "/";
      let expired = value === "";
      for (const attribute of attributes) {
        const [key = "", val = ""] = attribute.split("=", 2);
        if (key.toLowerCase() === "path" && val.startsWith("/")) path = val;
        if (key.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === "expires" && Date.parse(val) <= Date.now()) expired = true;
      }
      const id = `${path}\n${name}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path });
    }
  }

  /** The `Cookie` header for a request to `url`, or `undefined` when no cookie applies. */
  header(url: URL): string | undefined {
    const matching = [...this.#cookies.values()].filter(
      ({ path }) =>
        path === "/" || url.pathname === path || url.pathname.startsWith(path.endsWith("/") ? path : `${path}/`),
    );
    return matching.length === 0 ? undefined : matching.map(({ name, value }) => `${name}=${value}`).join("; ");
  }
}

/** What the server sent back to the redirect URI. */
export interface AuthorizationResult {
  /** The whole redirect URL: `code` and `state`, or `error` and `error_description`. */
  callback: URL;
  /** The authorization code, when the server issued one. */
  code: string | null;
  state: string | null;
  error: string | null;
}

const MAX_STEPS = 12;

/**
 * One step of a browser on the provider's pages: requests `url` (a POST of `body` when there is one) with the
 * jar's cookies, keeps those the answer sets, and gives the redirect's target (its body dropped), or the page.
 */
export async function browserStep(
  jar: CookieJar,
  url: URL,
  body: URLSearchParams | undefined,
): Promise<{ response: Response; redirect: URL | undefined }> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie) headers.Cookie = cookie;
  const response = await fetch(url, {
    method: body ? "POST" : "GET",
    headers,
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(15_000),
  });
  jar.store(url, response);
  const location = response.headers.get("location");
  if (response.status < 300 || response.status >= 400 || !location) return { response, redirect: undefined };
  await response.body?.cancel();
  return { response, redirect: new URL(location, url) };
}

/**
 * Plays the browser: opens an authorization URL, signs in as `login` on the development login page, consents
 * on the consent page, and follows redirects until the server redirects to `redirectUri`. Each call is a new
 * browser session (its own cookie jar), so the user signs in every time.
 *
 * @throws {Error} when the flow stops on an unexpected page or takes more than a few steps.
 */
export async function authorize(
  authorizationUrl: string,
  redirectUri: string,
  login = "alice",
): Promise<AuthorizationResult> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  let body: URLSearchParams | undefined;
  for (let step = 0; step < MAX_STEPS; step++) {
    const { response, redirect: next } = await browserStep(jar, url, body);
    if (next !== undefined) {
      if (`${next.origin}${next.pathname}` === redirectUri) {
        const params = next.searchParams;
        return { callback: next, code: params.get("code"), state: params.get("state"), error: params.get("error") };
      }
      url = next;
      body = undefined;
      continue;
    }
    const html = await response.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const action = /<form[^>]* action="([^"]+)"/.exec(html)?.[1];
    if (response.status !== 200 || !action || (prompt !== "login" && prompt !== "consent")) {
      throw new Error(
        `authorization stopped at ${url.pathname} with HTTP ${response.status}: ${html.replace(/<[^>]+>/g, " ").slice(0, 400)}`,
      );
    }
    url = new URL(action.replace(/&amp;/g, "&"), url);
    body =
      prompt === "login"
        ? new URLSearchParams({ prompt, login, password: "any password" })
        : new URLSearchParams({ prompt });
  }
  throw new Error(`authorization did not reach ${redirectUri} within ${MAX_STEPS} steps`);
}

/** Options of {@link signIn}. */
export interface SignInOptions {
  /** Default `openid offline_access read`: `offline_access` with `prompt=consent` gets a refresh token. */
  scope?: string;
  /** Default: the provider's own `/auth`. */
  authorizationEndpoint?: string;
  login?: string;
}

/**
 * The whole authorization code flow with PKCE for `registered`: builds the authorization URL with the
 * library's {@link buildAuthorizationUrl} and {@link createPkcePair}, signs in and consents, checks `state`,
 * and exchanges the code with `client`.
 */
export async function signIn(
  server: OidcServer,
  registered: RegisteredClient,
  client: OAuthClient,
  options: SignInOptions = {},
): Promise<TokenResponse> {
  const pkce = await createPkcePair();
  const state = randomBytes(16).toString("base64url");
  const url = buildAuthorizationUrl({
    authorizationEndpoint: options.authorizationEndpoint ?? `${server.issuer}/auth`,
    clientId: registered.clientId,
    redirectUri: registered.redirectUri,
    scope: options.scope ?? "openid offline_access read",
    state,
    codeChallenge: pkce.code_challenge,
    extraParams: { prompt: "consent" },
  });
  const result = await authorize(url, registered.redirectUri, options.login);
  if (result.error || !result.code) throw new Error(`authorization failed: ${result.error ?? "no code"}`);
  if (result.state !== state) throw new Error("authorization answered another state");
  return client.exchangeAuthorizationCode({
    code: result.code,
    redirect_uri: registered.redirectUri,
    code_verifier: pkce.code_verifier,
  });
}
