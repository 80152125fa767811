import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/db/duckdb.js';
import { sqlString } from '../src/db/sql.js';
import { CLEANING_MACROS, classifySql } from '../src/etl/cleaning-sql.js';
import { loadNativeRules } from '../src/etl/native-rules.js';
import { etlReport, runCli, tempDir } from './helpers/cli.js';
import { tableDifferences } from './helpers/warehouse-check.js';

/*
 * The native rules (src/etl/native/strata_rules.c) may settle a line only as valid, and only with
 * exactly the values the SQL rules give it; everything else they must leave to the SQL rules.
 */

const COLUMNS = ['event_id', 'event_time', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'search_query', 'price', 'quantity', 'revenue'];

let db: Db;

beforeAll(async () => {
  db = await Db.open({ allowUnsignedExtensions: true });
  await db.run(CLEANING_MACROS);
  // npm test builds the extension (a C compiler is part of the setup): not loading it is a failure here.
  expect(await loadNativeRules(db)).toEqual({ loaded: true });
});
afterAll(() => db.close());

interface Verdicts {
  /** The SQL rules' reason (null: valid) and, for a valid line, its values as text. */
  readonly sql: { reason: string | null; values: string | null };
  /** The native values as text, or null when the native rules leave the line to SQL. */
  readonly native: string | null;
}

async function verdicts(lines: readonly string[]): Promise<Verdicts[]> {
  const values = lines.map((line, i) => `(${i}, ${sqlString(line)})`).join(', ');
  const asText = (r: string): string => `concat_ws('|', ${COLUMNS.map((c) => `coalesce(CAST(${r}${c} AS VARCHAR), '∅')`).join(', ')})`;
  const rows = await db.all(`
    WITH input(tag, line) AS (VALUES ${values}),
    judged AS (${classifySql('input')})
    SELECT j.tag, j.reason, CASE WHEN j.reason IS NULL THEN ${asText('j.')} END AS sql_values,
      CASE WHEN n.f IS NOT NULL THEN ${asText('n.f.')} END AS native_values
    FROM judged j JOIN (SELECT tag, strata_valid_event(line) AS f FROM input) n USING (tag) ORDER BY j.tag`);
  return rows.map((r) => ({
    sql: { reason: r.reason as string | null, values: r.sql_values as string | null },
    native: r.native_values as string | null,
  }));
}

function expectAgreement(lines: readonly string[], found: readonly Verdicts[]): void {
  found.forEach((v, i) => {
    if (v.native === null) return;
    expect({ line: lines[i], sql: v.sql }).toEqual({ line: lines[i], sql: { reason: null, values: v.native } });
  });
}

const base = '"event_id":"e1","timestamp":"2026-11-20T10:00:00Z","user_id":"u1","session_id":"s1"';
const withFields = (fields: string): string => `{${base},${fields}}`;

