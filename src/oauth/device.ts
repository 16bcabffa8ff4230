import {
  DeviceCodeGrantRequest,
  deviceAuthorizationAnswer,
  deviceAuthorizationRequest,
  operations,
} from "../../generated/spec";
import { fail, isBrowserUrl, jsonAnswer, type ProcessOptions, type RawAnswer } from "../core/answers";
import { clampDelay, monotonicMs, sleep } from "../core/clock";
import { OAuthClientError, OAuthError, OAuthTransportError } from "../core/errors";
import { hideSecrets } from "../core/redact";
import type { CallOptions } from "../core/request";
import { checkObject, checkPositive, checkRequest, checkValue } from "../core/validate";
import {
  checkedBody,
  contextOf,
  settle,
  type ClientFields,
  type JsonAnswer,
  type MediaType,
  type RequestBody,
} from "./context";
import { checkCallOptions } from "./options";
import { checkScopes, separateGrantRequest, type TokenResponse } from "./token";

/**
 * The device authorization grant (RFC 8628), imported apart from the client: an app that does not use it
 * bundles none of it. {@link requestDeviceAuthorization} gets the codes; {@link pollDeviceAuthorization} polls
 * the token endpoint until the user decides.
 */

/**
 * A device authorization answer (RFC 8628 §3.2), as the spec declares it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 */
export interface DeviceAuthorizationResponse extends JsonAnswer<"deviceAuthorization"> {}

/**
 * Parameters of {@link requestDeviceAuthorization}: the spec's request, without the client's credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 */
export type DeviceAuthorizationParams = Omit<
  RequestBody<"deviceAuthorization", "application/x-www-form-urlencoded">,
  ClientFields
>;

/**
 * What {@link pollDeviceAuthorization} needs of a device authorization: its `device_code`, and its
 * `expires_in` and `interval` when it had them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 */
export type DeviceCodeState = Pick<DeviceAuthorizationResponse, "device_code"> &
  Partial<Pick<DeviceAuthorizationResponse, "expires_in" | "interval">>;

/**
 * Options of {@link pollDeviceAuthorization}: each poll's call options, and a bound of its own.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export interface PollDeviceAuthorizationOptions extends CallOptions {
  /**
   * The longest the polling lasts, in ms, whatever `expires_in` says. Without `expires_in`, the polling stops
   * after this, by default 30 minutes.
   */
  maxWaitMs?: number;
}

/**
 * The user refused the device authorization (`access_denied`): the flow is over.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export class DeviceAccessDeniedError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_DEVICE_ACCESS_DENIED" as const;

  constructor(options: { cause?: unknown } = {}) {
    super("DeviceAccessDeniedError", "the user denied the device authorization (access_denied)", options);
  }
}

/**
 * The device code expired before the user decided: start again with a new device authorization.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export class DeviceCodeExpiredError extends OAuthClientError {
  /** Stable code for this class. */
  readonly code = "OAUTH_DEVICE_CODE_EXPIRED" as const;
  /**
   * `expired_token` when the server said so; `expires_in` when the codes' lifetime ran out between two polls;
   * `max_wait` when the poll's own bound (`maxWaitMs`, or its default) did.
   */
  readonly reason: "expired_token" | "expires_in" | "max_wait";

  constructor(reason: DeviceCodeExpiredError["reason"], options: { cause?: unknown } = {}) {
    const why = reason === "max_wait" ? "the polling reached its time limit" : `the device code expired (${reason})`;
    super("DeviceCodeExpiredError", `${why} before the user approved: start a new device authorization`, options);
    this.reason = reason;
  }
}

const FIELDS = deviceAuthorizationAnswer.properties!;
/**
 * The longest wait between two polls, in ms: the spec's `maximum` of `interval` (an hour). An answer asking for
 * more is refused; `slow_down` and time-outs lengthen the interval up to it, never past it.
 */
