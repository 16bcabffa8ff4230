import { connect, createServer, type AddressInfo, type Socket } from "node:net";

/** A running {@link startTcpProxy}. */
export interface TcpProxy {
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /**
   * Stops forwarding in both directions: bytes already sent wait in the proxy, connections stay open, as on a
   * network link that stalls. New connections are accepted and stalled too.
   */
  stall(): void;
  /** Forwards again, the waiting bytes first, in order. */
  resume(): void;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** One direction of a proxied connection: forwards chunks, or keeps them while stalled. */
function forward(from: Socket, to: Socket, isStalled: () => boolean, waiting: Buffer[]): void {
  from.on("data", (chunk: Buffer) => {
    if (isStalled() || waiting.length > 0) waiting.push(chunk);
    else to.write(chunk);
  });
  from.on("close", () => to.destroy());
  from.on("error", () => to.destroy());
}

/**
 * Starts a TCP proxy on 127.0.0.1 and a free port to `127.0.0.1:targetPort`, which a test can stall and resume:
 * the link between one client (a replica) and a server (Redis) freezes while both ends stay up, as in a network
 * partition, then recovers with nothing lost.
 *
 * @param targetPort - the port of the server to forward to, on 127.0.0.1.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let stalled = false;
  const links: { client: Socket; upstream: Socket; up: Buffer[]; down: Buffer[] }[] = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    const link = { client, upstream, up: [] as Buffer[], down: [] as Buffer[] };
    links.push(link);
    forward(client, upstream, () => stalled, link.up);
    forward(upstream, client, () => stalled, link.down);
    client.on("close", () => {
      const index = links.indexOf(link);
      if (index >= 0) links.splice(index, 1);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const link of links) {
        for (const chunk of link.up.splice(0)) link.upstream.write(chunk);
        for (const chunk of link.down.splice(0)) link.client.write(chunk);
      }
    },
    async close() {
      for (const link of links.splice(0)) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
