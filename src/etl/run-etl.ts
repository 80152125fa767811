import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Progress } from '../cli/progress.js';
import { listBronze } from '../bronze/list-bronze.js';
import { CorruptFileError, hashLocalFile, hashStored, stageBronze, type StagedText, type TextPart } from '../bronze/read-bronze.js';
import { refreshCatalog } from '../catalog/refresh-catalog.js';
import { eventsFileKey, quarantineFileKey } from '../ledger/layout.js';
import { WarehouseLock } from '../ledger/lock.js';
import { checkpointIfDue, commit, readSnapshot, replay } from '../ledger/log.js';
import { removeUncommitted } from '../ledger/recover.js';
import { emptyRejectCounts, REJECT_REASONS, type BronzeFileRecord, type CommitEntry, type DataFile, type RunRecord, type Snapshot } from '../ledger/types.js';
import { publishActivityRollup } from '../silver/activity-rollup.js';
import type { ObjectInfo, Storage } from '../storage/storage.js';
import { localPaths } from '../storage/local-copy.js';
import { explainingFailures } from './failure.js';
import { faultPoint } from './fault-points.js';
import { makeScratch } from './scratch.js';
import { phaseTimer } from './phase-timer.js';
import type { EtlReport, SkippedFile } from './report.js';
import { newRunId } from './run-id.js';
import { PartQueue } from './part-queue.js';
import { RunStaging, sumCounts, type FileEnd, type StreamInput } from './staging.js';

export interface EtlOptions {
  readonly bronze: Storage;
  readonly warehouse: Storage;
  readonly retryFailed?: boolean;
  readonly progress?: Progress;
  /** How long to wait for another run holding the warehouse lock (ms). */
  readonly waitMs?: number;
}

/** Size of the text pieces DuckDB takes (default in read-bronze.ts); tests make it small. */
const PIECE_BYTES = Number(process.env.STRATA_PIECE_BYTES) || undefined;

/**
 * Runs up to this size stage in memory (faster: DuckDB spills what does not fit, uncompressed);
 * bigger backlogs on disk (see RunStaging.open). 48 batches of 625k events staged in memory in
 * 110 s against 130 s on disk, peak RSS 1.22 GB against 1.31; 24 in 59 s against 73 s.
 * `STRATA_STAGING=disk|memory` decides for tests.
 */
const IN_MEMORY_MAX_FILES = 48;
// Not `2048 << 20`: JavaScript shifts wrap to 32-bit ints, and that one is negative.
const IN_MEMORY_MAX_BYTES = 2 * 1024 ** 3;

export function stageOnDisk(todo: readonly Pick<ObjectInfo, 'size'>[]): boolean {
  const forced = process.env.STRATA_STAGING;
  if (forced === 'disk' || forced === 'memory') return forced === 'disk';
  const bytes = todo.reduce((n, f) => n + f.size, 0);
  return todo.length > IN_MEMORY_MAX_FILES || bytes > IN_MEMORY_MAX_BYTES;
}

/** One bronze file being read: its text pieces as they come, and what reading it found. */
interface Reading {
  readonly parts: PartQueue<TextPart>;
  readonly result: Promise<StagedText>;
}

/**
 * One incremental run, exactly once (SPEC §5):
 * lock -> remove what crashed runs left -> find new bronze files -> stage and classify them ->
 * decide duplicates -> write Parquet under names no commit uses yet -> commit one log entry
 * (the atomic step) -> refresh the catalog. A crash anywhere before the commit leaves only
 * uncommitted files, which no reader sees and the next run deletes.
 */
export function runEtl(options: EtlOptions): Promise<EtlReport> {
  return explainingFailures('etl', (state) => runEtlOnce(options, state));
}

