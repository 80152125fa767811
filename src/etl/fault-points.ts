import { stat, writeFile } from 'node:fs/promises';

/**
 * Named moments at which a test can act on a run for certain. Both cost nothing when unset.
 *  - STRATA_FAULT=etl:before-commit makes the run SIGKILL itself there (as `kill -9` would).
 *  - STRATA_PAUSE=etl:discovered with STRATA_PAUSE_FILE=<path>: the run creates <path> there and
 *    waits until the test removes it (at most 10 minutes), e.g. to delete a bronze file the run has
 *    just listed, or to query the warehouse while data files are written but not committed.
 */
export async function faultPoint(name: string): Promise<void> {
  if (process.env.STRATA_PAUSE === name && process.env.STRATA_PAUSE_FILE) await pauseHere(process.env.STRATA_PAUSE_FILE);
  const target = process.env.STRATA_FAULT;
  if (!target || target !== name) return;
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined);
}

async function pauseHere(file: string): Promise<void> {
  await writeFile(file, String(process.pid));
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline && (await stat(file).catch(() => undefined))) await new Promise((resolve) => setTimeout(resolve, 25));
}
