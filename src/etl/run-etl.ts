import type { Progress } from '../cli/progress.js';
import type { Storage } from '../storage/storage.js';
import type { EtlReport } from './report.js';

export interface EtlOptions {
  readonly bronze: Storage;
  readonly warehouse: Storage;
  readonly retryFailed?: boolean;
  readonly progress?: Progress;
}

/** Stub: replaced by the ETL (issue 3). */
export async function runEtl(_options: EtlOptions): Promise<EtlReport> {
  throw new Error('etl: not implemented yet');
}
