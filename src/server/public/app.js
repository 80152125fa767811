// @ts-check
import { categoryOption, fmt, funnelOption, hourlyRevenueOption, rejectsOption, topProductsOption, userActivityOption } from './charts.js';

/** @type {any} */
const echarts = /** @type {any} */ (window).echarts;
const params = new URLSearchParams(location.search);
const POLL_MS = Number(params.get('poll')) || 3000;
const QUERIES = ['hourly_revenue', 'funnel', 'top_products', 'category_performance', 'user_activity'];

/** What tests (and the curious) can inspect: chart instances, the data behind them, the range. */
const state = {
  /** @type {Record<string, any>} */ charts: {},
  /** @type {Record<string, any>} */ data: {},
  range: { from: '', to: '' },
  /** Completed data loads; each run that lands causes one more. */
  loads: 0,
  /** `${ledger version}|${last run seq}` of the last load. */
  seen: '',
  /** @type {{from: string|null, to: string|null}} */ extent: { from: null, to: null },
};
/** @type {any} */ (window).__strata = state;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

for (const name of [...QUERIES, 'rejects']) {
  state.charts[name] = echarts.init($(`chart-${name}`), null, { renderer: 'canvas' });
}
window.addEventListener('resize', () => Object.values(state.charts).forEach((c) => c.resize()));

async function getJson(/** @type {string} */ url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** datetime-local value (read as UTC) -> the API's ISO timestamp. */
const toApi = (/** @type {string} */ local) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : '');
/** ISO timestamp -> datetime-local value. */
const toLocalInput = (/** @type {string} */ iso) => iso.slice(0, 16);

