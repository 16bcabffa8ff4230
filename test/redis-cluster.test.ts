/**
 * The Redis store on a real Redis Cluster: three masters and three replicas of Debian's redis-server on loopback,
 * started once for this file and stopped after it. Token managers in several processes share tokens through it;
 * its master is killed in the middle of a refresh; a slot is migrated by hand while processes use it; and ioredis'
 * `Cluster` serves the store through its adapter. Each test prints its figures.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Cluster } from "ioredis";
import { createClient, createCluster } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createOAuthClient } from "../src/index";
import {
  createRedisTokenStore,
  ioredisClient,
  nodeRedisCluster,
  type NodeRedisCluster,
  type RedisTokenStoreOptions,
} from "../src/stores/redis";
import type { TokenRecord } from "../src/stores/token-store";
import { createTokenManager } from "../src/index";
import { startRedisCluster, type ClusterNode, type KeyOwner, type RunningRedisCluster } from "./helpers/redis-cluster";
import {
  startRedisWorker,
  type FromWorker,
  type ReceivedToken,
  type RedisWorker,
  type WorkerConfig,
} from "./helpers/redis-worker";
import { startTokenServer, type TokenServer } from "./helpers/token-server";

let cluster: RunningRedisCluster;
let server: TokenServer;
/** When each token set was issued, by the token server's (wall) clock; same index as `server.issued`. */
let issuedAt: number[];
let lifetimeMs: number;
const workers: RedisWorker[] = [];
/** Every client a test made, closed after it whatever happened. */
const cleanup: (() => unknown)[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
});
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(async () => {
  server = await startTokenServer();
  issuedAt = [];
  lifetimeMs = 3_600_000;
  server.lifetime = () => {
    issuedAt.push(Date.now());
    return { expires_in: lifetimeMs / 1000 };
  };
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill()));
  for (const step of cleanup.splice(0).reverse()) await step();
  await server.close();
});

/** A prefix with a hash tag of its own: every key of a test in one slot, and no two tests in the same keys. */
function uniquePrefix(name: string): string {
  return `{${name}-${process.pid}-${++prefixCounter}}:`;
}

/** A node-redis cluster client on the live nodes, destroyed after the test. */
async function connectCluster() {
  const client = createCluster({
    rootNodes: cluster.nodes.filter((n) => n.alive()).map((n) => ({ url: n.url })),
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  });
  client.on("error", () => {});
  await client.connect();
  cleanup.push(() => client.destroy());
  return client;
}

/** Starts a worker connected to the cluster, on this test's token server; afterEach kills it. */
async function startWorker(overrides: Partial<WorkerConfig> & { prefix: string }): Promise<RedisWorker> {
  const worker = startRedisWorker({
    redisUrl: "",
    clusterRootNodes: cluster.nodes.filter((n) => n.alive()).map((n) => n.url),
    tokenUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    refreshWindowSeconds: 60,
    // Generous: on a loaded machine a slow answer must not pass for an outage.
    commandTimeoutMs: 10_000,
    ...overrides,
  });
  workers.push(worker);
  await worker.ready;
  return worker;
}

function refreshedExpiries(pool: RedisWorker[]): number[] {
  return pool
    .flatMap((w) => w.events)
    .filter((e) => e.event.type === "refreshed")
    .map((e) => (e.event.type === "refreshed" ? e.event.expiresAtMs! : 0))
    .sort((a, b) => a - b);
}

/**
 * How many token requests reached the server in each expiry window: window k runs up to the refresh time of
 * token k (from that of token k-1).
 */
function requestsPerWindow(pool: RedisWorker[], windowMs: number): number[] {
  const refreshAt = refreshedExpiries(pool).map((expiresAt) => expiresAt - Math.min(windowMs, lifetimeMs / 2));
  return refreshAt.map((end, k) => issuedAt.filter((at) => at >= (refreshAt[k - 1] ?? 0) && at < end).length);
}

/** Failure events of the workers' token managers (store errors among them), by code. */
function failures(pool: RedisWorker[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of pool.flatMap((w) => w.events))
    if (e.event.type === "failed") counts[e.event.code] = (counts[e.event.code] ?? 0) + 1;
  return counts;
}

