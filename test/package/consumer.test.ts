/**
 * The published package as a user gets it: `npm pack`, installed into a fresh project, then imported (ESM),
 * required (CommonJS), type-checked with moduleResolution node16 and bundler, and used for one token request
 * against Prism (and, from ESM, one against a server that redirects), on Node 20, 22 and 24 (the newer ones
 * from the npm registry's `node` package).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
/** Exact versions, so a run is repeatable; Node 20 is the machine's own. */
const NODE_VERSIONS = { "20": process.execPath, "22": "22.23.3", "24": "24.21.0" } as const;
const NODE_CACHE = join(ROOT, ".tmp/node-versions");

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: "pipe",
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
}

/** The `node` binary of a major version, installed once from the npm registry's `node` package. */
function nodeBinary(major: keyof typeof NODE_VERSIONS): string {
  if (major === "20") return NODE_VERSIONS["20"];
  const dir = join(NODE_CACHE, NODE_VERSIONS[major]);
  const bin = join(dir, "node_modules/.bin/node");
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true }));
    run("npm", ["install", "--no-audit", "--no-fund", "--no-save", `node@${NODE_VERSIONS[major]}`], dir);
  }
  return bin;
}

const ESM = `
import { createServer } from "node:http";
import { createOAuthClient, OAuthError } from "oauth-token-client";
import { createRedisTokenStore } from "oauth-token-client/redis";
const client = createOAuthClient({ baseUrl: process.env.PRISM_URL, clientId: "consumer", clientSecret: "consumer-secret" });
const token = await client.clientCredentials({ scope: "read" });
// This Node's own fetch refuses a redirect (redirect: "error"); the client must still say it was one.
const moved = createServer((request, response) => request.resume().on("end", () => response.writeHead(302, { Location: "/elsewhere" }).end()));
await new Promise((resolve) => moved.listen(0, "127.0.0.1", resolve));
const movedClient = createOAuthClient({ baseUrl: "http://127.0.0.1:" + moved.address().port, clientId: "consumer", clientSecret: "consumer-secret" });
const redirect = await movedClient.clientCredentials().then(
  () => "resolved",
  (error) => ({ name: error.name, status: error.status, said: error.message.includes("answered with a redirect") }),
);
moved.close();
console.log(JSON.stringify({ kind: "esm", node: process.versions.node, type: typeof OAuthError, redis: typeof createRedisTokenStore, token_type: token.token_type, has_token: token.access_token.length > 0, redirect }));
`;
const CJS = `
const { createOAuthClient, OAuthError } = require("oauth-token-client");
const { createRedisTokenStore } = require("oauth-token-client/redis");
const client = createOAuthClient({ baseUrl: process.env.PRISM_URL, clientId: "consumer", clientSecret: "consumer-secret" });
client.clientCredentials({ scope: "read" }).then((token) => {
  console.log(JSON.stringify({ kind: "cjs", node: process.versions.node, type: typeof OAuthError, redis: typeof createRedisTokenStore, token_type: token.token_type, has_token: token.access_token.length > 0 }));
});
`;
const TS = `
import { createOAuthClient, createTokenManager, OAuthError, type TokenResponse } from "oauth-token-client";
import { createRedisTokenStore, type RedisCommandClient } from "oauth-token-client/redis";
const client = createOAuthClient({ baseUrl: "https://auth.example.org", clientId: "c", clientSecret: "s" });
export async function get(): Promise<string> {
  const token: TokenResponse = await client.clientCredentials({ scope: "read" });
  // @ts-expect-error: code is not a field of the client_credentials grant.
  await client.obtainToken({ grant_type: "client_credentials", code: "x" });
  return token.access_token;
}
export const isOAuthError = (e: unknown): e is OAuthError => e instanceof OAuthError;
export function managerFor(redis: RedisCommandClient) {
  return createTokenManager({ client, grant: { type: "client_credentials" }, store: createRedisTokenStore({ client: redis }) });
}
`;

describe("the packed package in a fresh project", () => {
  let project: string;
  let prismUrl: string;

  beforeAll(() => {
    prismUrl = inject("prismUrl");
    project = mkdtempSync(join(tmpdir(), "oauth-consumer-"));
    run("npm", ["pack", "--pack-destination", project], ROOT);
    const tarball = readdirSync(project).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error("npm pack made no tarball");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "commonjs" }));
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${tarball}`], project);
    writeFileSync(join(project, "esm.mjs"), ESM);
    writeFileSync(join(project, "cjs.cjs"), CJS);
    for (const resolution of ["node16", "bundler"] as const) {
      const dir = join(project, resolution);
      mkdirSync(dir);
      writeFileSync(join(dir, "check.mts"), TS);
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            target: "ES2022",
            lib: ["ES2022", "DOM"],
            types: [],
            module: resolution === "node16" ? "node16" : "esnext",
            moduleResolution: resolution,
          },
          files: ["check.mts"],
        }),
      );
    }
  }, 300_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  describe.each(Object.keys(NODE_VERSIONS) as (keyof typeof NODE_VERSIONS)[])("on Node %s", (major) => {
    let node: string;
    beforeAll(() => {
      node = nodeBinary(major);
    }, 240_000);

    test("runs the expected Node version", () => {
      expect(run(node, ["--version"], project).trim()).toMatch(new RegExp(`^v${major}\\.`));
    });

    test.each(["esm.mjs", "cjs.cjs"])("%s loads the package and gets a token from Prism", (file) => {
      const result = JSON.parse(run(node, [file], project, { PRISM_URL: prismUrl }));
      const redirect = file === "esm.mjs" ? { redirect: { name: "OAuthResponseError", status: 0, said: true } } : {};
      expect(result).toEqual({
        kind: file.slice(0, 3),
        node: expect.stringMatching(new RegExp(`^${major}\\.`)),
        type: "function",
        redis: "function",
        token_type: "Bearer",
        has_token: true,
        ...redirect,
      });
    });

    test.each(["node16", "bundler"])("type-checks a consumer with moduleResolution %s", (resolution) => {
      // tsc exits non-zero, and execFileSync throws with its diagnostics, on any type error.
      expect(run(node, [TSC, "-p", join(project, resolution)], project)).toBe("");
    });
  });
});
