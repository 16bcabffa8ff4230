/**
 * JWT client authentication (RFC 7523 §2.2) against Prism: at every operation where the client authenticates,
 * in both request formats, `client_assertion` and `client_assertion_type` travel in the body as the spec
 * declares them, and Prism finds nothing wrong.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, inject, test } from "vitest";
import { clientSecretJwt, createOAuthClient, privateKeyJwt, type ClientAuthentication } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { callFor, invoke, parseBody, requestExamples, type OperationId } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const CLIENT_ID = "s6BhdRkqt3";
const strategies: [string, () => ClientAuthentication][] = [
  [
    "private_key_jwt (ES256)",
    () =>
      privateKeyJwt(CLIENT_ID, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })),
  ],
  ["client_secret_jwt (HS256)", () => clientSecretJwt(CLIENT_ID, "7Fjfp0ZBr1KtDRbnfVdmIw")],
];
/** The operations where the client authenticates, each with the spec's first request example of the format. */
const targets = (
  [
    ["obtainToken", "form"],
    ["obtainToken", "json"],
    ["revokeToken", "form"],
    ["introspectToken", "form"],
  ] as const
).map(([operationId, format]) => {
  const example = requestExamples(operationId).find((e) => e.format === format && !("client_assertion" in e.value))!;
  return { operationId: operationId as OperationId, format, params: callFor(example).params };
});

describe.for(strategies)("%s", ([, strategy]) => {
  test.for(targets.map((t) => [`${t.operationId} (${t.format})`, t] as const))("%s", async ([, target]) => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      requestFormat: target.format,
      clientId: CLIENT_ID,
      clientAuthentication: strategy(),
    });
    await invoke(client, target.operationId, target.params);
    expect(exchanges).toHaveLength(1);
    const [exchange] = exchanges;
    expect(exchange!.violations).toBeNull();
    expect(exchange!.status).toBe(200);
    expect(exchange!.requestHeaders.get("authorization")).toBeNull();
    const body = parseBody(exchange!.requestBody, target.format) as Record<string, unknown>;
    expect(body).toMatchObject({
      client_id: CLIENT_ID,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(body).not.toHaveProperty("client_secret");
  });
});
