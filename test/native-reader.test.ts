import { isUtf8 } from 'node:buffer';
import { copyFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/db/duckdb.js';
import { sqlString, sqlStringList } from '../src/db/sql.js';
import { loadNativeRules } from '../src/etl/native-rules.js';
import { pageView, readFolder, writeBronze } from './helpers/bronze.js';
import { etlReport, runCli, tempDir } from './helpers/cli.js';
import { tableDifferences } from './helpers/warehouse-check.js';

/*
 * strata_stage_gz (src/etl/native/strata_rules.c) reads a bronze file in C: it must give every
 * line the number, verdict and raw text that the JavaScript reader (read-bronze.ts,
 * prepare-lines.ts) and the rules give it, and decline every file it cannot vouch for.
 */

const DECODER = new TextDecoder('utf-8', { ignoreBOM: true, fatal: false });
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

let dir: string;
let cleanup: () => Promise<void>;
let db: Db;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  db = await Db.open({ allowUnsignedExtensions: true });
  expect(await loadNativeRules(db)).toEqual({ loaded: true });
});
afterAll(async () => {
  db.close();
  await cleanup();
});

let files = 0;
async function gzFile(bytes: Buffer): Promise<string> {
  const file = path.join(dir, `f${files++}.gz`);
  await writeFile(file, bytes);
  return file;
}

interface Row {
  row_id: number;
  reason: string | null;
  raw_line: string | null;
  cr_line: string | null;
}

/** Texts come back as bytes (hex): turned into JavaScript strings, a leading byte-order mark would be dropped. */
async function stage(file: string, firstRow = 1): Promise<Row[]> {
  const rows = await db.all(`SELECT row_id, reason, hex(raw_line) AS raw_line, hex(cr_line) AS cr_line
    FROM strata_stage_gz(${sqlString(file)}, ${firstRow}) ORDER BY row_id`);
  return rows.map((r) => ({ row_id: Number(r.row_id), reason: r.reason as string | null, raw_line: r.raw_line as string | null, cr_line: r.cr_line as string | null }));
}

const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

/** What prepare-lines.ts does with a line before the rules see it, as stage() shows it. */
function expected(line: Buffer, rowId: number, reason: string | null): Row {
  if (line.length > 0 && (!isUtf8(line) || line.includes(0) || line.subarray(0, 3).equals(BOM))) {
    return { row_id: rowId, reason: 'malformed_json', raw_line: hex(DECODER.decode(line)), cr_line: null };
  }
  const text = line.toString('utf8');
  const hasCr = text.includes('\r');
  return {
    row_id: rowId,
    reason,
    raw_line: reason === null ? null : hex(text.replaceAll('\r', '\t')),
    cr_line: hasCr ? hex(text) : null,
  };
}

const valid = (): string => pageView('2026-11-20T10:00:00Z');

