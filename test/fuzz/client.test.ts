import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  OAuthTransportError,
  squareAdapter,
  type OAuthClient,
  type OAuthClientOptions,
  type RequestFormat,
  type SquareMethods,
} from "../../src/index";
import {
  answerArb,
  expectNotPrinted,
  expectTypedError,
  fuzzTally,
  introspectionAnswerArb,
  toResponse,
  tokenAnswerArb,
  type GeneratedAnswer,
} from "../helpers/answers";

/**
 * The whole client, from arguments to result, against a fetch that returns generated answers: whole, in
 * random chunks, broken off mid-body, or not at all. Every call must settle with a valid result or a typed
 * error, retry only what is safe to retry, and print no secret.
 */

const CLIENT_SECRET = "CLIENT-SECRET-fuzz-6e5d4c3b";
const MAX_ATTEMPTS = 3;

const tally = fuzzTally("client", "calls resolved");

/** How an answer reaches the client. */
type Delivery =
  | { how: "whole" }
  | { how: "chunks"; cuts: number[] }
  /** The body stops part-way with a reset, as when the server dies mid-answer. */
  | { how: "break"; at: number }
  /** fetch rejects as undici does when the connection is refused: the request never left. */
  | { how: "refused" }
  /** fetch rejects as undici does after a reset: the request may have arrived. */
  | { how: "reset" }
  /** fetch resolves with something that is not a Response. */
  | { how: "garbage" };

const deliveryArb: fc.Arbitrary<Delivery> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ how: "whole" as const }) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 })
      .map((cuts) => ({ how: "chunks" as const, cuts })),
  },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ how: "break" as const, at })) },
  { weight: 1, arbitrary: fc.constant({ how: "refused" as const }) },
  { weight: 1, arbitrary: fc.constant({ how: "reset" as const }) },
  { weight: 1, arbitrary: fc.constant({ how: "garbage" as const }) },
);

const exchangeArb = fc.record({
  answer: fc.oneof(answerArb, tokenAnswerArb, introspectionAnswerArb),
  delivery: deliveryArb,
});

type Operation =
  | "clientCredentials"
  | "refreshToken"
  | "exchangeAuthorizationCode"
  | "renewToken"
  | "revokeToken"
  | "introspectToken"
  | "squareIntrospect"
  | "retrieveTokenStatus";
/** Operations that may be retried after any connection failure, 429 or 503. */
const IDEMPOTENT = new Set<Operation>([
  "clientCredentials",
  "revokeToken",
  "introspectToken",
  "squareIntrospect",
  "retrieveTokenStatus",
]);
const operationArb = fc.constantFrom<Operation>(
  "clientCredentials",
  "refreshToken",
  "exchangeAuthorizationCode",
  "renewToken",
  "revokeToken",
  "introspectToken",
  "squareIntrospect",
  "retrieveTokenStatus",
);

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) chunks.push(bytes.slice(from, point));
    from = point;
  }
  return chunks;
}

function connectionError(code: "ECONNREFUSED" | "ECONNRESET"): TypeError {
  const syscall = code === "ECONNREFUSED" ? "connect" : "read";
  return new TypeError("fetch failed", { cause: Object.assign(new Error(`${syscall} ${code}`), { code, syscall }) });
}

/** The Response (or failure) a delivery makes of an answer. */
function deliver(answer: GeneratedAnswer, delivery: Delivery): Response {
  const bytes = new TextEncoder().encode(answer.body);
  switch (delivery.how) {
    case "whole":
      return toResponse(answer);
    case "chunks":
      return toResponse(answer, splitAt(bytes, delivery.cuts));
    case "break": {
      const part = bytes.slice(0, Math.floor(delivery.at * bytes.length));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(part);
          controller.error(
            new TypeError("terminated", {
              cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" }),
            }),
          );
        },
      });
      return [204, 205, 304].includes(answer.status)
        ? toResponse(answer)
        : new Response(body, { status: answer.status, headers: answer.headers });
    }
    case "refused":
      throw connectionError("ECONNREFUSED");
    case "reset":
      throw connectionError("ECONNRESET");
    case "garbage":
      return { status: answer.status } as unknown as Response;
  }
}

function codeOf(answer: GeneratedAnswer): string {
  return answer.refresh.replace("RT-", "CODE-");
}

/** The secrets a call sends: the client can hide these wherever a server quotes them back. */
function sentSecrets(operation: Operation, first: GeneratedAnswer): string[] {
  if (operation === "clientCredentials") return [];
  if (operation === "refreshToken") return [first.refresh];
  if (operation === "exchangeAuthorizationCode") return [codeOf(first)];
  return [first.access];
}

