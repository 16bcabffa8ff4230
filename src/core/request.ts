import createClient, { type Client } from "openapi-fetch";
import type { paths } from "../../generated/schema";
import { operations, type OperationNode } from "../../generated/spec";
import { redirectError, type RawAnswer } from "./answers";
import type { ClientAuthentication } from "./auth";
import { OAuthError, OAuthResponseError, OAuthTransportError } from "./errors";
import { redactDeep, secretsOfFields, secretsOfHeaders } from "./redact";
import { argumentError } from "./validate";
import {
  backoffMs,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  errorCode,
  neverSent,
  readBody,
  resolveRetry,
  RETRY_STATUSES,
  retryAfterMs,
  type RetryOptions,
} from "./transport";
import { MAX_TIMER_MS, monotonicMs, sleep, startTimer } from "./clock";

/**
 * The one request path: every call goes through openapi-fetch typed by the spec's `paths` and one transport
 * (endpoint overrides and client authentication by operation, body encoding, time limit, retries, bounded
 * reads, the redirect policy). The client's own steps name their operation through an {@link Exchange};
 * `client.api`'s calls are found by path, by one middleware.
 */

/**
 * The spec's operations, by operationId.
 *
 * @see https://spec.openapis.org/oas/v3.1.0#operation-object
 */
export type OperationId = keyof typeof operations;
/**
 * The names the `endpoints` option takes (the spec's `x-endpoint`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export type EndpointName = {
  [K in OperationId]: (typeof operations)[K] extends { endpoint: infer E extends string } ? E : never;
}[OperationId];

/**
 * Where an operation is sent: a path appended to the base URL (`/OAuth/Token`), an absolute URL, or
 * `{ unavailable }` for an endpoint the server does not offer: a call then fails at once with a `TypeError`
 * that says why, instead of going to a path the server never advertised.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export type Endpoint = string | { unavailable: string };

/**
 * Per-call options.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/API/AbortSignal
 */
export interface CallOptions {
  /** Aborts the request and its retries; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Extra headers for this call only. */
  headers?: Record<string, string>;
  /** Time limit of each attempt of this call, in ms; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Retries of this call; overrides the client's `retry` as a whole. */
  retry?: RetryOptions | false;
  /**
   * Body parameters a server needs that the spec does not list, sent as given. They never replace a field of
   * the request, a field the spec declares, or client authentication.
   */
  extraParams?: Record<string, string>;
  /**
   * A DPoP key (RFC 9449, from `createDpopKey`): each attempt of a token request carries a fresh proof of it,
   * and the tokens issued are bound to it (`token_type` `DPoP`, accepted only then).
   */
  dpop?: DpopKey;
}

/**
 * A DPoP key (RFC 9449), made by `createDpopKey`: it signs a proof for each attempt of a call made with it and
 * keeps the nonces servers give it. Its private key never leaves it: it prints and serializes as its public
 * parts.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4
 */
export interface DpopKey {
  /** The JWS algorithm of its proofs: `ES256`, `EdDSA`, `RS256` or `PS256`. */
  readonly alg: string;
  /** Its public key, as each proof's header carries it. */
  readonly jwk: JsonWebKey;
  /**
   * Its JWK thumbprint (RFC 7638, SHA-256, base64url): what a DPoP-bound token's `cnf.jkt` names, and what the
   * token manager keeps with a token set bound to it.
   */
  readonly jkt: string;
  /** The token types a token request made with it accepts: those given (by default `bearer`), and `DPoP`. */
  tokenTypes(allowed: readonly string[] | undefined): readonly string[];
  /** Adds a fresh proof, with the server's last nonce, to one attempt of a request. */
  apply(request: { headers: Headers; method: string; url: string }): Promise<void>;
  /**
   * Reads a server's answer, any answer, and keeps its `DPoP-Nonce` if well formed, for the origin of `url`: the
   * URL the request was sent to. Resolves to whether the request was refused for want of that nonce
   * (`use_dpop_nonce`), and is worth sending once more.
   */
  answered(answer: { response: Response; url: string }): Promise<boolean>;
}

/** What the request core is made from: the transport half of the client's options. */
export interface RequestCoreOptions {
  /** The server's base URL, without a trailing slash. */
  baseUrl: string;
  /** Per-endpoint path (`/OAuth/Token`) or absolute URL, by the spec's endpoint names, or why there is none. */
  endpoints?: Partial<Record<string, Endpoint>>;
  fetch?: typeof globalThis.fetch;
  headers?: Record<string, string>;
  timeoutMs?: number;
  retry?: RetryOptions | false;
  maxResponseBytes?: number;
  /** Follow redirects; only for requests that carry no credential (discovery). Default `false`. */
  followRedirects?: boolean;
  /** The client's own secrets (its secret, its credential headers), to keep out of error answers handed on. */
  secrets?: readonly string[];
  /** The client authentication of an operation the spec has the client authenticate at. */
  authentication?: (operationId: OperationId) => ClientAuthentication | undefined;
}

