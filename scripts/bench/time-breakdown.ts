/**
 * Where each microsecond of one client_credentials request goes, for the packed client next to oauth4webapi and
 * raw fetch: phases timed by performance.now() around the global fetch, and a V8 CPU profile whose samples are
 * charged to named steps (argument check, body encoding, fetch, answer parse, answer check, redaction, …). The
 * measuring runs in scripts/bench/profile-request.mjs, a process of its own; nothing is added to src/.
 *
 * A sample is charged by its stack: from the innermost frame outwards, the first frame of the client (mapped to
 * its src/ file through dist's source map), of openapi-fetch, of oauth4webapi or of the harness decides, by the
 * rules of STEPS; a sample with undici (Node's fetch) between that frame and the leaf is the fetch's, unless the
 * frame reads the body. A sample with no such frame is the event loop's: undici's socket reads and HTTP parsing,
 * Node's other internals, the garbage collector, or idle (waiting for the server, which runs in another process).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Packed } from "./packed";
import { type SourceMap, sourceLookup } from "./sourcemap";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONTENDERS = ["oauth-token-client", "oauth4webapi", "raw fetch", "raw fetch, as the client calls it"] as const;
type Name = (typeof CONTENDERS)[number];

interface Marks {
  start: number;
  call?: number;
  headers?: number;
  readStart?: number;
  readEnd?: number;
  end: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One frame, as the rules read it. */
interface Frame {
  kind: "client" | "openapi-fetch" | "oauth4webapi" | "harness" | "undici" | "node" | "native";
  /** The client's src/ file, for its frames. */
  file?: string;
  /** The function's name without esbuild's collision suffix (`read2` is `read`). */
  fn: string;
}

/** The steps of the client's frames: the first rule that holds for a frame names its step. */
const STEPS: [step: string, holds: (file: string, fn: string) => boolean][] = [
  [
    "redaction (request secrets, hidden tokens)",
    (file, fn) => file === "src/core/redact.ts" || fn === "requestSecrets",
  ],
  ["answer parse (JSON.parse)", (_, fn) => fn === "parseJsonBody"],
  ["body read (text or json)", (_, fn) => fn === "readBody"],
  [
    "argument check",
    (file, fn) =>
      file === "src/oauth/options.ts" ||
      [
        "checkCallOptions",
        "paramsObject",
        "checkedBody",
        "checkRequest",
        "checkScopes",
        "withExtraParams",
        "bodySchema",
        "callHeaders",
        "requestProblem",
      ].includes(fn),
  ],
  ["client authentication", (file, fn) => file === "src/core/auth.ts" || fn === "prepare"],
  ["body encoding", (_, fn) => ["serialize", "bodySerializer", "PendingBody"].includes(fn)],
  [
    "answer check (status, content type, schema, token type)",
    (file, fn) =>
      file === "src/core/answers.ts" ||
      file === "src/oauth/expiry.ts" ||
      ["checkAnswer", "readAnswerField", "processTokenResponse", "checkTokenType"].includes(fn),
  ],
  ["time limit (AbortController, timer)", (file, fn) => file === "src/core/clock.ts" || fn === "attempt"],
  ["fetch (the call into undici)", (file, fn) => file === "src/core/request.ts" && fn === "exchange"],
];
const FETCH = "fetch: undici's work in the call (dispatch, socket write)";
const FETCH_REQUEST = "fetch: undici's own new Request (headers, body, signal)";
const BODY_READ = "body read (text or json)";
const WAITED = "unsampled: waited for a CPU (gaps over 3 sample intervals; the machine's other work)";
/** undici's functions that read an answer's body. */
const BODY_READS = [
  "text",
  "json",
  "arrayBuffer",
  "consumeBody",
  "fullyReadBody",
  "readAllBytes",
  "parseJSONFromBytes",
];
const ORDER = [
  "argument check",
  "body encoding",
  "client authentication",
  "openapi-fetch (its request, options, answer)",
  "time limit (AbortController, timer)",
  "fetch (the call into undici)",
  FETCH_REQUEST,
  FETCH,
  BODY_READ,
  "answer parse (JSON.parse)",
  "answer check (status, content type, schema, token type)",
  "redaction (request secrets, hidden tokens)",
  "the client's other code (call plumbing, request core)",
  "oauth4webapi's own code",
  "bench loop",
  "undici on the event loop (socket reads, HTTP parsing, body streams)",
  "Node internals on the event loop (promises, timers, streams)",
  "garbage collector",
  "V8 and native code (program)",
  "idle: waiting for the server (another process)",
  WAITED,
];

