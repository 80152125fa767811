import { chmod, cp, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SHARED } from './cli.js';

export const CONFORMANCE_BRONZE = path.join(SHARED, 'conformance', 'bronze');

/** The four conformance files, in path order. */
export const CONFORMANCE_FILES = [
  'year=2025/month=06/day=30/hour=23/minute=50/events-20250630T235000Z.jsonl.gz',
  'year=2025/month=06/day=30/hour=23/minute=55/events-20250630T235500Z.jsonl.gz',
  'year=2025/month=07/day=01/hour=00/minute=00/events-20250701T000000Z.jsonl.gz',
  'year=2025/month=07/day=01/hour=00/minute=05/events-20250701T000500Z.jsonl.gz',
] as const;

/** Totals of one etl over all four files (shared/conformance/expected.json). */
export const CONFORMANCE_TOTALS = { lines: 9989, valid: 9679, rejected: 277, duplicates: 33 } as const;

/** Copies some conformance files into a bronze root (writable, unlike shared/). */
export async function copyConformance(bronzeRoot: string, files: readonly string[] = CONFORMANCE_FILES): Promise<void> {
  for (const file of files) {
    const target = path.join(bronzeRoot, file);
    await mkdir(path.dirname(target), { recursive: true });
    await cp(path.join(CONFORMANCE_BRONZE, file), target);
    await chmod(target, 0o644);
  }
}

export async function readConformanceFile(file: string): Promise<Buffer> {
  return readFile(path.join(CONFORMANCE_BRONZE, file));
}
