import { cleanLine, REASONS, type Reason, type RefRow } from './clean-line.js';

/**
 * SPEC §3 and §5 over whole files and successive runs: lines split on `\n` only, numbered from 1
 * counting blank ones; within a run files go in path order; an event id held by an earlier valid
 * line (this run or any earlier one) makes a duplicate.
 */

export interface RefFileOutcome {
  lines: number;
  valid: number;
  duplicates: number;
  rejected: Record<Reason, number>;
}

export interface RefRunReport {
  readonly files: ReadonlyMap<string, RefFileOutcome>;
  readonly lines: number;
  readonly valid: number;
  readonly duplicates: number;
  readonly rejected: Record<Reason, number>;
  readonly newFields: readonly string[];
}

export interface RefSilverRow extends RefRow {
  readonly source_file: string;
  readonly source_line: number;
}

export interface RefQuarantineRow {
  readonly source_file: string;
  readonly source_line: number;
  readonly reason: Reason;
  readonly raw: string;
}

const emptyCounts = (): Record<Reason, number> => Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<Reason, number>;

/** Splits decompressed bytes into lines on `\n` (never on a lone `\r`). */
export function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const end = data.indexOf(0x0a, start);
    if (end === -1) {
      lines.push(data.subarray(start));
      return lines;
    }
    lines.push(data.subarray(start, end));
    start = end + 1;
  }
}

/** A warehouse as the SPEC describes it, fed run by run. */
export class ReferenceWarehouse {
  readonly silver = new Map<string, RefSilverRow>();
  readonly quarantine: RefQuarantineRow[] = [];
  readonly fieldsSeen = new Set<string>();

  /** One etl run over these files (path relative to the bronze root -> decompressed bytes). */
  run(files: ReadonlyMap<string, Buffer>): RefRunReport {
    const report = { files: new Map<string, RefFileOutcome>(), lines: 0, valid: 0, duplicates: 0, rejected: emptyCounts(), newFields: [] as string[] };
    const newFields = new Set<string>();
    for (const file of [...files.keys()].sort(byBytes)) {
      const outcome: RefFileOutcome = { lines: 0, valid: 0, duplicates: 0, rejected: emptyCounts() };
      splitLines(files.get(file)!).forEach((bytes, i) => {
        const o = cleanLine(bytes);
        if (o.kind === 'blank') return;
        outcome.lines++;
        if (o.kind === 'rejected') {
          outcome.rejected[o.reason]++;
          this.quarantine.push({ source_file: file, source_line: i + 1, reason: o.reason, raw: o.raw });
        } else if (this.silver.has(o.row.event_id)) {
          outcome.duplicates++;
        } else {
          outcome.valid++;
          this.silver.set(o.row.event_id, { ...o.row, source_file: file, source_line: i + 1 });
          for (const k of o.row.extraKeys) if (!this.fieldsSeen.has(k)) newFields.add(k);
        }
      });
      report.files.set(file, outcome);
      report.lines += outcome.lines;
      report.valid += outcome.valid;
      report.duplicates += outcome.duplicates;
      for (const r of REASONS) report.rejected[r] += outcome.rejected[r];
    }
    for (const k of newFields) this.fieldsSeen.add(k);
    report.newFields = [...newFields].sort(byBytes);
    return report;
  }
}

/** Byte order of UTF-8 paths (what S3 and strata's listing use); equal to code-unit order for ASCII paths. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