const MAX_INTERVAL_MS = (FIELDS.interval!.maximum ?? Infinity) * 1000;
/** RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval, for this poll and every later one. */
const SLOW_DOWN_MS = 5_000;
/** The answer's URLs that are shown to the user, to open in a browser (RFC 8628 §3.3). */
const USER_URLS = [
  "verification_uri",
  "verification_uri_complete",
] as const satisfies readonly (keyof DeviceAuthorizationResponse)[];
/** The bound of a poll whose device authorization gave no lifetime. */
const DEFAULT_MAX_WAIT_MS = 30 * 60_000;
/** When each answer of requestDeviceAuthorization arrived ({@link monotonicMs}): its `expires_in` counts from then. */
const received = new WeakMap<object, number>();

/**
 * Starts a device authorization (RFC 8628 §3.1): checks the request against the spec, sends it to the
 * client's `deviceAuthorization` endpoint with the client's authentication, and validates the answer. Show
 * `user_code` and `verification_uri` (or `verification_uri_complete`) to the user, then call
 * {@link pollDeviceAuthorization}.
 *
 * @param client - a client made by `createOAuthClient`.
 * @param params - the scopes wanted.
 * @param call - the call's signal, headers, time limit, retries and extra parameters.
 * @returns the codes; `device_code` prints as `[REDACTED]`.
 * @throws {TypeError} before any request, when `client` or a field is not one the spec describes.
 * @throws {OAuthError} when the server refused.
 * @throws {OAuthResponseError} when the answer breaks the contract, or could not be used safely (see
 *   {@link processDeviceAuthorizationResponse}): an `interval` above 3600 s or an `expires_in` above 86 400 s, a
 *   verification URI that is not `https:`.
 * @throws {OAuthTransportError} when no complete answer arrived in time.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 */
export async function requestDeviceAuthorization(
  client: object,
  params: DeviceAuthorizationParams = {},
  call?: CallOptions,
): Promise<DeviceAuthorizationResponse> {
  const context = contextOf(client);
  checkCallOptions(call);
  const { body, schema, headers } = checkedBody<RequestBody<"deviceAuthorization", MediaType>>(
    context,
    deviceAuthorizationRequest,
    params,
    call,
    "the device authorization request",
  );
  checkScopes(body, schema, context.allowedScopes);
  const exchange = context.core.exchange("deviceAuthorization", call);
  const result = await context.core.direct.POST(operations.deviceAuthorization.path, {
    ...exchange.init,
    body,
    headers,
  });
  const process = (answer: RawAnswer) =>
    processDeviceAuthorizationResponse(answer, { errorReaders: context.errorReaders });
  const codes = settle(context, process, exchange.answer(result), body);
  received.set(codes, monotonicMs());
  return codes;
}

/**
 * Validates a device authorization answer against the spec and returns it typed; `device_code` prints as
 * `[REDACTED]`. Beyond the types, the answer is refused when it could not be used safely:
 * - `interval` above 3600 seconds or `expires_in` above 86 400 seconds (the spec's `maximum`s): a wait that
 *   long is no real server's, and a timer cannot hold some of them (it would fire at once and poll in a loop);
 * - `verification_uri` or `verification_uri_complete` that is not an `https:` URL (or `http:` on a loopback
 *   host): the user is sent there, and a `javascript:` or `data:` URL is no page to send anyone to.
 *
 * @param answer - the response and its body.
 * @param options - the error shapes to read.
 * @returns the codes, to show to the user and to poll with.
 * @throws {OAuthError} when the server refused the request.
 * @throws {OAuthResponseError} when the answer breaks the contract, naming the field:
 *   `response body "interval" must be …`.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 */
export function processDeviceAuthorizationResponse(
  answer: RawAnswer,
  options?: ProcessOptions,
): DeviceAuthorizationResponse {
  const codes = jsonAnswer(answer, deviceAuthorizationAnswer, options) as DeviceAuthorizationResponse;
  for (const name of USER_URLS) {
    const url = codes[name];
    if (url !== undefined && !isBrowserUrl(url))
      fail(
        answer,
        `response body "${name}" must be an https URL (or http on a loopback host): it is shown to the user`,
      );
  }
  return hideSecrets(codes);
}

