/**
 * A throwaway copy of the project for tests that edit the spec and regenerate: the spec, the generator, the
 * generated files and the client's source are copied into a fresh folder under the OS temp dir, and
 * `node_modules` is linked, so `npm run generate`, `redocly lint` and `tsc` run there as they do here and the
 * working tree is never touched.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The real project: /work/main, or wherever this file sits two levels under. */
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a copy holds: enough to regenerate, lint, type-check and import the client. */
const COPIED = [
  "spec",
  "generated",
  "src",
  "scripts",
  "package.json",
  "redocly.yaml",
  "tsconfig.json",
  "tsconfig.src.json",
] as const;

/**
 * Copies the project into a fresh temp folder and links its `node_modules`.
 *
 * @returns the folder; remove it with {@link removeProjectCopy}.
 */
export function copyProject(prefix = "oauth-spec-change-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const entry of COPIED) cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** Removes a copy made by {@link copyProject} (the `node_modules` link only, never what it points to). */
export function removeProjectCopy(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * Edits one file of a copy: each replacement must match, so an edit the spec's current text no longer fits
 * fails loudly here instead of silently testing an unedited spec.
 *
 * @param dir - the copy.
 * @param file - the path inside it.
 * @param edits - `[pattern, replacement]`; a string pattern is replaced everywhere, a RegExp as its flags say.
 */
export function editFile(dir: string, file: string, edits: readonly (readonly [RegExp | string, string])[]): void {
  const path = join(dir, file);
  let text = readFileSync(path, "utf8");
  for (const [pattern, replacement] of edits) {
    const matches =
      typeof pattern === "string"
        ? text.includes(pattern)
        : new RegExp(pattern.source, pattern.flags.replace("g", "")).test(text);
    if (!matches)
      throw new Error(`spec-copy: ${file} has no match for ${String(pattern)}; the spec changed, update the edit`);
    text = typeof pattern === "string" ? text.split(pattern).join(replacement) : text.replace(pattern, replacement);
  }
  writeFileSync(path, text);
}

/** Writes a new file into a copy. */
export function writeCopyFile(dir: string, file: string, text: string): void {
  writeFileSync(join(dir, file), text);
}

/** The timing and output of a command run in a copy. */
export interface CommandRun {
  ms: number;
  output: string;
}

/**
 * Runs a package's bin script with this Node in a copy (no npm, no shell): `tsx scripts/generate.ts`,
 * `redocly lint`, `tsc`.
 *
 * @throws {Error} with the command's output when it fails.
 */
export function runInCopy(dir: string, script: string, args: readonly string[], timeoutMs = 120_000): CommandRun {
  const started = performance.now();
  try {
    const output = execFileSync(process.execPath, [join(dir, script), ...args], {
      cwd: dir,
      encoding: "utf8",
      stdio: "pipe",
      timeout: timeoutMs,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: "off",
        REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
    });
    return { ms: performance.now() - started, output };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${script} ${args.join(" ")} failed in ${dir}:\n${failure.stdout ?? ""}\n${failure.stderr ?? failure.message}`,
    );
  }
}

/** Every file under a folder, as paths relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The files of a folder of a copy that differ, byte for byte, from the same folder of the project, or that
 * one side lacks.
 */
export function differingFiles(dir: string, folder: string): string[] {
  const ours = filesUnder(join(dir, folder));
  const theirs = filesUnder(join(PROJECT_ROOT, folder));
  const differing = [
    ...ours.filter((file) => !theirs.includes(file)),
    ...theirs.filter((file) => !ours.includes(file)),
  ];
  for (const file of ours.filter((f) => theirs.includes(f))) {
    if (!readFileSync(join(dir, folder, file)).equals(readFileSync(join(PROJECT_ROOT, folder, file))))
      differing.push(file);
  }
  return differing.sort();
}
