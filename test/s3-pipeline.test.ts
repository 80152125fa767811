import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../src/storage/s3.js';
import { runCli, SHARED } from './helpers/cli.js';
import { CONFORMANCE_BRONZE, CONFORMANCE_FILES } from './helpers/conformance.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';

/** The whole pipeline with both roots on a real S3-protocol server (s3rver on 127.0.0.1). */
describe('pipeline on S3 roots', () => {
  let server: S3Server;
  const BRONZE = 's3://raw/bronze';
  const WAREHOUSE = 's3://analytics/warehouse';
  const cacheDir = path.join(process.env.TMPDIR ?? '/tmp', `strata-s3-cache-${process.pid}`);
  const cli = (args: string[]) => runCli(args, { env: { ...server.env, STRATA_CACHE_DIR: cacheDir } });
  let saved: NodeJS.ProcessEnv = {};
  let expected: { etl_report: Record<string, unknown>; queries: Record<string, Record<string, unknown>[]> };

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('raw');
    await server.createBucket('analytics');
    // The SDK's credential chain reads this process's environment.
    saved = { ...process.env };
    Object.assign(process.env, server.env);
    const bronze = S3Storage.fromUri(BRONZE, server.env);
    for (const file of CONFORMANCE_FILES) await bronze.writeFile(file, path.join(CONFORMANCE_BRONZE, file));
    expected = JSON.parse(await readFile(path.join(SHARED, 'conformance', 'expected.json'), 'utf8')) as typeof expected;
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('runs etl, queries, status, compact and sql with s3:// roots, with the same results as local folders', async () => {
    const etl = await cli(['etl', '--bronze', BRONZE, '--warehouse', WAREHOUSE, '--json']);
    expect(etl.code, etl.stderr).toBe(0);
    const report = JSON.parse(etl.stdout) as Record<string, unknown>;
    for (const key of ['files_processed', 'lines', 'valid', 'duplicates', 'rejected']) expect(report[key], key).toEqual(expected.etl_report[key]);

    for (const [name, rows] of Object.entries(expected.queries)) {
      const limit = name === 'top_products' ? ['--limit', String(rows.length)] : [];
      const q = await cli(['query', name, '--warehouse', WAREHOUSE, '--format', 'json', ...limit]);
      expect(q.code, q.stderr).toBe(0);
      const got = JSON.parse(q.stdout) as Record<string, unknown>[];
      expect(got.length, name).toBe(rows.length);
      expect(got.map((r) => JSON.stringify(Object.keys(r)))).toEqual(rows.map((r) => JSON.stringify(Object.keys(r))));
      rows.forEach((row, i) => {
        for (const [k, v] of Object.entries(row)) {
          if (k === 'revenue') expect(Math.abs(Number(got[i]![k]) - Number(v))).toBeLessThan(0.005);
          else expect(got[i]![k], `${name} ${i} ${k}`).toEqual(v);
        }
      });
    }

    const again = await cli(['etl', '--bronze', BRONZE, '--warehouse', WAREHOUSE, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ files_processed: 0 });

    const status = await cli(['status', '--bronze', BRONZE, '--warehouse', WAREHOUSE, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ rows: { silver: 9679 } });

    const gen = await cli(['generate', '--bronze', BRONZE, '--start', '2025-07-01T00:10:00Z', '--events', '500', '--seed', 's3', '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    const second = await cli(['etl', '--bronze', BRONZE, '--warehouse', WAREHOUSE, '--json']);
    expect(JSON.parse(second.stdout)).toMatchObject({ files_processed: 1, lines: 500, valid: 500 });
    const compact = await cli(['compact', '--warehouse', WAREHOUSE, '--json']);
    expect(compact.code, compact.stderr).toBe(0);
    expect(JSON.parse(compact.stdout)).toMatchObject({ partitions_compacted: 1 });

    const sql = await cli(['sql', 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events', '--warehouse', WAREHOUSE, '--format', 'json']);
    expect(sql.code, sql.stderr).toBe(0);
    expect(JSON.parse(sql.stdout)).toEqual([{ n: 10179, ids: 10179 }]);
  });

  it('fails with one line when the bucket does not exist', async () => {
    const run = await cli(['etl', '--bronze', 's3://no-such-bucket/x', '--warehouse', WAREHOUSE]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('no-such-bucket');
  });
});
