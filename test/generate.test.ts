/** `strata generate`: layout, determinism, realism, options and output, through the real CLI. */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

interface Summary {
  events: number;
  files: { key: string; lines: number; bytes: number; existed: boolean }[];
}

const KEY = /^year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/minute=\d{2}\/events-\d{8}T\d{6}Z-[0-9a-f]{8}\.jsonl\.gz$/;

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

async function generateInto(dir: string, args: string[]): Promise<Summary> {
  const r = await runCli(['generate', '--bronze', dir, '--json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Summary;
}

const events = async (file: string): Promise<Record<string, unknown>[]> =>
  gunzipSync(await readFile(file)).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('generate: layout and output', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  test('one file per batch in its zero-padded minute partition, --json summary matches the files', async () => {
    const bronze = path.join(dir, 'layout');
    const summary = await generateInto(bronze, ['--start', '2025-01-02T03:04:05Z', '--batches', '3', '--interval', '2m', '--events', '1000']);
    const files = await listFiles(bronze);
    expect(files).toEqual(summary.files.map((f) => f.key));
    expect(files).toHaveLength(3);
    for (const key of files) expect(key).toMatch(KEY);
    expect(files[0]).toMatch(/^year=2025\/month=01\/day=02\/hour=03\/minute=04\/events-20250102T030405Z-/);
    expect(files[1]).toMatch(/^year=2025\/month=01\/day=02\/hour=03\/minute=06\/events-20250102T030605Z-/);
    expect(files[2]).toMatch(/^year=2025\/month=01\/day=02\/hour=03\/minute=08\/events-20250102T030805Z-/);
    expect(summary.events).toBe(3000);
    for (const f of summary.files) {
      const bytes = await readFile(path.join(bronze, f.key));
      expect(f.bytes).toBe(bytes.length);
      expect(f.lines).toBe(1000);
      expect(f.existed).toBe(false);
      expect(bytes[0]).toBe(0x1f);
      expect(gunzipSync(bytes).toString('utf8').split('\n').filter((l) => l.trim() !== '')).toHaveLength(1000);
    }
    // Event times lie within each batch's interval and rise through the file.
    const batchStart = Date.UTC(2025, 0, 2, 3, 6, 5);
    const times = (await events(path.join(bronze, files[1]))).map((e) => Date.parse(e.timestamp as string));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(batchStart);
    expect(Math.max(...times)).toBeLessThan(batchStart + 120_000);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test('no temporary files are left next to the data', async () => {
    const all = await readdir(dir, { recursive: true });
    expect(all.filter((name) => name.includes('tmp'))).toEqual([]);
  });

  test('a rerun with the same arguments leaves the existing files untouched', async () => {
    const bronze = path.join(dir, 'rerun');
    const args = ['--start', '2025-03-04T05:00:00Z', '--batches', '2', '--events', '500'];
    const first = await generateInto(bronze, args);
    const before = await Promise.all(first.files.map((f) => stat(path.join(bronze, f.key))));
    const second = await generateInto(bronze, args);
    expect(second.files.map((f) => f.existed)).toEqual([true, true]);
    expect(second.files.map(({ key, lines, bytes }) => ({ key, lines, bytes }))).toEqual(first.files.map(({ key, lines, bytes }) => ({ key, lines, bytes })));
    const after = await Promise.all(first.files.map((f) => stat(path.join(bronze, f.key))));
    expect(after.map((s) => [s.ino, s.mtimeMs])).toEqual(before.map((s) => [s.ino, s.mtimeMs]));
  });

  test('without --json and off a terminal: nothing on stdout, one summary line on stderr, no progress bar', async () => {
    const r = await runCli(['generate', '--bronze', path.join(dir, 'quiet'), '--start', '2025-03-04T05:00:00Z', '--events', '300']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^generated 1 file\(s\), 300 events/);
    expect(r.stderr).not.toMatch(/[\r\u2588\u2591]/);
  });

  test('without --start the batch is the current interval, floored', async () => {
    const before = Date.now();
    const summary = await generateInto(path.join(dir, 'now'), ['--events', '100', '--interval', '1h']);
    const hourStart = Math.floor(before / 3_600_000) * 3_600_000;
    const stamp = new Date(hourStart).toISOString().replace(/[-:]/g, '').slice(0, 15);
    // The hour may tick over between the two clocks; accept the next one too.
    const next = new Date(hourStart + 3_600_000).toISOString().replace(/[-:]/g, '').slice(0, 15);
    expect([`events-${stamp}Z`, `events-${next}Z`]).toContain(path.basename(summary.files[0].key).slice(0, 23));
  });

  test('STRATA_BRONZE sets the root', async () => {
    const bronze = path.join(dir, 'from-env');
    const r = await runCli(['generate', '--start', '2025-03-04T05:00:00Z', '--events', '100'], { env: { STRATA_BRONZE: bronze } });
    expect(r.code).toBe(0);
    expect(await listFiles(bronze)).toHaveLength(1);
  });
});

describe('generate: determinism', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  const args = ['--start', '2025-06-30T23:50:00Z', '--batches', '3', '--events', '2000', '--fault-rate', '0.1'];
  const contents = async (root: string): Promise<Map<string, Buffer>> =>
    new Map(await Promise.all((await listFiles(root)).map(async (k) => [k, await readFile(path.join(root, k))] as const)));

  test('same seed and arguments: same names and bytes; another seed: other names and bytes', async () => {
    await generateInto(path.join(dir, 'a'), [...args, '--seed', 'one']);
    await generateInto(path.join(dir, 'b'), [...args, '--seed', 'one']);
    await generateInto(path.join(dir, 'c'), [...args, '--seed', 'two']);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => contents(path.join(dir, d))));
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [key, bytes] of a) expect(bytes.equals(b.get(key) as Buffer), key).toBe(true);
    const aKeys = [...a.keys()];
    const cKeys = [...c.keys()];
    for (let i = 0; i < 3; i++) {
      expect(path.dirname(cKeys[i])).toBe(path.dirname(aKeys[i]));
      expect(cKeys[i]).not.toBe(aKeys[i]);
      expect((c.get(cKeys[i]) as Buffer).equals(a.get(aKeys[i]) as Buffer)).toBe(false);
    }
  });

  test('two seeds write side by side in the same minute without colliding', async () => {
    await generateInto(path.join(dir, 'a'), [...args, '--seed', 'two']);
    expect(await listFiles(path.join(dir, 'a'))).toHaveLength(6);
  });

  test('a batch has the same bytes generated alone or as part of a sequence', async () => {
    await generateInto(path.join(dir, 'alone'), ['--start', '2025-07-01T00:00:00Z', '--events', '2000', '--fault-rate', '0.1', '--seed', 'one']);
    const [key, bytes] = [...(await contents(path.join(dir, 'alone')))][0];
    const sequence = await contents(path.join(dir, 'b'));
    expect(sequence.get(key)?.equals(bytes)).toBe(true);
  });
});

