/** The bench's token server (scripts/bench/token-server.mjs), in a process of its own on 127.0.0.1. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export interface BenchServer {
  url: string;
  stop(): void;
}

export async function startServer(): Promise<BenchServer> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./token-server.mjs", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, stop: () => child.kill("SIGTERM") };
}
