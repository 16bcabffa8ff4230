import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  AuthorizationResponseError,
  InvalidAuthorizationResponseError,
  OAuthClientError,
  validateAuthorizationResponse,
} from "../src/index";

const ISSUER = "https://auth.example.org";
const STATE = "state-af0ifjsldkj-6c1b";
const CODE = "code-SplxlOBeZQQYbYS6WxSbIA";
const CALLBACK = "https://app.example.org/callback";

/** A redirect URL with these parameters in its query (or, with `fragment`, its fragment). */
function redirect(params: [string, string][], fragment = false): string {
  const text = new URLSearchParams(params).toString();
  return fragment ? `${CALLBACK}#${text}` : `${CALLBACK}?${text}`;
}

/** The error a check throws, for assertions on its class, reason and text. */
function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

/** Every printed and serialized form of a value, with its cause chain. */
function printed(value: unknown): string {
  return [inspect(value, { depth: 10, showHidden: true }), JSON.stringify(value), String(value)].join("\n");
}

describe("validateAuthorizationResponse", () => {
  test("returns the code and the checked parameters; code and state print as [REDACTED]", () => {
    const result = validateAuthorizationResponse(
      redirect([
        ["code", CODE],
        ["state", STATE],
        ["iss", ISSUER],
        ["session_state", "abc"],
      ]),
      { expectedState: STATE, issuer: ISSUER },
    );
    expect(result.code).toBe(CODE);
    expect({ ...result }).toStrictEqual({ code: CODE, state: STATE, iss: ISSUER, session_state: "abc" });
    const shown = inspect(result);
    expect(shown).not.toContain(CODE);
    expect(shown).not.toContain(STATE);
    expect(shown).toContain("[REDACTED]");
  });

  test("takes a URL, the parameters of a form post, and a fragment with responseMode fragment", () => {
    const params: [string, string][] = [
      ["code", CODE],
      ["state", STATE],
    ];
    expect(validateAuthorizationResponse(new URL(redirect(params)), { expectedState: STATE }).code).toBe(CODE);
    expect(validateAuthorizationResponse(new URLSearchParams(params), { expectedState: STATE }).code).toBe(CODE);
    expect(
      validateAuthorizationResponse(redirect(params, true), { expectedState: STATE, responseMode: "fragment" }).code,
    ).toBe(CODE);
    const error = failure(() => validateAuthorizationResponse(redirect(params, true), { expectedState: STATE }));
    expect(error).toMatchObject({ reason: "malformed" });
    expect(error.message).toContain("set responseMode");
  });

  describe("state (RFC 6749 §10.12)", () => {
    test.each([
      ["another state", [["state", `${STATE}x`]]],
      ["a state of the same length", [["state", `${STATE.slice(0, -1)}X`]]],
      ["no state", []],
    ] as [string, [string, string][]][])("%s is refused, and neither state nor code is quoted", (_, extra) => {
      const error = failure(() =>
        validateAuthorizationResponse(redirect([["code", CODE], ...extra]), { expectedState: STATE }),
      );
      expect(error).toBeInstanceOf(InvalidAuthorizationResponseError);
      expect(error).toBeInstanceOf(OAuthClientError);
      expect(error).toMatchObject({ code: "OAUTH_INVALID_AUTHORIZATION_RESPONSE", reason: "state_mismatch" });
      expect(printed(error)).not.toContain(CODE);
      expect(printed(error)).not.toContain(STATE);
    });

    test("expectedState null: a response without state passes, one with a state is refused", () => {
      expect(validateAuthorizationResponse(redirect([["code", CODE]]), { expectedState: null }).code).toBe(CODE);
      const error = failure(() =>
        validateAuthorizationResponse(
          redirect([
            ["code", CODE],
            ["state", STATE],
          ]),
          { expectedState: null },
        ),
      );
      expect(error).toMatchObject({ reason: "state_mismatch" });
    });

    test("a forged error answer with the wrong state is a state mismatch, not the server's error", () => {
      const error = failure(() =>
        validateAuthorizationResponse(
          redirect([
            ["error", "access_denied"],
            ["state", "forged-state-value"],
          ]),
          { expectedState: STATE },
        ),
      );
      expect(error).toMatchObject({ reason: "state_mismatch" });
    });
  });

  describe("iss (RFC 9207)", () => {
    const answer = (iss?: string) =>
      redirect([["code", CODE], ["state", STATE], ...(iss === undefined ? [] : [["iss", iss] as [string, string]])]);

    test("another server's iss is a mix-up, refused with or without metadata, before the error or the code", () => {
      for (const checks of [{ issuer: ISSUER }, { metadata: { issuer: ISSUER } }]) {
        const error = failure(() =>
          validateAuthorizationResponse(answer("https://attacker.example.net"), { expectedState: STATE, ...checks }),
        );
        expect(error).toBeInstanceOf(InvalidAuthorizationResponseError);
        expect(error).toMatchObject({ reason: "iss_mismatch" });
        expect(error.message).toContain("https://attacker.example.net");
        expect(printed(error)).not.toContain(CODE);
      }
      const forgedError = redirect([
        ["error", "access_denied"],
        ["state", STATE],
        ["iss", "https://attacker.example.net"],
      ]);
      expect(
        failure(() => validateAuthorizationResponse(forgedError, { expectedState: STATE, issuer: ISSUER })),
      ).toMatchObject({
        reason: "iss_mismatch",
      });
    });

    test("iss compares as a plain string: a trailing slash is another issuer", () => {
      expect(
        failure(() => validateAuthorizationResponse(answer(`${ISSUER}/`), { expectedState: STATE, issuer: ISSUER })),
      ).toMatchObject({ reason: "iss_mismatch" });
    });

    test("a missing iss is refused when the metadata says the server sends it, or the caller does", () => {
      const metadata = { issuer: ISSUER, authorization_response_iss_parameter_supported: true };
      expect(failure(() => validateAuthorizationResponse(answer(), { expectedState: STATE, metadata }))).toMatchObject({
        reason: "iss_missing",
      });
      expect(
        failure(() =>
          validateAuthorizationResponse(answer(), { expectedState: STATE, issuer: ISSUER, issRequired: true }),
        ),
      ).toMatchObject({ reason: "iss_missing" });
      expect(validateAuthorizationResponse(answer(ISSUER), { expectedState: STATE, metadata }).iss).toBe(ISSUER);
    });

    test("a missing iss passes when nothing says the server sends it", () => {
      expect(validateAuthorizationResponse(answer(), { expectedState: STATE, issuer: ISSUER }).code).toBe(CODE);
      expect(
        validateAuthorizationResponse(answer(), {
          expectedState: STATE,
          metadata: { issuer: ISSUER, authorization_response_iss_parameter_supported: false },
        }).code,
      ).toBe(CODE);
    });
  });

  describe("error answers (RFC 6749 §4.1.2.1)", () => {
    test("become an AuthorizationResponseError with the server's error, description and URI", () => {
      const error = failure(() =>
        validateAuthorizationResponse(
          redirect([
            ["error", "access_denied"],
            ["error_description", `The user said no to ${STATE}`],
            ["error_uri", "https://auth.example.org/errors/access_denied"],
            ["state", STATE],
            ["iss", ISSUER],
          ]),
          { expectedState: STATE, issuer: ISSUER, issRequired: true },
        ),
      );
      expect(error).toBeInstanceOf(AuthorizationResponseError);
      expect(error).toBeInstanceOf(OAuthClientError);
      expect(error).toMatchObject({
        code: "OAUTH_AUTHORIZATION_ERROR",
        name: "AuthorizationResponseError",
        error: "access_denied",
        error_description: "The user said no to [REDACTED]",
        error_uri: "https://auth.example.org/errors/access_denied",
      });
      expect(error.message).toBe("the authorization server answered access_denied: The user said no to [REDACTED]");
      expect(printed(error)).not.toContain(STATE);
    });

    test("an error answer that breaks the spec's schema is malformed", () => {
      const error = failure(() =>
        validateAuthorizationResponse(
          redirect([
            ["error", "server_error"],
            ["error_uri", "not a uri"],
            ["state", STATE],
          ]),
          { expectedState: STATE },
        ),
      );
      expect(error).toMatchObject({ reason: "malformed" });
      expect(error.message).toBe('authorization response "error_uri" must be an absolute URL');
    });
  });

  describe("the response's shape", () => {
    test.each([
      [
        "code",
        [
          ["code", CODE],
          ["code", "other-code-value"],
          ["state", STATE],
        ],
      ],
      [
        "state",
        [
          ["code", CODE],
          ["state", STATE],
          ["state", STATE],
        ],
      ],
      [
        "iss",
        [
          ["code", CODE],
          ["state", STATE],
          ["iss", ISSUER],
          ["iss", ISSUER],
        ],
      ],
    ] as [string, [string, string][]][])("a repeated %s is refused (RFC 6749 §3.1)", (name, params) => {
      const error = failure(() =>
        validateAuthorizationResponse(redirect(params), { expectedState: STATE, issuer: ISSUER }),
      );
      expect(error).toBeInstanceOf(InvalidAuthorizationResponseError);
      expect(error).toMatchObject({ reason: "duplicate_parameter" });
      expect(error.message).toContain(`"${name}"`);
      expect(printed(error)).not.toContain(CODE);
      expect(printed(error)).not.toContain(STATE);
    });

    test.each([
      ["no code", [["state", STATE]], 'authorization response "code" must be a non-empty string'],
      [
        "an empty code",
        [
          ["code", ""],
          ["state", STATE],
        ],
        'authorization response "code" must be a non-empty string',
      ],
      ["no parameters at all", [], "the redirect URL has no parameters in its query"],
    ] as [string, [string, string][], string][])("%s is malformed", (_, params, message) => {
      const error = failure(() => validateAuthorizationResponse(redirect(params), { expectedState: STATE }));
      expect(error).toMatchObject({ reason: "malformed", message });
    });
  });

  test.each([
    ["a relative URL", "/callback?code=x", { expectedState: STATE }, "redirect"],
    ["no expectedState", redirect([["code", CODE]]), {}, "expectedState"],
    ["an empty expectedState", redirect([["code", CODE]]), { expectedState: "" }, "expectedState"],
    [
      "issRequired without an issuer",
      redirect([["code", CODE]]),
      { expectedState: STATE, issRequired: true },
      "issuer",
    ],
    [
      "an issuer that is not the metadata's",
      redirect([["code", CODE]]),
      { expectedState: STATE, issuer: ISSUER, metadata: { issuer: "https://other.example.org" } },
      "differ",
    ],
    [
      "an unknown response mode",
      redirect([["code", CODE]]),
      { expectedState: STATE, responseMode: "form_post" },
      "responseMode",
    ],
  ])("%s is a TypeError naming %s, and the URL is not quoted", (_, url, checks, name) => {
    const error = failure(() => validateAuthorizationResponse(url, checks as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    expect(error.message).toContain(name);
    expect(error.message).not.toContain(CODE);
  });
});
