import { copyFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPath, ensureCatalog, readCatalogInfo, refreshCatalog } from '../src/catalog/refresh-catalog.js';
import { withDb } from '../src/db/duckdb.js';
import { eventsFileKey } from '../src/ledger/layout.js';
import { readSnapshot } from '../src/ledger/log.js';
import { emptyRejectCounts } from '../src/ledger/types.js';
import { LocalStorage } from '../src/storage/local.js';
import { runCli, tempDir } from './helpers/cli.js';
import { makeEvents, microsOf, partitionOf, writeRun } from './helpers/silver-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let warehouseDir: string;
let bronzeDir: string;
let eventCount: number;
const BRONZE_KEY = 'year=2025/month=07/day=01/hour=00/minute=05/events-1.jsonl.gz';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('strata-catalog-'));
  warehouseDir = path.join(dir, 'warehouse');
  bronzeDir = path.join(dir, 'bronze');
  const run1 = makeEvents(11, 300, '2025-06-30T23:00:00Z', 3, 'a');
  const run2 = makeEvents(12, 100, '2025-07-01T00:00:00Z', 1, 'b');
  const record = (p: string, state: 'committed' | 'failed', runId: string) => ({
    path: p,
    size: 10,
    etag: 'x',
    sha256: '',
    state,
    runId,
    lines: 3,
    valid: 2,
    rejected: { ...emptyRejectCounts(), bad_price: 1 },
    duplicates: 0,
    ...(state === 'failed' ? { reason: 'corrupt_file' } : {}),
  });
  await writeRun(warehouseDir, {
    version: 1,
    runId: 'r1',
    events: run1,
    quarantine: [{ source_file: 'a.jsonl.gz', source_line: 3, reason: 'bad_price', raw_line: '{"price":-1}' }],
    files: [record('a.jsonl.gz', 'committed', 'r1'), record('b.jsonl.gz', 'failed', 'r1')],
  });
  await writeRun(warehouseDir, { version: 2, runId: 'r2', events: run2 });
  const p = partitionOf(microsOf('2025-07-01T00:00:00Z'));
  const h00 = [...run1, ...run2].filter((e) => partitionOf(e.micros).day === 1 && partitionOf(e.micros).hour === 0);
  await writeRun(warehouseDir, { version: 3, runId: 'c3', kind: 'compact', events: h00, remove: [eventsFileKey(p, 'r1'), eventsFileKey(p, 'r2')] });
  await copyFile(path.join(warehouseDir, eventsFileKey(p, 'c3')), path.join(warehouseDir, eventsFileKey(p, 'orphan')));
  eventCount = run1.length + run2.length;

  const lines = [
    JSON.stringify({ event_id: 'z1', timestamp: '2025-07-01T00:05:01Z', user_id: 7, session_id: 's', event_type: 'purchase', product_id: 'P1', price: 12.5, quantity: 2 }),
    'not json',
    JSON.stringify({ event_id: 'z2', timestamp: '2025-07-01T00:05:02Z', event_type: 'search', search_query: 'shoes', extra: true }),
  ];
  await mkdir(path.join(bronzeDir, path.dirname(BRONZE_KEY)), { recursive: true });
  await writeFile(path.join(bronzeDir, BRONZE_KEY), gzipSync(`${lines.join('\n')}\n`));
  await writeFile(path.join(bronzeDir, path.dirname(BRONZE_KEY), 'ignored.jsonl.gz.tmp'), 'partial');
  await writeFile(path.join(bronzeDir, path.dirname(BRONZE_KEY), '.being-written.jsonl.gz'), 'partial, not gzip');

  const warehouse = new LocalStorage(warehouseDir);
  await refreshCatalog(warehouse, new LocalStorage(bronzeDir), await readSnapshot(warehouse));
}, 30_000);

afterAll(() => cleanup());

/** Like `duckdb -readonly catalog.duckdb "..."`: a separate instance, nothing but the file. */
function readOnly<T>(body: (db: Awaited<ReturnType<typeof openAll>>) => Promise<T>): Promise<T> {
  return withDb({ path: path.join(warehouseDir, 'catalog.duckdb'), readOnly: true }, (db) => body(openAll(db)));
}
function openAll(db: Parameters<Parameters<typeof withDb>[1]>[0]) {
  return { all: (sql: string) => db.json(sql), scalar: async (sql: string) => Number(await db.scalar(sql)) };
}