function rangeQuery(/** @type {Record<string, string|number>} */ extra = {}) {
  const q = new URLSearchParams();
  if (state.range.from) q.set('from', toApi(state.range.from));
  if (state.range.to) q.set('to', toApi(state.range.to));
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

async function loadAll() {
  const [version, extent, status, backlog, runs, reasons, sample, ...rows] = await Promise.all([
    getJson('/api/version'),
    getJson('/api/extent'),
    getJson('/api/status'),
    getJson('/api/backlog'),
    getJson('/api/runs'),
    getJson('/api/quarantine/reasons'),
    getJson('/api/quarantine/sample?limit=6'),
    ...QUERIES.map((name) => getJson(`/api/queries/${name}${rangeQuery(name === 'top_products' ? { limit: 10 } : {})}`)),
  ]);
  state.extent = extent;
  state.data = { status, backlog, runs, reasons, sample };
  QUERIES.forEach((name, i) => (state.data[name] = rows[i]));
  render();
  state.seen = `${version.version}|${version.last_run_seq}`;
  state.loads++;
  $('updated').textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC · ledger version ${version.version}`;
}

function render() {
  const d = state.data;
  state.charts.hourly_revenue.setOption(hourlyRevenueOption(d.hourly_revenue), true);
  state.charts.funnel.setOption(funnelOption(d.funnel), true);
  state.charts.top_products.setOption(topProductsOption(d.top_products), true);
  state.charts.category_performance.setOption(categoryOption(d.category_performance, categoryType()), true);
  state.charts.user_activity.setOption(userActivityOption(d.user_activity), true);
  state.charts.rejects.setOption(rejectsOption(d.reasons), true);
  for (const name of QUERIES) toggleEmpty(name, d[name].length === 0);
  renderKpis();
  renderRuns();
  renderQuarantine();
}

const categoryType = () => /** @type {HTMLSelectElement} */ ($('category-type')).value;

function toggleEmpty(/** @type {string} */ name, /** @type {boolean} */ empty) {
  $(`chart-${name}`).closest('.card')?.classList.toggle('empty', empty);
}


const duration = (/** @type {number} */ s) =>
  s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`;

function renderKpis() {
  const d = state.data;
  const sum = (/** @type {any[]} */ rows, /** @type {string} */ key) => rows.reduce((a, r) => a + Number(r[key] ?? 0), 0);
  $('kpi-revenue').textContent = fmt.money(sum(d.hourly_revenue, 'revenue'));
  $('kpi-purchases').textContent = fmt.number(sum(d.hourly_revenue, 'purchases'));
  $('kpi-events').textContent = fmt.number(sum(d.user_activity, 'events'));
  const views = sum(d.funnel, 'page_views');
  $('kpi-conversion').textContent = views > 0 ? `${((100 * sum(d.funnel, 'purchases')) / views).toFixed(2)}%` : '–';
  const b = d.backlog;
  $('kpi-waiting').textContent = b ? fmt.number(b.files) : '–';
  $('kpi-lag').textContent = !b ? '–' : b.files === 0 ? 'none' : duration(b.oldest_lag_seconds);
  $('kpi-lag').title = b?.oldest_file ?? '';
  $('kpi-lag').closest('.kpi')?.classList.toggle('warn', (b?.oldest_lag_seconds ?? 0) > 900 && (b?.files ?? 0) > 0);
}

const escapeHtml = (/** @type {unknown} */ s) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const time = (/** @type {string} */ iso) => (iso ? `${iso.slice(5, 10)} ${iso.slice(11, 19)}` : '');

function renderRuns() {
  const { scheduler, ledger } = state.data.runs;
  /** @type {{finished: string, id: string, ok: boolean, label: string, files: number|null, valid: number|null, rejected: number|null, dupes: number|null, ms: number, error?: string}[]} */
  const rows = [];
  const seen = new Set();
  for (const r of scheduler?.runs ?? []) {
    const etl = r.result?.etl;
    if (etl) seen.add(etl.run_id);
    const rejected = etl ? Object.values(etl.rejected ?? {}).reduce((a, b) => a + Number(b), 0) : null;
    const generated = r.result?.generated ? ` · +${fmt.compact(r.result.generated.events)} generated` : '';
    rows.push({
      finished: r.finishedAt,
      id: etl?.run_id ?? `#${r.seq}`,
      ok: r.ok,
      label: r.ok ? `ok${generated}` : `failed: ${r.error}`,
      files: etl?.files_processed ?? null,
      valid: etl?.valid ?? null,
      rejected,
      dupes: etl?.duplicates ?? null,
      ms: r.durationMs,
    });
  }
  for (const r of ledger?.runs ?? []) {
    if (seen.has(r.run_id)) continue;
    rows.push({ finished: r.finished_at, id: r.run_id, ok: true, label: r.kind === 'etl' ? 'committed' : r.kind, files: r.files_processed, valid: r.valid, rejected: r.rejected, dupes: r.duplicates, ms: r.duration_ms });
  }
  rows.sort((a, b) => (a.finished < b.finished ? 1 : a.finished > b.finished ? -1 : 0));
  const n = (/** @type {number|null} */ v) => (v === null ? '' : fmt.number(v));
  $('runs').querySelector('tbody').innerHTML =
    rows
      .slice(0, 8)
      .map(
        (r) => `<tr class="${r.ok ? '' : 'failed'}" data-run="${escapeHtml(r.id)}" title="run ${escapeHtml(r.id)}"><td>${time(r.finished)}</td>
        <td class="result"><span class="dot ${r.ok ? 'ok' : 'bad'}"></span>${escapeHtml(r.label)}</td><td class="num">${n(r.files)}</td><td class="num">${n(r.valid)}</td>
        <td class="num">${n(r.rejected)}</td><td class="num">${n(r.dupes)}</td><td class="num">${(r.ms / 1000).toFixed(1)} s</td></tr>`,
      )
      .join('') || '<tr><td colspan="7" class="muted">no runs yet</td></tr>';

  const pill = $('pipeline-pill');
  const last = scheduler?.runs?.[0];
  if (!scheduler) {
    pill.className = 'pill pill-idle';
    pill.textContent = 'read-only: no scheduler';
  } else if (scheduler.running) {
    pill.className = 'pill pill-busy';
    pill.textContent = 'run in progress';
  } else if (last) {
    pill.className = `pill ${last.ok ? 'pill-ok' : 'pill-bad'}`;
    pill.textContent = `last run ${last.ok ? 'ok' : 'failed'} · ${time(last.finishedAt).slice(6)}`;
  }
  $('next-run').textContent = scheduler?.next_run ? `next run ${time(scheduler.next_run).slice(6)} UTC` : '';
}

function renderQuarantine() {
  const { sample, status } = state.data;
  $('quarantine').querySelector('tbody').innerHTML =
    sample
      .map(
        (/** @type {any} */ q) => `<tr><td><span class="tag">${escapeHtml(q.reason)}</span></td><td class="mono">${escapeHtml(q.source_file)}:${q.source_line}</td>
        <td class="mono raw" title="${escapeHtml(q.raw_line)}">${escapeHtml(String(q.raw_line).slice(0, 160))}</td></tr>`,
      )
      .join('') || '<tr><td colspan="3" class="muted">nothing quarantined</td></tr>';
  const silver = status?.rows?.silver;
  const quarantine = status?.rows?.quarantine;
  $('table-counts').textContent =
    typeof silver === 'number' && typeof quarantine === 'number' ? `${fmt.number(silver)} rows in silver · ${fmt.number(quarantine)} in quarantine` : '';
}

// ---- time range -------------------------------------------------------------------------------

const fromInput = /** @type {HTMLInputElement} */ ($('from'));
const toInput = /** @type {HTMLInputElement} */ ($('to'));

function setPreset(/** @type {string} */ preset) {
  document.querySelectorAll('[data-preset]').forEach((b) => b.classList.toggle('active', /** @type {HTMLElement} */ (b).dataset.preset === preset));
  if (preset === 'all' || !state.extent.to) {
    fromInput.value = '';
    toInput.value = '';
  } else {
    const hours = { '7d': 168, '24h': 24, '6h': 6, '1h': 1 }[preset] ?? 24;
    const end = Date.parse(state.extent.to);
    fromInput.value = toLocalInput(new Date(end - hours * 3_600_000).toISOString());
    toInput.value = '';
  }
}

async function applyRange() {
  state.range = { from: fromInput.value, to: toInput.value };
  await reload();
}

document.querySelectorAll('[data-preset]').forEach((b) =>
  b.addEventListener('click', () => {
    setPreset(/** @type {HTMLElement} */ (b).dataset.preset ?? 'all');
    void applyRange();
  }),
);
$('range').addEventListener('submit', (e) => {
  e.preventDefault();
  document.querySelectorAll('[data-preset]').forEach((b) => b.classList.remove('active'));
  void applyRange();
});
$('category-type').addEventListener('change', () => {
  state.charts.category_performance.setOption(categoryOption(state.data.category_performance, categoryType()), true);
});

// ---- loading and refresh ---------------------------------------------------------------------

let loading = Promise.resolve();
function reload() {
  loading = loading.then(loadAll).catch((err) => {
    $('updated').textContent = `could not load: ${err.message}`;
    console.warn('strata dashboard:', err.message);
  });
  return loading;
}

/** Reloads everything when a run has landed: a new ledger version or a new scheduled run. */
async function poll() {
  try {
    const v = await getJson('/api/version');
    if (`${v.version}|${v.last_run_seq}` !== state.seen) await reload();
  } catch (err) {
    $('updated').textContent = `server unreachable: ${/** @type {Error} */ (err).message}`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

void reload().then(() => setTimeout(poll, POLL_MS));
