import { describe, expectTypeOf, test } from "vitest";
import {
  createDpopKey,
  createOAuthClient,
  privateKeyJwt,
  squarePreset,
  type ClientAuthentication,
  type DpopKey,
  type TokenManagerBaseOptions,
  type components,
  type IntrospectionResponse,
  type OAuthClient,
  pushAuthorizationRequest,
  validateAuthorizationResponse,
  type PushedAuthorization,
  type RenewTokenResponse,
  type TokenResponse,
} from "../src/index";

type Schemas = components["schemas"];

const form = createOAuthClient({ baseUrl: "https://auth.example.org", clientId: "id", clientSecret: "secret" });
const json = createOAuthClient({
  baseUrl: "https://connect.squareup.com",
  clientId: "id",
  clientSecret: "secret",
  requestFormat: "json",
});

describe("createOAuthClient", () => {
  test("infers the request format from the options", () => {
    expectTypeOf(form).toEqualTypeOf<OAuthClient<"form">>();
    expectTypeOf(json).toEqualTypeOf<OAuthClient<"json">>();
  });

  test("rejects unknown options, authentication methods, formats and operations", () => {
    // @ts-expect-error baseUrl is required
    createOAuthClient({ clientId: "id" });
    // @ts-expect-error not an authentication method of the client
    createOAuthClient({ baseUrl: "https://a.example", clientAuthentication: "private_key_jwt" });
    // @ts-expect-error not a request format
    createOAuthClient({ baseUrl: "https://a.example", requestFormat: "xml" });
    // @ts-expect-error not an operation name
    createOAuthClient({ baseUrl: "https://a.example", endpoints: { tokens: "/oauth/token" } });
  });
});

describe("obtainToken", () => {
  test("takes each grant with its own fields", () => {
    expectTypeOf(form.obtainToken).toBeCallableWith({ grant_type: "client_credentials", scope: "read" });
    expectTypeOf(form.obtainToken).toBeCallableWith({
      grant_type: "authorization_code",
      code: "c",
      code_verifier: "v",
      redirect_uri: "https://a.example/cb",
    });
    expectTypeOf(form.obtainToken).toBeCallableWith({ grant_type: "refresh_token", refresh_token: "r" });
    expectTypeOf(form.obtainToken).toBeCallableWith({ grant_type: "migration_token", migration_token: "m" });
    expectTypeOf(form.obtainToken).returns.resolves.toEqualTypeOf<TokenResponse>();
  });

  test("rejects a field of another grant, a missing required field and an unknown grant", () => {
    // @ts-expect-error code is not a field of client_credentials
    void form.obtainToken({ grant_type: "client_credentials", code: "c" });
    // @ts-expect-error refresh_token is required by the refresh_token grant
    void form.obtainToken({ grant_type: "refresh_token" });
    // @ts-expect-error code is required by the authorization_code grant
    void form.obtainToken({ grant_type: "authorization_code", redirect_uri: "https://a.example/cb" });
    // @ts-expect-error migration_token is required by the migration_token grant
    void form.obtainToken({ grant_type: "migration_token" });
    // @ts-expect-error password is not a grant of the spec
    void form.obtainToken({ grant_type: "password", username: "u", password: "p" });
  });

  test("never takes the client's credentials: they come from the options", () => {
    // @ts-expect-error client_secret comes from the options
    void form.obtainToken({ grant_type: "client_credentials", client_secret: "secret" });
    // @ts-expect-error client_id comes from the options
    void json.obtainToken({ grant_type: "refresh_token", refresh_token: "r", client_id: "id" });
  });

  test("takes Square's scopes and short_lived only from a JSON client", () => {
    // @ts-expect-error scopes needs requestFormat "json"
    void form.obtainToken({ grant_type: "refresh_token", refresh_token: "r", scopes: ["PAYMENTS_READ"] });
    expectTypeOf(json.obtainToken).toBeCallableWith({
      grant_type: "refresh_token",
      refresh_token: "r",
      scopes: ["PAYMENTS_READ"],
    });
    expectTypeOf(json.obtainToken).toBeCallableWith({ grant_type: "authorization_code", code: "c", short_lived: true });
    // @ts-expect-error scopes is a list, not Square's space-delimited string
    void json.obtainToken({ grant_type: "refresh_token", refresh_token: "r", scopes: "PAYMENTS_READ" });
  });
});

