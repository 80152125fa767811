import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { resolveRoots, parseDuration, parsePositiveInt } from '../config.js';
import { UserError } from '../errors.js';
import { generate, type GenerateResult } from '../generate/generate.js';
import { defaultStart, parseStart } from '../generate/start-time.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { createProgress } from './progress.js';
import { runCommand } from './run-command.js';

interface GenerateFlags {
  bronze?: string;
  start?: string;
  batches: string;
  interval: string;
  events?: string;
  minEvents?: string;
  maxEvents?: string;
  seed: string;
  faultRate: string;
  json?: boolean;
}

const DEFAULT_MIN_EVENTS = 500_000;
const DEFAULT_MAX_EVENTS = 750_000;

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write batches of synthetic shop events to bronze: one gzipped JSON-lines file per batch')
    .option('--bronze <uri>', 'bronze root, a folder or s3://bucket/prefix (env STRATA_BRONZE, default ./data/bronze)')
    .option('--start <iso>', 'time of the first batch, ISO-8601, UTC unless a zone is given (default: now, floored to the interval)')
    .option('--batches <n>', 'number of batches (files), one every interval', '1')
    .option('--interval <duration>', 'time between batches and span of each, e.g. 30s, 5m, 1h', '5m')
    .option('--events <n>', 'exactly this many events per batch')
    .option('--min-events <n>', `fewest events per batch, at the quietest time of day (default ${DEFAULT_MIN_EVENTS})`)
    .option('--max-events <n>', `most events per batch, at the evening peak (default ${DEFAULT_MAX_EVENTS})`)
    .option('--seed <text>', 'same seed and arguments, same bytes', 'strata')
    .option('--fault-rate <r>', 'share of lines made dirty in the ways SPEC section 3 lists, 0..1', '0')
    .option('--json', 'print a JSON summary on stdout')
    .action(runCommand(async (flags: GenerateFlags) => {
      const settings = parseFlags(flags);
      const bronze = await openBronze(resolveRoots({ bronze: flags.bronze }).bronze);
      const progress = createProgress({ json: flags.json });
      progress.start(settings.batches, 'generate');
      const startedAt = Date.now();
      let result: GenerateResult;
      try {
        result = await generate({ ...settings, bronze, onBatch: (done, events) => progress.update(done, events) });
      } finally {
        progress.stop();
      }
      const durationMs = Date.now() - startedAt;
      if (flags.json) {
        const summary = {
          bronze: bronze.uri,
          seed: settings.seed,
          start: settings.start.toISOString(),
          interval_ms: settings.intervalMs,
          batches: settings.batches,
          fault_rate: settings.faultRate,
          events: result.events,
          bytes: result.files.reduce((s, f) => s + f.bytes, 0),
          files: result.files.map((f) => ({ key: f.key, lines: f.lines, bytes: f.bytes, existed: f.existed === true })),
          duration_ms: durationMs,
        };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } else {
        const existed = result.files.filter((f) => f.existed).length;
        const mb = result.files.reduce((s, f) => s + f.bytes, 0) / 1e6;
        process.stderr.write(
          `generated ${result.files.length} file(s), ${result.events.toLocaleString('en-US')} events, ${mb.toFixed(1)} MB in ${(durationMs / 1000).toFixed(1)} s` +
            `${existed ? ` (${existed} already there, left as is)` : ''} -> ${bronze.uri}\n`,
        );
      }
    }));
}

function parseFlags(flags: GenerateFlags) {
  const intervalMs = parseDuration(flags.interval, '--interval');
  if (!Number.isInteger(intervalMs)) throw new UserError(`--interval: must be a whole number of milliseconds, got ${JSON.stringify(flags.interval)}`);
  let minEvents: number;
  let maxEvents: number;
  if (flags.events !== undefined) {
    if (flags.minEvents !== undefined || flags.maxEvents !== undefined) throw new UserError('use either --events or --min-events/--max-events, not both');
    minEvents = maxEvents = parsePositiveInt(flags.events, '--events');
  } else {
    const min = flags.minEvents === undefined ? undefined : parsePositiveInt(flags.minEvents, '--min-events');
    const max = flags.maxEvents === undefined ? undefined : parsePositiveInt(flags.maxEvents, '--max-events');
    // Give one bound and the other follows it if the default would be on the wrong side.
    minEvents = min ?? Math.min(DEFAULT_MIN_EVENTS, max ?? DEFAULT_MIN_EVENTS);
    maxEvents = max ?? Math.max(DEFAULT_MAX_EVENTS, min ?? DEFAULT_MAX_EVENTS);
  }
  const rateText = flags.faultRate.trim();
  const faultRate = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(rateText) ? Number(rateText) : NaN;
  if (!(faultRate >= 0 && faultRate <= 1)) throw new UserError(`--fault-rate: expected a number from 0 to 1, got ${JSON.stringify(flags.faultRate)}`);
  if (flags.seed === '') throw new UserError('--seed: must not be empty');
  return {
    start: flags.start === undefined ? defaultStart(intervalMs) : parseStart(flags.start),
    batches: parsePositiveInt(flags.batches, '--batches'),
    intervalMs,
    minEvents,
    maxEvents,
    seed: flags.seed,
    faultRate,
  };
}

/**
 * The producer may create a local bronze root whose parent exists (the first run on a fresh
 * machine); a missing parent is more likely a typo and fails. S3 roots must be reachable.
 */
async function openBronze(uri: string): Promise<Storage> {
  if (!uri.startsWith('s3://')) {
    const root = path.resolve(uri);
    const info = await stat(root).catch(() => undefined);
    if (!info) {
      const parent = await stat(path.dirname(root)).catch(() => undefined);
      if (!parent?.isDirectory()) throw new UserError(`bronze root does not exist, nor does its parent folder: ${uri}`);
      await mkdir(root).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw new UserError(`cannot create bronze root ${uri}: ${err.code ?? err.message}`);
      });
    }
  }
  const storage = await openStorage(uri);
  await storage.check();
  return storage;
}
