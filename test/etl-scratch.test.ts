import { spawnSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageView, writeBronze } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';

/** A run killed with -9 leaves its scratch folder; the next run removes it, and nothing else. */
describe('scratch folders of killed runs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const scratch = (): string => path.join(dir, 'scratch');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-scratch-'));
    await mkdir(scratch());
  });
  afterAll(() => cleanup());

  it('are removed by the next run when their process is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const abandoned = `strata-etl-20250101T000000000Z-aaaaaa-p${gone}-Ab12Cd`;
    const living = `strata-etl-20250101T000000000Z-bbbbbb-p${process.pid}-Ef34Gh`;
    const other = 'strata-etl-not-ours';
    for (const name of [abandoned, living, other]) await mkdir(path.join(scratch(), name, 'stage'), { recursive: true });
    await writeBronze(path.join(dir, 'bronze'), 'year=2025/month=07/day=01/hour=10/minute=00/a.jsonl.gz', [pageView('2025-07-01T10:00:00Z')]);
    await mkdir(path.join(dir, 'warehouse'));
    const run = await runCli(['etl', '--bronze', path.join(dir, 'bronze'), '--warehouse', path.join(dir, 'warehouse'), '--json'], {
      env: { STRATA_TMPDIR: scratch() },
    });
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(scratch())).sort()).toEqual([living, other].sort());
  });
});
