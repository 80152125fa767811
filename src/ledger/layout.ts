import type { HourPartition } from './types.js';

/** Where each thing lives under the warehouse root. */
export const STATE_PREFIX = '_strata/';
export const LOG_PREFIX = '_strata/log/';
export const STAGING_PREFIX = '_strata/staging/';
export const LOCK_KEY = '_strata/lock.json';
export const EVENTS_PREFIX = 'events/';
export const QUARANTINE_PREFIX = 'quarantine/';
/** Each events file's activity rollup (silver/activity-rollup.ts), under the same hour path. */
export const ACTIVITY_PREFIX = 'activity/';
export const CATALOG_FILE = 'catalog.duckdb';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function logKey(version: number): string {
  return `${LOG_PREFIX}${pad(version, 20)}.json`;
}

/** Names the newest checkpoint, so that readers list the log only from there (see log.ts). */
export const LAST_CHECKPOINT_KEY = '_strata/last_checkpoint.json';

/** The snapshot as of a version, so that readers replay only the commits after it (see log.ts). */
export function checkpointKey(version: number): string {
  return `${LOG_PREFIX}${pad(version, 20)}.checkpoint.json`;
}

export function partitionPath(p: HourPartition): string {
  return `year=${pad(p.year, 4)}/month=${pad(p.month)}/day=${pad(p.day)}/hour=${pad(p.hour)}`;
}

/** The UTC day of an hour partition, `YYYY-MM-DD`. */
export function partitionDay(p: HourPartition): string {
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

export function eventsFileKey(p: HourPartition, runId: string): string {
  return `${EVENTS_PREFIX}${partitionPath(p)}/part-${runId}.parquet`;
}

/** The key of an events file's activity rollup: the same path under `activity/`. */
export function activityFileKey(eventsKey: string): string {
  if (!eventsKey.startsWith(EVENTS_PREFIX)) throw new Error(`not an events file key: ${eventsKey}`);
  return ACTIVITY_PREFIX + eventsKey.slice(EVENTS_PREFIX.length);
}

export function quarantineFileKey(runId: string, ingestedAt: Date): string {
  return `${QUARANTINE_PREFIX}ingest_date=${ingestedAt.toISOString().slice(0, 10)}/part-${runId}.parquet`;
}
