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

  test("writes nonce, one resource or several (RFC 8707), and extension parameters, a list as a repeated one", () => {
    const url = new URL(
      buildAuthorizationUrl({
        authorizationEndpoint: "https://auth.example.org/authorize",
        clientId: "c",
        nonce: "n-0S6_WzA2Mj",
        resource: ["https://api.example.org/", "https://files.example.org/"],
        extraParams: { prompt: "login consent", acr_values: ["urn:a", "urn:b"] },
      }),
    );
    expect([...url.searchParams]).toEqual([
      ["response_type", "code"],
      ["client_id", "c"],
      ["nonce", "n-0S6_WzA2Mj"],
      ["resource", "https://api.example.org/"],
      ["resource", "https://files.example.org/"],
      ["prompt", "login consent"],
      ["acr_values", "urn:a"],
      ["acr_values", "urn:b"],
    ]);
    const one = new URL(
      buildAuthorizationUrl({
        authorizationEndpoint: "https://a.example.org/",
        clientId: "c",
        resource: "https://api.example.org/",
      }),
    );
    expect(one.searchParams.getAll("resource")).toEqual(["https://api.example.org/"]);
  });

  test.each(["client_id", "response_type", "state", "nonce", "resource", "code_challenge_method"])(
    "extraParams.%s is refused: a parameter of the authorization request goes by its own name",
    (name) => {
      expect(() =>
        buildAuthorizationUrl({
          authorizationEndpoint: "https://a.example.org/",
          clientId: "c",
          extraParams: { [name]: "x" },
        }),
      ).toThrow(`extraParams.${name} is a parameter of the authorization request`);
    },
  );

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
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "c", nonce: "" }, "nonce"],
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "c", resource: "api" }, "resource"],
    [{ authorizationEndpoint: "https://auth.example.org/a", clientId: "c", resource: [] }, "resource"],
    [
      { authorizationEndpoint: "https://auth.example.org/a", clientId: "c", extraParams: { prompt: 1 } },
      "extraParams.prompt",
    ],
  ])("rejects %j with a TypeError naming %s", (params, name) => {
    // Some are wrong for the types too, as a JavaScript caller may pass them.
    expect(() => buildAuthorizationUrl(params as never)).toThrow(new RegExp(name));
    expect(() => buildAuthorizationUrl(params as never)).toThrow(TypeError);
  });
});