async function runEtlOnce(options: EtlOptions, state: { committed: boolean }): Promise<EtlReport> {
  const { bronze, warehouse } = options;
  const phase = phaseTimer('etl');
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  await bronze.check();
  await warehouse.check();
  const lock = await WarehouseLock.acquire(warehouse, runId, { waitMs: options.waitMs ?? 0 });
  let workDir: string | undefined;
  let staging: RunStaging | undefined;
  try {
    await faultPoint('etl:locked');
    const snapshot = await readSnapshot(warehouse);
    await removeUncommitted(warehouse, snapshot);
    phase('recover');
    const { todo, changed } = await discover(bronze, snapshot, options.retryFailed ?? false);
    phase('discover');
    await faultPoint('etl:discovered');
    if (todo.length === 0) return emptyReport(runId, startedAt, changed);

    workDir = await makeScratch('etl', runId);
    staging = await RunStaging.open(path.join(workDir, 'stage'), runId, { onDisk: stageOnDisk(todo) });
    const records = new Map<number, { info: ObjectInfo; sha256: string; failed?: { reason: string; detail: string } }>();
    const skipped: SkippedFile[] = [];
    const progress = options.progress;
    progress?.start(todo.length, 'etl');
    let linesSeen = 0;
    // Reading (inflate and prepare, on libuv's threads) runs one file ahead of DuckDB, and DuckDB
    // starts on a file's first pieces while its end is still inflating: the two overlap.
    const reads: Reading[] = [];
    const startRead = (fileIdx: number): Reading => {
      const existing = reads[fileIdx];
      if (existing) return existing;
      const parts = new PartQueue<TextPart>();
      const result = stageBronze(bronze, todo[fileIdx]!.key, {
        partPath: (i) => path.join(workDir!, `${fileIdx}.${i}.txt`),
        onPart: (part) => parts.push(part),
        partBytes: PIECE_BYTES,
      }).finally(() => parts.close());
      result.catch(() => undefined); // awaited (and handled) by the loop below
      return (reads[fileIdx] = { parts, result });
    };
    // The native reader takes every file it can in one pass, its valid lines straight to Parquet;
    // what it declines (and everything, where it is not built) is read file by file below.
    let classic = todo.map((_, i) => i);
    const declined = new Set<number>();
    if (staging.stagesGz) {
      const streamed = await streamBronze(bronze, todo, staging, workDir, progress?.shown ? (files, lines) => progress.update(files, lines) : undefined);
      for (const [fileIdx, file] of streamed.files) {
        records.set(fileIdx, { info: todo[fileIdx]!, sha256: file.sha256 });
        linesSeen += file.lines;
        await faultPoint('etl:chunk-staged');
      }
      classic = classic.filter((fileIdx) => !streamed.files.has(fileIdx));
      for (const fileIdx of streamed.declined) declined.add(fileIdx);
      progress?.update(streamed.files.size, linesSeen);
    }
    try {
      for (const fileIdx of classic) {
        const info = todo[fileIdx]!;
        const filePhase = phaseTimer(`file ${fileIdx}`);
        let begun = false;
        try {
          let staged: StagedFile | undefined;
          if (staging.stagesGz && !declined.has(fileIdx)) {
            // Not streamed (a remote backlog too big to copy first): the native reader, file by file.
            await staging.beginFile(fileIdx, info.key);
            begun = true;
            staged = await stageNatively(bronze, info.key, staging, fileIdx, workDir);
          }
          if (!staged) {
            // The JavaScript reader: where the native one is not built, or would not vouch for the file.
            const reading = startRead(fileIdx);
            const next = classic[classic.indexOf(fileIdx) + 1];
            if (next !== undefined) startRead(next);
            for await (const part of reading.parts) {
              if (!begun) await staging.beginFile(fileIdx, info.key);
              begun = true;
              await staging.addPart(fileIdx, part.path, part.lines, part.longestLine);
              await rm(part.path, { force: true });
            }
            staged = await reading.result;
            if (!begun) await staging.beginFile(fileIdx, info.key);
          }
          linesSeen += await staging.endFile(fileIdx, info.key, staged);
          records.set(fileIdx, { info, sha256: staged.sha256 });
        } catch (err) {
          const cannotOpen = unopenable(err);
          if (!cannotOpen && !(err instanceof CorruptFileError)) throw err;
          if (begun) await staging.discardFile(fileIdx);
          if (cannotOpen) skipped.push({ path: info.key, reason: cannotOpen, detail: firstLine(err) });
          else records.set(fileIdx, { info, sha256: '', failed: { reason: 'corrupt_file', detail: (err as CorruptFileError).detail } });
        }
        filePhase('read+stage');
        progress?.update(records.size + skipped.length, linesSeen);
        await faultPoint('etl:chunk-staged');
      }
    } finally {
      // A failed run must not leave a read running into a work folder about to be removed.
      await Promise.allSettled(reads.map((r) => r?.result));
    }
    progress?.stop();
    phase('read+stage');

    const silverKeys = snapshot.dataFiles.filter((f) => f.table === 'events').map((f) => f.key);
    const result = await staging.finish(await localPaths(warehouse, silverKeys), path.join(workDir, 'out'), startedAt);
    phase('dedup+write parquet');
    await faultPoint('etl:staged');

    // Nothing lost: every non-blank line is valid, rejected or a duplicate, per file (SPEC §3).
    for (const [fileIdx, o] of result.outcomes) {
      if (o.valid + sumCounts(o.rejected) + o.duplicates !== o.lines) {
        throw new Error(`line accounting failed for ${todo[fileIdx]?.key}: ${JSON.stringify(o)}`);
      }
    }
    const writtenRows = result.partitions.reduce((n, p) => n + p.rows, 0);
    const validRows = [...result.outcomes.values()].reduce((n, o) => n + o.valid, 0);
    if (writtenRows !== validRows) throw new Error(`wrote ${writtenRows} silver rows for ${validRows} valid lines`);

    const add: DataFile[] = [];
    for (const [i, p] of result.partitions.entries()) {
      const key = eventsFileKey(p.partition, runId);
      await warehouse.writeFile(key, p.localPath);
      add.push({ key, table: 'events', rows: p.rows, bytes: p.bytes, partition: p.partition, runId });
      await faultPoint('etl:data-file-written');
      add.push(await publishActivityRollup(staging.duckdb, warehouse, { key, localPath: p.localPath, partition: p.partition, runId }, path.join(workDir, `activity-${i}.parquet`)));
    }
    if (result.quarantine) {
      const key = quarantineFileKey(runId, startedAt);
      await warehouse.writeFile(key, result.quarantine.localPath);
      add.push({ key, table: 'quarantine', rows: result.quarantine.rows, bytes: result.quarantine.bytes, runId });
    }
    phase('upload');
    await faultPoint('etl:data-written');

    const files: BronzeFileRecord[] = [];
    for (const [fileIdx, r] of [...records].sort((a, b) => a[0] - b[0])) {
      const o = result.outcomes.get(fileIdx) ?? { lines: 0, valid: 0, rejected: emptyRejectCounts(), duplicates: 0 };
      files.push({
        path: r.info.key,
        size: r.info.size,
        etag: r.info.etag,
        sha256: r.sha256,
        state: r.failed ? 'failed' : 'committed',
        ...(r.failed ? { reason: r.failed.reason, detail: r.failed.detail } : {}),
        runId,
        lines: r.failed ? 0 : o.lines,
        valid: r.failed ? 0 : o.valid,
        rejected: r.failed ? emptyRejectCounts() : o.rejected,
        duplicates: r.failed ? 0 : o.duplicates,
      });
    }
    const newFields = result.extraFields.filter((f) => !snapshot.fieldsSeen.has(f));
    const finishedAt = new Date();
    const run = summarize(runId, startedAt, finishedAt, files, result.partitions.length, newFields, changed);
    await lock.assertHeld();
    await faultPoint('etl:before-commit');
    const entry: CommitEntry = {
      version: snapshot.version + 1,
      committedAt: finishedAt.toISOString(),
      add,
      remove: [],
      files,
      fieldsSeen: newFields,
      run,
    };
    await commit(warehouse, entry);
    phase('commit');
    state.committed = true;
    await faultPoint('etl:committed');
    // What was read at the start plus this run's commit: the lease kept every other writer out.
    const committed = replay([entry], snapshot);
    await checkpointIfDue(warehouse, committed);
    await refreshCatalog(warehouse, bronze, committed, staging.duckdb);
    phase('catalog');
    await faultPoint('etl:catalog-refreshed');
    return toReport(run, files, skipped);
  } finally {
    staging?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await lock.release();
  }
}

