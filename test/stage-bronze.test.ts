import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLines } from '../src/bronze/prepare-lines.js';
import { CorruptFileError, stageBronze, type TextPart } from '../src/bronze/read-bronze.js';
import { LocalStorage } from '../src/storage/local.js';
import { tempDir } from './helpers/cli.js';

/**
 * stageBronze prepares a file piece by piece as it inflates; the result must be exactly what
 * preparing the whole file at once gives, whatever falls on a piece boundary.
 */
function dirtyText(): Buffer {
  const parts: Buffer[] = [];
  const line = (n: number): string => `{"event_id":"e${n}","timestamp":"2025-07-01T10:00:00Z","pad":"${'x'.repeat(n % 300)}"}`;
  for (let n = 1; n <= 20_000; n++) {
    if (n % 997 === 0) parts.push(Buffer.from(`${line(n)}\r\n`));
    else if (n % 1499 === 0) parts.push(Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
    else if (n % 2003 === 0) parts.push(Buffer.from(`\ufeff${line(n)}\n`));
    else if (n % 2503 === 0) parts.push(Buffer.from(`{"nul":"a\u0000b"}\n`));
    else if (n === 7_000) parts.push(Buffer.from(`{"long":"${'y'.repeat(700_000)}\r"}\n`));
    else if (n % 101 === 0) parts.push(Buffer.from('\n'));
    else parts.push(Buffer.from(`${line(n)}\n`));
  }
  parts.push(Buffer.from('{"last":"no newline"}\r'));
  return Buffer.concat(parts);
}

describe('stageBronze', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: LocalStorage;

  /** Stages `key` in pieces of about `partBytes`; returns what it found and the pieces' bytes joined. */
  async function stage(key: string, partBytes = 300_000): Promise<{ staged: Awaited<ReturnType<typeof stageBronze>>; parts: TextPart[]; text: Buffer }> {
    const parts: TextPart[] = [];
    const staged = await stageBronze(storage, key, { partPath: (i) => path.join(dir, `${key}.${i}.txt`), onPart: (p) => parts.push(p), partBytes });
    const text = Buffer.concat(await Promise.all(parts.map((p) => readFile(p.path))));
    return { staged, parts, text };
  }

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-stage-'));
    await mkdir(path.join(dir, 'bronze'));
    storage = new LocalStorage(path.join(dir, 'bronze'));
  });
  afterAll(() => cleanup());

  it('gives, piece by piece, exactly what preparing the whole file gives', async () => {
    const text = dirtyText();
    const stored = gzipSync(text);
    await writeFile(path.join(dir, 'bronze', 'dirty.jsonl.gz'), stored);
    const { staged, parts, text: joined } = await stage('dirty.jsonl.gz');
    const whole = prepareLines(Buffer.from(text));
    expect(joined.equals(whole.text)).toBe(true);
    // Pieces end after a newline, and count their lines and longest line truly.
    expect(parts.length).toBeGreaterThan(5);
    let line = 0;
    for (const [i, p] of parts.entries()) {
      const lines = (await readFile(p.path)).toString('latin1').split('\n');
      if (i < parts.length - 1) expect(lines.pop()).toBe('');
      expect(p.lines).toBe(lines.length);
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(p.longestLine);
      line += p.lines;
    }
    expect(line).toBe(20_001);
    expect(staged.earlyRejects).toEqual(whole.earlyRejects);
    expect(new Map([...staged.carriageReturns].sort((a, b) => a[0] - b[0]))).toEqual(whole.carriageReturns);
    expect(staged.earlyRejects.length).toBeGreaterThan(20);
    expect(staged.carriageReturns.get(7_000)).toEqual([`{"long":"`.length + 700_000]);
    expect(staged.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(staged.storedBytes).toBe(stored.length);
    expect(staged.lines).toBe(20_001);
  });

  it('reads a zero-byte file and an empty gzip stream as files with no lines', async () => {
    await writeFile(path.join(dir, 'bronze', 'zero.jsonl.gz'), Buffer.alloc(0));
    await writeFile(path.join(dir, 'bronze', 'empty.jsonl.gz'), gzipSync(Buffer.alloc(0)));
    for (const key of ['zero.jsonl.gz', 'empty.jsonl.gz']) {
      const { staged, parts } = await stage(key);
      expect(staged.earlyRejects).toEqual([]);
      expect(staged.lines).toBe(0);
      expect(parts).toEqual([]);
    }
  });

  it('rejects a truncated stream and one with a bad header as corrupt', async () => {
    const stored = gzipSync(dirtyText());
    await writeFile(path.join(dir, 'bronze', 'cut.jsonl.gz'), stored.subarray(0, stored.length - 100));
    await writeFile(path.join(dir, 'bronze', 'plain.jsonl.gz'), Buffer.from('{"not":"gzip"}\n'));
    for (const key of ['cut.jsonl.gz', 'plain.jsonl.gz']) {
      await expect(stage(key)).rejects.toBeInstanceOf(CorruptFileError);
    }
  });
});
