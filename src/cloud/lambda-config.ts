import { parseDuration } from '../config.js';

/*
 * Lambda settings, all from the environment the CDK stack sets (infra/lib/strata-stack.ts):
 *
 *   STRATA_BRONZE, STRATA_WAREHOUSE   s3://bucket/prefix roots (required)
 *   STRATA_INTERVAL                   producer batch interval, as the schedule (default 5m)
 *   STRATA_MIN_EVENTS, STRATA_MAX_EVENTS  events per batch (default 500000 and 750000, SPEC §7)
 *   STRATA_FAULT_RATE                 share of dirty lines, 0..1 (default 0.01)
 *   STRATA_SEED                       seed; each batch is drawn from it and the batch time (default strata)
 *   STRATA_LOCK_WAIT                  how long the ETL waits for a lock another run holds (default 0s)
 */

/** Thrown for a setting the deployment got wrong: the function cannot run until it is fixed. */
export class LambdaConfigError extends Error {
  override readonly name = 'LambdaConfigError';
}

export function s3Root(env: NodeJS.ProcessEnv, name: 'STRATA_BRONZE' | 'STRATA_WAREHOUSE'): string {
  const value = env[name]?.trim();
  if (!value) throw new LambdaConfigError(`${name} is not set; the function needs an s3://bucket/prefix root`);
  if (!/^s3:\/\/[^/]+/.test(value)) throw new LambdaConfigError(`${name} must be an s3:// URI in Lambda, got ${JSON.stringify(value)}`);
  return value;
}

export function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  if (!/^\d+$/.test(text)) throw new LambdaConfigError(`${name} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function rate(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new LambdaConfigError(`${name} must be between 0 and 1, got ${JSON.stringify(text)}`);
  return value;
}

export function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const text = env[name]?.trim() || fallback;
  if (/^0+(ms|s|m|h)?$/.test(text)) return 0;
  try {
    return parseDuration(text, name);
  } catch (err) {
    throw new LambdaConfigError((err as Error).message);
  }
}

/** One JSON line per event: CloudWatch Logs Insights can query the fields. */
export function logLine(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}
