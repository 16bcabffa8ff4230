import { describe, expect, test } from "vitest";
import { createOAuthClient, discover, metadataPreset, type AuthorizationServerMetadata } from "../../src/index";
import { useOidcServer, type OidcServer } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;

useOidcServer((started) => {
  server = started;
});

describe("discover against oidc-provider", () => {
  let metadata: AuthorizationServerMetadata;

  test("reads the RFC 8414 document, and checks the issuer", async () => {
    const { fetch, exchanges } = recordingFetch();
    metadata = await discover(server.issuer, { fetch });
    expect(exchanges.map((e) => [new URL(e.url).pathname, e.status])).toEqual([
      ["/.well-known/oauth-authorization-server", 200],
    ]);
    expect(metadata).toMatchObject({
      issuer: server.issuer,
      token_endpoint: `${server.issuer}/token`,
      revocation_endpoint: `${server.issuer}/token/revocation`,
      introspection_endpoint: `${server.issuer}/token/introspection`,
      code_challenge_methods_supported: ["S256"],
    });
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]),
    );
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post", "none"]),
    );
  });

  test("the OpenID Connect document carries the same endpoints", async () => {
    const response = await fetch(`${server.issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(10_000),
    });
    const oidc = (await response.json()) as AuthorizationServerMetadata;
    for (const name of [
      "issuer",
      "token_endpoint",
      "revocation_endpoint",
      "introspection_endpoint",
      "authorization_endpoint",
    ] as const) {
      expect(oidc[name]).toBe(metadata[name]);
    }
  });

  test("metadataPreset configures the three endpoints and the client's method", () => {
    const { basicClient, postClient, publicClient } = server;
    const basic = metadataPreset(metadata, { clientId: basicClient.clientId, clientSecret: basicClient.clientSecret });
    expect(basic).toMatchObject({
      baseUrl: server.issuer,
      clientAuthentication: "client_secret_basic",
      endpoints: {
        token: metadata.token_endpoint,
        revoke: metadata.revocation_endpoint,
        introspect: metadata.introspection_endpoint,
      },
    });
    const post = metadataPreset(metadata, { ...postClient, clientAuthentication: "client_secret_post" });
    expect(post.clientAuthentication).toBe("client_secret_post");
    expect(metadataPreset(metadata, { clientId: publicClient.clientId }).clientAuthentication).toBe("none");
  });

  test("a client configured from the metadata reaches the discovered token endpoint", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient(metadataPreset(metadata, { ...server.basicClient, fetch }));
    await expect(client.clientCredentials()).resolves.toMatchObject({ token_type: "Bearer" });
    expect(exchanges.map((e) => [e.url, e.status])).toEqual([[metadata.token_endpoint, 200]]);
  });
});
