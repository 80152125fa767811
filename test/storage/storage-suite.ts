import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { ObjectExistsError, type ObjectInfo, type Storage } from '../../src/storage/storage.js';

export interface StorageFixture {
  readonly storage: Storage;
  cleanup(): Promise<void>;
}

export interface StorageSuiteOptions {
  /** A store whose root does not exist (missing folder, missing bucket), for check(). */
  missingRoot(): Promise<Storage>;
  /** Lists this many objects, to cross S3's 1000-key pages; 0 skips the case. */
  manyObjects?: number;
  /** Round-trips a file this big through writeFile/readFile (S3: the multipart path); 0 skips. */
  bigFileBytes?: number;
  /**
   * Whether readers never see part of an overwritten object. True of S3 and of local renames;
   * s3rver writes objects in place, so its runner turns the case off.
   */
  atomicOverwrite?: boolean;
  /**
   * Whether keys come in byte order across folder boundaries (`a.json` < `a/b`, `a` < `a-b`).
   * S3 guarantees it; folder walks (s3rver's included) sort each folder's entries on their own.
   */
  keyOrderAcrossFolders?: boolean;
}

/**
 * The contract every Storage keeps, run once per backend (after Hono's router/common.case.test.ts):
 * `newStorage` gives a fresh, empty, existing root for each test.
 */
