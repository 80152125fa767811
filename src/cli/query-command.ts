import { Option, type Command } from 'commander';
import type { AthenaOptions } from '../cloud/athena-engine.js';
import { resolveRoots } from '../config.js';
import { latestVersion } from '../ledger/log.js';
import { QUERIES, QUERY_NAMES, parseLimit, parseQueryName, parseTimeRange, runBusinessQuery } from '../queries/run-query.js';
import { runReadOnlySql, type SqlResult } from '../queries/run-sql.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { formatResult, parseFormat, type OutputColumn, type ResultSet } from './output.js';
import { keepCatalogCurrent } from './catalog-command.js';
import { runCommand } from './run-command.js';

interface EngineOptions {
  engine: string;
  workgroup?: string;
  output?: string;
  database?: string;
}

interface QueryOptions extends EngineOptions {
  warehouse?: string;
  from?: string;
  to?: string;
  limit?: string;
  format: string;
}

export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description(`run a business query: ${QUERY_NAMES.join(', ')}`)
    .argument('<name>', `one of ${QUERY_NAMES.join(', ')}`)
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--from <time>', 'from this event time, inclusive (ISO date or timestamp; UTC unless it has an offset)')
    .option('--to <time>', 'up to this event time, exclusive')
    .option('--limit <n>', 'top_products: how many products (default 10)')
    .option('--format <format>', 'table, csv or json', 'table');
  addEngineOptions(query).action(
    runCommand(async (nameText: string, options: QueryOptions) => {
      // Every input is checked before the warehouse is touched.
      const name = parseQueryName(nameText);
      const format = parseFormat(options.format);
      parseTimeRange(options);
      const limit = parseLimit(options.limit);
      const range = { from: options.from, to: options.to, limit };
      let rows;
      if (options.engine === 'athena') {
        const { runAthenaQuery } = await import('../cloud/athena-engine.js');
        rows = await runAthenaQuery(name, range, athenaOptions(options));
      } else {
        const warehouse = await openStorage(resolveRoots(options).warehouse);
        rows = await againIfMovedOn(warehouse, () => runBusinessQuery(warehouse, name, range));
        await keepCatalogCurrent(warehouse);
      }
      const columns: OutputColumn[] = QUERIES[name].columns.map((c) => ({
        name: c.name,
        kind: c.kind === 'text' ? 'text' : c.kind === 'money' ? 'money' : 'number',
      }));
      const result: ResultSet = { columns, rows: rows.map((row) => columns.map((c) => row[c.name] ?? null)) };
      process.stdout.write(formatResult(result, format, { tty: process.stdout.isTTY }));
    }),
  );

  const sql = program
    .command('sql')
    .description('run one read-only SQL query on the catalog (tables: events, quarantine, bronze_events, runs, files, data_files)')
    .argument('<query>', 'a single SELECT')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--format <format>', 'table, csv or json', 'table');
  addEngineOptions(sql).action(
    runCommand(async (query: string, options: EngineOptions & { warehouse?: string; format: string }) => {
      const format = parseFormat(options.format);
      if (options.engine === 'athena') {
        // Athena enforces its own permissions; strata passes the statement through as written.
        const { executeAthena } = await import('../cloud/athena-engine.js');
        const result = await executeAthena(query, athenaOptions(options));
        const columns: OutputColumn[] = result.columns.map((c) => ({ name: c.name, kind: /int|decimal|double|float|real/i.test(c.type) ? 'number' : 'text' }));
        process.stdout.write(formatResult({ columns, rows: result.rows.map((r) => columns.map((c) => r[c.name] ?? null)) }, format, { tty: process.stdout.isTTY }));
        return;
      }
      const warehouse = await openStorage(resolveRoots(options).warehouse);
      const result = await againIfMovedOn(warehouse, () => runReadOnlySql(warehouse, query));
      process.stdout.write(formatResult(sqlResultSet(result), format, { tty: process.stdout.isTTY }));
    }),
  );
}

/**
 * A query reads the files of one committed version. If a commit lands meanwhile, a compaction may
 * delete files the query is still to open, and it fails; the warehouse then holds a newer version,
 * so the query runs again on that one (at most three times). A failure with no new commit is the
 * query's own and is reported at once.
 */
async function againIfMovedOn<T>(warehouse: Storage, body: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const before = await logVersion(warehouse);
    try {
      return await body();
    } catch (err) {
      if (attempt >= 3 || (await logVersion(warehouse)) === before) throw err;
    }
  }
}

/** The newest commit's version, from the log's key names alone. */
async function logVersion(warehouse: Storage): Promise<number> {
  try {
    return await latestVersion(warehouse);
  } catch {
    // An unreachable warehouse: the query itself reports it.
    return 0;
  }
}

/** `--engine duckdb|athena` and Athena's settings (options beat STRATA_ATHENA_* variables). */
function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <engine>', 'where the query runs: duckdb (local, default) or athena').choices(['duckdb', 'athena']).default('duckdb'))
    .option('--workgroup <name>', 'athena: workgroup (env STRATA_ATHENA_WORKGROUP)')
    .option('--output <s3uri>', 'athena: result location (env STRATA_ATHENA_OUTPUT)')
    .option('--database <name>', 'athena: database (env STRATA_ATHENA_DATABASE)');
}

function athenaOptions(options: EngineOptions): AthenaOptions {
  return { workgroup: options.workgroup, outputLocation: options.output, database: options.database };
}

const NUMBER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'FLOAT', 'DOUBLE']);
const EXACT_TYPES = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT', 'DECIMAL']);

function sqlResultSet(result: SqlResult): ResultSet {
  const columns: OutputColumn[] = result.columns.map((c) => ({
    name: c.name,
    kind: NUMBER_TYPES.has(c.type) ? 'number' : EXACT_TYPES.has(c.type) ? 'exact' : 'text',
  }));
  return { columns, rows: result.rows as ResultSet['rows'] };
}
