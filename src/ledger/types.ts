/** Everything the ledger remembers, as plain data: what is in silver, which bronze files were taken, runs. */

export const REJECT_REASONS = [
  'malformed_json',
  'missing_event_id',
  'bad_timestamp',
  'unknown_event_type',
  'missing_id',
  'missing_product',
  'bad_price',
  'bad_quantity',
  'missing_search_query',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];
export type RejectCounts = Record<RejectReason, number>;

export function emptyRejectCounts(): RejectCounts {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as RejectCounts;
}

/** `activity`: an events file's activity rollup (silver/activity-rollup.ts), not a table of its own. */
export type TableName = 'events' | 'quarantine' | 'activity';

export interface HourPartition {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
}

/** One Parquet file of committed data, by key relative to the warehouse root. */
export interface DataFile {
  readonly key: string;
  readonly table: TableName;
  readonly rows: number;
  readonly bytes: number;
  /** Set for `events` files and their `activity` rollups: the event-time hour they hold. */
  readonly partition?: HourPartition;
  readonly runId: string;
}

export type BronzeFileState = 'committed' | 'failed';

/** The ledger entry of one bronze file, keyed by its path relative to the bronze root. */
export interface BronzeFileRecord {
  readonly path: string;
  readonly size: number;
  readonly etag: string;
  /** sha256 of the stored bytes, to tell a changed file from one merely touched. */
  readonly sha256: string;
  readonly state: BronzeFileState;
  /** Set when failed, e.g. `corrupt_file`. */
  readonly reason?: string;
  readonly detail?: string;
  readonly runId: string;
  readonly lines: number;
  readonly valid: number;
  readonly rejected: RejectCounts;
  readonly duplicates: number;
}

export interface RunRecord {
  readonly runId: string;
  readonly kind: 'etl' | 'compact';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly filesProcessed: number;
  readonly filesFailed: number;
  readonly lines: number;
  readonly valid: number;
  readonly rejected: RejectCounts;
  readonly duplicates: number;
  readonly partitionsWritten: number;
  readonly newFields: readonly string[];
  /** Bronze files whose size or checksum changed after they were processed. */
  readonly changedFiles: readonly string[];
}

/** One atomic commit: data files added and removed, ledger entries, the run that made it. */
export interface CommitEntry {
  readonly version: number;
  readonly committedAt: string;
  readonly add: readonly DataFile[];
  readonly remove: readonly string[];
  readonly files: readonly BronzeFileRecord[];
  readonly fieldsSeen: readonly string[];
  readonly run: RunRecord;
}

/** The state after replaying every commit. */
export interface Snapshot {
  readonly version: number;
  readonly dataFiles: readonly DataFile[];
  readonly files: ReadonlyMap<string, BronzeFileRecord>;
  readonly runs: readonly RunRecord[];
  readonly fieldsSeen: ReadonlySet<string>;
  /** The version of the checkpoint it was read from (0: none); see ledger/log.ts. */
  readonly checkpointVersion?: number;
}
