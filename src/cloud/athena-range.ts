import { UserError } from '../errors.js';

/** `--from` (inclusive) and `--to` (exclusive) on event_time, and `--limit` (SPEC §6). */
export interface QueryRange {
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
}

/** An instant in UTC to the microsecond. */
export interface Instant {
  /** Milliseconds since the epoch. */
  readonly epochMs: number;
  /** Microseconds beyond `epochMs`, 0..999. */
  readonly micros: number;
}

export interface HourTuple {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
}

/** The grammar of the local engine's `--from`/`--to` (src/queries/run-query.ts), so both agree. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * `2024-03-05`, `2024-03-05T07:30`, `2024-03-05 07:30:00.123456`, `...Z`, `...+02:00`, `...+0200`,
 * `...+02`: a date is midnight UTC, a time without a zone is UTC. Digits past the microsecond are
 * dropped.
 */
export function parseInstant(text: string, option: string): Instant {
  const m = INSTANT.exec(text.trim());
  const bad = () => new UserError(`${option}: expected an ISO date or timestamp like 2024-03-05 or 2024-03-05T07:00:00Z, got ${JSON.stringify(text)}`);
  if (!m) throw bad();
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) =>
    v === undefined ? undefined : Number(v),
  ) as number[];
  const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  const zone = m[8];
  if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59) throw bad();
  // setUTCFullYear, not Date.UTC: the latter reads years 0..99 as 1900..1999.
  const check = new Date(0);
  check.setUTCFullYear(year!, month! - 1, day!);
  check.setUTCHours(hour!, minute!, second!, 0);
  const local = check.getTime();
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day) throw bad();
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zh > 23 || zm > 59) throw bad();
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm);
  }
  const epochMs = local - offsetMinutes * 60_000 + Number(fraction.slice(0, 3));
  return { epochMs, micros: Number(fraction.slice(3, 6)) };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `TIMESTAMP '2024-03-05 07:00:00.000000'`: event_time is a timestamp without zone, in UTC. */
export function timestampLiteral(instant: Instant): string {
  const d = new Date(instant.epochMs);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `TIMESTAMP '${date} ${time}.${pad(d.getUTCMilliseconds(), 3)}${pad(instant.micros, 3)}'`;
}

function hourOf(epochMs: number): HourTuple {
  const d = new Date(epochMs);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

/** The hour partition holding the first instant of the range. */
export function firstHour(from: Instant): HourTuple {
  return hourOf(from.epochMs);
}

/** The hour partition holding the last instant before `to` (exclusive), one microsecond earlier. */
export function lastHour(to: Instant): HourTuple {
  return hourOf(to.micros > 0 ? to.epochMs : to.epochMs - 1);
}

const KEYS = ['year', 'month', 'day', 'hour'] as const;

/** (year, month, day, hour) >= bound, or <=, spelled out so any engine can evaluate it per partition. */
function tupleBound(bound: HourTuple, op: '>' | '<', i = 0): string {
  const key = KEYS[i]!;
  if (i === KEYS.length - 1) return `${key} ${op}= ${bound[key]}`;
  return `(${key} ${op} ${bound[key]} OR (${key} = ${bound[key]} AND ${tupleBound(bound, op, i + 1)}))`;
}

/**
 * The WHERE conjuncts of a range over `events`: exact bounds on event_time, and predicates on the
 * partition columns so Athena reads only the hour folders that can hold matching rows. Simple
 * per-column ranges come first (what partition projection enumerates from), then the exact tuple
 * bounds (what it filters the enumerated partitions with).
 */
export function rangeConditions(range: QueryRange, timeColumn = 'event_time'): string[] {
  const from = range.from === undefined ? undefined : parseInstant(range.from, '--from');
  const to = range.to === undefined ? undefined : parseInstant(range.to, '--to');
  if (from !== undefined && to !== undefined && (from.epochMs > to.epochMs || (from.epochMs === to.epochMs && from.micros > to.micros))) {
    throw new UserError(`--from (${range.from}) is after --to (${range.to})`);
  }
  const low = from === undefined ? undefined : firstHour(from);
  const high = to === undefined ? undefined : lastHour(to);
  const conditions: string[] = [];
  if (low !== undefined && high !== undefined) {
    // Narrow each column while the higher ones agree: year, then month within one year, ...
    for (const key of KEYS) {
      conditions.push(low[key] === high[key] ? `${key} = ${low[key]}` : `${key} BETWEEN ${low[key]} AND ${high[key]}`);
      if (low[key] !== high[key]) break;
    }
  } else if (low !== undefined) {
    conditions.push(`year >= ${low.year}`);
  } else if (high !== undefined) {
    conditions.push(`year <= ${high.year}`);
  }
  if (low !== undefined) conditions.push(tupleBound(low, '>'));
  if (high !== undefined) conditions.push(tupleBound(high, '<'));
  if (from !== undefined) conditions.push(`${timeColumn} >= ${timestampLiteral(from)}`);
  if (to !== undefined) conditions.push(`${timeColumn} < ${timestampLiteral(to)}`);
  return conditions;
}

/** `WHERE a AND b` over `extra` and the range conditions, or '' when there are none. */
export function whereClause(range: QueryRange, extra: readonly string[] = []): string {
  const all = [...extra, ...rangeConditions(range)];
  return all.length === 0 ? '' : `WHERE ${all.join('\n  AND ')}`;
}

export function limitOf(range: QueryRange, fallback: number): number {
  const limit = range.limit ?? fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new UserError(`--limit: expected a whole number > 0, got ${String(range.limit)}`);
  return limit;
}