describe('strata_stage_gz, line by line', () => {
  it('numbers every line from first_row, blank ones and a last one without newline included', async () => {
    const lines = [valid(), '', '   ', valid(), '{"not":"valid"', valid()];
    const rows = await stage(await gzFile(gzipSync(lines.join('\n'))), 101);
    expect(rows.map((r) => r.row_id)).toEqual([101, 102, 103, 104, 105, 106]);
    expect(rows.map((r) => r.reason)).toEqual([null, 'careful', 'careful', null, 'careful', null]);
    expect(rows[4]!.raw_line).toBe(hex('{"not":"valid"'));
    const ended = await stage(await gzFile(gzipSync(`${lines.join('\n')}\n`)), 1);
    expect(ended).toHaveLength(6); // a final newline ends the last line; it does not start another
  });

  it('rejects invalid UTF-8, NUL and a leading byte-order mark with the text TextDecoder gives', async () => {
    const lines = [
      Buffer.from([0x7b, 0x80, 0x7d]), // a lone continuation byte
      Buffer.from([0xc0, 0xaf]), // overlong
      Buffer.from([0xed, 0xa0, 0x80, 0x41]), // a surrogate
      Buffer.from([0x61, 0xe2, 0x82]), // cut short at the end of the line
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
      Buffer.from([0xf0, 0x9f, 0x98]), // cut short 4-byte sequence
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('{"a":"\u0000"}'),
      Buffer.concat([BOM, Buffer.from(valid())]),
      Buffer.from(`{"x":"${'\ufeff'}"}`), // a byte-order mark inside a line is only text
      Buffer.from('{"city":"Zürich €𝄞"}'),
    ];
    const rows = await stage(await gzFile(gzipSync(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])))));
    expect(rows).toEqual(lines.map((l, i) => expected(l, i + 1, 'careful')));
    expect(rows.filter((r) => r.reason === 'malformed_json')).toHaveLength(9);
  });

  it('classifies a line with carriage returns with tabs in their place, and keeps the line', async () => {
    const lines = [`${valid()}\r`, `{"a":"b\rc"}`, '\r', `\r${valid()}`];
    const rows = await stage(await gzFile(gzipSync(lines.join('\n'))));
    expect(rows).toEqual([expected(Buffer.from(lines[0]!), 1, null), expected(Buffer.from(lines[1]!), 2, 'careful'), expected(Buffer.from(lines[2]!), 3, 'careful'), expected(Buffer.from(lines[3]!), 4, null)]);
  });

  it('agrees with the JavaScript reader on random lines', async () => {
    const piece = fc.oneof(
      fc.constantFrom('{', '}', '"', ':', ',', ' ', 'a', '\r', '\t', '\u0000', 'é', '€', '𝄞', '\ufeff', valid()),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => String.fromCharCode(...b)),
    );
    const lineBytes = fc.array(fc.oneof(piece.map((p) => Buffer.from(p, 'utf8')), fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b))), { maxLength: 12 });
    const sample = fc.sample(lineBytes, { numRuns: 3000, seed: 42 }).map((parts) => Buffer.concat(parts).filter((b) => b !== 0x0a));
    const rows = await stage(await gzFile(gzipSync(Buffer.concat(sample.flatMap((l) => [Buffer.from(l), Buffer.from('\n')])))));
    expect(rows).toHaveLength(sample.length);
    rows.forEach((row, i) => {
      const line = Buffer.from(sample[i]!);
      expect({ i, ...row }).toEqual({ i, ...expected(line, i + 1, row.reason === null ? null : 'careful') });
    });
    expect(rows.filter((r) => r.reason === 'malformed_json').length).toBeGreaterThan(300);
  });

  it('reads gzip members one after another, lines across the seam', async () => {
    const rows = await stage(await gzFile(Buffer.concat([gzipSync(`${valid()}\n{"half`), gzipSync(`":1}\n${valid()}\n`)])));
    expect(rows.map((r) => [r.row_id, r.reason, r.raw_line])).toEqual([
      [1, null, null],
      [2, 'careful', hex('{"half":1}')],
      [3, null, null],
    ]);
  });

  it('stops its inflating thread when the query stops early', async () => {
    // ~40 MB of text: more blocks than the reader keeps, so its thread is waiting for a free one.
    const many = gzipSync(`${Array.from({ length: 200_000 }, () => valid()).join('\n')}\n`);
    const file = await gzFile(many);
    for (let i = 0; i < 3; i++) {
      const rows = await db.all(`SELECT row_id FROM strata_stage_gz(${sqlString(file)}, 1) LIMIT 3`);
      expect(rows).toHaveLength(3);
    }
    const [all] = await db.all(`SELECT count(*) AS n, count(DISTINCT row_id) AS ids FROM strata_stage_gz(${sqlString(file)}, 1)`);
    expect([Number(all?.n), Number(all?.ids)]).toEqual([200_000, 200_000]);
  });

  it('declines what it cannot vouch for, so that the JavaScript reader decides', async () => {
    const whole = gzipSync(`${valid()}\n`);
    const cases: [string, Buffer][] = [
      ['data after the gzip stream', Buffer.concat([whole, Buffer.from('garbage')])],
      ['truncated gzip stream', whole.subarray(0, whole.length - 10)],
      ['empty file', Buffer.alloc(0)],
      ['incorrect header check', Buffer.from(`${valid()}\n`)],
      ['a line longer than a block', gzipSync(`${'x'.repeat(5 << 20)}\n`)],
    ];
    for (const [why, bytes] of cases) {
      const file = await gzFile(bytes);
      await expect(stage(file), why).rejects.toThrow(/strata_stage_gz: .*f\d+\.gz: /);
    }
  });
});

