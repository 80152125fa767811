import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalogInfo } from '../src/catalog/refresh-catalog.js';
import { readSnapshot } from '../src/ledger/log.js';
import { withDb } from '../src/db/duckdb.js';
import { activityFileKey, eventsFileKey } from '../src/ledger/layout.js';
import { businessQuerySql, eventFilesInRange, eventPathsInRange, parseInstant, parseLimit, parseQueryName, parseTimeRange, runBusinessQuery, QUERY_NAMES, type QueryName } from '../src/queries/run-query.js';
import { QueryEngine } from '../src/queries/query-engine.js';
import { LocalStorage } from '../src/storage/local.js';
import { warehouseQueries } from '../src/server/warehouse-queries.js';
import { runCli, tempDir } from './helpers/cli.js';
import { makeEvents, microsOf, partitionOf, writeRun, type FixtureEvent } from './helpers/silver-fixture.js';

// ---- expected results, computed in TypeScript from the fixture rows (not with SQL) ----

type Row = Record<string, string | number | null>;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const hourOf = (m: bigint): string => `${new Date(Number(m / 1000n)).toISOString().slice(0, 13)}:00:00Z`;
const dayOf = (m: bigint): string => new Date(Number(m / 1000n)).toISOString().slice(0, 10);

function inRange(events: readonly FixtureEvent[], from?: bigint, to?: bigint): FixtureEvent[] {
  return events.filter((e) => (from === undefined || e.micros >= from) && (to === undefined || e.micros < to));
}

function expected(name: QueryName, events: readonly FixtureEvent[], limit = 10): Row[] {
  const count = <K extends string>(keyOf: (e: FixtureEvent) => K | null, filter: (e: FixtureEvent) => boolean) => {
    const m = new Map<K, FixtureEvent[]>();
    for (const e of events) {
      if (!filter(e)) continue;
      const k = keyOf(e);
      if (k === null) continue;
      m.set(k, [...(m.get(k) ?? []), e]);
    }
    return m;
  };
  switch (name) {
    case 'funnel': {
      const g = count((e) => e.product_id, (e) => ['page_view', 'add_to_cart', 'purchase'].includes(e.event_type));
      return [...g]
        .map(([product_id, es]) => ({
          product_id,
          page_views: es.filter((e) => e.event_type === 'page_view').length,
          add_to_carts: es.filter((e) => e.event_type === 'add_to_cart').length,
          purchases: es.filter((e) => e.event_type === 'purchase').length,
        }))
        .sort((a, b) => b.page_views - a.page_views || cmp(a.product_id, b.product_id));
    }
    case 'hourly_revenue': {
      const g = count((e) => hourOf(e.micros), (e) => e.event_type === 'purchase');
      return [...g]
        .map(([hour, es]) => ({ hour, purchases: es.length, revenue: es.reduce((s, e) => s + e.price_cents! * e.quantity!, 0) / 100 }))
        .sort((a, b) => cmp(a.hour, b.hour));
    }
    case 'top_products': {
      const g = count((e) => e.product_id, (e) => e.event_type === 'page_view');
      return [...g]
        .map(([product_id, es]) => ({ product_id, page_views: es.length }))
        .sort((a, b) => b.page_views - a.page_views || cmp(a.product_id, b.product_id))
        .slice(0, limit);
    }
    case 'category_performance': {
      const g = count((e) => (e.category === null ? null : `${dayOf(e.micros)}|${e.category}|${e.event_type}`), () => true);
      return [...g]
        .map(([k, es]) => {
          const [day, category, event_type] = k.split('|') as [string, string, string];
          return { day, category, event_type, events: es.length };
        })
        .sort((a, b) => cmp(a.day, b.day) || cmp(a.category, b.category) || cmp(a.event_type, b.event_type));
    }
    case 'user_activity': {
      const g = count((e) => dayOf(e.micros), () => true);
      return [...g]
        .map(([day, es]) => ({
          day,
          unique_users: new Set(es.map((e) => e.user_id)).size,
          unique_sessions: new Set(es.map((e) => e.session_id)).size,
          events: es.length,
        }))
        .sort((a, b) => cmp(a.day, b.day));
    }
  }
}

// ---- the fixture: three commits (two etl runs and a compaction) plus an orphan file ----

const edge = (id: string, iso: string, type: FixtureEvent['event_type'], product: string, priceCents: number | null, quantity: number | null): FixtureEvent => ({
  event_id: id,
  micros: microsOf(iso),
  user_id: 'U_edge',
  session_id: 'S_edge',
  event_type: type,
  product_id: product,
  category: 'edge cases',
  search_query: null,
  price_cents: priceCents,
  quantity,
});

