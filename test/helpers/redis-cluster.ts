/**
 * A real Redis Cluster on loopback for the tests: Debian's `redis-server` nodes joined by
 * `redis-cli --cluster create`, with the operations the tests put it through (a master killed or frozen, a
 * manual failover, a slot migrated by hand) and the questions they ask it (which node serves a key now).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { spawnGroup, waitUntilReady, type ProcessGroup } from "../../scripts/process-group";
import { freePort } from "./prism";
import { pong, REDIS_SERVER_PATH, serverArgs } from "./redis-server";

/** Debian's `redis-tools` package (a dependency of `redis-server`) installs the cluster's command-line tool here. */
export const REDIS_CLI_PATH = "/usr/bin/redis-cli";

/** One node of a {@link startRedisCluster}. */
export interface ClusterNode {
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** The server's process ID. */
  pid: number;
  /** The node's cluster ID (40 hex digits). */
  id: string;
  /** Kills the node (SIGKILL) and waits for it to exit: a crash, with whatever it had not replicated lost. */
  kill(): Promise<void>;
  /** Freezes the node (SIGSTOP): its connections stay open and nothing answers. */
  freeze(): void;
  /** Thaws a frozen node (SIGCONT). */
  thaw(): void;
  /** Whether it still runs (not killed). */
  alive(): boolean;
}

/** Where a key lives now. */
export interface KeyOwner {
  slot: number;
  master: ClusterNode;
  replicas: ClusterNode[];
}

