/**
 * `npm start`: starts the Prism mock built from spec/ on a free loopback port and walks through the four
 * token operations with the client, printing each result. Tokens are printed masked, as an app's logs should.
 */
import { fileURLToPath } from "node:url";
import { createOAuthClient, OAuthError } from "../src/index";
import { startPrism } from "./prism";

function mask(token: string | undefined): string | undefined {
  return token === undefined ? undefined : `${token.slice(0, 4)}… (${token.length} chars)`;
}

function show(title: string, value: unknown): void {
  console.log(`\n▶ ${title}`);
  console.log(JSON.stringify(value, null, 2));
}

const prism = await startPrism(fileURLToPath(new URL("../spec/openapi.yaml", import.meta.url)));
console.log(`Mock token server (Prism, from spec/openapi.yaml) listening on ${prism.url}`);
try {
  const client = createOAuthClient({
    baseUrl: prism.url,
    clientId: "s6BhdRkqt3",
    clientSecret: "demo-client-secret",
    clientAuthentication: "client_secret_basic",
  });

  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const token = await client.exchangeAuthorizationCode({
    code: "SplxlOBeZQQYbYS6WxSbIA",
    redirect_uri: "https://app.example.org/callback",
    code_verifier: verifier,
  });
  show("obtainToken (authorization_code + PKCE)", {
    ...token,
    access_token: mask(token.access_token),
    refresh_token: mask(token.refresh_token),
  });

  const introspection = await client.introspectToken({ token: token.access_token, token_type_hint: "access_token" });
  show("introspectToken", introspection);

  const refreshed = await client.refreshToken({ refresh_token: token.refresh_token!, scope: "read" });
  show("refreshToken (refresh_token grant)", {
    ...refreshed,
    access_token: mask(refreshed.access_token),
    refresh_token: mask(refreshed.refresh_token),
    rotated: refreshed.refresh_token !== undefined,
  });

  await client.revokeToken({
    token: refreshed.refresh_token ?? token.refresh_token!,
    token_type_hint: "refresh_token",
  });
  show("revokeToken", { revoked: true });

  try {
    // Ask the mock for its documented invalid_grant answer, as a server sends for an expired refresh token.
    await client.refreshToken(
      { refresh_token: token.refresh_token! },
      { headers: { Prefer: "code=400, example=invalid_grant" } },
    );
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    show("refreshToken with an expired refresh token → OAuthError", {
      name: error.name,
      error: error.error,
      status: error.status,
      error_description: error.error_description,
      requiresReauthorization: error.requiresReauthorization,
    });
  }
} finally {
  await prism.stop();
}
console.log("\nDone; the mock is stopped.");
