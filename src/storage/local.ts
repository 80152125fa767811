import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { assertSafeKey, ObjectExistsError, type ListOptions, type ObjectInfo, type Storage, type WriteOptions } from './storage.js';

/** Temporary names start with a dot and never end like data, so no reader mistakes them for data. */
const TEMP_PREFIX = '.strata-tmp-';

export class LocalStorage implements Storage {
  readonly #root: string;

  constructor(readonly uri: string) {
    this.#root = path.resolve(uri);
  }

  async check(): Promise<void> {
    const info = await stat(this.#root).catch(() => undefined);
    if (!info) throw new UserError(`root does not exist: ${this.uri}`);
    if (!info.isDirectory()) throw new UserError(`root is not a directory: ${this.uri}`);
  }

  localPath(key: string): string {
    assertSafeKey(key);
    return path.join(this.#root, ...key.split('/'));
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    // Walk only the directory the prefix names, then filter by the rest of the prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    yield* this.#walk(dirKey, prefix, options.startAfter ?? '');
  }

  async *#walk(dirKey: string, prefix: string, startAfter: string): AsyncIterable<ObjectInfo> {
    const dir = dirKey === '' ? this.#root : this.localPath(dirKey);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    // Byte order of full keys, as S3 lists them: a folder sorts as its name plus '/'.
    const sortKey = (e: { name: string; isDirectory(): boolean }): string => (e.isDirectory() ? `${e.name}/` : e.name);
    entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
    for (const entry of entries) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      // Symlinks are not followed: a link could lead out of the root.
      if (entry.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || prefix === '') yield* this.#walk(key, prefix, startAfter);
      } else if (entry.isFile() && key.startsWith(prefix) && key > startAfter) {
        const info = await this.stat(key);
        if (info) yield info;
      }
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.localPath(key)).catch(() => undefined);
    if (!info || !info.isFile()) return undefined;
    return { key, size: info.size, etag: `${info.size}-${Math.trunc(info.mtimeMs)}-${info.ino}`, lastModified: info.mtime };
  }

  async read(key: string): Promise<Readable> {
    const file = this.localPath(key);
    // Open first so a missing file fails here, not later in the middle of a pipeline.
    const handle = await open(file, 'r');
    return handle.createReadStream({ autoClose: true });
  }

  readBytes(key: string): Promise<Buffer> {
    return readFile(this.localPath(key));
  }

  async write(key: string, body: Buffer | string, options: WriteOptions = {}): Promise<void> {
    const temp = await this.#tempFor(key);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#publish(temp, key, options);
  }

  async writeFile(key: string, localPath: string, options: WriteOptions = {}): Promise<void> {
    const temp = await this.#tempFor(key);
    await copyFile(localPath, temp);
    await this.#publish(temp, key, options);
  }

  async readFile(key: string, localPath: string): Promise<void> {
    await copyFile(this.localPath(key), localPath);
  }

  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.localPath(to);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(this.localPath(from), target);
  }

  async #tempFor(key: string): Promise<string> {
    const target = this.localPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    return path.join(path.dirname(target), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
  }

  async #publish(temp: string, key: string, options: WriteOptions): Promise<void> {
    const target = this.localPath(key);
    try {
      if (options.ifNotExists) {
        // link() fails if the target exists, atomically: the local twin of S3's If-None-Match.
        try {
          await link(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(key);
          throw err;
        }
        await unlink(temp);
      } else {
        await rename(temp, target);
      }
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
