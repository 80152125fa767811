/**
 * strata etl against the baseline of issue 3, in the same run and on the same files: a bare
 * DuckDB `COPY (SELECT <typed casts> FROM read_json(...)) TO ... PARTITION_BY (year, month, day, hour)`.
 * Prints throughput of both, their ratio, and strata's peak RSS. `--backlog N` does the same on
 * N waiting batches (memory must stay flat as N grows).
 * The pair runs STRATA_BENCH_REPEAT times, baseline and strata alternating, each into a fresh
 * folder (default 3 times for up to 12 batches, else once): medians are printed, and every
 * pair's ratio, since a noisy spell of this machine moves one run by 20% or more.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Db } from '../src/db/duckdb.js';
import { sqlString } from '../src/db/sql.js';
import { generate } from '../src/generate/generate.js';
import { LocalStorage } from '../src/storage/local.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '..', 'dist', 'bin', 'strata.js');
const EVENTS_PER_BATCH = 625_000;

export async function benchEtl(args: Record<string, unknown>): Promise<void> {
  const batches = Number(args.backlog ?? args.batches ?? 1);
  const events = Number(args.events ?? EVENTS_PER_BATCH);
  const dir = await mkdtemp(path.join(process.env.STRATA_BENCH_DIR ?? os.tmpdir(), 'strata-bench-etl-'));
  try {
    const bronze = path.join(dir, 'bronze');
    await mkdir(bronze);
    process.stdout.write(`generating ${batches} batch(es) of ${events.toLocaleString('en-US')} events...\n`);
    const generated = await generate({
      bronze: new LocalStorage(bronze),
      start: new Date(Date.UTC(2025, 6, 1, 0, 0)),
      batches,
      intervalMs: 300_000,
      minEvents: events,
      maxEvents: events,
      seed: 'bench-etl',
      faultRate: 0,
    });
    const totalEvents = generated.events;

    const repeat = Number(process.env.STRATA_BENCH_REPEAT ?? (batches <= 12 ? 3 : 1));
    const pairs: { baseline: number; strata: number; peakRssKb: number }[] = [];
    for (let i = 0; i < repeat; i++) {
      const baseline = await baselineCopy(bronze, path.join(dir, `baseline-${i}`));
      await rm(path.join(dir, `baseline-${i}`), { recursive: true, force: true });
      const warehouse = path.join(dir, `warehouse-${i}`);
      await mkdir(warehouse);
      const run = await strataEtl(bronze, warehouse);
      await rm(warehouse, { recursive: true, force: true });
      pairs.push({ baseline, strata: run.seconds, peakRssKb: run.peakRssKb });
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const baselineSeconds = median(pairs.map((p) => p.baseline));
    const strata = { seconds: median(pairs.map((p) => p.strata)), peakRssKb: Math.max(...pairs.map((p) => p.peakRssKb)) };

    const rate = (s: number): string => `${Math.round(totalEvents / s).toLocaleString('en-US')} events/s`;
    console.log(`events                 ${totalEvents.toLocaleString('en-US')} in ${batches} batch(es)`);
    console.log(`baseline DuckDB COPY   ${baselineSeconds.toFixed(2)} s  ${rate(baselineSeconds)}`);
    console.log(`strata etl             ${strata.seconds.toFixed(2)} s  ${rate(strata.seconds)}  (${(strata.seconds / batches).toFixed(2)} s per batch)`);
    // The median of the pairs' ratios: each pair ran back to back, so shares the machine's mood.
    const ratios = pairs.map((p) => p.baseline / p.strata);
    console.log(`throughput ratio       ${median(ratios).toFixed(2)}x of bare COPY (target >= 0.8x)`);
    if (repeat > 1) {
      console.log(`  (times: medians of ${repeat} runs, baseline and strata alternating; ratio: the median pair's, of ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')})`);
    }
    console.log(`strata peak RSS        ${(strata.peakRssKb / 1024).toFixed(0)} MB (target < 2048 MB)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function baselineCopy(bronze: string, out: string): Promise<number> {
  const db = await Db.open();
  try {
    const ts = `CAST("timestamp" AS TIMESTAMP)`;
    const started = performance.now();
    await db.run(`COPY (
      SELECT event_id, ${ts} AS event_time, user_id, session_id, event_type, product_id, category, search_query,
        CAST(price AS DECIMAL(12, 2)) AS price, CAST(quantity AS INTEGER) AS quantity,
        CAST(price AS DECIMAL(12, 2)) * CAST(quantity AS INTEGER) AS revenue, CAST(${ts} AS DATE) AS event_date,
        year(${ts}) AS "year", month(${ts}) AS "month", day(${ts}) AS "day", hour(${ts}) AS "hour"
      FROM read_json(${sqlString(`${bronze}/**/*.jsonl.gz`)}, format = 'newline_delimited', columns = {
        event_id: 'VARCHAR', "timestamp": 'VARCHAR', user_id: 'VARCHAR', session_id: 'VARCHAR', event_type: 'VARCHAR',
        product_id: 'VARCHAR', category: 'VARCHAR', price: 'DOUBLE', quantity: 'DOUBLE', search_query: 'VARCHAR'})
    ) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ("year", "month", "day", "hour"))`);
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

function strataEtl(bronze: string, warehouse: string): Promise<{ seconds: number; peakRssKb: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', path.join(HERE, 'peak-rss.mjs'), CLI, 'etl', '--bronze', bronze, '--warehouse', warehouse, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`strata etl failed (${code}): ${stderr}`));
      const peak = /PEAK_RSS_KB (\d+)/.exec(stderr);
      resolve({ seconds, peakRssKb: peak ? Number(peak[1]) : NaN });
    });
  });
}