/** The transport policy of one call. */
interface Policy {
  timeoutMs: number;
  retry: Readonly<Required<RetryOptions>> | undefined;
  /** Safe to send again after a failure; by default the operation's `x-idempotent`. */
  idempotent: boolean | undefined;
  /**
   * Where an answer's body goes, read, with the secrets its request carried; a success is then handed on
   * unread. Without it, a readable copy is handed on.
   */
  keep?: (text: string, secrets: string[]) => void;
  /** Signs each attempt. */
  dpop?: DpopKey | undefined;
}

/** Which operation a request is, and its path parameters. */
interface Route {
  id: OperationId;
  pathParams: Record<string, unknown> | undefined;
}

/**
 * The options {@link Exchange.init} hands to openapi-fetch.
 *
 * @see https://openapi-ts.dev/openapi-fetch/api#fetch-options
 */
export type ExchangeInit = {
  /** Sends the call: its operation's endpoint and authentication, its time limit and retries. */
  fetch: (request: Request) => Promise<Response>;
  /** The caller's signal. */
  signal?: AbortSignal;
  /** The body is read by the call's fetch, within the time limit and the body limit. */
  parseAs: "stream";
};

/**
 * One call of an operation through {@link RequestCore.direct}: the options to call it with, and its answer.
 *
 * @see {@link RequestCore.exchange}
 */
export interface Exchange {
  /** Spread into openapi-fetch's options: this call's fetch (its operation, policy and signal) and stream parsing. */
  readonly init: ExchangeInit;
  /** The answer of the call, once openapi-fetch has returned. */
  answer(result: { response: Response; error?: unknown }): RawAnswer;
}

/**
 * The request core a client is built on.
 *
 * @see https://openapi-ts.dev/openapi-fetch/
 */
export interface RequestCore {
  /**
   * openapi-fetch typed by the spec's `paths`, with the client's base URL, endpoints, authentication and
   * transport policy; a middleware finds each call's operation by its path.
   */
  readonly api: Client<paths>;
  /** The same client without the middleware, for calls made with an {@link Exchange}, which names its operation. */
  readonly direct: Client<paths>;
  /**
   * Starts a call of an operation.
   *
   * @param id - the operation.
   * @param call - the call's signal, time limit and retries.
   * @param options - whether it is safe to repeat (default: the operation's `x-idempotent`), and its path
   *   parameters, for an endpoint override that holds them.
   */
  exchange(
    id: OperationId,
    call: CallOptions | undefined,
    options?: { idempotent?: boolean; pathParams?: Record<string, unknown> },
  ): Exchange;
}

const FORM = "application/x-www-form-urlencoded";
/** Statuses whose answers carry no body, so a copy of such an answer must be made without one. */
const NULL_BODY_STATUSES: readonly number[] = [101, 103, 204, 205, 304];
/**
 * Whether the global fetch is Node's own (undici). It copies a request's body before sending, to be able to
 * send it again after a redirect, in every redirect mode but "error": refusing redirects with "error" saves
 * that copy, about a tenth of a token request (`npm run bench`). Other fetches get "manual", which hands the
 * 3xx back, so its status and target reach the error message.
 */
const NODE_FETCH =
  typeof (globalThis as { process?: { versions?: { undici?: unknown } } }).process?.versions?.undici === "string";
const byPath = new Map<string, OperationId>();
for (const id of Object.keys(operations) as OperationId[])
  byPath.set(`${operations[id].method} ${operations[id].path}`, id);

/** A body as fields until the request is sent, so client authentication can add its own. */
class PendingBody {
  constructor(public fields: Record<string, unknown>) {}
}

/**
 * What openapi-fetch builds for each call in place of a `Request`: the URL and init, handed to `fetch(url,
 * init)` as they are. A real `Request` here would be built twice, once by openapi-fetch and again inside
 * `fetch`; this is most of openapi-fetch's cost over a plain `fetch` call.
 */
class PendingRequest {
  readonly method: string | undefined;
  /** Set by the middleware of {@link RequestCore.api}. */
  route: Route | undefined;
  constructor(
    public url: string,
    readonly init: RequestInit & { headers: Headers; body?: unknown },
  ) {
    this.method = init.method;
  }
}

/** Node's fetch refused a redirect (redirect: "error"): its cause says so, with no status or location. */
function isRefusedRedirect(error: unknown): boolean {
  return error instanceof TypeError && error.cause instanceof Error && error.cause.message === "unexpected redirect";
}

/** The values of a request's secret fields, as sent and form-encoded, and of its secret headers (a DPoP proof). */
function requestSecrets(request: PendingRequest): string[] {
  const body = request.init.body;
  return [
    ...(body instanceof PendingBody ? secretsOfFields(body.fields) : []),
    ...secretsOfHeaders(request.init.headers),
  ];
}

