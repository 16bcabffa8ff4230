import { defineConfig } from "vitest/config";

/**
 * Two projects. `unit`: the client, its checks and the token manager, against loopback servers of the tests' own;
 * no Prism, no Redis, no browser, well under a minute (`npm run test:unit`). `integration`: everything that starts
 * a real part: Prism on the spec, the providers' specs, oidc-provider, Redis and Redis Cluster, Chromium, the
 * packed package on Node 20, 22 and 24; and the slow checks (fuzzing, fault injection, spec changes, TypeDoc).
 */
const UNIT = [
  "test/arguments.test.ts",
  "test/authorization-response.test.ts",
  "test/authorization-url.test.ts",
  "test/client-assertion.test.ts",
  "test/contract/operations.test.ts",
  "test/discovery.test.ts",
  "test/dpop.test.ts",
  "test/hardening/**/*.test.ts",
  "test/layout.test.ts",
  "test/lifecycle/**/*.test.ts",
  "test/token-manager-clocks.test.ts",
  "test/outside-values.test.ts",
  "test/pkce.test.ts",
  "test/presets-secrets.test.ts",
  "test/redaction.test.ts",
  "test/redis/**/*.test.ts",
  "test/secrets.test.ts",
  "test/token-manager.test.ts",
  "test/token-manager-concurrency.test.ts",
  "test/token-manager-faults.test.ts",
  "test/token-manager-rotation.test.ts",
];

export default defineConfig({
  test: {
    // oidc-provider warns at every start about what the interop tests choose on purpose: its in-memory adapter,
    // its development interactions, and Node.js 20. Those warnings, and only those, are left out of the output.
    onConsoleLog: (log) => (log.startsWith("oidc-provider WARNING") ? false : undefined),
    projects: [
      {
        test: {
          name: "unit",
          include: UNIT,
          testTimeout: 20_000,
          typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: UNIT,
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 20_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
