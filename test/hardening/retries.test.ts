import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createOAuthClient,
  OAuthError,
  OAuthTransportError,
  squareAdapter,
  type OAuthClientOptions,
} from "../../src/index";
import { startTokenServer, type TokenServer } from "../helpers/token-server";
import { track } from "../helpers/track";

const BASE = "https://auth.example.org";
const CREDENTIALS = { clientId: "id", clientSecret: "CLIENT-SECRET-retries-77c2" };
const TOKEN_ANSWER = { access_token: "ACCESS-retries-0001", token_type: "Bearer", expires_in: 3600 };

type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | Error;

/**
 * A fetch that plays `script`, one entry per request (the last repeats), and records when each request came,
 * by the (fake) clock.
 */
function scriptedFetch(script: Answer[]) {
  const times: number[] = [];
  const fetch = vi.fn(async () => {
    const entry = script[Math.min(times.length, script.length - 1)]!;
    times.push(Date.now());
    if (entry instanceof Error) throw entry;
    const body = entry.body === undefined ? null : JSON.stringify(entry.body);
    return new Response(body, {
      status: entry.status,
      headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...entry.headers },
    });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls: fetch, times };
}

const unavailable: Answer = { status: 503, body: { error: "temporarily_unavailable" } };
const tooMany = (retryAfter?: string): Answer => ({
  status: 429,
  headers: retryAfter === undefined ? {} : { "Retry-After": retryAfter },
  body: { error: "slow_down" },
});
const ok: Answer = { status: 200, body: TOKEN_ANSWER };

function client(options: Partial<OAuthClientOptions>) {
  return createOAuthClient({ baseUrl: BASE, ...CREDENTIALS, ...options, provider: squareAdapter });
}

/** An error as undici throws it when the connection is refused: the request never left. */
function refused(): TypeError {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), {
    code: "ECONNREFUSED",
    syscall: "connect",
    errno: -111,
  });
  return new TypeError("fetch failed", { cause });
}

/** As undici throws it when a host name does not resolve. */
function dnsFailure(): TypeError {
  const cause = Object.assign(new Error("getaddrinfo ENOTFOUND auth.example.org"), {
    code: "ENOTFOUND",
    syscall: "getaddrinfo",
  });
  return new TypeError("fetch failed", { cause });
}

/** As undici throws it when the server resets the connection after the request was written. */
function resetAfterSending(): TypeError {
  const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" });
  return new TypeError("fetch failed", { cause });
}

