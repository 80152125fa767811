/**
 * Builds a warehouse the way the ETL leaves one, without the ETL: Parquet files written with
 * DuckDB COPY into the SPEC layout, and a commit in the ledger log. Rows are plain TypeScript
 * objects, so tests compute expected query results from them independently of the SQL.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withDb } from '../../src/db/duckdb.js';
import { sqlString } from '../../src/db/sql.js';
import { eventsFileKey, quarantineFileKey } from '../../src/ledger/layout.js';
import { commit } from '../../src/ledger/log.js';
import { emptyRejectCounts, type BronzeFileRecord, type CommitEntry, type DataFile, type HourPartition, type RejectReason } from '../../src/ledger/types.js';
import { publishActivityRollup } from '../../src/silver/activity-rollup.js';
import { LocalStorage } from '../../src/storage/local.js';

export interface FixtureEvent {
  readonly event_id: string;
  /** Microseconds since the epoch, UTC. */
  readonly micros: bigint;
  readonly user_id: string;
  readonly session_id: string;
  readonly event_type: 'page_view' | 'search' | 'add_to_cart' | 'remove_from_cart' | 'purchase';
  readonly product_id: string | null;
  readonly category: string | null;
  readonly search_query: string | null;
  readonly price_cents: number | null;
  readonly quantity: number | null;
}

export interface FixtureQuarantine {
  readonly source_file: string;
  readonly source_line: number;
  readonly reason: RejectReason;
  readonly raw_line: string;
}

export interface FixtureRun {
  readonly version: number;
  readonly runId: string;
  readonly events: readonly FixtureEvent[];
  readonly quarantine?: readonly FixtureQuarantine[];
  readonly files?: readonly BronzeFileRecord[];
  /** Keys of earlier data files this commit supersedes (compaction). */
  readonly remove?: readonly string[];
  /** Whether each events file gets its activity rollup, as etl writes it (default); false: a warehouse from before rollups. */
  readonly rollups?: boolean;
  readonly kind?: 'etl' | 'compact';
  readonly durationMs?: number;
}

export function microsOf(iso: string): bigint {
  const m = /^(.*?)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) throw new Error(`bad fixture time ${iso}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

export function partitionOf(micros: bigint): HourPartition {
  const d = new Date(Number(micros / 1000n));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

function timestampText(micros: bigint): string {
  const iso = new Date(Number(micros / 1000n)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`;
}

const cents = (c: number): string => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;

function revenueCents(e: FixtureEvent): number | null {
  return e.event_type === 'purchase' && e.price_cents !== null && e.quantity !== null ? e.price_cents * e.quantity : null;
}

