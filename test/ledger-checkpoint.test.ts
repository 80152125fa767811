import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointKey, logKey } from '../src/ledger/layout.js';
import { commit, latestVersion, readLog, readSnapshot, replay, writeCheckpoint } from '../src/ledger/log.js';
import { emptyRejectCounts, type CommitEntry, type Snapshot } from '../src/ledger/types.js';
import { LocalStorage } from '../src/storage/local.js';
import type { Storage } from '../src/storage/storage.js';
import { writeBronze, pageView } from './helpers/bronze.js';
import { runCli, tempDir } from './helpers/cli.js';

/** A commit adding one events file and one bronze record; every third removes the previous file. */
function entry(version: number): CommitEntry {
  const runId = `run-${version}`;
  const partition = { year: 2026, month: 11, day: 20, hour: version % 24 };
  return {
    version,
    committedAt: `2026-11-26T00:00:${String(version).padStart(2, '0')}Z`,
    add: [{ key: `events/h${version}/part-${runId}.parquet`, table: 'events', rows: version, bytes: 100 * version, partition, runId }],
    remove: version % 3 === 0 ? [`events/h${version - 1}/part-run-${version - 1}.parquet`] : [],
    files: [{ path: `bronze-${version}.jsonl.gz`, size: version, etag: 'e', sha256: 's', state: 'committed', runId, lines: 1, valid: 1, rejected: emptyRejectCounts(), duplicates: 0 }],
    fieldsSeen: version === 2 ? ['device'] : [],
    run: { runId, kind: 'etl', startedAt: '', finishedAt: '', durationMs: version, filesProcessed: 1, filesFailed: 0, lines: 1, valid: 1, rejected: emptyRejectCounts(), duplicates: 0, partitionsWritten: 1, newFields: [], changedFiles: [] },
  };
}

/** Everything a snapshot says, as plain data (Maps and Sets flattened), without where it was read from. */
function plain(s: Snapshot): unknown {
  return { version: s.version, dataFiles: s.dataFiles, files: [...s.files.entries()], runs: s.runs, fieldsSeen: [...s.fieldsSeen].sort() };
}

