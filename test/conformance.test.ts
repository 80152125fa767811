import { cp, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../src/storage/local.js';
import { readSnapshot } from '../src/ledger/log.js';
import { runCli, SHARED, tempDir } from './helpers/cli.js';

/** The shared conformance sample: four dirty batches and the exact results SPEC demands. */
const CONFORMANCE = path.join(SHARED, 'conformance');

interface Expected {
  etl_report: Record<string, unknown> & { rejected: Record<string, number> };
  new_fields: string[];
  partitions_written: number;
  per_file: Record<string, { lines: number; valid: number; duplicates: number; rejected: Record<string, number> }>;
  queries: Record<string, Record<string, unknown>[]>;
  queries_window: { from: string; to: string; limit: number; results: Record<string, Record<string, unknown>[]> };
}

describe('conformance sample (shared/conformance)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let expected: Expected;
  let report: Record<string, unknown>;
  const roots = () => ['--bronze', path.join(dir, 'bronze'), '--warehouse', path.join(dir, 'warehouse')];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await cp(path.join(CONFORMANCE, 'bronze'), path.join(dir, 'bronze'), { recursive: true });
    await mkdir(path.join(dir, 'warehouse'));
    expected = JSON.parse(await readFile(path.join(CONFORMANCE, 'expected.json'), 'utf8')) as Expected;
    const run = await runCli(['etl', ...roots(), '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    report = JSON.parse(run.stdout) as Record<string, unknown>;
  });
  afterAll(() => cleanup());

  it('reports the exact counts of one etl run', () => {
    for (const key of ['files_processed', 'files_failed', 'lines', 'valid', 'duplicates']) {
      expect(report[key], key).toBe(expected.etl_report[key]);
    }
    expect(report.rejected).toEqual(expected.etl_report.rejected);
    expect(report.new_fields).toEqual(expected.new_fields);
    expect(report.partitions_written).toBe(expected.partitions_written);
  });

  it('records the exact counts of each file in the ledger', async () => {
    const snapshot = await readSnapshot(new LocalStorage(path.join(dir, 'warehouse')));
    expect([...snapshot.files.keys()].sort()).toEqual(Object.keys(expected.per_file).sort());
    for (const [file, want] of Object.entries(expected.per_file)) {
      const got = snapshot.files.get(file)!;
      expect(got.state, file).toBe('committed');
      expect({ lines: got.lines, valid: got.valid, duplicates: got.duplicates, rejected: got.rejected }, file).toEqual({
        lines: want.lines,
        valid: want.valid,
        duplicates: want.duplicates,
        rejected: want.rejected,
      });
    }
  });

  it('answers the five business queries exactly', async () => {
    for (const [name, rows] of Object.entries(expected.queries)) {
      const limit = name === 'top_products' ? ['--limit', String(rows.length)] : [];
      const run = await runCli(['query', name, '--warehouse', path.join(dir, 'warehouse'), '--format', 'json', ...limit]);
      expect(run.code, run.stderr).toBe(0);
      expectRows(JSON.parse(run.stdout) as Record<string, unknown>[], rows, name);
    }
  });

  it('answers the five business queries within a window', async () => {
    const w = expected.queries_window;
    for (const [name, rows] of Object.entries(w.results)) {
      const limit = name === 'top_products' ? ['--limit', String(w.limit)] : [];
      const run = await runCli(['query', name, '--warehouse', path.join(dir, 'warehouse'), '--from', w.from, '--to', w.to, '--format', 'json', ...limit]);
      expect(run.code, run.stderr).toBe(0);
      expectRows(JSON.parse(run.stdout) as Record<string, unknown>[], rows, `${name} window`);
    }
  });

  it('changes nothing on a second run over the same bronze', async () => {
    const run = await runCli(['etl', ...roots(), '--json']);
    expect(run.code).toBe(0);
    const again = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(again.files_processed).toBe(0);
    expect(again.lines).toBe(0);
    const snapshot = await readSnapshot(new LocalStorage(path.join(dir, 'warehouse')));
    expect(snapshot.version).toBe(1);
  });
});

/** Same keys in the same order; money compared to half a cent, counts exactly. */
function expectRows(got: Record<string, unknown>[], want: Record<string, unknown>[], label: string): void {
  expect(got.length, label).toBe(want.length);
  want.forEach((row, i) => {
    expect(Object.keys(got[i]!), `${label} row ${i} keys`).toEqual(Object.keys(row));
    for (const [key, value] of Object.entries(row)) {
      if (key === 'revenue') expect(Math.abs(Number(got[i]![key]) - Number(value)), `${label} row ${i} ${key}`).toBeLessThan(0.005);
      else expect(got[i]![key], `${label} row ${i} ${key}`).toEqual(value);
    }
  });
}
