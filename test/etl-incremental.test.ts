import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EtlReport } from '../src/etl/report.js';
import { pageView, writeBronze } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';
import { CONFORMANCE_FILES, CONFORMANCE_TOTALS, copyConformance, readConformanceFile } from './helpers/conformance.js';
import { warehouseTotals } from './helpers/warehouse-check.js';

describe('incremental etl (SPEC §5)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bronze: string;
  let warehouse: string;
  const etl = async (...extra: string[]): Promise<EtlReport> => {
    const run = await runCli(['etl', '--bronze', bronze, '--warehouse', warehouse, '--json', ...extra]);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as EtlReport;
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    bronze = path.join(dir, 'bronze');
    warehouse = path.join(dir, 'warehouse');
    await mkdir(bronze);
    await mkdir(warehouse);
  });
  afterEach(() => cleanup());

  it('takes only new files, late ones included, and changes nothing when there are none', async () => {
    await copyConformance(bronze, [CONFORMANCE_FILES[0], CONFORMANCE_FILES[2]]);
    const first = await etl();
    expect(first.files_processed).toBe(2);

    // A new file, and a late one dropped into an older minute partition.
    await copyConformance(bronze, [CONFORMANCE_FILES[3], CONFORMANCE_FILES[1]]);
    const second = await etl();
    expect(second.files_processed).toBe(2);
    expect(first.lines + second.lines).toBe(CONFORMANCE_TOTALS.lines);

    const third = await etl();
    expect(third).toMatchObject({ files_processed: 0, files_failed: 0, lines: 0, valid: 0, partitions_written: 0 });

    const totals = await warehouseTotals(warehouse);
    // Dedup holds across runs: every event id once, whatever run brought it.
    expect(totals.silverRows).toBe(totals.distinctIds);
    expect(totals.silverRows).toBe(first.valid + second.valid);
    expect(totals.quarantineRows).toBe(CONFORMANCE_TOTALS.rejected);
  });

  it('reports a bronze file that changed after it was processed, and does not reprocess it', async () => {
    await copyConformance(bronze, [CONFORMANCE_FILES[0]]);
    const first = await etl();
    const file = path.join(bronze, CONFORMANCE_FILES[0]);
    await writeFile(file, gzipSync(Buffer.from(`${pageView('2025-06-30T23:51:00Z')}\n`)));
    const second = await etl();
    expect(second.files_processed).toBe(0);
    expect(second.changed_files).toEqual([CONFORMANCE_FILES[0]]);
    expect((await warehouseTotals(warehouse)).silverRows).toBe(first.valid);

    const status = await runCli(['status', '--bronze', bronze, '--warehouse', warehouse, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(CONFORMANCE_FILES[0]);
  });

  it('rejects a truncated gzip whole as corrupt_file, keeps the rest, retries only when asked', async () => {
    await copyConformance(bronze, [CONFORMANCE_FILES[0], CONFORMANCE_FILES[1]]);
    const broken = path.join(bronze, CONFORMANCE_FILES[1]);
    await truncate(broken, 5000);
    const first = await etl();
    expect(first).toMatchObject({ files_processed: 1, files_failed: 1 });
    expect(first.failed_files).toEqual([{ path: CONFORMANCE_FILES[1], reason: 'corrupt_file', detail: expect.any(String) }]);
    expect(first.lines).toBe(2498);

    expect(await etl()).toMatchObject({ files_processed: 0, files_failed: 0 });
    expect(await etl('--retry-failed')).toMatchObject({ files_processed: 0, files_failed: 1 });

    await writeFile(broken, await readConformanceFile(CONFORMANCE_FILES[1]));
    const fixed = await etl('--retry-failed');
    expect(fixed).toMatchObject({ files_processed: 1, files_failed: 0, lines: 2497 });
    const totals = await warehouseTotals(warehouse);
    expect(totals.silverRows).toBe(first.valid + fixed.valid);
  });

  it('treats an empty file and a file of blank lines as processed with zero lines', async () => {
    await mkdir(path.join(bronze, 'year=2025/month=07/day=01/hour=00/minute=00'), { recursive: true });
    await writeFile(path.join(bronze, 'year=2025/month=07/day=01/hour=00/minute=00/empty.jsonl.gz'), '');
    await writeBronze(bronze, 'year=2025/month=07/day=01/hour=00/minute=00/blank.jsonl.gz', ['', '  ', '\r', '\t']);
    await writeBronze(bronze, 'year=2025/month=07/day=01/hour=00/minute=00/ignored.json', [pageView('2025-07-01T00:00:00Z')]);
    await writeBronze(bronze, 'year=2025/month=07/day=01/hour=00/minute=00/.partial.jsonl.gz', [pageView('2025-07-01T00:00:00Z')]);
    const report = await etl();
    expect(report).toMatchObject({ files_processed: 2, files_failed: 0, lines: 0, valid: 0, duplicates: 0 });
  });

  it('compacts hours written by several runs into one file each, keeping every row once', async () => {
    await copyConformance(bronze, [CONFORMANCE_FILES[0], CONFORMANCE_FILES[2]]);
    await etl();
    await copyConformance(bronze, [CONFORMANCE_FILES[1], CONFORMANCE_FILES[3]]);
    await etl();
    const before = await warehouseTotals(warehouse);
    const run = await runCli(['compact', '--warehouse', warehouse, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ partitions_compacted: 2, files_removed: 4, files_written: 2, rows: before.silverRows });
    const after = await warehouseTotals(warehouse);
    expect(after).toEqual(before);
    const again = await runCli(['compact', '--warehouse', warehouse, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ partitions_compacted: 0 });
    const q = await runCli(['query', 'user_activity', '--warehouse', warehouse, '--format', 'json']);
    expect(q.code, q.stderr).toBe(0);
    expect((JSON.parse(q.stdout) as { events: number }[]).reduce((n, r) => n + r.events, 0)).toBe(before.silverRows);
  });

  it('fails with one line and no stack trace when a root does not exist', async () => {
    const run = await runCli(['etl', '--bronze', path.join(dir, 'nope'), '--warehouse', warehouse]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('nope');
    await rm(warehouse, { recursive: true });
    const run2 = await runCli(['etl', '--bronze', bronze, '--warehouse', warehouse]);
    expect(run2.code).not.toBe(0);
    expect(run2.stderr).toMatch(/^strata: .*warehouse/);
  });
});
