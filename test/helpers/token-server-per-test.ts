/**
 * The fixture the token-manager tests share: a fresh token server for each test, closed after it, and the
 * fixed instant their clocks start from.
 */
import { afterEach, beforeEach } from "vitest";
import { createMemoryTokenStore, createOAuthClient, type TokenRecord, type TokenStore } from "../../src/index";
import { startTokenServer, type TokenServer } from "./token-server";

/** Where each test's clock starts. */
export const T0 = Date.parse("2030-01-01T00:00:00Z");
export const HOUR = 3_600_000;

/**
 * Starts a token server before each test and closes it after. `onStart` gets the new server; the tests keep
 * it there and set their clock back to {@link T0}.
 */
export function useTokenServerPerTest(onStart: (server: TokenServer) => void): void {
  let server: TokenServer | undefined;
  beforeEach(async () => {
    server = await startTokenServer();
    onStart(server);
  });
  afterEach(async () => {
    await server?.close();
  });
}

/** A client of `server`, with the credentials registered there. */
export function clientOf(server: TokenServer) {
  return createOAuthClient({ baseUrl: server.url, clientId: server.clientId, clientSecret: server.clientSecret });
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A memory store with a lock, as a store shared by several processes has: the manager then marks its refreshes.
 * A value planted in `raw` is what the store hands back, whatever its shape (a corrupt or foreign write).
 */
export function sharedStore(): TokenStore & { raw: Map<string, unknown> } {
  const inner = createMemoryTokenStore();
  const raw = new Map<string, unknown>();
  return {
    ...inner,
    raw,
    get: async (key) => (raw.has(key) ? (raw.get(key) as TokenRecord) : inner.get(key)),
    set: async (key, record) => {
      raw.delete(key);
      await inner.set(key, record);
    },
    withLock: (_key, task) => task(),
  };
}
