import { ObjectExistsError, type Storage } from '../storage/storage.js';
import { checkpointKey, LAST_CHECKPOINT_KEY, LOG_PREFIX, logKey } from './layout.js';
import type { BronzeFileRecord, CommitEntry, DataFile, RunRecord, Snapshot } from './types.js';

/**
 * The ledger is an append-only log of commits, one JSON object per version, in the manner of
 * Delta Lake: a commit exists once its object exists, and creating it is atomic and exclusive
 * (link() locally, If-None-Match on S3). Everything else — data files, catalog — follows from it.
 */
export async function readLog(storage: Storage): Promise<CommitEntry[]> {
  return readCommits(storage, (await listLog(storage)).commits, 0);
}

/** Applies `entries` (in version order, all after `base`) to `base`, or to the empty state. */
export function replay(entries: readonly CommitEntry[], base?: Snapshot): Snapshot {
  const dataFiles = new Map<string, DataFile>((base?.dataFiles ?? []).map((f) => [f.key, f]));
  const files = new Map<string, BronzeFileRecord>(base?.files ?? []);
  const runs: RunRecord[] = [...(base?.runs ?? [])];
  const fieldsSeen = new Set<string>(base?.fieldsSeen ?? []);
  let version = base?.version ?? 0;
  for (const entry of entries) {
    for (const key of entry.remove) dataFiles.delete(key);
    for (const file of entry.add) dataFiles.set(file.key, file);
    for (const record of entry.files) files.set(record.path, record);
    for (const field of entry.fieldsSeen) fieldsSeen.add(field);
    runs.push(entry.run);
    version = entry.version;
  }
  // A base read from a checkpoint is that checkpoint; a snapshot replayed further keeps its own.
  const checkpointVersion = base ? (base.checkpointVersion ?? base.version) : 0;
  return { version, dataFiles: [...dataFiles.values()], files, runs, fieldsSeen, checkpointVersion };
}

/**
 * A checkpoint every this many versions. Without them every run read every commit of the
 * warehouse's life, twice: 2,000 commits (a week of five-minute runs) took 0.7 s to read
 * locally, and one request each on S3.
 */
const CHECKPOINT_EVERY = Number(process.env.STRATA_CHECKPOINT_EVERY) || 100;

const COMMIT_KEY = /\/(\d{20})\.json$/;
const CHECKPOINT_KEY = /\/(\d{20})\.checkpoint\.json$/;

interface CheckpointBody {
  readonly version: number;
  readonly dataFiles: readonly DataFile[];
  readonly files: readonly BronzeFileRecord[];
  readonly runs: readonly RunRecord[];
  readonly fieldsSeen: readonly string[];
}

/**
 * The committed state: the newest checkpoint, then the commits after it. The pointer
 * LAST_CHECKPOINT_KEY lets this list only the log after that checkpoint; without a usable
 * pointer the whole log is listed and the newest readable checkpoint taken. A checkpoint is
 * derived data (written whole and atomically after a commit, like Delta's): one that cannot be
 * read is passed over for an older one, or for replaying every commit.
 */
export async function readSnapshot(storage: Storage): Promise<Snapshot> {
  const pointed = await readPointer(storage);
  if (pointed !== undefined) {
    const base = await readCheckpoint(storage, checkpointKey(pointed), pointed);
    if (base) return replay(await readCommits(storage, (await listLog(storage, logKey(pointed))).commits, base.version), base);
  }
  const { commits, checkpoints } = await listLog(storage);
  const committed = new Set(commits.map((c) => c.version));
  let base: Snapshot | undefined;
  for (const checkpoint of checkpoints.sort((a, b) => b.version - a.version)) {
    if (!committed.has(checkpoint.version)) continue;
    base = await readCheckpoint(storage, checkpoint.key, checkpoint.version);
    if (base) break;
  }
  return replay(await readCommits(storage, commits, base?.version ?? 0), base);
}

/**
 * The newest committed version (0: none), listing the log only after the last checkpoint, or,
 * given a version `known` to be committed, only from that version on (a reader that asks again
 * and again, like serve's, then lists one or two keys). Should `known` have vanished (the
 * warehouse was replaced), the whole answer is worked out again.
 */
