/**
 * One heap measurement, run in a child process of its own by test/memory-store-heap.test.ts:
 * `node --expose-gc --import tsx test/helpers/memory-heap.ts <scenario> [keys]`. It fills a memory token store
 * (alone, or behind a token manager) with short-lived token sets, moves the store's clock past their expiry, lets
 * the store drop them as the scenario says, and prints one JSON line of `heapUsed` figures (bytes) after forced
 * collections: `before` the keys were added, `full` with them, `expired` once the clock moved (a sweep timer may
 * have run by then), and `after` the drop.
 *
 * `manager-idle` is not in the test: it shows what a token manager keeps of expired keys while nobody calls it
 * (the store under it sweeps on its timer), for whoever works on the manager's own sweep.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createMemoryTokenStore, createOAuthClient, createTokenManager, type TokenRecord } from "../../src/index";

export type HeapScenario =
  | "store-sweep-due"
  | "store-sweep-timer"
  | "store-reads"
  | "store-deletion-markers"
  | "store-refresh-tokens"
  | "manager-set-tokens"
  | "manager-client-credentials"
  | "manager-idle";

export interface HeapFigures {
  scenario: HeapScenario;
  keys: number;
  before: number;
  full: number;
  expired: number;
  after: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

const MINUTE = 60_000;
const DAY = 86_400_000;
/**
 * A JWT-sized token of its own (400 characters, flat in memory, as one parsed from an answer is): what a store
 * holds in production is mostly tokens. A padding shared by every token would cost nothing per key.
 */
const token = (prefix: string) => {
  const start = Math.floor(Math.random() * (RANDOM.length - 300));
  return `${prefix}.${RANDOM.toString("base64url", start, start + 300)}`;
};
const RANDOM = randomBytes(1 << 16);

/** heapUsed after collecting until nothing more goes: weak references and finalizers need a turn in between. */
async function settledHeap(): Promise<number> {
  let last = Infinity;
  for (let round = 0; round < 10; round++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (round >= 3 && used >= last) return used;
    last = used;
  }
  return last;
}

/** The test's clock: every store and manager here reads expiries with it, and only the scenario moves it. */
let clock = Date.parse("2026-01-01T00:00:00Z");
const now = () => clock;

const record = (i: number, withRefreshToken: boolean): TokenRecord => ({
  access_token: token(`at-${i}`),
  token_type: "Bearer",
  ...(withRefreshToken ? { refresh_token: token(`rt-${i}`) } : {}),
  expires_at_ms: clock + 5 * MINUTE,
  obtained_at_ms: clock,
});

/**
 * Runs `fill(prefix, count)`, then `drop(prefix, count)` after the clock moved on, and returns the heap at each
 * step. A first round of a tenth of the keys, under another prefix, goes through the same steps before anything is
 * measured, so code compiled on first use and pools grown on first use count in `before` too.
 */
async function measure(
  scenario: HeapScenario,
  keys: number,
  steps: {
    fill: (prefix: string, count: number) => Promise<void>;
    /** How far the clock moves once the keys are in. */
    advanceMs: number;
    drop: (prefix: string, count: number) => Promise<void>;
  },
): Promise<HeapFigures> {
  await steps.fill("warm", Math.ceil(keys / 10));
  clock += steps.advanceMs;
  await steps.drop("warm", Math.ceil(keys / 10));
  const before = await settledHeap();
  await steps.fill("key", keys);
  const full = await settledHeap();
  clock += steps.advanceMs;
  const expired = await settledHeap();
  await steps.drop("key", keys);
  const after = await settledHeap();
  return { scenario, keys, before, full, expired, after };
}

async function readAll(store: { get(key: string): Promise<unknown> }, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await store.get(`${prefix}-${i}`);
}

