import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError, errorMessage } from '../errors.js';
import { ObjectExistsError, type Storage } from '../storage/storage.js';
import { batchEvents, writeBatch } from './batch.js';
import { batchKey, type BatchSpec } from './layout.js';

export interface GenerateOptions {
  readonly bronze: Storage;
  /** Time of the first batch (UTC); batches follow every `intervalMs`. */
  readonly start: Date;
  readonly batches: number;
  readonly intervalMs: number;
  readonly minEvents: number;
  readonly maxEvents: number;
  readonly seed: string;
  /** Share of lines made dirty, 0..1. */
  readonly faultRate: number;
  readonly onBatch?: (batchesDone: number, eventsDone: number) => void;
}

export interface GeneratedFile {
  readonly key: string;
  /** Non-blank lines (events, clean or dirty); blank lines come on top. */
  readonly lines: number;
  /** Compressed size. */
  readonly bytes: number;
  /** The file was already there from an earlier run with the same arguments and was left as is. */
  readonly existed?: boolean;
}

export interface GenerateResult {
  readonly files: readonly GeneratedFile[];
  readonly events: number;
}

export const MAX_EVENTS_PER_BATCH = 10_000_000;
export const MIN_INTERVAL_MS = 1_000;
export const MAX_INTERVAL_MS = 86_400_000;

export function validateGenerateOptions(o: GenerateOptions): void {
  const fail = (message: string): never => {
    throw new UserError(message);
  };
  if (!Number.isSafeInteger(o.batches) || o.batches < 1) fail(`batches must be a whole number >= 1, got ${o.batches}`);
  if (!Number.isInteger(o.intervalMs) || o.intervalMs < MIN_INTERVAL_MS || o.intervalMs > MAX_INTERVAL_MS) {
    fail(`--interval must be a whole number of milliseconds from 1s to 24h, got ${o.intervalMs} ms`);
  }
  for (const [name, value] of [['--min-events', o.minEvents], ['--max-events', o.maxEvents]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_EVENTS_PER_BATCH) {
      fail(`${name} must be a whole number from 1 to ${MAX_EVENTS_PER_BATCH.toLocaleString('en-US')}, got ${value}`);
    }
  }
  if (o.minEvents > o.maxEvents) fail(`--min-events (${o.minEvents}) must not exceed --max-events (${o.maxEvents})`);
  if (!Number.isFinite(o.faultRate) || o.faultRate < 0 || o.faultRate > 1) fail(`--fault-rate must be between 0 and 1, got ${o.faultRate}`);
  if (o.seed === '') fail('--seed must not be empty');
  const first = o.start.getTime();
  const last = first + (o.batches - 1) * o.intervalMs;
  if (!Number.isFinite(first) || first < 0 || last >= Date.UTC(10000, 0, 1)) fail('--start and --batches must keep every batch between 1970 and 9999');
}

/**
 * The producer: `batches` files of events, one per interval from `start`, each complete once it
 * appears under its final name. A file that already exists (same arguments, so same bytes) is
 * left untouched, so a rerun neither rewrites nor changes what the pipeline has already read.
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  validateGenerateOptions(options);
  const files: GeneratedFile[] = [];
  let events = 0;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'strata-generate-'));
  try {
    for (let b = 0; b < options.batches; b++) {
      const spec: BatchSpec = {
        seed: options.seed,
        timeMs: options.start.getTime() + b * options.intervalMs,
        intervalMs: options.intervalMs,
        minEvents: options.minEvents,
        maxEvents: options.maxEvents,
        faultRate: options.faultRate,
      };
      const file = await produce(options.bronze, spec, path.join(scratch, `batch-${b}.gz`));
      files.push(file);
      events += file.lines;
      options.onBatch?.(b + 1, events);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { files, events };
}

async function produce(bronze: Storage, spec: BatchSpec, local: string): Promise<GeneratedFile> {
  const key = batchKey(spec);
  const existing = await bronze.stat(key);
  if (existing) return { key, lines: batchEvents(spec), bytes: existing.size, existed: true };
  const { lines } = await writeBatch(spec, local);
  const { size } = await stat(local);
  try {
    await bronze.writeFile(key, local, { ifNotExists: true });
  } catch (err) {
    if (err instanceof ObjectExistsError) return { key, lines, bytes: size, existed: true };
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST', 'EISDIR'].includes(code)) {
      throw new UserError(`cannot write ${key} under bronze root ${bronze.uri}: ${errorMessage(err)}`);
    }
    throw err;
  } finally {
    await rm(local, { force: true });
  }
  return { key, lines, bytes: size };
}
