/**
 * The five business queries over one day of silver (Parquet, hour partitions, chosen from the
 * ledger) against a baseline run side by side: the same queries straight over the same rows as
 * bronze gz JSON. Also a one-hour window against the whole day (partition pruning).
 *
 * Data: synthetic, built with DuckDB so that silver and bronze hold exactly the same rows (the
 * bench checks both give the same answers): 24 hours x STRATA_BENCH_ROWS_PER_HOUR rows
 * (default 25,000, so 600,000 events), bronze as one gz JSON file per 5-minute batch. Each hour's
 * Parquet file is written with etl's options, like the file of one batch per hour. Users and
 * sessions come as many and as interleaved as in the generator's traffic: distinct counts cost
 * with their number (a day of 80,000 sessions, as this bench had before, flattered user_activity).
 * Timings are warm: one run first, then the median of STRATA_BENCH_REPEAT runs (default 3). Silver is
 * timed twice: one-shot (`runBusinessQuery`, as `strata query`) and on a long-lived `QueryEngine` (as `serve`).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDb, type Db } from '../src/db/duckdb.js';
import { sqlString } from '../src/db/sql.js';
import { bronzeGlob } from '../src/catalog/schema.js';
import { eventsFileKey } from '../src/ledger/layout.js';
import { commit } from '../src/ledger/log.js';
import { emptyRejectCounts, type DataFile } from '../src/ledger/types.js';
import { QueryEngine } from '../src/queries/query-engine.js';
import { QUERIES, QUERY_NAMES, runBusinessQuery, type QueryName, type QueryRange } from '../src/queries/run-query.js';
import { publishActivityRollup } from '../src/silver/activity-rollup.js';
import { ETL_EVENTS_PARQUET } from '../src/silver/parquet-options.js';
import { LocalStorage } from '../src/storage/local.js';

const DAY = '2025-07-01';
const RUN_ID = 'bench';

export async function benchQueries(_args: Record<string, unknown>): Promise<void> {
  const rowsPerHour = Number(process.env.STRATA_BENCH_ROWS_PER_HOUR ?? 25_000);
  const repeat = Number(process.env.STRATA_BENCH_REPEAT ?? 3);
  const dir = path.join(os.tmpdir(), `strata-bench-queries-${process.pid}`);
  const warehouseDir = path.join(dir, 'warehouse');
  const bronzeDir = path.join(dir, 'bronze');
  try {
    const started = Date.now();
    const sizes = await buildData(warehouseDir, bronzeDir, rowsPerHour);
    console.log(
      `data: ${(rowsPerHour * 24).toLocaleString('en-US')} events over 24 hours; silver ${mb(sizes.silver)} in 24 Parquet files, ` +
        `bronze ${mb(sizes.bronze)} in 288 gz JSON files (built in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    const warehouse = new LocalStorage(warehouseDir);
    const hour: QueryRange = { from: `${DAY}T12:00:00Z`, to: `${DAY}T13:00:00Z` };

    const rows: string[][] = [];
    const engine = new QueryEngine(warehouse);
    try {
      for (const name of QUERY_NAMES) {
        const oneShotDay = await timed(repeat, () => runBusinessQuery(warehouse, name, {}));
        // Day and hour alternate, so that a noisy spell of the machine weighs on both alike.
        const [silverDay, silverHour] = await timedPair(Math.max(repeat, 5), () => engine.query(name, {}), () => engine.query(name, hour));
        const bronzeDay = await timed(repeat, () => bronzeQuery(bronzeDir, name, {}));
        const bronzeHour = await timed(1, () => bronzeQuery(bronzeDir, name, hour));
        // Same rows in, same answers out: otherwise the comparison means nothing.
        same(silverDay.result, bronzeDay.result, `${name} (day)`);
        same(oneShotDay.result, bronzeDay.result, `${name} (day, one-shot)`);
        same(silverHour.result, bronzeHour.result, `${name} (hour)`);
        rows.push([
          name,
          ms(bronzeDay.ms),
          ms(oneShotDay.ms),
          ms(silverDay.ms),
          `${(bronzeDay.ms / silverDay.ms).toFixed(1)}x`,
          ms(silverHour.ms),
          `${(silverDay.ms / silverHour.ms).toFixed(1)}x`,
        ]);
      }
    } finally {
      await engine.close();
    }
    const head = ['query', 'bronze day', 'silver day one-shot', 'silver day', 'silver vs bronze', 'silver 1 hour', 'day vs 1 hour'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    console.log(`(warm medians of ${repeat} runs after one untimed run (silver day and hour: ${Math.max(repeat, 5)}, alternating). "silver day" and "silver 1 hour": a long-lived QueryEngine, as`);
    console.log(` \`strata serve\` keeps (ledger replayed once per commit, one DuckDB, Parquet footers cached); "one-shot": runBusinessQuery,`);
    console.log(` as one \`strata query\` does (ledger read, fresh DuckDB; process start not included). The day reads 24 Parquet files,`);
    console.log(` the hour 1, chosen from the ledger; bronze reads all 288 gz JSON files with a fresh DuckDB each time)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number): string => `${value.toFixed(0)} ms`;

async function timed<T>(repeat: number, body: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let result = await body();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    result = await body();
    times.push(performance.now() - start);
  }
  return { ms: median(times), result };
}

const median = (times: number[]): number => times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;

async function timedPair<A, B>(repeat: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[{ ms: number; result: A }, { ms: number; result: B }]> {
  let resultA = await a();
  let resultB = await b();
  const timesA: number[] = [];
  const timesB: number[] = [];
  for (let i = 0; i < repeat; i++) {
    let start = performance.now();
    resultA = await a();
    timesA.push(performance.now() - start);
    start = performance.now();
    resultB = await b();
    timesB.push(performance.now() - start);
  }
  return [
    { ms: median(timesA), result: resultA },
    { ms: median(timesB), result: resultB },
  ];
}

function same(a: unknown, b: unknown, label: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`bench: silver and bronze disagree on ${label}`);
}

/** The synthetic day: `src` holds every event once; silver and bronze are written from it. */
async function buildData(warehouseDir: string, bronzeDir: string, rowsPerHour: number): Promise<{ silver: number; bronze: number }> {
  const total = rowsPerHour * 24;
  const sizes = { silver: 0, bronze: 0 };
  const add: DataFile[] = [];
  await withDb({}, async (db) => {
    await db.run(`CREATE TABLE src AS
      WITH base AS (
        SELECT i,
               make_timestamp(epoch_us(TIMESTAMP '${DAY} 00:00:00') + (i * (86400000000 // ${total}))) AS event_time,
               CAST(hash(i) % 100 AS BIGINT) AS t, CAST(hash(i * 7 + 1) % 2000 AS BIGINT) AS p, CAST(hash(i * 13 + 2) % 1000000007 AS BIGINT) AS h,
               i // 52500 * 7500 + i % 7500 AS s
        FROM range(${total}) r(i))
      SELECT i, event_time,
             CASE WHEN t < 60 THEN 'page_view' WHEN t < 75 THEN 'search' WHEN t < 87 THEN 'add_to_cart'
                  WHEN t < 90 THEN 'remove_from_cart' ELSE 'purchase' END AS event_type,
             -- Like the generator's traffic: 7,500 sessions open at a time, their events
             -- interleaved, 7 events each (2.1M sessions a day at full scale, a few minutes each
             -- at 625k events an hour), each session of one of 200,000 users; ids shaped like its own.
             CAST(1000000 + hash(s * 31 + 5) % 200000 AS VARCHAR) AS user_id, 's-' || lpad(to_hex(hash(s)), 16, '0') AS session_id,
             CASE WHEN t BETWEEN 60 AND 74 THEN NULL ELSE 'P' || lpad(CAST(p AS VARCHAR), 5, '0') END AS product_id,
             CASE WHEN t BETWEEN 60 AND 74 THEN NULL
                  ELSE ['electronics', 'books', 'home', 'garden', 'toys & games', 'sports', 'beauty', 'automotive'][1 + p % 8] END AS category,
             CASE WHEN t BETWEEN 60 AND 74 THEN 'query ' || (h % 300) END AS search_query,
             CASE WHEN t >= 75 OR t < 60 THEN CAST((100 + h % 99900) / 100 AS DECIMAL(12,2)) END AS price,
             CASE WHEN t >= 75 THEN CAST(1 + h % 4 AS INTEGER) END AS quantity
      FROM base`);
    for (let hour = 0; hour < 24; hour++) {
      const partition = { year: 2025, month: 7, day: 1, hour };
      const key = eventsFileKey(partition, RUN_ID);
      const file = path.join(warehouseDir, key);
      await mkdir(path.dirname(file), { recursive: true });
      await db.run(`COPY (
        SELECT 'e' || i AS event_id, event_time, user_id, session_id, event_type, product_id, category, search_query, price, quantity,
               CASE WHEN event_type = 'purchase' THEN CAST(price * quantity AS DECIMAL(18,2)) END AS revenue,
               CAST(event_time AS DATE) AS event_date, CAST(NULL AS VARCHAR) AS extras, 'bench.jsonl.gz' AS source_file,
               CAST(i AS BIGINT) AS source_line, ${sqlString(RUN_ID)} AS run_id,
               2025 AS year, 7 AS month, 1 AS day, ${hour} AS hour
        FROM src WHERE hour(event_time) = ${hour} ORDER BY event_time
      ) TO ${sqlString(file)} (${ETL_EVENTS_PARQUET})`);
      const bytes = (await stat(file)).size;
      sizes.silver += bytes;
      add.push({ key, table: 'events', rows: rowsPerHour, bytes, partition, runId: RUN_ID });
      // Its activity rollup, as etl writes beside each events file (user_activity reads it).
      add.push(await publishActivityRollup(db, new LocalStorage(warehouseDir), { key, localPath: file, partition, runId: RUN_ID }, path.join(path.dirname(warehouseDir), `activity-${hour}.parquet`)));
      // One hour at a time, so each 5-minute batch scans an hour, not the day.
      await db.run(`CREATE OR REPLACE TEMP TABLE hour_src AS SELECT * FROM src WHERE hour(event_time) = ${hour}`);
      for (let minute = 0; minute < 60; minute += 5) {
        const hh = String(hour).padStart(2, '0');
        const mm = String(minute).padStart(2, '0');
        const bronzeFile = path.join(bronzeDir, `year=2025/month=07/day=01/hour=${hh}/minute=${mm}/events-${hh}${mm}.jsonl.gz`);
        await mkdir(path.dirname(bronzeFile), { recursive: true });
        await bronzeCopy(db, bronzeFile, minute);
        sizes.bronze += (await stat(bronzeFile)).size;
      }
    }
  });
  const files = add.filter((f) => f.table === 'events').map((f) => f.key);
  await commit(new LocalStorage(warehouseDir), {
    version: 1,
    committedAt: new Date().toISOString(),
    add,
    remove: [],
    files: [],
    fieldsSeen: [],
    run: {
      runId: RUN_ID,
      kind: 'etl',
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 0,
      filesProcessed: files.length,
      filesFailed: 0,
      lines: total,
      valid: total,
      rejected: emptyRejectCounts(),
      duplicates: 0,
      partitionsWritten: 24,
      newFields: [],
      changedFiles: [],
    },
  });
  return sizes;
}

