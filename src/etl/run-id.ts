import { randomBytes } from 'node:crypto';

/** Sortable by time, unique across machines: 20251125T153000123Z-9f2c1a. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
