/**
 * Issue 22's targets ("Numbers to hold") against one `npm run bench`: a Markdown table, a row per target, with
 * this run's figure, the peer's figure of the same run and the verdict. It reports; it never fails the bench.
 */
import { type PeerFigures, pairedRatio } from "../bench-peers";
import type { NamedBundle, PEER_BUNDLES } from "./bundles";
import { median } from "./stats";

export interface Verdict {
  /** The target's short name, for the summary line. */
  name: string;
  /** What the target holds: the time per request, a bundle's size, or the cold import. */
  kind: "request" | "size" | "import";
  target: string;
  measured: string;
  peer: string;
  met: boolean;
  /** Why, after the verdict: by how much, in how many runs. */
  detail: string;
}

const KB = 1024;
const kb = (bytes: number) => `${(bytes / KB).toFixed(2)} KB`;
const ratio = (value: number) => `${value.toFixed(3)}×`;

/** The verdicts of this run, in the order. */
export function verdicts({ runs, sizes, peerBytes, imports }: PeerFigures): Verdict[] {
  const rows: Verdict[] = [];

  // Per request: this client's ratio to raw fetch at or below oauth4webapi's, in each run.
  const ours = runs.map((run) => run.get("oauth-token-client")!.ratio);
  const peer = runs.map((run) => run.get("oauth4webapi")!.ratio);
  const held = ours.filter((value, i) => value <= peer[i]!).length;
  rows.push({
    name: "per request",
    kind: "request",
    target: `per client_credentials request (packed, paired against raw fetch): × raw fetch at or below oauth4webapi's, in ${runs.length} runs of ${runs.length}`,
    measured: `${ratio(median(ours))} median of the runs (${ours.map(ratio).join(", ")})`,
    peer: `oauth4webapi ${ratio(median(peer))} (${peer.map(ratio).join(", ")})`,
    met: held === runs.length,
    detail: `at or below in ${held} of ${runs.length} runs; paired by round, this client ÷ oauth4webapi: ${runs
      .map((run) => ratio(pairedRatio(run, "oauth-token-client", "oauth4webapi")))
      .join(", ")}`,
  });

  // Sizes: the three bundles issue 22 names.
  const size = (target: string, bundle: NamedBundle & { bytes: number }, limitKb: number, peerText: string) => {
    const over = bundle.bytes - limitKb * KB;
    return {
      name: target,
      kind: "size",
      target: `${target}: at most ${limitKb.toFixed(1)} KB min+gz`,
      measured: `${kb(bundle.bytes)}: "${bundle.label}" (${bundle.source})`,
      peer: peerText,
      met: over <= 0,
      detail: over <= 0 ? `${kb(-over)} to spare` : `${kb(over)} over (${over} B)`,
    } satisfies Verdict;
  };
  const peerKb = (name: keyof typeof PEER_BUNDLES) => kb(peerBytes.get(name)!);
  rows.push(
    size(
      "one client_credentials call",
      sizes.clientCredentials,
      6.0,
      `oauth4webapi's client_credentials: ${peerKb("oauth4webapi")}`,
    ),
    size("the whole `createOAuthClient`", sizes.client, 10, `openid-client's: ${peerKb("openid-client")}`),
    size("with the token manager", sizes.manager, 13, "no peer has one"),
  );

  // Cold import: at or below oauth4webapi's of the same run.
  const ourImport = imports.get("oauth-token-client")!;
  const peerImport = imports.get("oauth4webapi")!;
  const under = ourImport.over <= peerImport.over;
  rows.push({
    name: "cold import",
    kind: "import",
    target: "cold import (packed, ms over an empty node process): at or below oauth4webapi's",
    measured: `${ourImport.over.toFixed(1)} ms (inside its process: ${ourImport.inside.toFixed(1)} ms)`,
    peer: `oauth4webapi ${peerImport.over.toFixed(1)} ms (inside: ${peerImport.inside.toFixed(1)} ms)`,
    met: under,
    detail: `${Math.abs(ourImport.over - peerImport.over).toFixed(1)} ms ${under ? "under" : "over"}; inside the process ${Math.abs(ourImport.inside - peerImport.inside).toFixed(1)} ms ${ourImport.inside <= peerImport.inside ? "under" : "over"}`,
  });
  return rows;
}

/** The closing table, in Markdown, and a line that says how many targets this run met. */
export function closingTable(rows: readonly Verdict[], when: string): string {
  const missed = rows.filter((row) => !row.met);
  return [
    `## Issue 22's targets, this run (${when})`,
    "",
    "| target | measured (this run) | peer figure (same run) | verdict |",
    "| --- | --- | --- | --- |",
    ...rows.map(
      (row) => `| ${row.target} | ${row.measured} | ${row.peer} | ${row.met ? "met" : "**NOT met**"}: ${row.detail} |`,
    ),
    "",
    missed.length === 0
      ? `**All ${rows.length} targets met.**`
      : `**${missed.length} of ${rows.length} targets NOT met: ${missed.map((row) => row.name).join("; ")}.** (1 KB = 1024 B.)`,
  ].join("\n");
}
