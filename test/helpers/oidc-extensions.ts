/**
 * What oidc-provider does not have built in, added through its documented extension points, and the browser
 * steps of the device flow:
 * - RFC 8693 token exchange and RFC 7523 JWT bearer grants, registered with `provider.registerGrantType`. Each
 *   checks what it is sent as its RFC asks and refuses the rest with the RFC's error codes, and issues real
 *   tokens of the provider (they introspect as active).
 * - {@link decideDevice}: a user opening `verification_uri_complete`, signing in on the development pages and
 *   approving or refusing the device.
 */
import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import type Provider from "oidc-provider";
import { errors } from "oidc-provider";
import { browserStep, CookieJar } from "./oidc-server";

export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
/** The one audience the token exchange serves; any other is `invalid_target`. */
export const EXCHANGE_AUDIENCE = "urn:example:api";

/** Signs JWT bearer assertions as an issuer the server trusts (RS256). */
export interface AssertionIssuer {
  /** The `iss` the server trusts. */
  issuer: string;
  /** A compact JWS of `claims`, signed with the trusted key (or, with `untrusted`, with another one). */
  sign(claims: Record<string, unknown>, options?: { untrusted?: boolean }): string;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

function signJwt(claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign("sha256", Buffer.from(input), key))}`;
}

/** The claims of an RS256 compact JWS signed by `key`, or `undefined` when it is not one. */
function verifiedClaims(jwt: string, key: KeyObject): Record<string, unknown> | undefined {
  const [header, payload, signature, ...rest] = jwt.split(".");
  if (!header || !payload || signature === undefined || rest.length > 0) return undefined;
  try {
    if (JSON.parse(Buffer.from(header, "base64url").toString()).alg !== "RS256") return undefined;
    if (!verify("sha256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url")))
      return undefined;
    return JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

type Ctx = {
  oidc: { params: Record<string, string | string[] | undefined>; client: { clientId: string } };
  body: unknown;
};

/** An access token the provider issued and still holds, from any grant; `undefined` otherwise. */
async function liveToken(provider: Provider, value: unknown): Promise<{ clientId: string } | undefined> {
  if (typeof value !== "string") return undefined;
  const token = (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
  return token && !token.isExpired ? token : undefined;
}

/**
 * Registers the token exchange and JWT bearer grants on a provider.
 *
 * @returns the issuer whose assertions the JWT bearer grant accepts.
 */
export function registerExtensionGrants(provider: Provider, issuer: string): AssertionIssuer {
  const trusted = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const trustedPublic = trusted.publicKey;
  const assertionIssuer = "https://assertions.example.org";
  const seenJti = new Set<string>();

  async function issue(ctx: Ctx, scope: string | undefined, extra: Record<string, unknown> = {}) {
    const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope });
    const value = await token.save();
    ctx.body = { access_token: value, token_type: "Bearer", expires_in: token.expiration, scope, ...extra };
  }

  // RFC 8693 §2.1: the subject (and actor) token must be a live access token of this server.
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: Ctx) => {
      const p = ctx.oidc.params;
      if (p.subject_token_type !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest("subject_token_type must be an access token");
      if (!(await liveToken(provider, p.subject_token))) throw new errors.InvalidRequest("subject_token is invalid");
      if ((p.actor_token === undefined) !== (p.actor_token_type === undefined))
        throw new errors.InvalidRequest("actor_token and actor_token_type go together");
      if (p.actor_token !== undefined && !(await liveToken(provider, p.actor_token)))
        throw new errors.InvalidRequest("actor_token is invalid");
      const audiences = [p.audience ?? []].flat();
      if (audiences.some((audience) => audience !== EXCHANGE_AUDIENCE))
        throw new errors.InvalidTarget("the audience is not served here");
      const wanted = p.requested_token_type ?? ACCESS_TOKEN_TYPE;
      if (wanted === JWT_TOKEN_TYPE) {
        // A JWT that is not an access token: token_type N_A (RFC 8693 §2.2.1).
        const jwt = signJwt(
          { iss: issuer, sub: ctx.oidc.client.clientId, aud: audiences, jti: randomUUID() },
          trusted.privateKey,
        );
        ctx.body = { access_token: jwt, issued_token_type: JWT_TOKEN_TYPE, token_type: "N_A", expires_in: 60 };
        return;
      }
      if (wanted !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest("requested_token_type is not issued here");
      await issue(ctx, typeof p.scope === "string" ? p.scope : undefined, { issued_token_type: ACCESS_TOKEN_TYPE });
    },
    [
      "subject_token",
      "subject_token_type",
      "actor_token",
      "actor_token_type",
      "requested_token_type",
      "audience",
      "resource",
      "scope",
    ],
    ["audience", "resource"],
  );

  // RFC 7523 §3: a JWT from the trusted issuer, for this server, unexpired, never replayed.
  provider.registerGrantType(
    JWT_BEARER,
    async (ctx: Ctx) => {
      const claims = verifiedClaims(String(ctx.oidc.params.assertion), trustedPublic);
      if (!claims) throw new errors.InvalidGrant("the assertion's signature does not verify");
      if (claims.iss !== assertionIssuer) throw new errors.InvalidGrant("the assertion's issuer is not trusted");
      if (claims.aud !== issuer && claims.aud !== `${issuer}/token`)
        throw new errors.InvalidGrant("the assertion is not for this server");
      if (typeof claims.sub !== "string") throw new errors.InvalidGrant("the assertion has no subject");
      if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now())
        throw new errors.InvalidGrant("the assertion has expired");
      if (typeof claims.jti !== "string" || seenJti.has(claims.jti))
        throw new errors.InvalidGrant("the assertion was already used");
      seenJti.add(claims.jti);
      await issue(ctx, typeof ctx.oidc.params.scope === "string" ? ctx.oidc.params.scope : undefined);
    },
    ["assertion", "scope"],
  );

  return {
    issuer: assertionIssuer,
    sign: (claims, options = {}) => signJwt(claims, options.untrusted ? other.privateKey : trusted.privateKey),
  };
}

/** The hidden inputs and action of the first form of a page. */
function firstForm(html: string, base: URL): { action: URL; fields: URLSearchParams } | undefined {
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const [, name, value] of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g))
    fields.set(name!, value!.replace(/&amp;/g, "&"));
  return { action: new URL(form[1]!.replace(/&amp;/g, "&"), base), fields };
}

/**
 * Plays the user of a device flow in a browser: opens `verification_uri_complete`, confirms the code (or aborts,
 * with `approve: false`), signs in as `login` and consents.
 *
 * @throws {Error} when a page is not the expected one.
 */
export async function decideDevice(verificationUriComplete: string, approve = true, login = "alice"): Promise<void> {
  const jar = new CookieJar();
  let url = new URL(verificationUriComplete);
  let body: URLSearchParams | undefined;
  for (let step = 0; step < 12; step++) {
    const { response, redirect } = await browserStep(jar, url, body);
    if (redirect !== undefined) {
      url = redirect;
      body = undefined;
      continue;
    }
    const html = await response.text();
    if (/Sign-in Success|request was interrupted/.test(html)) return;
    const form = firstForm(html, url);
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!form) throw new Error(`device flow stopped at ${url.pathname} (HTTP ${response.status})`);
    if (prompt === "login") form.fields.set("login", login), form.fields.set("password", "any password");
    if (prompt === "consent" || prompt === "login") form.fields.set("prompt", prompt);
    if (form.fields.get("confirm") === "yes" && !approve) {
      form.fields.delete("confirm");
      form.fields.set("abort", "yes");
    }
    url = form.action;
    body = form.fields;
  }
  throw new Error("the device flow took too many steps");
}
