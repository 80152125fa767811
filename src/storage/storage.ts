import type { Readable } from 'node:stream';

/** One object in a store: `key` is relative to the store's root, always with `/` separators. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Changes whenever the content changes: an md5/etag on S3, size+mtime based locally. */
  readonly etag: string;
  readonly lastModified: Date;
}

export interface WriteOptions {
  /** Fail with ObjectExistsError instead of replacing an existing object (S3 `If-None-Match: *`). */
  readonly ifNotExists?: boolean;
}

export interface ListOptions {
  /** Skip keys up to and including this one (S3's StartAfter): a long log is read from a known point. */
  readonly startAfter?: string;
}

/**
 * The whole of what strata asks of a place that holds files: a local folder or an S3 prefix.
 * Writes are atomic: a reader sees the old object, the new one, or none, never half of one.
 */
export interface Storage {
  /** The root as the user wrote it, for messages. */
  readonly uri: string;
  /** Every object whose key starts with `prefix`, in key order; with `startAfter`, only keys after it. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  read(key: string): Promise<Readable>;
  readBytes(key: string): Promise<Buffer>;
  write(key: string, body: Buffer | string, options?: WriteOptions): Promise<void>;
  /** Uploads a local file (DuckDB writes locally; this brings its output into the store). */
  writeFile(key: string, localPath: string, options?: WriteOptions): Promise<void>;
  /** Copies an object to a local file, for engines that only read local paths. */
  readFile(key: string, localPath: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Rename where the backend can (local), copy-and-delete where it cannot (S3). */
  move(from: string, to: string): Promise<void>;
  /** A local path DuckDB can read directly, when the backend has one; undefined for remote stores. */
  localPath(key: string): string | undefined;
  /** Fails with a clear message when the root cannot be reached. */
  check(): Promise<void>;
}

export class ObjectExistsError extends Error {
  override readonly name = 'ObjectExistsError';
  constructor(readonly key: string) {
    super(`object already exists: ${key}`);
  }
}

/** Keys come from listings and partition names; refuse any that would leave the root. */
export function assertSafeKey(key: string): void {
  if (key.startsWith('/') || key.includes('\\') || key.includes('\0')) throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
  for (const part of key.split('/')) {
    if (part === '..' || part === '.') throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
  }
}

export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, '/');
}