describe("back-off, Retry-After and bounds (fake clock)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2030, 0, 1));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  test("client_credentials: 503, 503, then 200 resolves after three attempts", async () => {
    const { fetch, calls } = scriptedFetch([unavailable, unavailable, ok]);
    const call = track(client({ fetch }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(call.value).toMatchObject({ token_type: "Bearer" });
    expect(calls).toHaveBeenCalledTimes(3);
  });

  test("waits grow exponentially up to maxDelayMs, each a random share of its cap (full jitter)", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { fetch, times } = scriptedFetch([unavailable]);
    const call = track(
      client({
        fetch,
        retry: { maxAttempts: 7, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 60_000 },
      }).clientCredentials(),
    );
    await vi.runAllTimersAsync();
    expect(call.error).toBeInstanceOf(OAuthError);
    const waits = times.slice(1).map((t, i) => t - times[i]!);
    // Caps 100, 200, 400, 800, 1000, 1000; Math.random() = 0.5 takes half of each.
    expect(waits).toEqual([50, 100, 200, 400, 500, 500]);
  });

  test("with Math.random() at 0 every retry goes at once: the jitter is full, down to zero", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { fetch, times } = scriptedFetch([unavailable, unavailable, ok]);
    const call = track(client({ fetch }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(call.value).toBeDefined();
    expect(times).toHaveLength(3);
    expect(new Set(times).size).toBe(1);
  });

  test("Retry-After in seconds is honoured exactly, instead of the back-off", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { fetch, calls } = scriptedFetch([tooMany("2"), ok]);
    const call = track(client({ fetch }).clientCredentials());
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveBeenCalledTimes(2);
    expect(call.value).toMatchObject({ access_token: TOKEN_ANSWER.access_token });
  });

  test("Retry-After as an HTTP date is honoured", async () => {
    const at = new Date(Date.now() + 5_000).toUTCString();
    const { fetch, times } = scriptedFetch([{ ...unavailable, headers: { "Retry-After": at } } as Answer, ok]);
    const call = track(client({ fetch }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(call.error).toBeUndefined();
    expect(times[1]! - times[0]!).toBe(5_000);
  });

  test("a Retry-After beyond maxElapsedMs ends the retries at once with the server's error", async () => {
    const { fetch, calls } = scriptedFetch([tooMany("120"), ok]);
    const call = track(client({ fetch, retry: { maxElapsedMs: 60_000 } }).clientCredentials());
    await vi.advanceTimersByTimeAsync(0);
    expect(call.error).toBeInstanceOf(OAuthError);
    expect(call.error).toMatchObject({ status: 429, error: "slow_down" });
    expect(calls).toHaveBeenCalledTimes(1);
  });

  test.each(["soon", "1.5", "-5", "+3", "1e3", "Tue, 32"])(
    "a Retry-After of %j is neither seconds nor an HTTP date: the back-off applies",
    async (retryAfter) => {
      vi.spyOn(Math, "random").mockReturnValue(1);
      const { fetch, times } = scriptedFetch([tooMany(retryAfter), ok]);
      track(client({ fetch, retry: { baseDelayMs: 300 } }).clientCredentials());
      await vi.runAllTimersAsync();
      expect(times[1]! - times[0]!).toBe(300);
    },
  );

  test.each([
    ["IMF-fixdate", (d: Date) => d.toUTCString()],
    ["RFC 850", (d: Date) => d.toUTCString().replace(/^(\w{3}), (\d{2}) (\w{3}) \d{2}(\d{2})/, "$1day, $2-$3-$4")],
    [
      "asctime",
      (d: Date) => {
        const [wd, day, mon, year, time] = d.toUTCString().split(" ");
        return `${wd!.slice(0, 3)} ${mon} ${Number(day)} ${time} ${year}`;
      },
    ],
  ])("a Retry-After as an %s date is honoured", async (_format, write) => {
    const at = new Date(Math.ceil((Date.now() + 5_000) / 1000) * 1000);
    const { fetch, times } = scriptedFetch([{ ...unavailable, headers: { "Retry-After": write(at) } } as Answer, ok]);
    track(client({ fetch }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(times[1]! - times[0]!).toBe(at.getTime() - times[0]!);
  });

  test("maxAttempts bounds the count: the last answer's error is thrown", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { fetch, calls } = scriptedFetch([unavailable]);
    const call = track(client({ fetch, retry: { maxAttempts: 4 } }).revokeToken({ token: "opaque-token-value" }));
    await vi.runAllTimersAsync();
    expect(calls).toHaveBeenCalledTimes(4);
    expect(call.error).toBeInstanceOf(OAuthError);
    expect(call.error).toMatchObject({ status: 503, error: "temporarily_unavailable" });
  });

  test("maxElapsedMs bounds the total time: no retry starts past it", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { fetch, times } = scriptedFetch([unavailable]);
    const started = Date.now();
    const call = track(
      client({
        fetch,
        retry: { maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, maxElapsedMs: 5_500 },
      }).clientCredentials(),
    );
    await vi.runAllTimersAsync();
    expect(call.error).toBeInstanceOf(OAuthError);
    expect(times).toHaveLength(6); // at 0, 999, 1998, 2997, 3996, 4995: one more would end past 5 500
    expect(Date.now() - started).toBeLessThanOrEqual(5_500);
  });

  test("a retry's time limit is cut to what remains of maxElapsedMs", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    let attempt = 0;
    const fetch = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      attempt += 1;
      if (attempt === 1) return Promise.resolve(new Response(null, { status: 503 }));
      return new Promise<Response>((_, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason)),
      );
    });
    const started = Date.now();
    const call = track(
      client({ fetch: fetch as never, timeoutMs: 30_000, retry: { maxElapsedMs: 4_000 } }).clientCredentials(),
    );
    await vi.runAllTimersAsync();
    expect(call.error).toMatchObject({ timedOut: true, message: expect.stringContaining("after 4000 ms") });
    expect(Date.now() - started).toBe(4_000);
  });

  test("retry: false, or a call's retry option, sends once", async () => {
    const { fetch, calls } = scriptedFetch([unavailable, ok]);
    const once = track(client({ fetch, retry: false }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(once.error).toMatchObject({ status: 503 });
    const perCall = track(client({ fetch }).clientCredentials(undefined, { retry: { maxAttempts: 1 } }));
    await vi.runAllTimersAsync();
    expect(perCall.value).toBeDefined(); // the script's second answer: this call was sent once, and got 200
    expect(calls).toHaveBeenCalledTimes(2);
  });
});

