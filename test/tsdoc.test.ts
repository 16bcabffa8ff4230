/**
 * The API reference's promises: every export of both entry points has TSDoc with a summary and at least one
 * `@see` (an RFC section, a provider's page or the function that uses it), and `OAuthClient.renewToken` is
 * `@deprecated` in a way editors show: the TypeScript language service reports its uses as deprecated
 * (suggestion diagnostics 6385 and 6387), which editors draw as a strikethrough.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Application, type Comment, type DeclarationReflection, type ProjectReflection, ReflectionKind } from "typedoc";
import ts from "typescript";
import { beforeAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ENTRY_POINTS = ["src/index.ts", "src/stores/redis.ts"];
/** TypeDoc's module names for the entry points, as in the generated reference. */
const MODULES = { "src/index.ts": "index", "src/stores/redis.ts": "stores/redis" } as const;

/**
 * Exports whose comment cannot carry a `@see`, with the reason.
 */
// Exports whose TSDoc cannot meet the rule, with why. None: `paths` used to take generated/schema.d.ts' file
// header as its comment; the generator now writes that header as line comments, which TypeDoc ignores.
const EXEMPT: Record<string, string> = {};

/**
 * How TypeScript reports a use of a `@deprecated` declaration: "'{0}' is deprecated." for a reference to it, and
 * "The signature '{0}' of '{1}' is deprecated." for a call (a method's TSDoc belongs to its signature). Both are
 * suggestion diagnostics flagged `reportsDeprecated`, which editors draw as a strikethrough.
 */
const DEPRECATED = 6385;
const DEPRECATED_SIGNATURE = 6387;

function comments(reflection: DeclarationReflection): (Comment | undefined)[] {
  // A function's TSDoc sits on its signatures, everything else's on the declaration.
  return reflection.signatures ? reflection.signatures.map((signature) => signature.comment) : [reflection.comment];
}

function readConfig(name: string): ts.ParsedCommandLine {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, name),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error(`${name} could not be read`);
  return config;
}

function text(parts: readonly { text: string }[]): string {
  return parts
    .map((part) => part.text)
    .join("")
    .trim();
}

