import { Hono, type Context } from 'hono';
import type { Logger } from 'pino';
import { summarizeRun } from '../catalog/status.js';
import { parsePositiveInt } from '../config.js';
import { UserError, errorMessage } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { bronzeBacklog, type Backlog } from './backlog.js';
import { LedgerView } from '../ledger/ledger-view.js';
import { ledgerMetrics, renderMetrics } from './metrics.js';
import { quarantineReasons, quarantineSample } from './quarantine.js';
import type { QueryService, RangeParams } from './query-service.js';
import type { RunResult } from './scheduler.js';
import { loadAsset } from './static.js';

/** The scheduler as the API sees it: recent results and what comes next. */
export interface RunSource {
  readonly everyMs: number;
  runs(): readonly RunResult[];
  counts(): { ok: number; failed: number };
  nextRun(): Date | null;
  readonly running: boolean;
}

export interface AppOptions {
  readonly warehouse: Storage;
  /** Without it, nothing is known about files waiting in bronze. */
  readonly bronze?: Storage;
  readonly queries: QueryService;
  readonly scheduler?: RunSource;
  readonly logger?: Logger;
  /** Ledger runs listed by /api/runs. */
  readonly ledgerRuns?: number;
}

const MAX_SAMPLE = 1000;

/**
 * The HTTP face of strata: JSON API, Prometheus metrics and the dashboard. No endpoint writes
 * anything; SQL is served only when the query service offers it (serve --sql), read-only.
 */
export function createApp(options: AppOptions): Hono {
  const { warehouse, bronze, queries, scheduler, logger } = options;
  const ledger = new LedgerView(warehouse);
  const started = Date.now();
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof UserError) return c.json({ error: err.message }, 400);
    logger?.error({ event: 'http_error', path: c.req.path, error: errorMessage(err) }, 'request failed');
    return c.json({ error: `internal error: ${errorMessage(err).split('\n')[0]}` }, 500);
  });
  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: `no such endpoint: ${c.req.path}` }, 404) : c.text('not found', 404)));

  app.get('/health', (c) => {
    const last = scheduler?.runs()[0];
    return c.json({
      status: 'ok',
      uptime_seconds: Math.round((Date.now() - started) / 1000),
      last_run: last ? { seq: last.seq, ok: last.ok, finished_at: last.finishedAt } : null,
    });
  });

  app.get('/api/queries', (c) => c.json({ queries: queries.names }));

  app.get('/api/queries/:name', async (c) => {
    const name = c.req.param('name');
    if (!queries.names.includes(name)) {
      throw new UserError(`unknown query ${JSON.stringify(name)}; expected one of ${queries.names.join(', ')}`);
    }
    return c.json(await queries.query(name, rangeParams(c)));
  });

  app.get('/api/status', async (c) => c.json(await queries.status()));

  app.get('/api/version', async (c) => c.json({ version: await ledger.version(), last_run_seq: scheduler?.runs()[0]?.seq ?? null }));

  app.get('/api/extent', async (c) => {
    const hours = (await ledger.snapshot()).dataFiles
      .filter((f) => f.table === 'events' && f.partition && f.rows > 0)
      .map((f) => Date.UTC(f.partition!.year, f.partition!.month - 1, f.partition!.day, f.partition!.hour));
    if (hours.length === 0) return c.json({ from: null, to: null });
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    return c.json({ from: iso(Math.min(...hours)), to: iso(Math.max(...hours) + 3_600_000) });
  });

  const backlog = async (): Promise<Backlog | null> => (bronze ? bronzeBacklog(bronze, await ledger.snapshot()) : null);

  app.get('/api/backlog', async (c) => c.json(await backlog()));

  app.get('/api/runs', async (c) => {
    const snapshot = await ledger.snapshot();
    const recent = snapshot.runs.slice(-(options.ledgerRuns ?? 20)).reverse();
    return c.json({
      scheduler: scheduler
        ? {
            every_ms: scheduler.everyMs,
            running: scheduler.running,
            next_run: scheduler.nextRun()?.toISOString() ?? null,
            counts: scheduler.counts(),
            runs: scheduler.runs(),
          }
        : null,
      ledger: { version: snapshot.version, runs: recent.map(summarizeRun) },
    });
  });

  app.get('/api/quarantine/reasons', async (c) => c.json(quarantineReasons(await ledger.snapshot())));

  app.get('/api/quarantine/sample', async (c) => {
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? 20 : parsePositiveInt(limitText, 'limit');
    if (limit > MAX_SAMPLE) throw new UserError(`limit: at most ${MAX_SAMPLE} lines, got ${limit}`);
    const reason = c.req.query('reason');
    return c.json(await quarantineSample(warehouse, await ledger.snapshot(), { limit, ...(reason ? { reason } : {}) }));
  });

  app.get('/metrics', async (c) => {
    const [snapshot, waiting] = await Promise.all([ledger.snapshot(), backlog()]);
    const body = renderMetrics({
      ...ledgerMetrics(snapshot),
      bronzeFilesWaiting: waiting?.files ?? null,
      bronzeOldestWaitingLagSeconds: waiting?.oldest_lag_seconds ?? null,
      ...(scheduler ? { scheduledRuns: scheduler.counts() } : {}),
    });
    return c.body(body, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  if (queries.sql) {
    const sql = queries.sql.bind(queries);
    app.post('/api/sql', async (c) => {
      const body = (await c.req.json().catch(() => undefined)) as { sql?: unknown } | undefined;
      if (typeof body?.sql !== 'string' || body.sql.trim() === '') throw new UserError('expected a JSON body {"sql": "SELECT ..."}');
      return c.json(await sql(body.sql));
    });
  }

  app.get('*', async (c) => {
    const asset = loadAsset(c.req.path);
    if (!asset) return c.notFound();
    const { body, type, cache } = await asset;
    return c.body(new Uint8Array(body), 200, { 'content-type': type, 'cache-control': cache });
  });

  return app;
}

function rangeParams(c: Context): RangeParams {
  const from = c.req.query('from') || undefined;
  const to = c.req.query('to') || undefined;
  const limitText = c.req.query('limit');
  const limit = limitText ? parsePositiveInt(limitText, '--limit') : undefined;
  return { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(limit !== undefined ? { limit } : {}) };
}

