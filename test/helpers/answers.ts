import fc from "fast-check";
import { afterAll, beforeAll, expect } from "vitest";
import { OAuthError, OAuthResponseError, OAuthTransportError } from "../../src/index";
import type { RawAnswer } from "../../src/index";
import { printedForms } from "./secrets";

/**
 * Arbitrary server answers for property-based tests: statuses, headers and bodies an OAuth server, a proxy or a
 * broken deployment may send, and the tokens planted in them, which no error or printed result may show.
 */

/** A token as a server issues it: long and random, so it never appears anywhere by chance. */
export const accessTokenArb = fc.stringMatching(/^[0-9a-f]{24}$/).map((hex) => `AT-${hex}`);
export const refreshTokenArb = fc.stringMatching(/^[0-9a-f]{24}$/).map((hex) => `RT-${hex}`);

/** One generated answer. */
export interface GeneratedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The tokens of this answer: a client sends these in its request, and the server may quote them back. */
  access: string;
  refresh: string;
  /**
   * The tokens the body carries in token fields (`access_token`, `refresh_token`): whatever else happens, they
   * must never be printed. Tokens the body only quotes in free text can be hidden only by a client that sent
   * them.
   */
  planted: string[];
  /** How the body was made, for failure reports. */
  kind: string;
}

interface Body {
  text: string;
  planted: string[];
  kind: string;
}

// Weighted towards answers that pass the status and content-type checks, so most reach the field checks.
const statusArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(200) },
  { weight: 3, arbitrary: fc.constantFrom(201, 204, 301, 302, 307, 400, 401, 403, 404, 429, 500, 502, 503) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
);

const contentTypeArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/problem+json",
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/jsonp",
      "text/html; charset=utf-8",
      "text/plain",
      "text/json",
      "",
      "application/x-www-form-urlencoded",
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const headerArbs = {
  "www-authenticate": fc.constantFrom(
    'Basic realm="token"',
    "Bearer",
    'Bearer error="invalid_token", error_description="revoked"',
    "",
    ", ,garbage",
    "Client",
  ),
  "retry-after": fc.constantFrom(
    "0",
    "1",
    "120",
    "-3",
    "soon",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 01 Jan 2100 00:00:00 GMT",
  ),
  location: fc.constantFrom("/elsewhere", "https://login.example.org/authorize?x=1", "::not a url::"),
  "cache-control": fc.constantFrom("no-store", "max-age=60"),
} as const;

const headersArb = fc
  .record(
    {
      "content-type": contentTypeArb,
      "www-authenticate": fc.option(headerArbs["www-authenticate"], { nil: undefined }),
      "retry-after": fc.option(headerArbs["retry-after"], { nil: undefined }),
      location: fc.option(headerArbs.location, { nil: undefined }),
      "cache-control": fc.option(headerArbs["cache-control"], { nil: undefined }),
    },
    { requiredKeys: ["content-type"] },
  )
  .map(
    (headers) =>
      Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>,
  );

/** Any JSON value, small. */
const jsonValueArb = fc.jsonValue({ maxDepth: 2 });
const oddKeyArb = fc.constantFrom(
  "toJSON",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "then",
  "error",
  "errors",
  "active",
  "success",
);
const extraFieldsArb = fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), oddKeyArb), jsonValueArb, { maxKeys: 4 });

function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq: 3 });
}

