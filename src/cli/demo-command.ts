import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { catalogPath } from '../catalog/refresh-catalog.js';
import { parsePositiveInt, resolveRoots } from '../config.js';
import { runEtl } from '../etl/run-etl.js';
import { generate } from '../generate/generate.js';
import { QUERIES, QUERY_NAMES, runBusinessQuery } from '../queries/run-query.js';
import { openStorage } from '../storage/open-storage.js';
import { formatResult, type OutputColumn } from './output.js';
import { createProgress } from './progress.js';
import { runCommand } from './run-command.js';

interface DemoOptions {
  bronze?: string;
  warehouse?: string;
  events?: string;
  batches: string;
  seed: string;
}

const BATCH_MS = 5 * 60_000;
/** The scheduled producer's volume per 5-minute batch (SPEC §7). */
const DEFAULT_MIN_EVENTS = 500_000;
const DEFAULT_MAX_EVENTS = 750_000;
/** Rows of each query shown; the rest is one `strata query` away. */
const SHOWN_ROWS = 10;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate an hour of traffic, run etl, print the five business queries')
    .option('--bronze <uri>', 'bronze root (env STRATA_BRONZE, default ./data/bronze)')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--events <n>', 'events per batch (default 500,000 to 750,000)')
    .option('--batches <n>', 'number of 5-minute batches', '12')
    .option('--seed <seed>', 'generator seed', 'demo')
    .action(
      runCommand(async (options: DemoOptions) => {
        const batches = parsePositiveInt(options.batches, '--batches');
        const events = options.events === undefined ? undefined : parsePositiveInt(options.events, '--events');
        const roots = resolveRoots(options);
        for (const root of [roots.bronze, roots.warehouse]) if (!root.startsWith('s3://')) await mkdir(root, { recursive: true });
        const bronze = await openStorage(roots.bronze);
        const warehouse = await openStorage(roots.warehouse);
        await bronze.check();
        await warehouse.check();

        // The last `batches` complete 5-minute slots before now: recent traffic, every batch closed.
        const start = new Date(Math.floor(Date.now() / BATCH_MS) * BATCH_MS - batches * BATCH_MS);
        const log = (text: string): boolean => process.stderr.write(`${text}\n`);
        log(`generating ${batches} batches from ${start.toISOString()} into ${bronze.uri}`);
        const progress = createProgress();
        progress.start(batches, 'generate');
        let generated;
        try {
          generated = await generate({
            bronze,
            start,
            batches,
            intervalMs: BATCH_MS,
            minEvents: events ?? DEFAULT_MIN_EVENTS,
            maxEvents: events ?? DEFAULT_MAX_EVENTS,
            seed: options.seed,
            faultRate: 0.01,
            onBatch: (done, count) => progress.update(done, count),
          });
        } finally {
          progress.stop();
        }
        log(`generated ${generated.events.toLocaleString('en-US')} events in ${generated.files.length} files`);

        const report = await runEtl({ bronze, warehouse, progress: createProgress() });
        const rejected = Object.values(report.rejected).reduce((a, b) => a + b, 0);
        log(
          `etl ${report.run_id}: ${report.files_processed} files, ${report.valid.toLocaleString('en-US')} valid, ` +
            `${rejected.toLocaleString('en-US')} rejected, ${report.duplicates.toLocaleString('en-US')} duplicates, ${report.duration_ms} ms`,
        );

        const out: string[] = [];
        for (const name of QUERY_NAMES) {
          const rows = await runBusinessQuery(warehouse, name, {});
          const columns: OutputColumn[] = QUERIES[name].columns.map((c) => ({
            name: c.name,
            kind: c.kind === 'text' ? 'text' : c.kind === 'money' ? 'money' : 'number',
          }));
          const shown = rows.slice(0, SHOWN_ROWS);
          out.push(`\n${name}: ${QUERIES[name].description}`);
          out.push(formatResult({ columns, rows: shown.map((r) => columns.map((c) => r[c.name] ?? null)) }, 'table', { tty: process.stdout.isTTY }).trimEnd());
          if (rows.length > shown.length) out.push(`... ${rows.length - shown.length} more: strata query ${name} --warehouse ${warehouse.uri}`);
        }
        const catalog = catalogPath(warehouse);
        out.push(
          '',
          'Next:',
          `  strata status --bronze ${bronze.uri} --warehouse ${warehouse.uri}`,
          `  strata query hourly_revenue --warehouse ${warehouse.uri} --from ${start.toISOString()} --format csv`,
          `  strata sql "SELECT event_type, count(*) AS events FROM events GROUP BY ALL ORDER BY 2 DESC" --warehouse ${warehouse.uri}`,
          `  duckdb -readonly ${catalog} "SELECT count(*) FROM events"`,
          '',
        );
        process.stdout.write(out.join('\n'));
      }),
    );
}
