import { describe, expect, test } from "vitest";
import { buildAuthorizationUrl } from "../src/oauth/authorization-url";
import { createPkcePair } from "../src/oauth/pkce";

describe("buildAuthorizationUrl", () => {
  test("writes the RFC 6749 §4.1.1 and RFC 7636 §4.3 parameters, keeping the endpoint's own query", async () => {
    const { code_challenge } = await createPkcePair();
    const url = new URL(
      buildAuthorizationUrl({
        authorizationEndpoint: "https://auth.example.org/authorize?tenant=acme",
        clientId: "s6BhdRkqt3",
        redirectUri: "https://app.example.org/callback?x=1",
        scope: ["read", "write"],
        state: "xyz",
        codeChallenge: code_challenge,
        extraParams: { prompt: "consent", nonce: undefined },
      }),
    );
    expect(url.origin + url.pathname).toBe("https://auth.example.org/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: "acme",
      response_type: "code",
      client_id: "s6BhdRkqt3",
      redirect_uri: "https://app.example.org/callback?x=1",
      scope: "read write",
      state: "xyz",
      code_challenge,
      code_challenge_method: "S256",
      prompt: "consent",
    });
  });

  test("leaves out what was not given", () => {
    const url = new URL(
      buildAuthorizationUrl({ authorizationEndpoint: "https://auth.example.org/authorize", clientId: "c" }),
    );
    expect([...url.searchParams.keys()]).toEqual(["response_type", "client_id"]);
  });

  test.each([
    [{ authorizationEndpoint: "/authorize", clientId: "c" }, "absolute"],
    [{ authorizationEndpoint: "ftp://auth.example.org/a", clientId: "c" }, "http"],
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "" }, "clientId"],
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "c", scope: "" }, "scope"],
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "c", redirectUri: "/cb" }, "redirectUri"],
    [
      { authorizationEndpoint: "https://auth.example.org/a", clientId: "c", codeChallenge: "plain-verifier" },
      "codeChallenge",
    ],
  ])("rejects %j with a TypeError naming %s", (params, name) => {
    expect(() => buildAuthorizationUrl(params)).toThrow(new RegExp(name));
    expect(() => buildAuthorizationUrl(params)).toThrow(TypeError);
  });
});