function weighted<T>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<T>, rightWeight = 4): fc.Arbitrary<T> {
  return fc.oneof({ weight: rightWeight, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

/**
 * A token answer whose every field is usually right and sometimes wrong, missing or odd, so that both valid
 * answers and every kind of broken one come up often.
 */
const tokenBodyArb = fc
  .record({
    access: accessTokenArb,
    refresh: refreshTokenArb,
    accessToken: weighted(fc.constant<unknown>("secret"), fc.constantFrom<unknown>("", 42, null, undefined), 8),
    refreshToken: weighted(fc.constantFrom<unknown>("secret", undefined), fc.constantFrom<unknown>("", 1, null)),
    tokenType: weighted(
      fc.constantFrom<unknown>("Bearer", "bearer", "BEARER"),
      fc.oneof(fc.constantFrom<unknown>("mac", "DPoP", "", 7, null, undefined), fc.string({ maxLength: 10 })),
    ),
    expiresIn: weighted(
      fc.oneof(fc.constant(undefined), fc.nat(), fc.constant<unknown>("3600")),
      fc.oneof(
        fc.integer({ min: -1e6, max: -1 }),
        fc.double(),
        fc.constantFrom<unknown>("3600.5", "soon", "", "-1", 2 ** 60, 1e308, null, true),
      ),
    ),
    expiresAt: weighted(
      fc.oneof(
        fc.constant(undefined),
        fc
          .date({ min: new Date("1970-01-01"), max: new Date("2200-01-01"), noInvalidDate: true })
          .map((d) => d.toISOString()),
        fc.integer({ min: 0, max: 1e11 }),
      ),
      fc.oneof(
        fc.integer({ min: -1e10, max: -1 }),
        fc.constantFrom<unknown>("1900-01-01", "tomorrow", "1735689600", "", "1e400", 1e306, NaN, null),
      ),
    ),
    scope: weighted(
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      fc.constantFrom<unknown>(3, null, ["read"]),
    ),
    extra: weighted(fc.dictionary(fc.string({ maxLength: 12 }), jsonValueArb, { maxKeys: 3 }), extraFieldsArb),
  })
  .map(({ access, refresh, accessToken, refreshToken, tokenType, expiresIn, expiresAt, scope, extra }) => {
    const body: Record<string, unknown> = { ...extra };
    if (accessToken !== undefined) body.access_token = accessToken === "secret" ? access : accessToken;
    if (refreshToken !== undefined) body.refresh_token = refreshToken === "secret" ? refresh : refreshToken;
    if (tokenType !== undefined) body.token_type = tokenType;
    if (expiresIn !== undefined) body.expires_in = expiresIn;
    if (expiresAt !== undefined) body.expires_at = expiresAt;
    if (scope !== undefined) body.scope = scope;
    const planted = [body.access_token, body.refresh_token].filter((v): v is string => v === access || v === refresh);
    return { text: JSON.stringify(body), planted, access, refresh, kind: "token" };
  });

/** An error answer in RFC 6749, Square or Voucherify shape, which may quote or carry the tokens. */
const errorBodyArb = fc
  .record({
    access: accessTokenArb,
    refresh: refreshTokenArb,
    shape: fc.constantFrom("rfc", "square", "voucherify", "rfc-leaky"),
    code: fc.oneof(
      fc.constantFrom("invalid_grant", "invalid_client", "temporarily_unavailable", "", "UNAUTHORIZED"),
      fc.string({ maxLength: 12 }),
    ),
    description: maybe(fc.oneof(fc.string({ maxLength: 30 }), fc.constant(5))),
    quote: fc.boolean(),
    extra: extraFieldsArb,
  })
  .map(({ access, refresh, shape, code, description, quote, extra }) => {
    const text = quote ? `token ${refresh} or ${access} is no good` : description;
    let body: unknown;
    if (shape === "square") body = { errors: [{ category: "AUTHENTICATION_ERROR", code, detail: text }], ...extra };
    else if (shape === "voucherify")
      body = {
        code: 400,
        key: code,
        message: typeof text === "string" ? text : "error",
        details: quote ? access : "x",
        ...extra,
      };
    else if (shape === "rfc-leaky")
      body = { error: code, error_description: text, access_token: access, refresh_token: refresh, ...extra };
    else
      body = {
        ...extra,
        error: code,
        ...(text === undefined ? {} : { error_description: text }),
        error_uri: quote ? `https://errors.example.org/${refresh}` : undefined,
      };
    return {
      text: JSON.stringify(body),
      planted: shape === "rfc-leaky" ? [access, refresh] : [],
      access,
      refresh,
      kind: `error:${shape}`,
    };
  });

/** An introspection answer (RFC 7662, Voucherify, Square token status), right or wrong. */
const introspectionBodyArb = fc
  .record({
    access: accessTokenArb,
    active: weighted(fc.boolean(), fc.constantFrom<unknown>("true", undefined, 1, null)),
    exp: weighted(fc.option(fc.integer(), { nil: undefined }), fc.constantFrom<unknown>("1798800000", null, 1.5)),
    scopes: maybe(fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.constantFrom("A B", [1]))),
    expiresAt: maybe(fc.constantFrom("2030-01-01T00:00:00Z", "never", 12)),
    repeatToken: fc.boolean(),
    extra: extraFieldsArb,
  })
  .map(({ access, active, exp, scopes, expiresAt, repeatToken, extra }) => {
    const body: Record<string, unknown> = { ...extra };
    if (active !== undefined) body.active = active;
    if (exp !== undefined) body.exp = exp;
    if (scopes !== undefined) body.scopes = scopes;
    if (expiresAt !== undefined) body.expires_at = expiresAt;
    if (repeatToken) body.access_token = access;
    return {
      text: JSON.stringify(body),
      planted: repeatToken ? [access] : [],
      access,
      refresh: undefined,
      kind: "introspection",
    };
  });

const noSecrets = (kind: string) => (text: string) => ({
  text,
  planted: [] as string[],
  access: undefined,
  refresh: undefined,
  kind,
});

/** A body: JSON of every shape above, truncated JSON, HTML, random text, empty. */
const bodyArb: fc.Arbitrary<Body & { access: string | undefined; refresh: string | undefined }> = fc.oneof(
  { weight: 4, arbitrary: tokenBodyArb },
  { weight: 3, arbitrary: errorBodyArb },
  { weight: 2, arbitrary: introspectionBodyArb },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(tokenBodyArb, errorBodyArb, introspectionBodyArb), fc.double({ min: 0, max: 1, noNaN: true }))
      // Cut short, the tokens may still be in the text, but no longer as fields anyone can read.
      .map(([body, at]) => ({
        ...body,
        text: body.text.slice(0, Math.floor(body.text.length * at)),
        planted: [],
        kind: `truncated ${body.kind}`,
      })),
  },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }).map(noSecrets("json")) },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 40 }).map((s) => noSecrets("html")(`<html><body>${s}</body></html>`)),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map(noSecrets("text")) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "[]", "{}", "true", '"x"', "OK").map(noSecrets("tiny")) },
);

