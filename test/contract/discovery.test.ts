import { describe, expect, inject, test } from "vitest";
import {
  createOAuthClient,
  discover,
  metadataPreset,
  OAuthResponseError,
  type AuthorizationServerMetadata,
} from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import {
  expectAnswer,
  operation,
  responseCases,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type ResponseCase,
} from "../helpers/spec";

const prismUrl = inject("prismUrl");
const RFC8414 = operation("getAuthorizationServerMetadata").path;
const OIDC = operation("getOpenIdConfiguration").path;
const rfc8414Answers = responseCases("getAuthorizationServerMetadata");
const oidcAnswers = responseCases("getOpenIdConfiguration");
const metadataAnswer = (answers: ResponseCase[]) => answers.find((a) => a.status === 200)!;
const notFound = (answers: ResponseCase[]) => answers.find((a) => a.status === 404)!;
const metadata = metadataAnswer(rfc8414Answers).value as AuthorizationServerMetadata;
/** The issuer the spec's example names; Prism serves it on another port, so requests are sent to Prism. */
const ISSUER = metadata.issuer;

/**
 * A recording `fetch` that sends every request for the example's issuer to Prism instead (the way a proxy
 * would), with the `Prefer` header chosen for its path, so each documented answer can be asked for.
 */
function viaPrism(prefer: Record<string, ResponseCase> = {}) {
  const recorder = recordingFetch();
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const target = new URL(`${url.pathname}${url.search}`, prismUrl);
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(prefer[url.pathname]?.requestHeaders ?? {})) headers.set(name, value);
    const body = request.method === "GET" ? undefined : await request.text();
    return recorder.fetch(target, { method: request.method, headers, body, signal: request.signal });
  };
  return { fetch, exchanges: recorder.exchanges };
}

