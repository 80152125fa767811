import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDb } from '../src/db/duckdb.js';
import { sqlString } from '../src/db/sql.js';
import { commit } from '../src/ledger/log.js';
import { eventsFileKey, quarantineFileKey } from '../src/ledger/layout.js';
import { emptyRejectCounts, type CommitEntry, type RunRecord } from '../src/ledger/types.js';
import { createApp, type RunSource } from '../src/server/app.js';
import { isLoopback, listen } from '../src/server/listen.js';
import type { QueryService } from '../src/server/query-service.js';
import type { RunResult } from '../src/server/scheduler.js';
import { LocalStorage } from '../src/storage/local.js';
import { UserError } from '../src/errors.js';
import { tempDir } from './helpers/cli.js';

/** A tiny committed warehouse written by hand: two silver hours and three quarantined lines. */
async function handWarehouse(root: string): Promise<LocalStorage> {
  const warehouse = new LocalStorage(root);
  const runId = 'run-a';
  const at = new Date('2026-03-01T12:00:00Z');
  const hours = [
    { year: 2026, month: 3, day: 1, hour: 9 },
    { year: 2026, month: 3, day: 1, hour: 11 },
  ];
  const qKey = quarantineFileKey(runId, at);
  await withDb({}, async (db) => {
    for (const p of hours) {
      const key = eventsFileKey(p, runId);
      await mkdir(path.dirname(warehouse.localPath(key)), { recursive: true });
      await db.run(`COPY (SELECT 'e' || i AS event_id, TIMESTAMP '2026-03-01 00:00:00' + INTERVAL (${p.hour}) HOUR AS event_time
                      FROM range(3) t(i)) TO ${sqlString(warehouse.localPath(key))} (FORMAT parquet)`);
    }
    await mkdir(path.dirname(warehouse.localPath(qKey)), { recursive: true });
    await db.run(`COPY (SELECT * FROM (VALUES
        ('year=2026/a.jsonl.gz', 2::BIGINT, 'malformed_json', '{oops', '${runId}', TIMESTAMP '2026-03-01 12:00:00'),
        ('year=2026/a.jsonl.gz', 5::BIGINT, 'bad_price', '{"price":-1}', '${runId}', TIMESTAMP '2026-03-01 12:00:00'),
        ('year=2026/b.jsonl.gz', 1::BIGINT, 'bad_price', '{"price":"x"}', '${runId}', TIMESTAMP '2026-03-01 12:00:00')
      ) t(source_file, source_line, reason, raw_line, run_id, ingested_at)) TO ${sqlString(warehouse.localPath(qKey))} (FORMAT parquet)`);
  });
  const rejected = { ...emptyRejectCounts(), malformed_json: 1, bad_price: 2 };
  const run: RunRecord = {
    runId,
    kind: 'etl',
    startedAt: '2026-03-01T12:00:00.000Z',
    finishedAt: '2026-03-01T12:00:01.500Z',
    durationMs: 1500,
    filesProcessed: 2,
    filesFailed: 0,
    lines: 10,
    valid: 6,
    rejected,
    duplicates: 1,
    partitionsWritten: 2,
    newFields: [],
    changedFiles: [],
  };
  const entry: CommitEntry = {
    version: 1,
    committedAt: run.finishedAt,
    add: [
      ...hours.map((p) => ({ key: eventsFileKey(p, runId), table: 'events' as const, rows: 3, bytes: 1, partition: p, runId })),
      { key: qKey, table: 'quarantine' as const, rows: 3, bytes: 1, runId },
    ],
    remove: [],
    files: [],
    fieldsSeen: [],
    run,
  };
  await commit(warehouse, entry);
  return warehouse;
}

const fakeQueries: QueryService = {
  names: ['funnel', 'hourly_revenue', 'top_products', 'category_performance', 'user_activity'],
  async query(name, range) {
    if (range.from === 'yesterday') throw new UserError('--from: bad date "yesterday"');
    return [{ name, from: range.from ?? null, to: range.to ?? null, limit: range.limit ?? null }];
  },
  async status() {
    return { files: { committed: 2 }, bronze_waiting: 4 };
  },
};

