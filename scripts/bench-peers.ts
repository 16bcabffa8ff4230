/**
 * Benchmark against peers (issue 8), on the package as users install it (`npm pack`, unpacked):
 * 1. time per client_credentials token request against a local node:http server on 127.0.0.1, as a ratio to
 *    raw fetch, for this client, a bare openapi-fetch call, oauth4webapi, openid-client and simple-oauth2;
 *    interleaved rounds (each round every contender once, in a new random order), medians. Raw fetch with
 *    redirect: "error", the mode the client uses on Node's own fetch, is shown too, so the part of the gap
 *    that mode makes can be seen; and this client with a DPoP proof and with a private_key_jwt assertion, one
 *    ES256 signature each per request. Issue 22 judges this client against oauth4webapi in three runs: the
 *    first of every contender, then two of raw fetch, this client and oauth4webapi alone, each run with its
 *    own server and its own rounds;
 * 2. the minified + gzipped browser bundle (esbuild, through scripts/size.ts) of one client_credentials call,
 *    the client alone and with the token manager, next to the peers';
 * 3. cold import time of a fresh `node` process, next to the peers', over an empty node process of the same run.
 * {@link runPeers} returns the figures; scripts/bench.ts holds them against issue 22's targets at its end.
 * It prints numbers and asserts nothing. Loops are bounded; each server is stopped at the end of its run.
 */
import { spawnSync } from "node:child_process";
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
import { type NamedBundle, PEER_BUNDLES, targetBundles } from "./bench/bundles";
import { type Packed, packPackage } from "./bench/packed";
import { startServer } from "./bench/server";
import { median, quantile } from "./bench/stats";
import { gzippedBundleBytes } from "./size";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 150);
const IMPORT_RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 21);
/** The runs issue 22 judges the per-request target by. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** The contenders of the runs after the first: the per-request target's. */
export const TARGET_CONTENDERS = ["raw fetch", "oauth-token-client", "oauth4webapi"] as const;

type Contender = { name: string; request: () => Promise<unknown> };

/** The packed client's exports the bench uses. */
interface Ours {
  createOAuthClient: typeof CreateOAuthClient;
  createDpopKey: typeof CreateDpopKey;
  privateKeyJwt: typeof PrivateKeyJwt;
}

function contenders(
  { createOAuthClient, privateKeyJwt }: Ours,
  baseUrl: string,
  dpop: DpopKey,
  assertionKey: JsonWebKey,
): Contender[] {
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

/** A contender in one run: medians, the middle half of the ratios, and its µs per request in each round. */
export type Timing = { us: number; ratio: number; low: number; high: number; rounds: number[] };

/** The median over a run's rounds of one contender's time over another's in the same round. */
export const pairedRatio = (run: Map<string, Timing>, name: string, over: string) =>
  median(run.get(name)!.rounds.map((us, i) => us / run.get(over)!.rounds[i]!));

/** One run: its own server, warm-up and interleaved rounds, of the contenders named (all without `only`). */
async function requestTimes(ours: Ours, only?: readonly string[]): Promise<Map<string, Timing>> {
  const server = await startServer();
  try {
    const assertionKey = (await crypto.subtle.exportKey(
      "jwk",
      (
        await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])
      ).privateKey,
    )) as JsonWebKey;
    const list = contenders(ours, server.url, await ours.createDpopKey(), assertionKey).filter(
      (c) => !only || only.includes(c.name),
    );
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
          {
            us: median(times),
            ratio: median(ratios),
            low: quantile(ratios, 0.25),
            high: quantile(ratios, 0.75),
            rounds: times,
          },
        ];
      }),
    );
  } finally {
    server.stop();
  }
}

/**
 * Wall time of one fresh node process that imports `specifier`, or nothing, run from the folder the package was
 * unpacked in: `oauth-token-client` is the packed copy, the peers resolve from the project's node_modules. And
 * the time the import took inside that process (performance.now() around it), which leaves out the process'
 * start and exit, the noisiest part on a busy machine.
 */
function processTime(specifier: string | undefined, cwd: string): { wall: number; inside: number } {
  const code = specifier
    ? `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`
    : "";
  const start = performance.now();
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  if (result.status !== 0) throw new Error(`import of ${specifier} failed`);
  return { wall: performance.now() - start, inside: specifier ? Number(result.stdout) : 0 };
}

/** Cold import of each package: ms over an empty node process, and ms inside its own process. */
export type ImportTimes = Map<string, { over: number; inside: number }>;

/**
 * Cold import times over an empty node process: each run starts an empty process and then one per package,
 * in a new random order, and each package's figure is the median of its differences to the empty process of
 * the same run, so the machine's slow swings cancel out. Beside it, the median of the import's time inside its
 * process.
 */