/** Writes one run's files and publishes its commit. Returns the entry. */
export async function writeRun(warehouseDir: string, run: FixtureRun): Promise<CommitEntry> {
  const storage = new LocalStorage(warehouseDir);
  const add: DataFile[] = [];
  const byHour = new Map<string, { p: HourPartition; rows: FixtureEvent[] }>();
  for (const e of run.events) {
    const p = partitionOf(e.micros);
    const key = eventsFileKey(p, run.runId);
    const group = byHour.get(key) ?? { p, rows: [] };
    group.rows.push(e);
    byHour.set(key, group);
  }
  const scratch = path.join(warehouseDir, '_strata', 'fixture-scratch');
  await mkdir(scratch, { recursive: true });
  await withDb({}, async (db) => {
    for (const [key, { p, rows }] of byHour) {
      const json = path.join(scratch, `${run.runId}.json`);
      await writeFile(
        json,
        rows
          .map((e) =>
            JSON.stringify({
              event_id: e.event_id,
              event_time: timestampText(e.micros),
              user_id: e.user_id,
              session_id: e.session_id,
              event_type: e.event_type,
              product_id: e.product_id,
              category: e.category,
              search_query: e.search_query,
              price: e.price_cents === null ? null : cents(e.price_cents),
              quantity: e.quantity,
              revenue: revenueCents(e) === null ? null : cents(revenueCents(e)!),
              source_line: 1,
            }),
          )
          .join('\n'),
      );
      const target = storage.localPath(key);
      await mkdir(path.dirname(target), { recursive: true });
      await db.run(`COPY (
        SELECT event_id, CAST(event_time AS TIMESTAMP) AS event_time, user_id, session_id, event_type, product_id, category,
               search_query, CAST(price AS DECIMAL(12,2)) AS price, CAST(quantity AS INTEGER) AS quantity,
               CAST(revenue AS DECIMAL(18,2)) AS revenue, CAST(CAST(event_time AS TIMESTAMP) AS DATE) AS event_date,
               CAST(NULL AS VARCHAR) AS extras, 'fixture.jsonl.gz' AS source_file, CAST(source_line AS BIGINT) AS source_line,
               ${sqlString(run.runId)} AS run_id, CAST(${p.year} AS INTEGER) AS year, CAST(${p.month} AS INTEGER) AS month,
               CAST(${p.day} AS INTEGER) AS day, CAST(${p.hour} AS INTEGER) AS hour
        FROM read_json(${sqlString(json)}, format = 'newline_delimited', columns = {event_id: 'VARCHAR', event_time: 'VARCHAR',
             user_id: 'VARCHAR', session_id: 'VARCHAR', event_type: 'VARCHAR', product_id: 'VARCHAR', category: 'VARCHAR',
             search_query: 'VARCHAR', price: 'VARCHAR', quantity: 'INTEGER', revenue: 'VARCHAR', source_line: 'BIGINT'})
      ) TO ${sqlString(target)} (FORMAT parquet)`);
      add.push({ key, table: 'events', rows: rows.length, bytes: (await stat(target)).size, partition: p, runId: run.runId });
      if (run.rollups !== false) {
        add.push(await publishActivityRollup(db, storage, { key, localPath: target, partition: p, runId: run.runId }, path.join(scratch, `${run.runId}.activity.parquet`)));
      }
    }
    if (run.quarantine && run.quarantine.length > 0) {
      const key = quarantineFileKey(run.runId, new Date('2025-07-01T03:00:00Z'));
      const target = storage.localPath(key);
      await mkdir(path.dirname(target), { recursive: true });
      const values = run.quarantine
        .map((q) => `(${sqlString(q.source_file)}, ${q.source_line}, ${sqlString(q.reason)}, ${sqlString(q.raw_line)})`)
        .join(', ');
      await db.run(`COPY (
        SELECT f AS source_file, CAST(l AS BIGINT) AS source_line, r AS reason, raw AS raw_line, ${sqlString(run.runId)} AS run_id,
               TIMESTAMP '2025-07-01 03:00:00' AS ingested_at
        FROM (VALUES ${values}) v(f, l, r, raw)
      ) TO ${sqlString(target)} (FORMAT parquet)`);
      add.push({ key, table: 'quarantine', rows: run.quarantine.length, bytes: (await stat(target)).size, runId: run.runId });
    }
  });
  const rejected = emptyRejectCounts();
  for (const q of run.quarantine ?? []) rejected[q.reason] += 1;
  const entry: CommitEntry = {
    version: run.version,
    committedAt: new Date().toISOString(),
    add,
    remove: run.remove ?? [],
    files: run.files ?? [],
    fieldsSeen: [],
    run: {
      runId: run.runId,
      kind: run.kind ?? 'etl',
      startedAt: '2025-07-01T03:00:00.000Z',
      finishedAt: '2025-07-01T03:00:01.500Z',
      durationMs: run.durationMs ?? 1500,
      filesProcessed: (run.files ?? []).filter((f) => f.state === 'committed').length,
      filesFailed: (run.files ?? []).filter((f) => f.state === 'failed').length,
      lines: run.events.length + (run.quarantine?.length ?? 0),
      valid: run.events.length,
      rejected,
      duplicates: 0,
      partitionsWritten: byHour.size,
      newFields: [],
      changedFiles: [],
    },
  };
  await commit(storage, entry);
  return entry;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['page_view', 'page_view', 'page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase', 'purchase'] as const;
const CATEGORIES = ['electronics', 'books', 'toys & games', 'garden', null] as const;

/**
 * `count` events spread over `hours` hours from `startIso`, few products and users so that ties
 * and repeated sessions happen, prices with odd cents.
 */
export function makeEvents(seed: number, count: number, startIso: string, hours: number, idPrefix = 'e'): FixtureEvent[] {
  const rand = prng(seed);
  const start = microsOf(startIso);
  const span = BigInt(hours) * 3_600_000_000n;
  const events: FixtureEvent[] = [];
  for (let i = 0; i < count; i++) {
    const type = TYPES[Math.floor(rand() * TYPES.length)]!;
    const hasProduct = type !== 'search';
    const micros = start + BigInt(Math.floor(rand() * Number(span)));
    const quantity = type === 'add_to_cart' || type === 'remove_from_cart' || type === 'purchase' ? 1 + Math.floor(rand() * 4) : null;
    events.push({
      event_id: `${idPrefix}${String(i).padStart(6, '0')}`,
      micros,
      user_id: `U${Math.floor(rand() * 40)}`,
      session_id: `S${Math.floor(rand() * 70)}`,
      event_type: type,
      product_id: hasProduct ? `P${String(Math.floor(rand() * 12)).padStart(3, '0')}` : null,
      category: CATEGORIES[Math.floor(rand() * CATEGORIES.length)] ?? null,
      search_query: type === 'search' ? `query ${Math.floor(rand() * 5)}` : null,
      price_cents: hasProduct && type !== 'page_view' ? 1 + Math.floor(rand() * 99_999) : null,
      quantity,
    });
  }
  return events;
}
