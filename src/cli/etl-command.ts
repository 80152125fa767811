import type { Command } from 'commander';
import { resolveRoots } from '../config.js';
import { UserError } from '../errors.js';
import { compact } from '../etl/compact.js';
import type { EtlReport } from '../etl/report.js';
import { runEtl } from '../etl/run-etl.js';
import { openStorage } from '../storage/open-storage.js';
import { createProgress } from './progress.js';
import { runCommand } from './run-command.js';

interface EtlFlags {
  bronze?: string;
  warehouse?: string;
  retryFailed?: boolean;
  json?: boolean;
  wait?: string;
}

export function registerEtl(program: Command): void {
  program
    .command('etl')
    .description('process every new bronze file into silver Parquet and quarantine, exactly once')
    .option('--bronze <uri>', 'bronze root (env STRATA_BRONZE, default ./data/bronze)')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--retry-failed', 'also retry files that failed before (corrupt_file)')
    .option('--wait <seconds>', 'wait this long for a run already holding the warehouse', '0')
    .option('--json', 'print the run report as one JSON object')
    .action(
      runCommand(async (flags: EtlFlags) => {
        const roots = resolveRoots(flags);
        const report = await runEtl({
          bronze: await openStorage(roots.bronze),
          warehouse: await openStorage(roots.warehouse),
          retryFailed: flags.retryFailed,
          progress: createProgress({ json: flags.json }),
          waitMs: waitMs(flags.wait),
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else process.stdout.write(formatReport(report));
      }),
    );

  program
    .command('compact')
    .description('rewrite each hour partition that has several files into one, atomically')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--wait <seconds>', 'wait this long for a run already holding the warehouse', '0')
    .option('--json', 'print the compaction report as one JSON object')
    .action(
      runCommand(async (flags: EtlFlags) => {
        const roots = resolveRoots(flags);
        const report = await compact({ warehouse: await openStorage(roots.warehouse), waitMs: waitMs(flags.wait) });
        if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else
          process.stdout.write(
            `compacted ${report.partitions_compacted} partition(s): ${report.files_removed} files -> ${report.files_written}, ${report.rows} rows (${report.duration_ms} ms)\n`,
          );
      }),
    );
}

function waitMs(text: string | undefined): number {
  const seconds = Number(text ?? '0');
  if (!Number.isFinite(seconds) || seconds < 0) throw new UserError(`--wait: expected seconds >= 0, got ${JSON.stringify(text)}`);
  return seconds * 1000;
}

function formatReport(r: EtlReport): string {
  const lines = [
    `run ${r.run_id}: ${r.files_processed} file(s) processed, ${r.files_failed} failed, in ${(r.duration_ms / 1000).toFixed(1)} s`,
    `  lines ${r.lines}  valid ${r.valid}  rejected ${Object.values(r.rejected).reduce((a, b) => a + b, 0)}  duplicates ${r.duplicates}  hour partitions ${r.partitions_written}`,
  ];
  const reasons = Object.entries(r.rejected).filter(([, n]) => n > 0);
  if (reasons.length) lines.push(`  rejected by reason: ${reasons.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.new_fields.length) lines.push(`  new fields: ${r.new_fields.join(', ')}`);
  for (const f of r.failed_files) lines.push(`  failed: ${f.path} (${f.reason}${f.detail ? `: ${f.detail}` : ''})`);
  for (const f of r.changed_files) lines.push(`  changed after processing (not reprocessed): ${f}`);
  for (const f of r.skipped_files) lines.push(`  skipped, taken by a later run: ${f.path} (${f.reason})`);
  return `${lines.join('\n')}\n`;
}