describe("grant helpers", () => {
  test("exchangeAuthorizationCode needs code and rejects other grants' fields", () => {
    expectTypeOf(form.exchangeAuthorizationCode).toBeCallableWith({ code: "c", code_verifier: "v" });
    // @ts-expect-error code is required
    void form.exchangeAuthorizationCode({ code_verifier: "v" });
    // @ts-expect-error refresh_token is not a field of authorization_code
    void form.exchangeAuthorizationCode({ code: "c", refresh_token: "r" });
    // @ts-expect-error short_lived needs requestFormat "json"
    void form.exchangeAuthorizationCode({ code: "c", short_lived: true });
    expectTypeOf(json.exchangeAuthorizationCode).toBeCallableWith({ code: "c", short_lived: true });
  });

  test("refreshToken needs refresh_token; scopes only with a JSON client", () => {
    // @ts-expect-error refresh_token is required
    void form.refreshToken({ scope: "read" });
    // @ts-expect-error scopes needs requestFormat "json"
    void form.refreshToken({ refresh_token: "r", scopes: ["PAYMENTS_READ"] });
    expectTypeOf(json.refreshToken).toBeCallableWith({ refresh_token: "r", scopes: ["PAYMENTS_READ"] });
    expectTypeOf(form.refreshToken).returns.resolves.toEqualTypeOf<TokenResponse>();
  });

  test("clientCredentials takes an optional scope and nothing of other grants", () => {
    expectTypeOf(form.clientCredentials).toBeCallableWith();
    expectTypeOf(form.clientCredentials).toBeCallableWith({ scope: "api" });
    // @ts-expect-error code is not a field of client_credentials
    void form.clientCredentials({ code: "c" });
    // @ts-expect-error grant_type is set by the helper
    void form.clientCredentials({ grant_type: "refresh_token" });
  });
});

describe("Square's methods", () => {
  const square = createOAuthClient(squarePreset({ clientId: "sq0idp-app", clientSecret: "secret" }));

  test("a standard client lists only the standard operations", () => {
    // @ts-expect-error renewToken is Square's
    void form.renewToken;
    // @ts-expect-error retrieveTokenStatus is Square's
    void json.retrieveTokenStatus;
  });

  test("a Square client adds renewToken, which needs access_token and answers Square's renewal", () => {
    // @ts-expect-error access_token is required
    void square.renewToken({});
    expectTypeOf(square.renewToken).toBeCallableWith({ access_token: "t" });
    expectTypeOf(square.renewToken).returns.resolves.toEqualTypeOf<RenewTokenResponse>();
    expectTypeOf(square.retrieveTokenStatus).toBeCallableWith({ access_token: "t" });
    expectTypeOf(square).toMatchTypeOf<OAuthClient<"json">>();
  });
});

describe("revokeToken", () => {
  test("a form client takes RFC 7009's token and hint, or Voucherify's access_token", () => {
    expectTypeOf(form.revokeToken).toBeCallableWith({ token: "t", token_type_hint: "refresh_token" });
    expectTypeOf(form.revokeToken).toBeCallableWith({ access_token: "t" });
    // @ts-expect-error token is required
    void form.revokeToken({ token_type_hint: "access_token" });
    // @ts-expect-error not a token type hint of RFC 7009
    void form.revokeToken({ token: "t", token_type_hint: "id_token" });
    // @ts-expect-error merchant_id is Square's, for a JSON client
    void form.revokeToken({ merchant_id: "M" });
    expectTypeOf(form.revokeToken).returns.resolves.toEqualTypeOf<void>();
  });

  test("a JSON client takes Square's access_token or merchant_id", () => {
    expectTypeOf(json.revokeToken).toBeCallableWith({ access_token: "t", revoke_only_access_token: true });
    expectTypeOf(json.revokeToken).toBeCallableWith({ merchant_id: "M" });
    // @ts-expect-error access_token or merchant_id is required
    void json.revokeToken({ revoke_only_access_token: true });
    // @ts-expect-error token is RFC 7009's, for a form client
    void json.revokeToken({ token: "t" });
  });
});

