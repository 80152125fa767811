// @ts-check
/**
 * Pure functions: API rows in, echarts options out. Every series holds the API's numbers as they
 * came (tests compare them with the JSON), formatting happens only in labels and tooltips.
 */

export const COLORS = {
  blue: '#2563eb',
  teal: '#0d9488',
  amber: '#d97706',
  rose: '#e11d48',
  violet: '#7c3aed',
  sky: '#0284c7',
  slate: '#64748b',
};
const PALETTE = ['#2563eb', '#0d9488', '#d97706', '#7c3aed', '#e11d48', '#0284c7', '#65a30d', '#c026d3', '#ea580c', '#475569'];

const number = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const fmt = {
  number: (/** @type {number} */ n) => number.format(n),
  compact: (/** @type {number} */ n) => compact.format(n),
  money: (/** @type {number} */ n) => money.format(n),
  /** '2026-03-01T09:00:00Z' -> '03-01 09:00' */
  hour: (/** @type {string} */ h) => `${h.slice(5, 10)} ${h.slice(11, 16)}`,
};

const base = () => ({
  color: PALETTE,
  animationDuration: 300,
  textStyle: { fontFamily: 'inherit' },
  grid: { left: 12, right: 16, top: 36, bottom: 8, containLabel: true },
  tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
  legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 8, textStyle: { color: '#475569' } },
});

const valueAxis = (/** @type {Record<string, unknown>} */ extra = {}) => ({
  type: 'value',
  axisLabel: { color: '#64748b', formatter: (/** @type {number} */ v) => fmt.compact(v) },
  splitLine: { lineStyle: { color: '#e2e8f0' } },
  ...extra,
});

const categoryAxis = (/** @type {string[]} */ data, /** @type {Record<string, unknown>} */ extra = {}) => ({
  type: 'category',
  data,
  axisLabel: { color: '#64748b' },
  axisLine: { lineStyle: { color: '#cbd5e1' } },
  axisTick: { show: false },
  ...extra,
});

/** @param {{hour: string, purchases: number, revenue: number}[]} rows */
export function hourlyRevenueOption(rows) {
  return {
    ...base(),
    grid: { left: 12, right: 16, top: 30, bottom: 36, containLabel: true },
    legend: { top: 0, left: 0, itemWidth: 12, itemHeight: 8, textStyle: { color: '#475569' } },
    xAxis: categoryAxis(rows.map((r) => r.hour), { axisLabel: { color: '#64748b', formatter: fmt.hour } }),
    yAxis: [valueAxis(), valueAxis({ splitLine: { show: false } })],
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 16, bottom: 4, showDetail: false }],
    series: [
      {
        name: 'revenue',
        type: 'line',
        smooth: 0.25,
        showSymbol: rows.length < 60,
        color: COLORS.blue,
        areaStyle: { opacity: 0.12 },
        data: rows.map((r) => r.revenue),
      },
      { name: 'purchases', type: 'bar', yAxisIndex: 1, color: COLORS.amber, barMaxWidth: 14, itemStyle: { opacity: 0.55 }, data: rows.map((r) => r.purchases) },
    ],
  };
}

export const FUNNEL_PRODUCTS = 8;

/** @param {{product_id: string, page_views: number, add_to_carts: number, purchases: number}[]} rows */
export function funnelOption(rows) {
  const top = rows.slice(0, FUNNEL_PRODUCTS);
  const pct = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–');
  return {
    ...base(),
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (/** @type {{dataIndex: number}[]} */ params) => {
        const r = top[params[0]?.dataIndex ?? 0];
        if (!r) return '';
        return [
          `<b>${r.product_id}</b>`,
          `page views: ${fmt.number(r.page_views)}`,
          `add to carts: ${fmt.number(r.add_to_carts)} (${pct(r.add_to_carts, r.page_views)})`,
          `purchases: ${fmt.number(r.purchases)} (${pct(r.purchases, r.add_to_carts)} of carts)`,
        ].join('<br>');
      },
    },
    xAxis: categoryAxis(top.map((r) => r.product_id), { axisLabel: { color: '#64748b', interval: 0, fontSize: 11 } }),
    yAxis: valueAxis(),
    series: [
      { name: 'page views', type: 'bar', color: COLORS.sky, data: top.map((r) => r.page_views) },
      { name: 'add to carts', type: 'bar', color: COLORS.teal, data: top.map((r) => r.add_to_carts) },
      { name: 'purchases', type: 'bar', color: COLORS.amber, data: top.map((r) => r.purchases) },
    ],
  };
}

