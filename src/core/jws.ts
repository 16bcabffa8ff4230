import { argumentError, isPlainObject } from "./validate";

/**
 * JSON Web Signatures with Web Crypto alone (`globalThis.crypto.subtle`): base64url, the JWS algorithms a key
 * can sign with, and compact signing. Client assertions (RFC 7523) and DPoP proofs (RFC 9449) are made here; an
 * app that uses neither bundles none of it. Web Crypto's ECDSA signature is already the raw `r || s` that JWS
 * wants (RFC 7518 §3.4), so no DER conversion is needed.
 */

/**
 * The JWS algorithms a key signs with: RS256, PS256, ES256 (P-256), EdDSA (Ed25519, where the runtime's Web
 * Crypto has it) and HS256.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1
 */
export type JwsAlgorithm = "RS256" | "PS256" | "ES256" | "EdDSA" | "HS256";

/** Each algorithm's Web Crypto parameters: to import a key, and to sign. */
const ALGORITHMS: Record<JwsAlgorithm, [importParams: object, signParams: object]> = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  PS256: [
    { name: "RSA-PSS", hash: "SHA-256" },
    { name: "RSA-PSS", saltLength: 32 },
  ],
  ES256: [
    { name: "ECDSA", namedCurve: "P-256" },
    { name: "ECDSA", hash: "SHA-256" },
  ],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
  HS256: [{ name: "HMAC", hash: "SHA-256" }, { name: "HMAC" }],
};
/** The public members of a JWK, by key type (RFC 7638 §3.2 names the same ones, in this order). */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["e", "kty", "n"],
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
};
/** RSA keys shorter than this are refused (RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

const encoder = new TextEncoder();

/**
 * base64url without padding (RFC 4648 §5), of bytes or of a string's UTF-8.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-2
 */
