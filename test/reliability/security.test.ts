import { createServer, type Server } from 'node:http';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { logKey } from '../../src/ledger/layout.js';
import { readSnapshot } from '../../src/ledger/log.js';
import { runReadOnlySql } from '../../src/queries/run-sql.js';
import { LocalStorage } from '../../src/storage/local.js';
import { pageView, writeBronze } from '../helpers/bronze.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';

/**
 * Nobody gets in: `strata sql` runs one read-only SELECT over the warehouse and nothing else
 * (test/sql.test.ts checks the refusals in-process; here each goes through the CLI: exit code,
 * one line, nothing written); no command follows a path out of its roots; and credentials never
 * show up in output, errors or files, even when an S3 root fails.
 */

const SECRET = 'SECRET123-do-not-print-e4b1f0';
const KEY_ID = 'AKIAEXAMPLESECRETID7';
const SECRET_ENV = { AWS_SECRET_ACCESS_KEY: SECRET, AWS_ACCESS_KEY_ID: KEY_ID, AWS_MAX_ATTEMPTS: '1', AWS_REGION: 'us-east-1' };
const ONE_LINE_ERROR = /^strata: [^\n]+\n$/;

/** Runs CLI commands at most `n` at a time (two cores). */
async function inBatches<T>(items: readonly T[], n: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(run));
}

