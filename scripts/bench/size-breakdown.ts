/**
 * Where each KB goes: a bundle's min+gz bytes by the source module that made them.
 *
 * The bundle is built as scripts/size.ts builds it (esbuild, minified, browser, ESM, es2022; gzip level 9), with a
 * source map, and its total is checked against scripts/size.ts's own figure. Minified bytes per module are
 * esbuild's (metafile `bytesInOutput`). Gzipped bytes are attributed in place: the output is cut, by its source
 * map, into spans of one module each, in output order, and a span costs what it adds to the gzipped size of
 * the output up to it (gz(prefix to its end) - gz(prefix to its start)). The figures add up to the bundle's
 * size exactly; a module early in the bundle pays for words that later ones then repeat cheaply, which is how
 * gzip charges them. The proportional share (gz total × the module's share of minified bytes) is shown too.
 */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { bundle as sizeTsBundle } from "../size";
import type { NamedBundle } from "./bundles";
import { type SourceMap, sourceSpans } from "./sourcemap";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ModuleBytes {
  /** openapi-fetch, generated/spec.ts, src/…, or "(esbuild glue, gzip framing)". */
  module: string;
  min: number;
  gz: number;
  gzProportional: number;
}

export interface Breakdown {
  label: string;
  source: string;
  short: string;
  /** min+gz bytes of the whole bundle, as built here. */
  total: number;
  /** min+gz bytes scripts/size.ts reports for the same module: equal to `total` when the builds agree. */
  sizeTs: number;
  modules: ModuleBytes[];
}

const gz = (text: string) => gzipSync(Buffer.from(text), { level: 9 }).length;

/** A module's name in the tables: a package by its name, the project's files by their path. */
function moduleName(path: string | undefined): string {
  if (path === undefined || path === "<stdin>") return "(esbuild glue, gzip framing)";
  const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return pkg ? pkg[1]! : path;
}

/** The min+gz bytes of one bundle by source module. */
export async function breakdown({ label, source, short, contents }: NamedBundle): Promise<Breakdown> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "ts" },
    bundle: true,
    minify: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
    // Where the map's sources are resolved from; nothing is written.
    outfile: `${ROOT}size-breakdown.js`,
    sourcemap: "external",
  });
  const js = result.outputFiles.find((file) => file.path.endsWith(".js"))!;
  const map = JSON.parse(result.outputFiles.find((file) => file.path.endsWith(".map"))!.text) as SourceMap;
  const text = js.text;
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(".js"))![1];

  const modules = new Map<string, ModuleBytes>();
  const entry = (module: string) => {
    let row = modules.get(module);
    if (!row) modules.set(module, (row = { module, min: 0, gz: 0, gzProportional: 0 }));
    return row;
  };
  for (const [path, input] of Object.entries(output.inputs)) entry(moduleName(path)).min += input.bytesInOutput;
  // What the metafile charges to no input: esbuild's glue between modules.
  const charged = [...modules.values()].reduce((sum, row) => sum + row.min, 0);
  entry(moduleName(undefined)).min += Buffer.byteLength(text) - charged;

  const total = gz(text);
  let before = gz("");
  entry(moduleName(undefined)).gz += before; // gzip's header and trailer
  for (const span of sourceSpans(text, map)) {
    const upTo = gz(text.slice(0, span.end));
    entry(moduleName(span.source)).gz += upTo - before;
    before = upTo;
  }
  const minTotal = Buffer.byteLength(text);
  for (const row of modules.values()) row.gzProportional = (total * row.min) / minTotal;

  return {
    label,
    source,
    short,
    total,
    sizeTs: (await sizeTsBundle(contents)).bytes,
    modules: [...modules.values()].filter((row) => row.min > 0 || row.gz !== 0),
  };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(2);

/** The layer of a module (STYLE.md's house): openapi-fetch, generated/, src/core/, src/oauth/, … */
function layer(module: string): string {
  const dir = /^(src\/[^/]+|generated)\//.exec(module);
  return dir ? `${dir[1]}/` : module;
}

function table(breakdowns: readonly Breakdown[], rowsOf: (b: Breakdown) => Map<string, ModuleBytes>, head: string) {
  const per = breakdowns.map(rowsOf);
  // Rows by their largest in-place figure in any bundle.
  const largest = new Map<string, number>();
  for (const rows of per)
    for (const row of rows.values()) largest.set(row.module, Math.max(largest.get(row.module) ?? 0, row.gz));
  const names = [...largest.keys()].sort((a, b) => largest.get(b)! - largest.get(a)!);
  const lines = [
    `| ${head} | ${breakdowns.map((b) => `${b.short}: min | min+gz (proportional)`).join(" | ")} |`,
    `| --- | ${breakdowns.map(() => "---: | ---:").join(" | ")} |`,
  ];
  for (const name of names)
    lines.push(
      `| ${name} | ${per
        .map((rows) => {
          const row = rows.get(name);
          return row ? `${row.min} | ${row.gz} (${Math.round(row.gzProportional)})` : "– | –";
        })
        .join(" | ")} |`,
    );
  lines.push(
    `| **total** | ${breakdowns
      .map((b) => `${b.modules.reduce((s, r) => s + r.min, 0)} | **${b.total} B = ${kb(b.total)} KB**`)
      .join(" | ")} |`,
  );
  return lines.join("\n");
}

/**
 * Markdown tables for several bundles side by side: a row per module, for each bundle its minified bytes, its
 * min+gz bytes in place and, in parentheses, its proportional share.
 */
export function breakdownTable(breakdowns: readonly Breakdown[]): string {
  return table(breakdowns, (b) => new Map(b.modules.map((row) => [row.module, row])), "module");
}

/** The same, summed by layer. */
export function layerTable(breakdowns: readonly Breakdown[]): string {
  return table(
    breakdowns,
    (b) => {
      const layers = new Map<string, ModuleBytes>();
      for (const row of b.modules) {
        const name = layer(row.module);
        const sum = layers.get(name) ?? { module: name, min: 0, gz: 0, gzProportional: 0 };
        sum.min += row.min;
        sum.gz += row.gz;
        sum.gzProportional += row.gzProportional;
        layers.set(name, sum);
      }
      return layers;
    },
    "layer",
  );
}

/** The bundles' full names, and whether this build agrees with scripts/size.ts. */
export function breakdownNotes(breakdowns: readonly Breakdown[]): string {
  return breakdowns
    .map(
      (b) =>
        `- ${b.short}: "${b.label}" (${b.source}); ${b.total} B here, ${b.sizeTs} B by scripts/size.ts` +
        (b.total === b.sizeTs ? " (same build)." : ": the builds differ, read the rows as approximate."),
    )
    .join("\n");
}

/** Where each KB goes, for the bundles issue 22 sets a size for: the tables and their notes, in Markdown. */
export async function printSizeBreakdown(bundles: readonly NamedBundle[]): Promise<Breakdown[]> {
  const breakdowns: Breakdown[] = [];
  for (const b of bundles) breakdowns.push(await breakdown(b));
  console.log("\n## Where each KB goes: min+gz bytes by module\n");
  console.log(
    "Bytes, 1 KB = 1024 B. min: esbuild's minified bytes of the module. min+gz: what the module's spans of the\n" +
      "output add to the gzipped bundle where they sit (these add up to the bundle); in parentheses the\n" +
      "proportional share (total × min share), which overcharges text that compresses well, such as the\n" +
      "generated description.\n",
  );
  console.log(layerTable(breakdowns));
  console.log("");
  console.log(breakdownTable(breakdowns));
  console.log("");
  console.log(breakdownNotes(breakdowns));
  return breakdowns;
}