describe('ledger checkpoints', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LocalStorage;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    storage = new LocalStorage(dir);
    for (let v = 1; v <= 5; v++) await commit(storage, entry(v));
    await writeCheckpoint(storage, await readSnapshot(storage));
    for (let v = 6; v <= 7; v++) await commit(storage, entry(v));
  });
  afterAll(() => cleanup());

  it('reads the newest checkpoint and the commits after it, to the same state as replaying every commit', async () => {
    const snapshot = await readSnapshot(storage);
    expect(snapshot.checkpointVersion).toBe(5);
    expect(plain(snapshot)).toEqual(plain(replay(await readLog(storage))));
    // A writer replays its own commit onto what it read: the checkpoint it started from stays.
    const next = replay([entry(8)], snapshot);
    expect([next.version, next.checkpointVersion]).toEqual([8, 5]);
    expect(snapshot.version).toBe(7);
    expect(snapshot.dataFiles.map((f) => f.key).sort()).toEqual(['events/h1/part-run-1.parquet', 'events/h3/part-run-3.parquet', 'events/h4/part-run-4.parquet', 'events/h6/part-run-6.parquet', 'events/h7/part-run-7.parquet']);
  });

  /** The storage, with every list() call's startAfter noted. */
  function listSpy(): { spy: Storage; starts: (string | undefined)[] } {
    const starts: (string | undefined)[] = [];
    const list: Storage['list'] = (prefix, options) => {
      starts.push(options?.startAfter);
      return storage.list(prefix, options);
    };
    const spy = new Proxy(storage, {
      get: (target, name) => {
        if (name === 'list') return list;
        const value: unknown = Reflect.get(target, name);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { spy, starts };
  }

  it('lists the log only after the checkpoint the pointer names', async () => {
    const { spy, starts } = listSpy();
    expect((await readSnapshot(spy)).version).toBe(7);
    expect(await latestVersion(spy)).toBe(7);
    expect(starts).toEqual([logKey(5), logKey(5)]);
  });

  it('finds newer versions from a known one by listing from it, and starts over when it has vanished', async () => {
    const { spy, starts } = listSpy();
    expect(await latestVersion(spy, 6)).toBe(7);
    expect(await latestVersion(spy, 7)).toBe(7);
    expect(starts).toEqual([logKey(5), logKey(6)]);
    // A warehouse replaced by a younger one: version 9 is not there, so the whole log decides.
    starts.length = 0;
    expect(await latestVersion(spy, 9)).toBe(7);
    expect(starts).toEqual([logKey(8), logKey(5)]);
  });

  it('does not read the commits a checkpoint covers', async () => {
    const key = path.join(dir, logKey(3));
    await writeFile(`${key}.keep`, await storage.readBytes(logKey(3)));
    await writeFile(key, 'not json');
    try {
      expect((await readSnapshot(storage)).version).toBe(7);
      await expect(readLog(storage)).rejects.toThrow();
    } finally {
      await writeFile(key, await storage.readBytes(`${logKey(3)}.keep`));
      await rm(`${key}.keep`);
    }
  });

  it('passes over a checkpoint it cannot read, and one of a version never committed', async () => {
    await storage.write(checkpointKey(9), JSON.stringify({ version: 9, dataFiles: [], files: [], runs: [], fieldsSeen: [] }));
    const damaged = path.join(dir, checkpointKey(5));
    const good = await storage.readBytes(checkpointKey(5));
    await writeFile(damaged, good.subarray(0, 40));
    try {
      const snapshot = await readSnapshot(storage);
      expect(snapshot.checkpointVersion).toBe(0);
      expect(plain(snapshot)).toEqual(plain(replay(await readLog(storage))));
    } finally {
      await writeFile(damaged, good);
      await storage.delete(checkpointKey(9));
    }
  });
});

describe('etl and compact write checkpoints', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const bronze = () => path.join(dir, 'bronze');
  const wh = () => path.join(dir, 'warehouse');
  const env = { STRATA_CHECKPOINT_EVERY: '2' };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(wh());
    for (let run = 0; run < 5; run++) {
      const minute = String(run).padStart(2, '0');
      await writeBronze(bronze(), `year=2026/month=11/day=20/hour=10/minute=${minute}/b.jsonl.gz`, [
        pageView(`2026-11-20T10:${minute}:00Z`, { event_id: `e${run}` }),
      ]);
      const etl = await runCli(['etl', '--bronze', bronze(), '--warehouse', wh(), '--json'], { env });
      expect(etl.code, etl.stderr).toBe(0);
    }
    const compact = await runCli(['compact', '--warehouse', wh(), '--json'], { env });
    expect(compact.code, compact.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it('every second version, and readers see the same state with or without them', async () => {
    const log = (await readdir(path.join(wh(), '_strata/log'))).sort();
    expect(log.filter((f) => f.endsWith('.checkpoint.json'))).toEqual(['00000000000000000002.checkpoint.json', '00000000000000000004.checkpoint.json', '00000000000000000006.checkpoint.json']);
    expect(JSON.parse(await readFile(path.join(wh(), '_strata/last_checkpoint.json'), 'utf8'))).toEqual({ version: 6 });
    const status = async () => {
      const run = await runCli(['status', '--bronze', bronze(), '--warehouse', wh(), '--json'], { env });
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    const withCheckpoints = await status();
    expect(withCheckpoints).toMatchObject({ rows: { silver: 5 } });
    for (const f of log.filter((name) => name.endsWith('.checkpoint.json'))) await rm(path.join(wh(), '_strata/log', f));
    expect(await status()).toEqual(withCheckpoints);
  });
});