/** A bronze file staged, whichever reader took it: what its end told, and the sha256 of its stored bytes. */
type StagedFile = FileEnd & { readonly sha256: string };

/**
 * The run's bronze files through the native reader in one pass (RunStaging.streamFiles), read
 * where they lie or copied into the work folder from a remote store (up to STREAM_COPY_MAX_BYTES
 * in all; past that every file is read file by file). A file it declines is taken out and the
 * rest streamed again: a damaged file is rare, and a pass that fails leaves nothing behind.
 * Returns what each streamed file gave, with the sha256 of its stored bytes, and the files the
 * native reader declined (or that could not be copied); every file not streamed is read file by
 * file after.
 */
async function streamBronze(
  bronze: Storage,
  todo: readonly ObjectInfo[],
  staging: RunStaging,
  workDir: string,
  onProgress: ((files: number, lines: number) => void) | undefined,
): Promise<{ files: Map<number, { lines: number; sha256: string }>; declined: number[] }> {
  const files = new Map<number, { lines: number; sha256: string }>();
  const declined: number[] = [];
  const inputs: StreamInput[] = [];
  const remote = bronze.localPath('') === undefined;
  if (remote && todo.reduce((n, f) => n + f.size, 0) > STREAM_COPY_MAX_BYTES) return { files, declined };
  for (const [fileIdx, info] of todo.entries()) {
    let localPath = bronze.localPath(info.key);
    if (!localPath) {
      localPath = path.join(workDir, `${fileIdx}.gz`);
      try {
        await bronze.readFile(info.key, localPath);
      } catch {
        // The file-by-file reader reports it (vanished, unreadable).
        declined.push(fileIdx);
        continue;
      }
    }
    inputs.push({ fileIdx, sourceFile: info.key, localPath });
  }
  // Hashed one after another, beside the stream (libuv's threads).
  let hashing: Promise<unknown> = Promise.resolve();
  const hashes = new Map<number, Promise<string>>();
  for (const input of inputs) {
    const hash = hashing.then(() => hashLocalFile(input.localPath));
    hash.catch(() => undefined); // awaited below for the files streamed
    hashing = hash.catch(() => undefined);
    hashes.set(input.fileIdx, hash);
  }
  let taking = inputs;
  while (taking.length > 0) {
    const result = await staging.streamFiles(taking, path.join(workDir, 'out'), onProgress);
    if ('lines' in result) {
      const taken = await staging.endStreamedFiles(result.lines);
      for (const input of taking) files.set(input.fileIdx, { lines: taken.get(input.fileIdx) ?? 0, sha256: await hashes.get(input.fileIdx)! });
      break;
    }
    const file = taking.find((f) => f.localPath === result.declined)!;
    declined.push(file.fileIdx);
    taking = taking.filter((f) => f !== file);
  }
  await hashing;
  return { files, declined };
}

