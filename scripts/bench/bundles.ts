/**
 * The bundles issue 22's size targets name, read from scripts/size.ts where it has them.
 */
import { OWN_BUNDLES } from "../size";

export interface NamedBundle {
  /** What the bench prints: scripts/size.ts's name for it, or what it holds. */
  label: string;
  /** Where it comes from. */
  source: string;
  /** A column head. */
  short: string;
  /** The module's source, resolved from the project root. */
  contents: string;
}

/**
 * The bundle of one client_credentials call: scripts/size.ts's own entry for it once it has one (any name that
 * says client_credentials, as "client_credentials alone"), else `createOAuthClient` and one `clientCredentials`
 * call, labelled so: an app with one call bundles what that call keeps.
 */
export function clientCredentialsBundle(): NamedBundle {
  const own = Object.entries(OWN_BUNDLES as Record<string, string>).find(([name]) =>
    /client[ _-]?credentials/i.test(name),
  );
  if (own) return { label: own[0], source: "scripts/size.ts", short: "client_credentials call", contents: own[1] };
  return {
    short: "client_credentials call",
    label: "createOAuthClient + one clientCredentials call",
    source: "made here: scripts/size.ts has no client_credentials entry yet",
    contents: `import { createOAuthClient } from "./src/index.ts";
export const token = (options, params) => createOAuthClient(options).clientCredentials(params);`,
  };
}

/** The three bundles issue 22 sets a size for. */
export function targetBundles(): { clientCredentials: NamedBundle; client: NamedBundle; manager: NamedBundle } {
  return {
    clientCredentials: clientCredentialsBundle(),
    client: { label: "client", source: "scripts/size.ts", short: "createOAuthClient", contents: OWN_BUNDLES.client },
    manager: {
      label: "client + token manager",
      source: "scripts/size.ts",
      short: "with the token manager",
      contents: OWN_BUNDLES["client + token manager"],
    },
  };
}

/** The peers' bundles for the same work, by name. */
export const PEER_BUNDLES = {
  "bare openapi-fetch": `export { default } from "openapi-fetch";`,
  oauth4webapi: `export { clientCredentialsGrantRequest, processClientCredentialsResponse, ClientSecretBasic } from "oauth4webapi";`,
  "openid-client": `export { Configuration, clientCredentialsGrant } from "openid-client";`,
} as const;
