import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { operationIds } from "../helpers/spec";

const DIR = fileURLToPath(new URL(".", import.meta.url));
const SELF = basename(fileURLToPath(import.meta.url));
const files = readdirSync(DIR)
  .filter((name) => name.endsWith(".test.ts") && name !== SELF)
  .map((name) => ({ name, source: readFileSync(`${DIR}/${name}`, "utf8") }));

// A contract test walks every documented answer of its operation through responseCases(); an operation added
// to the spec without one fails here.
describe("every operation of the spec has a contract test", () => {
  test("the spec has operations, each with a unique operationId", () => {
    const ids = operationIds();
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
  });

  for (const operationId of operationIds()) {
    test(operationId, () => {
      const covering = files
        .filter(({ source }) => source.includes(`responseCases("${operationId}")`))
        .map(({ name }) => name);
      expect(covering, `no file in test/contract walks responseCases("${operationId}")`).not.toEqual([]);
    });
  }
});
