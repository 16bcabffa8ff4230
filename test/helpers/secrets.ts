import { inspect } from "node:util";
import { expect } from "vitest";

/**
 * Every printed form of a value a user could end up logging: `util.inspect` (plain and with hidden
 * properties), `JSON.stringify`, `String()`, and for an error its message and stack, down its `cause` chain.
 * A result the library hands back (an object it made printable with `util.inspect.custom`) is data: its JSON
 * is meant to keep every value, so that a saved token comes back whole, and only its printing is searched.
 */
export function printedForms(value: unknown): string[] {
  const forms: string[] = [
    inspect(value, { depth: Infinity }),
    inspect(value, { depth: Infinity, showHidden: true }),
    safe(() => String(value)),
  ];
  if (!isResult(value)) forms.push(safe(() => JSON.stringify(value) ?? ""));
  let cause: unknown = value;
  for (let depth = 0; cause instanceof Error && depth < 10; depth++) {
    forms.push(cause.message, cause.stack ?? "");
    cause = cause.cause;
  }
  return forms;
}

/** A result of the library's: a plain object that prints through `util.inspect.custom`. */
function isResult(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Error) &&
    Symbol.for("nodejs.util.inspect.custom") in value
  );
}

function safe(print: () => string): string {
  try {
    return print();
  } catch (error) {
    return `<unprintable: ${(error as Error).name}>`;
  }
}

/** Collects every object a test made with the library, and the secrets none of them may show. */
export interface SecretCollector {
  /** Adds values that must never be printed; `undefined` is skipped. */
  secret(...values: (string | undefined)[]): void;
  /** Adds an object the library returned or threw, or a hook payload; returns it. */
  add<T>(value: T): T;
  /** Adds what a call settled with, its value or its rejection reason; resolves to that. */
  settle(outcome: Promise<unknown>): Promise<unknown>;
  /** How many objects and secrets were collected. */
  readonly size: { objects: number; secrets: number };
  /**
   * Prints every collected object every way {@link printedForms} knows and asserts that no secret appears.
   *
   * @returns the counts, and how many characters were searched.
   */
  check(): { objects: number; secrets: number; characters: number };
}

/**
 * Makes a collector. Feed it every error, result and event of a scenario, and every secret the scenario used
 * (client secret, access and refresh tokens, codes); `check()` then searches all their printed forms.
 */
export function createSecretCollector(): SecretCollector {
  const secrets = new Set<string>();
  const objects: unknown[] = [];
  return {
    secret(...values) {
      for (const value of values) if (value !== undefined) secrets.add(value);
    },
    add(value) {
      objects.push(value);
      return value;
    },
    async settle(outcome) {
      const value = await outcome.then(
        (result) => result,
        (reason: unknown) => reason,
      );
      objects.push(value);
      return value;
    },
    get size() {
      return { objects: objects.length, secrets: secrets.size };
    },
    check() {
      let characters = 0;
      for (const [index, object] of objects.entries()) {
        for (const text of printedForms(object)) {
          characters += text.length;
          for (const secret of secrets) {
            if (text.includes(secret))
              expect.fail(`object #${index} prints a secret (${secret.slice(0, 4)}...):\n${text.slice(0, 2000)}`);
          }
        }
      }
      return { objects: objects.length, secrets: secrets.size, characters };
    },
  };
}
