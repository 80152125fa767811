import type { Storage } from '../storage/storage.js';

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
  readonly lines: number;
  readonly bytes: number;
}

export interface GenerateResult {
  readonly files: readonly GeneratedFile[];
  readonly events: number;
}

/** Stub: replaced by the producer (issue 2). */
export async function generate(_options: GenerateOptions): Promise<GenerateResult> {
  throw new Error('generate: not implemented yet');
}