const EDGES: FixtureEvent[] = [
  edge('x1', '2025-07-01T00:00:00.000000Z', 'purchase', 'P900', 1, 3),
  edge('x2', '2025-06-30T23:59:59.999999Z', 'purchase', 'P900', 999_999_999, 7),
  edge('x3', '2025-07-01T00:07:30.000000Z', 'page_view', 'P901', null, null),
  edge('x4', '2025-07-01T00:07:29.999999Z', 'page_view', 'P901', null, null),
  edge('x5', '2025-07-01T00:59:59.999999Z', 'add_to_cart', 'P902', 1999, 1),
  edge('x6', '2025-07-01T01:00:00.000000Z', 'purchase', 'P902', 1999, 2),
];

let dir: string;
let cleanup: () => Promise<void>;
let warehouseDir: string;
let all: FixtureEvent[];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('strata-queries-'));
  warehouseDir = path.join(dir, 'warehouse');
  const run1 = [...makeEvents(1, 500, '2025-06-30T22:00:00Z', 4, 'a'), ...EDGES];
  const run2 = makeEvents(2, 250, '2025-07-01T00:00:00Z', 2, 'b');
  // r1 as written before activity rollups; r2 and the compaction with them: a day mixes both.
  await writeRun(warehouseDir, { version: 1, runId: 'r1', events: run1, rollups: false });
  await writeRun(warehouseDir, { version: 2, runId: 'r2', events: run2 });
  // Compaction of hour 00 of 2025-07-01: its two files become one; the old ones stay on disk
  // (as after a crash before cleanup), so anything that lists folders would double count.
  const h00 = (e: FixtureEvent) => hourOf(e.micros) === '2025-07-01T00:00:00Z';
  const p = partitionOf(microsOf('2025-07-01T00:00:00Z'));
  await writeRun(warehouseDir, {
    version: 3,
    runId: 'c3',
    kind: 'compact',
    events: [...run1.filter(h00), ...run2.filter(h00)],
    remove: [eventsFileKey(p, 'r1'), eventsFileKey(p, 'r2'), activityFileKey(eventsFileKey(p, 'r2'))],
  });
  // An orphan from a run that never committed.
  await copyFile(path.join(warehouseDir, eventsFileKey(p, 'c3')), path.join(warehouseDir, eventsFileKey(p, 'orphan')));
  all = [...run1, ...run2];
}, 30_000);

afterAll(() => cleanup());

const RANGES: { from?: string; to?: string }[] = [
  {},
  { from: '2025-07-01', to: '2025-07-01T01:00:00Z' },
  { from: '2025-07-01T00:07:30Z', to: '2025-07-01T01:00:00.000001Z' },
  { from: '2025-07-01T02:07:30+02:00', to: '2025-06-30T21:00:00-04:00' },
  { from: '2025-06-30T23:59:59.999999' },
  { to: '2025-07-01 00:00:00' },
  { from: '2030-01-01', to: '2030-01-02' },
  // Empty, inside an hour that has a file: that day is read and must not show up with 0 events.
  { from: '2025-06-30T23:30:00Z', to: '2025-06-30T23:30:00Z' },
  // One hour held by two files (runs r1 and r2), and part of an hour: the one-hour SQL.
  { from: '2025-07-01T01:00:00Z', to: '2025-07-01T02:00:00Z' },
  { from: '2025-07-01T00:07:29.999999Z', to: '2025-07-01T00:59:59.999999Z' },
];