async function bronzeCopy(db: Db, file: string, minute: number): Promise<void> {
  await db.run(`COPY (
    SELECT 'e' || i AS event_id, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp, user_id, session_id, event_type,
           product_id, category, CAST(price AS DOUBLE) AS price, quantity, search_query
    FROM hour_src WHERE minute(event_time) >= ${minute} AND minute(event_time) < ${minute + 5}
    ORDER BY event_time
  ) TO ${sqlString(file)} (FORMAT json, COMPRESSION gzip)`);
}

/** The baseline: the same query read straight from the raw gz JSON, typed on the fly. */
async function bronzeQuery(bronzeDir: string, name: QueryName, range: QueryRange): Promise<Record<string, string | number | null>[]> {
  const filter: string[] = [];
  if (range.from) filter.push(`event_time >= CAST(${sqlString(range.from.replace('Z', ''))} AS TIMESTAMP)`);
  if (range.to) filter.push(`event_time < CAST(${sqlString(range.to.replace('Z', ''))} AS TIMESTAMP)`);
  // The hour partition columns silver's queries group on come from the timestamp here.
  const relation = `SELECT *, year(event_time) AS year, month(event_time) AS month, day(event_time) AS day, hour(event_time) AS hour FROM (
    SELECT CAST(replace(timestamp, 'Z', '') AS TIMESTAMP) AS event_time, user_id, session_id, event_type, product_id,
      category, CAST(price AS DECIMAL(12,2)) AS price, CAST(quantity AS INTEGER) AS quantity,
      CASE WHEN event_type = 'purchase' THEN CAST(CAST(price AS DECIMAL(12,2)) * quantity AS DECIMAL(18,2)) END AS revenue
    FROM read_json(${sqlString(bronzeGlob(bronzeDir))}, format = 'newline_delimited', compression = 'gzip',
      columns = {timestamp: 'VARCHAR', user_id: 'VARCHAR', session_id: 'VARCHAR', event_type: 'VARCHAR', product_id: 'VARCHAR',
                 category: 'VARCHAR', price: 'DOUBLE', quantity: 'BIGINT'}))`;
  const query = QUERIES[name];
  const sql = `WITH events AS (SELECT * FROM (${relation}) ${filter.length ? `WHERE ${filter.join(' AND ')}` : ''})\n${query.sql({ limit: 10 })}`;
  const result = await withDb({}, (db) => db.table(sql));
  return result.rows.map((values) =>
    Object.fromEntries(
      query.columns.map((c, i) => [c.name, values[i] === null || values[i] === undefined ? null : c.kind === 'text' ? String(values[i]) : Number(values[i])]),
    ),
  );
}
