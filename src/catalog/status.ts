import { listBronze } from '../bronze/list-bronze.js';
import { hashStored } from '../bronze/read-bronze.js';
import { readSnapshot } from '../ledger/log.js';
import { REJECT_REASONS, emptyRejectCounts, type RejectCounts, type RunRecord } from '../ledger/types.js';
import type { Storage } from '../storage/storage.js';

/** What `strata status --json` prints and the server's /metrics reads: the ledger, summarised. */
export interface StatusReport {
  readonly warehouse: string;
  /** Null when no bronze root was given or it could not be listed. */
  readonly bronze: string | null;
  /** The committed log version (0: nothing committed yet). */
  readonly version: number;
  /** Bronze files by state: in the ledger (committed, failed), or complete in bronze and not yet taken (waiting). */
  readonly files: { readonly committed: number; readonly failed: number; readonly waiting: number | null; readonly changed: number | null };
  readonly rows: { readonly silver: number; readonly quarantine: number };
  readonly silver: { readonly files: number; readonly bytes: number; readonly partitions: number; readonly first_hour: string | null; readonly last_hour: string | null };
  readonly quarantine_by_reason: RejectCounts;
  readonly last_run: RunSummary | null;
  /** The latest runs, newest first (at most 10). */
  readonly runs: readonly RunSummary[];
  /** Complete bronze files not in the ledger, in path order (at most 100 listed; `files.waiting` counts all). */
  readonly waiting_files: readonly string[];
  readonly failed_files: readonly { readonly path: string; readonly reason: string | null; readonly detail: string | null }[];
  /** Bronze files whose content differs from what the ledger recorded: reported, never reprocessed. */
  readonly changed_files: readonly string[];
}

export interface RunSummary {
  readonly run_id: string;
  readonly kind: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly files_processed: number;
  readonly files_failed: number;
  readonly lines: number;
  readonly valid: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly partitions_written: number;
}

const LISTED_WAITING = 100;
const LISTED_RUNS = 10;

/** One run as status and the server's /api/runs show it. */
export function summarizeRun(run: RunRecord): RunSummary {
  return {
    run_id: run.runId,
    kind: run.kind,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    duration_ms: run.durationMs,
    files_processed: run.filesProcessed,
    files_failed: run.filesFailed,
    lines: run.lines,
    valid: run.valid,
    rejected: REJECT_REASONS.reduce((sum, r) => sum + (run.rejected?.[r] ?? 0), 0),
    duplicates: run.duplicates,
    partitions_written: run.partitionsWritten,
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export async function readStatus(bronze: Storage | undefined, warehouse: Storage): Promise<StatusReport> {
  const snapshot = await readSnapshot(warehouse);
  const records = [...snapshot.files.values()];

  const quarantineByReason = emptyRejectCounts();
  for (const record of records) {
    if (record.state !== 'committed') continue;
    for (const reason of REJECT_REASONS) quarantineByReason[reason] += record.rejected?.[reason] ?? 0;
  }

  let silverRows = 0;
  let silverFiles = 0;
  let silverBytes = 0;
  let quarantineRows = 0;
  const hours = new Set<string>();
  for (const file of snapshot.dataFiles) {
    if (file.table === 'events') {
      silverRows += file.rows;
      silverFiles += 1;
      silverBytes += file.bytes;
      if (file.partition) {
        const p = file.partition;
        hours.add(`${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:00:00Z`);
      }
    } else if (file.table === 'quarantine') {
      quarantineRows += file.rows;
    }
  }
  const sortedHours = [...hours].sort();

  let waiting: string[] | null = null;
  let changed: string[] | null = null;
  if (bronze) {
    waiting = [];
    changed = [];
    // The same rule as etl: another size is a change; another etag is one only if the bytes
    // hash differently (a touched file is not a changed one).
    for (const object of await listBronze(bronze)) {
      const record = snapshot.files.get(object.key);
      if (!record) waiting.push(object.key);
      else if (record.size !== object.size) changed.push(object.key);
      else if (record.etag !== object.etag && record.sha256 && (await hashStored(bronze, object.key)) !== record.sha256) changed.push(object.key);
    }
  }

  const runs = [...snapshot.runs].reverse().slice(0, LISTED_RUNS).map(summarizeRun);
  return {
    warehouse: warehouse.uri,
    bronze: bronze?.uri ?? null,
    version: snapshot.version,
    files: {
      committed: records.filter((r) => r.state === 'committed').length,
      failed: records.filter((r) => r.state === 'failed').length,
      waiting: waiting?.length ?? null,
      changed: changed?.length ?? null,
    },
    rows: { silver: silverRows, quarantine: quarantineRows },
    silver: {
      files: silverFiles,
      bytes: silverBytes,
      partitions: hours.size,
      first_hour: sortedHours[0] ?? null,
      last_hour: sortedHours[sortedHours.length - 1] ?? null,
    },
    quarantine_by_reason: quarantineByReason,
    last_run: runs[0] ?? null,
    runs,
    waiting_files: (waiting ?? []).slice(0, LISTED_WAITING),
    failed_files: records
      .filter((r) => r.state === 'failed')
      .map((r) => ({ path: r.path, reason: r.reason ?? null, detail: r.detail ?? null }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
    changed_files: changed ?? [],
  };
}
