/**
 * Benchmark of the token manager (not a test: it prints numbers and asserts nothing about time).
 *
 *   npx tsx scripts/bench-token-manager.ts
 *
 * 1. Cached getAccessToken() calls per second, awaited one by one and fired without awaiting, with the store
 *    and the server counting every access to prove the cached path does no I/O. Target: over 5 million/s.
 * 2. Token requests for N concurrent callers across expiry boundaries, on a fake clock and on the real one.
 *    Target: exactly 1 per expiry.
 *
 * It starts its own token server on 127.0.0.1 and stops it at the end; every loop has a fixed bound.
 */
import { createOAuthClient } from "../src/index";
import { createMemoryTokenStore } from "../src/stores/memory";
import type { TokenStore } from "../src/stores/token-store";
import { createTokenManager, type TokenManager } from "../src/index";
import { startTokenServer, type TokenServer } from "../test/helpers/token-server";

const HOUR = 3_600_000;

function countingStore(): TokenStore & { reads: number; writes: number } {
  const inner = createMemoryTokenStore();
  const store = {
    reads: 0,
    writes: 0,
    get: (key: string) => (store.reads++, inner.get(key)),
    set: (key: string, record: Parameters<TokenStore["set"]>[1]) => (store.writes++, inner.set(key, record)),
    delete: (key: string) => inner.delete(key),
  };
  return store;
}

function rate(calls: number, ms: number): string {
  return `${(((calls / ms) * 1000) / 1e6).toFixed(2)} M calls/s`;
}

async function cachedPath(server: TokenServer): Promise<void> {
  const client = createOAuthClient({
    baseUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
  });
  const store = countingStore();
  const tokens = createTokenManager({ client, grant: { type: "client_credentials" }, store });
  await tokens.getAccessToken();
  const keys = Array.from({ length: 1000 }, (_, i) => `merchant-${i}`);
  for (const key of keys) await tokens.getAccessToken(key);
  const requestsBefore = server.requests.length;
  const readsBefore = store.reads;

  const N = 10_000_000;
  const rounds = 5;
  const awaited: number[] = [];
  const fired: number[] = [];
  const manyKeys: number[] = [];
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    for (let i = 0; i < N; i++) sink += (await tokens.getAccessToken()).length;
    awaited.push(performance.now() - start);

    start = performance.now();
    let last: Promise<string> | undefined;
    for (let i = 0; i < N; i++) last = tokens.getAccessToken();
    await last;
    fired.push(performance.now() - start);

    start = performance.now();
    for (let i = 0; i < N; i++) sink += (await tokens.getAccessToken(keys[i % 1000])).length;
    manyKeys.push(performance.now() - start);
  }
  const best = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`cached getAccessToken(), ${N.toLocaleString("en")} calls x ${rounds} rounds (best / median):`);
  console.log(`  await getAccessToken()            ${rate(N, best(awaited))} / ${rate(N, median(awaited))}`);
  console.log(`  getAccessToken() without await    ${rate(N, best(fired))} / ${rate(N, median(fired))}`);
  console.log(`  await getAccessToken(key), 1,000 keys ${rate(N, best(manyKeys))} / ${rate(N, median(manyKeys))}`);
  console.log(
    `  server requests during the loops: ${server.requests.length - requestsBefore}; store reads: ${store.reads - readsBefore}`,
  );
  if (sink === 0) console.log("(unreachable)");
}

async function boundaryFakeClock(
  server: TokenServer,
  grant: "client_credentials" | "refresh_token",
  callers: number,
  expiries: number,
): Promise<void> {
  let t = Date.parse("2030-01-01T00:00:00Z");
  const client = createOAuthClient({
    baseUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
  });
  const tokens: TokenManager = createTokenManager({ client, grant: { type: grant }, now: () => t });
  if (grant === "refresh_token")
    await tokens.setTokens("default", await client.exchangeAuthorizationCode({ code: server.issueCode() }));
  else await tokens.getAccessToken();
  const before = server.tokenRequests();
  const replayedBefore = server.replayedRefreshTokens.length;
  const perExpiry: number[] = [];
  for (let i = 0; i < expiries; i++) {
    t += HOUR; // past expiry
    const requests = server.tokenRequests();
    const results = await Promise.all(Array.from({ length: callers }, () => tokens.getAccessToken()));
    if (new Set(results).size !== 1) throw new Error("callers of one expiry got different tokens");
    perExpiry.push(server.tokenRequests() - requests);
  }
  const total = server.tokenRequests() - before;
  const spread = `min ${Math.min(...perExpiry)}, max ${Math.max(...perExpiry)}`;
  const replays = server.replayedRefreshTokens.length - replayedBefore;
  console.log(
    `  ${grant.padEnd(18)} ${String(callers).padStart(6)} callers x ${expiries} expiries: ${total} requests = ${(total / expiries).toFixed(2)} per expiry (${spread})` +
      (grant === "refresh_token" ? `, refresh tokens replayed: ${replays}` : ""),
  );
}

async function boundaryRealClock(server: TokenServer, workers: number, durationMs: number): Promise<void> {
  server.lifetime = () => ({ expires_in: 1 });
  server.delayMs = 5;
  const client = createOAuthClient({
    baseUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
  });
  const tokens = createTokenManager({ client, grant: { type: "client_credentials" }, refreshWindowSeconds: 0 });
  const before = server.tokenRequests();
  const start = Date.now();
  let calls = 0;
  const seen = new Set<string>();
  const maxIterations = 1_000_000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < maxIterations && Date.now() - start < durationMs; i++) {
        seen.add(await tokens.getAccessToken());
        calls++;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }),
  );
  const requests = server.tokenRequests() - before;
  console.log(
    `  real clock, 1 s tokens, ${workers} looping callers for ${durationMs} ms: ${calls.toLocaleString("en")} calls, ` +
      `${requests} token requests, ${seen.size} distinct tokens (one request per expiry: requests = tokens)`,
  );
}

/** Runs one part against its own server, so no keep-alive connection idles across parts. */
async function withServer(part: (server: TokenServer) => Promise<void>): Promise<void> {
  const server = await startTokenServer();
  try {
    await part(server);
  } finally {
    await server.close();
  }
}

await withServer(cachedPath);
console.log("token requests across expiry boundaries (fake clock; every caller fires after the expiry):");
for (const grant of ["client_credentials", "refresh_token"] as const) {
  for (const callers of [100, 1_000, 10_000])
    await withServer((server) => boundaryFakeClock(server, grant, callers, 20));
}
await withServer((server) => boundaryRealClock(server, 200, 3_500));
