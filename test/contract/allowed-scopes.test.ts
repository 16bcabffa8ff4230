import { describe, expect, inject, test } from "vitest";
import { createOAuthClient } from "../../src/index";
import { recordingFetch } from "../helpers/recorder";
import { parseBody, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from "../helpers/spec";

const prismUrl = inject("prismUrl");
const credentials = { clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET };
const allowedScopes = ["read", "write", "vouchers"];

describe("allowedScopes", () => {
  test("known scopes are sent as given, with no violation", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials, allowedScopes });
    await client.clientCredentials({ scope: "read write" });
    await client.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scope: "read" });
    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([
      [200, null],
      [200, null],
    ]);
    expect(parseBody(exchanges[0]!.requestBody, "form")).toMatchObject({ scope: "read write" });
    expect(parseBody(exchanges[1]!.requestBody, "form")).toMatchObject({ scope: "read" });
  });

  test("a comma-separated scope is refused before sending, with the fix in the message", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials, allowedScopes });
    const error = await client.clientCredentials({ scope: "read,write" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('scope "read,write" is comma-separated: separate scopes with spaces');
    // A comma after a space-separated scope is caught too.
    await expect(client.clientCredentials({ scope: "read write,vouchers" })).rejects.toThrow(
      /"write,vouchers" is comma-separated/,
    );
    expect(exchanges).toHaveLength(0);
  });

  test("an unknown scope is refused before sending, naming it and the allowed ones", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials, allowedScopes });
    await expect(client.clientCredentials({ scope: "read admin" })).rejects.toThrow(
      'scope "admin" is not one of the server\'s scopes (read, write, vouchers)',
    );
    await expect(client.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scope: "Read" })).rejects.toThrow(
      /"Read" is not one/,
    );
    await expect(client.obtainToken({ grant_type: "client_credentials", scope: "delete" })).rejects.toThrow(TypeError);
    expect(exchanges).toHaveLength(0);
  });

  test("Square's scopes array is checked item by item", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({
      baseUrl: prismUrl,
      fetch,
      ...credentials,
      clientAuthentication: "client_secret_post",
      requestFormat: "json",
      allowedScopes: ["MERCHANT_PROFILE_READ", "PAYMENTS_READ"],
    });
    await expect(
      client.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scopes: ["PAYMENTS_READ", "PAYMENTS_WRITE"] }),
    ).rejects.toThrow(/"PAYMENTS_WRITE" is not one/);
    expect(exchanges).toHaveLength(0);
    await client.refreshToken({ refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA", scopes: ["PAYMENTS_READ"] });
    expect(exchanges.map((e) => [e.status, e.violations])).toEqual([[200, null]]);
    expect(JSON.parse(exchanges[0]!.requestBody)).toMatchObject({ scopes: ["PAYMENTS_READ"] });
  });

  test("without allowedScopes nothing is checked: the server decides", async () => {
    const { fetch, exchanges } = recordingFetch();
    const client = createOAuthClient({ baseUrl: prismUrl, fetch, ...credentials });
    await client.clientCredentials({ scope: "read,write" });
    expect(parseBody(exchanges[0]!.requestBody, "form")).toMatchObject({ scope: "read,write" });
  });

  test("the option itself must be a non-empty list of scope names", () => {
    for (const bad of [[], ["read write"], [""], "read", [1]]) {
      expect(() => createOAuthClient({ baseUrl: prismUrl, ...credentials, allowedScopes: bad as never })).toThrow(
        /options\.allowedScopes/,
      );
    }
  });
});
