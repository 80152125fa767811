import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFolder, writeBronze } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';

/** One hand-written dirty file, one line per case of SPEC §3, with the exact outcome of each. */
const T = '2025-07-01T10:00:00Z';
const base = { timestamp: T, user_id: 'u', session_id: 's', event_type: 'page_view', product_id: 'P1' };
const j = (o: Record<string, unknown>): string => JSON.stringify(o);

const LINES: (string | Buffer)[] = [
  /* 1 */ j({ event_id: ' e1 ', timestamp: '2025-07-01T10:00:00.123456789+02:00', user_id: ' u1 ', session_id: 0, event_type: ' Purchase ', product_id: 'P1', category: '  Home \t  &  Garden ', price: '12.345', quantity: '2.0', device: 'ios' }).replace('"session_id":0', '"session_id":12345678901234567890123'),
  /* 2 */ '',
  /* 3 */ '   \t\f',
  /* 4 */ `${j({ event_id: 'e2', timestamp: '2025-07-01 10:01:00', user_id: 'u2', session_id: 's2', event_type: 'search', search_query: '  Red   SHOES ' })}\r`,
  /* 5 */ '{"event_id":"e3","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1",}',
  /* 6 */ '{"event_id":"e4","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1","price":NaN}',
  /* 7 */ '{"event_id":"e5","event_id":"e5b","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1"}',
  /* 8 */ `\ufeff${j({ ...base, event_id: 'e6' })}`,
  /* 9 */ Buffer.concat([Buffer.from('{"event_id":"e7","x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
  /* 10 */ '[1,2]',
  /* 11 */ j({ ...base }),
  /* 12 */ j({ ...base, event_id: 'e8', timestamp: '2025-02-30T00:00:00Z' }),
  /* 13 */ j({ ...base, event_id: 'e9', timestamp: '2025-07-01T24:00:00Z' }),
  /* 14 */ j({ ...base, event_id: 'e10', event_type: 'click' }),
  /* 15 */ j({ ...base, event_id: 'e11', user_id: 12.5 }),
  /* 16 */ j({ ...base, event_id: 'e12', product_id: '  ' }),
  /* 17 */ j({ ...base, event_id: 'e13', event_type: 'add_to_cart', quantity: 1 }),
  /* 18 */ j({ ...base, event_id: 'e14', price: '-1' }),
  /* 19 */ j({ ...base, event_id: 'e15', price: 'abc' }),
  /* 20 */ j({ ...base, event_id: 'e16', event_type: 'purchase', price: 1, quantity: 2.5 }),
  /* 21 */ j({ ...base, event_id: 'e17', event_type: 'purchase', price: 1 }),
  /* 22 */ j({ ...base, event_id: 'e18', event_type: 'search', product_id: undefined, search_query: ' \t ' }),
  /* 23 */ j({ ...base, event_id: ' e1' }),
  /* 24 */ j({ ...base, event_id: 'e19', price: '7', timestamp: '2025-07-01T10:59:59.9999999' }),
  /* 25 */ `{"event_id":"e20",\r"timestamp":"2025-07-01T11:00:00-01:30","user_id":"u","session_id":"s","event_type":"page_view","product_id":42}`,
  /* 26 */ `{"event_id":"e21","timestamp":"2025-07-01T10:00:00Z","user_id":"u\r","session_id":"s","event_type":"page_view","product_id":"P1"}`,
  /* 27 */ j({ ...base, event_id: 'e22', event_type: 'add_to_cart', price: 9999999999.995, quantity: 1 }),
  /* 28 */ j({ ...base, event_id: 'e23', event_type: 'remove_from_cart', quantity: ' 3 ', price: null }),
  /* 29 */ j({ ...base, event_id: 'e24' }),
  // DuckDB's parser takes NaN and Infinity in any letter case, and a trailing comma before blanks.
  /* 30 */ '{"event_id":"e25","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1","note":nAn}',
  /* 31 */ '{"event_id":"e26","timestamp":"2025-07-01T10:00:00Z","user_id":iNFINITY,"session_id":"s","event_type":"page_view","product_id":"P1"}',
  /* 32 */ '{"event_id":"e27","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1" , \t }',
  // Lines with only known keys skip the lenient scan unless a value could be such a token: each field kind once.
  /* 33 */ '{"event_id":"e28","timestamp":NaN,"user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1"}',
  /* 34 */ '{"event_id":"e29","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"add_to_cart","product_id":"P1","price":1,"quantity":-Infinity}',
  /* 35 */ '{"event_id":"e30","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":NAN,"product_id":"P1"}',
  /* 36 */ '{"event_id":"e31","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1","category":["x",]}',
  /* 37 */ '{"event_id":"e32","timestamp":"2025-07-01T10:00:00Z","user_id":"u","session_id":"s","event_type":"page_view","product_id":"P1","price":inf}',
];
const FILE = 'year=2025/month=07/day=01/hour=10/minute=00/rules.jsonl.gz';

describe('cleaning rules end to end (SPEC §3)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let report: Record<string, unknown>;
  const wh = () => path.join(dir, 'warehouse');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeBronze(path.join(dir, 'bronze'), FILE, LINES, { trailingNewline: false });
    await mkdir(wh());
    const run = await runCli(['etl', '--bronze', path.join(dir, 'bronze'), '--warehouse', wh(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as Record<string, unknown>;
  });
  afterAll(() => cleanup());

  it('counts every non-blank line exactly once', () => {
    expect(report).toMatchObject({
      files_processed: 1,
      files_failed: 0,
      lines: 35,
      valid: 6,
      duplicates: 1,
      partitions_written: 3,
      new_fields: ['device'],
      rejected: {
        malformed_json: 15,
        missing_event_id: 1,
        bad_timestamp: 2,
        unknown_event_type: 1,
        missing_id: 1,
        missing_product: 1,
        bad_price: 4,
        bad_quantity: 2,
        missing_search_query: 1,
      },
    });
  });

  it('writes typed, normalised silver rows in event-time hour partitions', async () => {
    const rows = await readFolder(
      `SELECT event_id, CAST(event_time AS VARCHAR) AS t, user_id, session_id, event_type, product_id, category, search_query,
         CAST(price AS VARCHAR) AS price, quantity, CAST(revenue AS VARCHAR) AS revenue, CAST(event_date AS VARCHAR) AS d, extras,
         source_file, source_line, year, month, day, hour, regexp_extract(filename, 'year=\\d+/month=\\d+/day=\\d+/hour=\\d+') AS folder
       FROM read_parquet('${wh()}/events/**/*.parquet', filename = true, hive_partitioning = false) ORDER BY source_line`,
    );
    const common = { source_file: FILE, year: 2025, month: 7, day: 1 };
    expect(rows).toEqual([
      { ...common, event_id: 'e1', t: '2025-07-01 08:00:00.123456', user_id: 'u1', session_id: '12345678901234567890123', event_type: 'purchase', product_id: 'P1', category: 'home & garden', search_query: null, price: '12.35', quantity: 2, revenue: '24.70', d: '2025-07-01', extras: '{"device":"ios"}', source_line: '1', hour: 8, folder: 'year=2025/month=07/day=01/hour=08' },
      { ...common, event_id: 'e2', t: '2025-07-01 10:01:00', user_id: 'u2', session_id: 's2', event_type: 'search', product_id: null, category: null, search_query: 'red shoes', price: null, quantity: null, revenue: null, d: '2025-07-01', extras: null, source_line: '4', hour: 10, folder: 'year=2025/month=07/day=01/hour=10' },
      { ...common, event_id: 'e19', t: '2025-07-01 10:59:59.999999', user_id: 'u', session_id: 's', event_type: 'page_view', product_id: 'P1', category: null, search_query: null, price: '7.00', quantity: null, revenue: null, d: '2025-07-01', extras: null, source_line: '24', hour: 10, folder: 'year=2025/month=07/day=01/hour=10' },
      { ...common, event_id: 'e20', t: '2025-07-01 12:30:00', user_id: 'u', session_id: 's', event_type: 'page_view', product_id: '42', category: null, search_query: null, price: null, quantity: null, revenue: null, d: '2025-07-01', extras: null, source_line: '25', hour: 12, folder: 'year=2025/month=07/day=01/hour=12' },
      { ...common, event_id: 'e23', t: '2025-07-01 10:00:00', user_id: 'u', session_id: 's', event_type: 'remove_from_cart', product_id: 'P1', category: null, search_query: null, price: null, quantity: 3, revenue: null, d: '2025-07-01', extras: null, source_line: '28', hour: 10, folder: 'year=2025/month=07/day=01/hour=10' },
      { ...common, event_id: 'e24', t: '2025-07-01 10:00:00', user_id: 'u', session_id: 's', event_type: 'page_view', product_id: 'P1', category: null, search_query: null, price: null, quantity: null, revenue: null, d: '2025-07-01', extras: null, source_line: '29', hour: 10, folder: 'year=2025/month=07/day=01/hour=10' },
    ]);
  });

  it('declares the SPEC §4 column types', async () => {
    const cols = await readFolder(`DESCRIBE SELECT * FROM read_parquet('${wh()}/events/**/*.parquet', hive_partitioning = false)`);
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]))).toEqual({
      event_id: 'VARCHAR', event_time: 'TIMESTAMP', user_id: 'VARCHAR', session_id: 'VARCHAR', event_type: 'VARCHAR',
      product_id: 'VARCHAR', category: 'VARCHAR', search_query: 'VARCHAR', price: 'DECIMAL(12,2)', quantity: 'INTEGER',
      revenue: 'DECIMAL(18,2)', event_date: 'DATE', extras: 'VARCHAR', source_file: 'VARCHAR', source_line: 'BIGINT',
      run_id: 'VARCHAR', year: 'INTEGER', month: 'INTEGER', day: 'INTEGER', hour: 'INTEGER',
    });
  });

  it('keeps every rejected line in quarantine with its raw text, file, line and reason', async () => {
    const rows = await readFolder(
      `SELECT source_line, reason, lower(hex(encode(raw_line))) AS raw_hex, source_file FROM read_parquet('${wh()}/quarantine/**/*.parquet') ORDER BY source_line`,
    );
    // Compared as UTF-8 bytes: node-api's string decoding would hide a byte-order mark.
    const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex');
    const raw = (n: number): string => (typeof LINES[n - 1] === 'string' ? (LINES[n - 1] as string) : (LINES[n - 1] as Buffer).toString('utf8'));
    const expected: [number, string][] = [
      [5, 'malformed_json'], [6, 'malformed_json'], [7, 'malformed_json'], [8, 'malformed_json'], [9, 'malformed_json'],
      [10, 'malformed_json'], [11, 'missing_event_id'], [12, 'bad_timestamp'], [13, 'bad_timestamp'], [14, 'unknown_event_type'],
      [15, 'missing_id'], [16, 'missing_product'], [17, 'bad_price'], [18, 'bad_price'], [19, 'bad_price'], [20, 'bad_quantity'],
      [21, 'bad_quantity'], [22, 'missing_search_query'], [26, 'malformed_json'], [27, 'bad_price'],
      [30, 'malformed_json'], [31, 'malformed_json'], [32, 'malformed_json'], [33, 'malformed_json'], [34, 'malformed_json'],
      [35, 'malformed_json'], [36, 'malformed_json'], [37, 'malformed_json'],
    ];
    expect(rows).toEqual(expected.map(([line, reason]) => ({ source_line: String(line), reason, raw_hex: hex(raw(line)), source_file: FILE })));
    expect(rows.find((r) => r.source_line === '8')!.raw_hex).toMatch(/^efbbbf/);
    expect(rows.find((r) => r.source_line === '9')!.raw_hex).toContain(hex('\ufffd'));
    expect(rows.find((r) => r.source_line === '26')!.raw_hex).toContain('0d');
  });
});
