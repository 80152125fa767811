import type { RejectCounts } from '../ledger/types.js';

/** The run report of SPEC §7, as printed by `etl --json`. */
export interface EtlReport {
  readonly run_id: string;
  readonly files_processed: number;
  readonly files_failed: number;
  readonly lines: number;
  readonly valid: number;
  readonly rejected: RejectCounts;
  readonly duplicates: number;
  readonly partitions_written: number;
  readonly new_fields: readonly string[];
  readonly duration_ms: number;
  /** Bronze files that changed after they were processed: reported, never reprocessed. */
  readonly changed_files: readonly string[];
  readonly failed_files: readonly { path: string; reason: string; detail?: string }[];
  /**
   * Listed bronze files this run could not open: `vanished` (deleted after the listing) or
   * `unreadable` (no permission). Not recorded in the ledger: a later run takes them if they are
   * there and readable then.
   */
  readonly skipped_files: readonly SkippedFile[];
}

export interface SkippedFile {
  readonly path: string;
  readonly reason: 'vanished' | 'unreadable';
  readonly detail: string;
}
