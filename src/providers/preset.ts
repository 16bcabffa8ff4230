import { REDACTED, SECRET_HEADERS } from "../core/redact";
import type { OAuthClientOptions } from "../oauth/options";
import type { RequestFormat } from "../oauth/token";

/** What the providers' presets share: the transport options every preset takes, and printing without secrets. */

/** What every preset takes besides the provider's own settings. */
export interface TransportOptions {
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** More headers for every request. */
  headers?: Record<string, string>;
  /** The server's base URL instead of the provider's, such as a proxy or a mock. */
  baseUrl?: string;
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

function printable(this: OAuthClientOptions<RequestFormat, object>): object {
  const headers =
    this.headers &&
    Object.fromEntries(
      Object.entries(this.headers).map(([k, v]) => [k, SECRET_HEADERS.includes(k.toLowerCase()) ? REDACTED : v]),
    );
  const { provider, clientAuthentication, ...rest } = this;
  return {
    ...rest,
    ...(this.clientSecret !== undefined && { clientSecret: REDACTED }),
    ...(headers && { headers }),
    ...(clientAuthentication !== undefined && {
      clientAuthentication:
        typeof clientAuthentication === "string" ? clientAuthentication : clientAuthentication.method,
    }),
    ...(provider && { provider: provider.name }),
  };
}

/**
 * Options that print without their secrets: `JSON.stringify` and `util.inspect` show the client secret and
 * secret headers as `[REDACTED]`. The fields stay ordinary, enumerable properties, so the options spread and
 * pass to `createOAuthClient` unchanged.
 *
 * @param options - client options holding credentials.
 * @returns the same object, made safe to print.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.1
 */
export function maskSecrets<T extends OAuthClientOptions<RequestFormat, object>>(options: T): T {
  const hidden = { value: printable, enumerable: false, writable: true, configurable: true };
  return Object.defineProperties(options, { toJSON: hidden, [INSPECT]: hidden });
}

/** A preset's fetch and headers, with the provider's own headers. */
export function transportOptions(
  options: TransportOptions,
  headers: Record<string, string>,
): Pick<OAuthClientOptions, "fetch" | "headers"> {
  const all = { ...options.headers, ...headers };
  return {
    ...(options.fetch && { fetch: options.fetch }),
    ...(Object.keys(all).length > 0 && { headers: all }),
  };
}
