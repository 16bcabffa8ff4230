import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createOAuthClient, createTokenManager, OAuthTransportError, type OAuthClientOptions } from "../../src/index";
import { startTokenServer, type TokenServer } from "../helpers/token-server";
import { track } from "../helpers/track";

const BASE = "https://auth.example.org";
const CREDENTIALS = { clientId: "id", clientSecret: "CLIENT-SECRET-timeouts-5a1d" };

/** A fetch that never answers by itself; it rejects with the signal's reason once the request is aborted. */
function hangingFetch() {
  const requests: Request[] = [];
  const fetch = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push(request);
    return new Promise<Response>((_, reject) =>
      request.signal.addEventListener("abort", () => reject(request.signal.reason)),
    );
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls: fetch, requests };
}

function client(options: Partial<OAuthClientOptions> = {}) {
  return createOAuthClient({ baseUrl: BASE, ...CREDENTIALS, ...options });
}

describe("time limit of each request (fake clock)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("by default a request that never answers fails after 10 s with a typed time-out", async () => {
    const { fetch } = hangingFetch();
    const call = track(client({ fetch }).clientCredentials());
    await vi.advanceTimersByTimeAsync(9_999);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.error).toBeInstanceOf(OAuthTransportError);
    expect(call.error).toMatchObject({ code: "OAUTH_TRANSPORT", timedOut: true, notSent: false });
    expect((call.error as Error).message).toBe("token request to auth.example.org timed out after 10000 ms");
  });

  test("with every default, a token manager's caller gets the client's typed time-out, inside the manager's 30 s", async () => {
    const { fetch } = hangingFetch();
    const tokens = createTokenManager({ client: client({ fetch }), grant: { type: "client_credentials" } });
    const call = track(tokens.getAccessToken());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(call.error).toBeInstanceOf(OAuthTransportError);
    expect(call.error).toMatchObject({ timedOut: true });
  });

  test("the client's timeoutMs and a call's timeoutMs set the limit, the call's first", async () => {
    const { fetch } = hangingFetch();
    const c = client({ fetch, timeoutMs: 5_000 });
    const byClient = track(c.introspectToken({ token: "opaque-token-value" }));
    const byCall = track(c.introspectToken({ token: "opaque-token-value" }, { timeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(byCall.error).toMatchObject({ timedOut: true, message: expect.stringContaining("after 1000 ms") });
    expect(byClient.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(byClient.error).toMatchObject({ timedOut: true, message: expect.stringContaining("after 5000 ms") });
  });

  test("a fetch that ignores its signal cannot hang the call", async () => {
    const deaf = vi.fn(() => new Promise<Response>(() => {}));
    const call = track(client({ fetch: deaf as never, timeoutMs: 2_000 }).revokeToken({ token: "opaque-token-value" }));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(call.error).toBeInstanceOf(OAuthTransportError);
    expect(call.error).toMatchObject({ timedOut: true });
  });

  test("the limit covers the body: headers then a stalled body time out, and the body is cancelled", async () => {
    let cancelled = false;
    const fetch = vi.fn(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"access_token":"'));
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
    });
    const call = track(client({ fetch: fetch as never, timeoutMs: 3_000 }).clientCredentials());
    await vi.advanceTimersByTimeAsync(2_999);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.error).toMatchObject({ code: "OAUTH_TRANSPORT", timedOut: true });
    expect(cancelled).toBe(true);
  });

  test("timeoutMs: Infinity sets no limit", async () => {
    const { fetch } = hangingFetch();
    const call = track(client({ fetch, timeoutMs: Infinity }).clientCredentials());
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(call.settled).toBe(false);
  });

  test("a time-out is not retried, even for client_credentials", async () => {
    const { fetch, calls } = hangingFetch();
    const call = track(client({ fetch, timeoutMs: 1_000 }).clientCredentials());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(call.error).toMatchObject({ timedOut: true });
    expect(calls).toHaveBeenCalledTimes(1);
  });
});

describe("AbortSignal", () => {
  test("an already aborted signal rejects with its reason and sends nothing", async () => {
    const { fetch, calls } = hangingFetch();
    const reason = new Error("user left");
    await expect(client({ fetch }).clientCredentials(undefined, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(calls).not.toHaveBeenCalled();
  });

  test("aborting during the request rejects with the signal's reason, not a time-out", async () => {
    const { fetch, requests } = hangingFetch();
    const controller = new AbortController();
    const outcome = client({ fetch }).refreshToken(
      { refresh_token: "REFRESH-abort-1234" },
      { signal: controller.signal },
    );
    await vi.waitFor(() => expect(requests).toHaveLength(1));
    const reason = new DOMException("stop", "AbortError");
    controller.abort(reason);
    await expect(outcome).rejects.toBe(reason);
    expect(requests[0]!.signal.aborted).toBe(true);
  });

  test("aborting during a retry's back-off rejects at once and sends no more", async () => {
    vi.useFakeTimers();
    try {
      const fetch = vi.fn(async () => new Response(null, { status: 503 }));
      const controller = new AbortController();
      const c = client({
        fetch: fetch as never,
        retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxElapsedMs: 600_000 },
      });
      vi.spyOn(Math, "random").mockReturnValue(0.5);
      const call = track(c.clientCredentials(undefined, { signal: controller.signal }));
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fetch).toHaveBeenCalledTimes(1);
      expect(call.settled).toBe(false);
      controller.abort(new Error("shutting down"));
      await vi.advanceTimersByTimeAsync(0);
      expect(call.error).toMatchObject({ message: "shutting down" });
      await vi.advanceTimersByTimeAsync(120_000);
      expect(fetch).toHaveBeenCalledTimes(1);
    } finally {
      vi.restoreAllMocks();
      vi.useRealTimers();
    }
  });
});

describe("time limits against a real server", () => {
  let server: TokenServer;
  beforeEach(async () => {
    server = await startTokenServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const real = (timeoutMs: number) =>
    createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      timeoutMs,
      retry: false,
    });

  test.each(["stall", "stall_body"] as const)(
    "%s: the call fails with a typed time-out, long before the test would",
    async (failure) => {
      server.failNext(failure);
      const started = Date.now();
      const error = await real(300)
        .clientCredentials()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthTransportError);
      expect(error).toMatchObject({ timedOut: true });
      // Generous: the point is that it ends, not how fast.
      expect(Date.now() - started).toBeLessThan(15_000);
      // The server is fine afterwards: the next call gets a token.
      await expect(real(10_000).clientCredentials()).resolves.toMatchObject({ token_type: "Bearer" });
    },
  );

  test("a slow body that ends within the limit is a success", async () => {
    server.slowBodyChunkMs = 5;
    server.failNext("slow_body");
    const tokens = await real(20_000).clientCredentials();
    expect(tokens.access_token).toBe(server.issued[0]!.access_token);
  });
});

describe("timeoutMs is checked", () => {
  test.each([0, -1, Number.NaN, "1000", null])(
    "timeoutMs %s is a TypeError, in the options and per call",
    async (value) => {
      expect(() => client({ timeoutMs: value as never })).toThrow(TypeError);
      const { fetch, calls } = hangingFetch();
      await expect(client({ fetch }).clientCredentials(undefined, { timeoutMs: value as never })).rejects.toThrow(
        TypeError,
      );
      expect(calls).not.toHaveBeenCalled();
    },
  );
});
