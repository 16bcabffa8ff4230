/**
 * The published package as a user gets it: `npm pack`, installed into a fresh project, then imported (ESM),
 * required (CommonJS), type-checked with moduleResolution node16 and bundler, and used for one token request
 * against Prism (and, from ESM, one against a server that redirects), on Node 20, 22 and 24 (the newer ones
 * from the npm registry's `node` package). And one class per error: what a Redis store throws is `instanceof`
 * the class of that name from either entry point.
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
import { createRedisTokenStore, type RedisCommandClient, TokenStoreUnavailableError } from "oauth-token-client/redis";
import type { OAuthClientError } from "oauth-token-client";
const client = createOAuthClient({ baseUrl: "https://auth.example.org", clientId: "c", clientSecret: "s" });
export async function get(): Promise<string> {
  const token: TokenResponse = await client.clientCredentials({ scope: "read" });
  // @ts-expect-error: code is not a field of the client_credentials grant.
  await client.obtainToken({ grant_type: "client_credentials", code: "x" });
  return token.access_token;
}
export const isOAuthError = (e: unknown): e is OAuthError => e instanceof OAuthError;
export const asBase = (e: TokenStoreUnavailableError): OAuthClientError => e;
export function managerFor(redis: RedisCommandClient) {
  return createTokenManager({ client, grant: { type: "client_credentials" }, store: createRedisTokenStore({ client: redis }) });
}
`;

/**
 * The error classes across entry points, from ESM (`errors.mjs`) or CommonJS (`errors.cjs`): a Redis store
 * over a command client of the test's own reads a corrupt value (not JSON; a key of another type) and a refusal,
 * and each error is checked against every error class either entry point exports. Also: every name both entry
 * points export is one value, and every error class of "./redis" extends the base class of ".".
 */
const ERRORS_BODY = `
const replies = {
  notJson: "not json",
  wrongType: new Error("WRONGTYPE Operation against a key holding the wrong kind of value"),
  readOnly: new Error("READONLY You can't write against a read only replica."),
};
const entries = { ".": main, "./redis": redis };
const isErrorClass = (value) => typeof value === "function" && (value === Error || value.prototype instanceof Error);
const thrown = {};
for (const [name, reply] of Object.entries(replies)) {
  const store = redis.createRedisTokenStore({
    client: { sendCommand: async () => { if (reply instanceof Error) throw reply; return reply; } },
  });
  const error = await store.get("k").then(() => undefined, (e) => e);
  const instanceOf = {};
  for (const [entry, exports] of Object.entries(entries))
    for (const [exported, value] of Object.entries(exports))
      if (isErrorClass(value)) instanceOf[entry + " " + exported] = error instanceof value;
  thrown[name] = { name: error?.name, instanceOf };
}
const notShared = Object.keys(main).filter((name) => name in redis && main[name] !== redis[name]);
const notExtendingBase = Object.entries(redis)
  .filter(([, value]) => isErrorClass(value) && !(value.prototype instanceof main.OAuthClientError))
  .map(([name]) => name);
console.log(JSON.stringify({ thrown, notShared, notExtendingBase }));
`;
const ERRORS_ESM = `import * as main from "oauth-token-client";
import * as redis from "oauth-token-client/redis";
${ERRORS_BODY}`;
const ERRORS_CJS = `const main = require("oauth-token-client");
const redis = require("oauth-token-client/redis");
(async () => {
${ERRORS_BODY}
})();`;
/** What requiring "." alone loads of the package: its files, and those of them that hold Redis store code. */
const ALONE_CJS = `const { readFileSync } = require("node:fs");
const { basename } = require("node:path");
require("oauth-token-client");
const loaded = Object.keys(require.cache).filter((file) => file.includes("oauth-token-client"));
const withRedis = loaded.filter((file) => readFileSync(file, "utf8").includes("createRedisTokenStore"));
console.log(JSON.stringify({ loaded: loaded.map((file) => basename(file)), withRedis }));
`;
/** The classes each read's error must be an instance of, by name, whichever entry point exports them. */
const ERROR_CLASSES = {
  notJson: ["OAuthClientError", "TokenStoreCorruptError"],
  wrongType: ["OAuthClientError", "TokenStoreCorruptError"],
  readOnly: ["OAuthClientError", "TokenStoreUnavailableError"],
} as const;

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
    writeFileSync(join(project, "errors.mjs"), ERRORS_ESM);
    writeFileSync(join(project, "errors.cjs"), ERRORS_CJS);
    writeFileSync(join(project, "alone.cjs"), ALONE_CJS);
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

    test.each(["errors.mjs", "errors.cjs"])(
      "%s: a Redis store's errors are instances of the classes either entry point exports",
      (file) => {
        const result = JSON.parse(run(node, [file], project)) as {
          thrown: Record<keyof typeof ERROR_CLASSES, { name: string; instanceOf: Record<string, boolean> }>;
          notShared: string[];
          notExtendingBase: string[];
        };
        for (const [read, classes] of Object.entries(ERROR_CLASSES) as [
          keyof typeof ERROR_CLASSES,
          readonly string[],
        ][]) {
          const { name, instanceOf } = result.thrown[read];
          expect(name, read).toBe(classes[1]);
          // The base and the store's classes are there, from the entry points that own them; then every error class of
          // either entry point is one the error is an instance of exactly when its name is one of its classes.
          expect(Object.keys(instanceOf), read).toEqual(
            expect.arrayContaining([
              ". OAuthClientError",
              ". TokenStoreCorruptError",
              "./redis TokenStoreUnavailableError",
            ]),
          );
          const expected = Object.fromEntries(
            Object.keys(instanceOf).map((key) => [key, classes.includes(key.split(" ")[1]!)]),
          );
          expect(instanceOf, read).toEqual(expected);
        }
        expect(result.notShared).toEqual([]);
        expect(result.notExtendingBase).toEqual([]);
      },
    );

    test("requiring the main entry point alone loads no Redis store code", () => {
      const { loaded, withRedis } = JSON.parse(run(node, ["alone.cjs"], project));
      expect(loaded).toContain("index.cjs");
      expect(loaded).not.toContain("redis.cjs");
      expect(withRedis).toEqual([]);
    });

    test.each(["node16", "bundler"])("type-checks a consumer with moduleResolution %s", (resolution) => {
      // tsc exits non-zero, and execFileSync throws with its diagnostics, on any type error.
      expect(run(node, [TSC, "-p", join(project, resolution)], project)).toBe("");
    });
  });
});
