import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { refreshCatalog } from '../catalog/refresh-catalog.js';
import { Db } from '../db/duckdb.js';
import { sqlString, sqlStringList } from '../db/sql.js';
import { activityFileKey, eventsFileKey, partitionPath } from '../ledger/layout.js';
import { WarehouseLock } from '../ledger/lock.js';
import { checkpointIfDue, commit, readSnapshot, replay } from '../ledger/log.js';
import { removeUncommitted } from '../ledger/recover.js';
import { emptyRejectCounts, type CommitEntry, type DataFile } from '../ledger/types.js';
import { publishActivityRollup } from '../silver/activity-rollup.js';
import { COMPACTED_EVENTS_PARQUET } from '../silver/parquet-options.js';
import { localPaths } from '../storage/local-copy.js';
import type { Storage } from '../storage/storage.js';
import { explainingFailures } from './failure.js';
import { faultPoint } from './fault-points.js';
import { makeScratch, workMemoryLimit } from './scratch.js';
import { newRunId } from './run-id.js';

export interface CompactOptions {
  readonly warehouse: Storage;
  readonly waitMs?: number;
}

export interface CompactReport {
  readonly run_id: string;
  readonly partitions_compacted: number;
  readonly files_removed: number;
  readonly files_written: number;
  readonly rows: number;
  readonly duration_ms: number;
}

/**
 * Rewrites every hour partition holding several files into one. The new files and the removal
 * of the old ones are one commit, so readers see old files or new, never both or neither; the
 * old files are deleted only after that commit (or by the next run's recovery after a crash).
 */
export function compact(options: CompactOptions): Promise<CompactReport> {
  return explainingFailures('compact', (state) => compactOnce(options, state));
}

async function compactOnce(options: CompactOptions, state: { committed: boolean }): Promise<CompactReport> {
  const { warehouse } = options;
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  await warehouse.check();
  const lock = await WarehouseLock.acquire(warehouse, runId, { waitMs: options.waitMs ?? 0 });
  let workDir: string | undefined;
  try {
    const snapshot = await readSnapshot(warehouse);
    await removeUncommitted(warehouse, snapshot);
    const byHour = new Map<string, DataFile[]>();
    for (const file of snapshot.dataFiles) {
      if (file.table !== 'events' || !file.partition) continue;
      const id = partitionPath(file.partition);
      byHour.set(id, [...(byHour.get(id) ?? []), file]);
    }
    const groups = [...byHour.values()].filter((files) => files.length > 1);
    const committedKeys = new Set(snapshot.dataFiles.map((f) => f.key));
    const report = { run_id: runId, partitions_compacted: groups.length, files_removed: 0, files_written: 0, rows: 0, duration_ms: 0 };
    if (groups.length === 0) return { ...report, duration_ms: Date.now() - startedAt.getTime() };

    workDir = await makeScratch('compact', runId);
    const db = await Db.open({ memoryLimit: workMemoryLimit(), tempDirectory: path.join(workDir, 'spill') });
    const add: DataFile[] = [];
    const remove: string[] = [];
    try {
      for (const files of groups) {
        const partition = files[0]!.partition!;
        const sources = await localPaths(warehouse, files.map((f) => f.key));
        const out = path.join(workDir, `${report.files_written}.parquet`);
        await db.run(
          // hive_partitioning off: the folder names would replace the INTEGER partition columns with text ("07").
          `COPY (SELECT * FROM read_parquet(${sqlStringList(sources)}, hive_partitioning = false) ORDER BY event_time) TO ${sqlString(out)} (${COMPACTED_EVENTS_PARQUET})`,
        );
        const rows = Number(await db.scalar(`SELECT count(*) FROM read_parquet(${sqlString(out)}, hive_partitioning = false)`));
        const expected = files.reduce((n, f) => n + f.rows, 0);
        if (rows !== expected) throw new Error(`compaction of ${partitionPath(partition)} wrote ${rows} rows, expected ${expected}`);
        const key = eventsFileKey(partition, runId);
        await warehouse.writeFile(key, out);
        add.push({ key, table: 'events', rows, bytes: (await stat(out)).size, partition, runId });
        add.push(await publishActivityRollup(db, warehouse, { key, localPath: out, partition, runId }, path.join(workDir, `${report.files_written}.activity.parquet`)));
        remove.push(...files.map((f) => f.key));
        report.files_written += 1;
        report.files_removed += files.length;
        // Their rollups go with them (a warehouse written before rollups has none).
        remove.push(...files.map((f) => activityFileKey(f.key)).filter((k) => committedKeys.has(k)));
        report.rows += rows;
      }
    } finally {
      db.close();
    }
    await faultPoint('compact:before-commit');
    await lock.assertHeld();
    const finishedAt = new Date();
    const entry: CommitEntry = {
      version: snapshot.version + 1,
      committedAt: finishedAt.toISOString(),
      add,
      remove,
      files: [],
      fieldsSeen: [],
      run: {
        runId,
        kind: 'compact',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        filesProcessed: 0,
        filesFailed: 0,
        lines: 0,
        valid: 0,
        rejected: emptyRejectCounts(),
        duplicates: 0,
        partitionsWritten: report.files_written,
        newFields: [],
        changedFiles: [],
      },
    };
    await commit(warehouse, entry);
    state.committed = true;
    await faultPoint('compact:committed');
    for (const key of remove) await warehouse.delete(key);
    // What was read at the start plus this run's commit: the lease kept every other writer out.
    const committed = replay([entry], snapshot);
    await checkpointIfDue(warehouse, committed);
    await refreshCatalog(warehouse, undefined, committed);
    return { ...report, duration_ms: Date.now() - startedAt.getTime() };
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await lock.release();
  }
}
