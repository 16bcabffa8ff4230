import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  discover,
  metadataPreset,
  OAuthError,
  type AuthorizationServerMetadata,
  type ClientAuthenticationMethod,
} from "../../src/index";
import { useOidcServer, type OidcServer, type RegisteredClient } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
});

function clientFor(
  registered: RegisteredClient,
  clientAuthentication: ClientAuthenticationMethod,
  secret = registered.clientSecret,
) {
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient(
    metadataPreset(metadata, { clientId: registered.clientId, clientSecret: secret, clientAuthentication, fetch }),
  );
  return { client, exchanges };
}

describe.for([
  ["client_secret_basic", () => server.basicClient],
  ["client_secret_post", () => server.postClient],
] as const)("client_credentials with %s", ([method, registered]) => {
  test("obtains a token the server then introspects as the client's", async () => {
    const { client, exchanges } = clientFor(registered(), method);
    const token = await client.clientCredentials({ scope: "read" });
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read" });
    expect(token.refresh_token).toBeUndefined();
    const info = await client.introspectToken({ token: token.access_token });
    expect(info).toMatchObject({
      active: true,
      client_id: registered().clientId,
      scope: "read",
      token_type: "Bearer",
      iss: server.issuer,
    });
    expect(exchanges.map((e) => [e.url, e.status])).toEqual([
      [metadata.token_endpoint, 200],
      [metadata.introspection_endpoint, 200],
    ]);
    const { clientId, clientSecret } = registered();
    for (const exchange of exchanges) {
      const body = Object.fromEntries(new URLSearchParams(exchange.requestBody));
      if (method === "client_secret_basic") {
        expect(exchange.requestHeaders.get("authorization")).toBe(`Basic ${btoa(`${clientId}:${clientSecret}`)}`);
        expect(body).not.toHaveProperty("client_secret");
      } else {
        expect(exchange.requestHeaders.get("authorization")).toBeNull();
        expect(body).toMatchObject({ client_id: clientId, client_secret: clientSecret });
      }
    }
  });

  test("a wrong secret is invalid_client", async () => {
    const { client } = clientFor(registered(), method, "not-the-secret");
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "invalid_client", status: 401 });
    // RFC 6749 §5.2: a failed Basic authentication comes with a Basic challenge.
    const challenge = (error as OAuthError).www_authenticate;
    if (method === "client_secret_basic") expect(challenge).toMatch(/^Basic realm=.*error="invalid_client"/);
    else expect(challenge).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain("not-the-secret");
  });

  test("a scope outside the client's registration is invalid_scope", async () => {
    const { client } = clientFor(registered(), method);
    // The server knows "write", but registered this client for "read" only.
    expect(metadata.scopes_supported).toContain("write");
    await expect(client.clientCredentials({ scope: "read write" })).rejects.toMatchObject({
      name: "OAuthError",
      error: "invalid_scope",
      status: 400,
    });
  });
});
