/*
 * The Glue Data Catalog definitions of strata's three tables, as plain data. Both the CLI sync
 * (glue-catalog.ts, SDK calls) and the CDK stack (infra/lib/glue-tables.ts, CloudFormation) build
 * their tables from `strataTables()`, so the two cannot drift apart.
 *
 * Locations are only ever concatenated, never parsed: the CDK passes CloudFormation tokens.
 *
 * Consistency of Athena with strata: a Parquet file is part of `events` once strata's log
 * (src/ledger/log.ts) lists it, not when it appears in S3. Athena knows nothing of the log; it
 * reads whatever sits under events/. While `etl` or `compact` runs (and after a crash, until the
 * next run cleans up), that folder may hold files not yet committed or already superseded, so a
 * query can miss or double rows of the hours being rewritten. Once a run finishes, events/ holds
 * exactly the committed files (SPEC §4) and Athena sees the rows strata sees: query between runs.
 */

export interface GlueColumn {
  readonly name: string;
  /** Hive type name, as Glue and Athena DDL spell it: string, int, bigint, decimal(12,2), ... */
  readonly type: string;
  readonly comment?: string;
}

export interface GlueTableDefinition {
  readonly databaseName: string;
  readonly name: string;
  readonly description: string;
  readonly columns: readonly GlueColumn[];
  readonly partitionKeys: readonly GlueColumn[];
  /** Ends with `/`. */
  readonly location: string;
  readonly inputFormat: string;
  readonly outputFormat: string;
  readonly serializationLibrary: string;
  readonly serdeParameters: Readonly<Record<string, string>>;
  /** Table properties, partition projection included. */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface GlueDatabaseDefinition {
  readonly name: string;
  readonly description: string;
}

export interface CatalogLayout {
  /** s3://bucket/prefix/ of the bronze root, ending with `/`. */
  readonly bronzeLocation: string;
  /** s3://bucket/prefix/ of the warehouse root, ending with `/`. */
  readonly warehouseLocation: string;
  /** Holds `bronze_events`. */
  readonly stagingDatabase: string;
  /** Holds `events` and `quarantine`. */
  readonly analyticsDatabase: string;
  /** First and last year partition projection knows about (inclusive). */
  readonly firstYear?: number;
  readonly lastYear?: number;
}

export const DEFAULT_STAGING_DATABASE = 'strata_staging';
export const DEFAULT_ANALYTICS_DATABASE = 'strata_analytics';
/**
 * Projection enumerates every year/month/day/hour in range for a query without partition
 * predicates, so the range is kept to what a deployment can hold; widen it with the options.
 */
export const DEFAULT_FIRST_YEAR = 2020;
export const DEFAULT_LAST_YEAR = 2039;

export const BRONZE_TABLE = 'bronze_events';
export const EVENTS_TABLE = 'events';
export const QUARANTINE_TABLE = 'quarantine';

const JSON_SERDE = 'org.openx.data.jsonserde.JsonSerDe';
const TEXT_INPUT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';
const PARQUET_INPUT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';
const PARQUET_OUTPUT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat';

const col = (name: string, type: string, comment?: string): GlueColumn =>
  Object.freeze(comment === undefined ? { name, type } : { name, type, comment });

/**
 * SPEC §2. Everything a sloppy producer may send as another JSON type is a string: the OpenX SerDe
 * fails the whole query on a value it cannot convert (`"price": "12.50"` into a double), while a
 * string column takes numbers and strings alike. Cast with try_cast() when querying.
 */
export const BRONZE_COLUMNS: readonly GlueColumn[] = Object.freeze([
  col('event_id', 'string'),
  col('timestamp', 'string', 'ISO-8601 as sent'),
  col('user_id', 'string'),
  col('session_id', 'string'),
  col('event_type', 'string'),
  col('product_id', 'string'),
  col('category', 'string'),
  col('price', 'string', 'number or numeric string as sent; try_cast(price AS double)'),
  col('quantity', 'string', 'integer or numeric string as sent; try_cast(quantity AS integer)'),
  col('search_query', 'string'),
]);

/** SPEC §4, in the order of the table; year/month/day/hour are the partition keys. */
export const EVENTS_COLUMNS: readonly GlueColumn[] = Object.freeze([
  col('event_id', 'string'),
  col('event_time', 'timestamp', 'UTC'),
  col('user_id', 'string'),
  col('session_id', 'string'),
  col('event_type', 'string'),
  col('product_id', 'string'),
  col('category', 'string'),
  col('search_query', 'string'),
  col('price', 'decimal(12,2)'),
  col('quantity', 'int'),
  col('revenue', 'decimal(18,2)'),
  col('event_date', 'date'),
  col('extras', 'string', 'JSON object text of unknown top-level fields'),
  col('source_file', 'string', 'path relative to the bronze root'),
  col('source_line', 'bigint'),
  col('run_id', 'string'),
]);

export const QUARANTINE_COLUMNS: readonly GlueColumn[] = Object.freeze([
  col('source_file', 'string'),
  col('source_line', 'bigint'),
  col('reason', 'string'),
  col('raw_line', 'string'),
  col('run_id', 'string'),
  col('ingested_at', 'timestamp'),
]);

export const HOUR_PARTITION_KEYS: readonly GlueColumn[] = Object.freeze(['year', 'month', 'day', 'hour'].map((n) => col(n, 'int')));
export const BRONZE_PARTITION_KEYS: readonly GlueColumn[] = Object.freeze(
  ['year', 'month', 'day', 'hour', 'minute'].map((n) => col(n, 'int')),
);
export const QUARANTINE_PARTITION_KEYS: readonly GlueColumn[] = Object.freeze([col('ingest_date', 'string', 'YYYY-MM-DD')]);

const INTEGER_RANGES: Readonly<Record<string, { range: (first: number, last: number) => string; digits: number }>> = {
  year: { range: (first, last) => `${first},${last}`, digits: 4 },
  month: { range: () => '1,12', digits: 2 },
  day: { range: () => '1,31', digits: 2 },
  hour: { range: () => '0,23', digits: 2 },
  minute: { range: () => '0,59', digits: 2 },
};

/** `projection.*` properties for zero-padded integer folders `key=NN/`, as strata writes them. */
function integerProjection(keys: readonly GlueColumn[], location: string, first: number, last: number): Record<string, string> {
  const params: Record<string, string> = { 'projection.enabled': 'true' };
  for (const { name } of keys) {
    const spec = INTEGER_RANGES[name];
    if (spec === undefined) throw new Error(`no projection range for partition key ${name}`);
    params[`projection.${name}.type`] = 'integer';
    params[`projection.${name}.range`] = spec.range(first, last);
    params[`projection.${name}.digits`] = String(spec.digits);
  }
  params['storage.location.template'] = `${location}${keys.map(({ name }) => `${name}=\${${name}}`).join('/')}/`;
  return params;
}

export function strataDatabases(layout: CatalogLayout): GlueDatabaseDefinition[] {
  const databases = [
    { name: layout.stagingDatabase, description: 'strata bronze: raw events as producers sent them' },
    { name: layout.analyticsDatabase, description: 'strata silver: cleaned, typed events and quarantine' },
  ];
  // One database for both is allowed; create it once.
  return databases.filter((db, i) => databases.findIndex((d) => d.name === db.name) === i);
}

export function strataTables(layout: CatalogLayout): GlueTableDefinition[] {
  const first = layout.firstYear ?? DEFAULT_FIRST_YEAR;
  const last = layout.lastYear ?? DEFAULT_LAST_YEAR;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 9999 || first > last) {
    throw new RangeError(`projection years must satisfy 1 <= first <= last <= 9999, got ${first}..${last}`);
  }
  const bronze = layout.bronzeLocation;
  const events = `${layout.warehouseLocation}events/`;
  const quarantine = `${layout.warehouseLocation}quarantine/`;
  return [
    {
      databaseName: layout.stagingDatabase,
      name: BRONZE_TABLE,
      description: 'Raw gzip JSON lines (SPEC §2), one object per line; malformed lines read as NULL rows',
      columns: BRONZE_COLUMNS,
      partitionKeys: BRONZE_PARTITION_KEYS,
      location: bronze,
      // TextInputFormat decompresses *.gz by the file extension. Objects whose name starts with
      // `_` or `.` are skipped by Athena; strata's S3 writes are single atomic PUTs.
      inputFormat: TEXT_INPUT,
      outputFormat: TEXT_OUTPUT,
      serializationLibrary: JSON_SERDE,
      serdeParameters: { 'ignore.malformed.json': 'true' },
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'json',
        compressionType: 'gzip',
        ...integerProjection(BRONZE_PARTITION_KEYS, bronze, first, last),
      },
    },
    {
      databaseName: layout.analyticsDatabase,
      name: EVENTS_TABLE,
      description: 'Cleaned events (SPEC §4), partitioned by event time in UTC; committed files only between runs',
      columns: EVENTS_COLUMNS,
      partitionKeys: HOUR_PARTITION_KEYS,
      location: events,
      inputFormat: PARQUET_INPUT,
      outputFormat: PARQUET_OUTPUT,
      serializationLibrary: PARQUET_SERDE,
      serdeParameters: { 'serialization.format': '1' },
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        ...integerProjection(HOUR_PARTITION_KEYS, events, first, last),
      },
    },
    {
      databaseName: layout.analyticsDatabase,
      name: QUARANTINE_TABLE,
      description: 'Rejected bronze lines with their reason (SPEC §3), by the UTC day they were ingested',
      columns: QUARANTINE_COLUMNS,
      partitionKeys: QUARANTINE_PARTITION_KEYS,
      location: quarantine,
      inputFormat: PARQUET_INPUT,
      outputFormat: PARQUET_OUTPUT,
      serializationLibrary: PARQUET_SERDE,
      serdeParameters: { 'serialization.format': '1' },
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        'projection.enabled': 'true',
        'projection.ingest_date.type': 'date',
        'projection.ingest_date.format': 'yyyy-MM-dd',
        'projection.ingest_date.range': `${first}-01-01,NOW`,
        'projection.ingest_date.interval': '1',
        'projection.ingest_date.interval.unit': 'DAYS',
        'storage.location.template': `${quarantine}ingest_date=\${ingest_date}/`,
      },
    },
  ];
}