export async function latestVersion(storage: Storage, known?: number): Promise<number> {
  if (known !== undefined && known > 0) {
    const { commits } = await listLog(storage, logKey(known - 1));
    if (commits.some((c) => c.version === known)) return Math.max(...commits.map((c) => c.version));
  }
  const pointed = await readPointer(storage);
  const { commits } = await listLog(storage, pointed === undefined ? undefined : logKey(pointed));
  return Math.max(pointed ?? 0, ...commits.map((c) => c.version));
}

interface LogKey {
  readonly version: number;
  readonly key: string;
}

async function listLog(storage: Storage, startAfter?: string): Promise<{ commits: LogKey[]; checkpoints: LogKey[] }> {
  const commits: LogKey[] = [];
  const checkpoints: LogKey[] = [];
  for await (const object of storage.list(LOG_PREFIX, { startAfter })) {
    const commitMatch = COMMIT_KEY.exec(object.key);
    if (commitMatch) commits.push({ version: Number(commitMatch[1]), key: object.key });
    const checkpointMatch = CHECKPOINT_KEY.exec(object.key);
    if (checkpointMatch) checkpoints.push({ version: Number(checkpointMatch[1]), key: object.key });
  }
  commits.sort((a, b) => a.version - b.version);
  return { commits, checkpoints };
}

/** The commits after version `after`, in order. */
async function readCommits(storage: Storage, commits: readonly LogKey[], after: number): Promise<CommitEntry[]> {
  const todo = commits.filter((c) => c.version > after);
  const entries: CommitEntry[] = [];
  // A few reads at a time: one request each on S3, and a warehouse from before checkpoints has thousands.
  for (let at = 0; at < todo.length; at += 16) {
    const read = todo.slice(at, at + 16).map(async (c) => JSON.parse((await storage.readBytes(c.key)).toString('utf8')) as CommitEntry);
    entries.push(...(await Promise.all(read)));
  }
  return entries;
}

/** The version LAST_CHECKPOINT_KEY names, or undefined when there is none or it cannot be read. */
async function readPointer(storage: Storage): Promise<number | undefined> {
  try {
    const { version } = JSON.parse((await storage.readBytes(LAST_CHECKPOINT_KEY)).toString('utf8')) as { version?: unknown };
    return typeof version === 'number' && Number.isSafeInteger(version) && version > 0 ? version : undefined;
  } catch {
    return undefined;
  }
}

async function readCheckpoint(storage: Storage, key: string, version: number): Promise<Snapshot | undefined> {
  try {
    const body = JSON.parse((await storage.readBytes(key)).toString('utf8')) as CheckpointBody;
    if (body.version !== version || !Array.isArray(body.dataFiles) || !Array.isArray(body.files) || !Array.isArray(body.runs)) return undefined;
    return {
      version: body.version,
      dataFiles: body.dataFiles,
      files: new Map(body.files.map((f) => [f.path, f])),
      runs: body.runs,
      fieldsSeen: new Set(body.fieldsSeen),
    };
  } catch {
    return undefined;
  }
}

/**
 * Called by the writer that just committed, still under the warehouse lock, with the snapshot it
 * read back: writes a checkpoint once CHECKPOINT_EVERY versions have passed since the last one.
 */
export async function checkpointIfDue(storage: Storage, snapshot: Snapshot): Promise<void> {
  if (snapshot.version - (snapshot.checkpointVersion ?? 0) >= CHECKPOINT_EVERY) await writeCheckpoint(storage, snapshot);
}

/** Writes the checkpoint of `snapshot`'s version (none twice: a second writer finds it there). */
export async function writeCheckpoint(storage: Storage, snapshot: Snapshot): Promise<void> {
  const body: CheckpointBody = {
    version: snapshot.version,
    dataFiles: snapshot.dataFiles,
    files: [...snapshot.files.values()],
    runs: snapshot.runs,
    fieldsSeen: [...snapshot.fieldsSeen],
  };
  try {
    await storage.write(checkpointKey(snapshot.version), `${JSON.stringify(body)}\n`, { ifNotExists: true });
  } catch (err) {
    if (!(err instanceof ObjectExistsError)) throw err;
  }
  // After the checkpoint, never before: the pointer only ever names a checkpoint that is there.
  await storage.write(LAST_CHECKPOINT_KEY, `${JSON.stringify({ version: snapshot.version })}\n`);
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
