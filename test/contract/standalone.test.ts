/**
 * The functions imported by name against Prism, started from the spec the types came from: each sends every form
 * request example of its operation as the spec writes it, and exactly what the client method sends; and meets
 * every documented answer as the example says, with no request violation.
 */
import { describe, expect, inject, test } from "vitest";
import {
  authorizationCodeGrant,
  clientCredentialsGrant,
  createOAuthClient,
  introspectToken,
  refreshTokenGrant,
  revokeToken,
  type CallOptions,
  type OAuthClient,
  type OAuthClientOptions,
  type RequestFormat,
} from "../../src/index";
import { recordingFetch, type Exchange } from "../helpers/recorder";
import {
  answerFor,
  callFor,
  expectAnswer,
  expectSent,
  optionsFor,
  parseBody,
  providerFor,
  requestExamples,
  responseCases,
  type RequestExample,
} from "../helpers/spec";

const prismUrl = inject("prismUrl");

type Options = OAuthClientOptions<"form">;
type Params = Record<string, unknown>;

/** A function imported by name, and the client method it stands for. */
interface Pair {
  standalone: (options: Options, params: Params, call?: CallOptions) => Promise<unknown>;
  method: (client: OAuthClient<RequestFormat>, params: Params, call?: CallOptions) => Promise<unknown>;
}

/** The token functions, by the grant type of the request examples they send. */
const GRANTS: Record<string, Pair> = {
  client_credentials: {
    standalone: (options, params, call) => clientCredentialsGrant(options, params as never, call),
    method: (client, params, call) => client.clientCredentials(params as never, call),
  },
  refresh_token: {
    standalone: (options, params, call) => refreshTokenGrant(options, params as never, call),
    method: (client, params, call) => client.refreshToken(params as never, call),
  },
  authorization_code: {
    standalone: (options, params, call) => authorizationCodeGrant(options, params as never, call),
    method: (client, params, call) => client.exchangeAuthorizationCode(params as never, call),
  },
};
const REVOKE: Pair = {
  standalone: (options, params, call) => revokeToken(options, params as never, call),
  method: (client, params, call) => client.revokeToken(params as never, call),
};
const INTROSPECT: Pair = {
  standalone: (options, params, call) => introspectToken(options, params as never, call),
  method: (client, params, call) => client.introspectToken(params as never, call),
};

/** The pair that sends a request example, with its parameters: a token example's grant type is the function's. */
function pairFor(example: RequestExample, params: Params): { pair: Pair; params: Params } | undefined {
  if (example.operationId === "revokeToken") return { pair: REVOKE, params };
  if (example.operationId === "introspectToken") return { pair: INTROSPECT, params };
  const { grant_type, ...fields } = params;
  const pair = GRANTS[String(grant_type)];
  return pair && { pair, params: fields };
}

/** A request as it travelled, with a client assertion (signed anew for each request) left out. */
function wire(exchange: Exchange, format: RequestFormat) {
  const { client_assertion, ...body } = parseBody(exchange.requestBody, format) as Params;
  return {
    method: exchange.method,
    url: exchange.url,
    headers: [...exchange.requestHeaders].sort(([a], [b]) => a.localeCompare(b)),
    body,
    assertion: typeof client_assertion,
  };
}

const OPERATIONS = ["obtainToken", "revokeToken", "introspectToken"] as const;

describe.for(OPERATIONS)("the functions of %s", (operationId) => {
  const examples = requestExamples(operationId).filter((example) => example.format === "form");
  const answers = responseCases(operationId);
  const covered = examples.filter((example) => pairFor(example, callFor(example).params) !== undefined);

  test("cover form request examples of the spec", () => {
    expect(covered.length).toBeGreaterThan(0);
    if (operationId === "obtainToken")
      expect(new Set(covered.map((example) => example.value.grant_type))).toEqual(new Set(Object.keys(GRANTS)));
    else expect(covered).toEqual(examples);
  });

  for (const example of covered) {
    test(`send the request example ${example.name} as the client method does`, async () => {
      const call = callFor(example);
      const { pair, params } = pairFor(example, call.params)!;
      const answer = answerFor(example, answers);
      const viaFunction = recordingFetch();
      const viaMethod = recordingFetch();
      const options = { baseUrl: prismUrl, ...call.options } as Options;
      await expectAnswer(
        pair.standalone({ ...options, fetch: viaFunction.fetch }, params, { headers: answer.requestHeaders }),
        answer,
      );
      const client = createOAuthClient({ ...options, fetch: viaMethod.fetch });
      await expectAnswer(pair.method(client, params, { headers: answer.requestHeaders }), answer);
      expect(viaFunction.exchanges).toHaveLength(1);
      expectSent(viaFunction.exchanges[0]!, example, call);
      expect(wire(viaFunction.exchanges[0]!, "form")).toStrictEqual(wire(viaMethod.exchanges[0]!, "form"));
    });
  }

  describe("meet every documented answer", () => {
    const example = covered[0]!;
    const call = callFor(example);
    const { pair, params } = pairFor(example, call.params)!;
    for (const answer of answers) {
      test(answer.title, async () => {
        const { fetch, exchanges } = recordingFetch();
        const options = {
          baseUrl: prismUrl,
          fetch,
          ...call.options,
          ...providerFor(answer.example, call.options.provider),
        } as Options;
        await expectAnswer(pair.standalone(options, params, await optionsFor(answer)), answer);
        expect(exchanges).toHaveLength(1);
        expect(exchanges[0]!.status).toBe(answer.status);
        expect(exchanges[0]!.violations).toBeNull();
      });
    }
  });
});