describe('business queries', () => {
  for (const range of RANGES) {
    it(`match values computed independently for ${JSON.stringify(range)}`, async () => {
      const warehouse = new LocalStorage(warehouseDir);
      const t = parseTimeRange(range);
      const events = inRange(all, t.fromMicros, t.toMicros);
      for (const name of QUERY_NAMES) {
        const rows = await runBusinessQuery(warehouse, name, range);
        expect(rows, name).toEqual(expected(name, events));
      }
    });
  }

  it('top_products honours --limit and breaks ties by product_id', async () => {
    const warehouse = new LocalStorage(warehouseDir);
    for (const limit of [1, 3, 7, 50]) {
      expect(await runBusinessQuery(warehouse, 'top_products', { limit })).toEqual(expected('top_products', all, limit));
    }
    const full = expected('top_products', all, 1000);
    const views = full.map((r) => r.page_views);
    expect(new Set(views).size).toBeLessThan(views.length); // the fixture does have ties
  });

  it('includes the edges: from inclusive, to exclusive, to the microsecond; revenue to the cent', async () => {
    const warehouse = new LocalStorage(warehouseDir);
    const hourly = await runBusinessQuery(warehouse, 'hourly_revenue', { from: '2025-06-30T23:59:59.999999Z', to: '2025-07-01T00:00:00.000001Z' });
    const fromEdges = expected('hourly_revenue', inRange(all, microsOf('2025-06-30T23:59:59.999999Z'), microsOf('2025-07-01T00:00:00.000001Z')));
    expect(hourly).toEqual(fromEdges);
    expect(hourly.find((r) => r.hour === '2025-06-30T23:00:00Z')?.revenue).toBe(69_999_999.93);
    const none = await runBusinessQuery(warehouse, 'funnel', { from: '2025-07-01T00:07:30Z', to: '2025-07-01T00:07:30Z' });
    expect(none).toEqual([]);
    const p901 = await runBusinessQuery(warehouse, 'top_products', { from: '2025-07-01T00:07:29.999999Z', to: '2025-07-01T00:07:30Z' });
    expect(p901.find((r) => r.product_id === 'P901')?.page_views).toBe(1);
  });

  it('prunes files by hour partition before building SQL', async () => {
    const snapshot = await readSnapshot(new LocalStorage(warehouseDir));
    const oneHour = eventFilesInRange(snapshot, parseTimeRange({ from: '2025-07-01T00:00:00Z', to: '2025-07-01T01:00:00Z' }));
    expect(oneHour.map((f) => f.key)).toEqual([eventsFileKey(partitionOf(microsOf('2025-07-01T00:00:00Z')), 'c3')]);
    const partial = eventFilesInRange(snapshot, parseTimeRange({ from: '2025-07-01T00:30:00Z', to: '2025-07-01T01:00:00.000001Z' }));
    expect(partial).toHaveLength(3); // hour 00 (compacted), hour 01 of r1 and of r2
    expect(eventFilesInRange(snapshot, {}).length).toBe(snapshot.dataFiles.filter((f) => f.table === 'events').length);
  });

  it('answers a window inside one hour partition without grouping on the hour', async () => {
    const warehouse = new LocalStorage(warehouseDir);
    const snapshot = await readSnapshot(warehouse);
    const oneHour = parseTimeRange({ from: '2025-07-01T01:00:00Z', to: '2025-07-01T02:00:00Z' });
    const files = await eventPathsInRange(warehouse, snapshot, oneHour);
    expect(files.hour).toBe('2025-07-01T01:00:00Z');
    expect(files.whole).toHaveLength(2);
    expect(businessQuerySql('hourly_revenue', files, oneHour, 10)).not.toMatch(/GROUP BY/);
    const twoHours = parseTimeRange({ from: '2025-07-01T00:30:00Z', to: '2025-07-01T01:30:00Z' });
    const spread = await eventPathsInRange(warehouse, snapshot, twoHours);
    expect(spread.hour).toBeUndefined();
    expect(businessQuerySql('hourly_revenue', spread, twoHours, 10)).toMatch(/GROUP BY/);
  });
});

describe('user_activity over activity rollups', () => {
  it('reads an hour wholly inside the range from its rollup, and a partial hour from its rows', async () => {
    const own = path.join(dir, 'rollup-warehouse');
    const events = makeEvents(21, 400, '2025-07-01T00:00:00Z', 2, 'u');
    await writeRun(own, { version: 1, runId: 'r1', events });
    const warehouse = new LocalStorage(own);
    const [day] = expected('user_activity', events) as [Row];
    expect(await runBusinessQuery(warehouse, 'user_activity', {})).toEqual([day]);
    // Hour 00's rollup made to claim one user and one session that no row of silver holds.
    const rollup = path.join(own, activityFileKey(eventsFileKey(partitionOf(microsOf('2025-07-01T00:00:00Z')), 'r1')));
    await withDb({}, (db) =>
      db.run(`COPY (SELECT user_id, session_id FROM read_parquet('${rollup}') UNION ALL SELECT 'ghost-user', NULL UNION ALL SELECT NULL, 'ghost-session')
        TO '${rollup}.new' (FORMAT parquet)`),
    );
    await rename(`${rollup}.new`, rollup);
    const ghosts = { ...day, unique_users: Number(day.unique_users) + 1, unique_sessions: Number(day.unique_sessions) + 1 };
    expect(await runBusinessQuery(warehouse, 'user_activity', {})).toEqual([ghosts]);
    expect(await runBusinessQuery(warehouse, 'user_activity', { from: '2025-07-01T00:00:00Z', to: '2025-07-01T01:00:00Z' })).toEqual(
      expected('user_activity', inRange(events, microsOf('2025-07-01T00:00:00Z'), microsOf('2025-07-01T01:00:00Z'))).map((r) => ({
        ...r,
        unique_users: Number(r.unique_users) + 1,
        unique_sessions: Number(r.unique_sessions) + 1,
      })),
    );
    // A microsecond less of hour 00: its rows are read, the ghosts are gone.
    const partial = { from: '2025-07-01T00:00:00.000001Z' };
    const t = parseTimeRange(partial);
    expect(await runBusinessQuery(warehouse, 'user_activity', partial)).toEqual(expected('user_activity', inRange(events, t.fromMicros, t.toMicros)));
    const engine = new QueryEngine(warehouse);
    try {
      expect(await engine.query('user_activity', {})).toEqual([ghosts]);
    } finally {
      await engine.close();
    }
  });
});

