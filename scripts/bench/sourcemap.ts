/**
 * Just enough of Source Map v3 for the bench's breakdowns: which source file made each span of a generated
 * file (esbuild's output), from its `mappings`. No dependency: the VLQ decoding is a dozen lines.
 *
 * @see https://tc39.es/ecma426/
 */

export interface SourceMap {
  sources: string[];
  mappings: string;
}

/** One mapping: from this generated line and column (0-based, UTF-16 units) on, the text is `source`'s. */
export interface Segment {
  line: number;
  column: number;
  /** Index into the map's `sources`, or -1 for text the map gives no source (esbuild's own glue). */
  source: number;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** The numbers of one segment's base64 VLQ text. */
function vlq(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = DIGIT.get(c);
    if (digit === undefined) throw new Error(`bad VLQ digit ${JSON.stringify(c)}`);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Every segment of a map, in generated order (line, then column). */
export function segments(map: SourceMap): Segment[] {
  const out: Segment[] = [];
  let source = 0;
  map.mappings.split(";").forEach((lineText, line) => {
    let column = 0;
    for (const segmentText of lineText.split(",")) {
      if (segmentText === "") continue;
      const fields = vlq(segmentText);
      column += fields[0]!;
      if (fields.length >= 4) {
        source += fields[1]!;
        out.push({ line, column, source });
      } else out.push({ line, column, source: -1 });
    }
  });
  return out;
}

/** Looks up the source of generated positions (a CPU profile's call frames), by line then column. */
export function sourceLookup(map: SourceMap): (line: number, column: number) => string | undefined {
  const byLine: Segment[][] = [];
  for (const segment of segments(map)) (byLine[segment.line] ??= []).push(segment);
  return (line, column) => {
    // The last segment at or before the position, on its line or an earlier one.
    for (let l = line; l >= 0; l--) {
      const onLine = byLine[l];
      if (!onLine) continue;
      for (let i = onLine.length - 1; i >= 0; i--) {
        const segment = onLine[i]!;
        if (l < line || segment.column <= column) return segment.source < 0 ? undefined : map.sources[segment.source];
      }
    }
    return undefined;
  };
}

/**
 * The generated text cut into spans of one source each, in order: where a span starts and ends (string
 * indices into `text`) and its source, or undefined for text no mapping claims.
 */
export function sourceSpans(
  text: string,
  map: SourceMap,
): { start: number; end: number; source: string | undefined }[] {
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const spans: { start: number; end: number; source: string | undefined }[] = [];
  let at = 0;
  let current: string | undefined;
  const close = (end: number) => {
    if (end <= at) return;
    const last = spans.at(-1);
    if (last && last.source === current) last.end = end;
    else spans.push({ start: at, end, source: current });
    at = end;
  };
  for (const segment of segments(map)) {
    const offset = (lineStarts[segment.line] ?? text.length) + segment.column;
    close(offset);
    current = segment.source < 0 ? undefined : map.sources[segment.source];
  }
  close(text.length);
  return spans;
}