describe('native rules against the SQL rules', () => {
  it('settle plain valid lines natively, with the SQL values', async () => {
    const lines = [
      withFields('"event_type":"page_view","product_id":"P1","category":"  Home   Garden ","price":19.995'),
      withFields('"event_type":"purchase","product_id":"P1","price":0.125,"quantity":3'),
      withFields('"event_type":"purchase","product_id":"P1","price":9999999999.99,"quantity":1000000'),
      withFields('"event_type":"add_to_cart","product_id":" P 2 ","price":0,"quantity":1,"category":null'),
      withFields('"event_type":"remove_from_cart","product_id":"P1","quantity":7'),
      withFields('"event_type":"search","search_query":"Red  Shoes","product_id":""'),
      // Lower-case Latin-1 letters are what lower() leaves as they are: settled natively too.
      withFields('"event_type":"search","search_query":" Crème  Brûlée ","category":"Café ß ÿ à"'),
      '{ "event_id" : " e2 " ,\t"timestamp":"2024-02-29 23:59:59.1234567-05:30", "user_id":"ü/ß", "session_id":"s", "event_type":"search", "search_query":"x" }',
      '{"event_id":"e3","timestamp":"1000-01-01T00:00:00.5+14:00","user_id":"u","session_id":"s","event_type":"page_view","product_id":"p"}',
      '{"event_id":"e4","timestamp":"9998-12-31T23:59:59.999999999-23:59","user_id":"u","session_id":"s","event_type":"page_view","product_id":"p"}',
    ];
    const found = await verdicts(lines);
    expect(found.map((v) => v.native !== null)).toEqual(lines.map(() => true));
    expectAgreement(lines, found);
  });

  it('write every row of every chunk, whatever the rows before held', async () => {
    // A chunk of lines left to SQL (NULL structs), then chunks of valid lines with every field set.
    const full = (i: number) => withFields(`"event_type":"purchase","product_id":"P${i}","category":"c","price":1.5,"quantity":2`);
    const search = (i: number) => withFields(`"event_type":"search","search_query":"q${i}"`);
    const lines = [...Array.from({ length: 2048 }, () => '{}'), ...Array.from({ length: 2048 }, (_, i) => full(i)), ...Array.from({ length: 2048 }, (_, i) => search(i)), ...Array.from({ length: 2048 }, (_, i) => full(i))];
    const found = await verdicts(lines);
    expect(found.filter((v) => v.native !== null)).toHaveLength(3 * 2048);
    expectAgreement(lines, found);
  });

  it('leave every reject, and every line they do not fully understand, to the SQL rules', async () => {
    const lines = [
      '',
      '   ',
      '{}',
      '[1]',
      withFields('"event_type":"page_view","product_id":"P1",'),
      withFields('"event_type":"page_view","product_id":"P1","price":NaN'),
      withFields('"event_type":"page_view","product_id":"P1","event_type":"search"'),
      withFields('"event_type":"page_view","product_id":"P1","device":"ios"'),
      withFields('"event_type":"page_view","product_id":"P\\u00e9"'),
      withFields('"event_type":"Page_View","product_id":"P1"'),
      withFields('"event_type":" page_view","product_id":"P1"'),
      withFields('"event_type":"page_view","product_id":12'),
      withFields('"event_type":"page_view"'),
      withFields('"event_type":"page_view","product_id":"P1","price":-0'),
      withFields('"event_type":"page_view","product_id":"P1","price":-1'),
      withFields('"event_type":"page_view","product_id":"P1","price":"12.5"'),
      withFields('"event_type":"page_view","product_id":"P1","price":1e2'),
      withFields('"event_type":"page_view","product_id":"P1","price":10000000000'),
      withFields('"event_type":"page_view","product_id":"P1","price":9999999999.995'),
      withFields('"event_type":"page_view","product_id":"P1","price":0.00499999999999999999'),
      withFields('"event_type":"purchase","product_id":"P1","price":1,"quantity":2.0'),
      withFields('"event_type":"purchase","product_id":"P1","price":1,"quantity":0'),
      withFields('"event_type":"purchase","product_id":"P1","price":1,"quantity":1000001'),
      withFields('"event_type":"purchase","product_id":"P1","price":1,"quantity":"2"'),
      withFields('"event_type":"purchase","product_id":"P1","quantity":1'),
      withFields('"event_type":"purchase","product_id":"P1","price":1'),
      withFields('"event_type":"search","search_query":"  "'),
      withFields('"event_type":"search","search_query":"CRÈME"'),
      withFields('"event_type":"search","search_query":"crème Ÿ"'),
      withFields('"event_type":"search","category":"a÷b","search_query":"x"'),
      withFields('"event_type":"search","category":7,"search_query":"x"'),
      withFields('"event_type":"search","search_query":true'),
      withFields('"event_type":"search","search_query":{"a":1}'),
      '{"event_id":"e1","timestamp":"2026-02-29T10:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T24:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20t10:00:00z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"0999-11-20T10:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"9999-12-31T23:00:00-05:00","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00.1234567890Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00+0100","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"  ","timestamp":"2026-11-20T10:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00Z","user_id":12345678901234567890,"session_id":"s","event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00Z","user_id":"u","session_id":null,"event_type":"search","search_query":"x"}',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"} x',
      '{"event_id":"e1","timestamp":"2026-11-20T10:00:00Z","user_id":"u","session_id":"s","event_type":"search","search_query":"x"}\u000b',
    ];
    const found = await verdicts(lines);
    expect(found.map((v, i) => (v.native === null ? null : lines[i]))).toEqual(lines.map(() => null));
  });

  it('agree on random lines built from the pieces the rules care about', async () => {
    // Each field mostly gets a good value of its own kind (so that a fair share of lines is valid), else a bad one or anything.
    const pool = (good: string[], bad: string[]) => ({ good: fc.constantFrom(...good), bad: fc.constantFrom(...bad) });
    const text = pool(['"x"', '" Mixed  Case "', '" P1 "', '"E1"', '"ü"', '"/"', '" Crème  ÉTÉ "', '"ß ÿ"'], ['""', '"  "', '"a\\"b"', '"a\\tb"']);
    const price = pool(['0', '1', '19.995', '0.125', '0.005', '3.14159', '9999999999.99'], ['-0', '-1', '2.5e1', '12345678901', '"12.5"']);
    const quantity = pool(['1', '2', '7', '1000000'], ['0', '1000001', '2.0', '2.5', '1e2', '-1', '"2"']);
    const timestamp = pool(
      ['"2026-11-20T10:00:00Z"', '"2026-11-20 10:00:00"', '"2026-11-20T10:00:00.123456789+02:00"', '"2024-02-29T00:00:00-00:30"', '"2026-11-20T10:00:00"', '"1000-01-01T00:00:00+01:00"'],
      ['"2026-02-29T00:00:00Z"', '"2026-11-20T10:00"', '" 2026-11-20T10:00:00Z"'],
    );
    const eventType = pool(['"page_view"', '"search"', '"add_to_cart"', '"remove_from_cart"', '"purchase"'], ['"Purchase"', '" search "', '"click"']);
    const anything = fc.constantFrom('null', 'true', '[1]', '{}', '"12"', '" 3 "', '1', '2.5');
    const field = (name: string, kind: ReturnType<typeof pool>): fc.Arbitrary<string | null> =>
      fc.oneof(
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 30, arbitrary: kind.good.map((v) => `"${name}":${v}`) },
        { weight: 2, arbitrary: fc.oneof(kind.bad, anything).map((v) => `"${name}":${v}`) },
      );
    const extra = fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('"device":"ios"', '"price":1', '"event_type":"search"') });
    const line = fc
      .tuple(
        field('event_id', text), field('timestamp', timestamp), field('user_id', text), field('session_id', text), field('event_type', eventType),
        field('product_id', text), field('category', text), field('price', price), field('quantity', quantity), field('search_query', text),
        extra, fc.constantFrom(',', ', ', ' ,\t'),
      )
      .map(([...parts]) => {
        const separator = parts.pop() as string;
        return `{${parts.filter((p): p is string => p !== null).join(separator)}}`;
      });
    const lines = fc.sample(line, { numRuns: 4000, seed: 20261126 });
    const found = await verdicts(lines);
    expectAgreement(lines, found);
    // Not a vacuous pass: a fair share of the random lines is valid, and the native rules take those.
    const nativeValid = found.filter((v) => v.native !== null).length;
    expect(nativeValid).toBeGreaterThan(500);
  });
});

