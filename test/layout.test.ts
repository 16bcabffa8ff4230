/**
 * The house rules, checked on the source: each layer imports only from the ones below it (generated ->
 * core -> oauth -> lifecycle -> providers), the core names no provider, and the request path needs no
 * casts of paths or bodies to `never`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const SRC = fileURLToPath(new URL("../src", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

const files = filesUnder(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, "utf8") }));
/** Each file's imports, resolved to a path under src/ (or the module name of a package). */
const imports = (file: { path: string; text: string }) =>
  [...file.text.matchAll(/from "([^"]+)"/g)].map(([, spec]) =>
    spec!.startsWith(".") ? join(file.path, "..", spec!) : spec!,
  );

const layers: [string, (path: string) => boolean, string[]][] = [
  ["core", (path) => path.startsWith("core/"), ["oauth/", "providers/", "stores/", "lifecycle/"]],
  ["oauth", (path) => path.startsWith("oauth/"), ["providers/", "stores/", "lifecycle/"]],
  ["stores", (path) => path.startsWith("stores/"), ["providers/", "lifecycle/"]],
  ["lifecycle", (path) => path.startsWith("lifecycle/"), ["providers/"]],
];

describe("layers", () => {
  test("the source has every layer", () => {
    for (const [name, member] of layers)
      expect(
        files.some((file) => member(file.path)),
        name,
      ).toBe(true);
    expect(files.some((file) => file.path.startsWith("providers/"))).toBe(true);
  });

  for (const [name, member, above] of layers) {
    test(`${name} imports nothing from a layer above it`, () => {
      const wrong = files
        .filter((file) => member(file.path))
        .flatMap((file) =>
          imports(file)
            .filter((target) => above.some((prefix) => target.startsWith(prefix)))
            .map((target) => `${file.path} -> ${target}`),
        );
      expect(wrong).toEqual([]);
    });
  }

  test("nothing in src/ imports from test/ or scripts/", () => {
    const wrong = files.flatMap((file) =>
      imports(file)
        .filter((target) => /^(\.\.\/)*(test|scripts)\//.test(target))
        .map((target) => `${file.path} -> ${target}`),
    );
    expect(wrong).toEqual([]);
  });
});

describe("providers plug in", () => {
  test("no provider is named in the core, the operations or the lifecycle, not even in a comment", () => {
    const named = files
      .filter((file) => !file.path.startsWith("providers/") && file.path !== "index.ts")
      .flatMap((file) =>
        [...file.text.matchAll(/square|voucherify|\b2ba\b|twoba/gi)].map((match) => `${file.path}: ${match[0]}`),
      );
    expect(named).toEqual([]);
  });

  test("the request path casts no path or body to never", () => {
    const casts = files.filter((file) => /as never\b/.test(file.text)).map((file) => file.path);
    expect(casts).toEqual([]);
  });
});
