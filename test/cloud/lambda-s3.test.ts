/*
 * The Lambda handlers with their real dependencies (generate, runEtl, compact, S3 storage) against
 * a local S3 server: what the deployed functions do on each tick, minus Lambda itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtlHandler, type EtlOutcome } from '../../src/cloud/lambda-etl.js';
import { createProducerHandler } from '../../src/cloud/lambda-producer.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

let server: S3Server;
const saved = { ...process.env };
const env = {
  STRATA_BRONZE: 's3://raw-bucket/bronze',
  STRATA_WAREHOUSE: 's3://analytics-bucket',
  STRATA_MIN_EVENTS: '300',
  STRATA_MAX_EVENTS: '500',
  STRATA_FAULT_RATE: '0.05',
};

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('raw-bucket');
  await server.createBucket('analytics-bucket');
  // The S3 backend reads its endpoint and credentials from the process, as in Lambda.
  Object.assign(process.env, server.env);
}, 60_000);
afterAll(async () => {
  process.env = saved;
  await server?.stop();
});

const report = (outcome: EtlOutcome) => {
  if (!('report' in outcome)) throw new Error(`skipped: ${outcome.message}`);
  return outcome.report as unknown as Record<string, unknown>;
};

describe('Lambda handlers on S3', () => {
  it('produce a batch per tick, then ETL and compact it into the layout the Glue tables project', async () => {
    const producer = createProducerHandler({ env });
    const etl = createEtlHandler({ env });

    const first = await producer({ time: '2024-03-05T07:05:42Z' });
    expect(first).toMatchObject({ batchTime: '2024-03-05T07:05:00.000Z', existed: false });
    expect(first.key).toMatch(/^year=2024\/month=03\/day=05\/hour=07\/minute=05\/.+\.jsonl\.gz$/);
    expect(await producer({ time: '2024-03-05T07:06:00Z' })).toMatchObject({ key: first.key, existed: true });
    await producer({ time: '2024-03-05T07:10:00Z' });

    const run = report(await etl({}));
    expect(run).toMatchObject({ files_processed: 2, files_failed: 0 });
    expect(run.valid as number).toBeGreaterThan(400);
    expect(report(await etl({ action: 'etl' }))).toMatchObject({ files_processed: 0 });

    await producer({ time: '2024-03-05T07:15:00Z' });
    expect(report(await etl({}))).toMatchObject({ files_processed: 1 });
    expect(report(await etl({ action: 'compact' }))).toMatchObject({ partitions_compacted: 1 });

    const warehouse = await openStorage(env.STRATA_WAREHOUSE);
    const keys: string[] = [];
    for await (const object of warehouse.list('')) keys.push(object.key);
    const events = keys.filter((k) => k.startsWith('events/'));
    expect(events.length).toBeGreaterThan(0);
    for (const key of events) expect(key).toMatch(/^events\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/[^/]+\.parquet$/);
    for (const key of keys.filter((k) => k.startsWith('quarantine/'))) expect(key).toMatch(/^quarantine\/ingest_date=\d{4}-\d{2}-\d{2}\/[^/]+\.parquet$/);
    // After compaction an hour holds one file: what Athena reads is what strata committed.
    const hours = new Set(events.map((k) => k.split('/').slice(0, 5).join('/')));
    expect(events.length).toBe(hours.size);
  }, 120_000);
});
