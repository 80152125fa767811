import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { readFolder } from './bronze.js';

export interface WarehouseTotals {
  readonly silverRows: number;
  readonly distinctIds: number;
  readonly quarantineRows: number;
}

/**
 * What an outside engine sees in the folder, and a check that the folder holds exactly the
 * committed files (SPEC §4: no leftovers, no superseded files).
 */
export async function warehouseTotals(warehouse: string): Promise<WarehouseTotals> {
  const snapshot = await readSnapshot(new LocalStorage(warehouse));
  const onDisk = await parquetFiles(warehouse);
  expect(onDisk.sort()).toEqual(snapshot.dataFiles.map((f) => f.key).sort());
  const [silver] = await readFolder(
    `SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM read_parquet('${warehouse}/events/**/*.parquet', hive_partitioning = false)`,
  );
  const has = (prefix: string) => onDisk.some((f) => f.startsWith(prefix));
  expect(has('activity/')).toBe(has('events/'));
  if (has('events/')) expect(await rollupDifferences(warehouse)).toBe(0);
  const quarantineFiles = onDisk.filter((f) => f.startsWith('quarantine/'));
  const [quarantine] = quarantineFiles.length
    ? await readFolder(`SELECT count(*) AS n FROM read_parquet('${warehouse}/quarantine/**/*.parquet')`)
    : [{ n: '0' }];
  return { silverRows: Number(silver!.n), distinctIds: Number(silver!.ids), quarantineRows: Number(quarantine!.n) };
}

async function parquetFiles(warehouse: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['events', 'activity', 'quarantine']) {
    const entries = await readdir(path.join(warehouse, table), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const rel = path.relative(warehouse, path.join(entry.parentPath, entry.name));
      out.push(rel.split(path.sep).join('/'));
    }
  }
  return out;
}

/**
 * How far the activity rollups are from what they claim to be: each events file's distinct user
 * ids and session ids (silver/activity-rollup.ts), under the same path in `activity/`. Rows in
 * one and not the other, both ways; 0 also means every events file has its rollup.
 */
async function rollupDifferences(warehouse: string): Promise<number> {
  const events = `read_parquet('${warehouse}/events/**/*.parquet', filename = true, hive_partitioning = false)`;
  const [row] = await readFolder(`
    WITH expected AS (
      SELECT DISTINCT filename AS f, user_id, NULL::VARCHAR AS session_id FROM ${events}
      UNION ALL SELECT DISTINCT filename AS f, NULL::VARCHAR AS user_id, session_id FROM ${events}),
    rollups AS (
      SELECT replace(filename, '/activity/', '/events/') AS f, user_id, session_id
      FROM read_parquet('${warehouse}/activity/**/*.parquet', filename = true, hive_partitioning = false, union_by_name = true))
    SELECT (SELECT count(*) FROM (FROM expected EXCEPT ALL FROM rollups)) + (SELECT count(*) FROM (FROM rollups EXCEPT ALL FROM expected)) AS n`);
  return Number(row!.n);
}

/**
 * Rows of `events` and `quarantine` that one warehouse folder holds and the other does not
 * (as multisets, run ids and ingestion times aside), and how many rows each table has in `a`.
 */
export async function tableDifferences(a: string, b: string): Promise<{ table: string; rows: number; onlyA: number; onlyB: number }[]> {
  const out = [];
  for (const [table, except] of [['events', 'run_id'], ['quarantine', 'run_id, ingested_at']] as const) {
    const rows = (warehouse: string) => `SELECT * EXCLUDE (${except}) FROM read_parquet('${warehouse}/${table}/**/*.parquet', hive_partitioning = false)`;
    const [diff] = await readFolder(`SELECT (SELECT count(*) FROM (${rows(a)})) AS n,
      (SELECT count(*) FROM ((${rows(a)}) EXCEPT ALL (${rows(b)}))) AS only_a,
      (SELECT count(*) FROM ((${rows(b)}) EXCEPT ALL (${rows(a)}))) AS only_b`);
    out.push({ table, rows: Number(diff?.n), onlyA: Number(diff?.only_a), onlyB: Number(diff?.only_b) });
  }
  return out;
}