describe("which failures and operations are retried (fake clock)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  test.each([
    ["500", { status: 500, body: { error: "server_error" } }],
    ["502 HTML", { status: 502, headers: { "Content-Type": "text/html" } }],
    ["400", { status: 400, body: { error: "invalid_scope" } }],
    ["401", { status: 401, headers: { "WWW-Authenticate": 'Basic realm="x"' } }],
  ] as [string, Answer][])("%s is not retried, even for client_credentials", async (_, answer) => {
    const { fetch, calls } = scriptedFetch([answer, ok]);
    const call = track(client({ fetch }).clientCredentials());
    await vi.runAllTimersAsync();
    expect(call.error).toBeInstanceOf(Error);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  test.each([
    ["revoke", (c: ReturnType<typeof client>) => c.revokeToken({ token: "opaque-token-value" })],
    ["introspect", (c: ReturnType<typeof client>) => c.introspectToken({ token: "opaque-token-value" })],
    ["client_credentials", (c: ReturnType<typeof client>) => c.clientCredentials()],
  ] as const)("%s is retried after a connection failure, even one after sending", async (_, run) => {
    const body = { active: false, ...TOKEN_ANSWER };
    const { fetch, calls } = scriptedFetch([resetAfterSending(), { status: 200, body }]);
    const call = track<unknown>(run(client({ fetch })));
    await vi.runAllTimersAsync();
    expect(call.error).toBeUndefined();
    expect(calls).toHaveBeenCalledTimes(2);
  });

  test.each([
    ["503", unavailable],
    ["429", tooMany("0")],
    ["a reset after sending", resetAfterSending()],
  ] as [string, Answer][])("refresh_token and authorization_code are not retried after %s", async (_, failure) => {
    for (const run of [
      (c: ReturnType<typeof client>) => c.refreshToken({ refresh_token: "REFRESH-retries-0001" }),
      (c: ReturnType<typeof client>) => c.exchangeAuthorizationCode({ code: "CODE-retries-0001" }),
      (c: ReturnType<typeof client>) => c.renewToken({ access_token: "ACCESS-retries-0002" }),
    ]) {
      const { fetch, calls } = scriptedFetch([failure, ok]);
      const call = track<unknown>(run(client({ fetch })));
      await vi.runAllTimersAsync();
      expect(call.error).toBeInstanceOf(failure instanceof Error ? OAuthTransportError : OAuthError);
      if (failure instanceof Error) expect(call.error).toMatchObject({ notSent: false });
      expect(calls).toHaveBeenCalledTimes(1);
    }
  });

  test.each([
    ["connection refused", refused],
    ["host name not found", dnsFailure],
    [
      "a custom fetch's OAuthTransportError with notSent",
      () => new OAuthTransportError("proxy has no route", { notSent: true }),
    ],
    [
      "refused on every address (happy eyeballs)",
      () => new TypeError("fetch failed", { cause: new AggregateError([refused().cause, refused().cause]) }),
    ],
    [
      "undici's connect time-out",
      () =>
        new TypeError("fetch failed", {
          cause: Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" }),
        }),
    ],
  ] as const)("refresh_token is retried when the request provably never left: %s", async (_, failure) => {
    const { fetch, calls } = scriptedFetch([failure(), ok]);
    const call = track(client({ fetch }).refreshToken({ refresh_token: "REFRESH-retries-0002" }));
    await vi.runAllTimersAsync();
    expect(call.value).toMatchObject({ token_type: "Bearer" });
    expect(calls).toHaveBeenCalledTimes(2);
  });

  test("a never-sent failure that lasts is an OAuthTransportError with notSent, after maxAttempts", async () => {
    const { fetch, calls } = scriptedFetch([refused()]);
    const call = track(client({ fetch }).refreshToken({ refresh_token: "REFRESH-retries-0003" }));
    await vi.runAllTimersAsync();
    expect(call.error).toBeInstanceOf(OAuthTransportError);
    expect(call.error).toMatchObject({
      notSent: true,
      timedOut: false,
      message: expect.stringContaining("ECONNREFUSED"),
    });
    expect(calls).toHaveBeenCalledTimes(3);
  });
});

