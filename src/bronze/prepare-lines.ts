import { isUtf8 } from 'node:buffer';

/** A line that JavaScript settles itself because DuckDB's text reader cannot carry it. */
export interface EarlyReject {
  readonly lineNo: number;
  readonly rawLine: string;
}

/**
 * The longest line strata reads (64 MiB). RFC 8259 §9 lets a parser limit the size of the texts it
 * accepts; a longer line is rejected as malformed_json here (raw text kept in quarantine) instead
 * of failing DuckDB's line reader, which would fail every run that meets the file.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface PreparedText {
  /** Valid UTF-8 without NUL or `\r` bytes nor lines over MAX_LINE_BYTES: safe for DuckDB's line reader, same line numbers. */
  readonly text: Buffer;
  /** Lines rejected as malformed_json here: invalid UTF-8, NUL bytes, a byte-order mark, over MAX_LINE_BYTES. */
  readonly earlyRejects: readonly EarlyReject[];
  /** For lines that held `\r`: the byte offsets within the line, to restore raw text in quarantine. */
  readonly carriageReturns: ReadonlyMap<number, readonly number[]>;
}

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const NUL = 0x00;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Keeps a leading byte-order mark (Buffer#toString drops it) and turns bad bytes into U+FFFD. */
const RAW_DECODER = new TextDecoder('utf-8', { ignoreBOM: true, fatal: false });

/**
 * DuckDB's CSV reader (our fastest way to get raw lines with their numbers) splits on a lone
 * `\r` and fails on invalid UTF-8. So, in place and keeping every line's length:
 * - `\r` becomes `\t`: both are JSON whitespace outside strings and both are invalid raw inside
 *   strings, so the line's validity does not change; offsets are kept to restore the raw text.
 * - a line with invalid UTF-8, a NUL byte or a leading byte-order mark is rejected here
 *   (malformed_json per SPEC §3) and blanked with spaces, which the SQL side skips as blank;
 *   a line over MAX_LINE_BYTES likewise, but cut out (left empty) rather than blanked.
 * Clean files (the usual case) cost one UTF-8 check and two byte searches. `data` holds whole
 * lines, the first of them line `firstLine` of its file.
 */
export function prepareLines(data: Buffer, firstLine = 1): PreparedText {
  const earlyRejects: EarlyReject[] = [];
  const carriageReturns = new Map<number, number[]>();
  const needsScan =
    !isUtf8(data) || data.indexOf(NUL) !== -1 || data.indexOf(BOM) !== -1 || (data.length > MAX_LINE_BYTES && hasLongLine(data));
  if (needsScan) {
    const kept: Buffer[] = [];
    let keptFrom = 0;
    let start = 0;
    let lineNo = firstLine;
    while (start <= data.length) {
      let end = data.indexOf(LF, start);
      if (end === -1) end = data.length;
      const line = data.subarray(start, end);
      if (line.length > MAX_LINE_BYTES) {
        earlyRejects.push({ lineNo, rawLine: RAW_DECODER.decode(line) });
        kept.push(data.subarray(keptFrom, start));
        keptFrom = end;
      } else if (line.length > 0 && (!isUtf8(line) || line.indexOf(NUL) !== -1 || (line[0] === 0xef && line.subarray(0, 3).equals(BOM)))) {
        earlyRejects.push({ lineNo, rawLine: RAW_DECODER.decode(line) });
        line.fill(SPACE);
      }
      start = end + 1;
      lineNo++;
    }
    if (kept.length > 0) data = Buffer.concat([...kept, data.subarray(keptFrom)]);
  }
  let cr = data.indexOf(CR);
  if (cr !== -1) {
    // Line numbers of the \r bytes: count newlines incrementally between hits.
    let lineNo = firstLine;
    let lineStart = 0;
    let scanned = 0;
    while (cr !== -1) {
      let nl = data.indexOf(LF, scanned);
      while (nl !== -1 && nl < cr) {
        lineNo++;
        lineStart = nl + 1;
        nl = data.indexOf(LF, nl + 1);
      }
      scanned = lineStart;
      let offsets = carriageReturns.get(lineNo);
      if (!offsets) carriageReturns.set(lineNo, (offsets = []));
      offsets.push(cr - lineStart);
      data[cr] = TAB;
      cr = data.indexOf(CR, cr + 1);
    }
  }
  return { text: data, earlyRejects, carriageReturns };
}

function hasLongLine(data: Buffer): boolean {
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(LF, start);
    if (end === -1) end = data.length;
    if (end - start > MAX_LINE_BYTES) return true;
    start = end + 1;
  }
  return false;
}

/** Puts back the `\r` bytes that prepareLines turned into tabs, for a quarantined line's raw text. */
export function restoreCarriageReturns(line: string, offsets: readonly number[] | undefined): string {
  if (!offsets) return line;
  const bytes = Buffer.from(line, 'utf8');
  for (const offset of offsets) if (bytes[offset] === TAB) bytes[offset] = CR;
  return RAW_DECODER.decode(bytes);
}
