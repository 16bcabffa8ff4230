import type { operations } from "../../generated/schema";
import { base64url, generationParams, isCryptoKey, jwsKey, publicJwk, randomJti, signJwt } from "../core/jws";
import type { DpopKey } from "../core/request";
import { argumentError, checkNonEmptyString, checkObject, isPlainObject } from "../core/validate";
import { DEFAULT_TOKEN_TYPES } from "./token";

/**
 * DPoP (RFC 9449): a key pair whose proofs bind tokens to it. {@link createDpopKey} makes the key the client's
 * token requests prove (`{ dpop }` in a call's options, or the token manager's `dpop` option);
 * {@link createDpopProof} makes the proof of a resource request. Imported apart: an app that does not use DPoP
 * bundles none of it.
 */

/**
 * The algorithms of a DPoP key: ES256 (the default), EdDSA (Ed25519, where the runtime's Web Crypto has it),
 * RS256 and PS256.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export type DpopAlgorithm = "ES256" | "EdDSA" | "RS256" | "PS256";

/**
 * Options of {@link createDpopProof}: the request the proof is for.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export interface DpopProofOptions {
  /** The request's method, such as `GET`. */
  htm: string;
  /** The request's URL; its query and fragment are left out of the proof. */
  htu: string;
  /** The access token the request carries (`Authorization: DPoP <token>`): its hash goes in the proof as `ath`. */
  accessToken?: string;
  /**
   * The nonce the resource server gave (its `DPoP-Nonce` header). Default: the last nonce the key learned from
   * the same origin.
   */
  nonce?: string;
}

type TokenHeaders = NonNullable<operations["obtainToken"]["parameters"]["header"]>;
type NonceHeaders = NonNullable<operations["obtainToken"]["responses"][400]["headers"]>;
/** The request header of a proof, and the answer header of a nonce, as the spec names them. */
const PROOF_HEADER: keyof TokenHeaders & string = "DPoP";
const NONCE_HEADER: keyof NonceHeaders & string = "DPoP-Nonce";
/** RFC 9449's names: a proof's `typ`, the token type of bound tokens, the error that asks for a nonce. */
const PROOF_TYPE = "dpop+jwt";
const TOKEN_TYPE = "DPoP";
const USE_DPOP_NONCE = "use_dpop_nonce";

/** RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR being `%x21 / %x23-5B / %x5D-7E`. */
const NQCHARS = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** The longest nonce kept: far more than a server needs, little enough to sign into every proof. */
const MAX_NONCE_LENGTH = 1024;
/** The most origins whose nonces one key keeps; the one learned longest ago gives way to a new one. */
const MAX_NONCE_ORIGINS = 100;

/** Signs a proof for a key made here; kept off the key object, so it never prints or serializes. */
const signers = new WeakMap<DpopKey, (htm: string, htu: URL, claims: object) => Promise<string>>();
/** The nonces each key learned, by origin, oldest first. */
const nonces = new WeakMap<DpopKey, Map<string, string>>();

/**
 * Keeps the nonce a server at `origin` handed (its `DPoP-Nonce` header), if well formed: 1 to 1024 NQCHARs, so
 * a value that is too long, holds a space, a quote or a byte past ASCII, or is two headers joined with ", " is
 * ignored, and the nonce learned before stays. The origin becomes the newest; past {@link MAX_NONCE_ORIGINS},
 * the oldest is forgotten.
 *
 * @returns whether the nonce was kept.
 */
function learnNonce(learned: Map<string, string>, origin: string, nonce: string | null): boolean {
  if (nonce === null || nonce.length > MAX_NONCE_LENGTH || !NQCHARS.test(nonce)) return false;
  learned.delete(origin);
  learned.set(origin, nonce);
  if (learned.size > MAX_NONCE_ORIGINS) learned.delete(learned.keys().next().value!);
  return true;
}

/**
 * A URL for a proof's `htu`: an absolute http(s) URL.
 *
 * @throws {TypeError} naming the option.
 */
function targetUrl(value: unknown, name: string): URL {
  checkNonEmptyString(value, name);
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") throw argumentError(`${name} must be an http(s) URL`);
  return url;
}

/**
 * Makes a DPoP key from a key pair, a private JWK, or a new ES256 key pair of Web Crypto (its private key not
 * extractable). Pass it as `{ dpop }` in the options of a token request (or as the token manager's `dpop`): the
 * request then carries a fresh proof (`typ` `dpop+jwt`, the public key as `jwk`, `htm`, `htu`, `iat`, a random
 * `jti`, and the server's nonce once it gave one), a `use_dpop_nonce` refusal is answered once with the new
 * nonce, and `token_type` `DPoP` is accepted. The key learns a nonce from every answer of a server (retries
 * included), by the origin the request went to; it keeps only well-formed nonces (1 to 1024 NQCHARs, RFC 9449
 * §8.1), of its last 100 origins. The key prints and serializes as its algorithm and public JWK.
 *
 * @example
 * ```ts
 * const dpop = await createDpopKey();
 * const token = await client.clientCredentials({ scope: "read" }, { dpop }); // token.token_type: "DPoP"
 * ```
 * @param key - a Web Crypto `CryptoKeyPair` (ECDSA P-256, Ed25519, RSASSA-PKCS1-v1_5 or RSA-PSS with SHA-256),
 *   a private JWK, or nothing for a new ES256 key pair.
 * @returns the key, for every request of the token set it binds: a DPoP-bound refresh token is refreshed with the
 *   same key.
 * @throws {TypeError} (`ERR_INVALID_ARG_VALUE`) when the key is public only, symmetric, or of another algorithm.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 * @see {@link generateDpopKey}
 */
