import { ObjectExistsError, type Storage } from '../storage/storage.js';
import { LOG_PREFIX, logKey } from './layout.js';
import type { BronzeFileRecord, CommitEntry, DataFile, RunRecord, Snapshot } from './types.js';

/**
 * The ledger is an append-only log of commits, one JSON object per version, in the manner of
 * Delta Lake: a commit exists once its object exists, and creating it is atomic and exclusive
 * (link() locally, If-None-Match on S3). Everything else — data files, catalog — follows from it.
 */
export async function readLog(storage: Storage): Promise<CommitEntry[]> {
  const entries: CommitEntry[] = [];
  for await (const object of storage.list(LOG_PREFIX)) {
    if (!/\/\d{20}\.json$/.test(object.key)) continue;
    entries.push(JSON.parse((await storage.readBytes(object.key)).toString('utf8')) as CommitEntry);
  }
  entries.sort((a, b) => a.version - b.version);
  return entries;
}

export function replay(entries: readonly CommitEntry[]): Snapshot {
  const dataFiles = new Map<string, DataFile>();
  const files = new Map<string, BronzeFileRecord>();
  const runs: RunRecord[] = [];
  const fieldsSeen = new Set<string>();
  let version = 0;
  for (const entry of entries) {
    for (const key of entry.remove) dataFiles.delete(key);
    for (const file of entry.add) dataFiles.set(file.key, file);
    for (const record of entry.files) files.set(record.path, record);
    for (const field of entry.fieldsSeen) fieldsSeen.add(field);
    runs.push(entry.run);
    version = entry.version;
  }
  return { version, dataFiles: [...dataFiles.values()], files, runs, fieldsSeen };
}

export async function readSnapshot(storage: Storage): Promise<Snapshot> {
  return replay(await readLog(storage));
}

export class ConcurrentCommitError extends Error {
  constructor(version: number) {
    super(`another process committed version ${version} first; the warehouse lock was not respected`);
  }
}

/** Publishes a commit; the single atomic step that makes a run's data visible. */
export async function commit(storage: Storage, entry: CommitEntry): Promise<void> {
  try {
    await storage.write(logKey(entry.version), `${JSON.stringify(entry)}\n`, { ifNotExists: true });
  } catch (err) {
    if (err instanceof ObjectExistsError) throw new ConcurrentCommitError(entry.version);
    throw err;
  }
}