/**
 * A bronze file through strata_stage_gz (RunStaging.stageGz), read where it lies or copied into
 * the work folder from a remote store; its sha256 is taken alongside. Undefined when the native
 * reader would not vouch for the file: then nothing of it is staged.
 */
async function stageNatively(bronze: Storage, key: string, staging: RunStaging, fileIdx: number, workDir: string): Promise<StagedFile | undefined> {
  let local = bronze.localPath(key);
  const copy = local === undefined ? path.join(workDir, `${fileIdx}.gz`) : undefined;
  try {
    if (copy) await bronze.readFile(key, (local = copy));
    const sha256 = hashLocalFile(local!);
    sha256.catch(() => undefined); // awaited below, unless staging fails first
    const lines = await staging.stageGz(fileIdx, local!);
    // The native reader settles bad bytes and carriage returns itself: nothing is left to fix.
    return lines === undefined ? undefined : { lines, earlyRejects: [], carriageReturns: new Map(), sha256: await sha256 };
  } finally {
    if (copy) await rm(copy, { force: true });
  }
}

/** Remote bronze is copied to local disk to be streamed: a backlog bigger than this is read file by file. */
const STREAM_COPY_MAX_BYTES = 2 * 1024 ** 3;

interface Discovery {
  readonly todo: ObjectInfo[];
  readonly changed: string[];
}

