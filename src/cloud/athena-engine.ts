import {
  AthenaClient,
  type ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecution,
  type Row,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { UserError } from '../errors.js';
import { awsUserError } from './aws-errors.js';
import { athenaQuerySql } from './athena-queries.js';
import type { QueryRange } from './athena-range.js';
import { DEFAULT_ANALYTICS_DATABASE } from './glue-schema.js';

export type AthenaValue = string | number | null;
export type AthenaRow = Record<string, AthenaValue>;

/*
 * Settings (README "Running on AWS"); an option beats the variable, the variable the default:
 *
 *   STRATA_ATHENA_WORKGROUP  workgroup to run in (default "primary"; the CDK stack makes "strata",
 *                            which enforces its result location and a per-query scan limit)
 *   STRATA_ATHENA_OUTPUT     s3:// folder for result files; needed unless the workgroup sets one
 *   STRATA_ATHENA_DATABASE   Glue database of `events` (default strata_analytics)
 *   STRATA_ATHENA_CATALOG    data catalog (default AwsDataCatalog)
 *   AWS_REGION and the SDK's credential chain, as for S3.
 */
export interface AthenaOptions {
  /** A client to use; one is made (and destroyed) per call otherwise. */
  readonly client?: AthenaClient;
  readonly region?: string;
  readonly workgroup?: string;
  readonly outputLocation?: string;
  readonly database?: string;
  readonly catalog?: string;
  /** Give up (and stop the query) after this long; default 5 minutes. */
  readonly timeoutMs?: number;
  /** First wait between polls; it grows by half each time up to `maxPollMs`. */
  readonly pollMs?: number;
  readonly maxPollMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Seams for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface AthenaConfig {
  readonly workgroup: string;
  readonly outputLocation: string | undefined;
  readonly database: string;
  readonly catalog: string;
  readonly region: string | undefined;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly maxPollMs: number;
}

export interface AthenaColumn {
  readonly name: string;
  readonly type: string;
}

export interface AthenaResult {
  readonly queryExecutionId: string;
  readonly columns: readonly AthenaColumn[];
  readonly rows: AthenaRow[];
  readonly dataScannedBytes: number | undefined;
  readonly engineMs: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const PAGE_SIZE = 1000;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

export function athenaConfig(options: AthenaOptions = {}): AthenaConfig {
  const env = options.env ?? process.env;
  const outputLocation = nonEmpty(options.outputLocation) ?? nonEmpty(env.STRATA_ATHENA_OUTPUT);
  if (outputLocation !== undefined && !/^s3:\/\/[^/]+/.test(outputLocation)) {
    throw new UserError(`Athena output location must be an s3:// URI, got ${JSON.stringify(outputLocation)}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new UserError(`Athena timeout must be greater than zero, got ${timeoutMs}`);
  return Object.freeze({
    workgroup: nonEmpty(options.workgroup) ?? nonEmpty(env.STRATA_ATHENA_WORKGROUP) ?? 'primary',
    outputLocation,
    database: nonEmpty(options.database) ?? nonEmpty(env.STRATA_ATHENA_DATABASE) ?? DEFAULT_ANALYTICS_DATABASE,
    catalog: nonEmpty(options.catalog) ?? nonEmpty(env.STRATA_ATHENA_CATALOG) ?? 'AwsDataCatalog',
    region: nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
    timeoutMs,
    pollMs: options.pollMs ?? 250,
    maxPollMs: options.maxPollMs ?? 3000,
  });
}

const NUMERIC = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint', 'decimal', 'double', 'real', 'float']);
const INTEGRAL = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint']);

/**
 * One value of GetQueryResults by the column's type: Athena sends every value as text, and NULL as
 * a datum without text. Integers and decimals become numbers; an integer beyond 2^53 stays text
 * rather than lose digits. Everything else (varchar, date, timestamp, boolean, ...) stays text.
 */
export function convertValue(type: string, text: string | undefined): AthenaValue {
  if (text === undefined) return null;
  const base = type.toLowerCase().replace(/\(.*$/, '').trim();
  if (!NUMERIC.has(base)) return text;
  const value = Number(text);
  if (INTEGRAL.has(base) && !Number.isSafeInteger(value)) return text;
  return value;
}

function columnsOf(info: readonly ColumnInfo[] | undefined): AthenaColumn[] {
  return (info ?? []).map((c, i) => ({ name: c.Name ?? c.Label ?? `_col${i}`, type: c.Type ?? 'varchar' }));
}

function rowValues(row: Row): (string | undefined)[] {
  return (row.Data ?? []).map((d) => d.VarCharValue);
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one statement to the end: start, poll with growing waits, then read every page. */
export async function executeAthena(sql: string, options: AthenaOptions = {}): Promise<AthenaResult> {
  const config = athenaConfig(options);
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  let client = options.client;
  if (client === undefined) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  client ??= new AthenaClient(config.region === undefined ? {} : { region: config.region });
  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw awsUserError(`athena:${action}`, err);
    }
  };

  try {
    const started = await call(`StartQueryExecution (workgroup ${config.workgroup})`, () =>
      client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: config.workgroup,
          QueryExecutionContext: { Database: config.database, Catalog: config.catalog },
          ...(config.outputLocation === undefined ? {} : { ResultConfiguration: { OutputLocation: config.outputLocation } }),
        }),
      ),
    );
    const id = started.QueryExecutionId;
    if (id === undefined) throw new Error('athena: StartQueryExecution returned no QueryExecutionId');

    const deadline = now() + config.timeoutMs;
    let wait = config.pollMs;
    let execution: QueryExecution | undefined;
    for (;;) {
      const polled = await call(`GetQueryExecution ${id}`, () => client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })));
      execution = polled.QueryExecution;
      const state = execution?.Status?.State;
      if (state === 'SUCCEEDED') break;
      if (state === 'FAILED') {
        const reason = oneLine(execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? 'no reason given');
        throw new UserError(`athena query ${id} failed: ${reason}`);
      }
      if (state === 'CANCELLED') throw new UserError(`athena query ${id} was cancelled`);
      if (now() + wait > deadline) {
        // Best effort: a query left running keeps costing money.
        await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
        throw new UserError(`athena query ${id} did not finish within ${Math.round(config.timeoutMs / 1000)}s and was stopped`);
      }
      await sleep(wait);
      wait = Math.min(Math.round(wait * 1.5), config.maxPollMs);
    }

    let columns: AthenaColumn[] | undefined;
    const rows: AthenaRow[] = [];
    let token: string | undefined;
    let first = true;
    do {
      const page = await call(`GetQueryResults ${id}`, () =>
        client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: PAGE_SIZE, ...(token === undefined ? {} : { NextToken: token }) })),
      );
      columns ??= columnsOf(page.ResultSet?.ResultSetMetadata?.ColumnInfo);
      let pageRows = page.ResultSet?.Rows ?? [];
      if (first && pageRows.length > 0 && hasHeaderRow(execution, columns, pageRows[0]!)) pageRows = pageRows.slice(1);
      first = false;
      for (const row of pageRows) {
        const values = rowValues(row);
        const record: AthenaRow = {};
        columns.forEach((c, i) => (record[c.name] = convertValue(c.type, values[i])));
        rows.push(record);
      }
      token = page.NextToken;
    } while (token !== undefined);

    return {
      queryExecutionId: id,
      columns: columns ?? [],
      rows,
      dataScannedBytes: execution?.Statistics?.DataScannedInBytes,
      engineMs: execution?.Statistics?.EngineExecutionTimeInMillis,
    };
  } finally {
    if (options.client === undefined) client.destroy();
  }
}

/**
 * The first row of a SELECT's first page repeats the column names. Other statements (SHOW, DDL)
 * have none; when Athena does not say which kind ran, compare the row with the names.
 */
function hasHeaderRow(execution: QueryExecution | undefined, columns: readonly AthenaColumn[], row: Row): boolean {
  if (execution?.StatementType === 'DML') return true;
  if (execution?.StatementType !== undefined) return false;
  const values = rowValues(row);
  return values.length === columns.length && columns.every((c, i) => values[i] === c.name);
}

/** Any statement; rows keyed by column name in the order Athena returns them. */
export async function runAthenaSql(sql: string, options: AthenaOptions = {}): Promise<AthenaRow[]> {
  return (await executeAthena(sql, options)).rows;
}

/** A business query of SPEC §6 on Athena: the same keys, order and number types as the local engine. */
export async function runAthenaQuery(name: string, range: QueryRange, options: AthenaOptions = {}): Promise<AthenaRow[]> {
  return runAthenaSql(athenaQuerySql(name, range), options);
}
