import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import type { EtlReport } from '../../src/etl/report.js';
import { readSnapshot } from '../../src/ledger/log.js';
import { LocalStorage } from '../../src/storage/local.js';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { ReferenceWarehouse, splitLines, type RefRunReport } from '../reference/reference-etl.js';
import { compareWithReference, showLine } from './compare.js';

/** What `etl --json` prints (SPEC §7 plus strata's extras). */
export type EtlJson = EtlReport;

export async function etl(bronze: string, warehouse: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<EtlJson> {
  const run = await runCli(['etl', '--bronze', bronze, '--warehouse', warehouse, '--json', ...(options.args ?? [])], { env: options.env });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as EtlJson;
}

/** Decompressed bronze files, by key, read straight from disk (not through strata). */
export async function readBronzeFiles(root: string, keys: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of keys) {
    const stored = await readFile(path.join(root, ...key.split('/')));
    out.set(key, stored.length === 0 ? Buffer.alloc(0) : gunzipSync(stored));
  }
  return out;
}

/** Asserts a run report equals the reference's counts for the same run. */
export function expectReportMatches(report: EtlJson, ref: RefRunReport): void {
  expect({ lines: report.lines, valid: report.valid, duplicates: report.duplicates, rejected: report.rejected, new_fields: report.new_fields }).toEqual({
    lines: ref.lines,
    valid: ref.valid,
    duplicates: ref.duplicates,
    rejected: ref.rejected,
    new_fields: ref.newFields,
  });
}

/** Asserts the ledger's per-file counts equal the reference's. */
export async function expectLedgerMatches(warehouse: string, ref: RefRunReport): Promise<void> {
  const snapshot = await readSnapshot(new LocalStorage(warehouse));
  for (const [file, want] of ref.files) {
    const got = snapshot.files.get(file);
    expect(got, file).toBeDefined();
    expect({ state: got!.state, lines: got!.lines, valid: got!.valid, duplicates: got!.duplicates, rejected: got!.rejected }, file).toEqual({
      state: 'committed',
      ...want,
    });
  }
}

/** Asserts silver and quarantine hold, line by line, what the reference says; prints the first differences. */
export async function expectSilverMatches(warehouse: string, ref: ReferenceWarehouse, bytes: ReadonlyMap<string, Buffer>, options: { committedOnly?: boolean } = {}): Promise<void> {
  const lines = new Map<string, Buffer[]>();
  const lineText = (file: string, n: number): string => {
    if (!lines.has(file)) lines.set(file, bytes.has(file) ? splitLines(bytes.get(file)!) : []);
    return showLine(lines.get(file)![n - 1]);
  };
  const diffs = await compareWithReference(warehouse, ref, lineText, options);
  expect(diffs.slice(0, 8), `${diffs.length} difference(s) with the reference`).toEqual([]);
}

/** Starts the CLI and SIGKILLs it after `ms`, whatever it is doing; resolves with how it ended. */
export function killAfter(args: readonly string[], ms: number, env: NodeJS.ProcessEnv = {}): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore', env: { ...process.env, ...env } });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ killed, code });
    });
  });
}

/** Starts the CLI without waiting; the returned promise settles when it exits. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` is true (polling), or fails after `ms`. */
export async function waitFor(check: () => Promise<boolean>, ms = 60_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