describe("TSDoc of the public API", () => {
  let project: ProjectReflection;

  beforeAll(async () => {
    const { $schema: _, ...options } = JSON.parse(readFileSync(join(ROOT, "typedoc.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const app = await Application.bootstrapWithPlugins({
      ...options,
      entryPoints: ENTRY_POINTS.map((file) => join(ROOT, file)),
      tsconfig: join(ROOT, "tsconfig.src.json"),
      logLevel: "Error",
    });
    const converted = await app.convert();
    if (!converted) throw new Error("TypeDoc could not convert the entry points");
    project = converted;
  }, 60_000);

  function moduleOf(name: string): DeclarationReflection {
    const module = project.getChildByName(name);
    if (module?.kind !== ReflectionKind.Module) throw new Error(`TypeDoc made no module ${name}`);
    return module as DeclarationReflection;
  }

  test("the landing page typedoc.json names is in the repository (a clean clone builds the reference)", () => {
    const { readme } = JSON.parse(readFileSync(join(ROOT, "typedoc.json"), "utf8")) as { readme: string };
    expect(existsSync(join(ROOT, readme)), readme).toBe(true);
  });

  test("the reference covers every export of both entry points", () => {
    const config = readConfig("tsconfig.src.json");
    const program = ts.createProgram({
      rootNames: ENTRY_POINTS.map((file) => join(ROOT, file)),
      options: config.options,
    });
    const checker = program.getTypeChecker();
    for (const file of ENTRY_POINTS) {
      const source = program.getSourceFile(join(ROOT, file))!;
      const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((symbol) => symbol.name);
      const documented = (moduleOf(MODULES[file as keyof typeof MODULES]).children ?? []).map((child) => child.name);
      expect(documented.sort(), file).toEqual(exported.sort());
    }
  });

  test("every export has a summary and at least one @see", () => {
    const missing: string[] = [];
    let checked = 0;
    for (const name of Object.values(MODULES)) {
      for (const child of moduleOf(name).children ?? []) {
        const id = `${name}.${child.name}`;
        if (id in EXEMPT) continue;
        checked++;
        for (const comment of comments(child)) {
          if (comment === undefined || text(comment.summary) === "") missing.push(`${id}: no summary`);
          const sees = comment?.blockTags.filter((tag) => tag.tag === "@see") ?? [];
          if (sees.length === 0) missing.push(`${id}: no @see`);
          for (const see of sees) if (text(see.content) === "") missing.push(`${id}: empty @see`);
        }
      }
    }
    expect(missing).toEqual([]);
    // A broken conversion must not pass as "nothing to check": the index alone exports dozens of declarations.
    expect(checked).toBeGreaterThan(60);
  });

  test("the exemptions name real exports that still need them", () => {
    for (const id of Object.keys(EXEMPT)) {
      const [module, name] = id.split(".") as [string, string];
      const child = moduleOf(module).getChildByName(name) as DeclarationReflection | undefined;
      expect(child, id).toBeDefined();
      // Once TypeDoc finds a @see here, the exemption goes.
      expect(
        comments(child!).some((comment) => comment?.blockTags.some((tag) => tag.tag === "@see")),
        id,
      ).toBe(false);
    }
  });

  test("SquareMethods.renewToken is @deprecated, and OAuthClient.refreshToken is not", () => {
    const square = moduleOf("index").getChildByName("SquareMethods") as DeclarationReflection;
    const client = moduleOf("index").getChildByName("OAuthClient") as DeclarationReflection;
    expect(square.kind).toBe(ReflectionKind.Interface);
    expect(client.kind).toBe(ReflectionKind.Interface);
    const tags = (owner: DeclarationReflection, method: string) =>
      comments(owner.getChildByName(method) as DeclarationReflection).flatMap(
        (comment) => comment?.blockTags.map((tag) => tag.tag) ?? [],
      );
    expect(tags(square, "renewToken")).toContain("@deprecated");
    expect(tags(client, "refreshToken")).not.toContain("@deprecated");
  });
});

describe("deprecation as editors show it", () => {
  /** A file a user might write, kept in memory; it lives in test/ so `../src/index` resolves to the source. */
  const PROBE = join(ROOT, "test", "__tsdoc_probe__.ts");
  const SOURCE = `import { createOAuthClient, squarePreset } from "../src/index";

const client = createOAuthClient(squarePreset({ clientId: "sq0idp-app", clientSecret: "secret" }));
export const renewed = client.renewToken({ access_token: "old-access-token" });
export const renew = client.renewToken;
export const refreshed = client.refreshToken({ refresh_token: "refresh-token" });
export const refresh = client.refreshToken;
`;
  const RENEW_CALL = SOURCE.indexOf("renewToken({");
  const RENEW_REFERENCE = SOURCE.indexOf("renewToken;");
  let service: ts.LanguageService;

  beforeAll(() => {
    const config = readConfig("tsconfig.json");
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => config.options,
      getScriptFileNames: () => [PROBE],
      getScriptVersion: () => "1",
      getScriptSnapshot: (file) => {
        const content = file === PROBE ? SOURCE : ts.sys.readFile(file);
        return content === undefined ? undefined : ts.ScriptSnapshot.fromString(content);
      },
      getCurrentDirectory: () => ROOT,
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      fileExists: (file) => file === PROBE || ts.sys.fileExists(file),
      readFile: (file) => (file === PROBE ? SOURCE : ts.sys.readFile(file)),
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
    };
    service = ts.createLanguageService(host, ts.createDocumentRegistry());
  });

  /** Every use the language service reports as deprecated, by offset in the probe. */
  function deprecations(): { at: number; name: string; code: number; message: string }[] {
    return service
      .getSuggestionDiagnostics(PROBE)
      .filter((diagnostic) => diagnostic.reportsDeprecated)
      .map((diagnostic) => ({
        at: diagnostic.start!,
        name: SOURCE.slice(diagnostic.start, diagnostic.start! + diagnostic.length!),
        code: diagnostic.code,
        message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"),
      }));
  }

  test("the probe compiles, so a missing diagnostic is not a resolution failure", () => {
    const errors = [...service.getSyntacticDiagnostics(PROBE), ...service.getSemanticDiagnostics(PROBE)];
    expect(errors.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))).toEqual([]);
  });

  test("a reference to client.renewToken is reported deprecated (6385)", () => {
    expect(deprecations()).toContainEqual({
      at: RENEW_REFERENCE,
      name: "renewToken",
      code: DEPRECATED,
      message: "'renewToken' is deprecated.",
    });
  });

  test("a call of client.renewToken is reported deprecated (6387, its signature)", () => {
    const call = deprecations().find((diagnostic) => diagnostic.at === RENEW_CALL);
    expect(call).toMatchObject({ name: "renewToken", code: DEPRECATED_SIGNATURE });
    expect(call?.message).toMatch(/^The signature '.*' of 'client\.renewToken' is deprecated\.$/s);
  });

  test("refreshToken, called or referenced, is not reported deprecated", () => {
    expect(deprecations().filter((diagnostic) => diagnostic.name !== "renewToken")).toEqual([]);
    expect(deprecations()).toHaveLength(2);
  });

  test("hovering renewToken shows the deprecation and where to go instead", () => {
    const info = service.getQuickInfoAtPosition(PROBE, RENEW_CALL + 1);
    const deprecated = info?.tags?.find((tag) => tag.name === "deprecated");
    expect(ts.displayPartsToString(deprecated?.text)).toContain("refreshToken");
  });
});