export function base64url(input: Uint8Array | string): string {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A fresh, unguessable JWT ID: 16 random bytes of Web Crypto. */
export function randomJti(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** A key ready to sign: its algorithm, its `kid` when it has one, and the Web Crypto key, imported once. */
export interface JwsKey {
  readonly alg: JwsAlgorithm;
  readonly kid: string | undefined;
  /** The private (or HMAC) key; its import, from a JWK, fails as a `TypeError`. */
  readonly key: () => Promise<CryptoKey>;
}

/** The algorithm of a Web Crypto key, or `undefined` when it is none of {@link JwsAlgorithm}. */
function algorithmOfKey(key: CryptoKey): JwsAlgorithm | undefined {
  const { name, hash, namedCurve, modulusLength } = key.algorithm as {
    name: string;
    hash?: { name: string };
    namedCurve?: string;
    modulusLength?: number;
  };
  if (modulusLength !== undefined && modulusLength < MIN_RSA_BITS) return undefined;
  const sha256 = hash?.name === "SHA-256";
  if (name === "RSASSA-PKCS1-v1_5" && sha256) return "RS256";
  if (name === "RSA-PSS" && sha256) return "PS256";
  if (name === "ECDSA" && namedCurve === "P-256") return "ES256";
  if (name === "Ed25519") return "EdDSA";
  if (name === "HMAC" && sha256) return "HS256";
  return undefined;
}

/** The algorithm of a JWK: its `alg` when it names one of {@link JwsAlgorithm} its key type fits, else the type's own. */
function algorithmOfJwk(jwk: JsonWebKey): JwsAlgorithm | undefined {
  const { kty, crv, alg } = jwk;
  const own: JwsAlgorithm | undefined =
    kty === "RSA"
      ? alg === "PS256"
        ? "PS256"
        : "RS256"
      : kty === "EC" && crv === "P-256"
        ? "ES256"
        : kty === "OKP" && crv === "Ed25519"
          ? "EdDSA"
          : kty === "oct"
            ? "HS256"
            : undefined;
  // A JWK that names another algorithm (RS384, ES512, Ed25519 under its new name is EdDSA here) is refused.
  return alg === undefined || alg === own || (own === "EdDSA" && alg === "Ed25519") ? own : undefined;
}

/** Whether a value is a Web Crypto key (false where the runtime has no `CryptoKey`). */
export function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== "undefined" && value instanceof CryptoKey;
}

/**
 * A signing key from a Web Crypto `CryptoKey` or a private JWK, checked at once: the key must be private (or
 * an HMAC secret when `symmetric`), able to sign, of a supported algorithm, and RSA keys of 2048 bits or more.
 * A JWK is imported on first use, not extractable; a JWK that Web Crypto refuses fails then, before anything
 * is sent. No error quotes the key.
 *
 * @param input - the key.
 * @param name - the option, for messages.
 * @param options - `symmetric`: an HMAC key (HS256) instead of a private one; `allowed`: the algorithms taken.
 * @throws {TypeError} naming the option, when the key is not one of those.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4
 */
export function jwsKey(
  input: unknown,
  name: string,
  options: { symmetric?: boolean; allowed?: readonly JwsAlgorithm[] } = {},
): JwsKey {
  const allowed = options.allowed ?? (options.symmetric ? ["HS256"] : ["RS256", "PS256", "ES256", "EdDSA"]);
  const what = `${name} must be ${options.symmetric ? "an HMAC SHA-256 key" : "a private key"} for ${allowed.join(", ")}`;
  if (isCryptoKey(input)) {
    const alg = algorithmOfKey(input);
    if (
      input.type !== (options.symmetric ? "secret" : "private") ||
      !input.usages.includes("sign") ||
      alg === undefined ||
      !allowed.includes(alg)
    )
      throw argumentError(`${what}: a Web Crypto key of another kind was given`);
    return { alg, kid: undefined, key: async () => input };
  }
  if (!isPlainObject(input) || typeof input.kty !== "string")
    throw argumentError(`${what}, as a Web Crypto CryptoKey or a JWK`);
  const jwk = input as JsonWebKey;
  const alg = algorithmOfJwk(jwk);
  const secret = jwk.kty === "oct" ? jwk.k : jwk.d;
  if (alg === undefined || !allowed.includes(alg) || typeof secret !== "string" || secret === "")
    throw argumentError(`${what}: the JWK is ${secret === undefined ? "a public key" : "of another kind"}`);
  if (alg === "RS256" || alg === "PS256") {
    // The modulus, base64url: 4 characters for 3 bytes.
    if (typeof jwk.n !== "string" || (jwk.n.length * 6) / 8 < MIN_RSA_BITS / 8 - 1)
      throw argumentError(`${what}: RSA keys must have ${MIN_RSA_BITS} bits or more`);
  }
  const kid = typeof input.kid === "string" ? input.kid : undefined;
  // Only the members Web Crypto reads: `use`, `key_ops` or `alg` could make it refuse a good key.
  const { use: _use, key_ops: _ops, alg: _alg, ext: _ext, ...material } = jwk;
  let imported: Promise<CryptoKey> | undefined;
  const key = () =>
    (imported ??= crypto.subtle
      .importKey("jwk", material, ALGORITHMS[alg][0] as Algorithm, false, ["sign"])
      .catch(() => {
        imported = undefined;
        throw argumentError(`${what}: Web Crypto refused the JWK's key material`);
      }));
  return { alg, kid, key };
}

/**
 * The public JWK of a key: its public members only, so no private part ever leaves.
 *
 * @param jwk - a JWK, public or private.
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3.2
 */
export function publicJwk(jwk: JsonWebKey): JsonWebKey {
  const out: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS[jwk.kty ?? ""] ?? []) out[member] = (jwk as Record<string, unknown>)[member];
  return out as JsonWebKey;
}

/**
 * The Web Crypto parameters to generate a key pair of an asymmetric algorithm.
 *
 * @see https://www.w3.org/TR/WebCryptoAPI/#dfn-SubtleCrypto-method-generateKey
 */
export function generationParams(alg: Exclude<JwsAlgorithm, "HS256">): object {
  const [params] = ALGORITHMS[alg];
  return alg === "RS256" || alg === "PS256"
    ? { ...params, modulusLength: MIN_RSA_BITS, publicExponent: new Uint8Array([1, 0, 1]) }
    : params;
}

/**
 * Signs a JWT: a compact JWS (RFC 7515 §7.1) of `claims`, with `alg` (and `kid` when the key has one) in its
 * protected header after the given header members.
 *
 * @param key - from {@link jwsKey}.
 * @param header - more header members (`typ`, `jwk`).
 * @param claims - the payload.
 * @returns `header.payload.signature`, each base64url.
 * @throws {TypeError} when a JWK's key material is refused by Web Crypto.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.1
 */
export async function signJwt(key: JwsKey, header: object, claims: object): Promise<string> {
  const protectedHeader = { alg: key.alg, ...(key.kid !== undefined && { kid: key.kid }), ...header };
  const input = `${base64url(JSON.stringify(protectedHeader))}.${base64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle
    .sign(ALGORITHMS[key.alg][1] as Algorithm, await key.key(), encoder.encode(input))
    .catch(() => {
      throw argumentError(`the ${key.alg} key could not sign: Web Crypto refused its key material`);
    });
  return `${input}.${base64url(new Uint8Array(signature))}`;
}