export async function createDpopKey(key?: CryptoKeyPair | JsonWebKey): Promise<DpopKey> {
  if (key === undefined) return generateDpopKey();
  const pair = isPlainObject(key) && "privateKey" in key ? (key as unknown as CryptoKeyPair) : undefined;
  // The public key travels in each proof as `jwk`: no `kid` beside it.
  const signing = { ...jwsKey(pair ? pair.privateKey : key, pair ? "key.privateKey" : "key"), kid: undefined };
  let jwk: JsonWebKey;
  if (pair) {
    if (!isCryptoKey(pair.publicKey) || pair.publicKey.type !== "public")
      throw argumentError("key.publicKey must be the public CryptoKey of the pair");
    jwk = publicJwk(await crypto.subtle.exportKey("jwk", pair.publicKey));
  } else jwk = publicJwk(key as JsonWebKey);
  const learned = new Map<string, string>();
  const sign = (htm: string, htu: URL, claims: object) =>
    signJwt(
      signing,
      { typ: PROOF_TYPE, jwk },
      { jti: randomJti(), htm, htu: `${htu.origin}${htu.pathname}`, iat: Math.floor(Date.now() / 1000), ...claims },
    );
  // RFC 7638: the SHA-256 of the required members in lexicographic order, which is how publicJwk lists them.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(jwk)));
  const dpop: DpopKey = {
    alg: signing.alg,
    jwk,
    jkt: base64url(new Uint8Array(digest)),
    tokenTypes: (allowed) => [...(allowed ?? DEFAULT_TOKEN_TYPES), TOKEN_TYPE],
    async apply({ headers, method, url }) {
      const target = new URL(url);
      const nonce = learned.get(target.origin);
      headers.set(PROOF_HEADER, await sign(method, target, nonce === undefined ? {} : { nonce }));
    },
    async answered({ response, url }) {
      // Filed by the URL the request was sent to, never by the answer's `url`, which a fetch may leave empty or
      // a redirect may change, nor by what another call in flight last sent.
      if (!learnNonce(learned, new URL(url).origin, response.headers.get(NONCE_HEADER)) || response.ok) return false;
      try {
        return ((await response.clone().json()) as { error?: unknown }).error === USE_DPOP_NONCE;
      } catch {
        return false;
      }
    },
  };
  signers.set(dpop, sign);
  nonces.set(dpop, learned);
  return dpop;
}

/**
 * Makes a DPoP key from a new key pair of Web Crypto, its private key not extractable.
 *
 * @param alg - `ES256` (default), `EdDSA` (Ed25519), `RS256` or `PS256` (2048-bit RSA).
 * @returns the key, as {@link createDpopKey} makes it.
 * @throws {TypeError} (`ERR_INVALID_ARG_VALUE`) when the algorithm is none of those, or the runtime's Web Crypto
 *   cannot make it (EdDSA where Ed25519 is missing).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export async function generateDpopKey(alg: DpopAlgorithm = "ES256"): Promise<DpopKey> {
  if (!["ES256", "EdDSA", "RS256", "PS256"].includes(alg))
    throw argumentError("alg must be ES256, EdDSA, RS256 or PS256");
  const pair = (await crypto.subtle
    .generateKey(generationParams(alg) as Algorithm, false, ["sign", "verify"])
    .catch(() => {
      throw argumentError(`alg ${alg} is not one this runtime's Web Crypto can generate`);
    })) as CryptoKeyPair;
  return createDpopKey(pair);
}

/**
 * Makes the DPoP proof of a request to a resource server (RFC 9449 §7): send it as the `DPoP` header, with
 * `Authorization: DPoP <access token>`. Each proof is for one request: make a new one for each.
 *
 * @example
 * ```ts
 * const proof = await createDpopProof(dpop, { htm: "GET", htu: url, accessToken: token.access_token });
 * await fetch(url, { headers: { Authorization: `DPoP ${token.access_token}`, DPoP: proof } });
 * ```
 * @param key - a key made by {@link createDpopKey}.
 * @param options - the request's method and URL, its access token (for `ath`), and the server's nonce.
 * @returns the proof, a compact JWT.
 * @throws {TypeError} (`ERR_INVALID_ARG_VALUE`) when the key was not made by `createDpopKey` or an option is
 *   malformed.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export async function createDpopProof(key: DpopKey, options: DpopProofOptions): Promise<string> {
  const sign = signers.get(key);
  if (sign === undefined) throw argumentError("key must be a DPoP key made by createDpopKey");
  checkObject(options as unknown, "options");
  const { htm, accessToken } = options;
  checkNonEmptyString(htm, "options.htm");
  const htu = targetUrl(options.htu, "options.htu");
  if (accessToken !== undefined) checkNonEmptyString(accessToken, "options.accessToken");
  if (options.nonce !== undefined) checkNonEmptyString(options.nonce, "options.nonce");
  const nonce = options.nonce ?? nonces.get(key)?.get(htu.origin);
  const ath =
    accessToken === undefined
      ? undefined
      : base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))));
  return sign(htm, htu, { ...(ath !== undefined && { ath }), ...(nonce !== undefined && { nonce }) });
}
