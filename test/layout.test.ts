/**
 * The house rules, checked on the source: each layer imports only from the ones below it (generated ->
 * core -> oauth -> lifecycle -> providers), the core names no provider, and the request path needs no
 * casts of paths or bodies to `never`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
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

describe("the house stays small enough to reason about", () => {
  /** Each function's length in lines, by the TypeScript parser: declarations, methods, arrows and expressions. */
  const functions = files.flatMap((file) => {
    const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
    const found: { name: string; lines: number }[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const named = (node as { name?: ts.Node }).name;
        const name = named === undefined ? "(anonymous)" : named.getText(source);
        found.push({ name: `${file.path}:${start + 1} ${name}`, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  });

  test("no function in src/ is over 150 lines", () => {
    expect(functions.length).toBeGreaterThan(100);
    expect(functions.filter((fn) => fn.lines > 150).map((fn) => `${fn.name}: ${fn.lines} lines`)).toEqual([]);
  });

  test("createTokenManager is a facade of at most 120 lines", () => {
    const facade = functions.find((fn) => fn.name.endsWith(" createTokenManager"));
    expect(facade?.lines).toBeLessThanOrEqual(120);
  });

  test("no import cycles in src/", () => {
    const known = new Set(files.map((file) => file.path));
    const resolve = (target: string) => [`${target}.ts`, join(target, "index.ts")].find((path) => known.has(path));
    const edges = new Map(
      files.map((file) => [file.path, imports(file).flatMap((target) => resolve(target) ?? [])] as const),
    );
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const walk = (path: string, trail: string[]) => {
      if (state.get(path) === "done") return;
      if (state.get(path) === "open") {
        cycles.push([...trail.slice(trail.indexOf(path)), path].join(" -> "));
        return;
      }
      state.set(path, "open");
      for (const next of edges.get(path) ?? []) walk(next, [...trail, path]);
      state.set(path, "done");
    };
    for (const path of known) walk(path, []);
    expect(edges.get("lifecycle/token-manager.ts")?.length).toBeGreaterThan(3);
    expect(cycles).toEqual([]);
  });
});