function call(
  client: OAuthClient<RequestFormat>,
  square: OAuthClient<RequestFormat> & SquareMethods,
  operation: Operation,
  first: GeneratedAnswer,
): Promise<unknown> {
  switch (operation) {
    case "clientCredentials":
      return client.clientCredentials({ scope: "read write" });
    case "refreshToken":
      return client.refreshToken({ refresh_token: first.refresh });
    case "exchangeAuthorizationCode":
      return client.exchangeAuthorizationCode({
        code: codeOf(first),
        code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
      });
    case "renewToken":
      return square.renewToken({ access_token: first.access });
    case "revokeToken":
      return client.revokeToken({ token: first.access, token_type_hint: "access_token" });
    case "introspectToken":
      return client.introspectToken({ token: first.access });
    case "squareIntrospect":
      return square.introspectToken({ token: first.access });
    case "retrieveTokenStatus":
      return square.retrieveTokenStatus({ access_token: first.access });
  }
}

describe("the client against generated answers", () => {
  test("every call settles with a valid result or a typed error, retries only what is safe, and prints no secret", async () => {
    await fc.assert(
      fc.asyncProperty(
        operationArb,
        fc.array(exchangeArb, { minLength: 1, maxLength: MAX_ATTEMPTS }),
        fc.constantFrom(undefined, undefined, 4096, 64),
        fc.constantFrom<OAuthClientOptions["clientAuthentication"]>("client_secret_basic", "client_secret_post"),
        async (operation, exchanges, maxResponseBytes, clientAuthentication) => {
          const delivered: Delivery[] = [];
          const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
            const request = new Request(input, init);
            const exchange = exchanges[Math.min(delivered.length, exchanges.length - 1)]!;
            delivered.push(exchange.delivery);
            tally.fuzzed += 1;
            await request.text(); // the body was serialized and is readable
            return deliver(exchange.answer, exchange.delivery);
          };
          const common = {
            baseUrl: "https://auth.example.org",
            clientId: "fuzz-client",
            clientSecret: CLIENT_SECRET,
            fetch: fetch as typeof globalThis.fetch,
            timeoutMs: 10_000,
            retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 0, maxDelayMs: 0, maxElapsedMs: 100 },
            ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
          };
          const client = createOAuthClient({ ...common, clientAuthentication });
          const square = createOAuthClient({ ...common, requestFormat: "json", provider: squareAdapter });
          const first = exchanges[0]!.answer;
          // Tokens a body only quotes in free text, and that the call did not send, cannot be known to be secrets.
          const secrets = [
            CLIENT_SECRET,
            ...sentSecrets(operation, first),
            ...exchanges.flatMap((e) => e.answer.planted),
          ];

          let result: unknown;
          try {
            result = await call(
              client as OAuthClient<RequestFormat>,
              square as OAuthClient<RequestFormat> & SquareMethods,
              operation,
              first,
            );
            tally.results += 1;
          } catch (error) {
            expectTypedError(error, secrets, true);
            tally.errors += 1;
          }
          if (result !== undefined) expectNotPrinted(result, secrets);

          expect(delivered.length).toBeGreaterThanOrEqual(1);
          expect(delivered.length).toBeLessThanOrEqual(MAX_ATTEMPTS);
          if (!IDEMPOTENT.has(operation)) {
            // A request that may have reached the server is never sent again.
            for (const earlier of delivered.slice(0, -1)) expect(earlier.how).toBe("refused");
          }
        },
      ),
      { numRuns: 2500 },
    );
  });

  test("answers that never end, or a fetch that never answers, end in a typed time-out", async () => {
    await fc.assert(
      fc.asyncProperty(answerArb, fc.boolean(), operationArb, async (answer, deafFetch, operation) => {
        tally.fuzzed += 1;
        const fetch = async (): Promise<Response> => {
          if (deafFetch) return new Promise<Response>(() => {});
          const bytes = new TextEncoder().encode(answer.body);
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(bytes.slice(0, bytes.length >> 1));
            },
          });
          return new Response([204, 205, 304].includes(answer.status) ? null : body, {
            status: answer.status,
            headers: answer.headers,
          });
        };
        const common = {
          baseUrl: "https://auth.example.org",
          clientId: "fuzz-client",
          clientSecret: CLIENT_SECRET,
          fetch: fetch as typeof globalThis.fetch,
          timeoutMs: 5,
          retry: false as const,
        };
        const client = createOAuthClient(common);
        const square = createOAuthClient({ ...common, requestFormat: "json", provider: squareAdapter });
        const outcome = await call(
          client as OAuthClient<RequestFormat>,
          square as OAuthClient<RequestFormat> & SquareMethods,
          operation,
          answer,
        ).then(
          () => undefined,
          (error: unknown) => error,
        );
        // A body-less answer (204) or a redirect needs no body; anything that waits for one times out.
        if (outcome instanceof OAuthTransportError) expect(outcome.timedOut).toBe(true);
        else if (outcome !== undefined)
          expectTypedError(outcome, [CLIENT_SECRET, ...sentSecrets(operation, answer), ...answer.planted]);
        else expect(deafFetch).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
