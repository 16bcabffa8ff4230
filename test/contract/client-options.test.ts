import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test, vi } from "vitest";
import { createOAuthClient, OAuthResponseError, squareAdapter } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { expectAnswer, operation, responseCases } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const tokenAnswer = responseCases("obtainToken")[0]!;
const credentials = { clientId: "s6BhdRkqt3", clientSecret: "7Fjfp0ZBr1KtDRbnfVdmIw" };

describe("endpoints", () => {
  test("an absolute URL for each operation is used instead of baseUrl", async () => {
    const { fetch, exchanges } = recordingFetch();
    const options = {
      baseUrl: "https://auth.invalid",
      fetch,
      ...credentials,
      endpoints: {
        token: `${prismUrl}/oauth2/token`,
        renew: `${prismUrl}/oauth2/clients/{client_id}/access-token/renew`,
        revoke: `${prismUrl}/oauth2/revoke`,
        introspect: `${prismUrl}/oauth2/introspect`,
      },
    };
    const client = createOAuthClient(options);
    // renewToken is Square's: a twin of the client with Square's adapter sends it.
    const square = createOAuthClient({ ...options, provider: squareAdapter });
    await expectAnswer(client.clientCredentials({ scope: "read" }), tokenAnswer);
    await expect(square.renewToken({ access_token: "EAAAEO-access-token" })).resolves.toMatchObject({
      token_type: "bearer",
    });
    await expect(client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" })).resolves.toBeUndefined();
    await expect(client.introspectToken({ token: "2YotnFZFEjr1zCsicMWpAA" })).resolves.toMatchObject({ active: true });
    expect(exchanges.map((e) => e.url)).toEqual([
      `${prismUrl}/oauth2/token`,
      // The {client_id} template of an absolute URL is filled in, not sent percent-encoded.
      `${prismUrl}/oauth2/clients/s6BhdRkqt3/access-token/renew`,
      `${prismUrl}/oauth2/revoke`,
      `${prismUrl}/oauth2/introspect`,
    ]);
    for (const exchange of exchanges) expect(exchange.violations).toBeNull();
  });

  test("an absolute URL keeps its query string", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: "https://auth.invalid",
      fetch,
      ...credentials,
      endpoints: { token: `${prismUrl}/oauth2/token?tenant=a` },
    });
    await expectAnswer(client.clientCredentials(), tokenAnswer);
    expect(exchanges[0]!.url).toBe(`${prismUrl}/oauth2/token?tenant=a`);
    expect(exchanges[0]!.violations).toBeNull();
  });

  test("a path is appended to baseUrl, and a path Prism does not know is answered 404", async () => {
    const { fetch, exchanges } = recordingFetch();
    const options = {
      baseUrl: `${prismUrl}/`,
      fetch,
      ...credentials,
      endpoints: { token: "/OAuth/Token", renew: "/v2/clients/{client_id}/renew" },
    };
    const client = createOAuthClient(options);
    // renewToken is Square's: a twin of the client with Square's adapter sends it.
    const square = createOAuthClient({ ...options, provider: squareAdapter });
    const error = await client.clientCredentials().catch((e: unknown) => e);
    // Prism's 404 is problem+json, not an OAuth error: the answer breaks the contract.
    expect(error).toBeInstanceOf(OAuthResponseError);
    expect(error).toMatchObject({ status: 404 });
    await expect(square.renewToken({ access_token: "EAAAEO-access-token" })).rejects.toMatchObject({ status: 404 });
    // Operations without an override keep the spec's path.
    await expect(client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" })).resolves.toBeUndefined();
    expect(exchanges.map((e) => [e.url, e.status])).toEqual([
      [`${prismUrl}/OAuth/Token`, 404],
      [`${prismUrl}/v2/clients/s6BhdRkqt3/renew`, 404],
      [`${prismUrl}${operation("revokeToken").path}`, 200],
    ]);
    for (const exchange of exchanges) expect(exchange.violations).toBeNull();
  });

  test("a baseUrl with a path keeps it before the spec's paths", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: `${prismUrl}/tenant-a`, fetch, ...credentials });
    await expect(client.clientCredentials()).rejects.toMatchObject({ status: 404 });
    expect(exchanges[0]!.url).toBe(`${prismUrl}/tenant-a/oauth2/token`);
    expect(exchanges[0]!.violations).toBeNull();
  });
});

