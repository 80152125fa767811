import {
  AccessDeniedException,
  AlreadyExistsException,
  CreateDatabaseCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetDatabaseCommand,
  GetTableCommand,
  GlueClient,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { syncGlueCatalog } from '../../src/cloud/glue-catalog.js';

const glue = mockClient(GlueClient);
const client = new GlueClient({ region: 'eu-west-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
const notFound = () => new EntityNotFoundException({ message: 'not found', $metadata: {} });
const options = { bronze: 's3://strata-raw', warehouse: 's3://strata-analytics/wh' };

/** Names of the commands sent, in order. */
const sent = () => glue.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''));
const tableInput = (name: string, command: typeof CreateTableCommand | typeof UpdateTableCommand = CreateTableCommand): TableInput => {
  const call = glue.commandCalls(command).find((c) => c.args[0].input.TableInput?.Name === name);
  if (!call) throw new Error(`no ${command.name} for ${name}`);
  return call.args[0].input.TableInput!;
};
const columns = (input: TableInput) => input.StorageDescriptor!.Columns!.map((c) => `${c.Name} ${c.Type}`);
const keys = (input: TableInput) => input.PartitionKeys!.map((c) => `${c.Name} ${c.Type}`);

beforeEach(() => glue.reset());
afterAll(() => glue.restore());

describe('syncGlueCatalog on an empty catalog', () => {
  beforeEach(async () => {
    glue.on(GetDatabaseCommand).rejects(notFound()).on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).resolves({}).on(CreateTableCommand).resolves({});
    await syncGlueCatalog(client, options);
  });

  it('creates both databases, then each table, and updates nothing', () => {
    expect(sent()).toEqual([
      'GetDatabase', 'CreateDatabase', 'GetDatabase', 'CreateDatabase',
      'GetTable', 'CreateTable', 'GetTable', 'CreateTable', 'GetTable', 'CreateTable',
    ]);
    expect(glue.commandCalls(CreateDatabaseCommand).map((c) => c.args[0].input.DatabaseInput?.Name)).toEqual(['strata_staging', 'strata_analytics']);
    expect(glue.commandCalls(CreateTableCommand).map((c) => `${c.args[0].input.DatabaseName}.${c.args[0].input.TableInput?.Name}`)).toEqual([
      'strata_staging.bronze_events',
      'strata_analytics.events',
      'strata_analytics.quarantine',
    ]);
  });

  it('defines bronze_events as gzip JSON lines with minute partitions projected', () => {
    const input = tableInput('bronze_events');
    expect(input.TableType).toBe('EXTERNAL_TABLE');
    expect(columns(input)).toEqual([
      'event_id string', 'timestamp string', 'user_id string', 'session_id string', 'event_type string',
      'product_id string', 'category string', 'price string', 'quantity string', 'search_query string',
    ]);
    expect(keys(input)).toEqual(['year int', 'month int', 'day int', 'hour int', 'minute int']);
    const sd = input.StorageDescriptor!;
    expect(sd.Location).toBe('s3://strata-raw/');
    expect(sd.InputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(sd.OutputFormat).toBe('org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat');
    expect(sd.SerdeInfo).toEqual({ SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', Parameters: { 'ignore.malformed.json': 'true' } });
    expect(input.Parameters).toEqual({
      EXTERNAL: 'TRUE',
      classification: 'json',
      compressionType: 'gzip',
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2020,2039',
      'projection.year.digits': '4',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.type': 'integer',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'projection.minute.type': 'integer',
      'projection.minute.range': '0,59',
      'projection.minute.digits': '2',
      'storage.location.template': 's3://strata-raw/year=${year}/month=${month}/day=${day}/hour=${hour}/minute=${minute}/',
    });
  });

  it('defines events as Parquet with the SPEC §4 types and hour partitions projected', () => {
    const input = tableInput('events');
    expect(columns(input)).toEqual([
      'event_id string', 'event_time timestamp', 'user_id string', 'session_id string', 'event_type string',
      'product_id string', 'category string', 'search_query string', 'price decimal(12,2)', 'quantity int',
      'revenue decimal(18,2)', 'event_date date', 'extras string', 'source_file string', 'source_line bigint', 'run_id string',
    ]);
    expect(keys(input)).toEqual(['year int', 'month int', 'day int', 'hour int']);
    const sd = input.StorageDescriptor!;
    expect(sd.Location).toBe('s3://strata-analytics/wh/events/');
    expect(sd.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    expect(sd.SerdeInfo?.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(input.Parameters).toMatchObject({
      classification: 'parquet',
      'projection.enabled': 'true',
      'projection.year.range': '2020,2039',
      'projection.year.digits': '4',
      'projection.month.digits': '2',
      'projection.day.range': '1,31',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'storage.location.template': 's3://strata-analytics/wh/events/year=${year}/month=${month}/day=${day}/hour=${hour}/',
    });
    expect(Object.keys(input.Parameters!).some((k) => k.startsWith('projection.minute'))).toBe(false);
  });

  it('defines quarantine with an ingest_date date projection', () => {
    const input = tableInput('quarantine');
    expect(columns(input)).toEqual([
      'source_file string', 'source_line bigint', 'reason string', 'raw_line string', 'run_id string', 'ingested_at timestamp',
    ]);
    expect(keys(input)).toEqual(['ingest_date string']);
    expect(input.StorageDescriptor!.Location).toBe('s3://strata-analytics/wh/quarantine/');
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.ingest_date.type': 'date',
      'projection.ingest_date.format': 'yyyy-MM-dd',
      'projection.ingest_date.range': '2020-01-01,NOW',
      'projection.ingest_date.interval': '1',
      'projection.ingest_date.interval.unit': 'DAYS',
      'storage.location.template': 's3://strata-analytics/wh/quarantine/ingest_date=${ingest_date}/',
    });
  });
});

describe('syncGlueCatalog on a catalog that has everything', () => {
  it('updates each table in place without archiving versions, and creates nothing', async () => {
    glue.on(GetDatabaseCommand).resolves({ Database: { Name: 'x' } }).on(GetTableCommand).resolves({ Table: { Name: 'x' } });
    glue.on(UpdateTableCommand).resolves({});
    const result = await syncGlueCatalog(client, options);
    expect(sent()).toEqual(['GetDatabase', 'GetDatabase', 'GetTable', 'UpdateTable', 'GetTable', 'UpdateTable', 'GetTable', 'UpdateTable']);
    expect(glue.commandCalls(UpdateTableCommand).every((c) => c.args[0].input.SkipArchive === true)).toBe(true);
    expect(columns(tableInput('events', UpdateTableCommand))).toContain('price decimal(12,2)');
    expect(result.databases.map((d) => d.action)).toEqual(['unchanged', 'unchanged']);
    expect(result.tables.map((t) => t.action)).toEqual(['updated', 'updated', 'updated']);
  });

  it('gives the same definition to CreateTable and UpdateTable', async () => {
    glue.on(GetDatabaseCommand).resolves({}).on(GetTableCommand).rejects(notFound()).on(CreateTableCommand).resolves({});
    await syncGlueCatalog(client, options);
    const created = tableInput('events');
    glue.reset();
    glue.on(GetDatabaseCommand).resolves({}).on(GetTableCommand).resolves({}).on(UpdateTableCommand).resolves({});
    await syncGlueCatalog(client, options);
    expect(tableInput('events', UpdateTableCommand)).toEqual(created);
  });

  it('updates a table another sync created in the meantime', async () => {
    glue.on(GetDatabaseCommand).resolves({}).on(GetTableCommand).rejects(notFound());
    glue.on(CreateTableCommand).rejects(new AlreadyExistsException({ message: 'exists', $metadata: {} })).on(UpdateTableCommand).resolves({});
    const result = await syncGlueCatalog(client, options);
    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(3);
    expect(result.tables.every((t) => t.action === 'updated')).toBe(true);
  });
});

describe('syncGlueCatalog options and errors', () => {
  it('uses the given database names, catalog id, prefixes and projection years', async () => {
    glue.on(GetDatabaseCommand).rejects(notFound()).on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).resolves({}).on(CreateTableCommand).resolves({});
    await syncGlueCatalog(client, {
      bronze: 's3://raw-bucket//landing/',
      warehouse: 's3://wh-bucket/a/b',
      stagingDatabase: 'raw_db',
      analyticsDatabase: 'gold_db',
      catalogId: '123456789012',
      firstYear: 2025,
      lastYear: 2026,
    });
    expect(glue.calls().every((c) => (c.args[0] as { input: { CatalogId?: string } }).input.CatalogId === '123456789012')).toBe(true);
    expect(glue.commandCalls(CreateTableCommand).map((c) => c.args[0].input.DatabaseName)).toEqual(['raw_db', 'gold_db', 'gold_db']);
    expect(tableInput('bronze_events').StorageDescriptor?.Location).toBe('s3://raw-bucket/landing/');
    expect(tableInput('events').Parameters?.['projection.year.range']).toBe('2025,2026');
    expect(tableInput('quarantine').StorageDescriptor?.Location).toBe('s3://wh-bucket/a/b/quarantine/');
  });

  it('creates one database when both names are the same', async () => {
    glue.on(GetDatabaseCommand).rejects(notFound()).on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).resolves({}).on(CreateTableCommand).resolves({});
    await syncGlueCatalog(client, { ...options, stagingDatabase: 'strata', analyticsDatabase: 'strata' });
    expect(glue.commandCalls(CreateDatabaseCommand)).toHaveLength(1);
  });

  it('turns AccessDenied into a one-line UserError naming the call and the table', async () => {
    glue.on(GetDatabaseCommand).resolves({}).on(GetTableCommand).rejects(notFound());
    glue.on(CreateTableCommand).rejects(
      new AccessDeniedException({
        message: 'User: arn:aws:iam::1:user/x is not authorized to perform: glue:CreateTable\non resource: table',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const err = await syncGlueCatalog(client, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).toMatch(/^glue:CreateTable strata_staging\.bronze_events: access denied/);
    expect(message).toContain('AccessDeniedException');
    expect(message).not.toContain('\n');
    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(0);
  });

  it('turns missing credentials into a UserError', async () => {
    glue.on(GetDatabaseCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await expect(syncGlueCatalog(client, options)).rejects.toThrow(/glue:GetDatabase strata_staging: no AWS credentials found/);
  });

  it('refuses roots that are not S3 URIs before calling AWS', async () => {
    await expect(syncGlueCatalog(client, { ...options, bronze: './data/bronze' })).rejects.toThrow(UserError);
    await expect(syncGlueCatalog(client, { ...options, warehouse: 's3://Bad_Bucket/x' })).rejects.toThrow(/--warehouse must be an S3 URI/);
    await expect(syncGlueCatalog(client, { ...options, analyticsDatabase: 'Gold-DB' })).rejects.toThrow(/--analytics-db/);
    expect(glue.calls()).toHaveLength(0);
  });

  it('rethrows errors that are not the user’s unchanged', async () => {
    const bug = new TypeError('boom');
    glue.on(GetDatabaseCommand).rejects(bug);
    await expect(syncGlueCatalog(client, options)).rejects.toBe(bug);
  });
});
