import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFolder, writeBronze } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';

/**
 * A large file found truncated only after DuckDB has taken its first pieces: none of its lines
 * may count, reach silver or quarantine, or make a later line a duplicate.
 */
const P = 'year=2025/month=07/day=01/hour=10/minute=';
const ev = (id: string): string =>
  JSON.stringify({ event_id: id, timestamp: '2025-07-01T10:00:00Z', user_id: 'u', session_id: 's', event_type: 'page_view', product_id: 'P1', pad: randomBytes(64).toString('hex') });

describe('a file that turns out corrupt after some of its pieces went in', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let report: Record<string, unknown>;
  const wh = (): string => path.join(dir, 'warehouse');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-corrupt-piece-'));
    const bronze = path.join(dir, 'bronze');
    await writeBronze(bronze, `${P}00/a.jsonl.gz`, [ev('a1'), '{bad', ev('a2')]);
    // ~1.2 MB of text in 64 KB pieces; the cut gzip inflates most of it, then fails.
    const lines = Array.from({ length: 6000 }, (_, i) => ev(`b${i}`)).concat(['{also bad']);
    const gz = gzipSync(Buffer.from(`${lines.join('\n')}\n`));
    await mkdir(path.join(bronze, `${P}05`), { recursive: true });
    await writeFile(path.join(bronze, `${P}05`, 'b.jsonl.gz'), gz.subarray(0, gz.length - 2000));
    await writeBronze(bronze, `${P}10/c.jsonl.gz`, [ev('b1'), ev('c1')]);
    await mkdir(wh());
    const run = await runCli(['etl', '--bronze', bronze, '--warehouse', wh(), '--json'], { env: { STRATA_PIECE_BYTES: '65536' } });
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as Record<string, unknown>;
  });
  afterAll(() => cleanup());

  it('fails the file whole and counts only the others', () => {
    expect(report).toMatchObject({ files_processed: 2, files_failed: 1, lines: 5, valid: 4, duplicates: 0, rejected: { malformed_json: 1 } });
    expect(report.failed_files).toEqual([expect.objectContaining({ path: `${P}05/b.jsonl.gz`, reason: 'corrupt_file' })]);
  });

  it('writes none of its rows, and a later line with one of its ids is not a duplicate', async () => {
    const silver = await readFolder(`SELECT event_id, source_file, source_line FROM read_parquet('${wh()}/events/**/*.parquet') ORDER BY source_file, source_line`);
    expect(silver.map((r) => [r.event_id, r.source_file, Number(r.source_line)])).toEqual([
      ['a1', `${P}00/a.jsonl.gz`, 1],
      ['a2', `${P}00/a.jsonl.gz`, 3],
      ['b1', `${P}10/c.jsonl.gz`, 1],
      ['c1', `${P}10/c.jsonl.gz`, 2],
    ]);
    const quarantine = await readFolder(`SELECT source_file, source_line, raw_line FROM read_parquet('${wh()}/quarantine/**/*.parquet')`);
    expect(quarantine.map((r) => [r.source_file, Number(r.source_line), r.raw_line])).toEqual([[`${P}00/a.jsonl.gz`, 2, '{bad']]);
  });
});