export const answerArb: fc.Arbitrary<GeneratedAnswer> = fc
  .record({ status: statusArb, headers: headersArb, body: bodyArb, access: accessTokenArb, refresh: refreshTokenArb })
  .map(({ status, headers, body, access, refresh }) => ({
    status,
    headers,
    body: body.text,
    access: body.access ?? access,
    refresh: body.refresh ?? refresh,
    planted: body.planted,
    kind: body.kind,
  }));

const jsonHeadersArb = fc.constantFrom<Record<string, string>>(
  { "content-type": "application/json" },
  { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
);

/** Mostly well-formed 200 answers with a token body: for the field checks of token answers. */
export const tokenAnswerArb: fc.Arbitrary<GeneratedAnswer> = fc
  .record({ status: fc.constantFrom(200, 200, 200, 201), headers: jsonHeadersArb, body: tokenBodyArb })
  .map(({ status, headers, body }) => ({
    status,
    headers,
    body: body.text,
    access: body.access,
    refresh: body.refresh,
    planted: body.planted,
    kind: body.kind,
  }));

/** Mostly well-formed 200 answers with an introspection body. */
export const introspectionAnswerArb: fc.Arbitrary<GeneratedAnswer> = fc
  .record({ status: fc.constant(200), headers: jsonHeadersArb, body: introspectionBodyArb, refresh: refreshTokenArb })
  .map(({ status, headers, body, refresh }) => ({
    status,
    headers,
    body: body.text,
    access: body.access,
    refresh,
    planted: body.planted,
    kind: body.kind,
  }));

/** Statuses whose answers cannot carry a body. */
const NULL_BODY = new Set([204, 205, 304]);

/** The generated answer as a `Response`, its body whole or in the given chunks. */
export function toResponse(answer: GeneratedAnswer, chunks?: Uint8Array[]): Response {
  const noBody = NULL_BODY.has(answer.status);
  let body: BodyInit | null = noBody || answer.body === "" ? null : answer.body;
  if (!noBody && chunks) {
    body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
  }
  return new Response(body, { status: answer.status, headers: answer.headers });
}

/** The answer as the client hands it to a `process*` function: text on success, parsed JSON or text on failure. */
export function toRawAnswer(answer: GeneratedAnswer): RawAnswer {
  const response = new Response(null, { status: answer.status, headers: answer.headers });
  const text = NULL_BODY.has(answer.status) ? "" : answer.body;
  if (response.ok) return { response, body: text };
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // openapi-fetch hands on the text when it is not JSON.
  }
  return { response, body };
}

const CODES = new Set(["OAUTH_ERROR", "OAUTH_INVALID_RESPONSE", "OAUTH_TRANSPORT"]);

/**
 * Asserts that a failure is one of the library's typed errors, with a stable code and a message, and that no
 * printed form of it shows any of `secrets`.
 */
export function expectTypedError(error: unknown, secrets: readonly string[], allowTransport = false): void {
  const typed =
    error instanceof OAuthError ||
    error instanceof OAuthResponseError ||
    (allowTransport && error instanceof OAuthTransportError);
  if (!typed) throw new Error(`not a typed error: ${String(error)}`, { cause: error });
  const { code, message } = error as { code: string; message: string };
  expect(CODES.has(code)).toBe(true);
  expect(message.length).toBeGreaterThan(0);
  expectNotPrinted(error, secrets);
}

/** Asserts that no printed form of `value` shows any of `secrets`. */
export function expectNotPrinted(value: unknown, secrets: readonly string[]): void {
  for (const text of printedForms(value)) {
    for (const secret of secrets) if (text.includes(secret)) throw new Error(`printed a secret: ${text.slice(0, 500)}`);
  }
}

/** What a fuzz file counts: answers sent through, and how the steps ended. */
export interface FuzzTally {
  fuzzed: number;
  results: number;
  errors: number;
}

/**
 * A fuzz file's tally and its guard against unhandled rejections: registered before its tests, then checked
 * (none may have happened) and printed after them.
 *
 * @param name - the file's name in the printed line.
 * @param resultsAre - what a result is there ("calls resolved", "valid results").
 */
export function fuzzTally(name: string, resultsAre: string): FuzzTally {
  const tally: FuzzTally = { fuzzed: 0, results: 0, errors: 0 };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
  });
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
    console.info(
      `[fuzz] ${name}: ${tally.fuzzed} answers fuzzed (${tally.results} ${resultsAre}, ${tally.errors} typed errors)`,
    );
  });
  return tally;
}
