/**
 * Spec edits reach the runtime through `npm run generate` alone. A copy of the project gets six edits to its
 * spec (a field added to a grant, a value added to an enum, a whole new grant (CIBA) with a secret field, a field
 * renamed, typed fields added to the answer, a new path), is regenerated, and its client, with `src/` untouched, is
 * driven against a recording loopback server. Each behaviour is checked against the original project too,
 * where the same call is refused: what changed is the spec, and only the spec.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type * as ClientModule from "../src/index";
import type * as GeneratedSpec from "../generated/spec";
import {
  copyProject,
  differingFiles,
  editFile,
  PROJECT_ROOT,
  removeProjectCopy,
  runInCopy,
  writeCopyFile,
  type CommandRun,
} from "./helpers/spec-copy";

const CIBA = "urn:openid:params:grant-type:ciba";
/** A valid PKCE verifier: 43 characters of the unreserved set. */
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CLIENT_OPTIONS = {
  clientId: "client-1",
  clientSecret: "secret-1234567890",
  clientAuthentication: "client_secret_post",
} as const;

/** The spec edits, made to the copy's YAML as text; each must match the current spec (see editFile). */
function editSpec(dir: string): void {
  const schemas = "spec/components/schemas";
  // a. An optional field added to the client_credentials grant.
  editFile(dir, `${schemas}/ClientCredentialsGrant.yaml`, [
    [
      /^properties:\n/m,
      "properties:\n  tenant:\n    type: string\n    minLength: 1\n    description: The tenant the token is for, on a multi-tenant server.\n",
    ],
  ]);
  // b. A value added to an enum.
  editFile(dir, `${schemas}/TokenTypeHint.yaml`, [[/^enum: \[(.*)\]$/m, "enum: [$1, id_token]"]]);
  // c. A new grant (OpenID CIBA's poll mode), its request id marked secret, added to the request's oneOf.
  writeCopyFile(
    dir,
    `${schemas}/CibaGrant.yaml`,
    `title: ciba
type: object
description: Poll for the tokens of a backchannel authentication request (OpenID CIBA Core §10.1).
required: [grant_type, auth_req_id]
allOf:
  - $ref: ClientAuthenticationInBody.yaml
properties:
  grant_type:
    type: string
    const: ${CIBA}
  auth_req_id:
    x-secret: true
    type: string
    minLength: 1
    description: The request id of the backchannel authentication answer.
  audience:
    type: string
    minLength: 1
    description: The logical name of the service the token is for.
`,
  );
  editFile(dir, `${schemas}/TokenRequest.yaml`, [[/^(oneOf:\n(?: {2}- .*\n)+)/m, "$1  - $ref: CibaGrant.yaml\n"]]);
  // d. A field renamed, in the schema and in the request examples that lint validates.
  editFile(dir, `${schemas}/AuthorizationCodeGrant.yaml`, [[/^ {2}code_verifier:$/m, "  pkce_verifier:"]]);
  editFile(dir, "spec/paths/oauth2_token.yaml", [["code_verifier: ", "pkce_verifier: "]]);
  // f. A new operation: a path added to the spec, for client.api.
  writeCopyFile(
    dir,
    "spec/paths/oauth2_bc-authorize.yaml",
    `post:
  operationId: backchannelAuthentication
  x-endpoint: backchannelAuthentication
  x-idempotent: true
  summary: Start a backchannel authentication
  description: Asks the server to authenticate a user on their own device (OpenID CIBA Core §7.1).
  tags: [Tokens]
  security:
    - clientSecretBasic: []
  requestBody:
    required: true
    content:
      application/x-www-form-urlencoded:
        schema:
          type: object
          properties:
            scope:
              type: string
              description: Space-delimited scopes.
            login_hint:
              type: string
              description: Who the user is.
        examples:
          scope:
            summary: A scope
            value:
              scope: openid
              login_hint: alice
  responses:
    '200':
      description: The request id.
      content:
        application/json:
          schema:
            type: object
            required: [auth_req_id, expires_in]
            properties:
              auth_req_id:
                type: string
                x-secret: true
                description: The request id, to poll the token endpoint with.
              expires_in:
                type: integer
                description: Lifetime of the request id in seconds.
          examples:
            request:
              summary: A request id
              value:
                auth_req_id: 1c266114-a1be-4252-8ad1-04986c5b9ac1
                expires_in: 120
    '400':
      $ref: ../components/responses/TokenBadRequest.yaml
`,
  );
  editFile(dir, "spec/openapi.yaml", [
    [/^paths:\n/m, "paths:\n  /oauth2/bc-authorize:\n    $ref: paths/oauth2_bc-authorize.yaml\n"],
  ]);
  // e. Typed optional fields added to the token answer.
  editFile(dir, `${schemas}/TokenResponse.yaml`, [
    [
      /^properties:\n/m,
      "properties:\n  session_state:\n    type: string\n    description: The session the token belongs to.\n" +
        "  refresh_expires_in:\n    type: integer\n    minimum: 0\n    description: Lifetime of the refresh token in seconds.\n",
    ],
  ]);
}

