// Where each microsecond of one client_credentials request goes, measured in a process of its own (plain
// JavaScript, no tsx loader): the packed client, oauth4webapi and raw fetch against the bench's token server.
//
// 1. Phases, by performance.now() in this harness only: the global fetch is wrapped, and the answer's body
//    reads (text, json) on the Response it hands back, so each request is cut at the moment the client calls
//    fetch, when the headers arrive, and when its body read starts and ends.
// 2. V8 CPU profiles (the inspector's Profiler, as `node --cpu-prof` takes them) of each contender's requests,
//    with the fetch unwrapped, one file per contender and round, written to the given folder for
//    scripts/bench/time-breakdown.ts to read.
// Both in interleaved rounds: each round every contender in a new random order, so the machine's swings fall
// on all alike. Besides the client, oauth4webapi and raw fetch, raw fetch is called as the client calls it
// (a Headers object, redirect: "error", an AbortSignal and a timer for the time limit), to tell the cost of
// those options from the cost of the client's own code.
//
// Argument: JSON { packed, server, requests, rounds, intervalUs, profileDir }. Prints the phases as JSON.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import * as oauth from "oauth4webapi";

const { packed, server, requests, rounds, intervalUs, profileDir } = JSON.parse(process.argv[2]);
const { createOAuthClient } = await import(packed);

const clientId = "bench-client";
const clientSecret = "bench-secret";
const tokenUrl = `${server}/oauth2/token`;
const basic = `Basic ${btoa(`${clientId}:${clientSecret}`)}`;
const ours = createOAuthClient({ baseUrl: server, clientId, clientSecret });
const as = { issuer: server, token_endpoint: tokenUrl };
const o4wClient = { client_id: clientId };
const o4wAuth = oauth.ClientSecretBasic(clientSecret);

const contenders = {
  "oauth-token-client": () => ours.clientCredentials({ scope: "read" }),
  oauth4webapi: async () =>
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
  "raw fetch": () =>
    fetch(tokenUrl, {
      method: "POST",
      headers: { Authorization: basic, "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: "grant_type=client_credentials&scope=read",
    }).then((r) => r.json()),
  "raw fetch, as the client calls it": async () => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      const response = await fetch(tokenUrl, {
        method: "POST",
        redirect: "error",
        signal: controller.signal,
        headers: new Headers({
          Accept: "application/json",
          Authorization: basic,
          "Content-Type": "application/x-www-form-urlencoded",
        }),
        body: "scope=read&grant_type=client_credentials",
      });
      return JSON.parse(await response.text());
    } finally {
      clearTimeout(timer);
    }
  },
};

/** A copy of `items` in random order (Fisher–Yates). */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
const perRound = Math.ceil(requests / rounds);

for (const request of Object.values(contenders)) for (let i = 0; i < 200; i++) await request(); // JIT, sockets

// 1. Phases.
const realFetch = globalThis.fetch;
let marks;
const timedRead = (response, method) => {
  const read = response[method];
  response[method] = function () {
    marks.readStart ??= performance.now();
    return read.call(this).then((value) => {
      marks.readEnd = performance.now();
      return value;
    });
  };
};
const timedFetch = (input, init) => {
  marks.call = performance.now();
  return realFetch(input, init).then((response) => {
    marks.headers = performance.now();
    timedRead(response, "text");
    timedRead(response, "json");
    return response;
  });
};
const phases = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
globalThis.fetch = timedFetch;
for (let round = 0; round < rounds; round++) {
  for (const [name, request] of shuffled(Object.entries(contenders))) {
    for (let i = 0; i < perRound; i++) {
      marks = { start: performance.now() };
      await request();
      marks.end = performance.now();
      phases[name].push(marks);
    }
  }
}
globalThis.fetch = realFetch;

// 2. CPU profiles.
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
const profiled = Object.fromEntries(Object.keys(contenders).map((name) => [name, 0]));
for (let round = 0; round < rounds; round++) {
  for (const [name, request] of shuffled(Object.entries(contenders))) {
    await session.post("Profiler.start");
    const start = performance.now();
    for (let i = 0; i < perRound; i++) await request();
    profiled[name] += (performance.now() - start) * 1000;
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(`${profileDir}/${name} ${round + 1}.cpuprofile`, JSON.stringify(profile));
  }
}
session.disconnect();
for (const name of Object.keys(profiled)) profiled[name] /= perRound * rounds;

process.stdout.write(JSON.stringify({ phases, profiled }));