function serialize(body: unknown, headers: Headers): BodyInit | undefined {
  if (!(body instanceof PendingBody)) return body as BodyInit | undefined;
  const { fields } = body;
  if (!headers.get("content-type")?.startsWith(FORM)) return JSON.stringify(fields);
  const params = new URLSearchParams();
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  return params.toString();
}

/** One attempt of a request: what is sent, within what limit, through which fetch. */
interface Attempt {
  body: BodyInit | undefined;
  limitMs: number;
  policy: Policy;
  operation: OperationNode | undefined;
  fetchImpl: typeof fetch | undefined;
  maxBytes: number;
  /** The client's own secrets, masked in a failure's copy of the answer. */
  secrets: readonly string[] | undefined;
}

/**
 * One attempt: sends the request and reads the whole answer within `limitMs`. A fetch that ignores its
 * signal cannot hang the call: the time-out or the caller's abort settles it anyway.
 */
async function attempt(
  request: PendingRequest,
  { body, limitMs, policy, operation, fetchImpl, maxBytes, secrets }: Attempt,
): Promise<Response> {
  const signal = request.init.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;
  const controller = new AbortController();
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward);
  let timedOut = false;
  const expire = () => {
    timedOut = true;
    controller.abort();
  };
  // A time limit longer than a timer can hold is no time limit.
  const timer = limitMs < MAX_TIMER_MS ? startTimer(expire, limitMs) : undefined;
  let answered = false;
  const exchange = async (): Promise<Response> => {
    const response = await (fetchImpl ?? globalThis.fetch)(request.url, {
      ...request.init,
      body,
      signal: controller.signal,
    });
    answered = true;
    if (response.type === "opaqueredirect") return response;
    const text = await readBody(response, maxBytes, controller.signal, fetchImpl === undefined);
    // The secrets the request carried as sent, which the answer may quote back: in a success's body, or in a
    // failure's challenge header.
    const sent = requestSecrets(request);
    policy.keep?.(text, sent);
    if (response.ok && policy.keep) return response;
    // openapi-fetch reads the body of what it is handed: a copy of what was read, within the limit, and
    // without the secrets of the request that a failure may quote back.
    const { status, statusText, headers, url } = response;
    const shown = response.ok ? text : (redactDeep(text, [...(secrets ?? []), ...sent]) as string);
    const copy = new Response(shown === "" || NULL_BODY_STATUSES.includes(status) ? null : shown, {
      status,
      statusText,
      headers,
    });
    // A constructed Response has no URL; errors and redirect messages use it.
    if (url) Object.defineProperty(copy, "url", { value: url });
    return copy;
  };
  try {
    // The runtime's fetch ends on an abort, and so do its body reads. A custom fetch may not: the call settles
    // on the exchange or on the abort, whichever comes first.
    if (fetchImpl === undefined) return await exchange();
    return await new Promise<Response>((resolve, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason));
      exchange().then(resolve, reject);
    });
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    const where = `${operation?.endpoint ?? request.method ?? "POST"} request to ${new URL(request.url).host}`;
    if (timedOut) throw new OAuthTransportError(`${where} timed out after ${limitMs} ms`, { timedOut: true });
    if (cause instanceof OAuthResponseError || cause instanceof OAuthError) throw cause;
    if (isRefusedRedirect(cause)) throw redirectError("", 0, undefined, `${where}: `);
    const code = errorCode(cause);
    const what = answered ? "the answer broke off" : "no answer";
    throw new OAuthTransportError(`${where} failed: ${what}${code ? ` (${code})` : ""}`, {
      cause,
      notSent: !answered && neverSent(cause),
    });
  } finally {
    timer?.cancel();
    signal?.removeEventListener("abort", forward);
  }
}

/**
 * Makes the request core of a client.
 *
 * @param options - base URL, endpoint overrides, fetch, headers, time limit, retries, body limit, and the
 *   client authentication of each operation.
 * @returns the typed openapi-fetch client and the helpers that read its answers.
 */