describe("createRedisTokenStore on a Redis Cluster: setup", () => {
  test("a cluster client refuses a prefix without a hash tag, with the fix in the message; unwrapped clients are refused", async () => {
    const client = await connectCluster();
    const adapted = nodeRedisCluster(client);
    expect(adapted.cluster).toBe(true);
    for (const prefix of [undefined, "my-service:", "{}:", "my-service:{", "{my-service:"]) {
      let error: unknown;
      try {
        createRedisTokenStore({ client: adapted, ...(prefix === undefined ? {} : { prefix }) });
      } catch (e) {
        error = e;
      }
      expect(error, String(prefix)).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
      expect((error as Error).message).toContain('"{my-service}:"');
    }
    for (const prefix of ["{my-service}:", "oauth:{client-1}:read:", "{a}"])
      expect(() => createRedisTokenStore({ client: adapted, prefix })).not.toThrow();

    // Passed as they are, their sendCommand takes other arguments: refused with the adapter to use.
    expect(() => createRedisTokenStore({ client: client as never, prefix: "{p}:" })).toThrow(/nodeRedisCluster\(/);
    const io = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0]!.port }], { lazyConnect: true });
    cleanup.push(() => io.disconnect());
    expect(() => createRedisTokenStore({ client: io as never, prefix: "{p}:" })).toThrow(/ioredisClient\(/);
    expect(ioredisClient(io).cluster).toBe(true);
    expect(() => createRedisTokenStore({ client: ioredisClient(io), prefix: "p:" })).toThrow(/"\{my-service\}:"/);
  });
});

describe("createRedisTokenStore on a Redis Cluster: several processes", () => {
  test("4 processes x 50 concurrent getAccessToken() over >= 3 expiry windows: one token request per window, as on one node", {
    timeout: 60_000,
  }, async () => {
    const N = 4;
    const M = 50;
    const WINDOW_S = 0.8;
    lifetimeMs = 2_000;
    const prefix = uniquePrefix("share");
    const pool = await Promise.all(
      Array.from({ length: N }, () => startWorker({ prefix, refreshWindowSeconds: WINDOW_S, pollIntervalMs: 20 })),
    );
    const startAt = Date.now() + 300;
    const untilAt = startAt + 7_000;
    for (const w of pool) w.send({ type: "run", startAt, untilAt, concurrency: M, pauseMs: 40 });
    const done = await Promise.all(pool.map((w) => w.next("done", 40_000)));

    for (const d of done) expect(d.errors).toEqual([]);
    expect(failures(pool)).toEqual({});
    const calls = done.reduce((sum, d) => sum + d.calls, 0);
    const requests = server.tokenRequests();
    expect(refreshedExpiries(pool)).toHaveLength(requests);
    expect(new Set(done.flatMap((d) => d.tokens.map((r) => r.token)))).toEqual(
      new Set(server.issued.map((s) => s.access_token)),
    );
    expect(requests).toBeGreaterThanOrEqual(4); // the first token, then three or more expiry windows
    const perWindow = requestsPerWindow(pool, WINDOW_S * 1000);
    expect(perWindow).toEqual(Array.from({ length: requests }, () => 1));

    // No caller was handed a token at or after its expiry, by the server's clock.
    const expiryOf = new Map(server.issued.map((s, i) => [s.access_token, issuedAt[i]! + lifetimeMs]));
    const received: ReceivedToken[] = done.flatMap((d) => d.tokens);
    const margin = Math.min(...received.map((r) => expiryOf.get(r.token)! - r.lastAt));
    expect(margin).toBeGreaterThan(0);

    // Every key of the prefix lives on one master, by its hash tag.
    const owner = await cluster.ownerOf(`${prefix}token:default`);
    expect((await cluster.ownerOf(`${prefix}lock:default`)).slot).toBe(owner.slot);
    console.log(
      `[redis cluster, ${N} processes] ${N} x ${M} concurrent calls, ${calls} calls settled over ${untilAt - startAt} ms, ` +
        `token lifetime ${lifetimeMs} ms, refresh window ${WINDOW_S * 1000} ms, slot ${owner.slot} on master :${owner.master.port}: ` +
        `${requests} token requests, requests per window ${JSON.stringify(perWindow)}, longest wait ` +
        `${Math.max(...done.map((d) => d.slowestCallMs))} ms, closest a caller came to expiry ${margin} ms, ` +
        `replays ${server.replayedRefreshTokens.length}, tokens lost 0 (every token issued was handed out)`,
    );
  });
});