/** Reads the frames of one profile, mapping the packed client's to their src/ files. */
function frameReader(): (callFrame: ProfileNode["callFrame"]) => Frame {
  const lookups = new Map<string, ((line: number, column: number) => string | undefined) | undefined>();
  const lookup = (url: string) => {
    if (!lookups.has(url)) {
      let found: ((line: number, column: number) => string | undefined) | undefined;
      try {
        found = sourceLookup(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, "utf8")) as SourceMap);
      } catch {
        found = undefined;
      }
      lookups.set(url, found);
    }
    return lookups.get(url);
  };
  return ({ functionName, url, lineNumber, columnNumber }) => {
    const fn = functionName.replace(/\d+$/, "");
    if (url.includes("/node_modules/oauth-token-client/dist/")) {
      const source = lookup(url)?.(lineNumber, columnNumber);
      return { kind: "client", file: source?.replace(/^(\.\.\/)+/, "") ?? "dist", fn };
    }
    if (url.includes("/node_modules/openapi-fetch/")) return { kind: "openapi-fetch", fn };
    if (url.includes("/node_modules/oauth4webapi/")) return { kind: "oauth4webapi", fn };
    if (url.endsWith("/profile-request.mjs")) return { kind: "harness", fn };
    if (url.includes("undici")) return { kind: "undici", fn };
    if (url.startsWith("node:")) return { kind: "node", fn };
    return { kind: "native", fn: functionName };
  };
}

/** The step of one sample, from its stack (innermost frame first). */
function stepOf(stack: Frame[]): string {
  const at = stack.findIndex((f) => f.kind !== "undici" && f.kind !== "node" && f.kind !== "native");
  if (at < 0) {
    const leaf = stack[0]!;
    if (leaf.fn === "(idle)") return "idle: waiting for the server (another process)";
    if (leaf.fn === "(garbage collector)") return "garbage collector";
    if (leaf.fn === "(program)" || leaf.fn === "(root)") return "V8 and native code (program)";
    if (stack.some((f) => f.kind === "undici"))
      return "undici on the event loop (socket reads, HTTP parsing, body streams)";
    return "Node internals on the event loop (promises, timers, streams)";
  }
  const below = stack.slice(0, at);
  // The part of the fetch this sample is in, when it is in undici under the client's, a peer's or the loop's code.
  const inFetch = !below.some((f) => f.kind === "undici")
    ? undefined
    : below.some((f) => f.kind === "undici" && BODY_READS.includes(f.fn))
      ? BODY_READ
      : below.some((f) => f.kind === "undici" && f.fn === "_Request")
        ? FETCH_REQUEST
        : FETCH;
  for (const frame of stack.slice(at)) {
    let step: string | undefined;
    if (frame.kind === "client") step = STEPS.find(([, holds]) => holds(frame.file!, frame.fn))?.[0];
    else if (frame.kind === "openapi-fetch") step = "openapi-fetch (its request, options, answer)";
    else if (frame.kind === "oauth4webapi") step = "oauth4webapi's own code";
    else if (frame.kind === "harness") step = "bench loop";
    if (step === undefined) continue;
    return inFetch !== undefined && step !== BODY_READ ? inFetch : step;
  }
  return inFetch ?? "the client's other code (call plumbing, request core)";
}

/** µs per request by step, and the client's functions by self time, over a contender's profiles. */
function readProfiles(profiles: readonly Profile[], requests: number, intervalUs: number) {
  // A sample stands for the time until the next one, up to three intervals: a longer gap is time the process
  // (or its profiler) waited for a CPU on a busy machine, charged to that, not to whatever ran before it.
  const cap = 3 * intervalUs;
  const read = frameReader();
  const steps = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const stepById = new Map<number, string>();
    const selfById = new Map<number, string>();
    profile.samples.forEach((id, i) => {
      if (!stepById.has(id)) {
        const stack: Frame[] = [];
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
          stack.push(read(byId.get(at)!.callFrame));
        stepById.set(id, stepOf(stack));
        const own = stack[0]!;
        selfById.set(id, own.kind === "client" ? `${own.file} ${own.fn || "(anonymous)"}` : "");
      }
      const delta = profile.timeDeltas[i + 1] ?? 0;
      const us = Math.min(delta, cap);
      if (delta > cap) steps.set(WAITED, (steps.get(WAITED) ?? 0) + (delta - cap) / requests);
      const step = stepById.get(id)!;
      steps.set(step, (steps.get(step) ?? 0) + us / requests);
      const self = selfById.get(id)!;
      if (self) functions.set(self, (functions.get(self) ?? 0) + us / requests);
    });
  }
  return { steps, functions };
}

const fmt = (n: number) => n.toFixed(1);