describe('generate: realistic traffic', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let rows: Record<string, unknown>[];
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const summary = await generateInto(dir, ['--start', '2025-06-30T20:00:00Z', '--events', '20000', '--seed', 'shop']);
    rows = await events(path.join(dir, summary.files[0].key));
  });
  afterAll(() => cleanup());

  const count = (type: string): number => rows.filter((r) => r.event_type === type).length;

  test('clean events carry exactly the fields of their type, in a stable order', () => {
    const shapes = new Map<string, string>();
    for (const r of rows) {
      const shape = Object.keys(r).join(',');
      const known = shapes.get(r.event_type as string);
      if (known) expect(shape).toBe(known);
      shapes.set(r.event_type as string, shape);
    }
    const head = 'event_id,timestamp,user_id,session_id,event_type';
    expect(Object.fromEntries(shapes)).toEqual({
      page_view: `${head},product_id,category,price`,
      search: `${head},search_query`,
      add_to_cart: `${head},product_id,category,price,quantity`,
      remove_from_cart: `${head},product_id,category,price,quantity`,
      purchase: `${head},product_id,category,price,quantity`,
    });
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    for (const r of rows.slice(0, 200)) expect(r.timestamp).toMatch(/^2025-06-30T20:0[0-4]:\d\d\.\d{3}Z$/);
  });

  test('a believable funnel: ~10% of views lead to an add, about a third of adds are bought', () => {
    const [views, searches, adds, removes, purchases] = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'].map(count);
    expect(views / rows.length).toBeGreaterThan(0.55);
    expect(searches / rows.length).toBeGreaterThan(0.08);
    expect(adds / views).toBeGreaterThan(0.07);
    expect(adds / views).toBeLessThan(0.13);
    expect(purchases / adds).toBeGreaterThan(0.22);
    expect(purchases / adds).toBeLessThan(0.45);
    expect(removes).toBeGreaterThan(0);
    expect(removes).toBeLessThan(adds);
  });

  test('products: ids like P00042, a dozen categories, one price each, skewed popularity', () => {
    const products = rows.filter((r) => r.product_id !== undefined);
    const price = new Map<string, unknown>();
    const category = new Map<string, unknown>();
    for (const r of products) {
      expect(r.product_id).toMatch(/^P\d{5}$/);
      expect(Number((r.product_id as string).slice(1))).toBeLessThanOrEqual(2000);
      expect(price.get(r.product_id as string) ?? r.price).toBe(r.price);
      expect(category.get(r.product_id as string) ?? r.category).toBe(r.category);
      price.set(r.product_id as string, r.price);
      category.set(r.product_id as string, r.category);
      expect(r.price).toBeGreaterThan(0);
    }
    expect(new Set(category.values()).size).toBe(12);
    const views = new Map<string, number>();
    for (const r of rows) if (r.event_type === 'page_view') views.set(r.product_id as string, (views.get(r.product_id as string) ?? 0) + 1);
    const sorted = [...views.values()].sort((a, b) => b - a);
    const total = sorted.reduce((s, v) => s + v, 0);
    // Zipf-like: the top 1% of the catalog (20 products) takes a large share of the views.
    expect(sorted.slice(0, 20).reduce((s, v) => s + v, 0) / total).toBeGreaterThan(0.3);
    expect(views.size).toBeGreaterThan(500);
  });

  test('sessions belong to one user and hold several events; searches are real phrases', () => {
    const userOf = new Map<string, unknown>();
    for (const r of rows) {
      expect(r.session_id).toMatch(/^s-[0-9a-f]{16}$/);
      expect(r.user_id).toMatch(/^\d{7}$/);
      expect(userOf.get(r.session_id as string) ?? r.user_id).toBe(r.user_id);
      userOf.set(r.session_id as string, r.user_id);
    }
    expect(rows.length / userOf.size).toBeGreaterThan(2);
    const queries = rows.filter((r) => r.event_type === 'search').map((r) => r.search_query as string);
    expect(new Set(queries).size).toBeGreaterThan(50);
    for (const q of queries) expect(q).toMatch(/^[\p{Ll}\d][\p{Ll}\d ]*[\p{Ll}\d]$/u);
  });

  test('events per batch follow the time of day within [min, max]', async () => {
    const lines = async (start: string): Promise<number> =>
      (await generateInto(path.join(dir, start.replace(/:/g, '')), ['--start', start, '--min-events', '1000', '--max-events', '3000'])).files[0].lines;
    const night = await lines('2025-06-30T04:00:00Z');
    const evening = await lines('2025-06-30T20:30:00Z');
    for (const n of [night, evening]) {
      expect(n).toBeGreaterThanOrEqual(1000);
      expect(n).toBeLessThanOrEqual(3000);
    }
    expect(night).toBeLessThan(1300);
    expect(evening).toBeGreaterThan(2700);
  });
});