const fakeRuns: RunResult[] = [
  { seq: 2, slot: '2026-03-01T12:05:00.000Z', trigger: 'schedule', startedAt: 'x', finishedAt: 'y', durationMs: 5, ok: false, error: 'boom' },
  { seq: 1, slot: '2026-03-01T12:00:00.000Z', trigger: 'startup', startedAt: 'x', finishedAt: 'y', durationMs: 5, ok: true, result: {} },
];
const fakeScheduler: RunSource = {
  everyMs: 300_000,
  runs: () => fakeRuns,
  counts: () => ({ ok: 1, failed: 1 }),
  nextRun: () => new Date('2026-03-01T12:10:00Z'),
  running: false,
};

describe('server app (no network)', () => {
  let cleanup: () => Promise<void>;
  let app: ReturnType<typeof createApp>;
  const get = (p: string) => app.request(`http://localhost${p}`);

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const warehouse = await handWarehouse(path.join(t.dir, 'warehouse'));
    const bronze = new LocalStorage(path.join(t.dir, 'bronze'));
    const minute = path.join(t.dir, 'bronze/year=2026/month=03/day=01/hour=12/minute=05');
    await mkdir(minute, { recursive: true });
    for (const [name, ageSeconds] of [['b.jsonl.gz', 30], ['a.jsonl.gz', 90], ['c.jsonl.gz.tmp', 500]] as const) {
      await writeFile(path.join(minute, name), '');
      const at = new Date(Date.now() - ageSeconds * 1000);
      await utimes(path.join(minute, name), at, at);
    }
    app = createApp({ warehouse, bronze, queries: fakeQueries, scheduler: fakeScheduler, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => cleanup());

  it('passes query ranges through and answers bad input with a JSON 400', async () => {
    const ok = await get('/api/queries/top_products?from=2026-03-01&to=2026-03-02&limit=3');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([{ name: 'top_products', from: '2026-03-01', to: '2026-03-02', limit: 3 }]);
    for (const bad of ['/api/queries/nope', '/api/queries/funnel?from=yesterday', '/api/queries/top_products?limit=-1', '/api/queries/top_products?limit=x']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(400);
      expect((await res.json()).error, bad).toMatch(/\w/);
    }
    expect(((await (await get('/api/queries/nope')).json()) as { error: string }).error).toMatch(/unknown query "nope"/);
  });

  it('serves status, health, runs and extent', async () => {
    expect(await (await get('/api/status')).json()).toEqual({ files: { committed: 2 }, bronze_waiting: 4 });
    expect(await (await get('/health')).json()).toMatchObject({ status: 'ok', last_run: { seq: 2, ok: false } });
    const runs = (await (await get('/api/runs')).json()) as { scheduler: { runs: RunResult[]; next_run: string }; ledger: { version: number; runs: { run_id: string; rejected: number }[] } };
    expect(runs.scheduler.runs.map((r) => r.seq)).toEqual([2, 1]);
    expect(runs.scheduler.next_run).toBe('2026-03-01T12:10:00.000Z');
    expect(runs.ledger).toMatchObject({ version: 1, runs: [{ run_id: 'run-a', rejected: 3 }] });
    expect(await (await get('/api/extent')).json()).toEqual({ from: '2026-03-01T09:00:00Z', to: '2026-03-01T12:00:00Z' });
    expect(await (await get('/api/version')).json()).toEqual({ version: 1, last_run_seq: 2 });
    expect(await (await get('/api/backlog')).json()).toMatchObject({ files: 2, oldest_file: 'year=2026/month=03/day=01/hour=12/minute=05/a.jsonl.gz' });
  });

  it('counts quarantined lines by reason and samples them from the Parquet files', async () => {
    const reasons = (await (await get('/api/quarantine/reasons')).json()) as { reason: string; rows: number }[];
    expect(reasons.slice(0, 2)).toEqual([
      { reason: 'bad_price', rows: 2 },
      { reason: 'malformed_json', rows: 1 },
    ]);
    expect(reasons).toHaveLength(9);
    const sample = (await (await get('/api/quarantine/sample?limit=2')).json()) as Record<string, unknown>[];
    expect(sample).toHaveLength(2);
    expect(sample[0]).toMatchObject({ source_file: 'year=2026/a.jsonl.gz', source_line: 2, reason: 'malformed_json', raw_line: '{oops', run_id: 'run-a' });
    const priced = (await (await get('/api/quarantine/sample?reason=bad_price')).json()) as Record<string, unknown>[];
    expect(priced.map((r) => r.source_line)).toEqual([5, 1]);
    expect((await get('/api/quarantine/sample?limit=0')).status).toBe(400);
    expect((await get('/api/quarantine/sample?limit=5000')).status).toBe(400);
  });

  it('exposes Prometheus metrics that agree with the ledger', async () => {
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = parsePrometheus(await res.text());
    expect(metrics.get('strata_runs_total')).toBe(1);
    expect(metrics.get('strata_events_processed_total{outcome="valid"}')).toBe(6);
    expect(metrics.get('strata_events_processed_total{outcome="duplicate"}')).toBe(1);
    expect(metrics.get('strata_events_rejected_total{reason="bad_price"}')).toBe(2);
    expect(metrics.get('strata_events_rejected_total{reason="missing_id"}')).toBe(0);
    expect(metrics.get('strata_run_duration_seconds')).toBe(1.5);
    expect(metrics.get('strata_bronze_files_waiting')).toBe(2);
    expect(metrics.get('strata_bronze_oldest_waiting_lag_seconds')).toBeGreaterThanOrEqual(90);
    expect(metrics.get('strata_bronze_oldest_waiting_lag_seconds')).toBeLessThan(120);
    expect(metrics.get('strata_silver_rows')).toBe(6);
    expect(metrics.get('strata_quarantine_rows')).toBe(3);
    expect(metrics.get('strata_scheduled_runs_total{outcome="failed"}')).toBe(1);
  });

  it('serves the dashboard and echarts from the package, and no SQL endpoint unless asked', async () => {
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<script src="\/vendor\/echarts\.min\.js"><\/script>/);
    const echarts = await get('/vendor/echarts.min.js');
    expect(echarts.status).toBe(200);
    expect((await echarts.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
    for (const p of ['/app.js', '/charts.js', '/style.css']) expect((await get(p)).status, p).toBe(200);
    expect((await get('/../package.json')).status).toBe(404);
    expect((await get('/api/nothing')).status).toBe(404);
    expect((await app.request('http://localhost/api/sql', { method: 'POST', body: '{"sql":"SELECT 1"}' })).status).toBe(404);
  });
});

/** Parses the text exposition format strictly enough to catch malformed output. */
function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  const typed = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-z_:][a-z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.add(type[1]!);
      continue;
    }
    const sample = /^([a-z_:][a-z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    expect(sample, line).not.toBeNull();
    expect(typed.has(sample![1]!), `TYPE before ${line}`).toBe(true);
    values.set(`${sample![1]}${sample![2] ?? ''}`, Number(sample![3]));
  }
  return values;
}

describe('server on a real socket', () => {
  it('knows which hosts are loopback (anything else gets a warning)', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'example.com']) expect(isLoopback(host), host).toBe(false);
  });

  it('listens on loopback, answers, and closes', async () => {
    const t = await tempDir();
    try {
      const warehouse = await handWarehouse(t.dir);
      const app = createApp({ warehouse, queries: fakeQueries });
      const server = await listen(app, { host: '127.0.0.1', port: 0 });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/health`);
      expect(await res.json()).toMatchObject({ status: 'ok', last_run: null });
      await expect(listen(app, { host: '127.0.0.1', port: server.port })).rejects.toThrow(/already in use/);
      await server.close();
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    } finally {
      await t.cleanup();
    }
  });
});
