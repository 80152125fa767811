import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { writeBronze } from '../helpers/bronze.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { warehouseTotals } from '../helpers/warehouse-check.js';
import { ReferenceWarehouse } from '../reference/reference-etl.js';
import { etl, expectSilverMatches, readBronzeFiles } from './harness.js';

/**
 * A full disk, for real: the warehouse and the run's scratch folder on small tmpfs mounts (needs
 * root and mount rights; skipped without them). Each failure must be one clear line saying
 * whether anything was committed, and a rerun once there is room must give exact results.
 */

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const probe = await tempDir('strata-mount-probe-');
const canMount = process.getuid?.() === 0 && tryMount(probe.dir, '64k');
if (canMount) execFileSync('umount', [probe.dir]);
await probe.cleanup();

describe.runIf(canMount)('a full disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bronze: string;
  let warehouse: string;
  let scratch: string;
  const mounted: string[] = [];
  const ref = new ReferenceWarehouse();
  let bytes: Map<string, Buffer>;
  const FILES = ['year=2025/month=07/day=01/hour=00/minute=00/a.jsonl.gz', 'year=2025/month=07/day=01/hour=00/minute=05/b.jsonl.gz'];

  /** Leaves about `bytes` free on the warehouse mount. */
  async function leaveFree(free: number): Promise<void> {
    await rm(path.join(warehouse, 'filler'), { force: true });
    const s = await statfs(warehouse);
    await writeFile(path.join(warehouse, 'filler'), Buffer.alloc(Math.max(0, s.bavail * s.bsize - free)));
  }
  const etlRun = (env: NodeJS.ProcessEnv = {}) => runCli(['etl', '--bronze', bronze, '--warehouse', warehouse, '--json'], { env });
  const version = async (): Promise<number> => (await readSnapshot(new LocalStorage(warehouse))).version;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-full-'));
    bronze = path.join(dir, 'bronze');
    warehouse = path.join(dir, 'warehouse');
    scratch = path.join(dir, 'scratch');
    await mkdir(warehouse);
    await mkdir(scratch);
    expect(tryMount(warehouse, '16m')).toBe(true);
    mounted.push(warehouse);
    expect(tryMount(scratch, '128k')).toBe(true); // less than the run's Parquet output
    mounted.push(scratch);
    // About 250 KB of Parquet that does not compress, some dirt for quarantine.
    const line = (i: number): string =>
      JSON.stringify({ event_id: `e${i}`, timestamp: '2025-07-01T00:01:00Z', user_id: 'u', session_id: 's', event_type: 'page_view', product_id: 'P1', blob: randomBytes(480).toString('base64') });
    await writeBronze(bronze, FILES[0]!, [...Array.from({ length: 250 }, (_, i) => line(i)), '{bad json', '{"event_id":"x"}']);
    await writeBronze(bronze, FILES[1]!, [...Array.from({ length: 250 }, (_, i) => line(i + 200)), '']);
    bytes = await readBronzeFiles(bronze, FILES);
    ref.run(bytes);
  });
  afterAll(async () => {
    for (const m of mounted.reverse()) execFileSync('umount', [m]);
    await cleanup();
  });

  it('in the scratch folder: fails with one line, commits nothing', async () => {
    const run = await etlRun({ STRATA_TMPDIR: scratch });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strata: etl failed, nothing was committed: .*(ENOSPC|no space left on device).*\(rerun once the problem is fixed\)\n$/i);
    expect(run.stdout).toBe('');
    expect(await version()).toBe(0);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('in the warehouse before the commit: fails with one line, commits nothing, releases the lock', async () => {
    await leaveFree(100 * 1024);
    const run = await etlRun();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strata: etl failed, nothing was committed: ENOSPC: no space left on device[^\n]*\n$/);
    expect(await version()).toBe(0);
    expect((await readdir(warehouse)).sort()).not.toContain('catalog.duckdb');
    expect(await readdir(path.join(warehouse, '_strata'))).not.toContain('lock.json');
  });

  it('in the warehouse after the commit: says the data is committed', async () => {
    // Room for the data and the commit, not for the catalog (about 1.3 MB).
    await leaveFree(700 * 1024);
    const run = await etlRun();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^strata: etl committed its data, then failed: [^\n]*no space left on device[^\n]*\n$/i);
    expect(await version()).toBe(1);
  });

  it('once there is room again: exact results, and nothing left over', async () => {
    await rm(path.join(warehouse, 'filler'));
    const q = await runCli(['sql', 'SELECT count(*) AS n FROM events', '--warehouse', warehouse, '--format', 'json']);
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: ref.silver.size }]);
    expect(await etl(bronze, warehouse)).toMatchObject({ files_processed: 0, lines: 0 });
    await expectSilverMatches(warehouse, ref, bytes);
    const totals = await warehouseTotals(warehouse);
    expect(totals).toEqual({ silverRows: ref.silver.size, distinctIds: ref.silver.size, quarantineRows: ref.quarantine.length });
    const snapshot = await readSnapshot(new LocalStorage(warehouse));
    expect([...snapshot.files.keys()].sort()).toEqual(FILES);
  });
});