/** One request the loopback server received. */
interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  form: URLSearchParams;
}
/** What the loopback server answers next. */
interface Answer {
  status: number;
  body: string;
  contentType?: string;
}
const json = (status: number, body: unknown): Answer => ({
  status,
  body: JSON.stringify(body),
  contentType: "application/json",
});
const TOKEN = { access_token: "at-1234567890abcdef", token_type: "Bearer", expires_in: 3600 };

describe("spec edits flow to the runtime through npm run generate, with no change to src/", () => {
  let dir: string;
  let server: Server;
  let baseUrl: string;
  let copy: typeof ClientModule;
  let original: typeof ClientModule;
  let generated: typeof GeneratedSpec;
  let generate: CommandRun;
  const received: Received[] = [];
  let answer: Answer = json(200, TOKEN);

  beforeAll(async () => {
    dir = copyProject();
    editSpec(dir);
    generate = runInCopy(dir, "node_modules/tsx/dist/cli.mjs", ["scripts/generate.ts"]);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        received.push({
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body,
          form: new URLSearchParams(body),
        });
        const headers: Record<string, string> = { "cache-control": "no-store" };
        if (answer.contentType) headers["content-type"] = answer.contentType;
        res.writeHead(answer.status, headers).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    copy = (await import(pathToFileURL(join(dir, "src/index.ts")).href)) as typeof ClientModule;
    generated = (await import(pathToFileURL(join(dir, "generated/spec.ts")).href)) as typeof GeneratedSpec;
    original = (await import(pathToFileURL(join(PROJECT_ROOT, "src/index.ts")).href)) as typeof ClientModule;
  }, 120_000);

  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    removeProjectCopy(dir);
  });

  afterEach(() => {
    received.length = 0;
    answer = json(200, TOKEN);
  });

  const edited = () => copy.createOAuthClient({ baseUrl, ...CLIENT_OPTIONS });
  const unedited = () => original.createOAuthClient({ baseUrl, ...CLIENT_OPTIONS });

  /** Expects a TypeError naming `field`, and no request sent. */
  async function refusedBeforeSending(call: Promise<unknown>, field: string): Promise<TypeError> {
    const error = await call.then(
      () => expect.unreachable(`expected a TypeError naming ${field}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError & { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
    expect((error as TypeError).message).toContain(field);
    expect(received).toHaveLength(0);
    return error as TypeError;
  }

  test("npm run generate regenerates the copy quickly, and its generated description carries every edit", () => {
    expect(generate.output).toContain("wrote generated/spec.ts");
    expect(generated.ClientCredentialsGrant.properties?.tenant).toEqual({ type: "string", minLength: 1 });
    expect(generated.TokenTypeHint.enum).toEqual(["access_token", "refresh_token", "id_token"]);
    const grants = generated.TokenRequest.anyOf?.map((alt) => alt.properties?.grant_type?.const);
    expect(grants).toContain(CIBA);
    expect(generated.AuthorizationCodeGrant.properties).toHaveProperty("pkce_verifier");
    expect(generated.AuthorizationCodeGrant.properties).not.toHaveProperty("code_verifier");
    expect(generated.TokenResponse.properties?.refresh_expires_in).toEqual({ type: "integer", minimum: 0 });
    expect(generated.secretFields).toContain("auth_req_id");
    // The types follow too: openapi-typescript rewrote schema.d.ts from the edited spec.
    const types = readFileSync(join(dir, "generated/schema.d.ts"), "utf8");
    for (const name of ["tenant", "id_token", "auth_req_id", "pkce_verifier", "refresh_expires_in", CIBA])
      expect(types).toContain(name);
  });

  test("the edits needed no change to src/: every file of the copy's src/ is byte-identical to the project's", () => {
    expect(differingFiles(dir, "src"), "files of src/ that differ from the project's").toEqual([]);
    // ...while generated/ did change: the edits reached it.
    expect(differingFiles(dir, "generated")).toEqual(["schema.d.ts", "spec.ts"]);
  });

  test("the edited spec still passes redocly lint, its examples included", () => {
    const lint = runInCopy(dir, "node_modules/@redocly/cli/bin/cli.js", ["lint", "oauth@v1"]);
  }, 30_000);

  test("src/ type-checks unchanged against the regenerated types (tsc -p tsconfig.src.json)", () => {
    const tsc = runInCopy(dir, "node_modules/typescript/bin/tsc", ["--noEmit", "-p", "tsconfig.src.json"]);
  }, 60_000);

  test("client.api calls a path added to the spec, with the client's authentication and endpoint option", async () => {
    answer = json(200, { auth_req_id: "req-1234567890", expires_in: 120 });
    const client = copy.createOAuthClient({
      baseUrl,
      clientId: "client-1",
      clientSecret: "secret-1234567890",
      endpoints: { backchannelAuthentication: "/bc-authorize" } as never,
    });
    // The copy's paths type has the new path; this file is typed by the project's, which has not.
    const api = client.api as unknown as {
      POST(
        path: string,
        init: { body: Record<string, string>; headers: Record<string, string> },
      ): Promise<{ data?: unknown; response: Response }>;
    };
    const { data, response } = await api.POST("/oauth2/bc-authorize", {
      body: { scope: "openid", login_hint: "alice" },
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ expires_in: 120 });
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/bc-authorize");
    expect(received[0]!.headers.authorization).toBe(`Basic ${btoa("client-1:secret-1234567890")}`);
    expect(received[0]!.body).toBe("scope=openid&login_hint=alice");
    // The original project's client knows no such endpoint name.
    expect(() =>
      original.createOAuthClient({ baseUrl, endpoints: { backchannelAuthentication: "/bc-authorize" } as never }),
    ).toThrow(TypeError);
  });

  test("a field added to a grant in the spec is sent after npm run generate", async () => {
    const token = await edited().clientCredentials({ tenant: "acme" } as never);
    expect(token.access_token).toBe(TOKEN.access_token);
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe("POST");
    expect(received[0]!.path).toBe("/oauth2/token");
    expect(received[0]!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    expect(received[0]!.form.get("grant_type")).toBe("client_credentials");
    expect(received[0]!.form.get("tenant")).toBe("acme");
    expect(received[0]!.form.get("client_id")).toBe("client-1");
    // The schema's constraints come along: minLength 1.
    received.length = 0;
    await refusedBeforeSending(edited().clientCredentials({ tenant: "" } as never), "tenant");
  });

  test("without the edit, the same client_credentials call with tenant is refused before sending", async () => {
    await refusedBeforeSending(unedited().clientCredentials({ tenant: "acme" } as never), "tenant");
  });

  test("a value added to an enum in the spec is accepted and sent (token_type_hint id_token)", async () => {
    answer = { status: 200, body: "" };
    await expect(
      edited().revokeToken({ token: "tok-123456789", token_type_hint: "id_token" } as never),
    ).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/oauth2/revoke");
    expect(received[0]!.form.get("token")).toBe("tok-123456789");
    expect(received[0]!.form.get("token_type_hint")).toBe("id_token");
    // Values outside the new enum are still refused.
    received.length = 0;
    await refusedBeforeSending(
      edited().revokeToken({ token: "tok-123456789", token_type_hint: "device_code" } as never),
      "token_type_hint",
    );
  });

  test("without the edit, token_type_hint id_token is refused before sending", async () => {
    await refusedBeforeSending(
      unedited().revokeToken({ token: "tok-123456789", token_type_hint: "id_token" } as never),
      "token_type_hint",
    );
  });

  test("a grant added to the spec's oneOf (OpenID CIBA) is sent, and its answer accepted", async () => {
    answer = json(200, {
      access_token: "at-exchanged-123456",
      token_type: "Bearer",
      session_state: "s-1",
    });
    const token = await edited().obtainToken({
      grant_type: CIBA,
      auth_req_id: "req-123456789",
      audience: "api",
    } as never);
    expect(received).toHaveLength(1);
    const form = received[0]!.form;
    expect(form.get("grant_type")).toBe(CIBA);
    expect(form.get("auth_req_id")).toBe("req-123456789");
    expect(form.get("audience")).toBe("api");
    expect(form.get("client_secret")).toBe("secret-1234567890");
    expect(token.access_token).toBe("at-exchanged-123456");
    expect(token.token_type).toBe("Bearer");
    expect((token as Record<string, unknown>).session_state).toBe("s-1");
  });

  test("the new grant's required fields are enforced: no auth_req_id is a TypeError before any request", async () => {
    await refusedBeforeSending(edited().obtainToken({ grant_type: CIBA, audience: "api" } as never), "auth_req_id");
  });

  test("without the edit, the CIBA grant is refused before sending", async () => {
    const request = { grant_type: CIBA, auth_req_id: "req-123456789" };
    await refusedBeforeSending(unedited().obtainToken(request as never), "grant_type");
  });

  test("a field renamed in the spec (code_verifier to pkce_verifier) is sent under its new name, its pattern kept", async () => {
    const token = await edited().exchangeAuthorizationCode({ code: "c-1", pkce_verifier: VERIFIER } as never);
    expect(token.access_token).toBe(TOKEN.access_token);
    expect(received).toHaveLength(1);
    expect(received[0]!.form.get("grant_type")).toBe("authorization_code");
    expect(received[0]!.form.get("code")).toBe("c-1");
    expect(received[0]!.form.get("pkce_verifier")).toBe(VERIFIER);
    expect(received[0]!.form.has("code_verifier")).toBe(false);
    received.length = 0;
    await refusedBeforeSending(
      edited().exchangeAuthorizationCode({ code: "c-1", code_verifier: VERIFIER } as never),
      "code_verifier",
    );
    await refusedBeforeSending(
      edited().exchangeAuthorizationCode({ code: "c-1", pkce_verifier: "short-1234" } as never),
      "pkce_verifier",
    );
  });

  test("without the edit, pkce_verifier is refused before sending", async () => {
    await refusedBeforeSending(
      unedited().exchangeAuthorizationCode({ code: "c-1", pkce_verifier: VERIFIER } as never),
      "pkce_verifier",
    );
  });

  test('a typed answer field added to the spec is checked: refresh_expires_in 60 is accepted, "soon" refused', async () => {
    answer = json(200, { ...TOKEN, refresh_expires_in: 60, session_state: "s-1" });
    const token = (await edited().clientCredentials()) as Record<string, unknown>;
    expect(token.refresh_expires_in).toBe(60);
    expect(token.session_state).toBe("s-1");
    // The same answer with the field mistyped is refused: the value above was checked, not passed through.
    answer = json(200, { ...TOKEN, refresh_expires_in: "soon" });
    await expect(edited().clientCredentials()).rejects.toThrow(copy.OAuthResponseError);
    expect(received).toHaveLength(2);
  });

  test.each([
    ["refresh_expires_in", "soon"],
    ["refresh_expires_in", -1],
    ["refresh_expires_in", 1.5],
    ["session_state", 5],
  ])(
    "a typed answer field added to the spec is checked: %s %j is refused with OAuthResponseError",
    async (field, value) => {
      answer = json(200, { ...TOKEN, [field]: value });
      const error = await edited()
        .clientCredentials()
        .then(
          () => expect.unreachable(`expected ${field} ${JSON.stringify(value)} to be refused`),
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(copy.OAuthResponseError);
      expect((error as Error).message).toContain(`"${field}"`);
      expect((error as Error).message).not.toContain(TOKEN.access_token);
      expect(received).toHaveLength(1);
    },
  );

  test("without the edit, the answer's refresh_expires_in is not checked (an undeclared field passes through)", async () => {
    answer = json(200, { ...TOKEN, refresh_expires_in: "soon" });
    const token = (await unedited().clientCredentials()) as Record<string, unknown>;
    expect(token.refresh_expires_in).toBe("soon");
  });

  test("a field the spec marks x-secret is redacted from errors: a server quoting the auth_req_id", async () => {
    const secret = "req-secret-abcdef123";
    answer = json(400, { error: "invalid_grant", error_description: `bad auth_req_id ${secret}` });
    const error = await edited()
      .obtainToken({
        grant_type: CIBA,
        auth_req_id: secret,
      } as never)
      .then(
        () => expect.unreachable("expected an OAuthError"),
        (e: unknown) => e,
      );
    // The request did carry the secret: the server is the one that quoted it back.
    expect(received).toHaveLength(1);
    expect(received[0]!.form.get("auth_req_id")).toBe(secret);
    expect(error).toBeInstanceOf(copy.OAuthError);
    const oauth = error as InstanceType<typeof copy.OAuthError>;
    expect(oauth.error).toBe("invalid_grant");
    expect(oauth.status).toBe(400);
    expect(oauth.error_description).toContain("bad auth_req_id");
    for (const text of [
      oauth.message,
      oauth.stack ?? "",
      oauth.error_description ?? "",
      JSON.stringify(oauth),
      inspect(oauth, { depth: Infinity, showHidden: true }),
    ]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
    expect(oauth.message).toContain("[REDACTED]");
  });
});
