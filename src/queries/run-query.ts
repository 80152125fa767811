import { withDb, type Db } from '../db/duckdb.js';
import { sqlStringList } from '../db/sql.js';
import { UserError } from '../errors.js';
import { readSnapshot } from '../ledger/log.js';
import type { DataFile, HourPartition, Snapshot } from '../ledger/types.js';
import { activityFileKey, partitionDay } from '../ledger/layout.js';
import { localPaths } from '../storage/local-copy.js';
import type { Storage } from '../storage/storage.js';
import { eventsRelationSql } from '../catalog/schema.js';
import { categoryPerformance } from './category-performance.js';
import { funnel } from './funnel.js';
import { hourlyRevenue } from './hourly-revenue.js';
import type { BusinessQuery } from './query-def.js';
import { topProducts } from './top-products.js';
import { userActivity } from './user-activity.js';

export const QUERY_NAMES = ['funnel', 'hourly_revenue', 'top_products', 'category_performance', 'user_activity'] as const;
export type QueryName = (typeof QUERY_NAMES)[number];

export interface QueryRange {
  /** Inclusive, on event_time: an ISO date or timestamp. */
  from?: string;
  /** Exclusive. */
  to?: string;
  /** top_products only (default 10); the other queries list every row. */
  limit?: number;
}

export type QueryRow = Record<string, string | number | null>;

export const DEFAULT_LIMIT = 10;

export const QUERIES: Readonly<Record<QueryName, BusinessQuery>> = Object.freeze({
  funnel,
  hourly_revenue: hourlyRevenue,
  top_products: topProducts,
  category_performance: categoryPerformance,
  user_activity: userActivity,
});

export function parseQueryName(text: string): QueryName {
  if ((QUERY_NAMES as readonly string[]).includes(text)) return text as QueryName;
  throw new UserError(`unknown query ${JSON.stringify(text)}; valid queries: ${QUERY_NAMES.join(', ')}`);
}

/** A validated half-open range [from, to) in microseconds since the epoch, UTC. */
export interface TimeRange {
  readonly fromMicros?: bigint;
  readonly toMicros?: bigint;
}

const TIMESTAMP_FORMAT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * `2025-07-01` (midnight UTC), `2025-07-01T00:07`, `2025-07-01T00:07:30`, `2025-07-01 00:07:30.5`,
 * each with an optional `Z` or `±HH:MM` (converted to UTC; none means UTC). Kept to the microsecond.
 */
export function parseInstant(text: string, option: string): bigint {
  const m = TIMESTAMP_FORMAT.exec(text.trim());
  if (!m) {
    throw new UserError(`${option}: expected an ISO date or timestamp like 2025-07-01 or 2025-07-01T00:07:30Z, got ${JSON.stringify(text)}`);
  }
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // years below 100 stay themselves, unlike Date.UTC
  const realDate = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  const offset = parseOffset(m[8]);
  if (!realDate || hour > 23 || minute > 59 || second > 59 || offset === undefined) {
    throw new UserError(`${option}: not a real date and time: ${JSON.stringify(text)}`);
  }
  date.setUTCHours(hour, minute, second, 0);
  const micros = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6)); // truncated, not rounded
  return BigInt(date.getTime()) * 1000n + micros - BigInt(offset) * 60_000_000n;
}

/** Minutes east of UTC: none and `Z` are 0; undefined when out of range. */
function parseOffset(zone: string | undefined): number | undefined {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

export function parseTimeRange(range: { readonly from?: string; readonly to?: string }): TimeRange {
  const fromMicros = range.from === undefined ? undefined : parseInstant(range.from, '--from');
  const toMicros = range.to === undefined ? undefined : parseInstant(range.to, '--to');
  if (fromMicros !== undefined && toMicros !== undefined && fromMicros > toMicros) {
    throw new UserError(`--from (${formatMicros(fromMicros)}) is after --to (${formatMicros(toMicros)})`);
  }
  return { fromMicros, toMicros };
}

/** `2025-07-01T00:07:30.123456Z`, for messages. */
export function formatMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = ((micros % 1000n) + 1000n) % 1000n;
  const iso = new Date(Number(ms)).toISOString();
  return sub === 0n ? iso : iso.replace('Z', `${String(sub).padStart(3, '0')}Z`);
}

export function parseLimit(value: number | string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const text = String(value).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UserError(`--limit: expected a whole number > 0, got ${JSON.stringify(String(value))}`);
  }
  return n;
}

const HOUR_MICROS = 3_600_000_000n;

function hourStartMicros(partition: HourPartition): bigint {
  return BigInt(Date.UTC(partition.year, partition.month - 1, partition.day, partition.hour)) * 1000n;
}

/**
 * The committed events files whose hour partition overlaps [from, to): chosen from the ledger
 * before any SQL, so a one-hour window opens one hour of files.
 */
