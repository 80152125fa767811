import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { eventsFileKey, logKey } from '../src/ledger/layout.js';
import { runReadOnlySql } from '../src/queries/run-sql.js';
import { LocalStorage } from '../src/storage/local.js';
import { CLI, runCli, tempDir } from './helpers/cli.js';
import { makeEvents, microsOf, partitionOf, writeRun } from './helpers/silver-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
let warehouseDir: string;
let warehouse: LocalStorage;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('strata-sql-'));
  warehouseDir = path.join(dir, 'warehouse');
  await writeRun(warehouseDir, { version: 1, runId: 'r1', events: makeEvents(21, 120, '2025-07-01T00:00:00Z', 2, 'a') });
  warehouse = new LocalStorage(warehouseDir);
}, 30_000);

afterAll(() => cleanup());

async function refusal(sql: string): Promise<string> {
  try {
    await runReadOnlySql(warehouse, sql);
  } catch (err) {
    expect(err, sql).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message, sql).not.toContain('\n');
    return message;
  }
  throw new Error(`not refused: ${sql}`);
}

describe('strata sql', () => {
  it('answers a read-only query over the catalog', async () => {
    const result = await runReadOnlySql(warehouse, 'SELECT count(*) AS n, sum(revenue) AS revenue FROM events');
    expect(result.columns.map((c) => c.name)).toEqual(['n', 'revenue']);
    expect(result.rows[0]![0]).toBe('120');
    const allowed = ['EXPLAIN SELECT * FROM events', 'DESCRIBE events', 'SHOW TABLES', 'SELECT * FROM runs', "SELECT * FROM duckdb_settings() WHERE name = 'enable_external_access'"];
    for (const sql of allowed) await expect(runReadOnlySql(warehouse, sql), sql).resolves.toBeDefined();
    const setting = await runReadOnlySql(warehouse, "SELECT current_setting('enable_external_access') AS v, current_setting('lock_configuration') AS l");
    expect(setting.rows[0]).toEqual([false, true]);
  });

  it('refuses every kind of write or escape, with one line each', async () => {
    const outside = path.join(dir, 'out');
    const orphanKey = eventsFileKey(partitionOf(microsOf('2025-07-01T00:00:00Z')), 'r1');
    const cases: [string, RegExp][] = [
      ['CREATE TABLE t AS SELECT 1', /only read-only queries .* a CREATE statement/],
      ['CREATE TEMP TABLE t AS SELECT 1', /a CREATE statement/],
      ['CREATE VIEW v AS SELECT 1', /a CREATE statement/],
      ['CREATE MACRO m(x) AS x + 1', /CREATE/],
      ['INSERT INTO runs SELECT * FROM runs', /an INSERT statement/],
      ["UPDATE runs SET kind = 'x'", /an UPDATE statement/],
      ['DELETE FROM runs', /a DELETE statement/],
      ['DROP VIEW events', /a DROP statement/],
      ['ALTER TABLE runs RENAME TO r', /an ALTER statement/],
      [`COPY (SELECT * FROM events) TO '${outside}.csv'`, /a COPY statement|refused/],
      [`COPY (SELECT 1) TO '${path.join(warehouseDir, orphanKey)}' (FORMAT parquet)`, /COPY/],
      [`EXPORT DATABASE '${outside}'`, /EXPORT|refused/],
      [`ATTACH '${outside}.duckdb' AS other`, /ATTACH|refused/],
      ['DETACH catalog', /DETACH/],
      ['INSTALL httpfs', /refused|EXTENSION|LOAD/],
      ['LOAD json', /LOAD/],
      ['SET enable_external_access = true', /SET|locked/],
      ['SET threads = 1', /SET|locked/],
      ['RESET lock_configuration', /SET|locked/],
      ['SET VARIABLE x = 1', /SET/],
      ['PRAGMA enable_profiling', /PRAGMA|refused/],
      ['CHECKPOINT', /only read-only queries are allowed/],
      ['BEGIN TRANSACTION', /TRANSACTION/],
      ['CALL pragma_version()', /CALL/],
      ['EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1', /EXPLAIN/],
      ['SELECT 1; SELECT 2', /one statement at a time, got 2/],
      ['SELECT 1; DROP VIEW events', /one statement at a time/],
      ["SELECT * FROM read_text('/etc/passwd')", /refused, only the warehouse's tables can be read/],
      ["SELECT * FROM read_csv('/etc/passwd', sep = ':')", /refused/],
      ["SELECT * FROM glob('/*')", /refused/],
      [`SELECT * FROM read_text('${path.join(warehouseDir, logKey(1))}')`, /refused/],
      [`SELECT * FROM read_parquet('${path.join(dir, '*.parquet')}')`, /refused/],
      ['   ', /empty/],
    ];
    for (const [sql, message] of cases) {
      const got = await refusal(sql);
      if (process.env.SHOW_REFUSALS) console.log(sql, '=>', got);
      expect(got, sql).toMatch(message);
    }
    // Nothing was written anywhere.
    expect(await stat(`${outside}.csv`).catch(() => undefined)).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['warehouse']);
    const after = await runReadOnlySql(warehouse, 'SELECT count(*) FROM events');
    expect(after.rows[0]![0]).toBe('120');
  });

  it('prints json numbers and csv from the CLI; refusals exit non-zero with one line', async () => {
    const w = ['--warehouse', warehouseDir];
    const [json, csv, refused, syntax] = await Promise.all([
      runCli(['sql', 'SELECT event_type, count(*) AS n, sum(price) AS p FROM events GROUP BY 1 ORDER BY 1 LIMIT 2', ...w, '--format', 'json']),
      runCli(['sql', "SELECT 'a,b' AS x, 1.50::DECIMAL(5,2) AS y", ...w, '--format', 'csv']),
      runCli(['sql', 'DROP VIEW events', ...w]),
      runCli(['sql', 'SELEC 1', ...w]),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(2);
    expect(typeof rows[0]!.n).toBe('number');
    expect(csv.stdout).toBe('x,y\r\n"a,b",1.50\r\n');
    for (const r of [refused, syntax]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^strata: sql: [^\n]+\n$/);
    }
  });
});

describe('strata sql into a pipe that closes early', () => {
  it('ends quietly with exit code 0, like `| head -1`, not with a stack trace', async () => {
    const child = spawn(process.execPath, [CLI, 'sql', 'SELECT range AS n FROM range(500000)', '--warehouse', warehouseDir, '--format', 'csv'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(first.split('\r\n')[0]).toBe('n');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