describe('a long-lived QueryEngine', () => {
  it('answers like runBusinessQuery and follows every new commit, compaction included', async () => {
    const own = path.join(dir, 'engine-warehouse');
    const warehouse = new LocalStorage(own);
    const engine = new QueryEngine(warehouse);
    try {
      await expect(engine.query('funnel', {})).rejects.toThrow(/no data in warehouse .* yet/);
      const run1 = makeEvents(11, 300, '2025-07-01T00:00:00Z', 2, 'a');
      await writeRun(own, { version: 1, runId: 'r1', events: run1 });
      for (const name of QUERY_NAMES) expect(await engine.query(name, {}), name).toEqual(expected(name, run1));

      const run2 = makeEvents(12, 200, '2025-07-01T00:00:00Z', 2, 'b');
      await writeRun(own, { version: 2, runId: 'r2', events: run2 });
      const both = [...run1, ...run2];
      for (const name of QUERY_NAMES) expect(await engine.query(name, {}), name).toEqual(expected(name, both));

      // Compaction replaces hour 00's files, which then leave the disk: a cached file list or
      // footer of the old files would fail or count twice.
      const p = partitionOf(microsOf('2025-07-01T00:00:00Z'));
      const h00 = both.filter((e) => hourOf(e.micros) === '2025-07-01T00:00:00Z');
      await writeRun(own, { version: 3, runId: 'c3', kind: 'compact', events: h00, remove: [eventsFileKey(p, 'r1'), eventsFileKey(p, 'r2')] });
      await rm(path.join(own, eventsFileKey(p, 'r1')));
      await rm(path.join(own, eventsFileKey(p, 'r2')));
      const window = { from: '2025-07-01T00:30:00Z', to: '2025-07-01T01:30:00Z' };
      const t = parseTimeRange(window);
      for (const name of QUERY_NAMES) {
        expect(await engine.query(name, {}), name).toEqual(expected(name, both));
        expect(await engine.query(name, window), name).toEqual(expected(name, inRange(both, t.fromMicros, t.toMicros)));
        expect(await engine.query(name, window), name).toEqual(await runBusinessQuery(warehouse, name, window));
      }
      await expect(engine.query('nope', {})).rejects.toThrow(/unknown query "nope"; valid queries: funnel/);
    } finally {
      await engine.close();
    }
  });
});

describe("serve's query service", () => {
  it('answers no rows before the first commit, and still refuses bad input', async () => {
    const own = path.join(dir, 'service-warehouse');
    await mkdir(own);
    const service = warehouseQueries({ warehouse: new LocalStorage(own) });
    try {
      for (const name of QUERY_NAMES) expect(await service.query(name, {}), name).toEqual([]);
      await expect(service.query('nope', {})).rejects.toThrow(/unknown query "nope"/);
      await expect(service.query('funnel', { from: '2025-13-01' })).rejects.toThrow(/--from: not a real date/);
      await writeRun(own, { version: 1, runId: 'r1', events: makeEvents(13, 50, '2025-07-01T00:00:00Z', 1, 'a') });
      expect(await service.query('user_activity', {})).toEqual([{ day: '2025-07-01', unique_users: expect.any(Number), unique_sessions: expect.any(Number), events: 50 }]);
    } finally {
      await service.close?.();
    }
  });
});

