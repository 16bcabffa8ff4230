/**
 * Benchmark against peers (issue 8), in one interleaved run:
 * 1. time per client_credentials token request against a local node:http server on 127.0.0.1, as a ratio to
 *    raw fetch, for this client, a bare openapi-fetch call, oauth4webapi, openid-client and simple-oauth2;
 *    interleaved rounds (each round every contender once, in a new random order), medians. Raw fetch with
 *    redirect: "error", the mode the client uses on Node's own fetch, is shown too, so the part of the gap
 *    that mode makes can be seen; and this client with a DPoP proof and with a private_key_jwt assertion, one
 *    ES256 signature each per request;
 * 2. the minified + gzipped browser bundle (esbuild) of the client alone and with the token manager, next to
 *    the peers';
 * 3. cold import time of a fresh `node` process, next to the peers', over an empty node process of the same run;
 * 4. the project's targets against this run's figures.
 * It prints numbers and asserts nothing. Loops are bounded; the server is stopped at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import createClient from "openapi-fetch";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import simpleOauth2 from "simple-oauth2";
import type { paths } from "../generated/schema";
import type {
  createDpopKey as CreateDpopKey,
  createOAuthClient as CreateOAuthClient,
  DpopKey,
  privateKeyJwt as PrivateKeyJwt,
} from "../src/index";
import { gzippedBundleBytes, OWN_BUNDLES } from "./size";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 150);
const IMPORT_RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 21);

/** The q-quantile (0 to 1) of `values`, interpolated between neighbours. */
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
};
const median = (values: number[]) => quantile(values, 0.5);

async function startServer() {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./bench/token-server.mjs", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}`, stop: () => child.kill("SIGTERM") };
}

type Contender = { name: string; request: () => Promise<unknown> };

function contenders(baseUrl: string, dpop: DpopKey, assertionKey: JsonWebKey): Contender[] {
  const clientId = "bench-client";
  const clientSecret = "bench-secret";
  const tokenUrl = `${baseUrl}/oauth2/token`;
  const basic = `Basic ${btoa(`${clientId}:${clientSecret}`)}`;

  const ours = createOAuthClient({ baseUrl, clientId, clientSecret });
  const oursJwt = createOAuthClient({ baseUrl, clientId, clientAuthentication: privateKeyJwt(clientId, assertionKey) });
  const bare = createClient<paths>({ baseUrl });
  const as: oauth.AuthorizationServer = { issuer: baseUrl, token_endpoint: tokenUrl };
  const o4wClient: oauth.Client = { client_id: clientId };
  const o4wAuth = oauth.ClientSecretBasic(clientSecret);
  const openidConfig = new openid.Configuration(as, clientId, clientSecret);
  openid.allowInsecureRequests(openidConfig);
  const simple = new simpleOauth2.ClientCredentials({
    client: { id: clientId, secret: clientSecret },
    auth: { tokenHost: baseUrl, tokenPath: "/oauth2/token" },
  });

  return [
    {
      name: "raw fetch",
      request: () =>
        fetch(tokenUrl, {
          method: "POST",
          headers: {
            Authorization: basic,
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: "application/json",
          },
          body: "grant_type=client_credentials&scope=read",
        }).then((r) => r.json()),
    },
    {
      // What the client does on Node's own fetch: refusing redirects spares undici a copy of the body.
      name: 'raw fetch, redirect: "error"',
      request: () =>
        fetch(tokenUrl, {
          method: "POST",
          redirect: "error",
          headers: {
            Authorization: basic,
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: "application/json",
          },
          body: "grant_type=client_credentials&scope=read",
        }).then((r) => r.json()),
    },
    { name: "oauth-token-client", request: () => ours.clientCredentials({ scope: "read" }) },
    // One ES256 signature per request (issue 13): the DPoP proof, or the private_key_jwt client assertion.
    { name: "oauth-token-client, DPoP proof", request: () => ours.clientCredentials({ scope: "read" }, { dpop }) },
    { name: "oauth-token-client, private_key_jwt", request: () => oursJwt.clientCredentials({ scope: "read" }) },
    {
      name: "bare openapi-fetch",
      request: () =>
        bare.POST("/oauth2/token", {
          body: { grant_type: "client_credentials", scope: "read" },
          headers: { Authorization: basic, "Content-Type": "application/x-www-form-urlencoded" },
        }),
    },
    {
      name: "oauth4webapi",
      request: async () =>
        oauth.processClientCredentialsResponse(
          as,
          o4wClient,
          await oauth.clientCredentialsGrantRequest(
            as,
            o4wClient,
            o4wAuth,
            { scope: "read" },
            { [oauth.allowInsecureRequests]: true },
          ),
        ),
    },
    { name: "openid-client", request: () => openid.clientCredentialsGrant(openidConfig, { scope: "read" }) },
    { name: "simple-oauth2", request: () => simple.getToken({ scope: "read" }) },
  ];
}

