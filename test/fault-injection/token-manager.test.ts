import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { createOAuthClient, OAuthError, OAuthResponseError, OAuthTransportError } from "../../src/index";
import { createMemoryTokenStore } from "../../src/stores/memory";
import type { TokenStore } from "../../src/stores/token-store";
import {
  createTokenManager,
  type TokenFailedEvent,
  type TokenManager,
  type TokenRefreshedEvent,
} from "../../src/index";
import { createSecretCollector } from "../helpers/secrets";
import { startTokenServer, type Failure, type TokenServer } from "../helpers/token-server";

/**
 * The token manager against a real local token server that resets connections, stalls, sends bursts of 5xx,
 * 429s, huge and slow bodies, and stops listening. After every fault: the caller got a token or a typed error,
 * the stored token set is still usable at the server (no refresh token lost, none replayed), and once the
 * server behaves again the manager recovers.
 */

const T0 = Date.parse("2030-01-01T00:00:00Z");
const HOUR = 3_600_000;
/**
 * The client's time limit in rounds whose fault is a stall: each stall costs this much. Only the stalled
 * request runs under it; every request the server processes runs under {@link TIMEOUT_MS}, so that a loaded
 * machine never times out an answer that carries a rotated refresh token.
 */
const STALL_TIMEOUT_MS = 1_000;
const TIMEOUT_MS = 15_000;

/** A fault: failures queued at the server, or the server not listening for a number of calls. */
type Fault = { failures: Failure[] } | { refusedCalls: number };

const FAULTS: [string, Fault][] = [
  ["connection reset", { failures: ["reset"] }],
  ["connection dropped", { failures: ["drop"] }],
  ["no answer at all", { failures: ["stall"] }],
  ["a body that stops half-way", { failures: ["stall_body"] }],
  ["a burst of 500s", { failures: ["server_error", "server_error", "server_error"] }],
  ["a burst of 503s with Retry-After: 0", { failures: ["unavailable", "unavailable", "unavailable", "unavailable"] }],
  ["429s", { failures: ["too_many_requests", "too_many_requests"] }],
  ["proxy HTML pages", { failures: ["bad_gateway_html", "bad_gateway_html"] }],
  ["a 2 MiB body", { failures: ["huge_body"] }],
  ["a slow body", { failures: ["slow_body"] }],
  ["a mixed burst", { failures: ["reset", "unavailable", "bad_gateway_html", "server_error", "drop"] }],
  ["the server down for two calls", { refusedCalls: 2 }],
];

/** A seeded mix of the quick faults, for more rounds than the list above. */
function mixedFaults(count: number, seed: number): [string, Fault][] {
  const quick: Failure[] = [
    "reset",
    "drop",
    "server_error",
    "unavailable",
    "too_many_requests",
    "bad_gateway_html",
    "huge_body",
  ];
  let state = seed;
  const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31);
  return Array.from({ length: count }, (_, i) => {
    const failures = Array.from({ length: 1 + (next() % 3) }, () => quick[next() % quick.length]!);
    return [`mix #${i + 1}: ${failures.join(", ")}`, { failures }];
  });
}

const totals = { faultsInjected: 0, callerErrors: 0, tokensLost: 0, recoveries: 0, rounds: 0 };
const secrets = createSecretCollector();

afterAll(() => {
  const printed = secrets.check();
  console.info(
    `[fault-injection] ${totals.faultsInjected} faults injected over ${totals.rounds} rounds; ` +
      `${totals.callerErrors} typed errors reached callers; ${totals.recoveries} recoveries; tokens lost: ${totals.tokensLost}; ` +
      `${printed.objects} errors and events printed, no secret`,
  );
  expect(totals.tokensLost).toBe(0);
});

let server: TokenServer;
let t: number;
let refused = 0;
const now = () => t;

beforeEach(async () => {
  server = await startTokenServer({ clientSecret: "CLIENT-SECRET-faults-41b7e2" });
  server.retryAfter = "0";
  server.slowBodyChunkMs = 10;
  secrets.secret(server.clientSecret);
  t = T0;
  refused = 0;
});
afterEach(async () => {
  for (const issued of server.issued) secrets.secret(issued.access_token, issued.refresh_token);
  totals.faultsInjected += Object.values(server.injected).reduce((a, b) => a + b, 0) + refused;
  await server.close();
});

function hasStall(fault: Fault): boolean {
  return "failures" in fault && fault.failures.some((f) => f === "stall" || f === "stall_body");
}