function importTimes(cwd: string): { empty: number; times: ImportTimes } {
  const empties: number[] = [];
  const diffs = new Map<string, number[]>(Object.keys(IMPORTS).map((name) => [name, []]));
  const insides = new Map<string, number[]>(Object.keys(IMPORTS).map((name) => [name, []]));
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const empty = processTime(undefined, cwd).wall;
    empties.push(empty);
    for (const [name, specifier] of shuffled(Object.entries(IMPORTS))) {
      const { wall, inside } = processTime(specifier, cwd);
      diffs.get(name)!.push(wall - empty);
      insides.get(name)!.push(inside);
    }
  }
  return {
    empty: median(empties),
    times: new Map(
      [...diffs].map(([name, values]) => [name, { over: median(values), inside: median(insides.get(name)!) }]),
    ),
  };
}

const IMPORTS: Record<string, string> = {
  "oauth-token-client": "oauth-token-client",
  "bare openapi-fetch": "openapi-fetch",
  oauth4webapi: "oauth4webapi",
  "openid-client": "openid-client",
  "simple-oauth2": "simple-oauth2",
};

const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** What {@link runPeers} measured. */
export interface PeerFigures {
  /** The package as measured. */
  packed: Packed;
  /** Each run's timings by contender: the first of every contender, the others of {@link TARGET_CONTENDERS}. */
  runs: Map<string, Timing>[];
  /** The bundles issue 22 sets a size for, with their min+gz bytes. */
  sizes: Record<keyof ReturnType<typeof targetBundles>, NamedBundle & { bytes: number }>;
  /** The peers' min+gz bytes, by name. */
  peerBytes: Map<string, number>;
  /** Cold import by package. */
  imports: ImportTimes;
}

const timingRow = (name: string, { us, ratio, low, high }: Timing) =>
  `| ${name} | ${fmt(us, 1)} | ${fmt(ratio)}× | ${fmt(low)}–${fmt(high)}× |`;
const TIMING_HEAD =
  "| contender | µs per request | × raw fetch (median of per-round ratios) | middle half of the per-round ratios |\n| --- | ---: | ---: | ---: |";

/** Packs the package, measures it against its peers, prints the tables and returns the figures. */
export async function runPeers(): Promise<PeerFigures> {
  // What users run: the package as packed, not the sources through tsx (whose keepNames adds a call per closure).
  const packed = packPackage();
  const ours = (await import(packed.index)) as Ours;

  const runs: Map<string, Timing>[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const all = run === 1;
    console.log(
      `\n## Token request, client_credentials, local node:http server (packed package; run ${run} of ${RUNS}, ` +
        `${all ? "every contender" : TARGET_CONTENDERS.join(", ")}; ${ROUNDS} interleaved rounds × ${PER_ROUND} requests, medians)\n`,
    );
    const times = await requestTimes(ours, all ? undefined : TARGET_CONTENDERS);
    runs.push(times);
    console.log(TIMING_HEAD);
    for (const [name, timing] of times) console.log(timingRow(name, timing));
  }
  if (RUNS > 1) {
    console.log(
      `\n## Per request, the ${RUNS} runs side by side (× raw fetch, median of each run's per-round ratios)\n`,
    );
    console.log(
      `| contender | ${runs.map((_, i) => `run ${i + 1}`).join(" | ")} | median of the runs |\n| --- | ${runs.map(() => "---:").join(" | ")} | ---: |`,
    );
    for (const name of TARGET_CONTENDERS) {
      const ratios = runs.map((times) => times.get(name)!.ratio);
      console.log(`| ${name} | ${ratios.map((r) => `${fmt(r)}×`).join(" | ")} | ${fmt(median(ratios))}× |`);
    }
    const paired = runs.map((run) => pairedRatio(run, "oauth-token-client", "oauth4webapi"));
    console.log(
      `| oauth-token-client ÷ oauth4webapi, paired by round | ${paired.map((r) => `${fmt(r)}×`).join(" | ")} | ${fmt(median(paired))}× |`,
    );
  }

  console.log("\n## Browser bundle, esbuild --minify, gzip -9\n");
  console.log("| bundle | min+gz |\n| --- | ---: |");
  const sized = targetBundles();
  const sizes = {} as PeerFigures["sizes"];
  for (const [key, bundle] of Object.entries(sized) as [keyof typeof sized, NamedBundle][]) {
    sizes[key] = { ...bundle, bytes: await gzippedBundleBytes(bundle.contents) };
    console.log(`| oauth-token-client (${bundle.label}) | ${fmt(sizes[key].bytes / 1024, 2)} KB |`);
  }
  const peerBytes = new Map<string, number>();
  for (const [name, contents] of Object.entries(PEER_BUNDLES)) {
    peerBytes.set(name, await gzippedBundleBytes(contents));
    console.log(`| ${name} | ${fmt(peerBytes.get(name)! / 1024, 2)} KB |`);
  }

  console.log(`\n## Cold import, fresh node process (${IMPORT_RUNS} runs; the packed package)\n`);
  const { empty, times } = importTimes(packed.dir);
  console.log(
    `| import | ms over an empty node process (${fmt(empty, 1)} ms), median of paired runs | ms inside the process, around the import, median |\n| --- | ---: | ---: |`,
  );
  for (const [name, { over, inside }] of times) console.log(`| ${name} | ${fmt(over, 1)} | ${fmt(inside, 1)} |`);

  return { packed, runs, sizes, peerBytes, imports: times };
}