/** A copy of `items` in random order (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type Timing = { us: number; ratio: number; low: number; high: number };

async function requestTimes(): Promise<Map<string, Timing>> {
  const server = await startServer();
  try {
    const assertionKey = (await crypto.subtle.exportKey(
      "jwk",
      (
        await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])
      ).privateKey,
    )) as JsonWebKey;
    const list = contenders(server.url, await createDpopKey(), assertionKey);
    for (const c of list) for (let i = 0; i < 50; i++) await c.request(); // warm-up: JIT and keep-alive sockets
    const perRound = new Map<string, number[]>(list.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // A new order each round: no contender always runs first, or always right after one that leaves much
      // garbage for the next to collect.
      for (const c of shuffled(list)) {
        const start = performance.now();
        for (let i = 0; i < PER_ROUND; i++) await c.request();
        perRound.get(c.name)!.push(((performance.now() - start) * 1000) / PER_ROUND);
      }
    }
    // Each round's time relative to raw fetch in the same round: slow drift of the machine cancels out.
    const raw = perRound.get("raw fetch")!;
    return new Map(
      [...perRound].map(([name, times]) => {
        const ratios = times.map((t, i) => t / raw[i]!);
        return [
          name,
          { us: median(times), ratio: median(ratios), low: quantile(ratios, 0.25), high: quantile(ratios, 0.75) },
        ];
      }),
    );
  } finally {
    server.stop();
  }
}

export const BUNDLES: Record<string, string> = {
  "oauth-token-client (client)": OWN_BUNDLES.client,
  "oauth-token-client (client + token manager)": OWN_BUNDLES["client + token manager"],
  "bare openapi-fetch": `export { default } from "openapi-fetch";`,
  oauth4webapi: `export { clientCredentialsGrantRequest, processClientCredentialsResponse, ClientSecretBasic } from "oauth4webapi";`,
  "openid-client": `export { Configuration, clientCredentialsGrant } from "openid-client";`,
};

/** Wall time of one fresh node process that imports `specifier`, or nothing. */
function processTime(specifier: string | undefined): number {
  const code = specifier ? `await import(${JSON.stringify(specifier)})` : "";
  const start = performance.now();
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, stdio: "ignore" });
  if (result.status !== 0) throw new Error(`import of ${specifier} failed`);
  return performance.now() - start;
}

/**
 * Cold import times over an empty node process: each run starts an empty process and then one per package,
 * in a new random order, and each package's figure is the median of its differences to the empty process of
 * the same run, so the machine's slow swings cancel out.
 */
function importTimes(): { empty: number; over: Map<string, number> } {
  const empties: number[] = [];
  const diffs = new Map<string, number[]>(Object.keys(IMPORTS).map((name) => [name, []]));
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const empty = processTime(undefined);
    empties.push(empty);
    for (const [name, specifier] of shuffled(Object.entries(IMPORTS)))
      diffs.get(name)!.push(processTime(specifier) - empty);
  }
  return { empty: median(empties), over: new Map([...diffs].map(([name, values]) => [name, median(values)])) };
}

const IMPORTS: Record<string, string> = {
  "oauth-token-client": "./dist/index.js",
  "bare openapi-fetch": "openapi-fetch",
  oauth4webapi: "oauth4webapi",
  "openid-client": "openid-client",
  "simple-oauth2": "simple-oauth2",
};

const fmt = (n: number, digits = 2) => n.toFixed(digits);

// What users run: the package as built, not the sources through tsx (whose keepNames adds a call per closure).
const built = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { cwd: ROOT, stdio: "ignore" });
if (built.status !== 0) throw new Error("npm run build failed");
const { createOAuthClient, createDpopKey, privateKeyJwt } = (await import(
  new URL("../dist/index.js", import.meta.url).href
)) as {
  createOAuthClient: typeof CreateOAuthClient;
  createDpopKey: typeof CreateDpopKey;
  privateKeyJwt: typeof PrivateKeyJwt;
};

console.log(
  `\n## Token request, client_credentials, local node:http server (built package; ${ROUNDS} interleaved rounds × ${PER_ROUND} requests, medians)\n`,
);
const times = await requestTimes();
console.log(
  "| contender | µs per request | × raw fetch (median of per-round ratios) | middle half of the per-round ratios |\n| --- | ---: | ---: | ---: |",
);
for (const [name, { us, ratio, low, high }] of times)
  console.log(`| ${name} | ${fmt(us, 1)} | ${fmt(ratio)}× | ${fmt(low)}–${fmt(high)}× |`);

console.log("\n## Browser bundle, esbuild --minify, gzip -9\n");
console.log("| bundle | min+gz |\n| --- | ---: |");
const kilobytes = new Map<string, number>();
for (const [name, contents] of Object.entries(BUNDLES)) {
  kilobytes.set(name, (await gzippedBundleBytes(contents)) / 1024);
  console.log(`| ${name} | ${fmt(kilobytes.get(name)!, 2)} KB |`);
}

console.log(`\n## Cold import, fresh node process (${IMPORT_RUNS} runs; the package from dist/)\n`);
const { empty, over } = importTimes();
console.log(`| import | ms over an empty node process (${fmt(empty, 1)} ms), median of paired runs |\n| --- | ---: |`);
for (const [name, ms] of over) console.log(`| ${name} | ${fmt(ms, 1)} |`);

// The project's targets (issue 12, "The spec drives the runtime"), against this run's figures. Per request:
// at most 1.05× raw fetch, and level with oauth4webapi measured in the same run.
const ours = times.get("oauth-token-client")!.ratio;
const targets: [string, number, number, string][] = [
  ["per request, × raw fetch", ours, 1.05, "×"],
  ["per request, × oauth4webapi's ratio", ours / times.get("oauth4webapi")!.ratio, 1, "×"],
  ["client bundle, KB min+gz", kilobytes.get("oauth-token-client (client)")!, 9, " KB"],
  [
    "client + token manager bundle, KB min+gz",
    kilobytes.get("oauth-token-client (client + token manager)")!,
    11.5,
    " KB",
  ],
  ["cold import, ms over an empty node", over.get("oauth-token-client")!, 10, " ms"],
];
console.log("\n## Targets, this run\n\n| target | measured | at most | met |\n| --- | ---: | ---: | --- |");
for (const [name, value, limit, unit] of targets)
  console.log(`| ${name} | ${fmt(value)}${unit} | ${fmt(limit)}${unit} | ${value <= limit ? "yes" : "no"} |`);
