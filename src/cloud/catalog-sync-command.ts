import { GlueClient } from '@aws-sdk/client-glue';
import type { Command } from 'commander';
import { runCommand } from '../cli/run-command.js';
import { resolveRoots } from '../config.js';
import { UserError } from '../errors.js';
import { syncGlueCatalog, type GlueSyncResult } from './glue-catalog.js';
import { DEFAULT_ANALYTICS_DATABASE, DEFAULT_STAGING_DATABASE } from './glue-schema.js';

interface SyncFlags {
  readonly target?: string;
  readonly bronze?: string;
  readonly warehouse?: string;
  readonly stagingDb?: string;
  readonly analyticsDb?: string;
  readonly region?: string;
  readonly years?: string;
  readonly json?: boolean;
}

function parseYears(text: string): { firstYear: number; lastYear: number } {
  const match = /^\s*(\d{4})\s*,\s*(\d{4})\s*$/.exec(text);
  const firstYear = Number(match?.[1]);
  const lastYear = Number(match?.[2]);
  if (!match || firstYear > lastYear) throw new UserError(`--years: expected FIRST,LAST like 2020,2039, got ${JSON.stringify(text)}`);
  return { firstYear, lastYear };
}

/** Glue client of the sync; a seam for tests. */
export type GlueClientFactory = (region: string | undefined) => GlueClient;

const defaultFactory: GlueClientFactory = (region) => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new GlueClient(region === undefined ? {} : { region });
};

export function formatSyncResult(result: GlueSyncResult): string {
  const lines = [
    ...result.databases.map((d) => `glue database ${d.name}: ${d.action}`),
    ...result.tables.map((t) => `glue table ${t.database}.${t.name} (${t.location}): ${t.action}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `strata catalog sync --target glue`: registers bronze and silver in the AWS Glue Data Catalog
 * for Athena. The owner of `strata catalog` calls this with its command.
 */
export function registerCatalogSync(catalogCommand: Command, createClient: GlueClientFactory = defaultFactory): Command {
  return catalogCommand
    .command('sync')
    .description('create or update the Glue databases and tables of bronze and silver (for Athena)')
    .requiredOption('--target <target>', 'catalog to sync: glue')
    .option('--bronze <uri>', 'bronze root, s3://bucket/prefix (env STRATA_BRONZE)')
    .option('--warehouse <uri>', 'warehouse root, s3://bucket/prefix (env STRATA_WAREHOUSE)')
    .option('--staging-db <name>', 'Glue database of bronze_events', DEFAULT_STAGING_DATABASE)
    .option('--analytics-db <name>', 'Glue database of events and quarantine', DEFAULT_ANALYTICS_DATABASE)
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--years <first,last>', 'years partition projection covers, e.g. 2020,2039')
    .option('--json', 'print the result as JSON')
    .action(
      runCommand(async (flags: SyncFlags) => {
        if (flags.target !== 'glue') throw new UserError(`--target: only "glue" is supported, got ${JSON.stringify(flags.target)}`);
        const roots = resolveRoots({ bronze: flags.bronze, warehouse: flags.warehouse });
        const years = flags.years === undefined ? {} : parseYears(flags.years);
        const client = createClient(flags.region);
        try {
          const result = await syncGlueCatalog(client, {
            bronze: roots.bronze,
            warehouse: roots.warehouse,
            stagingDatabase: flags.stagingDb ?? DEFAULT_STAGING_DATABASE,
            analyticsDatabase: flags.analyticsDb ?? DEFAULT_ANALYTICS_DATABASE,
            ...years,
          });
          process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatSyncResult(result));
        } finally {
          client.destroy();
        }
      }),
    );
}
