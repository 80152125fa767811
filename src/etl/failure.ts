import { UserError } from '../errors.js';

/** Failures of the machine, not of strata: a full disk, a read-only or failing device, permissions. */
const ENVIRONMENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);
/** The same, as DuckDB words them (its errors carry no code). */
const ENVIRONMENT_TEXT = /no space left on device|disk quota exceeded|read-only file system|permission denied|input\/output error/i;

/**
 * Turns an environment failure of an etl or compact run into a one-line UserError (exit 1) that
 * says whether the run's data was committed, so nobody has to guess from a stack trace; a rerun
 * once the problem is fixed is always safe. Anything else (a bug) is returned unchanged.
 */
export function explainFailure(err: unknown, run: 'etl' | 'compact', committed: boolean): unknown {
  if (err instanceof UserError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  if (!(code !== undefined && ENVIRONMENT_CODES.has(code)) && !ENVIRONMENT_TEXT.test(message)) return err;
  return new UserError(
    committed
      ? `${run} committed its data, then failed: ${message} (the catalog is rebuilt by the next reader or run)`
      : `${run} failed, nothing was committed: ${message} (rerun once the problem is fixed)`,
    1,
  );
}

/** Runs an etl or compact body, explaining its environment failures (see explainFailure). */
export async function explainingFailures<T>(run: 'etl' | 'compact', body: (state: { committed: boolean }) => Promise<T>): Promise<T> {
  const state = { committed: false };
  try {
    return await body(state);
  } catch (err) {
    throw explainFailure(err, run, state.committed);
  }
}