describe("createRedisTokenStore on a Redis Cluster: slot migration", () => {
  test("MOVED and ASK during a live migration of the prefix's slot are followed; TRYAGAIN is retried; no store error surfaces", {
    timeout: 60_000,
  }, async () => {
    const WINDOW_S = 0.8;
    lifetimeMs = 2_000;
    const prefix = uniquePrefix("migrate");
    const tokenKey = `${prefix}token:default`;
    const { slot, master: source } = await cluster.ownerOf(tokenKey);
    const target = (
      await Promise.all(cluster.nodes.filter((n) => n.alive()).map(async (n) => ({ n, role: await role(n) })))
    ).find(({ n, role }) => role === "master" && n !== source)!.n;

    // The test process' own store, whose client reports what it meets: redirections that node-redis follows
    // (its diagnostics channel), and errors that reach the adapter (TRYAGAIN, which the adapter sends again).
    const redirections: Record<string, number> = {};
    const onError = (message: unknown) => {
      const { error } = message as { error?: Error };
      const kind = error?.message.split(" ", 1)[0];
      if (kind === "ASK" || kind === "MOVED") redirections[kind] = (redirections[kind] ?? 0) + 1;
    };
    subscribe("node-redis:error", onError);
    cleanup.push(() => unsubscribe("node-redis:error", onError));
    const client = await connectCluster();
    const seenByAdapter: Record<string, number> = {};
    const counting: NodeRedisCluster = {
      sendCommand: (...args) =>
        client.sendCommand(...args).catch((error: Error) => {
          const kind = error.message.split(" ", 1)[0]!;
          seenByAdapter[kind] = (seenByAdapter[kind] ?? 0) + 1;
          throw error;
        }),
    };
    const probeErrors: unknown[] = [];
    const store = createRedisTokenStore({
      client: nodeRedisCluster(counting),
      prefix,
      commandTimeoutMs: 10_000,
      onError: (e) => probeErrors.push(e),
    });
    const probeExpiry = Date.now() + 3_600_000;
    const probe = (n: number): TokenRecord => ({
      access_token: `probe-${n}`,
      token_type: "Bearer",
      obtained_at_ms: n,
      expires_at_ms: probeExpiry,
    });
    await store.set("probe", probe(1));

    const pool = await Promise.all(
      Array.from({ length: 3 }, () => startWorker({ prefix, refreshWindowSeconds: WINDOW_S, pollIntervalMs: 20 })),
    );
    const startAt = Date.now() + 200;
    const untilAt = startAt + 7_000;
    for (const w of pool) w.send({ type: "run", startAt, untilAt, concurrency: 20, pauseMs: 30 });
    await sleep(startAt + 1_000 - Date.now());

    // The slot is handed over as redis-cli --cluster reshard does: IMPORTING on the target, MIGRATING on the
    // source, its keys moved one by one, then the slot assigned to the target everywhere.
    await cluster.command(target, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id]);
    await cluster.command(source, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id]);
    // The probe's lock is taken on the target (the source sends a new key there with ASK) while its record is
    // still on the source: the write that checks one and writes the other is refused with TRYAGAIN until both
    // are on the target.
    let probeWritten = false;
    const probing = store.withLock("probe", async () => {
      await store.set("probe", probe(2));
      probeWritten = true;
    });
    await sleep(400);
    expect(probeWritten).toBe(false);
    const moved: string[] = [];
    for (;;) {
      const keys = (await cluster.command(source, ["CLUSTER", "GETKEYSINSLOT", String(slot), "10"])) as string[];
      if (keys.length === 0) break;
      for (const key of keys) {
        await cluster.command(source, ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", key]);
        moved.push(key.slice(prefix.length));
        // A key on the target and the slot still the source's: the source answers ASK for it.
        if (key === tokenKey) await expect(cluster.command(source, ["GET", tokenKey])).rejects.toThrow(/^ASK /);
        await sleep(250);
      }
    }
    await probing;
    expect(probeWritten).toBe(true);
    expect(await store.get("probe")).toEqual(probe(2));
    await sleep(500);
    for (const node of [target, source, ...cluster.nodes.filter((n) => n !== target && n !== source && n.alive())]) {
      if ((await role(node)) === "master")
        await cluster.command(node, ["CLUSTER", "SETSLOT", String(slot), "NODE", target.id]);
    }
    await expect(cluster.command(source, ["GET", tokenKey])).rejects.toThrow(/^MOVED /);
    expect(await store.get("probe")).toEqual(probe(2)); // this client's first command there since: MOVED

    const done = await Promise.all(pool.map((w) => w.next("done", 40_000)));
    for (const d of done) expect(d.errors).toEqual([]);
    expect(failures(pool)).toEqual({});
    expect(probeErrors).toEqual([]);
    expect((await cluster.ownerOf(tokenKey)).master).toBe(target);
    const perWindow = requestsPerWindow(pool, WINDOW_S * 1000);
    expect(perWindow).toEqual(Array.from({ length: server.tokenRequests() }, () => 1));
    expect(redirections.ASK).toBeGreaterThanOrEqual(1);
    expect(redirections.MOVED).toBeGreaterThanOrEqual(1);
    expect(seenByAdapter.TRYAGAIN).toBeGreaterThanOrEqual(1);
    const calls = done.reduce((sum, d) => sum + d.calls, 0);
    console.log(
      `[redis cluster, slot migration] slot ${slot} moved :${source.port} -> :${target.port} under 3 processes x 20 ` +
        `concurrent calls (token lifetime ${lifetimeMs} ms): keys moved ${JSON.stringify(moved)}, ${calls} calls settled, ` +
        `errors 0, store failures 0, requests per window ${JSON.stringify(perWindow)}, longest wait ` +
        `${Math.max(...done.map((d) => d.slowestCallMs))} ms; this process' client followed ${JSON.stringify(redirections)} ` +
        `and sent again after ${JSON.stringify(seenByAdapter)}; replays ${server.replayedRefreshTokens.length}`,
    );
  });
});

