import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEtlHandler } from '../../src/cloud/lambda-etl.js';
import { createProducerHandler } from '../../src/cloud/lambda-producer.js';
import { BusyError } from '../../src/errors.js';
import type { CompactOptions, CompactReport } from '../../src/etl/compact.js';
import type { EtlReport } from '../../src/etl/report.js';
import type { EtlOptions } from '../../src/etl/run-etl.js';
import type { GenerateOptions, GenerateResult } from '../../src/generate/generate.js';
import { emptyRejectCounts } from '../../src/ledger/types.js';
import type { Storage } from '../../src/storage/storage.js';

/** Storage stands in by its URI only: the handlers pass it through, never use it themselves. */
const fakeStorage = (uri: string) => ({ uri }) as unknown as Storage;
const opened: string[] = [];
const openStorage = async (uri: string) => (opened.push(uri), fakeStorage(uri));
const logs: string[] = [];

beforeEach(() => {
  opened.length = 0;
  logs.length = 0;
  vi.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
});
afterEach(() => vi.restoreAllMocks());

describe('producer handler', () => {
  const env = { STRATA_BRONZE: 's3://raw-bucket/bronze' };
  const calls: GenerateOptions[] = [];
  const generate = async (o: GenerateOptions): Promise<GenerateResult> => {
    calls.push(o);
    return { files: [{ key: 'year=2024/month=03/day=05/hour=07/minute=05/b.jsonl.gz', lines: 600_000, bytes: 42_000_000 }], events: 600_000 };
  };
  beforeEach(() => (calls.length = 0));

  it('writes one batch at the schedule time floored to the interval, with the SPEC defaults', async () => {
    const handler = createProducerHandler({ generate, openStorage, env });
    const summary = await handler({ time: '2024-03-05T07:07:31Z' });
    expect(opened).toEqual(['s3://raw-bucket/bronze']);
    expect(calls).toHaveLength(1);
    const { bronze, start, ...rest } = calls[0]!;
    expect(bronze.uri).toBe('s3://raw-bucket/bronze');
    expect(start.toISOString()).toBe('2024-03-05T07:05:00.000Z');
    expect(rest).toEqual({ batches: 1, intervalMs: 300_000, minEvents: 500_000, maxEvents: 750_000, seed: 'strata', faultRate: 0.01 });
    expect(summary).toEqual({
      batchTime: '2024-03-05T07:05:00.000Z',
      key: 'year=2024/month=03/day=05/hour=07/minute=05/b.jsonl.gz',
      events: 600_000,
      bytes: 42_000_000,
      existed: false,
    });
    expect(JSON.parse(logs[0]!)).toMatchObject({ msg: 'batch written', events: 600_000 });
  });

  it('gives a retried invocation the same arguments', async () => {
    const handler = createProducerHandler({ generate, openStorage, env });
    await handler({ time: '2024-03-05T07:05:00Z' });
    await handler({ time: '2024-03-05T07:09:59Z' });
    expect(calls[1]).toEqual(calls[0]);
  });

  it('reads the settings from the environment, and uses the clock without a schedule time', async () => {
    const handler = createProducerHandler({
      generate,
      openStorage,
      env: { ...env, STRATA_INTERVAL: '1m', STRATA_MIN_EVENTS: '10', STRATA_MAX_EVENTS: '20', STRATA_FAULT_RATE: '0.5', STRATA_SEED: 'demo' },
      now: () => new Date('2024-03-05T07:07:31.500Z'),
    });
    await handler();
    expect(calls[0]).toMatchObject({ intervalMs: 60_000, minEvents: 10, maxEvents: 20, faultRate: 0.5, seed: 'demo' });
    expect(calls[0]!.start.toISOString()).toBe('2024-03-05T07:07:00.000Z');
  });

  it('fails clearly on a missing or local bronze root and bad numbers, before writing', async () => {
    await expect(createProducerHandler({ generate, openStorage, env: {} })({})).rejects.toThrow(/STRATA_BRONZE is not set/);
    await expect(createProducerHandler({ generate, openStorage, env: { STRATA_BRONZE: './data' } })({})).rejects.toThrow(/must be an s3:\/\/ URI/);
    await expect(createProducerHandler({ generate, openStorage, env: { ...env, STRATA_FAULT_RATE: '2' } })({})).rejects.toThrow(/between 0 and 1/);
    await expect(createProducerHandler({ generate, openStorage, env: { ...env, STRATA_MIN_EVENTS: 'many' } })({})).rejects.toThrow(/whole number/);
    await expect(createProducerHandler({ generate, openStorage, env })({ time: 'soon' })).rejects.toThrow(/invalid time/);
    expect(calls).toHaveLength(0);
  });
});

