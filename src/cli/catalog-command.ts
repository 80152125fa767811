import type { Command } from 'commander';
import { catalogPath, readCatalogInfo, refreshCatalog } from '../catalog/refresh-catalog.js';
import { resolveRoots } from '../config.js';
import { UserError } from '../errors.js';
import { readSnapshot } from '../ledger/log.js';
import { openStorage } from '../storage/open-storage.js';
import { runCommand } from './run-command.js';

/**
 * `strata catalog <subcommand>`: the catalog group. Each subcommand registers itself on the
 * group below; a cloud target (`catalog sync --target glue`) plugs in the same way.
 */
export function registerCatalog(program: Command): void {
  const group = program.command('catalog').description('the catalog of tables (catalog.duckdb; cloud catalogs)');
  registerCatalogRefresh(group);
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
        await refreshCatalog(warehouse, bronzeOk ? bronze : undefined, await readSnapshot(warehouse));
        const file = catalogPath(warehouse);
        const info = await readCatalogInfo(file);
        const out = { catalog: file, version: info?.version ?? 0, bronze_events: info?.bronzeRoot != null };
        process.stdout.write(options.json ? `${JSON.stringify(out)}\n` : `catalog ${file} at log version ${out.version}\n`);
      }),
    );
}
