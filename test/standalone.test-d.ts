import { describe, expectTypeOf, test } from "vitest";
import {
  authorizationCodeGrant,
  clientCredentialsGrant,
  createOAuthClient,
  introspectToken,
  refreshTokenGrant,
  revokeToken,
  squarePreset,
  voucherifyPreset,
  type IntrospectionResponse,
  type OAuthClient,
  type TokenResponse,
} from "../src/index";

const options = { baseUrl: "https://auth.example.org", clientId: "id", clientSecret: "secret" };
const client: OAuthClient = createOAuthClient(options);

describe("the functions imported by name", () => {
  test("take the parameters of the client method they stand for", () => {
    expectTypeOf(clientCredentialsGrant).parameter(1).toEqualTypeOf<Parameters<typeof client.clientCredentials>[0]>();
    expectTypeOf(refreshTokenGrant).parameter(1).toEqualTypeOf<Parameters<typeof client.refreshToken>[0]>();
    expectTypeOf(authorizationCodeGrant)
      .parameter(1)
      .toEqualTypeOf<Parameters<typeof client.exchangeAuthorizationCode>[0]>();
    expectTypeOf(revokeToken).parameter(1).toEqualTypeOf<Parameters<typeof client.revokeToken>[0]>();
    expectTypeOf(introspectToken).parameter(1).toEqualTypeOf<Parameters<typeof client.introspectToken>[0]>();
  });

  test("resolve to what the client method resolves to", () => {
    expectTypeOf(clientCredentialsGrant(options)).toEqualTypeOf<Promise<TokenResponse>>();
    expectTypeOf(refreshTokenGrant(options, { refresh_token: "rt" })).toEqualTypeOf<Promise<TokenResponse>>();
    expectTypeOf(authorizationCodeGrant(options, { code: "c" })).toEqualTypeOf<Promise<TokenResponse>>();
    expectTypeOf(revokeToken(options, { token: "t" })).toEqualTypeOf<Promise<void>>();
    expectTypeOf(introspectToken(options, { token: "t" })).toEqualTypeOf<Promise<IntrospectionResponse>>();
  });

  test("take a form preset, and refuse a JSON one", () => {
    clientCredentialsGrant(voucherifyPreset({ appId: "id", appToken: "token" }), { scope: "vouchers" });
    // @ts-expect-error Square's preset sends JSON bodies, which are the client's
    clientCredentialsGrant(squarePreset({ clientId: "id", clientSecret: "secret" }));
    // @ts-expect-error JSON bodies are the client's
    revokeToken({ ...options, requestFormat: "json" }, { token: "t" });
  });

  test("refuse fields the spec does not give the grant", () => {
    // @ts-expect-error the scope is a string
    clientCredentialsGrant(options, { scope: ["api"] });
    // @ts-expect-error a refresh needs its refresh_token
    refreshTokenGrant(options, { scope: "api" });
    // @ts-expect-error client authentication comes from the options
    authorizationCodeGrant(options, { code: "c", client_secret: "secret" });
    // @ts-expect-error not a grant's field
    authorizationCodeGrant(options, { code: "c", refresh_token: "rt" });
    // @ts-expect-error not a token type hint of the spec
    revokeToken(options, { token: "t", token_type_hint: "id_token" });
    // @ts-expect-error introspection needs a token
    introspectToken(options, {});
    // @ts-expect-error the options need a baseUrl
    clientCredentialsGrant({ clientId: "id" });
  });
});
