import type { Command } from 'commander';
import { buildCatalog, catalogPath, ensureCatalog } from '../catalog/refresh-catalog.js';
import { registerCatalogSync } from '../cloud/catalog-sync-command.js';
import { resolveRoots } from '../config.js';
import { UserError, errorMessage } from '../errors.js';
import { readSnapshot } from '../ledger/log.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { runCommand } from './run-command.js';

/**
 * `strata catalog <subcommand>`: the catalog group. Each subcommand registers itself on the
 * group below; a cloud target (`catalog sync --target glue`) plugs in the same way.
 */
export function registerCatalog(program: Command): void {
  const group = program.command('catalog').description('the catalog of tables (catalog.duckdb; cloud catalogs)');
  registerCatalogRefresh(group);
  registerCatalogSync(group);
}

function registerCatalogRefresh(group: Command): void {
  group
    .command('refresh')
    .description('rebuild catalog.duckdb from the committed log (etl does this after each commit)')
    .option('--bronze <uri>', 'bronze root for the bronze_events view (env STRATA_BRONZE, default ./data/bronze)')
    .option('--warehouse <uri>', 'warehouse root (env STRATA_WAREHOUSE, default ./data/warehouse)')
    .option('--json', 'print one JSON object')
    .action(
      runCommand(async (options: { bronze?: string; warehouse?: string; json?: boolean }) => {
        const roots = resolveRoots(options);
        const warehouse = await openStorage(roots.warehouse);
        await warehouse.check().catch((err: unknown) => {
          throw err instanceof UserError ? new UserError(`warehouse ${err.message}`) : err;
        });
        const bronze = await openStorage(roots.bronze);
        const bronzeOk = await bronze.check().then(
          () => true,
          () => false,
        );
        if (!bronzeOk && (options.bronze ?? process.env.STRATA_BRONZE) !== undefined) throw new UserError(`bronze root does not exist: ${bronze.uri}`);
        const info = await buildCatalog(warehouse, bronzeOk ? bronze : undefined, await readSnapshot(warehouse));
        const file = catalogPath(warehouse);
        const out = { catalog: file, version: info.version, bronze_events: info.bronzeRoot !== null };
        process.stdout.write(options.json ? `${JSON.stringify(out)}\n` : `catalog ${file} at log version ${out.version}\n`);
      }),
    );
}

/**
 * Readers keep catalog.duckdb in step with the log (it may be behind after a crash between commit
 * and refresh). For a remote warehouse that would copy every file, so only `sql` does it there.
 * The query's answer does not depend on it: a failure is a warning, not an error.
 */
export async function keepCatalogCurrent(warehouse: Storage): Promise<void> {
  if (warehouse.localPath('') === undefined) return;
  try {
    await ensureCatalog(warehouse);
  } catch (err) {
    process.stderr.write(`strata: warning: could not refresh the catalog: ${errorMessage(err).split('\n')[0]}\n`);
  }
}
