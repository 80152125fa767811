import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { runEtl } from '../../src/etl/run-etl.js';
import type { EtlReport } from '../../src/etl/report.js';
import { generate } from '../../src/generate/generate.js';
import { LocalStorage } from '../../src/storage/local.js';

/** Debian's chromium (CI's .ci/run installs it); no browser download. */
export const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface DemoRoots {
  readonly bronze: LocalStorage;
  readonly warehouse: LocalStorage;
}

/** Empty bronze and warehouse roots under `dir`. */
export async function demoRoots(dir: string): Promise<DemoRoots> {
  await mkdir(path.join(dir, 'bronze'), { recursive: true });
  await mkdir(path.join(dir, 'warehouse'), { recursive: true });
  return { bronze: new LocalStorage(path.join(dir, 'bronze')), warehouse: new LocalStorage(path.join(dir, 'warehouse')) };
}

/** Generates `batches` batches into bronze with the real producer, then runs the real etl once. */
export async function addDemoBatches(
  roots: DemoRoots,
  options: { start: Date; batches: number; events: number; intervalMs?: number; faultRate?: number; seed?: string },
): Promise<EtlReport> {
  await generate({
    bronze: roots.bronze,
    start: options.start,
    batches: options.batches,
    intervalMs: options.intervalMs ?? 300_000,
    minEvents: options.events,
    maxEvents: options.events,
    seed: options.seed ?? 'dashboard',
    faultRate: options.faultRate ?? 0.05,
  });
  return runEtl({ bronze: roots.bronze, warehouse: roots.warehouse });
}
