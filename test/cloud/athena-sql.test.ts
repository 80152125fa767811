/*
 * The Athena SQL of the business queries, checked three ways without AWS:
 *  1. a tokenizer: balanced parentheses, closed literals, only functions Trino has, only format
 *     specifiers MySQL-style date_format and DuckDB's strftime read alike, the SPEC §6 columns;
 *  2. run on DuckDB (with date_format mapped to strftime) over events whose partition columns
 *     match event_time, compared with a plain reimplementation of SPEC §6, for many ranges;
 *  3. the partition predicates alone, against every hour of a few days: an hour is kept exactly
 *     when it can hold an event of the range.
 *  4. the same rows as the local engine's own queries (src/queries/*.ts) over the same data.
 * DuckDB is a parser of a neighbouring dialect, not Trino's: a Trino parser (e.g. the ANTLR
 * grammar of trinodb/trino) would catch what DuckDB forgives. Only Athena itself is proof.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATHENA_QUERIES, athenaQuerySql, type AthenaQueryName } from '../../src/cloud/athena-queries.js';
import { parseInstant, rangeConditions, type QueryRange } from '../../src/cloud/athena-range.js';
import { Db } from '../../src/db/duckdb.js';
import { businessQuerySql, parseInstant as localParseInstant, parseTimeRange, QUERIES } from '../../src/queries/run-query.js';

type Token = { kind: 'string' | 'ident' | 'quoted' | 'number' | 'op' | 'punct'; text: string };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i) || sql.startsWith('/*', i)) {
      throw new Error(`comment at ${i}: keep generated SQL free of comments`);
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new Error(`unterminated ${c} literal at ${i}`);
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(i + 1, j).replaceAll(c + c, c) });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else {
      const op = ['>=', '<=', '<>', '!=', '::', '||'].find((o) => sql.startsWith(o, i)) ?? c;
      if (!'()=<>,*.'.includes(op[0]!) || op === '::' || op === '||') throw new Error(`unexpected ${JSON.stringify(op)} at ${i}`);
      tokens.push({ kind: op.length === 1 && '(),.'.includes(op) ? 'punct' : 'op', text: op });
      i += op.length;
    }
  }
  return tokens;
}

/** Functions the five queries may call: all exist in Trino (Athena engine v3) with these meanings. */
const TRINO_FUNCTIONS = new Set(['count', 'count_if', 'sum', 'date_format']);
const KEYWORDS = new Set(['select', 'from', 'where', 'and', 'or', 'not', 'in', 'as', 'group', 'by', 'order', 'limit', 'desc', 'asc', 'distinct', 'between', 'is', 'null', 'timestamp']);