describe('ETL handler', () => {
  const env = { STRATA_BRONZE: 's3://raw-bucket', STRATA_WAREHOUSE: 's3://analytics-bucket/wh' };
  const report: EtlReport = {
    run_id: 'r1',
    files_processed: 2,
    files_failed: 0,
    lines: 10,
    valid: 9,
    rejected: { ...emptyRejectCounts(), bad_price: 1 },
    duplicates: 0,
    partitions_written: 1,
    new_fields: [],
    duration_ms: 5,
    changed_files: [],
    skipped_files: [],
    failed_files: [],
  };
  const compactReport: CompactReport = { run_id: 'c1', partitions_compacted: 3, files_removed: 9, files_written: 3, rows: 100, duration_ms: 7 };

  it('runs the ETL on the S3 roots and returns its report', async () => {
    const seen: EtlOptions[] = [];
    const handler = createEtlHandler({ runEtl: async (o) => (seen.push(o), report), openStorage, env });
    expect(await handler({})).toEqual({ action: 'etl', report });
    expect(opened).toEqual(['s3://analytics-bucket/wh', 's3://raw-bucket']);
    expect(seen[0]!.bronze.uri).toBe('s3://raw-bucket');
    expect(seen[0]!.warehouse.uri).toBe('s3://analytics-bucket/wh');
    expect(seen[0]!.waitMs).toBe(0);
    expect(JSON.parse(logs[0]!)).toMatchObject({ msg: 'etl finished', run_id: 'r1', files_processed: 2 });
  });

  it('compacts on the compaction rule’s input', async () => {
    const seen: CompactOptions[] = [];
    const runEtl = vi.fn();
    const handler = createEtlHandler({ runEtl, compact: async (o) => (seen.push(o), compactReport), openStorage, env: { ...env, STRATA_LOCK_WAIT: '30s' } });
    expect(await handler({ action: 'compact' })).toEqual({ action: 'compact', report: compactReport });
    expect(seen[0]).toMatchObject({ waitMs: 30_000 });
    expect(seen[0]!.warehouse.uri).toBe('s3://analytics-bucket/wh');
    expect(runEtl).not.toHaveBeenCalled();
  });

  it('skips, without failing, when another run holds the lock', async () => {
    const handler = createEtlHandler({
      runEtl: async () => {
        throw new BusyError('warehouse s3://analytics-bucket/wh is busy: laptop holds its lock');
      },
      openStorage,
      env,
    });
    expect(await handler()).toEqual({ action: 'etl', skipped: 'busy', message: 'warehouse s3://analytics-bucket/wh is busy: laptop holds its lock' });
  });

  it('fails the invocation on any other error, and on bad settings', async () => {
    const boom = new Error('S3 upload failed');
    await expect(createEtlHandler({ runEtl: async () => Promise.reject(boom), openStorage, env })()).rejects.toBe(boom);
    await expect(createEtlHandler({ runEtl: async () => report, openStorage, env: { STRATA_BRONZE: 's3://raw-bucket' } })()).rejects.toThrow(/STRATA_WAREHOUSE is not set/);
    await expect(createEtlHandler({ runEtl: async () => report, openStorage, env })({ action: 'vacuum' as never })).rejects.toThrow(/unknown action/);
  });
});