/** @param {{product_id: string, page_views: number}[]} rows */
export function topProductsOption(rows) {
  return {
    ...base(),
    legend: { show: false },
    xAxis: valueAxis(),
    yAxis: categoryAxis(rows.map((r) => r.product_id), { inverse: true }),
    series: [
      {
        name: 'page views',
        type: 'bar',
        color: COLORS.violet,
        barMaxWidth: 18,
        itemStyle: { borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: 'right', color: '#475569', fontSize: 11, formatter: (/** @type {{value: number}} */ p) => fmt.number(p.value) },
        data: rows.map((r) => r.page_views),
      },
    ],
  };
}

/**
 * Days on x, one stacked series per category; the value is the sum of `events` over the chosen
 * event type (or all types).
 * @param {{day: string, category: string, event_type: string, events: number}[]} rows
 * @param {string} eventType '' for all
 */
export function categoryPivot(rows, eventType) {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const totals = new Map();
  for (const r of rows) totals.set(r.category, (totals.get(r.category) ?? 0) + r.events);
  const categories = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || (a < b ? -1 : 1));
  const cell = new Map();
  for (const r of rows) {
    if (eventType && r.event_type !== eventType) continue;
    const key = `${r.day}|${r.category}`;
    cell.set(key, (cell.get(key) ?? 0) + r.events);
  }
  return { days, series: categories.map((c) => ({ name: c, data: days.map((d) => cell.get(`${d}|${c}`) ?? 0) })) };
}

/** @param {{day: string, category: string, event_type: string, events: number}[]} rows @param {string} eventType */
export function categoryOption(rows, eventType) {
  const { days, series } = categoryPivot(rows, eventType);
  return {
    ...base(),
    grid: { left: 12, right: 150, top: 16, bottom: 8, containLabel: true },
    legend: { type: 'scroll', orient: 'vertical', right: 0, top: 8, bottom: 8, itemWidth: 12, itemHeight: 8, textStyle: { color: '#475569', width: 120, overflow: 'truncate' } },
    xAxis: categoryAxis(days),
    yAxis: valueAxis(),
    series: series.map((s) => ({ ...s, type: 'bar', stack: 'events', barMaxWidth: 48, emphasis: { focus: 'series' } })),
  };
}

/** @param {{day: string, unique_users: number, unique_sessions: number, events: number}[]} rows */
export function userActivityOption(rows) {
  return {
    ...base(),
    xAxis: categoryAxis(rows.map((r) => r.day)),
    yAxis: [valueAxis(), valueAxis({ splitLine: { show: false } })],
    series: [
      { name: 'users', type: 'bar', color: COLORS.blue, barMaxWidth: 36, data: rows.map((r) => r.unique_users) },
      { name: 'sessions', type: 'bar', color: COLORS.teal, barMaxWidth: 36, data: rows.map((r) => r.unique_sessions) },
      { name: 'events', type: 'line', yAxisIndex: 1, color: COLORS.amber, data: rows.map((r) => r.events) },
    ],
  };
}

/** @param {{reason: string, rows: number}[]} reasons */
export function rejectsOption(reasons) {
  return {
    ...base(),
    legend: { show: false },
    grid: { left: 12, right: 40, top: 8, bottom: 8, containLabel: true },
    xAxis: valueAxis(),
    yAxis: categoryAxis(reasons.map((r) => r.reason), { inverse: true }),
    series: [
      {
        name: 'rejected lines',
        type: 'bar',
        color: COLORS.rose,
        barMaxWidth: 14,
        itemStyle: { borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: 'right', color: '#475569', fontSize: 11, formatter: (/** @type {{value: number}} */ p) => fmt.number(p.value) },
        data: reasons.map((r) => r.rows),
      },
    ],
  };
}
