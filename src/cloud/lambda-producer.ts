import { generate as realGenerate, type GenerateOptions, type GenerateResult } from '../generate/generate.js';
import { openStorage as realOpenStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { duration, logLine, rate, s3Root, wholeNumber } from './lambda-config.js';

/** The part of an EventBridge scheduled event the producer reads. */
export interface ScheduledEvent {
  /** When the schedule fired, ISO-8601 (absent on a manual test invoke). */
  readonly time?: string;
}

export interface ProducerSummary {
  readonly batchTime: string;
  readonly key: string | undefined;
  readonly events: number;
  readonly bytes: number;
  readonly existed: boolean;
}

export interface ProducerDeps {
  readonly generate: (options: GenerateOptions) => Promise<GenerateResult>;
  readonly openStorage: (uri: string) => Promise<Storage>;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
}

/**
 * The scheduled producer: one batch per invocation, exactly what `strata generate --batches 1
 * --start T` writes, T being the schedule's time floored to the interval. A retried invocation
 * thus makes the same file name and bytes, and generate() leaves a file already there alone.
 */
export function createProducerHandler(deps: Partial<ProducerDeps> = {}): (event?: ScheduledEvent) => Promise<ProducerSummary> {
  const { generate = realGenerate, openStorage = realOpenStorage, env = process.env, now = () => new Date() } = deps;
  return async (event = {}) => {
    const intervalMs = duration(env, 'STRATA_INTERVAL', '5m');
    const fired = event.time === undefined ? now() : new Date(event.time);
    if (Number.isNaN(fired.getTime())) throw new Error(`scheduled event has an invalid time: ${JSON.stringify(event.time)}`);
    const start = new Date(Math.floor(fired.getTime() / intervalMs) * intervalMs);
    const bronze = await openStorage(s3Root(env, 'STRATA_BRONZE'));
    const result = await generate({
      bronze,
      start,
      batches: 1,
      intervalMs,
      minEvents: wholeNumber(env, 'STRATA_MIN_EVENTS', 500_000),
      maxEvents: wholeNumber(env, 'STRATA_MAX_EVENTS', 750_000),
      // generate() derives each batch's randomness from the seed and the batch time.
      seed: env.STRATA_SEED?.trim() || 'strata',
      faultRate: rate(env, 'STRATA_FAULT_RATE', 0.01),
    });
    const file = result.files[0];
    const summary: ProducerSummary = {
      batchTime: start.toISOString(),
      key: file?.key,
      events: result.events,
      bytes: file?.bytes ?? 0,
      existed: (file as { existed?: boolean } | undefined)?.existed ?? false,
    };
    logLine({ msg: 'batch written', ...summary });
    return summary;
  };
}

export const handler = createProducerHandler();