describe('generate: bad options', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(path.join(dir, 'a-file'), 'x');
  });
  afterAll(() => cleanup());

  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['--bogus'], /unknown option/],
    ['extra argument', ['extra'], /too many arguments|unexpected/i],
    ['bad --start', ['--start', 'yesterday'], /--start/],
    ['impossible --start', ['--start', '2025-02-30'], /--start/],
    ['zero batches', ['--batches', '0'], /--batches/],
    ['fractional events', ['--events', '2.5'], /--events/],
    ['min above max', ['--min-events', '10', '--max-events', '5'], /--min-events/],
    ['--events with --min-events', ['--events', '10', '--min-events', '5'], /--events/],
    ['fault rate above 1', ['--fault-rate', '1.5'], /--fault-rate/],
    ['fault rate not a number', ['--fault-rate', 'abc'], /--fault-rate/],
    ['bad interval', ['--interval', '5x'], /--interval/],
    ['empty seed', ['--seed', ''], /--seed/],
  ];

  // Each case spawns the CLI; they are independent, so run them side by side.
  test.concurrent.each(cases)('%s: one line on stderr, non-zero exit, nothing written', async (name, args, message) => {
    const bronze = path.join(dir, name.replace(/\W+/g, '-'));
    const defaults = [...(args.includes('--start') ? [] : ['--start', '2025-06-30T00:00:00Z']), ...(args.some((a) => a.endsWith('-events')) ? [] : ['--events', '10'])];
    const r = await runCli(['generate', '--bronze', bronze, ...defaults, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^strata: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(await listFiles(bronze)).toEqual([]);
  });

  test.concurrent('a bronze root whose parent does not exist', async () => {
    const r = await runCli(['generate', '--bronze', path.join(dir, 'missing', 'deeper', 'bronze'), '--events', '10']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^strata: bronze root does not exist/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test.concurrent('a bronze root that is a file', async () => {
    const r = await runCli(['generate', '--bronze', path.join(dir, 'a-file'), '--events', '10']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^strata: .*not a directory/);
  });

  test.concurrent('a missing bronze root whose parent exists is created', async () => {
    const r = await runCli(['generate', '--bronze', path.join(dir, 'fresh'), '--events', '10', '--start', '2025-06-30T00:00:00Z']);
    expect(r.code).toBe(0);
    expect(await listFiles(path.join(dir, 'fresh'))).toHaveLength(1);
  });
});
