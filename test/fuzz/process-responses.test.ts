import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { computeExpiresAtMs } from "../../src/oauth/expiry";
import {
  processIntrospectionResponse,
  processRenewResponse,
  processRevocationResponse,
  processTokenResponse,
  processTokenStatusResponse,
  statusAsIntrospection,
  type RawAnswer,
} from "../../src/index";
import {
  answerArb,
  expectNotPrinted,
  expectTypedError,
  fuzzTally,
  introspectionAnswerArb,
  toRawAnswer,
  tokenAnswerArb,
  type GeneratedAnswer,
} from "../helpers/answers";

/**
 * Thousands of generated server answers through each `process*` step: every one must end in a valid result
 * or one of the library's typed errors, with no other exception, and print none of the tokens it carries.
 */

const tally = fuzzTally("process-responses", "valid results");

/** Runs a step on the answer: the result, or the typed error it threw (anything else fails the property). */
function run<T>(step: (answer: RawAnswer) => T, answer: GeneratedAnswer): { result: T } | { error: unknown } {
  tally.fuzzed += 1;
  try {
    const result = step(toRawAnswer(answer));
    tally.results += 1;
    return { result };
  } catch (error) {
    expectTypedError(error, answer.planted);
    tally.errors += 1;
    return { error };
  }
}

const isSuccess = (status: number) => status >= 200 && status < 300;

describe("processTokenResponse", () => {
  test("every answer is a valid, storable token answer or a typed error; no token is printed", () => {
    fc.assert(
      fc.property(fc.oneof(answerArb, tokenAnswerArb), (answer) => {
        const outcome = run(processTokenResponse, answer);
        if (!("result" in outcome)) return;
        const tokens = outcome.result;
        expect(isSuccess(answer.status)).toBe(true);
        expect(tokens.access_token).toBe(answer.access);
        expect(tokens.token_type.toLowerCase()).toBe("bearer");
        if (tokens.expires_in !== undefined)
          expect(Number.isSafeInteger(tokens.expires_in) && tokens.expires_in >= 0).toBe(true);
        if (tokens.refresh_token !== undefined) expect(tokens.refresh_token).toBe(answer.refresh);
        // The token manager can store whatever was accepted: a rotated refresh token is never dropped on the floor.
        const expiresAt = computeExpiresAtMs(tokens, Date.UTC(2030, 0, 1));
        if (expiresAt !== undefined) expect(Number.isFinite(expiresAt)).toBe(true);
        expectNotPrinted(tokens, answer.planted);
      }),
      { numRuns: 3000 },
    );
  });

  test("allowedTokenTypes: only the listed types, case-insensitively", () => {
    fc.assert(
      fc.property(
        tokenAnswerArb,
        fc.constantFrom(["mac"], ["DPoP", "bearer"], ["N_A"]),
        (answer, allowedTokenTypes) => {
          const outcome = run((raw) => processTokenResponse(raw, { allowedTokenTypes }), answer);
          if ("result" in outcome)
            expect(allowedTokenTypes.map((t) => t.toLowerCase())).toContain(outcome.result.token_type.toLowerCase());
        },
      ),
      { numRuns: 500 },
    );
  });

  test("any value at all as the body ends in a result or a typed error", () => {
    fc.assert(
      fc.property(fc.constantFrom(200, 400, 401, 503), fc.anything(), (status, body) => {
        tally.fuzzed += 1;
        const answer: RawAnswer = {
          response: new Response(null, { status, headers: { "Content-Type": "application/json" } }),
          body,
        };
        try {
          processTokenResponse(answer);
        } catch (error) {
          expectTypedError(error, []);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("processRevocationResponse", () => {
  test("every answer resolves or is a typed error; an empty or non-JSON 2xx answer always resolves", () => {
    fc.assert(
      fc.property(answerArb, (answer) => {
        const outcome = run(processRevocationResponse, answer);
        let json = true;
        try {
          JSON.parse(answer.body);
        } catch {
          json = false;
        }
        const redirect = answer.status >= 300 && answer.status < 400;
        if (isSuccess(answer.status) && !json) expect(outcome).toEqual({ result: undefined });
        if (!isSuccess(answer.status) || redirect) expect("error" in outcome).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});

describe("processIntrospectionResponse", () => {
  test("every answer is a valid introspection or a typed error; inactive is exactly { active: false }", () => {
    fc.assert(
      fc.property(fc.oneof(answerArb, introspectionAnswerArb), (answer) => {
        const outcome = run(processIntrospectionResponse, answer);
        if (!("result" in outcome)) return;
        const result = outcome.result;
        expect(typeof result.active).toBe("boolean");
        if (!result.active) expect(result).toStrictEqual({ active: false });
        expectNotPrinted(result, answer.planted);
      }),
      { numRuns: 1500 },
    );
  });
});

describe("Square's answers", () => {
  test("processRenewResponse, processTokenStatusResponse and statusAsIntrospection: a result or a typed error", () => {
    fc.assert(
      fc.property(fc.oneof(answerArb, tokenAnswerArb, introspectionAnswerArb), (answer) => {
        for (const step of [processRenewResponse, processTokenStatusResponse, statusAsIntrospection] as ((
          a: RawAnswer,
        ) => object)[]) {
          const outcome = run(step, answer);
          if ("result" in outcome) expectNotPrinted(outcome.result, answer.planted);
        }
      }),
      { numRuns: 600 },
    );
  });
});
