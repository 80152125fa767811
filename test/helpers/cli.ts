import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'dist/bin/strata.js');
/** The shared contract folder (SPEC.md, conformance/), beside the repository. */
export const SHARED = path.resolve(REPO_ROOT, '../shared');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (npm test builds first) as a child process, like a user would. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // The caller's roots never leak in from the environment unless a test sets them.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.STRATA_BRONZE;
    delete env.STRATA_WAREHOUSE;
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `strata etl --json` that must succeed without a word on stderr: its report. */
export async function etlReport(bronze: string, warehouse: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const run = await runCli(['etl', '--bronze', bronze, '--warehouse', warehouse, '--json'], { env });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'strata-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