/**
 * Polls the token endpoint with the device code until the user approves (RFC 8628 §3.4, §3.5). It waits
 * `interval` seconds (5 when absent) before each poll and never polls sooner: `authorization_pending` polls
 * again, `slow_down` adds 5 seconds to the interval for good, a time-out doubles it; neither makes it longer
 * than 3600 seconds, the most an `interval` may be. It stops when the codes' `expires_in` (counted from their
 * answer, on a monotonic clock) leaves no time for another poll, and in any case after `maxWaitMs`. The device
 * code never appears in an error or a printed result.
 *
 * @param client - the client made by `createOAuthClient` that asked for the codes.
 * @param authorization - the answer of {@link requestDeviceAuthorization}, or its `device_code`, `expires_in`
 *   and `interval`.
 * @param options - the signal that stops the polling, each poll's call options, and `maxWaitMs`.
 * @returns the token answer.
 * @throws {TypeError} before any request, when an argument is malformed: an `interval` above 3600 or an
 *   `expires_in` above 86 400 among them.
 * @throws {DeviceAccessDeniedError} when the user refused.
 * @throws {DeviceCodeExpiredError} when the codes expired, or the polling reached `maxWaitMs`.
 * @throws {OAuthError} when the server refused otherwise (`invalid_grant`, `invalid_client`).
 * @throws {OAuthResponseError} when an answer breaks the contract.
 * @throws {OAuthTransportError} when the server could not be reached.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 */
export async function pollDeviceAuthorization(
  client: object,
  authorization: DeviceCodeState,
  options: PollDeviceAuthorizationOptions = {},
): Promise<TokenResponse> {
  contextOf(client);
  checkObject(authorization, "authorization");
  const { device_code, expires_in, interval } = authorization;
  // Every argument is checked before the first wait, the device code as its grant declares it.
  checkRequest(
    DeviceCodeGrantRequest,
    { grant_type: DeviceCodeGrantRequest.properties?.grant_type?.const, device_code },
    "authorization",
  );
  if (expires_in !== undefined) checkValue(FIELDS.expires_in!, expires_in, "authorization.expires_in");
  if (interval !== undefined) checkValue(FIELDS.interval!, interval, "authorization.interval");
  checkObject(options as unknown, "options");
  const { maxWaitMs, ...call } = options;
  checkCallOptions(call);
  checkPositive(maxWaitMs, "options.maxWaitMs");
  // Elapsed time is read from the monotonic clock: a wall-clock step must not end or stretch the polling.
  const now = monotonicMs();
  const expiresAt = expires_in === undefined ? Infinity : (received.get(authorization) ?? now) + expires_in * 1000;
  const stopAt = now + (maxWaitMs ?? (expires_in === undefined ? DEFAULT_MAX_WAIT_MS : Infinity));
  // Below one second, the server's interval (0 is allowed) would make a busy loop.
  let intervalMs = clampDelay(Math.max(interval ?? (FIELDS.interval!.default as number), 1) * 1000, MAX_INTERVAL_MS);
  for (;;) {
    const next = monotonicMs() + intervalMs;
    if (next > Math.min(expiresAt, stopAt))
      throw new DeviceCodeExpiredError(expiresAt <= stopAt ? "expires_in" : "max_wait");
    await sleep(intervalMs, call.signal);
    try {
      return await separateGrantRequest(client, DeviceCodeGrantRequest, { device_code }, call);
    } catch (error) {
      if (error instanceof OAuthTransportError && error.timedOut)
        intervalMs = clampDelay(intervalMs * 2, MAX_INTERVAL_MS);
      else if (!(error instanceof OAuthError)) throw error;
      else if (error.error === "slow_down") intervalMs = clampDelay(intervalMs + SLOW_DOWN_MS, MAX_INTERVAL_MS);
      else if (error.error === "access_denied") throw new DeviceAccessDeniedError({ cause: error });
      else if (error.error === "expired_token") throw new DeviceCodeExpiredError("expired_token", { cause: error });
      else if (error.error !== "authorization_pending") throw error;
    }
  }
}
