/**
 * `npm run lint`: Redocly's CLI, with its output as it is but for one notice. On Node.js 20 Redocly CLI 2.x
 * prints a boxed "Node.js 20 support is ending" notice on every run; the package supports Node.js 20 (README
 * "Supported runtimes" says until when), so the notice is dropped here, and only it.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../node_modules/@redocly/cli/bin/cli.js", import.meta.url));
const child = spawn(process.execPath, [CLI, ...process.argv.slice(2)], {
  stdio: ["inherit", "inherit", "pipe"],
  env: { ...process.env, REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
});

let box: string[] | undefined;
let pending = "";
/** Passes stderr on line by line, holding a box back until its end shows whether it is the notice. */
function forward(chunk: string, end = false): void {
  pending += chunk;
  const lines = pending.split("\n");
  pending = end ? "" : lines.pop()!;
  for (const line of lines) {
    if (box === undefined && line.includes("╔")) box = [];
    if (box === undefined) {
      process.stderr.write(`${line}\n`);
      continue;
    }
    box.push(line);
    if (!line.includes("╚")) continue;
    if (!box.some((held) => held.includes("Node.js 20 support is ending"))) process.stderr.write(`${box.join("\n")}\n`);
    box = undefined;
  }
}
child.stderr.setEncoding("utf8").on("data", (chunk: string) => forward(chunk));
child.on("close", (code) => {
  forward("", true);
  if (box) process.stderr.write(`${box.join("\n")}\n`);
  process.exit(code ?? 1);
});
