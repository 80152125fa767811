/**
 * One default-sized batch (625,000 events) through the real producer into a temporary bronze
 * folder, against a baseline measured in the same run: node's zlib compressing the very same
 * uncompressed bytes at the same level. The ratio says what generating the events costs on top
 * of the compression that any producer of gzip files pays.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generate } from '../src/generate/generate.js';
import { GZIP_LEVEL, GZIP_MEM_LEVEL } from '../src/generate/gzip-sink.js';
import { LocalStorage } from '../src/storage/local.js';

const EVENTS = 625_000;

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

export async function benchGenerate(args: Record<string, unknown>): Promise<void> {
  const batches = typeof args.batches === 'string' ? Number(args.batches) : 1;
  const faultRate = typeof args.chaos === 'boolean' && args.chaos ? 0.05 : 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strata-bench-generate-'));
  try {
    const bronze = new LocalStorage(dir);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await generate({
      bronze,
      start: new Date(Date.UTC(2025, 5, 30, 20, 0)),
      batches,
      intervalMs: 300_000,
      minEvents: EVENTS,
      maxEvents: EVENTS,
      seed: 'bench',
      faultRate,
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs(cpu0) / 1000;
    const peakRss = process.resourceUsage().maxRSS / 1024;
    const gzBytes = result.files.reduce((s, f) => s + f.bytes, 0);
    console.log(`generate: ${batches} batch(es), ${result.events.toLocaleString('en-US')} events, fault rate ${faultRate}`);
    console.log(`  ${seconds.toFixed(2)} s wall (${(seconds / batches).toFixed(2)} s per batch), ${cpu.toFixed(2)} s cpu (all threads)`);
    console.log(`  ${Math.round(result.events / seconds).toLocaleString('en-US')} events/s, ${(gzBytes / 1e6 / seconds).toFixed(1)} MB/s of gzip output (${(gzBytes / 1e6).toFixed(1)} MB)`);
    console.log(`  peak RSS ${peakRss.toFixed(0)} MB`);

    // Baseline: the same uncompressed bytes, compressed by zlib alone at the same level.
    const first = result.files[0];
    const raw = gunzipSync(await bronze.readBytes(first.key));
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const again = gzipSync(raw, { level: GZIP_LEVEL, memLevel: GZIP_MEM_LEVEL });
    const baseline = (performance.now() - t1) / 1000;
    const baselineCpu = cpuMs(c1) / 1000;
    const perBatch = seconds / batches;
    console.log(`baseline: zlib gzip level ${GZIP_LEVEL} of the same ${(raw.length / 1e6).toFixed(1)} MB -> ${(again.length / 1e6).toFixed(1)} MB`);
    console.log(`  ${baseline.toFixed(2)} s wall, ${baselineCpu.toFixed(2)} s cpu`);
    console.log(`ratio generate / zlib-only: ${(perBatch / baseline).toFixed(2)}x wall (target: one batch in <= 2 s)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
