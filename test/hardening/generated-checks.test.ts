/**
 * The checks that scripts/generate.ts compiles from the spec (generated/spec.ts), run directly: held to the
 * schema interpreter the client ran before them (test/helpers/schema-reference.ts) on random bodies and hostile
 * values, message for message, and tried against values built to slip through: keys named after Object.prototype's
 * members, getters, holes and iterators in arrays, boxed strings, numbers in every spelling.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as generated from "../../generated/spec";
import type { AnswerCheck, RequestCheck, SchemaNode, ValueCheck } from "../../generated/spec";
import { checkAnswer, checkRequest, checkValue, readAnswerField } from "../../src/core/validate";
import { referenceAnswer, referenceRequest, referenceValue } from "../helpers/schema-reference";

type JsonObject = Record<string, unknown>;
const exports = generated as unknown as Record<string, unknown>;
/** Every component of the spec, as described and as compiled for each use it has. */
const components = Object.keys(exports)
  .filter((name) => /^[A-Z]/.test(name) && [`${name}Request`, `${name}Value`].some((check) => check in exports))
  .map((name) => ({
    name,
    description: exports[name] as SchemaNode,
    request: exports[`${name}Request`] as RequestCheck | undefined,
    answer: exports[`${name}Answer`] as AnswerCheck | undefined,
    value: exports[`${name}Value`] as ValueCheck | undefined,
  }));

const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/** Every value a schema of the spec fixes (`const`, `enum`), so that random bodies often pick an alternative. */
const fixed = new Set<unknown>();
(function collect(node: unknown): void {
  if (typeof node !== "object" || node === null) return;
  const schema = node as SchemaNode;
  if (schema.const !== undefined) fixed.add(schema.const);
  for (const value of schema.enum ?? []) fixed.add(value);
  for (const child of Object.values(node)) collect(child);
})(components.map((component) => component.description));
/** Values near every edge the spec's schemas draw, and some no schema takes. */
const EDGES: unknown[] = [
  ...[...["", "x", "[REDACTED]", "a b", "read,write", VERIFIER, `${VERIFIER}!`, "a.b.c", "a..", "urn:x:y"]],
  ...["https://as.example/cb", "http://127.0.0.1:8080/", "javascript:alert(1)", "not a url", "/relative"],
  ...["2026-12-04T10:00:00Z", "2026-13-45", "123", "3600", "00012", "-1", "1.5", "1e3", " 42", "٣", "0x10"],
  ...["9007199254740993", "urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:nope"],
  ...[0, -0, 1, -1, 1.5, 3600, 3601, 86400, 86401, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, true, false, null],
  ...[[], [""], ["a"], ["a", "b"], ["https://rs.example/"], ["https://rs.example/", "x"], [1], [null], {}, { a: 1 }],
];
const values = fc.oneof(fc.constantFrom(...fixed), fc.constantFrom(...EDGES), fc.jsonValue({ maxDepth: 1 }));

