// A minimal client_credentials token endpoint for benchmarks, run as its own process so the server's work
// does not share the measured event loop. Prints its port, then serves until killed.
import { createServer } from "node:http";

const body = JSON.stringify({ access_token: "bench-access-token-0123456789", token_type: "Bearer", expires_in: 3600, scope: "read" });
const server = createServer((req, res) => {
  let size = 0;
  req.on("data", (chunk) => (size += chunk.length));
  req.on("end", () => {
    if (req.method !== "POST" || size === 0) {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_request"}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(body) }).end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
