import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/server/app.js';
import { listen, type Listening } from '../src/server/listen.js';
import { warehouseQueries } from '../src/server/warehouse-queries.js';
import { addDemoBatches, demoRoots, launchBrowser, type DemoRoots } from './helpers/browser.js';
import { tempDir } from './helpers/cli.js';

type Row = Record<string, string | number | null>;
interface ChartData {
  x: unknown[][];
  y: unknown[][];
  series: { name: string; data: unknown[] }[];
}

/** The data each chart holds, read from echarts itself (getOption), not from the page's cache. */
function chartData(page: Page, name: string): Promise<ChartData> {
  return page.evaluate((n) => {
    const option = (window as any).__strata.charts[n].getOption();
    return {
      x: option.xAxis.map((a: any) => a.data ?? null),
      y: option.yAxis.map((a: any) => a.data ?? null),
      series: option.series.map((s: any) => ({ name: s.name, data: s.data })),
    };
  }, name);
}

const loads = (page: Page) => page.evaluate(() => (window as any).__strata.loads as number);

describe('dashboard in a real browser', () => {
  let cleanup: () => Promise<void>;
  let roots: DemoRoots;
  let server: Listening;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status, path).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    const t = await tempDir('strata-dashboard-');
    cleanup = t.cleanup;
    roots = await demoRoots(t.dir);
    // Two days of traffic, one batch every 8 hours.
    await addDemoBatches(roots, { start: new Date('2026-03-01T00:00:00Z'), batches: 6, events: 800, intervalMs: 8 * 3_600_000 });
    const app = createApp({ ...roots, queries: warehouseQueries(roots), logger: pino({ level: 'silent' }) });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    await page.goto(`${server.url}/?poll=400`);
    await page.waitForFunction(() => (window as any).__strata?.loads >= 1);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await cleanup?.();
  });

  async function expectChartsMatchApi(query: string): Promise<void> {
    const hourly: Row[] = await api(`/api/queries/hourly_revenue${query}`);
    expect(await chartData(page, 'hourly_revenue')).toMatchObject({
      x: [hourly.map((r) => r.hour)],
      series: [
        { name: 'revenue', data: hourly.map((r) => r.revenue) },
        { name: 'purchases', data: hourly.map((r) => r.purchases) },
      ],
    });

    const funnel: Row[] = await api(`/api/queries/funnel${query}`);
    const top = funnel.slice(0, 8);
    expect(await chartData(page, 'funnel')).toMatchObject({
      x: [top.map((r) => r.product_id)],
      series: [
        { name: 'page views', data: top.map((r) => r.page_views) },
        { name: 'add to carts', data: top.map((r) => r.add_to_carts) },
        { name: 'purchases', data: top.map((r) => r.purchases) },
      ],
    });

    const products: Row[] = await api(`/api/queries/top_products${query}${query ? '&' : '?'}limit=10`);
    expect(await chartData(page, 'top_products')).toMatchObject({
      y: [products.map((r) => r.product_id)],
      series: [{ data: products.map((r) => r.page_views) }],
    });

    const categories: Row[] = await api(`/api/queries/category_performance${query}`);
    const cat = await chartData(page, 'category_performance');
    const days = [...new Set(categories.map((r) => r.day))].sort();
    expect(cat.x[0]).toEqual(days);
    expect(cat.series.map((s) => s.name).sort()).toEqual([...new Set(categories.map((r) => r.category))].sort());
    for (const s of cat.series) {
      const expected = days.map((d) => categories.filter((r) => r.day === d && r.category === s.name).reduce((a, r) => a + Number(r.events), 0));
      expect(s.data, s.name).toEqual(expected);
    }

    const users: Row[] = await api(`/api/queries/user_activity${query}`);
    expect(await chartData(page, 'user_activity')).toMatchObject({
      x: [users.map((r) => r.day)],
      series: [
        { name: 'users', data: users.map((r) => r.unique_users) },
        { name: 'sessions', data: users.map((r) => r.unique_sessions) },
        { name: 'events', data: users.map((r) => r.events) },
      ],
    });

    const reasons: { reason: string; rows: number }[] = await api('/api/quarantine/reasons');
    expect(await chartData(page, 'rejects')).toMatchObject({ y: [reasons.map((r) => r.reason)], series: [{ data: reasons.map((r) => r.rows) }] });
  }

  it('loads without console errors and every chart holds the API data', async () => {
    expect(problems).toEqual([]);
    await expectChartsMatchApi('');
    const hourly = await chartData(page, 'hourly_revenue');
    expect(hourly.x[0]!.length).toBeGreaterThan(4);
    const reasons = await chartData(page, 'rejects');
    expect((reasons.series[0]!.data as number[]).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await page.textContent('#kpi-events')).toMatch(/^\d[\d,]*$/);
  });

  it('the time range drives every chart', async () => {
    const before = await loads(page);
    const allHours = (await chartData(page, 'hourly_revenue')).x[0]!;
    await page.fill('#from', '2026-03-01T06:00');
    await page.fill('#to', '2026-03-01T18:00');
    await page.click('#apply');
    await page.waitForFunction((n) => (window as any).__strata.loads > n, before);
    const hours = (await chartData(page, 'hourly_revenue')).x[0] as string[];
    expect(hours.length).toBeGreaterThan(0);
    expect(hours.length).toBeLessThan(allHours.length);
    for (const h of hours) expect(h >= '2026-03-01T06' && h < '2026-03-01T18').toBe(true);
    await expectChartsMatchApi('?from=2026-03-01T06%3A00%3A00Z&to=2026-03-01T18%3A00%3A00Z');

    // A preset measures back from the end of the data, and "All" clears the range again.
    const beforePreset = await loads(page);
    await page.click('[data-preset="24h"]');
    await page.waitForFunction((n) => (window as any).__strata.loads > n, beforePreset);
    const extent: { to: string } = await api('/api/extent');
    expect(await page.inputValue('#from')).toBe(new Date(Date.parse(extent.to) - 24 * 3_600_000).toISOString().slice(0, 16));
    const beforeAll = await loads(page);
    await page.click('[data-preset="all"]');
    await page.waitForFunction((n) => (window as any).__strata.loads > n, beforeAll);
    expect((await chartData(page, 'hourly_revenue')).x[0]).toEqual(allHours);
    expect(problems).toEqual([]);
  });

  it('a new run shows up without reloading the page', async () => {
    const before = await loads(page);
    const report = await addDemoBatches(roots, { start: new Date('2026-03-03T03:00:00Z'), batches: 1, events: 800, seed: 'later' });
    await page.waitForFunction((n) => (window as any).__strata.loads > n, before, { timeout: 15_000 });
    const hours = (await chartData(page, 'hourly_revenue')).x[0] as string[];
    expect(hours.at(-1)! >= '2026-03-03T03:00:00Z').toBe(true);
    expect(await page.locator(`#runs tr[data-run="${report.run_id}"]`).count()).toBe(1);
    await expectChartsMatchApi('');
    expect(problems).toEqual([]);
  });
});
