import { withDb } from '../db/duckdb.js';
import { sqlString, sqlStringList } from '../db/sql.js';
import { REJECT_REASONS, type RejectReason, type Snapshot } from '../ledger/types.js';
import { localPaths } from '../storage/local-copy.js';
import type { Storage } from '../storage/storage.js';

export interface ReasonCount {
  readonly reason: RejectReason;
  readonly rows: number;
}

export interface QuarantinedLine {
  readonly source_file: string;
  readonly source_line: number;
  readonly reason: string;
  readonly raw_line: string;
  readonly run_id: string;
  readonly ingested_at: string;
}

/** Rejected lines by reason over every committed run, every reason listed, most frequent first. */
export function quarantineReasons(snapshot: Snapshot): ReasonCount[] {
  const totals = new Map<RejectReason, number>(REJECT_REASONS.map((r) => [r, 0]));
  for (const run of snapshot.runs) {
    if (run.kind !== 'etl') continue;
    for (const reason of REJECT_REASONS) totals.set(reason, totals.get(reason)! + (run.rejected[reason] ?? 0));
  }
  return [...totals].map(([reason, rows]) => ({ reason, rows })).sort((a, b) => b.rows - a.rows || (a.reason < b.reason ? -1 : 1));
}

/**
 * The most recently quarantined lines, read from the committed quarantine Parquet files. Without
 * a reason filter only the newest files that can fill `limit` are read.
 */
export async function quarantineSample(
  warehouse: Storage,
  snapshot: Snapshot,
  options: { limit: number; reason?: string },
): Promise<QuarantinedLine[]> {
  const files = snapshot.dataFiles.filter((f) => f.table === 'quarantine' && f.rows > 0);
  const chosen: string[] = [];
  let rows = 0;
  for (let i = files.length - 1; i >= 0 && (options.reason !== undefined || rows < options.limit); i--) {
    chosen.push(files[i]!.key);
    rows += files[i]!.rows;
  }
  if (chosen.length === 0) return [];
  const paths = await localPaths(warehouse, chosen);
  const where = options.reason === undefined ? '' : `WHERE reason = ${sqlString(options.reason)}`;
  return withDb({ threads: 1 }, async (db) => {
    const out = await db.json(
      `SELECT source_file, CAST(source_line AS BIGINT) AS source_line, reason, raw_line, run_id,
              CAST(ingested_at AS VARCHAR) AS ingested_at
         FROM read_parquet(${sqlStringList(paths)}) ${where}
        ORDER BY ingested_at DESC, source_file, source_line
        LIMIT ${Math.trunc(options.limit)}`,
    );
    return out.map((r) => ({ ...r, source_line: Number(r.source_line) }) as unknown as QuarantinedLine);
  });
}