describe("createRedisTokenStore on a Redis Cluster: ioredis", () => {
  test("ioredis' Cluster through ioredisClient: get, set, delete and withLock; two managers share one token", async () => {
    const io = new Cluster(
      cluster.nodes.filter((n) => n.alive()).map((n) => ({ host: "127.0.0.1", port: n.port })),
      { enableReadyCheck: true },
    );
    io.on("error", () => {});
    cleanup.push(() => io.disconnect());
    await new Promise<void>((resolve, reject) => {
      io.once("ready", () => resolve());
      io.once("error", reject);
    });
    const prefix = uniquePrefix("ioredis");
    const store = createRedisTokenStore({ client: ioredisClient(io), prefix, commandTimeoutMs: 10_000 });
    const record: TokenRecord = {
      access_token: "at-io",
      token_type: "Bearer",
      refresh_token: "rt-io",
      obtained_at_ms: Date.now(),
      expires_at_ms: Date.now() + 60_000,
    };
    await store.set("user", record);
    expect(await store.get("user")).toEqual(record);
    expect(JSON.parse((await io.get(`${prefix}token:user`))!)).toEqual(record);

    // The lock is exclusive across clients: a second store waits for it, and writes under it are checked.
    const other = createRedisTokenStore({
      client: ioredisClient(io),
      prefix,
      lockWaitMs: 200,
      pollIntervalMs: 20,
    });
    const order: string[] = [];
    await store.withLock("user", async () => {
      expect(await io.exists(`${prefix}lock:user`)).toBe(1);
      await expect(other.withLock("user", async () => order.push("other"))).rejects.toMatchObject({
        code: "TOKEN_STORE_LOCK_TIMEOUT",
      });
      await store.set("user", { ...record, access_token: "at-io-2" });
      order.push("holder");
    });
    expect(await io.exists(`${prefix}lock:user`)).toBe(0);
    await other.withLock("user", async () => order.push("other"));
    expect(order).toEqual(["holder", "other"]);
    expect((await store.get("user"))?.access_token).toBe("at-io-2");
    await store.delete("user");
    expect(await store.get("user")).toBeUndefined();

    // Two managers on the store (as two processes would be): one token request, one token.
    const oauth = createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
    });
    const managers = [store, other].map((s) =>
      createTokenManager({ client: oauth, grant: { type: "client_credentials" }, store: s }),
    );
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => managers[i % 2]!.getAccessToken()));
    expect(new Set(tokens)).toEqual(new Set([server.issued[0]!.access_token]));
    expect(server.tokenRequests()).toBe(1);
    console.log(
      `[redis cluster, ioredis] get/set/delete/withLock on slot ${(await cluster.ownerOf(`${prefix}token:user`)).slot}; ` +
        `40 calls from 2 managers settled with ${server.tokenRequests()} token request`,
    );
  });
});

