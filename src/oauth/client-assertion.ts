import type { components } from "../../generated/schema";
import { ClientAuthenticationInBody } from "../../generated/spec";
import type { AuthenticatedRequest, ClientAuthentication } from "../core/auth";
import { base64url, jwsKey, randomJti, signJwt, type JwsKey } from "../core/jws";
import { checkNonEmptyString, checkObject, checkPositive } from "../core/validate";

/**
 * Client authentication with a JWT the client signs (RFC 7523 §2.2, RFC 7521 §4.2): `private_key_jwt` with the
 * client's private key, `client_secret_jwt` with HMAC of its secret. Strategies for the client's
 * `clientAuthentication` option, imported apart: an app that authenticates with a secret bundles none of this.
 */

/**
 * Options of {@link privateKeyJwt} and {@link clientSecretJwt}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export interface ClientAssertionOptions {
  /**
   * The assertion's `aud`. Default: the URL of the endpoint the request goes to, without query (the token
   * endpoint's, for token requests). Pass the issuer identifier when the server asks for it.
   */
  audience?: string;
  /** How long each assertion is valid, in seconds. Default 60. */
  lifetimeSeconds?: number;
  /** The `kid` of the header. Default: the JWK's own `kid`, when it has one. */
  kid?: string;
}

/**
 * A key for {@link privateKeyJwt}: a Web Crypto private `CryptoKey` (RSASSA-PKCS1-v1_5 or RSA-PSS with SHA-256,
 * ECDSA P-256, Ed25519), or a private JWK (`kty` RSA, EC P-256 or OKP Ed25519, with `d`). An RSA JWK signs
 * RS256 unless its `alg` says PS256.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4
 */
export type ClientAssertionKey = CryptoKey | JsonWebKey;

type Fields = components["schemas"]["ClientAuthenticationInBody"];
/** The spec's `client_assertion_type`, the only value it takes. */
const ASSERTION_TYPE = ClientAuthenticationInBody.properties!.client_assertion_type!.const as string;
const DEFAULT_LIFETIME_SECONDS = 60;

function assertionStrategy(
  method: string,
  clientId: string,
  signing: JwsKey,
  options: ClientAssertionOptions,
  secrets: readonly string[],
): ClientAuthentication {
  checkObject(options as unknown, "options");
  const { audience, kid } = options;
  if (audience !== undefined) checkNonEmptyString(audience, "options.audience");
  if (kid !== undefined) checkNonEmptyString(kid, "options.kid");
  checkPositive(options.lifetimeSeconds, "options.lifetimeSeconds");
  const lifetime = Math.ceil(options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS);
  const key: JwsKey = kid === undefined ? signing : { ...signing, kid };
  const strategy = {
    method,
    async apply({ fields, url }: AuthenticatedRequest) {
      if (fields === undefined) return;
      const iat = Math.floor(Date.now() / 1000);
      const claims = {
        iss: clientId,
        sub: clientId,
        aud: audience ?? url.replace(/[?#].*$/, ""),
        jti: randomJti(),
        iat,
        exp: iat + lifetime,
      };
      const written: Required<Pick<Fields, "client_id" | "client_assertion_type" | "client_assertion">> = {
        client_id: clientId,
        client_assertion_type: ASSERTION_TYPE as Fields["client_assertion_type"] & string,
        client_assertion: await signJwt(key, { typ: "JWT" }, claims),
      };
      Object.assign(fields, written);
    },
  };
  // A getter, not enumerable: the strategy prints and serializes without the secret.
  return Object.defineProperty(strategy, "secrets", { get: () => secrets }) as typeof strategy & ClientAuthentication;
}

/**
 * The `private_key_jwt` strategy (RFC 7523 §2.2): each attempt of each request carries a fresh JWT signed with
 * the client's private key in `client_assertion`, with `iss` and `sub` the client ID, `aud` the endpoint's URL
 * (or `options.audience`), a random `jti`, `iat` and an `exp` a minute away. The key is checked here, before
 * any request; a JWK is imported on first use, not extractable, and never quoted in an error.
 *
 * @example
 * ```ts
 * const client = createOAuthClient({ baseUrl, clientId, clientAuthentication: privateKeyJwt(clientId, privateJwk) });
 * ```
 * @param clientId - the client identifier: the assertion's `iss` and `sub`, and `client_id` in the body.
 * @param key - the private key: a Web Crypto `CryptoKey` or a private JWK (its `kid` goes in the header).
 * @param options - the audience, the lifetime, a `kid`.
 * @returns a strategy for the client's `clientAuthentication` option.
 * @throws {TypeError} (`ERR_INVALID_ARG_VALUE`) when the key is public, of another type, or of an algorithm
 *   other than RS256, PS256, ES256 and EdDSA, or an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
 */
export function privateKeyJwt(
  clientId: string,
  key: ClientAssertionKey,
  options: ClientAssertionOptions = {},
): ClientAuthentication {
  checkNonEmptyString(clientId, "clientId");
  return assertionStrategy("private_key_jwt", clientId, jwsKey(key, "key"), options, []);
}

/**
 * The `client_secret_jwt` strategy (RFC 7523 §2.2): as {@link privateKeyJwt}, with the JWT signed by HMAC
 * SHA-256 keyed by the client secret (HS256). The secret never travels, and never appears in an error.
 *
 * @param clientId - the client identifier.
 * @param clientSecret - the client secret, the HMAC key.
 * @param options - the audience, the lifetime, a `kid`.
 * @returns a strategy for the client's `clientAuthentication` option.
 * @throws {TypeError} (`ERR_INVALID_ARG_VALUE`) when the secret is not a non-empty string or an option is
 *   malformed.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
 */
export function clientSecretJwt(
  clientId: string,
  clientSecret: string,
  options: ClientAssertionOptions = {},
): ClientAuthentication {
  checkNonEmptyString(clientId, "clientId");
  checkNonEmptyString(clientSecret, "clientSecret");
  const signing = jwsKey({ kty: "oct", k: base64url(clientSecret) }, "clientSecret", { symmetric: true });
  return assertionStrategy("client_secret_jwt", clientId, signing, options, [clientSecret]);
}
