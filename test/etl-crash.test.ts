import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSnapshot } from '../src/ledger/log.js';
import { LocalStorage } from '../src/storage/local.js';
import { CLI, runCli, tempDir } from './helpers/cli.js';
import { CONFORMANCE_FILES, CONFORMANCE_TOTALS, copyConformance } from './helpers/conformance.js';
import { warehouseTotals } from './helpers/warehouse-check.js';

/**
 * kill -9 at named moments (fault points) and at random ones, then a rerun: silver, quarantine
 * and ledger must hold each line's outcome exactly once, and the folder only committed files.
 */
const ETL_POINTS = [
  'etl:locked',
  'etl:discovered',
  'etl:chunk-staged',
  'etl:staged',
  'etl:data-file-written',
  'etl:data-written',
  'etl:before-commit',
  'etl:committed',
  'etl:catalog-refreshed',
];

describe('crash safety (SPEC §5)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bronze: string;
  let warehouse: string;
  const roots = () => ['--bronze', bronze, '--warehouse', warehouse];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    bronze = path.join(dir, 'bronze');
    warehouse = path.join(dir, 'warehouse');
    await mkdir(warehouse, { recursive: true });
    // A first run commits half of the sample, so recovery also has committed data to protect.
    await copyConformance(bronze, [CONFORMANCE_FILES[0], CONFORMANCE_FILES[2]]);
    expect((await runCli(['etl', ...roots()])).code).toBe(0);
    await copyConformance(bronze, [CONFORMANCE_FILES[1], CONFORMANCE_FILES[3]]);
  });
  afterEach(() => cleanup());

  async function expectExactlyOnce(): Promise<void> {
    const totals = await warehouseTotals(warehouse);
    expect(totals).toEqual({ silverRows: CONFORMANCE_TOTALS.valid, distinctIds: CONFORMANCE_TOTALS.valid, quarantineRows: CONFORMANCE_TOTALS.rejected });
    const snapshot = await readSnapshot(new LocalStorage(warehouse));
    expect([...snapshot.files.values()].map((f) => f.state)).toEqual(['committed', 'committed', 'committed', 'committed']);
    const q = await runCli(['sql', 'SELECT count(*) AS n FROM events', '--warehouse', warehouse, '--format', 'json']);
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: CONFORMANCE_TOTALS.valid }]);
  }

  for (const point of ETL_POINTS) {
    it(`recovers from kill -9 at ${point}`, async () => {
      const crashed = await runCli(['etl', ...roots()], { env: { STRATA_FAULT: point } });
      expect(crashed.code, crashed.stderr).toBe(-1);
      const rerun = await runCli(['etl', ...roots(), '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      await expectExactlyOnce();
    });
  }

  it('recovers from kill -9 at random moments, twice in a row', async () => {
    for (const delay of [150 + Math.floor(Math.random() * 900), 50 + Math.floor(Math.random() * 1500)]) {
      await killAfter(['etl', ...roots()], delay);
    }
    expect((await runCli(['etl', ...roots()])).code).toBe(0);
    await expectExactlyOnce();
  });

  for (const point of ['compact:before-commit', 'compact:committed']) {
    it(`keeps every row once when compaction is killed at ${point}`, async () => {
      expect((await runCli(['etl', ...roots()])).code).toBe(0);
      const crashed = await runCli(['compact', '--warehouse', warehouse], { env: { STRATA_FAULT: point } });
      expect(crashed.code).toBe(-1);
      expect((await runCli(['compact', '--warehouse', warehouse])).code).toBe(0);
      await expectExactlyOnce();
      const snapshot = await readSnapshot(new LocalStorage(warehouse));
      expect(snapshot.dataFiles.filter((f) => f.table === 'events')).toHaveLength(2);
    });
  }

  it('lets two runs at once neither corrupt nor double anything', async () => {
    const [a, b] = await Promise.all([runCli(['etl', ...roots(), '--json']), runCli(['etl', ...roots(), '--json'])]);
    for (const run of [a, b]) {
      expect([0, 3], run.stderr).toContain(run.code);
      if (run.code === 3) expect(run.stderr).toMatch(/^strata: warehouse .* is busy: run .* holds its lock/);
    }
    expect([a.code, b.code]).toContain(0);
    expect((await runCli(['etl', ...roots()])).code).toBe(0);
    await expectExactlyOnce();
  });

  it('makes a second run wait for the first with --wait', async () => {
    const [a, b] = await Promise.all([runCli(['etl', ...roots(), '--json', '--wait', '60']), runCli(['etl', ...roots(), '--json', '--wait', '60'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const processed = [a, b].map((r) => (JSON.parse(r.stdout) as { files_processed: number }).files_processed).sort();
    expect(processed).toEqual([0, 2]);
    await expectExactlyOnce();
  });
});

/** Starts the CLI and SIGKILLs it after `ms`, whatever it is doing. */
function killAfter(args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
