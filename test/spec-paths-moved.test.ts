/**
 * Moving every path of the spec needs no change to src/. A copy of the project gets each path of its spec
 * prefixed with `/moved/v9`, is regenerated (`npm run generate`), type-checked and built (`npm run build`), and
 * its built client, ESM and CommonJS, is driven against a loopback server that answers each operation at its
 * moved path only: every operation's request arrives there. src/ reaches operations by operationId, in its types
 * as in its runtime, so a path named in src/ fails the type check here.
 */
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type * as GeneratedSpec from "../generated/spec";
import { operations } from "../generated/spec";
import type * as ClientModule from "../src/index";
import type { OperationId } from "../src/index";
import {
  copyProject,
  differingFiles,
  editFile,
  removeProjectCopy,
  runInCopy,
  type CommandRun,
} from "./helpers/spec-copy";

const PREFIX = "/moved/v9";
const CLIENT_ID = "client-1";
const SQUARE_APP_ID = "sq0idp-app-123";
const TOKEN = { access_token: "at-1234567890abcdef", token_type: "Bearer", expires_in: 3600 };

type Package = typeof ClientModule;

/** Prefixes every path of the copy's spec: each key of `paths:` in the root document, which `$ref`s its file. */
function moveEveryPath(dir: string): void {
  editFile(dir, "spec/openapi.yaml", [[/^ {2}(\/\S*):\n( {4}\$ref: )/gm, `  ${PREFIX}$1:\n$2`]]);
}

/** Where an operation must now be: its path in the project's spec, prefixed, its parameters filled in. */
function movedPath(id: OperationId): string {
  return `${PREFIX}${operations[id].path}`.replace("{client_id}", SQUARE_APP_ID);
}

/** What the loopback server answers. */
interface Answer {
  status: number;
  body?: unknown;
}

/** How the built client sends one operation, what the server answers it, and what else it asks first. */
interface Driver {
  send(pkg: Package, baseUrl: string): Promise<unknown>;
  answer(baseUrl: string): Answer;
  /** Operations the call asks before this one, each answered 404 (discovery's RFC 8414 look-up). */
  before?: readonly OperationId[];
}

const client = (pkg: Package, baseUrl: string) =>
  pkg.createOAuthClient({ baseUrl, clientId: CLIENT_ID, clientSecret: "secret-1234567890" });
const square = (pkg: Package, baseUrl: string) =>
  pkg.createOAuthClient(pkg.squarePreset({ clientId: SQUARE_APP_ID, clientSecret: "sq0csp-secret-123", baseUrl }));

/** Every operation of the spec: the type refuses a spec with an operation that has no driver here. */
const DRIVERS: Record<OperationId, Driver> = {
  obtainToken: {
    send: (pkg, baseUrl) => client(pkg, baseUrl).clientCredentials(),
    answer: () => ({ status: 200, body: TOKEN }),
  },
  renewToken: {
    send: (pkg, baseUrl) => square(pkg, baseUrl).renewToken({ access_token: "EAAA-old-1234567890" }),
    answer: () => ({ status: 200, body: { access_token: "EAAA-new-1234567890", token_type: "bearer" } }),
  },
  deviceAuthorization: {
    send: (pkg, baseUrl) => pkg.requestDeviceAuthorization(client(pkg, baseUrl), { scope: "read" }),
    answer: () => ({
      status: 200,
      body: {
        device_code: "dc-1234567890",
        user_code: "WDJB-MJHT",
        verification_uri: "https://as.test/device",
        expires_in: 600,
      },
    }),
  },
  pushAuthorizationRequest: {
    send: (pkg, baseUrl) =>
      pkg.pushAuthorizationRequest(client(pkg, baseUrl), `${baseUrl}/authorize`, {
        redirect_uri: "https://app.test/cb",
      }),
    answer: () => ({ status: 201, body: { request_uri: "urn:ietf:params:oauth:request_uri:abc123", expires_in: 60 } }),
  },
  revokeToken: {
    send: (pkg, baseUrl) => client(pkg, baseUrl).revokeToken({ token: "tok-1234567890" }),
    answer: () => ({ status: 200 }),
  },
  introspectToken: {
    send: (pkg, baseUrl) => client(pkg, baseUrl).introspectToken({ token: "tok-1234567890" }),
    answer: () => ({ status: 200, body: { active: false } }),
  },
  retrieveTokenStatus: {
    send: (pkg, baseUrl) => square(pkg, baseUrl).retrieveTokenStatus({ access_token: "EAAA-1234567890" }),
    answer: () => ({ status: 200, body: { client_id: SQUARE_APP_ID, scopes: ["MERCHANT_PROFILE_READ"] } }),
  },
  getAuthorizationServerMetadata: {
    send: (pkg, baseUrl) => pkg.discover(baseUrl),
    answer: (baseUrl) => ({ status: 200, body: { issuer: baseUrl } }),
  },
  getOpenIdConfiguration: {
    send: (pkg, baseUrl) => pkg.discover(baseUrl),
    answer: (baseUrl) => ({ status: 200, body: { issuer: baseUrl } }),
    before: ["getAuthorizationServerMetadata"],
  },
};
const IDS = Object.keys(DRIVERS) as OperationId[];

