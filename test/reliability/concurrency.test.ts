import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { writeBronze } from '../helpers/bronze.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { warehouseTotals } from '../helpers/warehouse-check.js';
import { ReferenceWarehouse } from '../reference/reference-etl.js';
import { expectSilverMatches, readBronzeFiles, sleep, waitFor, type EtlJson } from './harness.js';

/**
 * Beyond the two-runs-at-once case of etl-crash.test.ts: three runs at once, etl during compact,
 * and readers (`sql`, `query`) while etl and compact work. Pause points (STRATA_PAUSE) stop a run
 * at an exact moment — data files written but not committed, committed but old files not yet
 * deleted — so the reader checks are deterministic; a free-running poller covers the rest.
 */

const BUSY = /^strata: warehouse .* is busy: run .* holds its lock; try again when it finishes\n$/;

/** Batch b: two files of 120 lines with a few dirty lines and ids repeated from the batch before. */
function batchFiles(b: number): [string, string[]][] {
  return [0, 1].map((f) => {
    const lines: string[] = [];
    for (let i = 0; i < 120; i++) {
      const id = i % 10 === 0 && b > 0 ? `b${b - 1}-f${f}-${i}` : `b${b}-f${f}-${i}`;
      const hour = String((b + i) % 3).padStart(2, '0');
      lines.push(JSON.stringify({ event_id: id, timestamp: `2025-07-01T${hour}:0${f}:00Z`, user_id: `u${i % 7}`, session_id: `s${i % 11}`, event_type: 'page_view', product_id: `P${i % 5}` }));
      if (i % 25 === 0) lines.push('{"event_id":"dirty","timestamp":"nope"}');
    }
    return [`year=2025/month=07/day=01/hour=0${b}/minute=0${f}/batch-${b}-${f}.jsonl.gz`, lines];
  });
}

