import { UserError } from './errors.js';

export interface Roots {
  readonly bronze: string;
  readonly warehouse: string;
}

export interface RootOptions {
  readonly bronze?: string;
  readonly warehouse?: string;
}

/** Option beats environment beats default (SPEC §1). */
export function resolveRoots(options: RootOptions, env: NodeJS.ProcessEnv = process.env): Roots {
  const bronze = options.bronze ?? env.STRATA_BRONZE ?? './data/bronze';
  const warehouse = options.warehouse ?? env.STRATA_WAREHOUSE ?? './data/warehouse';
  for (const [name, value] of [['--bronze', bronze], ['--warehouse', warehouse]] as const) {
    if (value.trim() === '') throw new UserError(`${name} must not be empty`);
  }
  return Object.freeze({ bronze, warehouse });
}

/** Parses "5m", "30s", "1h", "250ms" into milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new UserError(`${option}: expected a duration like 30s, 5m or 1h, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new UserError(`${option}: must be greater than zero`);
  return ms;
}

export function parsePositiveInt(text: string, option: string, { allowZero = false } = {}): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`${option}: expected a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || (!allowZero && value === 0)) {
    throw new UserError(`${option}: expected a whole number ${allowZero ? '>= 0' : '> 0'}, got ${JSON.stringify(text)}`);
  }
  return value;
}