/** A token endpoint of the test's own on loopback: every client_credentials request gets a new 5-minute token. */
async function tokenServer(): Promise<{ url: string; close(): void }> {
  let issued = 0;
  const server = createServer((request, response) => {
    request.resume().on("end", () => {
      const body = JSON.stringify({ access_token: token(`at-${issued++}`), token_type: "Bearer", expires_in: 300 });
      response.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function run(scenario: HeapScenario, keys: number): Promise<HeapFigures> {
  switch (scenario) {
    // Expired records without a refresh token go at the first call once a sweep interval has passed by the
    // store's clock (the default interval, a minute; the timer has not come round in real time).
    case "store-sweep-due": {
      const store = createMemoryTokenStore({ now });
      return measure(scenario, keys, {
        fill: async (prefix, count) => {
          for (let i = 0; i < count; i++) await store.set(`${prefix}-${i}`, record(i, false));
        },
        advanceMs: DAY,
        drop: async () => {
          await store.get("another-key");
        },
      });
    }
    // The same, dropped by the sweep timer: the store is not called at all. Timers fire in the order they are due,
    // and the sweep's was due long before the wait below.
    case "store-sweep-timer": {
      const store = createMemoryTokenStore({ now, sweepIntervalMs: 20 });
      return measure(scenario, keys, {
        fill: async (prefix, count) => {
          for (let i = 0; i < count; i++) await store.set(`${prefix}-${i}`, record(i, false));
        },
        advanceMs: DAY,
        drop: () => new Promise((resolve) => setTimeout(resolve, 100)),
      });
    }
    // Dropped when read: the clock moves past the expiry but not a sweep interval.
    case "store-reads": {
      const store = createMemoryTokenStore({ now, sweepIntervalMs: 10 * MINUTE });
      return measure(scenario, keys, {
        fill: async (prefix, count) => {
          for (let i = 0; i < count; i++) await store.set(`${prefix}-${i}`, record(i, false));
        },
        advanceMs: 6 * MINUTE,
        drop: (prefix, count) => readAll(store, prefix, count),
      });
    }
    // Records with refresh tokens, deleted: the deletion markers outlive the access tokens by a minute, then go.
    case "store-deletion-markers": {
      const store = createMemoryTokenStore({ now });
      return measure(scenario, keys, {
        fill: async (prefix, count) => {
          for (let i = 0; i < count; i++) {
            await store.set(`${prefix}-${i}`, record(i, true));
            await store.delete(`${prefix}-${i}`);
          }
        },
        advanceMs: DAY,
        drop: async () => {
          await store.get("another-key");
        },
      });
    }
    // The control: a record with a refresh token is kept until deleted, so the heap must stay full.
    case "store-refresh-tokens": {
      const store = createMemoryTokenStore({ now });
      return measure(scenario, keys, {
        fill: async (prefix, count) => {
          for (let i = 0; i < count; i++) await store.set(`${prefix}-${i}`, record(i, true));
        },
        advanceMs: DAY,
        drop: (prefix, count) => readAll(store, prefix, count),
      });
    }
    // A manager seeded with setTokens whose store sweeps on its timer, and which is not called again.
    case "manager-idle": {
      const server = await tokenServer();
      const client = createOAuthClient({ baseUrl: server.url, clientId: "heap", clientSecret: "heap-secret" });
      const store = createMemoryTokenStore({ now, sweepIntervalMs: 20 });
      const manager = createTokenManager({ client, grant: { type: "client_credentials" }, now, store });
      try {
        return await measure(scenario, keys, {
          fill: async (prefix, count) => {
            for (let i = 0; i < count; i++)
              await manager.setTokens(`${prefix}-${i}`, {
                access_token: token(`at-${i}`),
                token_type: "Bearer",
                expires_in: 300,
              });
          },
          advanceMs: DAY,
          drop: () => new Promise((resolve) => setTimeout(resolve, 100)),
        });
      } finally {
        server.close();
      }
    }
    // A manager on its default store, seeded with setTokens: the next getAccessToken of any key sweeps both.
    case "manager-set-tokens":
    case "manager-client-credentials": {
      const server = await tokenServer();
      const client = createOAuthClient({ baseUrl: server.url, clientId: "heap", clientSecret: "heap-secret" });
      const manager = createTokenManager({ client, grant: { type: "client_credentials" }, now });
      const fill =
        scenario === "manager-set-tokens"
          ? async (prefix: string, count: number) => {
              for (let i = 0; i < count; i++)
                await manager.setTokens(`${prefix}-${i}`, {
                  access_token: token(`at-${i}`),
                  token_type: "Bearer",
                  expires_in: 300,
                });
            }
          : async (prefix: string, count: number) => {
              let next = 0;
              const worker = async () => {
                while (next < count) await manager.getAccessToken(`${prefix}-${next++}`);
              };
              await Promise.all(Array.from({ length: 16 }, worker));
            };
      try {
        return await measure(scenario, keys, {
          fill,
          advanceMs: DAY,
          drop: async (prefix) => {
            await manager.getAccessToken(`${prefix}-sweep`);
            await manager.clear(`${prefix}-sweep`);
          },
        });
      } finally {
        server.close();
      }
    }
  }
}

const [scenario, keys] = process.argv.slice(2);
const figures = await run(scenario as HeapScenario, Number(keys ?? 100_000));
console.log(JSON.stringify(figures));
