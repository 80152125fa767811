import { REJECT_REASONS, type Snapshot } from '../ledger/types.js';

/** What `/metrics` reports, as plain numbers; null where nothing is known yet. */
export interface MetricsInput {
  readonly runsTotal: number;
  readonly valid: number;
  readonly duplicates: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly lastRunDurationSeconds: number | null;
  readonly bronzeFilesWaiting: number | null;
  readonly bronzeOldestWaitingLagSeconds: number | null;
  readonly silverRows: number;
  readonly quarantineRows: number;
  readonly ledgerVersion: number;
  /** Runs this server's scheduler started, by outcome. */
  readonly scheduledRuns?: { readonly ok: number; readonly failed: number };
}

/** The ledger's part of the metrics: totals over every committed etl run and the current tables. */
export function ledgerMetrics(snapshot: Snapshot): Omit<MetricsInput, 'bronzeFilesWaiting' | 'bronzeOldestWaitingLagSeconds' | 'scheduledRuns'> {
  const rejected: Record<string, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0]));
  let runsTotal = 0;
  let valid = 0;
  let duplicates = 0;
  let last: number | null = null;
  for (const run of snapshot.runs) {
    if (run.kind !== 'etl') continue;
    runsTotal++;
    valid += run.valid;
    duplicates += run.duplicates;
    for (const reason of REJECT_REASONS) rejected[reason]! += run.rejected[reason] ?? 0;
    last = run.durationMs / 1000;
  }
  const rows = (table: string) => snapshot.dataFiles.filter((f) => f.table === table).reduce((sum, f) => sum + f.rows, 0);
  return {
    runsTotal,
    valid,
    duplicates,
    rejected,
    lastRunDurationSeconds: last,
    silverRows: rows('events'),
    quarantineRows: rows('quarantine'),
    ledgerVersion: snapshot.version,
  };
}

type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

function family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const entries = Object.entries(labels);
    const labelText = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
    lines.push(`${name}${labelText} ${formatValue(value)}`);
  }
  return lines.join('\n');
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const one = (value: number | null): Sample[] => (value === null ? [] : [[{}, value]]);

/** Prometheus text exposition format, version 0.0.4. */
export function renderMetrics(m: MetricsInput): string {
  const families = [
    family('strata_runs_total', 'counter', 'Committed etl runs in the ledger.', [[{}, m.runsTotal]]),
    family('strata_events_processed_total', 'counter', 'Bronze lines that passed every check, by outcome.', [
      [{ outcome: 'valid' }, m.valid],
      [{ outcome: 'duplicate' }, m.duplicates],
    ]),
    family(
      'strata_events_rejected_total',
      'counter',
      'Bronze lines sent to quarantine, by reason.',
      Object.entries(m.rejected).map(([reason, n]) => [{ reason }, n] as const),
    ),
    family('strata_run_duration_seconds', 'gauge', 'Duration of the last committed etl run.', one(m.lastRunDurationSeconds)),
    family(
      'strata_bronze_oldest_waiting_lag_seconds',
      'gauge',
      'Age of the oldest complete bronze file not yet processed (0 when none waits).',
      one(m.bronzeOldestWaitingLagSeconds),
    ),
    family('strata_bronze_files_waiting', 'gauge', 'Complete bronze files not yet processed.', one(m.bronzeFilesWaiting)),
    family('strata_silver_rows', 'gauge', 'Rows in the silver events table.', [[{}, m.silverRows]]),
    family('strata_quarantine_rows', 'gauge', 'Rows in the quarantine table.', [[{}, m.quarantineRows]]),
    family('strata_ledger_version', 'gauge', 'Newest committed ledger version.', [[{}, m.ledgerVersion]]),
  ];
  if (m.scheduledRuns) {
    families.push(
      family('strata_scheduled_runs_total', 'counter', 'Runs started by this server, by outcome.', [
        [{ outcome: 'ok' }, m.scheduledRuns.ok],
        [{ outcome: 'failed' }, m.scheduledRuns.failed],
      ]),
    );
  }
  return `${families.join('\n')}\n`;
}
