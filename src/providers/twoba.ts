import { checkNonEmptyString, checkObject } from "../core/validate";
import type { OAuthClientOptions } from "../oauth/options";
import { maskSecrets, transportOptions, type TransportOptions } from "./preset";

/**
 * Options of {@link twoBAPreset}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export interface TwoBAPresetOptions extends Omit<TransportOptions, "baseUrl"> {
  /** 2BA's authorization server (`AuthorizeServer` in 2BA's examples); `/OAuth/Token` is appended to it. */
  baseUrl: string;
  /** The client ID 2BA gave the software partner. */
  clientId: string;
  /** The client secret 2BA gave the software partner. */
  clientSecret: string;
}

/**
 * Client options for 2BA's token service: a standard server at its own path. A form body with `client_id` and
 * `client_secret` in it (`client_secret_post`), at `{AuthorizeServer}/OAuth/Token`. 2BA rotates refresh
 * tokens: store the new one from every answer. An expired refresh token answers 400 `invalid_grant`, and the
 * user must sign in again. 2BA needs no adapter: it differs from the standard only in configuration.
 *
 * @param options - the authorization server and the partner's client credentials.
 * @returns options for `createOAuthClient`.
 * @throws {TypeError} when an option is malformed.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function twoBAPreset(options: TwoBAPresetOptions): OAuthClientOptions<"form"> {
  checkObject(options, "twoBAPreset options");
  checkNonEmptyString(options.baseUrl, "baseUrl");
  checkNonEmptyString(options.clientId, "clientId");
  checkNonEmptyString(options.clientSecret, "clientSecret");
  return maskSecrets({
    baseUrl: options.baseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    clientAuthentication: "client_secret_post",
    requestFormat: "form",
    endpoints: { token: "/OAuth/Token" },
    ...transportOptions(options, {}),
  });
}
