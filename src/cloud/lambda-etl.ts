import { BusyError } from '../errors.js';
import { compact as realCompact, type CompactOptions, type CompactReport } from '../etl/compact.js';
import type { EtlReport } from '../etl/report.js';
import { runEtl as realRunEtl, type EtlOptions } from '../etl/run-etl.js';
import { openStorage as realOpenStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { duration, logLine, s3Root } from './lambda-config.js';

/** `{}` (the scheduled ETL) or `{ "action": "compact" }` (the nightly compaction rule's input). */
export interface EtlEvent {
  readonly action?: 'etl' | 'compact';
}

export type EtlOutcome =
  | { readonly action: 'etl'; readonly report: EtlReport }
  | { readonly action: 'compact'; readonly report: CompactReport }
  | { readonly action: 'etl' | 'compact'; readonly skipped: 'busy'; readonly message: string };

export interface EtlDeps {
  readonly runEtl: (options: EtlOptions) => Promise<EtlReport>;
  readonly compact: (options: CompactOptions) => Promise<CompactReport>;
  readonly openStorage: (uri: string) => Promise<Storage>;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The scheduled ETL: the same runEtl() as `strata etl`, on the S3 roots of the deployment. A run
 * that finds the warehouse locked (another run, or a `strata etl` from a laptop) is skipped, not
 * failed: the next schedule takes whatever is still waiting, so a retry would add nothing. Other
 * errors fail the invocation (and show in the Errors metric); exactly-once makes reruns safe.
 */
export function createEtlHandler(deps: Partial<EtlDeps> = {}): (event?: EtlEvent) => Promise<EtlOutcome> {
  const { runEtl = realRunEtl, compact = realCompact, openStorage = realOpenStorage, env = process.env } = deps;
  return async (event = {}) => {
    const action = event.action ?? 'etl';
    if (action !== 'etl' && action !== 'compact') throw new Error(`unknown action ${JSON.stringify(action)}; expected etl or compact`);
    const waitMs = duration(env, 'STRATA_LOCK_WAIT', '0s');
    const warehouse = await openStorage(s3Root(env, 'STRATA_WAREHOUSE'));
    try {
      if (action === 'compact') {
        const report = await compact({ warehouse, waitMs });
        logLine({ msg: 'compact finished', ...report });
        return { action, report };
      }
      const bronze = await openStorage(s3Root(env, 'STRATA_BRONZE'));
      const report = await runEtl({ bronze, warehouse, waitMs });
      logLine({ msg: 'etl finished', ...report });
      return { action, report };
    } catch (err) {
      if (!(err instanceof BusyError)) throw err;
      logLine({ msg: `${action} skipped: warehouse busy`, detail: err.message });
      return { action, skipped: 'busy', message: err.message };
    }
  };
}

export const handler = createEtlHandler();