function checkTrinoSql(sql: string, expectedColumns: readonly string[]): void {
  const tokens = tokenize(sql);
  let depth = 0;
  for (const [i, t] of tokens.entries()) {
    if (t.text === '(') {
      depth++;
      const prev = tokens[i - 1];
      if (prev?.kind === 'ident' && !KEYWORDS.has(prev.text.toLowerCase())) {
        expect(TRINO_FUNCTIONS, `function ${prev.text}`).toContain(prev.text.toLowerCase());
      }
    }
    if (t.text === ')') depth--;
    expect(depth, 'parentheses').toBeGreaterThanOrEqual(0);
    if (t.kind === 'ident' && tokens[i + 1]?.text !== '(') {
      // Bare words are keywords or the columns of events.
      const columns = ['event_id', 'event_time', 'user_id', 'session_id', 'event_type', 'product_id', 'category', 'revenue', 'year', 'month', 'day', 'hour', 'events', ...expectedColumns];
      expect([...KEYWORDS, ...columns], `word ${t.text}`).toContain(t.text.toLowerCase());
    }
    if (t.kind === 'quoted') expect(['hour', 'day'], 'quoted identifiers').toContain(t.text);
    if (t.kind === 'ident' && t.text.toUpperCase() === 'TIMESTAMP') {
      expect(tokens[i + 1]?.kind).toBe('string');
      expect(tokens[i + 1]?.text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    }
    if (t.text === 'date_format') {
      const format = tokens.slice(i).find((x) => x.kind === 'string')!.text;
      // %Y %m %d %H mean the same in Trino's date_format and DuckDB's strftime; %M or %i would not.
      expect(format.replace(/%[YmdH]/g, '')).not.toContain('%');
    }
  }
  expect(depth, 'parentheses').toBe(0);
  // The SELECT list: top-level items up to FROM, each named by its alias or column.
  const select = tokens.findIndex((t) => t.text.toUpperCase() === 'SELECT');
  const from = tokens.findIndex((t) => t.text.toUpperCase() === 'FROM');
  const names: string[] = [];
  let level = 0;
  let last: Token | undefined;
  for (const t of tokens.slice(select + 1, from + 1)) {
    if (t.text === '(') level++;
    if (t.text === ')') level--;
    if (level === 0 && (t.text === ',' || t === tokens[from])) names.push(last!.text);
    else last = t;
  }
  expect(names).toEqual(expectedColumns);
}

const NAMES = Object.keys(ATHENA_QUERIES) as AthenaQueryName[];
const RANGES: QueryRange[] = [
  {},
  { from: '2024-03-05' },
  { to: '2024-03-06T12:00:00Z' },
  { from: '2024-03-05T07:15:30.123456Z', to: '2024-03-05T09:00:00Z' },
  { from: '2024-03-04 23:59:59.999999', to: '2024-03-07' },
  { from: '2024-03-05T02:30:00+02:00', to: '2024-03-05T20:00:00-05:30' },
  { from: '2024-03-06T13:00:00Z', to: '2024-03-06T13:00:00.000001Z' },
  { from: '2024-03-05T08:00:00+0100', to: '2024-03-05t09:30z' },
  { from: '2023-12-31T23:30', to: '2024-01-01T00:30' },
  { from: '2024-03-05T00:00:00Z', to: '2024-03-05T01:00:00Z', limit: 3 },
];

describe('Athena SQL of the business queries, token by token', () => {
  for (const name of NAMES) {
    it(`${name} is well-formed Trino with the SPEC §6 columns`, () => {
      for (const range of RANGES) checkTrinoSql(athenaQuerySql(name, range), ATHENA_QUERIES[name].columns);
    });
  }

  it('has partition predicates and exact event_time bounds for a range', () => {
    const sql = athenaQuerySql('funnel', { from: '2024-03-05T07:15:00Z', to: '2024-03-05T09:00:00Z' });
    expect(sql).toContain('year = 2024');
    expect(sql).toContain('month = 3');
    expect(sql).toContain('day = 5');
    expect(sql).toContain('hour BETWEEN 7 AND 8');
    expect(sql).toContain("event_time >= TIMESTAMP '2024-03-05 07:15:00.000000'");
    expect(sql).toContain("event_time < TIMESTAMP '2024-03-05 09:00:00.000000'");
    expect(athenaQuerySql('user_activity', {})).not.toMatch(/WHERE/);
  });

  it('refuses a range whose start is after its end', () => {
    expect(() => athenaQuerySql('funnel', { from: '2024-03-06', to: '2024-03-05' })).toThrow(/--from \(2024-03-06\) is after --to/);
    expect(athenaQuerySql('funnel', { from: '2024-03-06', to: '2024-03-06' })).toContain('WHERE');
  });

  it('rejects a bad limit', () => {
    expect(() => athenaQuerySql('top_products', { limit: 0 })).toThrow(/--limit/);
    expect(() => athenaQuerySql('top_products', { limit: 2.5 })).toThrow(/--limit/);
  });
});

describe('parseInstant', () => {
  const iso = (text: string) => {
    const i = parseInstant(text, '--from');
    return `${new Date(i.epochMs).toISOString()}+${i.micros}us`;
  };
  it('reads dates, timestamps, zones and fractions', () => {
    expect(iso('2024-03-05')).toBe('2024-03-05T00:00:00.000Z+0us');
    expect(iso('2024-03-05T07:30')).toBe('2024-03-05T07:30:00.000Z+0us');
    expect(iso('2024-03-05 07:30:01.1234567')).toBe('2024-03-05T07:30:01.123Z+456us');
    expect(iso('2024-03-05T07:30:00+02:00')).toBe('2024-03-05T05:30:00.000Z+0us');
    expect(iso('2024-03-05T23:30:00-01:00')).toBe('2024-03-06T00:30:00.000Z+0us');
    expect(iso('0099-01-01')).toBe('0099-01-01T00:00:00.000Z+0us');
  });
  it('refuses what is not a real date and time', () => {
    for (const bad of ['2024-02-30', '2024-13-01', '2024-03-05T24:00', '2024-03-05T07:60', 'yesterday', '2024-3-5', '2024-03-05T07:00:00+25:00', '']) {
      expect(() => parseInstant(bad, '--to'), bad).toThrow(/--to: expected an ISO date/);
    }
  });
});

// ---- run on DuckDB against a reference ------------------------------------------------------

interface Ev {
  us: number; // event_time, microseconds since the epoch
  type: string;
  product: string | null;
  category: string | null;
  user: string;
  session: string;
  revenue: number | null;
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

const START_US = Date.UTC(2024, 2, 4, 22) * 1000; // 2024-03-04 22:00 UTC
const SPAN_US = 3 * 86_400_000_000; // three days
const TYPES = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'];

function makeEvents(n: number): Ev[] {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const events: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const type = pick(TYPES);
    const product = type === 'search' ? null : `p${Math.floor(rnd() * 15)}`;
    const quantity = 1 + Math.floor(rnd() * 3);
    const cents = 100 + Math.floor(rnd() * 10_000);
    events.push({
      us: START_US + Math.floor(rnd() * SPAN_US),
      type,
      product,
      category: product === null || rnd() < 0.2 ? null : pick(['books', 'garden', 'home & kitchen']),
      user: `u${Math.floor(rnd() * 40)}`,
      session: `s${Math.floor(rnd() * 90)}`,
      revenue: type === 'purchase' ? (cents * quantity) / 100 : null,
    });
  }
  // Edges: exactly on range bounds used above.
  for (const t of ['2024-03-05T09:00:00Z', '2024-03-05T07:15:30.123456Z', '2024-03-06T13:00:00Z', '2024-03-07T00:00:00Z']) {
    const i = parseInstant(t, 't');
    events.push({ us: i.epochMs * 1000 + i.micros, type: 'purchase', product: 'edge', category: 'edge', user: 'ue', session: 'se', revenue: 1.5 });
  }
  return events;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function tsText(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${pad(d.getUTCMilliseconds(), 3)}${pad(us % 1000, 3)}`;
}
const sqlText = (v: string | null) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`);

function inRange(range: QueryRange) {
  const bound = (t: string | undefined) => (t === undefined ? undefined : ((i) => i.epochMs * 1000 + i.micros)(parseInstant(t, 'x')));
  const from = bound(range.from);
  const to = bound(range.to);
  return (e: Ev) => (from === undefined || e.us >= from) && (to === undefined || e.us < to);
}

function countBy<K>(items: readonly Ev[], key: (e: Ev) => K | undefined): Map<string, { key: K; items: Ev[] }> {
  const groups = new Map<string, { key: K; items: Ev[] }>();
  for (const e of items) {
    const k = key(e);
    if (k === undefined) continue;
    const id = JSON.stringify(k);
    if (!groups.has(id)) groups.set(id, { key: k, items: [] });
    groups.get(id)!.items.push(e);
  }
  return groups;
}
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const hourText = (us: number) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 13)}:00:00Z`;
const dayText = (us: number) => new Date(Math.floor(us / 1000)).toISOString().slice(0, 10);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** SPEC §6 written out plainly. */
function reference(name: AthenaQueryName, all: readonly Ev[], range: QueryRange): Record<string, string | number>[] {
  const evs = all.filter(inRange(range));
  switch (name) {
    case 'funnel':
      return [...countBy(evs, (e) => (['page_view', 'add_to_cart', 'purchase'].includes(e.type) ? e.product ?? undefined : undefined)).values()]
        .map(({ key, items }) => ({
          product_id: key,
          page_views: items.filter((e) => e.type === 'page_view').length,
          add_to_carts: items.filter((e) => e.type === 'add_to_cart').length,
          purchases: items.filter((e) => e.type === 'purchase').length,
        }))
        .sort((a, b) => b.page_views - a.page_views || cmp(a.product_id, b.product_id));
    case 'hourly_revenue':
      return [...countBy(evs, (e) => (e.type === 'purchase' ? hourText(e.us) : undefined)).values()]
        .map(({ key, items }) => ({ hour: key, purchases: items.length, revenue: round2(items.reduce((s, e) => s + e.revenue!, 0)) }))
        .sort((a, b) => cmp(a.hour, b.hour));
    case 'top_products':
      return [...countBy(evs, (e) => (e.type === 'page_view' ? e.product ?? undefined : undefined)).values()]
        .map(({ key, items }) => ({ product_id: key, page_views: items.length }))
        .sort((a, b) => b.page_views - a.page_views || cmp(a.product_id, b.product_id))
        .slice(0, range.limit ?? 10);
    case 'category_performance':
      return [...countBy(evs, (e) => (e.category === null ? undefined : [dayText(e.us), e.category, e.type])).values()]
        .map(({ key: [day, category, event_type], items }) => ({ day: day!, category: category!, event_type: event_type!, events: items.length }))
        .sort((a, b) => cmp(a.day, b.day) || cmp(a.category, b.category) || cmp(a.event_type, b.event_type));
    case 'user_activity':
      return [...countBy(evs, (e) => dayText(e.us)).values()]
        .map(({ key, items }) => ({
          day: key,
          unique_users: new Set(items.map((e) => e.user)).size,
          unique_sessions: new Set(items.map((e) => e.session)).size,
          events: items.length,
        }))
        .sort((a, b) => cmp(a.day, b.day));
  }
}

describe('Athena SQL run on DuckDB against SPEC §6', () => {
  let db: Db;
  const events = makeEvents(3000);

  beforeAll(async () => {
    db = await Db.open();
    await db.run(`CREATE TABLE events (
      event_id VARCHAR, event_time TIMESTAMP, user_id VARCHAR, session_id VARCHAR, event_type VARCHAR, product_id VARCHAR,
      category VARCHAR, search_query VARCHAR, price DECIMAL(12,2), quantity INTEGER, revenue DECIMAL(18,2), event_date DATE,
      extras VARCHAR, source_file VARCHAR, source_line BIGINT, run_id VARCHAR, year INTEGER, month INTEGER, day INTEGER, hour INTEGER)`);
    const values = events.map((e, i) => {
      const d = new Date(Math.floor(e.us / 1000));
      return `('e${i}', TIMESTAMP '${tsText(e.us)}', ${sqlText(e.user)}, ${sqlText(e.session)}, ${sqlText(e.type)}, ${sqlText(e.product)}, ${sqlText(e.category)}, NULL, NULL, NULL, ${e.revenue ?? 'NULL'}, NULL, NULL, 'f', ${i}, 'r', ${d.getUTCFullYear()}, ${d.getUTCMonth() + 1}, ${d.getUTCDate()}, ${d.getUTCHours()})`;
    });
    await db.run(`INSERT INTO events VALUES ${values.join(',\n')}`);
    // Trino's date_format with %Y %m %d %H reads like DuckDB's strftime (checked by the tokenizer).
    await db.run('CREATE MACRO date_format(ts, fmt) AS strftime(ts, fmt)');
  });
  afterAll(() => db?.close());

  for (const name of NAMES) {
    it(`${name} matches the reference for every range`, async () => {
      for (const range of RANGES) {
        const table = await db.table(athenaQuerySql(name, range));
        expect(table.names).toEqual(ATHENA_QUERIES[name].columns);
        const rows = table.rows.map((r) => Object.fromEntries(table.names.map((n, i) => [n, typeof r[i] === 'string' && /^(BIGINT|DECIMAL|HUGEINT)$/.test(table.types[i]!) ? Number(r[i]) : r[i]])));
        expect(rows, `${name} ${JSON.stringify(range)}`).toEqual(reference(name, events, range));
      }
    });
  }

  it('gives the rows of the local engine (src/queries) for every query and range', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-athena-parity-'));
    try {
      await db.run(`COPY events TO '${dir}' (FORMAT parquet, PARTITION_BY (year, month, day, hour))`);
      const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));
      expect(files.length).toBeGreaterThan(24);
      for (const name of NAMES) {
        expect(QUERIES[name].columns.map((c) => c.name)).toEqual(ATHENA_QUERIES[name].columns);
        for (const range of [RANGES[0]!, RANGES[3]!, RANGES[5]!, RANGES[6]!, RANGES[9]!]) {
          const local = await db.table(businessQuerySql(name, { whole: [], partial: files }, parseTimeRange(range), range.limit ?? 10));
          const athena = await db.table(athenaQuerySql(name, range));
          const numbers = (t: { rows: unknown[][] }) => t.rows.map((r) => r.map((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v)));
          expect(numbers(athena), `${name} ${JSON.stringify(range)}`).toEqual(numbers(local));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads --from and --to exactly as the local engine does', () => {
    const inputs = [
      '2024-03-05', '2024-03-05T07:30', '2024-03-05t07:30:01z', '2024-03-05 07:30:01.1234567', '2024-03-05T07:30:00+02:00',
      '2024-03-05T07:30:00-0530', '2024-03-05T07:30:00+01', '2024-02-29T23:59:59.999999Z', '0001-01-01',
      '2023-02-29', '2024-03-05T25:00', '2024-03-05T07:30:00+24:00', '2024/03/05', ' 2024-03-05 ', '2024-03-05T07:30:60',
    ];
    for (const text of inputs) {
      const mine = (() => {
        try {
          const i = parseInstant(text, '--from');
          return BigInt(i.epochMs) * 1000n + BigInt(i.micros);
        } catch {
          return 'error';
        }
      })();
      const theirs = (() => {
        try {
          return localParseInstant(text, '--from');
        } catch {
          return 'error';
        }
      })();
      expect(mine, text).toEqual(theirs);
    }
  });

  it('the reference is not trivially empty', () => {
    expect(reference('funnel', events, {}).length).toBeGreaterThan(10);
    expect(reference('hourly_revenue', events, RANGES[3]!).length).toBeGreaterThan(0);
  });

  it('partition predicates keep exactly the hours that can hold rows of the range', async () => {
    await db.run(`CREATE TABLE hours AS SELECT h AS t, year(h) AS year, month(h) AS month, day(h) AS day, hour(h) AS hour
      FROM range(TIMESTAMP '2023-12-30 00:00:00', TIMESTAMP '2024-03-09 00:00:00', INTERVAL 1 HOUR) r(h)`);
    const rnd = prng(7);
    const lo = Date.UTC(2023, 11, 30);
    const randomTime = () => new Date(lo + Math.floor(rnd() * 69 * 86_400_000)).toISOString().replace(/\.(\d{3})Z$/, `.$1${rnd() < 0.5 ? '000' : '250'}Z`);
    const random: QueryRange[] = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? { from: randomTime() } : i % 4 === 1 ? { to: randomTime() } : ((a, b) => (a <= b ? { from: a, to: b } : { from: b, to: a }))(randomTime(), randomTime()),
    );
    for (const range of [...RANGES, ...random]) {
      const partition = rangeConditions(range).filter((c) => !c.includes('event_time'));
      const where = partition.length === 0 ? '' : `WHERE ${partition.join(' AND ')}`;
      const kept = (await db.json(`SELECT strftime(t, '%Y-%m-%dT%H') AS h FROM hours ${where} ORDER BY t`)).map((r) => r.h);
      const us = (t: string | undefined, none: number) => (t === undefined ? none : ((i) => i.epochMs * 1000 + i.micros)(parseInstant(t, 't')));
      const f = us(range.from, -Infinity);
      const t = us(range.to, Infinity);
      const overlap = (await db.json(`SELECT strftime(t, '%Y-%m-%dT%H') AS h FROM hours ORDER BY t`))
        .map((r) => r.h as string)
        .filter((h) => {
          const startUs = Date.parse(`${h}:00:00Z`) * 1000;
          return f < t && startUs < t && startUs + 3_600_000_000 > f;
        });
      expect(kept, JSON.stringify(range)).toEqual(overlap);
    }
  });
});
