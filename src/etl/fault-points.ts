/**
 * Named moments at which a crash test can kill the process for certain:
 * STRATA_FAULT=etl:before-commit makes the run SIGKILL itself there (as `kill -9` would).
 * Costs nothing when the variable is unset.
 */
export async function faultPoint(name: string): Promise<void> {
  const target = process.env.STRATA_FAULT;
  if (!target || target !== name) return;
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined);
}