export function runStorageSuite(name: string, newStorage: () => Promise<StorageFixture>, options: StorageSuiteOptions): void {
  describe(`storage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: Storage;
    let scratch: string;

    beforeAll(async () => {
      scratch = await mkdtemp(path.join(os.tmpdir(), 'strata-storage-suite-'));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });
    beforeEach(async () => {
      fixture = await newStorage();
      storage = fixture.storage;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const keysOf = async (prefix: string): Promise<string[]> => (await collect(storage.list(prefix))).map((o) => o.key);

    describe('read and write', () => {
      it('reads back what was written, as bytes and as a stream', async () => {
        await storage.write('a/b/text.txt', 'héllo\n');
        const binary = randomBytes(70_000);
        await storage.write('a/b/binary.bin', binary);
        expect((await storage.readBytes('a/b/text.txt')).toString('utf8')).toBe('héllo\n');
        expect((await storage.readBytes('a/b/binary.bin')).equals(binary)).toBe(true);
        expect((await streamBytes(await storage.read('a/b/binary.bin'))).equals(binary)).toBe(true);
      });

      it('writes an empty object', async () => {
        await storage.write('empty', Buffer.alloc(0));
        expect((await storage.readBytes('empty')).length).toBe(0);
        expect((await storage.stat('empty'))?.size).toBe(0);
      });

      it('replaces an object on a plain write', async () => {
        await storage.write('k', 'one');
        await storage.write('k', 'two, longer');
        expect((await storage.readBytes('k')).toString()).toBe('two, longer');
      });

      it('fails with ENOENT when reading a missing key', async () => {
        await expect(storage.readBytes('missing/key')).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(storage.read('missing/key')).rejects.toMatchObject({ code: 'ENOENT' });
      });

      it('keeps keys with partition-style and unusual characters', async () => {
        const key = 'events/year=2024/month=03/day=01/hour=07/part 1+ü,x.parquet';
        await storage.write(key, 'x');
        expect(await keysOf('events/')).toEqual([key]);
        expect((await storage.readBytes(key)).toString()).toBe('x');
      });
    });

    describe('stat', () => {
      it('gives size, etag and modification time', async () => {
        const before = Date.now();
        await storage.write('dir/file', 'twelve bytes');
        const info = await storage.stat('dir/file');
        expect(info).toMatchObject({ key: 'dir/file', size: 12 });
        expect(info?.etag).toMatch(/^[^"]+$/);
        // Second resolution on some servers.
        expect(info?.lastModified.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 2000);
        expect(info?.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
      });

      it('is undefined for a missing key and for a folder', async () => {
        await storage.write('dir/file', 'x');
        expect(await storage.stat('nope')).toBeUndefined();
        expect(await storage.stat('dir')).toBeUndefined();
      });

      it('changes etag when the content changes', async () => {
        await storage.write('k', 'first');
        const first = await storage.stat('k');
        await storage.write('k', 'second!');
        const second = await storage.stat('k');
        expect(second?.size).toBe(7);
        expect(second?.etag).not.toBe(first?.etag);
      });
    });

    describe('list', () => {
      const layout = [
        'year=2024/month=03/day=01/hour=07/minute=05/b.jsonl.gz',
        'year=2024/month=03/day=01/hour=07/minute=05/a.jsonl.gz',
        'year=2024/month=03/day=01/hour=07/minute=10/a.jsonl.gz',
        'year=2024/month=03/day=02/hour=00/minute=00/a.jsonl.gz',
        'year=2024/month=04/day=01/hour=00/minute=00/a.jsonl.gz',
        'x/1',
        'xy',
      ];

      it('lists every object under a prefix, nested ones included, in key order', async () => {
        for (const key of layout) await storage.write(key, key);
        const sorted = [...layout].sort(compareKeys);
        expect(await keysOf('')).toEqual(sorted);
        expect(await keysOf('year=2024/month=03/')).toEqual(sorted.filter((k) => k.startsWith('year=2024/month=03/')));
        // A prefix need not end at a folder boundary.
        expect(await keysOf('year=2024/month=03/day=0')).toEqual(sorted.filter((k) => k.startsWith('year=2024/month=03/day=0')));
        expect(await keysOf('x')).toEqual(['x/1', 'xy']);
        expect(await keysOf('x/')).toEqual(['x/1']);
        expect(await keysOf('year=2024/month=03/day=01/hour=07/minute=05/a')).toEqual(['year=2024/month=03/day=01/hour=07/minute=05/a.jsonl.gz']);
        expect(await keysOf('nothing/here/')).toEqual([]);
        expect(await keysOf('year=2025')).toEqual([]);
      });

      it('starts after a given key, which need not exist', async () => {
        for (const key of layout) await storage.write(key, key);
        const sorted = [...layout].sort(compareKeys);
        const after = async (prefix: string, startAfter: string): Promise<string[]> =>
          (await collect(storage.list(prefix, { startAfter }))).map((o) => o.key);
        const from = 'year=2024/month=03/day=01/hour=07/minute=05/b.jsonl.gz';
        expect(await after('', from)).toEqual(sorted.filter((k) => k > from));
        expect(await after('year=2024/month=03/', 'year=2024/month=03/day=01/hour=07/minute=06')).toEqual([
          'year=2024/month=03/day=01/hour=07/minute=10/a.jsonl.gz',
          'year=2024/month=03/day=02/hour=00/minute=00/a.jsonl.gz',
        ]);
        expect(await after('x', 'x/1')).toEqual(['xy']);
        expect(await after('x', '')).toEqual(['x/1', 'xy']);
        expect(await after('', 'z')).toEqual([]);
      });

      it('gives the same size and etag as stat', async () => {
        await storage.write('d/one', '1');
        await storage.write('d/three', '333');
        const listed = await collect(storage.list('d/'));
        for (const info of listed) {
          const stated = await storage.stat(info.key);
          expect({ key: info.key, size: info.size, etag: info.etag }).toEqual({ key: stated?.key, size: stated?.size, etag: stated?.etag });
          expect(info.lastModified).toBeInstanceOf(Date);
        }
        expect(listed.map((o) => o.size)).toEqual([1, 3]);
      });

      it('is empty for an empty root', async () => {
        expect(await keysOf('')).toEqual([]);
      });

      it('lists objects whatever their name, temporary-looking ones included', async () => {
        // Readers pick data by name (`.jsonl.gz`, `.parquet`); recovery must see a crashed
        // writer's leftovers to delete them.
        await storage.write('d/real', 'x');
        await storage.write('d/.strata-tmp-abc', 'partial');
        expect(await keysOf('')).toEqual(['d/.strata-tmp-abc', 'd/real']);
      });

      it.skipIf(options.keyOrderAcrossFolders === false)('orders keys across folder boundaries by bytes', async () => {
        // No key is also a folder: S3 allows `a` beside `a/b`, a file system does not.
        const keys = ['a-b', 'a.json', 'a/b', 'a/c/d', 'a0', 'b'];
        for (const key of [...keys].reverse()) await storage.write(`o/${key}`, key);
        expect(await keysOf('o/')).toEqual(keys.map((k) => `o/${k}`));
      });

      it.skipIf(!options.manyObjects)(`lists ${options.manyObjects ?? 0} objects, across pages`, async () => {
        const count = options.manyObjects ?? 0;
        const keys = Array.from({ length: count }, (_, i) => `many/${String(i).padStart(5, '0')}`);
        await inBatches(keys, 16, (key) => storage.write(key, ''));
        await storage.write('many0', 'outside');
        const listed = await keysOf('many/');
        expect(listed.length).toBe(count);
        expect(listed).toEqual(keys);
      });
    });

    describe('atomic writes', () => {
      it('leaves nothing behind when writeFile fails', async () => {
        await expect(storage.writeFile('d/k', path.join(scratch, 'does-not-exist'))).rejects.toThrow();
        expect(await storage.stat('d/k')).toBeUndefined();
        expect(await keysOf('')).toEqual([]);
      });

      it('keeps the old object when writeFile fails', async () => {
        await storage.write('d/k', 'old');
        await expect(storage.writeFile('d/k', path.join(scratch, 'does-not-exist'))).rejects.toThrow();
        expect((await storage.readBytes('d/k')).toString()).toBe('old');
      });

      it.skipIf(options.atomicOverwrite === false)('never shows a reader part of an object being replaced', async () => {
        const size = 2 * 1024 * 1024;
        await storage.write('big', Buffer.alloc(size, 'a'));
        let writing = true;
        const writer = (async () => {
          try {
            for (const fill of ['b', 'c', 'd']) await storage.write('big', Buffer.alloc(size, fill));
          } finally {
            writing = false;
          }
        })();
        const seen = new Set<string>();
        while (writing) {
          const bytes = await storage.readBytes('big');
          expect(bytes.length).toBe(size);
          const first = String.fromCharCode(bytes[0] ?? 0);
          expect(bytes.equals(Buffer.alloc(size, first))).toBe(true);
          seen.add(first);
        }
        await writer;
        expect((await storage.readBytes('big')).equals(Buffer.alloc(size, 'd'))).toBe(true);
      });
    });

    describe('ifNotExists', () => {
      it('creates once; a second create fails with ObjectExistsError and changes nothing', async () => {
        await storage.write('log/00001.json', 'first', { ifNotExists: true });
        const before = await storage.stat('log/00001.json');
        const second = storage.write('log/00001.json', 'second', { ifNotExists: true });
        await expect(second).rejects.toBeInstanceOf(ObjectExistsError);
        await expect(second).rejects.toMatchObject({ key: 'log/00001.json' });
        expect((await storage.readBytes('log/00001.json')).toString()).toBe('first');
        expect((await storage.stat('log/00001.json'))?.etag).toBe(before?.etag);
        expect(await keysOf('log/')).toEqual(['log/00001.json']);
      });

      it('applies to writeFile too', async () => {
        const file = path.join(scratch, `src-${randomBytes(4).toString('hex')}`);
        await writeFile(file, 'from a file');
        await storage.writeFile('f/k', file, { ifNotExists: true });
        await writeFile(file, 'changed');
        await expect(storage.writeFile('f/k', file, { ifNotExists: true })).rejects.toBeInstanceOf(ObjectExistsError);
        expect((await storage.readBytes('f/k')).toString()).toBe('from a file');
      });

      it('lets exactly one of many concurrent creates win', async () => {
        const writers = Array.from({ length: 6 }, (_, i) => `writer ${i}`);
        const results = await Promise.allSettled(writers.map((body) => storage.write('log/race.json', body, { ifNotExists: true })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [writers[i]] : []));
        expect(won.length).toBe(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ObjectExistsError);
        expect((await storage.readBytes('log/race.json')).toString()).toBe(won[0]);
        expect(await keysOf('log/')).toEqual(['log/race.json']);
      });

      it('creates when the key is free even if others exist beside it', async () => {
        await storage.write('log/1', 'one', { ifNotExists: true });
        await storage.write('log/2', 'two', { ifNotExists: true });
        expect(await keysOf('log/')).toEqual(['log/1', 'log/2']);
      });
    });

    describe('files', () => {
      it('round-trips a local file through writeFile and readFile', async () => {
        const source = path.join(scratch, `in-${randomBytes(4).toString('hex')}`);
        const target = path.join(scratch, `out-${randomBytes(4).toString('hex')}`);
        const content = randomBytes(300_000);
        await writeFile(source, content);
        await storage.writeFile('files/a.parquet', source);
        expect((await storage.stat('files/a.parquet'))?.size).toBe(content.length);
        await storage.readFile('files/a.parquet', target);
        expect((await readFile(target)).equals(content)).toBe(true);
      });

      it('replaces an existing local file on readFile', async () => {
        const target = path.join(scratch, `out-${randomBytes(4).toString('hex')}`);
        await writeFile(target, 'stale content that is longer');
        await storage.write('k', 'fresh');
        await storage.readFile('k', target);
        expect(await readFile(target, 'utf8')).toBe('fresh');
      });

      it('fails on readFile of a missing key and leaves no local file', async () => {
        const dir = await mkdtemp(path.join(scratch, 'rf-'));
        await expect(storage.readFile('missing', path.join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
        expect(await readdir(dir)).toEqual([]);
      });

      it.skipIf(!options.bigFileBytes)(`round-trips a ${Math.round((options.bigFileBytes ?? 0) / 2 ** 20)} MB file`, async () => {
        const bytes = options.bigFileBytes ?? 0;
        const source = path.join(scratch, `big-in-${randomBytes(4).toString('hex')}`);
        const target = path.join(scratch, `big-out-${randomBytes(4).toString('hex')}`);
        const content = Buffer.concat([randomBytes(bytes - 1024 * 1024), Buffer.alloc(1024 * 1024, 7)]);
        await writeFile(source, content);
        try {
          await storage.writeFile('big/file.parquet', source);
          expect((await storage.stat('big/file.parquet'))?.size).toBe(bytes);
          await storage.readFile('big/file.parquet', target);
          expect((await stat(target)).size).toBe(bytes);
          expect(sha256(await readFile(target))).toBe(sha256(content));
        } finally {
          await rm(source, { force: true });
          await rm(target, { force: true });
        }
      });
    });

    describe('delete and move', () => {
      it('deletes an object; deleting a missing one is not an error', async () => {
        await storage.write('d/a', 'x');
        await storage.write('d/b', 'y');
        await storage.delete('d/a');
        await storage.delete('d/a');
        await storage.delete('never/was');
        expect(await storage.stat('d/a')).toBeUndefined();
        expect(await keysOf('')).toEqual(['d/b']);
      });

      it('moves an object to a new key, replacing what was there', async () => {
        await storage.write('staging/year=2024/part.parquet', 'data');
        await storage.write('events/year=2024/part.parquet', 'old');
        await storage.move('staging/year=2024/part.parquet', 'events/year=2024/part.parquet');
        expect(await storage.stat('staging/year=2024/part.parquet')).toBeUndefined();
        expect((await storage.readBytes('events/year=2024/part.parquet')).toString()).toBe('data');
        expect(await keysOf('')).toEqual(['events/year=2024/part.parquet']);
      });

      it('keeps an object moved onto its own key', async () => {
        await storage.write('same', 'kept');
        await storage.move('same', 'same');
        expect((await storage.readBytes('same')).toString()).toBe('kept');
      });

      it('fails with ENOENT when moving a missing key', async () => {
        await expect(storage.move('missing', 'elsewhere')).rejects.toMatchObject({ code: 'ENOENT' });
        expect(await storage.stat('elsewhere')).toBeUndefined();
      });
    });

    describe('keys and roots', () => {
      const unsafe = ['../x', '/abs', 'a/../../b', 'a/./b', 'a\\b'];

      it.each(unsafe)('rejects the unsafe key %j everywhere', async (key) => {
        const file = path.join(scratch, 'unsafe-source');
        await writeFile(file, 'x');
        // Through an async function: what a caller awaiting the call sees, thrown or rejected.
        const refuses = (call: () => unknown) => expect((async () => call())()).rejects.toThrow(/unsafe storage key/);
        await refuses(() => storage.write(key, 'x'));
        await refuses(() => storage.writeFile(key, file));
        await refuses(() => storage.readBytes(key));
        await refuses(() => storage.read(key));
        await refuses(() => storage.stat(key));
        await refuses(() => storage.delete(key));
        await refuses(() => storage.move(key, 'ok'));
        await refuses(() => storage.move('ok', key));
        await refuses(() => storage.readFile(key, path.join(scratch, 'unsafe-target')));
        await refuses(() => collect(storage.list(`${key}/`)));
        expect(await keysOf('')).toEqual([]);
      });

      it('passes check() on an existing root', async () => {
        await expect(storage.check()).resolves.toBeUndefined();
      });

      it('fails check() on a missing root with a one-line UserError naming it', async () => {
        const missing = await options.missingRoot();
        const error = await missing.check().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(UserError);
        const message = (error as Error).message;
        expect(message).toContain(missing.uri);
        expect(message).not.toContain('\n');
      });
    });
  });
}

export async function collect(objects: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const object of objects) out.push(object);
  return out;
}

/** Byte order of UTF-8, which is S3's listing order (and code-unit order for these keys). */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function streamBytes(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function inBatches<T>(items: readonly T[], width: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
