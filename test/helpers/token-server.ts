import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A failure the server can be told to answer with, for the next requests. */
export type Failure =
  /** 400 `invalid_grant`, as for an expired refresh token. */
  | "invalid_grant"
  /** 400 with an empty body, as some servers answer a revoked, rotated-out or unknown refresh token. */
  | "bodiless_400"
  /** 401 with an empty body and no challenge: the client's authentication failed. */
  | "bodiless_401"
  /** 403 with an empty body: the client is not allowed. */
  | "bodiless_403"
  /** 400 `invalid_request` saying the token was revoked, as a server with its own codes answers. */
  | "invalid_request_revoked"
  /** 500 `server_error`. */
  | "server_error"
  /** 503 `temporarily_unavailable`; for a revocation, the token must be assumed still valid. */
  | "unavailable"
  /** 502 with an HTML page, as a proxy sends. */
  | "bad_gateway_html"
  /** The connection is destroyed without an answer. */
  | "drop"
  /** The connection is reset (TCP RST) after the request was read, without an answer. */
  | "reset"
  /** No answer at all until the client gives up or the server closes: not even headers. */
  | "stall"
  /** Status 200 and the start of a JSON body, then nothing more until the client gives up. Not processed. */
  | "stall_body"
  /** The request is processed as usual and the answer trickles out in small, delayed chunks. */
  | "slow_body"
  /** 429 `slow_down`, with `Retry-After` when {@link TokenServer.retryAfter} is set. */
  | "too_many_requests"
  /** 200 with an HTML body of 2 MiB, streamed without a length. Not processed. */
  | "huge_body"
  /** The request is processed (a refresh token rotates), then the connection is destroyed before the answer. */
  | "drop_after_processing";

/** One request the server received. Holds tokens: for assertions, never for logs. */
export interface ReceivedRequest {
  path: string;
  grant_type?: string;
  /** The refresh token sent with a refresh_token grant. */
  refresh_token?: string;
  scope?: string;
  /** Revocation: RFC 7009 `token` and `token_type_hint`, or Square's and Voucherify's `access_token`. */
  token?: string;
  token_type_hint?: string;
  access_token?: string;
  /**
   * The status answered; `"dropped"` for a destroyed or reset connection, `"stalled"` for an answer never
   * finished; `undefined` while pending.
   */
  status?: number | "dropped" | "stalled";
  /** When it arrived, by the server's wall clock (epoch ms). */
  at?: number;
  /** When its answer was sent, by the server's wall clock (epoch ms); `undefined` when none was. */
  answeredAt?: number;
  /** The client's `X-Replica` header, when it sent one: which process sent the request. */
  replica?: string;
  /** refresh_token grant: the family (authorization) of the refresh token sent, when the server knows it. */
  family?: number;
  /** refresh_token grant: whether the refresh token sent had been rotated out already (a replay). */
  reused?: boolean;
  /** The index in {@link TokenServer.issued} of the token set the answer carried, when it carried one. */
  issued?: number;
}

/** A token set the server issued. */
export interface IssuedTokens {
  access_token: string;
  refresh_token?: string;
  /** When it was issued, by the server's wall clock (epoch ms). */
  at?: number;
  /** The family (authorization) its refresh token belongs to, when it has one. */
  family?: number;
  /** The refresh token spent to obtain it, for a refresh. */
  from?: string;
}

