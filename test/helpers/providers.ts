/**
 * The providers' own published OpenAPI documents (test/fixtures/providers/, see its README) as peers: their
 * operations, and what Prism, started on one of them, thought of each request the client sent.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { Exchange } from "./recorder";

/** Where each provider's published spec lives. */
export const PROVIDER_SPECS = {
  /** Square, release 2025-08-20 (OpenAPI 3.0): ObtainToken, RevokeToken, RetrieveTokenStatus. */
  square: fileURLToPath(new URL("../fixtures/providers/square-oauth.json", import.meta.url)),
  /** Square, 2024-03-20 (Swagger 2.0): ObtainToken, RevokeToken and the deprecated RenewToken. */
  square2024: fileURLToPath(new URL("../fixtures/providers/square-2024-oauth.swagger2.json", import.meta.url)),
  /** Voucherify (OpenAPI 3.0): generate, introspect and revoke. */
  voucherify: fileURLToPath(new URL("../fixtures/providers/voucherify-oauth.json", import.meta.url)),
} as const;

interface ProviderOperation {
  operationId: string;
  method: string;
  path: string;
}

/** A provider's spec, parsed, with its operations. */
export interface ProviderSpec {
  // The documents are JSON with provider-specific shapes; tests read what they need.
  document: Record<string, any>;
  operations: ProviderOperation[];
  /** The operationId an exchange called, by method and path template; `undefined` when none matches. */
  operationOf(exchange: Exchange): string | undefined;
}

/** Loads a provider's spec. */
export function loadProviderSpec(path: string): ProviderSpec {
  const document = JSON.parse(readFileSync(path, "utf8")) as Record<string, any>;
  const operations: ProviderOperation[] = [];
  for (const [template, item] of Object.entries(
    document.paths as Record<string, Record<string, { operationId: string }>>,
  )) {
    for (const [method, op] of Object.entries(item))
      operations.push({ operationId: op.operationId, method: method.toUpperCase(), path: template });
  }
  const matchers = operations.map((op) => ({
    op,
    pattern: new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));
  return {
    document,
    operations,
    operationOf(exchange) {
      const path = new URL(exchange.url).pathname;
      return matchers.find(({ op, pattern }) => op.method === exchange.method && pattern.test(path))?.op.operationId;
    },
  };
}

interface Violation {
  location: string[];
  severity: string;
  code: string | number;
  message: string;
}

/** Every violation Prism reported for an exchange, request and response alike. */
export function violations(exchange: Exchange): Violation[] {
  if (exchange.violations === null) return [];
  if (!exchange.violations.startsWith("["))
    throw new Error(`Prism reported more violations than fit a header: ${exchange.violations.slice(0, 200)}`);
  return JSON.parse(exchange.violations) as Violation[];
}

/** The violations of the request: what the provider's contract forbids in what the client sent. */
export function requestViolations(exchange: Exchange): Violation[] {
  return violations(exchange).filter((v) => v.location[0] === "request");
}

/**
 * Asserts that Prism answered an exchange with the documented status and found nothing wrong with the request.
 * The status matters as much as the header: Prism refuses a request that breaks a security requirement or the
 * body schema with its own 401 or 422 problem answer, which carries no violation header.
 */
export function expectAccepted(exchange: Exchange, status: number): void {
  expect(requestViolations(exchange)).toEqual([]);
  expect(exchange.status).toBe(status);
}
