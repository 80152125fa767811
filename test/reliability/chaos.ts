import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readLog, readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { readFolder } from '../helpers/bronze.js';
import { ReferenceWarehouse, splitLines } from '../reference/reference-etl.js';
import { bronzeFiles, fileBytes } from './arbitraries.js';
import { compareWithReference, showLine } from './compare.js';

/**
 * Crash cycles (SPEC §5): a small backlog grows while etl and compact runs are killed with
 * SIGKILL at random moments or at named fault points. After every kill the committed state is
 * checked against the reference replayed over the ledger's own runs (exactly once, nothing from
 * an uncommitted run); after every run that finishes, the folder must hold exactly the committed
 * files; now and then a reader (`strata sql`) must count exactly the committed rows. Used by
 * test/reliability/crash-cycles.test.ts (a few dozen cycles) and bench/chaos-bench.ts (many).
 * No vitest here: a broken promise throws ChaosViolation.
 */

export const ETL_FAULTS = [
  'etl:locked', 'etl:discovered', 'etl:chunk-staged', 'etl:staged', 'etl:data-file-written',
  'etl:data-written', 'etl:before-commit', 'etl:committed', 'etl:catalog-refreshed',
];
export const COMPACT_FAULTS = ['compact:before-commit', 'compact:committed'];

export class ChaosViolation extends Error {
  override readonly name = 'ChaosViolation';
}