describe("createRedisTokenStore on a Redis Cluster: failover", () => {
  /*
   * The master of the prefix's slot is killed (SIGKILL: a crash) while a process holds the refresh lock and its
   * refresh token request is in flight. Its replica takes over about two seconds later (cluster-node-timeout
   * 1 000 ms, then an election); node-redis learns of it when its topology refresh runs, and the adapter sends
   * again what failed in between, within commandTimeoutMs. The lock, the record and the refresh token it holds
   * were replicated long before the crash, so the new master has them: the holder's write of the new token set
   * lands there, the others wait for its lock and read what it wrote.
   *
   * Not covered here, and not something a client can rule out: a write the old master acknowledged and had not yet
   * replicated when it died (Redis replicates asynchronously). If it was the new token set, the new master holds
   * the previous record, whose refresh token the server has already rotated out; the holder has handed the new
   * access token out and keeps the new set in memory only. The next process to refresh sends the old refresh
   * token again: a replay, which the server refuses with invalid_grant (or, with reuse detection, answers by
   * revoking the whole grant), and the key is cleared: a token set lost. If the lost write was the lock, a second
   * process may take it and send the same refresh token while the first one's request is in flight. With the store's
   * `waitForReplicas: 1`, only writes a replica has acknowledged count (see the tests below and the README, "Redis
   * Cluster").
   */
  test("the slot's master killed during a refresh: every call settles within its bound, 0 refresh tokens replayed, 0 tokens lost", {
    timeout: 90_000,
  }, async () => {
    const COMMAND_TIMEOUT_MS = 8_000;
    const LOCK_WAIT_MS = 20_000;
    const LOCK_TTL_MS = 10_000;
    const HOLD_MS = 300;
    // A call reads, waits for the lock (each try bounded by commandTimeoutMs), reads again, marks and sends the
    // refresh, writes and unlocks: at most lockWaitMs, the held token request and six commands.
    const BOUND_MS = LOCK_WAIT_MS + HOLD_MS + 6 * COMMAND_TIMEOUT_MS;
    const prefix = uniquePrefix("failover");
    const tokenKey = `${prefix}token:default`;

    // The first token set, from an authorization code, stored with its access token expired: the first call
    // refreshes, and no caller can be served the old access token meanwhile.
    const oauth = createOAuthClient({
      baseUrl: server.url,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
    });
    const first = await oauth.exchangeAuthorizationCode({ code: server.issueCode() });
    const client = await connectCluster();
    const store = createRedisTokenStore({
      client: nodeRedisCluster(client),
      prefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    await store.set("default", {
      access_token: first.access_token,
      token_type: "Bearer",
      refresh_token: first.refresh_token!,
      obtained_at_ms: Date.now() - 3_600_000,
      expires_at_ms: Date.now() - 1_000,
    });
    const { slot, master, replicas } = await cluster.ownerOf(tokenKey);
    expect(replicas).toHaveLength(1);
    await waitUntilReplicated(master, replicas[0]!, tokenKey);

    const options: Partial<WorkerConfig> = {
      grant: "refresh_token",
      lockTtlMs: LOCK_TTL_MS,
      lockWaitMs: LOCK_WAIT_MS,
      pollIntervalMs: 50,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    };
    const pool = await Promise.all(Array.from({ length: 3 }, () => startWorker({ prefix, ...options })));

    server.hold();
    const calls: {
      worker: number;
      sentAt: number;
      ms: number;
      answer: Extract<FromWorker, { type: "token" | "error" }>;
    }[] = [];
    let stopAt = Infinity;
    let id = 0;
    // Each worker calls getAccessToken() again as soon as its previous call settled, until stopAt.
    const loops = pool.map(async (worker, index) => {
      while (Date.now() < stopAt) {
        const n = ++id;
        const sentAt = Date.now();
        worker.send({ type: "get", id: n });
        const answer = await worker.answer(n, BOUND_MS + 10_000);
        calls.push({ worker: index, sentAt, ms: Date.now() - sentAt, answer });
        await sleep(20);
      }
    });
    await server.waitForRequests(2); // the code exchange, then one worker's refresh, held
    const holder = server.requests.at(-1)!;
    expect(holder.grant_type).toBe("refresh_token");
    await sleep(200); // the others wait for the lock

    const killedAt = Date.now();
    await master.kill();
    await sleep(HOLD_MS);
    server.release(); // the new token set arrives while the slot has no master
    const promotedMs = await cluster.waitForPromotion(replicas[0]!, slot);
    // Until every process has had a call, sent after the promotion, answered (at most two command time limits).
    const promotedAt = Date.now();
    const servedSince = (worker: number) =>
      calls.some((c) => c.worker === worker && c.answer.type === "token" && c.sentAt > promotedAt);
    while (!pool.every((_, i) => servedSince(i)) && Date.now() - promotedAt < 2 * COMMAND_TIMEOUT_MS) await sleep(50);
    stopAt = Date.now();
    await Promise.all(loops);

    // After the failover, every process gets the one token set refreshed through it.
    const latest = server.issued.at(-1)!;
    const after = await Promise.all(
      pool.map(async (worker) => {
        const n = ++id;
        worker.send({ type: "get", id: n });
        return worker.answer(n);
      }),
    );
    const stored = await store.get("default");
    const replays = server.replayedRefreshTokens.length;
    const lost = stored?.refresh_token === latest.refresh_token && server.isLive(latest.refresh_token!) ? 0 : 1;
    const errors: Record<string, number> = {};
    for (const c of calls) if (c.answer.type === "error") errors[c.answer.code] = (errors[c.answer.code] ?? 0) + 1;
    const longest = calls.reduce((max, c) => Math.max(max, c.ms), 0);
    // The holder's write of the new token set, hence its "refreshed" event, waited out the failover.
    const refreshed = pool.flatMap((w) => w.events).filter((e) => e.event.type === "refreshed");
    const storedAfterMs = (refreshed[0]?.at ?? Number.NaN) - killedAt;
    console.log(
      `[redis cluster, failover] master :${master.port} of slot ${slot} killed during a refresh; replica ` +
        `:${replicas[0]!.port} promoted ${promotedMs + HOLD_MS} ms after the kill; ${calls.length} calls settled ` +
        `(${calls.filter((c) => c.answer.type === "token").length} with a token, errors ${JSON.stringify(errors)}), ` +
        `longest wait ${longest} ms (bound ${BOUND_MS} ms); new token set stored ${storedAfterMs} ms after the kill; token requests ${server.tokenRequests() - 1} after the ` +
        `code exchange; replays ${replays}; tokens lost ${lost}; store failures seen by the managers ${JSON.stringify(failures(pool))}`,
    );

    expect(calls.length).toBeGreaterThanOrEqual(pool.length);
    expect(longest).toBeLessThanOrEqual(BOUND_MS);
    // Failing calls fail on the store, typed, never because the grant was lost.
    expect(Object.keys(errors).filter((code) => !code.startsWith("TOKEN_STORE_"))).toEqual([]);
    expect(replays).toBe(0);
    expect(lost).toBe(0);
    expect(server.tokenRequests()).toBe(2); // the code exchange and one refresh
    expect(refreshed).toHaveLength(1);
    expect(storedAfterMs).toBeGreaterThan(cluster.nodeTimeoutMs);
    for (const answer of after) expect(answer).toMatchObject({ type: "token", token: latest.access_token });
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  });
});

describe("createRedisTokenStore on a Redis Cluster: a write lost in a failover", () => {
  /*
   * The case the failover test above leaves out, made to happen: the master acknowledges the new token set and
   * dies before its replica has it. The replica is frozen and its link cut (a frozen replica would still find in
   * its socket buffer what the master sent it), one process refreshes through the master alone, then the master
   * is killed and the replica thawed and promoted. It holds the previous record, whose refresh token the server
   * has rotated out.
   *
   * What callers see today, asserted here so that a change to it is seen: the next process to refresh sends that
   * refresh token again (one replay, refused with invalid_grant; a server with reuse detection would revoke the
   * whole grant), its caller gets ReauthorizationRequiredError and the key is cleared, while the process that
   * refreshed keeps serving the new access token and holds the only copy of the live refresh token, in memory.
   * The in-flight marker (written before the refresh token leaves) was lost with the same master, so it cannot
   * stop the replay either. This is the default, waitForReplicas: 0; the next test shows waitForReplicas: 1, where
   * only writes a replica has acknowledged count, and the same failure costs nothing.
   */
  test("the new token set acknowledged by the master and lost with it: the next refresh replays the old refresh token (documented limit)", {
    timeout: 60_000,
  }, async () => {
    const COMMAND_TIMEOUT_MS = 8_000;
    const { prefix, slot, master, replica, tokenKey, store, first } = await seedOnReplicatedShard("lost-write", {
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    const options: Partial<WorkerConfig> = {
      grant: "refresh_token",
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      lockWaitMs: 20_000,
    };
    const [a, b] = await Promise.all([startWorker({ prefix, ...options }), startWorker({ prefix, ...options })]);

    replica.freeze();
    let thawed = false;
    cleanup.push(() => thawed || replica.thaw());
    await cluster.command(master, ["CLIENT", "KILL", "TYPE", "replica"]);
    a!.send({ type: "get", id: 1 });
    const fromA = await a!.answer(1);
    const [, renewed] = server.issued;
    expect(fromA).toMatchObject({ type: "token", token: renewed!.access_token });
    // Acknowledged by the master: the new token set is there.
    expect(JSON.parse(String(await cluster.command(master, ["GET", tokenKey])))).toMatchObject({
      refresh_token: renewed!.refresh_token,
    });
    const killedAt = Date.now();
    await master.kill();
    replica.thaw();
    thawed = true;
    const promotedMs = await cluster.waitForPromotion(replica, slot);
    // ...and not on the replica that took over.
    expect(JSON.parse(String(await cluster.command(replica, ["GET", tokenKey])))).toMatchObject({
      refresh_token: first.refresh_token,
    });

    const sentAt = Date.now();
    b!.send({ type: "get", id: 2 });
    const fromB = await b!.answer(2);
    const waitB = Date.now() - sentAt;
    a!.send({ type: "get", id: 3 });
    const fromA2 = await a!.answer(3);
    const stored = await store.get("default");
    const replays = server.replayedRefreshTokens.length;
    const lost = stored?.refresh_token === renewed!.refresh_token ? 0 : 1;
    console.log(
      `[redis cluster, write lost in a failover] master :${master.port} of slot ${slot} acknowledged the new token set ` +
        `and was killed before its replica :${replica.port} had it; promoted ${promotedMs} ms after the kill ` +
        `(${Date.now() - killedAt} ms ago); the next process' call settled in ${waitB} ms with ` +
        `${fromB.type === "error" ? fromB.code : "a token"}; replays ${replays}; tokens lost ${lost} (the live ` +
        `refresh token is in the refreshing process' memory only); that process still serves its access token: ` +
        `${fromA2.type === "token" && fromA2.token === renewed!.access_token}`,
    );

    expect(server.replayedRefreshTokens).toEqual([first.refresh_token]);
    expect(server.requests.at(-1)).toMatchObject({ grant_type: "refresh_token", status: 400 });
    expect(fromB).toMatchObject({ type: "error", code: "OAUTH_REAUTHORIZATION_REQUIRED" });
    expect(waitB).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(stored).toBeUndefined();
    expect(server.isLive(renewed!.refresh_token!)).toBe(true);
    expect(fromA2).toMatchObject({ type: "token", token: renewed!.access_token });
    expect(server.issued).toHaveLength(2);
  });
});

describe("createRedisTokenStore on a Redis Cluster: waitForReplicas", () => {
  /*
   * The same failure as above, with waitForReplicas: 1. A write counts as done only once the replica holds it
   * (WAIT), so nothing the refresh relies on can be lost with the master: while the replica is cut off the refresh
   * mark is not acknowledged and the refresh token is not sent; once the replica is back, the refresh goes through,
   * and after the master is killed the promoted replica holds the new token set.
   */
  test("with waitForReplicas: 1 nothing is sent while the replica is cut off, and the new token set survives the master's death: 0 replayed, 0 lost", {
    timeout: 60_000,
  }, async () => {
    const COMMAND_TIMEOUT_MS = 3_000;
    const { prefix, slot, master, replica, tokenKey, store, first } = await seedOnReplicatedShard("wait", {
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      waitForReplicas: 1,
    });
    const options: Partial<WorkerConfig> = {
      grant: "refresh_token",
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      lockWaitMs: 20_000,
      waitForReplicas: 1,
    };
    const [a, b] = await Promise.all([startWorker({ prefix, ...options }), startWorker({ prefix, ...options })]);

    replica.freeze();
    let thawed = false;
    cleanup.push(() => thawed || replica.thaw());
    await cluster.command(master, ["CLIENT", "KILL", "TYPE", "replica"]);
    a!.send({ type: "get", id: 1 });
    const cutOff = await a!.answer(1);
    expect(cutOff).toMatchObject({ type: "error", code: "TOKEN_STORE_UNAVAILABLE" });
    expect(cutOff.type === "error" && cutOff.message).toContain("unreplicated");
    expect(server.tokenRequests()).toBe(1); // the code exchange only: the refresh token was not sent

    replica.thaw();
    thawed = true;
    await waitUntilReplicated(master, replica, tokenKey);
    a!.send({ type: "get", id: 2 });
    const fromA = await a!.answer(2);
    const [, renewed] = server.issued;
    expect(fromA).toMatchObject({ type: "token", token: renewed!.access_token });
    // Acknowledged by the replica before the token was handed out.
    expect(JSON.parse(String(await readOnReplica(replica, tokenKey)))).toMatchObject({
      refresh_token: renewed!.refresh_token,
    });

    const killedAt = Date.now();
    await master.kill();
    const promotedMs = await cluster.waitForPromotion(replica, slot);
    const sentAt = Date.now();
    b!.send({ type: "get", id: 3 });
    const fromB = await b!.answer(3);
    const waitB = Date.now() - sentAt;
    const stored = await store.get("default");
    const replays = server.replayedRefreshTokens.length;
    const lost = stored?.refresh_token === renewed!.refresh_token && server.isLive(renewed!.refresh_token!) ? 0 : 1;
    console.log(
      `[redis cluster, waitForReplicas: 1] refresh refused while the replica :${replica.port} was cut off ` +
        `(${cutOff.type === "error" ? cutOff.code : "?"}, nothing sent); after it was back the new token set was ` +
        `acknowledged by it; master :${master.port} killed, replica promoted ${promotedMs} ms after the kill ` +
        `(${Date.now() - killedAt} ms ago); the next process' call settled in ${waitB} ms with ` +
        `${fromB.type === "error" ? fromB.code : "the new token"}; replays ${replays}; tokens lost ${lost}`,
    );
    expect(fromB).toMatchObject({ type: "token", token: renewed!.access_token });
    expect(replays).toBe(0);
    expect(lost).toBe(0);
    expect(server.issued).toHaveLength(2);
  });
});

/**
 * A prefix whose slot's master still has its replica (the failover tests kill masters: a promoted replica has
 * none), a store on it, and a refresh-token grant's first token set stored there, already expired, and replicated.
 */
async function seedOnReplicatedShard(name: string, options: Partial<RedisTokenStoreOptions>) {
  const oauth = createOAuthClient({
    baseUrl: server.url,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
  });
  const client = await connectCluster();
  let prefix: string;
  let owner: KeyOwner;
  do {
    prefix = uniquePrefix(name);
    owner = await cluster.ownerOf(`${prefix}token:default`);
  } while (owner.replicas.filter((r) => r.alive()).length !== 1);
  const { slot, master } = owner;
  const replica = owner.replicas.find((r) => r.alive())!;
  const tokenKey = `${prefix}token:default`;
  const store = createRedisTokenStore({ client: nodeRedisCluster(client), prefix, ...options });
  const first = await oauth.exchangeAuthorizationCode({ code: server.issueCode() });
  await store.set("default", {
    access_token: first.access_token,
    token_type: "Bearer",
    refresh_token: first.refresh_token!,
    obtained_at_ms: Date.now() - 3_600_000,
    expires_at_ms: Date.now() - 1_000,
  });
  await waitUntilReplicated(master, replica, tokenKey);
  return { prefix, slot, master, replica, tokenKey, store, first };
}

async function role(node: ClusterNode): Promise<string | undefined> {
  return /^role:(\w+)/m.exec(String(await cluster.command(node, ["INFO", "replication"])))?.[1];
}

/** Waits until `replica` has `key` as `master` holds it. */
async function waitUntilReplicated(master: ClusterNode, replica: ClusterNode, key: string): Promise<void> {
  const value = await cluster.command(master, ["GET", key]);
  const deadline = Date.now() + 10_000;
  // A replica answers reads of its master's slots after READONLY; one connection per command, so both at once.
  while (String(await readOnReplica(replica, key)) !== String(value)) {
    if (Date.now() > deadline) throw new Error(`${key} did not reach the replica :${replica.port}`);
    await sleep(20);
  }
}

async function readOnReplica(replica: ClusterNode, key: string): Promise<unknown> {
  const client = createClient({ url: replica.url });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.sendCommand(["READONLY"]);
    return await client.sendCommand(["GET", key]);
  } finally {
    client.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
