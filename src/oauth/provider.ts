import type { ErrorReader } from "../core/answers";
import type { ClientAuthentication } from "../core/auth";
import type { OperationId } from "../core/request";
import type { ClientContext } from "./context";

/**
 * The client's credentials, from its options.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export interface ClientCredentials {
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

/**
 * What a provider plugs into the client: where it differs from the standard, and nothing else. The core
 * names no provider; a provider's file imports the core, never the other way round, so a provider's code
 * costs only the apps that import it.
 *
 * @typeParam M - the methods the provider adds to (or replaces on) the client.
 * @see https://github.com/octokit/core.js#plugins
 */
export interface ProviderAdapter<M extends object = object> {
  /** The provider's name, for messages. */
  readonly name: string;
  /**
   * The client authentication of one operation where the provider's differs from the configured one
   * (a header of the provider's own on one operation); `undefined` keeps the configured one.
   */
  authentication?(operationId: OperationId, credentials: ClientCredentials): ClientAuthentication | undefined;
  /** The provider's error body shapes, read after RFC 6749 §5.2's. */
  readonly errorReaders?: readonly ErrorReader[];
  /** Methods the provider adds or replaces, built on the client's request steps. */
  extend?(context: ClientContext): M;
}