export function eventFilesInRange(snapshot: Snapshot, range: TimeRange): DataFile[] {
  return snapshot.dataFiles
    .filter((f) => {
      if (f.table !== 'events') return false;
      if (!f.partition) return true;
      const start = hourStartMicros(f.partition);
      if (range.toMicros !== undefined && start >= range.toMicros) return false;
      if (range.fromMicros !== undefined && start + HOUR_MICROS <= range.fromMicros) return false;
      return true;
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The warehouse has not committed yet: there is nothing to query. */
export class NoDataYetError extends UserError {
  constructor(uri: string) {
    super(`no data in warehouse ${uri} yet: run \`strata etl\` first`);
  }
}

/** A warehouse that exists and has committed at least once; otherwise a clear UserError. */
export async function openWarehouseSnapshot(warehouse: Storage): Promise<Snapshot> {
  try {
    await warehouse.check();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`warehouse ${err.message}`);
    throw new UserError(`warehouse cannot be reached: ${warehouse.uri}: ${(err as Error).message}`);
  }
  const snapshot = await readSnapshot(warehouse);
  if (snapshot.version === 0) throw new NoDataYetError(warehouse.uri);
  return snapshot;
}

function rangeFilter(range: TimeRange): string {
  const parts: string[] = [];
  if (range.fromMicros !== undefined) parts.push(`event_time >= make_timestamp(CAST(${range.fromMicros} AS BIGINT))`);
  if (range.toMicros !== undefined) parts.push(`event_time < make_timestamp(CAST(${range.toMicros} AS BIGINT))`);
  return parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
}

/**
 * The local Parquet files a query reads: `partial` ones get the range filter; `whole` ones hold
 * an hour that lies entirely inside the range, so every row qualifies and the filter (a read of
 * every timestamp) is skipped. An hour partition holds only rows of that event-time hour.
 */
export interface FileSet {
  readonly whole: readonly string[];
  readonly partial: readonly string[];
  /**
   * When the query reads activity rollups (BusinessQuery.readsActivity): the rollups of whole
   * files that have one, and the whole files that have none (a warehouse from before rollups).
   */
  readonly activity?: { readonly rollups: readonly string[]; readonly unrolled: readonly string[] };
}

export interface ScanFiles extends FileSet {
  /**
   * The same files by the UTC day (`YYYY-MM-DD`) of their hour partition, in day order; absent
   * when a file has no partition. Lets a query work on one day at a time (see BusinessQuery).
   */
  readonly days?: readonly { readonly day: string; readonly files: FileSet }[];
  /** The UTC hour (`YYYY-MM-DDTHH:00:00Z`) of every file, when they all hold the same one. */
  readonly hour?: string;
}

function eventsCte(name: string, { whole, partial }: FileSet, range: TimeRange): string {
  const parts = [
    ...(whole.length > 0 ? [`SELECT * FROM (${eventsRelationSql(whole)})`] : []),
    ...(partial.length > 0 || whole.length === 0 ? [`SELECT * FROM (${eventsRelationSql(partial)}) ${rangeFilter(range)}`] : []),
  ];
  return `${name} AS NOT MATERIALIZED (${parts.join(' UNION ALL ')})`;
}

/** The `user_id` and `session_id` values of a file set: from rollups where it has them, else from the rows. */
function idsCte(name: string, { whole, partial, activity }: FileSet, range: TimeRange): string {
  const ids = (relation: string, where = '') => `SELECT user_id, session_id FROM (${relation}) ${where}`;
  const unrolled = activity ? activity.unrolled : whole;
  const parts = [
    ...(activity && activity.rollups.length > 0 ? [`SELECT user_id, session_id FROM read_parquet(${sqlStringList(activity.rollups)}, hive_partitioning = false)`] : []),
    ...(unrolled.length > 0 ? [ids(eventsRelationSql(unrolled))] : []),
    ...(partial.length > 0 ? [ids(eventsRelationSql(partial), rangeFilter(range))] : []),
  ];
  if (parts.length === 0) parts.push(ids(eventsRelationSql([])));
  return `${name} AS NOT MATERIALIZED (${parts.join(' UNION ALL ')})`;
}

/** The full SQL of a business query over the given local Parquet files. */
export function businessQuerySql(name: QueryName, files: ScanFiles, range: TimeRange, limit: number): string {
  const query = QUERIES[name];
  if (query.sqlForOneHour && files.hour !== undefined) return `WITH ${eventsCte('events', files, range)}\n${query.sqlForOneHour(files.hour)}`;
  if (query.sqlByDay && files.days && files.days.length > 0) {
    const days = files.days.map((d, i) => ({ ...d, relation: `events_${i}`, ids: `ids_${i}` }));
    const ctes = days.flatMap((d) => [eventsCte(d.relation, d.files, range), ...(query.readsActivity ? [idsCte(d.ids, d.files, range)] : [])]);
    return `WITH ${ctes.join(',\n')}\n${query.sqlByDay(days)}`;
  }
  return `WITH ${eventsCte('events', files, range)}\n${query.sql({ limit })}`;
}

/**
 * Runs one of the five business queries of SPEC §6 and returns exactly the rows that
 * `strata query NAME --format json` prints (counts and money as numbers). One-shot: a fresh
 * DuckDB per call; a process that queries again and again keeps a `QueryEngine` instead.
 */
export async function runBusinessQuery(warehouse: Storage, name: QueryName, range: QueryRange): Promise<QueryRow[]> {
  const request = parseRequest(name, range);
  const snapshot = await openWarehouseSnapshot(warehouse);
  const files = await eventPathsInRange(warehouse, snapshot, request.time, { activity: QUERIES[request.name].readsActivity });
  if (files.whole.length + files.partial.length === 0) return [];
  return withDb({}, (db) => queryRows(db, request, files));
}

/** A business query's name, range and limit, checked before anything is read. */
export interface QueryRequest {
  readonly name: QueryName;
  readonly time: TimeRange;
  readonly limit: number;
}

export function parseRequest(name: string, range: QueryRange): QueryRequest {
  return { name: parseQueryName(name), time: parseTimeRange(range), limit: parseLimit(range.limit) };
}

/**
 * Local paths of the committed events files that overlap the range (remote ones are cached);
 * with `activity`, also the activity rollups of the files whose hour lies wholly inside it.
 */
export async function eventPathsInRange(warehouse: Storage, snapshot: Snapshot, time: TimeRange, options: { activity?: boolean } = {}): Promise<ScanFiles> {
  const files = eventFilesInRange(snapshot, time);
  const rollupOf = new Map<string, string>();
  if (options.activity) {
    // Only user_activity pays for this look-up (every query of the dashboard passes here).
    const committed = new Set(snapshot.dataFiles.map((f) => f.key));
    for (const f of files) {
      const key = activityFileKey(f.key);
      if (hourInside(f.partition, time) && committed.has(key)) rollupOf.set(f.key, key);
    }
  }
  const keys = [...files.map((f) => f.key), ...rollupOf.values()];
  const paths = await localPaths(warehouse, keys);
  const pathOf = new Map(keys.map((key, i) => [key, paths[i]!]));
  const split = (chosen: readonly DataFile[]): FileSet => {
    const whole = chosen.filter((f) => hourInside(f.partition, time));
    return {
      whole: whole.map((f) => pathOf.get(f.key)!),
      partial: chosen.filter((f) => !hourInside(f.partition, time)).map((f) => pathOf.get(f.key)!),
      ...(options.activity
        ? {
            activity: {
              rollups: whole.filter((f) => rollupOf.has(f.key)).map((f) => pathOf.get(rollupOf.get(f.key)!)!),
              unrolled: whole.filter((f) => !rollupOf.has(f.key)).map((f) => pathOf.get(f.key)!),
            },
          }
        : {}),
    };
  };
  const byDay = new Map<string, DataFile[]>();
  for (const f of files) {
    if (!f.partition) return split(files);
    const day = partitionDay(f.partition);
    let ofDay = byDay.get(day);
    if (!ofDay) byDay.set(day, (ofDay = []));
    ofDay.push(f);
  }
  const days = [...byDay.keys()].sort().map((day) => ({ day, files: split(byDay.get(day)!) }));
  const hours = new Set(files.map((f) => partitionHour(f.partition!)));
  return { ...split(files), days, ...(hours.size === 1 ? { hour: [...hours][0]! } : {}) };
}

/** `YYYY-MM-DDTHH:00:00Z` of an hour partition. */
function partitionHour(partition: HourPartition): string {
  return `${partitionDay(partition)}T${String(partition.hour).padStart(2, '0')}:00:00Z`;
}

/** Whether the whole hour of a partition lies inside [from, to). */
export function hourInside(partition: DataFile['partition'], range: TimeRange): boolean {
  if (!partition) return false;
  const start = hourStartMicros(partition);
  return (range.fromMicros === undefined || range.fromMicros <= start) && (range.toMicros === undefined || start + HOUR_MICROS <= range.toMicros);
}

/** Runs the query over these files on `db`; rows as `--format json` prints them. */
export async function queryRows(db: Db, request: QueryRequest, files: ScanFiles): Promise<QueryRow[]> {
  const query = QUERIES[request.name];
  const result = await db.table(businessQuerySql(request.name, files, request.time, request.limit));
  return result.rows.map((values) => {
    const row: QueryRow = {};
    query.columns.forEach((column, i) => {
      const value = values[i];
      if (value === null || value === undefined) row[column.name] = null;
      else if (column.kind === 'text') row[column.name] = String(value);
      else row[column.name] = Number(value);
    });
    return row;
  });
}