async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('security', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bronze: string;
  let warehouse: string;
  let outside: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-sec-'));
    bronze = path.join(dir, 'bronze');
    warehouse = path.join(dir, 'warehouse');
    outside = path.join(dir, 'outside');
    await mkdir(warehouse);
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret.txt'), 'top secret\n');
    await writeBronze(bronze, 'year=2025/month=07/day=01/hour=00/minute=00/a.jsonl.gz', [pageView('2025-07-01T00:00:00Z'), pageView('2025-07-01T00:01:00Z'), '{bad']);
    // Links inside the bronze root that lead out of it: the sql sandbox must not follow them either.
    await symlink(path.join(outside, 'secret.txt'), path.join(bronze, 'link.txt'));
    await symlink(outside, path.join(bronze, 'linked-dir'));
    const run = await runCli(['etl', '--bronze', bronze, '--warehouse', warehouse]);
    expect(run.code, run.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it('refuses every write, escape, setting change and second statement through `strata sql`, with one line and a non-zero exit', async () => {
    const before = { warehouse: await tree(warehouse), outside: await tree(outside), dir: await tree(dir) };
    const target = path.join(outside, 'written.csv');
    // One statement of each kind the issue names through the CLI (exit code, one line); the rest
    // in-process below, where each costs no process start (the CLI prints any UserError as one line).
    const statements: [string, RegExp][] = [
      ['INSERT INTO runs SELECT * FROM runs', /INSERT/],
      ['DROP VIEW events', /DROP/],
      [`COPY (SELECT * FROM events) TO '${target}'`, /COPY|refused/],
      [`ATTACH '${path.join(outside, 'x.duckdb')}' AS x`, /ATTACH|refused/],
      ['LOAD parquet', /LOAD/],
      ["SELECT * FROM read_text('/etc/passwd')", /refused/],
      ['SET enable_external_access = true', /SET|locked/],
      ['SELECT count(*) FROM events; DROP VIEW events', /one statement at a time/],
    ];
    const inProcess: [string, RegExp][] = [
      ["UPDATE runs SET kind = 'x'", /UPDATE/],
      ['DELETE FROM runs', /DELETE/],
      ['CREATE TABLE t AS SELECT 1', /CREATE/],
      ['INSTALL httpfs', /INSTALL|LOAD|refused|EXTENSION/i],
      ["SELECT * FROM glob('/etc/*')", /refused/],
      ['PRAGMA enable_profiling', /PRAGMA|refused/],
      [`SELECT * FROM query('COPY (SELECT 1) TO ''${target}''')`, /single SELECT|refused/i],
      ["SELECT * FROM read_csv('/etc/passwd', sep = ':')", /refused/],
      [`SELECT * FROM read_parquet('${path.join(outside, '*.parquet')}')`, /refused/],
      [`SELECT * FROM read_text('${path.join(bronze, 'link.txt')}')`, /refused/],
      [`SELECT * FROM read_text('${path.join(bronze, 'linked-dir', 'secret.txt')}')`, /refused/],
      [`SELECT * FROM read_text('${bronze}/../outside/secret.txt')`, /refused/],
      [`SELECT * FROM read_blob('${path.join(warehouse, '_strata', 'log', '*.json')}')`, /refused/],
      ['SELECT * FROM duckdb_secrets()', /refused/],
      ["SELECT getenv('AWS_SECRET_ACCESS_KEY')", /getenv|refused/],
      ['RESET lock_configuration', /SET|RESET|locked/],
      ['SELECT 1; SELECT 2', /one statement at a time/],
    ];
    for (const [sql, reason] of inProcess) {
      const err = await runReadOnlySql(new LocalStorage(warehouse), sql).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, sql).toBeInstanceOf(UserError);
      expect((err as Error).message, sql).toMatch(reason);
      expect((err as Error).message, sql).not.toContain('\n');
      expect((err as Error).message, sql).not.toContain('top secret');
    }
    await inBatches(statements, 3, async ([sql, reason]) => {
      const r = await runCli(['sql', sql, '--warehouse', warehouse], { env: SECRET_ENV });
      expect(r.code, sql).toBe(2);
      expect(r.stdout, sql).toBe('');
      expect(r.stderr, sql).toMatch(ONE_LINE_ERROR);
      expect(r.stderr, sql).toMatch(reason);
      expect(r.stderr + r.stdout, sql).not.toContain(SECRET);
      expect(r.stderr, sql).not.toContain('top secret');
    });
    expect({ warehouse: await tree(warehouse), outside: await tree(outside), dir: await tree(dir) }).toEqual(before);
    const ok = await runCli(['sql', 'SELECT count(*) AS n FROM events', '--warehouse', warehouse, '--format', 'json']);
    expect(JSON.parse(ok.stdout)).toEqual([{ n: 2 }]);
  });

  it('follows no key out of the warehouse, even from a tampered ledger', async () => {
    const { dir: other, cleanup: done } = await tempDir('strata-sec-keys-');
    try {
      const wh = path.join(other, 'warehouse');
      const victim = path.join(other, 'victim.parquet');
      await (await import('node:fs/promises')).cp(warehouse, wh, { recursive: true });
      await writeFile(victim, 'not yours');
      const snapshot = await readSnapshot(new LocalStorage(wh));
      const partition = { year: 2025, month: 7, day: 1, hour: 0 };
      const evil = (key: string) => ({ key, table: 'events', rows: 1, bytes: 9, partition, runId: 'evil' });
      const last = JSON.parse(await readFile(path.join(wh, logKey(snapshot.version)), 'utf8')) as { run: unknown };
      await writeFile(
        path.join(wh, logKey(snapshot.version + 1)),
        JSON.stringify({ version: snapshot.version + 1, committedAt: new Date().toISOString(), add: [evil('../victim.parquet'), evil(victim), evil('events/../../victim.parquet')], remove: [], files: [], fieldsSeen: [], run: last.run }),
      );
      const commands = [['sql', 'SELECT count(*) FROM events'], ['query', 'funnel'], ['compact'], ['status', '--bronze', bronze]];
      for (const args of commands) {
        const r = await runCli([...args, '--warehouse', wh]);
        if (args[0] === 'status') {
          expect(r.stderr, args[0]).toMatch(/unsafe storage key/);
        } else {
          expect(r.code, args[0]).not.toBe(0);
          expect(r.stderr, args[0]).toMatch(ONE_LINE_ERROR);
          expect(r.stderr, args[0]).toMatch(/unsafe storage key/);
        }
        expect(r.stdout, args[0]).not.toContain('not yours');
      }
      expect(await readFile(victim, 'utf8')).toBe('not yours');
    } finally {
      await done();
    }
  });

  describe('secrets', () => {
    let server: Server;
    let echoEndpoint: string;

    beforeAll(async () => {
      // An S3-compatible endpoint that answers HEAD and echoes every request's headers in its errors.
      server = createServer((req, res) => {
        if (req.method === 'HEAD') {
          res.writeHead(200).end();
          return;
        }
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?><Error><Code>InvalidRequest</Code><Message>you sent ${JSON.stringify(req.headers).replace(/[<>&]/g, '')}</Message></Error>`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      echoEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const expectNoSecret = (r: CliResult, what: string): void => {
      expect(`${r.stdout}${r.stderr}`, what).not.toContain(SECRET);
    };

    it('never prints the secret key: local runs, unreachable and failing S3 roots, with --verbose', async () => {
      const refused = { ...SECRET_ENV, STRATA_S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_S3_FORCE_PATH_STYLE: '1' };
      const echo = { ...SECRET_ENV, STRATA_S3_ENDPOINT: echoEndpoint, STRATA_S3_FORCE_PATH_STYLE: '1' };
      const runs: [string[], NodeJS.ProcessEnv][] = [
        [['etl', '--bronze', bronze, '--warehouse', warehouse, '--json', '--verbose'], SECRET_ENV],
        [['sql', "SELECT * FROM duckdb_settings() WHERE value LIKE '%SECRET%'", '--warehouse', warehouse, '--format', 'json'], SECRET_ENV],
        [['etl', '--bronze', 's3://nobucket/x', '--warehouse', warehouse, '--verbose'], refused],
        [['etl', '--bronze', bronze, '--warehouse', 's3://nobucket/x', '--verbose'], refused],
        [['status', '--bronze', 's3://nobucket/x', '--warehouse', 's3://nobucket/y', '--verbose'], refused],
        [['sql', 'SELECT 1', '--warehouse', 's3://nobucket/x', '--verbose'], refused],
        [['query', 'funnel', '--warehouse', 's3://nobucket/x', '--verbose'], refused],
        [['compact', '--warehouse', 's3://nobucket/x', '--verbose'], refused],
        [['etl', '--bronze', 's3://nobucket/x', '--warehouse', warehouse, '--verbose'], echo],
        [['sql', 'SELECT 1', '--warehouse', 's3://nobucket/x', '--verbose'], echo],
      ];
      await inBatches(runs, 3, async ([args, env]) => {
        const r = await runCli(args, { env });
        expectNoSecret(r, args.join(' '));
        if (args[0] !== 'status' && args.some((a) => a.startsWith('s3://'))) {
          expect(r.code, args.join(' ')).not.toBe(0);
          expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(/^strata: .*s3:\/\/nobucket/);
        }
      });
      expect(JSON.parse((await runCli(['sql', "SELECT count(*) AS n FROM duckdb_settings() WHERE value LIKE '%SECRET%'", '--warehouse', warehouse, '--format', 'json'], { env: SECRET_ENV })).stdout)).toEqual([{ n: 0 }]);
      // Nor is it written anywhere: ledger, catalog, data.
      for (const file of await tree(warehouse)) {
        const p = path.join(warehouse, file);
        const content = await readFile(p).catch(() => Buffer.alloc(0));
        expect(content.includes(SECRET), file).toBe(false);
        expect(content.includes(KEY_ID), file).toBe(false);
      }
    });

    // An endpoint that echoes request headers gets the session token (SigV4's x-amz-security-token)
    // into the error text; runCommand redacts credential values from every line it prints.
    it('never prints the session token, even when an endpoint echoes it back', async () => {
      const token = 'SESSIONTOKEN-do-not-print-77aa';
      const r = await runCli(['sql', 'SELECT 1', '--warehouse', 's3://nobucket/x'], {
        env: { ...SECRET_ENV, AWS_SESSION_TOKEN: token, STRATA_S3_ENDPOINT: echoEndpoint, STRATA_S3_FORCE_PATH_STYLE: '1' },
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toContain(token);
    });
  });
});
