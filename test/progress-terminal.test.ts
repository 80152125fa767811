import { spawn, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli, tempDir, type CliResult } from './helpers/cli.js';

/**
 * Progress on a terminal: util-linux's `script` gives the CLI a pseudo-terminal, as a user's
 * shell would. The bar must show files done, events/s and an ETA there, and nothing must show
 * with --json or when the output is not a terminal.
 */
const hasScript = spawnSync('script', ['--version']).status === 0;

const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** Everything the CLI wrote to its terminal (stdout and stderr share it), escape sequences removed. */
function onTerminal(args: readonly string[]): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  // CI turns the bar off (progress.ts): this test is about a user's terminal.
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  delete env.CI;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    // eslint-disable-next-line no-control-regex
    const plain = (text: string) => text.replace(/\x1b(?:\[[0-9;?]*[A-Za-z]|[78])/g, '').replace(/\r/g, '\n');
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: plain(out), stderr: '' }));
  });
}

describe.skipIf(!hasScript)('progress on a terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const bronze = () => path.join(dir, 'bronze');
  const warehouse = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-progress-'));
    await mkdir(bronze());
    const generated = await runCli(['generate', '--bronze', bronze(), '--start', '2026-11-20T10:00:00Z', '--batches', '3', '--events', '2000', '--fault-rate', '0']);
    expect(generated.code, generated.stderr).toBe(0);
    for (const name of ['tty', 'tty-json', 'pipe']) await mkdir(warehouse(name));
  });
  afterAll(() => cleanup());

  it('shows files done, events/s and an ETA, then the summary', async () => {
    const run = await onTerminal(['etl', '--bronze', bronze(), '--warehouse', warehouse('tty')]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/ etl \[[^\]]*\] 0\/3 \| 0 events\/s \| ETA /);
    expect(run.stdout).toMatch(/ etl \[[^\]]*\] 3\/3 \| [1-9][\d,]* events\/s \| ETA /);
    expect(run.stdout).toContain('3 file(s) processed, 0 failed');
    expect(run.stdout).toMatch(/lines 6000 +valid 6000 +rejected 0 +duplicates 0/);
  });

  it('shows nothing but the report with --json, even on a terminal', async () => {
    const run = await onTerminal(['etl', '--bronze', bronze(), '--warehouse', warehouse('tty-json'), '--json']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('events/s');
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ files_processed: 3, lines: 6000, valid: 6000 });
  });

  it('shows no bar when the output is not a terminal', async () => {
    const env: NodeJS.ProcessEnv = { CI: '' };
    const run = await runCli(['etl', '--bronze', bronze(), '--warehouse', warehouse('pipe')], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('events/s');
    expect(run.stdout + run.stderr).toContain('3 file(s) processed, 0 failed');
  });
});
