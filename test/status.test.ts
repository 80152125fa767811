import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus } from '../src/catalog/status.js';
import { emptyRejectCounts, type BronzeFileRecord } from '../src/ledger/types.js';
import { LocalStorage } from '../src/storage/local.js';
import { runCli, tempDir } from './helpers/cli.js';
import { makeEvents, writeRun } from './helpers/silver-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let warehouseDir: string;
let bronzeDir: string;

const key = (minute: number) => `year=2025/month=07/day=01/hour=00/minute=${String(minute).padStart(2, '0')}/events-${minute}.jsonl.gz`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('strata-status-'));
  warehouseDir = path.join(dir, 'warehouse');
  bronzeDir = path.join(dir, 'bronze');
  const bronze = new LocalStorage(bronzeDir);
  for (const minute of [0, 5, 10, 15, 20, 25]) {
    await mkdir(path.join(bronzeDir, path.dirname(key(minute))), { recursive: true });
    await writeFile(path.join(bronzeDir, key(minute)), gzipSync(`{"event_id":"${minute}"}\n`));
  }
  await writeFile(path.join(bronzeDir, path.dirname(key(25)), 'notes.txt'), 'not a bronze file');
  await writeFile(path.join(bronzeDir, path.dirname(key(25)), '.tmp-upload.jsonl.gz'), 'partial');
  const record = async (k: string, state: 'committed' | 'failed', runId: string, reasons: Partial<Record<string, number>> = {}): Promise<BronzeFileRecord> => {
    const info = (await bronze.stat(k))!;
    return {
      path: k,
      size: info.size,
      etag: info.etag,
      sha256: '',
      state,
      runId,
      lines: 10,
      valid: 7,
      rejected: { ...emptyRejectCounts(), ...reasons },
      duplicates: 1,
      ...(state === 'failed' ? { reason: 'corrupt_file', detail: 'unexpected end of file' } : {}),
    };
  };
  const r1files = [await record(key(0), 'committed', 'r1', { bad_price: 2 }), await record(key(5), 'failed', 'r1')];
  await writeRun(warehouseDir, {
    version: 1,
    runId: 'r1',
    durationMs: 1200,
    events: makeEvents(31, 70, '2025-07-01T00:00:00Z', 2, 'a'),
    quarantine: [
      { source_file: key(0), source_line: 2, reason: 'bad_price', raw_line: '{}' },
      { source_file: key(0), source_line: 4, reason: 'bad_price', raw_line: '{}' },
    ],
    files: r1files,
  });
  const r2files = [await record(key(10), 'committed', 'r2', { malformed_json: 3 }), { ...(await record(key(15), 'committed', 'r2')), size: 1 }];
  await writeRun(warehouseDir, {
    version: 2,
    runId: 'r2',
    durationMs: 800,
    events: makeEvents(32, 30, '2025-07-01T03:00:00Z', 1, 'b'),
    quarantine: [1, 2, 3].map((n) => ({ source_file: key(10), source_line: n, reason: 'malformed_json' as const, raw_line: 'x' })),
    files: r2files,
  });
}, 30_000);

afterAll(() => cleanup());

describe('status', () => {
  it('counts files by state, rows, quarantine by reason, runs, waiting and changed bronze files', async () => {
    const report = await readStatus(new LocalStorage(bronzeDir), new LocalStorage(warehouseDir));
    expect(report.version).toBe(2);
    expect(report.files).toEqual({ committed: 3, failed: 1, waiting: 2, changed: 1 });
    expect(report.rows).toEqual({ silver: 100, quarantine: 5 });
    expect(report.silver.files).toBe(3);
    expect(report.silver.partitions).toBe(3);
    expect(report.silver.first_hour).toBe('2025-07-01T00:00:00Z');
    expect(report.silver.last_hour).toBe('2025-07-01T03:00:00Z');
    expect(report.quarantine_by_reason).toEqual({ ...emptyRejectCounts(), bad_price: 2, malformed_json: 3 });
    expect(report.waiting_files).toEqual([key(20), key(25)]);
    expect(report.changed_files).toEqual([key(15)]);
    expect(report.failed_files).toEqual([{ path: key(5), reason: 'corrupt_file', detail: 'unexpected end of file' }]);
    expect(report.runs.map((r) => [r.run_id, r.duration_ms, r.valid, r.rejected])).toEqual([
      ['r2', 800, 30, 3],
      ['r1', 1200, 70, 2],
    ]);
    expect(report.last_run?.run_id).toBe('r2');
  });

  it('works without a bronze root', async () => {
    const report = await readStatus(undefined, new LocalStorage(warehouseDir));
    expect(report.files.waiting).toBeNull();
    expect(report.bronze).toBeNull();
  });

  it('prints json and text from the CLI, and refuses missing roots', async () => {
    const roots = ['--bronze', bronzeDir, '--warehouse', warehouseDir];
    const [json, text, noWarehouse, noBronze] = await Promise.all([
      runCli(['status', ...roots, '--json']),
      runCli(['status', ...roots]),
      runCli(['status', '--warehouse', path.join(dir, 'nope')]),
      runCli(['status', '--bronze', path.join(dir, 'nope'), '--warehouse', warehouseDir]),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { files: unknown; rows: unknown; last_run: { run_id: string } };
    expect(report.files).toEqual({ committed: 3, failed: 1, waiting: 2, changed: 1 });
    expect(report.rows).toEqual({ silver: 100, quarantine: 5 });
    expect(report.last_run.run_id).toBe('r2');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('3 committed, 1 failed, 2 waiting in bronze, 1 changed');
    expect(text.stdout).toContain('catalog.duckdb');
    expect(noWarehouse.code).toBe(2);
    expect(noWarehouse.stderr).toMatch(/^strata: warehouse root does not exist: .*\n$/);
    expect(noBronze.code).toBe(2);
    expect(noBronze.stderr).toMatch(/^strata: bronze root does not exist: .*\n$/);
  });
});