export interface ChaosOptions {
  readonly cli: string;
  /** An empty working folder: bronze/ and warehouse/ go in it. */
  readonly dir: string;
  readonly cycles: number;
  /** Keep going past `cycles` (up to twice as many) until this many runs were really killed. */
  readonly minKills?: number;
  readonly seed: number;
  /** Every how many cycles the run is a compaction instead of an etl. */
  readonly compactEvery?: number;
  /** Every how many cycles a reader checks the committed count through the CLI. */
  readonly readerEvery?: number;
  /** Share of cycles that crash at a named fault point (default 0.4); 15% run without a kill, the rest die after a random delay. */
  readonly faultShare?: number;
  readonly linesPerFile?: number;
  /**
   * Bigger, realistic files: each new bronze file is a batch of this many events from the
   * project's own generator (5% dirty) instead of a small random dirty file.
   */
  readonly eventsPerFile?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosSummary {
  cycles: number;
  killedByTimer: number;
  killedAtFault: number;
  finished: number;
  etlRuns: number;
  compactRuns: number;
  readerChecks: number;
  bronzeFiles: number;
  commits: number;
  silverRows: number;
  quarantineRows: number;
  durationMs: number;
}

/** mulberry32: a small seeded PRNG, so a failing seed replays the same kills and data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RunEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  readonly stderr: string;
}

function runCli(cli: string, args: readonly string[], killAfterMs: number | undefined, env: NodeJS.ProcessEnv = {}): Promise<RunEnd> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started, stderr });
    });
  });
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const { cli, dir, cycles } = options;
  const rng = prng(options.seed);
  const log = options.log ?? (() => undefined);
  const bronze = path.join(dir, 'bronze');
  const warehouse = path.join(dir, 'warehouse');
  await mkdir(bronze, { recursive: true });
  await mkdir(warehouse, { recursive: true });
  const storage = new LocalStorage(warehouse);
  const roots = ['--bronze', bronze, '--warehouse', warehouse];
  const summary: ChaosSummary = {
    cycles: 0, killedByTimer: 0, killedAtFault: 0, finished: 0, etlRuns: 0, compactRuns: 0, readerChecks: 0,
    bronzeFiles: 0, commits: 0, silverRows: 0, quarantineRows: 0, durationMs: 0,
  };
  const bytes = new Map<string, Buffer>();
  const fileArb = bronzeFiles({ minFiles: 1, maxFiles: 1, minLines: options.linesPerFile ?? 30, maxLines: options.linesPerFile ?? 30 });

  async function addFile(n: number): Promise<void> {
    if (options.eventsPerFile) return addGeneratedFile(n, options.eventsPerFile);
    const draft = fc.sample(fileArb, { seed: options.seed * 7919 + n, numRuns: 1 })[0]![0]!;
    // Mostly new minutes in order; now and then a late file in an early minute.
    const minute = rng() < 0.2 ? Math.floor(rng() * Math.max(1, n)) : n;
    const key = `year=2025/month=07/day=01/hour=${String(Math.floor(minute / 60) % 24).padStart(2, '0')}/minute=${String(minute % 60).padStart(2, '0')}/chaos-${String(n).padStart(4, '0')}.jsonl.gz`;
    const data = fileBytes({ ...draft, key });
    const file = path.join(bronze, ...key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    // Like a producer: write elsewhere, then rename into place (SPEC §1).
    await writeFile(`${file}.tmp`, gzipSync(data));
    await rename(`${file}.tmp`, file);
    bytes.set(key, data);
    summary.bronzeFiles++;
  }

  async function addGeneratedFile(n: number, events: number): Promise<void> {
    const { generate } = await import('../../src/generate/generate.js');
    const late = rng() < 0.2;
    const minute = late ? Math.floor(rng() * Math.max(1, n)) : n;
    const result = await generate({
      bronze: new LocalStorage(bronze),
      start: new Date(Date.UTC(2025, 6, 1, 0, minute)),
      batches: 1,
      intervalMs: 60_000,
      minEvents: events,
      maxEvents: events,
      seed: `chaos-${options.seed}-${n}`,
      faultRate: 0.05,
    });
    for (const f of result.files) {
      if (bytes.has(f.key)) continue;
      bytes.set(f.key, gunzipSync(await readFile(path.join(bronze, ...f.key.split('/')))));
      summary.bronzeFiles++;
    }
  }

  /** The reference, replayed over exactly the runs the ledger committed, in commit order. */
  async function committedReference(): Promise<ReferenceWarehouse> {
    const ref = new ReferenceWarehouse();
    for (const entry of await readLog(storage)) {
      if (entry.run.kind !== 'etl') continue;
      const files = new Map<string, Buffer>();
      for (const f of entry.files) if (f.state === 'committed') files.set(f.path, bytes.get(f.path) ?? gunzipSync(await readFile(path.join(bronze, f.path))));
      const report = ref.run(files);
      for (const f of entry.files) {
        if (f.state !== 'committed') continue;
        const want = report.files.get(f.path)!;
        const got = { lines: f.lines, valid: f.valid, duplicates: f.duplicates, rejected: f.rejected };
        if (JSON.stringify(got) !== JSON.stringify({ lines: want.lines, valid: want.valid, duplicates: want.duplicates, rejected: want.rejected })) {
          throw new ChaosViolation(`ledger counts of ${f.path} differ from the reference: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
        }
      }
    }
    return ref;
  }

  /** The last fully checked commit: the log only grows, so an unchanged version needs no second look at the data. */
  let verified: { version: number; ref: ReferenceWarehouse } | undefined;

  async function verifyCommitted(context: string, folderExact: boolean): Promise<ReferenceWarehouse> {
    const snapshot = await readSnapshot(storage);
    for (const f of snapshot.dataFiles) {
      if (!(await stat(path.join(warehouse, f.key)).catch(() => undefined))) throw new ChaosViolation(`${context}: committed file missing: ${f.key}`);
    }
    if (verified?.version === snapshot.version && !folderExact) return verified.ref;
    const ref = await committedReference();
    const lineText = (file: string, n: number): string => showLine(bytes.has(file) ? splitLines(bytes.get(file)!)[n - 1] : undefined);
    const diffs = await compareWithReference(warehouse, ref, lineText, { committedOnly: true });
    if (diffs.length > 0) throw new ChaosViolation(`${context}: ${diffs.length} difference(s) with the reference, first: ${JSON.stringify(diffs.slice(0, 3))}`);
    const events = snapshot.dataFiles.filter((f) => f.table === 'events');
    if (events.length > 0) {
      const [row] = await readFolder(
        `SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM read_parquet([${events.map((f) => `'${warehouse}/${f.key}'`).join(', ')}], hive_partitioning = false)`,
      );
      if (Number(row!.n) !== Number(row!.ids)) throw new ChaosViolation(`${context}: ${row!.n} silver rows but ${row!.ids} distinct event ids`);
    }
    if (folderExact) {
      const onDisk = (await Promise.all(['events', 'activity', 'quarantine'].map((t) => listFiles(path.join(warehouse, t), t)))).flat().sort();
      const committed = snapshot.dataFiles.map((f) => f.key).sort();
      if (JSON.stringify(onDisk) !== JSON.stringify(committed)) {
        throw new ChaosViolation(`${context}: the folder holds other files than the committed ones: ${JSON.stringify(onDisk.filter((k) => !committed.includes(k)))} extra, ${JSON.stringify(committed.filter((k) => !onDisk.includes(k)))} missing`);
      }
      if (await stat(path.join(warehouse, '_strata', 'lock.json')).catch(() => undefined)) throw new ChaosViolation(`${context}: a finished run left its lock`);
    }
    summary.commits = snapshot.version;
    summary.silverRows = ref.silver.size;
    summary.quarantineRows = ref.quarantine.length;
    verified = { version: snapshot.version, ref };
    return ref;
  }

  async function readerCount(context: string, expected: number): Promise<void> {
    const end = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'sql', 'SELECT count(*) AS n FROM events', '--warehouse', warehouse, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('close', (code) => resolve({ code, out, err }));
    });
    if (end.code !== 0) throw new ChaosViolation(`${context}: strata sql failed: ${end.err}`);
    const n = (JSON.parse(end.out) as { n: number }[])[0]!.n;
    if (n !== expected) throw new ChaosViolation(`${context}: strata sql counts ${n} rows, the committed state holds ${expected}`);
    summary.readerChecks++;
  }

  // A first clean run: something committed to protect, and a measure of how long a run takes.
  await addFile(0);
  await addFile(1);
  const first = await runCli(cli, ['etl', ...roots], undefined);
  if (first.code !== 0) throw new ChaosViolation(`first etl failed: ${first.stderr}`);
  let runMs = first.ms;
  await verifyCommitted('after the first run', true);
  let nextFile = 2;

  const kills = (): number => summary.killedByTimer + summary.killedAtFault;
  for (let c = 0; c < cycles || (kills() < (options.minKills ?? 0) && c < 2 * cycles); c++) {
    if (rng() < 0.7) await addFile(nextFile++);
    const compact = (c + 1) % (options.compactEvery ?? 6) === 0;
    const args = compact ? ['compact', '--warehouse', warehouse] : ['etl', ...roots];
    // A fault point, a kill at a random moment, or now and then no kill at all (progress).
    const dice = rng();
    const atFault = dice < (options.faultShare ?? 0.4);
    const faults = compact ? COMPACT_FAULTS : ETL_FAULTS;
    const fault = atFault ? faults[Math.floor(rng() * faults.length)]! : undefined;
    const delay = atFault || dice > 0.85 ? undefined : Math.round(runMs * (0.3 + 0.75 * rng()));
    const end = await runCli(cli, args, delay, fault ? { STRATA_FAULT: fault } : {});
    const killed = end.signal === 'SIGKILL';
    const context = `cycle ${c} (${args[0]}, ${fault ? `fault ${fault}` : delay === undefined ? 'no kill' : `kill after ${delay} ms`}, seed ${options.seed})`;
    if (!killed && end.code !== 0) throw new ChaosViolation(`${context}: exited ${end.code}: ${end.stderr.trim()}`);
    if (killed) {
      if (fault) summary.killedAtFault++;
      else summary.killedByTimer++;
    } else {
      summary.finished++;
      if (!compact) runMs = Math.round(0.7 * runMs + 0.3 * end.ms);
    }
    if (compact) summary.compactRuns++;
    else summary.etlRuns++;
    const ref = await verifyCommitted(context, !killed);
    if ((c + 1) % (options.readerEvery ?? 8) === 0) await readerCount(context, ref.silver.size);
    summary.cycles++;
    log(`${context}: ${killed ? 'killed' : 'finished'} in ${end.ms} ms; ${ref.silver.size} rows committed`);
  }

  // Recover: a run that finishes, a compaction that finishes, and everything exact.
  for (const args of [['etl', ...roots], ['compact', '--warehouse', warehouse]]) {
    const end = await runCli(cli, args, undefined);
    if (end.code !== 0) throw new ChaosViolation(`recovery ${args[0]} failed: ${end.stderr}`);
  }
  const ref = await verifyCommitted('after recovery', true);
  const snapshot = await readSnapshot(storage);
  const taken = [...snapshot.files.values()].filter((f) => f.state === 'committed').length;
  if (taken !== bytes.size) throw new ChaosViolation(`after recovery: ${taken} bronze files committed, ${bytes.size} in bronze`);
  await readerCount('after recovery', ref.silver.size);
  summary.durationMs = Date.now() - started;
  return summary;
}

async function listFiles(root: string, prefix: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => `${prefix}/${path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/')}`);
}
