import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import type { Db } from '../db/duckdb.js';
import { sqlIdent, sqlString } from '../db/sql.js';
import { REJECT_REASONS, type RejectCounts, type Snapshot } from '../ledger/types.js';
import type { ColumnDef } from './schema.js';

/** The ledger as plain tables (`runs`, `files`, `data_files`), written from a snapshot. */

/** A cell as JSON: DuckDB's JSON reader casts it to the column's declared type. */
type Cell = string | number | null | readonly string[] | Record<string, number>;

const text = (v: string | undefined | null): Cell => v ?? null;

function int(v: number | undefined | null): Cell {
  if (v === undefined || v === null) return null;
  if (!Number.isFinite(v)) throw new Error(`ledger holds a non-finite number: ${v}`);
  return Math.trunc(v);
}

/** An ISO instant from the ledger as UTC TIMESTAMP text, NULL when it is not one. */
function timestamp(v: string | undefined): Cell {
  if (!v) return null;
  const date = new Date(v);
  if (Number.isNaN(date.getTime())) return null;
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

const list = (values: readonly string[] | undefined): Cell => values ?? [];

function rejectedTotal(counts: Partial<RejectCounts> | undefined): number {
  return REJECT_REASONS.reduce((sum, r) => sum + (counts?.[r] ?? 0), 0);
}

/** One field per reason (`rejected_by_reason.bad_price`), in SPEC order. */
function rejectedStruct(counts: Partial<RejectCounts> | undefined): Cell {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, counts?.[r] ?? 0]));
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

/**
 * Loads rows through a JSON lines file named `${tempPrefix}...`: a ledger grows by a row or two
 * each run, and INSERT statements of literals cost DuckDB 0.9 s to parse for 2,000 runs.
 */
async function writeTable(db: Db, tempPrefix: string, name: string, columns: readonly ColumnDef[], rows: readonly Cell[][]): Promise<void> {
  await db.run(`CREATE TABLE ${sqlIdent(name)} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
  if (rows.length === 0) return;
  const file = `${tempPrefix}${name}-${randomBytes(6).toString('hex')}.json`;
  await writeFile(file, `${rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i] ?? null])))).join('\n')}\n`);
  try {
    const types = `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
    await db.run(`INSERT INTO ${sqlIdent(name)} SELECT * FROM read_json(${sqlString(file)}, format = 'newline_delimited', columns = ${types})`);
  } finally {
    await rm(file, { force: true });
  }
}

/** `tempPrefix`: a path prefix for the files the tables load from, removed after. */
export async function writeLedgerTables(db: Db, snapshot: Snapshot, tempPrefix: string): Promise<void> {
  await writeTable(
    db,
    tempPrefix,
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
    tempPrefix,
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
    tempPrefix,
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
