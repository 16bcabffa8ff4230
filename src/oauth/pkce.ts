import { CodeVerifierValue } from "../../generated/spec";
import { base64url } from "../core/jws";
import { argumentError, checkValue } from "../core/validate";

/**
 * A PKCE verifier with its S256 challenge (RFC 7636).
 *
 * @see {@link createPkcePair}
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export interface PkcePair {
  /** The secret kept by the client until the code exchange; 43 characters of `[A-Za-z0-9-_]`. */
  code_verifier: string;
  /** `BASE64URL(SHA-256(code_verifier))`, sent to the authorization endpoint. */
  code_challenge: string;
  /** Always `S256`; the `plain` method offers no protection and is not offered. */
  code_challenge_method: "S256";
}

/**
 * Throws `TypeError` unless `value` is a code verifier as the spec's `CodeVerifier` schema declares it (RFC 7636
 * §4.1); the token request checks it the same way.
 */
export function checkCodeVerifier(value: unknown): void {
  checkValue(CodeVerifierValue, value, "code_verifier");
}

/**
 * Random URL-safe string from `byteLength` random bytes of Web Crypto (32 bytes → 43 characters).
 *
 * @param byteLength - how many random bytes; 32 by default.
 * @returns the bytes, base64url-encoded without padding.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 */
export function randomUrlSafeString(byteLength = 32): string {
  if (!Number.isInteger(byteLength) || byteLength < 16 || byteLength > 96)
    throw argumentError("byteLength must be an integer from 16 to 96");
  return base64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/**
 * Computes the S256 code challenge of a verifier: `BASE64URL(SHA-256(ASCII(code_verifier)))`.
 *
 * @param codeVerifier - 43 to 128 characters of `[A-Za-z0-9-._~]`.
 * @returns the code challenge.
 * @throws {TypeError} when the verifier is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export async function pkceChallenge(codeVerifier: string): Promise<string> {
  checkCodeVerifier(codeVerifier);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(codeVerifier));
  return base64url(new Uint8Array(digest));
}

/**
 * Makes a fresh PKCE verifier (32 random bytes) and its S256 challenge.
 *
 * @returns the verifier to keep for the code exchange, and the challenge for the authorization URL.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4
 */
export async function createPkcePair(): Promise<PkcePair> {
  const code_verifier = randomUrlSafeString(32);
  return { code_verifier, code_challenge: await pkceChallenge(code_verifier), code_challenge_method: "S256" };
}
