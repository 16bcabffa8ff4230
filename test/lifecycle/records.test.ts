import { describe, expect, test } from "vitest";
import { boundThumbprint } from "../../src/lifecycle/records";
import { isRefreshInFlight, isTokenRecord } from "../../src/stores/token-store";

const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

describe("boundThumbprint", () => {
  test("reads cnf.jkt of a JWT access token", () => {
    expect(
      boundThumbprint(
        `${b64({ alg: "ES256" })}.${b64({ cnf: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } })}.s`,
      ),
    ).toBe("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
  });

  test.each([
    ["an opaque token", "opaque-token"],
    ["a JWT without cnf", `${b64({})}.${b64({ sub: "u" })}.s`],
    ["a jkt with CR LF", `${b64({})}.${b64({ cnf: { jkt: "abc\r\nInjected: yes" } })}.s`],
    ["a jkt of 10 000 characters", `${b64({})}.${b64({ cnf: { jkt: "a".repeat(10_000) } })}.s`],
    ["a jkt that is a number", `${b64({})}.${b64({ cnf: { jkt: 42 } })}.s`],
    ["a payload that is not JSON", "a.%%%.s"],
    ["a payload that is an array", `${b64({})}.${b64([1, 2])}.s`],
  ])("is undefined for %s, and never throws", (_, token) => {
    expect(boundThumbprint(token)).toBeUndefined();
  });
});

describe("isTokenRecord and isRefreshInFlight: exactly what a manager writes", () => {
  const good = { access_token: "a", token_type: "Bearer", obtained_at_ms: 1, refresh_token: "r", expires_at_ms: 2 };

  test("a record as written, with or without its optional fields and mark", () => {
    expect(isTokenRecord(good)).toBe(true);
    expect(isTokenRecord({ access_token: "a", token_type: "Bearer", obtained_at_ms: 0 })).toBe(true);
    expect(isTokenRecord({ ...good, scope: "", dpop_jkt: "x", refresh_in_flight: { holder: "h", since_ms: 3 } })).toBe(
      true,
    );
  });

  test.each([
    ["null", null],
    ["an array", [good]],
    ["a string", "record"],
    ["no obtained_at_ms", { access_token: "a", token_type: "Bearer" }],
    ["an empty access token", { ...good, access_token: "" }],
    ["a 65 537-character access token", { ...good, access_token: "a".repeat(65_537) }],
    ["an expiry that is text", { ...good, expires_at_ms: "2030" }],
    ["an expiry of Infinity", { ...good, expires_at_ms: Number.POSITIVE_INFINITY }],
    ["a negative obtained_at_ms", { ...good, obtained_at_ms: -1 }],
    ["an unknown field", { ...good, is_admin: true }],
    ["a mark that is a string", { ...good, refresh_in_flight: "yes" }],
    ["a mark with an extra field", { ...good, refresh_in_flight: { holder: "h", since_ms: 1, x: 1 } }],
    ["a mark with a numeric holder", { ...good, refresh_in_flight: { holder: 42, since_ms: 1 } }],
  ])("not a record: %s", (_, value) => {
    expect(isTokenRecord(value)).toBe(false);
  });

  test.each([
    ["{}", {}],
    ["a time that is text", { holder: "h", since_ms: "soon" }],
    ["an array", ["h", 1]],
    ["a 129-character holder", { holder: "h".repeat(129), since_ms: 1 }],
  ])("not a mark: %s", (_, value) => {
    expect(isRefreshInFlight(value)).toBe(false);
  });
});
