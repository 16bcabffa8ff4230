import { expect, inject, test } from "vitest";
import { createOAuthClient } from "../src/index";
import { recordingFetch } from "./helpers/recorder";

test("clientCredentials against Prism", async () => {
  const { fetch, exchanges } = recordingFetch();
  const client = createOAuthClient({ baseUrl: inject("prismUrl"), clientId: "id", clientSecret: "secret", fetch });
  const token = await client.clientCredentials({ scope: "read" });
  expect(token.access_token).toBe("2YotnFZFEjr1zCsicMWpAA");
  expect(exchanges).toHaveLength(1);
  expect(exchanges[0]!.violations).toBeNull();
});