describe('etl with and without the native rules', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const reports: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const bronze = path.join(dir, 'bronze');
    const gen = await runCli(['generate', '--bronze', bronze, '--start', '2026-11-20T10:00:00Z', '--batches', '2', '--events', '20000', '--fault-rate', '0.3', '--seed', '11']);
    expect(gen.code, gen.stderr).toBe(0);
    for (const native of ['1', '0']) {
      const warehouse = path.join(dir, `warehouse-${native}`);
      await mkdir(warehouse);
      reports[native] = await etlReport(bronze, warehouse, { STRATA_NATIVE_RULES: native });
    }
  });
  afterAll(() => cleanup());

  it('reports the same counts', () => {
    const counts = (r: Record<string, unknown>) => ({ ...r, run_id: undefined, duration_ms: undefined });
    expect(counts(reports['1']!)).toEqual(counts(reports['0']!));
    expect(reports['1']).toMatchObject({ files_processed: 2, lines: 40000 });
    expect((reports['1']!.rejected as Record<string, number>).malformed_json).toBeGreaterThan(0);
  });

  it('writes the same silver and quarantine rows', async () => {
    for (const diff of await tableDifferences(`${dir}/warehouse-1`, `${dir}/warehouse-0`)) {
      expect(diff).toMatchObject({ onlyA: 0, onlyB: 0 });
      expect(diff.rows).toBeGreaterThan(1000);
    }
  });
});
