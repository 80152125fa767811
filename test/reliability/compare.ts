import { readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { readFolder } from '../helpers/bronze.js';
import { canonicalJson, JsonSyntaxError, parseStrictJson } from '../reference/strict-json.js';
import type { ReferenceWarehouse } from '../reference/reference-etl.js';

/**
 * Compares a strata warehouse folder with the reference, line by line: the outcome of every
 * (source_file, source_line), every silver value, every quarantine raw text. Returns readable
 * differences (empty when they agree), so a failing property shows what went wrong and where.
 */

const hex = (col: string): string => `lower(hex(encode(${col}))) AS ${col}`;
const unhex = (h: unknown): string | null => (h === null || h === undefined ? null : Buffer.from(String(h), 'hex').toString('utf8'));

export interface Difference {
  readonly where: string;
  readonly what: string;
  readonly strata: unknown;
  readonly reference: unknown;
}

/**
 * `committedOnly`: read just the files the ledger lists (after a crash the folder may still hold
 * uncommitted files, which the next run deletes); otherwise the whole folder, as an outside engine would.
 */
export async function compareWithReference(
  warehouse: string,
  ref: ReferenceWarehouse,
  lineText: (file: string, line: number) => string,
  { committedOnly = false } = {},
): Promise<Difference[]> {
  const diffs: Difference[] = [];
  const snapshot = await readSnapshot(new LocalStorage(warehouse));
  const has = (table: string): boolean => snapshot.dataFiles.some((f) => f.table === table);
  const source = (table: string): string =>
    committedOnly
      ? `[${snapshot.dataFiles.filter((f) => f.table === table).map((f) => `'${warehouse}/${f.key}'`).join(', ')}]`
      : `'${warehouse}/${table}/**/*.parquet'`;
  const silver = has('events')
    ? await readFolder(`
      SELECT ${['event_id', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'search_query', 'extras', 'source_file'].map(hex).join(', ')},
        CAST(epoch_us(event_time) AS VARCHAR) AS t, CAST(price AS VARCHAR) AS price, quantity, CAST(revenue AS VARCHAR) AS revenue,
        CAST(source_line AS BIGINT) AS source_line,
        event_date = CAST(event_time AS DATE) AND "year" = year(event_time) AND "month" = month(event_time)
          AND "day" = day(event_time) AND "hour" = hour(event_time)
          AND contains(filename, printf('/year=%04d/month=%02d/day=%02d/hour=%02d/', "year", "month", "day", "hour")) AS placed
      FROM read_parquet(${source('events')}, filename = true, hive_partitioning = false)`)
    : [];
  const quarantine = has('quarantine')
    ? await readFolder(`SELECT source_file, CAST(source_line AS BIGINT) AS source_line, reason, ${hex('raw_line')} FROM read_parquet(${source('quarantine')}, hive_partitioning = false)`)
    : [];

  // SPEC §4 types in every file, as engines reading the folder see them (compaction once wrote text partition columns).
  if (has('events')) {
    const types = await readFolder(
      `SELECT DISTINCT name, type FROM parquet_schema(${source('events')}) WHERE name IN ('year', 'month', 'day', 'hour', 'event_time', 'price', 'quantity', 'source_line') ORDER BY name`,
    );
    const want = [['day', 'INT32'], ['event_time', 'INT64'], ['hour', 'INT32'], ['month', 'INT32'], ['price', 'INT64'], ['quantity', 'INT32'], ['source_line', 'INT64'], ['year', 'INT32']];
    const got = types.map((t) => [t.name, t.type]);
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push({ where: 'events/**/*.parquet', what: 'physical column types', strata: got, reference: want });
  }

  const refSilver = new Map([...ref.silver.values()].map((r) => [`${r.source_file}:${r.source_line}`, r]));
  const refQuarantine = new Map(ref.quarantine.map((q) => [`${q.source_file}:${q.source_line}`, q]));
  const seen = new Set<string>();

  for (const row of silver) {
    const file = unhex(row.source_file)!;
    const where = `${file}:${row.source_line}`;
    const add = (what: string, strata: unknown, reference: unknown): void => void diffs.push({ where: `${where} ${lineText(file, Number(row.source_line))}`, what, strata, reference });
    if (seen.has(where)) add('line written twice', 'twice', 'once');
    seen.add(where);
    if (row.placed !== true) add('partition columns or folder disagree with event_time', row.placed, true);
    const r = refSilver.get(where);
    if (!r) {
      add('outcome', 'valid', refQuarantine.get(where)?.reason ?? 'duplicate or blank');
      continue;
    }
    const got: Record<string, unknown> = {
      event_id: unhex(row.event_id),
      event_time_us: String(row.t),
      user_id: unhex(row.user_id),
      session_id: unhex(row.session_id),
      event_type: unhex(row.event_type),
      product_id: unhex(row.product_id),
      category: unhex(row.category),
      search_query: unhex(row.search_query),
      price: row.price ?? null,
      quantity: row.quantity ?? null,
      revenue: row.revenue ?? null,
      extras: canonicalExtras(unhex(row.extras)),
    };
    const want: Record<string, unknown> = { ...r, event_time_us: String(r.event_time_us) };
    for (const key of Object.keys(got)) if (got[key] !== want[key]) add(key, got[key], want[key]);
  }
  for (const [where, r] of refSilver) {
    if (!seen.has(where)) diffs.push({ where: `${where} ${lineText(r.source_file, r.source_line)}`, what: 'outcome', strata: 'not in silver', reference: 'valid' });
  }

  const seenQ = new Set<string>();
  for (const row of quarantine) {
    const file = String(row.source_file);
    const where = `${file}:${row.source_line}`;
    if (seenQ.has(where)) diffs.push({ where, what: 'quarantined twice', strata: 2, reference: 1 });
    seenQ.add(where);
    const q = refQuarantine.get(where);
    const text = lineText(file, Number(row.source_line));
    if (!q) {
      diffs.push({ where: `${where} ${text}`, what: 'outcome', strata: row.reason, reference: refSilver.has(where) ? 'valid' : 'duplicate or blank' });
      continue;
    }
    if (row.reason !== q.reason) diffs.push({ where: `${where} ${text}`, what: 'reason', strata: row.reason, reference: q.reason });
    const raw = unhex(row.raw_line);
    if (raw !== q.raw) diffs.push({ where: `${where} ${text}`, what: 'raw_line', strata: JSON.stringify(raw), reference: JSON.stringify(q.raw) });
  }
  for (const [where, q] of refQuarantine) {
    if (!seenQ.has(where)) {
      diffs.push({ where: `${where} ${lineText(q.source_file, q.source_line)}`, what: 'outcome', strata: seen.has(where) ? 'valid' : 'not in quarantine', reference: q.reason });
    }
  }
  return diffs;
}

/** strata's extras text read by meaning: members sorted by key, numbers by exact value. */
function canonicalExtras(text: string | null): string | null {
  if (text === null) return null;
  try {
    const v = parseStrictJson(text);
    if (v.t !== 'obj') return `not an object: ${text}`;
    return canonicalJson({ t: 'obj', entries: [...v.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) });
  } catch (err) {
    if (err instanceof JsonSyntaxError) return `not JSON: ${text}`;
    throw err;
  }
}

/** One line of a draft, shown in a difference: JSON-quoted, cut to a readable length. */
export function showLine(bytes: Buffer | undefined): string {
  if (!bytes) return '(no such line)';
  const text = JSON.stringify(bytes.toString('utf8'));
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}
