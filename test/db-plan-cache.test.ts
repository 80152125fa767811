import { rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/db/duckdb.js';
import { tempDir } from './helpers/cli.js';

/** Db's plan cache (used by the long-lived query engine): same answers, and no stale plan kept. */
describe('Db planCache', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let db: Db;
  const file = (name: string) => path.join(dir, name);
  const count = async (name: string, min = 0) => Number((await db.table(`SELECT count(*) AS n FROM read_parquet('${file(name)}') WHERE i >= ${min}`)).rows[0]![0]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-plans-'));
    db = await Db.open({ planCache: 2 });
    for (const [name, n] of [['a.parquet', 3], ['b.parquet', 5], ['c.parquet', 7]] as const) {
      await db.run(`COPY (SELECT range AS i FROM range(${n})) TO '${file(name)}' (FORMAT parquet)`);
    }
  });
  afterAll(async () => {
    db.close();
    await cleanup();
  });

  it('answers repeated and evicted queries alike', async () => {
    for (let round = 0; round < 3; round++) {
      expect([await count('a.parquet'), await count('b.parquet'), await count('c.parquet'), await count('a.parquet', 1)]).toEqual([3, 5, 7, 2]);
    }
  });

  it('plans a query afresh after its plan failed', async () => {
    expect(await count('b.parquet', 2)).toBe(3);
    await rename(file('b.parquet'), file('b.moved'));
    await expect(count('b.parquet', 2)).rejects.toThrow(/b\.parquet/);
    await rename(file('b.moved'), file('b.parquet'));
    expect(await count('b.parquet', 2)).toBe(3);
  });
});
