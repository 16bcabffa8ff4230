import { describe, expect, inject, test } from "vitest";
import { createOAuthClient } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import {
  describeContract,
  callFor,
  expectAnswer,
  invoke,
  requestExamples,
  requestFormats,
  responseCases,
} from "../helpers/spec";

const prismUrl = inject("prismUrl");
const examples = requestExamples("introspectToken");
const answers = responseCases("introspectToken");

describe("introspectToken", () => {
  test("the spec documents a form request, and answers with examples", () => {
    expect(requestFormats("introspectToken")).toEqual(["form"]);
    expect(examples.length).toBeGreaterThan(0);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([200, 400, 401]));
    expect(answers.filter((a) => a.status === 200).map((a) => a.value)).toContainEqual({ active: false });
    expect(answers[0]).toMatchObject({ status: 200 });
  });

  describeContract("introspectToken");

  // A JSON client still introspects with a form: the spec declares no other body for this operation.
  describe("every documented answer to a client configured for JSON", () => {
    const call = callFor(examples[0]!);
    for (const answer of answers.filter((a) => a.status === 200)) {
      test(answer.title, async () => {
        const { fetch, exchanges } = recordingFetch();
        const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...call.options, requestFormat: "json" });
        await expectAnswer(invoke(client, "introspectToken", call.params, { headers: answer.requestHeaders }), answer);
        expect(exchanges).toHaveLength(1);
        expect(exchanges[0]!.requestHeaders.get("content-type")).toBe("application/x-www-form-urlencoded");
        expect(exchanges[0]!.violations).toBeNull();
      });
    }
  });
});
