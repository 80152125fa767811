import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli, tempDir } from './helpers/cli.js';

const QUERIES = ['funnel', 'hourly_revenue', 'top_products', 'category_performance', 'user_activity'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The catch-up run at start must be the only run during the test, so the schedule's next tick
 * (aligned to the interval since the epoch) must be far off. A fixed 24h ticked at midnight UTC
 * while a CI run crossed it; of 23h and 24h, whose ticks rarely meet, take the one ticking later
 * (--simulate makes batches of the interval, and generate takes at most 24h: 25h failed).
 */
const EVERY_HOURS = [23, 24].reduce((best, hours) => (untilTick(hours) > untilTick(best) ? hours : best));
function untilTick(hours: number): number {
  const every = hours * 3_600_000;
  return every - (Date.now() % every);
}

/** `strata serve` as a user starts it: a child process, URL on stdout, JSON logs on stderr. */
function startServe(args: string[]): { child: ChildProcess; url: Promise<string>; stderr: () => string; exit: Promise<number | null> } {
  const env = { ...process.env };
  delete env.STRATA_BRONZE;
  delete env.STRATA_WAREHOUSE;
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /dashboard at (http:\/\/\S+?)\/? /.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, stderr: () => stderr, exit };
}

async function json(url: string): Promise<any> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return res.json();
}

function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('strata serve (the real CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let serve: ReturnType<typeof startServe>;
  let url: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-serve-'));
    serve = startServe(['--bronze', path.join(dir, 'bronze'), '--warehouse', path.join(dir, 'warehouse'), '--port', '0', '--every', `${EVERY_HOURS}h`, '--simulate', '--events', '2000', '--fault-rate', '0.05', '--sql']);
    url = await serve.url;
    for (let i = 0; i < 120; i++) {
      const runs = await json(`${url}/api/runs`);
      if (runs.scheduler.runs.length > 0) break;
      await sleep(250);
    }
  });

  afterAll(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    await cleanup?.();
  });

  it('runs the catch-up run at start: one simulated batch, then etl', async () => {
    const runs = await json(`${url}/api/runs`);
    const [first] = runs.scheduler.runs;
    expect(first, serve.stderr()).toMatchObject({ seq: 1, trigger: 'startup', ok: true });
    expect(first.result.generated.events).toBe(2000);
    expect(first.result.etl).toMatchObject({ files_processed: 1, lines: 2000 });
    expect(runs.ledger.runs[0].run_id).toBe(first.result.etl.run_id);
    expect(Date.parse(runs.scheduler.next_run) % (EVERY_HOURS * 3_600_000)).toBe(0);
  });

  it('answers every query and the status exactly like the CLI', async () => {
    const warehouse = path.join(dir, 'warehouse');
    // The simulated batch sits at the start time; a range around it keeps everything, a range
    // from its middle keeps part.
    const batch = new Date((await json(`${url}/api/runs`)).scheduler.runs[0].result.generated.batch_time);
    const half = new Date(batch.getTime() + 43_200_000).toISOString();
    const cases: [string, string[], string][] = QUERIES.map((name, i) => {
      if (i % 2 === 0) return [name, [], ''];
      return [name, ['--from', half, '--to', '2100-01-01', '--limit', '3'], `?from=${encodeURIComponent(half)}&to=2100-01-01&limit=3`];
    });
    const [status, ...answers] = await Promise.all([
      runCli(['status', '--json', '--bronze', path.join(dir, 'bronze'), '--warehouse', warehouse]),
      ...cases.map(([name, args]) => runCli(['query', name, '--warehouse', warehouse, '--format', 'json', ...args])),
    ]);
    for (const [i, [name, , qs]] of cases.entries()) {
      expect(answers[i]!.code, answers[i]!.stderr).toBe(0);
      const cli = JSON.parse(answers[i]!.stdout);
      expect(cli.length, name).toBeGreaterThan(0);
      expect(await json(`${url}/api/queries/${name}${qs}`), name).toEqual(cli);
    }
    expect(status!.code, status!.stderr).toBe(0);
    const cliStatus = JSON.parse(status!.stdout);
    expect(await json(`${url}/api/status`)).toEqual(cliStatus);

    const metrics = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(metrics.get('strata_silver_rows')).toBe(cliStatus.rows.silver);
    expect(metrics.get('strata_quarantine_rows')).toBe(cliStatus.rows.quarantine);
    expect(metrics.get('strata_bronze_files_waiting')).toBe(cliStatus.files.waiting);
    expect(metrics.get('strata_runs_total')).toBe(cliStatus.runs.filter((r: { kind: string }) => r.kind === 'etl').length);
    expect(metrics.get('strata_events_processed_total{outcome="valid"}')).toBe(cliStatus.last_run.valid);
    expect(metrics.get('strata_events_processed_total{outcome="duplicate"}')).toBe(cliStatus.last_run.duplicates);
    for (const [reason, n] of Object.entries(cliStatus.quarantine_by_reason)) {
      expect(metrics.get(`strata_events_rejected_total{reason="${reason}"}`), reason).toBe(n);
    }
    expect(metrics.get('strata_scheduled_runs_total{outcome="ok"}')).toBe(1);

    const reasons: { reason: string; rows: number }[] = await json(`${url}/api/quarantine/reasons`);
    expect(Object.fromEntries(reasons.map((r) => [r.reason, r.rows]))).toEqual(cliStatus.quarantine_by_reason);
    const sample: { reason: string; source_file: string }[] = await json(`${url}/api/quarantine/sample?limit=5`);
    expect(sample).toHaveLength(5);
    for (const line of sample) expect(cliStatus.quarantine_by_reason[line.reason]).toBeGreaterThan(0);

    const bad = await fetch(`${url}/api/queries/funnel?from=yesterday`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/--from/);
  });

  it('with --sql, answers read-only SQL and refuses anything else', async () => {
    const post = (sql: string) => fetch(`${url}/api/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });
    const ok = await post('SELECT count(*) AS n FROM events');
    expect(ok.status).toBe(200);
    const status = await json(`${url}/api/status`);
    expect(await ok.json()).toMatchObject({ columns: [{ name: 'n' }], rows: [[String(status.rows.silver)]] });
    for (const bad of ["COPY events TO '/tmp/x.csv'", 'DROP VIEW events', "SELECT * FROM read_text('/etc/passwd')"]) {
      const res = await post(bad);
      expect(res.status, bad).toBe(400);
      expect((await res.json()).error, bad).toMatch(/^sql: /);
    }
  });

  it('shuts down cleanly on SIGTERM, logging JSON lines to stderr', async () => {
    serve.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
    const events = serve
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(expect.arrayContaining(['listening', 'scheduler_started', 'run_started', 'run_finished', 'shutting_down', 'stopped']));
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('refuses bad options with one line', async () => {
    const every = await runCli(['serve', '--warehouse', dir, '--bronze', dir, '--every', '1500ms']);
    expect(every.code).toBe(2);
    expect(every.stderr).toMatch(/^strata: --every: .*whole seconds/);
    const missing = await runCli(['serve', '--warehouse', path.join(dir, 'nope'), '--bronze', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