describe("introspectToken", () => {
  test("takes token or Voucherify's access_token", () => {
    expectTypeOf(form.introspectToken).toBeCallableWith({ token: "t", token_type_hint: "access_token" });
    expectTypeOf(json.introspectToken).toBeCallableWith({ access_token: "t" });
    // @ts-expect-error token is required
    void form.introspectToken({});
    // @ts-expect-error not a token type hint of RFC 7662
    void form.introspectToken({ token: "t", token_type_hint: "id_token" });
  });

  test("answers a union that narrows on active", async () => {
    const answer = await form.introspectToken({ token: "t" });
    expectTypeOf(answer).toEqualTypeOf<IntrospectionResponse>();
    if (answer.active) {
      expectTypeOf(answer).toEqualTypeOf<Schemas["ActiveTokenIntrospection"]>();
      expectTypeOf(answer.scope).toEqualTypeOf<string | undefined>();
      expectTypeOf(answer.exp).toEqualTypeOf<number | undefined>();
    } else {
      expectTypeOf(answer).toEqualTypeOf<Schemas["InactiveTokenIntrospection"]>();
      // @ts-expect-error an inactive answer carries nothing but active
      void answer.scope;
    }
  });
});

describe("TokenResponse", () => {
  test("has the required fields typed and the lifetime fields optional", async () => {
    const token = await form.clientCredentials();
    expectTypeOf(token.access_token).toEqualTypeOf<string>();
    expectTypeOf(token.token_type).toEqualTypeOf<string>();
    expectTypeOf(token.expires_in).toEqualTypeOf<number | undefined>();
    expectTypeOf(token.expires_at).toEqualTypeOf<string | number | undefined>();
    expectTypeOf(token.refresh_token).toEqualTypeOf<string | undefined>();
  });
});

describe("call options", () => {
  test("take an AbortSignal and headers, nothing else", () => {
    expectTypeOf(form.clientCredentials).toBeCallableWith(undefined, {
      signal: AbortSignal.timeout(1000),
      headers: { Prefer: "code=200" },
    });
    // @ts-expect-error a signal must be an AbortSignal
    void form.clientCredentials(undefined, { signal: { aborted: false } });
    // @ts-expect-error header values are strings
    void form.clientCredentials(undefined, { headers: { "X-Retry": 1 } });
  });
});

describe("the user's authorization", () => {
  test("pushAuthorizationRequest takes the spec's authorization request, without response_type or credentials", () => {
    const request = {
      redirect_uri: "https://app.example.org/cb",
      code_challenge: "c",
      code_challenge_method: "S256" as const,
    };
    expectTypeOf(pushAuthorizationRequest).toBeCallableWith(form, "https://auth.example.org/authorize", request);
    expectTypeOf(pushAuthorizationRequest).toBeCallableWith(form, "https://auth.example.org/authorize", {
      resource: ["https://api.example.org/", "https://files.example.org/"],
      nonce: "n",
    });
    expectTypeOf(pushAuthorizationRequest).returns.resolves.toEqualTypeOf<PushedAuthorization>();
    // @ts-expect-error response_type is always code, set by the helper
    void pushAuthorizationRequest(form, "https://auth.example.org/authorize", { response_type: "code" });
    // @ts-expect-error client_id comes from the client
    void pushAuthorizationRequest(form, "https://auth.example.org/authorize", { client_id: "id" });
    // @ts-expect-error the only challenge method is S256
    void pushAuthorizationRequest(form, "https://auth.example.org/authorize", { code_challenge_method: "plain" });
  });

  test("validateAuthorizationResponse returns the code as a string, and needs the state sent", () => {
    const response = validateAuthorizationResponse("https://app.example.org/cb?code=c&state=s", { expectedState: "s" });
    expectTypeOf(response.code).toEqualTypeOf<string>();
    expectTypeOf(response.iss).toEqualTypeOf<string | undefined>();
    // @ts-expect-error expectedState is required: a string, or null when the request sent none
    void validateAuthorizationResponse("https://app.example.org/cb?code=c", {});
  });
});

describe("JWT client authentication and DPoP", () => {
  test("client_assertion and client_assertion_type come from the client's authentication, never from a request", () => {
    // @ts-expect-error the assertion is written by privateKeyJwt or clientSecretJwt
    void form.clientCredentials({ client_assertion: "a.b.c" });
    void form.refreshToken({
      refresh_token: "r",
      // @ts-expect-error so is its type
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    });
    // @ts-expect-error at revocation too
    void form.revokeToken({ token: "t", client_assertion: "a.b.c" });
    expectTypeOf(privateKeyJwt).returns.toEqualTypeOf<ClientAuthentication>();
  });

  test("a DPoP key goes in a call's options and in the token manager's", () => {
    expectTypeOf(createDpopKey).returns.resolves.toEqualTypeOf<DpopKey>();
    expectTypeOf(form.clientCredentials).toBeCallableWith({ scope: "read" }, { dpop: {} as DpopKey });
    expectTypeOf<TokenManagerBaseOptions["dpop"]>().toEqualTypeOf<DpopKey | undefined>();
  });
});
