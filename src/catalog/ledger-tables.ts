import type { Db } from '../db/duckdb.js';
import { sqlIdent, sqlString, sqlStringList } from '../db/sql.js';
import { REJECT_REASONS, type RejectCounts, type Snapshot } from '../ledger/types.js';
import type { ColumnDef } from './schema.js';

/** The ledger as plain tables (`runs`, `files`, `data_files`), written from a snapshot. */

type Literal = string;

const text = (v: string | undefined | null): Literal => (v === undefined || v === null ? 'NULL' : sqlString(v));

function int(v: number | undefined | null): Literal {
  if (v === undefined || v === null) return 'NULL';
  if (!Number.isFinite(v)) throw new Error(`ledger holds a non-finite number: ${v}`);
  return String(Math.trunc(v));
}

/** An ISO instant from the ledger as a UTC TIMESTAMP literal. */
function timestamp(v: string | undefined): Literal {
  if (!v) return 'NULL';
  const date = new Date(v);
  if (Number.isNaN(date.getTime())) return 'NULL';
  return `CAST(${sqlString(date.toISOString().replace('T', ' ').replace('Z', ''))} AS TIMESTAMP)`;
}

const list = (values: readonly string[] | undefined): Literal => `CAST(${sqlStringList(values ?? [])} AS VARCHAR[])`;

function rejectedTotal(counts: Partial<RejectCounts> | undefined): number {
  return REJECT_REASONS.reduce((sum, r) => sum + (counts?.[r] ?? 0), 0);
}

/** A STRUCT with one field per reason (`rejected_by_reason.bad_price`), in SPEC order. */
function rejectedStruct(counts: Partial<RejectCounts> | undefined): Literal {
  return `{${REJECT_REASONS.map((r) => `${sqlIdent(r)}: CAST(${int(counts?.[r] ?? 0)} AS BIGINT)`).join(', ')}}`;
}

const REJECTED_TYPE = `STRUCT(${REJECT_REASONS.map((r) => `${sqlIdent(r)} BIGINT`).join(', ')})`;

const RUNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'VARCHAR' },
  { name: 'kind', type: 'VARCHAR' },
  { name: 'started_at', type: 'TIMESTAMP' },
  { name: 'finished_at', type: 'TIMESTAMP' },
  { name: 'duration_ms', type: 'BIGINT' },
  { name: 'files_processed', type: 'BIGINT' },
  { name: 'files_failed', type: 'BIGINT' },
  { name: 'lines', type: 'BIGINT' },
  { name: 'valid', type: 'BIGINT' },
  { name: 'rejected', type: 'BIGINT' },
  { name: 'rejected_by_reason', type: REJECTED_TYPE },
  { name: 'duplicates', type: 'BIGINT' },
  { name: 'partitions_written', type: 'BIGINT' },
  { name: 'new_fields', type: 'VARCHAR[]' },
  { name: 'changed_files', type: 'VARCHAR[]' },
];

const FILES: readonly ColumnDef[] = [
  { name: 'path', type: 'VARCHAR' },
  { name: 'state', type: 'VARCHAR' },
  { name: 'reason', type: 'VARCHAR' },
  { name: 'detail', type: 'VARCHAR' },
  { name: 'size', type: 'BIGINT' },
  { name: 'etag', type: 'VARCHAR' },
  { name: 'run_id', type: 'VARCHAR' },
  { name: 'lines', type: 'BIGINT' },
  { name: 'valid', type: 'BIGINT' },
  { name: 'rejected', type: 'BIGINT' },
  { name: 'rejected_by_reason', type: REJECTED_TYPE },
  { name: 'duplicates', type: 'BIGINT' },
];

const DATA_FILES: readonly ColumnDef[] = [
  { name: 'key', type: 'VARCHAR' },
  { name: 'table_name', type: 'VARCHAR' },
  { name: 'rows', type: 'BIGINT' },
  { name: 'bytes', type: 'BIGINT' },
  { name: 'year', type: 'INTEGER' },
  { name: 'month', type: 'INTEGER' },
  { name: 'day', type: 'INTEGER' },
  { name: 'hour', type: 'INTEGER' },
  { name: 'run_id', type: 'VARCHAR' },
];

async function writeTable(db: Db, name: string, columns: readonly ColumnDef[], rows: readonly Literal[][]): Promise<void> {
  await db.run(`CREATE TABLE ${sqlIdent(name)} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
  const batch = 500;
  for (let i = 0; i < rows.length; i += batch) {
    const values = rows.slice(i, i + batch).map((r) => `(${r.join(', ')})`);
    await db.run(`INSERT INTO ${sqlIdent(name)} VALUES ${values.join(', ')}`);
  }
}

export async function writeLedgerTables(db: Db, snapshot: Snapshot): Promise<void> {
  await writeTable(
    db,
    'runs',
    RUNS,
    snapshot.runs.map((r) => [
      text(r.runId),
      text(r.kind),
      timestamp(r.startedAt),
      timestamp(r.finishedAt),
      int(r.durationMs),
      int(r.filesProcessed),
      int(r.filesFailed),
      int(r.lines),
      int(r.valid),
      int(rejectedTotal(r.rejected)),
      rejectedStruct(r.rejected),
      int(r.duplicates),
      int(r.partitionsWritten),
      list(r.newFields),
      list(r.changedFiles),
    ]),
  );
  const files = [...snapshot.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await writeTable(
    db,
    'files',
    FILES,
    files.map((f) => [
      text(f.path),
      text(f.state),
      text(f.reason),
      text(f.detail),
      int(f.size),
      text(f.etag),
      text(f.runId),
      int(f.lines),
      int(f.valid),
      int(rejectedTotal(f.rejected)),
      rejectedStruct(f.rejected),
      int(f.duplicates),
    ]),
  );
  await writeTable(
    db,
    'data_files',
    DATA_FILES,
    snapshot.dataFiles.map((f) => [
      text(f.key),
      text(f.table),
      int(f.rows),
      int(f.bytes),
      int(f.partition?.year),
      int(f.partition?.month),
      int(f.partition?.day),
      int(f.partition?.hour),
      text(f.runId),
    ]),
  );
}