/** A running {@link startRedisCluster}. */
export interface RunningRedisCluster {
  nodes: ClusterNode[];
  /** The addresses to hand a cluster client, as `createCluster({ rootNodes })` takes them. */
  rootNodes: { url: string }[];
  /** `cluster-node-timeout`, in ms: how long a node may be silent before the others count it as failing. */
  nodeTimeoutMs: number;
  /** Sends one command to one node on a connection of its own; an error reply rejects. */
  command(node: ClusterNode, args: string[]): Promise<unknown>;
  /** The slot of `key` and, by the cluster's own word (`CLUSTER SHARDS` of a live node), who serves it now. */
  ownerOf(key: string): Promise<KeyOwner>;
  /**
   * Waits until `replica` is a master that every live node agrees serves `slot`, and the cluster is `ok` on every
   * live node. Resolves with how long it took, in ms.
   */
  waitForPromotion(replica: ClusterNode, slot: number, timeoutMs?: number): Promise<number>;
  /** Stops every node (SIGKILL, which ends a frozen one too) and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** One command on a short-lived connection of its own, so a killed or frozen node costs no client state. */
async function ask(port: number, args: string[], timeoutMs = 5_000): Promise<unknown> {
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  client.on("error", () => {});
  const timer = setTimeout(() => client.destroy(), timeoutMs);
  try {
    await client.connect();
    return await client.sendCommand(args);
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

/** Runs redis-cli to completion in a process group of its own; rejects with its output unless it exits 0. */
async function redisCli(args: string[], timeoutMs: number): Promise<string> {
  const group: ProcessGroup = spawnGroup(REDIS_CLI_PATH, args);
  const timer = setTimeout(() => void group.stop(), timeoutMs);
  try {
    await new Promise<void>((resolve) => {
      if (group.ended() !== undefined) resolve();
      else group.child.once("exit", () => resolve());
    });
  } finally {
    clearTimeout(timer);
    await group.stop();
  }
  if (group.child.exitCode !== 0)
    throw new Error(`redis-cli ${args.join(" ")} ended (${group.ended()}):\n${group.output()}`);
  return group.output();
}

function info(text: unknown, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(String(text))?.[1]?.trim();
}

/** One shard of `CLUSTER SHARDS`: its slot ranges (`[from, to, from, to, …]`) and its nodes. */
type Shard = { slots: number[]; nodes: Record<string, unknown>[] };

/** `CLUSTER SHARDS` as node-redis hands it back: maps as objects, or (RESP2, raw) as alternating names and values. */
function shards(reply: unknown): Shard[] {
  const record = (value: unknown): Record<string, unknown> => {
    if (!Array.isArray(value)) return value as Record<string, unknown>;
    return Object.fromEntries(
      Array.from({ length: value.length / 2 }, (_, i) => [String(value[2 * i]), value[2 * i + 1]]),
    );
  };
  return (reply as unknown[]).map((raw) => {
    const shard = record(raw);
    return { slots: (shard.slots as unknown[]).map(Number), nodes: (shard.nodes as unknown[]).map(record) };
  });
}

function covers(shard: Shard, slot: number): boolean {
  return shard.slots.some((from, i) => i % 2 === 0 && slot >= from && slot <= shard.slots[i + 1]!);
}

/**
 * Starts a Redis Cluster on 127.0.0.1: `masters` masters, each with `replicasPerMaster` replicas, every node a
 * Debian `redis-server` with no persistence in a fresh temporary directory and a process group of its own,
 * joined with `redis-cli --cluster create … --cluster-replicas <n> --cluster-yes`. Resolves once every node
 * says `cluster_state:ok`, knows every other, and every replica's link to its master is up. A process-exit or
 * signal hook kills the nodes if the test runner ends first, so none outlives the tests.
 *
 * A replica may take over whatever its data age (`cluster-replica-validity-factor 0`), so that a failover the
 * tests cause always completes; production clusters keep the default, which refuses a replica long cut off.
 *
 * @throws {Error} when /usr/bin/redis-server or /usr/bin/redis-cli is missing (Debian's `redis-server` package
 *   brings both), or the cluster does not form within `timeoutMs`.
 */
export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number; timeoutMs?: number } = {},
): Promise<RunningRedisCluster> {
  for (const path of [REDIS_SERVER_PATH, REDIS_CLI_PATH]) {
    if (!existsSync(path))
      throw new Error(
        `${path} is missing: the Redis Cluster tests need a real Redis. Install Debian's package (apt-get install -y redis-server), as npm test does (scripts/provision.sh).`,
      );
  }
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const count = masters * (1 + replicasPerMaster);
  // Each node listens on two ports: clients, and the cluster bus (by default port + 10 000, which may not exist).
  const ports = await distinctFreePorts(2 * count);
  const dir = mkdtempSync(join(tmpdir(), "oauth-redis-cluster-"));
  const groups: ProcessGroup[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= Promise.all(groups.map((g) => g.stop())).then(() => rmSync(dir, { recursive: true, force: true })));

  try {
    for (let i = 0; i < count; i++) {
      const port = ports[2 * i]!;
      groups.push(
        spawnGroup(REDIS_SERVER_PATH, [
          ...serverArgs(port, dir),
          "--cluster-port",
          String(ports[2 * i + 1]),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          String(nodeTimeoutMs),
          "--cluster-replica-validity-factor",
          "0",
          // A replica's first sync starts at once, not after the default 5 s wait for others to join it.
          "--repl-diskless-sync-delay",
          "0",
          "--dbfilename",
          `dump-${port}.rdb`,
        ]),
      );
    }
    await Promise.all(
      groups.map((group, i) =>
        waitUntilReady(group, `redis-server on 127.0.0.1:${ports[2 * i]}`, () => pong(ports[2 * i]!), timeoutMs, 50),
      ),
    );
    const addresses = groups.map((_, i) => `127.0.0.1:${ports[2 * i]}`);
    await redisCli(
      ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"],
      timeoutMs,
    );
    const nodes: ClusterNode[] = await Promise.all(
      groups.map(async (group, i) => {
        const port = ports[2 * i]!;
        const pid = group.child.pid!;
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          pid,
          id: String(await ask(port, ["CLUSTER", "MYID"])),
          kill: () => group.stop(),
          freeze: () => process.kill(pid, "SIGSTOP"),
          thaw: () => process.kill(pid, "SIGCONT"),
          alive: () => group.ended() === undefined,
        };
      }),
    );
    // Formed: every node agrees the cluster is ok and knows every other, and every replica's link is up.
    for (const node of nodes) {
      for (;;) {
        const [cluster, replication] = await Promise.all([
          ask(node.port, ["CLUSTER", "INFO"]),
          ask(node.port, ["INFO", "replication"]),
        ]);
        const ok =
          info(cluster, "cluster_state") === "ok" &&
          info(cluster, "cluster_known_nodes") === String(count) &&
          (info(replication, "role") === "master" || info(replication, "master_link_status") === "up");
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${addresses.join(", ")} did not form`);
        await sleep(50);
      }
    }

    const live = () => nodes.filter((n) => n.alive());
    const byId = (id: unknown) => nodes.find((n) => n.id === String(id))!;
    const command = (node: ClusterNode, args: string[]) => ask(node.port, args);

    async function ownerOf(key: string): Promise<KeyOwner> {
      const slot = Number(await command(live()[0]!, ["CLUSTER", "KEYSLOT", key]));
      for (const node of live()) {
        let found: Shard[];
        try {
          found = shards(await command(node, ["CLUSTER", "SHARDS"]));
        } catch {
          continue; // frozen or going: ask another
        }
        for (const shard of found) {
          if (!covers(shard, slot)) continue;
          const master = shard.nodes.find((n) => n.role === "master");
          return {
            slot,
            master: byId(master?.id),
            replicas: shard.nodes.filter((n) => n.role !== "master").map((n) => byId(n.id)),
          };
        }
      }
      throw new Error(`no live node of the cluster says who serves slot ${slot}`);
    }

    async function waitForPromotion(replica: ClusterNode, slot: number, waitMs = 30_000): Promise<number> {
      const started = Date.now();
      for (;;) {
        const agreed = await Promise.all(
          live().map(async (node) => {
            try {
              if (info(await command(node, ["CLUSTER", "INFO"]), "cluster_state") !== "ok") return false;
              const owner = shards(await command(node, ["CLUSTER", "SHARDS"])).find((s) => covers(s, slot));
              return owner?.nodes.some((n) => n.id === replica.id && n.role === "master") === true;
            } catch {
              return false;
            }
          }),
        );
        if (agreed.every(Boolean)) return Date.now() - started;
        if (Date.now() - started > waitMs)
          throw new Error(`node ${replica.port} was not the master of slot ${slot} on every node after ${waitMs} ms`);
        await sleep(50);
      }
    }

    return {
      nodes,
      rootNodes: nodes.map((n) => ({ url: n.url })),
      nodeTimeoutMs,
      command,
      ownerOf,
      waitForPromotion,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