describe('time parsing', () => {
  it('accepts dates, timestamps, offsets; truncates to microseconds', () => {
    expect(parseInstant('2025-07-01', '--from')).toBe(microsOf('2025-07-01T00:00:00Z'));
    expect(parseInstant('2025-07-01T00:07:30Z', '--from')).toBe(microsOf('2025-07-01T00:07:30Z'));
    expect(parseInstant('2025-07-01 00:07', '--from')).toBe(microsOf('2025-07-01T00:07:00Z'));
    expect(parseInstant('2025-07-01T05:37:30.1234569+05:30', '--from')).toBe(microsOf('2025-07-01T00:07:30.123456Z'));
    expect(parseInstant('2025-06-30T20:00:00-04:00', '--from')).toBe(microsOf('2025-07-01T00:00:00Z'));
  });

  it('refuses what is not a real date or time', () => {
    for (const bad of ['2025-02-30', '2025-13-01', '2025-07-01T24:00:00Z', '2025-07-01T00:60', 'yesterday', '', '2025-07-01T00:00:00+25:00', '20250701']) {
      expect(() => parseInstant(bad, '--from'), bad).toThrow(/--from/);
    }
    expect(() => parseTimeRange({ from: '2025-07-02', to: '2025-07-01' })).toThrow(/--from .* is after --to/);
    expect(() => parseTimeRange({ to: 'tomorrow' })).toThrow(/^--to: expected an ISO date or timestamp/);
    expect(() => parseLimit('ten')).toThrow(/^--limit: expected a whole number > 0, got "ten"$/);
    expect(() => parseLimit(-1)).toThrow(/--limit/);
    expect(() => parseQueryName('funnels')).toThrow(/valid queries: funnel, /);
  });
});

describe('strata query (CLI)', () => {
  it('prints json, csv and an aligned table', async () => {
    const w = ['--warehouse', warehouseDir];
    const [json, csv, table] = await Promise.all([
      runCli(['query', 'hourly_revenue', ...w, '--format', 'json', '--from', '2025-07-01']),
      runCli(['query', 'hourly_revenue', ...w, '--format', 'csv']),
      runCli(['query', 'top_products', ...w, '--limit', '3']),
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expected('hourly_revenue', inRange(all, microsOf('2025-07-01T00:00:00Z'))));
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe('hour,purchases,revenue');
    const want = expected('hourly_revenue', all);
    expect(lines.slice(1)).toEqual(want.map((r) => `${r.hour},${r.purchases},${(r.revenue as number).toFixed(2)}`));
    expect(table.code, table.stderr).toBe(0);
    const body = table.stdout.split('\n').filter((l) => /^[│|┌└├]/.test(l) || l.startsWith('│'));
    expect(body.length).toBeGreaterThan(4);
    expect(new Set(body.map((l) => l.length)).size).toBe(1);
    for (const r of expected('top_products', all, 3)) expect(table.stdout).toContain(r.product_id as string);
    // Readers bring the catalog up to the log version.
    expect((await readCatalogInfo(path.join(warehouseDir, 'catalog.duckdb')))?.version).toBe(3);
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const { dir: empty, cleanup: done } = await tempDir('strata-empty-');
    try {
      const w = ['--warehouse', warehouseDir];
      const cases: [string[], RegExp][] = [
        [['query', 'nope', ...w], /unknown query "nope"; valid queries: funnel, hourly_revenue, top_products, category_performance, user_activity/],
        [['query', 'funnel', ...w, '--from', '2025-02-30'], /--from: not a real date/],
        [['query', 'funnel', ...w, '--from', '2025-07-02', '--to', '2025-07-01'], /--from .* is after --to/],
        [['query', 'funnel', ...w, '--format', 'xml'], /--format: expected one of table, csv, json/],
        [['query', 'top_products', ...w, '--limit', '0'], /--limit: expected a whole number > 0/],
        [['query', 'funnel', '--warehouse', path.join(empty, 'missing')], /warehouse root does not exist/],
        [['query', 'funnel', '--warehouse', empty], /no data in warehouse .* yet/],
        [['sql', 'SELECT 1', '--warehouse', empty, '--format', 'yaml'], /--format/],
      ];
      const results = await Promise.all(cases.map(([args]) => runCli(args)));
      results.forEach((r, i) => {
        const [args, message] = cases[i]!;
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(r.stdout, args.join(' ')).toBe('');
        expect(r.stderr, args.join(' ')).toMatch(/^strata: [^\n]*\n$/);
        expect(r.stderr, args.join(' ')).toMatch(message);
      });
    } finally {
      await done();
    }
  });
});