export function createRequestCore(options: RequestCoreOptions): RequestCore {
  const { baseUrl, endpoints = {}, authentication } = options;
  const fetchImpl = options.fetch;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const defaults: Policy = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: resolveRetry(options.retry),
    idempotent: undefined,
  };

  /**
   * Points a request at its operation's endpoint and adds the client's authentication for it, and a DPoP proof;
   * once per attempt, as assertions and proofs are single-use.
   */
  async function prepare(request: PendingRequest, route: Route, dpop: DpopKey | undefined): Promise<void> {
    const operation: OperationNode = operations[route.id];
    const override = operation.endpoint === undefined ? undefined : endpoints[operation.endpoint];
    if (typeof override === "object") throw argumentError(`${operation.endpoint}: ${override.unavailable}`);
    if (override !== undefined) {
      const target = override.startsWith("/") ? `${baseUrl}${override}` : override;
      const path = route.pathParams ?? {};
      request.url = target.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(path[name])));
    }
    const { body, headers } = request.init;
    // The strategy writes its fields apart, so the caller's body object is never changed, and is copied only
    // when there are fields to add (not for HTTP Basic).
    const added: Record<string, unknown> = {};
    const target = {
      headers,
      fields: body instanceof PendingBody ? added : undefined,
      url: request.url,
      method: request.method!,
    };
    await dpop?.apply(target);
    await authentication?.(route.id)?.apply(target);
    if (body instanceof PendingBody && Object.keys(added).length > 0) body.fields = { ...body.fields, ...added };
  }

  /**
   * Sends a request, retrying as {@link RetryOptions} says: idempotent requests on 429, 503 and connection
   * failures; the others only when the request provably never left.
   */
  async function transport(request: PendingRequest, policy: Policy, route: Route | undefined): Promise<Response> {
    const operation: OperationNode | undefined = route && operations[route.id];
    const idempotent = policy.idempotent ?? operation?.idempotent === true;
    const { retry, timeoutMs } = policy;
    const started = monotonicMs();
    let limitMs = timeoutMs;
    let renewed = 0;
    for (let n = 1; ; n++) {
      if (route) await prepare(request, route, policy.dpop);
      const body = serialize(request.init.body, request.init.headers);
      // Where this attempt goes, as sent: a DPoP nonce in its answer belongs to that origin.
      const url = request.url;
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await attempt(request, {
          body,
          limitMs,
          policy,
          operation,
          fetchImpl,
          maxBytes,
          secrets: options.secrets,
        });
      } catch (error) {
        failure = error;
      }
      // Every answer may hand a new nonce (RFC 9449 §8.2), a retry's and a nonce retry's too: each is learned.
      const wantsNonce = response !== undefined && (await policy.dpop?.answered({ response, url })) === true;
      const retryable =
        response !== undefined
          ? idempotent && RETRY_STATUSES.includes(response.status)
          : failure instanceof OAuthTransportError && !failure.timedOut && (idempotent || failure.notSent);
      if (retry !== undefined && retryable && n < retry.maxAttempts) {
        const wait = (response && retryAfterMs(response)) ?? backoffMs(retry, n);
        const remaining = retry.maxElapsedMs - (monotonicMs() - started) - wait;
        if (remaining > 0) {
          await sleep(wait, request.init.signal ?? undefined);
          limitMs = Math.min(timeoutMs, remaining);
          continue;
        }
      }
      if (response === undefined) throw failure;
      // Unless the server wants its nonce in the DPoP proof, and gave it (RFC 9449 §8): then sent again, once.
      if (!wantsNonce || renewed++) return response;
    }
  }

  const clientOptions = {
    baseUrl,
    Request: PendingRequest as unknown as typeof Request,
    bodySerializer: (fields: unknown) => new PendingBody(fields as Record<string, unknown>),
    headers: { Accept: "application/json", ...options.headers },
    // Token requests carry credentials: a redirect is never followed; it is refused, or handed back as it is.
    redirect: options.followRedirects ? "follow" : fetchImpl === undefined && NODE_FETCH ? "error" : "manual",
  } as const;
  const api = createClient<paths>({
    ...clientOptions,
    fetch: (request) =>
      transport(request as unknown as PendingRequest, defaults, (request as unknown as PendingRequest).route),
  });
  api.use({
    onRequest({ request, schemaPath, params }) {
      const id = byPath.get(`${request.method} ${schemaPath}`);
      if (id !== undefined) (request as unknown as PendingRequest).route = { id, pathParams: params.path };
      return undefined;
    },
  });
  const direct = createClient<paths>({
    ...clientOptions,
    fetch: (request) => transport(request as unknown as PendingRequest, defaults, undefined),
  });

  return {
    api,
    direct,
    exchange(id, call, exchangeOptions) {
      let text: string | undefined;
      let secrets: string[] | undefined;
      const policy: Policy = {
        timeoutMs: call?.timeoutMs ?? defaults.timeoutMs,
        retry: call?.retry === undefined ? defaults.retry : resolveRetry(call.retry),
        idempotent: exchangeOptions?.idempotent,
        dpop: call?.dpop,
        keep: (read, sent) => {
          text = read;
          secrets = sent;
        },
      };
      const route: Route = { id, pathParams: exchangeOptions?.pathParams };
      return {
        init: {
          fetch: (request) => transport(request as unknown as PendingRequest, policy, route),
          signal: call?.signal,
          parseAs: "stream",
        },
        answer: ({ response, error }) => ({ response, body: response.ok ? text : error, secrets }),
      };
    },
  };
}
