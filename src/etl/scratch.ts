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

const MEMORY_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/**
 * A share of the work memory, for the step that would otherwise take all of it: finding
 * duplicates groups every id of the run, so its hash tables grow with the backlog (30M ids:
 * RSS 0.79 GB at a 512 MB limit, 0.47 GB at 256 MB, in the same time). Spilling keeps RSS flat.
 * Undefined when the limit is not of DuckDB's `<number><unit>` form: then the whole limit applies.
 */
export function memoryLimitShare(limit: string, share: number): string | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(limit);
  const unit = m ? MEMORY_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  return `${Math.max(1, Math.floor((Number(m[1]) * unit * share) / 2 ** 20))}MiB`;
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
