import { UserError } from '../errors.js';

const FORM = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?$/i;

/**
 * `--start`: an ISO-8601 date or date-time, `2025-06-30`, `2025-06-30T23:50`, `2025-06-30T23:50:00Z`,
 * `2025-06-30 23:50:00+02:00`. Without a zone it is UTC. Milliseconds are kept, finer digits dropped.
 */
export function parseStart(text: string): Date {
  const m = FORM.exec(text.trim());
  const fail = (): never => {
    throw new UserError(`--start: expected an ISO date or date-time like 2025-06-30T23:50:00Z, got ${JSON.stringify(text)}`);
  };
  if (!m) return fail();
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(utc);
  // Date.UTC rolls 2025-02-30 over to March; a real date survives the round trip.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day
    || hour > 23 || minute > 59 || second > 59) return fail();
  let offsetMin = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const [h, mm] = zone.slice(1).split(':').map(Number);
    if (h > 23 || mm > 59) return fail();
    offsetMin = (zone[0] === '-' ? -1 : 1) * (h * 60 + mm);
  }
  return new Date(utc - offsetMin * 60_000);
}

/** The default first batch: now, floored to the interval (5m -> the last :00, :05, :10 ... UTC). */
export function defaultStart(intervalMs: number, now = Date.now()): Date {
  return new Date(Math.floor(now / intervalMs) * intervalMs);
}
