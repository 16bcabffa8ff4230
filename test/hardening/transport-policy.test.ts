import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOAuthClient, OAuthResponseError, type OAuthClientOptions } from "../../src/index";

const CREDENTIALS = { clientId: "id", clientSecret: "CLIENT-SECRET-policy-3f9e" };

describe("https only, except loopback or an explicit opt-in", () => {
  test.each([
    ["https://auth.example.org"],
    ["http://127.0.0.1:4010"],
    ["http://127.8.9.10"],
    ["http://localhost:8080/oauth"],
    ["http://[::1]:8443"],
  ])("%s is accepted", (baseUrl) => {
    expect(() => createOAuthClient({ baseUrl, ...CREDENTIALS })).not.toThrow();
  });

  test.each([
    ["a public host", "http://auth.example.org"],
    ["a private address", "http://10.0.0.7:8080"],
    ["a name that only starts like localhost", "http://localhost.example.org"],
    ["a name that only starts like a loopback address", "http://127.0.0.1.nip.io"],
    ["the unspecified address", "http://0.0.0.0:4010"],
  ])("plain http to %s is a TypeError naming the way out", (_, baseUrl) => {
    expect(() => createOAuthClient({ baseUrl, ...CREDENTIALS })).toThrow(
      /options\.baseUrl must be an https URL.*allowInsecureHttp/,
    );
  });

  test("an absolute endpoint over plain http to a public host is refused too", () => {
    const options: OAuthClientOptions = {
      baseUrl: "https://auth.example.org",
      ...CREDENTIALS,
      endpoints: { revoke: "http://auth.example.org/revoke" },
    };
    expect(() => createOAuthClient(options)).toThrow(/options\.endpoints\.revoke must be an https URL/);
  });

  test("allowInsecureHttp: true lets plain http through, for a gateway on a private network", () => {
    expect(() =>
      createOAuthClient({
        baseUrl: "http://10.0.0.7:8080",
        ...CREDENTIALS,
        allowInsecureHttp: true,
        endpoints: { token: "http://auth.internal/token" },
      }),
    ).not.toThrow();
  });

  test("allowInsecureHttp must be a boolean", () => {
    expect(() => createOAuthClient({ baseUrl: "https://auth.example.org", allowInsecureHttp: "yes" as never })).toThrow(
      TypeError,
    );
  });
});

describe("redirects are not followed", () => {
  let server: Server;
  let baseUrl: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.url ?? "");
      request.resume();
      request.on("end", () => {
        if (request.url?.startsWith("/moved")) {
          response.writeHead(Number(request.url.slice(-3)), { Location: "/final" });
          response.end("<p>moved</p>");
          return;
        }
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ access_token: "ACCESS-after-redirect", token_type: "Bearer", active: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const calls = (client: ReturnType<typeof createOAuthClient>) => [
    () => client.clientCredentials(),
    () => client.revokeToken({ token: "opaque-token-value" }),
    () => client.introspectToken({ token: "opaque" }),
  ];

  for (const status of [301, 302, 303, 307, 308]) {
    test(`HTTP ${status} on a token, revocation or introspection request is an OAuthResponseError; the target is never asked, nothing is retried`, async () => {
      const path = `/moved-${status}`;
      // Node's own fetch refuses the redirect itself (redirect: "error"), so status and target are unknown.
      const client = createOAuthClient({
        baseUrl,
        ...CREDENTIALS,
        endpoints: { token: path, revoke: path, introspect: path },
      });
      seen.length = 0;
      for (const [i, call] of calls(client).entries()) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OAuthResponseError);
        const operation = ["token", "revoke", "introspect"][i];
        expect(error).toMatchObject({
          status: 0,
          message: `${operation} request to ${new URL(baseUrl).host}: the server answered with a redirect; token requests do not follow redirects: configure the endpoint's final URL`,
        });
      }
      expect(seen).toEqual([path, path, path]);
    });

    test(`HTTP ${status} through a custom fetch is handed back (redirect: "manual"), so the error names its status and target`, async () => {
      const path = `/moved-${status}`;
      const modes: (string | undefined)[] = [];
      const client = createOAuthClient({
        baseUrl,
        ...CREDENTIALS,
        endpoints: { token: path, revoke: path, introspect: path },
        fetch: (input, init) => {
          modes.push(init?.redirect);
          return fetch(input, init);
        },
      });
      seen.length = 0;
      for (const call of calls(client)) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OAuthResponseError);
        expect(error).toMatchObject({
          status,
          message: expect.stringContaining(`redirect (HTTP ${status} to ${baseUrl})`),
        });
      }
      expect(modes).toEqual(["manual", "manual", "manual"]);
      expect(seen).toEqual([path, path, path]);
    });
  }
});
