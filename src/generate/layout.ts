import { createHash } from 'node:crypto';
import { pad2 } from './format.js';

/** Bumped when the same arguments start producing different bytes. */
export const FORMAT_VERSION = 1;

/** Everything that decides a batch's bytes. */
export interface BatchSpec {
  readonly seed: string;
  readonly timeMs: number;
  readonly intervalMs: number;
  readonly minEvents: number;
  readonly maxEvents: number;
  readonly faultRate: number;
}

/**
 * `year=2025/month=06/day=30/hour=23/minute=50/events-20250630T235000Z-1a2b3c4d.jsonl.gz`.
 * The suffix hashes the batch's spec: the same arguments give the same name (a rerun finds its
 * file already there), different seeds or settings never collide in the same minute.
 */
export function batchKey(spec: BatchSpec): string {
  const t = new Date(spec.timeMs);
  const [y, mo, d, h, mi, s] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()];
  const year = String(y).padStart(4, '0');
  const suffix = createHash('sha256')
    .update(JSON.stringify([FORMAT_VERSION, spec.seed, spec.timeMs, spec.intervalMs, spec.minEvents, spec.maxEvents, spec.faultRate]))
    .digest('hex')
    .slice(0, 8);
  const stamp = `${year}${pad2(mo)}${pad2(d)}T${pad2(h)}${pad2(mi)}${pad2(s)}Z`;
  return `year=${year}/month=${pad2(mo)}/day=${pad2(d)}/hour=${pad2(h)}/minute=${pad2(mi)}/events-${stamp}-${suffix}.jsonl.gz`;
}
