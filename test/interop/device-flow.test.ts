import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  createOAuthClient,
  DeviceAccessDeniedError,
  DeviceCodeExpiredError,
  discover,
  metadataPreset,
  OAuthError,
  pollDeviceAuthorization,
  requestDeviceAuthorization,
  type AuthorizationServerMetadata,
} from "../../src/index";
import { decideDevice, DEVICE_CODE } from "../helpers/oidc-extensions";
import { useOidcServer, type OidcServer, type RegisteredClient } from "../helpers/oidc-server";
import { recordingFetch } from "../helpers/recorder";

let server: OidcServer;
let metadata: AuthorizationServerMetadata;

useOidcServer(async (started) => {
  server = started;
  metadata = await discover(server.issuer);
});

function clientFor(registered: RegisteredClient) {
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient(metadataPreset(metadata, { ...registered, fetch }));
  return { client, exchanges };
}

const bodyOf = (requestBody: string) => Object.fromEntries(new URLSearchParams(requestBody));

// oidc-provider sends no interval: each poll waits the RFC's 5 seconds, so the slow tests run side by side.
describe.concurrent("the device authorization grant against oidc-provider (RFC 8628)", () => {
  test("the metadata locates the device authorization endpoint, and metadataPreset uses it", () => {
    expect(metadata.device_authorization_endpoint).toBe(`${server.issuer}/device/auth`);
    expect(metadata.grant_types_supported).toContain(DEVICE_CODE);
    expect(metadataPreset(metadata, server.publicClient).endpoints).toMatchObject({
      deviceAuthorization: metadata.device_authorization_endpoint,
    });
  });

  test("a public client polls through authorization_pending, at the interval, until the user approves", async () => {
    const { client, exchanges } = clientFor(server.publicClient);
    const codes = await requestDeviceAuthorization(client, { scope: "openid offline_access read" });
    expect(codes).toMatchObject({ user_code: expect.any(String), verification_uri: `${server.issuer}/device` });
    expect(codes.interval).toBeUndefined();
    // The user approves only after the first poll, which the server answers authorization_pending.
    const approval = new Promise((resolve) => setTimeout(resolve, 6_000)).then(() =>
      decideDevice(codes.verification_uri_complete!),
    );
    const token = await pollDeviceAuthorization(client, codes);
    await approval;
    expect(token).toMatchObject({ token_type: "Bearer", scope: "openid offline_access read" });
    expect(token.refresh_token).toEqual(expect.any(String));
    const polls = exchanges.slice(1);
    expect(polls.map((e) => e.status)).toEqual([400, 200]);
    for (const poll of polls)
      expect(bodyOf(poll.requestBody)).toEqual({
        grant_type: DEVICE_CODE,
        device_code: codes.device_code,
        client_id: server.publicClient.clientId,
      });
    expect(bodyOf(exchanges[0]!.requestBody)).toEqual({
      scope: "openid offline_access read",
      client_id: server.publicClient.clientId,
    });
    // The tokens are the server's own: the refresh token works.
    await expect(client.refreshToken({ refresh_token: token.refresh_token! })).resolves.toMatchObject({
      token_type: "Bearer",
    });
  }, 30_000);

  test("the user refuses: DeviceAccessDeniedError, with the server's access_denied as its cause", async () => {
    const { client, exchanges } = clientFor(server.basicClient);
    const codes = await requestDeviceAuthorization(client, { scope: "openid read" });
    await decideDevice(codes.verification_uri_complete!, false);
    const error = await pollDeviceAuthorization(client, codes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceAccessDeniedError);
    expect((error as DeviceAccessDeniedError).code).toBe("OAUTH_DEVICE_ACCESS_DENIED");
    expect((error as Error).cause).toBeInstanceOf(OAuthError);
    expect(((error as Error).cause as OAuthError).error).toBe("access_denied");
    expect(exchanges.map((e) => e.status)).toEqual([200, 400]);
    // The confidential client authenticated with HTTP Basic at both endpoints.
    for (const exchange of exchanges) expect(exchange.requestHeaders.get("authorization")).toMatch(/^Basic /);
    // The device code shows nowhere: not in the printed codes, not in the error or its cause.
    expect(inspect(codes)).not.toContain(codes.device_code);
    expect(JSON.stringify(codes)).toContain(codes.device_code);
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(codes.device_code);
  }, 30_000);

  test("codes whose lifetime leaves no time for a poll end at once with DeviceCodeExpiredError (expires_in)", async () => {
    const { client, exchanges } = clientFor(server.postClient);
    const codes = await requestDeviceAuthorization(client, { scope: "openid" });
    expect(codes.expires_in).toBeLessThanOrEqual(3);
    const error = await pollDeviceAuthorization(client, codes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCodeExpiredError);
    expect((error as DeviceCodeExpiredError).reason).toBe("expires_in");
    expect(exchanges).toHaveLength(1);
  });

  test("the server's expired_token ends the polling with DeviceCodeExpiredError (expired_token)", async () => {
    const { client, exchanges } = clientFor(server.postClient);
    const codes = await requestDeviceAuthorization(client, { scope: "openid" });
    // Polled as if the codes had no lifetime: the server, whose codes live 3 s, says they expired.
    const error = await pollDeviceAuthorization(
      client,
      { device_code: codes.device_code },
      { maxWaitMs: 20_000 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCodeExpiredError);
    expect((error as DeviceCodeExpiredError).reason).toBe("expired_token");
    expect(((error as Error).cause as OAuthError).error).toBe("expired_token");
    expect(exchanges.map((e) => e.status)).toEqual([200, 400]);
    expect(inspect(error, { depth: 10 })).not.toContain(codes.device_code);
  }, 30_000);

  test("the server refuses what it does not know: an unknown device code, a scope the client may not have", async () => {
    const { client } = clientFor(server.basicClient);
    const unknown = await pollDeviceAuthorization(client, {
      device_code: "unknown-device-code-1234",
      interval: 1,
    }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OAuthError);
    expect((unknown as OAuthError).error).toBe("invalid_grant");
    expect(inspect(unknown)).not.toContain("unknown-device-code-1234");
    await expect(requestDeviceAuthorization(client, { scope: "openid write" })).rejects.toMatchObject({
      error: "invalid_scope",
    });
  });

  test("bad arguments are TypeErrors before any request; an abort stops the wait", async () => {
    const { client, exchanges } = clientFor(server.publicClient);
    for (const call of [
      () => pollDeviceAuthorization(client, { device_code: "" }),
      () => pollDeviceAuthorization(client, { device_code: "[REDACTED]" }),
      () => pollDeviceAuthorization(client, { device_code: "dc-123456789", interval: -1 }),
      () => pollDeviceAuthorization(client, { device_code: "dc-123456789" }, { maxWaitMs: 0 }),
      () => pollDeviceAuthorization({}, { device_code: "dc-123456789" }),
      () => requestDeviceAuthorization(client, { scope: "" }),
      () => requestDeviceAuthorization(client, { device_code: "x" } as never),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" });
    }
    const controller = new AbortController();
    const polling = pollDeviceAuthorization(client, { device_code: "dc-123456789" }, { signal: controller.signal });
    const reason = new Error("stopped by the user");
    setTimeout(() => controller.abort(reason), 100);
    await expect(polling).rejects.toBe(reason);
    expect(exchanges).toHaveLength(0);
  });
});
