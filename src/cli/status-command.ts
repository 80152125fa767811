import type { Command } from 'commander';
import { catalogPath } from '../catalog/refresh-catalog.js';
import { readStatus, type StatusReport } from '../catalog/status.js';
import { resolveRoots } from '../config.js';
import { UserError } from '../errors.js';
import { REJECT_REASONS } from '../ledger/types.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { formatResult } from './output.js';
import { keepCatalogCurrent } from './catalog-command.js';
import { runCommand } from './run-command.js';

interface StatusOptions {
  bronze?: string;
  warehouse?: string;
  json?: boolean;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('ledger summary: files by state, rows in silver and quarantine, last runs, bronze files waiting')
    .option('--bronze <uri>', 'bronze root (env STRATA_BRONZE, default ./data/bronze)')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--json', 'print one JSON object')
    .action(
      runCommand(async (options: StatusOptions) => {
        const roots = resolveRoots(options);
        const warehouse = await openStorage(roots.warehouse);
        await checkRoot(warehouse, 'warehouse');
        // A bronze root named by the user must exist; the default one may be absent.
        const bronzeGiven = options.bronze ?? process.env.STRATA_BRONZE;
        let bronze: Storage | undefined = await openStorage(roots.bronze);
        if (bronzeGiven !== undefined) await checkRoot(bronze, 'bronze');
        else bronze = await bronze.check().then(() => bronze, () => undefined);

        const report = await readStatus(bronze, warehouse);
        if (report.version > 0) await keepCatalogCurrent(warehouse);
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else process.stdout.write(formatStatus(report, catalogPath(warehouse), process.stdout.isTTY));
      }),
    );
}

async function checkRoot(storage: Storage, name: string): Promise<void> {
  try {
    await storage.check();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${name} ${err.message}`);
    throw new UserError(`${name} cannot be reached: ${storage.uri}: ${(err as Error).message}`);
  }
}

const n = (value: number): string => value.toLocaleString('en-US');
const count = (value: number, noun: string): string => `${n(value)} ${noun}${value === 1 ? '' : 's'}`;

function bytes(value: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatStatus(report: StatusReport, catalog: string, tty = false): string {
  const lines: string[] = [];
  const f = report.files;
  lines.push(`warehouse   ${report.warehouse} (log version ${report.version})`);
  lines.push(`bronze      ${report.bronze ?? '(not available)'}`);
  lines.push(
    `files       ${n(f.committed)} committed, ${n(f.failed)} failed` +
      (f.waiting === null ? '' : `, ${n(f.waiting)} waiting in bronze`) +
      (f.changed === null ? '' : `, ${n(f.changed)} changed since processed`),
  );
  const s = report.silver;
  lines.push(
    `silver      ${count(report.rows.silver, 'row')} in ${count(s.files, 'file')}, ${count(s.partitions, 'hour partition')}, ${bytes(s.bytes)}` +
      (s.first_hour ? ` (${s.first_hour} .. ${s.last_hour})` : ''),
  );
  const reasons = REJECT_REASONS.filter((r) => report.quarantine_by_reason[r] > 0).map((r) => `${r} ${n(report.quarantine_by_reason[r])}`);
  lines.push(`quarantine  ${count(report.rows.quarantine, 'row')}${reasons.length ? `: ${reasons.join(', ')}` : ''}`);
  lines.push(`catalog     ${catalog}`);
  for (const failed of report.failed_files) lines.push(`failed      ${failed.path}: ${failed.reason ?? 'unknown'}${failed.detail ? ` (${failed.detail})` : ''}`);
  for (const changed of report.changed_files) lines.push(`changed     ${changed}`);
  if (report.runs.length > 0) {
    lines.push('', 'last runs:');
    const columns = [
      { name: 'run_id' },
      { name: 'kind' },
      { name: 'started_at' },
      { name: 'duration_ms', kind: 'number' as const },
      { name: 'files', kind: 'number' as const },
      { name: 'failed', kind: 'number' as const },
      { name: 'lines', kind: 'number' as const },
      { name: 'valid', kind: 'number' as const },
      { name: 'rejected', kind: 'number' as const },
      { name: 'duplicates', kind: 'number' as const },
    ];
    const rows = report.runs.map((r) => [r.run_id, r.kind, r.started_at, r.duration_ms, r.files_processed, r.files_failed, r.lines, r.valid, r.rejected, r.duplicates]);
    lines.push(formatResult({ columns, rows }, 'table', { tty }).trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
