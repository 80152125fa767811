import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionOutput,
  GetQueryResultsCommand,
  type GetQueryResultsOutput,
  InvalidRequestException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { athenaConfig, convertValue, executeAthena, runAthenaQuery, runAthenaSql } from '../../src/cloud/athena-engine.js';
import { UserError } from '../../src/errors.js';

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
const env = {}; // never the caller's STRATA_ATHENA_* variables

/** A clock that only moves when the engine sleeps. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return { sleeps, now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)) };
}

const state = (State: string, extra: Record<string, unknown> = {}): GetQueryExecutionOutput => ({
  QueryExecution: { QueryExecutionId: 'q-1', StatementType: 'DML', Status: { State: State as never, ...extra } },
});
const datum = (v: string | undefined) => (v === undefined ? {} : { VarCharValue: v });
const page = (columns: [string, string][], rows: (string | undefined)[][], NextToken?: string): GetQueryResultsOutput => ({
  ResultSet: {
    ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Label: Name, Type })) },
    Rows: rows.map((r) => ({ Data: r.map(datum) })),
  },
  ...(NextToken === undefined ? {} : { NextToken }),
});

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
});
afterAll(() => athena.restore());

describe('executeAthena', () => {
  it('starts the query with workgroup, database, catalog and output location, polls until SUCCEEDED with growing waits', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(state('QUEUED'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolves({ QueryExecution: { ...state('SUCCEEDED').QueryExecution, Statistics: { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 56 } } });
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'bigint']], [['n'], ['7']]));
    const time = fakeTime();
    const result = await executeAthena('SELECT 7 AS n', {
      client,
      env,
      workgroup: 'strata',
      database: 'gold',
      catalog: 'AwsDataCatalog',
      outputLocation: 's3://results/athena/',
      ...time,
    });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryString: 'SELECT 7 AS n',
      WorkGroup: 'strata',
      QueryExecutionContext: { Database: 'gold', Catalog: 'AwsDataCatalog' },
      ResultConfiguration: { OutputLocation: 's3://results/athena/' },
    });
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(4);
    expect(athena.commandCalls(GetQueryExecutionCommand).every((c) => c.args[0].input.QueryExecutionId === 'q-1')).toBe(true);
    expect(time.sleeps).toEqual([250, 375, 563]);
    expect(result).toEqual({ queryExecutionId: 'q-1', columns: [{ name: 'n', type: 'bigint' }], rows: [{ n: 7 }], dataScannedBytes: 1234, engineMs: 56 });
  });

  it('caps the wait between polls', async () => {
    const get = athena.on(GetQueryExecutionCommand);
    for (let i = 0; i < 12; i++) get.resolvesOnce(state('RUNNING'));
    get.resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'integer']], [['n']]));
    const time = fakeTime();
    await executeAthena('SELECT 1 AS n', { client, env, ...time, maxPollMs: 1000 });
    expect(Math.max(...time.sleeps)).toBe(1000);
    expect(time.sleeps.slice(-3)).toEqual([1000, 1000, 1000]);
  });

  it('reads every page, skipping only the header row of the first one', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    const columns: [string, string][] = [['product_id', 'varchar'], ['page_views', 'bigint']];
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(page(columns, [['product_id', 'page_views'], ['p1', '9'], ['p2', '8']], 'token-2'))
      .resolvesOnce(page(columns, [['p3', '7'], ['product_id', 'page_views']], 'token-3'))
      .resolvesOnce(page(columns, [['p4', '1']]));
    const rows = await runAthenaSql('SELECT ...', { client, env, ...fakeTime() });
    expect(rows).toEqual([
      { product_id: 'p1', page_views: 9 },
      { product_id: 'p2', page_views: 8 },
      { product_id: 'p3', page_views: 7 },
      { product_id: 'product_id', page_views: 'page_views' },
      { product_id: 'p4', page_views: 1 },
    ]);
    const inputs = athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { QueryExecutionId: 'q-1', MaxResults: 1000 },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: 'token-2' },
      { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: 'token-3' },
    ]);
  });

  it('keeps the first row of statements that have no header (SHOW, DDL)', async () => {
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { StatementType: 'UTILITY', Status: { State: 'SUCCEEDED' } } });
    athena.on(GetQueryResultsCommand).resolves(page([['tab_name', 'varchar']], [['events'], ['quarantine']]));
    expect(await runAthenaSql('SHOW TABLES', { client, env, ...fakeTime() })).toEqual([{ tab_name: 'events' }, { tab_name: 'quarantine' }]);
  });

  it('converts values by column type, NULL included', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    const columns: [string, string][] = [
      ['hour', 'varchar'], ['purchases', 'bigint'], ['revenue', 'decimal'], ['avg', 'double'], ['n', 'integer'],
      ['d', 'date'], ['ts', 'timestamp'], ['ok', 'boolean'], ['big', 'bigint'], ['empty', 'varchar'],
    ];
    athena.on(GetQueryResultsCommand).resolves(
      page(columns, [
        columns.map(([n]) => n),
        ['2024-03-05T07:00:00Z', '12', '1234.50', '0.25', '-3', '2024-03-05', '2024-03-05 07:00:00.000', 'true', '9007199254740993', ''],
        [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined],
      ]),
    );
    const rows = await runAthenaSql('SELECT ...', { client, env, ...fakeTime() });
    expect(rows[0]).toEqual({
      hour: '2024-03-05T07:00:00Z', purchases: 12, revenue: 1234.5, avg: 0.25, n: -3,
      d: '2024-03-05', ts: '2024-03-05 07:00:00.000', ok: 'true', big: '9007199254740993', empty: '',
    });
    expect(Object.keys(rows[0]!)).toEqual(columns.map(([n]) => n));
    expect(Object.values(rows[1]!).every((v) => v === null)).toBe(true);
  });

  it('returns no rows for an empty result', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'bigint']], [['n']]));
    expect(await runAthenaSql('SELECT ...', { client, env, ...fakeTime() })).toEqual([]);
  });

  it('fails with the StateChangeReason, on one line', async () => {
    athena.on(GetQueryExecutionCommand).resolvesOnce(state('RUNNING')).resolves(
      state('FAILED', { StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope'\ncannot be resolved" }),
    );
    const err = await runAthenaSql('SELECT nope', { client, env, ...fakeTime() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("athena query q-1 failed: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved");
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('fails on CANCELLED', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('CANCELLED'));
    await expect(runAthenaSql('SELECT 1', { client, env, ...fakeTime() })).rejects.toThrow('athena query q-1 was cancelled');
  });

  it('stops a query that outlives the timeout', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const time = fakeTime();
    const err = await runAthenaSql('SELECT 1', { client, env, timeoutMs: 10_000, ...time }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('athena query q-1 did not finish within 10s and was stopped');
    expect(athena.commandCalls(StopQueryExecutionCommand)[0]!.args[0].input).toEqual({ QueryExecutionId: 'q-1' });
    expect(time.now()).toBeLessThanOrEqual(10_000);
  });

  it('turns a refused start into a one-line UserError', async () => {
    athena.on(StartQueryExecutionCommand).rejects(new InvalidRequestException({ message: 'WorkGroup strata is not found', $metadata: { httpStatusCode: 400 } }));
    await expect(runAthenaSql('SELECT 1', { client, env, workgroup: 'strata' })).rejects.toThrow(
      'athena:StartQueryExecution (workgroup strata): InvalidRequestException: WorkGroup strata is not found',
    );
    athena.on(StartQueryExecutionCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    await expect(runAthenaSql('SELECT 1', { client, env })).rejects.toThrow(/access denied/);
  });
});

describe('athena configuration', () => {
  it('reads STRATA_ATHENA_* when no option is given, options win', () => {
    const vars = {
      STRATA_ATHENA_WORKGROUP: 'wg',
      STRATA_ATHENA_OUTPUT: 's3://out/prefix/',
      STRATA_ATHENA_DATABASE: 'db',
      STRATA_ATHENA_CATALOG: 'cat',
      AWS_REGION: 'ap-south-1',
    };
    expect(athenaConfig({ env: vars })).toMatchObject({ workgroup: 'wg', outputLocation: 's3://out/prefix/', database: 'db', catalog: 'cat', region: 'ap-south-1' });
    expect(athenaConfig({ env: vars, workgroup: 'other', database: 'x' })).toMatchObject({ workgroup: 'other', database: 'x' });
    expect(athenaConfig({ env: {} })).toMatchObject({ workgroup: 'primary', outputLocation: undefined, database: 'strata_analytics', catalog: 'AwsDataCatalog' });
  });

  it('leaves the output location to the workgroup when none is set', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([['n', 'bigint']], [['n']]));
    await runAthenaSql('SELECT 1', { client, env: { STRATA_ATHENA_WORKGROUP: 'strata' }, ...fakeTime() });
    const input = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input;
    expect(input.WorkGroup).toBe('strata');
    expect(input.ResultConfiguration).toBeUndefined();
  });

  it('refuses an output location that is not on S3', () => {
    expect(() => athenaConfig({ env: { STRATA_ATHENA_OUTPUT: '/tmp/out' } })).toThrow(UserError);
  });
});

describe('runAthenaQuery', () => {
  it('sends the business query with the range and limit', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([['product_id', 'varchar'], ['page_views', 'bigint']], [['product_id', 'page_views'], ['p1', '3']]));
    const rows = await runAthenaQuery('top_products', { from: '2024-03-05', to: '2024-03-06', limit: 5 }, { client, env, ...fakeTime() });
    expect(rows).toEqual([{ product_id: 'p1', page_views: 3 }]);
    const sql = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input.QueryString!;
    expect(sql).toContain("event_time >= TIMESTAMP '2024-03-05 00:00:00.000000'");
    expect(sql).toContain("event_time < TIMESTAMP '2024-03-06 00:00:00.000000'");
    expect(sql).toMatch(/LIMIT 5$/);
  });

  it('refuses an unknown name or a bad date before calling Athena', async () => {
    await expect(runAthenaQuery('revenue', {}, { client, env })).rejects.toThrow(/unknown query "revenue"; expected one of funnel, hourly_revenue/);
    await expect(runAthenaQuery('funnel', { from: '2024-02-30' }, { client, env })).rejects.toThrow(/--from: expected an ISO date/);
    expect(athena.calls()).toHaveLength(0);
  });
});

describe('convertValue', () => {
  it('handles parameterised and odd type names', () => {
    expect(convertValue('decimal(38,2)', '10.10')).toBe(10.1);
    expect(convertValue('DOUBLE', 'NaN')).toBeNaN();
    expect(convertValue('real', '1.5')).toBe(1.5);
    expect(convertValue('varchar(10)', '12')).toBe('12');
    expect(convertValue('array(varchar)', '[a, b]')).toBe('[a, b]');
    expect(convertValue('bigint', undefined)).toBeNull();
  });
});