/** A running {@link startTokenServer}. */
export interface TokenServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  clientId: string;
  clientSecret: string;
  /** The lifetime fields of each token answer. Default `{ expires_in: 3600 }`. */
  lifetime: () => Record<string, unknown>;
  /** Whether a refresh answer carries a new refresh token (the old one is then refused). Default `true`. */
  rotateRefreshTokens: boolean;
  /**
   * Whether a rotated-out refresh token presented again revokes its whole family, every refresh token descended
   * from the same authorization (RFC 9700 §4.14.2). Default `false`.
   */
  revokeFamilyOnReuse: boolean;
  /** Delay before each answer, in ms. Default 0. */
  delayMs: number;
  /** `Retry-After` sent with `too_many_requests` and `unavailable` answers; none when `undefined` (default). */
  retryAfter: string | undefined;
  /** Delay between the chunks of a `slow_body` answer, in ms. Default 20. */
  slowBodyChunkMs: number;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** Every token set issued, in order. */
  readonly issued: IssuedTokens[];
  /** Refresh tokens presented after they were rotated out. */
  readonly replayedRefreshTokens: string[];
  /** Tokens revoked. */
  readonly revoked: string[];
  /** How many requests reached the token endpoint. */
  tokenRequests(): number;
  /** Answers the next `times` requests (token or revoke) with `failure`. */
  failNext(failure: Failure, times?: number): void;
  /** Drops the failures queued and not yet served. */
  clearFailures(): void;
  /** How many failures were served so far, by kind. */
  readonly injected: Partial<Record<Failure, number>>;
  /** Stops accepting connections (and ends the open ones), so that connecting is refused; state is kept. */
  stopListening(): Promise<void>;
  /** Accepts connections again, on the same port. */
  startListening(): Promise<void>;
  /** Holds every answer until {@link TokenServer.release}. */
  hold(): void;
  release(): void;
  /** Resolves once `count` requests in total have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Issues a single-use authorization code, as the authorization endpoint would. */
  issueCode(): string;
  /** Whether a refresh token can still be used. */
  isLive(refreshToken: string): boolean;
  /** The family (authorization) a refresh token belongs to; `undefined` for one the server never issued. */
  familyOf(refreshToken: string): number | undefined;
  /** Families revoked whole because one of their rotated-out refresh tokens was presented again. */
  readonly revokedFamilies: number[];
  /**
   * Called with each request once it is recorded, before it is answered; the answer waits for what it returns.
   * Default `undefined`.
   */
  onRequest: ((request: ReceivedRequest) => void | Promise<void>) | undefined;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const TOKEN_PATH = "/oauth2/token";
const REVOKE_PATH = "/oauth2/revoke";

function secret(prefix: string, n: number): string {
  return `${prefix}-${n}-${randomBytes(8).toString("hex")}`;
}

async function readBody(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if ((req.headers["content-type"] ?? "").startsWith("application/json")) {
    const parsed = JSON.parse(text || "{}") as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "Cache-Control": "no-store",
    ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    ...headers,
  });
  res.end(text);
}

/**
 * Starts a small OAuth 2.0 authorization server on 127.0.0.1 and a free port: token endpoint with the
 * authorization_code, refresh_token (rotating, refusing rotated-out tokens with `invalid_grant`) and
 * client_credentials grants, HTTP Basic or body client authentication, and an RFC 7009 revocation endpoint
 * that also accepts Square's and Voucherify's `access_token`. It counts requests and can be told to fail,
 * drop connections, delay or hold its answers.
 */