/** Every complete bronze file not yet in the ledger (late ones included); changed ones reported. */
async function discover(bronze: Storage, snapshot: Snapshot, retryFailed: boolean): Promise<Discovery> {
  const todo: ObjectInfo[] = [];
  const changed: string[] = [];
  for (const info of await listBronze(bronze)) {
    const record = snapshot.files.get(info.key);
    if (!record) {
      todo.push(info);
      continue;
    }
    if (record.state === 'failed' && retryFailed) {
      todo.push(info);
      continue;
    }
    if (record.size !== info.size) changed.push(info.key);
    else if (record.etag !== info.etag && record.sha256 !== '' && (await hashStored(bronze, info.key)) !== record.sha256) changed.push(info.key);
  }
  return { todo, changed };
}

function summarize(
  runId: string,
  startedAt: Date,
  finishedAt: Date,
  files: readonly BronzeFileRecord[],
  partitionsWritten: number,
  newFields: readonly string[],
  changedFiles: readonly string[],
): RunRecord {
  const rejected = emptyRejectCounts();
  for (const f of files) for (const reason of REJECT_REASONS) rejected[reason] += f.rejected[reason];
  const ok = files.filter((f) => f.state === 'committed');
  return {
    runId,
    kind: 'etl',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    filesProcessed: ok.length,
    filesFailed: files.length - ok.length,
    lines: ok.reduce((n, f) => n + f.lines, 0),
    valid: ok.reduce((n, f) => n + f.valid, 0),
    rejected,
    duplicates: ok.reduce((n, f) => n + f.duplicates, 0),
    partitionsWritten,
    newFields,
    changedFiles,
  };
}

/** A listed file that cannot be opened (deleted since, or no permission): skipped, not failed. */
function unopenable(err: unknown): SkippedFile['reason'] | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'vanished';
  if (code === 'EACCES' || code === 'EPERM') return 'unreadable';
  return undefined;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

function toReport(run: RunRecord, files: readonly BronzeFileRecord[], skipped: readonly SkippedFile[] = []): EtlReport {
  return {
    run_id: run.runId,
    files_processed: run.filesProcessed,
    files_failed: run.filesFailed,
    lines: run.lines,
    valid: run.valid,
    rejected: run.rejected,
    duplicates: run.duplicates,
    partitions_written: run.partitionsWritten,
    new_fields: run.newFields,
    duration_ms: run.durationMs,
    changed_files: run.changedFiles,
    failed_files: files.filter((f) => f.state === 'failed').map((f) => ({ path: f.path, reason: f.reason ?? 'unknown', detail: f.detail })),
    skipped_files: [...skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

function emptyReport(runId: string, startedAt: Date, changed: readonly string[]): EtlReport {
  const now = new Date();
  return toReport(summarize(runId, startedAt, now, [], 0, [], changed), []);
}