/** The mean of each phase over the requests whose total is within the fastest 90 %: a collection's pause aside. */
function phaseTable(phases: Record<Name, Marks[]>): string {
  const rows: [string, (m: Marks) => number | undefined][] = [
    ["before fetch is called (checks, openapi-fetch, authentication, encoding, time limit)", (m) => m.call! - m.start],
    ["fetch, until the answer's headers", (m) => m.headers! - m.call!],
    ["between the headers and the body read", (m) => (m.readStart ?? m.end) - m.headers!],
    ["body read (text or json)", (m) => (m.readStart === undefined ? undefined : m.readEnd! - m.readStart)],
    ["after the body read (parse, checks, redaction, the result)", (m) => m.end - (m.readEnd ?? m.end)],
    ["**whole request**", (m) => m.end - m.start],
  ];
  const kept = Object.fromEntries(
    CONTENDERS.map((name) => {
      const all = phases[name].filter((m) => m.call !== undefined && m.headers !== undefined);
      const cut = [...all].map((m) => m.end - m.start).sort((a, b) => a - b)[Math.floor(all.length * 0.9)]!;
      return [name, all.filter((m) => m.end - m.start <= cut)];
    }),
  ) as Record<Name, Marks[]>;
  const lines = [`| phase | ${CONTENDERS.join(" | ")} |`, `| --- | ${CONTENDERS.map(() => "---:").join(" | ")} |`];
  for (const [label, of] of rows) {
    const cells = CONTENDERS.map((name) => {
      const values = kept[name].map(of).filter((v): v is number => v !== undefined);
      return values.length === 0 ? "–" : fmt((values.reduce((s, v) => s + v, 0) / values.length) * 1000);
    });
    lines.push(`| ${label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * Runs the harness against a token server already running at `server`, and prints the phase table, the step
 * table and the client's hottest functions, in Markdown.
 */
export function printTimeBreakdown(
  packed: Packed,
  server: string,
  { requests = Number(process.env.BENCH_PROFILE_REQUESTS ?? 1000), rounds = 10, intervalUs = 100 } = {},
): void {
  const profileDir = join(ROOT, ".tmp/bench-profiles");
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
  const run = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL("./profile-request.mjs", import.meta.url)),
      JSON.stringify({ packed: packed.index, server, requests, rounds, intervalUs, profileDir }),
    ],
    { cwd: packed.dir, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`scripts/bench/profile-request.mjs failed:\n${run.stderr}`);
  const { phases, profiled } = JSON.parse(run.stdout) as {
    phases: Record<Name, Marks[]>;
    profiled: Record<Name, number>;
  };

  console.log(
    `\n## Where each microsecond goes: one client_credentials request (packed package; µs per request)\n\n` +
      `Phases, by performance.now() around the global fetch and the answer's body read (${requests} requests each, in ` +
      `${rounds} interleaved rounds; the mean over the fastest 90 %; the wrappers add a promise step of their own):\n`,
  );
  console.log(phaseTable(phases));

  const total = Math.ceil(requests / rounds) * rounds;
  const files = readdirSync(profileDir);
  const read = CONTENDERS.map((name) =>
    readProfiles(
      files
        .filter((file) => file.startsWith(`${name} `) && /^\d+\.cpuprofile$/.test(file.slice(name.length + 1)))
        .map((file) => JSON.parse(readFileSync(join(profileDir, file), "utf8")) as Profile),
      total,
      intervalUs,
    ),
  );
  const used = ORDER.filter((step) => read.some(({ steps }) => (steps.get(step) ?? 0) >= 0.05));
  console.log(
    `\nSteps, from V8 CPU profiles of the same interleaved rounds (${total} requests each, a sample every ` +
      `${intervalUs} µs; profiled, a request takes longer than above). The profiles are in .tmp/bench-profiles/, ` +
      "one per contender and round (Chrome DevTools opens them):\n",
  );
  console.log(`| step | ${CONTENDERS.join(" | ")} |\n| --- | ${CONTENDERS.map(() => "---:").join(" | ")} |`);
  for (const step of used)
    console.log(
      `| ${step} | ${read.map(({ steps }) => (steps.has(step) ? fmt(steps.get(step)!) : "–")).join(" | ")} |`,
    );
  console.log(
    `| **all samples** | ${read.map(({ steps }) => `**${fmt([...steps.values()].reduce((s, v) => s + v, 0))}**`).join(" | ")} |`,
  );
  console.log(`| wall time of the profiled loop | ${CONTENDERS.map((name) => fmt(profiled[name])).join(" | ")} |`);

  const hottest = [...read[0]!.functions].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log("\nThe client's own functions by self time (same profile; µs per request):\n");
  console.log("| src file | function | µs |\n| --- | --- | ---: |");
  for (const [name, us] of hottest) {
    const [file, fn] = name.split(" ");
    console.log(`| ${file} | ${fn} | ${fmt(us)} |`);
  }
}