function client(timeoutMs = TIMEOUT_MS) {
  // Counts the connections refused while the server is down: those are injected faults too.
  const fetch: typeof globalThis.fetch = async (input, init) => {
    try {
      return await globalThis.fetch(input, init);
    } catch (error) {
      if ((error as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED") refused += 1;
      throw error;
    }
  };
  return createOAuthClient({
    baseUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    fetch,
    timeoutMs,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
}

function hooks() {
  return {
    onFailed: (event: TokenFailedEvent) => secrets.add(event),
    onRefreshed: (event: TokenRefreshedEvent) => secrets.add(event),
  };
}

/** Asserts that a failed call failed with one of the client's typed errors, never "authorize again". */
function expectTypedFailure(error: unknown): void {
  secrets.add(error);
  expect(
    [OAuthError, OAuthResponseError, OAuthTransportError].some((type) => error instanceof type),
    String(error),
  ).toBe(true);
  totals.callerErrors += 1;
}

async function inject(fault: Fault, calls: () => Promise<void>): Promise<void> {
  if ("failures" in fault) {
    for (const failure of fault.failures) server.failNext(failure);
    // One call per queued failure at most, so a retry that swallows several still ends the round.
    for (let i = 0; i < fault.failures.length; i++) await calls();
    return;
  }
  await server.stopListening();
  try {
    for (let i = 0; i < fault.refusedCalls; i++) await calls();
  } finally {
    await server.startListening();
  }
}

describe("refresh_token manager under faults", () => {
  /** Checks the stored token set: present, its refresh token still live at the server, none replayed. */
  async function checkStored(tokens: TokenManager): Promise<void> {
    const record = await tokens.getToken("user");
    const usable = record?.refresh_token !== undefined && server.isLive(record.refresh_token);
    if (!usable) totals.tokensLost += 1;
    expect(usable).toBe(true);
    expect(server.replayedRefreshTokens).toEqual([]);
  }

  /** A manager on `store`, its client with the given time limit. */
  function manager(store: TokenStore, timeoutMs = TIMEOUT_MS): TokenManager {
    return createTokenManager({ client: client(timeoutMs), grant: { type: "refresh_token" }, store, now, ...hooks() });
  }

  async function seeded(store: TokenStore = createMemoryTokenStore(), timeoutMs = TIMEOUT_MS): Promise<TokenManager> {
    const tokens = manager(store, timeoutMs);
    await tokens.setTokens("user", await client().exchangeAuthorizationCode({ code: server.issueCode() }));
    return tokens;
  }

  for (const [name, fault] of [...FAULTS, ...mixedFaults(12, 7)]) {
    test(`${name}, on an expired token: typed errors, the tokens survive, the manager recovers`, async () => {
      totals.rounds += 1;
      const store = createMemoryTokenStore();
      const tokens = await seeded(store, hasStall(fault) ? STALL_TIMEOUT_MS : TIMEOUT_MS);
      t += HOUR + 1;
      await inject(fault, async () => {
        const outcome = await tokens.getAccessToken("user").then(
          (token) => ({ token }),
          (error: unknown) => ({ error }),
        );
        if ("error" in outcome) expectTypedFailure(outcome.error);
        else expect(outcome.token).toBe(server.issued.at(-1)!.access_token);
        await checkStored(tokens);
      });
      // The server behaves again: the next call refreshes (or has refreshed) and hands out the newest token,
      // through the same store (and, after a stall, a client with the usual time limit).
      const recovering = hasStall(fault) ? manager(store) : tokens;
      expect(await recovering.getAccessToken("user")).toBe(server.issued.at(-1)!.access_token);
      await checkStored(recovering);
      totals.recoveries += 1;
    });
  }

  test.each(FAULTS.filter(([, f]) => !hasStall(f)))(
    "%s, inside the refresh window: callers keep getting the current token",
    async (_, fault) => {
      totals.rounds += 1;
      const tokens = await seeded();
      const current = server.issued[0]!.access_token;
      t += HOUR - 30_000; // inside the 60 s window, not expired
      await inject(fault, async () => {
        const token = await tokens.getAccessToken("user");
        // A slow body is slow, not failed: the refresh then succeeds and the new token comes back.
        expect([current, server.issued.at(-1)!.access_token]).toContain(token);
        await checkStored(tokens);
        t += 1_000; // the manager tries again a second after a failure
      });
      t += 1_000;
      expect(await tokens.getAccessToken("user")).toBe(server.issued.at(-1)!.access_token);
      await checkStored(tokens);
      totals.recoveries += 1;
    },
  );
});

describe("client_credentials manager under faults", () => {
  const quick = FAULTS.filter(([, f]) => !("failures" in f && f.failures.includes("stall")));
  for (const [name, fault] of [...quick, ...mixedFaults(8, 99)]) {
    test(`${name}: retries absorb what they safely can, the rest are typed errors, and the manager recovers`, async () => {
      totals.rounds += 1;
      const timeoutMs = hasStall(fault) ? STALL_TIMEOUT_MS : TIMEOUT_MS;
      const tokens = createTokenManager({
        client: client(timeoutMs),
        grant: { type: "client_credentials", scope: "read" },
        now,
        ...hooks(),
      });
      const first = await tokens.getAccessToken();
      t += HOUR + 1;
      await inject(fault, async () => {
        const outcome = await tokens.getAccessToken().then(
          (token) => ({ token }),
          (error: unknown) => ({ error }),
        );
        if ("error" in outcome) expectTypedFailure(outcome.error);
        else expect(outcome.token).toBe(server.issued.at(-1)!.access_token);
        // No valid token is dropped by a failure: a token obtained during the fault is stored. The first one has
        // expired, and a client_credentials record that no longer serves is dropped by the store, as it should be.
        const record = await tokens.getToken();
        const obtained = server.issued.length > 1 ? server.issued.at(-1)!.access_token : undefined;
        if (obtained !== undefined && record?.access_token !== obtained) totals.tokensLost += 1;
        if (obtained !== undefined) expect(record?.access_token).toBe(obtained);
        else expect(record === undefined || record.access_token === first).toBe(true);
      });
      const recovered = await tokens.getAccessToken();
      expect(recovered).toBe(server.issued.at(-1)!.access_token);
      expect(recovered === first).toBe(server.issued.length === 1);
      totals.recoveries += 1;
    });
  }
});