/** The field names of a schema, every alternative's, and one no alternative declares. */
function fieldNames(node: SchemaNode): string[] {
  const names = new Set<string>(["extra_field"]);
  for (const alternative of node.anyOf ?? [node])
    for (const name of Object.keys(alternative.properties ?? {})) names.add(name);
  return [...names];
}
const bodies = (node: SchemaNode) =>
  fc.dictionary(fc.constantFrom(...fieldNames(node)), values, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;

/** The message a call threw, or what it returned. */
function outcome<T>(run: () => T): T | string {
  try {
    return run();
  } catch (error) {
    return (error as Error).message;
  }
}
const fail = (message: string): never => {
  throw new Error(message);
};

describe("the generated checks say what the interpreter said", () => {
  test.each(components.filter((c) => c.request).map((c) => [c.name, c] as const))(
    "%s as a request: the same message, or the same body and alternative",
    (_, { description, request }) => {
      fc.assert(
        fc.property(bodies(description), (body) => {
          const expected = referenceRequest(description, body, "the request");
          const actual = outcome(() => checkRequest(request!, body, "the request"));
          if (typeof expected === "string" || typeof actual === "string") {
            expect(actual).toEqual(expected);
            return;
          }
          expect(actual.body).toEqual(expected.body);
          const index = (description.anyOf ?? [description]).indexOf(expected.schema);
          expect((request!.anyOf ?? [request]).indexOf(actual.schema)).toBe(index);
        }),
        { numRuns: 300 },
      );
    },
  );

  test.each(components.filter((c) => c.answer).map((c) => [c.name, c] as const))(
    "%s as an answer: the same message, or the same fields read the same way",
    (_, { description, answer }) => {
      fc.assert(
        fc.property(bodies(description), (body) => {
          const expected = referenceAnswer(description, structuredClone(body));
          const actual = outcome(() => checkAnswer(answer!, structuredClone(body), fail));
          expect(actual).toEqual(expected);
        }),
        { numRuns: 300 },
      );
    },
  );

  test("every field, and every schema that is not an object: the same test, reading and message", () => {
    const pairs: [SchemaNode, ValueCheck, ValueCheck | undefined][] = [];
    for (const { description, request, answer, value } of components) {
      if (value) pairs.push([description, value, value]);
      const options = description.anyOf ?? [description];
      options.forEach((option, i) => {
        for (const [name, field] of Object.entries(option.properties ?? {})) {
          const asAnswer = (answer?.anyOf ?? [answer])[i]?.properties?.[name];
          // A request refuses a field that client authentication fills in whatever its value: no test to compare.
          const asRequest = field.clientAuthentication
            ? undefined
            : (request?.anyOf ?? [request])[i]?.properties?.[name];
          if (asRequest) pairs.push([field, asRequest, undefined]);
          if (asAnswer) pairs.push([field, asAnswer, asAnswer]);
        }
      });
    }
    expect(pairs.length).toBeGreaterThan(200);
    for (const [node, strict, lenient] of pairs) {
      for (const value of [...fixed, ...EDGES]) {
        const expected = referenceValue(node, value);
        expect(strict.is(value), `${expected.expected}: ${String(value)}`).toBe(expected.strict);
        expect(strict.expected).toBe(expected.expected);
        if (lenient) expect(readAnswerField(lenient, value)).toEqual(expected.answer);
      }
    }
  });
});

const FORM = "application/x-www-form-urlencoded";
const tokenRequest = generated.obtainTokenRequest[FORM];
const jsonTokenRequest = generated.obtainTokenRequest["application/json"];
const message = (run: () => unknown) => outcome(run) as string;

describe("hostile requests", () => {
  test.each(["constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"])(
    "a field named after Object.prototype's %s is not a field of the request (the interpreter let it through)",
    (name) => {
      const body = { grant_type: "client_credentials", [name]: "x" };
      expect(message(() => checkRequest(tokenRequest, body, "the token request"))).toBe(
        `${name} is not a field of the token request with grant_type client_credentials`,
      );
      // What the spec's description says of the same body, read by the interpreter: accepted, and sent.
      expect(referenceRequest(generated.TokenRequest, body, "the token request")).toMatchObject({ body });
    },
  );

  test('an own "__proto__" field (from JSON.parse) is refused as a field, not made the prototype of what is sent', () => {
    const body = JSON.parse('{"grant_type":"client_credentials","__proto__":{"scope":"admin"}}') as JsonObject;
    expect(message(() => checkRequest(tokenRequest, body, "the token request"))).toBe(
      "__proto__ is not a field of the token request with grant_type client_credentials",
    );
  });

  test("what is checked is what is sent: a getter read once, its value kept as plain data", () => {
    let reads = 0;
    const body = {
      grant_type: "client_credentials",
      get scope() {
        reads++;
        return reads === 1 ? "read" : 42;
      },
    };
    const { body: sent } = checkRequest<JsonObject>(tokenRequest, body, "the token request");
    expect(sent).toEqual({ grant_type: "client_credentials", scope: "read" });
    expect(Object.getOwnPropertyDescriptor(sent, "scope")).toMatchObject({ value: "read", writable: true });
    expect(reads).toBe(1);
  });

  test("undefined fields are left out of the body, and a required one left undefined is missing", () => {
    const { body } = checkRequest(tokenRequest, { grant_type: "client_credentials", scope: undefined }, "it");
    expect(body).toEqual({ grant_type: "client_credentials" });
    expect(
      message(() => checkRequest(tokenRequest, { grant_type: "refresh_token", refresh_token: undefined }, "it")),
    ).toBe("refresh_token is required: it must be a non-empty string");
  });

  test("a grant_type that only looks like one (a String object, a list, another case) picks no grant", () => {
    const refused =
      'grant_type must be one of "authorization_code", "refresh_token", "client_credentials", "migration_token"';
    for (const grant of [
      new String("client_credentials"),
      ["client_credentials"],
      "Client_Credentials",
      " client_credentials",
    ])
      expect(message(() => checkRequest(tokenRequest, { grant_type: grant }, "the token request"))).toBe(refused);
  });

  test("a list with a hole, or whose iterator lies about its items, is checked item by item", () => {
    const holed = ["read", , "write"];
    const lying = ["read", ""];
    Object.defineProperty(lying, Symbol.iterator, {
      value: function* () {
        yield "read";
        yield "write";
      },
    });
    for (const scopes of [holed, lying])
      expect(message(() => checkRequest(jsonTokenRequest, { grant_type: "client_credentials", scopes }, "it"))).toBe(
        "scopes must be an array of non-empty strings",
      );
  });

  test("a secret that is the redaction placeholder is named as such before its pattern is checked", () => {
    const body = { grant_type: "authorization_code", code: "c-1", code_verifier: "[REDACTED]" };
    expect(message(() => checkRequest(tokenRequest, body, "it"))).toBe(generated.placeholder("code_verifier"));
  });

  test("fields that client authentication fills in are refused whatever their value", () => {
    for (const field of ["client_id", "client_secret", "client_assertion", "client_assertion_type"])
      expect(message(() => checkRequest(tokenRequest, { grant_type: "client_credentials", [field]: "x" }, "it"))).toBe(
        `${field} comes from the client options; do not pass it in the request`,
      );
  });

  test("a field required with another (dependentRequired) is named with it", () => {
    const request = generated.pushAuthorizationRequestRequest[FORM];
    const body = { response_type: "code", code_challenge: VERIFIER };
    expect(message(() => checkRequest(request, body, "it"))).toBe(
      "code_challenge_method is required with code_challenge",
    );
  });

  test("each alternative carries the facts the client reads: idempotent, the grant's own answer, scopes", () => {
    const grants = Object.fromEntries(tokenRequest.anyOf!.map((grant) => [grant.properties!.grant_type!.const, grant]));
    expect(grants.client_credentials!.idempotent).toBe(true);
    expect(grants.refresh_token!.idempotent).toBeUndefined();
    expect(grants.refresh_token!.properties!.scope!.scopes).toBe(true);
    expect(generated.TokenExchangeGrantRequest.answer).toBe(generated.TokenExchangeResponseAnswer);
  });
});

describe("hostile answers", () => {
  const token = (fields: JsonObject) => ({ access_token: "at-1234567890", token_type: "Bearer", ...fields });
  const answer = (body: JsonObject) => outcome(() => checkAnswer(generated.obtainTokenAnswer, body, fail));

  test("an x-numeric-string integer is read from ASCII digits only, and only while it is a safe integer", () => {
    expect(answer(token({ expires_in: "3600" }))).toMatchObject({ expires_in: 3600 });
    expect(answer(token({ expires_in: "00012" }))).toMatchObject({ expires_in: 12 });
    for (const spelled of [" 3600", "3600 ", "+3600", "3.6e3", "0x10", "٣٦٠٠", "-1", "1.5", "9".repeat(400), ""])
      expect(answer(token({ expires_in: spelled }))).toBe('response body "expires_in" must be a non-negative integer');
  });

  test("a timestamp is a date-time string or Unix seconds; digits stay the string they were when Date.parse reads them", () => {
    expect(answer(token({ expires_at: "2026-12-04T10:00:00Z" }))).toMatchObject({ expires_at: "2026-12-04T10:00:00Z" });
    expect(answer(token({ expires_at: 1_780_000_000 }))).toMatchObject({ expires_at: 1_780_000_000 });
    expect(answer(token({ expires_at: "123" }))).toMatchObject({ expires_at: "123" });
    expect(answer(token({ expires_at: "soon" }))).toBe(
      'response body "expires_at" must be a date-time string or a non-negative integer',
    );
  });

  test("the maximum a field states is in its message: an interval of an hour and a second is refused", () => {
    const interval = generated.deviceAuthorizationAnswer.properties!.interval!;
    expect(interval.maximum).toBe(3600);
    expect(interval.default).toBe(5);
    expect(message(() => checkValue(interval, 3601, "interval"))).toBe(
      "interval must be a non-negative integer at most 3600",
    );
    expect(() => checkValue(interval, 3600, "interval")).not.toThrow();
  });

  test("an inactive token is exactly { active: false }; an active that is not a boolean picks neither shape", () => {
    const check = generated.introspectTokenAnswer;
    expect(checkAnswer(check, { active: false, scope: "admin", access_token: "at-1" }, fail)).toEqual({
      active: false,
    });
    expect(outcome(() => checkAnswer(check, { active: "false" }, fail))).toBe(
      'response body "active" must be true or false',
    );
  });
});

test("the generated checks read no schema keyword at run time", () => {
  const source = readFileSync(new URL("../../generated/spec.ts", import.meta.url), "utf8");
  const compiled = source.slice(source.indexOf("type JsonObject"));
  expect(compiled.length).toBeGreaterThan(10_000);
  expect(compiled).not.toMatch(/\.(type|pattern|minLength|maxLength|minimum|minItems|format|numericString)\b/);
  expect(compiled).not.toMatch(/new RegExp/);
});
