import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A run's local scratch folder (decompressed text, the staging database, Parquet before upload).
 * A run killed with -9 cannot remove its own, so its name carries the process id and every run
 * first removes the folders of processes that no longer exist: scratch does not pile up.
 */
export async function makeScratch(kind: 'etl' | 'compact', runId: string): Promise<string> {
  const root = process.env.STRATA_TMPDIR ?? os.tmpdir();
  await removeAbandoned(root);
  return mkdtemp(path.join(root, `strata-${kind}-${runId}-p${process.pid}-`));
}

/**
 * DuckDB's memory for a run's working database (staging, compaction), spilling to the scratch
 * folder past it: with what the process holds besides, a backlog of any length stays under 2 GB.
 */
export function workMemoryLimit(): string {
  return process.env.STRATA_MEMORY_LIMIT ?? '768MB';
}

const SCRATCH_NAME = /^strata-(?:etl|compact)-.+-p(\d+)-[A-Za-z0-9]{6}$/;

async function removeAbandoned(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(SCRATCH_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await rm(path.join(root, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