describe("every path of the spec moved: the built client follows through npm run generate, with no change to src/", () => {
  let dir: string;
  let server: Server;
  let baseUrl: string;
  let generate: CommandRun;
  let build: CommandRun;
  let esm: Package;
  let cjs: Package;
  let moved: typeof GeneratedSpec;
  /** Each request as it arrived: method and path. */
  const received: string[] = [];
  /** The operation the server answers, by method and moved path; anything else gets a 404. */
  let answering = new Map<string, OperationId>();

  beforeAll(async () => {
    dir = copyProject("oauth-spec-paths-");
    moveEveryPath(dir);
    generate = runInCopy(dir, "node_modules/tsx/dist/cli.mjs", ["scripts/generate.ts"]);
    // The build bundles the declarations with dts-bundle-generator, which fails on a type error as tsc does.
    build = runInCopy(dir, "node_modules/tsx/dist/cli.mjs", ["scripts/build.ts"], 180_000);
    esm = (await import(pathToFileURL(join(dir, "dist/index.js")).href)) as Package;
    cjs = createRequire(import.meta.url)(join(dir, "dist/index.cjs")) as Package;
    moved = (await import(pathToFileURL(join(dir, "generated/spec.ts")).href)) as typeof GeneratedSpec;
    server = createServer((req, res) => {
      req.resume().on("end", () => {
        const request = `${req.method} ${req.url}`;
        received.push(request);
        const id = answering.get(request);
        const answer = id === undefined ? { status: 404 } : DRIVERS[id].answer(baseUrl);
        const json = answer.body !== undefined;
        res.writeHead(answer.status, json ? { "content-type": "application/json", "cache-control": "no-store" } : {});
        res.end(json ? JSON.stringify(answer.body) : undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 240_000);

  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    removeProjectCopy(dir);
  });

  afterEach(() => {
    received.length = 0;
    answering = new Map();
  });

  test("npm run generate moved every operation of the runtime description, and every key of the types' paths", () => {
    expect(generate.output).toContain("wrote generated/spec.ts");
    expect(build.output).toContain("built index, redis into dist/");
    expect(Object.keys(moved.operations).sort()).toEqual(Object.keys(operations).sort());
    expect([...IDS].sort()).toEqual(Object.keys(operations).sort());
    for (const id of IDS) expect(moved.operations[id].path, id).toBe(`${PREFIX}${operations[id].path}`);
    expect(differingFiles(dir, "generated")).toEqual(["schema.d.ts", "spec.ts"]);
  });

  test("the move needed no change to src/: every file of the copy's src/ is byte-identical to the project's", () => {
    expect(differingFiles(dir, "src"), "files of src/ that differ from the project's").toEqual([]);
  });

  test("src/ type-checks unchanged against the moved paths (tsc -p tsconfig.src.json)", () => {
    runInCopy(dir, "node_modules/typescript/bin/tsc", ["--noEmit", "-p", "tsconfig.src.json"]);
  }, 60_000);

  test.each(IDS)("%s: the built client's request goes to the moved path, ESM and CommonJS", async (id) => {
    const { send, before = [] } = DRIVERS[id];
    answering = new Map([[`${operations[id].method} ${movedPath(id)}`, id]]);
    for (const pkg of [esm, cjs]) {
      received.length = 0;
      // Resolving means the answer at the moved path was also read and validated as this operation's.
      await send(pkg, baseUrl);
      expect(received).toEqual([...before, id].map((each) => `${operations[each].method} ${movedPath(each)}`));
    }
  });
});