describe("retries against a real server", () => {
  let server: TokenServer;
  beforeEach(async () => {
    server = await startTokenServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const real = (options: Partial<OAuthClientOptions> = {}) =>
    createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...options,
    });

  async function seededRefreshToken(): Promise<string> {
    const tokens = await real().exchangeAuthorizationCode({ code: server.issueCode() });
    return tokens.refresh_token!;
  }

  test("client_credentials rides out a burst of 503 and 429 answers", async () => {
    server.retryAfter = "0";
    server.failNext("unavailable");
    server.failNext("too_many_requests");
    const tokens = await real().clientCredentials();
    expect(tokens.access_token).toBe(server.issued[0]!.access_token);
    expect(server.tokenRequests()).toBe(3);
  });

  test("a revocation dropped by the server is sent again, and the token is revoked", async () => {
    server.failNext("drop");
    await real().revokeToken({ token: "opaque-token-value" });
    expect(server.revoked).toEqual(["opaque-token-value"]);
    expect(server.requests.map((r) => r.status)).toEqual(["dropped", 200]);
  });

  test("refresh_token: a connection refused is retried once the server is back, and the token is spent once", async () => {
    const refreshToken = await seededRefreshToken();
    await server.stopListening();
    let calls = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      calls += 1;
      if (calls === 2) await server.startListening();
      return globalThis.fetch(input, init);
    };
    const tokens = await real({ fetch }).refreshToken({ refresh_token: refreshToken });
    expect(calls).toBe(2);
    expect(tokens.refresh_token).toBe(server.issued[1]!.refresh_token);
    expect(server.requests.filter((r) => r.grant_type === "refresh_token")).toHaveLength(1);
  });

  test.each(["reset", "drop", "drop_after_processing"] as const)(
    "refresh_token: after a %s the request is not sent again, so no refresh token is replayed",
    async (failure) => {
      const refreshToken = await seededRefreshToken();
      server.failNext(failure);
      const error = await real()
        .refreshToken({ refresh_token: refreshToken })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthTransportError);
      expect(error).toMatchObject({ notSent: false, timedOut: false });
      expect(server.requests.filter((r) => r.grant_type === "refresh_token")).toHaveLength(1);
      expect(server.replayedRefreshTokens).toEqual([]);
    },
  );

  test("refresh_token: a 503 is not retried; the refresh token stays live for a later try", async () => {
    const refreshToken = await seededRefreshToken();
    server.failNext("unavailable");
    await expect(real().refreshToken({ refresh_token: refreshToken })).rejects.toMatchObject({ status: 503 });
    expect(server.isLive(refreshToken)).toBe(true);
    await expect(real().refreshToken({ refresh_token: refreshToken })).resolves.toMatchObject({ token_type: "Bearer" });
    expect(server.replayedRefreshTokens).toEqual([]);
  });
});

describe("retry options are checked", () => {
  test.each([
    ["not an object", "3"],
    ["true", true],
    ["an unknown key", { attempts: 3 }],
    ["maxAttempts 0", { maxAttempts: 0 }],
    ["maxAttempts 1.5", { maxAttempts: 1.5 }],
    ["maxAttempts as a string", { maxAttempts: "3" }],
    ["a negative baseDelayMs", { baseDelayMs: -1 }],
    ["an infinite maxDelayMs", { maxDelayMs: Infinity }],
    ["a NaN maxElapsedMs", { maxElapsedMs: Number.NaN }],
  ])("%s is a TypeError, in the options and per call", async (_, retry) => {
    expect(() => client({ retry: retry as never })).toThrow(TypeError);
    const { fetch, calls } = scriptedFetch([ok]);
    await expect(client({ fetch }).clientCredentials(undefined, { retry: retry as never })).rejects.toThrow(TypeError);
    expect(calls).not.toHaveBeenCalled();
  });
});