describe("discover (getAuthorizationServerMetadata, getOpenIdConfiguration)", () => {
  test("the spec documents metadata and a 404 for both documents", () => {
    for (const answers of [rfc8414Answers, oidcAnswers]) {
      expect(answers.map((a) => a.status)).toEqual([200, 404]);
      expect(metadataAnswer(answers).value).toMatchObject({ issuer: ISSUER, token_endpoint: `${ISSUER}/oauth2/token` });
    }
    expect(operation("getAuthorizationServerMetadata").method).toBe("get");
    expect(operation("getOpenIdConfiguration").method).toBe("get");
  });

  test(`RFC 8414 ${metadataAnswer(rfc8414Answers).title}: the metadata, from the first document`, async () => {
    const { fetch, exchanges } = viaPrism({ [RFC8414]: metadataAnswer(rfc8414Answers) });
    await expectAnswer(discover(ISSUER, { fetch }), metadataAnswer(rfc8414Answers));
    expect(exchanges.map((e) => [e.method, new URL(e.url).pathname, e.status, e.violations])).toEqual([
      ["GET", RFC8414, 200, null],
    ]);
  });

  test(`RFC 8414 ${notFound(rfc8414Answers).title}, then OpenID ${metadataAnswer(oidcAnswers).title}: falls back`, async () => {
    const { fetch, exchanges } = viaPrism({ [RFC8414]: notFound(rfc8414Answers), [OIDC]: metadataAnswer(oidcAnswers) });
    await expectAnswer(discover(ISSUER, { fetch }), metadataAnswer(oidcAnswers));
    expect(exchanges.map((e) => [e.method, new URL(e.url).pathname, e.status, e.violations])).toEqual([
      ["GET", RFC8414, 404, null],
      ["GET", OIDC, 200, null],
    ]);
  });

  test(`both ${notFound(oidcAnswers).title}: an OAuthResponseError naming what was tried`, async () => {
    const { fetch, exchanges } = viaPrism({ [RFC8414]: notFound(rfc8414Answers), [OIDC]: notFound(oidcAnswers) });
    const error = await discover(ISSUER, { fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toContain(`${RFC8414} (HTTP 404)`);
    expect((error as Error).message).toContain(`${OIDC} (HTTP 404)`);
    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([
      [404, null],
      [404, null],
    ]);
  });

  test("a document whose issuer is another server's is refused (RFC 8414 §3.3)", async () => {
    // Prism's example names http://127.0.0.1:4010; asked for Prism's own address, the issuers differ.
    const { fetch, exchanges } = recordingFetch();
    await expect(discover(prismUrl, { fetch })).rejects.toThrow(/"issuer" must equal/);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.violations).toBeNull();
  });

  test("a signal that already fired rejects with its reason, before any answer", async () => {
    const { fetch } = viaPrism();
    const reason = new Error("stop");
    const controller = new AbortController();
    controller.abort(reason);
    await expect(discover(ISSUER, { fetch, signal: controller.signal })).rejects.toBe(reason);
  });
});

describe("metadataPreset on the spec's metadata", () => {
  test("configures the endpoints, and the method every endpoint supports", () => {
    const options = metadataPreset(metadata, { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET });
    expect(options).toStrictEqual({
      baseUrl: ISSUER,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      // The token endpoint takes basic, post and none; revocation and introspection take basic only.
      clientAuthentication: "client_secret_basic",
      requestFormat: "form",
      endpoints: {
        token: metadata.token_endpoint,
        revoke: metadata.revocation_endpoint,
        introspect: metadata.introspection_endpoint,
        deviceAuthorization: metadata.device_authorization_endpoint,
        pushedAuthorizationRequest: metadata.pushed_authorization_request_endpoint,
      },
    });
  });

  test("a public client uses none; an explicit method is used as it is, listed or not", () => {
    expect(metadataPreset(metadata, { clientId: TEST_CLIENT_ID }).clientAuthentication).toBe("none");
    const post = metadataPreset(metadata, {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      clientAuthentication: "client_secret_post",
    });
    expect(post.clientAuthentication).toBe("client_secret_post");
    // Servers that serve public PKCE clients often list only the secret-based methods.
    const secretOnly = {
      ...metadata,
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    };
    expect(metadataPreset(secretOnly, { clientId: TEST_CLIENT_ID }).clientAuthentication).toBe("none");
    expect(
      metadataPreset(secretOnly, { clientId: TEST_CLIENT_ID, clientAuthentication: "none" }).clientAuthentication,
    ).toBe("none");
    const basicOnly = { ...metadata, token_endpoint_auth_methods_supported: ["client_secret_basic"] };
    const explicit = metadataPreset(basicOnly, {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      clientAuthentication: "client_secret_post",
    });
    expect(explicit.clientAuthentication).toBe("client_secret_post");
    const jwtOnly = { ...metadata, token_endpoint_auth_methods_supported: ["private_key_jwt"] };
    expect(() => metadataPreset(jwtOnly, { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })).toThrow(
      /pass clientAuthentication/,
    );
  });

  test("an operation the metadata does not locate fails at once, naming the missing field, and sends nothing", async () => {
    const { introspection_endpoint: _, revocation_endpoint: __, ...tokenOnly } = metadata;
    const { fetch, exchanges } = viaPrism();
    const client = createOAuthClient(
      metadataPreset(tokenOnly, { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, fetch }),
    );
    const introspect = await client.introspectToken({ token: "2YotnFZFEjr1zCsicMWpAA" }).catch((e: unknown) => e);
    expect(introspect).toBeInstanceOf(TypeError);
    expect((introspect as Error).message).toBe("introspect: the server's metadata has no introspection_endpoint");
    await expect(client.revokeToken({ token: "2YotnFZFEjr1zCsicMWpAA" })).rejects.toThrow(
      "revoke: the server's metadata has no revocation_endpoint",
    );
    expect(exchanges).toHaveLength(0);
    await expect(client.clientCredentials({ scope: "read" })).resolves.toMatchObject({
      access_token: expect.any(String),
    });
  });

  test("without a token endpoint there is nothing to configure", () => {
    const { token_endpoint: _, ...rest } = metadata;
    expect(() => metadataPreset(rest, { clientId: TEST_CLIENT_ID })).toThrow(/no token_endpoint/);
  });

  test("the configured client speaks to every discovered endpoint with no violation", async () => {
    const { fetch, exchanges } = viaPrism();
    const discovered = await discover(ISSUER, { fetch });
    const client = createOAuthClient(
      metadataPreset(discovered, { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, fetch }),
    );
    const token = await client.clientCredentials({ scope: "read" });
    await expect(client.introspectToken({ token: token.access_token })).resolves.toMatchObject({ active: true });
    await expect(
      client.revokeToken({ token: token.access_token, token_type_hint: "access_token" }),
    ).resolves.toBeUndefined();
    const basic = `Basic ${btoa(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`)}`;
    expect(exchanges.map((e) => [e.method, new URL(e.url).pathname, e.status, e.violations])).toEqual([
      ["GET", RFC8414, 200, null],
      ["POST", new URL(metadata.token_endpoint!).pathname, 200, null],
      ["POST", new URL(metadata.introspection_endpoint!).pathname, 200, null],
      ["POST", new URL(metadata.revocation_endpoint!).pathname, 200, null],
    ]);
    for (const exchange of exchanges.slice(1)) expect(exchange.requestHeaders.get("authorization")).toBe(basic);
  });
});
