import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../src/ledger/log.js';
import { LocalStorage } from '../src/storage/local.js';
import { runCli, tempDir } from './helpers/cli.js';

describe('strata demo', () => {
  it('generates, runs etl, prints the five queries and tips', async (ctx) => {
    const { dir, cleanup } = await tempDir('strata-demo-');
    try {
      const bronze = path.join(dir, 'bronze');
      const warehouse = path.join(dir, 'warehouse');
      const run = await runCli(['demo', '--bronze', bronze, '--warehouse', warehouse, '--events', '300', '--batches', '2']);
      // Until generate and etl land, their stubs say so: nothing to check yet.
      if (/not implemented yet/.test(run.stderr)) ctx.skip();
      expect(run.code, run.stderr).toBe(0);
      for (const name of ['funnel', 'hourly_revenue', 'top_products', 'category_performance', 'user_activity']) {
        expect(run.stdout).toContain(`\n${name}: `);
      }
      expect(run.stdout).toContain('strata status');
      expect(run.stdout).toContain(`duckdb -readonly ${path.join(warehouse, 'catalog.duckdb')}`);
      expect(run.stderr).toMatch(/generated 600 events in 2 files/);
      const snapshot = await readSnapshot(new LocalStorage(warehouse));
      expect(snapshot.files.size).toBe(2);
      const sql = await runCli(['sql', 'SELECT count(*) AS n FROM bronze_events', '--warehouse', warehouse, '--format', 'json']);
      expect(sql.code, sql.stderr).toBe(0);
      expect(JSON.parse(sql.stdout)).toEqual([{ n: 600 }]);
    } finally {
      await cleanup();
    }
  });

  it('refuses bad numbers', async () => {
    const run = await runCli(['demo', '--batches', '0', '--warehouse', '/nonexistent/w']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^strata: --batches: expected a whole number > 0, got "0"\n$/);
  });
});