describe("headers", () => {
  test("default headers go with every operation; per-call headers with that call only", async () => {
    const { fetch, exchanges } = recordingFetch();
    const options = {
      baseUrl: prismUrl,
      fetch,
      ...credentials,
      headers: { "X-App-Id": "app-id", "X-App-Token": "app-token" },
    };
    const client = createOAuthClient(options);
    // renewToken is Square's: a twin of the client with Square's adapter sends it.
    const square = createOAuthClient({ ...options, provider: squareAdapter });
    await client.clientCredentials({ scope: "api" }, { headers: { "X-Request-Id": "r-1" } });
    await square.renewToken({ access_token: "EAAAEO-access-token" });
    await client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" }, { headers: { "x-app-token": "per-call-token" } });
    await client.introspectToken({ token: "2YotnFZFEjr1zCsicMWpAA" });
    expect(exchanges).toHaveLength(4);
    for (const exchange of exchanges) {
      expect(exchange.violations).toBeNull();
      expect(exchange.requestHeaders.get("x-app-id")).toBe("app-id");
    }
    expect(exchanges.map((e) => e.requestHeaders.get("x-request-id"))).toEqual(["r-1", null, null, null]);
    // A per-call header replaces the default of the same name, whatever its case.
    expect(exchanges.map((e) => e.requestHeaders.get("x-app-token"))).toEqual([
      "app-token",
      "app-token",
      "per-call-token",
      "app-token",
    ]);
  });

  test("per-call headers cannot replace the client's content type or credentials", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    await client.clientCredentials(undefined, {
      headers: { "Content-Type": "application/json", Authorization: "Bearer other" },
    });
    expect(exchanges[0]!.violations).toBeNull();
    expect(exchanges[0]!.requestHeaders.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(exchanges[0]!.requestHeaders.get("authorization")).toBe(
      "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
    );
  });

  test("asks for JSON unless the call asks otherwise", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    await client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" });
    await client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" }, { headers: { Accept: "text/plain" } });
    expect(exchanges.map((e) => e.requestHeaders.get("accept"))).toEqual(["application/json", "text/plain"]);
    for (const exchange of exchanges) expect(exchange.violations).toBeNull();
  });
});

describe("fetch", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test("a custom fetch carries every request; the global one is not used", async () => {
    const recorder = recordingFetch();
    const custom = vi.fn(recorder.fetch);
    const global = vi.spyOn(globalThis, "fetch");
    const client = createOAuthClient({ baseUrl: prismUrl, fetch: custom, ...credentials });
    // The recorder forwards with the global fetch; count only what the client itself started.
    global.mockClear();
    await client.clientCredentials();
    expect(custom).toHaveBeenCalledTimes(1);
    expect(global).toHaveBeenCalledTimes(1);
    expect(global.mock.calls[0]![0]).toBeInstanceOf(Request);
    expect(recorder.exchanges[0]!.violations).toBeNull();
  });

  test("without a custom fetch, the global fetch is used", async () => {
    const global = vi.spyOn(globalThis, "fetch");
    const client = createOAuthClient({ baseUrl: prismUrl, ...credentials });
    await expectAnswer(client.clientCredentials(), tokenAnswer);
    expect(global).toHaveBeenCalledTimes(1);
    // The client calls fetch(url, init), as an application would: no Request is built twice.
    const [input, init] = global.mock.calls[0]!;
    expect(String(input)).toBe(`${prismUrl}/oauth2/token`);
    expect(init?.method).toBe("POST");
    const response = (await global.mock.results[0]!.value) as Response;
    expect(response.headers.get("sl-violations")).toBeNull();
  });
});

describe("signal", () => {
  let server: Server;
  let serverUrl: string;
  const arrived: IncomingMessage[] = [];
  const waiting: (() => void)[] = [];

  beforeAll(async () => {
    // A server that takes the request and never answers, so that an abort lands mid-flight.
    server = createServer((request) => {
      arrived.push(request);
      waiting.splice(0).forEach((wake) => wake());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test("an already-aborted signal rejects with its reason and sends nothing", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    const reason = new Error("caller gave up");
    await expect(client.clientCredentials(undefined, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(client.introspectToken({ token: "t" }, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(exchanges).toHaveLength(0);
  });

  test("a signal aborted mid-flight rejects with its reason", async () => {
    const client = createOAuthClient({ baseUrl: serverUrl, ...credentials });
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const before = arrived.length;
    const outcome = client.revokeToken({ token: "tGzv3JOkF0XG5Qx2TlKWIA" }, { signal: controller.signal });
    await new Promise<void>((resolve) => waiting.push(resolve));
    expect(arrived).toHaveLength(before + 1);
    controller.abort(reason);
    await expect(outcome).rejects.toBe(reason);
  });

  test("a time-out signal rejects with a TimeoutError", async () => {
    const client = createOAuthClient({ baseUrl: serverUrl, ...credentials });
    await expect(client.clientCredentials(undefined, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });

  test("a signal that is never aborted changes nothing", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    await expectAnswer(client.clientCredentials(undefined, { signal: new AbortController().signal }), tokenAnswer);
    expect(exchanges[0]!.violations).toBeNull();
  });
});
