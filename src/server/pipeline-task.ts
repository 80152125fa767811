import type { EtlOptions } from '../etl/run-etl.js';
import type { EtlReport } from '../etl/report.js';
import type { GenerateOptions, GenerateResult } from '../generate/generate.js';
import type { Storage } from '../storage/storage.js';

export interface SimulateOptions {
  /** Events per simulated batch. */
  readonly events: number;
  readonly faultRate: number;
  /** Mixed with the batch time, so each batch differs and a rerun of a slot is reproducible. */
  readonly seed: string;
}

/** What one scheduled tick did: the batch it produced (with --simulate) and the etl report. */
export interface TickResult {
  readonly generated?: { readonly batch_time: string; readonly files: number; readonly events: number };
  readonly etl: EtlReport;
}

export interface PipelineTaskOptions {
  readonly bronze: Storage;
  readonly warehouse: Storage;
  readonly everyMs: number;
  readonly simulate?: SimulateOptions;
  readonly etl: (options: EtlOptions) => Promise<EtlReport>;
  readonly generate: (options: GenerateOptions) => Promise<GenerateResult>;
}

/**
 * One tick of `strata serve`: under --simulate, first the producer writes one batch for the slot
 * (like the scheduled producer would), then etl takes every bronze file not yet processed.
 */
export function pipelineTask(options: PipelineTaskOptions): (slot: Date) => Promise<TickResult> {
  // Slots only move forward, so remembering the last one is enough to not produce it twice.
  let lastProduced: number | undefined;
  return async (slot) => {
    let generated: TickResult['generated'];
    const sim = options.simulate;
    if (sim && lastProduced !== slot.getTime()) {
      const result = await options.generate({
        bronze: options.bronze,
        start: slot,
        batches: 1,
        intervalMs: options.everyMs,
        minEvents: sim.events,
        maxEvents: sim.events,
        seed: `${sim.seed}:${slot.toISOString()}`,
        faultRate: sim.faultRate,
      });
      // A failed etl retries at the next tick; the batch of this slot is already in bronze.
      lastProduced = slot.getTime();
      generated = { batch_time: slot.toISOString(), files: result.files.length, events: result.events };
    }
    const etl = await options.etl({ bronze: options.bronze, warehouse: options.warehouse });
    return generated ? { generated, etl } : { etl };
  };
}