describe('concurrent runs and readers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bronze: string;
  let warehouse: string;
  const ref = new ReferenceWarehouse();
  const keys: string[] = [];
  /** Silver row counts after each commit, in order: the only counts a reader may ever see. */
  const committedTotals = [0];
  const roots = () => ['--bronze', bronze, '--warehouse', warehouse];
  const pauseFile = () => path.join(dir, 'paused');

  async function addBatch(b: number): Promise<void> {
    const files = batchFiles(b);
    for (const [key, lines] of files) await writeBronze(bronze, key, lines);
    const bytes = await readBronzeFiles(bronze, files.map(([k]) => k));
    keys.push(...bytes.keys());
    ref.run(bytes);
  }
  async function count(): Promise<number> {
    const r = await runCli(['sql', 'SELECT count(*) AS n FROM events', '--warehouse', warehouse, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { n: number }[])[0]!.n;
  }
  async function queryEvents(): Promise<number> {
    const r = await runCli(['query', 'user_activity', '--warehouse', warehouse, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { events: number }[]).reduce((n, row) => n + row.events, 0);
  }
  /** Starts a command that stops at `point`; resolves once it is there, with its end (a promise in a box: await would flatten it). */
  async function startPaused(args: string[], point: string): Promise<{ done: Promise<CliResult> }> {
    const done = runCli(args, { env: { STRATA_PAUSE: point, STRATA_PAUSE_FILE: pauseFile() } });
    let finished = false;
    void done.then(() => (finished = true));
    await waitFor(async () => finished || (await stat(pauseFile()).catch(() => undefined)) !== undefined, 60_000, point);
    expect(finished, `${args[0]} ended before reaching ${point}`).toBe(false);
    return { done };
  }
  const resume = () => rm(pauseFile());

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-conc-'));
    bronze = path.join(dir, 'bronze');
    warehouse = path.join(dir, 'warehouse');
    await mkdir(warehouse, { recursive: true });
  });
  afterAll(() => cleanup());

  it('lets three runs started together neither corrupt nor double anything, with and without --wait', async () => {
    await addBatch(0);
    const runs = await Promise.all([0, 1, 2].map(() => runCli(['etl', ...roots(), '--json'])));
    for (const r of runs) {
      expect([0, 3], r.stderr).toContain(r.code);
      if (r.code === 3) expect(r.stderr).toMatch(BUSY);
    }
    const ok = runs.filter((r) => r.code === 0).map((r) => JSON.parse(r.stdout) as EtlJson);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.reduce((n, r) => n + r.files_processed, 0)).toBe(2);
    committedTotals.push(ref.silver.size);

    await addBatch(1);
    const waited = await Promise.all([0, 1, 2].map(() => runCli(['etl', ...roots(), '--json', '--wait', '60'])));
    for (const r of waited) expect(r.code, r.stderr).toBe(0);
    const reports = waited.map((r) => JSON.parse(r.stdout) as EtlJson);
    expect(reports.map((r) => r.files_processed).sort()).toEqual([0, 0, 2]);
    committedTotals.push(ref.silver.size);
    await expectSilverMatches(warehouse, ref, await readBronzeFiles(bronze, keys));
    expect((await warehouseTotals(warehouse)).silverRows).toBe(ref.silver.size);
  });

  it('shows readers only committed data while etl writes files it has not committed', async () => {
    const before = ref.silver.size;
    await addBatch(2);
    const { done: running } = await startPaused(['etl', ...roots(), '--json'], 'etl:data-written');
    // The run's Parquet files are in events/ now, uncommitted: invisible to strata's readers.
    expect(await count()).toBe(before);
    expect(await queryEvents()).toBe(before);
    const busy = await runCli(['compact', '--warehouse', warehouse]);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(BUSY);
    await resume();
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    committedTotals.push(ref.silver.size);
    expect(await count()).toBe(ref.silver.size);
  });

  it('shows readers the new commit before the catalog is refreshed', async () => {
    await addBatch(3);
    const { done: running } = await startPaused(['etl', ...roots(), '--json'], 'etl:committed');
    expect(await count()).toBe(ref.silver.size);
    await resume();
    expect((await running).code).toBe(0);
    committedTotals.push(ref.silver.size);
  });

  it('never double-counts while compaction has committed but not yet deleted the old files', async () => {
    const { done: running } = await startPaused(['compact', '--warehouse', warehouse, '--json'], 'compact:committed');
    expect(await count()).toBe(ref.silver.size);
    expect(await queryEvents()).toBe(ref.silver.size);
    await resume();
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: expect.any(Number) });
    expect((await warehouseTotals(warehouse)).silverRows).toBe(ref.silver.size);
  });

  it('makes etl wait for (or refuse during) a compaction, then takes its files exactly once', async () => {
    await addBatch(4);
    expect((await runCli(['etl', ...roots()])).code).toBe(0);
    committedTotals.push(ref.silver.size);
    await addBatch(5);
    const { done: compacting } = await startPaused(['compact', '--warehouse', warehouse, '--json'], 'compact:before-commit');
    const refused = await runCli(['etl', ...roots(), '--json']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(BUSY);
    const waiting = runCli(['etl', ...roots(), '--json', '--wait', '60']);
    await sleep(1500);
    await resume();
    expect((await compacting).code).toBe(0);
    const r = await waiting;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ files_processed: 2 });
    committedTotals.push(ref.silver.size);
    await expectSilverMatches(warehouse, ref, await readBronzeFiles(bronze, keys));
  });

  it('gives readers polling through etl and compact runs only committed totals, never going down, never an error', async () => {
    // Compaction deletes the files it replaced: a reader that planned its query on the version
    // before must not fail (it used to, now and then: "No files found" / "refused").
    const seen: number[] = [];
    const seenByQuery: number[] = [];
    let writersDone = false;
    const writers = (async () => {
      for (const b of [6, 7]) {
        await addBatch(b);
        committedTotals.push(ref.silver.size);
        expect((await runCli(['etl', ...roots(), '--wait', '60'])).code).toBe(0);
        expect((await runCli(['compact', '--warehouse', warehouse, '--wait', '60'])).code).toBe(0);
      }
      writersDone = true;
    })();
    const sqlPoller = (async () => {
      while (!writersDone) seen.push(await count());
    })();
    const queryPoller = (async () => {
      while (!writersDone) seenByQuery.push(await queryEvents());
    })();
    await Promise.all([writers, sqlPoller, queryPoller]);
    seen.push(await count());
    for (const n of [...seen, ...seenByQuery]) expect(committedTotals, `observed ${n}`).toContain(n);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect([...seenByQuery].sort((a, b) => a - b)).toEqual(seenByQuery);
    expect(seen.at(-1)).toBe(ref.silver.size);
    const snapshot = await readSnapshot(new LocalStorage(warehouse));
    expect(snapshot.dataFiles.filter((f) => f.table === 'events').length).toBe(3);
  });
});