export async function startTokenServer(
  options: { clientId?: string; clientSecret?: string } = {},
): Promise<TokenServer> {
  const clientId = options.clientId ?? "client-id";
  const clientSecret = options.clientSecret ?? "client-secret";
  const requests: ReceivedRequest[] = [];
  const issued: IssuedTokens[] = [];
  const replayedRefreshTokens: string[] = [];
  const revoked: string[] = [];
  const revokedFamilies: number[] = [];
  const liveRefreshTokens = new Set<string>();
  const rotatedOut = new Set<string>();
  /** The authorization each refresh token descends from. */
  const family = new Map<string, number>();
  let families = 0;
  const codes = new Set<string>();
  const failures: Failure[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const injected: Partial<Record<Failure, number>> = {};
  /** Ends every stalled answer, when the server closes. */
  const stalls = new Set<() => void>();
  let held: Promise<void> | undefined;
  let releaseHeld: (() => void) | undefined;
  let counter = 0;

  function authenticated(req: IncomingMessage, body: Record<string, string>): boolean {
    const header = req.headers.authorization;
    if (header?.startsWith("Basic ")) {
      const [id, pass] = Buffer.from(header.slice(6), "base64")
        .toString("utf8")
        .split(":")
        .map((p) => decodeURIComponent(p.replace(/\+/g, " ")));
      return id === clientId && pass === clientSecret;
    }
    if (header === `Client ${clientSecret}`) return true; // Square's revocation
    return body.client_id === clientId && body.client_secret === clientSecret;
  }

  function issue(withRefreshToken: boolean, scope: string | undefined, from?: string): Record<string, unknown> {
    counter += 1;
    const tokens: IssuedTokens = { access_token: secret("at", counter) };
    const known: Omit<IssuedTokens, "access_token"> = { at: Date.now() };
    if (withRefreshToken) {
      tokens.refresh_token = secret("rt", counter);
      liveRefreshTokens.add(tokens.refresh_token);
      family.set(tokens.refresh_token, (from === undefined ? undefined : family.get(from)) ?? ++families);
      known.family = family.get(tokens.refresh_token);
      if (from !== undefined) known.from = from;
    }
    issued.push({ ...tokens, ...known });
    return { ...tokens, token_type: "Bearer", ...server.lifetime(), ...(scope ? { scope } : {}) };
  }

  function token(body: Record<string, string>, record: ReceivedRequest): [number, unknown] {
    const invalidGrant: [number, unknown] = [
      400,
      { error: "invalid_grant", error_description: "The grant is invalid or expired." },
    ];
    switch (body.grant_type) {
      case "client_credentials":
        record.issued = issued.length;
        return [200, issue(false, body.scope)];
      case "authorization_code":
        if (!body.code || !codes.delete(body.code)) return invalidGrant;
        record.issued = issued.length;
        return [200, issue(true, body.scope)];
      case "refresh_token": {
        const sent = body.refresh_token ?? "";
        if (!liveRefreshTokens.has(sent)) return invalidGrant;
        record.issued = issued.length;
        if (!server.rotateRefreshTokens) return [200, issue(false, body.scope)];
        liveRefreshTokens.delete(sent);
        rotatedOut.add(sent);
        return [200, issue(true, body.scope, sent)];
      }
      default:
        return [400, { error: "unsupported_grant_type" }];
    }
  }

  function revoke(body: Record<string, string>): [number, unknown] {
    const value = body.token ?? body.access_token;
    if (!value) return [400, { error: "invalid_request" }];
    revoked.push(value);
    liveRefreshTokens.delete(value);
    return [200, undefined];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const body = await readBody(req);
    const record: ReceivedRequest = { path, at: Date.now() };
    const replica = req.headers["x-replica"];
    if (typeof replica === "string") record.replica = replica;
    for (const field of ["grant_type", "scope", "token", "token_type_hint", "access_token"] as const) {
      if (body[field] !== undefined) record[field] = body[field];
    }
    if (path === TOKEN_PATH && body.grant_type === "refresh_token") {
      record.refresh_token = body.refresh_token ?? "";
      const sentFamily = family.get(record.refresh_token);
      if (sentFamily !== undefined) record.family = sentFamily;
      record.reused = rotatedOut.has(record.refresh_token);
      // Recorded whatever the answer, so a test sees every replay, even one answered with a failure.
      if (rotatedOut.has(record.refresh_token)) {
        replayedRefreshTokens.push(record.refresh_token);
        if (server.revokeFamilyOnReuse) {
          const revokedFamily = family.get(record.refresh_token);
          if (revokedFamily !== undefined && !revokedFamilies.includes(revokedFamily))
            revokedFamilies.push(revokedFamily);
          for (const live of [...liveRefreshTokens])
            if (family.get(live) === revokedFamily) liveRefreshTokens.delete(live);
        }
      }
    }
    requests.push(record);
    for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    if (server.onRequest !== undefined) await server.onRequest(record);
    if (server.delayMs > 0) await new Promise((r) => setTimeout(r, server.delayMs));
    if (held) await held;
    const failure = failures.shift();
    if (failure !== undefined) injected[failure] = (injected[failure] ?? 0) + 1;
    if (failure === "drop" || failure === "reset") {
      record.status = "dropped";
      if (failure === "reset") req.socket.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    if (failure === "stall" || failure === "stall_body") {
      record.status = "stalled";
      if (failure === "stall_body") {
        res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
        res.write('{"access_token":"');
      }
      await new Promise<void>((resolve) => stalls.add(resolve));
      req.socket.destroy();
      return;
    }
    if (failure === "huge_body") {
      record.status = 200;
      res.writeHead(200, { "Content-Type": "text/html" });
      const chunk = `<p>${"x".repeat(64 * 1024 - 7)}</p>`;
      for (let i = 0; i < 32 && !res.destroyed; i++) {
        if (!res.write(chunk)) {
          // Whichever comes first, drop both listeners: a "close" left behind per chunk piles up.
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done).off("close", done);
              resolve();
            };
            res.on("drain", done).on("close", done);
          });
        }
      }
      res.end();
      return;
    }
    let status: number;
    let answer: unknown;
    let headers: Record<string, string> = {};
    if (failure === "bodiless_400" || failure === "bodiless_401" || failure === "bodiless_403") {
      record.status = Number(failure.slice(-3));
      res.writeHead(record.status);
      res.end();
      return;
    }
    if (failure === "invalid_request_revoked")
      [status, answer] = [400, { error: "invalid_request", error_description: "token revoked" }];
    else if (failure === "invalid_grant")
      [status, answer] = [400, { error: "invalid_grant", error_description: "The refresh token expired." }];
    else if (failure === "server_error") [status, answer] = [500, { error: "server_error" }];
    else if (failure === "unavailable") [status, answer] = [503, { error: "temporarily_unavailable" }];
    else if (failure === "too_many_requests") [status, answer] = [429, { error: "slow_down" }];
    else if (failure === "bad_gateway_html") {
      record.status = 502;
      res.writeHead(502, { "Content-Type": "text/html" });
      res.end("<html><body>Bad Gateway</body></html>");
      return;
    } else if (req.method !== "POST" || (path !== TOKEN_PATH && path !== REVOKE_PATH))
      [status, answer] = [404, { error: "not_found" }];
    else if (!authenticated(req, body)) {
      [status, answer] = [401, { error: "invalid_client" }];
      headers = { "WWW-Authenticate": 'Basic realm="token"' };
    } else if (path === TOKEN_PATH) [status, answer] = token(body, record);
    else [status, answer] = revoke(body);
    if ((failure === "unavailable" || failure === "too_many_requests") && server.retryAfter !== undefined)
      headers["Retry-After"] = server.retryAfter;
    if (failure === "drop_after_processing") {
      record.status = "dropped";
      req.socket.destroy();
      return;
    }
    record.status = status;
    record.answeredAt = Date.now();
    if (failure === "slow_body") await sendSlowly(res, status, answer, headers);
    else send(res, status, answer, headers);
  }

  async function sendSlowly(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<void> {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "Cache-Control": "no-store", "Content-Type": "application/json", ...headers });
    for (let i = 0; i < text.length && !res.destroyed; i += 16) {
      res.write(text.slice(i, i + 16));
      await new Promise((resolve) => setTimeout(resolve, server.slowBodyChunkMs));
    }
    res.end();
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: "server_error" });
    });
  });
  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, "127.0.0.1", () => {
        http.off("error", reject);
        resolve();
      });
    });
  }
  await listen(0);
  const { port } = http.address() as AddressInfo;

  const server: TokenServer = {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    lifetime: () => ({ expires_in: 3600 }),
    rotateRefreshTokens: true,
    revokeFamilyOnReuse: false,
    delayMs: 0,
    retryAfter: undefined,
    slowBodyChunkMs: 20,
    requests,
    issued,
    replayedRefreshTokens,
    revoked,
    revokedFamilies,
    onRequest: undefined,
    tokenRequests: () => requests.filter((r) => r.path === TOKEN_PATH).length,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push(failure);
    },
    clearFailures() {
      failures.length = 0;
    },
    injected,
    async stopListening() {
      if (!http.listening) return;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      for (const end of stalls) end();
      stalls.clear();
      http.closeAllConnections();
      await closed;
    },
    async startListening() {
      if (!http.listening) await listen(port);
    },
    hold() {
      if (held) return;
      held = new Promise((resolve) => (releaseHeld = resolve));
    },
    release() {
      releaseHeld?.();
      held = undefined;
      releaseHeld = undefined;
    },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    issueCode() {
      const code = randomBytes(12).toString("hex");
      codes.add(code);
      return code;
    },
    isLive: (refreshToken) => liveRefreshTokens.has(refreshToken),
    familyOf: (refreshToken) => family.get(refreshToken),
    async close() {
      server.release();
      for (const end of stalls) end();
      stalls.clear();
      if (!http.listening) return;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
  return server;
}
