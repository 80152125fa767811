import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFolder, writeBronze } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';

/**
 * Line numbers in a file big enough for DuckDB to read on several threads and to store in
 * several row groups of the staging table (122,880 rows each): strata numbers lines by row
 * position, so a reader that reordered rows would shift every number after the first boundary.
 */
const LINES = 400_000;
const BAD = new Set([1, 2, 122_880, 122_881, 245_761, 262_144, 399_999, 400_000]);
const BLANK = new Set([3, 200_000, 300_001]);
const CR_LINE = 350_000;
const FILE = 'year=2025/month=07/day=01/hour=10/minute=00/big.jsonl.gz';

function line(n: number): string {
  if (BLANK.has(n)) return n % 2 === 0 ? '' : ' \t';
  if (BAD.has(n)) return `{"event_id":"bad-${n}"`;
  const cr = n === CR_LINE ? '\r' : '';
  return `{"event_id":"e${n}","timestamp":"2025-07-01T10:00:00Z","user_id":"u${cr}","session_id":"s","event_type":"page_view","product_id":"P${n}"}`;
}

// A small run stages in memory, a big backlog in a database file: both must number alike.
describe.each(['memory', 'disk'])('line numbers of a large file, staged in %s', (staging) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const wh = (): string => path.join(dir, 'warehouse');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeBronze(
      path.join(dir, 'bronze'),
      FILE,
      Array.from({ length: LINES }, (_, i) => line(i + 1)),
    );
    await mkdir(wh());
    const run = await runCli(['etl', '--bronze', path.join(dir, 'bronze'), '--warehouse', wh(), '--json'], { env: { STRATA_STAGING: staging } });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { lines: number; valid: number };
    expect(report.lines).toBe(LINES - BLANK.size);
    expect(report.valid).toBe(LINES - BLANK.size - BAD.size - 1);
  }, 120_000);
  afterAll(() => cleanup());

  it('quarantine holds each bad line under its own number, raw text intact', async () => {
    const rows = await readFolder(`SELECT source_line, reason, raw_line FROM read_parquet('${wh()}/quarantine/**/*.parquet') ORDER BY source_line`);
    const expected = [...BAD, CR_LINE].sort((a, b) => a - b);
    expect(rows.map((r) => Number(r.source_line))).toEqual(expected);
    for (const r of rows) expect(r.raw_line).toBe(line(Number(r.source_line)));
    expect(rows.find((r) => Number(r.source_line) === CR_LINE)?.reason).toBe('malformed_json');
  });

  it('every silver row carries the number of the line it came from', async () => {
    const [check] = await readFolder(`
      SELECT count(*) AS n,
        count(*) FILTER (WHERE event_id <> 'e' || source_line OR product_id <> 'P' || source_line) AS mismatched
      FROM read_parquet('${wh()}/events/**/*.parquet')`);
    expect(Number(check?.n)).toBe(LINES - BLANK.size - BAD.size - 1);
    expect(Number(check?.mismatched)).toBe(0);
  });

  it('silver is written in row groups of at most ~64k rows (a one-hour query splits it evenly over the cores)', async () => {
    const groups = await readFolder(`
      SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS n FROM parquet_metadata('${wh()}/events/**/*.parquet')`);
    const rows = groups.reduce((sum, g) => sum + Number(g.n), 0);
    expect(rows).toBe(LINES - BLANK.size - BAD.size - 1);
    // DuckDB's default (122,880 rows) would give 4 groups here; its parallel writer may overshoot a group by a little.
    expect(groups.length).toBeGreaterThanOrEqual(6);
    for (const g of groups) expect(Number(g.n)).toBeLessThanOrEqual(70_000);
  });
});