describe('strata_stage_gz_files, several files in one pass', () => {
  const SPAN = 2 ** 32;
  const rowsOf = async (sql: string) =>
    (await db.all(sql)).map((r) => [Number(r.row_id), r.reason, r.raw_line, r.cr_line, r.event_id]).sort((a, b) => Number(a[0]) - Number(b[0]));

  it('gives each file the rows strata_stage_gz gives it, numbered from its own first row', async () => {
    const a = await gzFile(gzipSync([valid(), '', '{"x":1}', `${valid()}\r`].join('\n')));
    const b = await gzFile(gzipSync([valid(), Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'), valid()].join('\n') + '\n'));
    const one = await rowsOf(`SELECT * FROM strata_stage_gz(${sqlString(a)}, ${SPAN}) UNION ALL SELECT * FROM strata_stage_gz(${sqlString(b)}, ${2 * SPAN})`);
    const both = await rowsOf(`SELECT * FROM strata_stage_gz_files([${sqlString(a)}, ${sqlString(b)}], [${SPAN}, ${2 * SPAN}])`);
    expect(both).toEqual(one);
    expect(both.map((r) => r[0])).toEqual([SPAN, SPAN + 1, SPAN + 2, SPAN + 3, 2 * SPAN, 2 * SPAN + 1, 2 * SPAN + 2]);
  });

  it('sets aside every line but the usual valid one, and tells how far it got', async () => {
    const a = await gzFile(gzipSync([valid(), '', '{"x":1}', `${valid()}\r`].join('\n')));
    const b = await gzFile(gzipSync([valid(), valid()].join('\n')));
    const all = await rowsOf(`SELECT * FROM strata_stage_gz_files([${sqlString(a)}, ${sqlString(b)}], [0, ${SPAN}])`);
    const emitted = await rowsOf(`SELECT * FROM strata_stage_gz_files([${sqlString(a)}, ${sqlString(b)}], [0, ${SPAN}], set_aside := 'test-aside')`);
    expect(emitted.every((r) => r[1] === null)).toBe(true);
    const progress = await db.all(`SELECT p.files::INTEGER AS files, p.lines::INTEGER AS lines FROM (SELECT strata_stage_progress('test-aside') AS p)`);
    expect(progress).toEqual([{ files: 2, lines: 6 }]);
    const aside = await rowsOf(`SELECT *, NULL AS event_id FROM strata_set_aside('test-aside')`);
    expect([...emitted, ...aside].sort((x, y) => Number(x[0]) - Number(y[0])).map((r) => r.slice(0, 4))).toEqual(all.map((r) => r.slice(0, 4)));
    expect(aside.map((r) => [r[0], r[1]])).toEqual([[1, 'careful'], [2, 'careful']]);
    // Taken once: then there is nothing left, and no progress to tell.
    expect(await db.all(`SELECT * FROM strata_set_aside('test-aside')`)).toEqual([]);
    expect((await db.all(`SELECT strata_stage_progress('test-aside') AS p`))[0]!.p).toBeNull();
  });

  it('names the file it declines, and refuses lists of different lengths', async () => {
    const good = await gzFile(gzipSync(`${valid()}\n`));
    const whole = gzipSync(`${valid()}\n${valid()}\n`);
    const truncated = await gzFile(whole.subarray(0, whole.length - 12));
    await expect(db.all(`SELECT count(*) FROM strata_stage_gz_files([${sqlString(good)}, ${sqlString(truncated)}], [0, ${SPAN}], set_aside := 'x')`)).rejects.toThrow(
      `strata_stage_gz: ${truncated}: truncated gzip stream`,
    );
    await db.all(`SELECT count(*) FROM strata_set_aside('x')`);
    await expect(db.all(`SELECT count(*) FROM strata_stage_gz_files([${sqlString(good)}], [0, 1])`)).rejects.toThrow('as many first rows as paths');
    await expect(db.all(`SELECT count(*) FROM strata_stage_gz_files([]::VARCHAR[], []::BIGINT[])`)).rejects.toThrow('no files');
  });
});

describe('the id spool (native/id_spool.h)', () => {
  it('spools the hash of every valid line and returns each hash held more than once, bucket by bucket', async () => {
    // Ids repeat within a file, across files, and three times; 1,000 others are unique.
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const lines = (list: string[]) => list.map((id) => pageView('2026-11-20T10:00:00Z', { event_id: id })).join('\n');
    const a = await gzFile(gzipSync([lines([...ids('u', 600), 'dup-a', 'dup-a', 'dup-ab', 'dup-3']), '', '{"x":1}'].join('\n')));
    const b = await gzFile(gzipSync(lines([...ids('v', 400), 'dup-ab', 'dup-3', '  dup-3 '])));
    const expected = ['dup-3', 'dup-a', 'dup-ab'];
    for (const buckets of [1, 4, 256]) {
      const spool = path.join(dir, `spool-${buckets}`);
      await mkdir(spool, { recursive: true });
      const [valid] = await db.all(`SELECT count(*) AS n FROM strata_stage_gz_files([${sqlString(a)}, ${sqlString(b)}], [0, ${2 ** 32}],
        set_aside := 'spool-test', id_spool := ${sqlString(spool)}, id_buckets := ${buckets})`);
      await db.all(`SELECT count(*) FROM strata_set_aside('spool-test')`);
      expect(Number(valid!.n)).toBe(1007);
      const names = await readdir(spool);
      expect(names).toHaveLength(buckets);
      let spooled = 0;
      for (const name of names) spooled += (await readFile(path.join(spool, name))).length / 8;
      expect(spooled).toBe(1007);
      const repeats = await db.all(`SELECT h FROM strata_spooled_repeats(${sqlString(spool)}, ${buckets}) ORDER BY h`);
      const hashes = await db.all(`SELECT strata_id_hash(id) AS h FROM unnest(${sqlStringList(expected)}) t(id) ORDER BY h`);
      expect(repeats).toEqual(hashes);
    }
  });

  it('hashes an id the same way in SQL, NULL to NULL, and refuses a bucket count that is not a power of two', async () => {
    const [row] = await db.all(`SELECT strata_id_hash('e1') = strata_id_hash('e' || '1') AS same, strata_id_hash('e1') <> strata_id_hash('e2') AS differ,
      strata_id_hash(NULL) IS NULL AS null_null, strata_id_hash('an id longer than twelve bytes') = strata_id_hash('an id longer than twelve ' || 'bytes') AS long_same`);
    expect(row).toEqual({ same: true, differ: true, null_null: true, long_same: true });
    const file = await gzFile(gzipSync(`${valid()}\n`));
    await expect(db.all(`SELECT count(*) FROM strata_stage_gz(${sqlString(file)}, 0, id_spool := ${sqlString(dir)}, id_buckets := 3)`)).rejects.toThrow(
      'strata_stage_gz: id_buckets must be a power of two from 1 to 256',
    );
    await expect(db.all(`SELECT count(*) FROM strata_spooled_repeats(${sqlString(path.join(dir, 'no-such-spool'))}, 2)`)).rejects.toThrow('a bucket file is missing');
  });
});

describe('the check against silver, bucket by bucket (RunStaging.#heldByBuckets)', () => {
  it('finds the same duplicates of committed silver as the one-join check', async () => {
    const base = path.join(dir, 'held');
    const bronze = path.join(base, 'bronze');
    const at = (minute: string, name: string) => `year=2026/month=11/day=20/hour=12/minute=${minute}/${name}.jsonl.gz`;
    const ev = (id: string) => pageView('2026-11-20T12:00:00Z', { event_id: id });
    await writeBronze(bronze, at('00', 'first'), Array.from({ length: 300 }, (_, i) => ev(`old-${i}`)));
    const first = path.join(base, 'first');
    await mkdir(first, { recursive: true });
    expect((await runCli(['etl', '--bronze', bronze, '--warehouse', first, '--json'])).code).toBe(0);
    // A second run: ids silver holds (streamed, and on a line with an unknown field, which the
    // SQL rules judge), an id repeated within the run, and new ones, over two files.
    await writeBronze(bronze, at('05', 'second-a'), [ev('old-1'), ev('new-1'), ev('new-1'), ev('old-2'), ...Array.from({ length: 200 }, (_, i) => ev(`new-a${i}`))]);
    await writeBronze(bronze, at('06', 'second-b'), [pageView('2026-11-20T12:06:00Z', { event_id: 'old-3', coupon: 'x' }), ev('old-2'), ev('new-b'), '{"x":1}']);
    const results: Record<string, unknown>[] = [];
    for (const [name, minRows] of [['one-join', '1000000000'], ['by-buckets', '0']] as const) {
      const warehouse = path.join(base, name);
      await cp(first, warehouse, { recursive: true });
      const report = await etlReport(bronze, warehouse, { STRATA_HELD_BY_BUCKETS_MIN_ROWS: minRows });
      results.push({ ...report, run_id: undefined, duration_ms: undefined });
    }
    expect(results[1]).toEqual(results[0]);
    // old-1, old-2 twice, old-3 are held by silver; the second new-1 repeats the first.
    expect(results[1]).toMatchObject({ files_processed: 2, valid: 202, duplicates: 5 });
    const [diff] = await tableDifferences(path.join(base, 'one-join'), path.join(base, 'by-buckets'));
    expect(diff).toMatchObject({ table: 'events', onlyA: 0, onlyB: 0 });
  });
});

describe('etl with the native reader and with the JavaScript one', () => {
  const reports: Record<string, Record<string, unknown>> = {};
  let base: string;

  beforeAll(async () => {
    base = path.join(dir, 'etl');
    const bronze = path.join(base, 'bronze');
    await mkdir(base);
    const gen = await runCli(['generate', '--bronze', bronze, '--start', '2026-11-20T10:00:00Z', '--batches', '2', '--events', '20000', '--fault-rate', '0.3', '--seed', '7']);
    expect(gen.code, gen.stderr).toBe(0);
    const at = (minute: string, name: string) => `year=2026/month=11/day=20/hour=11/minute=${minute}/${name}.jsonl.gz`;
    const v = () => pageView('2026-11-20T11:00:00Z');
    await writeBronze(bronze, at('00', 'crlf'), [`${v()}\r`, `{"a":"b\rc"}\r`, '\r', `${v()}\r`]);
    await writeBronze(bronze, at('01', 'bytes'), [Buffer.from([0x7b, 0x80, 0x7d]), Buffer.concat([BOM, Buffer.from(v())]), Buffer.from('{"a":"\u0000"}'), Buffer.from(v())], { trailingNewline: false });
    const file = (minute: string, name: string) => path.join(bronze, ...at(minute, name).split('/'));
    const put = async (minute: string, name: string, bytes: Buffer) => {
      await mkdir(path.dirname(file(minute, name)), { recursive: true });
      await writeFile(file(minute, name), bytes);
    };
    await put('02', 'members', Buffer.concat([gzipSync(`${v()}\n{"ha`), gzipSync(`lf":1}\n${v()}\n`)]));
    await put('03', 'garbage', Buffer.concat([gzipSync(`${v()}\n`), Buffer.from('garbage')]));
    const whole = gzipSync(`${v()}\n${v()}\n`);
    await put('04', 'truncated', whole.subarray(0, whole.length - 12));
    await put('05', 'empty', Buffer.alloc(0));
    await put('06', 'plain', Buffer.from(`${v()}\n`));
    await put('07', 'long', gzipSync(`${v()}\n{"event_id":"${'x'.repeat(5 << 20)}"}\n${v()}\n`));
    // A duplicate whose first occurrence was streamed, and whose later one the JavaScript reader
    // reads (a line longer than the native reader's blocks): the streamed one, first by path, wins.
    await writeBronze(bronze, at('08', 'first'), [pageView('2026-11-20T11:08:00Z', { event_id: 'dup-first' })]);
    await put('09', 'later-long', gzipSync(`${pageView('2026-11-20T11:09:00Z', { event_id: 'dup-first', blob: 'x'.repeat(5 << 20) })}\n`));
    for (const reader of ['1', '0']) {
      const warehouse = path.join(base, `warehouse-${reader}`);
      await mkdir(warehouse);
      reports[reader] = await etlReport(bronze, warehouse, { STRATA_NATIVE_READER: reader });
    }
  }, 120_000);

  it('reports the same counts and failures', () => {
    const counts = (r: Record<string, unknown>) => ({ ...r, run_id: undefined, duration_ms: undefined });
    expect(counts(reports['1']!)).toEqual(counts(reports['0']!));
    // Failed whole (corrupt_file): data after the gzip stream, a truncated stream, a file that is not gzip.
    expect(reports['1']).toMatchObject({ files_processed: 9, files_failed: 3 });
    expect(reports['1']!.duplicates).toBeGreaterThanOrEqual(1);
    const rejected = reports['1']!.rejected as Record<string, number>;
    expect(rejected.malformed_json).toBeGreaterThan(3);
  });

  it('writes the same silver and quarantine rows, and the same ledger', async () => {
    for (const diff of await tableDifferences(path.join(base, 'warehouse-1'), path.join(base, 'warehouse-0'))) {
      expect(diff).toMatchObject({ onlyA: 0, onlyB: 0 });
      expect(diff.rows).toBeGreaterThan(1000);
    }
    const status = async (reader: string) => {
      const run = await runCli(['status', '--warehouse', path.join(base, `warehouse-${reader}`), '--bronze', path.join(base, 'bronze'), '--json']);
      const parsed = JSON.parse(run.stdout) as Record<string, unknown>;
      // Not compared: timings, the folder, and silver's bytes (the same rows, stored in another order).
      return { ...parsed, last_run: undefined, runs: undefined, warehouse: undefined, silver: { ...(parsed.silver as object), bytes: undefined } };
    };
    expect(await status('1')).toEqual(await status('0'));
  });
});

/*
 * A run of one file streams its usual valid lines straight into a Parquet file (staging.ts,
 * streamGz), which becomes the hour's silver file as it is when nothing needs rewriting. Each
 * run here takes one new file, so every way of finishing is taken: kept as is, rewritten for a
 * duplicate (in the file, or already in silver), for a second hour, for a valid line the SQL
 * rules judged, a file with no valid line, and a file the native reader declines.
 */
describe('etl of one file per run, valid lines streamed to Parquet, and with the JavaScript reader', () => {
  const reports: Record<string, Record<string, unknown>[]> = { '1': [], '0': [] };
  let base: string;

  beforeAll(async () => {
    base = path.join(dir, 'one-file-runs');
    const source = path.join(base, 'source');
    await mkdir(base);
    const gen = await runCli(['generate', '--bronze', source, '--start', '2026-11-20T09:55:00Z', '--batches', '2', '--events', '5000', '--fault-rate', '0.2', '--seed', '11']);
    expect(gen.code, gen.stderr).toBe(0);
    const at = (minute: string, name: string) => `year=2026/month=11/day=20/hour=12/minute=${minute}/${name}.jsonl.gz`;
    const kept = pageView('2026-11-20T12:00:01Z');
    const files: string[][] = [
      // Clean, one hour: the streamed file is kept.
      [at('00', 'clean'), kept, pageView('2026-11-20T12:00:02Z'), pageView('2026-11-20T12:00:03.5Z')],
      // A duplicate within the file, and one of a line already in silver.
      [at('01', 'dups'), pageView('2026-11-20T12:01:00Z', { event_id: 'd1' }), pageView('2026-11-20T12:01:01Z', { event_id: 'd1' }), kept],
      // Two hours.
      [at('02', 'hours'), pageView('2026-11-20T12:02:00Z'), pageView('2026-11-20T13:00:00Z')],
      // Valid only by the SQL rules (an escape, an upper-case accent), beside a natively valid line.
      [at('03', 'judged'), pageView('2026-11-20T12:03:00Z', { category: 'CAFÉ' }), pageView('2026-11-20T12:03:01Z', { search_query: 'a\tb' }), pageView('2026-11-20T12:03:02Z')],
      // No valid line at all.
      [at('04', 'rejects'), '{"event_id":"x"}', '', 'not json', `${pageView('2026-11-20T12:04:00Z')}\r`.replace('page_view', 'click')],
    ];
    for (const reader of ['1', '0']) {
      const bronze = path.join(base, `bronze-${reader}`);
      const warehouse = path.join(base, `warehouse-${reader}`);
      await mkdir(warehouse, { recursive: true });
      const etl = async () => reports[reader]!.push(await etlReport(bronze, warehouse, { STRATA_NATIVE_READER: reader }));
      for (const name of (await readdir(source, { recursive: true })).map(String).filter((f) => f.endsWith('.gz')).sort()) {
        await mkdir(path.dirname(path.join(bronze, name)), { recursive: true });
        await copyFile(path.join(source, name), path.join(bronze, name));
        await etl();
      }
      for (const [key, ...lines] of files) {
        await writeBronze(bronze, key!, lines);
        await etl();
      }
      const whole = gzipSync(`${pageView('2026-11-20T12:05:00Z')}\n`);
      await mkdir(path.join(bronze, path.dirname(at('05', 'truncated'))), { recursive: true });
      await writeFile(path.join(bronze, at('05', 'truncated')), whole.subarray(0, whole.length - 12));
      await etl();
    }
  }, 120_000);

  it('reports the same counts, run by run', () => {
    const counts = (r: Record<string, unknown>) => ({ ...r, run_id: undefined, duration_ms: undefined });
    expect(reports['1']!.map(counts)).toEqual(reports['0']!.map(counts));
    expect(reports['1']!.map((r) => [r.files_processed, r.files_failed, r.valid, r.duplicates, r.partitions_written])).toEqual([
      [1, 0, expect.any(Number), expect.any(Number), expect.any(Number)],
      [1, 0, expect.any(Number), expect.any(Number), expect.any(Number)],
      [1, 0, 3, 0, 1],
      [1, 0, 1, 2, 1],
      [1, 0, 2, 0, 2],
      [1, 0, 3, 0, 1],
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
    ]);
    expect(reports['1']![0]!.duplicates).toBeGreaterThan(0);
  });

  it('writes the same silver and quarantine rows, and the same ledger', async () => {
    for (const diff of await tableDifferences(path.join(base, 'warehouse-1'), path.join(base, 'warehouse-0'))) {
      expect(diff).toMatchObject({ onlyA: 0, onlyB: 0 });
      expect(diff.rows).toBeGreaterThan(100);
    }
  });
});

describe('etl of several clean files in one pass, over two hours', () => {
  it('keeps the streamed hour files as silver, each under the hour its rows hold', async () => {
    const bronze = path.join(dir, 'several-clean', 'bronze');
    const warehouse = path.join(dir, 'several-clean', 'warehouse');
    await mkdir(warehouse, { recursive: true });
    const at = (hour: string, minute: string) => `year=2026/month=11/day=20/hour=${hour}/minute=${minute}/events.jsonl.gz`;
    await writeBronze(bronze, at('12', '00'), [pageView('2026-11-20T12:00:01Z'), pageView('2026-11-20T12:00:02Z')]);
    await writeBronze(bronze, at('12', '30'), [pageView('2026-11-20T12:30:00Z'), pageView('2026-11-20T13:00:01Z')]);
    await writeBronze(bronze, at('13', '05'), [pageView('2026-11-20T13:05:00Z')]);
    const report = await etlReport(bronze, warehouse, { STRATA_NATIVE_READER: '1' });
    expect(report).toMatchObject({ files_processed: 3, valid: 5, duplicates: 0, partitions_written: 2 });
    const files = await readFolder(`
      SELECT regexp_extract(filename, 'year=\\d+/month=\\d+/day=\\d+/hour=\\d+') AS folder, count(*) AS n,
        min(strftime(event_time, 'year=%Y/month=%m/day=%d/hour=%H')) AS first_hour, max(strftime(event_time, 'year=%Y/month=%m/day=%d/hour=%H')) AS last_hour
      FROM read_parquet(${sqlString(`${warehouse}/events/**/*.parquet`)}, hive_partitioning = false, filename = true)
      GROUP BY ALL ORDER BY folder`);
    expect(files).toEqual([
      { folder: 'year=2026/month=11/day=20/hour=12', n: '3', first_hour: 'year=2026/month=11/day=20/hour=12', last_hour: 'year=2026/month=11/day=20/hour=12' },
      { folder: 'year=2026/month=11/day=20/hour=13', n: '2', first_hour: 'year=2026/month=11/day=20/hour=13', last_hour: 'year=2026/month=11/day=20/hour=13' },
    ]);
  });
});
