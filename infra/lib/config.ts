import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from 'constructs';
import { DEFAULT_ANALYTICS_DATABASE, DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR, DEFAULT_STAGING_DATABASE } from '../../src/cloud/glue-schema.js';

/** The infra/ folder: relative paths in context are read from here, whatever the working directory. */
export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Everything a deployment can choose, with its default. Set any of it with `-c key=value` on the
 * cdk command line or under "context" in infra/cdk.json; nothing else in the stack is a name.
 */
export interface StrataConfig {
  /** Bucket names; CloudFormation makes unique ones when absent. */
  readonly rawBucketName: string | undefined;
  readonly analyticsBucketName: string | undefined;
  /** 's3' (SSE-S3) or 'kms' (a customer managed key with rotation, made by the stack). */
  readonly encryption: 's3' | 'kms';
  /** 'retain' keeps buckets, data and log groups on `cdk destroy`; 'destroy' empties and deletes them. */
  readonly removal: 'retain' | 'destroy';
  readonly stagingDatabase: string;
  readonly analyticsDatabase: string;
  readonly firstYear: number;
  readonly lastYear: number;
  readonly athenaWorkgroup: string;
  /** Athena cancels a query of this workgroup that would scan more (bytes). */
  readonly athenaScanLimitBytes: number;
  readonly athenaResultsDays: number;
  /** Quarantine objects are deleted after this many days; 0 keeps them. */
  readonly quarantineDays: number;
  /** Bronze objects move to S3 Standard-IA after this many days (at least 30); 0 never. */
  readonly bronzeIaDays: number;
  /** Folder with the Lambda code: dist/ contents, package.json ("type": "module") and node_modules. */
  readonly lambdaCode: string;
  readonly lambdaArchitecture: 'x86_64' | 'arm64';
  /** nodejs20.x, the project's Node; AWS disables creating nodejs20.x functions from 2027-02-01. */
  readonly lambdaRuntime: 'nodejs20.x' | 'nodejs22.x' | 'nodejs24.x';
  readonly producerEnabled: boolean;
  readonly producerSchedule: string;
  readonly producerMemoryMb: number;
  readonly minEvents: number;
  readonly maxEvents: number;
  readonly faultRate: number;
  readonly etlSchedule: string;
  readonly compactSchedule: string;
  readonly etlMemoryMb: number;
  readonly etlTmpMb: number;
  /** At most this many ETL invocations at once; undefined leaves it unreserved. */
  readonly etlReservedConcurrency: number | undefined;
  readonly logDays: number;
}

export type ContextReader = (key: string) => unknown;

export function readConfig(context: ContextReader): StrataConfig {
  const text = (key: string, fallback: string): string => {
    const v = context(key);
    if (v === undefined || v === null || String(v).trim() === '') return fallback;
    return String(v).trim();
  };
  const optional = (key: string): string | undefined => {
    const v = text(key, '');
    return v === '' ? undefined : v;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = text(key, String(fallback));
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`context ${key}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const v = text(key, fallback);
    if (!(values as readonly string[]).includes(v)) throw new Error(`context ${key}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const bool = (key: string, fallback: boolean): boolean => oneOf(key, ['true', 'false'], String(fallback) as 'true' | 'false') === 'true';
  const glueName = (key: string, fallback: string): string => {
    const v = text(key, fallback);
    if (!/^[a-z0-9_]{1,255}$/.test(v)) throw new Error(`context ${key}: lower-case letters, digits and underscores only, got ${JSON.stringify(v)}`);
    return v;
  };
  const schedule = (key: string, fallback: string): string => {
    const v = text(key, fallback);
    if (!/^(rate|cron)\(.+\)$/.test(v)) throw new Error(`context ${key}: expected rate(...) or cron(...), got ${JSON.stringify(v)}`);
    return v;
  };

  const years = text('projectionYears', `${DEFAULT_FIRST_YEAR},${DEFAULT_LAST_YEAR}`);
  const ym = /^(\d{4}),(\d{4})$/.exec(years);
  if (!ym || Number(ym[1]) > Number(ym[2])) throw new Error(`context projectionYears: expected FIRST,LAST like 2020,2039, got ${JSON.stringify(years)}`);
  const bronzeIaDays = int('bronzeIaDays', 30, 0, 36500);
  if (bronzeIaDays > 0 && bronzeIaDays < 30) throw new Error('context bronzeIaDays: S3 moves objects to Standard-IA after 30 days at the earliest');
  const minEvents = int('minEvents', 500_000, 1, 10_000_000);
  const maxEvents = int('maxEvents', 750_000, 1, 10_000_000);
  if (minEvents > maxEvents) throw new Error(`context minEvents (${minEvents}) must not exceed maxEvents (${maxEvents})`);
  const faultRate = Number(text('faultRate', '0.01'));
  if (!(faultRate >= 0 && faultRate <= 1)) throw new Error(`context faultRate: expected 0..1`);
  const reserved = text('etlReservedConcurrency', '1');

  return Object.freeze({
    rawBucketName: optional('rawBucketName'),
    analyticsBucketName: optional('analyticsBucketName'),
    encryption: oneOf('encryption', ['s3', 'kms'] as const, 's3'),
    removal: oneOf('removal', ['retain', 'destroy'] as const, 'retain'),
    stagingDatabase: glueName('stagingDatabase', DEFAULT_STAGING_DATABASE),
    analyticsDatabase: glueName('analyticsDatabase', DEFAULT_ANALYTICS_DATABASE),
    firstYear: Number(ym[1]),
    lastYear: Number(ym[2]),
    athenaWorkgroup: text('athenaWorkgroup', 'strata'),
    athenaScanLimitBytes: int('athenaScanLimitBytes', 10 * 1024 ** 3, 10 * 1024 ** 2, Number.MAX_SAFE_INTEGER),
    athenaResultsDays: int('athenaResultsDays', 7, 1, 36500),
    quarantineDays: int('quarantineDays', 90, 0, 36500),
    bronzeIaDays,
    lambdaCode: path.resolve(INFRA_DIR, text('lambdaCode', '../dist')),
    lambdaArchitecture: oneOf('lambdaArchitecture', ['x86_64', 'arm64'] as const, 'x86_64'),
    lambdaRuntime: oneOf('lambdaRuntime', ['nodejs20.x', 'nodejs22.x', 'nodejs24.x'] as const, 'nodejs20.x'),
    producerEnabled: bool('producerEnabled', true),
    producerSchedule: schedule('producerSchedule', 'rate(5 minutes)'),
    producerMemoryMb: int('producerMemoryMb', 2048, 128, 10240),
    minEvents,
    maxEvents,
    faultRate,
    etlSchedule: schedule('etlSchedule', 'rate(15 minutes)'),
    compactSchedule: schedule('compactSchedule', 'cron(30 3 * * ? *)'),
    etlMemoryMb: int('etlMemoryMb', 4096, 128, 10240),
    etlTmpMb: int('etlTmpMb', 10240, 512, 10240),
    etlReservedConcurrency: reserved === 'none' ? undefined : int('etlReservedConcurrency', 1, 1, 1000),
    logDays: int('logDays', 30, 1, 3653),
  });
}
