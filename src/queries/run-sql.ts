import { Db } from '../db/duckdb.js';
import { UserError, errorMessage } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { ensureCatalog } from '../catalog/refresh-catalog.js';
import { openWarehouseSnapshot } from './run-query.js';

export interface SqlColumn {
  readonly name: string;
  /** DuckDB type name: VARCHAR, BIGINT, DECIMAL, TIMESTAMP, LIST, ... */
  readonly type: string;
}

export interface SqlResult {
  readonly columns: readonly SqlColumn[];
  /** JSON-safe values; BIGINT, HUGEINT and DECIMAL as exact text, timestamps as text. */
  readonly rows: readonly unknown[][];
}

const ALLOWED = 'SELECT';

/**
 * Runs one user query against the catalog, read-only by construction, in layers:
 *   1. the catalog is opened with access_mode READ_ONLY (no CREATE/INSERT/UPDATE/DROP on it);
 *   2. the statement must be a single SELECT (or EXPLAIN of one): COPY, ATTACH, SET, INSTALL,
 *      LOAD, CREATE TEMP, PRAGMA and friends are refused before anything runs;
 *   3. DuckDB may only open the files the views read (allowed_paths / allowed_directories), then
 *      external access is switched off and the configuration locked, so read_text('/etc/passwd')
 *      or a SET that would undo it fail inside DuckDB too.
 */
export async function runReadOnlySql(warehouse: Storage, sql: string): Promise<SqlResult> {
  if (sql.trim() === '') throw new UserError('sql: the query is empty');
  const snapshot = await openWarehouseSnapshot(warehouse);
  const catalog = await ensureCatalog(warehouse, snapshot);
  let db: Db;
  try {
    db = await Db.open({ path: catalog.path, readOnly: true });
  } catch (err) {
    throw new UserError(`sql: cannot open the catalog ${catalog.path}: ${firstLine(err)} (another program may hold it open for writing; use duckdb -readonly)`);
  }
  try {
    await db.confine({ paths: catalog.info.readPaths, directories: catalog.info.readDirectories });
    await assertReadOnly(db, sql);
    const result = await userSql(() => db.table(sql));
    return { columns: result.names.map((name, i) => ({ name, type: result.types[i] ?? 'UNKNOWN' })), rows: result.rows };
  } finally {
    db.close();
  }
}

async function assertReadOnly(db: Db, sql: string): Promise<void> {
  const kinds = await userSql(() => db.statementKinds(sql));
  if (kinds.length === 0) throw new UserError('sql: the query is empty');
  if (kinds.length > 1) throw new UserError(`sql: one statement at a time, got ${kinds.length}`);
  const kind = kinds[0]!;
  if (kind === ALLOWED) return;
  if (kind === 'EXPLAIN') {
    // EXPLAIN ANALYZE runs its statement: the statement inside must be a SELECT too.
    const inner = /^\s*explain\s+(?:analyze\s+)?([\s\S]*)$/i.exec(sql)?.[1];
    const innerKinds = inner === undefined ? [] : await userSql(() => db.statementKinds(inner));
    if (innerKinds.length === 1 && innerKinds[0] === ALLOWED) return;
  }
  throw new UserError(`sql: only read-only queries are allowed (a single SELECT), this is ${article(kind)} ${kind.replaceAll('_', ' ')} statement`);
}

function article(word: string): string {
  return /^[AEIOU]/i.test(word) ? 'an' : 'a';
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0]!.trim();
}

/** DuckDB's complaints about the user's SQL are user errors, shown as one line. */
async function userSql<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UserError) throw err;
    const line = firstLine(err);
    if (/disabled by configuration|configuration has been locked/i.test(line)) {
      throw new UserError(`sql: refused, only the warehouse's tables can be read: ${line}`);
    }
    if (/read-only mode/i.test(line)) throw new UserError(`sql: refused, the catalog is read-only: ${line}`);
    throw new UserError(`sql: ${line}`);
  }
}