describe('catalog.duckdb', () => {
  it('lives under the warehouse root and opens read-only from another connection', async () => {
    expect(catalogPath(new LocalStorage(warehouseDir))).toBe(path.join(warehouseDir, 'catalog.duckdb'));
    await readOnly(async (db) => {
      expect(await db.scalar('SELECT count(*) FROM events')).toBe(eventCount);
      expect(await db.scalar('SELECT count(DISTINCT event_id) FROM events')).toBe(eventCount);
      expect(await db.scalar('SELECT count(*) FROM quarantine')).toBe(1);
      expect(await db.scalar('SELECT version FROM catalog_info')).toBe(3);
    });
  });

  it('declares the SPEC §4 types, not inferred ones', async () => {
    await readOnly(async (db) => {
      const cols = await db.all("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position");
      expect(cols.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
        'event_id VARCHAR',
        'event_time TIMESTAMP',
        'user_id VARCHAR',
        'session_id VARCHAR',
        'event_type VARCHAR',
        'product_id VARCHAR',
        'category VARCHAR',
        'search_query VARCHAR',
        'price DECIMAL(12,2)',
        'quantity INTEGER',
        'revenue DECIMAL(18,2)',
        'event_date DATE',
        'extras VARCHAR',
        'source_file VARCHAR',
        'source_line BIGINT',
        'run_id VARCHAR',
        'year INTEGER',
        'month INTEGER',
        'day INTEGER',
        'hour INTEGER',
      ]);
      const q = await db.all("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'quarantine' ORDER BY ordinal_position");
      expect(q.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
        'source_file VARCHAR',
        'source_line BIGINT',
        'reason VARCHAR',
        'raw_line VARCHAR',
        'run_id VARCHAR',
        'ingested_at TIMESTAMP',
      ]);
    });
  });

  it('prunes hour partitions without opening their files', async () => {
    await readOnly(async (db) => {
      const plan = (await db.all('EXPLAIN SELECT count(*) FROM events WHERE year = 2025 AND month = 7 AND day = 1 AND hour = 0'))
        .map((r) => String(r.explain_value))
        .join('\n');
      expect(plan).toMatch(/Scanning Files: 1\/3/);
    });
  });

  it('holds the ledger as tables', async () => {
    await readOnly(async (db) => {
      expect(await db.all('SELECT run_id, kind, duration_ms, rejected FROM runs ORDER BY run_id')).toEqual([
        { run_id: 'c3', kind: 'compact', duration_ms: '1500', rejected: '0' },
        { run_id: 'r1', kind: 'etl', duration_ms: '1500', rejected: '1' },
        { run_id: 'r2', kind: 'etl', duration_ms: '1500', rejected: '0' },
      ]);
      expect(await db.all("SELECT path, state, reason, rejected_by_reason['bad_price'] AS bad_price FROM files ORDER BY path")).toEqual([
        { path: 'a.jsonl.gz', state: 'committed', reason: null, bad_price: '1' },
        { path: 'b.jsonl.gz', state: 'failed', reason: 'corrupt_file', bad_price: '1' },
      ]);
      expect(await db.scalar("SELECT count(*) FROM data_files WHERE table_name = 'events'")).toBe(3);
      expect(
        await db.all(`SELECT CAST(started_at AS VARCHAR) AS started, CAST(finished_at AS VARCHAR) AS finished, typeof(started_at) AS t,
          new_fields, typeof(changed_files) AS lists FROM runs WHERE run_id = 'r1'`),
      ).toEqual([{ started: '2025-07-01 03:00:00', finished: '2025-07-01 03:00:01.5', t: 'TIMESTAMP', new_fields: [], lists: 'VARCHAR[]' }]);
    });
  });

  it('has a raw bronze_events view over the gz JSON with minute partitions', async () => {
    await readOnly(async (db) => {
      const rows = await db.all('SELECT event_id, user_id, price, quantity, year, month, day, hour, minute FROM bronze_events ORDER BY event_id NULLS LAST');
      expect(rows).toEqual([
        { event_id: 'z1', user_id: '7', price: 12.5, quantity: '2', year: 2025, month: 7, day: 1, hour: 0, minute: 5 },
        { event_id: 'z2', user_id: null, price: null, quantity: null, year: 2025, month: 7, day: 1, hour: 0, minute: 5 },
        { event_id: null, user_id: null, price: null, quantity: null, year: 2025, month: 7, day: 1, hour: 0, minute: 5 },
      ]);
    });
  });

  it('is rebuilt by readers when behind the log, keeping the bronze view, and never goes back', async () => {
    const warehouse = new LocalStorage(warehouseDir);
    const old = await readSnapshot(warehouse);
    await writeRun(warehouseDir, { version: 4, runId: 'r4', events: makeEvents(13, 10, '2025-07-01T05:00:00Z', 1, 'd') });
    // A reader holding the old catalog open keeps reading it while it is replaced.
    await readOnly(async (db) => {
      const { info } = await ensureCatalog(warehouse);
      expect(info.version).toBe(4);
      expect(await db.scalar('SELECT count(*) FROM events')).toBe(eventCount);
    });
    await readOnly(async (db) => {
      expect(await db.scalar('SELECT count(*) FROM events')).toBe(eventCount + 10);
      expect(await db.scalar('SELECT count(*) FROM bronze_events')).toBe(3);
    });
    await refreshCatalog(warehouse, undefined, old); // a slow refresh of an older version finishing late
    expect((await readCatalogInfo(catalogPath(warehouse)))?.version).toBe(4);
    const leftovers = (await readdir(warehouseDir)).filter((n) => n.startsWith('.strata-tmp') || n.endsWith('.wal'));
    expect(leftovers).toEqual([]);
  });

  it('is rebuilt when the warehouse folder has moved', async () => {
    const moved = path.join(dir, 'moved');
    await cp(warehouseDir, moved, { recursive: true });
    const { info } = await ensureCatalog(new LocalStorage(moved));
    expect(info.warehouse).toBe(moved);
    expect(info.readPaths.every((p) => p.startsWith(`${moved}/`))).toBe(true);
    await rm(moved, { recursive: true });
  });

  it('is rebuilt on demand by `strata catalog refresh`', async () => {
    const run = await runCli(['catalog', 'refresh', '--warehouse', warehouseDir, '--bronze', bronzeDir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ catalog: path.join(warehouseDir, 'catalog.duckdb'), version: 4, bronze_events: true });
  });

  it('has a bronze_events view only when a complete file sits where the view looks', async () => {
    const { dir: bronze, cleanup: done } = await tempDir('strata-catalog-bronze-');
    try {
      const minute = path.join(bronze, 'year=2025/month=07/day=01/hour=00/minute=05');
      await mkdir(path.join(minute, 'folder.jsonl.gz'), { recursive: true });
      await writeFile(path.join(minute, '.strata-tmp-half.jsonl.gz'), gzipSync('{}\n'));
      await writeFile(path.join(bronze, 'top.jsonl.gz'), gzipSync('{}\n'));
      await mkdir(path.join(bronze, 'other/month=07/day=01/hour=00/minute=05'), { recursive: true });
      await writeFile(path.join(bronze, 'other/month=07/day=01/hour=00/minute=05/e.jsonl.gz'), gzipSync('{}\n'));
      const refresh = async (): Promise<boolean> => {
        const run = await runCli(['catalog', 'refresh', '--warehouse', warehouseDir, '--bronze', bronze, '--json']);
        expect(run.code, run.stderr).toBe(0);
        return JSON.parse(run.stdout).bronze_events;
      };
      expect(await refresh()).toBe(false);
      await writeFile(path.join(minute, 'e.jsonl.gz'), gzipSync('{"event_id":"b1"}\n'));
      expect(await refresh()).toBe(true);
      await readOnly(async (db) => expect(await db.scalar('SELECT count(*) FROM bronze_events')).toBe(1));
    } finally {
      await runCli(['catalog', 'refresh', '--warehouse', warehouseDir, '--bronze', bronzeDir, '--json']);
      await done();
    }
  });

  it('has typed empty views for a warehouse with nothing committed', async () => {
    const { dir: empty, cleanup: done } = await tempDir('strata-catalog-empty-');
    try {
      const warehouse = new LocalStorage(empty);
      const { path: file, info } = await ensureCatalog(warehouse);
      expect(info.version).toBe(0);
      await withDb({ path: file, readOnly: true }, async (db) => {
        expect(Number(await db.scalar('SELECT count(*) FROM events'))).toBe(0);
        expect(Number(await db.scalar('SELECT count(*) FROM runs'))).toBe(0);
      });
    } finally {
      await done();
    }
  });
});
