import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isBronzeKey } from '../bronze/list-bronze.js';
import { sqlIdent, sqlString, sqlStringList } from '../db/sql.js';

/**
 * The declared schemas of SPEC §2 and §4. Nothing is inferred: every relation strata builds casts
 * each column to its declared type, so a file written by an older or newer writer reads the same.
 */
export interface ColumnDef {
  readonly name: string;
  readonly type: string;
}

const col = (name: string, type: string): ColumnDef => ({ name, type });

export const EVENTS_COLUMNS: readonly ColumnDef[] = [
  col('event_id', 'VARCHAR'),
  col('event_time', 'TIMESTAMP'),
  col('user_id', 'VARCHAR'),
  col('session_id', 'VARCHAR'),
  col('event_type', 'VARCHAR'),
  col('product_id', 'VARCHAR'),
  col('category', 'VARCHAR'),
  col('search_query', 'VARCHAR'),
  col('price', 'DECIMAL(12,2)'),
  col('quantity', 'INTEGER'),
  col('revenue', 'DECIMAL(18,2)'),
  col('event_date', 'DATE'),
  col('extras', 'VARCHAR'),
  col('source_file', 'VARCHAR'),
  col('source_line', 'BIGINT'),
  col('run_id', 'VARCHAR'),
  col('year', 'INTEGER'),
  col('month', 'INTEGER'),
  col('day', 'INTEGER'),
  col('hour', 'INTEGER'),
];

export const QUARANTINE_COLUMNS: readonly ColumnDef[] = [
  col('source_file', 'VARCHAR'),
  col('source_line', 'BIGINT'),
  col('reason', 'VARCHAR'),
  col('raw_line', 'VARCHAR'),
  col('run_id', 'VARCHAR'),
  col('ingested_at', 'TIMESTAMP'),
];

/** A raw event as producers send it (SPEC §2); sloppy values that do not fit read as NULL. */
export const BRONZE_COLUMNS: readonly ColumnDef[] = [
  col('event_id', 'VARCHAR'),
  col('timestamp', 'VARCHAR'),
  col('user_id', 'VARCHAR'),
  col('session_id', 'VARCHAR'),
  col('event_type', 'VARCHAR'),
  col('product_id', 'VARCHAR'),
  col('category', 'VARCHAR'),
  col('price', 'DOUBLE'),
  col('quantity', 'BIGINT'),
  col('search_query', 'VARCHAR'),
];

export const BRONZE_PARTITIONS = ['year', 'month', 'day', 'hour', 'minute'] as const;
const HOUR_PARTITIONS = ['year', 'month', 'day', 'hour'] as const;

const hiveTypes = (names: readonly string[]): string => `{${names.map((n) => `${sqlString(n)}: INTEGER`).join(', ')}}`;

const castList = (columns: readonly ColumnDef[]): string =>
  columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');

/** A typed relation with no rows, for a table that has no committed file yet. */
function emptyRelation(columns: readonly ColumnDef[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} WHERE false`;
}

/**
 * `events` over exactly these Parquet files. Their hive folders (year=/month=/day=/hour=) are
 * read as INTEGER partition columns, so a filter on them skips files without opening them.
 */
export function eventsRelationSql(paths: readonly string[]): string {
  if (paths.length === 0) return emptyRelation(EVENTS_COLUMNS);
  return `SELECT ${castList(EVENTS_COLUMNS)} FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = true, hive_types = ${hiveTypes(HOUR_PARTITIONS)})`;
}

export function quarantineRelationSql(paths: readonly string[]): string {
  if (paths.length === 0) return emptyRelation(QUARANTINE_COLUMNS);
  return `SELECT ${castList(QUARANTINE_COLUMNS)} FROM read_parquet(${sqlStringList(paths)}, hive_partitioning = false)`;
}

/** The glob of complete bronze files under a local bronze root (SPEC §1 layout; dot-named temporaries excluded). */
export function bronzeGlob(root: string): string {
  return `${root.replace(/\/+$/, '')}/${BRONZE_PARTITIONS.map((p) => `${p}=*`).join('/')}/[!.]*.jsonl.gz`;
}

/**
 * Whether bronzeGlob(root) matches a file, stopping at the first: walking a day of minute
 * folders this way costs less than opening DuckDB to expand the whole glob (~40 ms).
 */
export async function hasBronzeFile(root: string, depth = 0): Promise<boolean> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (depth < BRONZE_PARTITIONS.length) {
      if (entry.isDirectory() && entry.name.startsWith(`${BRONZE_PARTITIONS[depth]}=`) && (await hasBronzeFile(path.join(root, entry.name), depth + 1))) return true;
    } else if (entry.isFile() && isBronzeKey(entry.name)) {
      return true;
    }
  }
  return false;
}

/**
 * `bronze_events`: the raw gz JSON lines as they are, for looking at what producers sent.
 * Lines that are not JSON objects read as rows of NULLs; corrupt gzip makes the view fail.
 */
export function bronzeRelationSql(root: string): string {
  const columns = `{${BRONZE_COLUMNS.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
  const select = [
    ...BRONZE_COLUMNS.map((c) => sqlIdent(c.name)),
    ...BRONZE_PARTITIONS.map((p) => `CAST(${sqlIdent(p)} AS INTEGER) AS ${sqlIdent(p)}`),
    `${sqlIdent('filename')} AS ${sqlIdent('bronze_file')}`,
  ].join(', ');
  return (
    `SELECT ${select} FROM read_json(${sqlString(bronzeGlob(root))}, format = 'newline_delimited', ` +
    `compression = 'gzip', ignore_errors = true, filename = true, hive_partitioning = true, ` +
    `hive_types = ${hiveTypes(BRONZE_PARTITIONS)}, columns = ${columns})`
  );
}
